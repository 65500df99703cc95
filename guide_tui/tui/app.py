"""The interview application: one Textual app, its services passed in.

Every interviewer action goes down one path, :meth:`GuideApp.record`:
``session.post(type, **data)`` fixes the event (its ``t`` and ``seq``) now and leaves the disk
write to the session's writer thread, then ``InterviewState.apply(event)`` updates the state and
the visible screen redraws from it. Nothing else holds interview state, so the event log alone
rebuilds the screen (``guide-tui run --resume``).

Services are constructor arguments (session, recorder factory), so ``guide-tui run`` plugs in the
real ones and tests plug in fakes. The recorder is built off the UI thread after the first screen
is drawn: a real recorder imports sounddevice and numpy, which the first screen must not wait for.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import signal
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen

from guide_tui.errors import GuideTuiError
from guide_tui.guide.model import Guide
from guide_tui.recorder.base import NullRecorder, Recorder, RecorderState, RecorderStatus
from guide_tui.session.clock import Clock
from guide_tui.session.events import Event, EventType
from guide_tui.session.state import CLOSING_STARTED, InterviewState, Phase
from guide_tui.tui.format import escape


class SessionLike(Protocol):
    """What the TUI needs of :class:`guide_tui.session.store.Session` (see architecture.md)."""

    path: Path
    clock: Clock

    @property
    def meta(self) -> dict[str, Any]: ...

    def post(self, type: str, **data: Any) -> Event: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def update_meta(self, **changes: Any) -> Any: ...


RecorderFactory = Callable[[Any], Recorder]
"""Builds the recorder for a session (called once, off the UI thread). The recorder's ``now()``
must continue from the session's last ``t`` so that ``t`` never goes backwards on resume."""


class InterviewClock:
    """The session clock while the TUI runs: the recorder's clock, never going backwards.

    Before the recorder exists (first screen) it stands at the last ``t`` of the log, so
    consent and baseline events sit at the start of the recording.
    """

    def __init__(self, floor: float = 0.0) -> None:
        self.recorder: Recorder | None = None
        self.floor = floor

    def now(self) -> float:
        if self.recorder is not None:
            self.floor = max(self.floor, self.recorder.now())
        return self.floor


def _events_of(session: Any) -> list[Event]:
    """The session's events so far, whether ``events`` is a method or a property."""
    events = getattr(session, "events", None)
    if events is None:
        return []
    if callable(events):
        events = events()
    return list(events)


def utc_now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


class GuideApp(App[Path | None]):
    """Walks the interviewer through a guide; returns the session folder when it ends."""

    TITLE = "guide-tui"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    # Screen classes for the two sizes we design for: 80x24 (usable) and 120x40 (good).
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012 - Textual declares the type
        (0, "-narrow"),
        (100, "-wide"),
    ]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1,question_mark", "help", "Help", id="help", tooltip="List every key"),
        Binding("f2", "toggle_dark", "Light/dark", id="toggle_dark", show=False),
        Binding(
            "ctrl+q",
            "quit_session",
            "Quit",
            id="quit",
            priority=True,
            tooltip="Leave; the session can be resumed with --resume",
        ),
    ]

    def __init__(
        self,
        session: SessionLike,
        guide: Guide,
        *,
        recorder_factory: RecorderFactory | None = None,
        group: str | None = None,
        resumed: bool = False,
        cursor_blink: bool = True,
        poll_interval: float = 0.1,
        theme: str = "dark",
        bell: bool = False,
    ) -> None:
        events = _events_of(session)
        state = InterviewState.from_events(guide, events, group=group)
        # Only the first screen's styles are read at start (the others load with their
        # screens): the default screen's CSS_PATH is not loaded by Textual, so it goes here.
        first_css = (
            "screens/interview.tcss"
            if state.phase in (Phase.INTERVIEW, Phase.CLOSING)
            else "screens/pre.tcss"
        )
        super().__init__(css_path=[self.CSS_PATH, first_css])
        self.theme = "textual-light" if theme == "light" else "textual-dark"
        self.session = session
        self.guide = guide
        self.resumed = resumed
        self.cursor_blink = cursor_blink
        self.poll_interval = poll_interval
        self.audible_bell = bell
        self._recorder_factory = recorder_factory
        self.state = state
        self.clock = InterviewClock(self.state.last_t)
        session.clock = self.clock
        # Until the real recorder is built (off the UI thread), a stand-in answers polls.
        self.recorder: Recorder = NullRecorder("Preparing the recorder…", offset=self.state.last_t)
        self._recorder_ready = False
        #: Set when the interviewer quits before the interview and chooses to discard it.
        self.discard_requested = False
        self.catch_up()
        self.last_status: RecorderStatus = self.recorder.poll()
        self.recent_warnings: list[str] = []
        # Why events are not on disk yet (full disk): shown until the session's writer has
        # caught up. None while everything is written.
        self.save_problem: str | None = None
        self.hung_up = False  # the terminal was closed (SIGHUP): nothing more can be shown
        #: The signal that ended the app as Ctrl+Q would (SIGHUP or SIGTERM), None otherwise.
        self.ended_by: str | None = None
        if not any(e.type == EventType.SESSION_STARTED for e in events):
            self.record(
                EventType.SESSION_STARTED,
                guide=guide.id,
                guide_version=guide.version,
                participant=session.meta.get("participant"),
                group=self.state.group,
                resumed=False,
            )

    # -- feedback -----------------------------------------------------------------------------

    def bell(self) -> None:
        """Silent unless the config asks for it (``bell = true``).

        The laptop sits on the participant's desk and the recorder is running: a beep is heard
        in the room and lands on the recording. Textual rings it too (an ``Input`` refusing a
        character), so it is silenced here, for every caller; :meth:`refuse` says why instead.
        """
        if self.audible_bell:
            super().bell()

    def refuse(self, message: str) -> None:
        """A key that cannot do anything here: say so in a short toast, silently."""
        self.bell()
        self.notify(message, timeout=2.5)

    # -- the one path for every action --------------------------------------------------------

    def record(self, type: str, **data: Any) -> Event:
        """Post an event (written by the session's writer thread), fold it, redraw."""
        event = self.session.post(type, **data)
        self.catch_up()
        self.refresh_views()
        return event

    def catch_up(self) -> bool:
        """Fold every event the session has that the state has not seen yet.

        Most events come from :meth:`record`, but the recorder's session bridge posts its own
        (``recording_started``, ``warning``, ...); folding from the session's list keeps the
        state equal to the log, in ``seq`` order, whoever posted.
        """
        next_seq = getattr(self.session, "seq", None)
        if next_seq is not None and next_seq <= self.state.last_seq + 1:
            return False
        folded = False
        for event in _events_of(self.session):
            if event.seq > self.state.last_seq:
                self.state.apply(event)
                folded = True
        return folded

    def refresh_views(self) -> None:
        """Redraw the active screen from the state, if it knows how."""
        if not self.is_running:
            return
        for screen in self.screen_stack:
            refresh = getattr(screen, "refresh_from_state", None)
            if refresh is not None:
                with contextlib.suppress(NoMatches):  # a screen being torn down (exit)
                    refresh()

    def update_meta(self, **changes: Any) -> None:
        """``session.json`` changes are written off the UI thread (atomic rename + fsync)."""
        self._write_meta(changes)

    @work(thread=True, group="meta", exit_on_error=False, description="write session.json")
    def _write_meta(self, changes: dict[str, Any]) -> None:
        # On a full disk the session keeps the change and retries; the screen says so.
        with contextlib.suppress(GuideTuiError):
            self.session.update_meta(**changes)

    # -- lifecycle ----------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        """The first screen is the one for the phase the log is in (no blank screen under it:
        drawing one screen, not two, is part of starting fast)."""
        if self.state.phase in (Phase.INTERVIEW, Phase.CLOSING):
            from guide_tui.tui.screens.interview import InterviewScreen

            return InterviewScreen()
        from guide_tui.tui.screens.pre import PreInterviewScreen

        return PreInterviewScreen()

    def on_mount(self) -> None:
        if self.state.phase == Phase.CLOSING:
            from guide_tui.tui.screens.closing import ClosingScreen

            self.push_screen(ClosingScreen())
        # The recorder is built once the first screen is up: a real one imports numpy and
        # sounddevice (holding the GIL while it does), which the first screen must not wait for.
        self.call_after_refresh(self._build_recorder)
        self.set_interval(self.poll_interval, self.poll_recorder)
        self._handle_hangup()

    def _handle_hangup(self) -> None:
        """Closing the terminal sends SIGHUP, and ``kill``, a logout or a shutdown SIGTERM, whose
        default ends the program on the spot (like kill -9: the recording not stopped, posted
        events not flushed). End as Ctrl+Q does."""
        for name, handler in (("SIGHUP", self._hangup), ("SIGTERM", self._terminated)):
            if not hasattr(signal, name):
                continue
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().add_signal_handler(getattr(signal, name), handler)

    def _hangup(self) -> None:
        if self.ended_by:
            return
        self.hung_up = True
        self.ended_by = "SIGHUP"
        self.record(
            EventType.WARNING,
            kind="terminal_closed",
            message="The terminal was closed (SIGHUP); the interview was left to be resumed.",
        )
        self._leave_on_signal()

    def _terminated(self) -> None:
        """SIGTERM (``kill``, a logout, a shutdown): as SIGHUP, but the terminal is still there."""
        if self.ended_by:
            return
        self.ended_by = "SIGTERM"
        self.record(
            EventType.WARNING,
            kind="terminated",
            message="guide-tui was told to stop (SIGTERM); the interview was left to be resumed.",
        )
        self._leave_on_signal()

    def _leave_on_signal(self) -> None:
        """Leave, whatever happens on the way: an app left running with its terminal gone spins
        on the dead terminal (seen at 50 % CPU for minutes once its install was deleted)."""
        try:
            if self._save_draft_note():
                return
        except Exception:  # the note is in the event log only if it was saved; leave anyway
            pass
        try:
            self.leave_unfinished()
        except Exception:
            self.exit(None)

    def _save_draft_note(self) -> bool:
        """A note being typed when the terminal closed is saved as Enter would have saved it;
        then the app leaves (queued behind the note on the screen that takes it). Nothing is
        imported here: the install may be gone by now (a deleted clone or virtual environment),
        and an import failing in a signal handler would leave the app running."""
        screen = self.screen
        draft_of = getattr(screen, "draft", None)
        if not callable(draft_of) or len(self.screen_stack) < 2:
            return False
        draft = str(draft_of())
        if not draft.strip():
            return False
        below = self.screen_stack[-2]
        screen.dismiss(draft)  # the screen below gets the note with call_next ...
        below.call_next(self.leave_unfinished)  # ... so this runs after it is posted
        return True

    @work(
        thread=True,
        exclusive=True,
        group="recorder",
        exit_on_error=False,
        description="build the recorder",
    )
    def _build_recorder(self) -> None:
        offset = self.state.last_t
        if self._recorder_factory is None or self.state.notes_only:
            recorder: Recorder = NullRecorder(offset=offset)
        else:
            try:
                recorder = self._recorder_factory(self.session)
            except Exception as error:  # a broken device must not end the interview
                recorder = NullRecorder(f"Recording unavailable: {error}", offset=offset)
        self.call_from_thread(self._set_recorder, recorder)

    def _set_recorder(self, recorder: Recorder) -> None:
        self._install(recorder)
        if self.state.phase in (Phase.INTERVIEW, Phase.CLOSING):
            # Resumed mid-interview: the interviewer is back, so recording goes on (into a new
            # file for a real recorder).
            self.start_recording()
        self.poll_recorder()

    def _install(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.clock.recorder = recorder
        if not self.recorder_logs_events:
            self.session.clock = self.clock  # a logging bridge makes itself the clock
        self._recorder_ready = True

    @property
    def recorder_logs_events(self) -> bool:
        """Whether the recorder posts its own recording events (the session bridge does).

        If it does, the app leaves ``recording_*``, ``warning`` and ``device_*`` events to it;
        otherwise (a bare recorder, a test fake, notes-only) the app posts them.
        """
        default = type(self.recorder).__name__ == "SessionRecorderBridge"
        return bool(getattr(self.recorder, "logs_events", default))

    def _app_logs_recording(self, status: RecorderStatus) -> bool:
        # Notes-only: nothing is recorded, so the bridge sees no change; the pause of the
        # interview is still worth a line in the log.
        return not self.recorder_logs_events or status.state == RecorderState.UNAVAILABLE

    async def wait_for_recorder(self) -> None:
        """Wait (without blocking the UI) until the recorder exists."""
        while not self._recorder_ready:
            await asyncio.sleep(0.01)

    def use_notes_only_recorder(self, reason: str) -> None:
        """The participant declined recording: no real recorder is ever started."""
        if not isinstance(self.recorder, NullRecorder):
            self.recorder.stop()
        self.recorder = NullRecorder(reason, offset=self.clock.now())
        self.clock.recorder = self.recorder
        self.session.clock = self.clock
        self._recorder_ready = True

    def start_recording(self) -> None:
        """Start (or restart after resume) capture and log it with the device facts."""
        self.recorder.start()
        status = self.recorder.poll()
        self.catch_up()
        if status.state == RecorderState.RECORDING and not self.recorder_logs_events:
            self.record(
                EventType.RECORDING_STARTED,
                file=status.file,
                device=status.device,
                samplerate=status.samplerate,
                channels=status.channels,
            )
        self._take_status(status)

    def toggle_pause(self) -> None:
        """Pause or resume the recording (and with it the session clock)."""
        status = self.recorder.poll()
        self._take_status(status)
        if status.state in (RecorderState.LOST, RecorderState.HALTED):
            # Try the device (or the disk) again: recording goes on in the next file.
            self.recorder.resume()
        elif self.state.recording == "paused":
            self.recorder.resume()
            if self._app_logs_recording(status):
                self.record(EventType.RECORDING_RESUMED)
        else:
            self.recorder.pause()
            if self._app_logs_recording(status):
                self.record(EventType.RECORDING_PAUSED)
        if status.state == RecorderState.UNAVAILABLE:
            # Nothing is recorded, so no badge changes: only the interview clock stops.
            paused = self.state.recording == "paused"
            self.notify(
                "Notes-only session: nothing is recorded. The interview clock "
                + ("is paused (p runs it again)." if paused else "runs again."),
                timeout=3,
            )
        self.poll_recorder()

    def stop_recording(self) -> None:
        status = self.recorder.poll()
        self._take_status(status)
        self.recorder.stop()
        if self._app_logs_recording(status) and self.state.recording in ("recording", "paused"):
            self.record(EventType.RECORDING_STOPPED, file=status.file)
        self.catch_up()

    def poll_recorder(self) -> None:
        """10 Hz: snapshot the recorder, log its warnings, redraw the status and the clocks."""
        self._check_saving()
        self._take_status(self.recorder.poll())

    def _check_saving(self) -> None:
        """Tell the interviewer at once when events cannot be written (full disk) and when they
        are on disk again; the session holds them meanwhile, so notes go on being taken."""
        problem = getattr(self.session, "write_problem", None)
        if problem == self.save_problem:
            return
        before, self.save_problem = self.save_problem, problem
        if problem is not None and before is None:
            self.notify(problem, title="Not saved yet", severity="error", timeout=15, markup=False)
        elif problem is None:
            self.notify("Everything is on disk again.", title="Saved", timeout=6)

    @property
    def save_alert(self) -> str | None:
        """The save problem in one short line for the recorder panel (the toast has it all)."""
        if self.save_problem is None:
            return None
        held = getattr(self.session, "unsaved_events", 0)
        what = f"{held} event{'s' if held != 1 else ''}" if held else "session.json"
        return f"NOT SAVED YET: {what} in memory. Free some space."

    def _take_status(self, status: RecorderStatus) -> None:
        self.last_status = status
        logs_itself = self.recorder_logs_events
        for warning in status.warnings:
            if not logs_itself:
                if warning.kind == "device_lost":
                    self.record(
                        EventType.DEVICE_LOST,
                        device=status.device,
                        file=status.file,
                        reason=warning.message,
                    )
                elif warning.kind == "device_recovered":
                    self.record(EventType.DEVICE_RECOVERED, device=status.device, file=status.file)
                else:
                    self.record(EventType.WARNING, kind=warning.kind, message=warning.message)
            self.recent_warnings = [*self.recent_warnings[-2:], warning.message]
            self.notify(escape(warning.message), title="Recording", severity="warning", timeout=6)
        if self.catch_up():
            self.refresh_views()
        tick = getattr(self.screen, "tick", None)
        if tick is not None:
            with contextlib.suppress(NoMatches):  # the screen is being torn down (exit)
                tick(status)

    # -- ending -------------------------------------------------------------------------------

    def open_closing(self) -> None:
        from guide_tui.tui.screens.closing import ClosingScreen

        if self.state.phase != Phase.CLOSING:
            self.record(CLOSING_STARTED)
        self.push_screen(ClosingScreen())

    def back_to_interview(self) -> None:
        """Leave the closing screen: the current topic's clock runs again."""
        topic = self.state.current_topic
        if topic is None:
            topics = self.state.visible_topics()
            topic = topics[0].id if topics else None
        if topic is not None:
            self.record(EventType.TOPIC_ENTERED, topic=topic)
        self.pop_screen()

    def end_session(self) -> None:
        """Stop recording, log the end with the coverage summary, finalise session.json."""
        self.stop_recording()
        now = self.clock.now()
        summary = self.state.coverage_summary(now)
        self.record(EventType.SESSION_ENDED, coverage=summary)
        summary = self.state.coverage_summary()
        self._finish(summary)

    @work(
        thread=True,
        exclusive=True,
        group="end",
        exit_on_error=False,
        description="finalise the session",
    )
    def _finish(self, summary: dict[str, Any]) -> None:
        ended = utc_now_iso()
        # A full disk must not keep the interview from ending: what is held stays held (the
        # session retries), and ``guide-tui run`` reports it when ``close()`` raises again.
        with contextlib.suppress(GuideTuiError):
            self.session.flush()
        with contextlib.suppress(GuideTuiError):
            self.session.update_meta(
                status="ended",
                ended=ended,
                # The interview on the recording clock (state.interview_seconds), not the wall
                # time since launch: consent, baseline and the mic check are not the interview.
                duration_s=summary["interview_seconds"],
                interview_seconds=summary["interview_seconds"],
                coverage=summary,
            )
        with contextlib.suppress(GuideTuiError):
            self.session.close()
        self.call_from_thread(self.exit, Path(self.session.path))

    def action_quit_session(self) -> None:
        from guide_tui.tui.screens.modals import ConfirmScreen

        if self.state.phase == Phase.ENDED:
            self.exit(Path(self.session.path))
            return

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            if self.state.phase in (Phase.CONSENT, Phase.BASELINE):
                self.offer_discard()
            else:
                self.leave_unfinished()

        unsaved = getattr(self.session, "unsaved_events", 0)
        if unsaved:
            body = (
                f"{unsaved} event{'s are' if unsaved != 1 else ' is'} not on disk yet: the disk "
                "is full. Free some space first; if you leave now they are written to another\n"
                "file, named when guide-tui ends."
            )
        else:
            body = (
                "Everything so far is saved. Continue later with\n"
                f"guide-tui run --resume {self.session.path}"
            )
        self.push_screen(ConfirmScreen("Leave the interview?", body, yes="Leave"), confirmed)

    def offer_discard(self) -> None:
        """Quitting before the interview began: the folder is a false start; offer to drop it.

        The folder itself is deleted by ``run`` once the app has closed the session (and never
        if it holds audio: ``discard_session`` refuses).
        """
        from guide_tui.tui.screens.modals import ConfirmScreen

        def answered(yes: bool | None) -> None:
            self.discard_requested = bool(yes)
            self.leave_unfinished()

        self.push_screen(
            ConfirmScreen(
                "Discard this session? It has no interview yet.",
                "Discard deletes its folder (consent and baseline answers only).\n"
                "Cancel keeps it: continue later with\n"
                f"guide-tui run --resume {self.session.path}",
                yes="Discard",
            ),
            answered,
        )

    def leave_unfinished(self) -> None:
        self.stop_recording()
        # Held events (full disk) are reported by ``guide-tui run`` after the screen is gone.
        with contextlib.suppress(GuideTuiError):
            self.session.close()
        self.exit(None)

    def action_help(self) -> None:
        from guide_tui.tui.screens.modals import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    # -- command palette ----------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every key of the current screen is also a command, plus "Go to topic: …"."""
        yield from key_commands(screen)
        goto = getattr(screen, "goto_topic", None)
        if goto is not None:
            for number, topic in enumerate(self.state.visible_topics(), 1):
                yield SystemCommand(
                    f"Go to topic {number}: {escape(topic.title)}",  # read as markup by Textual
                    "Make this the current topic",
                    _goto_callback(goto, topic.id),
                    discover=False,
                )
        yield SystemCommand(
            "Light/dark theme",
            "Switch between the light and the dark theme",
            self.action_toggle_dark,
        )
        yield SystemCommand("Help", "List every key", self.action_help)
        yield SystemCommand("Quit", "Leave; the session can be resumed", self.action_quit_session)


def key_commands(screen: Screen[Any]) -> Iterator[SystemCommand]:
    """One palette command for each key of ``screen`` (the interview's and the review's apps)."""
    seen: set[str] = set()
    for binding in _screen_bindings(screen):
        if binding.action in seen or binding.action == "command_palette":
            continue
        seen.add(binding.action)
        key = binding.key_display or binding.key.split(",")[0]
        yield SystemCommand(
            binding.description or binding.action,
            (binding.tooltip or binding.description) + f"  [{key}]",
            _action_callback(screen, binding.action),
        )


def _screen_bindings(screen: Screen[Any]) -> list[Binding]:
    bindings: list[Binding] = []
    for item in getattr(screen, "BINDINGS", []):
        if isinstance(item, Binding):
            bindings.append(item)
    return bindings


def _action_callback(screen: Screen[Any], action: str) -> Callable[[], Any]:
    async def run() -> None:
        await screen.run_action(action)

    return run


def _goto_callback(goto: Callable[[str], None], topic_id: str) -> Callable[[], None]:
    return lambda: goto(topic_id)


def make_app(
    session: SessionLike,
    guide: Guide,
    *,
    recorder_factory: RecorderFactory | None = None,
    group: str | None = None,
    resumed: bool = False,
    cursor_blink: bool = True,
    theme: str = "dark",
    bell: bool = False,
) -> GuideApp:
    """The one factory ``guide-tui run`` and the tests share."""
    return GuideApp(
        session,
        guide,
        recorder_factory=recorder_factory,
        group=group,
        resumed=resumed,
        cursor_blink=cursor_blink,
        theme=theme,
        bell=bell,
    )
