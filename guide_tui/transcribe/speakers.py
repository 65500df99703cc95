"""Who said each word, and what to call them: the speaker step of the transcription pipeline.

One entry point, :func:`attribute`, called once by the runner after the guards. Per audio file:

- **Two real microphones** (two channels that differ): a word goes to the channel at least 3 dB
  louder over it (as before), but an undecided word no longer follows its neighbour blindly: it
  takes the voice diarization hears (the clusters mapped to channels by the decided words).
- **One microphone**, or **two identical channels** (an XY stereo recorder, a mono lavalier
  copied to L/R; Pearson correlation >= 0.95 between the channels): diarization (``diarize``)
  decides every word, and a warning says the channels were identical.

Speakers get stable ids (``S1``, ``S2``, ...) by role, and names from the session: the voice of
the interviewer's own sample (taken at the microphone check, or their voice profile) when it
clearly matches one voice; otherwise the voice that talks at the moment of most
question/probe/summary ticks is the interviewer. The participant
gets the pseudonym; further voices are the ``--observer`` people, or ``Unknown speaker`` when the
session expected nobody else. A segment is split wherever the speaker changes between two words;
each carries ``speaker_confidence`` and, under :data:`UNCERTAIN`, the flag ``speaker_uncertain``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from guide_tui.errors import TranscriptionError
from guide_tui.transcribe import guards
from guide_tui.transcribe.types import Segment

if TYPE_CHECKING:
    from pathlib import Path

    from guide_tui.transcribe.audio import AudioFile
    from guide_tui.transcribe.diarize import Diarization

IDENTICAL_CORR = 0.95
UNCERTAIN = 0.6
TICKS = ("question_asked", "probe_used", "summary_given")
# A known voice names the cluster it matches when that cluster is clearly the closest (centred
# cosine at least this much above the next) and the voice is plausibly in the session at all (raw
# cosine): measured on espeak-ng voices (docs/transcription.md, "Naming"): the right voice
# 0.31-1.5 apart, raw 0.94-0.97; a voice not in the session raw 0.70-0.79 (unless it sounds
# alike: a close espeak variant reached 0.91).
VOICE_MARGIN = 0.2
VOICE_MIN_RAW = 0.85


@dataclass(frozen=True)
class KnownVoice:
    """The interviewer's voice, known before transcription: 256 floats (GE2E, unit length)."""

    embedding: tuple[float, ...]
    source: str  # "voice_sample" (the session's mic check) | "voice_profile" (enrolled)


@dataclass
class Attribution:
    segments: list[Segment]
    speakers: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)


def voice_of_file(
    path: Path, max_s: float = 120.0, min_speech_s: float | None = None
) -> tuple[tuple[float, ...], float] | None:
    """(embedding, seconds of speech) of a recording of one voice (``voice-interviewer.wav``, an
    enrolment), first ``max_s`` seconds; None when it holds less than ``min_speech_s`` (default
    :data:`guide_tui.voiceprint.MIN_SPEECH_S`) of speech. Needs the speaker model."""
    import soundfile as sf

    from guide_tui.userfiles import regular_file_problem

    problem = regular_file_problem(path)
    if problem is not None:
        raise TranscriptionError(f"{path}: {problem}")
    try:
        with sf.SoundFile(str(path)) as handle:
            rate = handle.samplerate
            x = handle.read(int(max_s * rate), dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as error:
        raise TranscriptionError(f"cannot read audio {path}: {error}") from None
    return voice_of_audio(x, rate, min_speech_s)


def voice_of_audio(
    x: Any, samplerate: int, min_speech_s: float | None = None
) -> tuple[tuple[float, ...], float] | None:
    """:func:`voice_of_file` for ``(frames, channels)`` or mono float audio in memory."""
    from guide_tui.transcribe import diarize
    from guide_tui.voiceprint import MIN_SPEECH_S

    mono = x.mean(axis=1) if getattr(x, "ndim", 1) == 2 else x
    got = diarize.embed_voice(mono, samplerate=samplerate)
    if got is None or got[1] < (MIN_SPEECH_S if min_speech_s is None else min_speech_s):
        return None
    return tuple(float(v) for v in got[0]), got[1]


def channel_correlation(f: AudioFile, blocks: int = 24, block_s: float = 1.0) -> float | None:
    """Pearson correlation of the first two channels over the loudest stretches of the file."""
    import numpy as np

    from guide_tui.transcribe.audio import FRAME_S, read_frames

    if f.channels < 2 or f.frames == 0:
        return None
    n = max(1, int(block_s * f.samplerate))
    if f.frame_db is not None and len(f.frame_db):
        per = max(1, round(block_s / FRAME_S))
        k = len(f.frame_db) // per
        level = f.frame_db[: k * per].reshape(k, per).mean(axis=1) if k else np.zeros(0)
        starts = [int(i) * n for i in np.argsort(level)[::-1][:blocks]]
    else:
        starts = [int(s) for s in np.linspace(0, max(0, f.frames - n), blocks)]
    parts = [read_frames(f, s, s + n)[:, :2] for s in starts]
    x = np.concatenate(parts).astype(np.float64)
    a, b = x[:, 0] - x[:, 0].mean(), x[:, 1] - x[:, 1].mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else 1.0


def attribute(
    segments: Sequence[Segment],
    files: Sequence[AudioFile],
    channel_labels: dict[str, list[str]],
    *,
    participant: str | None,
    observers: Sequence[str] = (),
    annotations: Sequence[dict[str, Any]] = (),
    interviewer_voice: KnownVoice | None = None,
    interviewer_channel: int | None = None,
) -> Attribution:
    """Speaker, speaker id and confidence for every word; segments split at speaker changes.

    ``interviewer_voice`` names the interviewer by voice on one microphone;
    ``interviewer_channel`` (0 or 1, from the microphone check) says which of two microphones is
    the interviewer's (without it: the first, a guess).
    """
    from guide_tui.transcribe import diarize

    ticks = sorted(float(a["t"]) for a in annotations if a.get("type") in TICKS and "t" in a)
    roster = _Roster(participant, list(observers))
    warnings: list[dict[str, Any]] = []
    out: list[Segment] = []
    by_file: dict[int, list[Segment]] = {}
    for s in segments:
        f = guards._file_at(files, s.start)
        by_file.setdefault(id(f) if f is not None else 0, []).append(s)
    jobs = []
    for f in files:
        segs = by_file.pop(id(f), [])
        if not segs:
            continue
        spans = [_spans(s) for s in segs]
        flat = [sp for group in spans for sp in group]
        names = channel_labels.get(f.path.name) or []
        corr = channel_correlation(f) if f.channels >= 2 else None
        two_mics = f.channels >= 2 and len(names) >= 2 and corr is not None
        if two_mics and corr is not None and corr >= IDENTICAL_CORR:
            two_mics = False
            warnings.append(
                {
                    "kind": "identical_channels",
                    "file": f.path.name,
                    "correlation": round(corr, 3),
                    "message": f"{f.path.name}: the two channels are (nearly) identical "
                    f"(correlation {corr:.2f}), so they cannot tell the speakers apart; "
                    "speakers were found by voice (diarization) instead",
                }
            )
        d: Diarization | None = None
        expected = 2 + len(observers)
        if diarize.available():
            d = diarize.diarize_file(f, expected)
        elif not two_mics:
            warnings.append(
                {
                    "kind": "no_diarization",
                    "file": f.path.name,
                    "message": "speakers not identified: the optional speaker model is not "
                    "installed (pip install --no-deps resemblyzer==0.1.4, with CPU torch; "
                    "see docs/transcription.md)",
                }
            )
        jobs.append((f, segs, spans, flat, names, two_mics, d))
    # Several files (a lost device): the file with the most ticks is named first, and the others
    # link their voices to the speakers named there, so one person keeps one label in every file.
    voices = _Voices()
    order = sorted(
        range(len(jobs)),
        key=lambda n: -sum(1 for t in ticks if _in_file(jobs[n][0], t)),
    )
    results: dict[int, tuple[list[str | None], list[float]]] = {}
    for n in order:
        f, segs, spans, flat, names, two_mics, d = jobs[n]
        if two_mics:
            keys, conf = _by_channel(
                f, flat, names, d, roster, interviewer_channel, interviewer_voice
            )
        elif d is not None and d.clusters:
            keys, conf = _by_voice(d, flat, ticks, roster, interviewer_voice, voices=voices)
        else:
            keys, conf = [None] * len(flat), [0.0] * len(flat)
        results[n] = (keys, conf)
    for n, job in enumerate(jobs):
        segs, spans = job[1], job[2]
        keys, conf = results[n]
        pos = 0
        for s, group in zip(segs, spans, strict=True):
            k = len(group)
            out.extend(_apply(s, keys[pos : pos + k], conf[pos : pos + k], roster))
            pos += k
    for rest in by_file.values():
        out.extend(rest)
    out.sort(key=lambda s: (s.start, s.end))
    return Attribution(out, roster.as_json(), warnings)


def _spans(s: Segment) -> list[tuple[float, float]]:
    return [(w.start, w.end) for w in s.words] or [(s.start, s.end)]


class _Roster:
    """Stable speaker ids by role, shared by all files of a session."""

    def __init__(self, participant: str | None, observers: list[str]) -> None:
        self.participant = participant
        self.observers = observers
        self.entries: dict[str, dict[str, Any]] = {}
        self.unknown = 0

    def _add(self, key: str, label: str, role: str, decided_by: str, **extra: Any) -> str:
        for sid, e in self.entries.items():
            if e["_key"] == key:
                return sid
        sid = f"S{len(self.entries) + 1}"
        self.entries[sid] = {
            "_key": key,
            "label": label,
            "role": role,
            "decided_by": decided_by,
            **extra,
        }
        return sid

    def interviewer(self, decided_by: str, **extra: Any) -> str:
        return self._add("interviewer", "Interviewer", "interviewer", decided_by, **extra)

    def participant_id(self, decided_by: str) -> str:
        return self._add(
            "participant", self.participant or "Participant", "participant", decided_by
        )

    def observer(self, i: int) -> str:
        name = self.observers[i] if i < len(self.observers) else "Observer"
        return self._add(f"observer{i}", name or "Observer", "observer", "session_observers")

    def stranger(self) -> str:
        self.unknown += 1
        label = "Unknown speaker" if self.unknown == 1 else f"Unknown speaker {self.unknown}"
        return self._add(f"unknown{self.unknown}", label, "unknown", "unexpected_voice")

    def label(self, sid: str | None) -> str | None:
        return self.entries[sid]["label"] if sid in self.entries else None

    def as_json(self) -> dict[str, dict[str, Any]]:
        return {
            sid: {k: v for k, v in e.items() if not k.startswith("_")}
            for sid, e in self.entries.items()
        }


def _in_file(f: AudioFile, t: float) -> bool:
    return f.offset <= t < f.offset + f.duration


class _Voices:
    """Each named speaker's voice so far (speech-weighted sum of the files' cluster voices)."""

    def __init__(self) -> None:
        self.sums: dict[str, Any] = {}

    def known(self) -> dict[str, Any]:
        from guide_tui.transcribe.diarize import _normed

        return {sid: _normed(v) for sid, v in self.sums.items()}

    def add(self, d: Diarization, names: dict[int, str]) -> None:
        if d.voices is None:
            return
        for k, sid in names.items():
            v = d.voices[k] * max(d.speech_s[k], 1e-3)
            self.sums[sid] = self.sums[sid] + v if sid in self.sums else v


def _by_voice(
    d: Diarization,
    spans: list[tuple[float, float]],
    ticks: list[float],
    roster: _Roster,
    voice: KnownVoice | None = None,
    voices: _Voices | None = None,
) -> tuple[list[str | None], list[float]]:
    from guide_tui.transcribe import diarize

    labels = diarize.word_labels(d, spans)
    clusters = [k for k, _ in labels]
    linked = diarize.link_voices(voices.known(), d) if voices is not None else {}
    names = _name_clusters(d, spans, clusters, ticks, roster, voice, linked)
    if voices is not None:
        voices.add(d, names)
    keys = [names.get(k) if k is not None else None for k in clusters]
    return keys, [c for _, c in labels]


def _name_clusters(
    d: Diarization,
    spans: list[tuple[float, float]],
    clusters: list[int | None],
    ticks: list[float],
    roster: _Roster,
    voice: KnownVoice | None = None,
    linked: dict[int, str] | None = None,
) -> dict[int, str]:
    """Cluster -> speaker id. Interviewer: the cluster the known voice clearly matches, else the
    voice of the last word begun before most ticks, else the first voice. ``linked``: clusters
    already known by voice from another file of the session keep that id; only the rest are
    named here."""
    names: dict[int, str] = dict(linked or {})
    taken = {roster.entries[sid]["_key"] for sid in names.values() if sid in roster.entries}
    votes: Counter[int] = Counter()
    lo, hi = d.file_offset, d.file_offset + 1e9
    for t in ticks:
        if not lo <= t < hi:
            continue
        before = [i for i, (a, _) in enumerate(spans) if a <= t and clusters[i] is not None]
        if before:
            k = clusters[max(before, key=lambda i: spans[i][0])]
            if k is not None and t - spans[before[-1]][1] < 30.0:
                votes[k] += 1
    order = sorted((k for k in range(d.clusters) if k not in names), key=lambda k: d.first_t[k])
    for k in list(votes):
        if k in names:
            del votes[k]
    matched = _match_voice(d, voice) if voice is not None else None
    if matched is not None and matched[0] in names:
        matched = None
    if "interviewer" in taken:
        pass
    elif matched is not None:
        k, detail = matched
        if votes:
            detail["ticks"], detail["votes"] = sum(votes.values()), votes[k]
        names[k] = roster.interviewer(voice.source if voice else "voice", **detail)
    elif votes:
        k, n = votes.most_common(1)[0]
        names[k] = roster.interviewer("ticks", ticks=sum(votes.values()), votes=n)
    elif order:
        names[order[0]] = roster.interviewer("first_voice")  # interviews open with the interviewer
    rest = sorted((k for k in order if k not in names), key=lambda k: -d.speech_s[k])
    if rest and "participant" not in taken:
        names[rest[0]] = roster.participant_id("most_speech")
        rest = rest[1:]
    others = sorted(rest, key=lambda k: d.first_t[k])
    expected_observers = len(roster.observers)
    free = [i for i in range(expected_observers) if f"observer{i}" not in taken]
    for k in others:
        names[k] = roster.observer(free.pop(0)) if free else roster.stranger()
    return names


def _match_voice(d: Diarization, voice: KnownVoice) -> tuple[int, dict[str, Any]] | None:
    """The cluster a known voice clearly matches (see :data:`VOICE_MARGIN`), or None."""
    from guide_tui.transcribe import diarize

    centred, raw = diarize.voice_similarity(d, voice.embedding)  # type: ignore[arg-type]
    if not centred:
        return None
    order = sorted(range(len(centred)), key=lambda k: -centred[k])
    best = order[0]
    margin = centred[best] - centred[order[1]] if len(order) > 1 else 1.0
    if margin < VOICE_MARGIN or raw[best] < VOICE_MIN_RAW:
        return None
    return best, {"similarity": round(raw[best], 3), "margin": round(margin, 3)}


def _by_channel(
    f: AudioFile,
    spans: list[tuple[float, float]],
    names: list[str],
    d: Diarization | None,
    roster: _Roster,
    interviewer_channel: int | None = None,
    voice: KnownVoice | None = None,
) -> tuple[list[str | None], list[float]]:
    """Two microphones: the louder channel by >= 3 dB decides; undecided words go by voice.

    ``names``: the label of each channel. Whose microphone is whose: ``interviewer_channel`` as
    the microphone check found it; else the channel where the interviewer's known ``voice``
    speaks (the cluster it matches, by the words the channels decided); else the first channel,
    by convention."""
    import numpy as np

    from guide_tui.transcribe import diarize

    assert f.channel_db is not None
    who: list[int | None] = []
    for start, end in spans:
        levels = f.channel_db[guards._frames(f, start, end)]
        if len(levels) == 0:
            who.append(None)
            continue
        power = (10.0 ** (levels.astype("float64") / 10.0)).mean(axis=0)
        db = 10.0 * np.log10(power + 1e-12)
        order = db.argsort()[::-1]
        who.append(
            int(order[0]) if db[order[0]] - db[order[1]] >= guards.SPEAKER_MARGIN_DB else None
        )
    mine = interviewer_channel if interviewer_channel in (0, 1) else 0
    decided_by = "channel" if interviewer_channel is None else "mic_check"
    detail: dict[str, Any] = {}
    if interviewer_channel is None and voice is not None and d is not None and d.clusters:
        found = _voice_channel(d, spans, who, voice)
        if found is not None:
            ch, detail = found
            if ch != mine:
                names = [names[1], names[0], *names[2:]]
            mine, decided_by = ch, voice.source
    ids: list[str] = []
    for ch, name in enumerate(names[:2]):
        if ch == mine:
            sid = roster.interviewer(decided_by, channel=ch + 1, **detail)
        else:
            sid = roster.participant_id(decided_by)
        roster.entries[sid]["label"] = name
        ids.append(sid)
    conf = [0.95 if w is not None else 0.0 for w in who]
    if d is not None and d.clusters and any(w is None for w in who):
        labels = diarize.word_labels(d, spans)
        tally: Counter[tuple[int, int]] = Counter()
        for w, (k, _) in zip(who, labels, strict=True):
            if w is not None and k is not None:
                tally[(k, w)] += 1
        to_channel: dict[int, int] = {}
        for (k, ch), _n in tally.most_common():
            to_channel.setdefault(k, ch)
        for i, (k, c) in enumerate(labels):
            if who[i] is None and k is not None and k in to_channel:
                who[i], conf[i] = to_channel[k], c * 0.9
    filled = guards._fill(who, who[0] if who and who[0] is not None else 0)
    keys = [ids[c] if c is not None and c < len(ids) else None for c in filled]
    return keys, conf


def _voice_channel(
    d: Diarization,
    spans: list[tuple[float, float]],
    who: list[int | None],
    voice: KnownVoice,
    sample: int = 400,
) -> tuple[int, dict[str, Any]] | None:
    """The microphone (0 or 1) the known voice speaks into: the channel that decided most of
    the words of the cluster it matches (at least 2 in 3 of them; up to ``sample`` words
    looked at), or None."""
    from guide_tui.transcribe import diarize

    matched = _match_voice(d, voice)
    if matched is None:
        return None
    k, detail = matched
    decided = [i for i, w in enumerate(who) if w is not None]
    step = max(1, len(decided) // sample)
    picked = decided[::step]
    labels = diarize.word_labels(d, [spans[i] for i in picked])
    channels: Counter[int] = Counter()
    for i, (c, _) in zip(picked, labels, strict=True):
        w = who[i]
        if c == k and w is not None:
            channels[w] += 1
    if not channels:
        return None
    ch, n = channels.most_common(1)[0]
    if ch not in (0, 1) or n < 2 * sum(channels.values()) / 3:
        return None
    return ch, detail


def _apply(s: Segment, keys: list[str | None], conf: list[float], roster: _Roster) -> list[Segment]:
    filled = _fill_keys(keys)
    if not s.words:
        return [_stamp(s, filled[0], conf[:1], roster)]
    parts = guards._split_runs(s, filled)
    out, pos = [], 0
    for p in parts:
        n = len(p.words)
        out.append(_stamp(p, filled[pos], conf[pos : pos + n], roster))
        pos += n
    return out


def _fill_keys(keys: list[str | None]) -> list[str | None]:
    ids = sorted({k for k in keys if k is not None})
    index = [ids.index(k) if k is not None else None for k in keys]
    filled = guards._fill(index, None)
    return [ids[i] if i is not None else None for i in filled]


def _stamp(s: Segment, sid: str | None, conf: list[float], roster: _Roster) -> Segment:
    if sid is None:
        return s
    c = round(sum(conf) / len(conf), 3) if conf else 0.0
    flags = (
        s.flags
        if c >= UNCERTAIN or "speaker_uncertain" in s.flags
        else (*s.flags, "speaker_uncertain")
    )
    return replace(s, speaker=roster.label(sid), speaker_id=sid, speaker_confidence=c, flags=flags)
