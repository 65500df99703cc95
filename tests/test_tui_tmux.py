"""The TUI in a real terminal: tmux runs ``guide-tui run``, keys are sent, the pane is read.

Pilot tests drive the app in-process; these prove the installed command works in a terminal
(keys through a pty, the first screen drawn, files written), and that a session killed with
SIGKILL mid-interview reopens with ``--resume`` showing exactly what it showed before.
Each test uses its own tmux server (``-S socket``), so nothing else running tmux is touched.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tui_support import ROOT, of_type, read_events, read_meta

from guide_tui.guide import load_guide
from guide_tui.session.events import Event
from guide_tui.session.state import InterviewState

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

TIMES = re.compile(r"\d+:\d\d(:\d\d)?")


def guide_tui_command() -> list[str]:
    script = Path(sys.executable).with_name("guide-tui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "guide_tui"]


class Tmux:
    """One private tmux server with one session of a fixed size."""

    def __init__(self, folder: Path, width: int = 120, height: int = 40) -> None:
        self.socket = str(folder / "tmux.sock")
        self.width, self.height = width, height
        self.name = "t"

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-S", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        return result.stdout

    def start(self, command: str) -> None:
        self.tmux(
            "new-session", "-d", "-s", self.name, "-x", str(self.width), "-y", str(self.height),
            command,
        )  # fmt: skip

    def keys(self, *keys: str, pause: float = 0.15) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", self.name, key)
            time.sleep(pause)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.name, "-l", text)
        time.sleep(0.2)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-t", self.name, "-p")

    def pane_pid(self) -> int:
        return int(self.tmux("display-message", "-t", self.name, "-p", "#{pane_pid}").strip())

    def wait_for(self, text: str, timeout: float = 20) -> str:
        return wait(lambda: text in self.screen(), timeout, f"{text!r} never appeared", self)

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True)


def wait(condition: Callable[[], bool], timeout: float, message: str, tmux: Tmux) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return tmux.screen()
        time.sleep(0.1)
    raise AssertionError(f"{message}; the screen shows:\n{tmux.screen()}")


@pytest.fixture
def tmux(tmp_path: Path):
    session = Tmux(tmp_path)
    yield session
    session.close()


def launcher(
    folder: Path,
    args: list[str],
    recordings: Path,
    *,
    keep_open: bool,
    env: dict[str, str] | None = None,
) -> str:
    """A script for tmux to run: waits for the pane to have its final size (a resize that
    arrives while Python is still importing is lost, leaving the app at 80×24), sets the
    environment, then runs the app (``exec``: the pane's pid is the app's, for SIGKILL)."""
    script = folder / f"launch-{len(list(folder.glob('launch-*')))}.sh"
    command = " ".join(shlex.quote(a) for a in args)
    run = f"{command}; echo EXIT=$?; sleep 120" if keep_open else f"exec {command}"
    script.write_text(
        "#!/bin/sh\n"
        'until [ "$(stty size)" = "40 120" ]; do sleep 0.05; done\n'
        f"cd {shlex.quote(str(ROOT))}\n"
        "unset COLUMNS LINES\n"
        f"export GUIDE_TUI_RECORDINGS={shlex.quote(str(recordings))} TERM=xterm-256color\n"
        + "".join(f"export {k}={shlex.quote(v)}\n" for k, v in (env or {}).items())
        + f"{run}\n"
    )
    script.chmod(0o700)
    return str(script)


def through_pre_interview(tmux: Tmux) -> None:
    """Consent (both items), participant, baseline (choice, number, yes/no), start."""
    tmux.wait_for("Tick each item")
    tmux.keys("Space", "Down", "Space", "C-n")
    tmux.wait_for("Confirm who is being interviewed")
    tmux.keys("C-n")
    tmux.wait_for("Baseline questions")
    tmux.keys("Enter", "Down", "Enter", "Tab")  # a choice from the drop-down
    tmux.type("7")
    tmux.keys("Tab", "Enter", "Down", "Enter", "C-n")  # yes/no
    tmux.wait_for("Microphone check")
    tmux.keys("Enter")
    tmux.wait_for("1/3  A typical working day")


def session_folder(recordings: Path) -> Path:
    (folder,) = [p for p in recordings.iterdir() if p.is_dir()]
    return folder


def frames_in(wav: Path) -> int:
    import soundfile as sf

    try:
        return int(sf.info(str(wav)).frames)
    except (RuntimeError, sf.LibsndfileError):  # the header not written yet
        return 0


def state_from_disk(folder: Path) -> InterviewState:
    events = [Event.from_json_dict(e) for e in read_events(folder)]
    return InterviewState.from_events(load_guide(folder / "guide.yaml"), events)


def test_interview_in_a_real_terminal(tmux: Tmux, tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    args = [*guide_tui_command(), "run", "guides/demo.yaml", "--participant", "T01", "--no-audio"]
    args += ["--interviewer", "A. Interviewer", "--observer", "B. Second", "--observer", "C. Third"]
    tmux.start(launcher(tmp_path, args, recordings, keep_open=True))
    through_pre_interview(tmux)
    screen = tmux.screen()
    assert "T01" in screen and "NOTES ONLY" in screen
    assert "Could you walk me through a typical working day" in screen
    assert "n note" in screen and "e end" in screen  # keys are on screen

    tmux.keys("Space", "3", "Space", "n")
    tmux.wait_for("Note at")
    tmux.type("said it twice")
    tmux.keys("Enter", "q")
    screen = tmux.wait_for("★ quotable")
    assert "said it twice" in screen
    assert "☑ Who do you work with most closely?" in screen

    tmux.keys("e")
    tmux.wait_for("Closing prompts")
    tmux.keys("Space", "e")
    tmux.wait_for("End the interview?")
    tmux.keys("y")
    screen = tmux.wait_for("EXIT=0")
    assert "Interview ended. Session saved in" in screen

    folder = session_folder(recordings)
    events = read_events(folder)
    types = [e["type"] for e in events]
    assert types[0] == "session_started" and types[-1] == "session_ended"
    assert [e["data"]["question"] for e in of_type(events, "question_asked")] == [
        "typical-day",
        "who-with",
    ]
    assert of_type(events, "note")[0]["data"]["text"] == "said it twice"
    assert of_type(events, "baseline_answer")[1]["data"] == {"field": "years-in-job", "value": 7}
    meta = read_meta(folder)
    assert meta["status"] == "ended" and meta["participant"] == "T01"
    assert meta["interviewer"] == "A. Interviewer"
    assert meta["observers"] == ["B. Second", "C. Third"]
    assert not (folder / "messages.log").exists()  # nothing on descriptor 2: no log left
    assert oct(folder.stat().st_mode & 0o777) == "0o700"


def test_resume_after_sigkill_shows_the_same_interview(tmux: Tmux, tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    args = [*guide_tui_command(), "run", "guides/demo.yaml", "--participant", "K01", "--no-audio"]
    tmux.start(launcher(tmp_path, args, recordings, keep_open=False))
    through_pre_interview(tmux)
    tmux.keys("2", "Space", "Down", "Space", "s", "c", "3", "Space", "n")
    tmux.wait_for("Note at")
    tmux.type("before the crash")
    tmux.keys("Enter", "f")
    tmux.wait_for("↻ follow up")
    folder = session_folder(recordings)
    wait(
        lambda: any(e["type"] == "marker" for e in read_events(folder)),
        10,
        "the marker never reached the disk",
        tmux,
    )
    # Topic times are redrawn once a second; under load the last redraw can predate the third
    # topic's first second, which the resumed screen then shows: let two redraws happen.
    time.sleep(2.2)
    before_screen = tmux.screen()
    before = state_from_disk(folder)

    os.kill(tmux.pane_pid(), signal.SIGKILL)
    wait(lambda: tmux.tmux("ls") == "", 10, "the killed app's pane is still there", tmux)

    resume = [*guide_tui_command(), "run", "--resume", str(folder), "--no-audio"]
    tmux.start(launcher(tmp_path, resume, recordings, keep_open=False))
    tmux.wait_for("3/3  Working with others")
    after_screen = tmux.wait_for("Notes only: no audio")  # the recorder is built after paint
    after = state_from_disk(folder)

    assert after.snapshot() == before.snapshot()
    assert before.snapshot()["topics"]["tools"]["status"] == "covered"
    assert of_type(read_events(folder), "session_resumed")

    def normalised(screen: str) -> list[str]:
        return [TIMES.sub("T", line).rstrip() for line in screen.splitlines()]

    assert normalised(after_screen) == normalised(before_screen)


def test_a_lost_microphone_does_not_garble_the_screen(tmux: Tmux, tmp_path: Path) -> None:
    """Real capture through the virtual microphone, then its server is killed mid-interview:
    the screen says DEVICE LOST and shows nothing the audio libraries printed (they go to the
    session's messages.log), and the interview goes on."""
    from virtual_mic import VirtualMic, require_pulseaudio

    require_pulseaudio()
    mic = VirtualMic(tmp_path / "pa", 48000, 1, "int16", "guide_tui_tmux_sink")
    mic.start()
    try:
        recordings = tmp_path / "recordings"
        args = [*guide_tui_command(), "run", "guides/demo.yaml", "--participant", "L01"]
        env = {**mic.env, "HOME": str(mic.workdir / "home")}
        tmux.start(launcher(tmp_path, args, recordings, keep_open=True, env=env))
        through_pre_interview(tmux)
        tmux.wait_for("● REC")
        # REC shows when the stream opens; on a loaded machine the first audio can take a few
        # seconds more. Pull the plug only once a second of audio is on disk.
        audio = session_folder(recordings) / "audio-001.wav"
        wait(lambda: audio.exists() and frames_in(audio) > 48000, 30, "no audio on disk", tmux)
        mic.kill()
        screen = tmux.wait_for("DEVICE LOST", timeout=30)
        time.sleep(1.0)  # let anything the libraries print arrive
        screen = tmux.screen()
        for line in screen.splitlines():
            assert "Expression" not in line and "pa_linux_alsa" not in line and "pulse" not in line
        assert "1/3  A typical working day" in screen  # the interview screen is intact
        tmux.keys("Space", "n")
        tmux.wait_for("Note")
        tmux.type("still taking notes")
        tmux.keys("Enter")
        tmux.keys("C-q")
        tmux.wait_for("Leave")
        tmux.keys("y")
        screen = tmux.wait_for("EXIT=0")
    finally:
        mic.stop()
    folder = session_folder(recordings)
    events = read_events(folder)
    assert of_type(events, "device_lost")
    assert of_type(events, "note")[-1]["data"]["text"] == "still taking notes"
    # PortAudio 19.6 (Debian 12) prints "Expression '...' failed in 'src/hostapi/alsa/
    # pa_linux_alsa.c'" lines when the device goes; they must be here, not on the terminal.
    # (Textual repaints over them within a frame, so the screen alone cannot tell.)
    log = (folder / "messages.log").read_text(errors="replace")
    assert "pa_linux_alsa" in log
    assert frames_in(folder / "audio-001.wav") > 48000  # what came before the loss is kept


@pytest.mark.parametrize(("answer", "kept"), [("y", False), ("Escape", True)])
def test_quitting_at_consent_offers_to_discard_the_false_start(
    tmux: Tmux, tmp_path: Path, answer: str, kept: bool
) -> None:
    recordings = tmp_path / "recordings"
    args = [*guide_tui_command(), "run", "guides/demo.yaml", "--participant", "T09", "--no-audio"]
    tmux.start(launcher(tmp_path, args, recordings, keep_open=True))
    tmux.wait_for("Tick each item")
    folder = session_folder(recordings)  # created at launch
    tmux.keys("C-q")
    tmux.wait_for("Leave the interview?")
    tmux.keys("y")
    tmux.wait_for("Discard this session? It has no interview yet.")
    tmux.keys(answer)
    screen = tmux.wait_for("EXIT=0").replace("\n", "")  # long paths wrap in the pane
    assert folder.exists() is kept
    if kept:
        assert "Continue with: guide-tui run --resume" in screen
    else:
        assert "Discarded" in screen and "(it had no interview)" in screen


@pytest.mark.parametrize(
    "how", ["kill-window", "kill -HUP", "kill-window while typing", "kill -TERM"]
)
def test_closing_the_terminal_writes_the_final_events(tmux: Tmux, tmp_path: Path, how: str) -> None:
    """Closing the terminal sends SIGHUP, and ``kill`` (a logout, a shutdown) SIGTERM, whose
    default ends the program like kill -9. The app leaves as Ctrl+Q does instead: the recording
    stopped and closed, the note just typed and session.json on disk, and the session
    resumable."""
    import numpy as np
    import soundfile as sf

    rate = 16000
    tone = np.sin(2 * np.pi * 440 * np.arange(60 * rate) / rate) * 0.25
    audio = tmp_path / "pilot.wav"
    sf.write(audio, (tone * 32767).astype(np.int16), rate, subtype="PCM_16")
    recordings = tmp_path / "recordings"
    args = [*guide_tui_command(), "run", "guides/demo.yaml", "--participant", "H01"]
    args += ["--audio-file", str(audio)]
    term = how == "kill -TERM"  # the terminal stays: the shell prints the exit status
    tmux.start(launcher(tmp_path, args, recordings, keep_open=term))
    through_pre_interview(tmux)
    tmux.wait_for("● REC")
    wav = session_folder(recordings) / "audio-001.wav"
    wait(lambda: wav.exists() and frames_in(wav) > rate, 30, "no audio reached the file", tmux)
    tmux.keys("n")
    tmux.wait_for("Note at")
    tmux.type("just before the lid closed")
    if how != "kill-window while typing":  # (else the note is half typed: saved all the same)
        tmux.keys("Enter", pause=0)
    pid = tmux.pane_pid()
    if term:  # the pane runs the launcher's shell; the app is its child
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        assert len(children) == 1, children
        pid = int(children[0])
    if how == "kill -HUP":
        os.kill(pid, signal.SIGHUP)
    elif how == "kill -TERM":
        os.kill(pid, signal.SIGTERM)
    else:
        tmux.tmux("kill-window", "-t", tmux.name)  # tmux sends SIGHUP, as a closed xterm does

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait(gone, 20, f"the app did not end after {how}", tmux)
    if term:
        screen = tmux.wait_for("EXIT=143").replace("\n", "")
        assert "Stopped (SIGTERM); everything so far is saved in" in screen
        assert "Continue with: guide-tui run --resume" in screen
    folder = session_folder(recordings)
    events = read_events(folder)
    types = [e["type"] for e in events]
    assert of_type(events, "note")[-1]["data"]["text"] == "just before the lid closed"
    assert types[-1] == "recording_stopped", types
    kind = "terminated" if how == "kill -TERM" else "terminal_closed"
    assert [e["data"]["kind"] for e in events[-3:] if e["type"] == "warning"] == [kind]
    stopped = events[-1]["data"]
    frames = sf.info(folder / "audio-001.wav").frames
    assert stopped["reason"] == "stopped" and stopped["frames"] == frames > rate
    meta = read_meta(folder)
    assert meta["status"] == "in_progress"  # resumable, not ended
    assert meta["audio"][0]["frames"] == frames and meta["audio"][0]["closed_reason"] == "stopped"
    log = folder / "messages.log"
    assert not log.exists() or "Traceback" not in log.read_text(errors="replace")


OSC = re.compile(rb"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
"""Operating-system commands (window title, pointer shape) end with BEL as a terminator: that
byte is no bell, so they are taken out before counting."""


def test_no_terminal_bell_in_the_consultation_room(tmux: Tmux, tmp_path: Path) -> None:
    """Every key that cannot act (undo with nothing to undo, a topic number beyond the last, →
    on the last topic, ← on the first, a letter in a number field) used to write BEL, which
    beeps in the room and on the recording. The raw bytes the app writes to the pty (tmux
    pipe-pane) hold no bell; a toast says why the key did nothing."""
    recordings = tmp_path / "recordings"
    raw = tmp_path / "pane.raw"
    args = [*guide_tui_command(), "run", "guides/demo.yaml", "--participant", "B01", "--no-audio"]
    tmux.start(launcher(tmp_path, args, recordings, keep_open=True))
    tmux.tmux("pipe-pane", "-O", "-t", tmux.name, f"cat >> {shlex.quote(str(raw))}")
    tmux.wait_for("Tick each item")
    tmux.keys("Space", "Down", "Space", "C-n")
    tmux.wait_for("Confirm who is being interviewed")
    tmux.keys("C-n")
    tmux.wait_for("Baseline questions")
    tmux.keys("Enter", "Down", "Enter", "Tab")
    tmux.type("x7")  # the number field refuses the letter
    tmux.keys("Tab", "Enter", "Down", "Enter", "C-n")
    tmux.wait_for("Microphone check")
    tmux.keys("Enter")
    tmux.wait_for("1/3  A typical working day")
    tmux.keys("u")
    tmux.wait_for("Nothing to undo")
    tmux.keys("9")
    tmux.wait_for("There is no topic 9")
    tmux.keys("Left")
    tmux.wait_for("This is the first topic")
    tmux.keys("Right", "Right", "Right")
    tmux.wait_for("This is the last topic")
    tmux.keys("C-q")
    tmux.wait_for("Leave the interview?")
    tmux.keys("y")
    tmux.wait_for("EXIT=0")
    written = raw.read_bytes()
    assert len(written) > 1000  # the pipe did see the app's output
    assert b"\x07" not in OSC.sub(b"", written)
    events = read_events(session_folder(recordings))
    assert of_type(events, "baseline_answer")[1]["data"] == {"field": "years-in-job", "value": 7}


# -- guide-tui review ---------------------------------------------------------------------------


@pytest.mark.timeout(180)
def test_review_plays_a_turn_into_the_audio_device_and_survives_sigkill(
    tmux: Tmux, tmp_path: Path
) -> None:
    """``guide-tui review`` in a real terminal with a real audio device (the virtual one: a
    PulseAudio null sink whose monitor is captured here). Enter on the turn at 00:20 plays the
    session audio from 20.0 s (cross-correlation, within 50 ms). Then a turn is marked reviewed,
    an edit is being typed, and the process is SIGKILLed: the reviewed mark is on disk and the
    review reopens with it; only the edit being typed is lost."""
    import numpy as np
    import soundfile as sf
    from test_playback import _locate, _Monitor, _noise
    from test_tui_review import marked_copy
    from virtual_mic import isolate_pulse_client, virtual_mic

    isolate_pulse_client()
    rate = 48000
    folder = marked_copy(tmp_path / "recordings")
    noise = _noise(118.0, 5, rate)
    sf.write(folder / "audio-001.wav", noise, rate, subtype="PCM_16")
    with virtual_mic(tmp_path / "pulse", rate=rate) as mic:
        env = dict(mic.env, HOME=str(tmp_path / "pulse" / "home"))
        env["PYTHONPATH"] = str(ROOT)
        env["GUIDE_TUI_CONFIG_DIR"] = str(tmp_path / "config")
        args = [*guide_tui_command(), "review", str(folder)]
        tmux.start(launcher(tmp_path, args, tmp_path / "recordings", keep_open=False, env=env))
        tmux.wait_for("⏸ 1.0× · 00:00", timeout=30)  # the player is ready
        tmux.keys("j", "j", "j")
        tmux.wait_for("⏸ 1.0× · 00:20")
        monitor = _Monitor(rate)
        tmux.keys("Enter")  # play the turn 20.0-21.4
        tmux.wait_for("▶")
        time.sleep(3.0)
        captured = monitor.stop()
        tmux.wait_for("⏸")  # the turn played to its end and stopped
        loud = np.flatnonzero(np.abs(captured) > 1000)
        assert len(loud), "nothing was played into the device"
        onset = int(loud[0])
        window = captured[onset + rate // 20 : onset + rate // 20 + rate // 2]
        heard = (_locate(window, noise) - rate // 20) / rate
        assert abs(heard - 20.0) < 0.05, heard
        played = (loud[-1] - loud[0]) / rate
        assert played == pytest.approx(1.4, abs=0.25)  # the turn, not the rest of the session

        tmux.keys("r")  # reviewed: one fsynced line
        screen = tmux.wait_for("reviewed 00:01 of 01:58")
        # ALSA's "underrun occurred" once overwrote the status line: descriptor 2 is diverted
        assert "ALSA lib" not in screen
        tmux.keys("e")
        tmux.wait_for("^s save")
        tmux.type(" and this is being typed")
        os.kill(tmux.pane_pid(), signal.SIGKILL)
        time.sleep(0.3)
    from guide_tui.commands.review import build_review_app
    from guide_tui.transcript.corrections import read_corrections

    assert [c.type for c in read_corrections(folder)] == ["reviewed"]

    document = build_review_app(folder, read_only=True).review_screen.document
    assert document.rows and "being typed" not in " ".join(r.text for r in document.rows)
    again = build_review_app(folder)
    assert again.review_screen.document.reviewed_seconds == pytest.approx(1.4, abs=0.01)
