"""Keep C libraries' messages off the interview screen.

PortAudio, ALSA and libpulse write straight to file descriptor 2 when a device misbehaves (for
example ``Expression 'ret' failed in 'src/hostapi/alsa/pa_linux_alsa.c'`` when a USB microphone
is pulled). Textual draws the whole screen on ``sys.__stderr__``, which is that same descriptor,
so those lines land in the middle of the interview screen at the moment the interviewer most
needs to read it.

:func:`divert_c_stderr` gives the terminal a descriptor of its own for Textual to draw on and
points descriptor 2 at a log file for the duration of the app; afterwards everything is put back
and an empty log is removed. Plain Python, no Textual: the ``run`` command wraps ``app.run()``
in it.

:func:`capture_c_stderr` is the same idea for a short call whose C library talks on descriptor 2
(libmpg123's ``Note: Illegal Audio-MPEG-Header`` while libsndfile reads a damaged MP3): what it
writes is kept for the caller instead of reaching the user's terminal.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


@contextlib.contextmanager
def divert_c_stderr(log_path: Path) -> Iterator[Path | None]:
    """Inside the block, writes to descriptor 2 go to ``log_path``, while ``sys.__stderr__`` and
    ``sys.stderr`` still reach the terminal. Yields the log's path, or ``None`` when nothing was
    diverted (descriptor 2 is not a terminal, or the log cannot be opened): then the block runs
    as it would have without this."""
    try:
        terminal_is_stderr = os.isatty(2)
    except OSError:
        terminal_is_stderr = False
    if not terminal_is_stderr or sys.__stderr__ is None:
        yield None
        return
    try:
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError:
        yield None
        return
    sys.__stderr__.flush()
    terminal_fd = os.dup(2)
    original = (sys.__stderr__, sys.stderr)
    terminal = io.TextIOWrapper(
        io.FileIO(terminal_fd, "w", closefd=False),
        encoding=original[0].encoding,
        errors=original[0].errors,
        line_buffering=True,
    )
    os.dup2(log_fd, 2)
    os.close(log_fd)
    _set_stderr(terminal, terminal)
    try:
        yield log_path
    finally:
        with contextlib.suppress(Exception):
            terminal.flush()
        _set_stderr(*original)
        os.dup2(terminal_fd, 2)
        os.close(terminal_fd)
        with contextlib.suppress(OSError):
            if log_path.stat().st_size == 0:
                log_path.unlink()


class CapturedText:
    """What a C library wrote on descriptor 2 inside :func:`capture_c_stderr` (after the block)."""

    def __init__(self) -> None:
        self.text = ""


@contextlib.contextmanager
def capture_c_stderr() -> Iterator[CapturedText]:
    """Inside the block, writes to descriptor 2 go to a temporary file; afterwards descriptor 2 is
    put back and the captured text is in the yielded object's ``text``. Python's own
    ``sys.stderr`` is flushed before and after, so nothing of ours is lost or reordered. Falls
    back to doing nothing (the text stays empty) when descriptor 2 cannot be duplicated."""
    import tempfile

    captured = CapturedText()
    try:
        saved = os.dup(2)
    except OSError:
        yield captured
        return
    with tempfile.TemporaryFile() as tmp:
        for stream in (sys.stderr, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()  # type: ignore[union-attr]
        os.dup2(tmp.fileno(), 2)
        try:
            yield captured
        finally:
            for stream in (sys.stderr, sys.__stderr__):
                with contextlib.suppress(Exception):
                    stream.flush()  # type: ignore[union-attr]
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            captured.text = tmp.read(65536).decode("utf-8", "replace")


def _set_stderr(dunder: TextIO, current: TextIO) -> None:
    # sys.__stderr__ is what Textual draws on (and is typed as final); setattr keeps that honest.
    setattr(sys, "__stderr__", dunder)  # noqa: B010
    sys.stderr = current
