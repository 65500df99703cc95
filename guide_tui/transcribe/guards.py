"""Post-processing for qualitative research: what Whisper gets wrong on long interviews, and what a
verbatim transcript must show.

Every function takes and returns our :class:`Segment` objects (session clock) and is deterministic,
so a resumed run gives the same result. Thresholds are Whisper's own where it has one
(compression ratio 2.4, no-speech 0.6, log-probability -1.0).

- **Text invented over silence.** Long silences never reach the engine (``audio``), and a segment
  whose span holds no frame above the recording's speech threshold is dropped: there was nothing to
  hear. A segment the engine itself doubts twice (no-speech probability > 0.6 and mean
  log-probability < -0.5) is flagged ``possible_hallucination``.
- **Loops.** The third and later consecutive copies of the same text are dropped; a segment with a
  high compression ratio or a word n-gram repeated four times running is flagged ``repetition``.
- **Low confidence.** ``low_confidence`` when the segment's mean log-probability is under -1.0 or
  its mean word probability under 0.5; single stretches of improbable words are marked in the
  Markdown as ``(unclear hh:mm:ss)``.
- **Speakers** (two channels, one microphone per speaker): each word goes to the channel that is
  at least 3 dB louder over the word (the other microphone hears the same voice, only weaker:
  bleed), undecided words follow their neighbours, and a segment is split where the speaker changes.
- **Topics**: a segment is split at the word where the interviewer entered another topic.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from guide_tui.transcribe.types import Segment, Word

if TYPE_CHECKING:
    from guide_tui.transcribe.audio import AudioFile

PAUSE_S = 1.0
LOW_LOGPROB = -1.0
LOW_WORD_PROB = 0.5
UNCLEAR_WORD_PROB = 0.35
SPEAKER_MARGIN_DB = 3.0
_FRAME_S = 0.02


def _file_at(files: Sequence[AudioFile], t: float) -> AudioFile | None:
    for f in files:
        if f.offset <= t < f.offset + f.duration:
            return f
    return files[-1] if files and t >= files[-1].offset else None


def _frames(f: AudioFile, start: float, end: float) -> slice:
    a = max(0, int((start - f.offset) / _FRAME_S))
    b = max(a + 1, int((end - f.offset) / _FRAME_S) + 1)
    return slice(a, b)


def drop_silence(segments: Sequence[Segment], files: Sequence[AudioFile]) -> list[Segment]:
    """Drop segments over audio with no speech energy; flag the engine's own doubts."""
    from guide_tui.transcribe.audio import speech_threshold

    kept = []
    for s in segments:
        f = _file_at(files, s.start)
        if f is not None and f.frame_db is not None and len(f.frame_db):
            levels = f.frame_db[_frames(f, s.start, s.end)]
            if len(levels) and float(levels.max()) <= speech_threshold(f.frame_db):
                continue
        if s.no_speech_prob > 0.6 and s.avg_logprob < LOW_LOGPROB:
            continue  # Whisper's own rule for "this was silence"
        if s.no_speech_prob > 0.6 and s.avg_logprob < -0.5:
            # Both doubts at once; no_speech_prob alone is high on the first words after the
            # silence we keep before speech (measured: 0.6-0.7 on clear espeak turns).
            s = _flag(s, "possible_hallucination")
        kept.append(s)
    return kept


def _norm(text: str) -> str:
    return re.sub(r"[^\w ]", "", text.lower()).strip()


def _has_loop(words: list[str], times: int = 4) -> bool:
    for n in range(1, 5):
        for i in range(0, len(words) - n * times + 1):
            gram = words[i : i + n]
            if all(words[i + k * n : i + (k + 1) * n] == gram for k in range(1, times)):
                return True
    return False


def guard_repetition(segments: Sequence[Segment]) -> list[Segment]:
    out: list[Segment] = []
    run = 0
    for s in segments:
        if out and _norm(s.text) and _norm(s.text) == _norm(out[-1].text):
            run += 1
            if run >= 2:
                out[-1] = _flag(out[-1], "repetition")
                continue
        else:
            run = 0
        if s.compression_ratio > 2.4 or _has_loop(_norm(s.text).split()):
            s = _flag(s, "repetition")
        out.append(s)
    return out


def flag_low_confidence(segments: Sequence[Segment]) -> list[Segment]:
    out = []
    for s in segments:
        mean_p = sum(w.probability for w in s.words) / len(s.words) if s.words else 1.0
        if s.avg_logprob < LOW_LOGPROB or mean_p < LOW_WORD_PROB:
            s = _flag(s, "low_confidence")
        out.append(s)
    return out


def unclear_stretches(s: Segment) -> list[tuple[float, float]]:
    """Runs of improbable words in a segment (for ``(unclear hh:mm:ss)`` marks)."""
    runs: list[tuple[float, float]] = []
    for w in s.words:
        if w.probability < UNCLEAR_WORD_PROB:
            if runs and w.start - runs[-1][1] < 0.5:
                runs[-1] = (runs[-1][0], w.end)
            else:
                runs.append((w.start, w.end))
    return runs


def pauses(segments: Sequence[Segment], min_s: float = PAUSE_S) -> list[tuple[float, float]]:
    """Silent gaps of at least ``min_s`` between consecutive words (or segments without words)."""
    spans: list[tuple[float, float]] = []
    for s in segments:
        spans.extend((w.start, w.end) for w in s.words) if s.words else spans.append(
            (s.start, s.end)
        )
    spans.sort()
    gaps = []
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start - end >= min_s:
            gaps.append((end, start))
    return gaps


def assign_speakers(
    segments: Sequence[Segment], files: Sequence[AudioFile], labels: dict[str, list[str]]
) -> list[Segment]:
    """Speaker per word from channel energy (two-channel files), segments split at changes.

    ``labels`` maps a file name to its channel labels (``["Interviewer", "P07"]``); a file with one
    channel, or without labels, leaves ``speaker`` as ``None``.
    """
    import numpy as np

    out: list[Segment] = []
    for s in segments:
        f = _file_at(files, s.start)
        names = labels.get(f.path.name) if f is not None else None
        if f is None or f.channel_db is None or f.channels < 2 or not names:
            out.append(s)
            continue
        items: list[tuple[float, float]] = [(w.start, w.end) for w in s.words] or [(s.start, s.end)]
        who: list[int | None] = []
        for start, end in items:
            levels = f.channel_db[_frames(f, start, end)]
            if len(levels) == 0:
                who.append(None)
                continue
            power = (10.0 ** (levels.astype("float64") / 10.0)).mean(axis=0)
            db = 10.0 * np.log10(power + 1e-12)
            order = db.argsort()[::-1]
            who.append(int(order[0]) if db[order[0]] - db[order[1]] >= SPEAKER_MARGIN_DB else None)
        whole = _segment_channel(f, s)
        filled = _fill(who, whole)
        name = [names[c] if c is not None and c < len(names) else None for c in filled]
        if not s.words:
            out.append(replace(s, speaker=name[0]))
            continue
        out.extend(_split_runs(s, name))
    return out


def _segment_channel(f: AudioFile, s: Segment) -> int | None:
    import numpy as np

    assert f.channel_db is not None
    levels = f.channel_db[_frames(f, s.start, s.end)]
    if len(levels) == 0:
        return None
    db = 10.0 * np.log10((10.0 ** (levels.astype(np.float64) / 10.0)).mean(axis=0) + 1e-12)
    return int(db.argmax())


def _fill(who: list[int | None], default: int | None) -> list[int | None]:
    """Undecided words take the speaker of the nearest decided word before (else after) them."""
    out = list(who)
    last = None
    for i, w in enumerate(out):
        if w is None:
            out[i] = last
        else:
            last = w
    nxt = None
    for i in range(len(out) - 1, -1, -1):
        if who[i] is not None:
            nxt = who[i]
        if out[i] is None:
            out[i] = nxt if nxt is not None else default
    return out


def _field(name: str, value: str | None) -> dict[str, Any]:
    """``{name: value}`` for ``replace(segment, **...)`` with a field chosen at run time."""
    return {name: value}


def _split_runs(s: Segment, keys: Sequence[str | None], field: str = "speaker") -> list[Segment]:
    runs: list[tuple[str | None, list[Word]]] = []
    for w, k in zip(s.words, keys, strict=True):
        if runs and runs[-1][0] == k:
            runs[-1][1].append(w)
        else:
            runs.append((k, [w]))
    if len(runs) == 1:
        return [replace(s, **_field(field, runs[0][0]))]
    parts = []
    for i, (k, words) in enumerate(runs):
        parts.append(
            replace(
                s,
                start=s.start if i == 0 else words[0].start,
                end=s.end if i == len(runs) - 1 else words[-1].end,
                text="".join(w.word for w in words).strip(),
                words=tuple(words),
                **_field(field, k),
            )
        )
    return parts


def split_at_topics(
    segments: Sequence[Segment], topic_at: Callable[[float], str | None]
) -> list[Segment]:
    """Give each segment (split at a topic change between its words) the topic active then."""
    out: list[Segment] = []
    for s in segments:
        if not s.words:
            out.append(replace(s, topic=topic_at(s.start)))
            continue
        keys = [topic_at((w.start + w.end) / 2) for w in s.words]
        keys[0] = topic_at(s.start) if keys.count(keys[0]) == len(keys) else keys[0]
        out.extend(_split_runs(s, keys, "topic"))
    return out


def _flag(s: Segment, flag: str) -> Segment:
    return s if flag in s.flags else replace(s, flags=(*s.flags, flag))


_FILLER_WORD = r"(?:u+m+|u+h+|e+r+m*|a+h+|h+m+|m+h*m+|mm-?hmm|uh-?huh)"
FILLERS = re.compile(
    rf"(?<![\w']){_FILLER_WORD}(?![\w'])[,.…]*\s*",
    re.IGNORECASE,
)
_FILLER_TOKEN = re.compile(rf"{_FILLER_WORD}(?P<punct>[,.…?!;:]*)", re.IGNORECASE)
_CLOSING_QUOTES = "\"')]”’"


def _ends_sentence(token: str) -> bool:
    """``token`` closes a sentence (``.``, ``?``, ``!``; an ellipsis is a hesitation)."""
    core = token.rstrip(_CLOSING_QUOTES)
    return core.endswith((".", "?", "!")) and not core.endswith(("...", "…"))


def _restarts(before: str, rest: list[str]) -> bool:
    """The speaker starts again with the word before the filler ("we, uh, we")."""
    word = re.sub(r"\W", "", before).lower()
    return bool(rest) and bool(word) and re.sub(r"\W", "", rest[0]).lower() == word


def _capitalised(token: str) -> str:
    for i, ch in enumerate(token):
        if ch.isalpha():
            return token[:i] + ch.upper() + token[i + 1 :]
    return token


def clean_text(text: str) -> str:
    """Readable text for ``--clean``: fillers removed with the punctuation Whisper wrote for them.

    Word by word, so the punctuation around a filler can be judged:

    - a filler opening a sentence goes with its comma, and the next word gets the capital
      ("It was fine. Um, the next day" → "It was fine. The next day");
    - a filler between two commas takes both ("I think, uh, it works" → "I think it works"),
      one followed by no comma leaves the comma before it ("samples, uh vaccinations"), and so
      does a restart ("We, uh, we went" → "We, we went");
    - a filler ending a sentence hands its full stop to the word before ("It hurt, um." →
      "It hurt."), and a filler that is a whole sentence ("Uh.") disappears.
    """
    out: list[str] = []
    capitalise_next = False
    tokens = text.split()
    for i, token in enumerate(tokens):
        match = _FILLER_TOKEN.fullmatch(token)
        if match is None:
            if capitalise_next:
                token = _capitalised(token)
                capitalise_next = False
            out.append(token)
            continue
        punct = match["punct"]
        at_start = not out or _ends_sentence(out[-1])
        closes = _ends_sentence(punct) if punct else False
        if closes:
            if not at_start:
                out[-1] = out[-1].rstrip(",;:") + ("?" if "?" in punct else punct[-1])
            capitalise_next = True
        elif at_start:
            capitalise_next = True
        elif "," in punct and out[-1].endswith(",") and not _restarts(out[-1], tokens[i + 1 :]):
            out[-1] = out[-1][:-1]
    cleaned = " ".join(out).rstrip(",;: ")
    return _capitalised(cleaned) if cleaned else cleaned
