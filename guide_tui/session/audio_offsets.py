"""Where each audio file of a session lies on the session clock (``t`` of ``events.jsonl``).

A session has more than one file after a lost device or a full file. The clock runs on while no
audio can be captured, so ``audio-002.wav`` starts at the moment recording came back, not where
``audio-001.wav`` ended: laying the files end to end put every word after an outage early by the
length of the outage (22-30 s in the field test), and notes and topics no longer matched the
words. The recorder writes each file's ``offset`` into ``session.json``; transcription and the
exports place the files with :func:`place_audio`, and the time between files is a gap with no
audio (never transcribed, silence in a joined recording).

Stdlib only: the transcriber, the exports and reports all use it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def recorded_offsets(meta: dict[str, Any], names: Sequence[str]) -> list[float | None]:
    """Each named file's ``offset`` from ``session.json`` (None when missing, not a time, or
    absurd: outside 0 to ``MAX_EVENT_T``, as the event log's times)."""
    from guide_tui.session.store import MAX_EVENT_T

    by_name: dict[str, object] = {}
    entries = meta.get("audio")
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("file"), str):
            name = entry["file"].replace("\\", "/").rsplit("/", 1)[-1]  # as the readers name it
            by_name.setdefault(name, entry.get("offset"))
    out: list[float | None] = []
    for name in names:
        value = by_name.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(float(value) if math.isfinite(value) and 0 <= value <= MAX_EVENT_T else None)
        else:
            out.append(None)
    return out


def place_audio(durations: Sequence[float], offsets: Sequence[float | None]) -> list[float]:
    """Start of each file on the session clock, files in recording order.

    A file's recorded offset is used as it is; one without (sessions from before offsets were
    written, hand-made folders) follows the previous file directly. A file never starts before the
    previous one ends: an overlap (rounding, or two programs that once recorded one session at the
    same time) is moved to the end of the previous file, so one time is never two places in the
    audio.
    """
    starts: list[float] = []
    end = 0.0
    for duration, offset in zip(durations, offsets, strict=True):
        start = end if offset is None else max(offset, end)
        starts.append(start)
        end = start + max(0.0, duration)
    return starts


__all__ = ["place_audio", "recorded_offsets"]
