"""The researcher's corrections: an append-only log next to the engine's transcript (SPEC §6a).

``transcript.json`` stays what the engine wrote; every correction made in review (or read back
from an edited export by ``import-corrections``) is one line of ``corrections.jsonl`` in the
session folder, and :func:`guide_tui.transcript.model.build_model` applies them in order. Why:

- **Nothing is destroyed.** An edit can be undone (an ``undo`` line naming its ``seq``), and a
  re-transcription (``transcribe --force``) does not wipe a day's corrections.
- **Corrections are anchored by time *and* original text**, not by segment numbers: a text
  correction names the span's first word start, last word end and the words it replaces, so after
  a re-transcription it lands where those words still are, or is reported as not placeable
  (:func:`unplaced`) instead of changing the wrong words.
- **Written like ``events.jsonl``**: one JSON object per line, a single ``os.write`` on an
  ``O_APPEND`` descriptor, then fsync; a crash can at worst tear the last line, which reading
  skips (and the next append starts on a fresh line). So a SIGKILL during review loses at most
  the correction being made.

The small API the review screen uses::

    log = CorrectionLog.open(folder)
    log.append("edit_text", start=turn.start, end=turn.end, original=turn.text, text=new)
    log.undo()                  # withdraws the latest correction still in effect
    build_model(transcript, events, log.corrections)

The types and their fields are listed in :data:`FIELDS` and in docs/transcript-format.md.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from guide_tui.errors import GuideTuiError
from guide_tui.transcript.spans import Span

CORRECTIONS_FILE = "corrections.jsonl"
FORMAT_VERSION = 1
FILE_MODE = 0o600

EDIT_TEXT = "edit_text"
SPLIT_TURN = "split_turn"
MERGE_TURNS = "merge_turns"
SET_SPEAKER = "set_speaker"
RENAME_SPEAKER = "rename_speaker"
MOVE_TOPIC = "move_topic"
ENTER_TOPIC = "enter_topic"
TICK = "tick"
REVIEWED = "reviewed"
UNDO = "undo"

#: Required fields of each correction type (others are kept and ignored).
FIELDS: dict[str, tuple[str, ...]] = {
    # replace the words start..end that read ``original`` by ``text`` ("" deletes them)
    EDIT_TEXT: ("start", "end", "original", "text"),
    # a new turn begins at the word starting at ``at`` that reads ``word``
    SPLIT_TURN: ("at", "word"),
    # the turn beginning with the word at ``at`` (reading ``word``) joins the turn before it
    MERGE_TURNS: ("at", "word"),
    # the words start..end (reading ``original``) were said by ``speaker``
    SET_SPEAKER: ("start", "end", "original", "speaker"),
    # every turn of ``speaker`` is ``name``'s, for the whole session
    RENAME_SPEAKER: ("speaker", "name"),
    # the visit of ``topic`` (None: the closing) entered at ``from_t`` begins at ``t`` instead
    MOVE_TOPIC: ("topic", "from_t", "t"),
    # ``topic`` was entered at ``t`` (a recording made without guide-tui gets its topics so)
    ENTER_TOPIC: ("topic", "t"),
    # a question/probe/summary tick at ``t`` (``kind``: question_asked|probe_used|summary_given)
    TICK: ("kind", "t"),
    # the stretch start..end was checked against the audio
    REVIEWED: ("start", "end"),
    # withdraw correction ``undoes`` (a seq)
    UNDO: ("undoes",),
}
TICK_KINDS = ("question_asked", "probe_used", "summary_given")
_TIMES = ("start", "end", "at", "t", "from_t")


class CorrectionError(GuideTuiError):
    """A correction that cannot be written or read (bad type, missing field, disk trouble)."""


@dataclass(frozen=True)
class Correction:
    """One line of ``corrections.jsonl``."""

    seq: int
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    wall: str = ""
    v: int = FORMAT_VERSION

    def as_dict(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "seq": self.seq,
            "wall": self.wall,
            "type": self.type,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Correction:
        data = obj.get("data") or {}
        seq = obj.get("seq")
        if not isinstance(data, dict) or not isinstance(seq, int) or isinstance(seq, bool):
            raise ValueError("not a correction")
        kind = str(obj.get("type"))
        check(kind, data)
        return cls(seq, kind, dict(data), str(obj.get("wall") or ""), int(obj.get("v") or 1))


def check(kind: str, data: Mapping[str, Any]) -> None:
    """Refuse a correction the model could not apply: unknown type, missing field, a time that
    is not a finite number of seconds."""
    if kind not in FIELDS:
        raise CorrectionError(f"unknown correction type {kind!r}")
    missing = [f for f in FIELDS[kind] if f not in data]
    if missing:
        raise CorrectionError(f"{kind}: missing {', '.join(missing)}")
    for key in _TIMES:
        if key in data:
            value = data[key]
            if (
                not isinstance(value, (int, float))
                or isinstance(value, bool)
                or not math.isfinite(value)
                or value < 0
            ):
                raise CorrectionError(f"{kind}: {key} must be a time in seconds, not {value!r}")
    if kind == TICK and data["kind"] not in TICK_KINDS:
        raise CorrectionError(f"tick: kind must be one of {', '.join(TICK_KINDS)}")
    if kind in (EDIT_TEXT, SET_SPEAKER) and not str(data["original"]).split():
        raise CorrectionError(f"{kind}: original must name at least one word")


def parse(data: bytes) -> tuple[list[Correction], int, bool]:
    """The corrections in a log's bytes, how many lines were unreadable (a torn last line after
    a crash), and whether the file ends without a newline."""
    out: list[Correction] = []
    bad = 0
    lines = data.split(b"\n")
    unterminated = bool(data) and lines[-1] != b""
    for raw in lines:
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8"))
            if not isinstance(obj, dict):
                raise ValueError("not an object")
            out.append(Correction.from_dict(obj))
        except (ValueError, TypeError, UnicodeDecodeError, RecursionError, CorrectionError):
            bad += 1
    return out, bad, unterminated


def read_corrections(folder: str | os.PathLike[str]) -> list[Correction]:
    """A session's corrections, read-only (exports, study); none when there is no log."""
    path = Path(folder) / CORRECTIONS_FILE
    try:
        if path.is_symlink():
            raise CorrectionError(f"{path}: a link, not the session's own file")
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as error:
        raise CorrectionError(f"Cannot read {path}: {error.strerror or error}") from None
    return parse(data)[0]


def live(corrections: Iterable[Mapping[str, Any] | Correction]) -> list[Correction]:
    """The corrections in effect, in log order: undo lines and what they undo left out."""
    items = [c if isinstance(c, Correction) else Correction.from_dict(c) for c in corrections]
    withdrawn = {c.data.get("undoes") for c in items if c.type == UNDO}
    return [c for c in items if c.type != UNDO and c.seq not in withdrawn]


def reviewed_spans(corrections: Iterable[Mapping[str, Any] | Correction]) -> list[Span]:
    """The stretches marked reviewed, merged where they touch or overlap."""
    spans = sorted(
        Span(float(c.data["start"]), float(c.data["end"]))
        for c in live(corrections)
        if c.type == REVIEWED and float(c.data["end"]) > float(c.data["start"])
    )
    out: list[Span] = []
    for s in spans:
        if out and s.start <= out[-1].end:
            out[-1] = Span(out[-1].start, max(out[-1].end, s.end))
        else:
            out.append(s)
    return out


def reviewed_seconds(corrections: Iterable[Mapping[str, Any] | Correction]) -> float:
    return sum(s.duration for s in reviewed_spans(corrections))


class CorrectionLog:
    """``corrections.jsonl`` of one session folder, open for appending."""

    def __init__(self, path: Path, corrections: list[Correction], torn: int, size: int = 0) -> None:
        self.path = path
        self._corrections = corrections
        self.torn_lines = torn
        self._size = size  # the file's size as last read or written by this log

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> CorrectionLog:
        folder = Path(folder)
        if not folder.is_dir():
            raise CorrectionError(f"{folder}: no such session folder")
        path = folder / CORRECTIONS_FILE
        if path.is_symlink():
            raise CorrectionError(f"{path}: a link, not the session's own file")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = b""
        except OSError as error:
            raise CorrectionError(f"Cannot read {path}: {error.strerror or error}") from None
        corrections, torn, _ = parse(data)
        return cls(path, corrections, torn, len(data))

    @property
    def corrections(self) -> tuple[Correction, ...]:
        """Every line, undo lines included, in order (what :func:`build_model` takes)."""
        return tuple(self._corrections)

    @property
    def live(self) -> list[Correction]:
        return live(self._corrections)

    @property
    def seq(self) -> int:
        return max((c.seq for c in self._corrections), default=0)

    def append(self, type: str, **data: Any) -> Correction:
        """Write one correction and return once it is on disk (fsynced).

        The file is locked while the line is written, and re-read first if another process
        (``import-corrections`` while the review is open) appended meanwhile, so ``seq`` stays
        unique and an undo names the right correction."""
        check(type, data)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        try:
            new = not self.path.exists()
            fd = os.open(self.path, flags, FILE_MODE)
        except OSError as error:
            raise CorrectionError(f"Cannot write {self.path}: {error.strerror or error}") from None
        try:
            _lock(fd)
            with contextlib.suppress(NotImplementedError, OSError):
                os.chmod(self.path, FILE_MODE)
            size = os.fstat(fd).st_size
            tail = b"\n"
            if size != self._size:
                existing = _read_all(fd, size)
                self._corrections, self.torn_lines, _ = parse(existing)
                tail = existing[-1:] or b"\n"
            elif size:
                tail = os.pread(fd, 1, size - 1) if hasattr(os, "pread") else b"\n"
            correction = Correction(
                self.seq + 1,
                type,
                dict(data),
                datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            )
            try:
                text = json.dumps(correction.as_dict(), ensure_ascii=False, allow_nan=False)
            except (TypeError, ValueError) as error:
                raise CorrectionError(f"{type}: not storable ({error})") from None
            line = text.encode("utf-8") + b"\n"
            if tail != b"\n":
                line = b"\n" + line  # a torn last line (a crash mid-write) stays its own line
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            self._size = size + len(line)
        except OSError as error:
            raise CorrectionError(f"Cannot write {self.path}: {error.strerror or error}") from None
        finally:
            os.close(fd)  # releases the lock
        if new:
            from guide_tui.atomic import fsync_dir

            fsync_dir(self.path.parent)
        self._corrections.append(correction)
        return correction

    def undo(self) -> Correction | None:
        """Withdraw the latest correction still in effect; None when there is none."""
        current = self.live
        if not current:
            return None
        return self.append(UNDO, undoes=current[-1].seq)


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: one writer at a time is the user's business there
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def _read_all(fd: int, size: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while size > 0:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def unplaced(
    transcript: Any,
    corrections: Sequence[Mapping[str, Any] | Correction],
    events: Iterable[Mapping[str, Any]] = (),
) -> list[str]:
    """One line for each correction that cannot be placed on ``transcript`` (after a
    re-transcription the words it names are no longer there)."""
    from guide_tui.transcript.model import build_model

    return list(build_model(transcript, events, corrections).unplaced)
