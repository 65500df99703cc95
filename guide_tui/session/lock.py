"""One writer per session folder: an OS lock on an open file, held for the session's life.

Two ``guide-tui run --resume`` of one folder once both recorded: two audio files at the same
offset, duplicated ``seq`` numbers, and one process's ``session.json`` overwrote the other's. So
whoever writes ``events.jsonl`` or ``session.json`` (:class:`guide_tui.session.store.Session`)
first takes an exclusive lock on ``.guide-tui.lock`` in the folder; a second process is refused
with a one-line message before it writes anything.

Why this kind of lock:

- **The lock is the OS's, not the file's existence.** ``flock`` (``msvcrt.locking`` on Windows)
  is released by the kernel when the holder's descriptor closes, so kill -9, a crash or a power
  cut cannot leave a session locked for ever. The file itself stays (deleting it while held would
  let a second process lock a new file); it holds the holder's process id, for the message only.
- **Readers are never blocked.** ``transcribe``, ``export``, ``sessions`` and ``study`` read with
  :func:`~guide_tui.session.store.read_meta` / ``read_events`` and take no lock; every file they
  read is replaced atomically or appended whole lines, so they see a consistent state.
- **Within one process the lock is shared** (counted): a program may hold a session open twice
  (the tests do; ``flock`` would refuse a second descriptor even in the same process). One
  interview runs in one process, which is what the lock guards.
- Where neither ``fcntl`` nor ``msvcrt`` exists, sessions are not locked (nothing else breaks).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

from guide_tui.errors import SessionError

LOCK_FILE = ".guide-tui.lock"
TRANSCRIBE_LOCK_FILE = ".transcribe.lock"  # one transcription at a time (never blocks run)

try:  # POSIX
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - Windows
    _fcntl = None  # type: ignore[assignment]
try:  # Windows
    import msvcrt as _msvcrt  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    _msvcrt = None  # type: ignore[assignment]


class SessionLockedError(SessionError):
    """Another process is writing this session."""


_guard = threading.Lock()
_held: dict[tuple[int, int], list[int]] = {}  # (st_dev, st_ino) -> [fd, holders in this process]


class SessionLock:
    """A held lock; :meth:`release` (idempotent) gives this holder's share back."""

    def __init__(self, path: Path, key: tuple[int, int] | None) -> None:
        self.path = path
        self._key = key

    @property
    def held(self) -> bool:
        return self._key is not None

    def release(self) -> None:
        with _guard:
            key, self._key = self._key, None
            if key is None or key not in _held:
                return
            entry = _held[key]
            entry[1] -= 1
            if entry[1] > 0:
                return
            del _held[key]
            with contextlib.suppress(OSError):
                os.close(entry[0])  # closing the descriptor releases the OS lock

    def __repr__(self) -> str:
        return f"SessionLock({str(self.path)!r}, held={self.held})"


def acquire(
    folder: str | os.PathLike[str],
    *,
    name: str = LOCK_FILE,
    busy: str = "is open in another guide-tui",
    advice: str = "close that one first (only one program may write a session)",
) -> SessionLock:
    """Lock ``folder`` for writing, or raise :class:`SessionLockedError` saying who holds it.

    Never waits: an interviewer who started a second window must hear so at once. ``name`` is
    the lock file (another name is another, independent lock); ``busy`` and ``advice`` word the
    refusal.
    """
    path = Path(folder) / name
    if _fcntl is None and _msvcrt is None:  # pragma: no cover - exotic platforms
        return SessionLock(path, None)
    with _guard:
        for _attempt in range(5):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
            except OSError as error:
                raise SessionError(
                    f"Cannot lock the session {Path(folder)} for writing: "
                    f"{error.strerror or error} ({path})"
                ) from None
            st = os.fstat(fd)
            key = (st.st_dev, st.st_ino)
            if key in _held:  # this process holds it already: share
                os.close(fd)
                _held[key][1] += 1
                return SessionLock(path, key)
            if not _try_lock_soon(fd):
                holder = _read_holder(fd)
                os.close(fd)
                who = f" (process {holder})" if holder else ""
                raise SessionLockedError(f"{Path(folder)} {busy}{who}; {advice}.")
            if not _same_file(path, key):  # replaced between open and lock: lock the new one
                os.close(fd)
                continue
            with contextlib.suppress(OSError, AttributeError):  # no pwrite on Windows
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            _held[key] = [fd, 1]
            return SessionLock(path, key)
    raise SessionError(f"Cannot lock the session {Path(folder)}: {path} keeps being replaced.")


def _try_lock_soon(fd: int) -> bool:
    """Try a few times over 60 ms: a reader's :func:`is_locked` probe holds a shared lock for
    microseconds, and must not make a starting interview fail."""
    for attempt in range(4):
        if attempt:
            time.sleep(0.02)
        if _try_lock(fd):
            return True
    return False


def _try_lock(fd: int) -> bool:
    if _fcntl is not None:
        try:
            _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as error:  # a file system without locks (some network mounts)
            if error.errno in (getattr(os, "ENOLCK", -1), getattr(os, "EOPNOTSUPP", -1)):
                return True  # degrade: better unlocked than no interview
            raise
        return True
    try:  # pragma: no cover - Windows: lock the first byte, without waiting
        _msvcrt.locking(fd, _msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True  # pragma: no cover


def _read_holder(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except (OSError, AttributeError):  # no pread on Windows; a locked byte cannot be read
        return None
    return int(text) if text.isdigit() else None


def _same_file(path: Path, key: tuple[int, int]) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == key


def is_locked(folder: str | os.PathLike[str]) -> bool:
    """Whether another process holds ``folder``'s lock now (for readers' messages; never waits).

    Probes with a *shared* lock, so two readers asking at once do not see each other as writers.
    """
    path = Path(folder) / LOCK_FILE
    if _fcntl is None:  # pragma: no cover - Windows: no shared probe; say nothing
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        with _guard:
            if (st.st_dev, st.st_ino) in _held:
                return False  # held by this very process
        try:
            _fcntl.flock(fd, _fcntl.LOCK_SH | _fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        return False
    finally:
        os.close(fd)  # also drops the shared probe


__all__ = [
    "LOCK_FILE",
    "TRANSCRIBE_LOCK_FILE",
    "SessionLock",
    "SessionLockedError",
    "acquire",
    "is_locked",
]
