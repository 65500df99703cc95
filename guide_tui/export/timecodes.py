"""Time formats of the tools we export to. All take seconds on the session clock.

Rounding is done once, on an integer count of the smallest unit, so that 59.96 s becomes
``00:01:00.0`` and never ``00:00:60.0``.
"""

from __future__ import annotations


def _split(units: int, per_second: int) -> tuple[int, int, int, int]:
    seconds, fraction = divmod(units, per_second)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return hours, minutes, seconds, fraction


def hms(t: float) -> str:
    """``01:02:03``: reading formats; truncated, so a turn at 6.8 s is found at 00:00:06."""
    h, m, s, _ = _split(int(max(t, 0.0)), 1)
    return f"{h:02d}:{m:02d}:{s:02d}"


def maxqda(t: float) -> str:
    """``#01:02:03-4#``: the timestamp MAXQDA and f4/f5 recognise (tenths after the dash)."""
    h, m, s, d = _split(round(max(t, 0.0) * 10), 10)
    return f"#{h:02d}:{m:02d}:{s:02d}-{d}#"


def tenths(t: float) -> str:
    """``01:02:03.4``: NVivo transcript timespans."""
    h, m, s, d = _split(round(max(t, 0.0) * 10), 10)
    return f"{h:02d}:{m:02d}:{s:02d}.{d}"


def srt(t: float) -> str:
    """``01:02:03,456`` (SubRip)."""
    h, m, s, ms = _split(round(max(t, 0.0) * 1000), 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def vtt(t: float) -> str:
    """``01:02:03.456`` (WebVTT)."""
    h, m, s, ms = _split(round(max(t, 0.0) * 1000), 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def milliseconds(t: float) -> int:
    """REFI-QDA ``SyncPoint timeStamp`` / ``AudioSelection begin``: integer milliseconds."""
    return round(max(t, 0.0) * 1000)


def minutes_label(seconds: float | None) -> str:
    """``42 min`` / ``1 h 05 min`` for tables; ``–`` when unknown."""
    if seconds is None:
        return "–"
    total = round(seconds / 60)
    if total < 60:
        return f"{total} min"
    return f"{total // 60} h {total % 60:02d} min"
