"""A full disk under the session loses nothing that was shown as saved (issue 10, item 1).

Through the real parts: a real tmpfs of a few pages filled up like ``dd`` does (root only), and
``RLIMIT_FSIZE`` in a child process (any user; ``SIGXFSZ`` ignored so ``write`` returns
``EFBIG``). Notes are taken beyond the limit, then space comes back, and the log must hold every
event whole, in order, with no torn line.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers_session import event_lines, write_guide
from hypothesis import given, settings
from hypothesis import strategies as st
from tiny_fs import fill, free, tiny_tmpfs

from guide_tui.errors import SessionError
from guide_tui.guide import Guide
from guide_tui.session import store
from guide_tui.session.events import EventType
from guide_tui.session.store import Session, read_events, read_meta

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def guide(tmp_path: Path) -> Guide:
    return write_guide(tmp_path)


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def long_note(n: int) -> str:
    return (f"note {n}: " + "the participant explains the rota at length " * 14).strip()


def _resume(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``guide-tui run --resume FOLDER`` in a real process without a terminal (it stops before
    the screen, after merging any copied events)."""
    return subprocess.run(
        [sys.executable, "-m", "guide_tui", "run", "--resume", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_notes_beyond_a_full_tmpfs_reach_the_log_whole_once_space_returns(
    guide: Guide,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    _isolated_spill_folders: list[Path],
) -> None:
    monkeypatch.setattr(store, "_RETRY_S", 0.1)
    with tiny_tmpfs(tmp_path / "tiny", "256k") as mount:
        session = Session.create(guide, "P01", root=mount / "recordings")
        log = session.events_path
        fill(mount)
        fragment_seen = False
        for n in range(12):
            session.post(EventType.NOTE, text=long_note(n))  # never raises
            time.sleep(0.05)
            fragment_seen = fragment_seen or not log.read_bytes().endswith(b"\n")
        assert wait_for(lambda: session.write_problem is not None, 2)
        assert "No space left on device" in (session.write_problem or "")
        assert session.unsaved_events > 0
        assert session.spill_path is not None  # copied to another file system at once
        # A write that stopped mid-line left a fragment (as in the report); it is not the end.
        assert fragment_seen
        with pytest.raises(SessionError, match="change is kept"):
            session.update_meta(coverage={"while": "full"})
        assert session.meta["coverage"] == {"while": "full"}  # kept, not dropped
        assert read_meta(session.path)["coverage"] is None
        time.sleep(0.5)  # retries against the full disk change nothing
        assert session.write_problem is not None

        [spill] = _isolated_spill_folders[0].glob("guide-tui-unsaved-*.jsonl")
        assert oct(spill.stat().st_mode & 0o777) == "0o600"
        assert f"a copy of the events is in {spill}" in (session.write_problem or "")

        free(mount)
        assert wait_for(lambda: session.write_problem is None, 5), session.write_problem
        assert read_meta(session.path)["coverage"] == {"while": "full"}  # retried by itself
        session.close()
        assert not spill.exists()  # all in the log: the copy is gone

        events, torn = read_events(session.path)
        assert torn == []  # the fragment was completed, not left as a torn line
        assert [e.seq for e in events] == list(range(13))
        assert [e.data["text"] for e in events[1:]] == [long_note(n) for n in range(12)]
        assert log.read_bytes().endswith(b"\n")
        reopened = Session.open(session.path)
        assert reopened.torn_lines == [] and len(reopened.events) == 13


_FSIZE_CHILD = """
import json, resource, signal, sys, time
from guide_tui.guide import load_guide
from guide_tui.session import store
store._RETRY_S = 0.1
session = store.Session.create(load_guide(sys.argv[1]), "P01", root=sys.argv[2])
log = session.events_path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() returns EFBIG instead of killing us
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (log.stat().st_size + 700, hard))
for n in range(6):
    session.post("note", text=f"note {n}: " + "x" * 300)
deadline = time.monotonic() + 5
while session.write_problem is None and time.monotonic() < deadline:
    time.sleep(0.02)
time.sleep(0.3)
report = {
    "problem": session.write_problem,
    "unsaved": session.unsaved_events,
    "size": log.stat().st_size,
    "ends_mid_line": not log.read_bytes().endswith(b"\\n"),
}
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # the space is back
deadline = time.monotonic() + 5
while session.write_problem is not None and time.monotonic() < deadline:
    time.sleep(0.02)
report["after"] = session.write_problem
session.close()
print(json.dumps(report))
print(session.path)
"""


def test_a_file_size_limit_holds_the_events_and_completes_the_torn_line(
    guide: Guide, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FSIZE_CHILD, str(guide.path), str(tmp_path / "recordings")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    report_line, folder_line = done.stdout.strip().splitlines()[-2:]
    report = json.loads(report_line)
    assert "File too large" in report["problem"], report
    assert report["unsaved"] >= 4 and report["ends_mid_line"], report
    assert report["after"] is None
    folder = Path(folder_line)
    events, torn = read_events(folder)
    assert torn == []
    assert [e.data.get("text", "")[:6] for e in events[1:]] == [f"note {n}" for n in range(6)]
    lines = event_lines(folder)
    assert [line["seq"] for line in lines] == list(range(7))


def test_what_is_still_held_when_the_program_ends_goes_to_another_file(
    guide: Guide, tmp_path: Path, _isolated_spill_folders: list[Path]
) -> None:
    """The last resort of ``guide-tui run``: the disk is still full when the interviewer leaves."""
    from guide_tui.commands.run import _save_held_events

    home = _isolated_spill_folders[0]
    with tiny_tmpfs(tmp_path / "tiny", "256k") as mount:
        session = Session.create(guide, "P01", root=mount / "recordings")
        fill(mount)
        for n in range(10):
            session.post(EventType.NOTE, text=long_note(n))
        with pytest.raises(SessionError, match="kept in memory"):
            session.close()
        message = _save_held_events(session)
        [saved] = home.glob("guide-tui-unsaved-*.jsonl")
        assert str(saved) in message and "cat " in message
        assert oct(saved.stat().st_mode & 0o777) == "0o600"
        free(mount)
        with open(session.events_path, "ab") as log:  # what the message tells the user to do
            log.write(saved.read_bytes())
        events, torn = read_events(session.path)
        assert [e.seq for e in events] == list(range(11))
        assert len(torn) <= 1  # at most the fragment the failed write left, as its own line


_KILLED_CHILD = """
import sys, time
from guide_tui.guide import load_guide
from guide_tui.session import store
sys.path.insert(0, sys.argv[3])
from tiny_fs import fill
store._RETRY_S = 0.1
session = store.Session.create(load_guide(sys.argv[1]), "P01", root=sys.argv[2] + "/recordings")
fill(store.Path(sys.argv[2]))
for n in range(8):
    session.post("note", text=f"note {n}: " + "the rota at length " * 30)
deadline = time.monotonic() + 10
while session.spill_path is None and time.monotonic() < deadline:
    time.sleep(0.02)
print(session.path, flush=True)
print(session.spill_path, flush=True)
time.sleep(60)  # killed here, the disk still full
"""


def test_held_events_survive_kill_9_and_resume_puts_them_back_in_order(
    guide: Guide, tmp_path: Path
) -> None:
    """Full disk, then SIGKILL: the events that were only in memory are in a spill file on
    another file system, and ``guide-tui run --resume`` adds them to the log, each once."""
    import os
    import signal

    home, temp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    temp.mkdir()
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(temp), "PYTHONPATH": str(REPO)}
    with tiny_tmpfs(tmp_path / "tiny", "256k") as mount:
        child = subprocess.Popen(
            [sys.executable, "-c", _KILLED_CHILD, str(guide.path), str(mount), str(REPO / "tests")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        try:
            assert child.stdout is not None
            folder = Path(child.stdout.readline().strip())
            spill_line = child.stdout.readline().strip()
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        assert child.returncode == -signal.SIGKILL
        assert spill_line not in ("", "None"), child.stderr.read() if child.stderr else ""
        spill = Path(spill_line)
        assert spill.parent == home and oct(spill.stat().st_mode & 0o777) == "0o600"
        on_disk, _torn = read_events(folder)
        assert len(on_disk) < 9  # the disk did not take them all: some were only in memory

        refused = _resume(folder, env)  # still full: nothing is lost, the copy is kept
        assert refused.returncode != 0 and "Free some space" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr and spill.exists()

        free(mount)
        resumed = _resume(folder, env)
        # No terminal here, so it stops before the screen: the merge comes first.
        assert "added" in resumed.stderr and str(spill) in resumed.stderr, resumed.stderr
        assert "Traceback" not in resumed.stderr
        events, _torn = read_events(folder)
        assert [e.seq for e in events] == list(range(9))
        assert [e.data["text"][:6] for e in events[1:]] == [f"note {n}" for n in range(8)]
        assert not spill.exists()


def test_a_home_on_the_same_full_disk_sends_the_copy_to_the_temp_folder(
    guide: Guide, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The usual laptop: home is on the disk that is full. The copy goes to the temp folder,
    whole (what the home file took of it is not relied on), and is deleted once all is on disk."""
    from guide_tui.session import spill

    monkeypatch.setattr(store, "_RETRY_S", 0.1)
    with tiny_tmpfs(tmp_path / "tiny", "256k") as mount:
        home, temp = mount / "home", tmp_path / "temp"
        home.mkdir()
        temp.mkdir()
        monkeypatch.setattr(spill, "spill_folders", lambda: [home, temp])
        session = Session.create(guide, "P01", root=mount / "recordings")
        fill(mount)
        for n in range(6):
            session.post(EventType.NOTE, text=long_note(n))
        assert wait_for(lambda: session.spill_path is not None and session.unsaved_events)
        spill_file = session.spill_path
        assert spill_file is not None and spill_file.parent == temp
        copied, _torn, _end = store._parse_events(spill_file.read_bytes())
        on_disk, _ = read_events(session.path)
        assert {e.seq for e in copied} | {e.seq for e in on_disk} == set(range(7))
        free(mount)
        assert wait_for(lambda: session.write_problem is None, 5)
        session.close()
        assert list(temp.iterdir()) == [] and list(home.glob("guide-tui-*")) == []


def test_merging_spill_files_adds_only_what_the_log_lacks_once_in_order(
    guide: Guide, tmp_path: Path, _isolated_spill_folders: list[Path]
) -> None:
    from guide_tui.session.spill import spill_stem
    from guide_tui.session.store import recover_spilled_events

    session = Session.create(guide, "P01", root=tmp_path / "recordings")
    for n in range(3):
        session.append(EventType.NOTE, text=f"note {n}")
    session.close()
    lines = session.events_path.read_bytes().splitlines(keepends=True)
    folder = session.path
    extra = [
        store._event_line(store.Event(type="note", t=9.0 + n, wall="w", seq=4 + n, data={}))
        for n in range(3)
    ]
    stem = spill_stem(folder, read_meta(folder))
    home, temp = _isolated_spill_folders
    # A copy that overlaps the log and ends in a line torn by kill -9; another out of order.
    (home / f"{stem}1-a.jsonl").write_bytes(lines[2] + lines[3] + extra[0] + extra[1][:30])
    (temp / f"{stem}2-b.jsonl").write_bytes(extra[2] + extra[1] + extra[0])
    (home / "guide-tui-unsaved-other-session-1-c.jsonl").write_bytes(extra[2])
    with open(session.events_path, "ab") as log:
        log.write(b'{"v":1,"seq":4,"t":')  # the fragment a failed write left

    recovered = recover_spilled_events(folder)

    assert recovered.added == 3 and len(recovered.files) == 2
    events, torn = read_events(folder)
    assert [e.seq for e in events] == [0, 1, 2, 3, 4, 5, 6]
    assert len(torn) == 1  # the fragment stays its own line
    assert list(home.iterdir()) == [home / "guide-tui-unsaved-other-session-1-c.jsonl"]
    assert recover_spilled_events(folder).added == 0  # nothing left: nothing added twice
    reopened = Session.open(folder)
    assert reopened.seq == 7
    reopened.close()


# -- the interview screen ----------------------------------------------------------------------


def _run_async(test: Callable[..., object]) -> Callable[..., None]:
    import asyncio
    import functools

    @functools.wraps(test)
    def wrapper(*args: object, **kwargs: object) -> None:
        asyncio.run(test(*args, **kwargs))  # type: ignore[arg-type]

    return wrapper


@_run_async
async def test_notes_typed_in_the_tui_beyond_a_full_disk_are_all_on_disk_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from textual.widgets import Input
    from tui_support import GUIDES, FakeRecorder

    from guide_tui.guide import load_guide
    from guide_tui.recorder.base import RecorderState
    from guide_tui.tui.app import make_app
    from guide_tui.tui.screens.interview import InterviewScreen
    from guide_tui.tui.screens.modals import NoteScreen
    from guide_tui.tui.widgets import RecorderPanel

    monkeypatch.setattr(store, "_RETRY_S", 0.1)

    async def until(pilot: object, condition: Callable[[], object], timeout: float = 10) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            assert asyncio.get_running_loop().time() < deadline, "the app did not get there"
            await pilot.pause(0.05)  # type: ignore[attr-defined]

    with tiny_tmpfs(tmp_path / "tiny", "256k") as mount:
        guide = load_guide(GUIDES / "demo.yaml")
        with Session.create(guide, "P01", root=mount / "recordings") as first:
            for item in guide.consent:
                first.append("consent", item=item.id, given=True)
            first.append("interview_started")
            first.append("topic_entered", topic=guide.topics[0].id)
        session = Session.open(first.path, mark_resumed=True)
        fake = FakeRecorder()
        app = make_app(session, session.guide, recorder_factory=lambda _s: fake, cursor_blink=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, InterviewScreen))
            await app.wait_for_recorder()
            fake.state = RecorderState.HALTED  # the recorder stopped for the full disk
            await pilot.pause(0.3)
            assert "NOT RECORDING" in app.screen.query_one(RecorderPanel).text
            await pilot.press("p")  # tries again (a real recorder: the next file)
            assert fake.calls[-1] == "resume" and fake.state == RecorderState.RECORDING
            fill(mount)
            texts = [long_note(n) for n in range(10)]
            for text in texts:
                await pilot.press("n")
                await until(pilot, lambda: isinstance(app.screen, NoteScreen))
                field = app.screen.query_one(Input)
                field.value = text[:-8]
                await pilot.press(*text[-8:], "enter")  # the last words typed by hand
                await until(pilot, lambda: isinstance(app.screen, InterviewScreen))
            await until(pilot, lambda: app.save_problem is not None)
            assert "No space left on device" in (app.save_problem or "")
            await pilot.pause(0.3)
            panel = app.screen.query_one(RecorderPanel).text
            assert "NOT SAVED YET" in panel and "in memory" in panel
            assert [n.text for n in app.state.notes] == texts  # shown, and kept
            await pilot.press("n", "x", "enter")  # the key that crashed the app before
            assert app.is_running

            free(mount)
            await until(pilot, lambda: app.save_problem is None)
            await pilot.pause(1.1)
            assert "NOT SAVED YET" not in app.screen.query_one(RecorderPanel).text
            await pilot.press("ctrl+q")
            await pilot.pause()
            await pilot.press("y")
            await until(pilot, lambda: not app.is_running)
        events, torn = read_events(session.path)
    assert torn == []
    notes = [e.data["text"] for e in events if e.type == "note"]
    assert notes == [*texts, "x"]
    assert [e.seq for e in events] == list(range(len(events)))
    assert events[-1].type == "recording_stopped"  # left with Ctrl+Q, all on disk


# -- the recorder --------------------------------------------------------------------------------


def test_after_a_full_disk_stopped_the_recording_session_json_is_right_and_resume_records_on(
    guide: Guide, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report: session.json said 0 frames for a 12.5 s file, and ``p`` never restarted."""
    import numpy as np
    import soundfile as sf

    from guide_tui.recorder.base import RecorderState
    from guide_tui.recorder.bridge import SessionRecorderBridge
    from guide_tui.recorder.capture import AudioRecorder
    from guide_tui.recorder.config import RecorderConfig
    from guide_tui.recorder.sources import FileSource

    monkeypatch.setattr(store, "_RETRY_S", 0.1)
    rate = 48000
    source = tmp_path / "in.wav"
    rng = np.random.default_rng(5)
    sf.write(source, rng.integers(-8000, 8000, size=(rate * 20, 1), dtype=np.int16), rate)
    config = RecorderConfig(disk_reserve_bytes=64 * 1024, disk_check_seconds=3600)
    with tiny_tmpfs(tmp_path / "tiny", "2m") as mount:
        session = Session.create(guide, "P01", root=mount / "recordings")
        (mount / "filler.bin").write_bytes(b"\0" * 2**20)
        recorder = AudioRecorder(
            session.path, config, source_factory=lambda: FileSource(source, config, speed=20)
        )
        bridge = SessionRecorderBridge(session, recorder)
        bridge.start()

        def halted() -> bool:
            return bridge.poll().state == RecorderState.HALTED

        assert wait_for(halted, 20)
        bridge.poll()
        assert wait_for(lambda: session.write_problem is not None, 5)
        frames = sf.info(session.path / "audio-001.wav").frames
        assert frames > rate * 3
        assert read_meta(session.path)["audio"][0]["frames"] != frames  # the write failed

        bridge.resume()  # `p` while still full: refused, the interview goes on
        assert bridge.poll().state == RecorderState.HALTED

        free(mount)
        assert wait_for(lambda: session.write_problem is None, 5), session.write_problem
        [entry] = read_meta(session.path)["audio"]  # retried by itself: the true frame count
        assert entry["frames"] == frames and entry["closed_reason"] == "disk_full"

        bridge.resume()  # `p` with space again: a new file, like after a lost device
        assert bridge.poll().state == RecorderState.RECORDING
        assert wait_for(lambda: bridge.poll().files[-1].frames > rate, 10)
        bridge.stop()
        session.close()
        meta = read_meta(session.path)
        assert [a["file"] for a in meta["audio"]] == ["audio-001.wav", "audio-002.wav"]
        assert meta["audio"][1]["frames"] == sf.info(session.path / "audio-002.wav").frames
        events, torn = read_events(session.path)
    assert torn == []
    types = [e.type for e in events]
    assert types.count("recording_started") == 2 and types.count("recording_stopped") == 2
    stopped = [e for e in events if e.type == "recording_stopped"]
    assert stopped[0].data["reason"] == "disk_full" and stopped[0].data["frames"] == frames


# -- every way a write can stop short --------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    budgets=st.lists(st.integers(0, 500), min_size=1, max_size=6),
    sizes=st.lists(st.integers(1, 250), min_size=1, max_size=12),
    crash_fragment=st.booleans(),
    meddle=st.booleans(),
)
def test_writes_stopping_at_any_byte_leave_every_event_whole(
    budgets: list[int], sizes: list[int], crash_fragment: bool, meddle: bool
) -> None:
    """The disk takes ``budgets[0]`` bytes, then a few more each time some space is freed, then
    all: whatever byte a write stops at (inside the newline before a crash fragment, inside a
    line, between lines), every event ends up in the log exactly once and whole. ``meddle``:
    something else appends to the file while a line is half written; that line is then written
    again whole on a fresh line rather than continued."""
    import errno
    import os
    import tempfile

    from guide_tui.session.clock import FrozenClock

    with tempfile.TemporaryDirectory() as tmp:
        guide = write_guide(Path(tmp))
        clock = FrozenClock(0.0)
        session = Session.create(guide, "P1", root=Path(tmp) / "rec", clock=clock)
        log = session.events_path
        expected_torn = 0
        if crash_fragment:
            session.close()
            with open(log, "ab") as handle:
                handle.write(b'{"v":1,"seq":1,"t":0.5,"wa')
            session = Session.open(session.path, clock=clock)
            expected_torn += 1
        budget = {"left": budgets[0]}

        def limited_write(fd: int, data: bytes) -> None:
            n = min(len(data), budget["left"])
            if n:
                os.write(fd, data[:n])
                budget["left"] -= n
            if n < len(data):
                raise OSError(errno.ENOSPC, "No space left on device")

        def settle() -> None:
            with contextlib.suppress(SessionError):
                session.flush()

        texts: list[str] = []
        real_write = store._write_all
        store._write_all = limited_write  # type: ignore[assignment]
        try:
            meddled = False
            for n, size in enumerate(sizes):
                texts.append(f"{n}:" + "é" * size)  # multi-byte characters: cut mid-character too
                session.post(EventType.NOTE, text=texts[-1])
                if n % 3 == 2:
                    settle()
                    if meddle and not meddled and not log.read_bytes().endswith(b"\n"):
                        with open(log, "ab") as handle:
                            handle.write(b"XX")
                        meddled = True
                        expected_torn += 1
            for more in budgets[1:]:
                budget["left"] += more
                texts.append(f"freed {more}")
                session.post(EventType.NOTE, text=texts[-1])
                settle()
        finally:
            store._write_all = real_write  # type: ignore[assignment]
        session.flush()  # all space back: nothing is held any more
        assert session.write_problem is None and session.unsaved_events == 0
        session.close()
        events, torn = read_events(session.path)
        assert [e.data["text"] for e in events[1:]] == texts
        assert [e.seq for e in events] == list(range(len(texts) + 1))
        assert len(torn) <= expected_torn, torn
        assert log.read_bytes().endswith(b"\n")
