"""LinePanel: the recorder panel's drawing, which repaints only the lines that changed (the
level meter changes ten times a second; the rest of the panel once a second or less)."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import Static

from guide_tui.tui.widgets import LinePanel

LONG = "[$warning]⚠ No sound for 10 s: is the microphone muted or unplugged?[/]"


class PanelApp(App[None]):
    CSS = "LinePanel { width: 30; } Static { width: 30; }"

    def compose(self) -> ComposeResult:
        yield LinePanel()
        yield Static(id="reference")


def run(test: Any) -> None:
    async def main() -> None:
        app = PanelApp()
        async with app.run_test(size=(40, 12)) as pilot:
            await test(app, pilot)

    asyncio.run(main())


def test_a_changed_line_repaints_that_line_only() -> None:
    async def test(app: PanelApp, pilot: Any) -> None:
        panel = app.query_one(LinePanel)
        panel.set_lines(["● REC  1:02", "[$success]████····[/]  -20 dB", "3.1 MB"])
        await pilot.pause()
        calls: list[tuple[tuple[Region, ...], bool]] = []
        original = panel.refresh

        def spy(*regions: Region, layout: bool = False, **kwargs: Any) -> Any:
            calls.append((regions, layout))
            return original(*regions, layout=layout, **kwargs)

        panel.refresh = spy  # type: ignore[method-assign]
        panel.set_lines(["● REC  1:02", "[$success]██████··[/]  -14 dB", "3.1 MB"])
        assert calls == [((Region(0, 1, 30, 1),), False)]
        calls.clear()
        panel.set_lines(["● REC  1:02", "[$success]██████··[/]  -14 dB", "3.1 MB"])
        assert calls == []  # nothing changed: nothing repainted
        panel.set_lines(["● REC  1:02", "3.1 MB"])  # fewer lines: the height may change
        assert calls == [((), True)]
        await pilot.pause()
        assert panel.text == "● REC  1:02\n3.1 MB"
        assert panel.region.height == 2

    run(test)


def test_lines_wrap_and_look_like_a_static() -> None:
    async def test(app: PanelApp, pilot: Any) -> None:
        panel = app.query_one(LinePanel)
        reference = app.query_one("#reference", Static)
        panel.set_lines(["● REC  1:02", LONG])
        reference.update("● REC  1:02\n" + LONG)
        await pilot.pause()
        assert panel.region.height == reference.region.height == 3  # the warning wraps
        ours = [line.text for line in panel.render_lines(Region(0, 0, 30, 3))]
        theirs = [line.text for line in reference.render_lines(Region(0, 0, 30, 3))]
        assert ours == theirs
        assert "microphone muted" in panel.text

    run(test)


def test_a_theme_change_recolours_the_lines() -> None:
    async def test(app: PanelApp, pilot: Any) -> None:
        panel = app.query_one(LinePanel)
        app.theme = "textual-dark"
        panel.set_lines(["[$warning]careful[/]"])
        await pilot.pause()
        dark = panel.render_line(0)
        app.theme = "textual-light"
        await pilot.pause()
        light = panel.render_line(0)
        assert dark.text == light.text == "careful"
        assert dark != light

    run(test)


def test_lines_set_while_hidden_are_drawn_when_shown() -> None:
    async def test(app: PanelApp, pilot: Any) -> None:
        panel = app.query_one(LinePanel)
        panel.set_lines(["before"])
        await pilot.pause()
        panel.display = False
        await pilot.pause()
        panel.set_lines(["after"])
        panel.display = True
        await pilot.pause()
        assert panel.render_line(0).text.rstrip() == "after"

    run(test)
