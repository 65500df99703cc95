"""``guide-tui devices`` and ``guide-tui mic-check`` as a user runs them: a real process, a real
(virtual) microphone, plain-words verdicts, one-line errors and non-zero exits, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from virtual_mic import isolate_pulse_client, make_silence, make_speech, make_tone, virtual_mic

isolate_pulse_client()
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def guide_tui(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guide_tui", *args],
        capture_output=True,
        text=True,
        env=env or dict(os.environ),
        timeout=90,
    )


def no_sound_env(tmp_path: Path) -> dict[str, str]:
    """A machine without a sound card or server (PortAudio finds nothing to record from)."""
    runtime = tmp_path / "xdg"
    runtime.mkdir(exist_ok=True)
    return dict(
        os.environ,
        XDG_RUNTIME_DIR=str(runtime),
        PULSE_SERVER=f"unix:{tmp_path}/no-server",
        HOME=str(tmp_path),
    )


def test_devices_lists_the_inputs_with_the_default_marked(tmp_path: Path) -> None:
    with virtual_mic(tmp_path / "pa") as mic:
        table = guide_tui("devices", env=mic.child_env())
        listed = guide_tui("devices", "--json", env=mic.child_env())
    assert table.returncode == 0, table.stderr
    assert "default" in table.stdout and "*" in table.stdout
    devices = json.loads(listed.stdout)
    assert sum(d["is_default"] for d in devices) == 1
    assert all(d["channels"] > 0 and d["default_samplerate"] > 0 for d in devices)


def test_devices_without_any_input_says_so(tmp_path: Path) -> None:
    result = guide_tui("devices", env=no_sound_env(tmp_path))
    assert "Traceback" not in result.stderr
    if result.returncode == 0:  # ALSA's pulse plugin lists devices even without a server
        assert "default" in result.stdout
    else:
        assert "No audio input devices" in result.stdout


def run_check_while_playing(tmp_path: Path, fixture: Path, *extra: str):  # type: ignore[no-untyped-def]
    with virtual_mic(tmp_path / "pa") as mic:
        check = subprocess.Popen(
            [sys.executable, "-m", "guide_tui", "mic-check", "--seconds", "3",
             "--samplerate", "48000", "--json", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=mic.child_env(),
        )  # fmt: skip
        time.sleep(2.5)  # the process starts and the first callback arrives
        mic.play(fixture)
        out, err = check.communicate(timeout=60)
    assert "Traceback" not in err
    return check.returncode, json.loads(out)


def test_mic_check_with_speech_says_good(tmp_path: Path) -> None:
    speech = make_speech(tmp_path, text="Testing, testing, one two three. " * 3)
    code, result = run_check_while_playing(tmp_path, speech)
    assert result["verdict"] == "ok", result
    assert code == 0 and result["clipped_samples"] == 0


def test_mic_check_on_a_dead_microphone_says_silent(tmp_path: Path) -> None:
    code, result = run_check_while_playing(tmp_path, make_silence(tmp_path, 5.0))
    assert code == 1 and result["verdict"] == "silent"
    assert "muted" in result["advice"]


def test_mic_check_of_an_overdriven_recording_says_clipping(tmp_path: Path) -> None:
    loud = make_tone(tmp_path, 3.0, rate=16000, gain_db=6)
    result = guide_tui("mic-check", "--seconds", "2", "--audio-file", str(loud))
    assert result.returncode == 1, result.stderr
    assert "CLIPPING" in result.stdout and "lower the input gain" in result.stdout


def test_mic_check_without_a_device_is_one_clear_line(tmp_path: Path) -> None:
    result = guide_tui("mic-check", "--seconds", "1", env=no_sound_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("guide-tui: ")
    assert "Traceback" not in result.stderr


def test_mic_check_rejects_a_bad_duration() -> None:
    result = guide_tui("mic-check", "--seconds", "0")
    assert result.returncode == 2 and "--seconds" in result.stderr


def test_run_rejects_a_missing_audio_file_before_the_tui_starts(tmp_path: Path) -> None:
    result = guide_tui(
        "run",
        str(Path(__file__).resolve().parent.parent / "guides" / "demo.yaml"),
        "--participant",
        "P01",
        "--recordings",
        str(tmp_path),
        "--audio-file",
        str(tmp_path / "nope.wav"),
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"guide-tui: --audio-file {tmp_path / 'nope.wav'}: no such file"
    assert not any(tmp_path.iterdir()), "no session folder is left behind"


def test_run_offers_device_and_audio_file_options() -> None:
    result = guide_tui("run", "--help")
    assert "--device" in result.stdout and "--audio-file" in result.stdout


def test_voice_enroll_from_the_microphone_stores_a_private_profile(tmp_path: Path) -> None:
    """``guide-tui voice enroll`` as a user runs it: a real process listening to a (virtual)
    microphone while an espeak voice reads; only the 256 numbers are kept, owner-only."""
    import stat

    from guide_tui import voiceprint

    pytest.importorskip("torch")
    text = (
        "Good morning. I am reading this text aloud so that the program learns my voice. It "
        "will know me again in every interview I record."
    )
    speech = make_speech(tmp_path, text=text)
    with virtual_mic(tmp_path / "pa") as mic:
        enrol = subprocess.Popen(
            [sys.executable, "-m", "guide_tui", "voice", "enroll", "--seconds", "12"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=mic.child_env(),
        )  # fmt: skip
        time.sleep(2.5)
        mic.play(speech)
        out, err = enrol.communicate(timeout=90)
    assert enrol.returncode == 0, err
    assert "Traceback" not in err and "Voice profile stored" in out
    path = voiceprint.profile_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(voiceprint.load_profile() or ()) == 256
    assert [p.name for p in path.parent.iterdir()] == [voiceprint.PROFILE_FILE]  # no audio
