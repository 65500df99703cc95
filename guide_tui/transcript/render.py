"""One convention for marks in every text export and ``transcript.md``.

The simplified transcription rules of Dresing & Pehl that f4/f5 and MAXQDA users know: a word the
engine was unsure of is written as a guess, ``(word?)`` (several in a row: ``(two words?)``); a
stretch of speech with no words is ``(untranscribed speech 02:38–02:51, check the audio)``;
silences inside a turn are ``(.)`` (under 3 s) or ``(3 s)``; a recording pause is
``(recording paused 1 min 20 s)``, a lost microphone ``(no recording from 03:10 to 03:35: the
microphone was lost)``. Words the audio may not support are wrapped as
``(possibly not spoken: Thank you.)``; a repetition loop that was collapsed to one copy is
followed by ``(repetition collapsed, check the audio)``; a turn whose speaker the voice model
was not sure of begins with ``(speaker unsure)`` (after its label). Marks are in round brackets
so that QDA tools' autocoding can find them; speech never is.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from guide_tui.transcript.model import RecordingPause, TranscriptModel, Turn, Word
from guide_tui.transcript.source import RecordingGap, Untranscribed
from guide_tui.transcript.spans import Span

HALLUCINATION = "possible_hallucination"
REPETITION = "repetition"
REPETITION_MARK = "(repetition collapsed, check the audio)"
SPEAKER_UNSURE_MARK = "(speaker unsure)"


def clock(t: float) -> str:
    """``02:38`` under an hour, ``1:02:38`` beyond."""
    t = max(0, int(t))
    h, rem = divmod(t, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def pause_mark(seconds: float) -> str:
    """``(.)`` under 3 s, ``(4 s)`` from 3 s on (whole seconds, as f4 writes them)."""
    return "(.)" if seconds < 3.0 else f"({round(seconds)} s)"


def untranscribed_mark(item: Untranscribed) -> str:
    return f"(untranscribed speech {clock(item.start)}–{clock(item.end)}, check the audio)"


def recording_pause_mark(item: RecordingPause) -> str:
    if item.seconds is None:
        return f"(recording paused at {clock(item.t)})"
    minutes, seconds = divmod(round(item.seconds), 60)
    length = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
    return f"(recording paused {length} at {clock(item.t)})"


def gap_mark(item: RecordingGap) -> str:
    """Session time with no audio (a lost microphone): nothing could be transcribed there."""
    return f"(no recording from {clock(item.start)} to {clock(item.end)}: the microphone was lost)"


def _pause_between(pauses: Sequence[Span], before: Word, after: Word) -> Span | None:
    """A silence listed in transcript.json that lies between two words (never invented).
    ``pauses`` are sorted by start (the model keeps them so)."""
    i = bisect.bisect_left(pauses, Span(before.end - 0.05, float("-inf")))
    for p in pauses[i : i + 2]:
        if p.end <= after.start + 0.05 and p.duration > 0:
            return p
    return None


def turn_text(
    turn: Turn, pauses: Sequence[Span] = (), *, marks: bool = True, speaker_mark: bool = True
) -> str:
    """A turn's words with the marks of this module (``marks=False``: plain words;
    ``speaker_mark=False``: without :data:`SPEAKER_UNSURE_MARK`, for a view that shows the
    doubt beside the label)."""
    if not marks:
        return turn.text
    parts: list[str] = [SPEAKER_UNSURE_MARK] if speaker_mark and turn.speaker_unsure else []
    guess: list[str] = []
    unsupported: list[str] = []

    def flush_guess() -> None:
        if guess:
            (unsupported if unsupported_open else parts).append(f"({' '.join(guess)}?)")
            guess.clear()

    def flush_unsupported() -> None:
        if unsupported:
            parts.append(f"(possibly not spoken: {' '.join(unsupported)})")
            unsupported.clear()

    unsupported_open = False
    words = turn.words
    for i, w in enumerate(words):
        if i:
            gap = _pause_between(pauses, words[i - 1], w)
            if gap is not None:
                flush_guess()
                if unsupported_open:
                    flush_unsupported()
                    unsupported_open = False
                parts.append(pause_mark(gap.duration))
        hallucinated = HALLUCINATION in w.flags
        if hallucinated != unsupported_open:
            flush_guess()
            if unsupported_open:
                flush_unsupported()
            unsupported_open = hallucinated
        if w.uncertain and not hallucinated:
            guess.append(w.text)
        else:
            flush_guess()
            (unsupported if unsupported_open else parts).append(w.text)
        repeated = REPETITION in w.flags
        last_of_segment = i + 1 == len(words) or words[i + 1].segment != w.segment
        if repeated and last_of_segment:
            flush_guess()
            if unsupported_open:
                flush_unsupported()
                unsupported_open = False
            parts.append(REPETITION_MARK)
    flush_guess()
    flush_unsupported()
    return " ".join(parts)


def model_turn_text(
    model: TranscriptModel, turn: Turn, *, marks: bool = True, speaker_mark: bool = True
) -> str:
    return turn_text(turn, model.pauses, marks=marks, speaker_mark=speaker_mark)


def sentence_chunks(turn: Turn) -> list[tuple[Word, ...]]:
    """A turn cut after each sentence end (subtitles want short cues)."""
    from guide_tui.transcript.model import SENTENCE_GAP_S, ends_sentence

    out: list[tuple[Word, ...]] = []
    current: list[Word] = []
    for w in turn.words:
        if current and (ends_sentence(current[-1]) or w.start - current[-1].end >= SENTENCE_GAP_S):
            out.append(tuple(current))
            current = []
        current.append(w)
    if current:
        out.append(tuple(current))
    return out
