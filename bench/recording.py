"""Benchmark: a long real-time capture at 48 kHz through the virtual microphone.

    python bench/recording.py [--seconds 600] [--json out.json] [--tui]

Plays ``--seconds`` of known noise into a private PulseAudio null sink (tests/virtual_mic.py),
records it with the real recorder (``AudioRecorder`` through ``SessionRecorderBridge`` into a
real session), and reports what issue #4 sets targets for:

- CPU share of one core of *this* process (user + system time ÷ wall time), the pulse daemon's
  share separately (it stands in for the sound hardware);
- resident memory: peak, and growth from the end of the first 30 s to the end;
- frames dropped: the recorder's own count, *and* an independent check: the played signal must be
  in the recording sample for sample (any lost frame breaks the match);
- worst queue depth between the audio callback and the writer (blocks and milliseconds);
- the machine: CPU, cores, load average (other work shares it), library versions.

``--tui`` runs the interview TUI headless in the same process, polling the recorder at its own
rate, so its cost is included (needs ``guide_tui.tui`` with the recorder wired in).
Needs pulseaudio, pulseaudio-utils, libasound2-plugins and sox.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

RATE = 48000


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def machine() -> dict[str, object]:
    import numpy
    import sounddevice as sd
    import soundfile as sf

    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": platform.platform(),
        "portaudio": sd.get_portaudio_version()[1],
        "libsndfile": sf.__libsndfile_version__,
        "numpy": numpy.__version__,
        "sounddevice": sd.__version__,
        "soundfile": sf.__version__,
    }


def make_signal(folder: Path, seconds: float) -> Path:
    """Pink noise shaped like speech, int16, 48 kHz mono, no dither: every sample is checkable.

    The level swells and falls at a syllable rate (4 Hz) and a phrase rate (0.37 Hz), peaking at
    -12 dBFS, so the level meter moves on every update as it does with a talking participant:
    a steady noise would leave the meter still and the TUI's cost unmeasured."""
    out = folder / "bench-signal.wav"
    subprocess.run(
        ["sox", "-D", "-n", "-r", str(RATE), "-c", "1", "-e", "signed-integer", "-b", "16",
         str(out), "synth", str(seconds), "pinknoise",
         "tremolo", "4", "90", "tremolo", "0.37", "70", "gain", "-n", "-12",
         "pad", "0.5", "0.5"],
        check=True,
    )  # fmt: skip
    return out


def run(seconds: float, with_tui: bool, blocksize: int | None = None) -> dict[str, object]:
    import numpy as np
    import soundfile as sf
    from virtual_mic import isolate_pulse_client, virtual_mic

    isolate_pulse_client()
    from guide_tui.guide import load_guide
    from guide_tui.recorder import attach_recorder
    from guide_tui.recorder.config import RecorderConfig
    from guide_tui.session.store import Session

    work = Path(tempfile.mkdtemp(prefix="guide-tui-bench-"))
    signal_path = make_signal(work, seconds)
    result: dict[str, object] = {"seconds": seconds, "tui": with_tui, "machine": machine()}
    config = RecorderConfig(samplerate=RATE)
    if blocksize:
        config = dataclasses.replace(config, blocksize=blocksize)
    result["blocksize"] = config.frames_per_block(RATE)
    with virtual_mic(work / "pa", rate=RATE) as mic:
        guide = load_guide(ROOT / "guides" / "demo.yaml")
        session = Session.create(guide, "BENCH", root=work / "recordings")
        if with_tui:
            measured = asyncio.run(measure_in_tui(session, guide, config, mic, signal_path))
        else:
            recorder = attach_recorder(session, config=config)
            stop_polling = threading.Event()
            poller = threading.Thread(target=poll_like_the_ui, args=(recorder, stop_polling))
            poller.start()
            recorder.start()
            measured = asyncio.run(measure(recorder, mic, signal_path))
            recorder.stop()
            stop_polling.set()
            poller.join(10)
        session.close()
    final = measured.pop("final")
    block_ms = config.frames_per_block(RATE) / RATE * 1000
    # Read only now: the 55 MB reference must not count in the recorder's memory.
    reference, _ = sf.read(signal_path, dtype="int16")
    recorded, _ = sf.read(session.path / final.files[0].file, dtype="int16")
    events = [json.loads(line) for line in (session.path / "events.jsonl").read_text().splitlines()]
    result.update(measured)
    result.update(
        {
            "dropped_frames_reported": final.dropped_frames,
            "overflows": final.overflows,
            "played_signal_bit_exact": locate_all(np, recorded, reference),
            "max_queue_depth_blocks": final.max_queue_depth,
            "max_queue_depth_ms": round(final.max_queue_depth * block_ms, 1),
            "frames_recorded": final.files[0].frames,
            "files": len(final.files),
            "warnings": sorted({e["data"]["kind"] for e in events if e["type"] == "warning"}),
        }
    )
    return result


async def measure(recorder, mic, signal_path: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Play the signal into the microphone while sampling CPU and memory once a second."""
    deadline = time.monotonic() + 15
    while recorder.now() <= 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    rss_samples: list[tuple[float, int]] = []
    cpu_samples: list[tuple[float, float]] = []
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    pulse0 = proc_cpu_seconds(mic.daemon.pid)
    load0 = os.getloadavg()
    wall0 = time.monotonic()
    player = mic.play(signal_path)
    while player.poll() is None:
        now = time.monotonic() - wall0
        rss_samples.append((now, rss_kib()))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu_samples.append((now, usage.ru_utime + usage.ru_stime))
        await asyncio.sleep(1.0)
    await asyncio.sleep(2.0)  # what the server still buffers reaches the recorder
    wall = time.monotonic() - wall0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    pulse1 = proc_cpu_seconds(mic.daemon.pid)
    load1 = os.getloadavg()
    inner = getattr(recorder, "recorder", recorder)
    run_ = getattr(inner, "_run", None)
    worst_deficit = run_.drops.worst_deficit if run_ is not None else None
    recorder.stop()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    after_warmup = [kib for t, kib in rss_samples if t >= 30] or [rss_samples[-1][1]]
    return {
        "final": recorder.poll(),
        "wall_s": round(wall, 1),
        "cpu_share_of_one_core": round(cpu / wall, 4),
        "cpu_share_after_30s": steady_share(cpu_samples),
        "pulse_daemon_cpu_share": round((pulse1 - pulse0) / wall, 4),
        "rss_peak_mib": round(max(k for _, k in rss_samples) / 1024, 1),
        "rss_growth_after_30s_mib": round((after_warmup[-1] - after_warmup[0]) / 1024, 2),
        "rss_mib_every_minute": [round(k / 1024, 2) for t, k in rss_samples[::60]],
        "maxrss_mib": round(cpu1.ru_maxrss / 1024, 1),
        "worst_callback_deficit_ms": (
            round(worst_deficit * 1000, 1) if worst_deficit is not None else None
        ),
        "loadavg_start": [round(v, 2) for v in load0],
        "loadavg_end": [round(v, 2) for v in load1],
    }


async def measure_in_tui(session, guide, config, mic, signal_path: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The same measurement with the interview TUI running headless, mid-interview: its
    interview screen polls the recorder at 10 Hz and redraws the meter, clock and topics."""
    from guide_tui.recorder import attach_recorder
    from guide_tui.tui.app import make_app

    for item in guide.consent:
        session.append("consent", item=item.id, given=True)
    session.append("participant_confirmed", group=None)
    for field, value in (("role", "Office"), ("years-in-job", 12), ("works-remotely", True)):
        session.append("baseline_answer", field=field, value=value)
    session.append("interview_started")
    session.append("topic_entered", topic=guide.topics[0].id)
    built: list[Any] = []

    def factory(s):  # type: ignore[no-untyped-def]
        bridge = attach_recorder(s, config=config)
        built.append(bridge)
        return bridge

    app = make_app(session, guide, recorder_factory=factory, cursor_blink=False, resumed=True)
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 20
        while not (built and app.recorder is built[0]) and time.monotonic() < deadline:
            await pilot.pause(0.05)
        measured = await measure(built[0], mic, signal_path)
        await pilot.pause(0.2)
    return measured


def steady_share(samples: list[tuple[float, float]]) -> float | None:
    """CPU share once start-up is over (stream opening, first buffers): from 30 s to the end."""
    later = [(t, c) for t, c in samples if t >= 30]
    if len(later) < 2:
        return None
    return round((later[-1][1] - later[0][1]) / (later[-1][0] - later[0][0]), 4)


def locate_all(np, recorded, reference) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from virtual_mic import locate

    found = locate(recorded, reference)
    if found is None:
        return {"found": False}
    _offset, n_equal, n = found
    # The capture may stop inside the trailing 0.5 s of padding; the noise itself must be whole.
    return {
        "found": True,
        "samples": n,
        "equal": n_equal,
        "complete": n_equal == n and n >= len(reference) - RATE // 2,
    }


def poll_like_the_ui(recorder, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    """What the TUI does without drawing: poll the recorder at 10 Hz."""
    while not stop.wait(0.1):
        recorder.poll()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--tui", action="store_true", help="include the TUI (headless)")
    parser.add_argument("--blocksize", type=int, help="frames per callback (default: the config's)")
    args = parser.parse_args()
    result = run(args.seconds, args.tui, args.blocksize)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
