"""Labelled spans on the session clock (after pyannote.core's ``Segment``).

Words, speaker turns, topic visits, codes, untranscribed stretches and recording pauses are all
spans on one clock (seconds from the start of the recording, the ``t`` of ``events.jsonl``), so
"which topic was this word in" and "which turns does this code cover" are the same few operations,
kept here in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Span:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)

    def contains(self, t: float) -> bool:
        """``start <= t < end`` (half-open, so adjacent spans never both contain a time)."""
        return self.start <= t < self.end

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def crop(self, other: Span) -> Span | None:
        """The part of ``self`` inside ``other``; None when they do not overlap."""
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Span(start, end) if start < end else None


def span_id(prefix: str, t: float) -> str:
    """A stable id from a time (``w12.34``): a correction names a word or a turn by where it is
    on the clock, which survives re-numbering of segments by a re-transcription."""
    return f"{prefix}{t:.2f}"
