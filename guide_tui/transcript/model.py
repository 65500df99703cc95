"""The transcript a researcher reads: speaker turns, topic visits, codes, marks (SPEC §6a).

Built once from the engine's record (``transcript.json``, read by :mod:`.source`), the session's
event log and the researcher's corrections log (:mod:`.corrections`), and read by every export
writer and ``transcript.md``, so a rule (where a topic begins, which turns a question code
covers) lives here and nowhere else.
The rules are stated in docs/transcript-format.md ("The transcript model").

Everything is a span on one clock (:mod:`.spans`). Ids are times (``w12.34``, ``t12.34``), so a
correction can name a word or a turn stably across re-transcriptions.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from difflib import SequenceMatcher
from typing import Any

from guide_tui.transcript import corrections as corr
from guide_tui.transcript.source import Annotation, RecordingGap, Transcript, Untranscribed
from guide_tui.transcript.spans import Span, span_id

#: A word ending like this ends a sentence (closing quotes/brackets allowed after it).
SENTENCE_END = re.compile(r"[.?!…][\"'”’)\]]*$")
QUESTION_END = re.compile(r"\?[\"'”’)\]]*$")
#: Abbreviations whose full stop does not end a sentence.
ABBREVIATIONS = frozenset(
    {"dr.", "mr.", "mrs.", "ms.", "prof.", "st.", "e.g.", "i.e.", "etc.", "vs.", "no.", "ca."}
)
#: A silence this long between words ends a sentence even without punctuation.
SENTENCE_GAP_S = 1.0
#: Without speaker labels, a silence this long (seconds) starts a new paragraph.
UNLABELLED_TURN_GAP_S = 2.0
#: How far (seconds) a topic change may move to reach the start of its turn or sentence.
SNAP_WINDOW_S = 20.0
#: A tick this long (seconds) before a question's first word refers to that question.
EARLY_TICK_S = 5.0
#: A first topic entered this close to the start of the recording covers the speech from 0.
FIRST_TOPIC_AT_START_S = 1.0
#: Without the engine's own verdict, a word below this probability is marked uncertain.
UNCERTAIN_P = 0.35
#: Event-log ticks that become codes on the transcript.
CODE_TYPES = ("question_asked", "probe_used", "summary_given")
CLOSING_PROMPT = "closing_prompt"
INTERVIEWER = "Interviewer"
#: Below this speaker confidence a turn's speaker is worth checking (the engine's
#: ``speaker_uncertain`` flag uses the same line: docs/transcript-format.md, "Speakers").
LOW_SPEAKER_CONFIDENCE = 0.6
#: How far (seconds) a correction's words may have moved after a re-transcription and still be
#: found by their text.
ANCHOR_TOLERANCE_S = 2.0


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str  # without surrounding spaces
    probability: float | None = None
    speaker: str | None = None
    uncertain: bool = False
    flags: tuple[str, ...] = ()  # the segment's: repetition, possible_hallucination, ...
    segment: int = 0
    #: The researcher said who spoke it (a speaker correction): no longer a guess.
    speaker_confirmed: bool = False

    @property
    def id(self) -> str:
        return span_id("w", self.start)


@dataclass(frozen=True)
class Sentence:
    """Words between sentence ends, speaker changes and pauses: the unit nothing may cut."""

    words: tuple[Word, ...]

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end

    @property
    def speaker(self) -> str | None:
        return self.words[0].speaker

    @property
    def is_question(self) -> bool:
        return bool(QUESTION_END.search(self.words[-1].text))


@dataclass(frozen=True)
class TopicVisit:
    """One stay in a topic (or the closing): from where its speech begins to the next visit."""

    index: int
    topic: str | None  # None for the closing and for talk before the first topic
    title: str
    start: float  # where the topic's speech begins (snapped, rule 3)
    end: float
    raw_start: float  # when the key was pressed (the event's t)
    closing: bool = False

    @property
    def span(self) -> Span:
        return Span(self.start, self.end)


@dataclass(frozen=True)
class Turn:
    """One speaker's uninterrupted talk within one topic visit (a paragraph, a NVivo row)."""

    words: tuple[Word, ...]
    visit: int
    topic: str | None
    speaker: str | None = None
    speaker_confidence: float | None = None

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end

    @property
    def id(self) -> str:
        return span_id("t", self.start)

    @property
    def text(self) -> str:
        """The plain words, no marks (renderers add marks: :mod:`.render`)."""
        return " ".join(w.text for w in self.words)

    @property
    def speaker_unsure(self) -> bool:
        """The voice matched its speaker only weakly (and nobody has confirmed it since)."""
        return (
            self.speaker is not None
            and self.speaker_confidence is not None
            and self.speaker_confidence < LOW_SPEAKER_CONFIDENCE
        )

    @property
    def flags(self) -> frozenset[str]:
        out = {f for w in self.words for f in w.flags}
        if any(w.uncertain for w in self.words):
            out.add("uncertain")
        return frozenset(out)


@dataclass(frozen=True)
class Code:
    """A tick placed on the transcript: from its question's first word to the next code or the
    end of the visit (rule 4). ``t`` is the raw tick time."""

    type: str  # question_asked | probe_used | summary_given | closing_prompt
    t: float
    start: float
    end: float
    visit: int
    topic: str | None = None
    question: str | None = None
    probe: str | None = None
    prompt: str | None = None
    text: str | None = None
    placed: bool = True  # False when the visit has no speech to place it on

    @property
    def span(self) -> Span:
        return Span(self.start, self.end)


@dataclass(frozen=True)
class RecordingPause:
    """The interviewer paused the recording (``p``): nothing was recorded for ``seconds``."""

    t: float
    seconds: float | None = None


@dataclass(frozen=True)
class Heading:
    visit: TopicVisit
    revisit: bool = False


Block = Heading | Turn | Annotation | Untranscribed | RecordingPause | RecordingGap


@dataclass(frozen=True)
class TranscriptModel:
    turns: tuple[Turn, ...]
    visits: tuple[TopicVisit, ...]
    codes: tuple[Code, ...] = ()
    notes: tuple[Annotation, ...] = ()  # notes and markers
    untranscribed: tuple[Untranscribed, ...] = ()
    pauses: tuple[Span, ...] = ()  # silences between words (transcript.json ``pauses``)
    recording_pauses: tuple[RecordingPause, ...] = ()
    gaps: tuple[RecordingGap, ...] = ()
    sentences: tuple[Sentence, ...] = ()
    speakers: tuple[str, ...] = ()
    source: Transcript | None = field(default=None, compare=False)
    #: Stretches the researcher marked reviewed (merged), from the corrections log.
    reviewed: tuple[Span, ...] = ()
    #: One line for each correction that could not be placed (its words are gone).
    unplaced: tuple[str, ...] = ()
    #: How many corrections are in effect (0: the engine's transcript as it is).
    corrections: int = 0
    #: Each speaker label's role (``interviewer``, ``participant``, ``observer``, ``unknown``),
    #: renames applied; a label the transcript gives no role is absent.
    roles: Mapping[str, str] = field(default_factory=dict)

    @property
    def reviewed_seconds(self) -> float:
        return sum(s.duration for s in self.reviewed)

    def is_reviewed(self, turn: Turn) -> bool:
        """Whether the researcher marked the whole of ``turn`` reviewed."""
        return any(s.start - 1e-3 <= turn.start and turn.end <= s.end + 1e-3 for s in self.reviewed)

    @property
    def reviewed_turns(self) -> int:
        return sum(1 for t in self.turns if self.is_reviewed(t))

    def speakers_with_role(self, role: str) -> set[str]:
        return {label for label, r in self.roles.items() if r == role}

    def visit_at(self, t: float) -> TopicVisit | None:
        starts = [v.start for v in self.visits]
        i = bisect.bisect_right(starts, t + 1e-9) - 1
        return self.visits[i] if i >= 0 else None

    def turns_in(self, span: Span) -> list[Turn]:
        """Turns that begin inside ``span``."""
        return [t for t in self.turns if span.start <= t.start < span.end]

    def blocks(self) -> list[Block]:
        """Headings, turns, notes/markers, untranscribed stretches and recording pauses in
        reading order. A note goes after the turn it was taken in; a heading opens each visit
        that has anything in it."""
        items: list[tuple[float, int, Block]] = [(t.start, 1, t) for t in self.turns]
        items += [(n.t, 2, n) for n in self.notes]
        items += [(u.start, 0, u) for u in self.untranscribed]
        items += [(p.t, 0, p) for p in self.recording_pauses]
        items += [(g.start, 0, g) for g in self.gaps]
        items.sort(key=lambda i: (i[0], i[1]))
        out: list[Block] = []
        seen: set[tuple[bool, str | None]] = set()
        current: int | None = None
        for t, _, item in items:
            visit = self.visits[item.visit] if isinstance(item, Turn) else self.visit_at(t)
            index = visit.index if visit is not None else -1
            if visit is not None and index != current:
                key = (visit.closing, visit.topic)
                out.append(Heading(visit, revisit=key in seen))
                seen.add(key)
                current = index
            out.append(item)
        return out


# ---------------------------------------------------------------------------------------------
# building


def build_model(
    transcript: Transcript,
    events: Iterable[Mapping[str, Any]] = (),
    corrections: Sequence[Mapping[str, Any] | corr.Correction] = (),
    *,
    titles: Mapping[str, str] | None = None,
    engine: Sequence[Word] | None = None,
) -> TranscriptModel:
    """The model of one session's transcript. ``events`` are ``events.jsonl`` lines as dicts
    (undo is applied here); without them the topic visits come from ``transcript.json``.
    ``corrections`` are ``corrections.jsonl`` lines (dicts or :class:`.corrections.Correction`),
    applied in order over the engine's words (undo applied here too). ``engine``: what
    :func:`engine_words` returned for this transcript, kept by a caller that rebuilds after each
    correction (a third of a rebuild; the words are frozen and only copied here)."""
    applied = _apply(_words(transcript) if engine is None else engine, corrections)
    words = applied.words
    sentences = split_sentences(words)
    speakers_known = any(w.speaker for w in words)
    live = _live(events)
    names = dict(transcript.topic_titles)
    names.update(titles or {})
    duration = max(
        [transcript.duration or 0.0]
        + [w.end for w in words]
        + [u.end for u in transcript.untranscribed]
    )
    raw = _correct_visits(_raw_visits(transcript, live), applied)
    visits = place_visits(raw, sentences, speakers_known, duration, names)
    ticks = _ticks(transcript, live) + [
        replace(k, topic=v.topic) if k.topic is None and (v := _visit_at(visits, k.t)) else k
        for k in applied.ticks
    ]
    ticks.sort(key=lambda k: k.t)
    codes = place_codes(ticks, visits, sentences, _interviewer(transcript, words))
    breaks = sorted(
        set(applied.splits)
        | {c.start for c in codes if c.placed}
        | {u.start for u in transcript.untranscribed}
        | {u.end for u in transcript.untranscribed}
    )
    recording_pauses = _recording_pauses(live)
    breaks = sorted(
        set(breaks) | {p.t for p in recording_pauses} | {g.start for g in transcript.gaps}
    )
    turns = group_turns(words, visits, breaks, transcript, joins=applied.joins)
    speakers = tuple(dict.fromkeys(applied.renames.get(s, s) for s in transcript.speakers))
    roles = {applied.renames.get(k, k): v for k, v in transcript.speaker_roles.items()}
    if INTERVIEWER in {w.speaker for w in words}:
        roles.setdefault(INTERVIEWER, "interviewer")
    return TranscriptModel(
        turns=tuple(turns),
        visits=tuple(visits),
        codes=tuple(codes),
        notes=tuple(a for a in transcript.annotations if a.type in ("note", "marker")),
        untranscribed=transcript.untranscribed,
        pauses=tuple(sorted(Span(s, e) for s, e in transcript.pauses)),
        recording_pauses=tuple(recording_pauses),
        gaps=transcript.gaps,
        sentences=tuple(sentences),
        speakers=speakers,
        source=transcript,
        reviewed=tuple(corr.reviewed_spans(applied.live)),
        unplaced=tuple(applied.unplaced),
        corrections=len(applied.live),
        roles=roles,
    )


def apply_corrections(
    words: Sequence[Word], corrections: Sequence[Mapping[str, Any] | corr.Correction]
) -> list[Word]:
    """The words after the researcher's text and speaker corrections (the whole application,
    turns and topics included, is :func:`build_model`'s)."""
    return _apply(words, corrections).words


@dataclass
class _Applied:
    words: list[Word]
    live: list[corr.Correction] = field(default_factory=list)
    splits: set[float] = field(default_factory=set)  # a turn begins at this word start
    joins: set[float] = field(default_factory=set)  # no new turn at this word start
    renames: dict[str, str] = field(default_factory=dict)
    topics: list[corr.Correction] = field(default_factory=list)  # move/enter, for the visits
    ticks: list[_Tick] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)


def _token(text: str) -> str:
    """A word as compared for anchoring: case and punctuation do not matter (a re-transcription
    may punctuate differently)."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _clock(t: float) -> str:
    whole = int(t)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _locate(words: Sequence[Word], start: float, end: float, original: str) -> int | None:
    """Index of the first of the consecutive words reading ``original`` nearest ``start..end``
    (within :data:`ANCHOR_TOLERANCE_S`), or None when they are not there."""
    target = [_token(t) for t in original.split()]
    n = len(target)
    if not n:
        return None
    starts = [w.start for w in words]
    i = bisect.bisect_left(starts, start - ANCHOR_TOLERANCE_S)
    best: tuple[float, int] | None = None
    while i < len(words) and words[i].start <= start + ANCHOR_TOLERANCE_S:
        if i + n <= len(words) and [_token(w.text) for w in words[i : i + n]] == target:
            distance = abs(words[i].start - start) + abs(words[i + n - 1].end - end)
            if best is None or distance < best[0]:
                best = (distance, i)
        i += 1
    return best[1] if best is not None else None


def _replace_words(words: list[Word], i: int, n: int, text: str) -> None:
    """Words ``i..i+n`` become ``text``, aligned word by word (the review edits whole turns):
    an unchanged word keeps its time and marks, a changed run shares the time of the words it
    replaces (an inserted one the gap where it goes), so the highlight still follows the audio.
    Re-typing the same text confirms it: its words are no longer marked uncertain."""
    old = words[i : i + n]
    tokens = text.split()
    if tokens == [w.text for w in old]:
        words[i : i + n] = [replace(w, uncertain=False, probability=1.0) for w in old]
        return
    matcher = SequenceMatcher(None, [w.text for w in old], tokens, autojunk=False)
    new: list[Word] = []
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            new += old[a1:a2]
            continue
        if b1 == b2:
            continue  # deleted
        if a2 > a1:
            start, end = old[a1].start, old[a2 - 1].end
        else:
            start = old[a1 - 1].end if a1 else old[0].start
            end = old[a1].start if a1 < n else old[-1].end
        end = max(end, start)
        step = (end - start) / (b2 - b1)
        template = old[min(a1, n - 1)]
        new += [
            replace(
                template,
                start=start + k * step,
                end=start + (k + 1) * step,
                text=tok,
                uncertain=False,
                probability=1.0,
                flags=(),
            )
            for k, tok in enumerate(tokens[b1:b2])
        ]
    words[i : i + n] = new


def _apply(
    words: Sequence[Word], corrections: Sequence[Mapping[str, Any] | corr.Correction]
) -> _Applied:
    out = _Applied(list(words))
    if not corrections:
        return out
    items: list[corr.Correction] = []
    for c in corrections:
        try:
            items.append(c if isinstance(c, corr.Correction) else corr.Correction.from_dict(c))
        except (ValueError, TypeError, corr.CorrectionError):
            continue  # a line the log reader would have skipped
    out.live = corr.live(items)
    ws = out.words
    for c in out.live:
        d = c.data
        where = float(d.get("start", d.get("at", d.get("t", 0.0))))
        if c.type in (corr.EDIT_TEXT, corr.SET_SPEAKER):
            original = str(d["original"])
            i = _locate(ws, float(d["start"]), float(d["end"]), original)
            if i is None:
                out.unplaced.append(
                    f"correction {c.seq} ({c.type} at {_clock(where)}): "
                    f"\u201c{_clip(original)}\u201d is not there any more"
                )
                continue
            n = len(original.split())
            if c.type == corr.EDIT_TEXT:
                _replace_words(ws, i, n, str(d["text"]))
            else:
                speaker = str(d["speaker"]) or None
                ws[i : i + n] = [
                    replace(w, speaker=speaker, speaker_confirmed=True) for w in ws[i : i + n]
                ]
        elif c.type in (corr.SPLIT_TURN, corr.MERGE_TURNS):
            i = _locate(ws, float(d["at"]), float(d["at"]), str(d["word"]))
            if i is None:
                out.unplaced.append(
                    f"correction {c.seq} ({c.type} at {_clock(where)}): "
                    f"\u201c{_clip(str(d['word']))}\u201d is not there any more"
                )
                continue
            at = round(ws[i].start, 6)
            if c.type == corr.SPLIT_TURN:
                out.splits.add(ws[i].start)
                out.joins.discard(at)
            else:
                out.joins.add(at)
                out.splits.discard(ws[i].start)
                if i > 0 and ws[i].speaker != ws[i - 1].speaker:
                    theirs, mine = ws[i].speaker, ws[i - 1].speaker
                    j = i
                    while j < len(ws) and ws[j].speaker == theirs:
                        ws[j] = replace(ws[j], speaker=mine, speaker_confirmed=True)
                        j += 1
        elif c.type == corr.RENAME_SPEAKER:
            old_name, new_name = str(d["speaker"]), str(d["name"]).strip()
            if not new_name or not any(w.speaker == old_name for w in ws):
                if new_name:
                    out.unplaced.append(
                        f"correction {c.seq} ({c.type}): no speaker {old_name!r} any more"
                    )
                continue
            ws[:] = [replace(w, speaker=new_name) if w.speaker == old_name else w for w in ws]
            out.renames = {k: (new_name if v == old_name else v) for k, v in out.renames.items()}
            out.renames[old_name] = new_name
        elif c.type in (corr.MOVE_TOPIC, corr.ENTER_TOPIC):
            out.topics.append(c)
        elif c.type == corr.TICK:
            topic = d.get("topic")
            out.ticks.append(
                _Tick(
                    str(d["kind"]),
                    float(d["t"]),
                    str(topic) if topic is not None else None,
                    _opt(d.get("question")),
                    _opt(d.get("probe")),
                    None,
                    _opt(d.get("text")),
                )
            )
    return out


def _opt(value: object) -> str | None:
    return str(value) if value is not None else None


def _clip(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _correct_visits(raw: list[_RawVisit], applied: _Applied) -> list[_RawVisit]:
    """Topic boundaries moved or entered in review. A moved boundary names its visit by topic
    and the time its key was pressed (``TopicVisit.raw_start``); the researcher's time is kept
    but still never cuts a sentence."""
    out = list(raw)
    for c in applied.topics:
        d = c.data
        topic = None if d["topic"] is None else str(d["topic"])
        if c.type == corr.ENTER_TOPIC:
            out.append(_RawVisit(float(d["t"]), topic, closing=topic is None, exact=True))
            continue
        near = [
            (abs(v.t - float(d["from_t"])), k)
            for k, v in enumerate(out)
            if v.topic == topic and abs(v.t - float(d["from_t"])) <= ANCHOR_TOLERANCE_S
        ]
        if not near:
            applied.unplaced.append(
                f"correction {c.seq} ({c.type}): no visit of topic {topic!r} "
                f"entered at {_clock(float(d['from_t']))}"
            )
            continue
        k = min(near)[1]
        out[k] = replace(out[k], t=float(d["t"]), exact=True)
    out.sort(key=lambda v: v.t)
    return [v for i, v in enumerate(out) if i + 1 == len(out) or out[i + 1].t > v.t]


def _visit_at(visits: Sequence[TopicVisit], t: float) -> TopicVisit | None:
    inside = [v for v in visits if v.start <= t]
    return inside[-1] if inside else (visits[0] if visits else None)


def _norm(text: str) -> str:
    return " ".join(text.split())


def engine_words(transcript: Transcript) -> tuple[Word, ...]:
    """The engine's words of ``transcript``, before any correction (see :func:`build_model`)."""
    return tuple(_words(transcript))


def _words(transcript: Transcript) -> list[Word]:
    """Every word of every segment. A segment whose text no longer matches its timed words (the
    readable ``text_clean``, a pseudonymised name) gets its text spread over its time instead,
    so no replaced word can come back."""
    out: list[Word] = []
    for seg in transcript.segments:
        if not seg.text:
            continue
        flags = tuple(f for f in seg.flags if f != "low_confidence")
        timed = [w for w in seg.words if w.text.strip()]
        if timed and _norm("".join(w.text for w in timed)) == _norm(seg.text):
            for w in timed:
                uncertain = (
                    w.uncertain
                    if w.uncertain is not None
                    else w.probability is not None and w.probability < UNCERTAIN_P
                )
                out.append(
                    Word(
                        start=w.start,
                        end=max(w.end, w.start),
                        text=w.text.strip(),
                        probability=w.probability,
                        speaker=w.speaker or seg.speaker,
                        uncertain=uncertain,
                        flags=flags,
                        segment=seg.id,
                    )
                )
            continue
        tokens = seg.text.split()
        step = max(seg.end - seg.start, 0.0) / len(tokens)
        for i, token in enumerate(tokens):
            out.append(
                Word(
                    start=seg.start + i * step,
                    end=seg.start + (i + 1) * step,
                    text=token,
                    speaker=seg.speaker,
                    flags=flags,
                    segment=seg.id,
                )
            )
    out.sort(key=lambda w: (w.start, w.end))
    return out


def ends_sentence(word: Word) -> bool:
    return bool(SENTENCE_END.search(word.text)) and word.text.lower() not in ABBREVIATIONS


def split_sentences(words: Sequence[Word]) -> list[Sentence]:
    """Sentences: a new one after ``.?!``, at a speaker change and after a silence of
    :data:`SENTENCE_GAP_S` (Whisper does not always punctuate)."""
    out: list[Sentence] = []
    current: list[Word] = []
    for w in words:
        if current:
            last = current[-1]
            if (
                ends_sentence(last)
                or w.speaker != last.speaker
                or w.start - last.end >= SENTENCE_GAP_S
            ):
                out.append(Sentence(tuple(current)))
                current = []
        current.append(w)
    if current:
        out.append(Sentence(tuple(current)))
    return out


def _units(sentences: Sequence[Sentence], speakers_known: bool) -> list[Span]:
    """What a topic change snaps to: speaker turns when speakers are known, else sentences."""
    if not speakers_known:
        return [Span(s.start, s.end) for s in sentences]
    out: list[Span] = []
    speaker: object = object()
    for s in sentences:
        if out and s.speaker == speaker and s.speaker is not None:
            out[-1] = Span(out[-1].start, s.end)
        else:
            out.append(Span(s.start, s.end))
            speaker = s.speaker
    return out


def snap(
    t: float,
    sentences: Sequence[Sentence],
    speakers_known: bool,
    interviewer: str | None = None,
) -> float:
    """Where a topic change at ``t`` begins (rule 3). Pressed inside a sentence: the start of
    its speaker turn (speakers known) or of the sentence, within :data:`SNAP_WINDOW_S`; pressed
    in a pause, or while the participant was finishing an answer: the start of the next
    sentence. Never inside a word or a sentence."""
    for i, s in enumerate(sentences):
        answering = interviewer is not None and s.speaker not in (None, interviewer)
        if s.start > t or (answering and s.start <= t < s.end):  # a pause, or an answer
            nxt = s if s.start > t else (sentences[i + 1] if i + 1 < len(sentences) else None)
            if nxt is None:
                return t
            return nxt.start if nxt.start - t <= SNAP_WINDOW_S else t
        if t < s.end:
            if speakers_known:
                unit = next(u for u in _units(sentences, True) if u.start <= s.start <= u.end)
                if t - unit.start <= SNAP_WINDOW_S:
                    return unit.start
            if t - s.start <= SNAP_WINDOW_S:
                return s.start
            inside = next((w.start for w in s.words if w.start <= t <= w.end), None)
            after = next((w.start for w in s.words if w.start >= t), None)
            return inside if inside is not None else after if after is not None else t
    return t


@dataclass(frozen=True)
class _RawVisit:
    t: float
    topic: str | None
    closing: bool = False
    exact: bool = False  # placed by the researcher in review: snapped to its sentence only


def _live(events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    events = list(events)
    withdrawn = {(e.get("data") or {}).get("undoes") for e in events if e.get("type") == "undo"}
    return [
        e
        for e in events
        if e.get("seq") not in withdrawn and e.get("type") != "undo" and _is_num(e.get("t"))
    ]


def _is_num(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _raw_visits(transcript: Transcript, live: list[Mapping[str, Any]]) -> list[_RawVisit]:
    """Topic changes from the event log (undo applied) or, without one, from transcript.json."""
    out: list[_RawVisit] = []
    for e in live:
        data = e.get("data") or {}
        if e.get("type") == "topic_entered" and isinstance(data.get("topic"), str):
            out.append(_RawVisit(float(e["t"]), data["topic"]))
        elif e.get("type") == "closing_started" and not any(v.closing for v in out):
            out.append(_RawVisit(float(e["t"]), None, closing=True))
    if not out:
        for item in transcript.raw.get("topics") or ():
            if isinstance(item, dict) and item.get("id") and _is_num(item.get("start")):
                out.append(_RawVisit(float(item["start"]), str(item["id"])))
    if not out:  # an old transcript: the segments' topics
        topic: object = object()
        for seg in transcript.segments:
            if seg.text and seg.topic != topic:
                topic = seg.topic
                if seg.topic is not None:
                    out.append(_RawVisit(seg.start, seg.topic))
    out.sort(key=lambda v: v.t)  # stable: same-time events keep file order
    # a topic replaced at the same instant never began
    return [v for i, v in enumerate(out) if i + 1 == len(out) or out[i + 1].t > v.t]


def place_visits(
    raw: Sequence[_RawVisit],
    sentences: Sequence[Sentence],
    speakers_known: bool,
    duration: float,
    titles: Mapping[str, str],
    interviewer: str | None = None,
) -> list[TopicVisit]:
    starts: list[tuple[_RawVisit, float]] = []
    previous = 0.0
    for i, v in enumerate(raw):
        at = (
            0.0
            if i == 0 and v.t < FIRST_TOPIC_AT_START_S and not v.exact
            else snap(v.t, sentences, False)
            if v.exact
            else snap(v.t, sentences, speakers_known, interviewer)
        )
        at = max(at, previous)
        starts.append((v, at))
        previous = at
    out: list[TopicVisit] = []
    first_speech = sentences[0].start if sentences else None
    if starts and first_speech is not None and first_speech < starts[0][1]:
        out.append(TopicVisit(0, None, "Before the first topic", 0.0, starts[0][1], 0.0))
    for i, (v, at) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else max(duration, at)
        title = "Closing" if v.closing else titles.get(v.topic or "", v.topic or "")
        out.append(TopicVisit(len(out), v.topic, title, at, end, v.t, closing=v.closing))
    if not out:
        out.append(TopicVisit(0, None, "Before the first topic", 0.0, max(duration, 0.0), 0.0))
    return out


@dataclass(frozen=True)
class _Tick:
    type: str
    t: float
    topic: str | None
    question: str | None = None
    probe: str | None = None
    prompt: str | None = None
    text: str | None = None


def _ticks(transcript: Transcript, live: list[Mapping[str, Any]]) -> list[_Tick]:
    out = [
        _Tick(a.type, a.t, a.topic, a.question, a.probe, None, a.text)
        for a in transcript.annotations
        if a.type in CODE_TYPES
    ]
    for e in live:
        if e.get("type") == CLOSING_PROMPT:
            prompt = (e.get("data") or {}).get("prompt")
            out.append(_Tick(CLOSING_PROMPT, float(e["t"]), None, prompt=str(prompt or "")))
    out.sort(key=lambda k: k.t)
    return out


def _interviewer(transcript: Transcript, words: Sequence[Word]) -> str | None:
    names = {w.speaker for w in words if w.speaker}
    if INTERVIEWER in names:
        return INTERVIEWER
    return (
        transcript.speakers[0] if transcript.speakers and transcript.speakers[0] in names else None
    )


def _visit_for(tick: _Tick, visits: Sequence[TopicVisit]) -> TopicVisit:
    """The visit a tick belongs to: of its topic (the closing for a closing prompt), the one
    whose time holds the tick, else the latest that began before it."""
    if tick.type == CLOSING_PROMPT:
        mine = [v for v in visits if v.closing]
    else:
        mine = [v for v in visits if v.topic == tick.topic and not v.closing]
    if not mine:
        mine = list(visits)
    for v in mine:
        if v.start <= tick.t < v.end:
            return v
    before = [v for v in mine if min(v.start, v.raw_start) <= tick.t]
    return before[-1] if before else mine[0]


def place_codes(
    ticks: Sequence[_Tick],
    visits: Sequence[TopicVisit],
    sentences: Sequence[Sentence],
    interviewer: str | None,
) -> list[Code]:
    """Rule 4: each tick codes the question it refers to, within its own topic visit — the
    question (the interviewer's sentence, speakers known) being asked at the tick, else one
    starting within :data:`EARLY_TICK_S` after it (an early tick), else the latest before it,
    else the first after it — and the answer that follows, up to the next code or the end of the
    visit."""
    placed: list[tuple[_Tick, TopicVisit, float | None]] = []
    for tick in ticks:
        visit = _visit_for(tick, visits)
        inside = [s for s in sentences if visit.start <= s.start < visit.end]
        questions = [s for s in inside if s.is_question]
        asking = questions
        if interviewer is not None:
            asking = [s for s in inside if s.speaker == interviewer]
            questions = [s for s in questions if s.speaker == interviewer] or asking
        candidates = questions or inside
        chosen = (
            next((s for s in asking if s.start <= tick.t <= s.end), None)
            or next((s for s in candidates if tick.t < s.start <= tick.t + EARLY_TICK_S), None)
            or next((s for s in reversed(candidates) if s.start <= tick.t), None)
            or (candidates[0] if candidates else None)
        )
        placed.append((tick, visit, chosen.start if chosen is not None else None))
    out: list[Code] = []
    for tick, visit, start in placed:
        following = sorted(
            s
            for _, v, s in placed
            if v.index == visit.index and s is not None and start is not None and s > start
        )
        end = following[0] if following else visit.end
        out.append(
            Code(
                type=tick.type,
                t=tick.t,
                start=start if start is not None else tick.t,
                end=end if start is not None else tick.t,
                visit=visit.index,
                topic=tick.topic if tick.topic is not None else visit.topic,
                question=tick.question,
                probe=tick.probe,
                prompt=tick.prompt,
                text=tick.text,
                placed=start is not None,
            )
        )
    return out


def group_turns(
    words: Sequence[Word],
    visits: Sequence[TopicVisit],
    breaks: Sequence[float],
    transcript: Transcript,
    *,
    joins: Iterable[float] = (),
) -> list[Turn]:
    """Words into turns: a new turn at a visit's start, a speaker change, a code's first word,
    an untranscribed stretch or recording pause, and (no speakers known) a silence of
    :data:`UNLABELLED_TURN_GAP_S`. A word in ``joins`` (a merge in review) continues the turn
    before it unless a topic visit begins there."""
    starts = [v.start for v in visits]
    joined = {round(t, 6) for t in joins}
    confidence = {s.id: s.speaker_confidence for s in transcript.segments}
    turns: list[Turn] = []
    current: list[Word] = []
    current_visit = -1

    def close() -> None:
        if current:
            visit = visits[current_visit]
            confidences = [
                1.0 if w.speaker_confirmed else confidence.get(w.segment) for w in current
            ]
            known = [c for c in confidences if c is not None]
            turns.append(
                Turn(
                    tuple(current),
                    current_visit,
                    visit.topic,
                    current[0].speaker,
                    min(known) if known else None,
                )
            )
            current.clear()

    for w in words:
        visit = max(0, bisect.bisect_right(starts, w.start + 1e-9) - 1)
        if current:
            last = current[-1]
            cut = bisect.bisect_right(breaks, w.start + 1e-9) > bisect.bisect_right(
                breaks, last.start + 1e-9
            )
            if visit != current_visit or (
                round(w.start, 6) not in joined
                and (
                    w.speaker != last.speaker
                    or cut
                    or (w.speaker is None and w.start - last.end >= UNLABELLED_TURN_GAP_S)
                )
            ):
                close()
        current_visit = visit
        current.append(w)
    close()
    return turns


def _recording_pauses(live: list[Mapping[str, Any]]) -> list[RecordingPause]:
    """``p`` pauses from the log, placed where they happened, with their length on the wall
    clock (the recording clock stands still while paused)."""
    out: list[RecordingPause] = []
    paused: Mapping[str, Any] | None = None
    for e in live:
        if e.get("type") == "recording_paused" and paused is None:
            paused = e
        elif e.get("type") in ("recording_resumed", "session_ended") and paused is not None:
            out.append(RecordingPause(float(paused["t"]), _wall_seconds(paused, e)))
            paused = None
    if paused is not None:
        out.append(RecordingPause(float(paused["t"])))
    return out


def _wall_seconds(a: Mapping[str, Any], b: Mapping[str, Any]) -> float | None:
    try:
        return (
            datetime.fromisoformat(str(b.get("wall"))) - datetime.fromisoformat(str(a.get("wall")))
        ).total_seconds()
    except (TypeError, ValueError):
        return None
