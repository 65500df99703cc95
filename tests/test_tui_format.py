"""The TUI's pure formatting helpers (no Textual): clocks, the level meter, file sizes."""

from __future__ import annotations

from guide_tui.tui.format import clock, level_bar, level_style, overrun_level, size


def test_clock_is_short_under_an_hour() -> None:
    assert clock(0) == "0:00"
    assert clock(75.9) == "1:15"
    assert clock(3725) == "1:02:05"


def test_overrun_turns_amber_then_red() -> None:
    assert overrun_level(290, 5) == "ok"
    assert overrun_level(310, 5) == "amber"
    assert overrun_level(380, 5) == "red"
    assert overrun_level(9999, None) == "ok"


def test_level_bar_fills_to_the_rms_and_marks_the_peak() -> None:
    assert level_bar(-120, -120, 10) == "·" * 10
    assert level_bar(-30, -12, 10) == "█████···│·"
    assert level_bar(0, 0, 10) == "█" * 10


def test_both_meters_share_one_colour_rule() -> None:
    assert level_style(-20) == "$success"
    assert level_style(-3) == "$warning"
    assert level_style(-0.1) == "$error"


def test_size_reads_at_a_glance() -> None:
    assert size(44) == "44 B"
    assert size(96_000) == "96.0 kB"
    assert size(57_600_000) == "57.6 MB"
