"""Before the interview: consent, participant, baseline form, microphone check.

A four-step wizard rather than one long form, because at 80×24 one long form scrolls and the
interviewer is talking to someone. Each consent tick is logged the moment it is made (the
participant consents item by item); baseline answers are logged when the step is confirmed, so a
half-typed number never reaches the log. Recording cannot start until every consent item is
ticked; "declines recording" turns the session into a notes-only one, logged as such.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import (
    Label,
    Static,
)

from guide_tui.guide.model import BaselineField, Guide
from guide_tui.recorder.base import RecorderState, RecorderStatus
from guide_tui.safetext import terminal_text
from guide_tui.session.events import EventType
from guide_tui.session.state import PARTICIPANT_CONFIRMED, Phase, consent_item_is_about_recording
from guide_tui.tui.format import dom_id, escape
from guide_tui.tui.meter import MicCheckPanel
from guide_tui.tui.widgets import KeyBar, StepButton, TickItem

if TYPE_CHECKING:
    from guide_tui.tui.app import GuideApp

STEPS = (
    ("step-consent", "Consent"),
    ("step-participant", "Participant"),
    ("step-baseline", "Baseline"),
    ("step-mic", "Microphone"),
)
DECLINES_ID = "declines-recording"
YES_NO = (("Yes", True), ("No", False))


class StepBar(Static):
    """``1 Consent › 2 Participant › …`` with the current step highlighted."""

    def show(self, current: str) -> None:
        parts = []
        for number, (step_id, title) in enumerate(STEPS, 1):
            style = "bold reverse" if step_id == current else "dim"
            parts.append(f"[{style}] {number} {title} [/]")
        self.update(" › ".join(parts))


class PreInterviewScreen(Screen[None]):
    """Consent → participant → baseline → microphone check → start the interview."""

    CSS_PATH = "pre.tcss"

    app: GuideApp

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "back", key_display="esc", id="back", tooltip="Previous step"),
        Binding(
            "ctrl+n", "next", "continue", key_display="^n", id="next", tooltip="Confirm this step"
        ),
        Binding("enter", "next", "continue", show=False, id="enter_next"),
        Binding("down", "app.focus_next", "Next field", show=False, id="field_next"),
        Binding("up", "app.focus_previous", "Previous field", show=False, id="field_prev"),
    ]

    current_step = "step-consent"

    def compose(self) -> ComposeResult:
        guide = self.app.guide
        yield Static(
            f"[b]{escape(guide.title)}[/b]  [dim]v{escape(guide.version)}[/dim]", id="pre-title"
        )
        yield StepBar(id="steps")
        self.current_step = self._initial_step()
        with Vertical(id="wizard"):
            # Only the step shown is built; the others are mounted when first reached. The
            # first screen is drawn sooner that way (every widget type costs stylesheet work).
            yield STEP_WIDGETS[self.current_step](id=self.current_step, classes="step")
        yield KeyBar(id="keys")

    def _initial_step(self) -> str:
        state = self.app.state
        if state.phase == Phase.CONSENT:
            return "step-consent"
        if not state.participant_confirmed:
            return "step-participant"
        return "step-baseline"

    def on_mount(self) -> None:
        self.query_one(KeyBar).render_bindings(
            [b for b in self.BINDINGS if isinstance(b, Binding)]
            + [
                Binding("tab", "", "next field"),
                Binding("space", "", "tick", key_display="␣"),
                Binding("f1", "", "help"),
                Binding("ctrl+q", "", "quit", key_display="^q"),
            ]
        )
        self.query_one(StepBar).show(self.current_step)
        self._focus_first(self.current_step)
        self.refresh_from_state()

    # -- steps ---------------------------------------------------------------------------------

    async def _show_step(self, step_id: str) -> None:
        wizard = self.query_one("#wizard")
        if not wizard.query_children(f"#{step_id}"):
            await wizard.mount(STEP_WIDGETS[step_id](id=step_id, classes="step"))
        for step in wizard.children:
            step.display = step.id == step_id
        self.current_step = step_id
        self.query_one(StepBar).show(step_id)
        self._focus_first(step_id)

    def _focus_first(self, step_id: str) -> None:
        step = self.query_one(f"#{step_id}")
        if step_id == "step-mic":
            self.query_one("#start-interview").focus()
            return
        focusable = [
            w for w in step.query("*") if w.focusable and not isinstance(w, ScrollableContainer)
        ]
        # A step with nothing to fill in starts on Continue, not Back: Enter goes on.
        fields = [w for w in focusable if not isinstance(w, StepButton)]
        primary = [w for w in focusable if w.has_class("primary")]
        if fields or primary:
            (fields or primary)[0].focus()

    async def action_back(self) -> None:
        current = self.current_step
        order = [s for s, _ in STEPS]
        if current in order and order.index(current) > 0:
            await self._show_step(order[order.index(current) - 1])

    async def action_next(self) -> None:
        current = self.current_step
        handlers = {
            "step-consent": self._consent_next,
            "step-participant": self._participant_next,
            "step-baseline": self._baseline_next,
            "step-mic": self.start_interview,
        }
        if current in handlers:
            await handlers[current]()

    @on(StepButton.Pressed)
    async def _button(self, event: StepButton.Pressed) -> None:
        button = event.button.id or ""
        if button.endswith("-back"):
            await self.action_back()
        elif button == "consent-next":
            await self._consent_next()
        elif button == "participant-next":
            await self._participant_next()
        elif button == "baseline-next":
            await self._baseline_next()
        elif button == "start-interview":
            await self.start_interview()

    # -- consent -------------------------------------------------------------------------------

    @on(TickItem.Changed)
    def _consent_changed(self, event: TickItem.Changed) -> None:
        state = self.app.state
        widget_id = event.item.id or ""
        if widget_id == DECLINES_ID:
            if event.value != state.notes_only:
                self.app.record(EventType.CONSENT_DECLINED_RECORDING, declined=event.value)
            if event.value:  # declining withdraws any tick for the recording itself
                for given in self.app.guide.consent:
                    if state.consent.get(given.id) and consent_item_is_about_recording(given.text):
                        self.app.record(EventType.CONSENT, item=given.id, given=False)
                        self.query_one(f"#consent-{dom_id(given.id)}", TickItem).set_value(False)
        elif widget_id.startswith("consent-"):
            ids = {dom_id(i.id): i.id for i in self.app.guide.consent}
            item = ids.get(widget_id.removeprefix("consent-"), "")
            if item and state.consent.get(item, False) != event.value:
                self.app.record(EventType.CONSENT, item=item, given=event.value)
            text = event.item.text
            if event.value and state.notes_only and consent_item_is_about_recording(text):
                # Agreeing to the recording takes the refusal back: never both at once.
                self.app.record(EventType.CONSENT_DECLINED_RECORDING, declined=False)
                self.query_one(f"#{DECLINES_ID}", TickItem).set_value(False)
        self.app.update_meta(consent=dict(state.consent), notes_only=state.notes_only)

    async def _consent_next(self) -> None:
        state = self.app.state
        if not state.consent_complete:
            self.query_one("#consent-status", Label).update(
                "[b]Every item must be ticked[/b] (or the participant declines recording)."
            )
            return
        await self._show_step("step-participant")

    # -- participant ---------------------------------------------------------------------------

    async def _participant_next(self) -> None:
        state = self.app.state
        group = state.group
        if self.app.guide.groups:
            from textual.widgets import RadioSet

            pressed = self.query_one("#group", RadioSet).pressed_button
            if pressed is None:
                self.app.refuse("Choose the participant's group.")
                return
            group = pressed.name
        if not state.participant_confirmed or group != state.group:
            before = state.group
            self.app.record(PARTICIPANT_CONFIRMED, group=group)
            self.app.update_meta(group=group)
            self._follow_group(before, group)
        await self._show_step("step-baseline")

    def _follow_group(self, before: str | None, group: str | None) -> None:
        """A changed group changes the baseline answers that were only its echo."""
        from textual.widgets import Select

        guide = self.app.guide
        for field in guide.baseline:
            new = group_answer(guide, group, field)
            found = self.query(f"#baseline-{dom_id(field.id)}")
            if new is None or not found:
                continue
            widget = found.first(Select)
            if widget.value is Select.NULL or widget.value == group_answer(guide, before, field):
                widget.value = new

    # -- baseline ------------------------------------------------------------------------------

    def _read_field(self, field: BaselineField) -> tuple[Any, str | None]:
        """The typed value of one field and, if it is not acceptable, why."""
        from textual.widgets import Input, Select

        widget = self.query_one(f"#baseline-{dom_id(field.id)}")
        if isinstance(widget, Select):
            value = None if widget.value is Select.NULL else widget.value
        else:
            assert isinstance(widget, Input)
            text = widget.value.strip()
            value = text or None
            if value is not None and field.type == "number":
                try:
                    number = float(text)
                except ValueError:
                    return None, "Enter a number."
                if field.minimum is not None and number < field.minimum:
                    return None, f"At least {field.minimum:g}."
                if field.maximum is not None and number > field.maximum:
                    return None, f"At most {field.maximum:g}."
                value = int(number) if number.is_integer() else number
        if value is None and field.required:
            return None, "Required."
        return value, None

    async def _baseline_next(self) -> None:
        state = self.app.state
        answers: dict[str, Any] = {}
        first_bad = None
        for field in self.app.guide.baseline:
            value, problem = self._read_field(field)
            self.query_one(f"#error-{dom_id(field.id)}", Label).update(problem or "")
            if problem and first_bad is None:
                first_bad = field
            answers[field.id] = value
        if first_bad is not None:
            self.query_one(f"#baseline-{dom_id(first_bad.id)}").focus()
            return
        for field_id, value in answers.items():
            if value is not None and state.baseline.get(field_id) != value:
                self.app.record(EventType.BASELINE_ANSWER, field=field_id, value=value)
        self.app.update_meta(baseline=dict(state.baseline))
        await self._show_step("step-mic")

    # -- microphone and start ------------------------------------------------------------------

    def tick(self, status: RecorderStatus) -> None:
        """Called by the app at 10 Hz with the recorder's snapshot."""
        if self.app.state.notes_only:
            text = "The participant declined recording: this is a [b]notes-only[/b] session."
        elif status.message:
            text = escape(status.message)
        elif status.state == RecorderState.IDLE:
            # Before the interview the recorder is idle even while the check listens to the
            # same microphone: say what is happening, not "idle".
            listening = any(panel.listening for panel in self.query(MicCheckPanel))
            text = (
                "Listening for the check only: nothing is recorded until the interview starts."
                if listening
                else "Not recording yet: recording starts with the interview."
            )
        else:
            device = f" · {escape(status.device)}" if status.device else ""
            text = f"Recorder: {status.state}{device}"
        text += "\n\n[dim]Press Start interview (Enter) when ready.[/dim]"
        found = self.query("#mic-check")
        if not found:
            return  # not composed yet
        mic = found.first(Static)
        if getattr(mic, "_last_text", None) != text:
            mic._last_text = text  # type: ignore[attr-defined]
            mic.update(text)

    def refresh_from_state(self) -> None:
        state = self.app.state
        found = self.query("#consent-status")
        if not found:
            return
        label = found.first(Label)
        if state.consent_complete:
            label.update(
                "[b]Consent complete.[/b]"
                + (" Notes only: no audio will be recorded." if state.notes_only else "")
            )
        else:
            missing = [
                item
                for item in self.app.guide.consent
                if not state.consent.get(item.id)
                and not (state.notes_only and consent_item_is_about_recording(item.text))
            ]
            label.update(f"{len(missing)} item(s) still to tick.")

    async def start_interview(self) -> None:
        app = self.app
        if not app.state.consent_complete:
            await self._show_step("step-consent")
            return
        await app.wait_for_recorder()
        voice: tuple[Any, int | None] = (None, None)
        for panel in self.query(MicCheckPanel):
            panel.stop_check()  # closes the device: the recorder opens it next
            voice = panel.voice_result()
        if app.state.recording_allowed:
            app.start_recording()
            await self._keep_voice(*voice)
        else:
            app.use_notes_only_recorder("The participant declined recording: notes only.")
            app.recorder.start()
        app.record(EventType.INTERVIEW_STARTED, notes_only=app.state.notes_only)
        topics = app.state.visible_topics()
        if topics and app.state.current_topic is None:
            app.record(EventType.TOPIC_ENTERED, topic=topics[0].id)
        app.update_meta(notes_only=app.state.notes_only)
        from guide_tui.tui.screens.interview import InterviewScreen

        app.push_screen(InterviewScreen())  # the wizard stays below, never shown again

    async def _keep_voice(self, take: Any, channel: int | None) -> None:
        """The voice check into the session, now that recording is allowed and has started: the
        interviewer's sample as a WAV (their own channel on two microphones), the channel map,
        and whether the interviewer's voice profile exists (a flag; the profile stays in the
        config folder). Nothing when there is nothing to say."""
        import asyncio

        from guide_tui import voiceprint

        profile = await asyncio.to_thread(voiceprint.has_profile)
        if take is None and not profile:
            return
        check: dict[str, Any] = {"sample": None, "profile": profile}
        if take is not None:
            check["speech_s"] = round(take.speech_seconds(), 2)
            check["channel_db"] = take.channel_db()
            check["interviewer_channel"] = channel
            folder = getattr(self.app.session, "path", None)
            if folder is not None:
                from pathlib import Path

                from guide_tui.atomic import write_bytes_atomic

                data = take.wav_bytes(channel)
                try:
                    path = Path(folder) / voiceprint.SAMPLE_FILE
                    await asyncio.to_thread(write_bytes_atomic, path, data)
                    check["sample"] = voiceprint.SAMPLE_FILE
                except OSError as error:
                    self.app.notify(
                        f"The voice sample could not be saved: {error.strerror or error}",
                        severity="warning",
                    )
        self.app.record(EventType.VOICE_CHECK, **check)
        self.app.update_meta(voice_check=check)


def _tune(step: Widget) -> None:
    """No cursor blink when the app says so (snapshots); at 24 rows, borderless fields (with
    borders only three baseline questions fit on the screen)."""
    app = step.app
    for widget in step.query("Input"):
        widget.cursor_blink = getattr(app, "cursor_blink", True)  # type: ignore[attr-defined]
    if app.size.height < 32:
        for field in step.query("Input, Select"):
            field.compact = True  # type: ignore[attr-defined]


class WizardStep(Vertical):
    """One step of the wizard; composed from the app's state when first shown."""

    app: GuideApp

    def on_mount(self) -> None:
        _tune(self)


class ConsentStep(WizardStep):
    def compose(self) -> ComposeResult:
        state = self.app.state
        yield Label("Tick each item as the participant confirms it.", classes="hint")
        with Vertical(classes="step-body"):
            for item in self.app.guide.consent:
                yield TickItem(
                    item.text,
                    state.consent.get(item.id, False),
                    id=f"consent-{dom_id(item.id)}",
                    classes="consent-item",
                )
            yield TickItem(
                "Participant declines audio recording (notes only)",
                state.notes_only,
                id=DECLINES_ID,
            )
        yield Label("", id="consent-status", classes="status")
        with Horizontal(classes="buttons"):
            yield StepButton("Continue", id="consent-next", classes="primary")


class ParticipantStep(WizardStep):
    def compose(self) -> ComposeResult:
        state = self.app.state
        meta = self.app.session.meta
        yield Label("Confirm who is being interviewed.", classes="hint")
        with Vertical(classes="step-body"):
            observers = ", ".join(str(o) for o in meta.get("observers") or ()) or "—"
            yield Static(
                f"Pseudonym: [b]{escape(meta.get('participant') or state.participant or '?')}[/b]"
                f"\nInterviewer: {escape(meta.get('interviewer') or '—')}"
                f"\nObservers: {escape(observers)}"
                f"\nLocation: {escape(meta.get('location') or '—')}",
                id="participant-facts",
            )
            if self.app.guide.groups:
                yield Label("Participant group (decides which questions are shown):")
                from textual.widgets import RadioButton, RadioSet  # only this step needs them

                with RadioSet(id="group"):
                    for group in self.app.guide.groups:
                        yield RadioButton(
                            escape(group.label), group.id == state.group, name=group.id
                        )
        with Horizontal(classes="buttons"):
            yield StepButton("Back", id="participant-back")
            yield StepButton("Continue", id="participant-next", classes="primary")

    def on_mount(self) -> None:
        super().on_mount()
        # A RadioSet puts its cursor on the first button when mounted, whichever is pressed;
        # the interviewer reads the cursor as the choice, so it goes to the chosen group.
        self.call_after_refresh(self._cursor_on_chosen_group)

    def _cursor_on_chosen_group(self) -> None:
        from textual.widgets import RadioSet

        for radios in self.query(RadioSet):
            if radios.pressed_index >= 0:
                radios._selected = radios.pressed_index  # no public setter in Textual 8


class BaselineStep(WizardStep):
    def compose(self) -> ComposeResult:
        state = self.app.state
        yield Label("Baseline questions (required ones marked *).", classes="hint")
        with Vertical(classes="step-body", id="baseline-form"):
            for field in self.app.guide.baseline:
                value = state.baseline.get(field.id)
                if value is None:
                    value = group_answer(self.app.guide, state.group, field)
                yield from self._baseline_field(field, value)
            if not self.app.guide.baseline:
                yield Label("This guide has no baseline questions.")
        with Horizontal(classes="buttons"):
            yield StepButton("Back", id="baseline-back")
            yield StepButton("Continue", id="baseline-next", classes="primary")

    def _baseline_field(self, field: BaselineField, value: Any) -> ComposeResult:
        from textual.widgets import Input, Select  # deferred: not needed for the first screen

        star = " *" if field.required else ""
        unit = f" ({escape(field.unit)})" if field.unit else ""
        yield Label(f"{escape(field.label)}{unit}{star}", classes="field-label")
        widget_id = f"baseline-{dom_id(field.id)}"
        if field.type in ("choice", "yes-no"):
            options = (
                [(escape(o), o) for o in field.options] if field.type == "choice" else list(YES_NO)
            )
            initial = value if value is not None and value in dict(options).values() else None
            yield Select(
                options,
                prompt="Choose…",
                id=widget_id,
                classes="baseline",
                value=initial if initial is not None else Select.NULL,
            )
        else:
            text = "" if value is None else terminal_text(str(value))
            yield Input(
                text,
                id=widget_id,
                classes="baseline",
                type="number" if field.type == "number" else "text",
                placeholder=terminal_text(field.label),
            )
        yield Label("", id=f"error-{dom_id(field.id)}", classes="field-error")


def group_answer(guide: Guide, group: str | None, field: BaselineField) -> str | None:
    """The answer a baseline field already has from the participant's group.

    A choice field whose options include every group's label (the cross-sectoral guide's
    "Profession") asks again what the group says; it starts filled in (and can be changed).
    """
    if group is None or field.type != "choice" or not guide.groups:
        return None
    labels = {g.id: g.label for g in guide.groups}
    if not set(labels.values()) <= set(field.options):
        return None
    return labels.get(group)


class MicStep(WizardStep):
    """The microphone check. The recording issue fills ``#mic-check-panel``; until then it
    shows the recorder's state (10 Hz, from the screen's ``tick``)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="mic-check-panel"):
            yield Label("[b]Microphone check[/b]")
            yield Static("", id="mic-check")
            yield MicCheckPanel(id="mic-live")
        with Horizontal(classes="buttons"):
            yield StepButton("Back", id="mic-back")
            yield StepButton("Start interview", id="start-interview", classes="primary")


STEP_WIDGETS: dict[str, type[WizardStep]] = {
    "step-consent": ConsentStep,
    "step-participant": ParticipantStep,
    "step-baseline": BaselineStep,
    "step-mic": MicStep,
}
