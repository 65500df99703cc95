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


# -- files that are not regular files --------------------------------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    """A real named pipe nobody writes to: opening it for reading blocks for ever."""
    path = tmp_path / "guide.yaml"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["check", "{fifo}"],
        ["show", "{fifo}"],
        ["run", "{fifo}", "-p", "P01", "--no-audio"],
        ["mic-check", "--audio-file", "{fifo}", "--seconds", "0.3"],
        ["run", str(DEMO), "-p", "P01", "--audio-file", "{fifo}"],
    ],
    ids=["check", "show", "run-guide", "mic-check-audio-file", "run-audio-file"],
)
def test_a_fifo_is_refused_not_waited_on(tmp_path: Path, fifo: Path, command: list[str]) -> None:
    recordings = tmp_path / "recordings"
    args = [part.replace("{fifo}", str(fifo)) for part in command]
    if args[0] == "run":
        args += ["--recordings", str(recordings)]
    result = guide_tui(*args, config=tmp_path, timeout=20)  # a hang fails on the timeout
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert any("is a pipe (FIFO), not a" in line for line in lines), result.stderr
    assert len(lines) <= 2, result.stderr  # check adds its "invalid (1 error)" summary
    assert not recordings.exists() or not any(recordings.iterdir())


def test_anonymise_names_file_that_is_a_fifo_is_refused(tmp_path: Path, fifo: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from fixtures_speech import make_session

    session = make_session(tmp_path / "s", [])
    result = guide_tui("anonymise", str(session), "--names", str(fifo), config=tmp_path, timeout=20)
    assert_one_line_error(result, "is a pipe (FIFO)", "names file")


@pytest.mark.parametrize(
    ("path", "kind"), [("/dev/zero", "a device"), ("/dev/null", "a device"), ("/", "a folder")]
)
def test_devices_and_folders_are_refused_as_guides_and_audio(
    tmp_path: Path, path: str, kind: str
) -> None:
    shown = guide_tui("show", path, config=tmp_path, timeout=20)
    assert_one_line_error(shown, f"is {kind}, not a guide file")
    checked = guide_tui("mic-check", "--audio-file", path, config=tmp_path, timeout=20)
    assert_one_line_error(checked, f"is {kind}, not a file")


def test_dev_stdin_is_refused_whatever_stdin_is(tmp_path: Path) -> None:
    """``/dev/stdin`` is a link to whatever descriptor 0 is; here a pipe kept open, so reading it
    would wait for ever."""
    with subprocess.Popen(
        [sys.executable, "-m", "guide_tui", "show", "/dev/stdin"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "GUIDE_TUI_CONFIG_DIR": str(tmp_path)},
    ) as process:
        try:
            process.wait(timeout=20)  # stdin stays open meanwhile: a regression hangs here
        finally:
            process.kill()
        err = process.stderr.read() if process.stderr else ""
    assert process.returncode != 0 and "Traceback" not in err, err
    assert "is a pipe (FIFO), not a guide file" in err, err
