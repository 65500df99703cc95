"""Read a session folder for export and reports, without ever writing to it.

Exports and study reports run on finished (or crashed) sessions, possibly while another process
still has one open, so this reader is strictly read-only: it does not go through
``Session.open`` (which may append a ``session_resumed`` event and start a writer thread). A torn
last line of ``events.jsonl`` is skipped and counted, as the session store does. Every file is
optional except ``session.json``: an interrupted session may have no ``session_ended``, a
notes-only session no audio, an untranscribed one no ``transcript.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guide_tui.errors import ExportError, GuideTuiError
from guide_tui.export.transcript import Transcript, load_transcript
from guide_tui.guide.model import Guide
from guide_tui.safetext import map_text, without_surrogates
from guide_tui.session.events import Event, EventType
from guide_tui.session.state import interview_seconds
from guide_tui.transcript.corrections import Correction, CorrectionError, read_corrections


@dataclass(frozen=True)
class SessionData:
    """Everything an exporter or report needs from one session folder."""

    folder: Path
    meta: dict[str, Any]
    events: tuple[Event, ...] = ()
    torn_lines: int = 0
    transcript: Transcript | None = None
    guide: Guide | None = None
    guide_problem: str | None = None  # why the frozen guide.yaml could not be used
    extra: dict[str, Any] = field(default_factory=dict)
    #: The session's audio files on disk, in recording order, each checked to be the session's
    #: own regular file (:func:`guide_tui.session.files.session_file`); listed but missing
    #: files are left out.
    audio_files: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = ()  # for the user, one line each (an edited frozen guide)
    #: ``corrections.jsonl`` (the researcher's review), applied by the transcript model.
    corrections: tuple[Correction, ...] = ()

    @property
    def name(self) -> str:
        """The folder name (``2026-11-02_0900_P01``): the stem of every export file."""
        return self.folder.name

    @property
    def participant(self) -> str:
        return str(self.meta.get("participant") or self.folder.name)

    @property
    def group(self) -> str | None:
        value = self.meta.get("group")
        return str(value) if value else None

    @property
    def guide_info(self) -> dict[str, Any]:
        info = self.meta.get("guide")
        return info if isinstance(info, dict) else {}

    @property
    def ended(self) -> bool:
        """True when the interview was closed normally (a ``session_ended`` event exists)."""
        return any(e.type == EventType.SESSION_ENDED for e in self.events)

    @property
    def recorded(self) -> bool:
        """Audio was recorded (listed in ``session.json`` or present on disk)."""
        return bool(self.meta.get("audio")) or bool(self.audio_files)

    def duration_s(self) -> float | None:
        """The interview's length (:func:`guide_tui.session.state.interview_seconds`: from the
        interview's start to its end on the recording clock), None if it never started."""
        return interview_seconds(self.events)

    def topic_title(self, topic_id: str | None) -> str:
        """A topic's title: from the transcript, else the frozen guide, else its id."""
        if topic_id is None:
            return "Before the first topic"
        if self.transcript is not None and topic_id in self.transcript.topic_titles:
            return self.transcript.topic_titles[topic_id]
        if self.guide is not None:
            try:
                return self.guide.topic(topic_id).title
            except KeyError:
                pass
        return topic_id


def audio_files(folder: Path, meta: dict[str, Any]) -> tuple[Path, ...]:
    """The audio files ``session.json`` lists (else ``audio*.wav`` found in the folder) that
    exist; a name that leads outside the folder, or a link, is refused with
    :class:`~guide_tui.session.files.SessionFileError`, never packaged or skipped silently."""
    from guide_tui.session.files import session_file

    names: list[object] = [a.get("file") for a in meta.get("audio") or [] if isinstance(a, dict)]
    source = "session.json: audio file"
    if not names:
        names, source = [p.name for p in sorted(folder.glob("audio*.wav"))], "audio file"
    found = []
    for name in names:
        try:
            found.append(session_file(folder, name, source=source))
        except FileNotFoundError:
            continue  # listed but gone (deleted, not copied along): exports go without it
    return tuple(found)


def load_guide_file(path: Path) -> tuple[Guide | None, str | None]:
    """The frozen guide, or why it could not be loaded (reports then fall back to ids)."""
    from guide_tui.session.files import session_file

    try:
        session_file(path.parent, path.name)  # a link or a FIFO is refused, not followed
    except FileNotFoundError:
        return None, "no guide.yaml in the session folder"
    try:
        from guide_tui.guide.loader import load_guide
    except ImportError:  # the loader is not part of this build
        return None, "the guide loader is not available"
    try:
        return load_guide(path), None
    except GuideTuiError as error:
        first = str(error).splitlines()[0] if str(error) else "invalid guide"
        return None, first


def read_events(path: Path) -> tuple[list[Event], int]:
    """Parse ``events.jsonl`` with the session store's reader; torn lines are counted.

    One parser for the log everywhere, so exports count exactly the lines the session reports.
    """
    from guide_tui.errors import SessionError
    from guide_tui.session.store import EVENTS_FILE
    from guide_tui.session.store import read_events as read_session_events

    if path.name != EVENTS_FILE:
        raise ExportError(f"{path}: not a session event log")
    try:
        events, torn = read_session_events(path.parent)
    except SessionError as error:
        raise ExportError(str(error)) from None
    return events, len(torn)


def read_session(folder: str | Path, *, with_guide: bool = True) -> SessionData:
    """Read one session folder; raises :class:`ExportError` when it is not a session at all."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ExportError(f"{folder}: no such session folder")
    from guide_tui.errors import SessionError
    from guide_tui.session.files import frozen_guide_changed
    from guide_tui.session.store import read_meta

    try:
        meta = read_meta(folder)  # also refuses a linked guide.yaml, transcript.json, ...
        audio = audio_files(folder, meta)
        events, torn = read_events(folder / "events.jsonl")
        transcript = load_transcript(folder / "transcript.json", missing_ok=True)
        guide, problem = load_guide_file(folder / "guide.yaml") if with_guide else (None, None)
        corrections = read_corrections(folder)
    except (SessionError, CorrectionError) as error:
        raise ExportError(str(error)) from None
    warning = frozen_guide_changed(folder, meta)
    data = SessionData(
        folder=folder,
        meta=meta,
        events=tuple(events),
        torn_lines=torn,
        transcript=transcript,
        guide=guide,
        guide_problem=problem,
        audio_files=audio,
        warnings=(warning,) if warning else (),
        corrections=tuple(corrections),
    )
    # A "\\udc80" in a JSON file is a lone surrogate: no export could encode it (UTF-8, XML,
    # the GUIDs' hashes). Replaced once here, for every exporter and report.
    return map_text(data, without_surrogates)


def find_sessions(root: str | Path) -> list[Path]:
    """Session folders directly under ``root`` (or ``root`` itself), in name (= date) order."""
    root = Path(root)
    if (root / "session.json").is_file():
        return [root]
    if not root.is_dir():
        raise ExportError(f"{root}: no such folder")
    return sorted(p for p in root.iterdir() if (p / "session.json").is_file())
