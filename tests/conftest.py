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
