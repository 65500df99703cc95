"""Recording settings: one typed dataclass, read from the ``[recording]`` table of config.toml.

Stdlib only (the TUI reads it before it decides whether to import the capture code). Every
threshold is here rather than in the code that uses it, so a user with an unusual microphone can
tune it and tests can make warnings fire within seconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from guide_tui.errors import RecorderError

#: The sample formats we write; the values are soundfile's WAV subtypes.
SUBTYPES = {"int16": "PCM_16", "int32": "PCM_32", "float32": "FLOAT"}

GIB = 1024**3
MIB = 1024**2
MAX_BLOCK_SECONDS = 0.1  # default blocks: the level meter must update at 10 Hz or more


@dataclass(frozen=True)
class RecorderConfig:
    """How to record. Defaults suit one laptop microphone in a consultation room."""

    device: int | str | None = None
    """Input device: PortAudio index, or a case-insensitive part of its name; None: the default."""

    samplerate: int | None = None
    """Frames per second; None: the device's default rate."""

    channels: int = 1
    """1, or 2 for two microphones (one per speaker)."""

    dtype: str = "int16"
    """Sample format of stream and file: int16 (what every QDA tool plays), int32 or float32."""

    blocksize: int | None = None
    """Frames per callback; by default the largest power of two lasting at most 0.1 s at the
    stream's rate (4096 = 85 ms at 48 kHz, 1024 = 64 ms at 16 kHz). Every block costs a wake-up
    of PortAudio's thread, the writer and libpulse: 4096-frame blocks measured 1.3 % of a core at
    48 kHz against 2.3 % for 1024 (bench/recording.py --blocksize), and a block of at most 0.1 s
    keeps the level meter at 10 updates a second or more."""

    latency: str | float = "high"
    """PortAudio input latency: "high" buffers more, which rides out CPU spikes on a busy laptop."""

    level_interval: float = 0.08
    """Seconds per level-meter window, at most one block; a window closes on a block boundary,
    so with the default blocks (at most 0.1 s) every block closes one: 11.7 updates a second at
    48 kHz, 15.6 at 16 kHz."""

    silence_db: float = -65.0
    """A window quieter than this (dBFS, loudest channel) counts as silence. A working microphone
    hears a quiet room at about -60 to -45 dBFS; a muted or unplugged one reads digital zero or
    its converter's noise, below -80."""

    silence_seconds: float = 10.0
    """Warn after this long without a window above ``silence_db``; speech pauses are shorter."""

    clip_level: float = 0.999
    """A sample at or above this fraction of full scale counts as clipped."""

    clip_min_samples: int = 3
    """Warn when a second of audio holds at least this many clipped samples."""

    warning_repeat_seconds: float = 30.0
    """A warning of the same kind is repeated at most this often while its cause lasts."""

    drop_threshold_seconds: float = 0.25
    """Report dropped frames when, within ``drop_window_seconds``, this much audio is missing
    against elapsed time (callback jitter through PulseAudio stays well below it)."""

    drop_window_seconds: float = 10.0
    """Window over which frames received are compared with elapsed time; short enough that the
    drift between the sound card's clock and the system clock never adds up to a false alarm."""

    stall_seconds: float = 3.0
    """No audio callback for this long while recording means the device is gone."""

    start_timeout_seconds: float = 6.0
    """The first callback may take 2 s through PulseAudio; after this long the device is dead."""

    low_disk_minutes: float = 30.0
    """Warn when free space holds fewer minutes of audio than this (and again at 10 and 2)."""

    disk_check_seconds: float = 2.0
    """How often free space is looked at (a statvfs call)."""

    disk_reserve_bytes: int = 64 * MIB
    """Stop cleanly (file closed, readable) when free space falls below this."""

    max_file_bytes: int = 4 * GIB - 64 * MIB
    """Start the next file (seamlessly) before a WAV reaches its 4 GiB limit."""

    fsync_seconds: float = 1.0
    """Force written audio to the disk this often: a power cut loses at most this much."""

    @property
    def subtype(self) -> str:
        return SUBTYPES[self.dtype]

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> RecorderConfig:
        """Build from a config.toml table, rejecting unknown keys and bad values by name."""
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise RecorderError(
                f"unknown [recording] setting(s): {', '.join(unknown)} "
                f"(known: {', '.join(sorted(names))})"
            )
        config = cls(**values)
        config.validate()
        return config

    def frames_per_block(self, samplerate: int) -> int:
        """Frames per callback at ``samplerate`` (see ``blocksize``)."""
        if self.blocksize:
            return int(self.blocksize)
        frames = 256
        while frames * 2 <= samplerate * MAX_BLOCK_SECONDS:
            frames *= 2
        return frames

    def validate(self) -> None:
        if self.dtype not in SUBTYPES:
            raise RecorderError(
                f"recording dtype must be one of {', '.join(SUBTYPES)}, not {self.dtype!r}"
            )
        if self.channels not in (1, 2):
            raise RecorderError(f"recording channels must be 1 or 2, not {self.channels!r}")
        if self.samplerate is not None and not 8000 <= int(self.samplerate) <= 192000:
            raise RecorderError(f"recording samplerate {self.samplerate!r} is not a usable rate")
        if self.blocksize is not None and not (
            isinstance(self.blocksize, int) and 64 <= self.blocksize <= 65536
        ):
            raise RecorderError(
                f"recording blocksize must be a whole number of frames from 64 to 65536, "
                f"not {self.blocksize!r}"
            )
        if self.max_file_bytes < MIB:
            raise RecorderError("recording max_file_bytes must be at least 1 MiB")


def load_recorder_config(**overrides: Any) -> RecorderConfig:
    """The ``[recording]`` table of config.toml (if any), then explicit overrides (CLI options)."""
    from guide_tui import paths

    values: dict[str, Any] = {}
    table = paths.read_config().get("recording", {})
    if not isinstance(table, dict):
        raise RecorderError(f"{paths.config_file()}: [recording] must be a table of settings")
    values.update(table)
    values.update({key: value for key, value in overrides.items() if value is not None})
    return RecorderConfig.from_mapping(values)
