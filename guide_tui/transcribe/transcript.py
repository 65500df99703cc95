"""``transcript.json`` (docs/transcript-format.md), the engine's record.

Files are written atomically: a temp file in the same folder, fsync, rename, mode 0600 (session
data is sensitive). ``transcript.md`` is not written here: it is the Markdown export
(:func:`guide_tui.export.writers.transcript_markdown`), so one renderer with one set of rules
writes every readable transcript.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from guide_tui.transcribe.guards import FILLERS

SCHEMA = 1


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never half."""
    from guide_tui.atomic import write_bytes_atomic

    write_bytes_atomic(path, text.encode("utf-8"))


class JsonWriter:
    extension = "json"

    def render(self, transcript: dict[str, Any]) -> str:
        return json.dumps(transcript, ensure_ascii=False, indent=1) + "\n"


WRITERS = {"json": JsonWriter}


def get_writer(fmt: str, **kwargs: Any) -> JsonWriter:
    return WRITERS[fmt](**kwargs)


def has_fillers(text: str) -> int:
    return len(FILLERS.findall(text))
