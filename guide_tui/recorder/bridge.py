"""Turns what the recorder reports into session events and ``session.json`` entries.

The recorder's threads never touch the session: they only leave a snapshot for ``poll()``. The
app owns one :class:`SessionRecorderBridge`, which *is* a ``Recorder`` (it wraps one), so the TUI
keeps talking to the protocol and does not know the bridge exists. Each control call and each
``poll()`` (about 10 Hz, from the UI thread) compares the snapshot with the previous one and posts
what changed, through ``Session.post`` (thread-safe, never waits on disk):

===========================  =========================================================
recorder change              events posted
===========================  =========================================================
a file opened                ``recording_started`` (file, device, samplerate, channels, offset)
running → paused / back      ``recording_paused`` / ``recording_resumed``
a file closed                ``recording_stopped`` (file, frames, reason)
device gone                  ``device_lost`` (device, file, reason) after ``recording_stopped``
recording again after that   ``device_recovered`` (device, file) before ``recording_started``
warning (silence, clipping,  ``warning`` (kind, message, detected_t)
dropped frames, low disk...)
===========================  =========================================================

``session.json`` gets ``audio`` (one entry per file: offset on the session clock, frames, device,
rate, channels, why it closed, drops), ``pauses`` and ``dropped_frames``, rewritten only when a file
opens or closes or a pause ends, on a thread of the bridge's own (the rewrite fsyncs); ``stop()``
waits for the last one.

The bridge also makes the recorder the session's clock (``session.clock = recorder``), so every
event the interviewer triggers is stamped at its place in the audio.

Stdlib only: it imports nothing from the capture modules.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import copy
import dataclasses
import threading
from datetime import datetime, timezone
from typing import Any, Protocol

from guide_tui.errors import GuideTuiError
from guide_tui.recorder.base import (
    AudioFileInfo,
    Recorder,
    RecorderState,
    RecorderStatus,
    RecorderWarning,
)
from guide_tui.session.events import EventType

#: Warning kinds that become their own event types rather than ``warning`` events.
_OWN_EVENTS = frozenset({"device_lost", "device_recovered"})


class _SessionLike(Protocol):
    clock: Any

    @property
    def meta(self) -> dict[str, Any]: ...

    def post(self, type: str, **data: Any) -> Any: ...

    def update_meta(self, **changes: Any) -> dict[str, Any]: ...


def _wall() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class SessionRecorderBridge:
    """A ``Recorder`` that records through ``recorder`` and logs it all into ``session``."""

    def __init__(self, session: _SessionLike, recorder: Recorder, *, use_as_clock: bool = True):
        self.session = session
        self.recorder = recorder
        self._lock = threading.RLock()
        self._pending: list[Any] = []  # warnings seen by an internal poll, for the next poll()
        self._last_state = RecorderState.IDLE
        self._open_files: dict[str, AudioFileInfo] = {}
        self._closed: set[str] = set()
        self._pause_started: tuple[float, str] | None = None
        self._recovering = False
        meta = session.meta
        self._audio: list[dict[str, Any]] = list(meta.get("audio") or [])
        self._pauses: list[dict[str, Any]] = list(meta.get("pauses") or [])
        self._dropped_before = int(meta.get("dropped_frames") or 0)
        # session.json is rewritten atomically with an fsync: off the UI thread, in order.
        self._meta_writer = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="guide-tui-audio-meta"
        )
        self._last_meta_write: concurrent.futures.Future[Any] | None = None
        if use_as_clock:
            session.clock = recorder

    # ------------------------------------------------------------------------------ Recorder
    def now(self) -> float:
        return self.recorder.now()

    def start(self) -> None:
        self.recorder.start()
        self._sync()

    def pause(self) -> None:
        self.recorder.pause()
        self._sync()

    def resume(self) -> None:
        if self._last_state in (RecorderState.LOST, RecorderState.UNAVAILABLE):
            self._recovering = True
        self.recorder.resume()
        self._sync()
        self._recovering = False

    def stop(self) -> None:
        self.recorder.stop()
        self._sync()
        self.flush_meta()

    def flush_meta(self, timeout: float = 10.0) -> None:
        """Wait until every ``session.json`` update asked for so far is on disk."""
        with self._lock:
            last = self._last_meta_write
        if last is not None:
            concurrent.futures.wait([last], timeout=timeout)

    def mic_check(self, seconds: float = 5.0, *, continuous: bool = True) -> Any:
        """The wrapped recorder's microphone check (None when it has none: notes-only)."""
        make = getattr(self.recorder, "mic_check", None)
        return make(seconds, continuous=continuous) if make is not None else None

    def poll(self) -> RecorderStatus:
        status = self._sync()
        with self._lock:
            warnings, self._pending = tuple(self._pending), []
        return dataclasses.replace(status, warnings=warnings)

    # ------------------------------------------------------------------------------ internals
    def _sync(self) -> RecorderStatus:
        """Poll the recorder and post every change since the last poll, in a sensible order."""
        with self._lock:
            status = self.recorder.poll()
            self._pending.extend(status.warnings)
            meta_dirty = False
            previous = self._last_state
            state = status.state
            by_name = {info.file: info for info in status.files}

            # Files that closed since the last look: recording_stopped first, with its reason.
            for name, info in list(self._open_files.items()):
                latest = by_name.get(name, info)
                if latest.closed_reason is not None:
                    self.session.post(
                        EventType.RECORDING_STOPPED,
                        file=name,
                        frames=latest.frames,
                        reason=latest.closed_reason,
                    )
                    del self._open_files[name]
                    self._closed.add(name)
                    self._store_file(latest)
                    meta_dirty = True
                    if latest.closed_reason == "device_lost":
                        self.session.post(
                            EventType.DEVICE_LOST,
                            device=latest.device,
                            file=name,
                            reason=status.message,
                        )
            for warning in status.warnings:
                if warning.kind not in _OWN_EVENTS:
                    self.session.post(
                        EventType.WARNING,
                        kind=warning.kind,
                        message=warning.message,
                        detected_t=round(warning.t, 3),
                    )

            # Pauses (the clock stands still while paused, so ``t`` is where the gap lies).
            if state == RecorderState.PAUSED and previous != RecorderState.PAUSED:
                self.session.post(EventType.RECORDING_PAUSED)
                self._pause_started = (status.t, _wall())
            elif previous == RecorderState.PAUSED and state != RecorderState.PAUSED:
                if state == RecorderState.RECORDING:
                    self.session.post(EventType.RECORDING_RESUMED)
                self._end_pause()
                meta_dirty = True

            # Files that opened: device_recovered (after a loss), then recording_started.
            for info in status.files:
                if (
                    info.closed_reason is None
                    and info.file not in self._open_files
                    and info.file not in self._closed
                ):
                    if previous in (RecorderState.LOST, RecorderState.UNAVAILABLE) and self._audio:
                        self.session.post(
                            EventType.DEVICE_RECOVERED, device=info.device, file=info.file
                        )
                    self.session.post(
                        EventType.RECORDING_STARTED,
                        file=info.file,
                        device=info.device,
                        samplerate=info.samplerate,
                        channels=info.channels,
                        offset=round(info.offset, 6),
                    )
                    self._open_files[info.file] = info
                    self._store_file(info)
                    meta_dirty = True

            if state == RecorderState.UNAVAILABLE and previous != RecorderState.UNAVAILABLE:
                meta_dirty = True  # notes-only from here: say so in session.json
            self._last_state = state
            if meta_dirty:
                self._write_meta(status)
            return status

    def _end_pause(self) -> None:
        if self._pause_started is None:
            return
        t, started = self._pause_started
        ended = _wall()
        seconds = (datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds()
        self._pauses.append(
            {"t": round(t, 6), "started": started, "ended": ended, "seconds": round(seconds, 3)}
        )
        self._pause_started = None

    def _store_file(self, info: AudioFileInfo) -> None:
        entry = info.to_json_dict()
        for index, existing in enumerate(self._audio):
            if existing.get("file") == info.file:
                self._audio[index] = entry
                return
        self._audio.append(entry)

    def _write_meta(self, status: RecorderStatus) -> None:
        changes: dict[str, Any] = {
            "audio": self._audio,
            "pauses": self._pauses,
            "dropped_frames": self._dropped_before + status.dropped_frames,
        }
        if status.state == RecorderState.UNAVAILABLE and status.message:
            changes["recording_unavailable"] = status.message
        changes = copy.deepcopy(changes)  # the lists go on changing on this thread
        self._last_meta_write = self._meta_writer.submit(self._store_meta, changes)

    def _store_meta(self, changes: dict[str, Any]) -> None:
        try:
            self.session.update_meta(**changes)
        except Exception as error:
            warning = RecorderWarning("meta_write", f"Cannot update session.json: {error}", 0.0)
            with self._lock:
                self._pending.append(dataclasses.replace(warning, t=self.now()))


def record_repairs_in_meta(session: _SessionLike, repairs: list[Any]) -> None:
    """After reopening a crashed session: set each repaired file's frame count in ``audio``.

    ``repairs`` are :class:`guide_tui.recorder.repair.RepairResult`; a file the crash left open
    (``closed_reason`` None) is marked ``crashed`` with the frames actually on disk.
    """
    audio = list(session.meta.get("audio") or [])
    changed = False
    for result in repairs:
        for entry in audio:
            if entry.get("file") != result.path.name or result.frames < 0:
                continue
            if entry.get("frames") != result.frames or entry.get("closed_reason") is None:
                entry["frames"] = result.frames
                rate = entry.get("samplerate") or 0
                entry["seconds"] = round(result.frames / rate, 3) if rate else 0.0
                if entry.get("closed_reason") is None:
                    entry["closed_reason"] = "crashed"
                changed = True
    if changed:
        # On a full disk the session keeps the change and writes it when there is space: that
        # must not turn a resumed interview into a notes-only one.
        with contextlib.suppress(GuideTuiError):
            session.update_meta(audio=audio)
