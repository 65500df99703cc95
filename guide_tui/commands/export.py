"""``guide-tui export``, ``guide-tui study`` and ``guide-tui anonymise``: getting interviews out
of guide-tui and into a QDA tool, a methods section, or a colleague's hands.

One command after each interview (``export SESSION``), one at the end of the study
(``study`` and ``export --study``). Only the standard library is imported here; exporters are
imported inside the commands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ORDER = 60
FORMAT_NAMES = ("md", "txt", "nvivo", "srt", "vtt", "docx", "qdpx", "json")


def _formats(values: list[str] | None) -> list[str] | None:
    """``--format md --format srt`` or ``--format md,srt``; ``None`` means every format."""
    if not values:
        return None
    result: list[str] = []
    for value in values:
        result.extend(v.strip().lower() for v in value.split(",") if v.strip())
    return list(dict.fromkeys(result))


def register(subparsers: Any) -> None:
    export = subparsers.add_parser(
        "export",
        help="export sessions for reading and for NVivo, MAXQDA, ATLAS.ti, QualCoder",
        description="Write a session's transcript as Markdown, MAXQDA/f4 text, an NVivo "
        "transcript table, SRT, VTT, DOCX, JSON and a REFI-QDA project (.qdpx) with the guide's "
        "topics as codes, the transcript pre-coded, the participant as a case. By default every "
        "format goes into the session's exports/ folder.",
    )
    export.add_argument(
        "sessions",
        nargs="*",
        metavar="SESSION",
        help="session folder (or its name under the recordings folder)",
    )
    export.add_argument(
        "-f",
        "--format",
        action="append",
        metavar="FORMAT",
        help=f"one of {', '.join(FORMAT_NAMES)} (repeat or comma-separate; default: all)",
    )
    export.add_argument("-o", "--out", metavar="DIR", help="write here instead of SESSION/exports")
    export.add_argument(
        "--study",
        metavar="DIR",
        help="one REFI-QDA project with every session in the recordings folder DIR",
    )
    export.add_argument(
        "--guide",
        metavar="ID",
        help="with --study: the guide whose sessions go in (default: the one used most)",
    )
    export.add_argument(
        "--no-audio",
        action="store_true",
        help="leave the audio out of .qdpx projects (smaller, shareable)",
    )
    export.add_argument(
        "--clean",
        action="store_true",
        help="readable text (fillers such as um, uh removed) instead of verbatim",
    )
    export.set_defaults(func=run_export)

    study = subparsers.add_parser(
        "study",
        help="the study so far: sessions, coverage, baseline table, guide versions, COREQ",
        description="Report over every session of a recordings folder: the sessions table, a "
        "coverage matrix (topics × participants), the baseline characteristics table, the guide "
        "versions used and what changed, and the facts a COREQ checklist asks for.",
    )
    study.add_argument(
        "dir",
        nargs="?",
        metavar="DIR",
        help="recordings folder (default: $GUIDE_TUI_RECORDINGS, the config, or ./recordings)",
    )
    study.add_argument(
        "--guide",
        metavar="ID",
        help="the guide (id) whose interviews make the study, when the folder holds several "
        "(default: the one used most)",
    )
    study.add_argument("--format", choices=("text", "md", "csv"), default="text")
    study.add_argument(
        "-o",
        "--out",
        metavar="PATH",
        help="write to a file (text, md) or a folder of CSV files (csv; UTF-8 with a BOM, "
        "so Excel reads the characters right)",
    )
    study.set_defaults(func=run_study)

    anonymise = subparsers.add_parser(
        "anonymise",
        aliases=["anonymize"],
        help="exports with listed names replaced by placeholders",
        description="Replace the names listed in FILE (one per line, optionally `Name = "
        "[Placeholder]`; simple inflected forms such as Mette's, Hansens are caught) in every "
        "export of SESSION. The transcript is left untouched; a private key of the replacements "
        "is kept in the session folder. Audio cannot be anonymised and is left out.",
    )
    anonymise.add_argument("session", metavar="SESSION")
    anonymise.add_argument("--names", required=True, metavar="FILE", help="names to replace")
    anonymise.add_argument(
        "-f", "--format", action="append", metavar="FORMAT", help="formats to write (default: all)"
    )
    anonymise.add_argument(
        "-o", "--out", metavar="DIR", help="write here instead of SESSION/exports/anonymised"
    )
    anonymise.set_defaults(func=run_anonymise)


def _shown(text: object) -> str:
    """Text for the terminal: messages and reports quote sessions' data (see safetext)."""
    from guide_tui.safetext import terminal_text

    return terminal_text(str(text))


def _for_stdout(report: str) -> str:
    """A report (already free of control characters) for the terminal, or as is when piped."""
    return _shown(report) if sys.stdout.isatty() else report


def _resolve_session(name: str) -> Path:
    """A path as given, else a folder of that name in the recordings folder."""
    from guide_tui.paths import recordings_dir

    path = Path(name).expanduser()
    if path.exists():
        return path
    candidate = recordings_dir() / name
    return candidate if candidate.exists() else path


def default_out(folder: Path, *parts: str) -> Path:
    """``folder/exports/...``, refused when a folder on the way is a link: in a session folder
    from elsewhere it would send the exports (and the files they replace) somewhere else."""
    from guide_tui.errors import ExportError

    out = folder
    for part in ("exports", *parts):
        out = out / part
        if out.is_symlink():
            raise ExportError(
                f"{out} refused: it is a symbolic link; give the export folder with -o DIR"
            )
    return out


def warn(data: Any) -> Any:
    """Print a session's warnings (an edited frozen guide) on stderr; return the session."""
    for warning in data.warnings:
        print(f"guide-tui: warning: {warning}", file=sys.stderr)
    return data


def clean_text(data: Any) -> Any:
    """The session with its transcript's readable (``text_clean``) wording."""
    import dataclasses

    from guide_tui.export.transcript import parse_transcript

    if data.transcript is None:
        return data
    return dataclasses.replace(
        data, transcript=parse_transcript(data.transcript.raw, str(data.folder), clean=True)
    )


def run_export(args: argparse.Namespace) -> int:
    from guide_tui.errors import ExportError, GuideTuiError
    from guide_tui.export import FORMATS, export_session, get_writer, read_session

    formats = _formats(args.format)
    for name in formats or ():
        get_writer(name)  # an unknown format fails before anything is written
    if args.study:
        return _export_study(args, formats)
    if not args.sessions:
        raise ExportError("name at least one SESSION folder (or use --study DIR)")
    failures = 0
    for name in args.sessions:
        try:
            data = warn(read_session(_resolve_session(name)))
            if args.clean:
                data = clean_text(data)
            chosen = formats or [f for f in FORMATS if get_writer(f).can_write(data)]
            out = Path(args.out) if args.out else default_out(data.folder)
            written = export_session(data, chosen, out, include_audio=not args.no_audio)
        except GuideTuiError as error:
            print(f"guide-tui: {_shown(error)}", file=sys.stderr)
            failures += 1
            continue
        for path in written:
            print(path)
        if data.transcript is None and formats is None and data.recorded:
            print(
                f"{data.name}: no transcript yet, so only json and qdpx were written; run "
                f"`guide-tui transcribe {data.folder}` for the rest",
                file=sys.stderr,
            )
    return 1 if failures else 0


def _export_study(args: argparse.Namespace, formats: list[str] | None) -> int:
    from guide_tui.errors import ExportError
    from guide_tui.export import find_sessions, read_session
    from guide_tui.export.qdpx import write_study_qdpx
    from guide_tui.paths import recordings_dir
    from guide_tui.study.report import interview_reached, select_guide

    if formats not in (None, ["qdpx"]):
        raise ExportError("--study writes one REFI-QDA project: use --format qdpx (or no --format)")
    root = recordings_dir(args.study)
    sessions = []
    for folder in find_sessions(root):
        try:
            sessions.append(warn(read_session(folder)))
        except ExportError as error:  # one broken folder must not block the study's project
            print(f"guide-tui: skipped {_shown(error)}", file=sys.stderr)
    guide, sessions, others = select_guide(sessions, args.guide)
    _warn_other_guides(guide, len(sessions), others)
    false_starts = [d for d in sessions if not interview_reached(d)]
    if false_starts:
        print(
            f"guide-tui: left out {len(false_starts)} session(s) that never reached the "
            "interview: " + _shown(", ".join(d.name for d in false_starts)),
            file=sys.stderr,
        )
    sessions = [d for d in sessions if interview_reached(d)]
    if args.clean:
        sessions = [clean_text(d) for d in sessions]
    if not sessions:
        raise ExportError(f"no sessions in {root}")
    # Into the recordings folder's exports/ (``sessions`` and ``study`` skip it: it holds no
    # session file), one project per guide.
    out = Path(args.out) if args.out else default_out(root)
    path = write_study_qdpx(
        sessions,
        out / f"study-{_file_safe(guide or 'study')}.qdpx",
        include_audio=not args.no_audio,
    )
    print(path)
    return 0


def _file_safe(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "study"


def _warn_other_guides(guide: str | None, count: int, others: list[tuple[str, int]]) -> None:
    """One study is one guide: say which, and which were left out (and how to choose them)."""
    if not others:
        return
    left_out = ", ".join(f"{g} ({n} session{'s' if n != 1 else ''})" for g, n in others)
    message = (
        f"guide-tui: this folder has interviews with {len(others) + 1} guides; this is the study "
        f"of {guide} ({count} session{'s' if count != 1 else ''}). Left out: {left_out}. "
        "Choose another with --guide ID."
    )
    print(_shown(message), file=sys.stderr)  # guide ids come from the sessions' files


def run_study(args: argparse.Namespace) -> int:
    from guide_tui.errors import ExportError
    from guide_tui.export.files import ensure_dir, write_text_atomic
    from guide_tui.paths import recordings_dir
    from guide_tui.study import load_study, render_markdown, render_text
    from guide_tui.study.tables import render_csv, render_csv_all

    root = recordings_dir(args.dir)
    study = load_study(root, args.guide)
    for problem in study.problems:
        print(f"guide-tui: skipped {_shown(problem)}", file=sys.stderr)
    _warn_other_guides(study.guide_id, len(study.sessions), list(study.other_guides))
    for data in study.sessions:
        warn(data)
    if not study.sessions:
        if study.not_started:
            raise ExportError(
                f"no interviews in {root}: {len(study.not_started)} session(s) never reached "
                "the interview (see guide-tui sessions)"
            )
        raise ExportError(f"no sessions in {root}")
    tables = list(study.tables)
    if args.format == "csv":
        if args.out:
            folder = ensure_dir(Path(args.out))
            for table in tables:
                # The BOM: Excel opens a CSV as the system's code page unless it sees one.
                path = write_text_atomic(folder / f"{table.name}.csv", render_csv(table), bom=True)
                print(path)
            return 0
        sys.stdout.write(_for_stdout(render_csv_all(tables)))
        return 0
    if args.format == "md":
        text = render_markdown(tables, study.title)
    elif args.out:
        from guide_tui.study.tables import FILE_WIDTH

        text = render_text(tables, study.title, width=FILE_WIDTH)  # a file: never fold words
    else:
        import shutil

        text = render_text(tables, study.title, width=max(shutil.get_terminal_size().columns, 100))
    if args.out:
        print(write_text_atomic(Path(args.out), text))
    else:
        sys.stdout.write(_for_stdout(text))
    return 0


def run_anonymise(args: argparse.Namespace) -> int:
    from guide_tui.errors import ExportError
    from guide_tui.export import FORMATS, export_session, get_writer, read_session
    from guide_tui.export.anonymise import anonymise_session, load_names, write_key
    from guide_tui.userfiles import NotARegularFile, check_regular_file

    try:
        check_regular_file(args.names)  # reading a FIFO or /dev/stdin would wait for ever
    except NotARegularFile as error:
        raise ExportError(f"{args.names}: {error.strerror}; give the names file") from None
    except OSError:
        pass  # load_names says what is wrong
    data = warn(read_session(_resolve_session(args.session)))
    names = load_names(Path(args.names))
    anonymised, report = anonymise_session(data, names)
    formats = _formats(args.format) or [f for f in FORMATS if get_writer(f).can_write(data)]
    out = Path(args.out) if args.out else default_out(data.folder, "anonymised")
    written = export_session(anonymised, formats, out, include_audio=False)
    key = write_key(data.folder, Path(args.names), report)
    for path in written:
        print(path)
    missing = [entry for entry in report if not entry.count]
    for entry in report:
        if entry.count or len(missing) <= 20:  # a long list (a staff register): found ones only
            forms = ", ".join(sorted(entry.forms)) or "not found"
            details = f", {entry.in_details} in the session details" if entry.in_details else ""
            print(
                f"{entry.placeholder}: {entry.count} replaced ({forms}){details}", file=sys.stderr
            )
    if len(missing) > 20:
        print(f"{len(missing)} listed names not found (see the key file)", file=sys.stderr)
    print(f"key (keep private, do not share): {key}", file=sys.stderr)
    if "qdpx" in formats:
        print("the .qdpx has no audio: a recording cannot be anonymised", file=sys.stderr)
    return 0
