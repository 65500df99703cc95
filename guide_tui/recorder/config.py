"""Recording settings: one typed dataclass, read from the ``[recording]`` table of config.toml.

Stdlib only (the TUI reads it before it decides whether to import the capture code). Every
threshold is here rather than in the code that uses it, so a user with an unusual microphone can
tune it and tests can make warnings fire within seconds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
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
    def from_mapping(cls, values: dict[str, Any], file: str | None = None) -> RecorderConfig:
        """Build from a config.toml table, rejecting unknown keys and bad values by name.

        ``file`` (the config file's path) starts every message, so the user learns where the bad
        value was written.
        """
        check_settings(values, file)
        return cls(**values)

    def frames_per_block(self, samplerate: int) -> int:
        """Frames per callback at ``samplerate`` (see ``blocksize``)."""
        if self.blocksize:
            return int(self.blocksize)
        frames = 256
        while frames * 2 <= samplerate * MAX_BLOCK_SECONDS:
            frames *= 2
        return frames

    def validate(self) -> None:
        """Check every field's type and range (a config built in code, e.g. by a test)."""
        for name, value in dataclasses.asdict(self).items():
            check_setting(name, value, f"[recording] {name}")


def _whole(value: Any) -> bool:
    """An int, and not a bool (TOML ``true`` would otherwise pass as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    """A finite int or float, not a bool: TOML's ``nan`` and ``inf`` would stall every timer."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


DAY = 86400.0  # a longer interval is a typo; it would also overflow some timers (OverflowError)


def _seconds(low: float, high: float = DAY, *, low_open: bool = True) -> Callable[[Any], bool]:
    return lambda v: _number(v) and (v > low if low_open else v >= low) and v <= high


#: Every setting's check and what it must be, said in the message when the check fails. Checked
#: when config.toml is read, so a wrong value is one line naming the key and the file, never a
#: TypeError in the middle of an interview (``silence_seconds = "ten"`` used to pass until the
#: first level window compared it with a number).
RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "device": (
        lambda v: v is None or (_whole(v) and v >= 0) or (isinstance(v, str) and bool(v.strip())),
        "a device index (0, 1, ...) or part of its name in quotes",
    ),
    "samplerate": (
        lambda v: v is None or (_whole(v) and 8000 <= v <= 192000),
        "a whole number of frames per second from 8000 to 192000",
    ),
    "channels": (lambda v: _whole(v) and v in (1, 2), "1 or 2"),
    "dtype": (
        lambda v: isinstance(v, str) and v in SUBTYPES,
        "one of " + ", ".join(f'"{name}"' for name in SUBTYPES),
    ),
    "blocksize": (
        lambda v: v is None or (_whole(v) and 64 <= v <= 65536),
        "a whole number of frames from 64 to 65536",
    ),
    "latency": (
        lambda v: v in ("high", "low") or _seconds(0.0, 10.0)(v),
        '"high", "low" or seconds (a number above 0, at most 10)',
    ),
    "level_interval": (_seconds(0.0, 1.0), "seconds, above 0 and at most 1"),
    "silence_db": (
        lambda v: _number(v) and -200 <= v <= 0,
        "a level in dBFS from -200 to 0 (e.g. -65)",
    ),
    "silence_seconds": (_seconds(0.0), "seconds, above 0 and at most a day (e.g. 10)"),
    "clip_level": (
        lambda v: _number(v) and 0 < v <= 1,
        "a fraction of full scale, above 0 and at most 1",
    ),
    "clip_min_samples": (lambda v: _whole(v) and 1 <= v <= 10**9, "a whole number, 1 or more"),
    "warning_repeat_seconds": (
        _seconds(0.0, low_open=False),
        "seconds, 0 or more and at most a day",
    ),
    "drop_threshold_seconds": (_seconds(0.0), "seconds, above 0 and at most a day"),
    "drop_window_seconds": (_seconds(0.0), "seconds, above 0 and at most a day"),
    "stall_seconds": (_seconds(0.0), "seconds, above 0 and at most a day"),
    "start_timeout_seconds": (_seconds(0.0), "seconds, above 0 and at most a day"),
    "low_disk_minutes": (
        lambda v: _number(v) and 0 <= v <= 10**6,
        "minutes of audio, 0 or more",
    ),
    "disk_check_seconds": (_seconds(0.0), "seconds, above 0 and at most a day"),
    "disk_reserve_bytes": (
        lambda v: _whole(v) and 0 <= v <= 2**62,
        "a whole number of bytes, 0 or more",
    ),
    "max_file_bytes": (
        lambda v: _whole(v) and MIB <= v <= 4 * GIB - MIB,
        "a whole number of bytes from 1048576 (1 MiB) to 4293918720 (a WAV file ends at 4 GiB)",
    ),
    "fsync_seconds": (_seconds(0.0), "seconds, above 0 and at most a day"),
}


def check_setting(name: str, value: Any, label: str) -> None:
    """Raise :class:`RecorderError` starting with ``label`` (where the value was given: a file's
    key or an option) if ``value`` is not usable as setting ``name``."""
    check, expected = RULES[name]
    if not check(value):
        shown = repr(value)
        if len(shown) > 40:
            shown = shown[:37] + "..."
        raise RecorderError(f"{label} must be {expected}, not {shown}")


def check_settings(values: dict[str, Any], file: str | None = None) -> None:
    """Unknown keys first (a typo's most likely cause), then each value against :data:`RULES`."""
    where = f"{file}: " if file else ""
    unknown = sorted(str(key) for key in set(values) - set(RULES))
    if unknown:
        raise RecorderError(
            f"{where}unknown [recording] setting(s): {', '.join(unknown)} "
            f"(known: {', '.join(sorted(RULES))})"
        )
    for name, value in values.items():
        check_setting(name, value, f"{where}[recording] {name}")


def load_recorder_config(**overrides: Any) -> RecorderConfig:
    """The ``[recording]`` table of config.toml (if any), then explicit overrides (CLI options).

    File values and options are checked separately, so a message names where the bad value came
    from: ``config.toml: [recording] samplerate ...`` or ``--samplerate ...``.
    """
    from guide_tui import paths

    table = paths.read_config().get("recording", {})
    if not isinstance(table, dict):
        raise RecorderError(f"{paths.config_file()}: [recording] must be a table of settings")
    check_settings(table, str(paths.config_file()))
    given = {key: value for key, value in overrides.items() if value is not None}
    for name, value in given.items():
        check_setting(name, value, "--" + name.replace("_", "-"))
    return RecorderConfig(**{**table, **given})
