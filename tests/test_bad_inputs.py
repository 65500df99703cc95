"""Bad input from the user, through the real entry point: one line naming what is wrong, a non-zero
exit, no traceback, no session folder left behind, and never a hang.

Config values of the wrong type or range, files that are not regular files (a FIFO, a device, a
folder), a frozen guide that is not UTF-8 or is nested thousands deep, an empty ``--resume``,
a ``--device`` that does not exist.
"""

from __future__ import annotations

import json
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


# -- a frozen guide that is not UTF-8 or is nested thousands deep ---------------------------------

NOT_UTF8 = b"id: x\ntitle: Caf\xe9 study\n"  # Latin-1, as an old editor saves it
DEEP_FLOW = b"topics: " + b"[" * 20000
DEEP_BLOCK = "".join(" " * i + "a:\n" for i in range(3000)).encode()
BAD_GUIDES = [
    pytest.param(NOT_UTF8, "not UTF-8", id="not-utf8"),
    pytest.param(DEEP_FLOW, "nested too deeply", id="deep-flow"),
    pytest.param(DEEP_BLOCK, "nested too deeply", id="deep-block"),
]


@pytest.mark.parametrize(("data", "message"), BAD_GUIDES)
def test_lenient_guide_readers_get_a_guide_error(tmp_path: Path, data: bytes, message: str) -> None:
    """Transcription reads a field or two of the frozen guide without validating it; it used to
    call yaml.safe_load on read_text() and die of UnicodeDecodeError or RecursionError."""
    from guide_tui.errors import GuideError
    from guide_tui.guide.loader import load_guide, read_guide_data
    from guide_tui.transcribe.align import GuideText

    path = tmp_path / "guide.yaml"
    path.write_bytes(data)
    with pytest.raises(GuideError, match=message):
        read_guide_data(path)
    with pytest.raises(GuideError, match=message):
        load_guide(path)
    assert GuideText.read(tmp_path).titles == {}  # falls back to topic ids


def test_read_guide_data_gives_plain_data(tmp_path: Path) -> None:
    from guide_tui.guide.loader import read_guide_data

    path = tmp_path / "guide.yaml"
    path.write_text("language: da\nvocabulary: [Rygsmerter, 3]\ntopics: []\n", encoding="utf-8")
    assert read_guide_data(path) == {
        "language": "da",
        "vocabulary": ["Rygsmerter", 3],
        "topics": [],
    }


@pytest.mark.slow
@pytest.mark.parametrize(("data", "message"), BAD_GUIDES)
def test_transcribe_survives_a_damaged_frozen_guide(
    tmp_path: Path, data: bytes, message: str
) -> None:
    """The real command and real tiny.en weights on real speech (silence now exits 1, "no speech
    found"): the transcript is written (topic ids stand in for titles), no traceback."""
    sys.path.insert(0, str(ROOT / "tests"))
    from fixtures_speech import make_interview, make_session, models_cache

    speech = make_interview(
        (("I", "How are tasks delegated in your practice?", "delegation"),), samplerate=16000
    )
    session = make_session(
        tmp_path / "s",
        [speech.path],
        [(0.5, "topic_entered", {"topic": "delegation"})],
        guide_yaml=None,
    )
    (session / "guide.yaml").write_bytes(data)
    result = guide_tui(
        "transcribe",
        str(session),
        "--model",
        "tiny.en",
        config=tmp_path,
        timeout=300,
        GUIDE_TUI_MODELS=str(models_cache()),
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert (session / "transcript.json").is_file()


# -- an absurd time in the event log --------------------------------------------------------------


def _session_with_a_bad_time(tmp_path: Path, t: object) -> Path:
    from helpers_session import write_guide

    from guide_tui.session.events import EventType
    from guide_tui.session.store import Session

    guide = write_guide(tmp_path)
    with Session.create(guide, "P01", root=tmp_path / "recordings") as session:
        session.append(EventType.NOTE, text="before")
        folder = session.path
    line = {"v": 1, "seq": 2, "t": t, "wall": "2026-11-22T09:14:03.123+00:00", "type": "note"}
    with (folder / "events.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps({**line, "data": {"text": "from a damaged log"}}) + "\n")
    return folder


@pytest.mark.parametrize("t", [1e308, -5.0, 1e9, "1e308"])
def test_an_absurd_event_time_is_a_torn_line_and_never_starts_the_clock(
    tmp_path: Path, t: object
) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from guide_tui.session.events import EventType
    from guide_tui.session.store import Session

    folder = _session_with_a_bad_time(tmp_path, t)
    with Session.open(folder, mark_resumed=True) as session:
        [torn] = session.torn_lines
        assert torn.line == 3 and "not a session time" in torn.reason
        assert [e.data.get("text") for e in session.events[:2]] == [None, "before"]
        after = session.append(EventType.NOTE, text="after resuming")
    assert after.t < 60  # from the last good event, not from 1e308
    last = (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()[-1]
    assert len(str(json.loads(last)["t"])) < 12


def test_an_absurd_event_time_is_reported_by_sessions(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    folder = _session_with_a_bad_time(tmp_path, 1e308)
    result = guide_tui("sessions", str(folder.parent), config=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 torn line" in result.stdout


def test_an_absurd_audio_offset_never_starts_the_clock(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from guide_tui.recorder import _audio_end

    good = {"file": "audio-001.wav", "offset": 2.0, "samplerate": 16000, "frames": 32000}
    assert _audio_end([good]) == 4.0
    damaged = [
        good,
        {"file": "audio-002.wav", "offset": 1e308, "samplerate": 16000, "frames": 16000},
        {"file": "audio-003.wav", "offset": "soon", "samplerate": 16000, "frames": 16000},
        {"file": "audio-004.wav", "offset": 0, "samplerate": 0, "frames": 16000},
        "audio-005.wav",
    ]
    assert _audio_end(damaged) == 4.0
    assert _audio_end({"not": "a list"}) == 0.0


# -- run: empty --resume / GUIDE, a --device that is not there -------------------------------------


def test_run_resume_with_an_empty_path_is_refused(tmp_path: Path) -> None:
    """``--resume "$SESSION"`` with the variable unset used to open the guide picker."""
    result = guide_tui("run", "--resume", "", config=tmp_path, timeout=20)
    assert_one_line_error(result, "--resume needs the session folder")
    result = guide_tui("run", "--resume", "  ", "--no-audio", config=tmp_path, timeout=20)
    assert_one_line_error(result, "--resume needs the session folder")


def test_run_with_an_empty_guide_is_refused(tmp_path: Path) -> None:
    result = guide_tui("run", "", "-p", "P01", "--no-audio", config=tmp_path, timeout=20)
    assert_one_line_error(result, "GUIDE is empty")


def _no_sound_env(tmp_path: Path) -> dict[str, str]:
    """No sound server at all: PortAudio finds nothing (or only ALSA's unusable defaults)."""
    runtime = tmp_path / "xdg"
    runtime.mkdir(exist_ok=True)
    return {
        "XDG_RUNTIME_DIR": str(runtime),
        "PULSE_SERVER": f"unix:{tmp_path}/no-server",
        "HOME": str(tmp_path),
    }


def test_run_with_a_device_that_is_not_there_is_refused_before_a_session_exists(
    tmp_path: Path,
) -> None:
    recordings = tmp_path / "recordings"
    args = ["--device", "NoSuchMic", "--recordings", str(recordings)]
    result = guide_tui(
        "run", str(DEMO), "-p", "P01", *args, config=tmp_path, timeout=30, **_no_sound_env(tmp_path)
    )
    assert_one_line_error(result, "--device NoSuchMic: ", "--no-audio")
    assert not recordings.exists()
    mic_check = guide_tui(
        "mic-check", "--device", "NoSuchMic", config=tmp_path, **_no_sound_env(tmp_path)
    )
    assert mic_check.returncode == result.returncode  # refused the same way


@pytest.mark.slow
def test_run_with_a_misspelt_device_names_the_inputs(tmp_path: Path) -> None:
    """With a real (virtual) microphone present: the same words as mic-check, the inputs listed."""
    sys.path.insert(0, str(ROOT / "tests"))
    from virtual_mic import virtual_mic

    recordings = tmp_path / "recordings"
    with virtual_mic(tmp_path / "pa") as mic:
        env = mic.child_env()
        result = guide_tui(
            "run", str(DEMO), "-p", "P01", "--device", "NoSuchMic",
            "--recordings", str(recordings), config=tmp_path, timeout=30, **env,
        )  # fmt: skip
        checked = guide_tui("mic-check", "--device", "NoSuchMic", config=tmp_path, **env)
    line = assert_one_line_error(result, "no input device matches 'NoSuchMic'; inputs are: ")
    assert line.split("--device NoSuchMic: ", 1)[1].startswith(
        checked.stderr.strip().splitlines()[-1].removeprefix("guide-tui: ")
    )
    assert not recordings.exists()


@pytest.mark.parametrize("pseudonym", ["\u0301\u0301\u0301", "\u3164", "P\u316401"])
def test_run_refuses_an_invisible_pseudonym_before_a_session_exists(
    tmp_path: Path, pseudonym: str
) -> None:
    recordings = tmp_path / "recordings"
    result = guide_tui(
        "run", str(DEMO), "-p", pseudonym, "--no-audio", "--recordings", str(recordings),
        config=tmp_path, timeout=30,
    )  # fmt: skip
    assert_one_line_error(result, "participant pseudonym")
    assert not recordings.exists() or not any(recordings.iterdir())


@pytest.mark.parametrize("seconds", ["nan", "inf", "0", "-1"])
def test_mic_check_refuses_a_duration_that_is_not_a_number_of_seconds(
    tmp_path: Path, seconds: str
) -> None:
    wav = short_wav(tmp_path / "pilot.wav")
    result = guide_tui(
        "mic-check", "--seconds", seconds, "--audio-file", str(wav), config=tmp_path, timeout=20
    )
    assert_one_line_error(result, "--seconds must be between 0 and 600")


def test_a_config_file_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "config.toml")
    result = guide_tui("sessions", config=tmp_path, timeout=20, GUIDE_TUI_RECORDINGS="")
    assert_one_line_error(result, "config.toml: cannot read the config file", "pipe (FIFO)")
