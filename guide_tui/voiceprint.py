"""The interviewer's voice: the session's sample and the opt-in voice profile.

Two ways transcription knows the interviewer's voice before it hears the interview (naming:
``guide_tui.transcribe.speakers``):

- **The session's sample**: at the microphone check the interviewer says a sentence; those few
  seconds are kept in memory and written to the session folder as :data:`SAMPLE_FILE` when the
  interview starts with recording allowed (never before consent), and ``session.json``'s
  ``voice_check`` says so. Audio, not an embedding: the TUI loads no model; the embedding is
  computed at transcription.
- **The voice profile** (opt-in, ``guide-tui voice enroll``): the interviewer's embedding, 256
  floats and no audio, in the user config folder (:func:`profile_path`, owner-only). A session
  run while a profile exists records ``voice_check.profile: true`` (a flag, never the floats)
  and transcription then uses the profile when the session has no sample of its own. It is never
  copied into a session folder or an export; ``guide-tui voice forget`` deletes it.

Stdlib only at module level: the TUI asks :func:`has_profile` before its first screen.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from guide_tui import paths
from guide_tui.errors import ConfigError

SAMPLE_FILE = "voice-interviewer.wav"
PROFILE_FILE = "voice-profile.json"
PROFILE_KIND = "guide-tui interviewer voice profile"
MODEL = "resemblyzer 0.1.4 GE2E"  # embeddings of another model are not comparable
DIMENSIONS = 256
MIN_SPEECH_S = 2.0  # shorter samples embed unreliably (a "Hello." matched the wrong voice)


def profile_path() -> Path:
    return paths.config_dir() / PROFILE_FILE


def has_profile() -> bool:
    try:
        return profile_path().is_file()
    except OSError:
        return False


def save_profile(embedding: Sequence[float], *, speech_s: float) -> Path:
    """Store the embedding (owner-only file in an owner-only folder); returns its path."""
    from guide_tui.atomic import write_bytes_atomic

    values = [float(x) for x in embedding]
    if len(values) != DIMENSIONS:
        raise ConfigError(f"a voice profile has {DIMENSIONS} numbers, not {len(values)}")
    folder = paths.config_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = {
            "kind": PROFILE_KIND,
            "version": 1,
            "model": MODEL,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "speech_s": round(speech_s, 2),
            "embedding": [round(x, 6) for x in values],
        }
        path = write_bytes_atomic(profile_path(), (json.dumps(body) + "\n").encode())
    except OSError as error:
        raise ConfigError(
            f"{profile_path()}: cannot store the voice profile: {error.strerror or error}"
        ) from None
    return path


def load_profile() -> tuple[float, ...] | None:
    """The stored embedding; None when there is none. A damaged file is a ConfigError."""
    from guide_tui.userfiles import open_regular_file

    path = profile_path()
    try:
        with open_regular_file(path) as handle:
            raw = handle.read(1_000_000)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(
            f"{path}: cannot read the voice profile: {error.strerror or error}"
        ) from None
    try:
        body: Any = json.loads(raw.decode("utf-8"))
        values = body["embedding"]
        ok = body.get("kind") == PROFILE_KIND and body.get("model") == MODEL
        if not ok or not isinstance(values, list) or len(values) != DIMENSIONS:
            raise ValueError
        embedding = tuple(float(x) for x in values)
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
        raise ConfigError(
            f"{path}: not a voice profile of this version; run guide-tui voice forget and "
            "enroll again"
        ) from None
    return embedding


def forget_profile() -> bool:
    """Delete the profile; False when there was none."""
    path = profile_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as error:
        raise ConfigError(
            f"{path}: cannot delete the voice profile: {error.strerror or error}"
        ) from None
    return True


def profile_info() -> dict[str, Any] | None:
    """What ``guide-tui voice`` shows: when and how long, never the numbers."""
    if load_profile() is None:
        return None
    body = json.loads(profile_path().read_text(encoding="utf-8"))
    return {"path": str(profile_path()), "created": body.get("created"),
            "speech_s": body.get("speech_s")}  # fmt: skip
