"""Where audio blocks come from: a sounddevice input stream, or a file played in real time.

Both deliver ``(frames, channels)`` numpy arrays in the recording's dtype to ``on_block`` from
their own thread, and call ``on_finished(reason)`` once if they end by themselves (the device
went away, the file ended). The recorder treats them alike, so ``--audio-file`` rehearses exactly
the path a microphone takes: queue, writer thread, file, clock, meter, warnings.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from guide_tui.errors import RecorderError
from guide_tui.recorder.config import RecorderConfig
from guide_tui.recorder.devices import import_sounddevice, resolve_device

BlockCallback = Callable[[np.ndarray, bool], None]  # block, overflow flagged
FinishedCallback = Callable[[str], None]


class Source(Protocol):
    name: str
    samplerate: int
    channels: int

    def start(self, on_block: BlockCallback, on_finished: FinishedCallback) -> None: ...

    def stop(self) -> None:
        """Stop delivering; returns after the last ``on_block`` call has returned."""
        ...


class DeviceSource:
    """A PortAudio input stream. The callback copies the block and returns: nothing else runs
    in PortAudio's real-time thread (no file I/O, no locks, no numpy maths)."""

    def __init__(self, config: RecorderConfig, *, refresh_devices: bool = False) -> None:
        """``refresh_devices``: re-scan PortAudio's device list first (it is built once, at
        ``import sounddevice``, and goes stale when a device is unplugged and plugged back)."""
        self.sd = import_sounddevice()
        if refresh_devices:
            rescan_devices(self.sd)
        device = resolve_device(config.device)
        self.device_index = device.index
        self.name = device.name
        self.samplerate = int(config.samplerate or device.default_samplerate)
        if config.channels > device.channels:
            raise RecorderError(
                f"{device.name} has {device.channels} input channel(s); "
                f"{config.channels} were asked for"
            )
        self.channels = config.channels
        self.config = config
        self._stream: Any = None

    def start(self, on_block: BlockCallback, on_finished: FinishedCallback) -> None:
        sd = self.sd

        def callback(indata: Any, frames: int, time_info: Any, status: Any) -> None:
            on_block(indata.copy(), bool(status.input_overflow))

        def finished() -> None:
            on_finished("the input stream stopped")

        try:
            self._stream = sd.InputStream(
                device=self.device_index,
                samplerate=self.samplerate,
                channels=self.channels,
                dtype=self.config.dtype,
                blocksize=self.config.frames_per_block(self.samplerate),
                latency=self.config.latency,
                callback=callback,
                finished_callback=finished,
            )
            self._stream.start()
        except sd.PortAudioError as error:
            self._close_quietly()
            raise RecorderError(_explain_portaudio_error(self.name, error)) from None

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.stop()
        except Exception:
            with contextlib.suppress(Exception):
                stream.abort()
        with contextlib.suppress(Exception):
            stream.close()

    def _close_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()


def rescan_devices(sd: Any) -> None:
    """Re-initialise PortAudio (only while none of our streams is open)."""
    with contextlib.suppress(AttributeError, OSError, sd.PortAudioError):
        sd._terminate()
        sd._initialize()


def _explain_portaudio_error(name: str, error: Exception) -> str:
    text = str(error)
    lowered = text.lower()
    if "unavailable" in lowered or "busy" in lowered:
        return (
            f"the microphone {name!r} is busy (another program is using it) or unavailable: {text}"
        )
    if "sample rate" in lowered:
        return f"{name!r} cannot record at the asked sample rate: {text}"
    if "channels" in lowered:
        return f"{name!r} cannot record that many channels: {text}"
    return f"cannot open the microphone {name!r}: {text}"


class FileSource:
    """Plays an audio file into the recorder at real-time pace (``--audio-file``).

    Delivers blocks in the recording's dtype when their time has come (measured from the start,
    so pace does not drift); ends with ``on_finished`` at the end. Any format libsndfile reads
    plays at its true level (see :func:`to_recording_dtype`).
    """

    def __init__(self, path: str | Path, config: RecorderConfig, speed: float = 1.0) -> None:
        import soundfile as sf

        self.path = Path(path)
        try:
            self._file = sf.SoundFile(str(self.path))
        except (sf.LibsndfileError, RuntimeError, OSError) as error:
            raise RecorderError(f"cannot play {self.path}: {error}") from None
        if self._file.channels > 2:
            self._file.close()
            raise RecorderError(f"{self.path} has {self._file.channels} channels; at most 2")
        self.name = f"file:{self.path.name}"
        self.samplerate = int(self._file.samplerate)
        self.channels = int(self._file.channels)
        self.config = config
        self.speed = speed
        # float64 keeps every bit of a 32-bit integer file; float32 is exact for 24 bits and less.
        self._read_dtype = "float64" if config.dtype == "int32" else "float32"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_block: BlockCallback, on_finished: FinishedCallback) -> None:
        self._thread = threading.Thread(
            target=self._run,
            args=(on_block, on_finished),
            name="guide-tui-file-source",
            daemon=True,
        )
        self._thread.start()

    def _run(self, on_block: BlockCallback, on_finished: FinishedCallback) -> None:
        start = time.monotonic()
        sent = 0
        blocksize = self.config.frames_per_block(self.samplerate)
        while not self._stop.is_set():
            block = self._file.read(blocksize, dtype=self._read_dtype, always_2d=True)
            if not len(block):
                on_finished("the audio file ended")
                return
            due = start + (sent + len(block)) / self.samplerate / self.speed
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            sent += len(block)
            on_block(to_recording_dtype(block, self.config.dtype), False)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        self._file.close()


_INT_FULL_SCALE = {"int16": 2**15, "int32": 2**31}


def to_recording_dtype(block: np.ndarray, dtype: str) -> np.ndarray:
    """Float samples in [-1, 1] as the recording's dtype, at the same level.

    The file is read as float and converted here because libsndfile, asked for integers from a
    float or double file, does not scale: a 32-bit float WAV came out as 16-bit samples of 0 and
    ±1 (peak -90 dBFS for a -2.8 dBFS source). Reading integer files as float divides by
    2**(bits-1), so multiplying back is exact (PCM_16 to int16 is bit-for-bit); float samples
    beyond full scale are clipped, as a converter would.
    """
    if dtype == "float32":
        return np.ascontiguousarray(block, dtype=np.float32)
    scale = _INT_FULL_SCALE[dtype]
    scaled = np.rint(np.asarray(block, dtype=np.float64) * scale)
    return np.clip(scaled, -scale, scale - 1).astype(dtype)
