"""Bad input from the user, through the real entry point: one line naming what is wrong, a non-zero
exit, no traceback, no session folder left behind, and never a hang.

Config values of the wrong type or range, files that are not regular files (a FIFO, a device, a
folder), a frozen guide that is not UTF-8 or is nested thousands deep, an empty ``--resume``,
a ``--device`` that does not exist.
"""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "guides" / "demo.yaml"


def guide_tui(
    *args: str, config: Path, timeout: float = 30, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m guide_tui ARGS`` with its own config folder, stdin closed (no terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "guide_tui", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "GUIDE_TUI_CONFIG_DIR": str(config), **env},
        timeout=timeout,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Non-zero exit, no traceback, one line on stderr that holds every needle."""
    err = result.stderr
    assert result.returncode != 0, (result.stdout, err)
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], err
    return lines[0]


def short_wav(path: Path, seconds: float = 0.5, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(seconds * rate))
    return path


# -- config.toml ---------------------------------------------------------------------------------

BAD_SETTINGS = [
    ('samplerate = "abc"', "samplerate", "8000 to 192000"),
    ('max_file_bytes = "big"', "max_file_bytes", "whole number of bytes"),
    ('latency = "ultra"', "latency", '"high", "low"'),
    ('silence_seconds = "ten"', "silence_seconds", "seconds"),
    ("silence_seconds = nan", "silence_seconds", "seconds"),
    ("channels = true", "channels", "1 or 2"),
    ("device = 1.5", "device", "device index"),
    ("fsync_seconds = -1", "fsync_seconds", "above 0"),
    ("clip_level = 2", "clip_level", "at most 1"),
    ("max_file_bytes = 4294967296", "max_file_bytes", "4 GiB"),
    ("level_interval = [1]", "level_interval", "seconds"),
]


@pytest.mark.parametrize(("setting", "key", "expected"), BAD_SETTINGS)
def test_wrong_recording_setting_is_one_line_naming_key_file_and_expectation(
    tmp_path: Path, setting: str, key: str, expected: str
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text(f"[recording]\n{setting}\n", encoding="utf-8")
    wav = short_wav(tmp_path / "pilot.wav")
    result = guide_tui("mic-check", "--audio-file", str(wav), "--seconds", "0.3", config=config)
    line = assert_one_line_error(result, f"[recording] {key} must be", expected)
    assert str(config / "config.toml") in line


def test_wrong_recording_setting_stops_run_before_a_session_folder_exists(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text('[recording]\nsilence_seconds = "ten"\n', encoding="utf-8")
    recordings = tmp_path / "recordings"
    result = guide_tui(
        "run", str(DEMO), "-p", "P01", "--recordings", str(recordings), config=config, timeout=20
    )
    assert_one_line_error(result, "silence_seconds", "config.toml")
    assert not recordings.exists() or not any(recordings.iterdir())


def test_wrong_option_value_names_the_option(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    wav = short_wav(tmp_path / "pilot.wav")
    result = guide_tui("mic-check", "--audio-file", str(wav), "--samplerate", "5", config=config)
    assert_one_line_error(result, "--samplerate must be", "8000 to 192000")
