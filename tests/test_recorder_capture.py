"""End-to-end capture through a real virtual microphone (PulseAudio null sink, see virtual_mic.py).

What is played into the microphone must be in the WAV on disk sample for sample; the clock must
equal frames written ÷ rate; pause, stop, two channels, a lost device and a missing device must
behave as SPEC §5 says. Real time: each test takes a few seconds.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from virtual_mic import (
    isolate_pulse_client,
    locate,
    make_silence,
    make_speech,
    make_tone,
    virtual_mic,
)

from guide_tui.recorder.base import RecorderState
from guide_tui.recorder.capture import AudioRecorder
from guide_tui.recorder.config import RecorderConfig

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
isolate_pulse_client()

RATE = 48000


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def wait_first_audio(recorder: AudioRecorder) -> None:
    """The first callback through PulseAudio takes up to ~2 s: play only after it."""
    assert wait_for(lambda: recorder.now() > 0.05), recorder.poll()


def play(mic, path: Path) -> None:  # type: ignore[no-untyped-def]
    player = mic.play(path)
    assert player.wait(60) == 0, player.stderr.read() if player.stderr else ""


def read(path: Path, dtype: str = "int16") -> np.ndarray:
    data, rate = sf.read(path, dtype=dtype, always_2d=True)
    assert rate == RATE
    return data


def test_speech_played_into_the_microphone_is_on_disk_bit_exact(tmp_path: Path) -> None:
    speech = make_speech(tmp_path, rate=RATE)
    reference = read(speech)
    with virtual_mic(tmp_path / "pa", rate=RATE) as mic:
        recorder = AudioRecorder(tmp_path / "session", RecorderConfig(samplerate=RATE))
        recorder.start()
        wait_first_audio(recorder)
        play(mic, speech)
        time.sleep(0.3)
        live = recorder.poll()
        recorder.stop()
        status = recorder.poll()

    assert live.state == RecorderState.RECORDING and live.device
    assert status.state == RecorderState.STOPPED
    wav = tmp_path / "session" / "audio-001.wav"
    captured = read(wav)
    found = locate(captured, reference)
    assert found is not None, "the played speech is not in the recording"
    offset, n_equal, n = found
    assert n == len(reference) and n_equal == n, f"{n - n_equal} of {n} samples differ"
    assert not captured[:offset].any() and not captured[offset + len(reference) :].any()
    # The clock is the audio: frames written / rate, and stop() drained every queued block.
    (info,) = status.files
    assert info.frames == len(captured) == round(status.t * RATE)
    assert info.closed_reason == "stopped" and info.offset == 0.0
    assert status.dropped_frames == 0 and status.overflows == 0
    assert (wav.stat().st_mode & 0o777) == 0o600
    sox = subprocess.run(["soxi", "-s", str(wav)], capture_output=True, text=True)
    assert sox.returncode == 0 and int(sox.stdout) == len(captured)


def test_pause_keeps_the_clock_still_and_nothing_of_the_pause_is_kept(tmp_path: Path) -> None:
    tone = make_tone(tmp_path, 6.0, rate=RATE, gain_db=-12)
    with virtual_mic(tmp_path / "pa", rate=RATE) as mic:
        recorder = AudioRecorder(tmp_path / "s", RecorderConfig(samplerate=RATE))
        recorder.start()
        wait_first_audio(recorder)
        player = mic.play(tone)
        time.sleep(1.0)
        recorder.pause()
        paused_at = recorder.now()
        time.sleep(1.5)
        meter_during_pause = recorder.poll()
        assert recorder.now() == paused_at
        recorder.resume()
        time.sleep(1.0)
        recorder.stop()
        player.wait(30)
        status = recorder.poll()
    assert meter_during_pause.state == RecorderState.PAUSED
    assert meter_during_pause.rms_db > -30, "the meter keeps moving while paused"
    frames = len(read(tmp_path / "s" / "audio-001.wav"))
    assert frames == round(status.t * RATE)
    assert 1.6 < status.t < 3.5  # about 1 s + 1 s of audio, the 1.5 s pause left out


def test_two_channels_one_microphone_per_speaker(tmp_path: Path) -> None:
    speech = make_speech(tmp_path, rate=RATE, channels=2)
    reference = read(speech)
    with virtual_mic(tmp_path / "pa", rate=RATE, channels=2) as mic:
        recorder = AudioRecorder(tmp_path / "s", RecorderConfig(samplerate=RATE, channels=2))
        recorder.start()
        wait_first_audio(recorder)
        play(mic, speech)
        status = recorder.poll()
        recorder.stop()
    captured = read(tmp_path / "s" / "audio-001.wav")
    assert captured.shape[1] == 2 and len(status.channel_rms_db) == 2
    found = locate(captured, reference)
    assert found is not None and found[1] == found[2] == len(reference)


def test_levels_update_at_ten_hertz_or_more(tmp_path: Path) -> None:
    tone = make_tone(tmp_path, 3.0, rate=RATE, gain_db=-20)
    with virtual_mic(tmp_path / "pa", rate=RATE) as mic:
        recorder = AudioRecorder(tmp_path / "s", RecorderConfig(samplerate=RATE))
        recorder.start()
        wait_first_audio(recorder)
        player = mic.play(tone)
        time.sleep(0.8)
        run = recorder._run
        assert run is not None
        before, t0 = run.monitor.windows, time.monotonic()
        time.sleep(1.5)
        rate = (run.monitor.windows - before) / (time.monotonic() - t0)
        status = recorder.poll()
        player.wait(30)
        recorder.stop()
    assert rate >= 9.5
    # A -20 dB sine: RMS is 3 dB below its peak.
    assert abs(status.peak_db - -20) < 1.0 and abs(status.rms_db - -23) < 1.0


def test_silence_warning_fires_on_a_dead_microphone(tmp_path: Path) -> None:
    silence = make_silence(tmp_path, 4.0, rate=RATE)
    config = RecorderConfig(samplerate=RATE, silence_seconds=2.0)
    with virtual_mic(tmp_path / "pa", rate=RATE) as mic:
        recorder = AudioRecorder(tmp_path / "s", config)
        recorder.start()
        wait_first_audio(recorder)
        play(mic, silence)
        warnings = recorder.poll().warnings
        recorder.stop()
    kinds = [w.kind for w in warnings]
    assert kinds.count("silence") == 1, kinds
    assert "muted" in warnings[kinds.index("silence")].message


def test_clipping_warning_fires_on_overdriven_input(tmp_path: Path) -> None:
    clipped = make_tone(tmp_path, 2.0, rate=RATE, gain_db=6)  # sox clips the +6 dB sine
    with virtual_mic(tmp_path / "pa", rate=RATE) as mic:
        recorder = AudioRecorder(tmp_path / "s", RecorderConfig(samplerate=RATE))
        recorder.start()
        wait_first_audio(recorder)
        play(mic, clipped)
        time.sleep(1.2)
        warnings = recorder.poll().warnings
        recorder.stop()
    assert "clipping" in [w.kind for w in warnings]


def test_normal_speech_raises_neither_silence_nor_clipping(tmp_path: Path) -> None:
    speech = make_speech(tmp_path, rate=RATE)
    config = RecorderConfig(samplerate=RATE, silence_seconds=2.0)
    with virtual_mic(tmp_path / "pa", rate=RATE) as mic:
        recorder = AudioRecorder(tmp_path / "s", config)
        recorder.start()
        wait_first_audio(recorder)
        player = mic.play(speech)
        time.sleep(0.3)
        recorder.poll()  # forget the silence before the speech started
        player.wait(60)
        warnings = recorder.poll().warnings
        recorder.stop()
    assert [w.kind for w in warnings] == []


def test_lost_device_closes_the_file_intact_and_recording_resumes_into_the_next(
    tmp_path: Path,
) -> None:
    tone = make_tone(tmp_path, 30.0, rate=RATE, gain_db=-12)
    folder = tmp_path / "s"
    with virtual_mic(tmp_path / "pa", rate=RATE) as mic:
        recorder = AudioRecorder(folder, RecorderConfig(samplerate=RATE))
        recorder.start()
        wait_first_audio(recorder)
        mic.play(tone)
        time.sleep(2.0)
        mic.kill()  # the sound server dies: what a pulled USB microphone looks like
        assert wait_for(lambda: recorder.state == RecorderState.LOST, 10)
        lost = recorder.poll()
        t_lost = recorder.now()
        time.sleep(0.5)
        assert recorder.now() > t_lost, "the clock runs on while no audio can be captured"

        recorder.resume()  # no device yet: stays lost, says why, no exception
        assert recorder.state == RecorderState.LOST
        assert recorder.poll().message

        mic.start()  # the device is back
        recorder.resume()
        assert recorder.state == RecorderState.RECORDING, recorder.poll().message
        assert wait_for(lambda: recorder.poll().files[-1].frames > RATE // 2)
        recorder.stop()
        final = recorder.poll()

    assert [w.kind for w in lost.warnings] == ["device_lost"]
    assert lost.state == RecorderState.LOST and "saved" in (lost.message or "")
    first, second = final.files
    assert first.file == "audio-001.wav" and first.closed_reason == "device_lost"
    assert second.file == "audio-002.wav" and second.closed_reason == "stopped"
    on_disk = read(folder / "audio-001.wav")
    assert len(on_disk) == first.frames and 1.5 * RATE < first.frames < 3.5 * RATE
    assert on_disk[RATE // 2 :].any()  # the tone is there, up to the loss
    assert second.offset >= first.offset + first.frames / RATE + 0.5
    assert len(read(folder / "audio-002.wav")) == second.frames


def test_no_input_device_means_notes_only_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from virtual_mic import reinit_portaudio

    # A sound server that is not there: PortAudio finds no way to capture.
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/nothing-here")
    monkeypatch.setenv("ALSA_CONFIG_PATH", "/usr/share/alsa/alsa.conf")
    reinit_portaudio()
    try:
        recorder = AudioRecorder(tmp_path / "s", RecorderConfig(start_timeout_seconds=3))
        recorder.start()
        if recorder.state == RecorderState.RECORDING:  # opened, but nothing will ever arrive
            assert wait_for(lambda: recorder.state != RecorderState.RECORDING, 10)
        status = recorder.poll()
        t0 = recorder.now()
        time.sleep(0.2)
        assert recorder.now() > t0  # the notes-only clock runs
        recorder.pause()
        recorder.resume()
        recorder.stop()
    finally:
        reinit_portaudio()
    assert status.state in (RecorderState.UNAVAILABLE, RecorderState.LOST)
    assert status.message and "Traceback" not in status.message
    assert status.warnings and status.warnings[0].kind in ("unavailable", "device_lost")
    assert not any((tmp_path / "s").glob("*.wav")) or status.state == RecorderState.LOST
