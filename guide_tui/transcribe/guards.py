"""Post-processing for qualitative research: what Whisper gets wrong on long interviews, and what a
verbatim transcript must show.

Every function takes and returns our :class:`Segment` objects (session clock) and is deterministic,
so a resumed run gives the same result. Thresholds are Whisper's own where it has one
(compression ratio 2.4, no-speech 0.6, log-probability -1.0).

- **Text invented over silence.** Long silences never reach the engine (``audio``), and a segment
  whose span holds no frame above the recording's speech threshold is dropped: there was nothing to
  hear. A segment the engine itself doubts twice (no-speech probability > 0.6, and its own
  words improbable: mean log-probability < -0.5 and mean probability < 0.5) is flagged
  ``possible_hallucination``.
- **Loops.** Three or more consecutive copies of the same text, and a phrase repeated inside a
  segment, are collapsed to one copy flagged ``repetition_collapsed``; a segment with a high
  compression ratio and no loop to cut is flagged ``repetition``.
- **Low confidence.** ``low_confidence`` when the segment's mean log-probability (of its own
  words, :func:`segment_logprob`) is under -1.0 or its mean word probability under 0.5; runs of
  improbable words are marked ``uncertain`` (:func:`uncertain_words`), written ``(word?)``.
- **Speakers** (two channels, one microphone per speaker): each word goes to the channel that is
  at least 3 dB louder over the word (the other microphone hears the same voice, only weaker:
  bleed), undecided words follow their neighbours, and a segment is split where the speaker changes.
- **Topics**: a segment is split at the word where the interviewer entered another topic.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
import zlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from guide_tui.transcribe.types import Segment, Word

if TYPE_CHECKING:
    from guide_tui.transcribe.audio import AudioFile

PAUSE_S = 1.0
LOW_LOGPROB = -1.0
LOW_WORD_PROB = 0.5
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
    """Drop text the audio does not support; flag the engine's own doubts.

    A segment goes when its span holds no frame above the speech threshold, or when its words lie
    on (almost) no speech energy: less than ``_SUPPORT_S`` seconds of speech under all its words
    together and under ``_SUPPORT_SHARE`` of their length. That is Whisper's "Thank you." after
    the last word, timed over the silence that follows it. Real words, even mistimed ones, lie
    on speech for most of their length (measured on the fixtures: over half). What is dropped over
    speech energy is not lost silently: :func:`untranscribed` reports the stretch.

    The engine's doubt is judged on the segment's own words (:func:`segment_logprob`): with a
    no-speech probability over 0.6, a mean log-probability under -0.5 together with a mean word
    probability under 0.5 flags the segment ``possible_hallucination``; a mean log-probability
    under -1.0 drops it as silence only where the file has no energy scan (over speech energy,
    :func:`drop_gibberish` judges its words).
    """
    from guide_tui.transcribe.audio import speech_threshold

    kept = []
    for s in segments:
        f = _file_at(files, s.start)
        scanned = False
        if f is not None and f.frame_db is not None and len(f.frame_db):
            scanned = True
            levels = f.frame_db[_frames(f, s.start, s.end)]
            if len(levels) and float(levels.max()) <= speech_threshold(f.frame_db):
                continue
            if s.words and _unsupported(s, files):
                continue
        logprob = segment_logprob(s)
        if s.no_speech_prob > 0.6 and logprob < LOW_LOGPROB and not scanned:
            # Whisper's own rule for "this was silence", where no energy scan says otherwise.
            # Over speech energy the words stay, flagged: drop_gibberish removes a guessed run
            # and reports its speech as unintelligible.
            continue
        if doubted(s):
            # Both doubts at once; no_speech_prob alone is high on the first words after the
            # silence we keep before speech (measured: 0.6-0.7 on clear espeak turns). The
            # mean probability too: one improbable word opening a clear turn ("What" 0.21 in
            # "What makes you comfortable handing those tasks over?") pulls a short segment's
            # mean log-probability under -0.5 alone.
            s = _flag(s, "possible_hallucination")
        kept.append(s)
    return kept


def doubted(s: Segment) -> bool:
    """Does the engine doubt the segment twice over: a no-speech probability over 0.6 and a mean
    log-probability under -0.5 (:func:`segment_logprob`) with a mean word probability under
    :data:`LOW_WORD_PROB`? (Flagged ``possible_hallucination`` by :func:`drop_silence`.)"""
    return (
        s.no_speech_prob > 0.6 and segment_logprob(s) < -0.5 and _mean_prob(s.words) < LOW_WORD_PROB
    )


#: A word whose first this-long lies on no speech energy was stretched back over a silence.
_LEAD_SILENCE_S = 0.3
#: ... and starts this long before its first frame of speech energy (a soft onset, "h" or "f",
#: can lie under the speech threshold).
_ONSET_PAD_S = 0.1


def trim_lead_silence(segments: Sequence[Segment], files: Sequence[AudioFile]) -> list[Segment]:
    """Every word starts where its speech starts.

    Whisper stretches the first word after a pause back over the silence: "What" at 0.0-1.2 s
    for a question that begins at 1.0 s, "Which" at 149.62-151.20 s for a turn that begins at
    150.87 s (issue 11). The word's time is then wrong everywhere it is used: the subtitle cue
    and the review's playback start in the silence, the pause before the word is hidden, and a
    topic change or a speaker turn is judged against the wrong time. A word whose first
    :data:`_LEAD_SILENCE_S` hold no speech energy starts :data:`_ONSET_PAD_S` before its first
    frame of speech energy (a segment starting with it, with it); a word with no speech energy
    at all stays as it was (the other guards judge it). Only silence is taken off a word, so no
    speech is left uncovered.
    """
    out = []
    for s in segments:
        words = []
        for w in s.words:
            f = _file_at(files, w.start)
            if f is None or f.frame_db is None or not len(f.frame_db):
                words.append(w)
                continue
            frames = _frames(f, w.start, w.end)
            heard = speech_mask(f)[frames].nonzero()[0]
            onset = f.offset + (frames.start + int(heard[0])) * _FRAME_S if len(heard) else w.start
            if onset - w.start >= _LEAD_SILENCE_S:
                w = replace(w, start=min(onset - _ONSET_PAD_S, w.end))
            words.append(w)
        if words and words != list(s.words):
            start = words[0].start if words[0] != s.words[0] else s.start
            s = replace(s, start=start, words=tuple(words))
        out.append(s)
    return out


def segment_logprob(s: Segment) -> float:
    """The mean log-probability of the segment's own words (the engine's ``avg_logprob`` when it
    has none).

    Both engines give every segment of a 30 s chunk the chunk's ``avg_logprob`` (as its
    ``compression_ratio`` and ``no_speech_prob``): one stretch no one can make out (time-reversed
    speech) pulled it under -0.5, and every real turn of that chunk was printed "(possibly not
    spoken: …)" (and under -1.0 would have been dropped). The words' own probabilities say which
    segment the doubt belongs to.
    """
    if not s.words:
        return s.avg_logprob
    return sum(math.log(max(w.probability, 1e-6)) for w in s.words) / len(s.words)


def _mean_prob(words: Sequence[Word]) -> float:
    """Mean word probability (1.0 without words: nothing doubtful)."""
    return sum(w.probability for w in words) / len(words) if words else 1.0


#: Below both, a segment's words are not on speech (see :func:`drop_silence`).
_SUPPORT_S = 0.25
_SUPPORT_SHARE = 0.25


def _unsupported(s: Segment, files: Sequence[AudioFile]) -> bool:
    length = sum(max(0.0, w.end - w.start) for w in s.words)
    speech = sum(speech_seconds(files, w.start, w.end) for w in s.words)
    return speech < _SUPPORT_S and speech < _SUPPORT_SHARE * max(length, 1e-6)


def norm_token(text: str) -> str:
    return re.sub(r"[^\w ]", "", text.lower()).strip()


def _has_loop(words: list[str], times: int = 4) -> bool:
    for n in range(1, 5):
        for i in range(0, len(words) - n * times + 1):
            gram = words[i : i + n]
            if all(words[i + k * n : i + (k + 1) * n] == gram for k in range(1, times)):
                return True
    return False


#: A phrase of n words said this many times running is a loop (n = 1: a single word; people do
#: say "no, no, no", so one word needs more copies than a phrase).
_LOOP_COPIES = {1: 5, 2: 4}
_LOOP_COPIES_LONG = 3
_LOOP_MAX_N = 12


def find_loop(tokens: Sequence[str]) -> tuple[int, int, int] | None:
    """``(start, n, copies)`` of the first phrase of ``n`` tokens repeated ``copies`` times
    running (at least :data:`_LOOP_COPIES`), longest run first at each start; else None."""
    for i in range(len(tokens)):
        best: tuple[int, int, int] | None = None
        for n in range(1, _LOOP_MAX_N + 1):
            gram = list(tokens[i : i + n])
            if len(gram) < n or not any(gram):
                break
            k = 1
            while list(tokens[i + k * n : i + (k + 1) * n]) == gram:
                k += 1
            if k >= _LOOP_COPIES.get(n, _LOOP_COPIES_LONG) and (
                best is None or k * n > best[1] * best[2]
            ):
                best = (i, n, k)
        if best is not None:
            return best
    return None


def _collapse_segment(s: Segment) -> list[Segment]:
    """Every loop inside ``s`` cut to its first copy, flagged ``repetition_collapsed``.

    With words, the segment is cut after each loop: the part that ends with the kept copy spans
    the removed copies too (their audio is accounted for, not "untranscribed"), and the words
    after the loop are a segment of their own, without the flag (a later split at a speaker or
    topic change must not carry the loop's mark or span onto them).
    """
    if s.words:
        words = list(s.words)
        loop = find_loop([norm_token(w.word) for w in words])
        if loop is None:
            return _collapse_words(s)
        i, n, k = loop
        kept, after = _cut_after(s, words[: i + n], words[i + k * n :], words[i + k * n - 1].end)
        return [*_collapse_words(kept), *(_collapse_segment(after) if after else [])]
    tokens = s.text.split()
    changed = False
    while (loop := find_loop([norm_token(t) for t in tokens])) is not None:
        i, n, k = loop
        del tokens[i + n : i + k * n]
        changed = True
    return [mark_collapsed(replace(s, text=" ".join(tokens)))] if changed else [s]


def _collapse_words(s: Segment) -> list[Segment]:
    """``s`` with every loop inside a single word cut to its first copy (:func:`word_loop`),
    cut after that word as after a loop of words (the words after it are a segment of their
    own, without the flag)."""
    for i, w in enumerate(s.words):
        short = word_loop(w.word)
        if short is None:
            continue
        kept, after = _cut_after(s, (*s.words[:i], replace(w, word=short)), s.words[i + 1 :], w.end)
        return [kept, *(_collapse_words(after) if after else [])]
    return [s]


def _cut_after(
    s: Segment, head: Sequence[Word], rest: Sequence[Word], end: float
) -> tuple[Segment, Segment | None]:
    """``s`` cut after a collapsed loop: the part kept (``head``, flagged, spanning to ``end``,
    the loop's last copy, or to the end of ``s`` when nothing follows) and the words after it
    (``rest``), a segment of their own without the flag, or None."""
    kept = mark_collapsed(
        replace(s, end=end if rest else s.end, words=tuple(head), text=joined(head))
    )
    if not rest:
        return kept, None
    return kept, replace(s, start=rest[0].start, words=tuple(rest), text=joined(rest))


_WORD_LOOP = re.compile(r"(\w{2,10}?)\1{3,}")
#: A "word" this long that is mostly one syllable again and again is a loop, not a word.
_WORD_LOOP_MIN_CHARS = 20


def word_loop(word: str) -> str | None:
    """``word`` with a loop inside it cut to its first copy ("Nyehmiyehmiyehmi…" → "Nyehmi", a
    372-character word base wrote over the end of a real turn after a reversed one), or None.
    Only long words that are mostly the loop: "hahaha" or "mmmm" stay as written."""
    if len(word) < _WORD_LOOP_MIN_CHARS:
        return None
    m = _WORD_LOOP.search(word)
    if m is None or m.end() - m.start() < 0.8 * len(word.strip()):
        return None
    return word[: m.start()] + m.group(1) + word[m.end() :]


def joined(words: Sequence[Word]) -> str:
    return "".join(w.word for w in words).strip()


#: Whisper's limit for a looping decode (gzip compression ratio of the text).
COMPRESSION_LIMIT = 2.4


def compression_ratio(text: str) -> float:
    """Whisper's measure of repetitiveness: the text's length over its zlib-compressed length."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def guard_repetition(segments: Sequence[Segment]) -> list[Segment]:
    """Collapse loops to one copy, flagged ``repetition_collapsed`` (rendered visibly).

    Three or more consecutive segments with the same text become the first one, stretched over
    the span of all (the audio under them is accounted for, not "untranscribed"); a phrase
    repeated inside a segment (:func:`find_loop`) is cut to its first copy. A segment whose own
    text compresses like a loop (:func:`compression_ratio` over Whisper's 2.4) but has no loop we
    can cut is flagged ``repetition``. The engine's ``compression_ratio`` is not used for that:
    faster-whisper gives every segment of a 30 s chunk the ratio of the whole chunk, so one loop
    would flag its neighbours ("Thank you, that is clear." after a collapsed loop).
    """
    out: list[Segment] = []
    i = 0
    segments = list(segments)
    while i < len(segments):
        s = segments[i]
        j = i + 1
        key = norm_token(s.text)
        while key and j < len(segments) and norm_token(segments[j].text) == key:
            j += 1
        if j - i >= 3:
            s = mark_collapsed(replace(s, end=max(x.end for x in segments[i:j])))
        else:
            j = i + 1
        for part in _collapse_segment(s):
            if compression_ratio(part.text) > COMPRESSION_LIMIT:
                part = _flag(part, "repetition")
            out.append(part)
        i = j
    return out


def flag_low_confidence(segments: Sequence[Segment]) -> list[Segment]:
    out = []
    for s in segments:
        if segment_logprob(s) < LOW_LOGPROB or _mean_prob(s.words) < LOW_WORD_PROB:
            s = _flag(s, "low_confidence")
        out.append(s)
    return out


#: A word is marked uncertain when it belongs to a run of at least two adjacent words of one segment
#: that are all under :data:`UNCERTAIN_RUN_PROB`, at least one of them under
#: :data:`UNCERTAIN_PEAK_PROB`; a lone improbable word is not marked.
#:
#: Calibrated with bench/fidelity.py (tiny.en, espeak-ng interviews) on five GP fixtures (A-E:
#: 877 words, 100 wrong) and checked on three held out (H1, H2: another interview text; R: with a
#: reversed turn; 347 words, 46 wrong). Held out, the rule before (probability < 0.25 and at least
#: 4 letters) marked 4.3 words per 100 with 47 % of them wrong, catching 15 % of the wrong words;
#: this one marks 3.2 per 100, 82 % of them wrong, catching 20 % (calibration fixtures: 2.1 per
#: 100, 72 %, 13 %). tiny.en gives a lone low probability to many right words ("Thank" 0.15 and
#: "Most" 0.03 opening a turn); what it mishears comes in runs ("name is on land" 0.47/0.07/0.33/
#: 0.07). Half of the wrong words have a probability over 0.5: no mark can find those.
#: docs/benchmarks-transcription.md has the tables.
UNCERTAIN_RUN_PROB = 0.35
UNCERTAIN_PEAK_PROB = 0.2


def uncertain_words(s: Segment) -> list[bool]:
    """Per word of ``s``: should a reader check it against the audio?

    The one rule behind ``"uncertain"`` in transcript.json and every mark an export shows: the
    word is in a run of two or more adjacent improbable words (see :data:`UNCERTAIN_RUN_PROB`).
    Segment flags are not spread to their words (a flagged segment is marked as a whole by its
    flag). Fillers (um, uh) are never marked and do not join or break a run: "(um?)" tells a
    reader nothing, and an improbable filler of the filler pass must not mark its neighbours.
    """
    at = [k for k, w in enumerate(s.words) if not is_filler(w)]
    p = [s.words[k].probability for k in at]
    out = [False] * len(s.words)
    i = 0
    while i < len(p):
        if p[i] >= UNCERTAIN_RUN_PROB:
            i += 1
            continue
        j = i
        while j + 1 < len(p) and p[j + 1] < UNCERTAIN_RUN_PROB:
            j += 1
        if j > i and min(p[i : j + 1]) < UNCERTAIN_PEAK_PROB:
            for k in at[i : j + 1]:
                out[k] = True
        i = j + 1
    return out


#: A run of words whose mean probability stays under this, starting and ending on an uncertain
#: word, at least ``GIBBERISH_MIN_S`` long and with ``GIBBERISH_MIN_WORDS`` uncertain words, is
#: the engine guessing over speech it cannot make out (measured: time-reversed speech gives
#: "They must numb your surface of menses on the bruce", mean probability 0.38).
GIBBERISH_MEAN_PROB = 0.45
#: What counts as an uncertain word for that rule (fixed here: the per-word marks,
#: :func:`uncertain_words`, are calibrated separately).
GIBBERISH_WORD_PROB = 0.35
GIBBERISH_MIN_S = 2.5  # 1.5 s removed a misheard but real "or if all goes to secondary care"
GIBBERISH_MIN_WORDS = 3
#: A fluent guess (see :func:`gibberish_runs`): at least this long, half its words uncertain.
GIBBERISH_FLUENT_MIN_S = 4.0
GIBBERISH_MAX_S = 30.0  # how far a fluent guess is looked for (a guess fills at most a chunk)
#: Words next to such a run (less than this far from it) under this probability belong to it.
GIBBERISH_EDGE_PROB = 0.6
GIBBERISH_EDGE_GAP_S = 1.0
#: A run ends before a new turn: words after a pause this long (or a new segment) that average
#: :data:`GIBBERISH_EDGE_PROB` to the run's end are speech the engine heard, not its guess.
GIBBERISH_TURN_GAP_S = 0.3


def _grown(words: Sequence[Word], i: int, *, first_stop: bool) -> int:
    """The last word of the run from ``words[i]`` whose mean probability stays under
    :data:`GIBBERISH_MEAN_PROB` (``first_stop``: until the first word that lifts it over; else
    the longest, up to a pause), shrunk back to its last uncertain word."""
    total, last = 0.0, i
    for j in range(i, len(words)):
        if not first_stop and j > i and words[j].start - words[j - 1].end >= GIBBERISH_EDGE_GAP_S:
            break
        if not first_stop and words[j].end - words[i].start > GIBBERISH_MAX_S:
            break
        total += words[j].probability
        if total / (j - i + 1) < GIBBERISH_MEAN_PROB:
            last = j
        elif first_stop:
            break
    return _shrunk(words, i, last)


def _shrunk(words: Sequence[Word], i: int, last: int) -> int:
    while last > i and words[last].probability >= GIBBERISH_WORD_PROB:
        last -= 1
    return last


def _clear_edges(
    words: Sequence[Word], i: int, last: int, starts: Collection[int]
) -> tuple[bool, int]:
    """Does the run ``i..last`` begin with a clear turn (then it is not a guess from ``i``), and
    where does it end without its clear last turn? A turn begins after a pause of
    :data:`GIBBERISH_TURN_GAP_S` or at a new segment (``starts``)."""
    breaks = [
        c
        for c in range(i + 1, last + 1)
        if c in starts or words[c].start - words[c - 1].end >= GIBBERISH_TURN_GAP_S
    ]
    if any(_mean_prob(words[i:c]) >= GIBBERISH_EDGE_PROB for c in breaks):
        return True, last
    for c in breaks:
        if _mean_prob(words[c : last + 1]) >= GIBBERISH_EDGE_PROB:
            return False, _shrunk(words, i, c - 1)
    return False, last


def gibberish_runs(words: Sequence[Word], starts: Collection[int] = ()) -> list[tuple[int, int]]:
    """``(first, last)`` word indexes of runs the engine guessed (see :data:`GIBBERISH_MEAN_PROB`).

    From each uncertain word the run grows while the mean probability stays under the limit (it
    stops at the first word that lifts it over: one clear word after a misheard one ends it),
    then shrinks back to its last uncertain word.

    A fluent guess is found whole: when that run is too short, the longest one from the same
    word whose mean stays under the limit (up to a pause of :data:`GIBBERISH_EDGE_GAP_S`) counts
    when it lasts :data:`GIBBERISH_FLUENT_MIN_S` and half its words are uncertain. base wrote
    "Hey, you must know me, sir, that meant me and the Busan army, or the new ones as all the
    Russians." over a reversed turn (mean 0.39): "and the" (0.78/0.82) cut it into two runs of
    2.3 s. Shorter mixed runs are left alone: they were the low first words of two real turns
    ("this work. They talk a course").

    A run never takes in a clear turn at its edges (:func:`_clear_edges`): after a guess of 25
    words (mean 0.35) the mean stayed under the limit over the clear start of the next real
    turn ("Yes, the practice nurse does the diabetes controls", mean 0.66), and the whole
    answer was reported unintelligible. ``starts``: indexes of words that begin a segment.
    """
    out: list[tuple[int, int]] = []
    low = GIBBERISH_WORD_PROB
    i = 0
    while i < len(words):
        if words[i].probability >= low:
            i += 1
            continue
        clear_head, last = _clear_edges(words, i, _grown(words, i, first_stop=True), starts)
        doubtful = sum(1 for w in words[i : last + 1] if w.probability < low)
        if words[last].end - words[i].start < GIBBERISH_MIN_S or doubtful < GIBBERISH_MIN_WORDS:
            clear_head, last = _clear_edges(words, i, _grown(words, i, first_stop=False), starts)
            doubtful = sum(1 for w in words[i : last + 1] if w.probability < low)
            if words[last].end - words[i].start < GIBBERISH_FLUENT_MIN_S or 2 * doubtful < (
                last + 1 - i
            ):
                i += 1
                continue
        if clear_head:
            i += 1
            continue
        # The guess spills over: doubtful words right next to it belong to it ("A" before,
        # "or caustion." after the reversed turn, probabilities 0.35-0.53).
        first = i
        floor = out[-1][1] + 1 if out else 0
        while (
            first > floor
            and words[first - 1].probability < GIBBERISH_EDGE_PROB
            and words[first].start - words[first - 1].end < GIBBERISH_EDGE_GAP_S
        ):
            first -= 1
        while (
            last + 1 < len(words)
            and words[last + 1].probability < GIBBERISH_EDGE_PROB
            and words[last + 1].start - words[last].end < GIBBERISH_EDGE_GAP_S
        ):
            last += 1
        out.append((first, last))
        i = last + 1
    return out


def drop_gibberish(segments: Sequence[Segment]) -> tuple[list[Segment], list[tuple[float, float]]]:
    """Remove the words of :func:`gibberish_runs` (across segment borders); returns the segments
    left and the spans removed. The speech under a removed run is reported as ``untranscribed``
    (reason ``unintelligible``) instead: a guess presented as text is worse than a gap marked
    "check the audio"."""
    ordered = sorted(segments, key=lambda s: (s.start, s.end))
    flat = [(k, w) for k, s in enumerate(ordered) for w in s.words]
    starts = {n for n in range(1, len(flat)) if flat[n][0] != flat[n - 1][0]}
    runs = gibberish_runs([w for _, w in flat], starts)
    if not runs:
        return list(ordered), []
    gone = {idx for a, b in runs for idx in range(a, b + 1)}
    spans = [(flat[a][1].start, flat[b][1].end) for a, b in runs]
    keep: dict[int, list[Word]] = {}
    for idx, (k, w) in enumerate(flat):
        if idx not in gone:
            keep.setdefault(k, []).append(w)
    out = []
    for k, s in enumerate(ordered):
        if not s.words:
            out.append(s)
        elif k in keep:
            words = keep[k]
            if len(words) == len(s.words):
                out.append(s)
            else:
                out.append(
                    replace(
                        s,
                        start=words[0].start,
                        end=words[-1].end,
                        words=tuple(words),
                        text="".join(w.word for w in words).strip(),
                    )
                )
    return out, spans


def unclear_stretches(s: Segment) -> list[tuple[float, float]]:
    """Runs of uncertain words in a segment (for ``(unclear hh:mm:ss)`` marks)."""
    runs: list[tuple[float, float]] = []
    for w, doubt in zip(s.words, uncertain_words(s), strict=True):
        if doubt:
            if runs and w.start - runs[-1][1] < 0.5:
                runs[-1] = (runs[-1][0], w.end)
            else:
                runs.append((w.start, w.end))
    return runs


def pauses(
    segments: Sequence[Segment],
    min_s: float = PAUSE_S,
    files: Sequence[AudioFile] | None = None,
) -> list[tuple[float, float]]:
    """Silent gaps of at least ``min_s`` between consecutive words (or segments without words).

    With ``files`` (scanned), a gap holding speech energy is no pause: it is speech the engine did
    not write (an ``untranscribed`` stretch), and ``(12.1 s)`` over it would tell the reader
    nothing was said. The gap's first and last ``_EDGE_S`` are not looked at: word times are
    approximate and the tail of the word before a pause often lies there. The pause is the
    silence itself: speech energy in those edges (the end of the word before, Whisper ending it
    early; the onset of the word after) is not part of it, so a 0.9 s silence between two
    words timed 1.1 s apart is no pause.
    """
    spans: list[tuple[float, float]] = []
    for s in segments:
        spans.extend((w.start, w.end) for w in s.words) if s.words else spans.append(
            (s.start, s.end)
        )
    spans.sort()
    gaps = []
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start - end < min_s:
            continue
        if files is not None:
            if speech_seconds(files, end + _EDGE_S, start - _EDGE_S) >= _CLICK_S:
                continue
            end, start = _silence_within(files, end, start)
        if start - end >= min_s:
            gaps.append((end, start))
    return gaps


def _silence_within(files: Sequence[AudioFile], end: float, start: float) -> tuple[float, float]:
    """The gap ``end``-``start`` between two words without the speech energy in its first and
    last :data:`_EDGE_S` (unchanged where the file has no energy scan; each edge judged on the
    energy of the file it lies in)."""
    edge = round(_EDGE_S / _FRAME_S)
    f = _file_at(files, end)
    if f is not None and f.frame_db is not None and len(f.frame_db):
        a = max(0, int((end - f.offset) / _FRAME_S))
        head = speech_mask(f)[a : a + edge].nonzero()[0]
        if len(head):
            end = max(end, f.offset + (a + int(head[-1]) + 1) * _FRAME_S)
    g = _file_at(files, start)
    if g is not None and g.frame_db is not None and len(g.frame_db):
        b = min(len(g.frame_db), int((start - g.offset) / _FRAME_S))
        tail = speech_mask(g)[max(0, b - edge) : b].nonzero()[0]
        if len(tail):
            start = min(start, g.offset + (max(0, b - edge) + int(tail[0])) * _FRAME_S)
    return end, start


#: Margin at each end of a gap between words where speech energy is still the words' own.
_EDGE_S = 0.3
#: Less speech energy than this in a stretch is a click or a breath, not speech.
_CLICK_S = 0.1
#: An uncovered stretch shorter than this is not reported (word times are approximate).
UNTRANSCRIBED_MIN_S = 1.5
#: Uncovered speech runs closer than this are one stretch (the gaps between words).
_JOIN_S = 0.6


_MASKS: dict[int, tuple[Any, Any]] = {}


def speech_mask(f: AudioFile) -> Any:
    """Per 20 ms frame: is there speech energy (the same threshold as the speech detector)?

    Cached per scan (the threshold is a percentile over the whole file; the guards ask for
    every word)."""
    from guide_tui.transcribe.audio import speech_threshold

    assert f.frame_db is not None
    cached = _MASKS.get(id(f.frame_db))
    if cached is not None and cached[0] is f.frame_db:
        return cached[1]
    mask = f.frame_db > speech_threshold(f.frame_db)
    if len(_MASKS) > 64:
        _MASKS.clear()
    _MASKS[id(f.frame_db)] = (f.frame_db, mask)
    return mask


def speech_seconds(files: Sequence[AudioFile], start: float, end: float) -> float:
    """Seconds of speech energy between ``start`` and ``end`` (session clock)."""
    if end <= start:
        return 0.0
    total = 0.0
    for f in files:
        if f.frame_db is None or end <= f.offset or start >= f.offset + f.duration:
            continue
        a = max(0, int((start - f.offset) / _FRAME_S))
        b = max(a, int((end - f.offset) / _FRAME_S))
        total += float(speech_mask(f)[a:b].sum()) * _FRAME_S
    return total


#: What Whisper writes over audio it cannot make out, learnt from video subtitles: over a reversed
#: turn, decoded on its own, tiny.en wrote "Thank you so much for watching, and I'll see you in
#: the next video" twice from two different starts (so two decodes agreeing do not vouch for
#: it). Only fresh decodes of a stretch out of context are checked (runner._agreed): said in an
#: interview, "thank you so much" stays.
STOCK_PHRASES = re.compile(
    r"\b(?:thanks?(?: you)?(?: so much| very much)? for watching"
    r"|see you (?:in the |at the )?next (?:video|episode)"
    r"|(?:please |don't forget to )?(?:like and )?subscribe to (?:my|the|our) channel"
    r"|subtitles by|amara\.org)\b",
    re.IGNORECASE,
)


def stock_phrase(text: str) -> bool:
    """Does ``text`` hold one of Whisper's stock subtitle phrases (:data:`STOCK_PHRASES`)?"""
    return STOCK_PHRASES.search(" ".join(text.split())) is not None


#: A filler below this probability accounts for no speech: under the filler prompt tiny.en once
#: wrote a lone "Um," (p = 0.001) for a whole 3 s question (60-minute fixture, 1950 s).
GUESSED_FILLER_P = 0.01


def is_filler(word: Word) -> bool:
    """Is ``word`` a filler (um, uh, hmm, …, with its punctuation)?"""
    return _FILLER_TOKEN.fullmatch(word.word.strip()) is not None


def guessed_filler(word: Word) -> bool:
    """A filler (um, uh, …) the engine was nearly sure it did not hear."""
    return word.probability < GUESSED_FILLER_P and is_filler(word)


#: A filler of the filler pass is added only this close to one of the words around it.
FILLER_NEAR_S = 1.0


def add_fillers(segments: Sequence[Segment], heard: Sequence[Word]) -> list[Segment]:
    """``segments`` with the fillers (um, uh, …) of a second decode of the same audio (``heard``:
    its words, prompted with fillers) added where both decodes wrote the same words on either
    side of them and nothing else differs there: "controls, and she" and "controls, and, um,
    she" give "controls, and um, she", with the filler's own times (its neighbours' trimmed off
    it: Whisper stretches the words around a filler it leaves out over it). A filler the engine
    was nearly sure it did not hear (:func:`guessed_filler`), one outside its neighbours' span
    or more than :data:`FILLER_NEAR_S` from both (in a long gap: an untranscribed stretch), or
    next to words the two decodes disagree on, is not added; nothing but fillers is ever taken
    from ``heard``."""
    ordered = sorted(segments, key=lambda s: (s.start, s.end))
    flat = [(k, j) for k, s in enumerate(ordered) for j in range(len(s.words))]
    mine = [ordered[k].words[j] for k, j in flat]
    ops = difflib.SequenceMatcher(
        None,
        [norm_token(x.word) for x in mine],
        [norm_token(x.word) for x in heard],
        autojunk=False,
    ).get_opcodes()
    before: dict[int, list[Word]] = {}  # index in ``mine`` -> fillers to add before that word
    for n, (op, i1, _i2, j1, j2) in enumerate(ops):
        if op != "insert" or not 0 < n < len(ops) - 1:
            continue
        if ops[n - 1][0] != "equal" or ops[n + 1][0] != "equal":
            continue
        new, prev, nxt = list(heard[j1:j2]), mine[i1 - 1], mine[i1]
        if not all(is_filler(x) and not guessed_filler(x) for x in new):
            continue
        if new[0].start < prev.start or new[-1].end > nxt.end:
            continue
        if new[0].start - prev.end > FILLER_NEAR_S and nxt.start - new[-1].end > FILLER_NEAR_S:
            continue
        before[i1] = new
    if not before:
        return list(ordered)
    words = [list(s.words) for s in ordered]
    for i, new in sorted(before.items(), reverse=True):
        (kp, jp), (kn, jn) = flat[i - 1], flat[i]
        prev, nxt = words[kp][jp], words[kn][jn]
        words[kp][jp] = replace(prev, end=max(prev.start, min(prev.end, new[0].start)))
        words[kn][jn] = replace(nxt, start=min(nxt.end, max(nxt.start, new[-1].end)))
        # A filler between two segments opens the second (a turn's "Um, it is …").
        k, at = (kp, jp + 1) if kp == kn else (kn, 0)
        words[k][at:at] = new
    out = []
    for s, ws in zip(ordered, words, strict=True):
        if ws == list(s.words):
            out.append(s)
        else:
            out.append(replace(s, start=min(s.start, ws[0].start), end=max(s.end, ws[-1].end),
                               words=tuple(ws), text=joined(ws)))  # fmt: skip
    return out


def covered_spans(segments: Sequence[Segment]) -> list[tuple[float, float]]:
    """What the transcript accounts for: each word (except a :func:`guessed_filler`), a wordless
    segment whole, and the whole span of a segment whose loop was collapsed (its later copies
    covered that audio)."""
    spans: list[tuple[float, float]] = []
    for s in segments:
        if not s.words or "repetition_collapsed" in s.flags:
            spans.append((s.start, s.end))
        else:
            spans.extend((w.start, w.end) for w in s.words if not guessed_filler(w))
    return spans


def untranscribed(
    segments: Sequence[Segment],
    files: Sequence[AudioFile],
    *,
    within: Sequence[tuple[float, float]] | None = None,
    min_s: float = UNTRANSCRIBED_MIN_S,
    margin_s: float = _EDGE_S,
) -> list[tuple[float, float]]:
    """Stretches of at least ``min_s`` with speech energy and no word over them (session clock).

    A frame is covered when it lies within ``margin_s`` of a word (:func:`covered_spans`).
    Uncovered speech runs less than ``_JOIN_S`` apart are one stretch; a stretch is reported
    when it spans ``min_s`` and holds more than ``_CLICK_S`` of speech. ``within`` limits the
    search to these spans (a window's chunks); default: all the audio.
    """
    import numpy as np

    cover = covered_spans(segments)
    out: list[tuple[float, float]] = []
    for f in files:
        if f.frame_db is None or not len(f.frame_db):
            continue
        active = speech_mask(f).copy()
        n = len(active)
        if within is not None:
            allowed = np.zeros(n, bool)
            for a, b in within:
                i0, i1 = max(0, int((a - f.offset) / _FRAME_S)), int((b - f.offset) / _FRAME_S)
                if i1 > i0:
                    allowed[i0 : min(n, i1)] = True
            active &= allowed
        for a, b in cover:
            i0 = max(0, int((a - margin_s - f.offset) / _FRAME_S))
            i1 = int((b + margin_s - f.offset) / _FRAME_S) + 1
            if i1 > 0 and i0 < n:
                active[i0 : min(n, i1)] = False
        if not active.any():
            continue
        idx = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
        runs: list[list[float]] = []
        for a, b in zip(idx[::2], idx[1::2], strict=True):
            start, end = int(a) * _FRAME_S, int(b) * _FRAME_S
            if runs and start - runs[-1][1] < _JOIN_S:
                runs[-1][1] = end
                runs[-1][2] += end - start
            else:
                runs.append([start, end, end - start])
        out.extend(
            (f.offset + a, f.offset + b)
            for a, b, speech in runs
            if b - a >= min_s and speech > _CLICK_S
        )
    return sorted(out)


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


#: A stretch of 1-3 words is respelt as a vocabulary term when its letters match the term's this
#: closely (difflib ratio); only for terms of ``_SPELL_MIN_LETTERS`` letters or more, so short
#: terms ("GP", "LBP") never replace ordinary words.
_SPELL_RATIO = 0.85
_SPELL_MIN_LETTERS = 6


def _letters(text: str) -> str:
    return re.sub(r"[\W\d_]", "", text.lower())  # letters of any alphabet (Danish æøå)


def _spelt_here(words: Sequence[Word], i: int, spelt: set[str]) -> int:
    """How many words from ``i`` on are a vocabulary term spelt right (0: none)."""
    for n in range(min(6, len(words) - i), 0, -1):
        if " ".join(_letters(w.word) for w in words[i : i + n]) in spelt:
            return n
    return 0


def _spelling_match(got: str, letters: str) -> float:
    """How closely the letters said match a term's (0 when they must not be respelt).

    The same letters split differently ("flow chart") match fully; an inflected form
    ("referrals", "practitioners") is not a misspelling; a near match must begin and end like the
    term, so a neighbouring word ("a practice nurse", "triage at") is never swallowed.
    """
    import difflib

    if got == letters:
        return 1.0
    if got.startswith(letters) or abs(len(got) - len(letters)) > 3:
        return 0.0
    if got[:2] != letters[:2] or got[-2:] != letters[-2:]:
        return 0.0
    return difflib.SequenceMatcher(None, got, letters).ratio()


def spell_vocabulary(segments: Sequence[Segment], vocabulary: Sequence[str]) -> list[Segment]:
    """The guide's vocabulary used after decoding, to spell domain words the way the guide does.

    Why not the prompt: a glossary prompt made tiny.en skip turns, drop every filler and decode
    several times slower (docs/benchmarks-transcription.md). Here a run of one to three words whose
    letters nearly match a term ("spondyl arthrosis", "physio therapist") becomes the term, with
    the punctuation of the run's last word and the times of the run; exact matches and short terms
    are left alone. The words' probabilities are kept (a respelt word is no more certain).
    """
    terms = [(t, _letters(t)) for t in vocabulary if len(_letters(t)) >= _SPELL_MIN_LETTERS]
    if not terms:
        return list(segments)
    # Each term as it is spelt, words lower-cased (a run already spelt so is left alone).
    spelt = {" ".join(_letters(w) for w in t.split()) for t in vocabulary}
    out = []
    for s in segments:
        words = list(s.words)
        changed = False
        i = 0
        while i < len(words):
            k = _spelt_here(words, i, spelt)
            if k:
                i += k  # a term said and spelt right: none of its words is respelt
                continue
            best: tuple[float, int, str] | None = None
            for n in (1, 2, 3):
                if i + n > len(words):
                    break
                said = " ".join(_letters(w.word) for w in words[i : i + n])
                got = said.replace(" ", "")
                if not got or said in spelt:
                    continue
                for term, letters in terms:
                    ratio = _spelling_match(got, letters)
                    if ratio >= _SPELL_RATIO and (best is None or ratio > best[0]):
                        best = (ratio, n, term)
            if best is None:
                i += 1
                continue
            _, n, term = best
            run = words[i : i + n]
            tail = re.search(r"[^\w]*$", run[-1].word.rstrip())
            punct = tail.group(0) if tail else ""
            if run[0].word.strip()[:1].isupper():
                term = term[:1].upper() + term[1:]
            words[i : i + n] = [
                Word(
                    run[0].start,
                    run[-1].end,
                    " " + term + punct,
                    min(w.probability for w in run),
                )
            ]
            changed = True
            i += 1
        if changed:
            s = replace(s, words=tuple(words), text="".join(w.word for w in words).strip())
        out.append(s)
    return out


def mark_collapsed(s: Segment) -> Segment:
    """Flag a loop cut to one copy: ``repetition`` (the engine looped, which every renderer
    shows) and ``repetition_collapsed`` (copies were removed)."""
    return _flag(_flag(s, "repetition"), "repetition_collapsed")


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
