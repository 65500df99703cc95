"""The guide picker ``guide-tui run`` shows when no guide is named.

A separate, tiny app rather than a screen of the interview app: the session (and its folder)
is created only once a guide is chosen, and the interview app is always built with one.
Guides that do not load are listed with their first problem, not hidden, so a broken guide is
noticed before the interview rather than during it.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Label, OptionList
from textual.widgets.option_list import Option

from guide_tui.errors import GuideTuiError
from guide_tui.tui.format import escape


class GuidePickerApp(App[Path | None]):
    """Lists guides (title, version, topics, minutes); Enter returns the chosen path."""

    TITLE = "guide-tui: choose a guide"
    CSS = """
    Screen { padding: 1 2; }
    #picker-title { margin-bottom: 1; }
    OptionList { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,ctrl+q", "cancel", "Cancel", id="cancel")
    ]

    def __init__(self, paths: list[Path]) -> None:
        super().__init__()
        self.paths = paths

    def compose(self) -> ComposeResult:
        yield Label(
            "[b]Choose the interview guide[/b]  [dim]↑↓ · Enter · Esc cancels[/]", id="picker-title"
        )
        yield OptionList(*self._options(), id="guides")
        yield Footer()

    def _options(self) -> list[Option]:
        from guide_tui.guide import load_guide

        options = []
        for index, path in enumerate(self.paths):
            try:
                guide = load_guide(path)
            except GuideTuiError as error:
                first = str(error).splitlines()[0] if str(error) else "invalid"
                options.append(
                    Option(
                        f"[dim]{escape(path.name)}[/]  [$error]{escape(first)}[/]",
                        id=str(index),
                        disabled=True,
                    )
                )
                continue
            options.append(
                Option(
                    f"[b]{escape(guide.title)}[/b]  [dim]v{escape(guide.version)} · "
                    f"{len(guide.topics)} topics · {guide.duration_minutes:g} min · "
                    f"{escape(path.name)}[/]",
                    id=str(index),
                )
            )
        return options

    def bell(self) -> None:
        """Silent, as the interview app is (Textual rings it, e.g. for a disabled key): the
        guide is often picked with the participant already in the room."""

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.exit(self.paths[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        self.exit(None)
