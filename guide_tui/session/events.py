"""Typed events of the session log (``events.jsonl``), the spine of guide-tui.

One JSON object per line::

    {"v": 1, "seq": 7, "t": 123.456, "wall": "2026-11-22T09:14:03.123+00:00",
     "type": "question_asked", "data": {"topic": "motivation", "question": "expectations"}}

``t`` is the position on the recording's clock (seconds), ``wall`` the wall-clock time (ISO 8601,
UTC), ``seq`` the line's index from 0. Corrections are new events (``undo`` names the ``seq`` it
withdraws), never rewrites. Readers must ignore event types and data keys they do not know, so the
schema can grow; ``v`` is bumped only for incompatible changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

EVENT_SCHEMA_VERSION = 1


class EventType:
    """Names of the event types, with the keys each one's ``data`` carries."""

    SESSION_STARTED = "session_started"  # guide, guide_version, participant, group, resumed: bool
    SESSION_RESUMED = "session_resumed"  # after a crash / reopen; torn_lines: int
    PARTICIPANT_CONFIRMED = "participant_confirmed"  # group: confirmed before the baseline
    CONSENT = "consent"  # item, given: bool
    CONSENT_DECLINED_RECORDING = "consent_declined_recording"  # notes-only session
    BASELINE_ANSWER = "baseline_answer"  # field, value
    INTERVIEW_STARTED = "interview_started"  # the interview proper begins (after consent/baseline)
    RECORDING_STARTED = "recording_started"  # file, device, samplerate, channels
    RECORDING_PAUSED = "recording_paused"
    RECORDING_RESUMED = "recording_resumed"
    RECORDING_STOPPED = "recording_stopped"  # file, frames
    TOPIC_ENTERED = "topic_entered"  # topic
    QUESTION_ASKED = "question_asked"  # topic, question
    PROBE_USED = "probe_used"  # topic, question, probe
    SUMMARY_GIVEN = "summary_given"  # topic
    TOPIC_COVERED = "topic_covered"  # topic
    TOPIC_SKIPPED = "topic_skipped"  # topic, reason (optional)
    NOTE = "note"  # text, started_t (when typing started: the note is placed there)
    MARKER = "marker"  # kind: quotable | follow_up | interruption | ..., topic
    UNDO = "undo"  # undoes: seq of the event withdrawn
    CLOSING_STARTED = "closing_started"  # the closing screen was opened (ends the topic)
    CLOSING_PROMPT = "closing_prompt"  # prompt
    DEVICE_LOST = "device_lost"  # device, file, reason
    DEVICE_RECOVERED = "device_recovered"  # device, file
    VOICE_CHECK = "voice_check"  # sample (file or None), speech_s, interviewer_channel, channel_db
    WARNING = "warning"  # kind: silence | clipping | dropped_frames | low_disk | ..., message
    SESSION_ENDED = "session_ended"  # coverage summary


@dataclass(frozen=True)
class Event:
    type: str
    t: float
    wall: str
    seq: int
    data: dict[str, Any] = field(default_factory=dict)
    v: int = EVENT_SCHEMA_VERSION

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "seq": self.seq,
            "t": round(self.t, 6),
            "wall": self.wall,
            "type": self.type,
            "data": self.data,
        }

    @classmethod
    def from_json_dict(cls, obj: dict[str, Any]) -> Event:
        """Build from a parsed line; raises ValueError/KeyError/TypeError if it is malformed."""
        data = obj.get("data") or {}
        if not isinstance(data, dict):
            raise TypeError("data must be an object")
        return cls(
            type=str(obj["type"]),
            t=float(obj["t"]),
            wall=str(obj["wall"]),
            seq=int(obj["seq"]),
            data=data,
            v=int(obj.get("v", EVENT_SCHEMA_VERSION)),
        )


#: Events that only happen once the interview proper has begun (after consent and baseline).
INTERVIEW_EVENTS = frozenset(
    {
        EventType.INTERVIEW_STARTED,
        EventType.TOPIC_ENTERED,
        EventType.QUESTION_ASKED,
        EventType.CLOSING_STARTED,
        EventType.SESSION_ENDED,
    }
)


def reached_interview(events: Iterable[Event]) -> bool:
    """Whether a session got past consent and baseline into the interview.

    A session folder is created when ``run`` starts, so quitting at the consent screen leaves
    one; it is a false start, not an interrupted interview, and is not counted as an interview.
    """
    return any(e.type in INTERVIEW_EVENTS for e in events)
