"""Typed, immutable model of an interview guide (SPEC §2).

Every entity has a stable ``id``: given in the YAML or derived deterministically from its text
(see ``guide_tui.guide.ids``), because events and transcripts refer to ids. Objects are frozen
dataclasses built only by the loader after the whole file validated: a guide that fails
validation never exists half-built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BASELINE_TYPES = ("choice", "text", "number", "yes-no")


@dataclass(frozen=True)
class Group:
    """A participant group (profession), e.g. ``gp`` / "General practitioner"."""

    id: str
    label: str


@dataclass(frozen=True)
class ConsentItem:
    id: str
    text: str


@dataclass(frozen=True)
class BaselineField:
    """One factual question asked before the interview; answers become Table 1 of a paper."""

    id: str
    label: str
    type: str  # one of BASELINE_TYPES
    options: tuple[str, ...] = ()
    required: bool = True
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Probe:
    id: str
    text: str


@dataclass(frozen=True)
class Question:
    """An interview question, optionally limited to some groups, with per-group wordings."""

    id: str
    text: str
    probes: tuple[Probe, ...] = ()
    groups: tuple[str, ...] = ()  # empty: asked of every group
    variants: tuple[tuple[str, str], ...] = ()  # (group id, wording for that group)
    sensitive: bool = False  # "sensitive: ask late"
    note: str | None = None  # for the interviewer's eyes only

    def applies_to(self, group: str | None) -> bool:
        return not self.groups or group is None or group in self.groups

    def text_for(self, group: str | None) -> str:
        """The wording to use for a participant of ``group``."""
        for group_id, wording in self.variants:
            if group_id == group:
                return wording
        return self.text


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    minutes: float | None = None
    research_questions: tuple[str, ...] = ()
    questions: tuple[Question, ...] = ()
    summary: str | None = None  # the summarising prompt read back to the participant
    sensitive: bool = False
    groups: tuple[str, ...] = ()
    note: str | None = None
    summary_variants: tuple[tuple[str, str], ...] = ()  # (group id, the summary for that group)

    def applies_to(self, group: str | None) -> bool:
        return not self.groups or group is None or group in self.groups

    def summary_for(self, group: str | None) -> str | None:
        """The summarising prompt in the wording for a participant of ``group``."""
        for group_id, wording in self.summary_variants:
            if group_id == group:
                return wording
        return self.summary

    def questions_for(self, group: str | None) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.applies_to(group))


@dataclass(frozen=True)
class ClosingPrompt:
    id: str
    text: str
    variants: tuple[tuple[str, str], ...] = ()  # (group id, wording for that group)

    def text_for(self, group: str | None) -> str:
        """The wording to use for a participant of ``group``."""
        for group_id, wording in self.variants:
            if group_id == group:
                return wording
        return self.text


@dataclass(frozen=True)
class Guide:
    id: str
    title: str
    version: str
    language: str  # ISO 639-1 code or "auto"
    duration_minutes: float
    topics: tuple[Topic, ...]
    consent: tuple[ConsentItem, ...] = ()
    baseline: tuple[BaselineField, ...] = ()
    closing: tuple[ClosingPrompt, ...] = ()
    groups: tuple[Group, ...] = ()
    vocabulary: tuple[str, ...] = ()
    description: str | None = None
    authors: tuple[str, ...] = ()
    source: str | None = None  # where the guide comes from (a citation)
    path: str | None = field(default=None, compare=False)  # file it was loaded from
    sha256: str | None = field(default=None, compare=False)  # of the file's bytes

    def topics_for(self, group: str | None) -> tuple[Topic, ...]:
        return tuple(t for t in self.topics if t.applies_to(group))

    def topic(self, topic_id: str) -> Topic:
        for t in self.topics:
            if t.id == topic_id:
                return t
        raise KeyError(topic_id)

    def group(self, group_id: str) -> Group:
        for g in self.groups:
            if g.id == group_id:
                return g
        raise KeyError(group_id)

    @property
    def planned_topic_minutes(self) -> float:
        return sum(t.minutes or 0 for t in self.topics)
