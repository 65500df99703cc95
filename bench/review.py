"""``guide-tui review`` on a 60-minute transcript: cold open and key latency, through a real
pseudo-terminal (120×40, like ``bench/startup.py``), plus the in-process cost of a correction.

    python bench/review.py [--runs 10] [--presses 200] [--minutes 60]

The session is synthetic: the fixture session's guide and events with times stretched to the
length asked for, and a transcript of that length (a segment every 4 s, 10 timed words each,
speakers alternating every few segments, one unsure word in fifty). No audio (the player is
built off the UI thread and does not delay the first screen).

- first frame: the process is spawned → the screen is up ("loading transcript…", or already
  "reviewed" if the model was quicker): the model is built after the first frame, off the UI
  thread.
- open: the process is spawned → the status line ("reviewed") is on the terminal, the rows
  drawn.
- open, model first: the same, but the model built before the first frame (as before the
  deferral), in the same run for a fair ratio on a loaded machine.
- key: ``j`` (next turn) written to the terminal → the status shows the new turn's time.
- correction: ``ReviewDocument.correct("reviewed", ...)``: fsynced line + model rebuilt.
Target (issue 13): open under 1 s, a key press well under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from startup import PtyApp, clean_env, describe, guide_tui_command, machine

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "exports" / "recordings" / "2026-11-02_0900_P01"
WORDS = "we talked about the nurses and how the practice decided who does what each day".split()


def make_session(root: Path, minutes: float) -> Path:
    folder = Path(shutil.copytree(FIXTURE, root / FIXTURE.name))
    length = minutes * 60
    scale = length / 118.0
    lines = []
    for line in (folder / "events.jsonl").read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        event["t"] = round(event["t"] * scale, 3)
        lines.append(json.dumps(event))
    (folder / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rng = random.Random(1)
    data = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    segments = []
    speaker = "Interviewer"
    t = 0.5
    while t + 4 < length:
        if rng.random() < 0.35:
            speaker = "P01" if speaker == "Interviewer" else "Interviewer"
        words = []
        for k in range(10):
            w0 = t + k * 0.35
            words.append(
                {
                    "start": round(w0, 2),
                    "end": round(w0 + 0.3, 2),
                    "word": " " + rng.choice(WORDS) + ("." if k == 9 else ""),
                    "probability": 0.2 if rng.random() < 0.02 else 0.9,
                }
            )
        text = "".join(w["word"] for w in words).strip()
        segments.append(
            {
                "id": len(segments),
                "start": words[0]["start"],
                "end": words[-1]["end"],
                "text": text,
                "speaker": speaker,
                "words": words,
            }
        )
        t += 4.0
    data["segments"] = segments
    data["duration"] = length
    data["pauses"] = []
    data["annotations"] = []
    (folder / "transcript.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


UNDEFERRED = (
    "import sys; from pathlib import Path; "
    "from guide_tui.commands.review import build_review_app; "
    "build_review_app(Path(sys.argv[1])).run()"
)


def first_frame(pty: PtyApp, timeout: float = 30) -> float:
    """When the screen was first up: "loading transcript" or, if the model won, "reviewed"."""
    deadline = time.perf_counter() + timeout
    while b"loading transcript" not in pty.output and b"reviewed" not in pty.output:
        if time.perf_counter() > deadline:
            raise RuntimeError("the review screen never appeared")
        pty.read_some(0.01)
    return time.perf_counter()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from guide_tui.commands.review import build_review_app
    from guide_tui.transcript.render import clock

    with tempfile.TemporaryDirectory(prefix="guide-tui-bench-") as tmp:
        folder = make_session(Path(tmp), args.minutes)
        env = clean_env(Path(tmp))
        env["GUIDE_TUI_CONFIG_DIR"] = str(Path(tmp) / "config")
        argv = [*guide_tui_command(), "review", str(folder)]

        started = time.perf_counter()
        app = build_review_app(folder)
        load = time.perf_counter() - started
        document = app.review_screen.document
        rows = document.rows
        turns = sum(1 for r in rows if r.kind == "turn")

        undeferred = [sys.executable, "-c", UNDEFERRED, str(folder)]
        firsts, opens, model_first = [], [], []
        for _ in range(args.runs):
            pty = PtyApp(argv, env)
            try:
                firsts.append(first_frame(pty) - pty.started)
                opens.append(pty.wait_for("reviewed") - pty.started)
            finally:
                pty.kill()
            pty = PtyApp(undeferred, env)
            try:
                model_first.append(pty.wait_for("reviewed") - pty.started)
            finally:
                pty.kill()

        keys = []
        pty = PtyApp(argv, env)
        try:
            pty.wait_for("reviewed")
            time.sleep(0.5)
            selectable = [r for r in rows if r.selectable]
            for i in range(1, min(args.presses, len(selectable) - 1) + 1):
                start = len(pty.output)
                sent = pty.send(b"j")
                expect = f"{clock(selectable[i].start)} · reviewed"
                keys.append(pty.wait_for(expect, start=start) - sent)
                time.sleep(0.03)
        finally:
            pty.kill()

        corrections = []
        for i in range(20):
            row = rows[10 + i]
            t0 = time.perf_counter()
            document.correct("reviewed", start=row.start, end=max(row.end, row.start + 0.1))
            corrections.append(time.perf_counter() - t0)

    result = {
        "machine": machine(),
        "minutes": args.minutes,
        "rows": len(rows),
        "turns": turns,
        "load_and_model_ms": load * 1000,
        "load_average": os.getloadavg(),
        "first_frame": describe(firsts),
        "open": describe(opens),
        "open_model_first": describe(model_first),
        "key_next_turn": describe(keys),
        "correction_rebuild": describe(corrections),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
