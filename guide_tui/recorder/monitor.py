"""Level meter and the audio-derived warnings: silence, clipping, dropped frames.

Runs on the writer thread (never in the audio callback, which only copies blocks), block by block.
Plain numpy and arithmetic, so the rules can be tested without a device.

Dropped frames are found by counting, not by PortAudio's overflow flag, which PulseAudio's ALSA
plugin never sets: over a sliding window, frames received are compared with the time that passed
between the callbacks that delivered them. Callback arrival jitters by up to a buffer, and a sound
card's crystal drifts against the system clock by up to ~100 ppm (0.36 s an hour), so the window
is short (10 s: drift 1 ms) and the threshold well above a buffer (0.25 s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from guide_tui.recorder.config import RecorderConfig

FLOOR_DB = -120.0

_FULL_SCALE = {"int16": 32768.0, "int32": 2147483648.0, "float32": 1.0}


def to_db(value: float) -> float:
    return max(FLOOR_DB, 20.0 * math.log10(value)) if value > 0 else FLOOR_DB


@dataclass(frozen=True)
class Levels:
    rms_db: tuple[float, ...]
    peak_db: tuple[float, ...]


@dataclass(frozen=True)
class Finding:
    kind: str  # silence | clipping | dropped_frames
    message: str
    frames: int = 0  # dropped frames, for dropped_frames


class LevelMonitor:
    """Feed blocks; read ``levels`` (the last complete window) and collect findings."""

    def __init__(self, config: RecorderConfig, samplerate: int, channels: int) -> None:
        self.config = config
        self.samplerate = samplerate
        self.channels = channels
        self._scale = _FULL_SCALE[config.dtype]
        # A window closes on a block boundary: never longer than one block, or a 0.08 s window
        # over 64 ms blocks (16 kHz) would close every other block, 7.8 times a second.
        window = min(int(config.level_interval * samplerate), config.frames_per_block(samplerate))
        self._window_frames = max(1, window)
        self._clip_threshold = config.clip_level * self._scale
        self._reset_window()
        self.levels = Levels((FLOOR_DB,) * channels, (FLOOR_DB,) * channels)
        self.windows = 0  # completed windows, for tests and the benchmark
        self._silent_frames = 0
        self._silence_warned = False
        self._clip_frames = 0  # frames in the current one-second clipping window
        self._clip_count = 0
        self._last_clip_warning: float | None = None

    def _reset_window(self) -> None:
        self._sumsq = np.zeros(self.channels, dtype=np.float64)
        self._peak = np.zeros(self.channels, dtype=np.float64)
        self._count = 0

    def feed(self, block: np.ndarray, now: float, recording: bool) -> list[Finding]:
        """Account for one (frames, channels) block captured at monotonic time ``now``.

        ``recording`` is False while paused: the meter keeps moving (the interviewer can still
        see the microphone works) but silence is only warned about while audio is kept.
        """
        findings: list[Finding] = []
        samples = block.astype(np.float64, copy=False)
        self._sumsq += np.einsum("ij,ij->j", samples, samples)
        self._peak = np.maximum(self._peak, np.abs(samples).max(axis=0))
        self._count += len(block)
        clipped = int(np.count_nonzero(np.abs(samples) >= self._clip_threshold))
        self._clip_count += clipped
        self._clip_frames += len(block)
        if self._clip_frames >= self.samplerate:
            if self._clip_count >= self.config.clip_min_samples and (
                self._last_clip_warning is None
                or now - self._last_clip_warning >= self.config.warning_repeat_seconds
            ):
                self._last_clip_warning = now
                findings.append(
                    Finding(
                        "clipping",
                        f"Clipping: {self._clip_count} samples at full scale in the last second. "
                        "Move the microphone away or lower the input gain.",
                    )
                )
            self._clip_count = 0
            self._clip_frames = 0
        if self._count >= self._window_frames:
            rms = np.sqrt(self._sumsq / self._count) / self._scale
            peak = self._peak / self._scale
            self.levels = Levels(
                tuple(to_db(float(v)) for v in rms), tuple(to_db(float(v)) for v in peak)
            )
            self.windows += 1
            loudest = max(self.levels.rms_db)
            if loudest < self.config.silence_db:
                if recording:
                    self._silent_frames += self._count
            else:
                self._silent_frames = 0
                self._silence_warned = False
            silent_for = self._silent_frames / self.samplerate
            if silent_for >= self.config.silence_seconds and not self._silence_warned:
                self._silence_warned = True
                findings.append(
                    Finding(
                        "silence",
                        f"No sound for {silent_for:.0f} s (level {loudest:.0f} dBFS): is the "
                        "microphone muted, unplugged or switched off?",
                    )
                )
            self._reset_window()
        return findings


class DropDetector:
    """Compares frames received with the time between callbacks (see the module docstring)."""

    def __init__(self, config: RecorderConfig, samplerate: int) -> None:
        self.samplerate = samplerate
        block = config.frames_per_block(samplerate)
        self.threshold = max(config.drop_threshold_seconds * samplerate, 3 * block)
        self.window = config.drop_window_seconds
        self._anchor: tuple[float, int] | None = None
        self.dropped = 0
        self.worst_deficit = 0.0  # seconds, for the benchmark

    def observe(self, arrived: float, received: int) -> Finding | None:
        """``received``: frames delivered up to and including the block that arrived at
        ``arrived`` (monotonic seconds)."""
        if self._anchor is None:
            self._anchor = (arrived, received)
            return None
        t0, r0 = self._anchor
        deficit = (arrived - t0) * self.samplerate - (received - r0)
        self.worst_deficit = max(self.worst_deficit, deficit / self.samplerate)
        if deficit > self.threshold:
            lost = int(deficit)
            self.dropped += lost
            self._anchor = (arrived, received)
            return Finding(
                "dropped_frames",
                f"About {lost / self.samplerate:.2f} s of audio was lost (the computer "
                "could not keep up); recording continues.",
                frames=lost,
            )
        if arrived - t0 >= self.window:
            self._anchor = (arrived, received)
        return None

    def restart(self) -> None:
        """Forget the anchor (after a stream restart: the gap is not a drop)."""
        self._anchor = None
