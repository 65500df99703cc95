"""``guide-tui sessions [DIR]``: a table of the interviews recorded so far.

Reads only each folder's ``session.json`` and counts events (no guide loading, no audio), so it
stays fast on a study with dozens of interviews. Broken folders are shown, with the reason, rather
than hiding them or failing the whole list.
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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from guide_tui.errors import SessionError
    from guide_tui.paths import recordings_dir
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
        console.print(f"No sessions yet in {root}.", highlight=False)
        return 0

    table = Table(
        title=f"Sessions in {root}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
    )
    table.add_column("Participant", overflow="fold")
    table.add_column("Date")
    table.add_column("Guide", overflow="fold")
    table.add_column("Duration", justify="right", no_wrap=True)
    table.add_column("Events", justify="right", no_wrap=True)
    table.add_column("Audio")
    table.add_column("Transcript")
    table.add_column("Status", no_wrap=True)
    problems: list[str] = []
    for s in summaries:
        if s.status == "unreadable":
            table.add_row(s.path.name, "", "", "", "", "", "", "[red]unreadable[/]")
            problems.append(f"{s.path.name}: {s.reason}")
            continue
        participant = s.participant or "?"
        if s.group:
            participant = f"{participant} ({s.group})"
        guide = f"{s.guide_id or '?'} v{s.guide_version}" if s.guide_version else s.guide_id or "?"
        table.add_row(
            participant,
            _date(s.created),
            guide,
            _duration(s.duration_s),
            str(s.events),
            "yes" if s.has_audio else "no",
            "yes" if s.has_transcript else "no",
            _status(s.status, s.torn_lines),
        )
    console.print(table)
    for line in problems:
        console.print(f"[red]unreadable[/] {line}", highlight=False)
    return 0


def _date(created: str | None) -> str:
    """Local date and time of an ISO timestamp (what the interviewer remembers), else as is."""
    if not created:
        return ""
    from datetime import datetime

    try:
        return datetime.fromisoformat(created).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return created


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    total = max(0, round(seconds))
    return f"{total // 60:02d}:{total % 60:02d}"


def _status(status: str, torn_lines: int) -> str:
    colour = {"ended": "green", "in_progress": "yellow", "interrupted": "red"}.get(status, "")
    text = status.replace("_", " ")
    if torn_lines:
        text += f" ({torn_lines} torn line{'s' if torn_lines != 1 else ''})"
    return f"[{colour}]{text}[/]" if colour else text
