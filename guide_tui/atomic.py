"""Replacing a file atomically, owner-only: the one implementation every writer uses.

A reader (or a crash) must see the old file or the new one, never half of one: ``session.json``
read while the TUI updates it, a transcript interrupted by Ctrl-C, an export on a full disk. So a
temporary file is written next to the destination (same file system, so the rename is atomic),
fsynced, made 0600 (interview content is health-service data), renamed over the destination, and
the folder is fsynced so the rename itself survives a power cut. Temporary names start with a dot,
so session listings never mistake them for data. Errors are ``OSError``; callers turn them into
their own user-facing error types.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

FILE_MODE = 0o600


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (POSIX; a no-op where folders can't open)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` in one rename.

    For writers that need a file name (python-docx, zipfile). On any exception the temporary file
    is removed and ``path`` is left as it was.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        with contextlib.suppress(NotImplementedError):
            os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
    return path
