"""Reading a session folder's own files, and nothing else.

A session folder is shared: a colleague sends one to be transcribed or exported, and the export
(a ``.qdpx`` with the audio inside) is sent on. So every file name that comes from inside the
folder (``"file"`` in ``session.json``'s audio list) is untrusted, and so is every file in it:
``"../../../../etc/passwd"``, ``"/etc/shadow"`` or an ``audio-002.wav`` that is a symbolic link
to ``~/.ssh/id_rsa`` must never put the reader's own files into an export. The rules, applied by
every reader of session files (exports, study, transcription, listing):

- a name is a plain file name: no folder separators, not ``.``/``..``, not absolute, no NUL;
- the file is a regular file in the session folder itself: not a symbolic link (even one that
  points back inside the folder: it could be retargeted later), not a FIFO (which would hang the
  reader), device or folder;
- bytes are read through a descriptor opened with ``O_NOFOLLOW`` and checked with ``fstat``, so
  a file swapped for a link between the check and the read is refused too. Readers that must hand
  a path to a library (soundfile, the guide loader) check it with :func:`session_file` first.

A refused file is a :class:`SessionFileError` naming the file and the reason; it is never
skipped silently, so a tampered folder cannot yield a quietly incomplete export either.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from pathlib import Path, PureWindowsPath
from typing import Any, BinaryIO

from guide_tui.errors import SessionError

#: Files guide-tui itself reads from a session folder by a fixed name.
KNOWN_FILES = (
    "session.json",
    "guide.yaml",
    "events.jsonl",
    "transcript.json",
    "transcript.partial.jsonl",
)

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO must not hang open(); cleared after the check


class SessionFileError(SessionError):
    """A session file that guide-tui refuses to read (outside the folder, a link, not a file)."""


def plain_name(name: object, *, folder: str | os.PathLike[str], source: str = "") -> str:
    """``name`` if it is a plain file name inside a folder, else :class:`SessionFileError`.

    ``source`` says where the name came from (``"session.json: audio file"``) for the message.
    """
    what = f"{source} " if source else ""
    if not isinstance(name, str) or not name:
        raise SessionFileError(
            f"{folder}: {what}name must be a non-empty text, not {name!r}; refused."
        )
    windows = PureWindowsPath(name)
    if (
        name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\0" in name
        or os.path.isabs(name)
        or windows.drive
        or windows.root
    ):
        raise SessionFileError(
            f"{folder}: {what}{name!r} refused: only a plain file name inside the session folder "
            "is read (no folders, no '..', no absolute path)."
        )
    return name


def _refuse_link(path: Path) -> SessionFileError:
    return SessionFileError(
        f"{path} refused: it is a symbolic link; guide-tui reads only regular files inside the "
        "session folder (copy the file itself into the folder)."
    )


def _refuse_kind(path: Path, mode: int) -> SessionFileError:
    from guide_tui.userfiles import kind_of  # one wording for what a non-file is

    return SessionFileError(f"{path} refused: it is {kind_of(mode)}, not a regular file.")


def session_file(folder: str | os.PathLike[str], name: object, *, source: str = "") -> Path:
    """``folder/name`` after checking it is a session's own regular file (not a link).

    Raises :class:`FileNotFoundError` when it does not exist (callers decide whether that is
    fine) and :class:`SessionFileError` when it must not be read.
    """
    folder = Path(folder)
    path = folder / plain_name(name, folder=folder, source=source)
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        raise _refuse_link(path)
    if not stat.S_ISREG(mode):
        raise _refuse_kind(path, mode)
    return path


def open_session_file(
    folder: str | os.PathLike[str], name: object, *, source: str = ""
) -> BinaryIO:
    """A session file opened for reading without following a link (race-free where the OS
    has ``O_NOFOLLOW``); the same errors as :func:`session_file`."""
    folder = Path(folder)
    path = folder / plain_name(name, folder=folder, source=source)
    if not _NOFOLLOW:  # pragma: no cover - every POSIX system has it; check, then open
        session_file(folder, name, source=source)
    flags = os.O_RDONLY | _NOFOLLOW | _NONBLOCK | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        # ELOOP (Linux, macOS) or EMLINK (FreeBSD): the last component is a link.
        if _NOFOLLOW and error.errno in (errno.ELOOP, errno.EMLINK) and os.path.islink(path):
            raise _refuse_link(path) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _refuse_kind(path, mode)
        if _NONBLOCK:
            import fcntl

            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_session_file(
    folder: str | os.PathLike[str], name: object, *, source: str = "", limit: int | None = None
) -> bytes:
    """The bytes of a session file (at most ``limit``), read as :func:`open_session_file` does."""
    with open_session_file(folder, name, source=source) as handle:
        return handle.read() if limit is None else handle.read(limit)


def check_session_folder(folder: str | os.PathLike[str]) -> None:
    """Refuse a folder whose known files (``session.json``, ``guide.yaml``, ``events.jsonl``,
    ``transcript.json``, ``audio*.wav``) are links or not regular files; missing ones are fine.

    The gate :func:`guide_tui.session.store.read_meta` passes every reader through (export,
    transcription, listing, and resuming, whose writers open ``events.jsonl`` for appending and
    repair WAVs in place: through a link they would write into the reader's own files).
    """
    names = list(KNOWN_FILES)
    with contextlib.suppress(OSError):
        names += sorted(p.name for p in Path(folder).glob("audio*.wav"))
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            session_file(folder, name)


def frozen_guide_changed(folder: str | os.PathLike[str], meta: dict[str, Any]) -> str | None:
    """A warning when the frozen ``guide.yaml`` is not the file the interview was run with.

    ``session.json`` records the guide's sha256 when the session is created; an edited copy
    would silently change topic titles, coverage and the qdpx codebook. ``None`` when it
    matches, or when there is nothing to compare (no recorded sha256, no guide.yaml).
    """
    info = meta.get("guide")
    expected = info.get("sha256") if isinstance(info, dict) else None
    if not isinstance(expected, str) or not expected:
        return None
    try:
        data = read_session_file(folder, "guide.yaml")
    except (OSError, SessionFileError):
        return None  # missing or refused: the readers report that themselves
    if hashlib.sha256(data).hexdigest() == expected.lower():
        return None
    return (
        f"{Path(folder) / 'guide.yaml'} was changed after the interview (its sha256 is not the "
        "one in session.json): topics and codes come from the changed file"
    )


__all__ = [
    "KNOWN_FILES",
    "SessionFileError",
    "check_session_folder",
    "frozen_guide_changed",
    "open_session_file",
    "plain_name",
    "read_session_file",
    "session_file",
]
