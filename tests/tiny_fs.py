"""A real, tiny file system for full-disk tests: a tmpfs mounted for the test, filled up on purpose.

Mounting needs root on Linux; where it is not permitted the test is skipped and says why (the
``RLIMIT_FSIZE`` tests cover the same write path without root).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

FILLER = "filler.bin"


@contextlib.contextmanager
def tiny_tmpfs(mount: Path, size: str = "256k") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` at ``mount`` (created) for the block; unmount afterwards."""
    if sys.platform != "linux":
        pytest.skip("a tmpfs needs Linux")
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(mount: Path) -> int:
    """Fill the file system like ``dd if=/dev/zero`` does, until ENOSPC; return the bytes taken.

    Page by page, so what is left is less than a page: a file's last, partly used page still
    takes bytes, the next page does not (a write then stops in the middle of a line).
    """
    taken = 0
    with open(mount / FILLER, "ab", buffering=0) as filler:
        chunk = b"\0" * 65536
        while len(chunk) >= 4096:
            try:
                while True:
                    taken += filler.write(chunk)
            except OSError:
                chunk = chunk[: len(chunk) // 2]
    return taken


def free(mount: Path) -> None:
    """Give the space back."""
    (mount / FILLER).unlink(missing_ok=True)
