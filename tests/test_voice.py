"""The interviewer's voice known in advance (issue 12): the sample taken at the microphone check,
the opt-in voice profile, and the channel map of a two-microphone check.

Real parts: the GE2E weights from the resemblyzer wheel, espeak-ng voices, tiny.en through the
real transcriber; the profile is stored through the real CLI and every export is searched for it.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import fixtures_speech as fs
import numpy as np
import pytest
import soundfile as sf

from guide_tui import voiceprint
from guide_tui.cli import main
from guide_tui.transcribe import diarize, speakers

needs_model = pytest.mark.skipif(
    not diarize.available(),
    reason="speaker model not installed (pip install --no-deps resemblyzer==0.1.4)",
)

#: The participant speaks first (a greeting at the door) and nobody ticks: naming by the first
#: voice gets it backwards; the interviewer's own sample must not.
PARTICIPANT_FIRST = (
    ("P", "Do come in and take a seat while I find my notes for the study", "delegation"),
    *fs.INTERVIEW_TURNS,
)  # fmt: skip
SAMPLE_TEXT = "Testing the microphone: my name is Alex, and I will ask the questions today."
ENROL_TEXT = (
    "Good morning. I am reading this text aloud so that the program learns my voice. It will "
    "know me again in every interview I record, and nothing of this audio is kept."
)


def _sample(path: Path, voice: str = fs.INTERVIEWER_VOICE, text: str = SAMPLE_TEXT) -> Path:
    x = fs.say(text, voice, 48000)
    sf.write(str(path), 0.5 * x / np.abs(x).max(), 48000, subtype="PCM_16")
    return path


def _session(tmp_path: Path, fx: fs.SpeechFixture, voice_check: dict | None) -> Path:
    folder = fs.make_session(tmp_path / "s", [fx.path], [(0.0, "interview_started", {})])
    if voice_check is not None:
        meta = json.loads((folder / "session.json").read_text())
        meta["voice_check"] = voice_check
        (folder / "session.json").write_text(json.dumps(meta))
    return folder


def _interviewer(tr: dict) -> dict:
    return next(e for e in tr["speakers"].values() if e["role"] == "interviewer")


def _words_right(tr: dict, fx: fs.SpeechFixture) -> float:
    ok = n = 0
    for seg in tr["segments"]:
        for w in seg["words"]:
            mid = (w["start"] + w["end"]) / 2
            turn = min(fx.turns, key=lambda u: 0 if u.start <= mid <= u.end else
                       min(abs(mid - u.start), abs(mid - u.end)))  # fmt: skip
            want = "interviewer" if turn.speaker == "I" else "participant"
            sid = w.get("speaker_id")
            n += 1
            ok += sid is not None and tr["speakers"][sid]["role"] == want
    return ok / max(1, n)


# ----------------------------------------------------------------------------- real weights


@pytest.mark.slow
@needs_model
def test_the_voice_sample_names_the_interviewer_where_the_first_voice_rule_fails(
    tmp_path: Path,
) -> None:
    fx = fs.make_interview(PARTICIPANT_FIRST)
    # without the sample: no ticks, the first voice is taken for the interviewer: wrong
    plain = _session(tmp_path / "a", fx, None)
    fs.transcribe_with_tiny_en(plain)
    tr = json.loads((plain / "transcript.json").read_text())
    assert _interviewer(tr)["decided_by"] == "first_voice"
    assert _words_right(tr, fx) < 0.2  # every word under the wrong name
    # with the interviewer's sample from the microphone check (another sentence)
    folder = _session(tmp_path / "b", fx, {"sample": voiceprint.SAMPLE_FILE})
    _sample(folder / voiceprint.SAMPLE_FILE)
    fs.transcribe_with_tiny_en(folder)
    tr = json.loads((folder / "transcript.json").read_text())
    who = _interviewer(tr)
    assert who["decided_by"] == "voice_sample", tr["speakers"]
    assert who["margin"] >= speakers.VOICE_MARGIN and who["similarity"] >= speakers.VOICE_MIN_RAW
    assert _words_right(tr, fx) >= 0.95
    first = tr["segments"][0]
    assert first["speaker"] == "P07", first


@pytest.mark.slow
@needs_model
def test_a_voice_profile_is_stored_used_and_never_exported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    enrol = _sample(tmp_path / "enrol.wav", text=ENROL_TEXT)
    assert main(["voice", "enroll", "--audio-file", str(enrol)]) == 0
    path = voiceprint.profile_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    body = json.loads(path.read_text())
    assert len(body["embedding"]) == 256 and "audio" not in json.dumps(body).lower()
    capsys.readouterr()
    assert main(["voice"]) == 0
    assert "enrolled" in capsys.readouterr().out

    fx = fs.make_interview(PARTICIPANT_FIRST)
    folder = _session(tmp_path, fx, {"profile": True})  # run while the profile existed
    fs.transcribe_with_tiny_en(folder)
    tr = json.loads((folder / "transcript.json").read_text())
    assert _interviewer(tr)["decided_by"] == "voice_profile", tr["speakers"]
    assert _words_right(tr, fx) >= 0.95

    out = tmp_path / "exports"
    assert main(["export", str(folder), "--out", str(out / "plain")]) == 0
    names = tmp_path / "names.txt"
    names.write_text("Alex\n")
    assert main(["anonymise", str(folder), "--names", str(names), "-o", str(out / "anon")]) == 0
    assert main(["export", "--study", str(folder.parent), "--out", str(out / "study")]) == 0
    _assert_profile_absent(out, body["embedding"])

    assert main(["voice", "forget"]) == 0
    assert not path.exists()
    assert main(["voice", "forget"]) == 0  # nothing to forget is not an error
    # a profile-flagged session with the profile gone: named without it, no failure
    fs.transcribe_with_tiny_en(folder)
    tr = json.loads((folder / "transcript.json").read_text())
    assert _interviewer(tr)["decided_by"] == "first_voice"


def _assert_profile_absent(out: Path, embedding: list[float]) -> None:
    """No export holds the profile: not its file, not its numbers (as text or as float32)."""
    import zipfile

    files = [p for p in out.rglob("*") if p.is_file()]
    assert files, "exports were written"
    needles = [f"{x:.6f}"[:8].encode() for x in embedding[:8] if abs(x) > 1e-3]
    packed = np.asarray(embedding, np.float32).tobytes()[:64]
    blobs: list[tuple[str, bytes]] = []
    for p in files:
        data = p.read_bytes()
        blobs.append((p.name, data))
        if zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as z:
                blobs.extend((f"{p.name}:{n}", z.read(n)) for n in z.namelist())
    for name, data in blobs:
        assert voiceprint.PROFILE_FILE.encode() not in data, name
        assert voiceprint.SAMPLE_FILE.encode() not in data, name
        assert packed not in data, name
        assert sum(n in data for n in needles) < 3, name
    assert not any(voiceprint.SAMPLE_FILE in n for n, _ in blobs)


@pytest.mark.slow
@needs_model
def test_a_sample_of_a_voice_not_in_the_session_names_nobody(tmp_path: Path) -> None:
    """A stranger's voice (en-us+f2, female; the interview's voices are en-us and en-gb+f3)
    is below the raw similarity floor: the ticks decide."""
    fx = fs.make_interview()
    d = _diarized(fx)
    got = speakers.voice_of_file(_sample(tmp_path / "x.wav", voice="en-us+f2"))
    assert got is not None
    assert speakers._match_voice(d, speakers.KnownVoice(got[0], "voice_sample")) is None
    mine = speakers.voice_of_file(_sample(tmp_path / "i.wav"))
    assert mine is not None
    matched = speakers._match_voice(d, speakers.KnownVoice(mine[0], "voice_sample"))
    assert matched is not None and matched[0] == int(np.argmin(d.first_t))


def _diarized(fx: fs.SpeechFixture) -> diarize.Diarization:
    from guide_tui.transcribe.audio import open_audio, scan

    f = open_audio([fx.path])[0]
    scan(f)
    return diarize.diarize_file(f, 2)


@pytest.mark.slow
def test_the_mic_check_channel_map_labels_two_microphones(tmp_path: Path) -> None:
    """Two microphones with the interviewer on the second channel: the default guess (first
    channel = interviewer) labels every turn backwards; the mic check's map gets them right."""
    fx = fs.make_interview(channels=2)
    data, sr = sf.read(str(fx.path), dtype="float32")
    swapped = tmp_path / "swapped.wav"
    sf.write(str(swapped), data[:, ::-1], sr, subtype="PCM_16")
    fx = fs.SpeechFixture(swapped, fx.turns, sr, 2)
    guessed = _session(tmp_path / "a", fx, None)
    fs.transcribe_with_tiny_en(guessed)
    tr = json.loads((guessed / "transcript.json").read_text())
    assert _interviewer(tr)["decided_by"] == "channel" and _words_right(tr, fx) < 0.2
    mapped = _session(tmp_path / "b", fx, {"interviewer_channel": 1})
    fs.transcribe_with_tiny_en(mapped)
    tr = json.loads((mapped / "transcript.json").read_text())
    who = _interviewer(tr)
    assert who["decided_by"] == "mic_check" and who["channel"] == 2, tr["speakers"]
    assert _words_right(tr, fx) >= 0.97
    assert tr["segments"][0]["speaker"] == "Interviewer"
    # no map, but the interviewer is enrolled: their voice says which microphone is theirs
    got = speakers.voice_of_file(_sample(tmp_path / "enrol.wav", text=ENROL_TEXT))
    assert got is not None
    voiceprint.save_profile(got[0], speech_s=got[1])
    enrolled = _session(tmp_path / "c", fx, {"profile": True})
    fs.transcribe_with_tiny_en(enrolled)
    tr = json.loads((enrolled / "transcript.json").read_text())
    who = _interviewer(tr)
    assert who["decided_by"] == "voice_profile" and who["channel"] == 2, tr["speakers"]
    assert _words_right(tr, fx) >= 0.97


@needs_model
def test_too_short_a_sample_is_not_trusted(tmp_path: Path) -> None:
    short = _sample(tmp_path / "hello.wav", text="Hello.")
    assert speakers.voice_of_file(short) is None
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(48000, np.float32), 48000)
    assert speakers.voice_of_file(silent) is None


# ----------------------------------------------------------------------------- units


def _fake_diarization(centred: list[float], raw: list[float]) -> diarize.Diarization:
    """Two clusters whose centred and raw similarity to the voice e0 are the given numbers."""
    k = len(centred)
    cent = np.zeros((k, 256), np.float32)
    raws = np.zeros((k, 256), np.float32)
    for i, (c, r) in enumerate(zip(centred, raw, strict=True)):
        cent[i, 0], cent[i, i + 1] = c, np.sqrt(1 - c * c)
        raws[i, 0], raws[i, i + 1] = r, np.sqrt(1 - r * r)
    return diarize.Diarization(
        0.0, [(0, 100)], [(0, 0, 100)], np.zeros((1, k), np.float32), [1.0] * k,
        [float(i) for i in range(k)], False,
        centre=np.zeros(256, np.float32), centroids=cent, raw_centroids=raws,
    )  # fmt: skip


def _e0() -> speakers.KnownVoice:
    v = np.zeros(256)
    v[0] = 1
    return speakers.KnownVoice(tuple(v), "voice_sample")


def test_a_known_voice_decides_only_when_clear_and_plausible() -> None:
    assert speakers._match_voice(_fake_diarization([0.1, 0.6], [0.9, 0.95]), _e0()) == (
        1, {"similarity": 0.95, "margin": 0.5},
    )  # fmt: skip
    assert speakers._match_voice(_fake_diarization([0.5, 0.4], [0.95, 0.95]), _e0()) is None
    assert speakers._match_voice(_fake_diarization([0.1, 0.6], [0.9, 0.7]), _e0()) is None


def test_the_known_voice_wins_over_ticks_and_first_voice() -> None:
    d = _fake_diarization([0.1, 0.6], [0.9, 0.95])
    roster = speakers._Roster("P07", [])
    spans = [(0.0, 1.0), (2.0, 3.0)]
    names = speakers._name_clusters(d, spans, [0, 1], [1.5], roster, _e0())
    entries = roster.as_json()
    assert entries[names[1]]["role"] == "interviewer"
    assert entries[names[1]]["decided_by"] == "voice_sample"
    assert entries[names[1]]["ticks"] == 1 and entries[names[1]]["votes"] == 0  # ticks disagreed
    assert entries[names[0]]["role"] == "participant"
    roster = speakers._Roster("P07", [])
    names = speakers._name_clusters(d, spans, [0, 1], [1.5], roster, None)
    assert roster.as_json()[names[0]]["decided_by"] == "ticks"


def test_the_mic_check_channel_map_names_the_channels(tmp_path: Path) -> None:
    from guide_tui.transcribe.audio import AudioFile

    ch = np.full((100, 2), -60.0, np.float32)
    ch[0:50] = (-20.0, -30.0)  # channel 1 louder
    ch[50:100] = (-30.0, -20.0)  # channel 2 louder
    f = AudioFile(tmp_path / "a.wav", 0.0, 2 * 16000, 16000, 2, ch.mean(axis=1), ch)
    spans = [(0.1, 0.9), (1.1, 1.9)]
    roster = speakers._Roster("P07", [])
    keys, _ = speakers._by_channel(f, spans, ["P07", "Interviewer"], None, roster, 1)
    entries = roster.as_json()
    assert [entries[k]["role"] for k in keys] == ["participant", "interviewer"]
    assert [entries[k]["label"] for k in keys] == ["P07", "Interviewer"]
    assert {e["decided_by"] for e in entries.values()} == {"mic_check"}
    roster = speakers._Roster("P07", [])
    keys, _ = speakers._by_channel(f, spans, ["Interviewer", "P07"], None, roster)
    assert [roster.as_json()[k]["role"] for k in keys] == ["interviewer", "participant"]
    assert roster.as_json()[keys[0]]["decided_by"] == "channel"


def test_a_known_voice_finds_the_interviewers_microphone(tmp_path: Path) -> None:
    from guide_tui.transcribe.audio import AudioFile

    ch = np.full((200, 2), -60.0, np.float32)
    ch[0:100] = (-30.0, -20.0)  # 0-2 s: the second microphone's person
    ch[100:200] = (-20.0, -30.0)  # 2-4 s: the first microphone's person
    f = AudioFile(tmp_path / "a.wav", 0.0, 4 * 16000, 16000, 2, ch.mean(axis=1), ch)
    d = _fake_diarization([0.1, 0.6], [0.9, 0.95])  # the voice matches cluster 1
    d.runs = [(0, 100), (100, 200), (200, 300), (300, 400)]
    d.windows = [(i, 100 * i, 100 * i + 100) for i in range(4)]
    d.sims = np.array([[0.1, 0.9], [0.1, 0.9], [0.9, 0.1], [0.9, 0.1]], np.float32)
    spans = [(0.1, 0.9), (1.1, 1.9), (2.1, 2.9), (3.1, 3.9)]
    roster = speakers._Roster("P07", [])
    voice = speakers.KnownVoice(_e0().embedding, "voice_profile")
    keys, _ = speakers._by_channel(f, spans, ["Interviewer", "P07"], d, roster, None, voice)
    entries = roster.as_json()
    assert [entries[k]["label"] for k in keys] == ["Interviewer", "Interviewer", "P07", "P07"]
    inter = next(e for e in entries.values() if e["role"] == "interviewer")
    assert inter["decided_by"] == "voice_profile" and inter["channel"] == 2
    # the mic check's map wins over the voice
    roster = speakers._Roster("P07", [])
    keys, _ = speakers._by_channel(f, spans, ["Interviewer", "P07"], d, roster, 0, voice)
    assert [roster.label(k) for k in keys] == ["P07", "P07", "Interviewer", "Interviewer"]
    # a voice that matches nobody clearly leaves the convention
    roster = speakers._Roster("P07", [])
    unclear = _fake_diarization([0.5, 0.45], [0.9, 0.95])
    unclear.runs, unclear.windows, unclear.sims = d.runs, d.windows, d.sims
    keys, _ = speakers._by_channel(f, spans, ["Interviewer", "P07"], unclear, roster, None, voice)
    assert roster.as_json()[keys[2]]["decided_by"] == "channel"


def test_session_input_reads_the_channel_map(tmp_path: Path) -> None:
    from guide_tui.transcribe.runner import SessionInput

    wav = tmp_path / "x.wav"
    sf.write(str(wav), np.zeros((1600, 2), np.float32), 16000)
    folder = fs.make_session(tmp_path / "s", [wav])
    meta = json.loads((folder / "session.json").read_text())
    meta["voice_check"] = {"interviewer_channel": 1}
    (folder / "session.json").write_text(json.dumps(meta))
    s = SessionInput.read(folder)
    assert s.interviewer_channel == 1
    assert s.channel_labels["audio-001.wav"] == ["P07", "Interviewer"]
    meta["voice_check"] = {"interviewer_channel": True}  # hand-edited nonsense: ignored
    (folder / "session.json").write_text(json.dumps(meta))
    assert SessionInput.read(folder).interviewer_channel is None


def test_profile_store_load_forget_and_damage(tmp_path: Path) -> None:
    from guide_tui.errors import ConfigError

    assert voiceprint.load_profile() is None and not voiceprint.has_profile()
    path = voiceprint.save_profile([0.0625] * 256, speech_s=3.25)
    assert voiceprint.load_profile() == (0.0625,) * 256
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    path.write_text('{"kind": "something else"}')
    with pytest.raises(ConfigError, match="voice forget"):
        voiceprint.load_profile()
    assert voiceprint.forget_profile() and not voiceprint.forget_profile()
    with pytest.raises(ConfigError, match="256"):
        voiceprint.save_profile([1.0, 2.0], speech_s=1)


def test_voice_commands_say_one_line_on_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["voice", "enroll", "--audio-file", str(tmp_path / "none.wav")]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "none.wav" in err
    assert not voiceprint.has_profile()


def test_channel_map_from_takes_and_the_sample_wav() -> None:
    import io
    import wave

    from guide_tui.recorder.mic_check import VoiceTake, channel_map

    rng = np.random.default_rng(3)
    v = rng.normal(0, 0.2, 16000 * 2)
    n = rng.normal(0, 0.002, (16000 * 2, 2))
    on_first = VoiceTake(np.stack([v, 0.1 * v], axis=1) + n, 16000)
    on_second = VoiceTake(np.stack([0.1 * v, v], axis=1) + n, 16000)
    both = VoiceTake(np.stack([v, v], axis=1), 16000)
    assert channel_map(on_first, on_second) == 0
    assert channel_map(on_second, on_first) == 1
    assert channel_map(on_second) == 1  # the interviewer's take alone: the 3 dB rule
    assert channel_map(both) is None and channel_map(both, both) is None
    assert channel_map(VoiceTake(v[:, None], 16000)) is None  # one microphone
    # each person 4 dB louder on "their" channel: not enough to call it with both takes
    close = VoiceTake(np.stack([v, 0.63 * v], axis=1), 16000)
    assert channel_map(close, VoiceTake(np.stack([0.63 * v, v], axis=1), 16000)) == 0
    assert channel_map(close, VoiceTake(np.stack([0.8 * v, v], axis=1), 16000)) is None
    with wave.open(io.BytesIO(on_second.wav_bytes(1))) as w:
        assert (w.getnchannels(), w.getframerate(), w.getnframes()) == (1, 16000, 32000)
    assert on_first.speech_seconds() == pytest.approx(2.0, abs=0.05)
    silent = VoiceTake(np.zeros((16000, 1)), 16000)
    assert silent.speech_seconds() == 0.0


@needs_model
def test_a_bad_voice_sample_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    from guide_tui.transcribe.runner import SessionInput

    wav = tmp_path / "x.wav"
    sf.write(str(wav), np.zeros(1600, np.float32), 16000)
    folder = fs.make_session(tmp_path / "s", [wav])
    meta = json.loads((folder / "session.json").read_text())
    for sample, expect in (("voice-interviewer.wav", "is missing"),
                           ("../outside.wav", "cannot be used"),
                           ("audio-001.wav", "too little speech")):  # fmt: skip
        meta["voice_check"] = {"sample": sample}
        (folder / "session.json").write_text(json.dumps(meta))
        voice, warnings = SessionInput.read(folder).interviewer_voice()
        assert voice is None and [w["kind"] for w in warnings] == ["voice_sample"]
        assert expect in warnings[0]["message"], warnings
    (folder / "voice-interviewer.wav").write_bytes(b"RIFF not really")
    meta["voice_check"] = {"sample": "voice-interviewer.wav", "profile": True}
    (folder / "session.json").write_text(json.dumps(meta))
    voiceprint.save_profile([1 / 16] * 256, speech_s=9.0)
    voice, warnings = SessionInput.read(folder).interviewer_voice()
    assert voice is not None and voice.source == "voice_profile"  # the profile steps in
    assert "cannot be used" in warnings[0]["message"]
