"""``guide-tui import`` (recordings made elsewhere) and ``guide-tui import-corrections`` (a
transcript export corrected in another program, read back as corrections)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

ORDER = 35


def register(subparsers: Any) -> None:
    imp = subparsers.add_parser(
        "import",
        help="make sessions from recordings made elsewhere (WAV, FLAC, MP3, M4A, Opus, ...)",
        description="Create one session per audio file, with the frozen guide and no live ticks "
        "(add topics and codes in review). WAV is copied as it is; other formats are converted "
        "to WAV. Several files at once: give --participant once per file (in order), or leave "
        "it out to use each file's name (without extension) as the pseudonym.",
    )
    imp.add_argument("audio", nargs="+", metavar="AUDIO", help="the recording(s)")
    imp.add_argument("--guide", required=True, metavar="G", help="the guide (.yaml)")
    imp.add_argument(
        "--participant",
        action="append",
        metavar="P",
        help="pseudonym; once per file (default: the file name)",
    )
    imp.add_argument("--group", help="participant group id")
    imp.add_argument(
        "--date",
        help="when it was recorded: YYYY-MM-DD or 'YYYY-MM-DD HH:MM' (default: the file's "
        "modification time)",
    )
    imp.add_argument("--interviewer", help="who interviewed")
    imp.add_argument(
        "--recordings",
        metavar="DIR",
        help="sessions folder (default: ./recordings or GUIDE_TUI_RECORDINGS)",
    )
    imp.set_defaults(func=run_import)

    corr = subparsers.add_parser(
        "import-corrections",
        help="read back a transcript export (txt or DOCX) corrected in another program",
        description="Compare an edited MAXQDA/f4 txt or DOCX export with the session's "
        "transcript, paragraph by paragraph (by their #hh:mm:ss-d# stamps) and word by word, and "
        "record the changed words, speaker labels and paragraph breaks as corrections "
        "(corrections.jsonl; transcript.json is not changed). Topics, codes, notes and markers "
        "stay. What cannot be placed is reported, one line each.",
    )
    corr.add_argument("session", metavar="SESSION", help="the session folder")
    corr.add_argument("file", metavar="FILE", help="the corrected .txt or .docx")
    corr.add_argument(
        "--dry-run", action="store_true", help="report what would be recorded; write nothing"
    )
    corr.set_defaults(func=run_import_corrections)


def _date(text: str | None) -> datetime | None:
    from guide_tui.errors import GuideTuiError

    if text is None:
        return None
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise GuideTuiError(f"--date {text!r}: give YYYY-MM-DD or 'YYYY-MM-DD HH:MM'")


def participants_for(files: list[str], given: list[str] | None) -> list[str]:
    """One pseudonym per file: ``--participant`` once per file, or (none given) each file's
    name without extension."""
    from guide_tui.errors import GuideTuiError
    from guide_tui.session.pseudonym import validate_pseudonym

    if given:
        if len(given) != len(files):
            raise GuideTuiError(
                f"{len(files)} files but {len(given)} --participant: give one per file, in "
                "order, or none to use each file's name as its pseudonym"
            )
        return [validate_pseudonym(p) for p in given]
    out = []
    for f in files:
        try:
            out.append(validate_pseudonym(Path(f).stem))
        except GuideTuiError as error:
            raise GuideTuiError(
                f"{f}: its name is no pseudonym ({error}); give --participant"
            ) from None
    return out


def run_import(args: argparse.Namespace) -> int:
    from guide_tui.errors import GuideTuiError, SessionError
    from guide_tui.guide import load_guide
    from guide_tui.session.importer import import_recording

    guide = load_guide(args.guide)
    if args.group is not None and args.group not in {g.id for g in guide.groups}:
        known = ", ".join(g.id for g in guide.groups) or "(the guide has none)"
        raise SessionError(f"Unknown participant group {args.group!r}; choose one of: {known}.")
    when = _date(args.date)
    names = participants_for(args.audio, args.participant)
    failed = 0
    for audio, participant in zip(args.audio, names, strict=True):
        try:
            folder = import_recording(
                audio,
                guide,
                participant,
                group=args.group,
                date=when,
                interviewer=args.interviewer,
                root=args.recordings,
            )
        except GuideTuiError as error:
            from guide_tui.safetext import terminal_text

            print(f"guide-tui: {terminal_text(str(error))}", file=sys.stderr)
            failed += 1
            continue
        print(f"{audio}: imported as {folder}")
    return 1 if failed else 0


def run_import_corrections(args: argparse.Namespace) -> int:
    from guide_tui.transcript.roundtrip import import_corrections

    result = import_corrections(Path(args.session), Path(args.file), dry_run=args.dry_run)
    verb = "would record" if args.dry_run else "recorded"
    count = len(result.planned) if args.dry_run else len(result.recorded)
    print(f"{args.file}: {verb} {count} correction(s) in {args.session}")
    for line in result.described:
        print(f"  {line}")
    for line in result.unplaced:
        print(f"guide-tui: not placed: {line}", file=sys.stderr)
    return 0
