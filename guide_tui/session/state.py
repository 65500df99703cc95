"""Everything the interview screen shows, rebuilt from the event log alone.

``events.jsonl`` is the only record of an interview: the TUI appends events and never keeps state
of its own that is not derivable from them. :class:`InterviewState` is that derivation, in plain
Python (no Textual), so the same code serves

- the TUI, which applies each event it posts (:meth:`InterviewState.apply`) and, on
  ``--resume``, rebuilds the screen after a crash (:meth:`InterviewState.from_events`);
- ``guide-tui sessions`` and study reports (:meth:`InterviewState.coverage_summary`);
- transcript alignment, which asks which topic was current at a time ``t``
  (:meth:`InterviewState.topic_at`).

Design decisions:

- **Corrections are events.** An ``undo`` event names the ``seq`` it withdraws. Withdrawing is
  rare and logs are short (hundreds of events), so ``apply(undo)`` simply replays the retained
  events: the incremental and the from-scratch paths can never disagree.
- **Time is the ``t`` clock** (the recording's own clock, standing still while paused), so topic
  times add up to recorded audio, not to wall time. A topic accrues time from its
  ``topic_entered`` until another topic is entered, the closing screen is opened, or the session
  ends; the current topic's running visit is counted up to ``now`` by :meth:`topic_seconds`.
- **Unknown event types and data keys are ignored**, so the schema can grow.
- **Covered** is what the interviewer marks (``c``), or what the ticks say: a topic whose every
  question (for the participant's group) and summarising prompt is ticked is covered without a
  mark, so ticking everything and forgetting ``c`` does not leave it "not covered".
- **Partly** (``in_progress`` in :meth:`InterviewState.coverage_summary`) needs evidence: something
  ticked in the topic, or at least :data:`BRIEF_VISIT_SECONDS` spent on it. A topic passed through
  on the way to another (a stray digit, ``→`` twice) is reported as not started.

"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from guide_tui.guide.model import Guide, Question, Topic
from guide_tui.session.events import INTERVIEW_EVENTS, Event, EventType

PARTICIPANT_CONFIRMED = EventType.PARTICIPANT_CONFIRMED  # kept: the TUI imports them from here
CLOSING_STARTED = EventType.CLOSING_STARTED

#: Event types the interviewer can withdraw with an ``undo`` event ("undo the last tick").
UNDOABLE_TYPES = frozenset(
    {
        EventType.QUESTION_ASKED,
        EventType.PROBE_USED,
        EventType.SUMMARY_GIVEN,
        EventType.TOPIC_COVERED,
        EventType.TOPIC_SKIPPED,
        EventType.MARKER,
        EventType.NOTE,
        EventType.CLOSING_PROMPT,
    }
)

#: A topic visited for less than this, with nothing ticked in it, was passed through, not
#: discussed: coverage reports count it as not started (ten seconds is too short for one question
#: and its answer, and longer than a stray key takes to correct).
BRIEF_VISIT_SECONDS = 10.0

#: Consent items whose text mentions recording are the ones a notes-only session may leave open.
_RECORDING_WORDS = ("record", "audio", "tape")


def interview_seconds(events: Iterable[Event]) -> float | None:
    """How long the interview lasted: the one measure of duration everywhere (``sessions``,
    export headers, the study and COREQ item 21).

    From the first ``interview_started`` (or any other event of the interview proper,
    :data:`~guide_tui.session.events.INTERVIEW_EVENTS`, for a log without one) to
    ``session_ended`` (or, for a session that never ended, its last event), on the ``t`` clock:
    the recording's clock, which stands still while paused. Consent, baseline and the microphone
    check come before it and are not counted (they made a 3:50 interview read 5:09). None when
    the interview never started (:func:`~guide_tui.session.events.reached_interview` is False).
    :meth:`InterviewState.elapsed` is the same measure while the interview runs.
    """
    start: float | None = None
    end: float | None = None
    last = 0.0
    for event in events:
        last = max(last, event.t)
        if event.type in INTERVIEW_EVENTS and start is None:
            start = event.t
        if event.type == EventType.SESSION_ENDED:
            end = event.t
    if start is None:
        return None
    return max(0.0, (last if end is None else end) - start)


class Phase:
    """Where the interview is; the TUI shows the matching screen."""

    CONSENT = "consent"
    BASELINE = "baseline"  # consent done: participant confirmation, baseline form, mic check
    INTERVIEW = "interview"
    CLOSING = "closing"
    ENDED = "ended"


class TopicStatus:
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COVERED = "covered"
    SKIPPED = "skipped"


@dataclass
class TopicState:
    """Per-topic progress: status, time spent (closed visits), and what was ticked."""

    topic_id: str
    status: str = TopicStatus.NOT_STARTED
    seconds: float = 0.0  # time of finished visits; see InterviewState.topic_seconds
    visits: int = 0
    asked: dict[str, int] = field(default_factory=dict)  # question id -> seq of the tick
    probes: dict[tuple[str, str], int] = field(default_factory=dict)  # (question, probe) -> seq
    summary_seq: int | None = None
    status_seq: int | None = None  # seq of the covered/skipped event
    skip_reason: str | None = None

    @property
    def summary_given(self) -> bool:
        return self.summary_seq is not None


@dataclass(frozen=True)
class Note:
    seq: int
    t: float  # when typing started: the note belongs there, not where it was saved
    text: str
    topic: str | None


@dataclass(frozen=True)
class Marker:
    seq: int
    t: float
    kind: str  # quotable | follow_up | interruption | ...
    topic: str | None


@dataclass
class InterviewState:
    """The interview as the event log tells it. Build with :meth:`from_events`; feed with
    :meth:`apply`."""

    guide: Guide
    group: str | None = None
    participant: str | None = None
    phase: str = Phase.CONSENT
    consent: dict[str, bool] = field(default_factory=dict)
    notes_only: bool = False  # the participant declined recording
    baseline: dict[str, Any] = field(default_factory=dict)
    participant_confirmed: bool = False
    current_topic: str | None = None
    entered_at: float | None = None  # t when the current topic's visit began
    topics: dict[str, TopicState] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    closing: dict[str, int] = field(default_factory=dict)  # closing prompt id -> seq
    recording: str = "idle"  # idle | recording | paused | stopped
    interview_started_t: float | None = None
    ended_t: float | None = None
    last_t: float = 0.0
    last_seq: int = -1
    warnings: list[Event] = field(default_factory=list)
    withdrawn: set[int] = field(default_factory=set)
    _events: list[Event] = field(default_factory=list, repr=False)
    _group_fixed: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        for topic in self.guide.topics:
            self.topics.setdefault(topic.id, TopicState(topic.id))

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_events(
        cls, guide: Guide, events: Iterable[Event], group: str | None = None
    ) -> InterviewState:
        """Rebuild the state from a log. ``group`` wins over the one in ``session_started``."""
        state = cls(guide=guide, group=group, _group_fixed=group is not None)
        state._reset()
        for event in events:
            state.apply(event)
        return state

    def _reset(self) -> None:
        """Back to the empty state (keeping guide, fixed group and the event list)."""
        fresh = InterviewState(guide=self.guide, group=self.group if self._group_fixed else None)
        for name in (
            "participant",
            "phase",
            "consent",
            "notes_only",
            "baseline",
            "participant_confirmed",
            "current_topic",
            "entered_at",
            "notes",
            "markers",
            "closing",
            "recording",
            "interview_started_t",
            "ended_t",
            "last_t",
            "last_seq",
            "warnings",
        ):
            setattr(self, name, getattr(fresh, name))
        if not self._group_fixed:
            self.group = None
        self.topics = {t.id: TopicState(t.id) for t in self.guide.topics}

    # -- applying events ----------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Fold one event into the state (events must come in ``seq`` order)."""
        self._events.append(event)
        if event.type == EventType.UNDO:
            undone = event.data.get("undoes")
            if isinstance(undone, int) and undone not in self.withdrawn:
                self.withdrawn.add(undone)
                self._replay()
            self.last_seq = max(self.last_seq, event.seq)
            self.last_t = max(self.last_t, event.t)
            return
        if event.seq in self.withdrawn:
            return
        self._fold(event)

    def _replay(self) -> None:
        events = self._events
        self._reset()
        for event in events:
            if event.type == EventType.UNDO:
                self.last_seq = max(self.last_seq, event.seq)
                self.last_t = max(self.last_t, event.t)
            elif event.seq not in self.withdrawn:
                self._fold(event)

    def _fold(self, event: Event) -> None:  # one branch per event type reads best
        data = event.data
        self.last_seq = max(self.last_seq, event.seq)
        self.last_t = max(self.last_t, event.t)
        kind = event.type
        if kind == EventType.SESSION_STARTED:
            self.participant = data.get("participant", self.participant)
            if not self._group_fixed and data.get("group"):
                self.group = data["group"]
        elif kind == EventType.CONSENT:
            item = data.get("item")
            if isinstance(item, str):
                self.consent[item] = bool(data.get("given", True))
            self._consent_phase()
        elif kind == EventType.CONSENT_DECLINED_RECORDING:
            self.notes_only = bool(data.get("declined", True))
            self._consent_phase()
        elif kind == PARTICIPANT_CONFIRMED:
            self.participant_confirmed = True
            if not self._group_fixed and "group" in data:
                self.group = data.get("group") or None
        elif kind == EventType.BASELINE_ANSWER:
            field_id = data.get("field")
            if isinstance(field_id, str):
                self.baseline[field_id] = data.get("value")
        elif kind == EventType.INTERVIEW_STARTED:
            if self.interview_started_t is None:
                self.interview_started_t = event.t
            if self.phase in (Phase.CONSENT, Phase.BASELINE):
                self.phase = Phase.INTERVIEW
        elif kind == EventType.RECORDING_STARTED or kind == EventType.RECORDING_RESUMED:
            self.recording = "recording"
        elif kind == EventType.RECORDING_PAUSED:
            self.recording = "paused"
        elif kind == EventType.RECORDING_STOPPED:
            self.recording = "stopped"
        elif kind == EventType.TOPIC_ENTERED:
            self._enter(data.get("topic"), event.t)
        elif kind == EventType.QUESTION_ASKED:
            ts = self._touch(data.get("topic"))
            if ts is not None and isinstance(data.get("question"), str):
                ts.asked[data["question"]] = event.seq
                self._cover_if_complete(ts)
        elif kind == EventType.PROBE_USED:
            ts = self._touch(data.get("topic"))
            question, probe = data.get("question"), data.get("probe")
            if ts is not None and isinstance(question, str) and isinstance(probe, str):
                ts.probes[(question, probe)] = event.seq
        elif kind == EventType.SUMMARY_GIVEN:
            ts = self._touch(data.get("topic"))
            if ts is not None:
                ts.summary_seq = event.seq
                self._cover_if_complete(ts)
        elif kind in (EventType.TOPIC_COVERED, EventType.TOPIC_SKIPPED):
            ts = self.topics.get(data.get("topic", ""))
            if ts is not None:
                covered = kind == EventType.TOPIC_COVERED
                ts.status = TopicStatus.COVERED if covered else TopicStatus.SKIPPED
                ts.status_seq = event.seq
                ts.skip_reason = None if covered else data.get("reason")
        elif kind == EventType.NOTE:
            started = data.get("started_t")
            t = float(started) if isinstance(started, (int, float)) else event.t
            self.notes.append(Note(event.seq, t, str(data.get("text", "")), data.get("topic")))
        elif kind == EventType.MARKER:
            self.markers.append(
                Marker(event.seq, event.t, str(data.get("kind", "marker")), data.get("topic"))
            )
        elif kind == EventType.CLOSING_PROMPT:
            if isinstance(data.get("prompt"), str):
                self.closing[data["prompt"]] = event.seq
            self._to_closing(event.t)
        elif kind == CLOSING_STARTED:
            self._to_closing(event.t)
        elif kind == EventType.WARNING:
            self.warnings.append(event)
        elif kind == EventType.SESSION_ENDED:
            self._leave(event.t)
            self.ended_t = event.t
            self.phase = Phase.ENDED

    def _consent_phase(self) -> None:
        if self.phase == Phase.CONSENT and self.consent_complete:
            self.phase = Phase.BASELINE
        elif self.phase == Phase.BASELINE and not self.consent_complete:
            self.phase = Phase.CONSENT

    def _enter(self, topic_id: Any, t: float) -> None:
        ts = self.topics.get(topic_id) if isinstance(topic_id, str) else None
        if ts is None:
            return
        if self.phase in (Phase.CONSENT, Phase.BASELINE, Phase.CLOSING):
            self.phase = Phase.INTERVIEW  # entering a topic from closing means "go back"
        if self.current_topic == topic_id and self.entered_at is not None:
            return  # already there: the visit simply continues
        self._leave(t)
        self.current_topic = topic_id
        self.entered_at = t
        ts.visits += 1
        if ts.status == TopicStatus.NOT_STARTED:
            ts.status = TopicStatus.IN_PROGRESS

    def _leave(self, t: float) -> None:
        """Close the running visit of the current topic at ``t``."""
        if self.current_topic is not None and self.entered_at is not None:
            self.topics[self.current_topic].seconds += max(0.0, t - self.entered_at)
        self.entered_at = None

    def _touch(self, topic_id: Any) -> TopicState | None:
        ts = self.topics.get(topic_id) if isinstance(topic_id, str) else None
        if ts is not None and ts.status == TopicStatus.NOT_STARTED:
            ts.status = TopicStatus.IN_PROGRESS
        return ts

    def _cover_if_complete(self, ts: TopicState) -> None:
        """Every question and the summary ticked: covered, unless marked otherwise (skipped)."""
        if ts.status in (TopicStatus.NOT_STARTED, TopicStatus.IN_PROGRESS) and self.is_complete(
            ts.topic_id
        ):
            ts.status = TopicStatus.COVERED

    def _to_closing(self, t: float) -> None:
        if self.phase != Phase.ENDED:
            self._leave(t)
            self.phase = Phase.CLOSING

    # -- queries ------------------------------------------------------------------------------

    @property
    def events(self) -> tuple[Event, ...]:
        """Every event applied so far (withdrawn ones included), in order."""
        return tuple(self._events)

    @property
    def consent_complete(self) -> bool:
        """Every consent item ticked, or, for a notes-only session, every item not about
        recording (the participant may consent to the interview but not to the audio)."""
        return all(
            self.consent.get(item.id, False)
            or (self.notes_only and consent_item_is_about_recording(item.text))
            for item in self.guide.consent
        )

    @property
    def recording_allowed(self) -> bool:
        """Audio may be recorded only with every consent item ticked and no refusal."""
        return not self.notes_only and all(
            self.consent.get(item.id, False) for item in self.guide.consent
        )

    def visible_topics(self) -> tuple[Topic, ...]:
        """Topics for the participant's group, in guide order."""
        return self.guide.topics_for(self.group)

    def visible_questions(self, topic: Topic) -> tuple[Question, ...]:
        return topic.questions_for(self.group)

    def is_complete(self, topic_id: str) -> bool:
        """Every visible question and the summarising prompt (if any) ticked; a topic with
        neither is never complete by ticks."""
        topic = self.guide.topic(topic_id)
        ts = self.topics[topic_id]
        questions = self.visible_questions(topic)
        if not questions and not topic.summary:
            return False
        return all(q.id in ts.asked for q in questions) and (not topic.summary or ts.summary_given)

    def reported_status(self, topic_id: str, now: float | None = None) -> str:
        """The status for coverage reports: a brief visit with nothing ticked is not started
        (see :data:`BRIEF_VISIT_SECONDS`); otherwise the topic's status."""
        ts = self.topics[topic_id]
        if (
            ts.status == TopicStatus.IN_PROGRESS
            and not ts.asked
            and not ts.probes
            and not ts.summary_given
            and self.topic_seconds(topic_id, now) < BRIEF_VISIT_SECONDS
        ):
            return TopicStatus.NOT_STARTED
        return ts.status

    def topic_seconds(self, topic_id: str, now: float | None = None) -> float:
        """Time spent on a topic, counting the current visit up to ``now`` (default: last t)."""
        ts = self.topics[topic_id]
        seconds = ts.seconds
        if topic_id == self.current_topic and self.entered_at is not None:
            seconds += max(0.0, (self.last_t if now is None else now) - self.entered_at)
        return seconds

    def elapsed(self, now: float | None = None) -> float:
        """Interview time since ``interview_started`` (0 before it)."""
        if self.interview_started_t is None:
            return 0.0
        end = self.ended_t if self.ended_t is not None else (self.last_t if now is None else now)
        return max(0.0, end - self.interview_started_t)

    def last_undoable(self) -> Event | None:
        """The most recent tick/mark/note/marker still in force: what "undo" withdraws."""
        for event in reversed(self._events):
            if event.type in UNDOABLE_TYPES and event.seq not in self.withdrawn:
                return event
        return None

    def uncovered_topics(self) -> list[Topic]:
        """Visible topics not marked covered (skipped ones included: they are still open)."""
        return [t for t in self.visible_topics() if self.topics[t.id].status != TopicStatus.COVERED]

    def unasked_questions(self) -> list[tuple[Topic, Question]]:
        """Visible questions of topics not skipped that were never ticked."""
        result: list[tuple[Topic, Question]] = []
        for topic in self.visible_topics():
            ts = self.topics[topic.id]
            if ts.status == TopicStatus.SKIPPED:
                continue
            result.extend((topic, q) for q in self.visible_questions(topic) if q.id not in ts.asked)
        return result

    def topic_at(self, t: float) -> str | None:
        """The topic current at time ``t`` (for transcript alignment); None outside topics."""
        current: str | None = None
        for event in self._events:
            if event.t > t:
                break
            if event.seq in self.withdrawn:
                continue
            if event.type == EventType.TOPIC_ENTERED and event.data.get("topic") in self.topics:
                current = event.data["topic"]
            elif event.type in (CLOSING_STARTED, EventType.CLOSING_PROMPT, EventType.SESSION_ENDED):
                current = None
        return current

    def coverage_summary(self, now: float | None = None) -> dict[str, Any]:
        """The coverage block of ``session.json`` (and of the ``session_ended`` event)."""
        topics: dict[str, Any] = {}
        counts = dict.fromkeys(
            (
                TopicStatus.COVERED,
                TopicStatus.SKIPPED,
                TopicStatus.IN_PROGRESS,
                TopicStatus.NOT_STARTED,
            ),
            0,
        )
        asked_total = questions_total = 0
        for topic in self.visible_topics():
            ts = self.topics[topic.id]
            questions = self.visible_questions(topic)
            asked = [q.id for q in questions if q.id in ts.asked]
            status = self.reported_status(topic.id, now)
            counts[status] += 1
            asked_total += len(asked)
            questions_total += len(questions)
            topics[topic.id] = {
                "status": status,
                "seconds": round(self.topic_seconds(topic.id, now), 3),
                "planned_minutes": topic.minutes,
                "questions_asked": asked,
                "questions_total": len(questions),
                "probes_used": len(ts.probes),
                "summary_given": ts.summary_given,
                **({"skip_reason": ts.skip_reason} if ts.skip_reason else {}),
            }
        return {
            "topics": topics,
            "topics_total": len(topics),
            "topics_covered": counts[TopicStatus.COVERED],
            "topics_skipped": counts[TopicStatus.SKIPPED],
            "topics_in_progress": counts[TopicStatus.IN_PROGRESS],
            "topics_not_started": counts[TopicStatus.NOT_STARTED],
            "questions_asked": asked_total,
            "questions_total": questions_total,
            "notes": len(self.notes),
            "markers": len(self.markers),
            "closing_prompts": [p.id for p in self.guide.closing if p.id in self.closing],
            "interview_seconds": round(self.elapsed(now), 3),
            "notes_only": self.notes_only,
        }

    def snapshot(self) -> dict[str, Any]:
        """A comparable summary without running clocks (resume tests compare these)."""
        return {
            "phase": self.phase,
            "group": self.group,
            "consent": dict(self.consent),
            "notes_only": self.notes_only,
            "baseline": dict(self.baseline),
            "current_topic": self.current_topic,
            "topics": {
                tid: {
                    "status": ts.status,
                    "asked": sorted(ts.asked),
                    "probes": sorted(f"{q}/{p}" for q, p in ts.probes),
                    "summary": ts.summary_given,
                }
                for tid, ts in self.topics.items()
            },
            "notes": [n.text for n in self.notes],
            "markers": [m.kind for m in self.markers],
            "closing": sorted(self.closing),
        }


def consent_item_is_about_recording(text: str) -> bool:
    """Whether a consent item concerns the audio recording (a notes-only session skips it)."""
    lowered = text.lower()
    return any(word in lowered for word in _RECORDING_WORDS)
