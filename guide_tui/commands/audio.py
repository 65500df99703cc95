"""``guide-tui devices`` and ``guide-tui mic-check``: find the microphone and try it before the
interview.

Stdlib only at module level (the CLI must start fast): PortAudio and numpy are loaded inside the
commands, and every failure (no PortAudio, no device, device busy) is a ``RecorderError`` printed
as one line without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

ORDER = 40


def register(subparsers: Any) -> None:
    devices = subparsers.add_parser(
        "devices",
        help="list audio inputs (channels, default rate; the default marked *)",
        description="List the audio input devices PortAudio can record from. The default input "
        "is marked with *. Use the index or part of the name with --device.",
    )
    devices.add_argument("--json", action="store_true", help="machine-readable output")
    devices.set_defaults(func=devices_command)

    check = subparsers.add_parser(
        "mic-check",
        help="record a few seconds and report level, noise floor and clipping",
        description="Listen to the microphone for a few seconds (speak normally meanwhile) and "
        "say in plain words whether the level is right. Nothing is saved.",
    )
    check.add_argument("--device", "-d", help="input device: index or part of its name")
    check.add_argument("--seconds", "-s", type=float, default=5.0, help="how long (default 5)")
    check.add_argument("--samplerate", type=int, help="frames per second (default: device's)")
    check.add_argument("--channels", type=int, choices=(1, 2), help="1 or 2 microphones")
    check.add_argument(
        "--audio-file", metavar="FILE", help="check a recorded file played in real time instead"
    )
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(func=mic_check_command)


def devices_command(args: argparse.Namespace) -> int:
    from guide_tui.recorder.devices import list_input_devices

    devices = list_input_devices()
    if args.json:
        print(json.dumps([device.__dict__ for device in devices], indent=2))
        return 0
    if not devices:
        print("No audio input devices found. Interviews can still be run notes-only.")
        return 1
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from guide_tui.safetext import terminal_text

    table = Table(box=None, pad_edge=False)
    columns = (
        ("", "left"),
        ("index", "right"),
        ("name", "left"),
        ("channels", "right"),
        ("default rate", "right"),
        ("host API", "left"),
    )
    for column, justify in columns:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for device in devices:
        table.add_row(
            "*" if device.is_default else "",
            str(device.index),
            Text(terminal_text(device.name)),  # the driver's text: never markup
            str(device.channels),
            f"{device.default_samplerate} Hz",
            Text(terminal_text(device.hostapi)),
        )
    Console().print(table)
    return 0


def mic_check_command(args: argparse.Namespace) -> int:
    from guide_tui.errors import RecorderError
    from guide_tui.recorder.config import load_recorder_config
    from guide_tui.recorder.mic_check import run_mic_check

    if not 0 < args.seconds <= 600:  # also refuses nan, which every comparison lets through
        raise RecorderError("--seconds must be between 0 and 600")
    config = load_recorder_config(
        device=args.device, samplerate=args.samplerate, channels=args.channels
    )
    factory = None
    if args.audio_file is not None:
        from guide_tui.recorder.sources import FileSource
        from guide_tui.userfiles import regular_file_problem

        path = args.audio_file
        problem = regular_file_problem(path)  # a FIFO or /dev/zero would never end
        if problem is not None:
            raise RecorderError(f"--audio-file {path}: {problem}")
        factory = lambda: FileSource(path, config)  # noqa: E731
    if not args.json:
        print(f"Listening for {args.seconds:g} s: please speak normally…", file=sys.stderr)
    result = run_mic_check(config, args.seconds, factory)
    if args.json:
        print(json.dumps(result.__dict__, indent=2))
    else:
        print(f"Device:      {result.device} ({result.samplerate} Hz, {result.channels} ch)")
        print(f"Level:       {result.rms_db:.1f} dBFS average, peak {result.peak_db:.1f} dBFS")
        print(f"Speech:      about {result.speech_db:.1f} dBFS")
        floor = result.noise_floor_db
        print(
            "Noise floor: "
            + (f"{floor:.1f} dBFS" if floor is not None else "not measured (no pause heard)")
        )
        print(f"Clipping:    {result.clipped_samples} samples at full scale")
        print(f"Verdict:     {result.verdict.upper()}: {result.advice}")
    return 0 if result.ok else 1
