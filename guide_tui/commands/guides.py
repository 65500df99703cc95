"""``guide-tui check`` and ``guide-tui show``: validate and print interview guides."""

from __future__ import annotations

import argparse
import sys

ORDER = 10


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = subparsers.add_parser(
        "check",
        help="validate guide files",
        description="Validate interview guides. Every problem is listed with file, line and "
        "column. Exit status 0: all valid; 1: at least one invalid.",
    )
    check.add_argument("guides", nargs="+", metavar="GUIDE", help="guide YAML file(s)")
    check.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    check.set_defaults(func=run_check)

    show = subparsers.add_parser(
        "show",
        help="print a guide",
        description="Print a readable rendering of a guide (or Markdown, for an appendix).",
    )
    show.add_argument("guide", metavar="GUIDE", help="guide YAML file")
    show.add_argument("--group", metavar="G", help="show it as asked of participant group G")
    show.add_argument("--format", choices=("text", "markdown"), default="text")
    show.set_defaults(func=run_show)


def run_check(args: argparse.Namespace) -> int:
    from guide_tui.errors import GuideError
    from guide_tui.guide.loader import load_guide_with_warnings

    invalid = 0
    for path in args.guides:
        try:
            guide, warnings = load_guide_with_warnings(path)
        except GuideError as error:
            invalid += 1
            print(error, file=sys.stderr)
            errors = sum(1 for p in error.problems if p.severity == "error") or 1
            print(f"{path}: invalid ({errors} error{'s' if errors != 1 else ''})", file=sys.stderr)
            continue
        for warning in warnings:
            print(warning, file=sys.stderr)
        if not args.quiet:
            questions = sum(len(t.questions) for t in guide.topics)
            note = (
                f", {len(warnings)} warning{'s' if len(warnings) != 1 else ''}" if warnings else ""
            )
            print(
                f"{path}: ok — {guide.title!r} v{guide.version}, {len(guide.topics)} topics, "
                f"{questions} questions{note}"
            )
    return 1 if invalid else 0


def run_show(args: argparse.Namespace) -> int:
    from guide_tui.errors import GuideError
    from guide_tui.guide import load_guide
    from guide_tui.guide.render import to_markdown, to_rich

    guide = load_guide(args.guide)
    if args.group is not None and args.group not in {g.id for g in guide.groups}:
        known = ", ".join(g.id for g in guide.groups) or "none"
        raise GuideError(f"unknown group '{args.group}' for {args.guide} (groups: {known})")
    if args.format == "markdown":
        from guide_tui.safetext import printable, terminal_text

        text = to_markdown(guide, args.group)
        sys.stdout.write(terminal_text(text) if sys.stdout.isatty() else printable(text))
        return 0
    from rich.console import Console

    Console(highlight=False).print(to_rich(guide, args.group))
    return 0
