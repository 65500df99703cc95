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
from guide_tui import __version__
from guide_tui.errors import GuideTuiError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guide-tui",
        description="A terminal assistant for qualitative research interviews: guide, record, "
        "transcribe, export.",
    )
    parser.add_argument("--version", action="version", version=f"guide-tui {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = sorted(
        (importlib.import_module(f"guide_tui.commands.{info.name}")
         for info in pkgutil.iter_modules(guide_tui.commands.__path__)),
        key=lambda module: (getattr(module, "ORDER", 50), module.__name__),
    )
    for module in modules:
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
    try:
        return int(func(args) or 0)
    except GuideTuiError as error:
        print(f"guide-tui: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("guide-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
