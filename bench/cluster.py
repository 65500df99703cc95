"""Benchmark: ``guide-tui transcribe --cluster local:N`` against the plain command, same threads.

    python bench/cluster.py [--sessions 8] [--workers 2] [--threads 2] [--rounds 1] [--json F]

Audio: the espeak-ng two-voice interview of ``tests/fixtures_speech.py`` (49 s, 48 kHz mono) as
``--sessions`` session folders; tiny.en (faster-whisper float32, beam 5), default windows (120 s).
Each round, in fresh processes, interleaved:

- **plain**: ``guide-tui transcribe S1..S8 --threads T`` (one process, sessions one by one);
- **cluster**: ``guide-tui transcribe S1..S8 --cluster local:N`` (N worker processes, T/N engine
  threads each, so the same T threads in all), cluster start-up included.

Wall time of each command, audio seconds per wall second; the transcripts are compared (all keys
but ``created``/``timings``). Then, in this process on a ``local:N`` cluster:

- **task overhead per window**: a task that receives a 120 s window of 16 kHz samples (7.7 MB)
  and returns at once, one at a time: round trip (submit → result) ÷ task, median of 20;
- **bytes sent per audio minute**: what :class:`ClusterRun` submitted (samples of every window)
  ÷ minutes of session audio.

The machine's load average is printed with the numbers (other work skews every timing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def _content(folder: Path) -> dict:
    tr = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    tr.pop("timings")
    tr.pop("created")
    return tr


def _run(folders: list[Path], extra: list[str], env: dict) -> float:
    for f in folders:
        for name in ("transcript.json", "transcript.md", "transcript.partial.jsonl"):
            (f / name).unlink(missing_ok=True)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "guide_tui", "transcribe", *map(str, folders), "--model", "tiny.en",
         *extra],
        env=env, capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"transcribe failed: {done.stderr}")
    return wall


def _noop(spec: object, samples: object) -> int:
    return 0


def overhead(workers: int, rounds: int = 20) -> dict:
    """Round trip of a task that carries a 120 s window and does nothing."""
    import numpy as np

    from guide_tui.transcribe.cluster import connect

    cluster = connect(f"local:{workers}")
    try:
        client = cluster.client
        samples = np.random.default_rng(1).standard_normal(120 * 16000).astype(np.float32)
        client.submit(_noop, None, samples, pure=False).result()  # warm
        trips = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            client.submit(_noop, None, samples, pure=False).result()
            trips.append(time.perf_counter() - t0)
        empty = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            client.submit(_noop, None, None, pure=False).result()
            empty.append(time.perf_counter() - t0)
    finally:
        cluster.close()
    return {
        "window_task_ms": round(1000 * statistics.median(trips), 1),
        "empty_task_ms": round(1000 * statistics.median(empty), 1),
        "window_bytes": int(samples.nbytes),
    }


def sent_bytes(folders: list[Path], workers: int) -> dict:
    from guide_tui.transcribe.cluster import ClusterRun, connect
    from guide_tui.transcribe.runner import Transcriber
    from guide_tui.transcribe.types import TranscribeOptions

    for f in folders:
        for name in ("transcript.json", "transcript.md", "transcript.partial.jsonl"):
            (f / name).unlink(missing_ok=True)
    cluster = connect(f"local:{workers}")
    try:
        run = ClusterRun(Transcriber(TranscribeOptions(model="tiny.en")), cluster)
        run.run(folders)
    finally:
        cluster.close()
    import soundfile as sf

    minutes = sum(sf.info(str(p)).duration for f in folders for p in f.glob("audio-*.wav")) / 60
    return {"sent_mb": round(run.sent_bytes / 1e6, 2), "mb_per_audio_minute": round(
        run.sent_bytes / 1e6 / minutes, 2), "audio_minutes": round(minutes, 2)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from fixtures_speech import make_interview, make_session, models_cache

    fx = make_interview()
    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    env = {**os.environ, "GUIDE_TUI_MODELS": str(models_cache()), "PYTHONPATH": str(ROOT)}
    os.environ["GUIDE_TUI_MODELS"] = env["GUIDE_TUI_MODELS"]
    events = [(0.2, "topic_entered", {"topic": "delegation"})]
    plain_dirs = [
        make_session(tmp / "plain" / f"s{n}", [fx.path], events, participant=f"P{n:02d}")
        for n in range(args.sessions)
    ]
    shutil.copytree(tmp / "plain", tmp / "cluster")
    cluster_dirs = [tmp / "cluster" / f"s{n}" for n in range(args.sessions)]
    audio_s = fx.duration * args.sessions
    results: dict = {
        "sessions": args.sessions,
        "audio_s": round(audio_s, 1),
        "workers": args.workers,
        "threads": args.threads,
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "plain_s": [],
        "cluster_s": [],
    }
    engine_threads = max(1, args.threads // args.workers)
    for _ in range(args.rounds):
        results["plain_s"].append(round(_run(plain_dirs, ["--threads", str(args.threads)], env), 2))
        results["cluster_s"].append(
            round(
                _run(
                    cluster_dirs,
                    ["--cluster", f"local:{args.workers}", "--threads", str(engine_threads)],
                    env,
                ),
                2,
            )
        )
    results["identical"] = all(
        _content(a) == _content(b) for a, b in zip(plain_dirs, cluster_dirs, strict=True)
    )
    plain, clustered = (
        statistics.median(results["plain_s"]),
        statistics.median(results["cluster_s"]),
    )
    results["plain_x_realtime"] = round(audio_s / plain, 2)
    results["cluster_x_realtime"] = round(audio_s / clustered, 2)
    results["cluster_vs_plain"] = round(plain / clustered, 2)
    results["overhead"] = overhead(args.workers)
    results["bytes"] = sent_bytes(cluster_dirs, args.workers)
    results["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
