"""``guide-tui review``: read the transcript while listening (issue 13).

The transcript grouped by topic, one block per speaker turn (time, speaker, what needs a look,
the words with the export marks). The cursor moves turn by turn and playback follows it; while
playing, a bar in the gutter follows the audio and the cursor goes along with it. Keys are
function keys and Esc first (f4transkript's habit: they work when a text field has the focus);
the play/pause key is configurable (``[review] play_pause`` in config.toml).

The transcript is drawn line by line (:class:`TranscriptView`, a ScrollView with
``render_line``): only the visible lines are built on a key press, so a 60-minute transcript
opens and moves as fast as a short one (docs/benchmarks-tui.md).

The player is built off the UI thread (PortAudio enumerates devices; soundfile opens the files):
the screen is usable before it exists, and without audio it stays a reader.
"""

from __future__ import annotations

import textwrap
import types
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from rich.segment import Segment
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.screen import ModalScreen, Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Label, OptionList, TextArea
from textual.widgets.option_list import Option

from guide_tui.transcript.render import clock
from guide_tui.transcript.review import ReviewDocument, Row, RowIndex
from guide_tui.tui.format import escape
from guide_tui.tui.widgets import KeyBar, QuietStatic

#: Seconds that back/forward jump.
SKIP_S = 3.0
SPEED_STEP = 0.1
POLL_S = 0.05


class PlayerLike(Protocol):
    """What the screen needs of :class:`guide_tui.recorder.playback.Player`."""

    @property
    def playing(self) -> bool: ...
    @property
    def speed(self) -> float: ...
    @property
    def position(self) -> float: ...
    def play(self, t: float | None = None, *, until: float | None = None) -> None: ...
    def pause(self) -> None: ...
    def seek(self, t: float) -> None: ...
    def skip(self, seconds: float) -> None: ...
    def set_speed(self, speed: float) -> float: ...
    def close(self) -> None: ...


PlayerFactory = Callable[[], PlayerLike]


class TranscriptView(ScrollView, can_focus=False):
    """The rows, wrapped to the width, drawn only where visible."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "review--heading",
        "review--meta",
        "review--look",
        "review--cursor",
        "review--playing",
    }
    DEFAULT_CSS = """
    TranscriptView { height: 1fr; }
    TranscriptView > .review--heading { color: $accent; text-style: bold; }
    TranscriptView > .review--meta { color: $text-muted; }
    TranscriptView > .review--look { color: $warning; }
    TranscriptView > .review--cursor { background: $boost; }
    TranscriptView > .review--playing { color: $success; }
    """

    def __init__(self, rows: list[Row], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows = rows
        self.cursor = next((i for i, r in enumerate(rows) if r.selectable), 0)
        self.playing_row: int | None = None
        # (row index, kind of line, text) per line; rebuilt when the width changes
        self._lines: list[tuple[int, str, str]] = []
        self._row_lines: list[tuple[int, int]] = []  # first line and count per row
        self._width = 0

    # -- layout --------------------------------------------------------------------------------
    def _wrap(self, width: int) -> None:
        self._width = width
        text_width = max(10, width - 2)
        lines: list[tuple[int, str, str]] = []
        spans: list[tuple[int, int]] = []
        for i, row in enumerate(self.rows):
            first = len(lines)
            if row.kind == "heading":
                if lines:
                    lines.append((i, "blank", ""))
                lines.append((i, "heading", f"── {row.text} ──"))
            elif row.kind == "turn":
                lines.append((i, "meta", row.meta))
                for part in textwrap.wrap(row.text, text_width) or [""]:
                    lines.append((i, "text", part))
            else:
                for part in textwrap.wrap(f"{clock(row.start)}  {row.text}", text_width) or [""]:
                    lines.append((i, "mark", part))
            spans.append((first, len(lines) - first))
        self._lines, self._row_lines = lines, spans
        self.virtual_size = Size(width, len(lines))

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width
        if width != self._width:
            self._wrap(width)
            self.scroll_to_cursor(animate=False)

    def ensure_wrapped(self) -> None:
        if not self._lines:
            self._wrap(max(20, self.scrollable_content_region.width or 80))

    # -- drawing -------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if index >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        row_i, kind, text = self._lines[index]
        row = self.rows[row_i]
        base = self.rich_style
        style = base
        if kind == "heading":
            style = base + self.get_component_rich_style("review--heading")
        elif kind in ("meta",):
            style = base + self.get_component_rich_style("review--meta")
        elif kind == "mark":
            style = base + self.get_component_rich_style(
                "review--look" if row.look else "review--meta"
            )
        if row_i == self.cursor and kind != "blank":
            style += self.get_component_rich_style("review--cursor", partial=True)
        gutter = "  "
        gutter_style = style
        if row_i == self.playing_row and kind not in ("blank", "heading"):
            gutter = "▌ "
            gutter_style = style + self.get_component_rich_style("review--playing", partial=True)
        segments = [Segment(gutter, gutter_style)]
        if kind == "meta" and row.look:
            head, _, _ = text.partition(" · ".join(_look_labels(row)))
            segments.append(Segment(head, style))
            segments.append(
                Segment(
                    " · ".join(_look_labels(row)),
                    style + self.get_component_rich_style("review--look", partial=True),
                )
            )
        else:
            segments.append(Segment(text, style))
        strip = Strip(segments).crop(0, width).extend_cell_length(width, style)
        return strip.crop(self.scroll_offset.x, self.scroll_offset.x + width)

    # -- cursor --------------------------------------------------------------------------------
    def row_region(self, row: int) -> Region:
        first, count = self._row_lines[row] if self._row_lines else (0, 1)
        return Region(0, first, max(1, self._width), count)

    def scroll_to_cursor(self, animate: bool = False) -> None:
        if self._row_lines:
            self.scroll_to_region(self.row_region(self.cursor), animate=animate, immediate=True)

    def refresh_rows(self, *rows: int | None) -> None:
        for row in rows:
            if row is not None and self._row_lines and 0 <= row < len(self._row_lines):
                first, count = self._row_lines[row]
                self.refresh(Region(0, first - self.scroll_offset.y, self.size.width, count))

    def move_to(self, row: int) -> None:
        old, self.cursor = self.cursor, row
        self.refresh_rows(old, row)
        self.scroll_to_cursor()

    def set_playing(self, row: int | None) -> None:
        if row != self.playing_row:
            old, self.playing_row = self.playing_row, row
            self.refresh_rows(old, row)


def _look_labels(row: Row) -> list[str]:
    from guide_tui.transcript.review import LOOK_REASONS

    return [LOOK_REASONS[k] for k in row.look]


class TextEditScreen(ModalScreen[str | None]):
    """Edit one turn's words. Playback keys keep working while typing (F-keys; Esc too when it
    is the play/pause key), so the researcher listens and types without leaving the text."""

    CSS_PATH = "dialogs.tcss"

    def __init__(self, title: str, text: str, under: ReviewScreen, play_pause: str) -> None:
        super().__init__()
        self.heading, self.text, self.under = title, text, under
        self.play_pause = play_pause
        cancel = "f10" if "escape" in play_pause.split(",") else "f10,escape"
        self._bindings.bind(play_pause, "play_pause", "Play/pause", show=False, priority=True)
        self._bindings.bind("f6", "back", "Back", show=False, priority=True)
        self._bindings.bind("f7", "forward", "Fwd", show=False, priority=True)
        self._bindings.bind("ctrl+s", "save", "Save", show=False, priority=True)
        self._bindings.bind(cancel, "cancel", "Cancel", show=False, priority=True)
        self.cancel_key = cancel.split(",")[0]

    def compose(self) -> ComposeResult:
        play = self.play_pause.split(",")[0]
        with Vertical(classes="dialog", id="edit-dialog"):
            yield Label(
                f"[b]{escape(self.heading)}[/b]  [dim]^s save · {self.cancel_key} cancel · "
                f"{play} play · f6/f7 ±{SKIP_S:g} s[/]"
            )
            yield TextArea(self.text, id="edit-text", soft_wrap=True, show_line_numbers=False)

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    def action_play_pause(self) -> None:
        self.under.action_play_pause()

    def action_back(self) -> None:
        self.under.action_back()

    def action_forward(self) -> None:
        self.under.action_forward()

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class NameScreen(ModalScreen[str | None]):
    """One line: a speaker's name."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, title: str, value: str) -> None:
        super().__init__()
        self.heading, self.value = title, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="name-dialog"):
            yield Label(f"[b]{escape(self.heading)}[/b]  [dim]Enter saves · Esc cancels[/]")
            yield Input(self.value, id="name-input")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PickScreen(ModalScreen[str | None]):
    """Choose one of a few named things (a topic); Enter picks, Esc cancels."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, title: str, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.heading, self.choices = title, choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="pick-dialog"):
            yield Label(f"[b]{escape(self.heading)}[/b]  [dim]Enter picks · Esc cancels[/]")
            yield OptionList(*[Option(escape(label), id=key) for key, label in self.choices])

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


def edit_bindings() -> list[BindingType]:
    """Keys that change the transcript (each writes one correction); shown only when the
    session's corrections log can be written."""
    return [
        Binding(
            "e,f3",
            "edit",
            "Edit",
            key_display="e",
            tooltip="Edit the words of this turn (^s saves; playback keys keep working)",
        ),
        Binding(
            "r",
            "reviewed",
            "Reviewed",
            key_display="r",
            tooltip="Mark this turn reviewed and go to the next",
        ),
        Binding("s", "speaker", "Speaker", key_display="s", tooltip="Who said this turn"),
        Binding(
            "S",
            "rename",
            "Rename speaker",
            key_display="S",
            tooltip="Rename this turn's speaker in the whole session",
        ),
        Binding(
            "x",
            "split",
            "Split",
            key_display="x",
            tooltip="Split this turn at the playback position (a new paragraph there)",
        ),
        Binding(
            "m", "merge", "Merge", key_display="m", tooltip="Join this turn to the one before it"
        ),
        Binding(
            "T",
            "enter_topic",
            "Enter topic",
            key_display="T",
            tooltip="A topic begins at the playback position (recordings made without guide-tui)",
        ),
        Binding(
            "q",
            "tick",
            "Tick",
            key_display="q",
            tooltip="Tick a question, probe or summary of this topic at the playback position",
        ),
        Binding(
            "b",
            "boundary",
            "Topic here",
            key_display="b",
            tooltip="Move the nearest topic boundary to the playback position",
        ),
        Binding(
            "ctrl+z,u",
            "undo",
            "Undo",
            key_display="^z",
            tooltip="Withdraw the latest correction (nothing is ever deleted)",
        ),
    ]


def review_bindings(play_pause: str = "f5,escape", editable: bool = False) -> list[BindingType]:
    """The screen's keys; ``play_pause`` from config.toml (``[review] play_pause``)."""
    shown = play_pause.split(",")[0]
    return [
        Binding(
            play_pause,
            "play_pause",
            "Play/pause",
            key_display=shown,
            id="play_pause",
            tooltip="Play or pause; resuming starts a second or two earlier",
        ),
        Binding(
            "enter",
            "play_turn",
            "Play turn",
            key_display="⏎",
            tooltip="Play the turn under the cursor, from its start to its end",
        ),
        Binding(
            "f6,left", "back", "Back", key_display="f6", tooltip=f"Jump back {SKIP_S:g} seconds"
        ),
        Binding(
            "f7,right",
            "forward",
            "Fwd",
            key_display="f7",
            tooltip=f"Jump forward {SKIP_S:g} seconds",
        ),
        Binding(
            "f8,minus",
            "slower",
            "Slower",
            key_display="f8",
            tooltip="Play slower (down to 0.5×), same pitch",
        ),
        Binding(
            "f9,plus,equals_sign",
            "faster",
            "Faster",
            key_display="f9",
            tooltip="Play faster (up to 1.5×), same pitch",
        ),
        Binding(
            "n",
            "next_look",
            "Next to check",
            key_display="n",
            tooltip="Next unsure words, untranscribed speech or unsure speaker",
        ),
        Binding("N", "previous_look", "Previous to check", key_display="N", show=False),
        *(edit_bindings() if editable else []),
        Binding("down,j", "cursor(1)", "Next turn", show=False),
        Binding("up,k", "cursor(-1)", "Previous turn", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("home", "edge(0)", "First turn", show=False),
        Binding("end", "edge(1)", "Last turn", show=False),
    ]


HELP_ROWS = [
    "[b $accent] ↑ ↓ j k[/]  Move turn by turn (playback follows the cursor)",
    "[b $accent] PgUp PgDn[/]  A page up or down",
    "[b $accent]    ^p[/]  Command palette: every action by name",
    "[b $accent]    f2[/]  Light / dark theme",
    "[b $accent]    ^q[/]  Leave",
    "",
    "[dim]A bar in the left margin follows the audio; the cursor follows it while it plays. "
    "Corrections go to corrections.jsonl in the session folder; transcript.json is never "
    "changed, and ^z withdraws the latest one.[/]",
]


class ReviewScreen(Screen[None]):
    """The transcript with playback. Subclassed per key setup by :func:`make_review_app`."""

    CSS_PATH = "review.tcss"
    BINDINGS: ClassVar[list[BindingType]] = review_bindings()
    HELP_ROWS = HELP_ROWS

    def __init__(
        self,
        rows: list[Row],
        *,
        title: str,
        duration: float,
        player_factory: PlayerFactory | None = None,
        poll_interval: float = POLL_S,
        document: ReviewDocument | None = None,
        play_pause: str = "f5,escape",
    ) -> None:
        super().__init__()
        self.document = document
        self.play_pause = play_pause
        self.rows = document.rows if document is not None else rows
        self.title_text = title
        self.duration = duration
        self.index = RowIndex(self.rows)
        # A deferred document (``guide-tui review``): the first frame says "loading
        # transcript…" and the model is built off the UI thread; the screen's keys wait.
        # (Not ``loading``: that is Widget's reactive that covers the screen with dots.)
        self.transcript_loading = document is not None and not document.loaded
        self.load_problem: str | None = None
        self.player: PlayerLike | None = None
        self.player_problem: str | None = "Preparing the audio…" if player_factory else "No audio"
        self._player_factory = player_factory
        self._poll_interval = poll_interval
        self.looks = sum(1 for r in self.rows if r.look)

    def compose(self) -> ComposeResult:
        yield QuietStatic(id="topbar")
        yield TranscriptView(self.rows, id="transcript")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        self.view = self.query_one(TranscriptView)
        self.query_one(KeyBar).render_bindings([b for b in self.BINDINGS if isinstance(b, Binding)])
        self.view.ensure_wrapped()
        self.draw_status()
        self.set_interval(self._poll_interval, self.poll)
        if self.transcript_loading:
            # After the first frame is painted: a thread started now would take the GIL from
            # the painting of the very frame it is meant to let through first.
            self.call_after_refresh(self._load_document)
        elif self._player_factory is not None:
            self._build_player()  # (when deferred: once the rows are there, see _loaded)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the transcript is loading, the screen's keys have no rows to act on."""
        return not self.transcript_loading

    @work(thread=True, exit_on_error=False, group="load")
    def _load_document(self) -> None:
        assert self.document is not None
        try:
            self.document.rebuild()
        except Exception as error:  # a model that cannot be built: say so, do not crash
            self.app.call_from_thread(self._load_failed, f"{error}")
            return
        self.app.call_from_thread(self._loaded)

    def _loaded(self) -> None:
        assert self.document is not None
        self.transcript_loading = False
        self.duration = max([self.duration] + [r.end for r in self.document.rows])
        self._reload(None)
        self.refresh_bindings()
        # Only now: the audio stack's imports (numpy, soundfile, PortAudio) would compete with
        # the model for the interpreter (one GIL) and hold the rows back.
        if self._player_factory is not None:
            self._build_player()

    def _load_failed(self, reason: str) -> None:
        self.load_problem = f"Cannot show the transcript: {reason}"
        self.app.notify(self.load_problem, severity="error", timeout=30, markup=False)
        self.draw_status()

    @work(thread=True, exit_on_error=False)
    def _build_player(self) -> None:
        assert self._player_factory is not None
        try:
            player = self._player_factory()
        except Exception as error:  # any failure leaves a reader without audio
            self.app.call_from_thread(self._no_player, str(error))
            return
        self.app.call_from_thread(self._set_player, player)

    def _set_player(self, player: PlayerLike) -> None:
        self.player = player
        self.player_problem = None
        if self.rows:  # (else it seeks once the transcript is loaded)
            player.seek(self.rows[self.view.cursor].start)
        self.draw_status()

    def _no_player(self, reason: str) -> None:
        self.player_problem = f"No audio: {reason}"
        self.draw_status()

    def on_unmount(self) -> None:
        if self.player is not None:
            self.player.close()

    # -- status --------------------------------------------------------------------------------
    def draw_status(self) -> None:
        player = self.player
        if player is None:
            audio = escape(self.player_problem or "")
            at = self.rows[self.view.cursor].start if self.rows else 0.0
        else:
            sign = "▶" if player.playing else "⏸"
            at = player.position
            audio = f"{sign} {player.speed:.1f}×"
        looks = f" · {self.looks} to check" if self.looks else ""
        if self.transcript_loading:
            where = escape(self.load_problem or "loading transcript…")
        elif self.document is not None and self.document.editable:
            done = clock(self.document.reviewed_seconds)
            where = f"{clock(at)} · reviewed {done} of {clock(self.duration)}"
        else:
            where = f"at {clock(at)} of {clock(self.duration)}"
        self.query_one("#topbar", QuietStatic).show(
            f"[b]{escape(self.title_text)}[/]  {audio} · {where}{looks}"
        )

    def poll(self) -> None:
        """The highlight follows the audio; the cursor goes along while it sat on the played row."""
        player = self.player
        if player is None:
            return
        if player.playing:
            row = self.index.at(player.position)
            view = self.view
            if row is not None and row != view.playing_row:
                if view.playing_row is None or view.cursor == view.playing_row:
                    view.move_to(row)
                view.set_playing(row)
        self.draw_status()

    # -- actions -------------------------------------------------------------------------------
    def _need_player(self) -> PlayerLike | None:
        if self.player is None:
            self.app.notify(self.player_problem or "No audio", timeout=2.5)
        return self.player

    def _playback(self, do: Callable[[PlayerLike], Any]) -> None:
        from guide_tui.errors import GuideTuiError

        player = self._need_player()
        if player is None:
            return
        try:
            do(player)
        except GuideTuiError as error:
            self.app.notify(str(error), severity="warning", timeout=4)
        if player.playing:
            self.view.set_playing(self.index.at(player.position))
        self.draw_status()

    def action_play_pause(self) -> None:
        def toggle(player: PlayerLike) -> None:
            if player.playing:
                player.pause()
            else:
                player.play()

        self._playback(toggle)

    def action_play_turn(self) -> None:
        row = self.rows[self.view.cursor]
        self._playback(lambda p: p.play(row.start, until=max(row.end, row.start + 0.5)))

    def action_back(self) -> None:
        self._playback(lambda p: p.skip(-SKIP_S))

    def action_forward(self) -> None:
        self._playback(lambda p: p.skip(SKIP_S))

    def action_slower(self) -> None:
        self._playback(lambda p: self._say_speed(p.set_speed(p.speed - SPEED_STEP)))

    def action_faster(self) -> None:
        self._playback(lambda p: self._say_speed(p.set_speed(p.speed + SPEED_STEP)))

    def _say_speed(self, speed: float) -> None:
        self.app.notify(f"Speed {speed:.1f}×", timeout=1.5)

    def _select(self, row: int) -> None:
        self.view.move_to(row)
        if self.player is not None:
            self.player.seek(self.rows[row].start)
            if self.player.playing:
                self.view.set_playing(row)
        self.draw_status()

    def _selectable(self, start: int, step: int) -> int | None:
        i = start
        while 0 <= i < len(self.rows):
            if self.rows[i].selectable:
                return i
            i += step
        return None

    def action_cursor(self, step: int) -> None:
        found = self._selectable(self.view.cursor + step, step)
        if found is not None:
            self._select(found)

    def action_page(self, direction: int) -> None:
        view = self.view
        first, count = view.row_region(view.cursor).y, view.size.height
        target_line = max(0, min(len(view._lines) - 1, first + direction * max(1, count - 2)))
        row = view._lines[target_line][0] if view._lines else view.cursor
        found = self._selectable(row, direction) or self._selectable(row, -direction)
        if found is not None:
            self._select(found)

    def action_edge(self, end: int) -> None:
        found = self._selectable(len(self.rows) - 1, -1) if end else self._selectable(0, 1)
        if found is not None:
            self._select(found)

    def _look(self, step: int) -> None:
        i = self.view.cursor + step
        while 0 <= i < len(self.rows):
            if self.rows[i].look:
                self._select(i)
                return
            i += step
        where = "below" if step > 0 else "above"
        self.app.notify(f"Nothing more to check {where}", timeout=2)

    def action_next_look(self) -> None:
        self._look(1)

    def action_previous_look(self) -> None:
        self._look(-1)

    # -- corrections -----------------------------------------------------------------------------
    def _turn(self) -> Row | None:
        row = self.rows[self.view.cursor]
        if row.turn is None:
            self.app.notify("Only a turn's words can be changed here", timeout=2)
            return None
        return row

    def _correct(self, type: str, *, message: str, keep: float, **data: Any) -> None:
        from guide_tui.errors import GuideTuiError

        assert self.document is not None
        try:
            self.document.correct(type, **data)
        except GuideTuiError as error:
            self.app.notify(str(error), severity="error", timeout=6)
            return
        self._reload(keep)
        self.app.notify(message, timeout=2)

    def _reload(self, keep: float | None) -> None:
        """Rows rebuilt from the corrected model; the cursor stays at the same time (None:
        the first row, as on opening)."""
        assert self.document is not None
        self.rows = self.document.rows
        self.index = RowIndex(self.rows)
        self.looks = sum(1 for r in self.rows if r.look)
        view = self.view
        view.rows = self.rows
        view._wrap(view._width or max(20, view.scrollable_content_region.width))
        at = self.index.at(keep) if keep is not None else None
        view.cursor = at if at is not None else self._selectable(0, 1) or 0
        view.playing_row = None
        view.refresh()
        view.scroll_to_cursor()
        self.draw_status()

    def action_edit(self) -> None:
        row = self._turn()
        if row is None or row.turn is None:
            return
        turn = row.turn
        original = turn.text

        def done(text: str | None) -> None:
            if text is None or " ".join(text.split()) == " ".join(original.split()):
                return
            self._correct(
                "edit_text",
                message="Saved",
                keep=turn.start,
                start=turn.start,
                end=turn.end,
                original=original,
                text=" ".join(text.split()),
            )

        title = f"{clock(turn.start)} {turn.speaker or ''}".strip()
        self.app.push_screen(TextEditScreen(title, original, self, self.play_pause), done)

    def action_reviewed(self) -> None:
        row = self.rows[self.view.cursor]
        end = max(row.end, row.start + 0.01)
        self._correct(
            "reviewed",
            message=f"Reviewed to {clock(end)}",
            keep=row.start,
            start=row.start,
            end=end,
        )
        self.action_cursor(1)

    def action_speaker(self) -> None:
        row = self._turn()
        if row is None or row.turn is None:
            return
        turn = row.turn

        def done(name: str | None) -> None:
            if name and name != turn.speaker:
                self._correct(
                    "set_speaker",
                    message=f"Speaker: {name}",
                    keep=turn.start,
                    start=turn.start,
                    end=turn.end,
                    original=turn.text,
                    speaker=name,
                )

        self.app.push_screen(NameScreen("Who said this turn?", turn.speaker or ""), done)

    def action_rename(self) -> None:
        row = self._turn()
        if row is None or row.turn is None:
            return
        old = row.turn.speaker
        if not old:
            self.app.notify("This turn has no speaker to rename; use s", timeout=2.5)
            return

        def done(name: str | None) -> None:
            if name and name != old:
                self._correct(
                    "rename_speaker",
                    message=f"{old} is now {name} everywhere",
                    keep=row.start,
                    speaker=old,
                    name=name,
                )

        self.app.push_screen(NameScreen(f"Rename {old} in the whole session", old), done)

    def action_split(self) -> None:
        row = self._turn()
        if row is None or row.turn is None:
            return
        words = row.turn.words
        t = self.player.position if self.player is not None else None
        after = [w for w in words[1:] if t is not None and w.start >= t - 0.05]
        if not after:
            self.app.notify("Play to the word where the new turn begins, then press x", timeout=3)
            return
        word = after[0]
        self._correct(
            "split_turn",
            message=f"New turn at {clock(word.start)}",
            keep=word.start,
            at=word.start,
            word=word.text,
        )

    def action_merge(self) -> None:
        row = self._turn()
        if row is None or row.turn is None:
            return
        first = row.turn.words[0]
        before = [r for r in self.rows[: self.view.cursor] if r.kind == "turn"]
        if not before:
            self.app.notify("No turn before this one to join", timeout=2)
            return
        self._correct(
            "merge_turns",
            message="Joined to the turn before",
            keep=before[-1].start,
            at=first.start,
            word=first.text,
        )

    def action_enter_topic(self) -> None:
        assert self.document is not None
        t = self.player.position if self.player is not None else self.rows[self.view.cursor].start
        choices = list(self.document.titles.items())
        if not choices:
            self.app.notify("The session's guide names no topics", timeout=3)
            return

        def done(topic: str | None) -> None:
            if topic:
                self._correct(
                    "enter_topic",
                    message=f"{self.document.titles.get(topic, topic) if self.document else topic}"
                    f" begins at {clock(t)}",
                    keep=t,
                    topic=topic,
                    t=round(t, 2),
                )

        self.app.push_screen(PickScreen(f"Which topic begins at {clock(t)}?", choices), done)

    def action_tick(self) -> None:
        assert self.document is not None
        t = self.player.position if self.player is not None else self.rows[self.view.cursor].start
        choices = self.document.tick_choices(t)
        if not choices:
            self.app.notify("No guide topic here to tick questions of", timeout=3)
            return

        def done(key: str | None) -> None:
            if not key:
                return
            kind, topic, question, probe = key.split("|")
            data: dict[str, Any] = {"kind": kind, "t": round(t, 2), "topic": topic}
            if question:
                data["question"] = question
            if probe:
                data["probe"] = probe
            self._correct("tick", message=f"Ticked at {clock(t)}", keep=t, **data)

        self.app.push_screen(PickScreen(f"What was said at {clock(t)}?", choices), done)

    def action_boundary(self) -> None:
        assert self.document is not None
        t = self.player.position if self.player is not None else self.rows[self.view.cursor].start
        visit = self.document.nearest_boundary(t)
        if visit is None:
            self.app.notify("No topic boundary to move", timeout=2)
            return
        self._correct(
            "move_topic",
            message=f"{visit.title} now begins at {clock(t)}",
            keep=t,
            topic=visit.topic,
            from_t=visit.raw_start,
            t=round(t, 2),
        )

    def action_undo(self) -> None:
        assert self.document is not None
        row = self.rows[self.view.cursor]
        undone = self.document.undo()
        if undone is None:
            self.app.notify("Nothing to undo", timeout=2)
            return
        self._reload(row.start)
        self.app.notify("Undone", timeout=2)


class ReviewApp(App[None]):
    """``guide-tui review``: one screen, the app conventions of the interview (help, palette,
    light/dark, ^q)."""

    TITLE = "guide-tui review"
    CSS_PATH = "../app.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1,question_mark", "help", "Help", id="help", tooltip="List every key"),
        Binding("f2", "toggle_dark", "Light/dark", id="toggle_dark", show=False),
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True, tooltip="Leave"),
    ]

    def __init__(self, screen: ReviewScreen, *, theme: str = "dark") -> None:
        super().__init__()
        self.review_screen = screen
        self.theme = "textual-light" if theme == "light" else "textual-dark"

    def get_default_screen(self) -> Screen[Any]:
        return self.review_screen

    def action_help(self) -> None:
        from guide_tui.tui.screens.modals import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def get_system_commands(self, screen: Screen[Any]) -> Any:
        from guide_tui.tui.app import key_commands

        yield from key_commands(screen)
        yield SystemCommand(
            "Light/dark theme",
            "Switch between the light and the dark theme",
            self.action_toggle_dark,
        )
        yield SystemCommand("Help", "List every key", self.action_help)
        yield SystemCommand("Quit", "Leave the review", self.exit)


def make_review_app(
    rows: list[Row],
    *,
    title: str,
    duration: float,
    player_factory: PlayerFactory | None = None,
    play_pause: str = "f5,escape",
    theme: str = "dark",
    poll_interval: float = POLL_S,
    document: ReviewDocument | None = None,
) -> ReviewApp:
    """The one factory ``guide-tui review`` and the tests share; ``play_pause`` remaps the key."""
    editable = document is not None and document.editable
    screen_class: type[ReviewScreen] = ReviewScreen
    if play_pause != "f5,escape" or editable:
        # Not inherited: the default key must stop playing/pausing once it is remapped.
        screen_class = types.new_class(
            "ReviewScreen",
            (ReviewScreen,),
            {"inherit_bindings": False},
            lambda ns: ns.update(BINDINGS=review_bindings(play_pause, editable)),
        )
    screen = screen_class(
        document.rows if document is not None else rows,
        title=title,
        duration=duration,
        player_factory=player_factory,
        poll_interval=poll_interval,
        document=document,
        play_pause=play_pause,
    )
    return ReviewApp(screen, theme=theme)


__all__ = ["ReviewApp", "ReviewScreen", "TranscriptView", "make_review_app", "review_bindings"]
