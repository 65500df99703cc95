"""Playback of a session's audio for the review (issue 13): play from a time, pause, seek, slower
or faster without changing pitch, and a position the screen polls to move its highlight.

Why here: only ``guide_tui/recorder/`` imports sounddevice (docs/architecture.md), and playback is
the same PortAudio path as capture, the other way round. Nothing of Textual.

How it works:

- :class:`SessionAudio` reads the session's files *placed on the session clock*
  (:func:`~guide_tui.session.audio_offsets.place_audio`): a time in the transcript is the same
  time in the audio even after a lost device (silence between files). Files are read on demand
  through soundfile, never loaded whole (a 60-minute session is 345 MB at 48 kHz).
- :class:`Player` runs a feeder thread that reads ahead a fraction of a second, time-stretches
  it when the speed is not 1 and queues it as chunks that carry their source time. The PortAudio
  callback only copies from those prepared chunks (no reading, no DSP, no locks held long), so a
  slow disk or a busy CPU is a late chunk (silence), never a glitching callback.
- Speed 0.5-1.5x keeps the pitch: TDHS time-domain harmonic scaling from ``audiostretchy``
  (a small C library with prebuilt wheels, numpy only; the ``review`` extra). Without it speed
  stays at 1x and :meth:`Player.set_speed` raises :class:`PlaybackError` saying what to install.
- Resuming after a pause starts ``rewind`` seconds earlier (f4transkript's habit: hear the last
  words again before typing on).
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from guide_tui.errors import GuideTuiError

MIN_SPEED, MAX_SPEED = 0.5, 1.5
#: How far ahead (seconds of output) the feeder keeps the queue filled.
READ_AHEAD_S = 0.4
#: One read of the feeder (seconds of source audio).
CHUNK_S = 0.05
#: Resuming after a pause starts this much earlier (seconds).
DEFAULT_REWIND_S = 1.5


class PlaybackError(GuideTuiError):
    """Audio cannot be played (no device, no audio files, a speed that needs a missing library)."""


@dataclass
class _File:
    path: Path
    start: float  # on the session clock
    frames: int
    rate: int
    channels: int


class SessionAudio:
    """The session's audio files as one mono int16 signal on the session clock."""

    def __init__(self, files: Sequence[Path], offsets: Sequence[float | None] | None = None):
        import soundfile as sf

        from guide_tui.session.audio_offsets import place_audio

        infos = []
        for path in files:
            try:
                info = sf.info(str(path))
            except (
                RuntimeError,
                OSError,
            ) as error:  # soundfile raises LibsndfileError(RuntimeError)
                raise PlaybackError(f"{path}: cannot read the audio ({error})") from None
            if info.frames <= 0:
                continue
            infos.append((Path(path), info))
        if not infos:
            raise PlaybackError("this session has no audio to play")
        rates = {info.samplerate for _, info in infos}
        if len(rates) > 1:
            raise PlaybackError(
                f"the session's audio files differ in sample rate ({sorted(rates)}); "
                "playing them together is not supported yet"
            )
        self.rate = rates.pop()
        durations = [info.frames / info.samplerate for _, info in infos]
        if offsets is None:
            offsets = [None] * len(infos)
        starts = place_audio(
            durations, list(offsets)[: len(infos)] + [None] * (len(infos) - len(offsets))
        )
        self.files = [
            _File(path, start, info.frames, info.samplerate, info.channels)
            for (path, info), start in zip(infos, starts, strict=True)
        ]
        self.duration = max(f.start + f.frames / f.rate for f in self.files)
        self._lock = threading.Lock()
        self._handles: dict[Path, Any] = {}

    @classmethod
    def for_session(cls, folder: str | os.PathLike[str]) -> SessionAudio:
        """The audio of a session folder, placed with the offsets the transcript was made with
        (else ``session.json``'s), as the exports place it."""
        import json

        from guide_tui.session.audio_offsets import recorded_offsets
        from guide_tui.session.store import audio_files, read_meta

        folder = Path(folder)
        files = [p for p in audio_files(folder) if p.suffix.lower() in (".wav", ".flac")]
        listed: dict[str, Any] = read_meta(folder)
        with contextlib.suppress(OSError, ValueError):
            raw = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
            if isinstance(raw, dict) and isinstance(raw.get("audio"), list):
                listed = raw
        return cls(files, recorded_offsets(listed, [p.name for p in files]))

    def read(self, t: float, frames: int) -> np.ndarray:
        """``frames`` mono int16 samples from session time ``t`` (zeros where there is no audio)."""
        import soundfile as sf

        out = np.zeros(frames, dtype=np.int16)
        first = round(t * self.rate)
        with self._lock:
            for f in self.files:
                f0 = round(f.start * self.rate)
                lo, hi = max(first, f0), min(first + frames, f0 + f.frames)
                if lo >= hi:
                    continue
                handle = self._handles.get(f.path)
                if handle is None:
                    handle = self._handles[f.path] = sf.SoundFile(str(f.path))
                handle.seek(lo - f0)
                data = handle.read(hi - lo, dtype="int16", always_2d=True)
                mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1).astype(np.int16)
                out[lo - first : lo - first + len(mono)] = mono
        return out

    def close(self) -> None:
        with self._lock:
            for handle in self._handles.values():
                handle.close()
            self._handles.clear()


def stretcher_available() -> bool:
    try:
        import audiostretchy.interface.tdhs  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


class _Stretcher:
    """Streaming pitch-preserving time stretch (TDHS), one context per continuous play."""

    def __init__(self, rate: int) -> None:
        from audiostretchy.interface.tdhs import TDHSAudioStretch

        # Periods for speech: 40-400 Hz fundamental.
        self._tdhs = TDHSAudioStretch(rate // 400, rate // 40, 1, 0)
        self._out = np.zeros(0, dtype=np.int16)

    def process(self, samples: np.ndarray, speed: float) -> np.ndarray:
        ratio = 1.0 / speed
        need = self._tdhs.output_capacity(len(samples), ratio)
        if len(self._out) < need:
            self._out = np.zeros(need, dtype=np.int16)
        n = self._tdhs.process_samples(
            np.ascontiguousarray(samples), len(samples), self._out, ratio
        )
        return self._out[:n].copy()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._tdhs.deinit()


@dataclass
class _Chunk:
    generation: int
    samples: np.ndarray
    src_start: float  # session time of the first sample
    src_step: float  # session seconds per output sample
    used: int = 0


class Player:
    """Plays a :class:`SessionAudio` through the default output device (or ``device``).

    Thread-safe for one UI thread: every method returns at once; :attr:`position` is what the
    listener hears now (the output latency taken off), for the screen to poll.
    """

    def __init__(
        self,
        audio: SessionAudio,
        *,
        device: int | str | None = None,
        rewind: float = DEFAULT_REWIND_S,
        stream_factory: Any = None,
    ) -> None:
        self.audio = audio
        self.rewind = rewind
        self._device = device
        self._speed = 1.0
        self._playing = False
        self._rewind_on_resume = False
        self._position = 0.0  # of the next sample handed to the device
        self._generation = 0
        self._read_from = 0.0  # where the feeder reads next (session time)
        self._stop_at: float | None = None
        self._chunks: collections.deque[_Chunk] = collections.deque()
        self._wake = threading.Event()
        self._closed = False
        self._latency = 0.0
        self._stream: Any = None
        self._stream_factory = stream_factory
        self._feeder = threading.Thread(target=self._feed, name="playback-feeder", daemon=True)
        self._feeder.start()

    # -- the UI's side -----------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def position(self) -> float:
        """Session time being heard now."""
        if not self._playing:
            return self._position
        return max(0.0, self._position - self._latency * self._speed)

    def play(self, t: float | None = None, *, until: float | None = None) -> None:
        """Play from ``t`` (default: where it stands, minus the rewind after a pause), up to
        ``until`` when given (play the current turn)."""
        if t is None:
            back = self.rewind if self._rewind_on_resume and not self._playing else 0.0
            t = max(0.0, self._position - back)
        self._rewind_on_resume = False
        self._ensure_stream()
        self._seek(t)
        self._stop_at = until
        self._playing = True
        self._wake.set()

    def pause(self) -> None:
        if self._playing:
            self._position = self.position
            self._playing = False
            self._rewind_on_resume = True
            self._generation += 1  # what was queued is dropped

    def toggle(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def seek(self, t: float) -> None:
        """Move to ``t``; playing goes on from there, a paused player stays paused."""
        if self._playing:
            self.play(t, until=self._stop_at)
        else:
            self._position = min(max(0.0, t), self.audio.duration)
            self._rewind_on_resume = False  # a chosen place plays from where it was chosen

    def skip(self, seconds: float) -> None:
        self.seek(self.position + seconds)

    def set_speed(self, speed: float) -> float:
        """Set the speed (clamped to 0.5-1.5); pitch is kept. Returns the speed now in use."""
        speed = round(min(MAX_SPEED, max(MIN_SPEED, speed)), 2)
        if abs(speed - 1.0) > 1e-6 and not stretcher_available():
            raise PlaybackError(
                "slower or faster playback needs audiostretchy: pip install 'guide-tui[review]'"
            )
        self._speed = speed
        if self._playing:
            self.play(self.position, until=self._stop_at)
        return speed

    def close(self) -> None:
        self._closed = True
        self._playing = False
        self._wake.set()
        self._feeder.join(2)
        if self._stream is not None:
            with contextlib.suppress(Exception):
                self._stream.stop()
                self._stream.close()
            self._stream = None
        self.audio.close()

    # -- internals ---------------------------------------------------------------------------
    def _seek(self, t: float) -> None:
        t = min(max(0.0, t), self.audio.duration)
        self._generation += 1
        self._read_from = t
        self._position = t

    def _ensure_stream(self) -> None:
        if self._stream is not None:
            return
        if self._stream_factory is not None:
            self._stream = self._stream_factory(self.audio.rate, self._callback)
        else:
            from guide_tui.recorder.devices import import_sounddevice

            sd = import_sounddevice()
            try:
                self._stream = sd.OutputStream(
                    samplerate=self.audio.rate,
                    channels=1,
                    dtype="int16",
                    device=self._device,
                    latency="low",
                    callback=self._callback,
                )
                self._stream.start()
            except Exception as error:  # PortAudioError, no device, bad rate
                self._stream = None
                raise PlaybackError(f"cannot play audio here: {error}") from None
        self._latency = float(getattr(self._stream, "latency", 0.0) or 0.0)

    def _callback(self, outdata: Any, frames: int, _time: Any, _status: Any) -> None:
        """PortAudio's thread: copy prepared samples, nothing else."""
        out = outdata[:, 0] if outdata.ndim == 2 else outdata
        filled = 0
        generation = self._generation
        while filled < frames and self._playing:
            try:
                chunk = self._chunks[0]
            except IndexError:
                break
            if chunk.generation != generation:
                self._chunks.popleft()
                continue
            n = min(frames - filled, len(chunk.samples) - chunk.used)
            out[filled : filled + n] = chunk.samples[chunk.used : chunk.used + n]
            chunk.used += n
            filled += n
            self._position = chunk.src_start + chunk.used * chunk.src_step
            if chunk.used >= len(chunk.samples):
                self._chunks.popleft()
        out[filled:] = 0
        if self._playing and self._stop_at is not None and self._position >= self._stop_at:
            self._playing = False
        if self._playing and self._position >= self.audio.duration and not self._chunks:
            self._playing = False
        self._wake.set()

    def _queued_seconds(self, generation: int) -> float:
        return sum(
            (len(c.samples) - c.used) / self.audio.rate
            for c in list(self._chunks)
            if c.generation == generation
        )

    def _feed(self) -> None:
        """The feeder thread: keep READ_AHEAD_S of prepared output queued."""
        stretcher: _Stretcher | None = None
        fed_generation = -1
        fed_speed = 1.0
        rate = self.audio.rate
        while not self._closed:
            self._wake.wait(0.05)
            self._wake.clear()
            if not self._playing:
                continue
            generation, speed = self._generation, self._speed
            if generation != fed_generation or speed != fed_speed:
                if stretcher is not None:
                    stretcher.close()
                    stretcher = None
                fed_generation, fed_speed = generation, speed
            while (
                not self._closed
                and self._generation == generation
                and self._read_from < self.audio.duration
                and (self._stop_at is None or self._read_from < self._stop_at + 0.2)
                and self._queued_seconds(generation) < READ_AHEAD_S
            ):
                t = self._read_from
                frames = round(CHUNK_S * rate)
                samples = self.audio.read(t, frames)
                if abs(speed - 1.0) > 1e-6:
                    if stretcher is None:
                        stretcher = _Stretcher(rate)
                    samples = stretcher.process(samples, speed)
                if self._generation != generation:
                    break
                self._read_from = t + frames / rate
                if len(samples):
                    step = (frames / rate) / len(samples)
                    self._chunks.append(_Chunk(generation, samples, t, step))
        if stretcher is not None:
            stretcher.close()


def wait_until(predicate: Any, timeout: float) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass (tests and the CLI)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


__all__ = ["PlaybackError", "Player", "SessionAudio", "stretcher_available"]
