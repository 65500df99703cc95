"""Display widgets of the interview screen. They render from an
:class:`~guide_tui.session.state.InterviewState` (and a recorder snapshot) and hold nothing else:
redrawing is cheap, and each one skips the update when its text did not change, so the 10 Hz
recorder poll costs almost nothing when nothing moved."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any, ClassVar

from rich.cells import cell_len
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.visual import Visual
from textual.widget import Widget
from textual.widgets import Static

from guide_tui.recorder.base import RecorderState, RecorderStatus
from guide_tui.session.state import InterviewState, TopicStatus
from guide_tui.tui.format import clock, escape, level_bar, level_style, overrun_level, size

OVERRUN_STYLE = {"ok": "", "amber": "$warning", "red": "$error"}
STATUS_ICON = {
    TopicStatus.NOT_STARTED: "[dim]·[/]",
    TopicStatus.IN_PROGRESS: "[$accent]◐[/]",
    TopicStatus.COVERED: "[$success]✓[/]",
    TopicStatus.SKIPPED: "[dim]⤼[/]",
}
MARKER_LABEL = {
    "quotable": "★ quotable",
    "follow_up": "↻ follow up",
    "interruption": "⏸ interruption",
}


def timed(seconds: float, planned_minutes: float | None, *, show_plan: bool = True) -> str:
    """``3:10 / 5:00`` coloured amber/red on overrun."""
    text = clock(seconds)
    if planned_minutes and show_plan:
        text += f" / {clock(planned_minutes * 60)}"
    style = OVERRUN_STYLE[overrun_level(seconds, planned_minutes)]
    return f"[{style}]{text}[/]" if style else text


@lru_cache(maxsize=1024)
def fit(markup: str, width: int, max_lines: int) -> tuple[Content, ...]:
    """``markup`` word-wrapped to ``width``, at most ``max_lines`` lines; text that does not fit
    is cut at the end of the last line with an ellipsis, so a cut is always visible. Lines are
    Content, not markup: a cut can leave text that would not parse as markup again. Cached: the
    screen redraws the same texts every second."""
    if max_lines <= 0:
        return ()
    width = max(2, width)
    lines = Content.from_markup(markup).wrap(width)
    if len(lines) <= max_lines:
        return tuple(lines)
    last = lines[max_lines - 1].rstrip()
    if last.cell_length >= width:
        last = last.truncate(width - 1)
    return (*lines[: max_lines - 1], last + "…")


def joined(lines: Iterable[Content]) -> Content:
    """Lines of Content as one, for a ``Static``."""
    return Content("\n").join(lines)


def wrap_words(words: list[str], widths: list[int]) -> tuple[list[str], list[str]]:
    """Words greedily wrapped into lines of the given widths (a word longer than its line is
    broken); returns the lines and the words left over."""
    words = list(words)
    lines: list[str] = []
    for width in widths:
        if not words:
            break
        line = ""
        while words:
            candidate = f"{line} {words[0]}" if line else words[0]
            if cell_len(candidate) <= width:
                line = candidate
                words.pop(0)
            elif not line:
                line, words[0] = words[0][:width], words[0][width:]
            else:
                break
        lines.append(line)
    return lines, words


@lru_cache(maxsize=1024)
def wrap_title(text: str, width: int, max_lines: int, tail: int, lead: int = 0) -> tuple[str, ...]:
    """A title in at most ``max_lines`` lines of ``width``, keeping ``tail`` cells free at the end
    of the last line (for a time or a flag) and ``lead`` cells at the start of the first (for a
    number); cut with an ellipsis when it does not fit."""
    words = text.split() or [""]
    max_lines = max(1, max_lines)
    first = max(2, width - lead)
    width = max(2, width)

    def room(count: int) -> int:
        """What the last of ``count`` lines holds besides the tail."""
        return (first if count == 1 else width) - tail

    lines, _ = wrap_words(words, [first] + [width] * len(words))
    if cell_len(lines[-1]) > room(len(lines)):
        rest, _, last_word = lines[-1].rpartition(" ")
        if rest:  # the last word goes down a line, next to the tail
            lines[-1:] = [rest, last_word]
    if len(lines) <= max_lines and cell_len(lines[-1]) <= room(len(lines)):
        return tuple(lines)
    rest = " ".join(lines[max_lines - 1 :])
    return (*lines[: max_lines - 1], rest[: max(1, room(max_lines) - 1)].rstrip() + "…")


class QuietStatic(Static):
    """A Static that ignores updates to the text it already shows."""

    _shown: Any = None

    def show(self, content: Any) -> None:
        if content != self._shown:
            # Most 10 Hz updates only change digits or a meter bar: same length, same lines, so
            # the size cannot change and Textual's layout pass (measured as most of the TUI's
            # cost while recording) can be skipped.
            same_shape = (
                isinstance(content, str)
                and isinstance(self._shown, str)
                and len(content) == len(self._shown)
                and content.count("\n") == self._shown.count("\n")
            )
            self._shown = content
            self.update(content, layout=not same_shape)


class TopicList(QuietStatic):
    """Every topic for the participant's group: state icon, number, title, time spent.

    Titles wrap onto as many lines as the height gives each topic (up to three) and are cut
    with an ellipsis beyond that; times line up on the right where the eye finds them.
    """

    def render_state(self, state: InterviewState, now: float) -> None:
        width = self.content_size.width or 28
        topics = state.visible_topics()
        rows = self.content_size.height
        per_topic = max(1, min(3, rows // len(topics))) if rows and topics else 1
        lines = []
        for number, topic in enumerate(topics, 1):
            ts = state.topics[topic.id]
            seconds = state.topic_seconds(topic.id, now)
            # From the first visit on (0:00): the title wraps once, when the topic is entered.
            plain_time = clock(seconds) if seconds >= 1 or ts.visits else ""
            flag = " ⚠" if topic.sensitive else ""
            tail = len(flag) + (len(plain_time) + 1 if plain_time else 0)
            titles = wrap_title(topic.title, width - 5, per_topic, tail)
            time_text = ""
            if plain_time:
                style = OVERRUN_STYLE[overrun_level(seconds, topic.minutes)] or "dim"
                time_text = f" [{style}]{plain_time}[/]"
            flag_text = f"[$warning]{flag}[/]" if flag else ""
            topic_lines = []
            for index, title in enumerate(titles):
                last = index == len(titles) - 1
                pad = " " * max(0, width - 5 - cell_len(title) - (tail if last else 0))
                text = escape(title)
                if ts.status == TopicStatus.SKIPPED:
                    text = f"[dim strike]{text}[/]"
                lead = f"{STATUS_ICON[ts.status]} {number:>2} " if index == 0 else "     "
                topic_lines.append(
                    f"{lead}{text}{flag_text}{pad}{time_text}" if last else f"{lead}{text}{pad}"
                )
            if topic.id == state.current_topic:
                topic_lines = [f"[b reverse]{line}[/]" for line in topic_lines]
            lines.extend(topic_lines)
        self.show("\n".join(lines))


class TopBar(QuietStatic):
    """Participant, overall time against the plan, recording state: the glance line."""

    def render_state(self, state: InterviewState, status: RecorderStatus, now: float) -> None:
        participant = escape(state.participant or "?")
        group = ""
        if state.group:
            try:
                group = f" · {escape(state.guide.group(state.group).label)}"
            except KeyError:
                group = f" · {escape(state.group)}"
        elapsed = timed(state.elapsed(now), state.guide.duration_minutes)
        self.show(
            f"[b]{participant}[/b]{group}  [dim]│[/] ⏱ {elapsed}  [dim]│[/] "
            f"{recording_badge(state, status)}  [dim]│ {escape(state.guide.title)}[/]"
        )


def recording_badge(state: InterviewState, status: RecorderStatus) -> str:
    if state.notes_only or status.state == RecorderState.UNAVAILABLE:
        paused = "  [b $warning]❚❚ PAUSED[/]" if state.recording == "paused" else ""
        return f"[dim]○ NOTES ONLY[/]{paused}"
    if status.state == RecorderState.RECORDING:
        return "[b $error]● REC[/]"
    if status.state == RecorderState.PAUSED or state.recording == "paused":
        return "[b $warning]❚❚ PAUSED[/]"
    if status.state == RecorderState.LOST:
        return "[b reverse $error] ✕ DEVICE LOST [/]"
    if status.state == RecorderState.HALTED:
        return "[b reverse $error] ✕ NOT RECORDING [/]"
    return f"[dim]{status.state.upper()}[/]"


class LinePanel(Widget):
    """Lines of markup, each wrapped to the width like a ``Static``'s, where a change repaints
    only the screen lines that changed.

    A ``Static`` re-renders all of its text and Textual repaints all of its region on every
    update; the recorder panel changes one line (the meter) ten times a second, so repainting
    just that line is most of what the TUI costs while recording (bench/recording.py --tui).
    """

    DEFAULT_CSS = "LinePanel { height: auto; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lines: list[str] = []
        self._rendered: dict[tuple[str, int], list[Strip]] = {}  # (markup, width) -> rows
        self._rows: list[Strip] = []
        self._rows_width = -1

    @property
    def text(self) -> str:
        """What the panel shows, as plain text."""
        return "\n".join(Content.from_markup(line).plain for line in self._lines)

    def set_lines(self, lines: list[str]) -> None:
        if lines == self._lines:
            return
        self._lines = list(lines)
        width = self.content_size.width
        if not self.is_mounted or width <= 0:
            self._rows_width = -1  # not laid out (or hidden): rebuild when next drawn
            self.refresh(layout=True)
            return
        old = self._rows
        self._build_rows(width)
        if len(old) != len(self._rows):
            self.refresh(layout=True)
            return
        for y, (before, after) in enumerate(zip(old, self._rows, strict=True)):
            if before != after:
                self.refresh(Region(0, y, width, 1))

    def _build_rows(self, width: int) -> None:
        rendered: dict[tuple[str, int], list[Strip]] = {}
        rows: list[Strip] = []
        for line in self._lines:
            key = (line, width)
            strips = self._rendered.get(key) or rendered.get(key)
            if strips is None:
                strips = Visual.to_strips(
                    self, Content.from_markup(line), width, None, self.visual_style
                )
            rendered[key] = strips
            rows.extend(strips)
        self._rendered = rendered  # only the lines shown now: nothing grows
        self._rows = rows
        self._rows_width = width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if width != self._rows_width:
            self._build_rows(width)
        return len(self._rows)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._rendered = {}  # a theme change re-colours every line
        self._rows_width = -1

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        if width != self._rows_width:
            self._build_rows(width)
        if y < len(self._rows):
            return self._rows[y]
        return Strip.blank(width, self.visual_style.rich_style)


class RecorderPanel(LinePanel):
    """State and recorded time, level meter, file size and device, the latest warnings."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._head = ""
        self._meter: str | None = None  # None: no meter (not recording)
        self._facts: list[str] = []

    def _show(self) -> None:
        meter = [self._meter] if self._meter is not None else []
        self.set_lines([self._head, *meter, *self._facts])

    def render_state(
        self,
        state: InterviewState,
        status: RecorderStatus,
        warnings: list[str],
        width: int,
        *,
        alert: str | None = None,
    ) -> None:
        """Everything: once a second and after every event. ``alert``: events not on disk."""
        self._head = f"{recording_badge(state, status)}  {clock(status.t)}"
        self._meter = self._meter_line(status, width)
        lines = [f"[b $error]✕ {escape(alert)}[/]"] if alert else []
        if _is_active(status):
            facts = [size(status.bytes_written)]
            if status.device:
                facts.append(escape(status.device))
            if status.disk_minutes_left is not None:
                facts.append(f"{status.disk_minutes_left:.0f} min disk")
            lines.append("[dim]" + " · ".join(facts) + "[/]")
        elif state.notes_only:
            lines.append("[dim]Participant declined recording.[/]")
        elif status.message:
            lines.append(f"[dim]{escape(status.message)}[/]")
        lines.extend(f"[$warning]⚠ {escape(w)}[/]" for w in warnings[-2:])
        self._facts = lines
        self._show()

    def render_meter(self, status: RecorderStatus, width: int) -> None:
        """Only the level meter: ten times a second."""
        self._meter = self._meter_line(status, width)
        self._show()

    @staticmethod
    def _meter_line(status: RecorderStatus, width: int) -> str | None:
        if not _is_active(status):
            return None
        bar = level_bar(status.rms_db, status.peak_db, max(8, width - 12))
        return f"[{level_style(status.peak_db)}]{bar}[/] {status.rms_db:>4.0f} dB"


def _is_active(status: RecorderStatus) -> bool:
    return status.state in (RecorderState.RECORDING, RecorderState.PAUSED)


NOTE_TOPIC_CHARS = 30  # a note's topic is named this long at most


class NotesPanel(QuietStatic):
    """The latest notes and markers, newest last, each at the time it belongs to.

    Filled from the bottom: the newest always shows (cut with an ellipsis if it is longer than
    the panel), older ones take the lines that are left; a long note never pushes a new marker
    out of sight.
    """

    def render_state(self, state: InterviewState, limit: int = 0) -> None:
        """``limit``: the lines to fill (default: the panel's height)."""
        width = self.content_size.width or 40
        rows = limit or self.content_size.height or 3
        titles = {t.id: t.title for t in state.guide.topics}
        items: list[tuple[float, int, str]] = []
        for note in state.notes:
            items.append((note.t, note.seq, escape(note.text)))
        for marker in state.markers:
            label = MARKER_LABEL.get(marker.kind) or escape(marker.kind)
            items.append((marker.t, marker.seq, f"[$accent]{label}[/]"))
        items.sort()
        if not items:
            self.show("[dim]No notes yet: n adds one, q/f/i mark the moment.[/]")
            return
        lines: list[Content] = []
        for t, seq, text in reversed(items):
            if len(lines) >= rows:
                break
            topic = next(
                (titles.get(n.topic or "") for n in state.notes if n.seq == seq),
                next((titles.get(m.topic or "") for m in state.markers if m.seq == seq), None),
            )
            if topic and len(topic) > NOTE_TOPIC_CHARS:  # the note matters, not its topic
                topic = topic[: NOTE_TOPIC_CHARS - 1].rstrip() + "…"
            where = f" [dim]· {escape(topic)}[/]" if topic else ""
            lines[:0] = fit(f"[dim]{clock(t)}[/] {text}{where}", width, rows - len(lines))
        self.show(joined(lines))


class KeyBar(QuietStatic):
    """The screen's keys on as many lines as the width needs (a Footer cuts them off at 80
    columns, and every key here matters)."""

    def render_bindings(self, bindings: list[Binding]) -> None:
        parts = []
        for binding in bindings:
            if not binding.show:
                continue
            key = binding.key_display or binding.key.split(",")[0]
            parts.append(f"[b $accent]{key}[/] {binding.description}")
        parts.append("[b $accent]^p[/] commands")
        self.show("  ".join(parts))


class StepButton(Static, can_focus=True):
    """A one-line button for the wizard: Enter, Space or a click presses it.

    Textual's ``Button`` would do, but its styles cost about 30 ms on the first screen, and
    every step has buttons; this draws the same thing with a Static's styles.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,space", "press", "Press", show=False),
    ]

    class Pressed(Message):
        def __init__(self, button: StepButton) -> None:
            super().__init__()
            self.button = button

        @property
        def control(self) -> StepButton:
            """For ``@on(StepButton.Pressed, "#id")``."""
            return self.button

    def __init__(self, label: str, *, id: str, classes: str = "") -> None:
        super().__init__(f" {label} ", id=id, classes=classes)

    def action_press(self) -> None:
        self.post_message(self.Pressed(self))

    def on_click(self) -> None:
        self.action_press()


class TickItem(Static, can_focus=True):
    """A consent item: ``☐``/``☑`` and its text, wrapped (a ``Checkbox`` label is cut off at 80
    columns, and consent wording must be read in full). Space or a click toggles it; Enter is
    left to the screen (it continues), since an Enter meant as "next" once withdrew consent."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "tick_item", "Tick", show=False),
    ]

    class Changed(Message):
        def __init__(self, item: TickItem, value: bool) -> None:
            super().__init__()
            self.item = item
            self.value = value

        @property
        def control(self) -> TickItem:
            return self.item

    def __init__(self, text: str, value: bool = False, *, id: str, classes: str = "") -> None:
        super().__init__(id=id, classes=classes)
        self.text = text
        self.value = value
        self._draw()

    def _draw(self) -> None:
        mark = "[b $success]☑[/]" if self.value else "☐"
        self.update(f"{mark} {escape(self.text)}")

    def set_value(self, value: bool) -> None:
        """Change the tick without announcing it (the screen already logged why)."""
        if value != self.value:
            self.value = value
            self._draw()

    def action_tick_item(self) -> None:
        self.value = not self.value
        self._draw()
        self.post_message(self.Changed(self, self.value))

    def on_click(self) -> None:
        self.action_tick_item()
