"""Playback for the review (issue 13): the session clock, pitch-preserving speed, and real output
through the virtual audio device (a private PulseAudio null sink whose monitor we capture)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from virtual_mic import isolate_pulse_client, virtual_mic

from guide_tui.recorder.playback import (
    PlaybackError,
    Player,
    SessionAudio,
    stretcher_available,
    wait_until,
)

isolate_pulse_client()
RATE = 16000


def _noise(seconds: float, seed: int, rate: int = RATE) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.uniform(-0.5, 0.5, round(seconds * rate)) * 32767).astype(np.int16)


def _tone(seconds: float, hz: float = 440.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t) * 32767).astype(np.int16)


def _dominant_hz(x: np.ndarray, rate: int) -> float:
    x = x.astype(np.float64) * np.hanning(len(x))
    spectrum = np.abs(np.fft.rfft(x, n=8 * len(x)))
    return float(np.argmax(spectrum) * rate / (8 * len(x)))


def _locate(needle: np.ndarray, haystack: np.ndarray) -> int:
    """Where ``needle`` lies in ``haystack`` (FFT cross-correlation)."""
    n = len(haystack) + len(needle)
    size = 1 << (n - 1).bit_length()
    a = np.fft.rfft(haystack.astype(np.float64), size)
    b = np.fft.rfft(needle.astype(np.float64)[::-1], size)
    corr = np.fft.irfft(a * b, size)[len(needle) - 1 : len(haystack)]
    return int(np.argmax(corr))


class FakeStream:
    """Stands in for PortAudio in unit tests: the test pulls blocks as the device would."""

    def __init__(self, rate: int, callback) -> None:
        self.rate, self.callback, self.latency = rate, callback, 0.0

    def pull(self, frames: int) -> np.ndarray:
        out = np.zeros((frames, 1), dtype=np.int16)
        self.callback(out, frames, None, None)
        return out[:, 0].copy()

    def stop(self) -> None: ...
    def close(self) -> None: ...


def _player(audio: SessionAudio) -> tuple[Player, list[FakeStream]]:
    streams: list[FakeStream] = []

    def factory(rate, callback):
        streams.append(FakeStream(rate, callback))
        return streams[-1]

    return Player(audio, stream_factory=factory), streams


def _pull(stream: FakeStream, seconds: float, block: int = 512) -> np.ndarray:
    """Pull ``seconds`` of output in device-sized blocks, at about a device's pace."""
    out = []
    need = round(seconds * stream.rate)
    got = 0
    while got < need:
        time.sleep(block / stream.rate / 4)
        data = stream.pull(block)
        out.append(data)
        got += block
    return np.concatenate(out)[:need]


def test_files_are_placed_on_the_session_clock(tmp_path: Path) -> None:
    a, b = _noise(2.0, 1), _noise(2.0, 2)
    sf.write(tmp_path / "audio-001.wav", a, RATE, subtype="PCM_16")
    sf.write(tmp_path / "audio-002.wav", b, RATE, subtype="PCM_16")
    audio = SessionAudio([tmp_path / "audio-001.wav", tmp_path / "audio-002.wav"], [0.0, 5.0])
    assert audio.duration == pytest.approx(7.0)
    assert np.array_equal(audio.read(1.0, RATE), a[RATE:])
    assert not audio.read(2.5, RATE).any()  # the outage between the files is silence
    assert np.array_equal(audio.read(5.5, RATE), b[RATE // 2 : RATE // 2 + RATE])
    audio.close()


def test_no_audio_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PlaybackError, match="no audio"):
        SessionAudio([])
    (tmp_path / "audio-001.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(PlaybackError, match="cannot read"):
        SessionAudio([tmp_path / "audio-001.wav"])


def test_play_from_a_time_pause_and_rewind(tmp_path: Path) -> None:
    signal = _noise(6.0, 3)
    sf.write(tmp_path / "audio.wav", signal, RATE, subtype="PCM_16")
    player, streams = _player(SessionAudio([tmp_path / "audio.wav"]))
    try:
        player.play(2.0)
        out = _pull(streams[0], 0.5)
        start = int(np.flatnonzero(out)[0])
        assert np.array_equal(out[start : start + 4000], signal[2 * RATE : 2 * RATE + 4000])
        player.pause()
        paused_at = player.position
        assert paused_at == pytest.approx(2.0 + (len(out) - start) / RATE, abs=0.05)
        assert not streams[0].pull(512).any()  # paused: silence
        player.play()  # resumes a rewind earlier
        out = _pull(streams[0], 0.3)
        start = int(np.flatnonzero(out)[0])
        expected = round((paused_at - player.rewind) * RATE)
        assert abs(_locate(out[start : start + 2000], signal) - expected) < RATE * 0.02
        player.skip(-1.0)
        assert player.playing
        player.play(0.0, until=0.5)  # play one turn: stops at its end
        _pull(streams[0], 1.0)
        assert not player.playing
        assert player.position == pytest.approx(0.5, abs=0.1)
    finally:
        player.close()


@pytest.mark.skipif(not stretcher_available(), reason="needs audiostretchy (the review extra)")
def test_slower_keeps_the_pitch(tmp_path: Path) -> None:
    sf.write(tmp_path / "audio.wav", _tone(6.0), RATE, subtype="PCM_16")
    player, streams = _player(SessionAudio([tmp_path / "audio.wav"]))
    try:
        player.set_speed(0.75)
        player.play(0.0, until=3.0)
        out = _pull(streams[0], 5.0)
        loud = np.flatnonzero(np.abs(out) > 2000)
        played = (loud[-1] - loud[0]) / RATE
        assert played == pytest.approx(3.0 / 0.75, rel=0.05)  # longer ...
        assert _dominant_hz(out[loud[0] : loud[0] + RATE], RATE) == pytest.approx(440, abs=3)
    finally:
        player.close()


# ------------------------------------------------------------------------------ the real device


class _Monitor:
    """Capture the sink's monitor (the default input inside :func:`virtual_mic`) in-process,
    the way the recorder captures a microphone."""

    def __init__(self, rate: int) -> None:
        import sounddevice as sd

        self.blocks: list[np.ndarray] = []
        self.stream = sd.InputStream(
            samplerate=rate, channels=1, dtype="int16", callback=self._callback
        )
        self.stream.start()
        assert wait_until(lambda: bool(self.blocks), 10), "the monitor never delivered audio"

    def _callback(self, indata, _frames, _time, _status) -> None:
        self.blocks.append(indata[:, 0].copy())

    def stop(self) -> np.ndarray:
        self.stream.stop()
        self.stream.close()
        return np.concatenate(self.blocks)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_real_output_plays_the_right_place(tmp_path: Path) -> None:
    """Play from 3.0 s through the virtual device; the sink's monitor hears session audio from
    3.0 s (cross-correlation, within 50 ms); at 0.75x a tone keeps its pitch."""
    rate = 48000
    noise = _noise(8.0, 4, rate)
    sf.write(tmp_path / "audio-001.wav", noise, rate, subtype="PCM_16")
    with virtual_mic(tmp_path / "pulse", rate=rate):
        audio = SessionAudio([tmp_path / "audio-001.wav"])
        player = Player(audio)
        try:
            rec = _Monitor(rate)
            player.play(3.0, until=4.5)
            assert wait_until(lambda: not player.playing, 10)
            time.sleep(0.5)
            captured = rec.stop()
        finally:
            player.close()
        onset = int(np.flatnonzero(np.abs(captured) > 1000)[0])
        window = captured[onset + rate // 20 : onset + rate // 20 + rate // 2]
        found = _locate(window, noise) - rate // 20  # session sample heard at the onset
        assert abs(found / rate - 3.0) < 0.05, found / rate

        if stretcher_available():
            tone = _tone(6.0, 440.0, rate)
            sf.write(tmp_path / "tone.wav", tone, rate, subtype="PCM_16")
            player = Player(SessionAudio([tmp_path / "tone.wav"]))
            try:
                rec = _Monitor(rate)
                player.set_speed(0.75)
                player.play(1.0, until=3.0)
                assert wait_until(lambda: not player.playing, 10)
                time.sleep(0.5)
                captured = rec.stop()
            finally:
                player.close()
            loud = np.flatnonzero(np.abs(captured) > 2000)
            assert (loud[-1] - loud[0]) / rate == pytest.approx(2.0 / 0.75, rel=0.08)
            middle = captured[loud[0] + rate // 2 : loud[0] + rate // 2 + rate]
            assert _dominant_hz(middle, rate) == pytest.approx(440, abs=3)


def test_speed_without_the_stretch_library_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import guide_tui.recorder.playback as playback

    sf.write(tmp_path / "audio.wav", _tone(1.0), RATE, subtype="PCM_16")
    player, _streams = _player(SessionAudio([tmp_path / "audio.wav"]))
    monkeypatch.setattr(playback, "stretcher_available", lambda: False)
    try:
        with pytest.raises(PlaybackError, match=r"guide-tui\[review\]"):
            player.set_speed(0.75)
        assert player.set_speed(1.0) == 1.0  # normal speed needs nothing
        assert player.speed == 1.0
    finally:
        player.close()
