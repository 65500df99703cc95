"""``transcript.json`` (docs/transcript-format.md) and ``transcript.md``.

Writers are small classes behind a lookup table (after openai-whisper's ``get_writer``), so a new
format is one class. Files are written atomically: a temp file in the same folder, fsync, rename,
mode 0600 (session data is sensitive). ``transcript.json`` is the canonical record; the Markdown is
derived from it alone, which is also what the exports do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from guide_tui.transcribe.guards import FILLERS, clean_text

SCHEMA = 1


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never half."""
    from guide_tui.atomic import write_bytes_atomic

    write_bytes_atomic(path, text.encode("utf-8"))


def hms(t: float, tenths: bool = False) -> str:
    t = max(0.0, t)
    h, rem = divmod(int(t), 3600)
    m, s = divmod(rem, 60)
    out = f"{h:02d}:{m:02d}:{s:02d}"
    return f"{out}.{int((t - int(t)) * 10)}" if tenths else out


def pause_mark(seconds: float) -> str:
    """Verbatim pause notation: ``(.)`` under 2 s, ``(..)`` under 3 s, ``(4.2 s)`` beyond."""
    if seconds < 2.0:
        return "(.)"
    if seconds < 3.0:
        return "(..)"
    return f"({seconds:.1f} s)"


class JsonWriter:
    extension = "json"

    def render(self, transcript: dict[str, Any]) -> str:
        return json.dumps(transcript, ensure_ascii=False, indent=1) + "\n"


class MarkdownWriter:
    """Topic headings, timestamps, speakers where known, notes and markers inline.

    Verbatim (the default): pauses, ``(unclear hh:mm:ss)`` after improbable words, fillers kept.
    Clean: readable text, no marks.
    """

    extension = "md"

    def __init__(self, verbatim: bool | None = None) -> None:
        self.verbatim = verbatim

    def render(self, tr: dict[str, Any]) -> str:
        verbatim = (
            tr.get("options", {}).get("verbatim", True) if self.verbatim is None else self.verbatim
        )
        titles = {t["id"]: t.get("title", t["id"]) for t in tr.get("topics", [])}
        session = tr.get("session", {})
        lines = [f"# Transcript: {session.get('participant') or 'session'}", ""]
        engine = tr.get("engine", {})
        lines.append(
            f"*{hms(tr.get('duration', 0.0))} of audio · {engine.get('name', '?')} "
            f"{engine.get('model', '?')} · {'verbatim' if verbatim else 'clean'} · "
            f"language {tr.get('language') or '?'}*"
        )
        lines.append("")
        items: list[tuple[float, int, dict[str, Any]]] = []
        for s in tr.get("segments", []):
            items.append((s["start"], 1, {**s, "_item": "segment"}))
        for a in tr.get("annotations", []):
            if a.get("type") in ("note", "marker"):
                items.append((a["t"], 0, {**a, "_item": "annotation"}))
        for g in tr.get("gaps", []):  # the device was lost: time with no recording at all
            items.append((g["start"], 0, {**g, "_item": "gap"}))
        if verbatim:
            for p in tr.get("pauses", []):
                items.append((p["start"], 2, {**p, "_item": "pause"}))
        items.sort(key=lambda i: (i[0], i[1]))
        current: object = object()
        last_speaker: object = object()
        for _, _, item in items:
            topic = item.get("topic", current) if item["_item"] not in ("pause", "gap") else current
            if topic != current:
                current = topic
                heading = titles.get(topic, topic) if topic else "(before the first topic)"
                lines += ["", f"## {heading}", ""]
                last_speaker = object()
            if item["_item"] == "annotation":
                if item["type"] == "note":
                    lines.append(f"> **Note** [{hms(item['t'])}]: {item.get('text', '')}")
                else:
                    extra = f": {item['text']}" if item.get("text") else ""
                    lines.append(f"> **Marker** [{hms(item['t'])}] *{item.get('kind')}*{extra}")
                lines.append("")
                last_speaker = object()
            elif item["_item"] == "gap":
                lines += [
                    "",
                    f"*(no recording from {hms(item['start'])} to {hms(item['end'])}: "
                    "the microphone was lost)*",
                    "",
                ]
                last_speaker = object()
            elif item["_item"] == "pause":
                if lines and lines[-1]:
                    lines[-1] += " " + pause_mark(item["end"] - item["start"])
            else:
                text = self._text(item, verbatim)
                if not text:
                    continue
                speaker = item.get("speaker")
                if speaker and speaker != last_speaker:
                    lines += ["", f"**{speaker}** [{hms(item['start'])}]: {text}"]
                elif speaker:
                    lines[-1] += " " + text
                else:
                    lines += ["", f"[{hms(item['start'])}] {text}"]
                last_speaker = speaker
        return "\n".join(lines).strip() + "\n"

    @staticmethod
    def _text(segment: dict[str, Any], verbatim: bool) -> str:
        if not verbatim:
            return clean_text(segment.get("text", ""))
        words = segment.get("words") or []
        if not words:
            return segment.get("text", "")
        out: list[str] = []
        unclear_until = -1.0
        for i, w in enumerate(words):
            out.append(w["word"])
            if w["probability"] < 0.35 and w["start"] > unclear_until:
                j = i
                while j + 1 < len(words) and words[j + 1]["probability"] < 0.35:
                    j += 1
                unclear_until = words[j]["end"]
            if unclear_until >= 0 and w["end"] == unclear_until:
                out.append(f" (unclear {hms(w['start'])})")
                unclear_until = w["end"] + 1e-9
        return "".join(out).strip()


WRITERS = {"json": JsonWriter, "md": MarkdownWriter}


def get_writer(fmt: str, **kwargs: Any) -> JsonWriter | MarkdownWriter:
    return WRITERS[fmt](**kwargs)


def has_fillers(text: str) -> int:
    return len(FILLERS.findall(text))
