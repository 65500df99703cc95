"""The microphone check on the pre-interview screen: a live level meter and a verdict in words.

It listens through the app's recorder (same device, rate and channels as the recording will use,
or the ``--audio-file`` being rehearsed) with a :class:`guide_tui.recorder.mic_check.MicCheck`,
which keeps nothing on disk: the check happens before the interview, possibly before consent to
recording is complete. The meter starts when the panel is visible and stops when it is hidden or
when :meth:`MicCheckPanel.stop_check` is called: the recorder opens the same device right after,
and a hardware device may take one stream only.

Opening a device imports sounddevice and numpy and can take a second through PulseAudio, so it
runs in a worker; the panel polls the check's levels at 10 Hz (the same rate as the interview's
recorder panel) and only redraws when the rounded numbers change.

**Voices** ("Voice sample", ``v``): the interviewer says a sentence (:data:`VOICE_SECONDS`); on
two microphones that differ, the participant then says one too, and the levels map each
microphone to its person. The takes stay in memory (:attr:`MicCheckPanel.voices`); the
pre-interview screen writes the interviewer's sample into the session only when the interview
starts with recording allowed (:mod:`guide_tui.voiceprint`). Nothing here computes an embedding.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Button, Static

from guide_tui.tui.format import escape, level_bar, level_style

METER_WIDTH = 40
VERDICT_STYLE = {"ok": "$success", "silent": "$error", "clipping": "$error"}
VOICE_SECONDS = 5.0
MIN_VOICE_S = 2.0  # guide_tui.voiceprint.MIN_SPEECH_S: a shorter sample is not used


def meter_line(rms_db: float, peak_db: float, width: int = METER_WIDTH) -> str:
    """``█████│·····  -23 dBFS (peak -12)`` coloured by the peak: red when it reaches 0 dBFS."""
    style = level_style(peak_db)
    level = f"{rms_db:>4.0f} dBFS" if rms_db > -119 else "  silence"
    return f"[{style}]{level_bar(rms_db, peak_db, width)}[/] {level} [dim](peak {peak_db:.0f})[/]"


class MicCheckPanel(Vertical):
    """Live meter, then after a few seconds the verdict (ok / silent / clipping / quiet / noisy)."""

    DEFAULT_CSS = """
    MicCheckPanel { height: auto; }
    MicCheckPanel #mic-meter { height: 1; }
    MicCheckPanel #mic-verdict { height: auto; margin: 1 0 0 0; }
    MicCheckPanel Horizontal { height: auto; }
    MicCheckPanel #mic-voice-status { height: auto; margin: 1 0 0 0; }
    MicCheckPanel #mic-voice { margin: 0 0 0 2; }
    """

    def __init__(
        self, *, seconds: float = 5.0, voice_seconds: float = VOICE_SECONDS, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.seconds = seconds
        self.voice_seconds = voice_seconds
        self.voices: dict[str, Any] = {}  # "interviewer" / "participant": VoiceTake
        self.interviewer_channel: int | None = None  # from the takes, on two microphones
        self._voice_step: str | None = None  # the take being recorded
        self._voice_next: str | None = None  # the take the button records next
        self._check: Any = None  # MicCheck, imported lazily with the capture code
        self._timer: Timer | None = None
        self._shown: tuple[str, str] | None = None
        self._suspended = False  # stop_check() was called: do not restart by itself
        self._starting = False

    def compose(self) -> ComposeResult:
        yield Static("", id="mic-meter")
        yield Static("[dim]The check starts when this step is shown.[/]", id="mic-verdict")
        from guide_tui.voiceprint import has_profile  # stdlib only

        profile = " Your voice profile is enrolled, so it is optional." if has_profile() else ""
        yield Static(
            "[dim]Voice sample: the interviewer says a sentence, so that transcription knows "
            f"their voice.{profile}[/]",
            id="mic-voice-status",
        )
        with Horizontal():
            yield Button("Check again", id="mic-again")
            yield Button("Voice sample", id="mic-voice")

    # -- lifecycle ----------------------------------------------------------------------------
    # The panel follows its own visibility (a 5 Hz look, only while it is mounted): Show/Hide
    # events proved unreliable inside a step switcher, and the check must run exactly while the
    # interviewer can see it. ``stop_check`` suspends it until the panel has been hidden (or
    # "Check again" is pressed), so the recorder can take the device right after.

    def on_mount(self) -> None:
        self._suspended = False
        self._starting = False
        self.set_interval(0.2, self._follow_visibility)
        self.call_after_refresh(self._follow_visibility)

    def on_unmount(self) -> None:
        self.stop_check()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "mic-again":
            event.stop()
            self.stop_check()
            self._suspended = False
            self.start_check()
        elif event.button.id == "mic-voice":
            event.stop()
            self.take_voice()

    # -- voices -------------------------------------------------------------------------------

    def take_voice(self) -> None:
        """Record the next voice: the interviewer, then (two microphones) the participant."""
        check = self._check
        if check is None:
            self._voice_status("[$warning]Wait until the microphone check is listening.[/]")
            return
        if self._voice_step is not None:
            return  # one take at a time
        who = self._voice_next or "interviewer"
        if who == "interviewer":
            self.voices.clear()
            self.interviewer_channel = None
        self._voice_step = who
        check.take(who, self.voice_seconds)
        person = "Interviewer" if who == "interviewer" else "Participant"
        self._voice_status(
            f"[b]{person}, please say a sentence now[/] "
            f"({self.voice_seconds:.0f} s; the other person stays quiet)…"
        )

    def _voice_progress(self, check: Any) -> None:
        who = self._voice_step
        take = check.taken(who) if who is not None else None
        if who is None or take is None:
            return
        self._voice_step = None
        button = self.query_one("#mic-voice", Button)
        if take.speech_seconds() < MIN_VOICE_S:
            self._voice_next = who
            button.label = "Participant speaks" if who == "participant" else "Voice sample again"
            self._voice_status(
                f"[$warning]Too little speech heard ({take.speech_seconds():.1f} s).[/] "
                "Press the button and say a longer sentence."
            )
            return
        self.voices[who] = take
        latest = check.latest
        two_mics = take.audio.shape[1] >= 2 and not (latest and latest.identical_channels)
        if who == "interviewer" and two_mics:
            self._voice_next = "participant"
            button.label = "Participant speaks"
            self._voice_status(
                "Interviewer's voice kept. [b]Now the participant[/]: press "
                "[b]Participant speaks[/], then they say a sentence (this tells the two "
                "microphones apart)."
            )
            return
        from guide_tui.recorder.mic_check import channel_map

        self._voice_next = None
        button.label = "Voice sample again"
        text = (
            f"[$success]Interviewer's voice sample taken[/] "
            f"({self.voices['interviewer'].speech_seconds():.1f} s of speech; saved with the "
            "recording when the interview starts)."
        )
        if two_mics:
            self.interviewer_channel = channel_map(
                self.voices["interviewer"], self.voices.get("participant")
            )
            if self.interviewer_channel is None:
                text += (
                    " [$warning]The two microphones could not be told apart by level[/]: "
                    "speakers will be found by voice."
                )
            else:
                mine = self.interviewer_channel + 1
                text += (
                    f" Microphones: interviewer on channel {mine}, participant on "
                    f"channel {3 - mine}."
                )
        self._voice_status(text)

    def voice_result(self) -> tuple[Any, int | None]:
        """(the interviewer's take or None, the interviewer's channel or None), for the session.
        A participant's take that never came leaves the interviewer's alone to map channels."""
        take = self.voices.get("interviewer")
        channel = self.interviewer_channel
        if take is not None and channel is None and "participant" not in self.voices:
            from guide_tui.recorder.mic_check import channel_map

            channel = channel_map(take)
        return take, channel

    def _voice_status(self, text: str) -> None:
        self.query_one("#mic-voice-status", Static).update(text)

    def _is_shown(self) -> bool:
        if not self.is_mounted or self.app.screen is not self.screen:
            return False
        node: Any = self
        while node is not None and node is not self.screen:
            if not node.display:
                return False
            node = node.parent
        return self.region.area > 0

    def _follow_visibility(self) -> None:
        if self._is_shown():
            if not self._suspended:
                self.start_check()
        else:
            self._suspended = False
            if self._check is not None or self._starting:
                self.stop_check()
                self._suspended = False

    @property
    def listening(self) -> bool:
        return self._check is not None

    def start_check(self) -> None:
        """Start listening (no-op while already listening or starting)."""
        if self._check is None and not self._starting:
            self._starting = True
            self._start()

    @work(exclusive=True, group="mic-check", exit_on_error=False, description="microphone check")
    async def _start(self) -> None:
        try:
            await self._open()
        finally:
            self._starting = False

    async def _open(self) -> None:
        wait = getattr(self.app, "wait_for_recorder", None)
        if wait is not None:
            await wait()  # the app builds its recorder off the UI thread
        if self._suspended:
            return
        recorder = getattr(self.app, "recorder", None)
        make = getattr(recorder, "mic_check", None)
        check = make(self.seconds, continuous=True) if make is not None else None
        if check is None:
            message = recorder.poll().message if recorder is not None else None
            none = "No microphone check: this session records no audio."
            self._show_verdict(escape(message) if message else none)
            return
        self._show_verdict(f"Listening for {self.seconds:.0f} s: ask the participant to speak…")
        from guide_tui.errors import RecorderError

        try:
            await asyncio.to_thread(check.start)
        except RecorderError as error:
            self._show_verdict(
                f"[$error]{escape(error)}[/]\nThe interview can go on as notes-only."
            )
            return
        except asyncio.CancelledError:
            await asyncio.to_thread(check.stop)
            raise
        if self._suspended:  # stopped while the device was opening: give it back at once
            await asyncio.to_thread(check.stop)
            return
        self._check = check
        self._timer = self.set_interval(0.1, self._tick)

    def stop_check(self) -> None:
        """Stop listening and close the device; returns once it is closed. The check stays off
        until the panel is hidden and shown again, or "Check again" is pressed."""
        self._suspended = True
        if self._voice_step is not None:  # a take cut short is not kept
            self._voice_next, self._voice_step = self._voice_step, None
            with contextlib.suppress(Exception):
                self._voice_status("[dim]Voice sample interrupted: press the button again.[/]")
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        check, self._check = self._check, None
        if check is not None:
            check.stop()

    # -- drawing ------------------------------------------------------------------------------

    def _tick(self) -> None:
        check = self._check
        if check is None:
            return
        if self._voice_step is not None:
            self._voice_progress(check)
        rms_db, peak_db = check.levels()
        meter = meter_line(rms_db, peak_db)
        result = check.latest
        if result is not None:
            style = VERDICT_STYLE.get(result.verdict, "$warning")
            verdict = f"[b {style}]{result.verdict.upper()}[/] {escape(result.advice)}"
        elif check.error:
            verdict = f"[$error]{escape(check.error)}[/]"
        else:
            verdict = "Listening: ask the participant to say a few sentences…"
        if self._shown != (meter, verdict):
            self._shown = (meter, verdict)
            self.query_one("#mic-meter", Static).update(meter)
            self.query_one("#mic-verdict", Static).update(verdict)

    def _show_verdict(self, text: str) -> None:
        self._shown = None
        self.query_one("#mic-verdict", Static).update(text)
