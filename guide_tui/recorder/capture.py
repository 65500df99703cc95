"""The recorder service: input stream → queue → writer thread → crash-safe WAV; the session clock.

Threads and what each may do (the recording is the one thing an interview cannot redo, so the
real-time path is kept trivially short):

- **capture** (PortAudio's callback thread, or the ``--audio-file`` pacing thread): copies the
  block, counts it, puts it on an unbounded ``queue.SimpleQueue``. No I/O, no locks, no maths.
- **writer** (one per run of the stream): writes kept blocks to the file, computes levels and
  warnings, fsyncs every second, watches free disk space, notices a dead device (stream finished
  by itself, or no callback for a few seconds), rolls over to the next file before the WAV limit.
  When the device dies it drains what was captured, closes the file intact and ends the run.
- **caller** (the UI thread): ``start/pause/resume/stop/poll/now``, all quick; ``stop`` waits only
  for the writer to drain the queue, so the last blocks are never dropped.

The clock (``now()``) is the session's: while a stream runs it is frames kept ÷ rate (plus where
the run began), so an event's ``t`` is its place in the audio; it stands still while paused and
after ``stop()``. While no audio *can* be captured (device lost, disk full, no device at all) it
runs on the monotonic clock, so notes taken meanwhile keep their order and the next file starts at
the true later time (each file's ``offset`` in ``files`` says where it lies on the clock).

Faults never raise out of ``start``/``resume``: they end in state ``unavailable``/``lost``/
``halted`` (full disk, failed write) with ``message`` set and a warning in the next ``poll()``,
and the interview goes on as notes-only until ``resume()`` finds a device (or space) again, into
the next file, ``audio-002.wav``.

**A lost device is tried again by itself** (``recover_seconds``: every 2 s, then less often, at
most every 10 s): an interviewer busy with the participant does not notice that the microphone is
back, and every second until someone presses ``p`` would be lost. A try opens the device exactly
as ``resume()`` does (a stream that opens and delivers audio is the only reliable sign that it is
back: PortAudio lists ALSA's "pulse"/"default" even while the sound server is gone); a try that
fails to open is silent (no new warning, no file left behind); ``device_recovered`` says when it
worked. Only a device that delivered audio before is retried by itself (see ``_end_run_on_fault``).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import errno
import queue
import shutil
import threading
import time
import weakref
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from guide_tui.errors import RecorderError
from guide_tui.recorder.base import AudioFileInfo, RecorderState, RecorderStatus, RecorderWarning
from guide_tui.recorder.config import RecorderConfig
from guide_tui.recorder.monitor import FLOOR_DB, DropDetector, LevelMonitor
from guide_tui.recorder.repair import next_audio_path
from guide_tui.recorder.sources import DeviceSource, FileSource, Source
from guide_tui.recorder.wavfile import CrashSafeWav

if TYPE_CHECKING:
    from guide_tui.recorder.mic_check import MicCheck

_END = object()  # queue sentinel: the source has stopped, write what is left and close

_live: weakref.WeakSet[AudioRecorder] = weakref.WeakSet()
_atexit_registered = False


def _stop_all_at_exit() -> None:
    """Stop every running recorder before the interpreter (and PortAudio) shuts down.

    Registered after sounddevice is imported, so it runs before sounddevice's own exit handler
    (atexit is last-in, first-out): terminating PortAudio under a running stream can hang the
    exit, and the writer threads are daemons that would otherwise die with blocks still queued.
    """
    for recorder in list(_live):
        with contextlib.suppress(Exception):
            recorder.stop()


_BYTES = {"int16": 2, "int32": 4, "float32": 4}

RECOVER_SECONDS = 2.0  # first automatic retry after a lost device
_RECOVER_MAX_SECONDS = 10.0  # retries slow down to this


def _wall() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class _Run:
    """One stream run: from start/resume-after-loss to stop or fault. Owns source, queue, file."""

    def __init__(self, source: Source, wav: CrashSafeWav, config: RecorderConfig) -> None:
        self.source = source
        self.wav = wav
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.monitor = LevelMonitor(config, source.samplerate, source.channels)
        self.drops = DropDetector(config, source.samplerate)
        self.accepting = True  # False while paused: blocks are metered but not kept
        self.received = 0  # frames delivered by the source (kept or not)
        self.written = 0  # frames written in this run, over every file
        self.overflows = 0
        self.max_depth = 0
        self.started = time.monotonic()
        self.first_arrival: float | None = None
        self.last_arrival: float | None = None
        self.finished_reason: str | None = None  # the source ended by itself
        self.stopping = False  # stop() asked: the source ending is expected
        self.fault: tuple[str, str] | None = None  # (closed_reason, message)
        self.writer: threading.Thread | None = None
        self.file_info: AudioFileInfo | None = None
        self.file_dropped = 0
        self.file_overflows = 0
        self.start_offset = 0.0  # the session clock at the run's first frame


class AudioRecorder:
    """Records a session's audio into ``folder/audio-NNN.wav``; implements ``Recorder``.

    ``offset`` is where the session clock stands when recording begins (a reopened session goes
    on from its last ``t``). ``audio_file`` plays a file in real time instead of a microphone.
    ``source_factory`` and ``disk_usage`` exist for tests and the benchmark.
    """

    def __init__(
        self,
        folder: str | Path,
        config: RecorderConfig | None = None,
        *,
        offset: float = 0.0,
        audio_file: str | Path | None = None,
        source_factory: Callable[[], Source] | None = None,
        disk_usage: Callable[[Path], Any] = shutil.disk_usage,
        recover_seconds: float | None = RECOVER_SECONDS,
    ) -> None:
        self.folder = Path(folder)
        self._recover_seconds = recover_seconds  # None: only resume() tries a lost device
        self._recover_token = 0  # bumped to retire a retry thread
        self.config = config or RecorderConfig()
        self.config.validate()
        self._rescan_devices = False
        if source_factory is None:
            if audio_file is not None:
                path = Path(audio_file)
                source_factory = lambda: FileSource(path, self.config)  # noqa: E731
            else:
                # After a loss PortAudio's device list is stale (a replugged USB microphone gets
                # a new index): the next source re-scans before it opens.
                source_factory = lambda: DeviceSource(  # noqa: E731
                    self.config, refresh_devices=self._rescan_devices
                )
        self._source_factory = source_factory
        self._disk_usage = disk_usage
        self._lock = threading.RLock()
        self._state = RecorderState.IDLE
        self._message: str | None = None
        self._warnings: list[RecorderWarning] = []
        self._closed_files: list[AudioFileInfo] = []
        self._run: _Run | None = None
        self._device: str | None = None
        self._samplerate: int | None = None
        self._channels: int | None = None
        self._dropped_total = 0
        self._overflows_total = 0
        self._max_depth = 0
        self._disk_minutes_left: float | None = None
        self._disk_warned_below: float = float("inf")
        self._last_disk_check = 0.0
        self._last_sync = 0.0
        # The clock: see the module docstring. Written before ``_clock_mode`` switches to it.
        self._clock_mode = "frozen"  # frozen | frames | free
        self._clock_base = float(offset)
        self._clock_since = 0.0
        self._frames_kept = 0
        self._clock_rate = 1

    # ---------------------------------------------------------------------------- the clock
    def now(self) -> float:
        mode = self._clock_mode
        if mode == "frames":
            return self._clock_base + self._frames_kept / self._clock_rate
        if mode == "free":
            return self._clock_base + (time.monotonic() - self._clock_since)
        return self._clock_base

    def _clock_frames(self, samplerate: int) -> None:
        self._clock_base = self.now()
        self._frames_kept = 0
        self._clock_rate = samplerate
        self._clock_mode = "frames"

    def _clock_free(self) -> None:
        base = self.now()
        self._clock_since = time.monotonic()
        self._clock_base = base
        self._clock_mode = "free"

    def _clock_freeze(self) -> None:
        self._clock_base = self.now()
        self._clock_mode = "frozen"

    # ---------------------------------------------------------------------------- controls
    def start(self) -> None:
        """Begin recording into the next free ``audio-NNN.wav``; on failure, notes-only."""
        with self._lock:
            if self._state == RecorderState.PAUSED:
                self.resume()
                return
            if self._state != RecorderState.IDLE:
                return
            self._begin_run(failed_state=RecorderState.UNAVAILABLE)

    def pause(self) -> None:
        with self._lock:
            run = self._run
            if self._state == RecorderState.RECORDING and run is not None:
                run.accepting = False
                self._state = RecorderState.PAUSED

    def resume(self) -> None:
        """Continue after a pause; after a lost device (or none at first) try again, new file."""
        with self._lock:
            run = self._run
            if self._state == RecorderState.PAUSED and run is not None:
                run.accepting = True
                self._state = RecorderState.RECORDING
            elif self._state in (
                RecorderState.LOST,
                RecorderState.UNAVAILABLE,
                RecorderState.HALTED,
            ):
                previous = self._state
                if self._begin_run(failed_state=previous) and previous == RecorderState.LOST:
                    self._warn(
                        "device_recovered",
                        f"Recording again from {self._device} into "
                        f"{self._run.wav.path.name if self._run else '?'}.",
                    )
            elif self._state == RecorderState.IDLE:
                self.start()

    def stop(self) -> None:
        """Stop the stream, write every block still queued, close the file. Idempotent."""
        with self._lock:
            run = self._run
            if run is None:
                if self._state != RecorderState.IDLE:
                    self._clock_freeze()
                self._state = RecorderState.STOPPED
                return
            run.stopping = True
        self._stop_source(run)
        run.queue.put(_END)
        if run.writer is not None:
            run.writer.join(30)
        with self._lock:
            if self._run is run:  # the writer did not end the run itself (fault)
                self._finish_run(run, "stopped")
            self._clock_freeze()
            self._state = RecorderState.STOPPED

    def close(self) -> None:
        """Alias of ``stop`` for ``with``-style cleanup."""
        self.stop()

    def mic_check(self, seconds: float = 5.0, *, continuous: bool = True) -> MicCheck:
        """A microphone check on the same device and settings, for before recording starts
        (stop it before :meth:`start`: a hardware device may take one stream only)."""
        from guide_tui.recorder.mic_check import MicCheck

        return MicCheck(self.config, seconds, self._source_factory, continuous=continuous)

    # ---------------------------------------------------------------------------- status
    def poll(self) -> RecorderStatus:
        with self._lock:
            warnings, self._warnings = tuple(self._warnings), []
            run = self._run
            files = list(self._closed_files)
            if run is not None and run.file_info is not None:
                files.append(self._open_file_info(run))
            levels = run.monitor.levels if run is not None else None
            return RecorderStatus(
                state=self._state,
                t=self.now(),
                rms_db=max(levels.rms_db) if levels else FLOOR_DB,
                peak_db=max(levels.peak_db) if levels else FLOOR_DB,
                file=str(run.wav.path) if run is not None else None,
                bytes_written=run.wav.bytes_written if run is not None else 0,
                device=self._device,
                samplerate=self._samplerate,
                channels=self._channels,
                message=self._message,
                warnings=warnings,
                disk_minutes_left=self._disk_minutes_left,
                channel_rms_db=levels.rms_db if levels else (),
                channel_peak_db=levels.peak_db if levels else (),
                dropped_frames=self._dropped_total,
                overflows=self._overflows_total + (run.overflows if run is not None else 0),
                max_queue_depth=self._max_depth,
                files=tuple(files),
            )

    @property
    def state(self) -> str:
        return self._state

    # ---------------------------------------------------------------------------- runs
    def _begin_run(self, failed_state: str, *, quiet: bool = False) -> bool:
        """Open a source and the next file and start capturing. Called with the lock held.

        ``quiet``: an automatic retry; failing leaves message and warnings as they were."""
        source: Source | None = None
        wav: CrashSafeWav | None = None
        global _atexit_registered
        try:
            source = self._source_factory()
            if not _atexit_registered:
                atexit.register(_stop_all_at_exit)
                _atexit_registered = True
            _live.add(self)
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._check_disk_before_start(source)
            wav = CrashSafeWav(
                next_audio_path(self.folder),
                source.samplerate,
                source.channels,
                self.config.subtype,
            )
            run = _Run(source, wav, self.config)
            self._device, self._samplerate = source.name, source.samplerate
            self._channels = source.channels
            self._clock_frames(source.samplerate)
            run.start_offset = self.now()
            run.file_info = self._new_file_info(run, wav)
            self._run = run
            self._state = RecorderState.RECORDING
            self._message = None
            run.writer = threading.Thread(
                target=self._writer, args=(run,), name="guide-tui-audio-writer", daemon=True
            )
            run.writer.start()
            source.start(
                lambda block, overflow: self._on_block(run, block, overflow),
                lambda reason: self._on_finished(run, reason),
            )
            return True
        except RecorderError as error:
            self._abandon_start(source, wav, failed_state, str(error), quiet=quiet)
            return False
        except Exception as error:
            self._abandon_start(
                source,
                wav,
                failed_state,
                f"cannot start recording: {type(error).__name__}: {error}",
                quiet=quiet,
            )
            return False

    def _abandon_start(
        self,
        source: Source | None,
        wav: CrashSafeWav | None,
        state: str,
        message: str,
        *,
        quiet: bool = False,
    ) -> None:
        run = self._run
        if run is not None and run.wav is wav:
            run.stopping = True
            run.queue.put(_END)
            if run.writer is not None and run.writer is not threading.current_thread():
                run.writer.join(5)
            self._run = None
        if source is not None:
            with contextlib.suppress(Exception):
                source.stop()
        if wav is not None:
            wav.close()
            if wav.frames == 0:  # only a header: no audio to keep, do not leave an empty file
                wav.path.unlink(missing_ok=True)
        self._state = state
        self._rescan_devices = True  # the device may come back under a new index
        self._clock_free()
        if quiet:
            return  # the retry loop goes on
        if state == RecorderState.LOST:
            self._watch_for_device()
        self._message = message
        kinds = {RecorderState.UNAVAILABLE: "unavailable", RecorderState.HALTED: "not_recording"}
        self._warn(kinds.get(state, "device_lost"), f"Not recording: {message}")

    def _check_disk_before_start(self, source: Source) -> None:
        free = self._free_bytes()
        if free is not None and free < self.config.disk_reserve_bytes:
            raise RecorderError(
                f"the disk holding {self.folder} is full ({free // 2**20} MiB free); free some "
                "space, then resume recording"
            )

    def _new_file_info(self, run: _Run, wav: CrashSafeWav) -> AudioFileInfo:
        run.file_dropped = 0
        run.file_overflows = run.overflows
        return AudioFileInfo(
            file=wav.path.name,
            offset=self.now(),
            samplerate=wav.samplerate,
            channels=wav.channels,
            subtype=wav.subtype,
            device=self._device,
            started_wall=_wall(),
        )

    def _open_file_info(self, run: _Run) -> AudioFileInfo:
        assert run.file_info is not None
        return dataclasses.replace(
            run.file_info,
            frames=run.wav.frames,
            dropped_frames=run.file_dropped,
            overflows=run.overflows - run.file_overflows,
        )

    # ---------------------------------------------------------------------------- capture thread
    def _on_block(self, run: _Run, block: np.ndarray, overflow: bool) -> None:
        """Runs in the capture thread: count, queue, return."""
        arrived = time.monotonic()
        if run.first_arrival is None:
            run.first_arrival = arrived
        run.last_arrival = arrived
        run.received += len(block)
        if overflow:
            run.overflows += 1
        kept = run.accepting and not run.stopping
        if kept and self._run is run:
            self._frames_kept += len(block)
        run.queue.put((block, kept, arrived, run.received))

    def _on_finished(self, run: _Run, reason: str) -> None:
        if not run.stopping:
            run.finished_reason = reason

    # ---------------------------------------------------------------------------- writer thread
    def _writer(self, run: _Run) -> None:
        try:
            while run.fault is None:
                try:
                    item = run.queue.get(timeout=0.1)
                except queue.Empty:
                    item = None
                if item is _END:
                    break
                if item is not None:
                    self._handle(run, item)
                self._housekeeping(run)
        except Exception as error:
            run.fault = ("write_error", f"Recording stopped: {type(error).__name__}: {error}")
        if run.fault is not None and not run.stopping:
            self._end_run_on_fault(run)

    def _handle(self, run: _Run, item: tuple[np.ndarray, bool, float, int]) -> None:
        block, kept, arrived, received = item
        depth = run.queue.qsize() + 1
        if depth > run.max_depth:
            run.max_depth = depth
            self._max_depth = max(self._max_depth, depth)
        for finding in run.monitor.feed(block, arrived, recording=kept):
            self._warn(finding.kind, finding.message)
        drop = run.drops.observe(arrived, received)
        if drop is not None:
            run.file_dropped += drop.frames
            self._dropped_total += drop.frames
            self._warn(drop.kind, drop.message)
        if not kept:
            return
        if run.wav.bytes_written + block.nbytes > self.config.max_file_bytes:
            self._roll_over(run)
        try:
            run.wav.write(block)
        except OSError as error:
            if error.errno == errno.ENOSPC:
                run.fault = (
                    "disk_full",
                    "Recording stopped: the disk is full. Everything recorded so far is saved; "
                    "free some space, then resume recording (a new file).",
                )
            else:
                run.fault = (
                    "write_error",
                    f"Recording stopped: cannot write the audio file: "
                    f"{error.strerror or error}. Everything before is saved; resume recording "
                    "to try again (a new file).",
                )
            return
        run.written += len(block)

    def _roll_over(self, run: _Run) -> None:
        """Close the file at the size limit and go on in the next one without losing a frame."""
        with self._lock:
            self._close_file(run, "size_limit")
            offset = self._run_offset_of(run)
            wav = CrashSafeWav(
                next_audio_path(self.folder),
                run.wav.samplerate,
                run.wav.channels,
                self.config.subtype,
            )
            run.wav = wav
            info = self._new_file_info(run, wav)
            run.file_info = dataclasses.replace(info, offset=offset)

    def _run_offset_of(self, run: _Run) -> float:
        """Clock value at the first frame not yet written (where the next file starts)."""
        return run.start_offset + run.written / run.wav.samplerate

    def _housekeeping(self, run: _Run) -> None:
        now = time.monotonic()
        if now - self._last_sync >= self.config.fsync_seconds:
            self._last_sync = now
            # A failing disk shows up as a failed write, which stops cleanly.
            with contextlib.suppress(OSError):
                run.wav.sync()
        if now - self._last_disk_check >= self.config.disk_check_seconds:
            self._last_disk_check = now
            self._check_disk(run)
        if run.stopping or run.fault is not None:
            return
        if run.finished_reason is not None:
            if isinstance(run.source, FileSource):
                run.fault = ("source_ended", "The audio file has ended; recording stopped.")
            else:
                run.fault = (
                    "device_lost",
                    f"The microphone is gone ({run.finished_reason}). Everything recorded "
                    "so far is saved; recording starts again by itself when it is back "
                    "(p tries now).",
                )
        elif run.last_arrival is None and now - run.started > self.config.start_timeout_seconds:
            run.fault = (
                "device_lost",
                "The microphone sends no audio. Check that it is plugged in and not used "
                "by another program; recording starts again by itself when it is back "
                "(p tries now).",
            )
        elif run.last_arrival is not None and now - run.last_arrival > self.config.stall_seconds:
            run.fault = (
                "device_lost",
                f"The microphone stopped sending audio "
                f"{now - run.last_arrival:.0f} s ago. Everything before is saved; recording "
                "starts again by itself when it is back (p tries now).",
            )

    def _free_bytes(self) -> int | None:
        try:
            return int(self._disk_usage(self.folder).free)
        except OSError:
            return None

    def _check_disk(self, run: _Run) -> None:
        free = self._free_bytes()
        if free is None:
            return
        rate = run.wav.samplerate * run.wav.channels * _BYTES[self.config.dtype]
        usable = free - self.config.disk_reserve_bytes
        minutes = max(0.0, usable / rate / 60)
        self._disk_minutes_left = minutes
        if usable <= 0:
            run.fault = (
                "disk_full",
                "Recording stopped: the disk is almost full. Everything recorded so far "
                "is saved; free some space, then resume recording (a new file).",
            )
            return
        for level in (self.config.low_disk_minutes, 10.0, 2.0):
            if minutes < level < self._disk_warned_below:
                self._disk_warned_below = level
                self._warn(
                    "low_disk", f"Low disk space: about {minutes:.0f} minutes of recording left."
                )
                break

    def _end_run_on_fault(self, run: _Run) -> None:
        """Writer thread: the device died or the disk is full. Stop, drain, close, tell."""
        closed_reason, message = run.fault or ("device_lost", "recording stopped")
        run.stopping = True
        stopper = threading.Thread(target=self._stop_source, args=(run,), daemon=True)
        stopper.start()
        stopper.join(5)  # a wedged driver must not hang the writer: the file comes first
        while True:  # drain what was captured before the fault
            try:
                item = run.queue.get_nowait()
            except queue.Empty:
                break
            if item is not _END and closed_reason not in ("disk_full", "write_error"):
                self._handle(run, item)
        with self._lock:
            if self._run is not run:
                return
            self._finish_run(run, closed_reason)
            self._message = message
            self._clock_free()
            self._rescan_devices = closed_reason == "device_lost"
            # A full disk (or a failed write) can be fixed while the interview goes on, so
            # resume() tries again then, like after a lost device.
            self._state = {
                "device_lost": RecorderState.LOST,
                "disk_full": RecorderState.HALTED,
                "write_error": RecorderState.HALTED,
            }.get(closed_reason, RecorderState.STOPPED)
            self._warn("device_lost" if closed_reason == "device_lost" else closed_reason, message)
            if self._state == RecorderState.LOST and run.written > 0:
                # Only a device that delivered audio and went away is tried again by itself: one
                # that opens but never sends (a "default" with nothing behind it) would leave a
                # new empty file at every try. p still tries it.
                self._watch_for_device()

    # ---------------------------------------------------------------------------- recovery
    def _watch_for_device(self) -> None:
        """Start trying a lost device again in the background (lock held; see the module doc)."""
        if self._recover_seconds is None or self._recover_seconds <= 0:
            return
        self._recover_token += 1
        threading.Thread(
            target=self._recover_loop,
            args=(self._recover_token,),
            name="guide-tui-audio-recover",
            daemon=True,
        ).start()

    def _recover_loop(self, token: int) -> None:
        delay = float(self._recover_seconds or RECOVER_SECONDS)
        while True:
            time.sleep(delay)
            with self._lock:
                if token != self._recover_token or self._state != RecorderState.LOST:
                    return  # recovered (p, or a newer loss has its own thread) or stopped
                if self._begin_run(failed_state=RecorderState.LOST, quiet=True):
                    name = self._run.wav.path.name if self._run else "the next file"
                    self._warn(
                        "device_recovered",
                        f"The microphone is back: recording again, into {name}.",
                    )
                    return
            delay = min(delay * 1.5, _RECOVER_MAX_SECONDS)

    def _stop_source(self, run: _Run) -> None:
        with contextlib.suppress(Exception):
            run.source.stop()

    def _finish_run(self, run: _Run, reason: str) -> None:
        """Close the run's file and forget the run (lock held)."""
        self._close_file(run, reason)
        self._overflows_total += run.overflows
        self._run = None

    def _close_file(self, run: _Run, reason: str) -> None:
        info = self._open_file_info(run)
        run.wav.close()
        self._closed_files.append(
            dataclasses.replace(
                info, frames=run.wav.frames, ended_wall=_wall(), closed_reason=reason
            )
        )
        run.file_info = None

    def _warn(self, kind: str, message: str) -> None:
        with self._lock:
            self._warnings.append(RecorderWarning(kind=kind, message=message, t=self.now()))


def open_recorder_or_raise(
    folder: str | Path, config: RecorderConfig | None = None, **kwargs: Any
) -> AudioRecorder:
    """An :class:`AudioRecorder` whose source could be opened (for the CLI: fail loudly)."""
    recorder = AudioRecorder(folder, config, **kwargs)
    recorder.start()
    status = recorder.poll()
    if status.state != RecorderState.RECORDING:
        recorder.stop()
        raise RecorderError(status.message or "cannot record")
    return recorder
