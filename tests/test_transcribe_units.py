"""Fast tests of the transcription layer's parts (no model weights)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from guide_tui.errors import TranscriptionError
from guide_tui.transcribe import audio, guards
from guide_tui.transcribe.align import Timeline, read_events
from guide_tui.transcribe.transcript import write_atomic
from guide_tui.transcribe.types import Segment, TranscribeOptions, Word
from guide_tui.transcript import build_model, parse_transcript
from guide_tui.transcript.render import pause_mark, turn_text

# ----------------------------------------------------------------------------- resampling


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100, 48000])
def test_resample_keeps_a_tone_and_is_span_exact(sr: int) -> None:
    t = np.arange(sr * 2) / sr
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    y = audio.resample(x, sr)
    assert len(y) == 32000
    ref = 0.5 * np.sin(2 * np.pi * 440 * np.arange(len(y)) / 16000)
    assert np.max(np.abs(y[400:-400] - ref[400:-400])) < 1e-3
    # Any span computed on its own equals the same span of the whole: windows resume exactly.
    a, b = audio.input_span(sr, 1234, 5678)
    padded = np.zeros(b - a, np.float32)
    lo, hi = max(a, 0), min(b, len(x))
    padded[lo - a : hi - a] = x[lo:hi]
    assert np.array_equal(audio.resample_span(padded, a, sr, 1234, 5678), y[1234:5678])


@pytest.mark.parametrize("sr", [44100, 48000])
def test_resample_suppresses_aliases(sr: int) -> None:
    t = np.arange(sr) / sr
    x = (0.5 * np.sin(2 * np.pi * 9000 * t)).astype(np.float32)  # above the new Nyquist
    assert np.max(np.abs(audio.resample(x, sr)[400:-400])) < 1e-2


# ----------------------------------------------------------------------------- session audio


def _wav(path: Path, x: np.ndarray, sr: int = 48000) -> Path:
    sf.write(str(path), x, sr, subtype="PCM_16")
    return path


def _speechlike(seconds: float, sr: int = 48000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.2 * rng.standard_normal(round(seconds * sr))).astype(np.float32)


def test_files_laid_end_to_end_and_windows_skip_long_silence(tmp_path: Path) -> None:
    sr = 48000
    a = np.concatenate([_speechlike(3), np.zeros(5 * sr, np.float32), _speechlike(2, seed=1)])
    f1 = _wav(tmp_path / "audio-001.wav", a)
    f2 = _wav(tmp_path / "audio-002.wav", _speechlike(4, seed=2), sr=44100)
    files = audio.open_audio([f1, f2])
    assert files[1].offset == pytest.approx(10.0)
    for f in files:
        audio.scan(f)
    windows = audio.plan_windows(files, window_s=30, vad=True, min_silence_s=2.0)
    assert [w.file.path.name for w in windows] == ["audio-001.wav", "audio-002.wav"]
    w1 = windows[0]
    assert len(w1.chunks) == 2  # the 5 s silence is left out
    assert w1.speech_s < 7.0
    # Time in the concatenated window maps back around the gap.
    assert w1.to_session_time(1.0) == pytest.approx(1.0, abs=0.01)
    gap_start = w1.chunks[1][0] / 16000
    first_len = (w1.chunks[0][1] - w1.chunks[0][0]) / 16000
    assert w1.to_session_time(first_len + 0.5) == pytest.approx(gap_start + 0.5, abs=0.01)
    assert windows[1].start == pytest.approx(10.0, abs=0.05)
    assert len(w1.read16k()) == sum(b - a for a, b in w1.chunks)


def test_files_lie_at_their_recorded_offsets_with_the_gap_left_out(tmp_path: Path) -> None:
    """After a lost device the clock ran on: audio-002 starts at its offset, not where
    audio-001 ended, and the time between is a gap that no window covers."""
    f1 = _wav(tmp_path / "audio-001.wav", _speechlike(3))
    f2 = _wav(tmp_path / "audio-002.wav", _speechlike(4, seed=2))
    files = audio.open_audio([f1, f2], [0.5, 20.0])
    assert [f.offset for f in files] == [0.5, 20.0]
    assert audio.audio_end(files) == pytest.approx(24.0)
    assert audio.gaps(files) == [(pytest.approx(3.5), 20.0)]
    for f in files:
        audio.scan(f)
    windows = audio.plan_windows(files, window_s=30, vad=False, min_silence_s=2.0)
    assert windows[1].start == pytest.approx(20.0) and windows[1].end == pytest.approx(24.0)
    assert windows[1].to_session_time(1.0) == pytest.approx(21.0)
    assert not any(w.start < 20.0 < w.end for w in windows)
    # Unknown offsets follow the previous file; an overlap is moved after it.
    assert [f.offset for f in audio.open_audio([f1, f2], [None, None])] == [0.0, 3.0]
    assert [f.offset for f in audio.open_audio([f1, f2], [1.0, 2.0])] == [1.0, 4.0]


def test_recorded_offsets_read_only_finite_times() -> None:
    from guide_tui.session.audio_offsets import recorded_offsets

    meta = {
        "audio": [
            {"file": "audio-001.wav", "offset": 0.25},
            {"file": "audio-002.wav", "offset": "12"},
            {"file": "audio-003.wav", "offset": True},
            {"file": "audio-004.wav", "offset": -1},
            "audio-005.wav",
            {"file": "sub/audio-006.wav", "offset": 7},
            {"file": "audio-007.wav", "offset": 1e308},
        ]
    }
    names = [f"audio-00{i}.wav" for i in range(1, 9)]
    assert recorded_offsets(meta, names) == [0.25, None, None, None, None, 7.0, None, None]
    assert recorded_offsets({"audio": None}, ["a.wav"]) == [None]


def test_long_speech_is_cut_into_windows_deterministically(tmp_path: Path) -> None:
    f = _wav(tmp_path / "a.wav", _speechlike(25))
    plans = []
    for _ in range(2):
        files = audio.open_audio([f])
        audio.scan(files[0])
        plans.append(
            [w.key() for w in audio.plan_windows(files, window_s=10, vad=True, min_silence_s=2)]
        )
    assert plans[0] == plans[1] and len(plans[0]) == 3


def test_silence_has_no_speech_chunks(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    f = _wav(tmp_path / "s.wav", (10 ** (-75 / 20) * rng.standard_normal(48000 * 30)))
    files = audio.open_audio([f])
    audio.scan(files[0])
    assert audio.plan_windows(files, window_s=120, vad=True, min_silence_s=2) == []


def test_unreadable_audio_is_a_transcription_error(tmp_path: Path) -> None:
    bad = tmp_path / "audio-001.wav"
    bad.write_bytes(b"not a wav at all")
    with pytest.raises(TranscriptionError, match="cannot read audio"):
        audio.open_audio([bad])


# ----------------------------------------------------------------------------- alignment


def _events(path: Path, items: list[tuple[float, str, dict]], torn: bool = False) -> Path:
    lines = [
        json.dumps({"v": 1, "seq": i, "t": t, "wall": "x", "type": k, "data": d})
        for i, (t, k, d) in enumerate(items)
    ]
    text = "".join(line + "\n" for line in lines) + ('{"v": 1, "seq": 99, "t"' if torn else "")
    path.write_text(text, encoding="utf-8")
    return path


def test_timeline_topics_undo_closing_and_annotations(tmp_path: Path) -> None:
    events = read_events(
        _events(
            tmp_path / "events.jsonl",
            [
                (1.0, "topic_entered", {"topic": "a"}),
                (5.0, "note", {"text": "hesitates", "started_t": 4.0}),
                (6.0, "marker", {"kind": "quotable"}),
                (7.0, "question_asked", {"topic": "a", "question": "q1"}),
                (8.0, "question_asked", {"topic": "a", "question": "q2"}),
                (8.5, "undo", {"undoes": 4}),
                (10.0, "topic_entered", {"topic": "b"}),
                (20.0, "closing_started", {}),
            ],
            torn=True,
        )
    )
    tl = Timeline(events)
    assert [tl.topic_at(t) for t in (0.5, 1.0, 9.99, 10.0, 19.0, 21.0)] == [
        None,
        "a",
        "a",
        "b",
        "b",
        None,
    ]
    assert [a["type"] for a in tl.annotations] == ["note", "marker", "question_asked"]
    note = tl.annotations[0]
    assert note["t"] == 4.0 and note["topic"] == "a" and note["text"] == "hesitates"
    assert [(t["id"], t["start"], t["end"]) for t in tl.topics] == [
        ("a", 1.0, 10.0),
        ("b", 10.0, 20.0),
    ]


def test_segment_split_at_topic_change_between_words() -> None:
    words = tuple(Word(float(i), float(i) + 0.5, f" w{i}", 0.9) for i in range(6))
    seg = Segment(0.0, 5.5, "w0 w1 w2 w3 w4 w5", words=words)
    out = guards.split_at_topics([seg], lambda t: "a" if t < 3.0 else "b")
    assert [(s.topic, s.text) for s in out] == [("a", "w0 w1 w2"), ("b", "w3 w4 w5")]
    assert out[0].end == 2.5 and out[1].start == 3.0


# ----------------------------------------------------------------------------- guards


def test_repetition_loops_are_collapsed_and_flagged() -> None:
    segs = [Segment(float(i), i + 1.0, "Thank you.") for i in range(5)]
    out = guards.guard_repetition(segs)
    # One copy, stretched over the span of all five, with the flag the renderer shows.
    assert [(s.start, s.end, s.text, s.flags) for s in out] == [
        (0.0, 5.0, "Thank you.", ("repetition", "repetition_collapsed"))
    ]
    # Two copies are speech ("Yes." "Yes."), not a loop.
    assert len(guards.guard_repetition(segs[:2])) == 2
    loop = Segment(0, 3, "I think I think I think I think so", compression_ratio=1.5)
    collapsed = guards.guard_repetition([loop])[0]
    assert collapsed.text == "I think so"
    assert collapsed.flags == ("repetition", "repetition_collapsed")


def test_low_confidence_flag_and_pauses() -> None:
    words = (Word(0, 0.5, " a", 0.2), Word(2.0, 2.5, " b", 0.3))
    seg = Segment(0, 2.5, "a b", words=words, avg_logprob=-0.4)
    assert "low_confidence" in guards.flag_low_confidence([seg])[0].flags
    assert guards.pauses([seg]) == [(0.5, 2.0)]
    assert [pause_mark(s) for s in (1.2, 2.5, 4.23)] == ["(.)", "(.)", "(4 s)"]


def test_clean_text_removes_fillers_only() -> None:
    assert guards.clean_text("Um, I think, uh, we hum along. Hmm.") == "I think we hum along."
    assert guards.clean_text("umbrella") == "Umbrella"


@pytest.mark.parametrize(
    ("verbatim", "clean"),
    [
        # No stray comma where a filler sat between two.
        ("So, um, I think, uh, it works.", "So I think it works."),
        ("It hurt, um, a lot.", "It hurt a lot."),
        # A sentence that began with a filler begins with a capital.
        ("It was fine. Um, the next day, uh, we left.", "It was fine. The next day we left."),
        ("Yes. Uh, no.", "Yes. No."),
        ("Hmm, yes. Er, no!", "Yes. No!"),
        ("Okay? Um... so we left.", "Okay? So we left."),
        # A filler that is a whole sentence goes; one ending a sentence hands over its stop.
        ("It hurt. Uh. Then it stopped.", "It hurt. Then it stopped."),
        ("I asked her, um.", "I asked her."),
        ("Was that it, hmm?", "Was that it?"),
        # Commas that are not the filler's stay: lists, hesitations, restarts.
        ("Blood samples, uh vaccinations and so on.", "Blood samples, vaccinations and so on."),
        ("Well, um... you know.", "Well, you know."),
        ("We, uh, we went.", "We, we went."),
        ("I think, um", "I think"),
        # Nothing but fillers: nothing; words that only contain a filler stay.
        ("Um. Uh-huh.", ""),
        ("The umpire, ahem, hummed.", "The umpire, ahem, hummed."),
    ],
)
def test_clean_text_tidies_punctuation_and_capitals_where_fillers_were(
    verbatim: str, clean: str
) -> None:
    assert guards.clean_text(verbatim) == clean


def test_markdown_has_topics_notes_speakers_and_unclear_marks() -> None:
    tr = {
        "session": {"participant": "P01"},
        "duration": 20.0,
        "language": "en",
        "engine": {"name": "faster-whisper", "model": "tiny.en"},
        "options": {"verbatim": True},
        "topics": [{"id": "a", "title": "Alpha", "start": 0, "end": 20}],
        "segments": [
            {
                "start": 1.0,
                "end": 2.0,
                "text": "Hello there",
                "speaker": "Interviewer",
                "topic": "a",
                "words": [
                    {"start": 1.0, "end": 1.5, "word": " Hello", "probability": 0.9},
                    {"start": 1.5, "end": 2.0, "word": " there", "probability": 0.1},
                ],
            },
            {
                "start": 5.0,
                "end": 6.0,
                "text": "Um, yes.",
                "speaker": "P01",
                "topic": "a",
                "words": [],
            },
        ],
        "annotations": [{"t": 3.0, "type": "note", "topic": "a", "text": "smiles"}],
        "pauses": [{"start": 2.0, "end": 5.0}],
    }
    model = build_model(parse_transcript(tr))
    assert [v.title for v in model.visits] == ["Alpha"]
    texts = [turn_text(t, model.pauses) for t in model.turns]
    assert texts == ["Hello (there?)", "Um, yes."]  # no pause mark between two paragraphs


def test_write_atomic_is_owner_only_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "transcript.json"
    write_atomic(target, "{}")
    write_atomic(target, '{"a": 1}')
    assert json.loads(target.read_text()) == {"a": 1}
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["transcript.json"]


def test_options_fingerprint_ignores_rendering_and_threads() -> None:
    a = TranscribeOptions(threads=2, verbatim=True).fingerprint_dict()
    b = TranscribeOptions(threads=4, verbatim=False).fingerprint_dict()
    assert a == b
    assert a != TranscribeOptions(beam_size=1).fingerprint_dict()


# ----------------------------------------------------------------------------- models


def test_missing_model_names_the_pull_command(tmp_path: Path, monkeypatch) -> None:
    from guide_tui.transcribe.models import resolve

    monkeypatch.setenv("GUIDE_TUI_MODELS", str(tmp_path))
    with pytest.raises(TranscriptionError, match="guide-tui models pull large-v3 --engine"):
        resolve("large-v3", "faster-whisper")
    with pytest.raises(TranscriptionError, match="does not exist"):
        resolve(str(tmp_path / "nope.pt"), "openai-whisper")
    pt = tmp_path / "x.pt"
    pt.write_bytes(b"")
    with pytest.raises(TranscriptionError, match="CTranslate2"):
        resolve(str(pt), "faster-whisper")


def test_english_only_default_only_for_english(tmp_path: Path, monkeypatch) -> None:
    from guide_tui.transcribe.models import default_model

    monkeypatch.setenv("GUIDE_TUI_MODELS", str(tmp_path))
    assert not default_model("da").endswith(".en")
    assert default_model("en").endswith(".en")


# ----------------------------------------------------------------------------- layering & CLI

ENGINE_MODULES = ("torch", "whisper", "faster_whisper", "ctranslate2")


@pytest.mark.parametrize(
    "module",
    [
        "guide_tui.transcribe",
        "guide_tui.transcribe.runner",
        "guide_tui.transcribe.models",
        "guide_tui.transcribe.audio",
        "guide_tui.transcribe.guards",
        "guide_tui.transcribe.align",
        "guide_tui.transcribe.transcript",
        "guide_tui.transcribe.engines",
        "guide_tui.commands.transcribe",
    ],
)
def test_only_engine_adapters_import_engines(module: str) -> None:
    code = (
        "import importlib, json, sys; importlib.import_module(sys.argv[1]); "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, module], capture_output=True, text=True, check=True
    )
    assert not set(json.loads(out.stdout)) & set(ENGINE_MODULES)


def test_cli_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    from guide_tui.cli import main

    not_session = tmp_path / "empty"
    not_session.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "guide_tui", "transcribe", str(not_session)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "no session.json" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert main(["models", "list"]) == 0


def test_a_crashed_wav_with_a_stale_header_is_read_whole(tmp_path: Path) -> None:
    import struct

    from guide_tui.transcribe.runner import _repair

    path = _wav(tmp_path / "audio-001.wav", _speechlike(2.0))
    data = bytearray(path.read_bytes())
    pos = data.find(b"data")
    struct.pack_into("<I", data, pos + 4, 48000)  # the header claims 0.5 s of 16-bit mono
    path.write_bytes(bytes(data))
    _repair([path])
    assert audio.open_audio([path])[0].frames == 96000


# ----------------------------------------------------------------------------- progress


def test_progress_speed_is_audio_processed_over_wall_time_in_plain_lines() -> None:
    """openai-whisper hands over a window's segments in one burst: Rich's own speed estimate
    read that as "1816.7× real time". The figure is the runner's: audio ÷ wall seconds."""
    import io

    from guide_tui.commands.transcribe import _ProgressView
    from guide_tui.transcribe.types import Progress

    stream = io.StringIO()  # not a terminal: plain lines
    view = _ProgressView(1, stream=stream)
    view.PLAIN_EVERY_S = 0.0
    assert not view.interactive
    with view:
        view.start_session(1, Path("/r/2026-11-22_0930_P01"))
        view.update(Progress("P01", 0.0, 300.0, stage="loading"))
        view.update(Progress("P01", 28.0, 300.0, elapsed_s=0.0154))  # a burst, at once
        view.update(Progress("P01", 30.0, 300.0, elapsed_s=0.0155, window_done=True))
        view.update(Progress("P01", 30.0, 300.0, elapsed_s=10.0, window_done=True))
        view.update(Progress("P01", 140.0, 300.0, resumed_s=90.0, elapsed_s=19.0))  # mid-window
        view.update(Progress("P01", 150.0, 300.0, resumed_s=90.0, elapsed_s=20.0, window_done=True))
        view.update(Progress("P01", 300.0, 300.0, stage="done", segments=4, elapsed_s=70.0))
        view.finish_session(
            Path("/r/t.json"), {"audio_s": 300.0, "resumed_audio_s": 90.0, "transcribe_s": 70.0}
        )
    assert stream.getvalue().splitlines() == [
        "[1/1] 2026-11-22_0930_P01: transcribing 5:00 of audio",
        "[1/1] 2026-11-22_0930_P01: 0:30/5:00 (10%)",
        "[1/1] 2026-11-22_0930_P01: 0:30/5:00 (10%), 3.0× real time, about 1:30 left",
        "[1/1] 2026-11-22_0930_P01: 2:30/5:00 (50%), 3.0× real time, about 0:50 left",
        "[1/1] 2026-11-22_0930_P01: wrote /r/t.json (3:30 of audio in 1:10, "
        "1:30 done by an earlier run, 3.0× real time)",
    ]
    assert view.segments == 4


def _words(spec: str, start: float = 0.0, step: float = 0.5, p: float = 0.9) -> tuple[Word, ...]:
    return tuple(
        Word(start + i * step, start + i * step + step * 0.8, f" {t}", p)
        for i, t in enumerate(spec.split())
    )


def test_loop_inside_a_segment_keeps_the_first_copy_and_its_times() -> None:
    words = _words("so we went there and then we went there and then we went there and then home")
    seg = Segment(0.0, 9.0, "", words=words)
    out, after = guards.guard_repetition([seg])
    # The kept copy spans the removed ones (their audio is accounted for); the words after the
    # loop are a segment of their own, without its flag or span.
    assert (out.text, after.text) == ("so we went there and then", "home")
    assert [w.start for w in out.words] == [w.start for w in words][:6]
    assert "repetition_collapsed" in out.flags and out.end == words[-2].end
    assert after.flags == () and (after.start, after.end) == (words[-1].start, 9.0)
    # "no, no, no" is speech; five single words running is a loop.
    assert guards.find_loop(["no", "no", "no"]) is None
    assert guards.find_loop(["x"] + ["yes"] * 5) == (1, 1, 5)
    assert guards.find_loop("a b c a b c a b c".split()) == (0, 3, 3)


def test_repetitive_text_without_a_cuttable_loop_keeps_the_repetition_flag() -> None:
    pick = random.Random(0).choice
    text = " ".join(pick(["la", "di", "da", "do"]) for _ in range(150))  # compresses 4x
    assert guards.find_loop(text.split()) is None
    seg = Segment(0, 3, text, compression_ratio=1.0)
    assert guards.guard_repetition([seg])[0].flags == ("repetition",)
    # faster-whisper gives every segment of a 30 s chunk the chunk's ratio: a plain sentence next
    # to a loop is not flagged.
    plain = Segment(0, 3, "Thank you, that is clear.", compression_ratio=3.0)
    assert guards.guard_repetition([plain])[0].flags == ()


def _scanned(levels_db: list[tuple[float, float]], duration: float) -> Any:
    """An AudioFile whose energy scan is given: ``(seconds, dBFS)`` pieces laid end to end."""
    import numpy as np

    from guide_tui.transcribe.audio import FRAME_S, AudioFile

    frames = np.concatenate([np.full(round(s / FRAME_S), db, np.float32) for s, db in levels_db])
    f = AudioFile(Path("a.wav"), 0.0, round(duration * 16000), 16000, 1)
    f.frame_db = frames
    return f


def test_untranscribed_finds_speech_without_words_and_nothing_else() -> None:
    # 0-2 silence, 2-6 speech (words), 6-8 silence, 8-11 speech (no words), 11-14 silence.
    f = _scanned([(2, -80), (4, -20), (2, -80), (3, -20), (3, -80)], 14.0)
    seg = Segment(2.0, 6.0, "", words=_words("a b c d e f g h", start=2.0))
    assert guards.untranscribed([seg], [f]) == [pytest.approx((8.0, 11.0))]
    # Limited to a window that does not reach the stretch: nothing.
    assert guards.untranscribed([seg], [f], within=[(0.0, 7.0)]) == []
    # Under 1.5 s: not reported (word times are approximate).
    short = _scanned([(2, -80), (4, -20), (2, -80), (1, -20), (5, -80)], 14.0)
    assert guards.untranscribed([seg], [short]) == []
    # A collapsed loop accounts for its whole span.
    loop = Segment(8.0, 11.0, "x", words=_words("x", start=8.0), flags=("repetition_collapsed",))
    assert guards.untranscribed([seg, loop], [f]) == []


def test_a_word_stretched_back_over_a_silence_starts_where_its_speech_starts() -> None:
    # 0-1 silence, 1-3.8 speech, 3.8-5.2 silence, 5.2-8 speech. Whisper's first word of each
    # turn reaches back over the silence before it ("What" 0.0-1.2 for speech from 1.0).
    f = _scanned([(1, -80), (2.8, -20), (1.4, -80), (2.8, -20)], 8.0)
    first = Segment(0.0, 3.8, "", words=(Word(0.0, 1.2, " What", 0.6), Word(1.2, 3.8, " x", 0.9)))
    late = Word(4.0, 5.6, " Trust,", 0.9)  # over 1.2 s of silence, then speech
    short = Word(5.6, 5.9, " mostly,", 0.9)  # on speech
    second = Segment(3.9, 5.9, "", words=(late, short))
    out = guards.trim_lead_silence([first, second], [f])
    assert [(w.start, w.end) for w in out[0].words] == [
        pytest.approx((0.9, 1.2)),
        pytest.approx((1.2, 3.8)),
    ]
    assert out[0].start == pytest.approx(0.9) and out[0].end == 3.8
    assert out[1].words[0].start == pytest.approx(5.1) and out[1].start == pytest.approx(5.1)
    assert out[1].words[1] is short
    # Under 0.3 s of silence before the speech: left alone (word times are approximate).
    near = Segment(0.8, 3.8, "", words=(Word(0.8, 1.2, " What", 0.6),))
    assert guards.trim_lead_silence([near], [f])[0] is near
    # No speech energy under the word at all, or no energy scan: left to the other guards.
    silent = Segment(3.9, 4.9, "", words=(Word(3.9, 4.9, " hm", 0.2),))
    assert guards.trim_lead_silence([silent], [f])[0] is silent
    unscanned = _scanned([(8, -20)], 8.0)
    unscanned.frame_db = None
    assert guards.trim_lead_silence([first], [unscanned])[0] is first


def test_pause_is_never_recorded_over_speech_energy() -> None:
    f = _scanned([(2, -80), (4, -20), (2, -80), (3, -20), (3, -80)], 14.0)
    first = Segment(2.0, 6.0, "", words=_words("a b c d e f g h", start=2.0))
    last = Segment(11.5, 12.0, "z", words=_words("z", start=11.5))
    assert guards.pauses([first, last]) == [pytest.approx((5.9, 11.5))]  # blind: one pause
    assert guards.pauses([first, last], files=[f]) == []  # 8-11 s is speech, not a pause
    quiet = _scanned([(2, -80), (4, -20), (10, -80)], 16.0)
    # The pause is the silence: the last word's speech goes on to 6.0 s.
    assert guards.pauses([first, last], files=[quiet]) == [pytest.approx((6.0, 11.5))]


def test_a_pause_is_the_silence_between_the_words_not_their_timing() -> None:
    # 0.9 s of silence (5.0-5.9) between two words Whisper timed 1.3 s apart: the word before
    # ended early (4.8), the word after began late (6.1). No pause; 1.2 s of silence is one.
    f = _scanned([(2, -80), (3, -20), (0.9, -80), (3, -20), (1.2, -80), (2, -20)], 12.1)
    words = (
        Word(2.0, 4.8, " a", 0.9),
        Word(6.1, 7.0, " b", 0.9),
        Word(7.0, 8.6, " c", 0.9),
        Word(10.4, 11.0, " d", 0.9),
    )
    seg = Segment(2.0, 11.0, "a b c d", words=words)
    assert guards.pauses([seg]) == [pytest.approx((4.8, 6.1)), pytest.approx((8.6, 10.4))]
    assert guards.pauses([seg], files=[f]) == [pytest.approx((8.9, 10.1))]
    # A gap that runs on into the next file: each edge judged on its own file's energy.
    first = _scanned([(2, -80), (3, -20), (0.9, -80), (3, -20), (0.5, -80)], 9.4)
    second = _scanned([(0.7, -80), (1.0, -20), (2, -80)], 3.7)
    second.offset = 9.4
    assert guards.pauses([seg], files=[first, second]) == [pytest.approx((8.9, 10.1))]


def test_text_over_silence_is_dropped_and_words_on_speech_kept() -> None:
    f = _scanned([(2, -80), (4, -20), (4, -80)], 10.0)
    real = Segment(2.0, 6.0, "", words=_words("a b c d e f g h", start=2.0))
    thanks = Segment(6.6, 8.0, "Thank you.", words=_words("Thank you.", start=6.6, step=0.7))
    assert guards.drop_silence([real, thanks], [f]) == [real]
    # Over the tail of speech (its first word overlaps the last 0.2 s): still no support.
    tail = Segment(5.8, 7.5, "Thank you.", words=_words("Thank you.", start=5.8, step=0.8))
    assert guards.drop_silence([real, tail], [f]) == [real]


def test_the_engines_doubt_is_judged_on_each_segments_own_words() -> None:
    """Both engines give every segment the 30 s chunk's avg_logprob and no_speech_prob: an
    unintelligible stretch in the chunk must not flag (or drop) the clear turns beside it."""
    f = _scanned([(1, -80), (12, -20), (1, -80)], 14.0)
    doubtful_chunk = {"avg_logprob": -1.2, "no_speech_prob": 0.8}
    clear = Segment(
        1.0, 5.0, "a", words=_words("what makes you comfortable", 1.0), **doubtful_chunk
    )
    garbled = Segment(6.0, 9.0, "b", words=_words("nae tokka kosat", 6.0, p=0.45), **doubtful_chunk)
    guessed = Segment(9.5, 12.5, "c", words=_words("mi " * 6, 9.5, p=0.2), **doubtful_chunk)
    # Mean log-probability of the words: -0.11, -0.80, -1.61.
    kept = guards.drop_silence([clear, garbled, guessed], [f])
    doubt = ("possible_hallucination",)
    assert [(s.text, s.flags) for s in kept] == [("a", ()), ("b", doubt), ("c", doubt)]
    assert [s.flags for s in guards.flag_low_confidence(kept)] == [
        (),
        (*doubt, "low_confidence"),
        (*doubt, "low_confidence"),
    ]
    # Over speech energy a guess is not "silence": its words go to drop_gibberish, which
    # reports the span (unintelligible). Without an energy scan, Whisper's own rule drops it.
    assert guards.drop_gibberish(kept)[1] == [pytest.approx((9.5, 12.4))]
    assert [s.text for s in guards.drop_silence([clear, garbled, guessed], [])] == ["a", "b"]
    assert guards.segment_logprob(Segment(0.0, 1.0, "", avg_logprob=-0.3)) == -0.3  # no words
    # One improbable word opening a clear turn: mean log-probability -0.59, mean probability 0.78.
    opening = _words("what makes you comfortable handing those", 1.0)
    opening = (replace(opening[0], probability=0.05), *opening[1:])
    turn = Segment(1.0, 4.0, "d", words=opening, **doubtful_chunk)
    assert guards.segment_logprob(turn) < -0.5
    assert guards.drop_silence([turn], [f])[0].flags == ()


def test_uncertain_words_follow_one_rule() -> None:
    """Runs of improbable words are marked, lone ones are not (tiny.en's numbers, fixture H1)."""
    words = _parse_words(
        "Thank:0.15@0.0-0.3 you:0.96@0.3-0.5 nursing,:0.68@0.5-1.0 name:0.47@1.0-1.2 "
        "is:0.07@1.2-1.3 on:0.33@1.3-1.4 land:0.07@1.4-1.7 pressure:0.98@1.7-2.2 "
        "same:0.30@2.2-2.5 team:0.96@2.5-2.8 or:0.30@2.8-2.9 man?:0.25@2.9-3.2"
    )
    seg = Segment(0, 3.2, "", words=words)
    # "Thank" alone (right), "or man?" a run without a word under 0.2: not marked
    marked = [False] * 4 + [True] * 3 + [False] * 5
    assert guards.uncertain_words(seg) == marked
    assert guards.unclear_stretches(seg) == [(1.2, 1.7)]
    assert guards.uncertain_words(Segment(0, 0.3, "", words=words[4:5])) == [False]
    # A filler is never marked and neither starts nor breaks a run.
    um = _parse_words("Um,:0.05@0.0-0.2 the:0.30@0.2-0.4 and:0.9@0.4-0.6 uh:0.6@0.6-0.7 land:0.07")
    assert guards.uncertain_words(Segment(0, 1, "", words=um)) == [False] * 5
    split = (*words[4:6], replace(um[3], probability=0.9), words[6])  # is, on, uh, land
    assert guards.uncertain_words(Segment(0, 2, "", words=split)) == [True, True, False, True]


def _parse_words(spec: str, start: float = 0.0, step: float = 0.26) -> tuple[Word, ...]:
    """``word:probability@start-end`` items, as tiny.en gave them; an item without ``@start-end``
    is placed ``step`` seconds after the one before it (from ``start``)."""
    out = []
    for i, item in enumerate(spec.split()):
        word, rest = item.rsplit(":", 1)
        p, _, span = rest.partition("@")
        a, b = span.split("-") if span else (start + step * i, start + step * (i + 0.9))
        out.append(Word(float(a), float(b), " " + word, float(p)))
    return tuple(out)


#: tiny.en over a time-reversed participant turn (13.5-19.3 s) between two real turns.
_REVERSED_TURN = (
    "cases.:1.00@11.72-12.36 A:0.35@14.20-14.22 must:0.14@14.22-14.62 -numbier:0.44@14.62-15.16 "
    "surface:0.34@15.16-15.54 of:0.82@15.54-15.86 men's:0.34@15.86-16.24 armor:0.52@16.24-16.50 "
    "with:0.28@16.50-16.76 a:0.30@16.76-16.98 map:0.24@16.98-17.16 for:0.10@17.16-17.38 "
    "its:0.18@17.38-17.62 opponent's:0.23@17.62-18.36 urine:0.11@18.36-18.36 "
    "task:0.17@18.36-18.72 or:0.50@18.72-18.98 caustion.:0.53@18.98-19.38 Let:0.97@20.28-20.52"
)
#: tiny.en on clear speech with a few misheard words (must stay).
_CLEAR_TURN = (
    "how:0.77@22.30-22.40 we're:0.62@22.40-22.60 nursing:0.27@22.60-22.88 "
    "prepared:0.97@22.88-23.44 of:0.02@24.6-24.8 discussed:0.14@24.8-25.2 "
    "difficult:0.95@25.2-25.7 cases.:1.00@25.7-26.3 with:0.35@50.3-50.6 real:0.88@50.6-50.8 "
    "patients:0.17@50.8-51.4 because:0.56@51.4-52.1 the:0.55@52.1-52.3 course:0.90@52.3-52.5 "
    # 200 wpm, misheard but real ("the referral goes to secondary care only with red flags"):
    "or:0.00@58.00-58.12 if:0.15@58.12-58.26 all:0.22@58.26-58.40 goes:0.08@58.40-58.64 "
    "to:0.74@58.64-58.88 secondary:0.49@58.88-59.20 care:0.66@59.20-59.46 only:0.92@59.46-59.66 "
    "with:0.34@59.66-59.88 red:0.83@59.88-60.10 flags?:0.79@60.10-60.74"
)


def test_an_engine_guess_over_unintelligible_speech_is_removed_whole() -> None:
    words = _parse_words(_REVERSED_TURN)
    assert guards.gibberish_runs(words) == [(1, len(words) - 2)]
    seg = Segment(11.7, 20.6, "", words=words)
    out, spans = guards.drop_gibberish([seg])
    assert [w.word.strip() for s in out for w in s.words] == ["cases.", "Let"]
    assert spans == [(14.20, 19.38)]
    assert guards.gibberish_runs(_parse_words(_CLEAR_TURN)) == []


#: base over the reversed turn of the sweep's fixture RC0 (tiny.en guesses less fluently).
_BASE_GUESS = (
    "Hey,:0.28 you:0.19 must:0.79 know:0.18 me,:0.66 sir,:0.11 that:0.26 meant:0.52 me:0.74 "
    "and:0.78 the:0.82 Busan:0.35 army,:0.06 or:0.15 the:0.49 new:0.54 ones:0.07 as:0.29 "
    "all:0.33 the:0.37 Russians.:0.28"
)


def test_a_fluent_guess_is_one_run_though_two_probable_words_sit_inside() -> None:
    words = _parse_words(_BASE_GUESS, 13.0)
    # The first stop (mean over 0.45 at "and") leaves two runs of 2.3 s, each too short.
    assert guards.gibberish_runs(words) == [(0, len(words) - 1)]
    # A pause of a second ends a run: the same words in two stretches are two short guesses.
    apart = (*words[:10], *(replace(w, start=w.start + 1.5, end=w.end + 1.5) for w in words[10:]))
    assert guards.gibberish_runs(apart) == []
    # The low first words of two real turns with clear words between (tiny.en, fixture H2).
    turns = _parse_words("this:0.07 work.:0.84 They:0.05 talk:0.41 a:0.90 course:0.33", 29.4, 0.43)
    assert guards.gibberish_runs(turns) == []


#: tiny.en over a reversed turn (31.0-36.7 s, fixture FFR) and the real answer after it (from
#: 37.6 s), as the first decode of the window gave them: one segment each.
_GUESS_THEN_ANSWER = (
    "There:0.00@31.3-31.7 must:0.46@31.7-32.0 be:0.29@32.0-32.5 no:0.62@32.5-32.5 "
    "use:0.21@32.5-32.8 for:0.62@32.8-33.1 the:0.62@33.1-33.3 movement,:0.19@33.3-33.6 "
    "the:0.39@33.8-33.9 other:0.06@33.9-34.1 groups:0.10@34.1-34.3 are:0.54@34.3-34.5 "
    "not:0.42@34.5-34.7 all:0.18@34.7-34.9 it:0.21@34.9-35.1 are,:0.47@35.1-35.3 "
    "or:0.69@35.5-35.6 the:0.81@35.6-35.7 events:0.04@35.7-35.9 are:0.26@35.9-36.1 "
    "all:0.85@36.1-36.3 across:0.06@36.3-36.6 the:0.77@36.6-37.2 country.:0.15@37.2-37.2 "
    "Yes,:0.94@37.7-38.1 the:0.91@38.3-38.4 practice:0.73@38.4-38.7 nurse:0.48@38.7-39.1 "
    "does:0.68@39.1-39.4 the:0.58@39.4-39.5 diabetes:0.33@39.5-39.8 controls,:0.46@39.8-40.5 "
    "and:0.98@41.2-41.6 she:0.90@41.6-41.9 also:0.98@41.9-42.3 follow:0.29@42.3-42.6 "
    "up:0.71@42.6-42.8"
)


def test_a_guess_ends_where_the_next_clear_turn_begins() -> None:
    words = _parse_words(_GUESS_THEN_ANSWER)
    answer = next(n for n, w in enumerate(words) if w.word == " Yes,")
    # Its mean stays under the limit over "Yes, the practice nurse does the diabetes": without
    # the turn's edge the answer's first half went into the 'unintelligible' stretch.
    assert guards.gibberish_runs(words) == [(0, answer - 1)]
    # The same at a new segment without the pause before it (Whisper stretches a first word
    # back into the silence).
    joined = (*words[:answer], replace(words[answer], start=37.2), *words[answer + 1 :])
    assert guards.gibberish_runs(joined, {answer}) == [(0, answer - 1)]
    guess, rest = Segment(31.3, 37.2, "", words=words[:answer]), words[answer:]
    out, spans = guards.drop_gibberish([guess, Segment(37.7, 42.8, "", words=rest)])
    assert spans == [(31.3, 37.2)]
    kept = [w.word.strip() for s in out for w in s.words]
    assert kept[:4] == ["Yes,", "the", "practice", "nurse"]
    # A clear turn before the guess does not join it either (the run starts after it).
    before = _parse_words("clinic:0.30@30.2-30.6 staff?:0.97@30.6-31.0")
    assert guards.gibberish_runs((*before, *words[:answer])) == [(2, answer + 1)]


def _segment(spec: str) -> Segment:
    words = _parse_words(spec)
    return Segment(words[0].start, words[-1].end, guards.joined(words), words=words)


def test_the_filler_pass_adds_only_fillers_between_words_both_decodes_agree_on() -> None:
    # tiny.en on fixture A: the plain decode stretched "and" over the "um" it left out.
    plain = [
        _segment("controls,:0.9@31.0-35.2 and:0.9@35.2-36.4 she:0.9@36.4-36.8"),
        _segment("When:0.8@38.0-38.3 the:0.9@38.3-38.5"),
        _segment("so:0.9@60.0-60.3 the:0.9@63.5-63.8 patients:0.9@63.8-64.2"),
    ]
    heard = _parse_words(
        "controls,:0.9@31.0-35.2 and,:0.9@35.2-35.9 um,:0.7@36.0-36.3 she:0.9@36.4-36.8 "
        # Between two segments; and a guess the engine was nearly sure it did not hear.
        "Um,:0.8@37.4-37.9 When:0.8@38.0-38.3 uh:0.003@38.3-38.4 the:0.9@38.4-38.5 "
        # In the middle of 3.2 s between "so" and "the": an untranscribed stretch, no filler.
        "so:0.9@60.0-60.3 uh,:0.6@61.5-61.8 the:0.9@63.5-63.8 patients:0.9@63.8-64.2"
    )
    out = guards.add_fillers(plain, heard)
    assert [s.text for s in out] == ["controls, and um, she", "Um, When the", plain[2].text]
    assert [(w.word.strip(), w.start, w.end) for w in out[0].words[1:3]] == [
        ("and", 35.2, 36.0),  # trimmed off the filler
        ("um,", 36.0, 36.3),
    ]
    assert (out[1].start, out[1].end) == (37.4, 38.5) and out[2] == plain[2]
    # Nothing but fillers, and nothing next to words the decodes disagree on.
    base = [_segment("so:0.9@0.0-0.3 the:0.9@0.8-1.0")]
    said = _parse_words("so:0.9@0.0-0.3 you:0.9@0.3-0.5 know:0.9@0.5-0.7 the:0.9@0.8-1.0")
    assert guards.add_fillers(base, said) == base
    misheard = _parse_words("sew:0.5@0.0-0.3 um:0.8@0.3-0.6 the:0.9@0.8-1.0")
    assert guards.add_fillers(base, misheard) == base
    # A filler both decodes wrote is not doubled.
    both = [_segment("and,:0.9@35.2-35.9 um,:0.7@36.0-36.3 she:0.9@36.4-36.8")]
    assert guards.add_fillers(both, both[0].words) == both


def test_vocabulary_respells_near_misses_only() -> None:
    vocab = ["spondylarthrosis", "physiotherapist", "referral", "flowchart", "GP"]
    vocab += ["clinical staff members", "clinic staff", "self-management"]

    def spelt(text: str) -> str:
        words = tuple(Word(i, i + 0.5, " " + w, 0.9) for i, w in enumerate(text.split()))
        return guards.spell_vocabulary([Segment(0, 9, text, words=words)], vocab)[0].text

    assert spelt("I have spondyl arthrosis.") == "I have spondylarthrosis."
    assert spelt("the physio therapist said") == "the physiotherapist said"
    assert spelt("I made a referal, then") == "I made a referral, then"
    assert spelt("we tried a flow chart") == "we tried a flowchart"
    assert spelt("Self management") == "Self-management"
    # Left alone: inflections, neighbours, terms already right, short terms.
    assert spelt("the referrals came") == "the referrals came"
    assert spelt("a practice nurse did triage at") == "a practice nurse did triage at"
    assert spelt("the clinical staff members") == "the clinical staff members"
    assert spelt("go up") == "go up"


def test_a_guessed_filler_accounts_for_no_speech() -> None:
    """Under the filler prompt tiny.en once wrote a lone "Um," (p = 0.001) over a 3 s question:
    such a filler covers nothing, so the question is found and redecoded; a filler the engine
    heard (p 0.6) covers its time as any word."""
    f = _scanned([(2, -80), (4, -20), (2, -80), (3, -20), (3, -80)], 14.0)
    seg = Segment(2.0, 6.0, "", words=_words("a b c d e f g h", start=2.0))
    guess = Segment(8.0, 11.0, "Um,", words=(Word(8.5, 10.5, " Um,", 0.001),))
    assert guards.untranscribed([seg, guess], [f]) == [pytest.approx((8.0, 11.0))]
    heard = Segment(8.0, 11.0, "Um,", words=(Word(8.5, 10.5, " Um,", 0.6),))
    assert guards.untranscribed([seg, heard], [f]) == []
    assert not guards.guessed_filler(Word(8.5, 10.5, " Umbrella", 0.001))


def test_fresh_decodes_start_in_the_silence_before_the_speech() -> None:
    """A redecode begun in the last words of the previous turn writes those and stops, so
    both fresh decodes of a stretch begin in the silence before its speech when there is one."""
    from guide_tui.transcribe.runner import _fresh_span, _fresh_starts

    # 0-4 previous turn, 4-4.9 silence, 4.9-9.5 the lost answer, 9.5-12 silence.
    f = _scanned([(4, -20), (0.9, -80), (4.6, -20), (2.5, -80)], 12.0)
    w = audio.Window(0, f, [(0, 12 * 16000)])
    # A guessed run began at 4.2 (in the silence): both start in it, 0.3 s before the speech
    # and at the silence's start, not 1 s earlier in the previous turn.
    one, two = _fresh_starts(w, 4.2)
    assert one == pytest.approx(4.6) and two == pytest.approx(4.0)
    # An untranscribed stretch found at the speech onset: the same.
    assert _fresh_starts(w, 4.9) == (pytest.approx(4.6), pytest.approx(4.0))
    # The guessed run ended at 9.0 while the speech went on to 9.5: its words may reach 10.0.
    assert _fresh_span(w, 4.2, 9.0) == (pytest.approx(3.9), pytest.approx(10.0))
    # A long silence: the second starts a whole second before the first.
    quiet = _scanned([(4, -20), (3, -80), (3, -20), (2, -80)], 12.0)
    assert _fresh_starts(audio.Window(0, quiet, [(0, 12 * 16000)]), 7.0) == (
        pytest.approx(6.7),
        pytest.approx(5.7),
    )
    # Turns 0.2 s apart: no silence to start in; as before (0.3 s and 1.3 s before the stretch).
    tight = _scanned([(4, -20), (0.2, -80), (5.8, -20), (2, -80)], 12.0)
    assert _fresh_starts(audio.Window(0, tight, [(0, 12 * 16000)]), 4.2) == (
        pytest.approx(3.9),
        pytest.approx(2.9),
    )


def test_a_loop_inside_one_word_is_cut_to_its_first_copy() -> None:
    """base wrote a 372-character "Nyehmiyehmi…" as one word over the end of a real turn (after
    a reversed one): a loop no word-level rule sees. It is cut like a loop of words: one copy,
    flagged and shown, the words after it a segment of their own."""
    loop = " Nyehmi" + "yehmi" * 70
    words = (*_words("for the", 28.9), Word(29.9, 31.2, loop, 0.95), *_words("months.", 31.3))
    out = guards.guard_repetition([Segment(28.9, 31.7, "", words=words)])
    assert [s.text for s in out] == ["for the Nyehmi", "months."]
    assert set(out[0].flags) == {"repetition", "repetition_collapsed"} and out[1].flags == ()
    assert out[0].end == pytest.approx(31.2)  # the loop's audio stays accounted for
    # Words that only look repetitive stay as spoken.
    for word in (" hahahaha", " internationalisation", " Mi-mi-mi-mi-mi-mi-mi-mi-mi"):
        assert guards.word_loop(word) is None
