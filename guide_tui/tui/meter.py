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
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Button, Static

from guide_tui.tui.format import escape, level_bar, level_style

METER_WIDTH = 40
VERDICT_STYLE = {"ok": "$success", "silent": "$error", "clipping": "$error"}


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
    """

    def __init__(self, *, seconds: float = 5.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seconds = seconds
        self._check: Any = None  # MicCheck, imported lazily with the capture code
        self._timer: Timer | None = None
        self._shown: tuple[str, str] | None = None
        self._suspended = False  # stop_check() was called: do not restart by itself
        self._starting = False

    def compose(self) -> ComposeResult:
        yield Static("", id="mic-meter")
        yield Static("[dim]The check starts when this step is shown.[/]", id="mic-verdict")
        with Horizontal():
            yield Button("Check again", id="mic-again")

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
