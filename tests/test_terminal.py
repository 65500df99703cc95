"""Messages that C libraries write to descriptor 2 stay off the interview screen.

A child process runs with its stderr on a real pseudo-terminal (the situation of ``guide-tui
run`` in a terminal); inside :func:`divert_c_stderr`, libc's ``write(2, ...)`` (what PortAudio
and ALSA do) must land in the log while ``sys.__stderr__`` (what Textual draws on) still reaches
the terminal, and afterwards descriptor 2 is the terminal again.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tui_support import ROOT

CHILD = r"""
import ctypes, os, sys
from pathlib import Path
from guide_tui.terminal import divert_c_stderr

libc = ctypes.CDLL(None)
log = Path(sys.argv[1])
with divert_c_stderr(log) as diverted:
    message = b"Expression 'ret' failed in pa_linux_alsa.c\n"
    libc.write(2, message, len(message))
    sys.__stderr__.write("SCREEN-DRAWN-BY-TEXTUAL\n")
    sys.__stderr__.flush()
os.write(2, b"AFTER-THE-APP\n")
print("diverted" if diverted else "not diverted", flush=True)
with divert_c_stderr(Path(sys.argv[2])):
    pass  # nothing written: no log left behind
"""


def run_on_pty(*args: str) -> tuple[str, str]:
    master, slave = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-c", CHILD, *args],
            stdout=subprocess.PIPE,
            stderr=slave,
            cwd=ROOT,
            timeout=60,
            check=True,
        )
    finally:
        os.close(slave)
    screen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    return result.stdout.decode(), screen.decode(errors="replace")


def test_c_library_messages_go_to_the_log_not_the_screen(tmp_path: Path) -> None:
    log, unused = tmp_path / "messages.log", tmp_path / "unused.log"
    out, screen = run_on_pty(str(log), str(unused))
    assert out.strip() == "diverted"
    assert "SCREEN-DRAWN-BY-TEXTUAL" in screen
    assert "AFTER-THE-APP" in screen  # descriptor 2 is the terminal again
    assert "pa_linux_alsa" not in screen
    assert "pa_linux_alsa" in log.read_text()
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    assert not unused.exists()


def test_nothing_is_diverted_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "a.log"), str(tmp_path / "b.log")],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert result.stdout.decode().strip() == "not diverted"
    assert b"pa_linux_alsa" in result.stderr  # a redirected stderr keeps everything
    assert not (tmp_path / "a.log").exists()
