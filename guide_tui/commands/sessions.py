"""``guide-tui sessions [DIR]``: a table of the interviews recorded so far.

Reads only each folder's ``session.json`` and counts events (no guide loading, no audio), so it
stays fast on a study with dozens of interviews. Broken folders are shown, with the reason, rather
than hiding them or failing the whole list; folders that hold no session file at all (the study's
``exports/``) are not sessions and are left out. Sessions that never reached the interview (quit
at consent) are "not started" and not counted as interviews.

``guide-tui sessions --discard DIR`` deletes such a false start: it asks first (``--yes`` on a
script), and a folder with audio is only deleted with ``--delete-audio`` as well.
"""

from __future__ import annotations

import argparse
from typing import Any

ORDER = 40


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sessions",
        help="list recorded interview sessions",
        description="List the interview sessions in a recordings folder: participant, date, "
        "guide and version, duration, events, audio, transcript and status.",
    )
    parser.add_argument(
        "dir",
        nargs="?",
        metavar="DIR",
        help="recordings folder (default: $GUIDE_TUI_RECORDINGS, the config, or ./recordings)",
    )
    parser.add_argument(
        "--discard",
        metavar="SESSION",
        help="delete this session folder (e.g. a false start quit at consent); asks first",
    )
    parser.add_argument(
        "--yes", action="store_true", help="with --discard: do not ask (for scripts)"
    )
    parser.add_argument(
        "--delete-audio",
        action="store_true",
        help="with --discard: also when the session has audio (the recording is deleted)",
    )
    parser.set_defaults(func=run)


def discard(args: argparse.Namespace) -> int:
    """Delete one session folder after saying what it holds; audio only when asked for."""
    import sys
    from pathlib import Path

    from guide_tui.errors import SessionError
    from guide_tui.paths import recordings_dir
    from guide_tui.safetext import terminal_text
    from guide_tui.session.store import (
        SESSION_FILE,
        audio_files,
        discard_session,
        summarize_session,
    )

    folder = Path(args.discard).expanduser()
    if not folder.exists() and (recordings_dir(args.dir) / args.discard).exists():
        folder = recordings_dir(args.dir) / args.discard
    if not (folder / SESSION_FILE).is_file():
        raise SessionError(
            f"{folder} is not a session folder (no {SESSION_FILE}); nothing deleted."
        )
    summary = summarize_session(folder)
    recordings = audio_files(folder)
    what = [
        f"participant {summary.participant or '?'}",
        f"{summary.events} events",
        "the interview was started" if summary.interview else "no interview yet",
    ]
    if recordings:
        size = sum(p.stat().st_size for p in recordings) / 1e6
        what.append(f"AUDIO: {', '.join(p.name for p in recordings)} ({size:.1f} MB)")
    if summary.has_transcript:
        what.append("a transcript")
    description = terminal_text(f"{folder}: " + ", ".join(what))  # the participant is data
    if recordings and not args.delete_audio:
        discard_session(folder)  # refuses, with the message that says how
    if not args.yes:
        if not sys.stdin.isatty():
            raise SessionError(
                f"Not deleting without asking: {description}. Run it in a terminal to be "
                "asked, or add --yes."
            )
        print(description)
        prompt = (
            "Delete this session and its recording? [y/N] "
            if recordings
            else ("Delete this session? [y/N] ")
        )
        try:
            answer = input(prompt)
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing deleted.")
            return 1
    discard_session(folder, delete_audio=args.delete_audio)
    print(f"Deleted {folder}" + (" and its recording" if recordings else ""))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.discard:
        return discard(args)
    if args.yes or args.delete_audio:
        from guide_tui.errors import GuideTuiError

        raise GuideTuiError("--yes and --delete-audio go with --discard SESSION.")

    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from guide_tui.errors import SessionError
    from guide_tui.paths import recordings_dir
    from guide_tui.safetext import terminal_text
    from guide_tui.session.store import list_sessions

    root = recordings_dir(args.dir)
    if not root.exists():
        raise SessionError(f"No sessions folder at {root}.")
    if not root.is_dir():
        raise SessionError(f"{root} is not a folder.")
    summaries = list_sessions(root)
    console = Console()
    if not console.is_terminal:
        # Piped or redirected: don't squeeze the table into Rich's 80-column default.
        console = Console(width=max(console.width, 120))
    if not summaries:
        console.print(Text(terminal_text(f"No sessions yet in {root}.")))
        return 0

    table = Table(
        title=Text(terminal_text(f"Sessions in {root}")),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
    )
    table.add_column("Participant", overflow="fold")
    table.add_column("Date")
    table.add_column("Guide", overflow="fold")
    table.add_column("Interview", justify="right", no_wrap=True)
    table.add_column("Events", justify="right", no_wrap=True)
    table.add_column("Audio")
    table.add_column("Transcript")
    table.add_column("Status", no_wrap=True)
    problems: list[str] = []
    not_started: list[str] = []
    unreadable = Text("unreadable", style="red")
    for s in summaries:
        # Everything in a row comes from the folder (maybe a colleague's): Text, never markup.
        if s.status == "not_started":
            not_started.append(s.path.name)
        if s.status == "unreadable":
            table.add_row(Text(terminal_text(s.path.name)), "", "", "", "", "", "", unreadable)
            problems.append(f"{s.path.name}: {s.reason}")
            continue
        participant = s.participant or "?"
        if s.group:
            participant = f"{participant} ({s.group})"
        guide = f"{s.guide_id or '?'} v{s.guide_version}" if s.guide_version else s.guide_id or "?"
        status, colour = _status(s.status, s.torn_lines)
        table.add_row(
            *(
                Text(terminal_text(cell))
                for cell in (
                    participant,
                    _date(s.created),
                    guide,
                    _duration(s.duration_s),
                    str(s.events),
                    "yes" if s.has_audio else "no",
                    "yes" if s.has_transcript else "no",
                )
            ),
            Text(status, style=colour),
        )
    console.print(table)
    console.print(
        "Interview: from its start to its end on the recording clock (pauses, consent, baseline "
        "and microphone check not counted).",
        style="dim",
        highlight=False,
    )
    for line in problems:
        console.print(Text.assemble(unreadable, " ", terminal_text(line)))
    interviews = sum(1 for s in summaries if s.status not in ("not_started", "unreadable"))
    line = f"{interviews} interview{'s' if interviews != 1 else ''}"
    if not_started:
        line += (
            f"; {len(not_started)} not started (no interview yet, not counted): "
            + ", ".join(not_started)
            + ". Delete a false start with: guide-tui sessions --discard FOLDER"
        )
    console.print(Text(terminal_text(line)), soft_wrap=True)
    return 0


def _date(created: str | None) -> str:
    """Local date and time of an ISO timestamp (what the interviewer remembers), else as is."""
    if not created:
        return ""
    from datetime import datetime

    try:
        return datetime.fromisoformat(created).astimezone().strftime("%Y-%m-%d %H:%M")
    except (ValueError, OverflowError, OSError):  # not a date, or one the OS cannot convert
        return created


def _duration(seconds: float | None) -> str:
    import math

    if seconds is None or not math.isfinite(seconds):  # session.json may say Infinity or NaN
        return ""
    total = max(0, round(seconds))
    return f"{total // 60:02d}:{total % 60:02d}"


def _status(status: str, torn_lines: int) -> tuple[str, str]:
    """The status as shown and its colour."""
    colour = {
        "ended": "green",
        "in_progress": "yellow",
        "interrupted": "red",
        "not_started": "dim",
    }.get(status, "")
    text = status.replace("_", " ")
    if torn_lines:
        text += f" ({torn_lines} torn line{'s' if torn_lines != 1 else ''})"
    return text, colour
