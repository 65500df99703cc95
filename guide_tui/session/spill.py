"""A copy of held events on another file system, so a full disk plus kill -9 loses nothing.

While the disk under a session refuses writes, :class:`~guide_tui.session.store.Session` holds
events in memory and retries every second. Memory does not survive kill -9 or a flat battery,
so as soon as events are held the writer thread also appends them, whole lines, fsynced, to a
*spill file* in the home folder (or, if that refuses too, the temporary folder): owner-only,
named after the session (``guide-tui-unsaved-<folder>-<tag>-<pid>-<random>.jsonl``, the tag
from ``session.json``'s ``created`` so a moved folder still finds its files). Once everything
held is on disk in the log, the spill file is deleted again.

A spill file may hold events that also reached the log (a write went through after they were
copied), and a line torn by a kill in the middle of copying: ``guide-tui run --resume`` merges by
``seq`` (:func:`guide_tui.session.store.recover_spilled_events`), adding only the events after
the log's last one, in order, and ignoring what cannot be read.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from guide_tui.atomic import write_bytes_atomic

PREFIX = "guide-tui-unsaved-"
SUFFIX = ".jsonl"
MODE = 0o600


def spill_folders() -> list[Path]:
    """Where spill files go, in order of preference: home (survives a reboot), then temp."""
    folders: list[Path] = []
    with contextlib.suppress(RuntimeError, KeyError):  # no home folder
        folders.append(Path.home())
    temp = Path(tempfile.gettempdir())
    if temp not in folders:
        folders.append(temp)
    return folders


def spill_stem(folder: Path, meta: dict[str, Any]) -> str:
    """The start of every spill file name of the session in ``folder``."""
    created = str(meta.get("created") or "")
    tag = hashlib.sha256(created.encode("utf-8")).hexdigest()[:8]
    return f"{PREFIX}{folder.name}-{tag}-"


def spill_files(folder: Path, meta: dict[str, Any]) -> list[Path]:
    """The spill files of this session that exist now (oldest first)."""
    stem = spill_stem(folder, meta)
    found: list[tuple[float, str, Path]] = []
    for place in spill_folders():
        try:
            names = os.listdir(place)
        except OSError:
            continue
        for name in names:
            if name.startswith(stem) and name.endswith(SUFFIX):
                path = place / name
                try:
                    info = path.lstat()
                except OSError:
                    continue
                if not path.is_symlink() and path.is_file():
                    found.append((info.st_mtime, str(path), path))
    return [path for _mtime, _name, path in sorted(found)]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class Mirror:
    """The writer thread's spill file: lines appended and fsynced; used from one thread only."""

    def __init__(self, stem: str) -> None:
        self.stem = stem
        self.path: Path | None = None
        self._fd: int | None = None
        self._refused: set[Path] = set()  # folders whose file system refused a write
        self.created: list[Path] = []  # every file made, to delete once all is on disk
        self.problem: str | None = None

    def append(self, fresh: bytes, everything: bytes) -> bool:
        """Append ``fresh`` to the spill file; a new file (the first, or after one refused)
        gets ``everything`` instead. True once it is fsynced somewhere."""
        data = fresh
        while True:
            if self._fd is None:
                if not self._open():
                    return False
                data = everything
            assert self._fd is not None
            try:
                _write_all(self._fd, data)
                os.fsync(self._fd)
            except OSError as error:
                self.problem = f"{error.strerror or error}"
                self._close()
                if self.path is not None:
                    self._refused.add(self.path.parent)
                continue
            self.problem = None
            return True

    def _open(self) -> bool:
        for place in spill_folders():
            if place in self._refused:
                continue
            path = place / f"{self.stem}{os.getpid()}-{secrets.token_hex(3)}{SUFFIX}"
            try:
                fd = os.open(
                    path,
                    os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_BINARY", 0),
                    MODE,
                )
            except OSError as error:
                self.problem = f"{error.strerror or error}"
                self._refused.add(place)
                continue
            with contextlib.suppress(OSError, NotImplementedError):
                os.chmod(path, MODE)
            self._fd, self.path = fd, path
            self.created.append(path)
            return True
        return False

    def replace(self, data: bytes) -> Path | None:
        """Make the current spill file hold exactly ``data`` (written beside it, then renamed
        over it); else write a fresh one. The path, or None if no place took it."""
        target = self.path
        if target is not None and self._fd is not None:
            self._close()  # the open descriptor would go on writing to the replaced file
            try:
                return write_bytes_atomic(target, data)  # owner-only, fsynced, one rename
            except OSError:
                pass
        self._close()
        self.path = None
        if self.append(data, data):
            return self.path
        return None

    def _close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def drop(self) -> None:
        """Everything held is in the log now: close and delete every spill file made."""
        self._close()
        for path in self.created:
            with contextlib.suppress(OSError):
                path.unlink()
        self.created.clear()
        self.path = None
        self._refused.clear()
