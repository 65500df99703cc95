"""Helpers shared by the TUI and interview-state tests: a small guide built in code (so the
state tests do not depend on the loader or on the shipped guides) and an event factory."""

from __future__ import annotations

import json
from itertools import count
from pathlib import Path
from typing import Any

from guide_tui.guide.model import (
    BaselineField,
    ClosingPrompt,
    ConsentItem,
    Group,
    Guide,
    Probe,
    Question,
    Topic,
)
from guide_tui.recorder.base import RecorderState, RecorderStatus, RecorderWarning
from guide_tui.session.events import Event


def small_guide() -> Guide:
    """Three topics, group-limited and sensitive questions, variants, baseline of every type."""
    return Guide(
        id="small",
        title="Small test guide",
        version="1",
        language="en",
        duration_minutes=10,
        groups=(Group("gp", "General practitioner"), Group("physio", "Physiotherapist")),
        consent=(
            ConsentItem("informed", "Participant has read the information letter"),
            ConsentItem("audio", "Participant agrees to audio recording"),
        ),
        baseline=(
            BaselineField("gender", "Gender", "choice", ("female", "male", "other")),
            BaselineField("age", "Age", "number", minimum=18, maximum=99, unit="years"),
            BaselineField("practice", "Practice name", "text", required=False),
            BaselineField("solo", "Solo practice?", "yes-no"),
        ),
        topics=(
            Topic(
                id="role",
                title="Your role",
                minutes=3,
                research_questions=("How do professionals describe their role?",),
                questions=(
                    Question(
                        "describe",
                        "Describe a typical day.",
                        probes=(
                            Probe("example", "Can you give an example?"),
                            Probe("feel", "How did that feel?"),
                        ),
                        variants=(("physio", "Describe a typical day with patients."),),
                    ),
                    Question("gp_only", "How many GPs work here?", groups=("gp",)),
                ),
                summary="So your day is mostly…",
            ),
            Topic(
                id="collab",
                title="Collaboration",
                minutes=4,
                questions=(
                    Question("who", "Who do you work with?"),
                    Question("conflict", "Tell me about a conflict.", sensitive=True),
                ),
            ),
            Topic(
                id="future",
                title="The future",
                minutes=3,
                questions=(Question("change", "What would you change?"),),
            ),
        ),
        closing=(
            ClosingPrompt("summarise", "Let me summarise…"),
            ClosingPrompt("anything", "Anything to add?"),
        ),
    )


class EventFactory:
    """Builds events with increasing seq, at the time given."""

    def __init__(self) -> None:
        self._seq = count()

    def __call__(self, type: str, t: float = 0.0, **data: Any) -> Event:
        return Event(
            type=type, t=t, wall="2026-01-01T00:00:00+00:00", seq=next(self._seq), data=data
        )


# -- TUI helpers ----------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
GUIDES = ROOT / "guides"

GROUP_GUIDE_YAML = """\
title: Group test guide
id: group-test
version: "1"
language: en
duration_minutes: 10
groups:
  - id: gp
    label: General practitioner
  - id: physio
    label: Physiotherapist
consent:
  - id: ok
    text: Participant agrees.
topics:
  - id: role
    title: Your role
    minutes: 5
    questions:
      - id: describe
        text: Describe a typical day.
        variants:
          physio: Describe a typical day with your patients.
      - id: gp-only
        text: How many GPs share the list?
        groups: [gp]
      - id: conflict
        text: Tell me about a disagreement.
        sensitive: true
closing:
  - Anything to add?
"""


class FakeRecorder:
    """A recorder whose clock the test moves by hand (``advance``) and that never touches audio.

    It behaves like a real one toward the app: idle → recording → paused → stopped, a file
    name, a device, levels, and warnings handed out once by ``poll``.
    """

    def __init__(self, t: float = 0.0) -> None:
        self.t = t
        self.state = RecorderState.IDLE
        self.rms_db = -24.0
        self.peak_db = -9.0
        self.calls: list[str] = []
        self._warnings: list[RecorderWarning] = []

    def advance(self, seconds: float) -> None:
        if self.state == RecorderState.RECORDING:
            self.t += seconds

    def warn(self, kind: str, message: str) -> None:
        self._warnings.append(RecorderWarning(kind, message, self.t))

    def now(self) -> float:
        return self.t

    def start(self) -> None:
        self.calls.append("start")
        self.state = RecorderState.RECORDING

    def pause(self) -> None:
        self.calls.append("pause")
        self.state = RecorderState.PAUSED

    def resume(self) -> None:
        self.calls.append("resume")
        self.state = RecorderState.RECORDING

    def stop(self) -> None:
        self.calls.append("stop")
        self.state = RecorderState.STOPPED

    def poll(self) -> RecorderStatus:
        warnings, self._warnings = tuple(self._warnings), []
        active = self.state in (RecorderState.RECORDING, RecorderState.PAUSED)
        return RecorderStatus(
            state=self.state,
            t=self.t,
            rms_db=self.rms_db,
            peak_db=self.peak_db,
            file="audio-001.wav" if self.state != RecorderState.IDLE else None,
            bytes_written=int(self.t * 32000) + 44 if active else 0,
            device="Fake microphone",
            samplerate=16000,
            channels=1,
            warnings=warnings,
        )


def read_events(folder: Path) -> list[dict[str, Any]]:
    """``events.jsonl`` as dicts, straight from the disk."""
    text = (Path(folder) / "events.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def read_meta(folder: Path) -> dict[str, Any]:
    return json.loads((Path(folder) / "session.json").read_text(encoding="utf-8"))


def of_type(events: list[dict[str, Any]], type: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == type]


class FakePlayer:
    """Stands in for the review's audio player: records what it is asked, plays nothing."""

    def __init__(self) -> None:
        self.playing = False
        self.speed = 1.0
        self.position = 0.0
        self.calls: list[tuple] = []
        self.closed = False

    def play(self, t=None, *, until=None):
        self.calls.append(("play", t, until))
        if t is not None:
            self.position = t
        self.playing = True

    def pause(self):
        self.calls.append(("pause",))
        self.playing = False

    def seek(self, t):
        self.calls.append(("seek", t))
        self.position = t

    def skip(self, seconds):
        self.calls.append(("skip", seconds))
        self.position = max(0.0, self.position + seconds)

    def set_speed(self, speed):
        self.speed = round(min(1.5, max(0.5, speed)), 2)
        return self.speed

    def close(self):
        self.closed = True
