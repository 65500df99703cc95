"""What a session without audio has to read: baseline, coverage, notes and markers.

A participant who declines recording still gives an interview; the interviewer's notes are then
the only record, and must export as readably as a transcript. This module turns the event log
(read through ``InterviewState`` with the frozen guide, undo applied, so it matches what the
interviewer saw) into plain rows the reading writers (Markdown, text, DOCX) and the REFI-QDA
project share, so the formats cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from guide_tui.export.session_data import SessionData

#: How a topic's coverage reads (the same words as the study's coverage matrix).
STATUS_LABELS = {
    "covered": "covered",
    "in_progress": "partly",
    "skipped": "skipped",
    "not_started": "not reached",
}


@dataclass(frozen=True)
class FieldEntry:
    """One note or marker, at its time on the session clock, in the topic it was taken in."""

    t: float
    type: str  # note | marker
    text: str  # the note, or the marker's kind ("follow up")
    topic: str | None
    kind: str | None = None  # marker kind as logged (follow_up)


@dataclass(frozen=True)
class FieldNotes:
    baseline: tuple[tuple[str, str], ...]  # (label, answer)
    coverage: tuple[tuple[str, str, float | None], ...]  # (topic title, status, minutes)
    entries: tuple[FieldEntry, ...]  # in time order


def is_notes_only(data: SessionData) -> bool:
    """No audio and so never a transcript: the notes are the record of the interview."""
    return data.transcript is None and not data.recorded


def _answer(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def field_notes(data: SessionData) -> FieldNotes:
    """Baseline answers, topic coverage and the notes and markers of ``data``."""
    baseline: list[tuple[str, str]] = []
    coverage: list[tuple[str, str, float | None]] = []
    entries: list[FieldEntry] = []
    answers = data.meta.get("baseline")
    answers = dict(answers) if isinstance(answers, dict) else {}
    if data.guide is not None:
        from guide_tui.session.state import InterviewState

        state = InterviewState.from_events(data.guide, data.events, data.group)
        answers = {**state.baseline, **answers}
        labels = {f.id: f.label for f in data.guide.baseline}
        for topic_id, entry in state.coverage_summary()["topics"].items():
            seconds = entry.get("seconds")
            coverage.append(
                (
                    data.topic_title(topic_id),
                    STATUS_LABELS.get(str(entry.get("status")), str(entry.get("status"))),
                    round(seconds / 60, 1) if isinstance(seconds, (int, float)) else None,
                )
            )
        entries += [FieldEntry(n.t, "note", n.text, n.topic) for n in state.notes]
        entries += [
            FieldEntry(m.t, "marker", m.kind.replace("_", " "), m.topic, m.kind)
            for m in state.markers
        ]
    else:  # the frozen guide no longer loads: what the log says, undo applied
        labels = {}
        withdrawn = {e.data.get("undoes") for e in data.events if e.type == "undo"}
        for event in data.events:
            if event.seq in withdrawn:
                continue
            topic = event.data.get("topic")
            topic = str(topic) if topic else None
            if event.type == "note":
                started = event.data.get("started_t")
                t = float(started) if isinstance(started, (int, float)) else event.t
                entries.append(FieldEntry(t, "note", str(event.data.get("text", "")), topic))
            elif event.type == "marker":
                kind = str(event.data.get("kind") or "marker")
                entries.append(FieldEntry(event.t, "marker", kind.replace("_", " "), topic, kind))
    for field_id, value in answers.items():
        if value is not None and value != "":
            baseline.append((labels.get(field_id, field_id), _answer(value)))
    entries.sort(key=lambda e: e.t)
    return FieldNotes(tuple(baseline), tuple(coverage), tuple(entries))
