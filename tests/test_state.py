"""InterviewState: the interview screen rebuilt from the event log alone."""

from __future__ import annotations

import pytest
from tui_support import EventFactory, small_guide

from guide_tui.session.events import EventType as E
from guide_tui.session.state import (
    CLOSING_STARTED,
    PARTICIPANT_CONFIRMED,
    InterviewState,
    Phase,
    TopicStatus,
)


@pytest.fixture
def ev() -> EventFactory:
    return EventFactory()


def started(ev: EventFactory, group: str | None = "gp") -> list:
    return [
        ev(E.SESSION_STARTED, participant="P01", group=group),
        ev(E.CONSENT, item="informed", given=True),
        ev(E.CONSENT, item="audio", given=True),
        ev(PARTICIPANT_CONFIRMED, group=group),
        ev(E.BASELINE_ANSWER, field="age", value=44),
        ev(E.INTERVIEW_STARTED, t=0.0),
    ]


def test_phases_follow_consent_and_interview(ev: EventFactory) -> None:
    guide = small_guide()
    state = InterviewState.from_events(guide, [ev(E.SESSION_STARTED, participant="P01")])
    assert state.phase == Phase.CONSENT
    state.apply(ev(E.CONSENT, item="informed", given=True))
    assert state.phase == Phase.CONSENT and not state.consent_complete
    state.apply(ev(E.CONSENT, item="audio", given=True))
    assert state.phase == Phase.BASELINE and state.recording_allowed
    state.apply(ev(E.CONSENT, item="audio", given=False))
    assert state.phase == Phase.CONSENT
    state.apply(ev(E.CONSENT_DECLINED_RECORDING))
    assert state.phase == Phase.BASELINE
    assert state.notes_only and not state.recording_allowed
    state.apply(ev(E.INTERVIEW_STARTED, t=5.0))
    assert state.phase == Phase.INTERVIEW and state.interview_started_t == 5.0


def test_topic_time_counts_between_topic_entered_events(ev: EventFactory) -> None:
    events = [
        *started(ev),
        ev(E.TOPIC_ENTERED, t=10, topic="collab"),
        ev(E.TOPIC_ENTERED, t=70, topic="role"),
        ev(E.TOPIC_ENTERED, t=100, topic="collab"),
        ev(E.NOTE, t=130, text="nice", started_t=120.0, topic="collab"),
    ]
    state = InterviewState.from_events(small_guide(), events)
    assert state.current_topic == "collab"
    assert state.topic_seconds("role") == 30
    assert state.topic_seconds("collab") == 60 + 30  # running visit counted up to the last t
    assert state.topic_seconds("collab", now=160) == 120
    assert state.topics["collab"].visits == 2
    assert state.notes[0].t == 120.0  # placed where typing started
    assert state.topic_at(80) == "role" and state.topic_at(5) is None
    assert state.elapsed(now=160) == 160


def test_ticks_status_and_undo(ev: EventFactory) -> None:
    state = InterviewState.from_events(small_guide(), started(ev))
    state.apply(ev(E.TOPIC_ENTERED, t=1, topic="role"))
    ask = ev(E.QUESTION_ASKED, t=2, topic="role", question="describe")
    state.apply(ask)
    state.apply(ev(E.PROBE_USED, t=3, topic="role", question="describe", probe="example"))
    state.apply(ev(E.SUMMARY_GIVEN, t=4, topic="role"))
    covered = ev(E.TOPIC_COVERED, t=5, topic="role")
    state.apply(covered)
    ts = state.topics["role"]
    assert ts.status == TopicStatus.COVERED and ts.summary_given
    assert ts.asked == {"describe": ask.seq} and ("describe", "example") in ts.probes
    assert state.last_undoable() == covered
    state.apply(ev(E.UNDO, t=6, undoes=covered.seq))
    assert state.topics["role"].status == TopicStatus.IN_PROGRESS
    assert state.last_undoable() is not None
    assert state.last_undoable().type == E.SUMMARY_GIVEN
    state.apply(ev(E.UNDO, t=7, undoes=ask.seq))
    assert "describe" not in state.topics["role"].asked
    assert state.current_topic == "role" and state.last_t == 7
    # the incremental state equals the one rebuilt from scratch
    again = InterviewState.from_events(small_guide(), state.events)
    assert again.snapshot() == state.snapshot()
    assert again.topic_seconds("role") == state.topic_seconds("role")


def test_group_filters_questions_and_coverage(ev: EventFactory) -> None:
    guide = small_guide()
    physio = InterviewState.from_events(guide, started(ev, group="physio"))
    assert [q.id for q in physio.visible_questions(guide.topic("role"))] == ["describe"]
    gp = InterviewState.from_events(guide, started(EventFactory(), group="gp"))
    assert [q.id for q in gp.visible_questions(guide.topic("role"))] == ["describe", "gp_only"]
    assert physio.coverage_summary()["questions_total"] == 4
    assert gp.coverage_summary()["questions_total"] == 5
    # an explicit group wins over the log's
    assert InterviewState.from_events(guide, started(EventFactory()), group="physio").group == (
        "physio"
    )


def test_closing_and_end_summary(ev: EventFactory) -> None:
    events = [
        *started(ev),
        ev(E.TOPIC_ENTERED, t=0, topic="role"),
        ev(E.QUESTION_ASKED, t=10, topic="role", question="describe"),
        ev(E.TOPIC_COVERED, t=20, topic="role"),
        ev(E.TOPIC_ENTERED, t=30, topic="collab"),
        ev(E.TOPIC_SKIPPED, t=40, topic="collab", reason="no time"),
        ev(E.MARKER, t=45, kind="quotable", topic="collab"),
        ev(CLOSING_STARTED, t=50),
    ]
    state = InterviewState.from_events(small_guide(), events)
    assert state.phase == Phase.CLOSING
    assert [t.id for t in state.uncovered_topics()] == ["collab", "future"]
    assert [(t.id, q.id) for t, q in state.unasked_questions()] == [
        ("role", "gp_only"),
        ("future", "change"),
    ]
    state.apply(ev(E.TOPIC_ENTERED, t=60, topic="collab"))  # back from closing
    assert state.phase == Phase.INTERVIEW
    state.apply(ev(CLOSING_STARTED, t=70))
    state.apply(ev(E.CLOSING_PROMPT, t=75, prompt="anything"))
    state.apply(ev(E.SESSION_ENDED, t=90))
    assert state.phase == Phase.ENDED
    summary = state.coverage_summary()
    assert summary["topics"]["role"]["seconds"] == 30
    assert summary["topics"]["collab"]["seconds"] == 30
    assert summary["topics"]["collab"]["status"] == "skipped"
    assert summary["topics"]["collab"]["skip_reason"] == "no time"
    assert summary["topics_covered"] == 1 and summary["topics_not_started"] == 1
    assert summary["closing_prompts"] == ["anything"]
    assert summary["markers"] == 1 and summary["interview_seconds"] == 90


def test_unknown_events_and_keys_are_ignored(ev: EventFactory) -> None:
    events = [
        *started(ev),
        ev("from_the_future", t=1, x=1),
        ev(E.TOPIC_ENTERED, t=2, topic="nope"),
        ev(E.QUESTION_ASKED, t=3),
    ]
    state = InterviewState.from_events(small_guide(), events)
    assert state.current_topic is None and state.last_seq == events[-1].seq


def test_every_question_and_the_summary_ticked_is_covered(ev: EventFactory) -> None:
    """Ticking everything and forgetting ``c`` left the topic "not covered" in every report."""
    state = InterviewState.from_events(small_guide(), started(ev, group="physio"))
    state.apply(ev(E.TOPIC_ENTERED, t=0, topic="role"))
    state.apply(asked := ev(E.QUESTION_ASKED, t=5, topic="role", question="describe"))
    assert state.topics["role"].status == TopicStatus.IN_PROGRESS  # the summary is still open
    state.apply(ev(E.SUMMARY_GIVEN, t=50, topic="role"))  # gp_only is not for physios
    assert state.topics["role"].status == TopicStatus.COVERED
    assert state.coverage_summary(now=60)["topics"]["role"]["status"] == "covered"
    state.apply(ev(E.UNDO, t=61, undoes=asked.seq))  # unticked again: no longer covered
    assert state.topics["role"].status == TopicStatus.IN_PROGRESS
    state.apply(ev(E.QUESTION_ASKED, t=62, topic="role", question="describe"))
    state.apply(ev(E.TOPIC_SKIPPED, t=63, topic="role"))  # a mark says more than the ticks
    assert state.topics["role"].status == TopicStatus.SKIPPED
    # A topic with nothing to tick is never covered by ticks.
    gp = InterviewState.from_events(small_guide(), started(EventFactory(), group="gp"))
    assert not gp.is_complete("future")


def test_a_topic_passed_through_is_not_partly_covered(ev: EventFactory) -> None:
    """A stray digit enters a topic for a few seconds: reports say "not", not "partly"."""
    state = InterviewState.from_events(small_guide(), started(ev))
    state.apply(ev(E.TOPIC_ENTERED, t=0, topic="role"))
    state.apply(ev(E.TOPIC_ENTERED, t=3, topic="collab"))  # a stray key, corrected at once
    state.apply(ev(E.TOPIC_ENTERED, t=5, topic="role"))
    state.apply(ev(E.TOPIC_ENTERED, t=100, topic="future"))  # 9.9 s, but a question ticked
    state.apply(ev(E.QUESTION_ASKED, t=101, topic="future", question="change"))
    state.apply(ev(E.TOPIC_ENTERED, t=109.9, topic="collab"))  # 2 s before, now the second visit
    summary = state.coverage_summary(now=112)
    statuses = {k: v["status"] for k, v in summary["topics"].items()}
    assert statuses == {"role": "in_progress", "collab": "not_started", "future": "covered"}
    assert summary["topics_not_started"] == 1 and summary["topics_in_progress"] == 1
    # ten seconds on it, over both visits, is a visit
    assert state.coverage_summary(now=117.8)["topics"]["collab"]["status"] == "not_started"
    assert state.coverage_summary(now=118)["topics"]["collab"]["status"] == "in_progress"
    # the live screen still shows where the interviewer has been
    assert state.topics["collab"].status == TopicStatus.IN_PROGRESS
