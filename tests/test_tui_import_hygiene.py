"""Starting the interview draws its first screen without whisper, torch, numpy or sounddevice
(nor ``importlib.metadata``, which costs start-up time for nothing).

The real ``guide-tui run`` entry point runs in a fresh interpreter (headless, so no terminal is
needed); once the first screen has been drawn the app lists the heavy modules it finds in
``sys.modules`` and exits. Both first screens are checked: a new session (pre-interview) and a
resumed one (interview screen).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tui_support import GUIDES, ROOT

BANNED = (
    "whisper",
    "faster_whisper",
    "torch",
    "numpy",
    "sounddevice",
    "ctranslate2",
    "soundfile",
    "dask",  # transcribe --cluster only
    "distributed",
    # Not heavy, but 10-30 ms of start-up on the critical path (bench/startup.py): the package
    # version is a constant, not read from the installed metadata.
    "importlib.metadata",
)

PROBE = """
import json, sys
from guide_tui.tui import app as tui_app

BANNED = {banned!r}
original_mount = tui_app.GuideApp.on_mount
original_run = tui_app.GuideApp.run

def on_mount(self):
    original_mount(self)

    def report():
        loaded = sorted(
            m for m in sys.modules if any(m == b or m.startswith(b + ".") for b in BANNED)
        )
        print("FIRST-SCREEN", type(self.screen).__name__, json.dumps(loaded), flush=True)
        self.exit(None)

    self.call_after_refresh(report)

tui_app.GuideApp.on_mount = on_mount
tui_app.GuideApp.run = lambda self, **kw: original_run(self, headless=True)
from guide_tui.commands import run as run_command
run_command.require_terminal = lambda: None  # headless: no terminal to require
from guide_tui.cli import main
sys.exit(main(sys.argv[1:]))
"""


def first_screen(args: list[str], recordings: Path) -> tuple[str, list[str], str]:
    env = {**os.environ, "GUIDE_TUI_RECORDINGS": str(recordings)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(banned=BANNED), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("FIRST-SCREEN"))
    _, screen, loaded = line.split(" ", 2)
    return screen, json.loads(loaded), result.stdout


def test_first_screen_imports_nothing_heavy(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    screen, loaded, out = first_screen(
        ["run", str(GUIDES / "demo.yaml"), "--participant", "H01"], recordings
    )
    assert screen == "PreInterviewScreen"
    assert loaded == []
    # The session was created and can be resumed: resuming draws the same way.
    (folder,) = list(recordings.iterdir())
    assert "--resume" in out
    screen, loaded, _ = first_screen(["run", "--resume", str(folder)], recordings)
    assert screen == "PreInterviewScreen"
    assert loaded == []


def test_resumed_interview_screen_imports_nothing_heavy(tmp_path: Path) -> None:
    from guide_tui.guide import load_guide
    from guide_tui.session.store import Session

    guide = load_guide(GUIDES / "demo.yaml")
    recordings = tmp_path / "recordings"
    with Session.create(guide, "H02", root=recordings) as session:
        for item in guide.consent:
            session.append("consent", item=item.id, given=True)
        session.append("interview_started")
        session.append("topic_entered", topic=guide.topics[1].id)
    screen, loaded, _ = first_screen(["run", "--resume", str(session.path)], recordings)
    assert screen == "InterviewScreen"
    assert loaded == []
