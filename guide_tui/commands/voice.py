"""``guide-tui voice``: the interviewer's opt-in voice profile (see :mod:`guide_tui.voiceprint`).

``voice enroll`` listens to the interviewer (or reads a recording of them alone) and stores their
voice as 256 numbers, no audio, in the user config folder; ``voice forget`` deletes it; ``voice``
alone says whether one is stored. Stdlib only at module level; the speaker model loads inside
``enroll``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

ORDER = 45
ENROL_SECONDS = 20.0
MIN_PROFILE_SPEECH_S = 5.0  # a profile is used in every session: ask for more than a sample


def register(subparsers: Any) -> None:
    voice = subparsers.add_parser(
        "voice",
        help="the interviewer's voice profile: enroll, forget, or show whether one is stored",
        description="An opt-in voice profile lets transcription tell the interviewer's voice from "
        "the participant's in every session you run, even without a voice sample at the "
        "microphone check. It is 256 numbers describing your voice (no audio), kept in your "
        "config folder, readable by you only, and never put in a session folder or an export.",
    )
    sub = voice.add_subparsers(dest="voice_command", metavar="ACTION")
    enroll = sub.add_parser(
        "enroll",
        aliases=["enrol"],
        help="record your voice (about 20 s of you reading aloud) and store the profile",
        description="Read aloud for the whole time (any text; you alone, as at an interview). "
        "Replaces a stored profile.",
    )
    enroll.add_argument("--device", "-d", help="input device: index or part of its name")
    enroll.add_argument(
        "--seconds", "-s", type=float, default=ENROL_SECONDS, help="how long (default 20)"
    )
    enroll.add_argument(
        "--audio-file", metavar="FILE", help="enrol from a recording of you alone instead"
    )
    enroll.set_defaults(func=run_enroll)
    forget = sub.add_parser("forget", help="delete the stored voice profile")
    forget.set_defaults(func=run_forget)
    show = sub.add_parser("show", help="whether a profile is stored (the default)")
    show.set_defaults(func=run_show)
    voice.set_defaults(func=run_show)


def run_show(args: argparse.Namespace) -> int:
    from guide_tui.voiceprint import profile_info, profile_path

    info = profile_info()
    if info is None:
        print(f"No voice profile stored (it would be {profile_path()}).")
        print("Enroll with: guide-tui voice enroll")
        return 0
    print(f"Voice profile enrolled {info['created']} from {info['speech_s']} s of speech.")
    print(f"Stored in {info['path']} (yours only; never exported).")
    print("Sessions you run from now on start enrolled. Delete it with: guide-tui voice forget")
    return 0


def run_forget(args: argparse.Namespace) -> int:
    from guide_tui.voiceprint import forget_profile

    if forget_profile():
        print("Voice profile deleted.")
    else:
        print("No voice profile was stored.")
    return 0


def run_enroll(args: argparse.Namespace) -> int:
    from guide_tui.errors import ConfigError
    from guide_tui.transcribe import diarize

    diarize.model_path()  # one clear line when the speaker model is not installed
    if args.audio_file is not None:
        from pathlib import Path

        from guide_tui.transcribe.speakers import voice_of_file

        got = voice_of_file(Path(args.audio_file), min_speech_s=MIN_PROFILE_SPEECH_S)
        where = args.audio_file
    else:
        got = _from_microphone(args)
        where = "the microphone"
    if got is None:
        raise ConfigError(
            f"too little speech from {where} for a voice profile (at least "
            f"{MIN_PROFILE_SPEECH_S:g} s): read aloud for the whole time; nothing was stored"
        )
    from guide_tui.voiceprint import save_profile

    path = save_profile(got[0], speech_s=got[1])
    print(f"Voice profile stored ({got[1]:.1f} s of speech) in {path}.")
    print("Sessions you run from now on start enrolled. Delete it with: guide-tui voice forget")
    return 0


def _from_microphone(args: argparse.Namespace) -> tuple[tuple[float, ...], float] | None:
    from guide_tui.errors import RecorderError
    from guide_tui.recorder.config import load_recorder_config
    from guide_tui.recorder.mic_check import MicCheck
    from guide_tui.transcribe.speakers import voice_of_audio

    if not 3 <= args.seconds <= 300:  # also refuses nan
        raise RecorderError("--seconds must be between 3 and 300")
    config = load_recorder_config(device=args.device)
    check = MicCheck(config, args.seconds, continuous=True)
    check.start()
    try:
        check.take("enrol", args.seconds)
        print(f"Read aloud for {args.seconds:g} s…", file=sys.stderr)
        deadline = time.monotonic() + args.seconds + config.start_timeout_seconds + 10
        while (take := check.taken("enrol")) is None:
            if check.error or time.monotonic() > deadline:
                raise RecorderError(check.error or "the microphone stopped delivering audio")
            time.sleep(0.1)
    finally:
        check.stop()
    return voice_of_audio(take.audio, take.samplerate, MIN_PROFILE_SPEECH_S)
