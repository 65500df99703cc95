"""One writer per session: a second process is refused with one line and writes nothing; a killed
holder leaves nothing stuck; readers are never blocked. Real second processes throughout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers_session import event_lines, write_guide

from guide_tui.session import lock as session_lock
from guide_tui.session.clock import FrozenClock
from guide_tui.session.events import EventType
from guide_tui.session.lock import SessionLockedError
from guide_tui.session.store import Session

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process control")

# Holds the session open for writing (as `guide-tui run` does) until its stdin closes.
_HOLDER = """
import sys
from guide_tui.session.store import Session
session = Session.open(sys.argv[1], mark_resumed=True)
session.append("note", text="from the holder")
print("held", flush=True)
sys.stdin.read()
session.close()
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    guide = write_guide(tmp_path)
    clock = FrozenClock(0.0)
    with Session.create(guide, "P 01", group="gp", root=tmp_path / "rec", clock=clock) as s:
        clock.advance(5.0)
        s.append(EventType.TOPIC_ENTERED, topic="role")  # the interview began
        s.append(EventType.NOTE, text="before")
    return s.path


@pytest.fixture
def holder(folder: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=_env(),
        text=True,
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def _guide_tui(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guide_tui", *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_a_second_run_resume_is_refused_and_writes_nothing(
    folder: Path, holder: subprocess.Popen[str]
) -> None:
    before = _snapshot(folder)
    result = _guide_tui("run", "--resume", str(folder), timeout=30)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "open in another guide-tui" in lines[0]
    assert f"process {holder.pid}" in lines[0]
    assert "Traceback" not in result.stderr
    assert _snapshot(folder) == before  # not one byte written, no file added
    assert holder.poll() is None  # the holder goes on


def test_readers_are_not_blocked_by_a_writer(folder: Path, holder: subprocess.Popen[str]) -> None:
    listing = _guide_tui("sessions", str(folder.parent))
    assert listing.returncode == 0, listing.stderr
    assert "P 01" in listing.stdout or "P01" in listing.stdout
    study = _guide_tui("study", str(folder.parent))
    assert study.returncode == 0, study.stderr
    assert session_lock.is_locked(folder)


def test_a_killed_holder_leaves_no_stuck_lock(folder: Path, holder: subprocess.Popen[str]) -> None:
    with pytest.raises(SessionLockedError):
        Session.open(folder)
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    assert not session_lock.is_locked(folder)
    with Session.open(folder, mark_resumed=True) as session:
        session.append(EventType.NOTE, text="after the kill")
    seqs = [line["seq"] for line in event_lines(folder)]
    assert seqs == list(range(len(seqs)))  # one writer at a time: no duplicated seq
    assert [line["data"].get("text") for line in event_lines(folder)][-1] == "after the kill"


def test_the_lock_is_let_go_on_close_and_shared_within_a_process(folder: Path) -> None:
    first = Session.open(folder)
    second = Session.open(folder)  # the same process: shared, not refused
    first.close()
    assert _other_process_can_lock(folder) is False  # `second` still holds it
    second.close()
    assert _other_process_can_lock(folder) is True


def test_a_clean_exit_without_close_lets_go(folder: Path) -> None:
    script = f"from guide_tui.session.store import Session\nSession.open({str(folder)!r})\n"
    subprocess.run([sys.executable, "-c", script], env=_env(), check=True, timeout=60)
    assert _other_process_can_lock(folder) is True


def _other_process_can_lock(folder: Path) -> bool:
    script = (
        "import sys\nfrom guide_tui.session.lock import acquire, SessionLockedError\n"
        "try:\n    acquire(sys.argv[1])\nexcept SessionLockedError:\n    sys.exit(3)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(folder)], env=_env(), timeout=60)
    assert proc.returncode in (0, 3)
    return proc.returncode == 0


_TRANSCRIBING = """
import sys
from guide_tui.session.lock import acquire, TRANSCRIBE_LOCK_FILE
acquire(sys.argv[1], name=TRANSCRIBE_LOCK_FILE)
print("held", flush=True)
sys.stdin.read()
"""


def test_a_second_transcription_of_one_session_is_refused(
    folder: Path, holder: subprocess.Popen[str]
) -> None:
    """Two transcriptions would share one checkpoint; a running interview blocks neither."""
    import numpy as np
    import soundfile as sf

    sf.write(str(folder / "audio-001.wav"), np.zeros(16000, np.float32), 16000)
    other = subprocess.Popen(
        [sys.executable, "-c", _TRANSCRIBING, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=_env(),
        text=True,
    )
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        result = _guide_tui("transcribe", str(folder), "--model", "tiny.en")
        assert result.returncode != 0
        assert "is being transcribed by another guide-tui" in result.stderr
        assert "Traceback" not in result.stderr
        assert "still open in guide-tui" in result.stderr  # the interview (holder) is running
        assert not (folder / "transcript.partial.jsonl").exists()
    finally:
        other.kill()
        other.wait(10)
