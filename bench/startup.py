"""Cold start to first screen: ``guide-tui run`` against a minimal Textual app, same run.

    python bench/startup.py [--runs 20] [--json results.json]

Each run starts a fresh process on a pseudo-terminal (120×40) and stops the clock when the first
screen's text arrives on the terminal: "Tick each item" (guide-tui's consent step) or the
minimal app's label. The two commands alternate, so both see the same machine state; the first
run of each is a warm-up and is dropped. "Cold" means a new interpreter each time; the OS file
cache is warm, as it is for an interviewer starting the second session of the day.

guide-tui does real work here that the minimal app does not: it loads and validates the guide,
creates the session folder (fsynced ``session.json``, ``guide.yaml``, ``events.jsonl``) and
builds the interview state. Target (issue 3): median at most 1.5× the minimal app's.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MINIMAL_APP = """
from textual.app import App
from textual.widgets import Footer, Label


class Minimal(App):
    def compose(self):
        yield Label("Hello from a minimal app")
        yield Footer()


Minimal().run()
"""


PHASES_PROBE = """
import sys, time
T0 = time.perf_counter()
marks = []
def mark(name):
    marks.append((name, time.perf_counter()))
import guide_tui
mark("import guide_tui")
from guide_tui.cli import build_parser
build_parser().parse_args(["run", "guides/demo.yaml", "--participant", "PH1", "--no-audio"])
mark("CLI: import every command module, parse arguments")
from guide_tui.guide import load_guide
guide = load_guide("guides/demo.yaml")
mark("load and validate the guide (PyYAML)")
from guide_tui.session.store import Session
session = Session.create(guide, "PH1")
mark("create the session folder (fsynced; overlapped with the next step in `run`)")
from guide_tui.tui.app import GuideApp, make_app
mark("import Textual and guide_tui.tui.app")
app = make_app(session, guide)
original = GuideApp.on_mount
def on_mount(self):
    original(self)
    self.call_after_refresh(lambda: (mark("compose, style and draw the first screen"),
                                     self.exit(None)))
GuideApp.on_mount = on_mount
app.run(headless=True, size=(120, 40))
previous = T0
for name, t in marks:
    print(f"{(t - previous) * 1000:.1f}|{name}")
    previous = t
"""


def phases(env: dict[str, str], runs: int) -> list[tuple[str, float]]:
    """Where guide-tui's start-up time goes (in-process marks; medians over ``runs``)."""
    import subprocess

    table: dict[str, list[float]] = {}
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PHASES_PROBE],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for line in out.splitlines():
            ms, name = line.split("|", 1)
            table.setdefault(name, []).append(float(ms))
    return [(name, statistics.median(values)) for name, values in table.items()]


class PtyApp:
    """A program on its own pseudo-terminal: send keys, wait for text on the screen."""

    def __init__(self, argv: list[str], env: dict[str, str], cols: int = 120, rows: int = 40):
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # child: the terminal is ours; size it, then become the program
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.chdir(ROOT)
            os.execvpe(argv[0], argv, env)
        self.pid, self.fd = pid, fd
        self.output = bytearray()

    def read_some(self, timeout: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            try:
                self.output += os.read(self.fd, 1 << 16)
            except OSError:
                raise RuntimeError("the program exited") from None

    def wait_for(self, text: str, start: int = 0, timeout: float = 30) -> float:
        """Seconds (perf_counter) when ``text`` appeared in the output after byte ``start``."""
        needle = text.encode()
        deadline = time.perf_counter() + timeout
        while needle not in self.output[start:]:
            if time.perf_counter() > deadline:
                tail = bytes(self.output[-400:]).decode(errors="replace")
                raise RuntimeError(f"{text!r} never appeared; last output: {tail!r}")
            self.read_some(0.05)
        return time.perf_counter()

    def send(self, data: bytes) -> float:
        sent = time.perf_counter()
        os.write(self.fd, data)
        return sent

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


def clean_env(recordings: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(TERM="xterm-256color", GUIDE_TUI_RECORDINGS=str(recordings), COLORTERM="truecolor")
    return env


def guide_tui_command() -> list[str]:
    """The installed ``guide-tui`` next to this interpreter (or ``python -m guide_tui``)."""
    script = Path(sys.executable).with_name("guide-tui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "guide_tui"]


def guide_tui_argv(participant: str) -> list[str]:
    return [
        *guide_tui_command(),
        "run",
        "guides/demo.yaml",
        "--participant",
        participant,
        "--no-audio",
    ]


def time_to_text(argv: list[str], text: str, env: dict[str, str]) -> float:
    app = PtyApp(argv, env)
    try:
        return app.wait_for(text) - app.started
    finally:
        app.kill()


def describe(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def quantile(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {
        "n": len(samples),
        "median_ms": statistics.median(samples) * 1000,
        "p10_ms": quantile(0.1) * 1000,
        "p90_ms": quantile(0.9) * 1000,
        "min_ms": ordered[0] * 1000,
        "max_ms": ordered[-1] * 1000,
        "stdev_ms": statistics.pstdev(samples) * 1000,
    }


def machine() -> dict[str, str]:
    """Facts to publish with the numbers."""
    import textual

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "os": platform.platform(),
        "python": platform.python_version(),
        "textual": textual.__version__,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="measured runs per command")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--phases", action="store_true", help="also break guide-tui's start-up into phases"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="guide-tui-bench-") as tmp:
        env = clean_env(Path(tmp) / "recordings")
        breakdown = phases(env, 7) if args.phases else []
        minimal = [sys.executable, "-c", MINIMAL_APP]
        samples: dict[str, list[float]] = {"minimal textual app": [], "guide-tui run": []}
        for run in range(args.runs + 1):
            a = time_to_text(minimal, "Hello from a minimal app", env)
            b = time_to_text(guide_tui_argv(f"B{run:03d}"), "Tick each item", env)
            if run:  # the first of each is a warm-up
                samples["minimal textual app"].append(a)
                samples["guide-tui run"].append(b)
            print(
                f"run {run:>3}: minimal {a * 1000:7.1f} ms   guide-tui {b * 1000:7.1f} ms",
                file=sys.stderr,
            )

    results = {name: describe(values) for name, values in samples.items()}
    ratio = results["guide-tui run"]["median_ms"] / results["minimal textual app"]["median_ms"]
    report = {
        "machine": machine(),
        "results": results,
        "ratio_of_medians": ratio,
        "target_ratio": 1.5,
    }
    print("| command | runs | median | p10 | p90 | min | max | stdev |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(
            f"| {name} | {r['n']} | {r['median_ms']:.0f} ms | {r['p10_ms']:.0f} ms | "
            f"{r['p90_ms']:.0f} ms | {r['min_ms']:.0f} ms | {r['max_ms']:.0f} ms | "
            f"{r['stdev_ms']:.0f} ms |"
        )
    print(f"\nratio of medians: {ratio:.2f}× (target ≤ 1.5×)")
    print("machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()))
    if breakdown:
        print("\n| guide-tui start-up phase (in-process, headless, median of 7) | ms |")
        print("|---|---:|")
        for name, ms in breakdown:
            print(f"| {name} | {ms:.0f} |")
        report["phases_ms"] = dict(breakdown)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
