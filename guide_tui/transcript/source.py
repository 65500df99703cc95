"""A tolerant, typed view of ``transcript.json`` (see docs/transcript-format.md).

The transcription engineer owns the file and may add keys, so this reader takes only what
exports need and ignores everything else; only an incompatible ``schema`` is refused. The raw
dict is kept for the JSON export, which must not lose anything.

This is the engine's record as read; :mod:`guide_tui.transcript.model` builds the transcript a
researcher reads (turns, topic visits, codes) from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guide_tui.errors import ExportError

SUPPORTED_SCHEMA = 1


@dataclass(frozen=True)
class RawWord:
    """One word as the engine timed it (``segments[].words[]``)."""

    start: float
    end: float
    text: str  # with its leading space, as Whisper writes it
    probability: float | None = None
    speaker: str | None = None
    uncertain: bool | None = None  # the engine's own verdict, where it gives one


@dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    speaker: str | None = None
    topic: str | None = None
    flags: tuple[str, ...] = ()
    words: tuple[RawWord, ...] = ()
    speaker_confidence: float | None = None


@dataclass(frozen=True)
class RecordingGap:
    """Session time with no audio at all (``gaps``: the microphone was lost, the clock ran on)."""

    start: float
    end: float


@dataclass(frozen=True)
class Untranscribed:
    """A stretch with speech energy and no words (``untranscribed`` in transcript.json)."""

    start: float
    end: float
    reason: str | None = None


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
    untranscribed: tuple[Untranscribed, ...] = ()
    gaps: tuple[RecordingGap, ...] = ()
    topic_titles: dict[str, str] = field(default_factory=dict)
    speakers: tuple[str, ...] = ()
    language: str | None = None
    duration: float | None = None
    engine: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    #: Each speaker label's role (``interviewer``, ``participant``, ``observer``, ``unknown``)
    #: where the transcript says it (the ``speakers`` map; old lists give none).
    speaker_roles: dict[str, str] = field(default_factory=dict)

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
            self.untranscribed,
            self.gaps,
            dict(self.topic_titles),
            self.speakers,
            self.language,
            self.duration,
            dict(self.engine),
            raw,
            dict(self.speaker_roles),
        )


def _num(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _opt_num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _words(value: Any) -> tuple[RawWord, ...]:
    if not isinstance(value, list):
        return ()
    out = []
    for w in value:
        if not isinstance(w, dict) or not isinstance(w.get("word"), str):
            continue
        uncertain = w.get("uncertain")
        out.append(
            RawWord(
                start=_num(w.get("start")),
                end=_num(w.get("end"), _num(w.get("start"))),
                text=w["word"],
                probability=_opt_num(w.get("probability")),
                speaker=_opt_str(w.get("speaker")),
                uncertain=uncertain if isinstance(uncertain, bool) else None,
            )
        )
    return tuple(out)


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
                words=_words(seg.get("words")),
                speaker_confidence=_opt_num(seg.get("speaker_confidence")),
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
    untranscribed = tuple(
        Untranscribed(_num(u.get("start")), _num(u.get("end")), _opt_str(u.get("reason")))
        for u in obj.get("untranscribed") or ()
        if isinstance(u, dict)
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
        untranscribed=tuple(sorted(untranscribed, key=lambda u: u.start)),
        gaps=tuple(
            sorted(
                (
                    RecordingGap(_num(g.get("start")), _num(g.get("end")))
                    for g in obj.get("gaps") or ()
                    if isinstance(g, dict)
                ),
                key=lambda g: g.start,
            )
        ),
        topic_titles=titles,
        speakers=_speaker_labels(obj.get("speakers")),
        speaker_roles=_speaker_roles(obj.get("speakers")),
        language=_opt_str(obj.get("language")),
        duration=_num(duration) if duration is not None else None,
        engine=engine if isinstance(engine := obj.get("engine"), dict) else {},
        raw=obj,
    )


def _speaker_labels(value: object) -> tuple[str, ...]:
    """Speaker labels: a list (two-channel transcripts before 2026-12) or the map of speaker id
    to ``{"label", "role", ...}`` (docs/transcript-format.md, "Speakers")."""
    if isinstance(value, dict):
        return tuple(str(e.get("label") or sid) for sid, e in value.items() if isinstance(e, dict))
    return tuple(str(s) for s in value or () if s) if isinstance(value, list) else ()


def _speaker_roles(value: object) -> dict[str, str]:
    """Label -> role from the ``speakers`` map (empty for the old list, which has no roles)."""
    if not isinstance(value, dict):
        return {}
    return {
        str(e.get("label") or sid): str(e["role"])
        for sid, e in value.items()
        if isinstance(e, dict) and isinstance(e.get("role"), str)
    }


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
