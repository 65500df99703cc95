"""The per-window time limit counts CPU time, not wall time: a machine loaded by other programs
(wall time passes, this process gets no CPU) must not cut a window, while an engine that keeps
working (a loop the temperature fallback resamples) is still stopped."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fixtures_speech import make_session

from guide_tui.transcribe import runner
from guide_tui.transcribe.models import ResolvedModel
from guide_tui.transcribe.runner import Transcriber
from guide_tui.transcribe.types import EngineInfo, Segment, TranscribeOptions, Word

SECONDS = 24
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()


class FakeEngine:
    """One two-second segment per two seconds of audio; before each, ``pause`` seconds either
    asleep (``busy=False``: what a loaded machine looks like from inside the process) or
    computing (``busy=True``)."""

    def __init__(self, pause: float, busy: bool) -> None:
        self.pause, self.busy = pause, busy
        self.info = EngineInfo("fake", "0", "fake", "fake", "float32")

    def transcribe(self, audio, *, language, prompt, seed, condition_on_previous_text=None, **_):
        for k in range(len(audio) // 32000):
            if self.busy:
                end = time.process_time() + self.pause
                while time.process_time() < end:
                    pass
            else:
                time.sleep(self.pause)
            t = 2.0 * k
            word = WORDS[k % len(WORDS)]
            yield Segment(t, t + 2.0, word, words=(Word(t + 0.05, t + 1.95, f" {word}", 0.9),))


def _session(tmp_path: Path) -> Path:
    rate = 16000
    rng = np.random.default_rng(1)
    x = np.zeros((SECONDS * rate, 2), np.float32)
    x[:, 0] = 0.2 * rng.standard_normal(SECONDS * rate)  # "speech" energy throughout
    x[:, 1] = 0.002 * rng.standard_normal(SECONDS * rate)
    wav = tmp_path / "loud.wav"
    sf.write(str(wav), x, rate, subtype="PCM_16")
    return make_session(tmp_path / "s", [wav])


@pytest.mark.parametrize(("busy", "whole"), [(False, True), (True, False)])
def test_window_limit_counts_cpu_time_not_wall_time(
    tmp_path: Path, monkeypatch, busy: bool, whole: bool
) -> None:
    folder = _session(tmp_path)
    monkeypatch.setattr(runner, "_WINDOW_BASE_S", 0.3)
    monkeypatch.setattr(runner, "_WINDOW_RTF_FACTOR", 0.0)
    fake = FakeEngine(pause=0.1, busy=busy)
    model = ResolvedModel("fake.en", tmp_path, "ct2", "path")
    monkeypatch.setattr(Transcriber, "_model_for", lambda self, language: model)
    monkeypatch.setattr(Transcriber, "_engine", lambda self, m: fake)
    t0 = time.perf_counter()
    Transcriber(TranscribeOptions(language="en", vad_filter=False)).run(folder)
    if not busy:  # asleep: the wall time spent is well past the 0.3 s limit, yet nothing is cut
        assert time.perf_counter() - t0 > 1.0
    data = json.loads((folder / "transcript.json").read_text())
    words = [w for s in data["segments"] for w in s["words"]]
    if whole:  # asleep 1.2 s in all, almost no CPU: nothing cut, nothing untranscribed
        assert len(words) == SECONDS // 2
        assert data["untranscribed"] == []
    else:  # computing: cut after about 0.3 s of CPU, and the rest is reported, not lost
        assert 1 <= len(words) < SECONDS // 2
        assert data["untranscribed"] and data["untranscribed"][-1]["end"] > SECONDS - 3
    stages = data["timings"]["stages"]
    assert {"scan", "load", "decode", "guards", "speakers"} <= set(stages)
    assert data["timings"]["cpu_s"] >= stages["decode"]["cpu_s"] > 0
