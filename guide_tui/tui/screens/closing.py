"""Closing: what is still uncovered, the closing prompts, then the end.

The screen is the last check before an irreversible step, so it lists what would be lost
(uncovered topics, unasked questions) and offers the way back first; ending asks once more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from guide_tui.recorder.base import RecorderStatus
from guide_tui.session.events import EventType
from guide_tui.session.state import TopicStatus
from guide_tui.tui.format import escape
from guide_tui.tui.screens.interview import TICKED, UNTICKED
from guide_tui.tui.widgets import KeyBar, QuietStatic, StepButton, TopBar

if TYPE_CHECKING:
    from guide_tui.tui.app import GuideApp

MAX_UNASKED_PER_TOPIC = 3


class ClosingScreen(Screen[None]):
    CSS_PATH = "closing.tcss"
    app: GuideApp

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "space",
            "tick",
            "tick prompt",
            key_display="␣",
            id="closing_tick",
            tooltip="Tick the highlighted closing prompt",
        ),
        Binding(
            "b,escape",
            "back",
            "back to interview",
            key_display="b",
            id="closing_back",
            tooltip="Return to the interview; the topic clock runs again",
        ),
        Binding(
            "e",
            "end",
            "end interview",
            id="closing_end",
            tooltip="End the session (asks once more)",
        ),
        Binding("question_mark", "app.help", "help", key_display="?", id="closing_help"),
    ]

    def compose(self) -> ComposeResult:
        yield TopBar(id="topbar")
        with Horizontal(id="closing-main"):
            with VerticalScroll(id="coverage"):
                yield QuietStatic(id="coverage-text")
            with Vertical(id="closing-right"):
                yield OptionList(id="closing-prompts")
                with Horizontal(classes="buttons"):
                    yield StepButton("Back", id="closing-back-button")
                    yield StepButton("End interview", id="closing-end-button", classes="primary")
        yield KeyBar(id="keys")

    _ready = False  # set once composed: the app may redraw before that

    def on_mount(self) -> None:
        self._ready = True
        self.query_one("#coverage").border_title = "Still open"
        self.query_one("#closing-prompts").border_title = "Closing prompts"
        self.query_one(KeyBar).render_bindings([b for b in self.BINDINGS if isinstance(b, Binding)])
        self.refresh_from_state()
        self.query_one("#closing-prompts").focus()

    def refresh_from_state(self) -> None:
        if not self._ready:
            return
        state = self.app.state
        lines: list[str] = []
        uncovered = state.uncovered_topics()
        if uncovered:
            lines.append(f"[b]{len(uncovered)} topic(s) not covered[/b]")
            for topic in uncovered:
                ts = state.topics[topic.id]
                label = {
                    TopicStatus.SKIPPED: "skipped",
                    TopicStatus.IN_PROGRESS: "in progress",
                    TopicStatus.NOT_STARTED: "not started",
                }.get(state.reported_status(topic.id), ts.status)  # as study will say it
                lines.append(f"  • {escape(topic.title)} [dim]({label})[/]")
        else:
            lines.append("[$success]✓ Every topic is covered.[/]")
        unasked = state.unasked_questions()
        if unasked:
            lines.append("")
            lines.append(f"[b]{len(unasked)} question(s) not asked[/b]")
            by_topic: dict[str, list[str]] = {}
            titles = {}
            for topic, question in unasked:
                titles[topic.id] = topic.title
                by_topic.setdefault(topic.id, []).append(question.text_for(state.group))
            for topic_id, texts in by_topic.items():
                lines.append(f"  [u]{escape(titles[topic_id])}[/u]")
                for text in texts[:MAX_UNASKED_PER_TOPIC]:
                    lines.append(f"    ☐ {escape(text)}")
                if len(texts) > MAX_UNASKED_PER_TOPIC:
                    lines.append(f"    [dim]… and {len(texts) - MAX_UNASKED_PER_TOPIC} more[/]")
        self.query_one("#coverage-text", QuietStatic).show("\n".join(lines))
        prompts = self.query_one("#closing-prompts", OptionList)
        highlighted = prompts.highlighted
        prompts.clear_options()
        for prompt in state.guide.closing:
            mark = TICKED if prompt.id in state.closing else UNTICKED
            text = prompt.text_for(state.group)
            prompts.add_option(Option(f"{mark} {escape(text)}", id=prompt.id))
        if not state.guide.closing:
            prompts.add_option(Option("[dim]This guide has no closing prompts.[/]", disabled=True))
        elif highlighted is not None:
            prompts.highlighted = min(highlighted, prompts.option_count - 1)
        else:
            prompts.highlighted = 0
        self.tick(self.app.last_status)

    def tick(self, status: RecorderStatus) -> None:
        if self._ready:
            self.query_one(TopBar).render_state(self.app.state, status, self.app.clock.now())

    def action_tick(self) -> None:
        prompts = self.query_one("#closing-prompts", OptionList)
        if prompts.highlighted is None:
            return
        self._toggle(prompts.get_option_at_index(prompts.highlighted).id)

    @on(OptionList.OptionSelected, "#closing-prompts")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._toggle(event.option.id)

    def _toggle(self, prompt_id: str | None) -> None:
        if not prompt_id:
            return
        seq = self.app.state.closing.get(prompt_id)
        if seq is not None:
            self.app.record(EventType.UNDO, undoes=seq, what=EventType.CLOSING_PROMPT)
        else:
            self.app.record(EventType.CLOSING_PROMPT, prompt=prompt_id)

    def action_back(self) -> None:
        self.app.back_to_interview()

    def action_end(self) -> None:
        from guide_tui.tui.screens.modals import ConfirmScreen

        open_topics = len(self.app.state.uncovered_topics())
        detail = (f"{open_topics} topic(s) are not covered. " if open_topics else "") + (
            "Recording stops and the session is closed."
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.app.end_session()

        self.app.push_screen(ConfirmScreen("End the interview?", detail, yes="End"), confirmed)

    @on(StepButton.Pressed, "#closing-back-button")
    def _back_button(self) -> None:
        self.action_back()

    @on(StepButton.Pressed, "#closing-end-button")
    def _end_button(self) -> None:
        self.action_end()
