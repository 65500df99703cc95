"""Session audio for Whisper: read, mix, resample, find speech, plan windows.

- **soundfile, not ffmpeg.** Session files are WAV written by our recorder; soundfile reads them
  (including one whose header was not updated before a crash: libsndfile takes the data length from
  the file size). Nothing here needs the ``ffmpeg`` program that openai-whisper calls for files.
- **Resampling in numpy** (no scipy, no soxr): a polyphase windowed-sinc filter (Kaiser, 16 zero
  crossings each side, each phase normalised to unity gain) computes every output sample from its
  own neighbourhood only, so any span can be resampled on its own and gives bit-for-bit the same
  samples as resampling the whole file. That is what makes window-by-window resume exact.
- **The session clock.** Each file (``audio-001.wav``, ``audio-002.wav`` after a lost device) lies
  at its ``offset`` from ``session.json`` (:mod:`guide_tui.session.audio_offsets`): the clock ran
  on while the device was gone, so a time is the same ``t`` as ``events.jsonl`` and the outage is a
  gap with no audio, never transcribed. Without recorded offsets the files follow each other.
- **Speech detection by energy.** 20 ms frames of the channel mix; the threshold sits 12 dB over
  the recording's own noise floor (10th percentile), kept between -55 and -35 dBFS. Only long
  silences (``min_silence_s``) are left out: Whisper invents text over silence, but a detector that
  cuts short pauses would cut quiet speech too, and lost speech is worse than a silent second.
- **Windows.** Speech is transcribed in windows of about ``window_s`` seconds of audio, each made of
  the speech chunks it holds, concatenated (as faster-whisper's own VAD does) and mapped back to
  session time afterwards. A chunk longer than a window is cut at its quietest frame near the limit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from guide_tui.errors import TranscriptionError

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 16000
FRAME_S = 0.02  # energy frames
_ZERO_CROSSINGS = 16
_BLOCK_S = 30.0  # read size while scanning


# --------------------------------------------------------------------------- resampling


@dataclass(frozen=True)
class _Polyphase:
    up: int
    down: int
    half: int  # input taps each side of the centre
    table: np.ndarray  # (up, 2*half) weights per phase


@lru_cache(maxsize=8)
def _polyphase(sr_in: int, sr_out: int) -> _Polyphase:
    import numpy as np

    g = math.gcd(sr_in, sr_out)
    up, down = sr_out // g, sr_in // g
    fc = 0.97 / max(up, down)  # cutoff as a fraction of the upsampled Nyquist, a little under it
    half = math.ceil(_ZERO_CROSSINGS * max(up, down) / up)
    width = half * up  # filter half-width on the upsampled grid
    k = np.arange(2 * half)
    p = np.arange(up)[:, None]
    d = (p + (half - 1 - k[None, :]) * up).astype(np.float64)  # distance from the output instant
    window = np.i0(8.0 * np.sqrt(np.clip(1.0 - (d / width) ** 2, 0.0, 1.0))) / np.i0(8.0)
    table = np.sinc(fc * d) * window
    table /= table.sum(axis=1, keepdims=True)
    return _Polyphase(up, down, half, table.astype(np.float32))


def input_span(sr_in: int, out_start: int, out_end: int) -> tuple[int, int]:
    """Input sample range ``[a, b)`` needed to compute 16 kHz samples ``[out_start, out_end)``."""
    if sr_in == SAMPLE_RATE:
        return out_start, out_end
    pp = _polyphase(sr_in, SAMPLE_RATE)
    first = (out_start * pp.down) // pp.up - pp.half + 1
    last = ((out_end - 1) * pp.down) // pp.up + pp.half
    return first, last + 1


def resample_span(
    x: np.ndarray, x_start: int, sr_in: int, out_start: int, out_end: int
) -> np.ndarray:
    """16 kHz samples ``[out_start, out_end)`` from ``x``, which begins at input sample ``x_start``.

    ``x`` must cover :func:`input_span` (samples outside the file count as zeros: pass them padded).
    """
    import numpy as np

    n_out = out_end - out_start
    if n_out <= 0:
        return np.zeros(0, np.float32)
    if sr_in == SAMPLE_RATE:
        return np.ascontiguousarray(x[out_start - x_start : out_end - x_start], dtype=np.float32)
    pp = _polyphase(sr_in, SAMPLE_RATE)
    out = np.empty(n_out, np.float32)
    taps = np.arange(2 * pp.half)
    block = max(1, 1_000_000 // (2 * pp.half))
    for b0 in range(0, n_out, block):
        n = np.arange(out_start + b0, out_start + min(n_out, b0 + block), dtype=np.int64)
        t = n * pp.down
        base = t // pp.up
        phase = t % pp.up
        idx = (base - pp.half + 1 - x_start)[:, None] + taps[None, :]
        out[b0 : b0 + len(n)] = np.einsum("ij,ij->i", x[idx], pp.table[phase])
    return out


def resample(x: np.ndarray, sr_in: int) -> np.ndarray:
    """A whole mono signal at ``sr_in`` → 16 kHz float32 (zeros assumed outside it)."""
    import numpy as np

    n_out = (len(x) * SAMPLE_RATE) // sr_in
    a, b = input_span(sr_in, 0, n_out)
    padded = np.zeros(b - a, np.float32)
    lo, hi = max(a, 0), min(b, len(x))
    padded[lo - a : hi - a] = x[lo:hi]
    return resample_span(padded, a, sr_in, 0, n_out)


# --------------------------------------------------------------------------- session audio


@dataclass
class AudioFile:
    """One session file and what the scan learnt about it."""

    path: Path
    offset: float  # where it starts on the session clock
    frames: int
    samplerate: int
    channels: int
    frame_db: np.ndarray | None = None  # mix level per 20 ms frame, dBFS
    channel_db: np.ndarray | None = None  # (frames, channels) level per channel, dBFS

    @property
    def duration(self) -> float:
        return self.frames / self.samplerate

    @property
    def samples16k(self) -> int:
        return (self.frames * SAMPLE_RATE) // self.samplerate

    def to_json_dict(self, root: Path | None = None) -> dict:
        name = self.path.name if root is None else str(self.path.relative_to(root))
        return {
            "file": name,
            "offset": round(self.offset, 6),
            "duration": round(self.duration, 6),
            "samplerate": self.samplerate,
            "channels": self.channels,
        }


def open_audio(
    paths: Sequence[Path], offsets: Sequence[float | None] | None = None
) -> list[AudioFile]:
    """Describe the files, each at its place on the session clock.

    ``offsets`` are the recorded starts (``session.json``; None where unknown), placed by
    :func:`guide_tui.session.audio_offsets.place_audio`; without them the files are laid end to
    end. :class:`TranscriptionError` for unreadable files.
    """
    import soundfile as sf

    from guide_tui.session.audio_offsets import place_audio

    files: list[AudioFile] = []
    for path in paths:
        try:
            info = sf.info(str(path))
        except (RuntimeError, OSError) as error:  # soundfile raises LibsndfileError(RuntimeError)
            raise TranscriptionError(f"cannot read audio {path}: {error}") from None
        frames = info.frames
        if frames <= 0 and path.stat().st_size > 44:
            frames = _count_frames(path)
        files.append(AudioFile(path, 0.0, frames, info.samplerate, info.channels))
    recorded = list(offsets) if offsets is not None else [None] * len(files)
    for f, start in zip(files, place_audio([f.duration for f in files], recorded), strict=True):
        f.offset = start
    return files


def audio_end(files: Sequence[AudioFile]) -> float:
    """Where the audio ends on the session clock (the last file's end; gaps included)."""
    return max((f.offset + f.duration for f in files), default=0.0)


def gaps(files: Sequence[AudioFile], min_s: float = 0.001) -> list[tuple[float, float]]:
    """Stretches of the session clock between files with no audio (a lost device), in order."""
    out = []
    for a, b in itertools.pairwise(files):
        if b.offset - (a.offset + a.duration) >= min_s:
            out.append((a.offset + a.duration, b.offset))
    return out


def _count_frames(path: Path) -> int:
    import soundfile as sf

    n = 0
    with sf.SoundFile(str(path)) as f:
        for block in f.blocks(blocksize=1 << 16, dtype="float32", always_2d=True):
            n += len(block)
    return n


def read_frames(f: AudioFile, start: int, stop: int) -> np.ndarray:
    """Native-rate frames ``[start, stop)``, float32 ``(n, channels)``, zeros outside the file."""
    import numpy as np
    import soundfile as sf

    out = np.zeros((stop - start, f.channels), np.float32)
    a, b = max(0, start), min(f.frames, stop)
    if b > a:
        with sf.SoundFile(str(f.path)) as sfile:
            sfile.seek(a)
            data = sfile.read(b - a, dtype="float32", always_2d=True)
        out[a - start : a - start + len(data)] = data
    return out


def scan(f: AudioFile, cancel: Callable[[], bool] | None = None) -> None:
    """Fill ``frame_db`` / ``channel_db`` (one pass over the file in 30 s blocks)."""
    import numpy as np
    import soundfile as sf

    hop = max(1, round(FRAME_S * f.samplerate))
    n_frames = f.frames // hop
    ch = np.full((n_frames, f.channels), -120.0, np.float32)
    block = hop * max(1, round(_BLOCK_S / FRAME_S))
    with sf.SoundFile(str(f.path)) as sfile:
        i = 0
        while i < n_frames:
            if cancel is not None and cancel():
                raise KeyboardInterrupt
            want = min(block, (n_frames - i) * hop)
            data = sfile.read(want, dtype="float32", always_2d=True)
            k = len(data) // hop
            if k == 0:
                break
            frames = data[: k * hop].reshape(k, hop, f.channels)
            power = np.mean(frames.astype(np.float64) ** 2, axis=1)
            ch[i : i + k] = 10.0 * np.log10(np.maximum(power, 1e-12))
            i += k
    mix_power = np.mean(10.0 ** (ch.astype(np.float64) / 10.0), axis=1)
    f.channel_db = ch
    f.frame_db = (10.0 * np.log10(np.maximum(mix_power, 1e-12))).astype(np.float32)


def speech_threshold(frame_db: np.ndarray) -> float:
    import numpy as np

    if len(frame_db) == 0:
        return -55.0
    floor = float(np.percentile(frame_db, 10))
    return min(max(floor + 12.0, -55.0), -35.0)


def speech_chunks(
    f: AudioFile,
    min_silence_s: float,
    pad_before_s: float = 1.0,
    pad_after_s: float = 0.5,
    min_run_s: float = 0.1,
) -> list[tuple[float, float]]:
    """Spans (file seconds) holding speech; silences under ``min_silence_s`` stay inside them.

    A chunk keeps a second of the silence before its speech: measured on tiny.en, starting the
    audio 0.6 s before the first word instead of 1.0 s doubled the WER (0.035 → 0.070), and the
    decoder's context carries such an early error into later turns.
    Runs shorter than ``min_run_s`` (a click, a knock) are not speech.
    """
    import numpy as np

    assert f.frame_db is not None
    active = f.frame_db > speech_threshold(f.frame_db)
    if not active.any():
        return []
    idx = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    runs = [
        (int(a) * FRAME_S, int(b) * FRAME_S)
        for a, b in zip(idx[::2], idx[1::2], strict=True)
        if (int(b) - int(a)) * FRAME_S >= min_run_s
    ]
    merged: list[list[float]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] < min_silence_s:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    duration = f.duration
    padded = [(max(0.0, a - pad_before_s), min(duration, b + pad_after_s)) for a, b in merged]
    out: list[tuple[float, float]] = []
    for a, b in padded:  # padding may make neighbours touch: join them
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], b)
        elif b > a:
            out.append((a, b))
    return out


@dataclass
class Window:
    """Audio the engine hears in one call: chunks of one file, concatenated."""

    index: int
    file: AudioFile
    chunks: list[tuple[int, int]] = field(default_factory=list)  # 16 kHz sample spans in the file

    @property
    def start(self) -> float:  # session clock
        return self.file.offset + self.chunks[0][0] / SAMPLE_RATE

    @property
    def end(self) -> float:
        return self.file.offset + self.chunks[-1][1] / SAMPLE_RATE

    @property
    def speech_s(self) -> float:
        return sum(b - a for a, b in self.chunks) / SAMPLE_RATE

    def key(self) -> list:
        """What identifies the window in a checkpoint."""
        return [self.file.path.name, [[a, b] for a, b in self.chunks]]

    def to_session_time(self, t: float, *, end: bool = False) -> float:
        """Map a time in the concatenated window audio back onto the session clock."""
        pos = t * SAMPLE_RATE
        acc = 0
        for i, (a, b) in enumerate(self.chunks):
            length = b - a
            last = i == len(self.chunks) - 1
            if pos < acc + length or (end and pos <= acc + length) or last:
                local = min(max(pos - acc, 0), length)
                return self.file.offset + (a + local) / SAMPLE_RATE
            acc += length
        return self.end  # pragma: no cover - loop always returns

    def read16k(self) -> np.ndarray:
        """The window's audio: channel mix at 16 kHz, chunks concatenated."""
        import numpy as np

        parts = []
        for a, b in self.chunks:
            ia, ib = input_span(self.file.samplerate, a, b)
            x = read_frames(self.file, ia, ib).mean(axis=1)
            parts.append(resample_span(x, ia, self.file.samplerate, a, b))
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def plan_windows(
    files: Sequence[AudioFile], *, window_s: float, vad: bool, min_silence_s: float
) -> list[Window]:
    """Cut every file's speech into windows of at most ``window_s`` seconds (deterministic)."""
    windows: list[Window] = []
    for f in files:
        assert f.frame_db is not None
        total = f.samples16k
        if vad:
            spans = [
                (round(a * SAMPLE_RATE), min(total, round(b * SAMPLE_RATE)))
                for a, b in speech_chunks(f, min_silence_s)
            ]
        else:
            spans = [(0, total)] if total > 0 else []
        limit = round(window_s * SAMPLE_RATE)
        pieces: list[tuple[int, int]] = []
        for a, b in spans:
            while b - a > limit:
                cut = _quietest(f, a + int(limit * 0.75), a + limit)
                pieces.append((a, cut))
                a = cut
            if b > a:
                pieces.append((a, b))
        current: Window | None = None
        used = 0
        for a, b in pieces:
            if current is None or used + (b - a) > limit:
                current = Window(len(windows), f)
                windows.append(current)
                used = 0
            current.chunks.append((a, b))
            used += b - a
    return windows


def _quietest(f: AudioFile, lo: int, hi: int) -> int:
    """The 16 kHz sample at the start of the quietest 20 ms frame in ``[lo, hi)``."""
    import numpy as np

    assert f.frame_db is not None
    step = round(FRAME_S * SAMPLE_RATE)
    i0, i1 = lo // step, max(lo // step + 1, hi // step)
    seg = f.frame_db[i0:i1]
    if len(seg) == 0:
        return hi
    return int((i0 + int(np.argmin(seg))) * step)
