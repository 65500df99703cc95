"""Test-wide isolation: no test reads the developer's own config file or model store."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """An empty config folder for every test (tests that need a config write one there)."""
    folder: Path = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("GUIDE_TUI_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def _isolated_spill_folders(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> list[Path]:
    """Held events copied out of a full disk go to a test folder, not the developer's home.

    Two places, as home and the temp folder are (tests in a child process set HOME/TMPDIR).
    """
    from guide_tui.session import spill

    base: Path = tmp_path_factory.mktemp("spill")
    places = [base / "home", base / "tmp"]
    for place in places:
        place.mkdir()
    monkeypatch.setattr(spill, "spill_folders", lambda: list(places))
    return places
