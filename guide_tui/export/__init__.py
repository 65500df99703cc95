"""Exports of a session for reading and for QDA tools (NVivo, MAXQDA, ATLAS.ti, QualCoder).

Data flows one way: a session folder (``session.json``, ``events.jsonl``, the frozen
``guide.yaml``, audio) and its ``transcript.json`` are read (``session_data``, ``transcript``)
and never written; each format is a small writer class behind a lookup table (``writers``;
``qdpx`` for the REFI-QDA project), and every file is written atomically (``files``). Nothing
here imports the UI; python-docx and the XML schema library are imported only by the writer or
check that needs them.
"""

from __future__ import annotations

from guide_tui.export.session_data import SessionData, find_sessions, read_session
from guide_tui.export.writers import FORMATS, export_session, get_writer

__all__ = [
    "FORMATS",
    "SessionData",
    "export_session",
    "find_sessions",
    "get_writer",
    "read_session",
]
