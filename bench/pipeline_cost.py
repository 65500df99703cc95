"""Benchmark: CPU of ``guide-tui transcribe``'s pipeline against the engine called directly.

    python bench/pipeline_cost.py [--minutes 6] [--rounds 2]

Each measurement runs in a fresh process, as the CLI does (torch imported by the speaker step
after CTranslate2 has run): the pipeline (``Transcriber.run`` on a session folder, tiny.en
float32, 2 threads; the speaker encoder on 2 torch threads = before, 1 = now) and the engine
(``WhisperModel.transcribe`` on the same 16 kHz samples). The fixture: the GP interview of
bench/fidelity.py over and over in its five voice pairs, ``--minutes`` long. Prints one JSON line
per run (wall and CPU seconds, per-stage CPU from ``timings.stages``, WER, load average) and the
ratios of CPU seconds. docs/benchmarks-transcription.md, "Cost of the pipeline".
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def _fixture(minutes: float):
    import fidelity
    from fixtures_speech import make_interview

    turns, kw = fidelity.long_turns(minutes)
    return make_interview(turns, samplerate=16000, **kw)


def measure(minutes: float, mode: str) -> dict:
    from fixtures_speech import guide_with_vocabulary, make_session, models_cache, word_errors

    os.environ["GUIDE_TUI_MODELS"] = str(models_cache())
    fx = _fixture(minutes)
    load = os.getloadavg()[0]
    if mode == "engine":
        import soundfile as sf
        from faster_whisper import WhisperModel

        from guide_tui.transcribe.audio import resample
        from guide_tui.transcribe.models import resolve

        x, sr = sf.read(str(fx.path), dtype="float32", always_2d=True)
        audio = resample(x.mean(axis=1), sr)
        path = resolve("tiny.en", "faster-whisper").path
        m = WhisperModel(str(path), device="cpu", compute_type="float32", cpu_threads=2)
        t, c = time.perf_counter(), time.process_time()
        segs = list(m.transcribe(audio, language="en", beam_size=5, word_timestamps=True)[0])
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        text = " ".join(s.text.strip() for s in segs)
        stages: dict = {}
    else:
        from guide_tui.transcribe import diarize
        from guide_tui.transcribe.runner import Transcriber
        from guide_tui.transcribe.types import TranscribeOptions

        diarize.ENCODER_THREADS = int(mode.split("=")[1])
        folder = make_session(
            Path(tempfile.mkdtemp()) / "s", [fx.path], guide_yaml=guide_with_vocabulary()
        )
        tr = Transcriber(TranscribeOptions(model="tiny.en", threads=2))
        t, c = time.perf_counter(), time.process_time()
        tr.run(folder)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        data = json.loads((folder / "transcript.json").read_text())
        text = " ".join(s["text"] for s in data["segments"])
        stages = {k: v["cpu_s"] for k, v in data["timings"]["stages"].items()}
    errors, n = word_errors(fx.reference, text)
    return {
        "mode": mode,
        "audio_s": round(fx.duration, 1),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "stages_cpu_s": stages,
        "wer": round(errors / n, 4),
        "load": [round(load, 1), round(os.getloadavg()[0], 1)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=6.0)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--one", help=argparse.SUPPRESS)  # a single measurement, in this process
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.minutes, args.one)), flush=True)
        return
    _fixture(args.minutes)  # made (and cached) once, before any timing
    rows = []
    for _ in range(args.rounds):
        for mode in ("pipeline encoder_threads=2", "pipeline encoder_threads=1", "engine"):
            out = subprocess.run(
                [sys.executable, __file__, "--minutes", str(args.minutes), "--one", mode],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    engine = sum(r["cpu_s"] for r in rows if r["mode"] == "engine")
    for mode in ("pipeline encoder_threads=2", "pipeline encoder_threads=1"):
        cpu = sum(r["cpu_s"] for r in rows if r["mode"] == mode)
        print(f"{mode}: CPU {cpu / engine:.2f}x the engine's")


if __name__ == "__main__":
    main()
