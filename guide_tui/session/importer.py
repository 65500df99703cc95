"""A session from a recording made elsewhere (``guide-tui import``): a dictaphone, a phone, a
video call. The result is a normal session folder — ``session.json``, the frozen ``guide.yaml``,
``events.jsonl`` through :meth:`Session.create` — with the audio as ``audio-001.wav``, no live
ticks (topics and codes come later, in review) and an ``imported`` fact in ``session.json``.

Why this shape:

- **Nothing half-made.** The session is built inside a hidden temporary folder in the recordings
  folder and renamed into place only when the audio is written and checked; a bad file (not
  audio, truncated, empty, a format nothing here reads) gets a one-line :class:`ImportAudioError`
  and the temporary folder is removed.
- **Lossless where it can be.** A WAV is copied byte for byte; FLAC/MP3/OGG (read by soundfile,
  libsndfile) and M4A/MP4/Opus/WebM/AAC (read by PyAV, already installed with faster-whisper; no
  ffmpeg binary) are decoded and written as PCM WAV, 24-bit when the source was, else 16-bit.
- **The session clock is the recording's.** ``interview_started`` and ``recording_started`` at
  0, ``session_ended`` at the audio's length, so durations, offsets and exports line up.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from guide_tui.errors import SessionError
from guide_tui.guide.model import Guide

AUDIO_NAME = "audio-001.wav"
SOUNDFILE_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".oga")
PYAV_SUFFIXES = (".m4a", ".mp4", ".opus", ".webm", ".aac", ".mka", ".mkv", ".mov", ".3gp")
SUFFIXES = SOUNDFILE_SUFFIXES + PYAV_SUFFIXES


class ImportAudioError(SessionError):
    """A recording that cannot become a session (one line for the user)."""


@dataclass(frozen=True)
class AudioInfo:
    samplerate: int
    channels: int
    frames: int
    format: str  # what it was: "WAV PCM_16", "m4a aac"
    converted: bool

    @property
    def seconds(self) -> float:
        return self.frames / self.samplerate if self.samplerate else 0.0


def _wav_truncated(path: Path) -> bool:
    """Whether a RIFF/WAVE file's ``data`` chunk claims more bytes than the file holds
    (libsndfile reads such a file quietly, only shorter)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF",) or head[8:12] != b"WAVE":
            return False  # RF64 and friends: left to libsndfile
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk = f.read(8)
            if len(chunk) < 8:
                return True
            ident, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if ident == b"data":
                return length != 0xFFFFFFFF and pos + 8 + length > size
            pos += 8 + length + (length & 1)
        return True  # no data chunk before the end


def _convert_soundfile(source: Path, target: Path) -> AudioInfo:
    import soundfile as sf

    with sf.SoundFile(str(source)) as src:
        if src.samplerate <= 0 or src.channels <= 0:
            raise ImportAudioError(f"{source}: no audio in it")
        subtype = "PCM_24" if src.subtype in ("PCM_24", "PCM_32", "FLOAT", "DOUBLE") else "PCM_16"
        frames = 0
        with sf.SoundFile(
            str(target), "w", samplerate=src.samplerate, channels=src.channels, subtype=subtype
        ) as out:
            for block in src.blocks(blocksize=65536, dtype="float32", always_2d=True):
                out.write(block)
                frames += len(block)
        return AudioInfo(src.samplerate, src.channels, frames, f"{src.format} {src.subtype}", True)


def _check_soundfile(source: Path) -> AudioInfo:
    """Read a WAV through to its end (a damaged one fails here, not in transcription)."""
    import soundfile as sf

    with sf.SoundFile(str(source)) as src:
        frames = 0
        for block in src.blocks(blocksize=65536, dtype="float32", always_2d=True):
            frames += len(block)
        return AudioInfo(src.samplerate, src.channels, frames, f"{src.format} {src.subtype}", False)


def _convert_pyav(source: Path, target: Path) -> AudioInfo:
    import av
    import numpy as np
    import soundfile as sf

    with av.open(str(source)) as container:
        if not container.streams.audio:
            raise ImportAudioError(f"{source}: no audio stream in it")
        stream = container.streams.audio[0]
        rate = int(stream.rate or stream.codec_context.sample_rate or 0)
        channels = min(int(stream.codec_context.channels or 1), 2)
        if rate <= 0:
            raise ImportAudioError(f"{source}: no audio in it")
        layout = "stereo" if channels == 2 else "mono"
        resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
        frames = 0
        codec = stream.codec_context.name
        with sf.SoundFile(
            str(target), "w", samplerate=rate, channels=channels, subtype="PCM_16"
        ) as out:

            def write(decoded: Any) -> None:
                nonlocal frames
                for frame in resampler.resample(decoded):
                    data = frame.to_ndarray()  # packed s16: (1, samples * channels)
                    block = np.asarray(data, dtype=np.int16).reshape(-1, channels)
                    out.write(block)
                    frames += len(block)

            for packet in container.demux(stream):
                for decoded in packet.decode():
                    write(decoded)
            write(None)  # flush the resampler
    fmt = source.suffix.lstrip(".").lower()
    return AudioInfo(rate, channels, frames, f"{fmt} {codec}", True)


def decode_to_wav(source: Path, target: Path) -> AudioInfo:
    """Write ``source`` as a WAV at ``target``; :class:`ImportAudioError` for a bad file."""
    suffix = source.suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportAudioError(
            f"{source}: unsupported audio format {suffix or '(no extension)'!r}; "
            f"use one of {', '.join(s.lstrip('.') for s in SUFFIXES)}"
        )
    try:
        if not source.is_file():
            raise ImportAudioError(f"{source}: no such file")
        if source.stat().st_size == 0:
            raise ImportAudioError(f"{source}: the file is empty (0 bytes)")
    except OSError as error:
        raise ImportAudioError(f"{source}: {error.strerror or error}") from None
    from guide_tui.terminal import capture_c_stderr

    # libmpg123 (inside libsndfile) prints "Note: Illegal Audio-MPEG-Header ..." and "Trying to
    # resync" on descriptor 2 for a damaged MP3: the user gets our one line instead.
    with capture_c_stderr() as decoder:
        try:
            info = _decode(source, target, suffix)
        except ImportAudioError:
            raise
        except Exception as error:  # libsndfile's and FFmpeg's many errors: all "not readable"
            failure: Exception | None = error
        else:
            failure = None
    if failure is not None:
        raise ImportAudioError(
            f"{source}: not readable as audio "
            f"(damaged, truncated or not audio: {_reason(failure, source, decoder.text)})"
        ) from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise ImportAudioError(f"{source}: no audio in it (0 samples)")
    return info


def _reason(error: Exception, source: Path, decoder_text: str) -> str:
    """A short reason from the library's error: libsndfile answers a file its MP3 decoder
    rejects with "File does not exist or is not a regular file (possibly a pipe?)", which is
    wrong; that one is replaced by what the decoder said."""
    detail = re.sub(r"\[Errno -?\d+\] ", "", " ".join(str(error).split()))
    detail = detail.replace(f"Error opening '{source}': ", "").replace(f": '{source}'", "")
    if "possibly a pipe" in detail or "not a regular file" in detail:
        if "Audio-MPEG-Header" in decoder_text or "resync" in decoder_text:
            return "no valid MPEG audio frames"
        return "the decoder found no audio it can read"
    return detail[:120] or type(error).__name__


def _decode(source: Path, target: Path, suffix: str) -> AudioInfo:
    if suffix not in SOUNDFILE_SUFFIXES:
        return _convert_pyav(source, target)
    if suffix != ".wav":
        return _convert_soundfile(source, target)
    if _wav_truncated(source):
        raise ImportAudioError(
            f"{source}: the WAV file is truncated (shorter than its header says)"
        )
    info = _check_soundfile(source)
    shutil.copyfile(source, target)  # lossless: the very bytes
    return info


def import_recording(
    source: str | os.PathLike[str],
    guide: Guide,
    participant: str,
    *,
    group: str | None = None,
    date: datetime | None = None,
    interviewer: str | None = None,
    root: str | os.PathLike[str] | None = None,
) -> Path:
    """Make a session folder from one recording; return its path."""
    from guide_tui.atomic import fsync_dir
    from guide_tui.paths import recordings_dir
    from guide_tui.session.clock import FrozenClock
    from guide_tui.session.events import EventType
    from guide_tui.session.pseudonym import folder_name, validate_pseudonym
    from guide_tui.session.store import Session, _ensure_root, _make_unique_folder, utc_now_iso

    source = Path(source)
    pseudonym = validate_pseudonym(participant)
    base = recordings_dir(root)
    _ensure_root(base)
    when = date
    if when is None:
        with contextlib.suppress(OSError):
            when = datetime.fromtimestamp(source.stat().st_mtime)
    when = (when or datetime.now()).astimezone()
    temp = Path(tempfile.mkdtemp(prefix=".import-", dir=base))
    try:
        wav = temp / AUDIO_NAME
        info = decode_to_wav(source, wav)
        clock = FrozenClock(0.0)
        session = Session.create(
            guide, pseudonym, group=group, interviewer=interviewer, root=temp, clock=clock
        )
        try:
            os.replace(wav, session.path / AUDIO_NAME)
            session.append(EventType.INTERVIEW_STARTED, imported=True)
            session.append(
                EventType.RECORDING_STARTED,
                file=AUDIO_NAME,
                device="imported",
                samplerate=info.samplerate,
                channels=info.channels,
            )
            clock.advance(info.seconds)
            session.append(EventType.SESSION_ENDED, imported=True)
            started = when.isoformat(timespec="seconds")
            ended = datetime.fromtimestamp(when.timestamp() + info.seconds, when.tzinfo)
            session.update_meta(
                status="ended",
                # the interview's date, for listings and headers (the import's is ``imported.at``)
                created=when.astimezone(timezone.utc).isoformat(timespec="milliseconds"),
                started=started,
                ended=ended.isoformat(timespec="seconds"),
                duration_s=round(info.seconds, 3),
                interview_seconds=round(info.seconds, 3),
                audio=[
                    {
                        "file": AUDIO_NAME,
                        "device": "imported",
                        "samplerate": info.samplerate,
                        "channels": info.channels,
                        "frames": info.frames,
                        "offset": 0.0,
                    }
                ],
                imported={
                    "source": source.name,
                    "format": info.format,
                    "converted": info.converted,
                    "at": utc_now_iso(),
                },
            )
        finally:
            session.close()
        stem = f"{when:%Y-%m-%d_%H%M}_{folder_name(pseudonym)}"
        final = _make_unique_folder(base, stem)  # reserved (empty): the rename replaces it
        os.replace(session.path, final)
        fsync_dir(base)
        return final
    finally:
        shutil.rmtree(temp, ignore_errors=True)
