"""Layering, proven: each module is imported alone in a fresh interpreter and must not pull in
what its layer may not use (docs/architecture.md). Textual only in ``guide_tui.tui``; nothing heavy
(numpy, sounddevice, torch, whisper, ...) in the domain, the CLI's command modules or ``cli``."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import guide_tui

HEAVY = (
    "numpy",
    "sounddevice",
    "soundfile",
    "torch",
    "whisper",
    "faster_whisper",
    "ctranslate2",
    "dask",  # --cluster only (guide_tui.transcribe.cluster)
    "distributed",
)
ALL_MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(guide_tui.__path__, "guide_tui.")
    if not info.name.endswith("__main__")  # importing it runs the CLI
)
LIGHT = [
    name
    for name in ALL_MODULES
    if name.startswith(("guide_tui.guide", "guide_tui.session", "guide_tui.commands"))
    or name
    in (
        "guide_tui",
        "guide_tui.cli",
        "guide_tui.errors",
        "guide_tui.atomic",
        "guide_tui.paths",
        "guide_tui.recorder",
        "guide_tui.recorder.base",
    )
]
NOT_TUI = [name for name in ALL_MODULES if not name.startswith("guide_tui.tui")]


def imported_after(module: str) -> set[str]:
    code = (
        "import importlib, json, sys; importlib.import_module(sys.argv[1]); "
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, module], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("module", LIGHT)
def test_domain_and_cli_modules_import_nothing_heavy(module: str) -> None:
    loaded = imported_after(module)
    assert not loaded & {"textual", *HEAVY}, (
        f"{module} imports {sorted(loaded & {'textual', *HEAVY})}"
    )


@pytest.mark.parametrize("module", NOT_TUI)
def test_only_the_tui_imports_textual(module: str) -> None:
    assert "textual" not in imported_after(module)


def test_cli_parser_builds_without_heavy_imports() -> None:
    code = (
        "import sys, json; from guide_tui.cli import build_parser; build_parser(); "
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert not set(json.loads(result.stdout)) & {"textual", *HEAVY}
