"""The interview screen: what to ask now, what was asked, how long it took.

Layout: a glance line (participant, overall clock, recording badge); the topic list on the left;
the current topic on the right (research questions dimmed, questions with their probes and the
summarising prompt as one list the cursor moves through); recording status and recent notes at
the bottom; the keys underneath. Every key posts one event through ``GuideApp.record``; ticking
something already ticked posts an ``undo`` for it, so a slip is corrected with the same key.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.events import Click
from textual.screen import Screen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from guide_tui.guide.model import Topic
from guide_tui.recorder.base import RecorderStatus
from guide_tui.session.events import EventType
from guide_tui.session.state import TopicStatus
from guide_tui.tui.format import clock, escape
from guide_tui.tui.widgets import (
    KeyBar,
    NotesPanel,
    QuietStatic,
    RecorderPanel,
    TopBar,
    TopicList,
    fit,
    joined,
    timed,
    wrap_title,
)

if TYPE_CHECKING:
    from guide_tui.tui.app import GuideApp

SHORT_HEIGHT = 32  # as the app's VERTICAL_BREAKPOINTS: below it, the screen is "short"

MARKER_NAMES = {"quotable": "Quotable", "follow_up": "Follow up", "interruption": "Interruption"}
TICKED = "[$success]☑[/]"
UNTICKED = "☐"


@lru_cache(maxsize=256)
def markup_width(markup: str) -> int:
    """Cells the markup takes on screen (cached: the head's clock is measured every second)."""
    return Content.from_markup(markup).cell_length


@lru_cache(maxsize=256)
def research_lines(topic: Topic, width: int, budget: int) -> Content:
    """The research questions (and the topic's note) in at most ``budget`` lines: wrapped when
    they fit, else one line each cut with an ellipsis, else as many as fit and a line saying how
    many more ``r`` shows."""
    items = [f"RQ: {rq}" for rq in topic.research_questions]
    if topic.note:
        items.append(f"Note: {topic.note}")
    if not items:
        return Content("")
    wrapped = [fit(escape(item), width, 99) for item in items]
    if sum(len(lines) for lines in wrapped) <= budget:
        chosen = [line for lines in wrapped for line in lines]
    elif len(items) <= budget:
        chosen = [fit(escape(item), width, 1)[0] for item in items]
    else:
        shown = budget - 1
        chosen = [fit(escape(item), width, 1)[0] for item in items[:shown]]
        chosen.append(Content(f"… {len(items) - shown} more: r shows the topic in full"))
    return joined(chosen).stylize("dim italic")


class QuestionList(OptionList):
    """Questions, their probes and the summarising prompt, in one list the cursor walks.

    Option ids: ``q:<question>``, ``p:<question>:<probe>``, ``s`` (summary).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]


class InterviewScreen(Screen[None]):
    """The main screen during the interview."""

    CSS_PATH = "interview.tcss"

    app: GuideApp

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "right,bracketright",
            "next_topic",
            "next topic",
            key_display="→",
            id="next_topic",
            tooltip="Go to the next topic",
        ),
        Binding(
            "left,bracketleft",
            "prev_topic",
            "prev",
            key_display="←",
            id="prev_topic",
            tooltip="Go to the previous topic",
        ),
        Binding(
            "t", "goto", "go to topic", id="goto", tooltip="Jump to any topic (type to search)"
        ),
        Binding(
            "space",
            "tick",
            "tick",
            key_display="␣",
            id="tick",
            tooltip="Tick the highlighted question, probe or summary (again: untick)",
        ),
        Binding(
            "s",
            "summary",
            "summary",
            id="summary",
            tooltip="The summarising prompt was given (again: untick)",
        ),
        Binding("c", "covered", "covered", id="covered", tooltip="Mark the topic covered"),
        Binding("x", "skipped", "skip", id="skipped", tooltip="Mark the topic skipped"),
        Binding(
            "n", "note", "note", id="note", tooltip="Add a note, timed when you start typing it"
        ),
        Binding(
            "q",
            "marker('quotable')",
            "quotable",
            id="marker_quotable",
            tooltip="Mark this moment as quotable",
        ),
        Binding(
            "f",
            "marker('follow_up')",
            "follow up",
            id="marker_follow_up",
            tooltip="Mark this moment to follow up",
        ),
        Binding(
            "i",
            "marker('interruption')",
            "interruption",
            id="marker_interruption",
            tooltip="Mark an interruption",
        ),
        Binding("u", "undo", "undo", id="undo", tooltip="Withdraw the last tick, mark or note"),
        Binding(
            "r",
            "topic_card",
            "topic in full",
            id="topic_card",
            tooltip="The current topic in full: research questions, notes, questions, summary",
        ),
        Binding("p", "pause", "pause", id="pause", tooltip="Pause or resume the recording"),
        Binding("e", "end", "end", id="end", tooltip="Check coverage and close the interview"),
        Binding(
            "question_mark",
            "app.help",
            "help",
            key_display="?",
            id="help_screen",
            tooltip="List every key",
        ),
        *[
            Binding(str(n), f"goto_number({n})", f"topic {n}", show=False, id=f"topic_{n}")
            for n in range(1, 10)
        ],
    ]

    def compose(self) -> ComposeResult:
        yield TopBar(id="topbar")
        with Horizontal(id="main"):
            yield TopicList(id="topics")
            with Vertical(id="current"):
                yield QuietStatic(id="topic-head")
                yield QuietStatic(id="research")
                yield QuestionList(id="questions")
                yield QuietStatic(id="summary")
        with Horizontal(id="bottom"):
            yield RecorderPanel(id="recorder")
            yield NotesPanel(id="notes")
        yield KeyBar(id="keys")

    _ready = False  # set once composed: the app may redraw before that
    # what tick() last drew in full
    _drawn_second: tuple[int, str, tuple[str, ...], str | None] | None = None
    _question_signature: Any = None  # what the question list shows; redrawn only on change

    def on_mount(self) -> None:
        self._ready = True
        self.query_one("#topics").border_title = "Topics"
        self._recorder_panel = self.query_one(RecorderPanel)
        self._recorder_panel.border_title = "Recording"
        self.query_one("#notes").border_title = "Notes"
        self.query_one(KeyBar).render_bindings([b for b in self.BINDINGS if isinstance(b, Binding)])
        self.refresh_from_state()
        self.query_one(QuestionList).focus()

    # -- drawing -------------------------------------------------------------------------------

    @property
    def current(self) -> Topic | None:
        state = self.app.state
        return state.guide.topic(state.current_topic) if state.current_topic else None

    def refresh_from_state(self) -> None:
        """Redraw everything from the state (after every event)."""
        if not self._ready:
            return
        state = self.app.state
        now = self.app.clock.now()
        self.query_one(TopicList).render_state(state, now)
        self._draw_topic(now)
        self._draw_questions()
        self.query_one(NotesPanel).render_state(state)
        self._drawn_second = None  # an event may change what the top bar shows: draw it all
        self.tick(self.app.last_status)

    def tick(self, status: RecorderStatus) -> None:
        """10 Hz from the app: the level meter; the rest once a second (each skips unchanged
        text). Everything else shows whole seconds, so drawing it once a second, in one
        repaint, is all it needs (bench/recording.py --tui measures what a tick costs);
        actions and warnings redraw everything at once through ``refresh_from_state``."""
        if not self._ready:
            return
        state = self.app.state
        now = self.app.clock.now()
        panel = self._recorder_panel
        width = panel.content_size.width
        alert = self.app.save_alert
        second = (int(now), status.state, tuple(self.app.recent_warnings[-2:]), alert)
        if second == self._drawn_second:
            panel.render_meter(status, width)
            return
        self._drawn_second = second
        panel.render_state(state, status, self.app.recent_warnings, width, alert=alert)
        self.query_one(TopBar).render_state(state, status, now)
        self.query_one(TopicList).render_state(state, now)
        self._draw_topic(now)

    def _draw_topic(self, now: float) -> None:
        state = self.app.state
        topic = self.current
        head = self.query_one("#topic-head", QuietStatic)
        research = self.query_one("#research", QuietStatic)
        summary = self.query_one("#summary", QuietStatic)
        if topic is None:
            head.show("[dim]No topic yet: → or t to begin.[/]")
            research.show("")
            summary.display = False
            return
        short = self.app.size.height < SHORT_HEIGHT
        width = self.query_one("#current").content_size.width or 50
        topics = state.visible_topics()
        number = next((i for i, t in enumerate(topics, 1) if t.id == topic.id), 0)
        ts = state.topics[topic.id]
        status = {
            TopicStatus.COVERED: "  [$success]✓ covered[/]",
            TopicStatus.SKIPPED: "  [dim]⤼ skipped[/]",
        }.get(ts.status, "")
        sensitive = "  [$warning]⚠ sensitive[/]" if topic.sensitive else ""
        seconds = state.topic_seconds(topic.id, now)
        suffix = f"{status}{sensitive}  ⏱ {timed(seconds, topic.minutes)}"
        lead = f"{number}/{len(topics)}  "
        tail = markup_width(suffix)
        titles = wrap_title(topic.title, width, 2 if short else 3, tail, lead=len(lead))
        lines = [f"[b]{escape(line)}[/b]" for line in (lead + titles[0], *titles[1:])]
        lines[-1] += suffix
        head.show("\n".join(lines))
        about = research_lines(topic, width, 3 if short else 6)
        research.show(about)
        research.display = bool(about)
        wording = topic.summary_for(state.group)
        summary.display = bool(wording)
        if wording:
            mark = TICKED if ts.summary_given else UNTICKED
            text = f"{mark} [b]Summarise (s):[/b] [i]{escape(wording)}[/]"
            summary.show(joined(fit(text, width, 1 if short else 3)))

    def _draw_questions(self) -> None:
        state = self.app.state
        topic = self.current
        questions_widget = self.query_one(QuestionList)
        if topic is None:
            signature: Any = None
        else:
            ts = state.topics[topic.id]
            signature = (
                topic.id,
                tuple(sorted(ts.asked)),
                tuple(sorted(ts.probes)),
                ts.summary_given,
                state.group,
            )
        if signature == self._question_signature:
            return
        same_topic = (
            self._question_signature is not None
            and signature is not None
            and self._question_signature[0] == signature[0]
        )
        self._question_signature = signature
        highlighted = questions_widget.highlighted if same_topic else 0
        questions_widget.clear_options()
        if topic is None:
            return
        ts = state.topics[topic.id]
        options: list[Option] = []
        for question in state.visible_questions(topic):
            mark = TICKED if question.id in ts.asked else UNTICKED
            text = escape(question.text_for(state.group))
            if question.sensitive:
                text = f"[$warning]⚠ sensitive[/] {text}"
            if question.note:
                text += f"\n  [dim i]{escape(question.note)}[/]"
            options.append(Option(f"{mark} {text}", id=f"q:{question.id}"))
            for probe in question.probes:
                done = (question.id, probe.id) in ts.probes
                probe_mark = TICKED if done else UNTICKED
                options.append(
                    Option(
                        f"    [dim]↳[/] {probe_mark} [i]{escape(probe.text)}[/]",
                        id=f"p:{question.id}:{probe.id}",
                    )
                )
        questions_widget.add_options(options)
        if options:
            questions_widget.highlighted = min(highlighted or 0, len(options) - 1)

    # -- topic navigation ----------------------------------------------------------------------

    def goto_topic(self, topic_id: str) -> None:
        if topic_id != self.app.state.current_topic:
            self.app.record(EventType.TOPIC_ENTERED, topic=topic_id)

    def _step_topic(self, step: int) -> None:
        topics = self.app.state.visible_topics()
        ids = [t.id for t in topics]
        current = self.app.state.current_topic
        index = ids.index(current) + step if current in ids else 0
        if 0 <= index < len(ids):
            self.goto_topic(ids[index])
        elif index >= len(ids):
            self.app.refuse("This is the last topic. e checks coverage and closes.")
        else:
            self.app.refuse("This is the first topic.")

    def action_next_topic(self) -> None:
        self._step_topic(+1)

    def action_prev_topic(self) -> None:
        self._step_topic(-1)

    def action_goto_number(self, number: int) -> None:
        topics = self.app.state.visible_topics()
        if 1 <= number <= len(topics):
            self.goto_topic(topics[number - 1].id)
        else:
            self.app.refuse(f"There is no topic {number}: this guide has {len(topics)}.")

    def action_goto(self) -> None:
        from guide_tui.tui.screens.modals import TopicJumpScreen

        def chosen(topic_id: str | None) -> None:
            if topic_id:
                self.goto_topic(topic_id)

        self.app.push_screen(TopicJumpScreen(self.app.state), chosen)

    # -- ticks ---------------------------------------------------------------------------------

    def _toggle(self, type: str, existing_seq: int | None, **data: Any) -> None:
        """Tick, or withdraw the tick already there (a correction event, never a rewrite)."""
        topic = data.get("topic")
        before = self.app.state.topics[topic].status if topic else None
        if existing_seq is not None:
            self.app.record(EventType.UNDO, undoes=existing_seq, what=type)
        else:
            self.app.record(type, **data)
        ticks = (EventType.QUESTION_ASKED, EventType.SUMMARY_GIVEN)
        now_covered = topic and self.app.state.topics[topic].status == TopicStatus.COVERED
        if type in ticks and before != TopicStatus.COVERED and now_covered:
            self.notify("Topic covered: every question and the summary are ticked.")

    def action_tick(self) -> None:
        questions = self.query_one(QuestionList)
        if questions.highlighted is None or self.current is None:
            self.app.refuse("Nothing to tick here.")
            return
        option_id = questions.get_option_at_index(questions.highlighted).id or ""
        self._tick_option(option_id)

    @on(OptionList.OptionSelected, "#questions")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._tick_option(event.option.id or "")

    def _tick_option(self, option_id: str) -> None:
        topic = self.current
        if topic is None:
            return
        ts = self.app.state.topics[topic.id]
        if option_id.startswith("q:"):
            question = option_id[2:]
            self._toggle(
                EventType.QUESTION_ASKED, ts.asked.get(question), topic=topic.id, question=question
            )
        elif option_id.startswith("p:"):
            _, question, probe = option_id.split(":", 2)
            self._toggle(
                EventType.PROBE_USED,
                ts.probes.get((question, probe)),
                topic=topic.id,
                question=question,
                probe=probe,
            )
        elif option_id == "s":
            self.action_summary()

    def action_summary(self) -> None:
        topic = self.current
        if topic is None or not topic.summary:
            self.app.refuse("This topic has no summarising prompt.")
            return
        ts = self.app.state.topics[topic.id]
        self._toggle(EventType.SUMMARY_GIVEN, ts.summary_seq, topic=topic.id)

    def _mark(self, status: str, type: str) -> None:
        topic = self.current
        if topic is None:
            self.app.refuse("No topic yet: → or t goes to one.")
            return
        ts = self.app.state.topics[topic.id]
        if status == ts.status == TopicStatus.COVERED and ts.status_seq is None:
            self.app.refuse("Covered already: every question and the summary are ticked.")
            return
        self._toggle(type, ts.status_seq if ts.status == status else None, topic=topic.id)

    def action_covered(self) -> None:
        self._mark(TopicStatus.COVERED, EventType.TOPIC_COVERED)

    def action_skipped(self) -> None:
        self._mark(TopicStatus.SKIPPED, EventType.TOPIC_SKIPPED)

    def action_undo(self) -> None:
        event = self.app.state.last_undoable()
        if event is None:
            self.app.refuse("Nothing to undo.")
            return
        self.app.record(EventType.UNDO, undoes=event.seq, what=event.type)
        self.notify(f"Undone: {event.type.replace('_', ' ')}", timeout=2)

    # -- notes, markers, recording, end --------------------------------------------------------

    def action_note(self) -> None:
        from guide_tui.tui.screens.modals import NoteScreen

        started_t = self.app.clock.now()  # the note belongs where typing started
        topic = self.app.state.current_topic

        def save(text: str | None) -> None:
            if text and text.strip():
                self.app.record(
                    EventType.NOTE, text=text.strip(), started_t=round(started_t, 3), topic=topic
                )

        self.app.push_screen(NoteScreen(clock(started_t)), save)

    def action_topic_card(self) -> None:
        from guide_tui.tui.screens.modals import TopicCardScreen

        if self.current is None:
            self.app.refuse("No topic yet: → or t goes to one.")
            return
        self.app.push_screen(TopicCardScreen(self.app.state, self.current))

    def on_resize(self) -> None:
        """What fits (title lines, research questions, notes) depends on the size."""
        self.refresh_from_state()

    @on(Click, "#summary")
    def _summary_clicked(self) -> None:
        self.action_summary()

    def action_marker(self, kind: str) -> None:
        self.app.record(EventType.MARKER, kind=kind, topic=self.app.state.current_topic)

    def action_pause(self) -> None:
        self.app.toggle_pause()

    def action_end(self) -> None:
        self.app.open_closing()
