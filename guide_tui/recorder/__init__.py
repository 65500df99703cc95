"""Audio capture (SPEC §5): microphone → queue → writer thread → crash-safe WAV; the session clock.

Only this package imports sounddevice, and only inside the modules that capture. This module and
``base`` (the contract the TUI uses), ``config``, ``repair`` and ``bridge`` import nothing heavy,
so the TUI's first screen can be drawn before numpy, soundfile or PortAudio are loaded.

- :func:`build_recorder` — what ``guide-tui run`` calls: repairs the session's audio after a
  crash, then returns an :class:`~guide_tui.recorder.capture.AudioRecorder` (microphone or
  ``--audio-file``), or a :class:`~guide_tui.recorder.base.NullRecorder` with the reason when
  recording is impossible here (notes-only session).
- :class:`~guide_tui.recorder.bridge.SessionRecorderBridge` — wraps a recorder, makes it the
  session clock and turns its snapshots into events and ``session.json`` entries.
- :mod:`~guide_tui.recorder.devices` — list inputs, resolve ``--device``.
- :mod:`~guide_tui.recorder.mic_check` — record a few seconds and judge the levels.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guide_tui.recorder.base import NullRecorder, Recorder
from guide_tui.recorder.config import RecorderConfig

if TYPE_CHECKING:
    from guide_tui.recorder.bridge import SessionRecorderBridge

__all__ = ["attach_recorder", "build_recorder"]


def build_recorder(
    session_dir: str | os.PathLike[str],
    *,
    config: RecorderConfig | None = None,
    offset: float = 0.0,
    audio_file: str | os.PathLike[str] | None = None,
    notes_only: bool = False,
) -> Recorder:
    """The recorder for a session: real capture when possible, else notes-only with the reason.

    Never raises for a missing device or library: the interview must be able to go on without
    audio. ``offset`` is the session clock's current value (a reopened session's last ``t``).
    Audio files a crash left behind are repaired first, so recording on never hides them.
    """
    if notes_only:
        return NullRecorder(offset=offset)
    from guide_tui.recorder.repair import repair_session_audio

    if Path(session_dir).is_dir():
        repair_session_audio(Path(session_dir))
    try:
        # Deferred: numpy + soundfile cost about 0.1 s to import; sounddevice (PortAudio, device
        # enumeration) is imported only when the stream opens.
        from guide_tui.recorder.capture import AudioRecorder
    except ImportError as error:
        return NullRecorder(
            reason=f"Notes only: recording needs {error.name} (pip install guide-tui).",
            offset=offset,
        )
    return AudioRecorder(
        Path(session_dir),
        config,
        offset=offset,
        audio_file=Path(audio_file) if audio_file is not None else None,
    )


def attach_recorder(
    session: Any,
    *,
    config: RecorderConfig | None = None,
    audio_file: str | os.PathLike[str] | None = None,
    notes_only: bool = False,
) -> SessionRecorderBridge:
    """Everything ``guide-tui run`` needs for audio, in one call, for a created or reopened session.

    Repairs audio a crash left behind and records the true frame counts in ``session.json``;
    starts the clock where the session left off (after the last event *and* the end of the last
    audio file, so a new file never overlaps an old one on the clock); returns a bridge that is
    the session's recorder and clock. Call ``start()`` on it when the interview begins.
    """
    from guide_tui.recorder.bridge import SessionRecorderBridge, record_repairs_in_meta
    from guide_tui.recorder.repair import repair_session_audio

    folder = Path(session.path)
    record_repairs_in_meta(session, repair_session_audio(folder))
    offset = float(session.clock.now()) if hasattr(session, "clock") else 0.0
    offset = max(offset, _audio_end(session.meta.get("audio")))
    recorder = build_recorder(
        folder, config=config, offset=offset, audio_file=audio_file, notes_only=notes_only
    )
    return SessionRecorderBridge(session, recorder)


def _audio_end(entries: Any) -> float:
    """Where the last audio file of ``session.json`` ends on the session clock (0 if none).

    Entries that are damaged or absurd (not numbers, ``offset: 1e308``) are skipped, like torn
    event lines, so the clock never starts from them.
    """
    from guide_tui.session.store import MAX_EVENT_T

    def number(value: Any) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value) if math.isfinite(value) else None

    end = 0.0
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        start, frames = number(entry.get("offset") or 0.0), number(entry.get("frames") or 0)
        rate = number(entry.get("samplerate"))
        if start is None or frames is None or not rate or rate <= 0:
            continue
        stop = start + frames / rate
        if 0.0 <= stop <= MAX_EVENT_T:
            end = max(end, stop)
    return end
