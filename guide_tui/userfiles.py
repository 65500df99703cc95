"""Files the user names on the command line (a guide, an ``--audio-file``): regular files only.

``open()`` on a named pipe blocks until something writes to it, and ``/dev/zero`` or
``/dev/stdin`` never end: ``guide-tui check fifo`` used to hang for ever. So the path is looked at
before it is opened (``stat`` follows symlinks, so ``/dev/stdin`` is judged by what it points to),
and what is opened is opened non-blocking and looked at again (the path may have been swapped in
between). Errors are ``OSError`` (:class:`NotARegularFile` with a plain-words ``strerror``);
callers turn them into their own user-facing error types. Stdlib only.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO


class NotARegularFile(OSError):
    """The path names a folder, a pipe, a device or a socket rather than a file."""

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        super().__init__(errno.EINVAL, f"is {kind}, not a file", os.fspath(path))
        self.kind = kind


def kind_of(mode: int) -> str | None:
    """What a non-regular file is, in words ("a folder", "a named pipe (FIFO)", ...); None for a
    regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_regular_file(path: str | os.PathLike[str]) -> None:
    """Raise ``FileNotFoundError``/``NotARegularFile``/``OSError`` unless ``path`` is a regular
    file (after following symlinks). Opens nothing, so it never blocks."""
    kind = kind_of(os.stat(path).st_mode)
    if kind is not None:
        raise NotARegularFile(path, kind)


def open_regular_file(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a regular file for reading (binary), never blocking on a pipe or a device."""
    check_regular_file(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        kind = kind_of(os.fstat(fd).st_mode)
        if kind is not None:  # swapped after the check above
            raise NotARegularFile(path, kind)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def regular_file_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be read as a file, in words ("no such file", "is a pipe (FIFO), not a
    file"), or None when it is a regular file. For files a library opens by name (soundfile)."""
    try:
        check_regular_file(path)
    except FileNotFoundError:
        return "no such file"
    except NotARegularFile as error:
        return str(error.strerror)
    except OSError as error:
        return f"cannot be read: {error.strerror or error}"
    return None
