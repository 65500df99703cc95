"""Modal dialogs: confirm, note, jump to topic, help. Each is typed by what it returns
(``ModalScreen[bool]``, ``ModalScreen[str | None]``) and closes with ``dismiss``; the caller
decides what to log, so none of them touches the session."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from guide_tui.guide.model import Topic
from guide_tui.session.state import InterviewState
from guide_tui.tui.format import escape
from guide_tui.tui.widgets import STATUS_ICON


class ConfirmScreen(ModalScreen[bool]):
    """Yes/no for irreversible steps (ending, leaving)."""

    CSS_PATH = "dialogs.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "No", show=False),
        Binding("y", "answer(True)", "Yes", show=False),
    ]

    def __init__(self, question: str, detail: str = "", *, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"[b]{escape(self.question)}[/b]")
            if self.detail:
                yield Static(escape(self.detail), classes="dialog-detail")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="no")
                yield Button(f"{self.yes} (y)", id="yes", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#yes").focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class NoteScreen(ModalScreen[str | None]):
    """A one-line note. Its time was taken when the key was pressed, before typing began."""

    CSS_PATH = "dialogs.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, at: str) -> None:
        super().__init__()
        self.at = at

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="note-dialog"):
            yield Label(f"[b]Note at {self.at}[/b]  [dim]Enter saves · Esc cancels[/]")
            yield Input(placeholder="What happened?", id="note-input")

    def on_mount(self) -> None:
        note = self.query_one(Input)
        note.cursor_blink = getattr(self.app, "cursor_blink", True)
        note.focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def draft(self) -> str:
        """What has been typed so far (the app saves it when the terminal closes)."""
        return self.query_one(Input).value


def _matches(query: str, number: int, title: str, topic_id: str = "") -> bool:
    """Type to search: a number picks the topic, words match anywhere (all of them)."""
    query = query.strip().lower()
    if not query:
        return True
    if query.isdigit():
        return str(number).startswith(query)
    haystack = f"{title} {topic_id}".lower()
    return all(word in haystack for word in query.split())


class TopicJumpScreen(ModalScreen[str | None]):
    """Type to filter the topics; Enter goes to the highlighted one."""

    CSS_PATH = "dialogs.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("up", "move(-1)", "Up", show=False),
    ]

    def __init__(self, state: InterviewState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="jump-dialog"):
            yield Label("[b]Go to topic[/b]  [dim]type to search · Enter goes · Esc cancels[/]")
            yield Input(placeholder="Topic name or number", id="jump-input")
            yield OptionList(id="jump-list")

    def on_mount(self) -> None:
        jump = self.query_one(Input)
        jump.cursor_blink = getattr(self.app, "cursor_blink", True)
        self._fill("")
        jump.focus()

    def _fill(self, query: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        for number, topic in enumerate(self.state.visible_topics(), 1):
            if _matches(query, number, topic.title, topic.id):
                icon = STATUS_ICON[self.state.topics[topic.id].status]
                options.add_option(Option(f"{icon} {number:>2} {escape(topic.title)}", id=topic.id))
        if options.option_count:
            options.highlighted = 0

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            self.notify("No topic matches.", timeout=2.5)  # silently: no bell in the room
            return
        self.dismiss(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, current + step))

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every key of the screen underneath, with what it does."""

    CSS_PATH = "dialogs.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "Close", show=False)
    ]

    def __init__(self, under: Screen[Any]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        rows = []
        for binding in getattr(self.under, "BINDINGS", []):
            if not isinstance(binding, Binding) or not binding.show:
                continue
            keys = binding.key_display or ", ".join(binding.key.split(","))
            what = escape(binding.tooltip or binding.description)
            rows.append(f"[b $accent]{keys:>6}[/]  {what}")
        extra = getattr(self.under, "HELP_ROWS", None)  # a screen with keys of its own
        rows += (
            ["", *extra]
            if extra is not None
            else [
                "",
                "[b $accent]   1-9[/]  Go straight to topic 1-9",
                "[b $accent] ↑ ↓ j k[/]  Move through questions and probes",
                "[b $accent]    ^p[/]  Command palette: every action by name",
                "[b $accent]    f2[/]  Light / dark theme",
                "[b $accent]    ^q[/]  Leave (the session can be resumed with --resume)",
                "",
                "[dim]Times: amber when over the planned minutes, red when more than a quarter "
                "over. Everything is saved as you go.[/]",
            ]
        )
        with Vertical(classes="dialog", id="help-dialog"):
            yield Label("[b]Keys[/b]  [dim]Esc closes[/]")
            with VerticalScroll():
                yield Static("\n".join(rows))

    def action_close(self) -> None:
        self.dismiss(None)


class TopicCardScreen(ModalScreen[None]):
    """The current topic in full (``r``): at 80×24 the interview screen cuts research questions
    and the summarising prompt to what fits; here nothing is cut."""

    CSS_PATH = "dialogs.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,r,q", "close", "Close", show=False)]

    def __init__(self, state: InterviewState, topic: Topic) -> None:
        super().__init__()
        self.state = state
        self.topic = topic

    def compose(self) -> ComposeResult:
        topic, state = self.topic, self.state
        ts = state.topics[topic.id]
        planned = f"  [dim]{topic.minutes:g} min planned[/]" if topic.minutes else ""
        # (markup, indent) per paragraph: each is its own Static, so wrapped lines keep the indent
        rows: list[tuple[str, str]] = []
        if topic.research_questions:
            rows.append(("[b]Research questions[/b]", "card-head"))
            rows += [(f"• [i]{escape(rq)}[/]", "card-item") for rq in topic.research_questions]
        if topic.note:
            rows.append((f"[b]Note:[/b] {escape(topic.note)}", "card-head"))
        rows.append(("[b]Questions[/b]", "card-head"))
        for question in state.visible_questions(topic):
            mark = "☑" if question.id in ts.asked else "☐"
            rows.append((f"{mark} {escape(question.text_for(state.group))}", "card-item"))
            if question.note:
                rows.append((f"[dim i]{escape(question.note)}[/]", "card-sub"))
            for probe in question.probes:
                done = "☑" if (question.id, probe.id) in ts.probes else "☐"
                rows.append((f"↳ {done} [i]{escape(probe.text)}[/]", "card-sub"))
        wording = topic.summary_for(state.group)
        if wording:
            mark = "☑" if ts.summary_given else "☐"
            rows.append(("[b]Summarise[/b]", "card-head"))
            rows.append((f"{mark} [i]{escape(wording)}[/]", "card-item"))
        with Vertical(classes="dialog", id="topic-card"):
            yield Label(f"[b]{escape(topic.title)}[/b]{planned}  [dim]Esc closes[/]")
            with VerticalScroll(id="topic-card-text"):
                for markup, kind in rows:
                    yield Static(markup, classes=kind)

    def action_close(self) -> None:
        self.dismiss(None)
