"""Pure formatting helpers for the TUI (no Textual), kept apart so they are trivially testable."""

from __future__ import annotations

from guide_tui.safetext import terminal_text

LEVEL_FLOOR_DB = -60.0  # the meter's left end: quieter is "silence" for speech


def clock(seconds: float) -> str:
    """``m:ss`` under an hour, ``h:mm:ss`` above: short enough to read at a glance."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def overrun_level(seconds: float, planned_minutes: float | None) -> str:
    """``ok`` within plan, ``amber`` over it, ``red`` more than a quarter over it."""
    if not planned_minutes:
        return "ok"
    planned = planned_minutes * 60
    if seconds > planned * 1.25:
        return "red"
    if seconds > planned:
        return "amber"
    return "ok"


def level_fraction(db: float) -> float:
    """dBFS to 0..1 on the meter's scale."""
    if db <= LEVEL_FLOOR_DB:
        return 0.0
    return min(1.0, (db - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB)


def level_bar(rms_db: float, peak_db: float, width: int) -> str:
    """A text meter: ``█`` up to the RMS level, ``│`` at the peak, ``·`` after."""
    width = max(1, width)
    filled = round(level_fraction(rms_db) * width)
    peak = min(width - 1, round(level_fraction(peak_db) * width))
    cells = ["█" if i < filled else "·" for i in range(width)]
    if peak_db > LEVEL_FLOOR_DB and peak >= filled:
        cells[peak] = "│"
    return "".join(cells)


def level_style(peak_db: float) -> str:
    """The meter's colour: red at full scale (clipping), amber close to it, green otherwise."""
    if peak_db > -1:
        return "$error"
    return "$warning" if peak_db > -6 else "$success"


def size(n_bytes: int) -> str:
    """Human file size: the interviewer wants to see it growing, not the exact count."""
    value = float(n_bytes)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


_WORD_JOINER = "\u2060"


def escape(text: object) -> str:
    """``text`` as Textual markup that shows it exactly as written, and is safe for a terminal.

    Use it for every piece of guide or session text put into markup. Textual's own
    ``textual.markup.escape`` (Rich's rule) only escapes tags that start with a lower-case
    letter, ``#``, ``/`` or ``@``, but Textual's parser also reads ``[LBP]``, ``[$var]`` and
    ``[ b]`` as tags (so "Low back pain [LBP] study" lost its "[LBP]"), and it doubles
    backslashes the parser then shows twice. Here every ``[`` is escaped (``\\[`` is the only
    escape Textual's parser knows). A backslash at the very end would escape the markup that
    follows, so a zero-width word joiner separates it. Control characters become visible
    stand-ins (:func:`~guide_tui.safetext.terminal_text`): a terminal would execute them.
    """
    safe = terminal_text(str(text)).replace("[", "\\[")
    return safe + _WORD_JOINER if safe.endswith("\\") else safe


def dom_id(guide_id: str) -> str:
    """A guide id as part of a widget id. Guide ids may hold ``.`` (``v1.2``), which Textual
    refuses in ids (the screen would crash); ``_`` is doubled and ``.`` written ``_d``, so two
    guide ids never share a widget id, and the ids guides usually have stay as they are."""
    return guide_id.replace("_", "__").replace(".", "_d")
