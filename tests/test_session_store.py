"""The session folder and its event log: nothing written is lost, rewritten or exposed."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from helpers_session import GUIDE_YAML, event_lines, no_groups_guide, write_guide
from hypothesis import given, settings
from hypothesis import strategies as st

from guide_tui.errors import PseudonymError, SessionError
from guide_tui.guide import Guide
from guide_tui.session import store
from guide_tui.session.clock import FrozenClock, MonotonicClock
from guide_tui.session.events import EventType
from guide_tui.session.store import Session, read_events

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def guide(tmp_path: Path) -> Guide:
    return write_guide(tmp_path)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "recordings"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class _FixedDatetime(datetime):
    """``datetime.now()`` pinned to 2026-03-04 05:06 (local) so folder names are predictable."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
        fixed = datetime(2026, 3, 4, 5, 6, 7, 890000)
        return fixed if tz is None else fixed.astimezone(tz)


# -- create ------------------------------------------------------------------------------------


def test_create_writes_the_folder(guide: Guide, root: Path, monkeypatch) -> None:
    monkeypatch.setattr(store, "datetime", _FixedDatetime)
    session = Session.create(
        guide,
        "municipal physiotherapist 10",
        group="physio",
        interviewer="AB",
        location="Clinic",
        root=root,
        clock=FrozenClock(0.0),
    )
    session.close()
    assert session.path == root / "2026-03-04_0506_municipal-physiotherapist-10"
    assert sorted(p.name for p in session.path.iterdir()) == [
        ".guide-tui.lock",  # one writer per session (guide_tui/session/lock.py)
        "events.jsonl",
        "guide.yaml",
        "session.json",
    ]
    # The frozen guide is the exact bytes of the file, comments included.
    assert (session.path / "guide.yaml").read_bytes() == Path(guide.path or "").read_bytes()

    meta = json.loads((session.path / "session.json").read_text(encoding="utf-8"))
    assert meta == session.meta
    assert meta["schema"] == 1
    assert meta["participant"] == "municipal physiotherapist 10"
    assert meta["group"] == "physio"
    assert meta["interviewer"] == "AB"
    assert meta["location"] == "Clinic"
    assert meta["guide"] == {
        "id": "session-test",
        "title": "Session test guide",
        "version": "2",
        "sha256": guide.sha256,
        "language": "en",
        "file": "guide.yaml",
        "source_path": str(Path(guide.path or "").resolve()),
    }
    assert meta["status"] == "in_progress"
    assert meta["started"] == meta["created"]
    assert meta["created"].endswith("+00:00")
    for key, empty in [
        ("ended", None),
        ("duration_s", None),
        ("notes_only", False),
        ("consent", {}),
        ("baseline", {}),
        ("audio", []),
        ("pauses", []),
        ("dropped_frames", 0),
        ("coverage", None),
    ]:
        assert meta[key] == empty, key
    assert "app_version" in meta

    [line] = event_lines(session.path)
    assert line["type"] == EventType.SESSION_STARTED
    assert line["seq"] == 0 and line["t"] == 0.0 and line["v"] == 1
    assert line["data"] == {
        "guide": "session-test",
        "guide_version": "2",
        "participant": "municipal physiotherapist 10",
        "group": "physio",
        "resumed": False,
    }
    datetime.fromisoformat(line["wall"])  # ISO 8601 with milliseconds
    assert len(line["wall"]) == len("2026-11-22T09:14:03.123+00:00")


def test_same_minute_gets_a_suffix(guide: Guide, root: Path, monkeypatch) -> None:
    monkeypatch.setattr(store, "datetime", _FixedDatetime)
    names = []
    for _ in range(3):
        with Session.create(guide, "#1", root=root) as session:
            names.append(session.path.name)
    assert names == ["2026-03-04_0506_#1", "2026-03-04_0506_#1-2", "2026-03-04_0506_#1-3"]


def test_permissions_are_owner_only_even_under_a_permissive_umask(guide: Guide, root: Path) -> None:
    old = os.umask(0)
    try:
        session = Session.create(guide, "GP 03", root=root)
        session.update_meta(status="ended")
        session.close()
    finally:
        os.umask(old)
    assert _mode(root) == 0o700  # we created the recordings root, so it is private too
    assert _mode(session.path) == 0o700
    for name in ("session.json", "guide.yaml", "events.jsonl"):
        assert _mode(session.path / name) == 0o600, name


def test_existing_root_keeps_its_mode(guide: Guide, root: Path) -> None:
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    Session.create(guide, "GP 03", root=root).close()
    assert _mode(root) == 0o755


def test_root_from_environment(guide: Guide, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GUIDE_TUI_RECORDINGS", str(tmp_path / "env-recordings"))
    with Session.create(guide, "#2") as session:
        assert session.path.parent == tmp_path / "env-recordings"


def test_bad_pseudonym_is_refused_before_anything_is_written(guide: Guide, root: Path) -> None:
    with pytest.raises(PseudonymError, match="path separator"):
        Session.create(guide, "../../etc", root=root)
    assert not root.exists()


def test_group_must_be_one_of_the_guides(guide: Guide, root: Path) -> None:
    with pytest.raises(SessionError, match=r"Unknown participant group 'nurse'.*gp, physio"):
        Session.create(guide, "#1", group="nurse", root=root)
    with Session.create(guide, "#1", group="gp", root=root) as session:
        assert session.meta["group"] == "gp"
    with Session.create(guide, "#2", root=root) as session:  # the TUI may confirm it later
        assert session.meta["group"] is None


def test_guide_without_groups_accepts_any_group(tmp_path: Path, root: Path) -> None:
    with Session.create(no_groups_guide(tmp_path), "#1", group="team A", root=root) as session:
        assert session.meta["group"] == "team A"


def test_guide_must_come_from_an_unchanged_file(guide: Guide, root: Path) -> None:
    from dataclasses import replace

    with pytest.raises(SessionError, match="not loaded from a file"):
        Session.create(replace(guide, path=None), "#1", root=root)
    Path(guide.path or "").write_text(GUIDE_YAML + "\n# edited\n", encoding="utf-8")
    with pytest.raises(SessionError, match="changed after it was loaded"):
        Session.create(guide, "#1", root=root)


def test_root_that_is_a_file(guide: Guide, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(SessionError, match="not a folder"):
        Session.create(guide, "#1", root=tmp_path / "file")


# -- append, post, reopen ----------------------------------------------------------------------


def test_append_and_reopen_round_trip(guide: Guide, root: Path) -> None:
    clock = FrozenClock(0.0)
    session = Session.create(guide, "#1", root=root, clock=clock)
    clock.advance(1.5)
    first = session.append(EventType.TOPIC_ENTERED, topic="role")
    clock.advance(2.25)
    second = session.append(EventType.NOTE, text="Zögert — «long» pause\u2028here", started_t=3.0)
    assert (first.seq, first.t, second.seq, second.t) == (1, 1.5, 2, 3.75)
    assert session.seq == 3
    session.close()

    reopened = Session.open(session.path)
    assert reopened.torn_lines == []
    assert reopened.events == session.events
    assert reopened.seq == 3
    assert reopened.meta == session.meta
    assert reopened.guide == guide
    assert reopened.guide.path == str(session.path / "guide.yaml")
    assert reopened.events[2].data["text"] == "Zögert — «long» pause\u2028here"
    # Opening to read writes nothing.
    assert len(event_lines(session.path)) == 3
    reopened.close()


def test_mark_resumed_appends_session_resumed(guide: Guide, root: Path) -> None:
    Session.create(guide, "#1", root=root).close()
    [folder] = root.iterdir()
    with Session.open(folder, mark_resumed=True) as session:
        assert session.events[-1].type == EventType.SESSION_RESUMED
        assert session.events[-1].data == {"torn_lines": 0}
        assert session.events[-1].seq == 1
    assert [e["type"] for e in event_lines(folder)] == ["session_started", "session_resumed"]


def test_t_never_goes_backwards_across_reopen(guide: Guide, root: Path) -> None:
    session = Session.create(guide, "#1", root=root, clock=FrozenClock(100.0))
    session.append(EventType.NOTE, text="late")
    session.close()
    reopened = Session.open(session.path)
    assert isinstance(reopened.clock, MonotonicClock)
    event = reopened.append(EventType.NOTE, text="after the crash")
    assert event.t >= 100.0
    reopened.clock = FrozenClock(200.0)  # the recorder takes over the clock
    assert reopened.append(EventType.MARKER, kind="quotable").t == 200.0
    reopened.close()


def test_post_keeps_order_and_flush_waits(guide: Guide, root: Path) -> None:
    clock = FrozenClock(0.0)
    session = Session.create(guide, "#1", root=root, clock=clock)
    posted = []
    for i in range(200):
        clock.advance(0.01)
        posted.append(session.post(EventType.NOTE, text=f"n{i}"))
        if i % 50 == 0:  # synchronous appends mixed in land after what was posted before
            posted.append(session.append(EventType.MARKER, kind="quotable"))
    assert [e.seq for e in posted] == list(range(1, len(posted) + 1))
    assert session.events[1:] == posted
    session.flush()
    lines = event_lines(session.path)
    assert [line["seq"] for line in lines] == list(range(len(posted) + 1))
    assert [line["data"] for line in lines[1:]] == [e.data for e in posted]
    session.close()


def test_post_from_many_threads(guide: Guide, root: Path) -> None:
    session = Session.create(guide, "#1", root=root)

    def worker(n: int) -> None:
        for i in range(50):
            session.post(EventType.NOTE, text=f"{n}-{i}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    session.close()
    lines = event_lines(session.path)
    assert [line["seq"] for line in lines] == list(range(201))
    ts = [line["t"] for line in lines]
    assert ts == sorted(ts)
    assert [e.to_json_dict() for e in session.events] == lines


def test_post_returns_without_waiting_for_disk(guide: Guide, root: Path, monkeypatch) -> None:
    session = Session.create(guide, "#1", root=root)
    release = threading.Event()
    real_write = store._write_all

    def slow_write(fd: int, data: bytes) -> None:
        release.wait(5)
        real_write(fd, data)

    monkeypatch.setattr(store, "_write_all", slow_write)
    event = session.post(EventType.NOTE, text="fast")
    assert session.events[-1] == event  # visible at once
    assert len(event_lines(session.path)) == 1  # not yet on disk
    release.set()
    session.flush()
    assert len(event_lines(session.path)) == 2
    session.close()


def test_a_failed_write_holds_the_events_and_writes_them_when_the_disk_is_back(
    guide: Guide, root: Path, monkeypatch
) -> None:
    session = Session.create(guide, "#1", root=root)
    real_write = store._write_all

    def failing_write(fd: int, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "_write_all", failing_write)
    monkeypatch.setattr(store, "_RETRY_S", 0.05)
    session.post(EventType.NOTE, text="held 1")  # never raises: the interview goes on
    with pytest.raises(SessionError, match=r"No space left on device.*1 event kept in memory"):
        session.flush()
    with pytest.raises(SessionError, match="2 events kept in memory"):
        session.append(EventType.NOTE, text="held 2")
    session.post(EventType.NOTE, text="held 3")
    assert session.unsaved_events >= 2
    assert "free some space" in (session.write_problem or "")
    monkeypatch.setattr(store, "_write_all", real_write)
    assert _wait(lambda: session.write_problem is None, 5)  # the writer retried by itself
    session.append(EventType.NOTE, text="disk is back")
    session.close()
    events, torn = read_events(session.path)
    texts = [e.data.get("text") for e in events]
    assert texts == [None, "held 1", "held 2", "held 3", "disk is back"]
    assert [e.seq for e in events] == [0, 1, 2, 3, 4]
    assert torn == []


def _wait(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_data_that_is_not_json_is_refused_at_once(guide: Guide, root: Path) -> None:
    session = Session.create(guide, "#1", root=root)
    with pytest.raises(SessionError, match="cannot be stored as JSON"):
        session.post(EventType.NOTE, text=object())
    with pytest.raises(SessionError, match="cannot be stored as JSON"):
        session.append(EventType.NOTE, value=float("nan"))
    assert session.append(EventType.NOTE, text="ok").seq == 1  # no seq was used up
    session.close()


def test_close_is_not_final(guide: Guide, root: Path) -> None:
    session = Session.create(guide, "#1", root=root)
    session.close()
    session.close()
    session.post(EventType.NOTE, text="after close")
    session.close()
    assert len(event_lines(session.path)) == 2


# -- crash recovery ----------------------------------------------------------------------------


def _session_with_events(guide: Guide, root: Path, n: int) -> Path:
    clock = FrozenClock(0.0)
    with Session.create(guide, "#1", root=root, clock=clock) as session:
        for i in range(n):
            clock.advance(1.0)
            session.append(EventType.NOTE, text=f"note {i}")
    return session.path


def test_torn_last_line_is_reported_and_never_rewritten(guide: Guide, root: Path) -> None:
    folder = _session_with_events(guide, root, 3)
    log = folder / "events.jsonl"
    whole = log.read_bytes()
    torn_fragment = b'{"v":1,"seq":4,"t":9.0,"wall":"2026-11-22T09:14:03.123+00:00","ty'
    log.write_bytes(whole + torn_fragment)  # a crash in the middle of a write
    before = log.read_bytes()

    session = Session.open(folder)
    assert [e.seq for e in session.events] == [0, 1, 2, 3]
    [torn] = session.torn_lines
    assert torn.line == 5 and "incomplete" in torn.reason
    event = session.append(EventType.NOTE, text="after the crash")
    assert event.seq == 4 and event.t >= 3.0
    session.close()

    after = log.read_bytes()
    assert after.startswith(before)  # history untouched
    assert after[len(before) :].startswith(b"\n")  # the fragment stays its own line
    lines = after.split(b"\n")
    assert lines[4] == torn_fragment
    assert json.loads(lines[5])["data"] == {"text": "after the crash"}

    again = Session.open(folder, mark_resumed=True)
    assert [e.seq for e in again.events] == [0, 1, 2, 3, 4, 5]
    assert [t.line for t in again.torn_lines] == [5]
    assert again.events[-1].data == {"torn_lines": 1}
    again.close()


def test_posted_events_reach_the_disk_when_the_program_ends_without_close(
    guide: Guide, root: Path
) -> None:
    """The exit hook (registered with the first open session, not at import) drains what was
    posted but not yet written."""
    child = f"""
import sys, time
from guide_tui.guide import load_guide
from guide_tui.session import store
assert not store._atexit_registered  # importing registers nothing
session = store.Session.create(load_guide({str(guide.path)!r}), "X1", root={str(root)!r})
assert store._atexit_registered
real_write = store._write_all
store._write_all = lambda fd, data: (time.sleep(0.3), real_write(fd, data))
for n in range(5):
    session.post("note", text=f"note {{n}}")
print(session.path)
"""  # no close(): the interpreter exits with the writes still queued
    result = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=60, check=True
    )
    folder = Path(result.stdout.strip())
    notes = event_lines(folder)[1:]
    assert [e["data"]["text"] for e in notes] == [f"note {n}" for n in range(5)]


def test_complete_last_line_without_newline_is_kept(guide: Guide, root: Path) -> None:
    folder = _session_with_events(guide, root, 1)
    log = folder / "events.jsonl"
    log.write_bytes(log.read_bytes().rstrip(b"\n"))  # the crash hit between "}" and "\n"
    with Session.open(folder) as session:
        assert session.torn_lines == []
        assert len(session.events) == 2
        session.append(EventType.NOTE, text="next")
    assert [line["seq"] for line in event_lines(folder)] == [0, 1, 2]


def test_garbage_in_the_middle_is_reported_and_skipped(guide: Guide, root: Path) -> None:
    folder = _session_with_events(guide, root, 2)
    log = folder / "events.jsonl"
    lines = log.read_bytes().split(b"\n")
    garbage = [b"\x00\x00\x00\x00", b"[1, 2]", b'{"type": "note"}', b"\xff\xfe not utf-8", b""]
    log.write_bytes(b"\n".join(lines[:2] + garbage + lines[2:]))
    with Session.open(folder) as session:
        assert [e.seq for e in session.events] == [0, 1, 2]
        assert [(t.line, t.reason.split(" (")[0]) for t in session.torn_lines] == [
            (3, "not valid JSON"),
            (4, "not a JSON object"),
            (5, "not an event"),
            (6, "not UTF-8 text"),
        ]  # the blank line 7 is not worth reporting
        assert "missing 't'" in session.torn_lines[2].reason
        assert str(session.torn_lines[0]).startswith("line 3: ")
        assert session.seq == 3


_KILL_SCRIPT = """
import sys
from guide_tui.session.store import Session
session = Session.open(sys.argv[1])
i = 0
while True:
    event = session.append("note", text="x" * (i % 300), i=i)
    print(event.seq, flush=True)
    i += 1
"""


def test_sigkill_while_appending_loses_nothing_reported(guide: Guide, root: Path) -> None:
    folder = _session_with_events(guide, root, 0)
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILL_SCRIPT, str(folder)],
        stdout=subprocess.PIPE,
        cwd=REPO,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # it is running and appending
    assert first.strip() == "1"
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate(timeout=10)
    reported = [int(first)] + [int(line) for line in out.split("\n") if line.strip().isdigit()]
    assert len(reported) > 5

    session = Session.open(folder)
    seqs = [e.seq for e in session.events]
    assert seqs == list(range(len(seqs)))  # in order, no gaps
    assert set(reported) <= set(seqs)  # everything append() returned for is on disk
    assert len(session.torn_lines) <= 1
    for event in session.events[1:]:
        assert event.data["text"] == "x" * (event.data["i"] % 300)
    session.append(EventType.SESSION_RESUMED, torn_lines=len(session.torn_lines))
    session.close()
    assert Session.open(folder).events[-1].type == EventType.SESSION_RESUMED


# -- session.json ------------------------------------------------------------------------------


def test_update_meta_replaces_atomically(guide: Guide, root: Path) -> None:
    session = Session.create(guide, "#1", root=root)
    new = session.update_meta(
        status="ended", duration_s=61.5, audio=[{"file": "audio-001.wav", "frames": 10}]
    )
    assert new["status"] == "ended" and new["participant"] == "#1"
    on_disk = json.loads((session.path / "session.json").read_text(encoding="utf-8"))
    assert on_disk == new == session.meta
    assert sorted(p.name for p in session.path.iterdir()) == [
        ".guide-tui.lock",  # one writer per session (guide_tui/session/lock.py)
        "events.jsonl",
        "guide.yaml",
        "session.json",
    ]  # no temp file left behind
    with pytest.raises(SessionError, match="cannot be stored as JSON"):
        session.update_meta(bad=object())
    assert session.meta == new
    session.close()


def test_readers_never_see_a_partial_session_json(guide: Guide, root: Path) -> None:
    session = Session.create(guide, "#1", root=root)
    stop = threading.Event()
    seen: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            text = (session.path / "session.json").read_text(encoding="utf-8")
            json.loads(text)  # raises on empty or partial
            seen.append(text)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(100):
            session.update_meta(baseline={"answers": "y" * (i * 50)})
    finally:
        stop.set()
        thread.join()
    assert seen
    session.close()


_META_KILL_SCRIPT = """
import sys
from guide_tui.session.store import Session
session = Session.open(sys.argv[1])
i = 0
while True:
    session.update_meta(pauses=[[j, j + 1] for j in range(i % 500)])
    if i == 0:
        print("go", flush=True)
    i += 1
"""


def test_sigkill_while_updating_meta_leaves_a_whole_file(guide: Guide, root: Path) -> None:
    folder = _session_with_events(guide, root, 0)
    proc = subprocess.Popen(
        [sys.executable, "-c", _META_KILL_SCRIPT, str(folder)],
        stdout=subprocess.PIPE,
        cwd=REPO,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "go"
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    meta = json.loads((folder / "session.json").read_text(encoding="utf-8"))
    assert meta["participant"] == "#1"
    assert isinstance(meta["pauses"], list)
    Session.open(folder).close()


# -- open errors -------------------------------------------------------------------------------


def test_open_errors_are_clear(guide: Guide, root: Path, tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="No session folder"):
        Session.open(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SessionError, match="not a session folder"):
        Session.open(tmp_path / "empty")

    folder = _session_with_events(guide, root, 0)
    meta_path = folder / "session.json"
    good = meta_path.read_bytes()
    for broken, message in [
        (b"", "damaged"),
        (b'{"schema": 1, "partic', "damaged"),
        (b"[]", "damaged"),
        (b'{"participant": "#1"}', "no schema"),
        (b'{"schema": 99}', "newer guide-tui"),
    ]:
        meta_path.write_bytes(broken)
        with pytest.raises(SessionError, match=message):
            Session.open(folder)
    meta_path.write_bytes(good)

    (folder / "guide.yaml").write_text("title: [unclosed\n", encoding="utf-8")
    with pytest.raises(SessionError, match="frozen guide"):
        Session.open(folder)
    (folder / "guide.yaml").unlink()
    with pytest.raises(SessionError, match=r"no guide\.yaml"):
        Session.open(folder)


def test_wall_time_is_utc_with_milliseconds() -> None:
    wall = store.utc_now_iso()
    parsed = datetime.fromisoformat(wall)
    assert parsed.utcoffset() == timezone.utc.utcoffset(None)
    assert wall[19] == "." and len(wall.split(".")[1]) == len("123+00:00")


_NASTY_LINES = [
    b'{"v":1,"seq":1e400,"t":1,"wall":"w","type":"x"}',
    b'{"v":1,"seq":1,"t":NaN,"wall":"w","type":"x"}',
    b'{"v":1,"seq":1,"t":Infinity,"wall":"w","type":"x"}',
    b'{"v":1,"seq":1,"t":[1],"wall":"w","type":"x","data":[]}',
    b'{"v":"one","seq":1,"t":1,"wall":"w","type":"x"}',
    b"[" * 100_000,
    b'{"v":1,"seq":2,"t":1.5,"wall":"w","type":"note","data":{}}',
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40) | st.sampled_from(_NASTY_LINES), max_size=8))
def test_any_log_bytes_are_read_without_raising(chunks: list[bytes]) -> None:
    events, torn, _unterminated = store._parse_events(b"\n".join(chunks))
    assert all(isinstance(e.t, float) for e in events)
    assert all(t.line >= 1 for t in torn)


def test_non_finite_t_cannot_poison_the_clock(guide: Guide, root: Path) -> None:
    folder = _session_with_events(guide, root, 1)
    with open(folder / "events.jsonl", "ab") as handle:
        handle.write(_NASTY_LINES[1] + b"\n" + _NASTY_LINES[0] + b"\n")
    with Session.open(folder) as session:
        assert [t.line for t in session.torn_lines] == [3, 4]
        assert "finite" in session.torn_lines[0].reason
        assert session.append(EventType.NOTE, text="fine").t >= 1.0


def test_notes_only_is_recorded(guide: Guide, root: Path) -> None:
    with Session.create(guide, "#9", root=root, notes_only=True) as session:
        assert session.meta["notes_only"] is True
    assert json.loads((session.path / "session.json").read_bytes())["notes_only"] is True
