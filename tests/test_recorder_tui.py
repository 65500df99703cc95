"""The real recorder inside the real TUI (Textual Pilot): an interview rehearsed from an audio file
(``--audio-file``: the same queue, writer, clock and bridge as a microphone), and the live
microphone check panel. The files on disk are checked, not the screen alone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Button, Select
from virtual_mic import isolate_pulse_client

from guide_tui.guide import load_guide
from guide_tui.recorder import attach_recorder
from guide_tui.recorder.capture import AudioRecorder
from guide_tui.recorder.config import RecorderConfig
from guide_tui.session.store import Session
from guide_tui.tui.app import make_app
from guide_tui.tui.meter import MicCheckPanel
from guide_tui.tui.widgets import RecorderPanel

isolate_pulse_client()
pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]
ROOT = Path(__file__).resolve().parent.parent
SIZE = (120, 40)
RATE = 16000


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def wait_until(
    pilot: Pilot[Any],
    condition: Callable[[], bool],
    timeout: float = 30,
    explain: Callable[[], object] = lambda: "",
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"the app did not get there in time {explain()}")
        await pilot.pause(0.05)


def where(app: Any) -> str:
    """What the screen shows, for a failure message."""
    from textual.widgets import ContentSwitcher

    switchers = app.screen.query(ContentSwitcher)
    step = switchers.first().current if switchers else None
    panels = app.screen.query(MicCheckPanel)
    verdict = str(panels.first().query_one("#mic-verdict").content) if panels else None
    return f"screen={type(app.screen).__name__} step={step} mic={verdict!r}"


async def walk_to_microphone_step(pilot: Pilot[Any], app: Any) -> None:
    """Consent, participant and baseline of the demo guide, as an interviewer types them."""
    guide = app.guide
    for _item in guide.consent:
        await pilot.press("space", "down")
    await pilot.press("ctrl+n")  # consent
    await pilot.press("ctrl+n")  # participant
    screen = app.screen
    answers = (("role", "Office"), ("years-in-job", 3), ("works-remotely", True))
    for field_id, value in answers:
        widget: Any = screen.query_one(f"#baseline-{field_id}")
        if isinstance(widget, Select):
            widget.value = value
        else:
            widget.focus()
            await pilot.press(*str(value))
    await pilot.pause()
    await pilot.press("ctrl+n")  # baseline


def tone_file(path: Path, seconds: float, gain: float) -> Path:
    t = np.arange(int(seconds * RATE)) / RATE
    data = np.clip(gain * np.sin(2 * np.pi * 440 * t), -1, 1)
    sf.write(path, (data * 32767).astype(np.int16), RATE, subtype="PCM_16")
    return path


def events_of(folder: Path) -> list[dict[str, Any]]:
    lines = (folder / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


async def test_rehearsed_interview_records_through_the_tui(tmp_path: Path) -> None:
    pilot_audio = tone_file(tmp_path / "pilot.wav", 60.0, 0.25)
    guide = load_guide(ROOT / "guides" / "demo.yaml")
    session = Session.create(guide, "P01", root=tmp_path / "recordings")
    # The same factory `guide-tui run --audio-file` uses, built off the UI thread by the app.
    app = make_app(
        session,
        guide,
        recorder_factory=lambda s: attach_recorder(s, audio_file=pilot_audio),
        cursor_blink=False,
    )
    async with app.run_test(size=SIZE) as pilot:
        await walk_to_microphone_step(pilot, app)
        await app.wait_for_recorder()
        # The microphone step listens to the same source, live, and says what it heard.
        await wait_until(
            pilot,
            lambda: any(p.listening for p in app.screen.query(MicCheckPanel)),
            explain=lambda: where(app),
        )
        panel = app.screen.query_one(MicCheckPanel)
        await wait_until(pilot, lambda: "dBFS" in str(panel.query_one("#mic-meter").content))
        await wait_until(pilot, lambda: panel._check is not None and panel._check.latest)
        # The recorder is idle while the check listens: the step says what is going on.
        status = str(app.screen.query_one("#mic-check").content)
        assert "Listening for the check only" in status and "idle" not in status, status
        await pilot.press("ctrl+n")  # start the interview: the check closes, recording starts
        assert not panel.listening
        await wait_until(pilot, lambda: app.recorder.now() > 1.0)
        panel = app.screen.query_one(RecorderPanel).text
        assert "REC" in panel and "file:pilot.wav" in panel
        await pilot.press("p")
        await pilot.pause(0.6)
        assert "PAUSED" in app.screen.query_one(RecorderPanel).text
        await pilot.press("p")
        await wait_until(pilot, lambda: app.recorder.now() > 2.0)
        await pilot.press("n", *"good point", "enter")
        await pilot.pause(0.2)
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.is_running)

    events = events_of(session.path)
    kinds = [e["type"] for e in events if e["type"].startswith("recording_")]
    assert kinds == [
        "recording_started",
        "recording_paused",
        "recording_resumed",
        "recording_stopped",
    ]
    started = next(e for e in events if e["type"] == "recording_started")
    assert started["data"]["file"] == "audio-001.wav" and started["data"]["samplerate"] == RATE
    meta = json.loads((session.path / "session.json").read_text())
    (audio,) = meta["audio"]
    frames = sf.info(session.path / "audio-001.wav").frames
    assert audio["frames"] == frames and audio["closed_reason"] == "stopped"
    assert len(meta["pauses"]) == 1 and meta["pauses"][0]["seconds"] >= 0.5
    # Every event lies inside the audio: the recorder was the clock (the file starts at
    # ``offset``, where the session clock stood when recording began).
    end = audio["offset"] + frames / RATE
    assert max(e["t"] for e in events) <= end + 1e-6
    note = next(e for e in events if e["type"] == "note")
    assert 2.0 <= note["t"] - audio["offset"] <= frames / RATE


class MeterApp(App[None]):
    """The panel alone, with the app-side hooks it uses (``recorder``)."""

    def __init__(self, recorder: AudioRecorder) -> None:
        super().__init__()
        self.recorder = recorder

    def compose(self) -> ComposeResult:
        yield MicCheckPanel(seconds=1.0, id="panel")


async def test_mic_check_panel_shows_a_live_meter_then_the_verdict(tmp_path: Path) -> None:
    loud = tone_file(tmp_path / "loud.wav", 20.0, 2.0)  # clipped hard
    recorder = AudioRecorder(tmp_path / "s", RecorderConfig(), audio_file=loud)
    app = MeterApp(recorder)
    async with app.run_test(size=(100, 12)) as pilot:
        panel = app.query_one(MicCheckPanel)
        await wait_until(pilot, lambda: panel.listening)
        await wait_until(pilot, lambda: "CLIPPING" in str(app.query_one("#mic-verdict").content))
        assert "dBFS" in str(app.query_one("#mic-meter").content)
        check = panel._check
        panel.stop_check()
        assert not panel.listening and check._thread is not None and not check._thread.is_alive()
    assert not list((tmp_path / "s").glob("*.wav")), "a mic check writes nothing"


async def test_mic_check_panel_without_a_recorder_says_notes_only(tmp_path: Path) -> None:
    from guide_tui.recorder.base import NullRecorder

    app = MeterApp(NullRecorder())  # type: ignore[arg-type]
    async with app.run_test(size=(100, 12)) as pilot:
        await pilot.pause(0.3)
        assert "Notes only" in str(app.query_one("#mic-verdict").content)


@pytest.mark.slow
async def test_lost_microphone_in_the_tui_records_on_by_itself_into_the_next_file(
    tmp_path: Path,
) -> None:
    from virtual_mic import make_tone, virtual_mic

    from guide_tui.recorder.base import RecorderState

    guide = load_guide(ROOT / "guides" / "demo.yaml")
    session = Session.create(guide, "P02", root=tmp_path / "recordings")
    config = RecorderConfig(samplerate=48000)
    with virtual_mic(tmp_path / "pa", rate=48000) as mic:
        app = make_app(
            session,
            guide,
            recorder_factory=lambda s: attach_recorder(s, config=config),
            cursor_blink=False,
        )
        async with app.run_test(size=SIZE) as pilot:
            await walk_to_microphone_step(pilot, app)
            await app.wait_for_recorder()
            await pilot.press("ctrl+n")  # start the interview: recording starts
            await wait_until(pilot, lambda: app.recorder.now() > 0.5)
            mic.play(make_tone(tmp_path, 30.0, rate=48000, gain_db=-12))
            await wait_until(pilot, lambda: app.recorder.poll().files[-1].frames > 48000)
            mic.kill()
            await wait_until(pilot, lambda: app.recorder.poll().state == RecorderState.LOST)
            await pilot.pause(0.3)
            panel = app.screen.query_one(RecorderPanel).text
            assert "DEVICE LOST" in panel
            assert "starts again by itself" in panel  # the interviewer need not press p
            mic.start()  # nobody presses anything: the recorder notices the microphone is back
            await wait_until(pilot, lambda: app.recorder.poll().state == RecorderState.RECORDING)
            await wait_until(pilot, lambda: app.recorder.now() > 3.0)
            await pilot.press("ctrl+q")
            await pilot.pause()
            await pilot.press("y")
            await wait_until(pilot, lambda: not app.is_running)
    types = [e["type"] for e in events_of(session.path)]
    assert types.count("recording_started") == 2 and "device_lost" in types
    assert "device_recovered" in types
    meta = json.loads((session.path / "session.json").read_text())
    assert [a["file"] for a in meta["audio"]] == ["audio-001.wav", "audio-002.wav"]
    assert meta["audio"][0]["closed_reason"] == "device_lost"


# ----------------------------------------------------------------------------- voice check


def two_mic_file(path: Path, switch_s: float, seconds: float = 40.0) -> Path:
    """Two microphones: until ``switch_s`` the person on channel 2 speaks (loud there, 20 dB
    lower on channel 1), then the person on channel 1; each microphone hears its own noise, so
    the channels differ (they would be "identical" otherwise)."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    voice = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    data = np.random.default_rng(5).normal(0, 0.03, (n, 2))
    first = t < switch_s
    data[first, 1] += voice[first]
    data[first, 0] += 0.1 * voice[first]
    data[~first, 0] += voice[~first]
    data[~first, 1] += 0.1 * voice[~first]
    sf.write(path, (data * 32767).astype(np.int16), RATE, subtype="PCM_16")
    return path


async def test_voice_check_maps_two_microphones_to_the_people(tmp_path: Path) -> None:
    """Interviewer, then participant, say a sentence; the louder channel of each take maps the
    microphones (here the interviewer is on channel 2, against the default guess)."""
    audio = two_mic_file(tmp_path / "two.wav", switch_s=6.0)
    recorder = AudioRecorder(tmp_path / "s", RecorderConfig(channels=2), audio_file=audio)
    app = MeterApp(recorder)
    async with app.run_test(size=(100, 16)) as pilot:
        panel = app.query_one(MicCheckPanel)
        panel.voice_seconds = 2.5
        await wait_until(pilot, lambda: panel.listening)
        started = asyncio.get_running_loop().time()
        await pilot.click("#mic-voice")
        status = lambda: str(app.query_one("#mic-voice-status").content)  # noqa: E731
        assert "Interviewer, please say a sentence" in status()
        await wait_until(pilot, lambda: "Now the participant" in status(), explain=status)
        assert str(app.query_one("#mic-voice", Button).label) == "Participant speaks"
        # the participant speaks once the file has switched to the other microphone
        await pilot.pause(max(0.0, 7.0 - (asyncio.get_running_loop().time() - started)))
        await pilot.click("#mic-voice")
        await wait_until(pilot, lambda: "sample taken" in status(), explain=status)
        assert "interviewer on channel 2, participant on channel 1" in status(), status()
        take, channel = panel.voice_result()
        assert channel == 1 and take.audio.shape[1] == 2 and take.speech_seconds() >= 1.0
        panel.stop_check()
    assert not list((tmp_path / "s").glob("*.wav")), "the check itself writes nothing"


async def test_voice_sample_is_saved_when_the_interview_starts(tmp_path: Path) -> None:
    """The TUI end to end: the sample taken at the microphone step reaches the session folder
    (and session.json, and the event log) only once the interview starts."""
    from guide_tui import voiceprint

    pilot_audio = tone_file(tmp_path / "pilot.wav", 60.0, 0.25)
    guide = load_guide(ROOT / "guides" / "demo.yaml")
    session = Session.create(guide, "P01", root=tmp_path / "recordings")
    voiceprint.save_profile([1 / 16] * 256, speech_s=9.0)  # an enrolled interviewer
    app = make_app(
        session,
        guide,
        recorder_factory=lambda s: attach_recorder(s, audio_file=pilot_audio),
        cursor_blink=False,
    )
    async with app.run_test(size=SIZE) as pilot:
        await walk_to_microphone_step(pilot, app)
        await app.wait_for_recorder()
        await wait_until(
            pilot,
            lambda: any(p.listening for p in app.screen.query(MicCheckPanel)),
            explain=lambda: where(app),
        )
        panel = app.screen.query_one(MicCheckPanel)
        status = lambda: str(panel.query_one("#mic-voice-status").content)  # noqa: E731
        assert "voice profile is enrolled" in status()
        panel.voice_seconds = 2.5
        await pilot.click("#mic-voice")
        await wait_until(pilot, lambda: "sample taken" in status(), explain=status)
        assert "Microphones" not in status()  # one microphone: nothing to map
        assert not (session.path / voiceprint.SAMPLE_FILE).exists(), "not before the interview"
        await pilot.press("ctrl+n")  # start the interview
        await wait_until(pilot, lambda: app.recorder.now() > 0.5)
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.is_running)
    sample = session.path / voiceprint.SAMPLE_FILE
    info = sf.info(sample)
    assert info.channels == 1 and info.samplerate == RATE and 2.4 < info.duration < 2.6
    assert oct(sample.stat().st_mode & 0o777) == "0o600"
    meta = json.loads((session.path / "session.json").read_text())
    check = meta["voice_check"]
    assert check["sample"] == voiceprint.SAMPLE_FILE and check["profile"] is True
    assert check["interviewer_channel"] is None and check["speech_s"] >= 2.0
    assert "embedding" not in json.dumps(meta)  # the profile's numbers stay in the config
    (event,) = [e for e in events_of(session.path) if e["type"] == "voice_check"]
    assert event["data"] == check
    assert [a["file"] for a in meta["audio"]] == ["audio-001.wav"]  # the sample is not audio
