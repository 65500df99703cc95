"""The engine's ``transcript.json`` as read for exports: moved to :mod:`guide_tui.transcript`
(one model of the transcript for every writer); these names stay importable from here."""

from guide_tui.transcript.source import (
    SUPPORTED_SCHEMA,
    Annotation,
    RawWord,
    Segment,
    Transcript,
    Untranscribed,
    load_transcript,
    parse_transcript,
)

__all__ = [
    "SUPPORTED_SCHEMA",
    "Annotation",
    "RawWord",
    "Segment",
    "Transcript",
    "Untranscribed",
    "load_transcript",
    "parse_transcript",
]
