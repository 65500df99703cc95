"""Who speaks when, on one microphone: local speaker diarization with Resemblyzer's GE2E encoder.

Why this model: its weights (17 MB, ``pretrained.pt``) ship inside the ``resemblyzer`` wheel, so
nothing is fetched from a model hub at run time, in tests or in CI; pyannote, SpeechBrain and NeMo
all download from Hugging Face / NGC (docs/transcription.md, "Speakers"). We load only the weights
file: the package's own ``__init__`` imports librosa and webrtcvad, which we do not need (the
40-band mel spectrogram is a few lines of numpy, below, matching librosa's Slaney filterbank).

How: speech runs come from the scan's 20 ms energy frames (split at 0.2 s of silence); each run is
embedded whole when short (a "Yes." is one embedding) and in 1.5 s windows with a 0.75 s hop when
long. Runs are cut into units of at most 3 s, clustered by average-linkage agglomeration on cosine
similarity down to the number of people the session expects (interviewer, participant, observers)
plus one; the extra cluster survives only when it is clearly another voice (an unexpected
speaker), otherwise the closest pair merges. Tiny clusters (a cough, a laugh) never count as a
speaker: they are folded into their nearest neighbour first. Each word then takes the cluster
whose centroid best matches the windows under it, with a confidence from the similarity margin.

Only this module imports torch, inside :func:`load_encoder` (tests/test_import_hygiene.py).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guide_tui.errors import TranscriptionError

if TYPE_CHECKING:
    import numpy as np

    from guide_tui.transcribe.audio import AudioFile

SR = 16000
HOP = 160  # 10 ms mel frames
N_FFT = 400  # 25 ms
N_MELS = 40
WINDOW = 150  # frames per embedding window (1.5 s)
WINDOW_HOP = 75  # half a window: with 1.1-1.5 s hops the extra-voice test flipped (measured)
SHORT_RUN = 200  # runs up to 2 s are embedded whole
UNITS = (200, 300, 450)  # clustering units: runs cut into pieces of at most 2, 3, 4.5 s
MIN_SPEAKER_S = 2.0  # a cluster with less speech is noise, not a person
MIN_TURNS = 2  # an unexpected voice must speak in at least two separate turns
# An extra cluster is another voice when the closest pair of clusters is both less similar (raw
# centroid cosine) and better separated (mean own-minus-other similarity of their units, centred
# space) than one voice split in two. Calibrated on espeak-ng fixtures (docs/transcription.md):
# one voice split: cosine 0.933-0.940, margin 0.55-0.57; two voices: 0.920, 0.69.
NEW_VOICE_SIM = 0.93
NEW_VOICE_MARGIN = 0.63
RUN_WEIGHT = 0.5  # share of the whole speech run in a word's voice score
KMEANS_STEPS = 10
BATCH = 32  # windows per LSTM forward (its gate buffers: 128 took 100 MB more, no faster)
LINK_MARGIN = 0.5  # summed centred cosine: best assignment of voices across files over the next
SOFTMAX_T = 0.04  # word confidence: softmax of centroid similarities at this temperature
_TARGET_POWER = 10 ** (-30 / 10)  # Resemblyzer normalises speech to -30 dBFS


class SpeakersUnavailable(TranscriptionError):
    """The optional speaker model is not installed."""


def model_path() -> Path:
    """The GE2E weights inside the installed ``resemblyzer`` wheel (without importing it)."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise SpeakersUnavailable(
            "speaker diarization needs the optional speaker model: "
            "pip install --no-deps resemblyzer==0.1.4 (CPU torch must be installed; "
            "see docs/transcription.md)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
    if not path.is_file():
        raise SpeakersUnavailable(f"{path}: the resemblyzer weights are missing; reinstall it")
    return path


def available() -> bool:
    try:
        model_path()
        import torch  # noqa: F401
    except (SpeakersUnavailable, ImportError):
        return False
    return True


@lru_cache(maxsize=1)
def load_encoder() -> Any:
    """The GE2E speaker encoder (3-layer LSTM, 256-d embeddings) on CPU, weights from the wheel."""
    path = model_path()
    try:
        import torch
        from torch import nn
    except ImportError as error:
        raise SpeakersUnavailable(
            "speaker diarization needs PyTorch (CPU build): see docs/transcription.md"
        ) from error

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(N_MELS, 256, 3, batch_first=True)
            self.linear = nn.Linear(256, 256)

        def forward(self, mels: Any) -> Any:
            _, (hidden, _) = self.lstm(mels)
            raw = torch.relu(self.linear(hidden[-1]))
            return raw / torch.norm(raw, dim=1, keepdim=True).clamp_min(1e-9)

    model = Encoder()
    state = torch.load(str(path), map_location="cpu", weights_only=True)["model_state"]
    model.load_state_dict(state, strict=False)  # the checkpoint also holds training-only keys
    model.eval()
    return model


# ----------------------------------------------------------------------------- features


@lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=40) (Slaney scale and norm), in numpy."""
    import numpy as np

    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, math.log(6.4) / 27.0

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        m = f / f_sp
        return np.where(
            f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-9) / min_log_hz) / logstep, m
        )

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return np.where(
            m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m
        )

    mel_f = mel_to_hz(
        np.linspace(hz_to_mel(np.array(0.0)), hz_to_mel(np.array(SR / 2)), N_MELS + 2)
    )
    fft_f = np.linspace(0, SR / 2, 1 + N_FFT // 2)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_f[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return weights.astype(np.float32)


@lru_cache(maxsize=1)
def _hann() -> np.ndarray:
    import numpy as np

    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def _mel_rows(x: np.ndarray, count: int, step: int = 4096) -> np.ndarray:
    """Mel power of ``count`` frames: frame ``i`` is ``x[i*HOP : i*HOP + N_FFT]``."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    rows = sliding_window_view(x, N_FFT)[::HOP]
    out = np.empty((count, N_MELS), np.float32)
    basis = _mel_basis().T
    for a in range(0, count, step):
        b = min(count, a + step)
        spec = np.fft.rfft(rows[a:b] * _hann(), axis=1)
        out[a:b] = (spec.real**2 + spec.imag**2).astype(np.float32) @ basis
    return out


def mel_frames(x: np.ndarray) -> np.ndarray:
    """Power mel spectrogram ``(frames, 40)`` of 16 kHz audio, centred 25 ms frames every 10 ms."""
    import numpy as np

    return _mel_rows(np.pad(x.astype(np.float32), N_FFT // 2), 1 + len(x) // HOP)


def features(
    f: AudioFile, channel: int | None = None, block_s: float = 60.0
) -> tuple[np.ndarray, np.ndarray]:
    """``mel_frames(read_mono16k(f))`` and each 10 ms frame's mean power, computed a block at a
    time: the file's 16 kHz samples are never all in memory (an hour is 230 MB of them; its mel
    frames are 58 MB)."""
    import numpy as np

    total = f.samples16k
    n = 1 + total // HOP
    mel = np.empty((n, N_MELS), np.float32)
    power = np.zeros(n, np.float64)
    step = max(1, int(block_s * SR) // HOP)
    for i0 in range(0, n, step):
        i1 = min(n, i0 + step)
        x = _read16k(f, channel, i0 * HOP - N_FFT // 2, (i1 - 1) * HOP + N_FFT // 2)
        mel[i0:i1] = _mel_rows(x, i1 - i0)
        full = max(0, min(i1, total // HOP) - i0)
        seg = x[N_FFT // 2 : N_FFT // 2 + full * HOP].astype(np.float64)
        power[i0 : i0 + full] = (seg**2).reshape(full, HOP).mean(axis=1)
    return mel, power


def read_mono16k(f: AudioFile, channel: int | None = None, block_s: float = 60.0) -> np.ndarray:
    """The whole file at 16 kHz (channel mix, or one channel), read in blocks to bound memory."""
    import numpy as np

    total = f.samples16k
    out = np.zeros(total, np.float32)
    block = max(1, int(block_s * SR))
    for a in range(0, total, block):
        out[a : min(total, a + block)] = _read16k(f, channel, a, min(total, a + block))
    return out


def _read16k(f: AudioFile, channel: int | None, start: int, stop: int) -> np.ndarray:
    """16 kHz samples ``[start, stop)`` of the channel mix (or one channel), zeros outside.

    Same filter as :func:`guide_tui.transcribe.audio.resample_span`; for a whole-number rate
    ratio (48 kHz, 32 kHz) it runs as one matrix-vector product over a strided view instead of a
    gathered copy (6x faster; equal to float rounding, which the speaker features do not need to
    be bit-exact to).
    """
    import numpy as np

    from guide_tui.transcribe.audio import input_span, read_frames

    out = np.zeros(stop - start, np.float32)
    a, b = max(0, start), min(f.samples16k, stop)
    if b > a:
        ia, ib = input_span(f.samplerate, a, b)
        raw = read_frames(f, ia, ib)
        x = raw.mean(axis=1) if channel is None else raw[:, channel]
        x = np.ascontiguousarray(x, dtype=np.float32)
        out[a - start : b - start] = _decimate(x, ia, f.samplerate, a, b)
    return out


def _decimate(x: np.ndarray, x_start: int, sr_in: int, out_start: int, out_end: int) -> np.ndarray:
    """:func:`~guide_tui.transcribe.audio.resample_span`, fast when ``sr_in`` is a multiple of
    16 kHz (each output sample is one row of a strided view times the single filter phase)."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    from guide_tui.transcribe.audio import _polyphase, resample_span

    if sr_in == SR or sr_in % SR:
        return resample_span(x, x_start, sr_in, out_start, out_end)
    pp = _polyphase(sr_in, SR)
    taps = 2 * pp.half
    first = out_start * pp.down - pp.half + 1 - x_start
    n = out_end - out_start
    rows = sliding_window_view(x, taps)[first : first + (n - 1) * pp.down + 1 : pp.down]
    return np.asarray(rows @ pp.table[0], dtype=np.float32)


# ----------------------------------------------------------------------------- diarization


@dataclass
class Diarization:
    """Clusters found in one file: per-window embeddings and their similarity to each centroid."""

    file_offset: float
    runs: list[tuple[int, int]]  # speech runs, 10 ms frames
    windows: list[tuple[int, int, int]]  # (run index, start frame, end frame)
    sims: np.ndarray  # (windows, clusters) cosine similarity to each centroid
    speech_s: list[float]  # per cluster
    first_t: list[float]  # per cluster: session time of its first window
    extra: bool  # one cluster more than expected survived (an unexpected voice)
    # For comparing a known voice (a sample, a profile) with the clusters: the session's mean
    # window embedding (what centring removes), each cluster's centroid in that centred space,
    # and each cluster's mean raw (uncentred) embedding.
    centre: np.ndarray | None = None
    centroids: np.ndarray | None = None
    raw_centroids: np.ndarray | None = None
    # the extra-voice test per unit length: closest pair's raw cosine, margin, score (> 0: a voice)
    checks: list[dict[str, float]] = field(default_factory=list)

    @property
    def voices(self) -> np.ndarray | None:
        """Each cluster's raw voice (:attr:`raw_centroids`), as :func:`link_voices` compares."""
        return self.raw_centroids

    @property
    def clusters(self) -> int:
        return int(self.sims.shape[1]) if self.sims.ndim == 2 else 0

    def word_scores(self, start: float, end: float) -> np.ndarray | None:
        """Mean similarity to each cluster of the windows under a word (session clock)."""
        import numpy as np

        if not self.windows:
            return None
        a = int((start - self.file_offset) * 100)
        b = max(a + 1, int((end - self.file_offset) * 100))
        mid = (a + b) // 2
        run = self._run_at(mid)
        weights = np.zeros(len(self.windows))
        for i, (r, wa, wb) in enumerate(self.windows):
            if r == run:
                weights[i] = max(0, min(b, wb) - max(a, wa))
        if weights.sum() == 0:
            for i, (r, wa, wb) in enumerate(self.windows):
                if r == run:
                    weights[i] = 1.0 / (1 + abs((wa + wb) / 2 - mid))
        if weights.sum() == 0:
            return None
        local = (weights[:, None] * self.sims).sum(axis=0) / weights.sum()
        in_run = np.array([r == run for r, _, _ in self.windows])
        whole = self.sims[in_run].mean(axis=0)
        # People rarely hand over without a pause: the run's voice as a whole counts as much as
        # the windows under the word (one odd window at a run's end no longer flips its words).
        return np.asarray(RUN_WEIGHT * whole + (1 - RUN_WEIGHT) * local)

    def _run_at(self, frame: int) -> int:
        """The run under a frame; in a pause, the run just before it (Whisper's word times run
        late into pauses: measured on tiny.en, "About ten." timed 0.5 s after the voice stopped),
        unless that one ended more than a second ago, then the nearest."""
        best, dist = 0, math.inf
        before, gap = -1, math.inf
        for i, (a, b) in enumerate(self.runs):
            if a <= frame < b:
                return i
            d = min(abs(frame - a), abs(frame - b))
            if d < dist:
                best, dist = i, d
            if b <= frame and frame - b < gap:
                before, gap = i, frame - b
        return before if before >= 0 and gap <= 100 else best


def speech_runs(
    f: AudioFile, min_gap_s: float = 0.2, min_run_s: float = 0.1
) -> list[tuple[int, int]]:
    """Speech stretches of a scanned file in 10 ms frames, from its 20 ms energy frames."""
    from guide_tui.transcribe.audio import FRAME_S, speech_threshold

    if f.frame_db is None or len(f.frame_db) == 0:
        return []
    loud = f.frame_db > speech_threshold(f.frame_db)
    runs: list[list[int]] = []
    gap = round(min_gap_s / FRAME_S)
    for i, on in enumerate(loud.tolist()):
        if not on:
            continue
        if runs and i - runs[-1][1] <= gap:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1])
    k = round(FRAME_S * 100)
    return [(a * k, b * k) for a, b in runs if (b - a) * FRAME_S >= min_run_s]


def _embed(
    mel: np.ndarray, runs: list[tuple[int, int]], power: np.ndarray
) -> tuple[list[tuple[int, int, int]], np.ndarray]:
    windows: list[tuple[int, int, int]] = []
    for r, (a, b) in enumerate(runs):
        if b - a <= SHORT_RUN:
            windows.append((r, a, b))
            continue
        starts = list(range(a, b - WINDOW + 1, WINDOW_HOP))
        if starts[-1] + WINDOW < b:
            starts.append(b - WINDOW)
        windows.extend((r, s, s + WINDOW) for s in starts)
    feats: list[np.ndarray] = []
    for r, a, b in windows:
        ra, rb = runs[r]
        run_power = float(power[ra:rb].mean()) if rb > ra else 0.0
        gain = _TARGET_POWER / run_power if run_power > 0 else 1.0
        feats.append(mel[a:b] * gain)
    return windows, _encode(feats)


def _encode(feats: list[np.ndarray], batch: int = BATCH) -> np.ndarray:
    """Embeddings of variable-length mel windows: longest first, in padded batches packed so the
    LSTM stops at each window's own end (one forward per batch, not one per length)."""
    import numpy as np
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence

    model = load_encoder()
    out = np.zeros((len(feats), 256), np.float32)
    order = sorted(range(len(feats)), key=lambda i: -len(feats[i]))
    with torch.inference_mode():
        for c in range(0, len(order), batch):
            idx = order[c : c + batch]
            lengths = [len(feats[i]) for i in idx]
            padded = np.zeros((len(idx), lengths[0], N_MELS), np.float32)
            for row, i in enumerate(idx):
                padded[row, : lengths[row]] = feats[i]
            packed = pack_padded_sequence(torch.from_numpy(padded), lengths, batch_first=True)
            out[idx] = model(packed).numpy()
    return out


#: Threads for the speaker encoder's LSTM. One: its small matrix products gain nothing from a
#: second thread and lose a lot when the cores are busy. Measured on a 6-minute interview on the
#: shared 2-core machine (load average 9): 1.5 CPU s / 3.8 s wall on one thread, 7.7-9.7 CPU s /
#: 16-29 s wall on torch's default two, with bit-identical embeddings
#: (docs/benchmarks-transcription.md).
ENCODER_THREADS = 1


def _normed(x: np.ndarray) -> np.ndarray:
    import numpy as np

    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)


def _agglomerate(emb: np.ndarray, dur: np.ndarray, target: int) -> list[list[int]]:
    """Average-linkage clustering of unit embeddings down to ``target`` clusters; clusters with
    less than :data:`MIN_SPEAKER_S` of speech are folded into their nearest neighbour first."""
    import numpy as np

    n = len(emb)
    members: list[list[int]] = [[i] for i in range(n)]
    sim = emb @ emb.T
    np.fill_diagonal(sim, -np.inf)
    alive = np.ones(n, bool)
    size = np.ones(n)
    seconds = dur.astype(np.float64).copy()

    def merge(i: int, j: int) -> None:
        # average linkage: the merged row is the size-weighted mean of the two rows
        row = (sim[i] * size[i] + sim[j] * size[j]) / (size[i] + size[j])
        sim[i, :] = row
        sim[:, i] = row
        sim[i, i] = -np.inf
        sim[j, :] = -np.inf
        sim[:, j] = -np.inf
        alive[j] = False
        size[i] += size[j]
        seconds[i] += seconds[j]
        members[i].extend(members[j])
        members[j] = []

    while alive.sum() > max(1, target):
        best = np.unravel_index(int(np.argmax(sim)), sim.shape)
        i, j = int(best[0]), int(best[1])
        small = np.flatnonzero(alive & (seconds < MIN_SPEAKER_S))
        if seconds[i] >= MIN_SPEAKER_S and seconds[j] >= MIN_SPEAKER_S and len(small):
            # two voices would merge while noise is left: fold the noise in first
            i = int(small[np.argmin(seconds[small])])
            j = int(np.argmax(sim[i]))
        merge(min(i, j), max(i, j))
    for k in [int(k) for k in np.flatnonzero(alive & (seconds < MIN_SPEAKER_S))]:
        if alive.sum() <= 1 or not alive[k]:
            continue
        j = int(np.argmax(sim[k]))
        merge(min(k, j), max(k, j))
    return [members[k] for k in np.flatnonzero(alive)]


def _cluster(
    emb: np.ndarray,
    raw: np.ndarray,
    windows: list[tuple[int, int, int]],
    runs: list[tuple[int, int]],
    expected: int,
    unit_len: int,
) -> tuple[np.ndarray, np.ndarray, bool, dict[str, float]]:
    """Centroids at ``expected + 1`` clusters when the closest pair passes the extra-voice test
    (else at ``expected``), the centroids with that pair merged, the verdict, its numbers."""
    import numpy as np

    # clustering units: runs cut into pieces of at most unit_len frames
    unit_of: list[int] = []
    units: list[tuple[int, int]] = []
    for r, a, b in windows:
        ra = runs[r][0]
        key = (r, (((a + b) // 2) - ra) // unit_len)
        if not units or units[-1] != key:
            units.append(key)
        unit_of.append(len(units) - 1)
    unit_emb = np.zeros((len(units), emb.shape[1]), np.float32)
    unit_raw = np.zeros_like(unit_emb)
    unit_dur = np.zeros(len(units))
    for wi, u in enumerate(unit_of):
        unit_emb[u] += emb[wi]
        unit_raw[u] += raw[wi]
    for u, (r, k) in enumerate(units):
        a, b = runs[r]
        unit_dur[u] = (min(b, a + (k + 1) * unit_len) - (a + k * unit_len)) / 100
    unit_emb = _normed(unit_emb)
    groups = _agglomerate(unit_emb, unit_dur, expected + 1)
    centroids = _normed(np.stack([unit_emb[g].T @ unit_dur[g] for g in groups]))
    extra = False
    check: dict[str, float] = {}
    if len(groups) > expected >= 1:
        # judged on the raw (uncentred) embeddings, whose scale does not depend on the mix
        raw_c = _normed(np.stack([_normed(unit_raw[g]).T @ unit_dur[g] for g in groups]))
        c = raw_c @ raw_c.T
        np.fill_diagonal(c, -1)
        best = np.unravel_index(int(np.argmax(c)), c.shape)
        i, j = int(min(best)), int(max(best))
        # how much closer the closest pair's units are to their own centroid than to the other's
        margin = float(
            np.mean(
                np.concatenate(
                    [
                        unit_emb[groups[i]] @ (centroids[i] - centroids[j]),
                        unit_emb[groups[j]] @ (centroids[j] - centroids[i]),
                    ]
                )
            )
        )
        score = (NEW_VOICE_SIM - float(c[i, j])) / 0.01 + (margin - NEW_VOICE_MARGIN) / 0.05
        check = {"cos": float(c[i, j]), "margin": margin, "score": score}
        extra = score > 0  # even the two closest clusters are different voices
        # Not a voice: one more average-linkage step (merging the raw-closest pair instead put
        # one voice with half of the other when the embeddings were perturbed: 54-75 % of spans
        # right on distinct voices with 1.1-1.5 s hops, 95-100 % this way; bench/diarization.py)
        merged_groups = _agglomerate(unit_emb, unit_dur, expected)
        merged = _normed(np.stack([unit_emb[g].T @ unit_dur[g] for g in merged_groups]))
        return (centroids if extra else merged), merged, extra, check
    return centroids, centroids, extra, check


def _refine(emb: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """K-means steps on the windows from the clustering's centroids: (centroids, labels)."""
    import numpy as np

    for _ in range(KMEANS_STEPS):
        label = (emb @ centroids.T).argmax(axis=1)
        new = []
        for k in range(len(centroids)):
            chosen = emb[label == k]
            new.append(_normed(chosen.mean(axis=0)) if len(chosen) else centroids[k])
        centroids = np.stack(new)
    return centroids, (emb @ centroids.T).argmax(axis=1)


def _turns(windows: list[tuple[int, int, int]], label: np.ndarray, clusters: int) -> list[int]:
    """Separate turns per cluster: speech runs labelled by their windows' majority, consecutive
    runs of one cluster counted once."""
    votes: dict[int, list[int]] = {}
    for (r, _, _), k in zip(windows, label.tolist(), strict=True):
        votes.setdefault(r, []).append(int(k))
    out = [0] * clusters
    previous = -1
    for r in sorted(votes):
        k = max(set(votes[r]), key=votes[r].count)
        if k != previous:
            out[k] += 1
        previous = k
    return out


def torch_threads() -> int:
    """Threads for the encoder (:data:`ENCODER_THREADS`). An OpenMP team that finds its cores
    busy spins: measured on 2 cores under load (5-7), two threads made the LSTM 3-10x slower."""
    return ENCODER_THREADS


@contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """Torch's thread count for a block, restored after it (the Whisper engine may share it)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n or torch_threads())
    try:
        yield
    finally:
        torch.set_num_threads(before)


def diarize_file(
    f: AudioFile,
    expected: int,
    channel: int | None = None,
    *,
    threads: int | None = None,
) -> Diarization:
    """Cluster the speech of one scanned file into ``expected`` voices, or one more when an
    unexpected voice is clearly there. ``threads``: torch threads (:func:`torch_threads`)."""
    with _threads(threads):
        return _diarize_file(f, expected, channel)


def _diarize_file(f: AudioFile, expected: int, channel: int | None) -> Diarization:
    import numpy as np

    runs = speech_runs(f)
    empty = Diarization(f.offset, runs, [], np.zeros((0, 0), np.float32), [], [], False)
    if not runs:
        return empty
    mel, frame_power = features(f, channel)
    n = len(mel)
    runs = [(a, min(b, n)) for a, b in runs if a < n]
    windows, emb = _embed(mel, runs, frame_power)
    del mel
    # Centre on the session's mean voice: what all windows share (room, microphone, and for a
    # synthetic voice its synthesiser) drops out and only what tells the voices apart is compared
    # (measured on espeak voices: nearest-centroid accuracy per 1.5 s window 93 % -> 95 %).
    raw = emb
    emb = _normed(emb - emb.mean(axis=0))
    # The extra voice must survive clustering at every unit length (2, 3 and 4.5 s): one voice
    # split in two passes the similarity test at one granularity now and then, a real voice at
    # all of them (docs/transcription.md, "An unexpected voice").
    # And it must speak in at least two separate turns: one turn that sounds apart (measured: the
    # participant's opening answer in a 33 s file) is not yet a person.
    results = [_cluster(emb, raw, windows, runs, expected, u) for u in UNITS]
    with_extra, merged, _, _ = results[len(results) // 2]
    extra = all(r[2] for r in results)
    checks = [r[3] for r in results]
    centroids, label = _refine(emb, with_extra if extra else merged)
    if extra and min(_turns(windows, label, len(centroids))) < MIN_TURNS:
        extra = False
        centroids, label = _refine(emb, merged)
    sims = emb @ centroids.T
    speech = [0.0] * len(centroids)
    first = [math.inf] * len(centroids)
    for wi, (_, a, b) in enumerate(windows):
        k = int(label[wi])
        speech[k] += (b - a) / 100
        first[k] = min(first[k], f.offset + a / 100)
    return Diarization(
        f.offset, runs, windows, sims.astype(np.float32), speech, first, extra,
        centre=raw.mean(axis=0), centroids=centroids,
        raw_centroids=_normed(np.stack([
            raw[label == k].mean(axis=0) if (label == k).any() else centroids[k]
            for k in range(len(centroids))
        ])),
        checks=checks,
    )  # fmt: skip


def embed_voice(x: np.ndarray, *, samplerate: int = SR) -> tuple[np.ndarray, float] | None:
    """One voice's raw embedding (256 floats, unit length) and its seconds of speech, from a
    short recording of it alone (a sample at the microphone check, an enrolment): its speech
    frames embedded in the same windows, at the same level, as :func:`diarize_file` embeds a
    session; None without speech."""
    import numpy as np

    from guide_tui.transcribe.audio import resample

    x = np.asarray(x, np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if samplerate != SR:
        x = resample(x, samplerate)
    usable = (len(x) // HOP) * HOP
    if usable < HOP * 20:
        return None
    mel = mel_frames(x)
    power = np.zeros(len(mel), np.float64)
    power[: usable // HOP] = (x[:usable].astype(np.float64) ** 2).reshape(-1, HOP).mean(axis=1)
    db = 10 * np.log10(power + 1e-12)
    loud = db > max(float(db.max()) - 30.0, -60.0)
    runs: list[list[int]] = []
    for i in np.flatnonzero(loud).tolist():  # 10 ms frames; runs split at 0.2 s of silence
        if runs and i - runs[-1][1] <= 20:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1])
    spans = [(a, b) for a, b in runs if b - a >= 10]
    if not spans:
        return None
    with _threads(None):
        _, emb = _embed(mel, spans, power)
    speech_s = sum(b - a for a, b in spans) / 100
    return np.asarray(_normed(emb.mean(axis=0)), np.float32), speech_s


def voice_similarity(d: Diarization, voice: np.ndarray) -> tuple[list[float], list[float]]:
    """How close a known voice (:func:`embed_voice`) is to each cluster of ``d``: cosine in the
    session's centred space (the space the clusters were found in: tells the session's voices
    apart) and raw cosine (says whether the voice is in the session at all)."""
    import numpy as np

    if d.centre is None or d.centroids is None or d.raw_centroids is None or not d.clusters:
        return [], []
    v = np.asarray(voice, np.float32)
    centred = d.centroids @ _normed(v - d.centre)
    raw = d.raw_centroids @ _normed(v)
    return [float(s) for s in centred], [float(s) for s in raw]


def link_voices(
    known: Mapping[str, np.ndarray], d: Diarization, *, min_margin: float = LINK_MARGIN
) -> dict[int, str]:
    """Clusters of a file that are voices already named in another file of the session
    (``known``: speaker id -> raw voice, :attr:`Diarization.raw_centroids`): cluster -> speaker id.

    The vectors are centred on their common mean (what the microphone and room add to every
    voice drops out, as within a file), then the one-to-one assignment with the highest summed
    cosine wins, if it beats the next best assignment by ``min_margin``; otherwise nothing is
    linked and the file is named on its own (ticks, first voice)."""
    import itertools

    import numpy as np

    if d.raw_centroids is None or not len(d.raw_centroids) or not known:
        return {}
    ids = list(known)
    ref = np.stack([np.asarray(known[i], np.float32) for i in ids])
    centre = np.concatenate([ref, d.raw_centroids]).mean(axis=0)
    sim = _normed(d.raw_centroids - centre) @ _normed(ref - centre).T  # (clusters, known)
    n, m = sim.shape
    scored: list[tuple[float, tuple[tuple[int, int], ...]]] = []
    for size in (min(n, m),):
        for ks in itertools.permutations(range(n), size):
            for js in itertools.permutations(range(m), size):
                if list(js) != sorted(js):
                    continue
                pairs = tuple(zip(ks, js, strict=True))
                scored.append((float(sum(sim[k, j] for k, j in pairs)), pairs))
    scored.sort(key=lambda x: -x[0])
    if not scored or (len(scored) > 1 and scored[0][0] - scored[1][0] < min_margin):
        return {}
    return {k: ids[j] for k, j in scored[0][1] if sim[k, j] > 0}


def word_labels(
    d: Diarization, spans: Sequence[tuple[float, float]]
) -> list[tuple[int | None, float]]:
    """(cluster, confidence 0..1) per word span; ``(None, 0.0)`` when no speech is near it."""
    import numpy as np

    out: list[tuple[int | None, float]] = []
    for start, end in spans:
        scores = d.word_scores(start, end)
        if scores is None or len(scores) == 0:
            out.append((None, 0.0))
            continue
        p = np.exp((scores - scores.max()) / SOFTMAX_T)
        p /= p.sum()
        k = int(np.argmax(p))
        out.append((k, float(p[k])))
    return out
