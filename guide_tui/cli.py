"""The ``guide-tui`` command line.

One argparse parser; sub-commands come from the modules of ``guide_tui.commands`` (each defines
``register(subparsers)``), so each area of the product owns its commands. Errors meant for the user
(:class:`~guide_tui.errors.GuideTuiError`) are printed without a traceback and exit non-zero.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import guide_tui.commands
from guide_tui.errors import GuideTuiError


class _VersionAction(argparse.Action):
    """``--version``, reading the package metadata only when asked (it costs ~30 ms)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_args: object, **_kwargs: object) -> None:
        import guide_tui

        print(f"guide-tui {guide_tui.__version__}")
        parser.exit()


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``only``, just the command module of that name.

    ``guide-tui run`` starts the interview, and every millisecond before its first screen counts:
    importing all command modules to build the full parser costs ~26 ms, so a command that has a
    module of its own name (``commands/run.py``) is parsed with that module alone.
    """
    parser = argparse.ArgumentParser(
        prog="guide-tui",
        description="A terminal assistant for qualitative research interviews: guide, record, "
        "transcribe, export.",
    )
    parser.add_argument("--version", action=_VersionAction)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    names = (
        [only]
        if only is not None
        else [info.name for info in pkgutil.iter_modules(guide_tui.commands.__path__)]
    )
    modules = sorted(
        (importlib.import_module(f"guide_tui.commands.{name}") for name in names),
        key=lambda module: (getattr(module, "ORDER", 50), module.__name__),
    )
    for module in modules:
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    only = None
    if arguments and arguments[0].isidentifier() and _has_own_module(arguments[0]):
        only = arguments[0]
    parser = build_parser(only)
    args = parser.parse_args(arguments)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
    try:
        return int(func(args) or 0)
    except GuideTuiError as error:
        from guide_tui.safetext import terminal_text  # messages may quote a session's data

        print(f"guide-tui: {terminal_text(str(error))}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("guide-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _has_own_module(command: str) -> bool:
    """Whether ``guide_tui/commands/<command>.py`` exists (checked without importing it)."""
    return any(info.name == command for info in pkgutil.iter_modules(guide_tui.commands.__path__))
