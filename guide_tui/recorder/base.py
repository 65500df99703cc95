"""The contract between the interview (TUI, session) and whatever records audio.

The TUI takes a recorder as a constructor argument and only ever talks to it through this
protocol, so tests plug in fakes and a notes-only session plugs in :class:`NullRecorder`. Every
method returns quickly: capture and file writing run on the recorder's own threads. The UI polls
:meth:`Recorder.poll` (about 10 times a second) for a snapshot; nothing calls back into the UI
thread.

While it records, the recorder is the session clock: ``now()`` is frames written / sample rate,
so event times line up with the audio exactly; while paused it stands still.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class RecorderState:
    IDLE = "idle"  # not started yet
    RECORDING = "recording"
    PAUSED = "paused"
    STOPPED = "stopped"  # stopped cleanly, files closed
    LOST = "lost"  # the device went away; files closed intact; resume() tries a new file
    HALTED = "halted"  # the disk is full (or failed); files closed intact; resume() tries again
    UNAVAILABLE = "unavailable"  # no device / PortAudio missing: notes-only


@dataclass(frozen=True)
class RecorderWarning:
    """Something the interviewer must be told now (also written to the event log)."""

    kind: str  # silence | clipping | dropped_frames | low_disk | device_lost | device_recovered
    message: str
    t: float


@dataclass(frozen=True)
class RecorderStatus:
    """A snapshot for the UI; cheap to make, safe to read from any thread."""

    state: str
    t: float = 0.0  # seconds recorded (the session clock)
    rms_db: float = -120.0  # level of the last ~100 ms, dBFS
    peak_db: float = -120.0
    file: str | None = None
    bytes_written: int = 0
    device: str | None = None
    samplerate: int | None = None
    channels: int | None = None
    message: str | None = None  # e.g. why recording is unavailable
    warnings: tuple[RecorderWarning, ...] = field(default_factory=tuple)  # new since last poll
    disk_minutes_left: float | None = None
    # Added by the recorder service (all defaulted, so fakes and NullRecorder need not set them):
    channel_rms_db: tuple[float, ...] = ()  # per channel (two microphones), same window
    channel_peak_db: tuple[float, ...] = ()
    dropped_frames: int = 0  # frames missing against elapsed time, whole recording
    overflows: int = 0  # blocks PortAudio flagged as overflowed
    max_queue_depth: int = 0  # worst backlog between capture callback and writer, in blocks
    files: tuple[AudioFileInfo, ...] = ()  # every file this recorder wrote, the open one last


@dataclass(frozen=True)
class AudioFileInfo:
    """One audio file of the session, as ``session.json`` lists it.

    ``offset`` is the session clock (``t``) at the file's first frame, so a position ``p`` seconds
    into the file is ``t = offset + p``. More than one file exists after a lost device (the clock
    keeps running while no audio is captured, so the next file starts later) or when a file reaches
    the size limit (the next one continues seamlessly).
    """

    file: str  # name inside the session folder, e.g. "audio-001.wav"
    offset: float
    samplerate: int
    channels: int
    subtype: str  # soundfile subtype: PCM_16, PCM_32, FLOAT
    device: str | None = None
    frames: int = 0
    started_wall: str | None = None
    ended_wall: str | None = None
    closed_reason: str | None = None  # None while open; stopped | device_lost | size_limit | ...
    dropped_frames: int = 0
    overflows: int = 0

    def to_json_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "offset": round(self.offset, 6),
            "samplerate": self.samplerate,
            "channels": self.channels,
            "subtype": self.subtype,
            "device": self.device,
            "frames": self.frames,
            "seconds": round(self.frames / self.samplerate, 3) if self.samplerate else 0.0,
            "started_wall": self.started_wall,
            "ended_wall": self.ended_wall,
            "closed_reason": self.closed_reason,
            "dropped_frames": self.dropped_frames,
            "overflows": self.overflows,
        }


@runtime_checkable
class Recorder(Protocol):
    def now(self) -> float: ...

    def start(self) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self) -> None:
        """Stop capture, drain the queue into the file and close it (never drop the last blocks)."""
        ...

    def poll(self) -> RecorderStatus: ...


class NullRecorder:
    """Notes-only sessions: nothing is recorded; the clock is a monotonic one that pauses too."""

    def __init__(
        self, reason: str = "Notes only: no audio is being recorded.", offset: float = 0.0
    ):
        import time

        self._time = time.monotonic
        self.reason = reason
        self._offset = offset
        self._started_at: float | None = None
        self._state = RecorderState.UNAVAILABLE

    def now(self) -> float:
        if self._started_at is None:
            return self._offset
        return self._offset + (self._time() - self._started_at)

    def start(self) -> None:
        if self._started_at is None:
            self._started_at = self._time()

    def pause(self) -> None:
        if self._started_at is not None:
            self._offset = self.now()
            self._started_at = None

    def resume(self) -> None:
        self.start()

    def stop(self) -> None:
        self.pause()

    def poll(self) -> RecorderStatus:
        return RecorderStatus(state=self._state, t=self.now(), message=self.reason)
