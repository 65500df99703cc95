"""The config file: one reader, used for the recordings folder and the [recording] settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from guide_tui.cli import main
from guide_tui.errors import ConfigError, RecorderError
from guide_tui.paths import read_config, recordings_dir
from guide_tui.recorder.config import load_recorder_config


def write_config(folder: Path, text: str) -> None:
    (folder / "config.toml").write_text(text, encoding="utf-8")


def test_no_config_means_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GUIDE_TUI_RECORDINGS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert read_config() == {}
    assert recordings_dir() == tmp_path / "recordings"
    assert load_recorder_config().channels == 1


def test_recordings_and_recording_settings_from_config(
    _isolated_config: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GUIDE_TUI_RECORDINGS", raising=False)
    write_config(
        _isolated_config, f'recordings = "{tmp_path}/interviews"\n[recording]\nchannels = 2\n'
    )
    assert recordings_dir() == tmp_path / "interviews"
    assert recordings_dir("elsewhere") == Path("elsewhere")  # an option beats the config
    monkeypatch.setenv("GUIDE_TUI_RECORDINGS", str(tmp_path / "env"))
    assert recordings_dir() == tmp_path / "env"  # and so does the environment
    assert load_recorder_config().channels == 2
    assert load_recorder_config(channels=1).channels == 1  # CLI options beat the config


def test_broken_config_is_a_clear_error_not_silently_ignored(
    _isolated_config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GUIDE_TUI_RECORDINGS", raising=False)
    write_config(_isolated_config, 'recordings = "unclosed\n')
    with pytest.raises(ConfigError, match=r"config\.toml: not a valid config file"):
        recordings_dir()
    assert main(["sessions"]) == 2
    err = capsys.readouterr().err
    assert "not a valid config file" in err and "line 1" in err and "Traceback" not in err


def test_wrong_value_types(_isolated_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GUIDE_TUI_RECORDINGS", raising=False)
    write_config(_isolated_config, "recordings = 3\n")
    with pytest.raises(ConfigError, match="'recordings' must be a folder path"):
        recordings_dir()
    write_config(_isolated_config, 'recording = "loud"\n')
    with pytest.raises(RecorderError, match=r"\[recording\] must be a table"):
        load_recorder_config()
