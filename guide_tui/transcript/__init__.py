"""The corrected transcript as one domain model (SPEC §6a): what every export writer,
``transcript.md``, ``study`` and the review read. Plain Python: no Textual, no numpy."""

from guide_tui.transcript.corrections import Correction, CorrectionError, CorrectionLog
from guide_tui.transcript.model import (
    Block,
    Code,
    Heading,
    RecordingPause,
    Sentence,
    TopicVisit,
    TranscriptModel,
    Turn,
    Word,
    apply_corrections,
    build_model,
)
from guide_tui.transcript.source import Transcript, Untranscribed, load_transcript, parse_transcript
from guide_tui.transcript.spans import Span

__all__ = [
    "Block",
    "Code",
    "Correction",
    "CorrectionError",
    "CorrectionLog",
    "Heading",
    "RecordingPause",
    "Sentence",
    "Span",
    "TopicVisit",
    "Transcript",
    "TranscriptModel",
    "Turn",
    "Untranscribed",
    "Word",
    "apply_corrections",
    "build_model",
    "load_transcript",
    "parse_transcript",
]
