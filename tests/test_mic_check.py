"""The microphone check's verdict: the noise floor comes from real pauses, never from speech.

Unit tests on synthetic audio (speech-like bursts of noise, pauses, a fan), and one check through
``guide-tui mic-check --audio-file`` on espeak-ng speech whose pauses are digital silence (it used
to say NOISY ... switch off fans).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from virtual_mic import make_speech

from guide_tui.recorder.config import RecorderConfig
from guide_tui.recorder.mic_check import judge

RATE = 16000
SOURCE = SimpleNamespace(name="test", samplerate=RATE, channels=1)


def db(level_db: float) -> float:
    return float(10 ** (level_db / 20))


def speech_like(seconds: float, level_db: float, seed: int = 1) -> np.ndarray:
    """Noise shaped into syllables (4 a second): continuous speech, no pauses; its quietest 20 ms
    windows are 20 dB below the speech."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    envelope = np.abs(np.sin(2 * np.pi * 2 * np.arange(n) / RATE))
    x = rng.standard_normal(n) * envelope
    return x / np.sqrt((x**2).mean()) * db(level_db)


def with_pauses(
    speech: np.ndarray, pauses: int, pause_s: float, background: np.ndarray
) -> np.ndarray:
    """``pauses`` evenly spread gaps of ``pause_s`` where only ``background`` is heard."""
    out = speech + background
    step = len(out) // (pauses + 1)
    width = int(pause_s * RATE)
    for k in range(1, pauses + 1):
        out[k * step : k * step + width] = background[k * step : k * step + width]
    return out


def verdict(audio: np.ndarray):  # type: ignore[no-untyped-def]
    return judge(SOURCE, audio[:, None], 0, 0, RecorderConfig())  # type: ignore[arg-type]


def test_clean_speech_with_few_silent_pauses_is_not_noisy() -> None:
    # 3 pauses of 0.15 s in 5 s: fewer than 10 % of the windows, so a 10th percentile of all
    # windows lands in speech (-20 dBFS) and called it a noisy room.
    audio = with_pauses(speech_like(5.0, -20), 3, 0.15, np.zeros(5 * RATE))
    result = verdict(audio)
    assert result.verdict == "ok", result.advice
    assert result.noise_floor_db is not None and result.noise_floor_db < -100
    assert "digital silence" in result.advice


def test_a_fan_heard_in_the_pauses_is_noisy() -> None:
    fan = np.random.default_rng(7).standard_normal(5 * RATE) * db(-40)
    result = verdict(with_pauses(speech_like(5.0, -20), 4, 0.3, fan))
    assert result.verdict == "noisy", result.advice
    assert result.noise_floor_db == pytest.approx(-40, abs=1.5)
    assert "fans" in result.advice


def test_a_quiet_room_in_the_pauses_is_ok_with_its_level() -> None:
    room = np.random.default_rng(7).standard_normal(5 * RATE) * db(-60)
    result = verdict(with_pauses(speech_like(5.0, -20), 4, 0.3, room))
    assert result.verdict == "ok", result.advice
    assert result.noise_floor_db == pytest.approx(-60, abs=1.5)
    assert "background -60 dBFS" in result.advice


def test_speech_without_any_pause_leaves_the_floor_unmeasured_and_says_so() -> None:
    result = verdict(speech_like(5.0, -20))
    assert result.verdict == "ok", result.advice
    assert result.noise_floor_db is None
    assert "could not be measured" in result.advice


def test_loud_noise_without_pauses_is_still_noisy() -> None:
    # Nothing was ever quieter than -38 dBFS: the floor is at least that high.
    hum = np.random.default_rng(3).standard_normal(5 * RATE) * db(-35)
    result = verdict(speech_like(5.0, -25) + hum)
    assert result.verdict == "noisy", result.advice
    assert result.noise_floor_db is not None and result.noise_floor_db > -45


@pytest.mark.slow
@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT"])
def test_mic_check_of_espeak_speech_with_silent_pauses_says_good(
    tmp_path: Path, subtype: str
) -> None:
    """Also from a 32-bit float WAV, which used to play at -90 dBFS and read SILENT."""
    speech = make_speech(
        tmp_path,
        rate=RATE,
        text="Well I think the new arrangement works quite well for most of our patients, "
        "and the nurses handle the routine controls while I see the complicated cases.",
    )
    assert sf.info(str(speech)).frames > 5 * RATE
    if subtype != "PCM_16":
        data, rate = sf.read(speech, dtype="float32")
        speech = tmp_path / f"speech-{subtype}.wav"
        sf.write(speech, data, rate, subtype=subtype)
    result = subprocess.run(
        [sys.executable, "-m", "guide_tui", "mic-check", "--seconds", "5", "--audio-file", speech],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: Good" in result.stdout and "NOISY" not in result.stdout
