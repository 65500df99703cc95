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
    """Pink noise at -20 dBFS, int16, 48 kHz mono, no dither: every sample is checkable."""
    out = folder / "bench-signal.wav"
    subprocess.run(
        ["sox", "-D", "-n", "-r", str(RATE), "-c", "1", "-e", "signed-integer", "-b", "16",
         str(out), "synth", str(seconds), "pinknoise", "gain", "-n", "-20",
         "pad", "0.5", "0.5"],
        check=True,
    )  # fmt: skip
    return out


def run(seconds: float, with_tui: bool) -> dict[str, object]:
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
    with virtual_mic(work / "pa", rate=RATE) as mic:
        assert mic.daemon is not None
        session = Session.create(load_guide(ROOT / "guides" / "demo.yaml"), "BENCH",
                                 root=work / "recordings")  # fmt: skip
        recorder = attach_recorder(session, config=RecorderConfig(samplerate=RATE))
        stop_polling = threading.Event()
        app_thread = None
        if with_tui:
            app_thread = start_tui(session, recorder, stop_polling)
        else:
            app_thread = threading.Thread(target=poll_like_the_ui, args=(recorder, stop_polling))
            app_thread.start()
        recorder.start()
        deadline = time.monotonic() + 15
        while recorder.now() <= 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        rss_samples: list[tuple[float, int]] = []
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        pulse0 = proc_cpu_seconds(mic.daemon.pid)
        load0 = os.getloadavg()
        wall0 = time.monotonic()
        player = mic.play(signal_path)
        cpu_samples: list[tuple[float, float]] = []
        while player.poll() is None:
            now = time.monotonic() - wall0
            rss_samples.append((now, rss_kib()))
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu_samples.append((now, usage.ru_utime + usage.ru_stime))
            time.sleep(1.0)
        time.sleep(2.0)  # what the server still buffers reaches the recorder
        wall = time.monotonic() - wall0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        pulse1 = proc_cpu_seconds(mic.daemon.pid)
        load1 = os.getloadavg()
        status = recorder.poll()
        run_ = getattr(recorder.recorder, "_run", None)
        worst_deficit = run_.drops.worst_deficit if run_ is not None else None
        recorder.stop()
        stop_polling.set()
        app_thread.join(10)
        final = recorder.poll()
        session.close()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    after_warmup = [kib for t, kib in rss_samples if t >= 30] or [rss_samples[-1][1]]
    # Read only now: the 55 MB reference must not count in the recorder's memory.
    reference, _ = sf.read(signal_path, dtype="int16")
    recorded, _ = sf.read(session.path / final.files[0].file, dtype="int16")
    exact = locate_all(np, recorded, reference)
    result.update(
        {
            "wall_s": round(wall, 1),
            "cpu_share_of_one_core": round(cpu / wall, 4),
            "cpu_share_after_30s": steady_share(cpu_samples),
            "pulse_daemon_cpu_share": round((pulse1 - pulse0) / wall, 4),
            "rss_peak_mib": round(max(k for _, k in rss_samples) / 1024, 1),
            "rss_growth_after_30s_mib": round((after_warmup[-1] - after_warmup[0]) / 1024, 2),
            "maxrss_mib": round(cpu1.ru_maxrss / 1024, 1),
            "dropped_frames_reported": final.dropped_frames,
            "overflows": final.overflows,
            "played_signal_bit_exact": exact,
            "max_queue_depth_blocks": final.max_queue_depth,
            "max_queue_depth_ms": round(final.max_queue_depth * 1024 / RATE * 1000, 1),
            "worst_callback_deficit_ms": (
                round(worst_deficit * 1000, 1) if worst_deficit is not None else None
            ),
            "frames_recorded": final.files[0].frames,
            "warnings": sorted({w.kind for w in status.warnings}),
            "loadavg_start": [round(v, 2) for v in load0],
            "loadavg_end": [round(v, 2) for v in load1],
        }
    )
    return result


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


def start_tui(session, recorder, stop: threading.Event) -> threading.Thread:  # type: ignore[no-untyped-def]
    from guide_tui.tui.meter import run_headless_meter_app

    thread = threading.Thread(
        target=run_headless_meter_app, args=(recorder, stop), name="bench-tui", daemon=True
    )
    thread.start()
    return thread


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--tui", action="store_true", help="include the TUI (headless)")
    args = parser.parse_args()
    result = run(args.seconds, args.tui)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
