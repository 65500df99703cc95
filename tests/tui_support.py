"""Helpers shared by the TUI and interview-state tests: a small guide built in code (so the
state tests do not depend on the loader or on the shipped guides) and an event factory."""

from __future__ import annotations

from itertools import count
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
