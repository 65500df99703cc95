"""``guide-tui run``: the interview TUI (SPEC §4).

    guide-tui run [GUIDE] --participant ID [--group G] [--interviewer NAME] [--location TEXT]
                  [--observer NAME ...]
    guide-tui run --resume SESSION_DIR

Without GUIDE a picker lists the guides in ``guides/`` (``GUIDE_TUI_GUIDES``). The session folder
is created before the TUI starts, so a bad pseudonym or group is a plain error message, not a
half-drawn screen. Textual, the guide loader and the session store are imported inside
:func:`run`, so ``guide-tui --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guide_tui.guide.model import Guide
    from guide_tui.recorder.base import Recorder

ORDER = 20


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run an interview: consent, baseline, the guide's topics, closing",
        description="Walk through an interview guide live, recording events (and audio) into a "
        "session folder. Without GUIDE, pick one from the guides folder.",
    )
    parser.add_argument("guide", nargs="?", metavar="GUIDE", help="the guide (.yaml)")
    parser.add_argument(
        "--participant",
        "-p",
        metavar="ID",
        help="participant pseudonym, e.g. 'GP 03' (becomes part of the folder)",
    )
    parser.add_argument(
        "--group",
        "-g",
        metavar="G",
        help="participant group id (decides which questions are shown)",
    )
    parser.add_argument("--interviewer", metavar="NAME", help="who interviews (for COREQ)")
    parser.add_argument("--location", metavar="TEXT", help="where the interview takes place")
    parser.add_argument(
        "--observer",
        metavar="NAME",
        action="append",
        default=[],
        help="someone else present, e.g. a second researcher (repeat for each; for COREQ)",
    )
    parser.add_argument(
        "--resume", metavar="SESSION_DIR", help="continue an interrupted session where it stopped"
    )
    parser.add_argument(
        "--recordings",
        metavar="DIR",
        help="sessions folder (default: ./recordings or GUIDE_TUI_RECORDINGS)",
    )
    parser.add_argument("--no-audio", action="store_true", help="notes only: do not record audio")
    parser.add_argument(
        "--device",
        "-d",
        metavar="D",
        help="microphone: index or part of its name (see guide-tui devices)",
    )
    parser.add_argument(
        "--audio-file",
        metavar="FILE",
        help="rehearse: play FILE through the recorder in real time instead of a microphone",
    )
    parser.add_argument(
        "--theme",
        choices=("dark", "light"),
        default="dark",
        help="colour theme (F2 switches while running)",
    )
    parser.set_defaults(func=run)


def make_recorder_factory(args: argparse.Namespace) -> Callable[[Any], Recorder] | None:
    """The one place ``run`` decides how audio is recorded.

    Returns a callable the app invokes once, off the UI thread, with the session, or None for a
    notes-only session. The settings are read here, before the TUI starts, so a bad
    ``[recording]`` table or ``--audio-file`` is a plain error message; the capture code
    (numpy, soundfile, PortAudio) is imported by the factory, off the UI thread.
    """
    if args.no_audio:
        return None
    from guide_tui.errors import RecorderError
    from guide_tui.recorder.config import load_recorder_config  # stdlib only

    config = load_recorder_config(device=getattr(args, "device", None))
    audio_file = getattr(args, "audio_file", None)
    if audio_file is not None:
        from guide_tui.userfiles import regular_file_problem

        problem = regular_file_problem(audio_file)  # a FIFO or /dev/zero would never end
        if problem is not None:
            raise RecorderError(f"--audio-file {audio_file}: {problem}")
    elif getattr(args, "device", None) is not None:
        # A microphone asked for by name must exist now, as mic-check insists: found missing
        # only once the interview runs, the session would silently go notes-only.
        from guide_tui.recorder.devices import resolve_device

        try:
            resolve_device(config.device)
        except RecorderError as error:
            raise RecorderError(
                f"--device {args.device}: {error} (for notes only: --no-audio)"
            ) from None

    def factory(session: Any) -> Recorder:
        from guide_tui.recorder import attach_recorder

        return attach_recorder(session, config=config, audio_file=audio_file)

    return factory


def run(args: argparse.Namespace) -> int:
    from guide_tui.errors import GuideTuiError, SessionError
    from guide_tui.session.store import Session

    # Recording settings are checked first: a typo in --audio-file must not leave a session.
    recorder_factory = make_recorder_factory(args)
    bell = _bell_setting()

    if args.resume is not None:
        if not args.resume.strip():  # an unset shell variable: not "no resume" (the picker)
            raise GuideTuiError(
                "--resume needs the session folder, e.g. --resume recordings/2026-11-22_0930_P01"
            )
        given = [
            flag
            for flag, value in (
                ("GUIDE", args.guide),
                ("--participant", args.participant),
                ("--group", args.group),
                ("--interviewer", args.interviewer),
                ("--location", args.location),
                ("--observer", args.observer),
            )
            if value
        ]
        if given:
            raise GuideTuiError(
                f"--resume takes the session folder only: drop {', '.join(given)} "
                "(a resumed session keeps what it was started with)."
            )
        from guide_tui.session.store import Recovered, recover_spilled_events

        # Events a full disk kept out of the log and a killed guide-tui left in a spill file
        # on another file system go back into the log before anything new is numbered.
        folder = Path(args.resume)
        recovered = recover_spilled_events(folder) if folder.is_dir() else Recovered(0, [])
        if recovered.added:
            print(
                f"guide-tui: added {recovered.added} event(s) to the log that the full disk had "
                f"kept out of it (saved meanwhile in {', '.join(map(str, recovered.files))})",
                file=sys.stderr,
            )
        session = Session.open(Path(args.resume), mark_resumed=False)
        status = session.meta.get("status")
        if status == "ended":
            raise SessionError(f"{session.path} has already ended; nothing to resume.")
        if session.torn_lines:  # kept as they are on disk; said once, before the screen opens
            torn = session.torn_lines
            shown = "; ".join(str(t) for t in torn[:3]) + ("; ..." if len(torn) > 3 else "")
            from guide_tui.safetext import terminal_text  # the reasons may quote the lines

            print(
                terminal_text(
                    f"guide-tui: {len(torn)} line(s) of {session.events_path} could not be read "
                    f"and are ignored ({shown})"
                ),
                file=sys.stderr,
            )
        require_terminal()
        # Posted, not appended: on a full disk it is held like every later event, and the
        # screen says so, instead of refusing to go on with the interview.
        session.post("session_resumed", torn_lines=len(session.torn_lines))
        guide = session.guide
        resumed = True
    else:
        if not args.participant:
            raise GuideTuiError(
                "--participant is required: the participant's pseudonym, "
                "e.g. --participant 'GP 03'."
            )
        if args.guide is not None and not args.guide.strip():
            raise GuideTuiError("GUIDE is empty: name a guide file, or leave it out to pick one.")
        chosen = _choose_guide(args.guide)
        if chosen is None:
            return 0
        guide = chosen
        group = args.group
        if group is not None and not guide.groups:
            raise GuideTuiError(f"The guide {guide.id!r} has no participant groups; drop --group.")
        if group is not None and group not in {g.id for g in guide.groups}:
            known = ", ".join(g.id for g in guide.groups)
            raise SessionError(
                f"Unknown participant group {group!r} for guide {guide.id!r}; "
                f"choose one of: {known}."
            )
        from guide_tui.session.pseudonym import validate_pseudonym

        validate_pseudonym(args.participant)
        # After the checks above (their messages say more), before the session folder exists.
        require_terminal()
        # The folder's fsyncs (about 30 ms) overlap the Textual import below.
        creating = _Background(
            lambda: Session.create(
                guide,
                args.participant,
                group=group,
                interviewer=args.interviewer,
                location=args.location,
                observers=args.observer,
                root=args.recordings,
            )
        )
        resumed = False

    from guide_tui.tui.app import make_app

    if not resumed:
        session = creating.result()  # raises what Session.create raised

    app = make_app(
        session,
        guide,
        recorder_factory=recorder_factory,
        # No fixed group: the log carries it (session_started, then the participant step),
        # so a group changed on the participant step is the one that counts.
        resumed=resumed,
        theme=args.theme,
        bell=bell,
    )
    from guide_tui.terminal import divert_c_stderr

    # Audio libraries write to descriptor 2, which is also the screen Textual draws on.
    with divert_c_stderr(session.path / "messages.log") as log:
        result = app.run()
    discarding = result is None and getattr(app, "discard_requested", False)
    try:
        session.close()
    except GuideTuiError as error:  # the disk is still full: save what is held elsewhere
        _report(f"guide-tui: {error}\n{_save_held_events(session)}", hung_up=app.hung_up)
        return error.exit_code
    if app.hung_up:  # the terminal was closed (or SIGHUP sent): everything is on disk
        _report(
            f"Terminal closed; everything so far is saved in {session.path}\n"
            f"Continue with: guide-tui run --resume '{session.path}'",
            hung_up=True,
        )
        return 128 + 1  # as the shell reports a SIGHUP
    if app.ended_by == "SIGTERM":  # kill, logout, shutdown: everything is on disk
        _report(
            f"Stopped (SIGTERM); everything so far is saved in {session.path}\n"
            f"Continue with: guide-tui run --resume '{session.path}'",
            hung_up=False,
        )
        return 128 + 15  # as the shell reports a SIGTERM
    if log is not None and log.exists() and not discarding:
        print(f"Messages from the audio system were kept in {log}", file=sys.stderr)
    if discarding:
        from guide_tui.session.store import discard_session

        try:
            discard_session(session.path)
        except GuideTuiError as error:  # it has audio after all: kept, and said so
            print(f"guide-tui: {error}", file=sys.stderr)
            return error.exit_code
        print(f"Discarded {session.path} (it had no interview).")
        return 0
    if app.return_code:  # an error ended the app (Textual has shown it): not "paused", not 0
        print(
            f"guide-tui: the interview screen stopped on an error; everything logged so far is "
            f"in {session.path}\nContinue with: guide-tui run --resume '{session.path}'",
            file=sys.stderr,
        )
        return 1
    if result is not None:
        print(next_steps(Path(result)))
    else:
        print(
            f"Interview paused; everything so far is saved in {session.path}\n"
            f"Continue with: guide-tui run --resume '{session.path}'"
        )
    return 0


def _save_held_events(session: Any) -> str:
    """The last resort when the program ends with events the full disk did not take: they are
    already copied, as they were held, to a spill file on another file system (owner-only);
    make that file hold exactly what the log lacks and say how to put it back. If no other place
    takes them either, print them, so what was shown on screen as saved is never silently gone."""
    behind = "session.json may be behind: resuming the session and ending it writes it again."
    data = session.unsaved_bytes()
    if not data:
        return behind
    target = session.save_held_copy()
    if target is not None:
        return (
            f"The events not yet in the log were saved to {target}. Once there is space, "
            f"'guide-tui run --resume {session.path}' adds them to the session; or add them "
            f"yourself with:\n  cat '{target}' >> '{session.events_path}'\n" + behind
        )
    return (
        "No other place took them either; here they are, add them to "
        f"{session.events_path} once there is space:\n" + data.decode("utf-8", "replace")
    )


def _report(message: str, *, hung_up: bool) -> None:
    """Print to the terminal; a closed one (SIGHUP) takes nothing, and that must not turn into a
    traceback (the fallback file is written before this either way)."""
    try:
        print(message, file=sys.stderr, flush=True)
    except OSError:
        if not hung_up:
            raise


def require_terminal() -> None:
    """Refuse to start without a terminal to draw on and read keys from.

    Textual draws on descriptor 2 and reads keys from descriptor 0; started from a script, cron
    or ``nohup`` with neither a terminal, it does not fail but spins (83 % of a CPU was seen)
    with nothing on any screen. A plain message is better.
    """
    from guide_tui.errors import GuideTuiError

    if not (_isatty(sys.stdin) and _isatty(sys.__stderr__)):
        raise GuideTuiError(
            "run needs a terminal: start it from a terminal window "
            "(standard input and standard error must both be one)."
        )


def _isatty(stream: Any) -> bool:
    try:
        return stream is not None and bool(stream.isatty())
    except (OSError, ValueError):  # closed or detached
        return False


def _bell_setting() -> bool:
    """``bell = true`` in config.toml lets the TUI ring the terminal bell; it is off by default
    (a beep in the participant's room ends up on the recording)."""
    from guide_tui.errors import ConfigError
    from guide_tui.paths import config_file, read_config

    value = read_config().get("bell", False)
    if not isinstance(value, bool):
        raise ConfigError(f"{config_file()}: 'bell' must be true or false")
    return value


def next_steps(folder: Path) -> str:
    """The end message: where the session is and what comes next (no transcription to suggest
    when nothing was recorded)."""
    import shlex

    quoted = shlex.quote(str(folder))
    lines = [f"Interview ended. Session saved in {folder}", "Next:"]
    if any(folder.glob("audio-*.wav")):
        lines.append(f"  guide-tui transcribe {quoted}   # local Whisper, offline")
    lines.append(f"  guide-tui export {quoted}       # md, docx, qdpx, ... into exports/")
    return "\n".join(lines)


class _Background:
    """Run ``work`` on a thread now; ``result()`` waits and returns or re-raises."""

    def __init__(self, work: Callable[[], Any]) -> None:
        import threading

        self._work = work
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="guide-tui-start", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._work()
        except BaseException as error:  # handed to the caller in result()
            self._error = error

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _choose_guide(path: str | None) -> Guide | None:
    """Load the named guide, or let the interviewer pick one (None: they cancelled)."""
    from guide_tui.errors import GuideTuiError
    from guide_tui.guide import load_guide

    if path:
        return load_guide(path)
    from guide_tui.paths import guides_dir

    folder = guides_dir()
    candidates = sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))
    if not candidates:
        raise GuideTuiError(
            f"No guide given and no guides in {folder}. Name one: guide-tui run GUIDE.yaml ..."
        )
    require_terminal()  # the picker is a screen too
    from guide_tui.tui.picker import GuidePickerApp

    chosen = GuidePickerApp(candidates).run()
    return load_guide(chosen) if chosen is not None else None
