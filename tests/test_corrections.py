"""The corrections log (guide_tui/transcript/corrections.py) and its application by the model:
append-only, fsynced, torn-line tolerant, undoable, anchored by time + original text so a
re-transcription keeps what still matches and reports the rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from guide_tui.transcript import build_model, parse_transcript
from guide_tui.transcript.corrections import (
    CORRECTIONS_FILE,
    CorrectionError,
    CorrectionLog,
    read_corrections,
    reviewed_seconds,
    unplaced,
)


def _seg(start: float, speaker: str | None, text: str, step: float = 0.5) -> dict:
    words = []
    t = start
    for token in text.split():
        words.append({"start": t, "end": t + step - 0.1, "word": " " + token, "probability": 0.9})
        t += step
    return {
        "start": start,
        "end": words[-1]["end"],
        "text": text,
        "words": words,
        "speaker": speaker,
    }


def _transcript(shift: float = 0.0, answer: str = "I grew up in Arhus near the sea."):
    return parse_transcript(
        {
            "duration": 60.0,
            "speakers": ["SPEAKER_00", "SPEAKER_01"],
            "segments": [
                _seg(1.0 + shift, "SPEAKER_00", "Where did you grow up?"),
                _seg(5.0 + shift, "SPEAKER_01", answer),
                _seg(12.0 + shift, "SPEAKER_01", "And then we moved to Oslo."),
                _seg(20.0 + shift, "SPEAKER_00", "What was school like?"),
                _seg(24.0 + shift, "SPEAKER_01", "School was fine. I liked it."),
            ],
            "annotations": [
                {"t": 1.2, "type": "question_asked", "topic": "childhood", "question": "q1"}
            ],
        }
    )


EVENTS = [
    {"seq": 1, "t": 0.5, "type": "topic_entered", "data": {"topic": "childhood"}},
    {"seq": 2, "t": 20.5, "type": "topic_entered", "data": {"topic": "school"}},
]


def _turn_texts(model) -> list[tuple[str | None, str]]:
    return [(t.speaker, t.text) for t in model.turns]


def test_log_appends_fsynced_lines_and_reads_them_back(tmp_path: Path) -> None:
    log = CorrectionLog.open(tmp_path)
    c1 = log.append("edit_text", start=7.0, end=7.4, original="Arhus", text="Aarhus")
    c2 = log.append("rename_speaker", speaker="SPEAKER_00", name="Interviewer")
    assert (c1.seq, c2.seq) == (1, 2)
    lines = (tmp_path / CORRECTIONS_FILE).read_text().splitlines()
    assert [json.loads(x)["type"] for x in lines] == ["edit_text", "rename_speaker"]
    first = json.loads(lines[0])
    assert first["v"] == 1 and first["seq"] == 1 and first["wall"] and first["data"]["text"]
    assert oct(os.stat(tmp_path / CORRECTIONS_FILE).st_mode & 0o777) == "0o600"
    again = CorrectionLog.open(tmp_path)
    assert [c.type for c in again.corrections] == ["edit_text", "rename_speaker"]
    assert again.append("reviewed", start=0.0, end=30.0).seq == 3


def test_torn_last_line_is_skipped_and_the_next_append_starts_a_fresh_line(tmp_path: Path) -> None:
    log = CorrectionLog.open(tmp_path)
    log.append("edit_text", start=7.0, end=7.4, original="Arhus", text="Aarhus")
    with open(tmp_path / CORRECTIONS_FILE, "ab") as f:
        f.write(b'{"v": 1, "seq": 2, "type": "edit_te')  # a crash mid-write
    log = CorrectionLog.open(tmp_path)
    assert log.torn_lines == 1 and len(log.corrections) == 1
    log.append("reviewed", start=0.0, end=10.0)
    assert [c.type for c in read_corrections(tmp_path)] == ["edit_text", "reviewed"]
    raw = (tmp_path / CORRECTIONS_FILE).read_bytes().split(b"\n")
    assert raw[1].startswith(b'{"v": 1, "seq": 2, "type": "edit_te') and raw[2].startswith(b"{")


def test_sigkill_during_review_keeps_every_appended_correction(tmp_path: Path) -> None:
    """A real second process appends and is killed with SIGKILL: all returned appends are on
    disk (each append is fsynced before it returns)."""
    code = (
        "import sys, os, signal\n"
        "from guide_tui.transcript.corrections import CorrectionLog\n"
        "log = CorrectionLog.open(sys.argv[1])\n"
        "for i in range(20):\n"
        "    log.append('reviewed', start=float(i), end=float(i) + 1)\n"
        "print('done', flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert proc.returncode == -9 and "done" in proc.stdout
    assert len(read_corrections(tmp_path)) == 20
    assert reviewed_seconds(read_corrections(tmp_path)) == 20.0


def test_bad_corrections_are_refused(tmp_path: Path) -> None:
    log = CorrectionLog.open(tmp_path)
    with pytest.raises(CorrectionError, match="unknown correction type"):
        log.append("rewrite_everything", text="x")
    with pytest.raises(CorrectionError, match="missing original"):
        log.append("edit_text", start=1.0, end=2.0, text="x")
    with pytest.raises(CorrectionError, match="time in seconds"):
        log.append("split_turn", at=float("nan"), word="x")
    assert not (tmp_path / CORRECTIONS_FILE).exists()
    with pytest.raises(CorrectionError, match="no such session folder"):
        CorrectionLog.open(tmp_path / "missing")


def test_edit_keeps_transcript_json_and_undo_withdraws_it(tmp_path: Path) -> None:
    transcript = _transcript()
    log = CorrectionLog.open(tmp_path)
    log.append("edit_text", start=7.0, end=7.4, original="Arhus", text="Aarhus")
    model = build_model(transcript, EVENTS, log.corrections)
    assert model.turns[1].text.startswith("I grew up in Aarhus near the sea. And")
    assert model.corrections == 1 and not model.unplaced
    # the engine's record is untouched
    assert "Arhus" in transcript.segments[1].text
    undone = log.undo()
    assert undone is not None and undone.data == {"undoes": 1}
    model = build_model(transcript, EVENTS, log.corrections)
    assert model.turns[1].text.startswith("I grew up in Arhus near the sea. And")
    assert log.undo() is None  # nothing left to undo


def test_edit_with_a_different_word_count_keeps_times_inside_the_span() -> None:
    transcript = _transcript()
    span = build_model(transcript).turns[1]
    corrections = [
        {
            "seq": 1,
            "type": "edit_text",
            "data": {"start": 7.0, "end": 7.4, "original": "Arhus", "text": "Aarhus in Denmark"},
        },
        {
            "seq": 2,
            "type": "edit_text",
            "data": {"start": 7.5, "end": 9.4, "original": "near the sea.", "text": ""},
        },
    ]
    model = build_model(transcript, EVENTS, corrections)
    turn = model.turns[1]
    assert turn.text == "I grew up in Aarhus in Denmark And then we moved to Oslo."
    assert turn.id == span.id and turn.start == span.start
    aarhus = [w for w in turn.words if w.text in ("Aarhus", "in", "Denmark")][-3:]
    assert 7.0 <= aarhus[0].start < aarhus[-1].end <= 7.4 + 1e-9


def test_split_merge_set_speaker_and_rename() -> None:
    transcript = _transcript()
    corrections = [
        # "And then we moved to Oslo." becomes its own paragraph
        {"seq": 1, "type": "split_turn", "data": {"at": 12.0, "word": "And"}},
        # "I liked it." was said by the interviewer
        {
            "seq": 2,
            "type": "set_speaker",
            "data": {
                "start": 25.5,
                "end": 26.9,
                "original": "I liked it.",
                "speaker": "SPEAKER_00",
            },
        },
        {"seq": 3, "type": "rename_speaker", "data": {"speaker": "SPEAKER_00", "name": "I"}},
        {"seq": 4, "type": "rename_speaker", "data": {"speaker": "SPEAKER_01", "name": "P07"}},
    ]
    model = build_model(transcript, EVENTS, corrections)
    assert _turn_texts(model) == [
        ("I", "Where did you grow up?"),
        ("P07", "I grew up in Arhus near the sea."),
        ("P07", "And then we moved to Oslo."),
        ("I", "What was school like?"),
        ("P07", "School was fine."),
        ("I", "I liked it."),
    ]
    assert model.speakers == ("I", "P07")
    merged = build_model(
        transcript,
        EVENTS,
        [
            *corrections,
            {"seq": 5, "type": "merge_turns", "data": {"at": 12.0, "word": "And"}},
            {"seq": 6, "type": "merge_turns", "data": {"at": 25.5, "word": "I"}},
        ],
    )
    assert _turn_texts(merged)[1:3] == [
        ("P07", "I grew up in Arhus near the sea. And then we moved to Oslo."),
        ("I", "What was school like?"),
    ]
    assert _turn_texts(merged)[-1] == ("P07", "School was fine. I liked it.")


def test_topic_boundary_moves_topics_enter_and_ticks_become_codes() -> None:
    transcript = _transcript()
    before = build_model(transcript, EVENTS)
    assert [(v.topic, v.start) for v in before.visits] == [("childhood", 0.0), ("school", 20.0)]
    corrections = [
        # school really began with "And then we moved to Oslo." (pressed mid-sentence: the
        # boundary goes to that sentence's start, never inside it)
        {"seq": 1, "type": "move_topic", "data": {"topic": "school", "from_t": 20.5, "t": 13.2}},
        {"seq": 2, "type": "enter_topic", "data": {"topic": "later", "t": 24.0}},
        {"seq": 3, "type": "tick", "data": {"kind": "probe_used", "t": 24.2, "probe": "p1"}},
        {"seq": 4, "type": "reviewed", "data": {"start": 0.0, "end": 15.0}},
        {"seq": 5, "type": "reviewed", "data": {"start": 10.0, "end": 20.0}},
    ]
    model = build_model(transcript, EVENTS, corrections)
    assert [(v.topic, v.start) for v in model.visits] == [
        ("childhood", 0.0),
        ("school", 12.0),
        ("later", 24.0),
    ]
    probe = [c for c in model.codes if c.type == "probe_used"]
    assert len(probe) == 1 and probe[0].topic == "later" and probe[0].visit == 2
    assert model.reviewed_seconds == 20.0


def test_retranscription_keeps_matching_corrections_and_reports_the_rest(tmp_path: Path) -> None:
    log = CorrectionLog.open(tmp_path)
    log.append("edit_text", start=7.0, end=7.4, original="Arhus", text="Aarhus")
    log.append("edit_text", start=12.0, end=13.9, original="And then we", text="Then we")
    log.append("rename_speaker", speaker="SPEAKER_01", name="P07")
    # re-transcribed: times shifted by 0.3 s, punctuation and case differ, one phrase is new
    again = _transcript(shift=0.3, answer="i grew up in arhus, near the sea")
    again = parse_transcript(
        {
            **again.raw,
            "segments": [
                s if not s["text"].startswith("And") else _seg(12.3, "SPEAKER_01", "So we moved.")
                for s in again.raw["segments"]
            ],
        }
    )
    model = build_model(again, EVENTS, log.corrections)
    assert model.turns[1].text.startswith("i grew up in Aarhus near the sea So we")
    assert all(t.speaker != "SPEAKER_01" for t in model.turns)
    lines = unplaced(again, log.corrections, EVENTS)
    assert len(lines) == 1 and "correction 2 (edit_text at 00:00:12)" in lines[0]
    assert "And then we" in lines[0]


def test_editing_a_whole_turn_keeps_the_times_of_unchanged_words() -> None:
    """The review edits a turn as a whole: only the changed words get new times."""
    transcript = _transcript()
    turn = build_model(transcript).turns[2]
    assert turn.text == "What was school like?"
    edit = {
        "seq": 1,
        "type": "edit_text",
        "data": {
            "start": turn.start,
            "end": turn.end,
            "original": turn.text,
            "text": "So what was primary school like?",
        },
    }
    after = build_model(transcript, EVENTS, [edit]).turns[2]
    assert after.text == "So what was primary school like?"
    old = {w.text: (w.start, w.end) for w in turn.words}
    new = {w.text: (w.start, w.end) for w in after.words}
    for kept in ("was", "school", "like?"):
        assert new[kept] == old[kept]
    assert old["What"][0] <= new["So"][0] < new["what"][1] <= old["What"][1]  # "What" → "So what"
    assert old["was"][1] <= new["primary"][0] <= new["primary"][1] <= old["school"][0]


def test_two_logs_on_one_session_never_reuse_a_seq(tmp_path: Path) -> None:
    """The review keeps a log open while ``import-corrections`` (another process) appends: the
    next append sees the other's lines first, so seqs stay unique and undo names the right one."""
    review = CorrectionLog.open(tmp_path)
    review.append("reviewed", start=0.0, end=5.0)
    code = (
        "import sys\n"
        "from guide_tui.transcript.corrections import CorrectionLog\n"
        "CorrectionLog.open(sys.argv[1]).append('rename_speaker', speaker='A', name='B')\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    third = review.append("reviewed", start=5.0, end=9.0)
    assert third.seq == 3
    assert [c.seq for c in read_corrections(tmp_path)] == [1, 2, 3]
    assert review.undo().data == {"undoes": 3}  # type: ignore[union-attr]
    assert [c.type for c in review.corrections] == [
        "reviewed",
        "rename_speaker",
        "reviewed",
        "undo",
    ]
