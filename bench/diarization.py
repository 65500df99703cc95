"""Calibration of the unexpected-voice decision and per-span accuracy of diarization (no Whisper).

    python bench/diarization.py [--hops 75 112 150] [--json F]

Each espeak-ng fixture (tests/fixtures_speech.py) is diarized with ``expected=2`` at every window
hop given (0.75 s is what ships; the other hops perturb the embeddings, as a different recording
would): does an extra voice survive, and what share of 0.35 s spans of the known turns goes to
the right cluster (best one-to-one mapping of turn speakers to clusters). Reported per fixture and
as false extra voices / missed third voices (docs/transcription.md, "An unexpected voice").
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

T_SIMILAR = {"I": "en-us+m3", "P": "en-us+m4"}


def _cases() -> dict[str, tuple[dict, bool]]:
    import fixtures_speech as fs
    from test_speakers import OBSERVER_TURNS, SHORT_TURNS

    t = fs.INTERVIEW_TURNS
    one = {"I": "en-us", "P": "en-us"}
    return {  # name: (make_interview arguments, a third voice is there)
        "distinct": ({"turns": t}, False),
        "distinct_x2": ({"turns": t * 2}, False),
        "distinct_x4": ({"turns": t * 4}, False),
        "distinct_short_file": ({"turns": t[5:] + t[:3]}, False),
        "similar": ({"turns": t, "voices": T_SIMILAR}, False),
        "similar_x2": ({"turns": t * 2, "voices": T_SIMILAR}, False),
        "similar_short_file": ({"turns": t[5:] + t[:3], "voices": T_SIMILAR}, False),
        "m3_m7": ({"turns": t, "voices": {"I": "en-us+m3", "P": "en-us+m7"}}, False),
        "short_answers": ({"turns": SHORT_TURNS}, False),
        "one_voice": ({"turns": t, "voices": one}, False),
        "one_voice_x2": ({"turns": t * 2, "voices": one}, False),
        "one_voice_gb_f3": ({"turns": t, "voices": {"I": "en-gb+f3", "P": "en-gb+f3"}}, False),
        "one_voice_m3": ({"turns": t, "voices": {"I": "en-us+m3", "P": "en-us+m3"}}, False),
        "one_voice_f2": ({"turns": t, "voices": {"I": "en-us+f2", "P": "en-us+f2"}}, False),
        "third_f2": ({"turns": OBSERVER_TURNS, "voices": {"O": "en-us+f2"}}, True),
        "third_m7": ({"turns": OBSERVER_TURNS, "voices": {"O": "en-us+m7"}}, True),
        "third_f2_similar_pair": (
            {"turns": OBSERVER_TURNS, "voices": {**T_SIMILAR, "O": "en-us+f2"}},
            True,
        ),
        "third_m2_near_interviewer": ({"turns": OBSERVER_TURNS, "voices": {"O": "en-us+m2"}}, True),
        "third_gb_m3": ({"turns": OBSERVER_TURNS, "voices": {"O": "en-gb+m3"}}, True),
    }


def _score(kwargs: dict) -> dict:
    import fixtures_speech as fs

    from guide_tui.transcribe import audio as audio_mod
    from guide_tui.transcribe import diarize

    kw = dict(kwargs)
    fx = fs.make_interview(kw.pop("turns"), **kw)
    f = audio_mod.open_audio([fx.path])[0]
    audio_mod.scan(f)
    t0 = time.perf_counter()
    d = diarize.diarize_file(f, 2)
    seconds = time.perf_counter() - t0
    spans, truth = [], []
    for u in fx.turns:
        s = u.start
        while s < u.end - 0.05:
            e = min(u.end, s + 0.35)
            spans.append((s, e))
            truth.append(u.speaker)
            s = e
    labels = [k for k, _ in diarize.word_labels(d, spans)]
    codes = sorted(set(truth))
    best = 0
    for perm in itertools.permutations(range(max(d.clusters, len(codes))), len(codes)):
        m = dict(zip(codes, perm, strict=True))
        best = max(best, sum(m[c] == k for c, k in zip(truth, labels, strict=True)))
    return {
        "accuracy": best / len(spans),
        "extra": d.extra,
        "clusters": d.clusters,
        "seconds": seconds,
        "audio_s": fx.duration,
        "checks": getattr(d, "checks", []),  # (absent before the rules of 2026-12-02)
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hops", type=int, nargs="+", default=[75, 112, 150], help="10 ms frames")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    from guide_tui.transcribe import diarize

    diarize.load_encoder()
    shipped = diarize.WINDOW_HOP
    rows = []
    false_extra = missed = with_none = with_third = 0
    print(f"load average {os.getloadavg()[0]:.1f}")
    print("| fixture | hop s | third voice | extra found | span accuracy |\n|---|---|---|---|---|")
    try:
        for hop in args.hops:
            diarize.WINDOW_HOP = hop
            for name, (kwargs, third) in _cases().items():
                r = {"fixture": name, "hop": hop, "third": third, **_score(kwargs)}
                rows.append(r)
                with_third += third
                with_none += not third
                missed += third and not r["extra"]
                false_extra += r["extra"] and not third
                print(
                    f"| {name} | {hop / 100:.2f} | {'yes' if third else 'no'} | "
                    f"{'yes' if r['extra'] else 'no'} | {r['accuracy']:.1%} |",
                    flush=True,
                )
    finally:
        diarize.WINDOW_HOP = shipped
    print(
        f"false extra voice: {false_extra} of {with_none}; missed third voice: {missed} of "
        f"{with_third}"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
