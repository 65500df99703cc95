"""What the review screen lists (issue 13): the model's blocks as rows with a time span, a label
and the reason a row needs a look. Plain Python, so the rules are tested without a terminal and
the screen only draws.

A row "needs a look" where the transcript is least trustworthy: words the engine was unsure of,
text the audio may not support or a collapsed repetition loop, a speaker the diarisation was not
sure of, speech with no words, and session time without audio.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from guide_tui.transcript.model import (
    Heading,
    RecordingPause,
    TopicVisit,
    TranscriptModel,
    Turn,
    Word,
    build_model,
    engine_words,
)
from guide_tui.transcript.render import (
    HALLUCINATION,
    REPETITION,
    clock,
    gap_mark,
    model_turn_text,
    recording_pause_mark,
    untranscribed_mark,
)
from guide_tui.transcript.source import Annotation, RecordingGap, Transcript, Untranscribed

LOOK_REASONS = {
    "uncertain": "unsure words",
    HALLUCINATION: "possibly not spoken",
    REPETITION: "repetition collapsed",
    "speaker": "speaker unsure",
    "untranscribed": "no words",
    "gap": "no recording",
}


@dataclass(frozen=True)
class Row:
    kind: str  # heading | turn | note | untranscribed | pause | gap
    start: float
    end: float
    text: str
    speaker: str | None = None
    look: tuple[str, ...] = ()  # keys of LOOK_REASONS
    id: str | None = None  # the turn's id (t12.34) for corrections
    turn: Turn | None = field(default=None, compare=False, repr=False)

    @property
    def selectable(self) -> bool:
        return self.kind != "heading"

    @property
    def meta(self) -> str:
        """``02:38 · Interviewer · unsure words``: the row's first line."""
        parts = [clock(self.start)]
        if self.speaker:
            parts.append(self.speaker)
        parts += [LOOK_REASONS[k] for k in self.look]
        return " · ".join(parts)


def review_rows(model: TranscriptModel) -> list[Row]:
    rows: list[Row] = []
    for block in model.blocks():
        if isinstance(block, Heading):
            v = block.visit
            title = v.title + (" (again)" if block.revisit else "")
            rows.append(Row("heading", v.start, v.end, title))
        elif isinstance(block, Turn):
            look = [k for k in ("uncertain", HALLUCINATION, REPETITION) if k in block.flags]
            if block.speaker_unsure:
                look.append("speaker")
            rows.append(
                Row(
                    "turn",
                    block.start,
                    block.end,
                    model_turn_text(model, block, speaker_mark=False),
                    speaker=block.speaker,
                    look=tuple(look),
                    id=block.id,
                    turn=block,
                )
            )
        elif isinstance(block, Untranscribed):
            rows.append(
                Row(
                    "untranscribed",
                    block.start,
                    block.end,
                    untranscribed_mark(block),
                    look=("untranscribed",),
                )
            )
        elif isinstance(block, RecordingGap):
            rows.append(Row("gap", block.start, block.end, gap_mark(block), look=("gap",)))
        elif isinstance(block, RecordingPause):
            rows.append(Row("pause", block.t, block.t, recording_pause_mark(block)))
        elif isinstance(block, Annotation):
            label = "marker" if block.type == "marker" else "note"
            text = block.text or block.kind or ""
            rows.append(Row("note", block.t, block.t, f"[{label}] {text}".rstrip()))
    return rows


class RowIndex:
    """Which row plays at a time: the last selectable row starting at or before it."""

    def __init__(self, rows: list[Row]) -> None:
        self.positions = [i for i, r in enumerate(rows) if r.kind in ("turn", "untranscribed")]
        self.starts = [rows[i].start for i in self.positions]

    def at(self, t: float) -> int | None:
        i = bisect.bisect_right(self.starts, t + 1e-6) - 1
        return self.positions[max(i, 0)] if self.positions else None


class ReviewDocument:
    """The transcript under review: the engine's record, the events, and the corrections log
    (:class:`~guide_tui.transcript.corrections.CorrectionLog`). Each correction is written to
    the log (fsynced) before the rows are rebuilt from it, so what the screen shows is always
    what the exports will write, and a crash loses at most the edit being typed."""

    def __init__(
        self,
        transcript: Transcript,
        events: Sequence[Mapping[str, Any]],
        log: Any = None,
        *,
        titles: Mapping[str, str] | None = None,
        guide_loader: Any = None,
        defer: bool = False,
    ) -> None:
        """``defer``: build the model later, with :meth:`rebuild` (the screen does it off the
        UI thread after its first frame); :attr:`loaded` says whether it is built."""
        self.transcript = transcript
        self._guide_loader = guide_loader
        self._guide: Any = None
        self.events = list(events)
        self.log = log
        self.titles = dict(titles or {})
        self.model: TranscriptModel
        self.rows: list[Row] = []
        self.loaded = False
        self._engine: tuple[Word, ...] | None = None  # the transcript's words, made once
        if not defer:
            self.rebuild()

    @property
    def guide(self) -> Any:
        """The session's frozen guide, loaded on first use (ticks need its questions; the
        screen must not wait for PyYAML to open)."""
        if self._guide is None and self._guide_loader is not None:
            self._guide, self._guide_loader = self._guide_loader(), None
        return self._guide

    def tick_choices(self, t: float) -> list[tuple[str, str]]:
        """``(key, label)`` for what can be ticked at ``t``: the questions and probes of the
        topic being discussed there, and its summary. Keys are ``kind|topic|question|probe``."""
        visit = self.model.visit_at(t)
        guide = self.guide
        if visit is None or visit.topic is None or guide is None:
            return []
        topic = next((tp for tp in guide.topics if tp.id == visit.topic), None)
        if topic is None:
            return []
        out = []
        for q in topic.questions:
            out.append((f"question_asked|{topic.id}|{q.id}|", f"Question: {q.text}"))
            for p in q.probes:
                out.append((f"probe_used|{topic.id}|{q.id}|{p.id}", f"  Probe: {p.text}"))
        if topic.summary or topic.summary_variants:
            out.append((f"summary_given|{topic.id}||", "Summary given"))
        return out

    @property
    def editable(self) -> bool:
        return self.log is not None

    def rebuild(self) -> None:
        corrections = self.log.corrections if self.log is not None else ()
        if self._engine is None:
            self._engine = engine_words(self.transcript)
        model = build_model(
            self.transcript, self.events, corrections, titles=self.titles, engine=self._engine
        )
        rows = review_rows(model)
        self.model, self.rows = model, rows
        self.loaded = True

    def correct(self, type: str, **data: Any) -> Any:
        """Write one correction (on disk when this returns), then rebuild."""
        if self.log is None:
            raise ValueError("this review is read-only")
        correction = self.log.append(type, **data)
        self.rebuild()
        return correction

    def undo(self) -> Any:
        if self.log is None:
            return None
        correction = self.log.undo()
        self.rebuild()
        return correction

    @property
    def reviewed_seconds(self) -> float:
        return self.model.reviewed_seconds

    def nearest_boundary(self, t: float) -> TopicVisit | None:
        """The topic visit whose start (after the first) lies nearest to ``t``."""
        visits = [v for v in self.model.visits[1:] if v.topic is not None or v.closing]
        return min(visits, key=lambda v: abs(v.start - t)) if visits else None


__all__ = ["LOOK_REASONS", "ReviewDocument", "Row", "RowIndex", "review_rows"]
