"""The session folder on disk: ``session.json``, the frozen ``guide.yaml`` and ``events.jsonl``.

Design decisions, each because an interview cannot be repeated:

- **The event log is append-only and never rewritten.** Each event is one line, written with a
  single ``os.write`` on a descriptor opened ``O_APPEND``, then fsynced. A crash can at worst tear
  the last line; reopening keeps every complete line, reports the torn one in
  :attr:`Session.torn_lines`, and leaves its bytes where they are. If the file does not end with a
  newline, one is written *before* the next event, so the fragment stays its own (ignored) line and
  the new event is never glued to it.
- **The UI never waits on disk.** :meth:`Session.post` fixes an event's ``seq``, ``t`` and wall
  time at once and hands the line to one writer thread per session, which writes in order and
  fsyncs once per batch. :meth:`Session.append` goes through the same queue and waits for its own
  fsync, so synchronous and posted events can be mixed and the file is always in ``seq`` order.
- **A full disk loses no event.** A line that cannot be written (``ENOSPC``, ``EFBIG``, an I/O
  error) stays in memory, in order, and the writer tries again every second and with every new
  event, so everything lands in the log once there is space. :meth:`Session.post` keeps taking
  events meanwhile (an interviewer must be able to go on taking notes) and
  :attr:`Session.write_problem` says what is held, for the screen. A write that stopped inside a
  line is *continued* where it stopped (the file's size says where), so the event ends up whole
  on disk and the log has no torn line; only if the file is not as the failed write left it is
  the line written again, whole, on a fresh line. ``append``, ``flush`` and ``close`` raise
  :class:`SessionError` while something is held; nothing is dropped.
- **``session.json`` is replaced, never edited in place**: temp file in the same folder, fsync,
  ``os.replace``, fsync of the folder. A reader sees the old or the new file, never half of one.
  A replacement that fails (full disk) is kept in memory and written again with the next update
  or the writer's next retry, so the final metadata is right once there is space.
- **Owner-only permissions** (0700 folders, 0600 files) are set explicitly after creation, so a
  permissive umask cannot expose health-service audio and notes.
- **Listing is cheap**: :func:`list_sessions` reads ``session.json`` and counts event lines without
  loading the guide, and reports a broken folder instead of failing the whole list.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import hashlib
import json
import math
import os
import queue
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from guide_tui.atomic import fsync_dir, write_bytes_atomic
from guide_tui.errors import GuideTuiError, SessionError
from guide_tui.guide.model import Guide
from guide_tui.session import lock as session_lock
from guide_tui.session.clock import Clock, MonotonicClock
from guide_tui.session.events import Event, EventType, reached_interview
from guide_tui.session.files import (
    SessionFileError,
    check_session_folder,
    open_session_file,
    read_session_file,
)
from guide_tui.session.pseudonym import folder_name, validate_pseudonym
from guide_tui.session.spill import Mirror, spill_files, spill_stem
from guide_tui.session.state import interview_seconds

SESSION_SCHEMA_VERSION = 1

SESSION_FILE = "session.json"
GUIDE_FILE = "guide.yaml"
EVENTS_FILE = "events.jsonl"
TRANSCRIPT_FILE = "transcript.json"

DIR_MODE = 0o700
FILE_MODE = 0o600

MAX_EVENT_T = 366 * 86400.0
"""Latest plausible session time (s). The clock runs only while guide-tui does, so a year is far
beyond any interview; a larger ``t`` (say ``1e308`` from a damaged or hand-edited log) would start
the resumed clock there and make every later time 300 digits long."""

INTERRUPTED_AFTER_S = 3600.0
"""An ``in_progress`` session whose log has not been written for this long was interrupted."""

_WRITER_IDLE_S = 5.0  # an idle writer thread ends; the next post starts another
_RETRY_S = 1.0  # while something could not be written, try again this often
_MAX_SUFFIX = 999  # "-2" ... "-999": more interviews in one minute than that is a bug


# -- small helpers -----------------------------------------------------------------------------


def utc_now_iso() -> str:
    """Wall-clock time as ISO 8601 UTC with milliseconds, e.g. ``2026-11-22T09:14:03.123+00:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _chmod(path: Path, mode: int) -> None:
    with contextlib.suppress(NotImplementedError):
        os.chmod(path, mode)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _create_file(path: Path, data: bytes) -> None:
    """Create ``path`` (must not exist) with ``data``, 0600 whatever the umask, fsynced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), FILE_MODE)
    try:
        _chmod(path, FILE_MODE)
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Replace ``path`` with ``obj`` as JSON so that a reader never sees a partial file.

    Temp file in the same folder (same file system, so the rename is atomic), fsync, ``os.replace``,
    fsync of the folder so the rename itself survives a power cut.
    """
    data = (json.dumps(obj, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode("utf-8")
    write_bytes_atomic(path, data)


def _mkdir_private(path: Path) -> None:
    """``mkdir`` with 0700 applied explicitly (the mode argument is filtered by the umask)."""
    os.mkdir(path, DIR_MODE)
    _chmod(path, DIR_MODE)


def _ensure_root(root: Path) -> None:
    """Create the recordings folder if needed; only a folder we create is forced to 0700."""
    if root.is_dir():
        return
    if root.exists():
        raise SessionError(f"The recordings location {root} exists but is not a folder.")
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
        _mkdir_private(root)
    except FileExistsError:
        pass  # created concurrently: fine
    except OSError as error:
        raise SessionError(
            f"Cannot create the recordings folder {root}: {error.strerror or error}"
        ) from None


@dataclass(frozen=True)
class TornLine:
    """A line of ``events.jsonl`` that could not be read as an event (left as it is on disk)."""

    line: int  # 1-based line number in the file
    reason: str
    text: str  # the start of the line, for the message

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def _parse_events(data: bytes) -> tuple[list[Event], list[TornLine], bool]:
    """Split the log into events and torn lines; also say whether it ends without a newline.

    Lines are split on ``\\n`` only (a JSON string may hold U+2028 and friends). Blank lines are
    skipped silently: one appears harmlessly when a write fails before anything reached the disk.
    """
    events: list[Event] = []
    torn: list[TornLine] = []
    if not data:
        return events, torn, False
    lines = data.split(b"\n")
    unterminated = lines[-1] != b""
    if not unterminated:
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        text = raw[:80].decode("utf-8", "replace")
        try:
            obj = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            torn.append(TornLine(number, "not UTF-8 text", text))
            continue
        except (ValueError, RecursionError):
            reason = (
                "incomplete line (torn by a crash?)"
                if (number == len(lines) and unterminated)
                else "not valid JSON"
            )
            torn.append(TornLine(number, reason, text))
            continue
        if not isinstance(obj, dict):
            torn.append(TornLine(number, "not a JSON object", text))
            continue
        try:
            event = Event.from_json_dict(obj)
        except (KeyError, TypeError, ValueError, OverflowError) as error:
            detail = f"missing {error}" if isinstance(error, KeyError) else str(error)
            torn.append(TornLine(number, f"not an event ({detail})", text))
            continue
        if not math.isfinite(event.t):
            # A NaN or infinite t would poison the resumed clock and every later event.
            torn.append(TornLine(number, "not an event (t is not a finite number)", text))
            continue
        if not 0.0 <= event.t <= MAX_EVENT_T:
            # So would an absurd one: the clock resumes from the largest t.
            torn.append(
                TornLine(number, f"not an event (t = {event.t:g} s is not a session time)", text)
            )
            continue
        events.append(event)
    return events, torn, unterminated


def read_meta(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """``session.json`` as a dict, or :class:`SessionError` saying what is wrong with it.

    The one reader of session metadata: the TUI, transcription and exports all use it, so a
    damaged or too-new session gets the same message everywhere. It is also the gate against
    a folder from elsewhere whose files are links (:func:`check_session_folder`): every reader
    passes through here before it opens anything else.
    """
    folder = Path(folder)
    meta_path = folder / SESSION_FILE
    try:
        raw = read_session_file(folder, SESSION_FILE)  # never through a link
        check_session_folder(folder)
    except FileNotFoundError:
        raise SessionError(f"{folder} is not a session folder (no {SESSION_FILE}).") from None
    except OSError as error:
        raise SessionError(f"Cannot read {meta_path}: {error.strerror or error}") from None
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise SessionError(f"{meta_path} is damaged (not valid JSON: {error}).") from None
    if not isinstance(meta, dict):
        raise SessionError(f"{meta_path} is damaged (not a JSON object).")
    schema = meta.get("schema")
    if not isinstance(schema, int):
        raise SessionError(f"{meta_path} has no schema version; it is not a guide-tui session.")
    if schema > SESSION_SCHEMA_VERSION:
        raise SessionError(
            f"{meta_path} has schema {schema}, written by a newer guide-tui; please upgrade."
        )
    _check_meta_types(meta, meta_path)
    return meta


_TEXT = ((str,), "a text")
_OBJECT = ((dict,), "an object")
_LIST = ((list,), "a list")
#: The type of each known ``session.json`` key (``null`` is always allowed: not set).
_META_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "app_version": _TEXT,
    "created": _TEXT,
    "participant": _TEXT,
    "group": _TEXT,
    "interviewer": _TEXT,
    "location": _TEXT,
    "status": _TEXT,
    "started": _TEXT,
    "ended": _TEXT,
    "observers": _LIST,
    "guide": _OBJECT,
    "duration_s": ((int, float), "a number"),
    "notes_only": ((bool,), "true or false"),
    "consent": _OBJECT,
    "baseline": _OBJECT,
    "audio": _LIST,
    "pauses": _LIST,
    "dropped_frames": ((int,), "a whole number"),
    "coverage": _OBJECT,
    "voice_check": _OBJECT,  # guide_tui.voiceprint: the mic check's voice sample, channel map
}


def _check_meta_types(meta: dict[str, Any], meta_path: Path) -> None:
    """One clear line for a hand-edited or damaged ``session.json`` (``'audio' must be a list``)
    instead of a traceback in whichever reader trips over it first."""

    def fail(key: str, kind: str) -> SessionError:
        return SessionError(f"{meta_path}: {key!r} must be {kind}.")

    for key, (types, kind) in _META_TYPES.items():
        value = meta.get(key)
        if value is None:
            continue
        if isinstance(value, bool) and bool not in types:  # JSON true is not a number
            raise fail(key, kind)
        if not isinstance(value, types):
            raise fail(key, kind)
    sha = meta.get("guide", {}).get("sha256") if isinstance(meta.get("guide"), dict) else None
    if sha is not None and not isinstance(sha, str):
        raise fail("guide.sha256", "a text")
    for number, entry in enumerate(meta.get("audio") or [], start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise SessionError(
                f"{meta_path}: 'audio' entry {number} must be an object with a \"file\" name."
            )


# -- the session -------------------------------------------------------------------------------

_STOP = object()
_live_sessions: weakref.WeakSet[Session] = weakref.WeakSet()
_atexit_registered = False


def _track_live(session: Session) -> None:
    """Remember an open session; the exit hook is registered with the first one (importing
    this module has no side effects)."""
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(_close_live_sessions)
        _atexit_registered = True
    _live_sessions.add(session)


def _close_live_sessions() -> None:
    """Posted events reach the disk even if the program ends without ``close()``."""
    for session in list(_live_sessions):
        with contextlib.suppress(Exception):
            session.close()


class Session:
    """One interview's folder: metadata, frozen guide and the append-only event log.

    Build with :meth:`create` or :meth:`open`. Thread-safe: events may be appended or posted
    from any thread; ``seq`` order, file order and :attr:`events` order are the same.
    """

    def __init__(
        self,
        path: Path,
        meta: dict[str, Any],
        guide: Guide,
        events: list[Event],
        torn_lines: list[TornLine],
        *,
        clock: Clock,
        needs_newline: bool = False,
    ) -> None:
        """Internal: use :meth:`create` or :meth:`open`."""
        self.path = path
        self.guide = guide
        self.clock: Clock = clock
        self.torn_lines: list[TornLine] = list(torn_lines)
        self._meta = meta
        self._events = list(events)
        self._seq = max((e.seq for e in events), default=-1) + 1
        self._needs_newline = needs_newline
        # _lock: seq/t assignment, the events list and the queue stay in one order.
        self._lock = threading.RLock()
        self._meta_lock = threading.Lock()
        # _done: writer progress (count of queued items tried), guarded by _cond.
        self._cond = threading.Condition()
        self._queued = 0
        self._done = 0
        # What could not be written yet (guarded by _cond): the queue numbers held in memory,
        # the reason, and whether session.json is behind ``_meta``.
        self._held: set[int] = set()
        self._problem: str | None = None
        self._meta_unsaved = False
        # The writer thread's own state: lines not yet on disk (in order); for the first one,
        # how many of its bytes a failed write left in the file and the file's size then; and
        # whether written bytes still wait for an fsync that failed.
        self._backlog: list[tuple[int, bytes]] = []
        self._partial: tuple[int, int] | None = None
        self._sync_pending = False
        # The copy of held lines on another file system (spill.py), and the last queue number
        # copied there: kill -9 while the disk is full must not lose what is held.
        self._mirror = Mirror(spill_stem(path, meta))
        self._mirrored = 0
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._fd: int | None = None
        self._session_lock: session_lock.SessionLock | None = None
        _track_live(self)

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        guide: Guide,
        participant: str,
        *,
        group: str | None = None,
        interviewer: str | None = None,
        location: str | None = None,
        observers: Iterable[str] = (),
        root: str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
        notes_only: bool = False,
    ) -> Session:
        """Create ``<root>/<YYYY-MM-DD>_<HHMM>_<pseudonym>/`` and log ``session_started``.

        The folder name uses local time (what the interviewer sees on the wall); ``created`` in
        ``session.json`` is UTC. A second session in the same minute gets ``-2``, ``-3``, ...
        The guide is frozen as the exact bytes of ``guide.path``, so the session can always be
        read against the guide as it was used, even after the guide is adjusted.
        ``observers``: anyone else present besides interviewer and participant (COREQ item 15).
        """
        pseudonym = validate_pseudonym(participant)
        present = [name.strip() for name in observers if name and name.strip()]
        if group is not None and guide.groups and group not in {g.id for g in guide.groups}:
            known = ", ".join(g.id for g in guide.groups)
            raise SessionError(
                f"Unknown participant group {group!r} for guide {guide.id!r}; "
                f"choose one of: {known}."
            )
        guide_bytes = _frozen_guide_bytes(guide)
        sha256 = hashlib.sha256(guide_bytes).hexdigest()

        from guide_tui import __version__
        from guide_tui.paths import recordings_dir

        base = recordings_dir(root)
        _ensure_root(base)
        stamp = datetime.now().strftime("%Y-%m-%d_%H%M")
        stem = f"{stamp}_{folder_name(pseudonym)}"
        folder = _make_unique_folder(base, stem)
        lock = session_lock.acquire(folder)  # uncontended: the folder is brand new

        created = utc_now_iso()
        meta: dict[str, Any] = {
            "schema": SESSION_SCHEMA_VERSION,
            "app_version": __version__,
            "created": created,
            "participant": pseudonym,
            "group": group,
            "interviewer": interviewer,
            "location": location,
            "observers": present,
            "guide": {
                "id": guide.id,
                "title": guide.title,
                "version": guide.version,
                "sha256": sha256,
                "language": guide.language,
                "file": GUIDE_FILE,
                "source_path": str(Path(guide.path).resolve()) if guide.path else None,
            },
            "status": "in_progress",
            "started": created,
            "ended": None,
            "duration_s": None,
            "notes_only": bool(notes_only),
            "consent": {},
            "baseline": {},
            "audio": [],
            "pauses": [],
            "dropped_frames": 0,
            "coverage": None,
        }
        try:
            _create_file(folder / GUIDE_FILE, guide_bytes)
            write_json_atomic(folder / SESSION_FILE, meta)
            _create_file(folder / EVENTS_FILE, b"")
            fsync_dir(folder)
        except OSError as error:
            lock.release()
            raise SessionError(
                f"Cannot write the session folder {folder}: {error.strerror or error}"
            ) from None
        session = cls(folder, meta, guide, [], [], clock=clock or MonotonicClock())
        session._hold(lock)
        session.append(
            EventType.SESSION_STARTED,
            guide=guide.id,
            guide_version=guide.version,
            participant=pseudonym,
            group=group,
            resumed=False,
        )
        return session

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        mark_resumed: bool = False,
    ) -> Session:
        """Reopen a session folder (also after a crash) without rewriting anything.

        Every complete line of ``events.jsonl`` is kept; unreadable ones are listed in
        :attr:`torn_lines`. The default clock continues from the last ``t`` so time never goes
        backwards. ``mark_resumed=True`` appends a ``session_resumed`` event (the interview goes
        on); readers such as reports leave it False and nothing is written.
        """
        folder = Path(path)
        if not folder.is_dir():
            raise SessionError(f"No session folder at {folder}.")
        read_meta(folder)  # a folder that is no session gets that message, not a lock file
        # The one writer: a second process is refused here, before anything is written, and
        # everything below is read after the previous writer has let go.
        lock = session_lock.acquire(folder)
        try:
            session = cls._read(folder, clock)
        except BaseException:
            lock.release()
            raise
        session._hold(lock)
        if mark_resumed:
            session.append(EventType.SESSION_RESUMED, torn_lines=len(session.torn_lines))
        return session

    @classmethod
    def _read(cls, folder: Path, clock: Clock | None) -> Session:
        meta = read_meta(folder)
        guide_path = folder / GUIDE_FILE
        if not guide_path.is_file():
            raise SessionError(f"{folder} has no {GUIDE_FILE} (the frozen copy of the guide).")
        from guide_tui.guide import load_guide

        try:
            guide = load_guide(guide_path)
        except GuideTuiError as error:
            raise SessionError(f"The frozen guide of {folder} cannot be read:\n{error}") from None
        try:
            data = (folder / EVENTS_FILE).read_bytes()
        except FileNotFoundError:
            data = b""
        except OSError as error:
            raise SessionError(
                f"Cannot read {folder / EVENTS_FILE}: {error.strerror or error}"
            ) from None
        events, torn, unterminated = _parse_events(data)
        last_t = max((e.t for e in events), default=0.0)
        return cls(
            folder,
            meta,
            guide,
            events,
            torn,
            clock=clock or MonotonicClock(offset=last_t),
            needs_newline=unterminated,
        )

    # -- reading -------------------------------------------------------------------------------

    @property
    def meta(self) -> dict[str, Any]:
        """A copy of ``session.json``'s content; change it with :meth:`update_meta`."""
        with self._meta_lock:
            return copy.deepcopy(self._meta)

    @property
    def events(self) -> list[Event]:
        """Every event so far, in ``seq`` order, including posted ones not yet on disk."""
        with self._lock:
            return list(self._events)

    @property
    def seq(self) -> int:
        """The ``seq`` the next event will get."""
        with self._lock:
            return self._seq

    @property
    def events_path(self) -> Path:
        return self.path / EVENTS_FILE

    @property
    def write_problem(self) -> str | None:
        """Why something is not on disk yet, in a sentence for the screen; None when all is.

        Events and metadata that could not be written are held in memory and written as soon as
        the disk takes them (the writer retries every second); this says so while it lasts.
        """
        with self._cond:
            if self._problem is None:
                return None
            held = len(self._held)
            what = []
            if held:
                what.append(f"{held} event{'s' if held != 1 else ''}")
            if self._meta_unsaved:
                what.append(SESSION_FILE)
            kept = " and ".join(what) or "the last events (not yet synced)"
            copy = self._mirror.path if held and self._mirror.problem is None else None
            copied = f" (a copy of the events is in {copy})" if copy is not None else ""
            return (
                f"Cannot write to {self.path}: {self._problem}. {kept} kept in memory{copied} "
                "and written as soon as there is space: free some space, keep taking notes."
            )

    @property
    def unsaved_events(self) -> int:
        """How many events are held in memory because writing them failed."""
        with self._cond:
            return len(self._held)

    @property
    def spill_path(self) -> Path | None:
        """The file on another file system that holds a copy of every held event (fsynced as
        soon as they were held), or None while nothing is held or no place took the copy."""
        with self._lock:
            backlog = list(self._backlog)  # (the writer thread may change it meanwhile)
            if not backlog or self._mirrored < backlog[-1][0]:
                return None
            return self._mirror.path

    def save_held_copy(self) -> Path | None:
        """After :meth:`close` failed: make the spill file hold exactly what is not in the log
        yet, whole lines (after a newline if the log ends in a fragment), so that
        ``cat SPILL >> events.jsonl`` completes the log. Its path, or None if no place took it.
        """
        with self._lock:
            if not self._backlog:
                return None
            lines = b"".join(line for _number, line in self._backlog)
            data = (b"" if self._log_ends_with_newline() else b"\n") + lines
            saved = self._mirror.replace(data)
            if saved is not None:
                self._mirrored = self._backlog[-1][0]
            return saved

    def _log_ends_with_newline(self) -> bool:
        try:
            with open(self.events_path, "rb") as log:
                size = log.seek(0, os.SEEK_END)
                if size == 0:
                    return True
                log.seek(size - 1)
                return log.read(1) == b"\n"
        except OSError:
            return False

    def unsaved_bytes(self) -> bytes:
        """What the writer would append to ``events.jsonl`` next (after :meth:`close`).

        Exactly the bytes that make the log whole when appended to it: the rest of a line a
        failed write stopped in, or a newline first where a fragment of unknown origin ends it.
        For the last resort of saving held events somewhere else when the program must end.
        """
        with self._lock:
            if not self._backlog:
                return b""
            return self._pending_data(self._fd_size())

    # -- writing -------------------------------------------------------------------------------

    def post(self, type: str, **data: Any) -> Event:
        """Fix the event now (``seq``, ``t``, wall time) and let the writer thread store it.

        Returns at once; the line reaches the disk shortly after, in order. Raises
        :class:`SessionError` only for data that is not JSON: while the disk is full the event is
        held in memory with the others (see :attr:`write_problem`) and written when it can be.
        """
        event, _number = self._enqueue(type, data)
        return event

    def append(self, type: str, **data: Any) -> Event:
        """Write the event and return once it is fsynced (after any events posted before it).

        If it cannot be written, :class:`SessionError` says so; the event is still held in
        memory and written as soon as the disk takes it (it is in :attr:`events`).
        """
        event, number = self._enqueue(type, data)
        with self._cond:
            while self._done < number:
                self._cond.wait()
            held = number in self._held
        if held:
            self._raise_if_held()
        return event

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every posted event has been tried; raise if any is still held in memory.

        While something is held, the writer is asked to try again now (the disk may have room
        again), so a flush after space came back succeeds without waiting for the next retry.
        """
        with self._cond:
            held = self._problem is not None
        with self._lock:
            if held:
                self._start_writer()
                self._queued += 1
                self._queue.put((self._queued, None))  # no line: just try again now
            target = self._queued
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._done < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise SessionError(
                        f"Events of {self.path.name} are still being written after {timeout} s."
                    )
                self._cond.wait(remaining)
        self._raise_if_held()

    def close(self) -> None:
        """Flush, stop the writer thread, close the log and let go of the session lock.

        A later append/post reopens the log (without the lock: open the session again instead).
        Raises :class:`SessionError` if events (or ``session.json``) could not be written; they
        stay held in this object (:meth:`unsaved_bytes`) and a later post or close tries again,
        so the lock is kept until a close succeeds (or the process ends).
        """
        self._close_log()
        if self._session_lock is not None:
            self._session_lock.release()

    def _hold(self, lock: session_lock.SessionLock) -> None:
        """Keep the folder's writer lock until :meth:`close` (or until this object is gone)."""
        self._session_lock = lock
        weakref.finalize(self, lock.release)

    def _close_log(self) -> None:
        with self._lock:
            if self._backlog or self._meta_unsaved:
                self._start_writer()  # one more try for what is held
            writer = self._writer
            if writer is not None:
                self._queue.put(_STOP)
                writer.join()
                self._writer = None
            if self._fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._fd)
                self._fd = None
        self._raise_if_held()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def update_meta(self, **changes: Any) -> dict[str, Any]:
        """Merge top-level keys into ``session.json`` and replace the file atomically.

        Returns the new content. Thread-safe; concurrent updates are applied one after another.
        If the file cannot be written (full disk), the change is kept: :attr:`meta` has it, the
        next update or the writer's retry writes it, and :class:`SessionError` says so now.
        """
        with self._meta_lock:
            new = copy.deepcopy(self._meta)
            new.update(copy.deepcopy(changes))
            try:
                json.dumps(new, allow_nan=False)
            except (TypeError, ValueError) as error:
                raise SessionError(f"Session metadata cannot be stored as JSON: {error}") from None
            self._meta = new
            failure = self._store_meta_locked()
        if failure is not None:
            raise SessionError(
                f"Cannot write {self.path / SESSION_FILE}: {failure}. The change is kept and "
                "written again as soon as there is space."
            )
        return copy.deepcopy(new)

    def _store_meta_locked(self, *, from_writer: bool = False) -> str | None:
        """Write ``_meta`` to ``session.json`` (``_meta_lock`` held); a failure is remembered
        and retried by the writer thread."""
        try:
            write_json_atomic(self.path / SESSION_FILE, self._meta)
        except OSError as error:
            message = f"{error.strerror or error}"
            with self._cond:
                self._meta_unsaved = True
                self._problem = self._problem or message
            if not from_writer:  # (the writer must not wait for _lock: close() holds it)
                with self._lock:
                    self._start_writer()  # it retries while anything is held
            return message
        with self._cond:
            self._meta_unsaved = False
            if not self._held and not self._sync_pending:
                self._problem = None
        return None

    def _retry_meta(self) -> None:
        with self._cond:
            if not self._meta_unsaved:
                return
        if self._meta_lock.acquire(blocking=False):  # an update in progress writes it anyway
            try:
                self._store_meta_locked(from_writer=True)
            finally:
                self._meta_lock.release()

    # -- internals -----------------------------------------------------------------------------

    def _enqueue(self, type: str, data: dict[str, Any]) -> tuple[Event, int]:
        with self._lock:
            event = Event(
                type=type, t=float(self.clock.now()), wall=utc_now_iso(), seq=self._seq, data=data
            )
            try:
                line = _event_line(event)
            except (TypeError, ValueError) as error:
                raise SessionError(
                    f"The {type!r} event cannot be stored as JSON: {error}"
                ) from None
            self._seq += 1
            self._events.append(event)
            self._start_writer()
            self._queued += 1
            number = self._queued
            self._queue.put((number, line))
        return event, number

    def _start_writer(self) -> None:
        if self._writer is None:
            self._writer = threading.Thread(
                target=self._write_loop, name=f"session-writer:{self.path.name}", daemon=True
            )
            self._writer.start()

    def _write_loop(self) -> None:
        """The one thread that writes ``events.jsonl``: batches what is queued, one fsync each;
        while anything is held after a failed write, it tries again every ``_RETRY_S``."""
        while True:
            retrying = self._backlog or self._sync_pending or self._meta_unsaved
            try:
                items = [self._queue.get(timeout=_RETRY_S if retrying else _WRITER_IDLE_S)]
            except queue.Empty:
                if retrying:
                    self._write_held([])
                elif self._retire_idle_writer():
                    return
                continue
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(item is _STOP for item in items)
            numbered = [item for item in items if item is not _STOP]
            batch = [(number, line) for number, line in numbered if line is not None]
            self._write_held(batch, max((number for number, _ in numbered), default=0))
            if stop:
                return

    def _write_held(self, batch: list[tuple[int, bytes]], last: int = 0) -> None:
        """Add ``batch`` behind what is held, write it all (and session.json if it is behind),
        and publish the outcome: everything up to queue number ``last`` has been tried."""
        self._backlog.extend(batch)
        error = self._write_backlog() if (self._backlog or self._sync_pending) else None
        if self._backlog:
            self._mirror_backlog()
        elif not self._sync_pending and self._mirror.created:
            self._mirror.drop()  # everything is in the log: the copy has done its job
        if self._meta_unsaved:  # (also while events keep coming faster than _RETRY_S)
            self._retry_meta()
        with self._cond:
            self._held = {number for number, _line in self._backlog}
            if error is not None:
                self._problem = error
            elif not self._meta_unsaved:
                self._problem = None
            self._done = max(self._done, last)
            self._cond.notify_all()

    def _mirror_backlog(self) -> None:
        """Copy held lines not copied yet to the spill file (writer thread; never raises)."""
        last = self._backlog[-1][0]
        if last <= self._mirrored:
            return
        fresh = b"".join(line for number, line in self._backlog if number > self._mirrored)
        everything = b"".join(line for _number, line in self._backlog)
        try:
            if self._mirror.append(fresh, everything):
                self._mirrored = last
        except Exception as error:  # never let the writer die over the copy
            self._mirror.problem = repr(error)

    def _retire_idle_writer(self) -> bool:
        """Let an idle writer end, so forgotten sessions do not keep threads (or open files).

        Non-blocking on the lock: ``close()`` may hold it while joining this very thread.
        """
        if not self._lock.acquire(blocking=False):
            return False
        try:
            if not self._queue.empty() or self._backlog or self._meta_unsaved:
                return False
            self._writer = None
            if self._fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._fd)
                self._fd = None
            return True
        finally:
            self._lock.release()

    def _fd_size(self) -> int | None:
        if self._fd is None:
            return None
        try:
            return os.fstat(self._fd).st_size
        except OSError:
            return None

    def _pending_data(self, size: int | None) -> bytes:
        """The bytes to append next: the held lines, completing a line a failed write stopped in
        if the file still ends where that write left it (else that line again, whole)."""
        first = self._backlog[0][1]
        rest = b"".join(line for _number, line in self._backlog[1:])
        if self._partial is not None:
            done, size_then = self._partial
            if size is not None and size == size_then:
                return first[done:] + rest
            return b"\n" + first + rest
        return (b"\n" if self._needs_newline else b"") + first + rest

    def _write_backlog(self) -> str | None:
        """Write and fsync what is held; return a message instead of raising (this runs on the
        writer). Lines the file took are dropped from the backlog, even if a later one failed."""
        try:
            if self._fd is None:
                self._fd = os.open(
                    self.events_path,
                    os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0),
                    FILE_MODE,
                )
            if self._backlog:
                start = self._fd_size()
                data = self._pending_data(start)
                try:
                    _write_all(self._fd, data)
                except BaseException:
                    self._account_partial(data, start)
                    raise
                self._backlog.clear()
                self._partial = None
                self._needs_newline = False
                self._sync_pending = True
            os.fsync(self._fd)
            self._sync_pending = False
        except OSError as error:
            return f"{error.strerror or error}"
        except Exception as error:  # never let the writer die silently
            return repr(error)
        return None

    def _account_partial(self, data: bytes, start: int | None) -> None:
        """After a failed write: which held lines are now whole in the file, and how much of the
        next one is there. The file's size says how many bytes went in."""
        end = self._fd_size()
        if start is None or end is None or end < start:
            # Unknown: write the held lines again on a fresh line (a fragment stays a torn line).
            self._partial = None
            self._needs_newline = True
            return
        written = end - start
        if written == 0:
            return  # nothing went in: the same bytes are written next time
        self._sync_pending = True
        # Where the first held line's bytes start in ``data``, and how much of it was there.
        first = self._backlog[0][1]
        already = len(data) - sum(len(line) for _n, line in self._backlog[1:]) - len(first)
        if already < 0:  # continuing the first line: ``data`` starts mid-line
            position, offset = 0, -already
        else:  # ``data`` may start with a newline that ends a fragment
            position, offset = already, 0
            if written < position:
                return  # not even the newline: nothing of ours went in
            self._needs_newline = False
            self._partial = None
        consumed = position
        while self._backlog:
            line = self._backlog[0][1]
            remaining = len(line) - offset
            if written >= consumed + remaining:
                consumed += remaining
                self._backlog.pop(0)
                offset = 0
                self._partial = None
                continue
            self._partial = (offset + (written - consumed), end)
            break

    def _raise_if_held(self) -> None:
        problem = self.write_problem
        if problem is not None:
            raise SessionError(problem)

    def __repr__(self) -> str:
        return f"Session({str(self.path)!r}, seq={self._seq})"


def _frozen_guide_bytes(guide: Guide) -> bytes:
    """The exact bytes of the guide as loaded; refuse if the file is gone or changed since."""
    if not guide.path:
        raise SessionError(
            f"Guide {guide.id!r} was not loaded from a file, so it cannot be frozen into the "
            "session; load it with guide_tui.guide.load_guide()."
        )
    try:
        data = Path(guide.path).read_bytes()
    except OSError as error:
        raise SessionError(
            f"Cannot read the guide file {guide.path}: {error.strerror or error}"
        ) from None
    if guide.sha256 and hashlib.sha256(data).hexdigest() != guide.sha256:
        raise SessionError(
            f"The guide file {guide.path} changed after it was loaded; load it again so the "
            "session records the guide that is actually used."
        )
    return data


def _make_unique_folder(base: Path, stem: str) -> Path:
    for n in range(1, _MAX_SUFFIX + 1):
        folder = base / (stem if n == 1 else f"{stem}-{n}")
        try:
            _mkdir_private(folder)
        except FileExistsError:
            continue
        except OSError as error:
            raise SessionError(
                f"Cannot create the session folder {folder}: {error.strerror or error}"
            ) from None
        return folder
    raise SessionError(f"Too many sessions named {stem} in {base}.")


# -- listing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionSummary:
    """One row of ``guide-tui sessions``; read without loading the guide.

    ``status`` is ``in_progress`` or ``ended`` as ``session.json`` says, except that an
    ``in_progress`` session whose ``events.jsonl`` has not been written for over an hour, or has
    torn lines, is reported ``interrupted`` (it crashed or was closed without ending; it can be
    resumed). A session that never reached the interview is ``not_started``. A folder that
    cannot be read is ``unreadable`` with the ``reason``.
    """

    path: Path
    participant: str | None = None
    group: str | None = None
    created: str | None = None
    guide_id: str | None = None
    guide_version: str | None = None
    duration_s: float | None = None  # the interview (state.interview_seconds); None: not started
    events: int = 0
    status: str = "unreadable"
    has_audio: bool = False
    has_transcript: bool = False
    torn_lines: int = 0
    reason: str | None = None
    #: False until the interview proper begins; ``status`` is then ``not_started`` (a session
    #: at its consent screen, or a false start: quit before the interview).
    interview: bool = True


#: What makes a folder a session, or what is left of one: a folder with none of these (such as
#: ``exports/`` written by ``export --study``) is not listed at all.
SESSION_MARKS = (SESSION_FILE, EVENTS_FILE, GUIDE_FILE, TRANSCRIPT_FILE)


def is_session_like(folder: Path) -> bool:
    """A session folder, or a broken one worth reporting (its files are partly there)."""
    try:
        return any((folder / name).exists() for name in SESSION_MARKS) or any(
            folder.glob("audio*.wav")
        )
    except OSError:
        return True  # cannot look inside: report it rather than hide it


def summarize_session(folder: Path, *, now: float | None = None) -> SessionSummary:
    """Summarise one folder; never raises for a broken one (it comes back ``unreadable``)."""
    try:
        meta = read_meta(folder)
    except SessionError as error:
        return SessionSummary(path=folder, reason=str(error))
    try:
        with open_session_file(folder, EVENTS_FILE) as handle:  # never through a link
            data = handle.read()
            mtime: float | None = os.fstat(handle.fileno()).st_mtime
    except FileNotFoundError:
        data, mtime = b"", None
    except (OSError, SessionFileError) as error:
        reason = str(error) if isinstance(error, SessionFileError) else error.strerror or error
        return SessionSummary(
            path=folder,
            participant=_str_or_none(meta.get("participant")),
            reason=f"Cannot read {EVENTS_FILE}: {reason}",
        )
    events, torn, _unterminated = _parse_events(data)
    guide = meta.get("guide") if isinstance(meta.get("guide"), dict) else {}
    assert isinstance(guide, dict)
    duration = interview_seconds(events)  # the log, not session.json: older sessions wrote
    # the wall time since launch there, consent and mic check included
    status = meta.get("status") if meta.get("status") in ("in_progress", "ended") else "in_progress"
    if status == "in_progress":
        current = time.time() if now is None else now
        stale = mtime is not None and current - mtime > INTERRUPTED_AFTER_S
        if torn or stale:
            status = "interrupted"
    interview = reached_interview(events)
    if status != "ended" and not interview:
        status = "not_started"  # at consent or baseline now, or quit there (a false start)
    try:
        has_audio = any(p.is_file() and p.stat().st_size > 0 for p in folder.glob("audio*.wav"))
        has_transcript = (folder / TRANSCRIPT_FILE).is_file()
    except OSError:
        has_audio = has_transcript = False
    return SessionSummary(
        path=folder,
        participant=_str_or_none(meta.get("participant")),
        group=_str_or_none(meta.get("group")),
        created=_str_or_none(meta.get("created")),
        guide_id=_str_or_none(guide.get("id")),
        guide_version=_str_or_none(guide.get("version")),
        duration_s=duration,
        events=len(events),
        status=str(status),
        has_audio=has_audio,
        has_transcript=has_transcript,
        torn_lines=len(torn),
        interview=interview,
    )


def audio_files(folder: Path) -> list[Path]:
    """The recordings in a session folder that hold anything (the WAV header alone does not)."""
    found = []
    with contextlib.suppress(OSError):
        for path in sorted(folder.glob("audio*")):
            with contextlib.suppress(OSError):
                if path.is_file() and path.stat().st_size > 44:
                    found.append(path)
    return found


def discard_session(folder: str | os.PathLike[str], *, delete_audio: bool = False) -> None:
    """Delete a session folder (a false start, or a test run), never audio by surprise.

    Refuses a folder that is not a session (no ``session.json``), and one that holds audio
    unless ``delete_audio`` says the caller asked the user about exactly that.
    """
    import shutil

    path = Path(folder)
    if not (path / SESSION_FILE).is_file():
        raise SessionError(f"{path} is not a session folder (no {SESSION_FILE}); nothing deleted.")
    recordings = audio_files(path)
    if recordings and not delete_audio:
        size = sum(p.stat().st_size for p in recordings) / 1e6
        names = ", ".join(p.name for p in recordings)
        raise SessionError(
            f"{path} has audio ({names}, {size:.1f} MB): discarding it would delete the "
            "recording, so nothing was deleted. To delete the recording too, add --delete-audio."
        )
    try:
        shutil.rmtree(path)
    except OSError as error:
        raise SessionError(f"Cannot delete {path}: {error.strerror or error}") from None


def list_sessions(root: str | os.PathLike[str]) -> list[SessionSummary]:
    """Every session folder directly under ``root``, by folder name (date first, so by date).

    Hidden folders and folders with no session file at all (``exports/``) are skipped; any
    other folder that is not a readable session is listed as ``unreadable`` with a reason.
    Raises :class:`SessionError` only if ``root`` itself is missing.
    """
    base = Path(root)
    if not base.is_dir():
        raise SessionError(f"No sessions folder at {base}.")
    try:
        children = sorted(p for p in base.iterdir() if not p.name.startswith("."))
    except OSError as error:
        raise SessionError(f"Cannot list {base}: {error.strerror or error}") from None
    now = time.time()
    return [_summary_or_reason(p, now) for p in _dirs(children) if is_session_like(p)]


def _summary_or_reason(folder: Path, now: float) -> SessionSummary:
    """One folder's row; whatever is wrong in its files is that row's reason (a folder
    received from elsewhere can hold anything), never the end of the whole list."""
    try:
        return summarize_session(folder, now=now)
    except Exception as error:
        return SessionSummary(path=folder, reason=f"cannot be summarised: {error!r}")


def _dirs(paths: Iterable[Path]) -> list[Path]:
    out = []
    for p in paths:
        with contextlib.suppress(OSError):
            if p.is_dir():
                out.append(p)
    return out


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class Recovered:
    """What :func:`recover_spilled_events` did: events added to the log, files it read."""

    added: int
    files: list[Path]


def recover_spilled_events(path: str | os.PathLike[str]) -> Recovered:
    """Add the events a full disk kept out of the log and that wait in spill files
    (:mod:`guide_tui.session.spill`) to ``events.jsonl``, then delete those files.

    Merged by ``seq``: only events after the log's last one are added, each once, in order (the
    writer writes in order, so what is missing is always the end). Unreadable lines of a spill
    file (one torn by kill -9 while it was being copied) are ignored; a fragment at the end of the
    log stays its own torn line. Takes the session lock, so never while the session is open for
    writing elsewhere. Raises :class:`SessionError` if the log does not take them (still full):
    the spill files are kept then, and a later call tries again.
    """
    folder = Path(path)
    meta = read_meta(folder)
    files = spill_files(folder, meta)
    if not files:
        return Recovered(0, [])
    lock = session_lock.acquire(folder)
    try:
        log = folder / EVENTS_FILE
        try:
            data = read_session_file(folder, EVENTS_FILE)
        except FileNotFoundError:
            data = b""
        except OSError as error:
            raise SessionError(f"Cannot read {log}: {error.strerror or error}") from None
        events, _torn, unterminated = _parse_events(data)
        last = max((e.seq for e in events), default=-1)
        missing: dict[int, Event] = {}
        for spill in files:
            try:
                spilled, _bad, _end = _parse_events(spill.read_bytes())
            except OSError:
                continue
            for event in spilled:
                if event.seq > last:
                    missing.setdefault(event.seq, event)
        if missing:
            lines = b"".join(_event_line(missing[seq]) for seq in sorted(missing))
            fd = os.open(
                log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), FILE_MODE
            )
            try:
                _write_all(fd, (b"\n" if unterminated else b"") + lines)
                os.fsync(fd)
            except OSError as error:
                names = ", ".join(str(spill) for spill in files)
                raise SessionError(
                    f"{len(missing)} event(s) kept in {names} while the disk was full cannot be "
                    f"added to {log} yet: {error.strerror or error}. Free some space and resume "
                    "again (the file is kept)."
                ) from None
            finally:
                os.close(fd)
        for spill in files:
            with contextlib.suppress(OSError):
                spill.unlink()
        return Recovered(len(missing), files)
    finally:
        lock.release()


def _event_line(event: Event) -> bytes:
    """The event as one line of ``events.jsonl`` (raises TypeError/ValueError if not JSON)."""
    return (
        json.dumps(
            event.to_json_dict(), ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode("utf-8")
        + b"\n"
    )


def read_events(path: str | os.PathLike[str]) -> tuple[list[Event], list[TornLine]]:
    """The events and torn lines of a session folder's log, without loading anything else.

    For readers (alignment, reports) that need the log but not a writable :class:`Session`.
    """
    folder = Path(path)
    try:
        data = read_session_file(folder, EVENTS_FILE)  # never through a link
    except FileNotFoundError:
        return [], []
    except OSError as error:
        raise SessionError(
            f"Cannot read {folder / EVENTS_FILE}: {error.strerror or error}"
        ) from None
    events, torn, _unterminated = _parse_events(data)
    return events, torn


__all__ = [
    "EVENTS_FILE",
    "GUIDE_FILE",
    "SESSION_FILE",
    "Recovered",
    "Session",
    "SessionSummary",
    "TornLine",
    "audio_files",
    "discard_session",
    "list_sessions",
    "read_events",
    "read_meta",
    "recover_spilled_events",
    "summarize_session",
    "write_json_atomic",
]
