"""A tolerant, typed view of ``transcript.json`` (see docs/transcript-format.md).

The transcription engineer owns the file and may add keys, so this reader takes only what
exports need and ignores everything else; only an incompatible ``schema`` is refused. The raw
dict is kept for the JSON export, which must not lose anything.

Exports work on *turns* rather than Whisper's segments: a turn is one speaker's uninterrupted
talk within one topic, which is what MAXQDA paragraphs and NVivo transcript rows are.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guide_tui.errors import ExportError

SUPPORTED_SCHEMA = 1
#: Without speaker labels, a silence this long (seconds) starts a new paragraph.
UNLABELLED_TURN_GAP_S = 2.0


@dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    speaker: str | None = None
    topic: str | None = None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Annotation:
    """A note, marker or tick from the event log, placed at its time."""

    t: float
    type: str  # note | marker | question_asked | probe_used | summary_given | ...
    topic: str | None = None
    text: str | None = None
    kind: str | None = None  # marker kind
    question: str | None = None
    probe: str | None = None


@dataclass(frozen=True)
class Transcript:
    segments: tuple[Segment, ...]
    annotations: tuple[Annotation, ...] = ()
    pauses: tuple[tuple[float, float], ...] = ()
    topic_titles: dict[str, str] = field(default_factory=dict)
    speakers: tuple[str, ...] = ()
    language: str | None = None
    duration: float | None = None
    engine: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    def replace_text(
        self,
        segments: tuple[Segment, ...],
        annotations: tuple[Annotation, ...],
        raw: dict[str, Any],
    ) -> Transcript:
        """A copy with other texts (used by pseudonymisation)."""
        return Transcript(
            segments,
            annotations,
            self.pauses,
            dict(self.topic_titles),
            self.speakers,
            self.language,
            self.duration,
            dict(self.engine),
            raw,
        )


@dataclass(frozen=True)
class Turn:
    """Consecutive segments of one speaker within one topic."""

    start: float
    end: float
    speaker: str | None
    topic: str | None
    text: str
    segments: tuple[Segment, ...]
    flagged: bool = False  # some segment needs checking (low confidence, hallucination, ...)


def _num(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def parse_transcript(
    obj: Any, source: str = "transcript.json", *, clean: bool = False
) -> Transcript:
    """Build a :class:`Transcript` from parsed JSON; raises :class:`ExportError` if unusable.

    ``clean`` takes each segment's ``text_clean`` (fillers removed) where the transcriber wrote
    one; the default is the verbatim ``text`` that qualitative analysis expects.
    """
    if not isinstance(obj, dict):
        raise ExportError(f"{source}: not a transcript (expected a JSON object)")
    schema = obj.get("schema", SUPPORTED_SCHEMA)
    if not isinstance(schema, int) or schema > SUPPORTED_SCHEMA:
        raise ExportError(
            f"{source}: transcript schema {schema!r} is newer than this guide-tui understands "
            f"({SUPPORTED_SCHEMA}); upgrade guide-tui"
        )
    raw_segments = obj.get("segments")
    if not isinstance(raw_segments, list):
        raise ExportError(f"{source}: no segments list")
    segments = []
    for index, seg in enumerate(raw_segments):
        if not isinstance(seg, dict):
            continue
        text = str(
            (seg.get("text_clean") if clean and "text_clean" in seg else seg.get("text")) or ""
        ).strip()
        segments.append(
            Segment(
                id=int(seg.get("id", index)) if str(seg.get("id", index)).isdigit() else index,
                start=_num(seg.get("start")),
                end=_num(seg.get("end"), _num(seg.get("start"))),
                text=text,
                speaker=_opt_str(seg.get("speaker")),
                topic=_opt_str(seg.get("topic")),
                flags=tuple(str(f) for f in seg.get("flags") or () if f),
            )
        )
    segments.sort(key=lambda s: (s.start, s.id))
    annotations = []
    for ann in obj.get("annotations") or ():
        if not isinstance(ann, dict) or "t" not in ann:
            continue
        annotations.append(
            Annotation(
                t=_num(ann.get("t")),
                type=str(ann.get("type") or "note"),
                topic=_opt_str(ann.get("topic")),
                text=_opt_str(ann.get("text")),
                kind=_opt_str(ann.get("kind")),
                question=_opt_str(ann.get("question")),
                probe=_opt_str(ann.get("probe")),
            )
        )
    annotations.sort(key=lambda a: a.t)
    pauses = tuple(
        (_num(p.get("start")), _num(p.get("end")))
        for p in obj.get("pauses") or ()
        if isinstance(p, dict)
    )
    titles = {
        str(t["id"]): str(t.get("title") or t["id"])
        for t in obj.get("topics") or ()
        if isinstance(t, dict) and t.get("id")
    }
    duration = obj.get("duration")
    return Transcript(
        segments=tuple(segments),
        annotations=tuple(annotations),
        pauses=pauses,
        topic_titles=titles,
        speakers=tuple(str(s) for s in obj.get("speakers") or () if s),
        language=_opt_str(obj.get("language")),
        duration=_num(duration) if duration is not None else None,
        engine=engine if isinstance(engine := obj.get("engine"), dict) else {},
        raw=obj,
    )


def load_transcript(path: Path, *, missing_ok: bool = False) -> Transcript | None:
    """A session's ``transcript.json`` (read as the session's own file: never through a link);
    ``None`` when there is none yet and ``missing_ok``."""
    from guide_tui.session.files import SessionFileError, read_session_file

    try:
        obj = json.loads(read_session_file(path.parent, path.name).decode("utf-8"))
    except FileNotFoundError:
        if missing_ok:
            return None
        raise ExportError(f"{path}: no transcript yet; run `guide-tui transcribe` first") from None
    except SessionFileError as error:
        raise ExportError(str(error)) from None
    except (OSError, ValueError, RecursionError) as error:
        raise ExportError(f"{path}: unreadable transcript ({error})") from None
    return parse_transcript(obj, str(path))


def pause_mark(seconds: float) -> str:
    """Verbatim notation for a silence, as in ``transcript.md``: ``(.)`` under 2 s, ``(..)``
    under 3 s, ``(3.4 s)`` from 3 s on."""
    if seconds < 2.0:
        return "(.)"
    return "(..)" if seconds < 3.0 else f"({seconds:.1f} s)"


def build_turns(transcript: Transcript) -> list[Turn]:
    """Group segments into turns; silences inside a turn are written as pause marks.

    A new turn starts when the speaker or the topic changes, or, when no speaker is known, after
    a silence of :data:`UNLABELLED_TURN_GAP_S` (otherwise a one-channel interview would be a
    single paragraph per topic).
    """
    pauses = {round(start, 3): end - start for start, end in transcript.pauses}
    turns: list[Turn] = []
    current: list[Segment] = []

    def close() -> None:
        if not current:
            return
        parts = [current[0].text]
        for before, seg in itertools.pairwise(current):
            gap = pauses.get(round(before.end, 3))
            if gap is None and seg.start - before.end >= 1.0:
                gap = seg.start - before.end
            if gap is not None:
                parts.append(pause_mark(gap))
            parts.append(seg.text)
        turns.append(
            Turn(
                start=current[0].start,
                end=current[-1].end,
                speaker=current[0].speaker,
                topic=current[0].topic,
                text=" ".join(p for p in parts if p),
                segments=tuple(current),
                flagged=any(s.flags for s in current),
            )
        )
        current.clear()

    for seg in transcript.segments:
        if not seg.text:
            continue
        if current:
            last = current[-1]
            if (
                seg.speaker != last.speaker
                or seg.topic != last.topic
                or (seg.speaker is None and seg.start - last.end >= UNLABELLED_TURN_GAP_S)
            ):
                close()
        current.append(seg)
    close()
    return turns


@dataclass(frozen=True)
class TopicHeading:
    topic: str | None
    start: float
    revisit: bool = False  # the topic was discussed before


Block = TopicHeading | Turn | Annotation

#: Annotation types shown in reading formats (ticks are in the event log, not the transcript).
SHOWN_ANNOTATIONS = ("note", "marker")


def timeline(transcript: Transcript) -> list[Block]:
    """Headings, turns and notes/markers in reading order.

    A note goes after the turn during which it was taken (before the first turn that starts
    later), which is where a reader expects a comment on what was just said.
    """
    blocks: list[Block] = []
    seen: set[str | None] = set()
    current_topic: object = object()  # sentinel: no heading yet
    notes = [a for a in transcript.annotations if a.type in SHOWN_ANNOTATIONS]
    index = 0
    for turn in build_turns(transcript):
        while index < len(notes) and notes[index].t < turn.start:
            blocks.append(notes[index])
            index += 1
        if turn.topic != current_topic:
            blocks.append(TopicHeading(turn.topic, turn.start, revisit=turn.topic in seen))
            seen.add(turn.topic)
            current_topic = turn.topic
        blocks.append(turn)
    blocks.extend(notes[index:])
    return blocks
