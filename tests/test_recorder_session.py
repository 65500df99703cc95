"""The recorder inside a real session: events and ``session.json`` written through the bridge, a
recording process killed with SIGKILL, a sound server that dies mid-interview, no device at all.

The SIGKILL test runs the recording in a child process (the way ``guide-tui run`` would), kills
it without warning, and checks what an interviewer would need the next morning: the WAV opens in
soundfile and sox *without* repair and lacks at most a second, the event log is intact, and the
session reopens and records on into ``audio-002.wav``.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import soundfile as sf
from virtual_mic import isolate_pulse_client, make_tone, reinit_portaudio, virtual_mic

from guide_tui.guide import load_guide
from guide_tui.recorder import attach_recorder
from guide_tui.recorder.base import RecorderState
from guide_tui.recorder.config import RecorderConfig
from guide_tui.session.events import EventType
from guide_tui.session.store import Session

isolate_pulse_client()
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

RATE = 48000
ROOT = Path(__file__).resolve().parent.parent
DEMO_GUIDE = ROOT / "guides" / "demo.yaml"


def new_session(tmp_path: Path) -> Session:
    return Session.create(load_guide(DEMO_GUIDE), "P01", root=tmp_path / "recordings")


def wait_for(predicate, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def types(session: Session) -> list[str]:
    session.flush()
    return [e.type for e in session.events]


def sox_frames(path: Path) -> int:
    """Frames sox itself decodes (not what the header claims)."""
    raw = subprocess.run(["sox", str(path), "-t", "raw", "-"], capture_output=True, check=True)
    return len(raw.stdout) // 2


CHILD = textwrap.dedent(
    """
    import sys, time
    from guide_tui.guide import load_guide
    from guide_tui.recorder import attach_recorder
    from guide_tui.recorder.config import RecorderConfig
    from guide_tui.session.store import Session

    session = Session.create(load_guide(sys.argv[1]), "P07", root=sys.argv[2])
    recorder = attach_recorder(session, config=RecorderConfig(samplerate=48000))
    recorder.start()
    print("FOLDER", session.path, flush=True)
    n = 0
    while True:
        status = recorder.poll()
        print("T", repr(recorder.now()), status.state, flush=True)
        if n % 5 == 0:
            session.post("note", text=f"note {n}")
        n += 1
        time.sleep(0.1)
    """
)


def test_sigkill_mid_recording_loses_at_most_a_second_and_the_session_records_on(
    tmp_path: Path,
) -> None:
    if shutil.which("sox") is None:
        pytest.skip("needs sox (apt-get install sox)")
    tone = make_tone(tmp_path, 30.0, rate=RATE, gain_db=-12)
    with virtual_mic(tmp_path / "pa", rate=RATE) as mic:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(DEMO_GUIDE), str(tmp_path / "recordings")],
            env=dict(mic.child_env(), PYTHONPATH=str(ROOT)),
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            folder = Path(child.stdout.readline().split(" ", 1)[1].strip())
            last_t = 0.0
            player = None
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                _, t, _state = child.stdout.readline().split()
                last_t = float(t)
                if last_t > 0 and player is None:
                    player = mic.play(tone)
                if last_t > 4.0:
                    break
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        finally:
            if child.poll() is None:
                child.kill()
        assert last_t > 4.0

        wav = folder / "audio-001.wav"
        frames = sf.info(wav).frames  # no repair yet: the header kept up with the data
        assert frames / RATE >= last_t - 1.0, (frames / RATE, last_t)
        assert sox_frames(wav) == frames
        recorded, _ = sf.read(wav, dtype="int16")
        assert recorded[-RATE:].any(), "the tone runs up to the kill"

        session = Session.open(folder, mark_resumed=True)
        assert session.torn_lines == [] or len(session.torn_lines) == 1
        kinds = types(session)
        assert kinds.count(EventType.RECORDING_STARTED) == 1 and EventType.NOTE in kinds
        notes_t = [e.t for e in session.events if e.type == EventType.NOTE]
        assert notes_t == sorted(notes_t) and notes_t[-1] <= frames / RATE + 0.2

        recorder = attach_recorder(session, config=RecorderConfig(samplerate=RATE))
        first = session.meta["audio"][0]
        assert first["closed_reason"] == "crashed" and first["frames"] == frames
        recorder.start()
        assert wait_for(lambda: recorder.poll().files and recorder.poll().files[-1].frames > RATE)
        session.post(EventType.NOTE, text="after the crash")
        recorder.stop()
        session.close()

    audio = json.loads((folder / "session.json").read_text())["audio"]
    assert [a["file"] for a in audio] == ["audio-001.wav", "audio-002.wav"]
    assert audio[1]["offset"] >= frames / RATE
    assert audio[1]["frames"] == sf.info(folder / "audio-002.wav").frames > RATE
    reopened = Session.open(folder)
    after = next(e for e in reopened.events if e.data.get("text") == "after the crash")
    assert after.t > audio[1]["offset"]
    reopened.close()


def test_device_lost_mid_interview_is_logged_and_the_session_goes_on(tmp_path: Path) -> None:
    tone = make_tone(tmp_path, 30.0, rate=RATE, gain_db=-12)
    session = new_session(tmp_path)
    with virtual_mic(tmp_path / "pa", rate=RATE) as mic:
        recorder = attach_recorder(session, config=RecorderConfig(samplerate=RATE))
        assert session.clock is recorder.recorder
        recorder.start()
        assert wait_for(lambda: recorder.now() > 0.05)
        mic.play(tone)
        time.sleep(1.5)
        recorder.pause()
        time.sleep(0.5)
        recorder.resume()
        time.sleep(1.0)
        mic.kill()
        assert wait_for(lambda: recorder.poll().state == RecorderState.LOST, 10)
        note = session.post(EventType.NOTE, text="the microphone fell off the desk")
        mic.start()
        recorder.resume()
        assert recorder.poll().state == RecorderState.RECORDING
        time.sleep(1.0)
        recorder.stop()
    kinds = types(session)
    recording = [k for k in kinds if k.startswith(("recording_", "device_"))]
    assert recording == [
        EventType.RECORDING_STARTED,
        EventType.RECORDING_PAUSED,
        EventType.RECORDING_RESUMED,
        EventType.RECORDING_STOPPED,
        EventType.DEVICE_LOST,
        EventType.DEVICE_RECOVERED,
        EventType.RECORDING_STARTED,
        EventType.RECORDING_STOPPED,
    ]
    meta = session.meta
    first, second = meta["audio"]
    assert first["closed_reason"] == "device_lost" and second["closed_reason"] == "stopped"
    assert first["frames"] == sf.info(session.path / "audio-001.wav").frames
    assert first["offset"] + first["seconds"] <= note.t <= second["offset"]
    assert len(meta["pauses"]) == 1 and meta["pauses"][0]["seconds"] >= 0.4
    session.close()


def test_a_returning_device_records_again_by_itself(tmp_path: Path) -> None:
    """Nobody presses p: the recorder notices the microphone is back and goes on in audio-002,
    whose offset is the true later time (the clock ran on meanwhile); the screen is told."""
    tone = make_tone(tmp_path, 30.0, rate=RATE, gain_db=-12)
    session = new_session(tmp_path)
    with virtual_mic(tmp_path / "pa", rate=RATE) as mic:
        recorder = attach_recorder(session, config=RecorderConfig(samplerate=RATE))
        recorder.start()
        mic.play(tone)
        assert wait_for(lambda: recorder.poll().files[-1].frames > RATE, 20)
        mic.kill()
        assert wait_for(lambda: recorder.poll().state == RecorderState.LOST, 10)
        lost_message = recorder.poll().message or ""
        time.sleep(3.0)  # retries fail meanwhile, silently
        assert recorder.poll().state == RecorderState.LOST
        assert not (session.path / "audio-002.wav").exists()
        back = recorder.now()
        mic.start()
        seen: list[str] = []

        def recording() -> bool:
            status = recorder.poll()
            seen.extend(w.kind for w in status.warnings)
            return status.state == RecorderState.RECORDING

        assert wait_for(recording, 20), recorder.poll().message
        mic.play(tone)
        assert wait_for(lambda: recorder.poll().files[-1].frames > RATE // 2)
        recorder.stop()
    assert "by itself" in lost_message
    assert "device_recovered" in seen
    kinds = types(session)
    assert kinds.count(EventType.RECORDING_STARTED) == 2
    assert kinds.index(EventType.DEVICE_RECOVERED) > kinds.index(EventType.DEVICE_LOST)
    assert kinds.count(EventType.DEVICE_LOST) == 1  # the failed retries said nothing
    first, second = session.meta["audio"]
    assert second["file"] == "audio-002.wav" and second["frames"] > RATE // 2
    assert second["offset"] >= back > first["offset"] + first["seconds"] + 2.5
    session.close()


def test_no_device_at_all_gives_a_notes_only_session_with_a_clear_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-sound-server")
    reinit_portaudio()
    session = new_session(tmp_path)
    try:
        recorder = attach_recorder(session, config=RecorderConfig(start_timeout_seconds=3))
        recorder.start()
        assert wait_for(lambda: recorder.poll().state != RecorderState.RECORDING, 10)
        first = session.post(EventType.NOTE, text="one")
        time.sleep(0.1)
        second = session.post(EventType.NOTE, text="two")
        recorder.stop()
    finally:
        reinit_portaudio()
    assert second.t > first.t
    warnings = [e for e in session.events if e.type == EventType.WARNING]
    assert warnings and warnings[0].data["kind"] in ("unavailable", "device_lost")
    assert "Traceback" not in warnings[0].data["message"]
    assert not list(session.path.glob("audio-*.wav")) or session.meta["audio"]
    session.close()


EXIT_WITHOUT_STOP = textwrap.dedent(
    """
    import sys, time
    from guide_tui.recorder.capture import AudioRecorder
    from guide_tui.recorder.config import RecorderConfig

    recorder = AudioRecorder(sys.argv[1], RecorderConfig(samplerate=48000))
    recorder.start()
    while recorder.now() < 2.0:
        time.sleep(0.05)
    sys.exit(0)  # a bug elsewhere ends the program: no stop(), no close()
    """
)


def test_leaving_the_program_without_stop_still_closes_the_file(tmp_path: Path) -> None:
    with virtual_mic(tmp_path / "pa", rate=RATE) as mic:
        mic.play(make_tone(tmp_path, 20.0, rate=RATE, gain_db=-12))
        child = subprocess.run(
            [sys.executable, "-c", EXIT_WITHOUT_STOP, str(tmp_path / "s")],
            env=dict(mic.child_env(), PYTHONPATH=str(ROOT)),
            timeout=30,
        )
    assert child.returncode == 0
    info = sf.info(tmp_path / "s" / "audio-001.wav")
    assert info.frames >= 2.0 * RATE
