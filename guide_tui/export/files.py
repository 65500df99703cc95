"""Atomic, owner-only output files.

An export that is interrupted half-way (a full disk, Ctrl-C) must never leave a truncated file
where a good one used to be: a QDA tool would import it without complaint. So every export is
written to a temporary file next to its destination, fsynced, then renamed over it. Exports hold
interview content (health-service data), so files are 0600 and folders 0700, like the session.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from guide_tui.errors import ExportError


def ensure_dir(path: Path) -> Path:
    """Create ``path`` (owner-only) if needed; an unwritable place is the user's problem to fix."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or error
        raise ExportError(f"cannot create export folder {path}: {reason}") from None
    return path


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """:func:`guide_tui.atomic.atomic_path`, creating the folder and speaking ExportError."""
    from guide_tui import atomic

    ensure_dir(path.parent)
    try:
        with atomic.atomic_path(path) as tmp:
            yield tmp
    except OSError as error:
        raise ExportError(f"cannot write {path}: {error.strerror or error}") from None


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_text_atomic(path: Path, text: str, *, bom: bool = False) -> Path:
    """Write UTF-8 (with a byte-order mark when the reading tool needs one to detect UTF-8)."""
    data = text.encode("utf-8")
    if bom:
        data = b"\xef\xbb\xbf" + data
    return write_bytes_atomic(path, data)
