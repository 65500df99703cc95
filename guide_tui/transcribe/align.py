"""Alignment with the guide: topics and annotations from the session's event log.

Reads ``events.jsonl`` itself, tolerantly (a torn last line after a crash is skipped; unknown types
and keys are ignored), so transcription needs nothing but the documented folder layout. Rules
(docs/transcript-format.md):

- the topic at time ``t`` is the one of the latest ``topic_entered`` at or before ``t`` (events
  withdrawn by ``undo`` do not count); ``closing_started`` and ``session_ended`` end it (``null``);
- notes sit at ``started_t`` (when typing started) when present, else at their ``t``;
- question / probe / summary ticks are kept as anchors, with the guide's wording when the frozen
  ``guide.yaml`` is readable.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENDS_TOPIC = ("closing_started", "session_ended")
ANCHORS = ("question_asked", "probe_used", "summary_given")


def read_events(path: Path) -> list[dict[str, Any]]:
    """Events as dicts in file order, read by the session store's parser (one parser for the
    log everywhere); lines that do not parse (a torn write) are skipped."""
    from guide_tui.errors import SessionError, TranscriptionError
    from guide_tui.session.store import read_events as read_session_events

    try:
        events, _torn = read_session_events(Path(path).parent)
    except SessionError as error:
        raise TranscriptionError(str(error)) from None
    return [event.to_json_dict() for event in events]


@dataclass
class GuideText:
    """Topic titles and question/probe wordings from the frozen guide, where readable."""

    titles: dict[str, str] = field(default_factory=dict)
    questions: dict[tuple[str, str], str] = field(default_factory=dict)
    probes: dict[tuple[str, str, str], str] = field(default_factory=dict)

    @classmethod
    def read(cls, folder: Path) -> GuideText:
        path = folder / "guide.yaml"
        if not path.is_file():
            return cls()
        try:  # our loader gives generated ids exactly as the TUI used them; a damaged file
            # falls back to reading what YAML there is
            from guide_tui.guide.loader import load_guide

            guide = load_guide(path)
        except Exception:
            return cls._from_yaml(path)
        out = cls()
        for t in guide.topics:
            out.titles[t.id] = t.title
            for q in t.questions:
                out.questions[(t.id, q.id)] = q.text
                for p in q.probes:
                    out.probes[(t.id, q.id, p.id)] = p.text
        return out

    @classmethod
    def _from_yaml(cls, path: Path) -> GuideText:
        from guide_tui.errors import GuideTuiError
        from guide_tui.guide.loader import read_guide_data

        out = cls()
        try:  # not UTF-8 or nested too deeply: topic ids stand in for titles
            data = read_guide_data(path)
        except GuideTuiError:
            return out
        for t in (data or {}).get("topics") or [] if isinstance(data, dict) else []:
            if isinstance(t, dict) and isinstance(t.get("id"), str):
                out.titles[t["id"]] = str(t.get("title", t["id"]))
                for q in t.get("questions") or []:
                    if isinstance(q, dict) and isinstance(q.get("id"), str):
                        out.questions[(t["id"], q["id"])] = str(q.get("text", ""))
        return out


class Timeline:
    """Which topic was active when, and the annotations, from the event log."""

    def __init__(self, events: list[dict[str, Any]], guide: GuideText | None = None) -> None:
        guide = guide or GuideText()
        withdrawn = {e["data"].get("undoes") for e in events if e.get("type") == "undo"}
        live = [e for e in events if e.get("seq") not in withdrawn and e.get("type") != "undo"]
        changes: list[tuple[float, str | None]] = []
        self.annotations: list[dict[str, Any]] = []
        for e in live:
            kind, t, data = e["type"], e["t"], e["data"]
            if kind == "topic_entered" and isinstance(data.get("topic"), str):
                changes.append((t, data["topic"]))
            elif kind in ENDS_TOPIC:
                changes.append((t, None))
        changes.sort(key=lambda c: c[0])  # stable: same-time events keep file order
        self._times = [c[0] for c in changes]
        self._topics = [c[1] for c in changes]
        for e in live:
            kind, t, data = e["type"], e["t"], e["data"]
            if kind == "note":
                at = float(data.get("started_t", t)) if _is_number(data.get("started_t")) else t
                self.annotations.append(
                    {
                        "t": round(at, 3),
                        "type": "note",
                        "topic": self.topic_at(at),
                        "text": str(data.get("text", "")),
                    }
                )
            elif kind == "marker":
                self.annotations.append(
                    {
                        "t": round(t, 3),
                        "type": "marker",
                        "topic": data.get("topic") or self.topic_at(t),
                        "kind": str(data.get("kind", "marker")),
                        **({"text": str(data["text"])} if data.get("text") else {}),
                    }
                )
            elif kind in ANCHORS:
                topic = data.get("topic") or self.topic_at(t)
                item: dict[str, Any] = {"t": round(t, 3), "type": kind, "topic": topic}
                if data.get("question"):
                    question = str(data["question"])
                    item["question"] = data["question"]
                    text = guide.questions.get((topic, question)) if topic else None
                    if data.get("probe"):
                        item["probe"] = data["probe"]
                        probe = str(data["probe"])
                        text = guide.probes.get((topic, question, probe)) if topic else None
                    if text:
                        item["text"] = text
                self.annotations.append(item)
        self.annotations.sort(key=lambda a: a["t"])
        self.topics: list[dict[str, Any]] = []
        for i, (t, topic) in enumerate(changes):
            if topic is None:
                continue
            end = changes[i + 1][0] if i + 1 < len(changes) else None
            if end is not None and end <= t:
                continue  # replaced at the same instant
            self.topics.append(
                {
                    "id": topic,
                    "title": guide.titles.get(topic, topic),
                    "start": round(t, 3),
                    "end": None if end is None else round(end, 3),
                }
            )

    def topic_at(self, t: float) -> str | None:
        i = bisect.bisect_right(self._times, t + 1e-9) - 1
        return self._topics[i] if i >= 0 else None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
