"""``guide-tui review SESSION``: read the transcript while listening to the recording (issue 13).

    guide-tui review SESSION [--device D] [--theme dark|light]

The session is read as the exports read it (:func:`~guide_tui.export.session_data.read_session`,
the transcript model), so the review shows what the exports write. A bad folder or a missing
transcript is a one-line error before any screen opens. Textual and the audio stack are imported
inside :func:`review` only.

Settings (config.toml, ``[review]``): ``play_pause`` (keys, default ``"f5,escape"``; a foot
pedal that sends a key goes here), ``rewind`` (seconds replayed when resuming, default 1.5).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

ORDER = 45
DEFAULT_PLAY_PAUSE = "f5,escape"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "review",
        help="read a session's transcript while listening to its audio",
        description="Go through the transcript turn by turn with the recording: playback follows "
        "the cursor, slower or faster without changing pitch, and `n` jumps to the next place "
        "that needs a look.",
    )
    parser.add_argument("session", metavar="SESSION", help="the session folder")
    parser.add_argument(
        "--device",
        "-d",
        metavar="D",
        help="audio output: PortAudio index or part of its name (default: the system's)",
    )
    parser.add_argument("--theme", choices=("dark", "light"), default="dark")
    parser.add_argument("--read-only", action="store_true", help="listen and read; change nothing")
    parser.set_defaults(func=review)


def review_settings() -> tuple[str, float]:
    """``[review] play_pause`` and ``rewind`` from config.toml, checked."""
    from guide_tui.errors import ConfigError
    from guide_tui.paths import config_file, read_config

    table = read_config().get("review", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{config_file()}: [review] must be a table")
    keys = table.get("play_pause", DEFAULT_PLAY_PAUSE)
    if not isinstance(keys, str) or not keys.strip() or " " in keys.strip():
        raise ConfigError(
            f"{config_file()}: [review] play_pause must be key names separated by commas, "
            'e.g. "f5,escape" or "f4"'
        )
    rewind = table.get("rewind", 1.5)
    if isinstance(rewind, bool) or not isinstance(rewind, (int, float)) or not 0 <= rewind <= 10:
        raise ConfigError(f"{config_file()}: [review] rewind must be seconds from 0 to 10")
    return keys.strip(), float(rewind)


def review(args: argparse.Namespace) -> int:
    from pathlib import Path

    from guide_tui.commands.run import require_terminal
    from guide_tui.errors import GuideTuiError

    play_pause, rewind = review_settings()
    app = build_review_app(
        Path(args.session),
        device=args.device,
        theme=args.theme,
        play_pause=play_pause,
        rewind=rewind,
        read_only=args.read_only,
        defer=True,  # the first frame first; the model is built behind "loading transcript…"
    )
    require_terminal()
    from guide_tui.terminal import divert_c_stderr

    # Playback libraries write to descriptor 2 ("ALSA lib pcm.c: underrun occurred"), which is
    # also the screen Textual draws on: as in `run`, they go to the session's messages.log.
    with divert_c_stderr(Path(args.session) / "messages.log") as log:
        app.run()
    if log is not None and log.exists():
        print(f"Messages from the audio system were kept in {log}", file=sys.stderr)
    if app.return_code not in (None, 0):
        raise GuideTuiError("the review screen ended with an error")
    return 0


def build_review_app(
    folder: Any,
    *,
    device: str | None = None,
    theme: str = "dark",
    play_pause: str = DEFAULT_PLAY_PAUSE,
    rewind: float = 1.5,
    read_only: bool = False,
    defer: bool = False,
) -> Any:
    """The review app for a session folder (also what the tests and the bench open).

    Reads the folder with the readers the exports use (the same checks: links, a damaged
    ``session.json``), but not :func:`~guide_tui.export.session_data.read_session` as a whole:
    its pass over every string of the session cost a third of a second on a 60-minute
    transcript, and the screen must open in under a second (docs/benchmarks-tui.md).
    ``defer``: the transcript model (the rows) is built after the first frame, off the UI
    thread, while the screen says "loading transcript…" (``guide-tui review`` does this).
    """
    from pathlib import Path

    from guide_tui.errors import GuideTuiError
    from guide_tui.session.store import read_events, read_meta
    from guide_tui.transcript.corrections import CorrectionLog
    from guide_tui.transcript.review import ReviewDocument
    from guide_tui.transcript.source import load_transcript
    from guide_tui.tui.screens.review import make_review_app

    folder = Path(folder)
    if not folder.is_dir():
        raise GuideTuiError(f"{folder}: no such session folder")
    meta = read_meta(folder)  # also refuses a linked transcript.json, events.jsonl, ...
    transcript = load_transcript(folder / "transcript.json", missing_ok=True)
    if transcript is None:
        raise GuideTuiError(
            f"{folder}: no transcript.json yet; run `guide-tui transcribe {folder}` first"
        )
    events, _torn = read_events(folder)

    def load_guide() -> Any:
        from guide_tui.export.session_data import load_guide_file

        return load_guide_file(folder / "guide.yaml")[0]

    titles = dict(transcript.topic_titles)
    if not titles:  # older transcripts: the frozen guide names the topics
        guide = load_guide()
        titles = {t.id: t.title for t in guide.topics} if guide is not None else {}
    log = None if read_only else CorrectionLog.open(folder)
    document = ReviewDocument(
        transcript,
        [e.to_json_dict() for e in events],
        log,
        titles=titles,
        guide_loader=load_guide,
        defer=defer,
    )
    rows = document.rows
    # (a deferred document widens this itself once its rows are built)
    duration = max([transcript.duration or 0.0] + [r.end for r in rows])
    listed = meta
    if isinstance(transcript.raw.get("audio"), list):
        listed = transcript.raw  # the offsets the transcript's times were made with
    output: int | str | None = int(device) if device and device.isdigit() else device
    participant = str(meta.get("participant") or folder.name)

    def player_factory() -> Any:
        """Runs off the UI thread: soundfile, numpy and PortAudio load here."""
        from guide_tui.export.session_data import audio_files
        from guide_tui.recorder.playback import Player, SessionAudio
        from guide_tui.session.audio_offsets import recorded_offsets

        files = audio_files(folder, meta)
        audio = SessionAudio(list(files), recorded_offsets(listed, [p.name for p in files]))
        return Player(audio, device=output, rewind=rewind)

    return make_review_app(
        rows,
        title=f"{participant} · {folder.name}",
        duration=duration,
        player_factory=player_factory,
        play_pause=play_pause,
        theme=theme,
        document=document,
    )
