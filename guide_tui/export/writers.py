"""Transcript writers, one small class per format behind a lookup table (like openai-whisper's
``get_writer``).

Every writer reads one :class:`~guide_tui.export.session_data.SessionData` and writes one file,
atomically. Text formats render to a string first (``render``), which is what the golden-file
tests compare; DOCX and QDPX build binary files. Exports need a transcript, except QDPX and
JSON, which are still useful without one (audio, cases, codes / metadata only). A session without
audio (the participant declined recording) never gets a transcript: Markdown, text, DOCX and
QDPX then carry its field notes (baseline, coverage, notes and markers; ``field_notes``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from guide_tui.errors import ExportError
from guide_tui.export import timecodes
from guide_tui.export.field_notes import FieldEntry, FieldNotes, field_notes, is_notes_only
from guide_tui.export.files import atomic_path, write_text_atomic
from guide_tui.export.session_data import SessionData
from guide_tui.export.transcript import Annotation, Transcript
from guide_tui.safetext import map_text, printable, xml_text
from guide_tui.transcript.corrections import live, reviewed_seconds
from guide_tui.transcript.model import (
    Block,
    Heading,
    RecordingPause,
    TopicVisit,
    TranscriptModel,
    Turn,
    build_model,
)
from guide_tui.transcript.render import (
    gap_mark,
    model_turn_text,
    recording_pause_mark,
    sentence_chunks,
    untranscribed_mark,
)
from guide_tui.transcript.source import RecordingGap, Untranscribed

EXPORT_SCHEMA = 1


class Writer:
    """Base class: one format, one file per session."""

    name: ClassVar[str]
    extension: ClassVar[str]  # full suffix of the file name, e.g. ".nvivo.txt"
    description: ClassVar[str]
    needs_transcript: ClassVar[bool] = True
    #: Also writes a notes-only session (no audio, so no transcript) from its field notes.
    writes_field_notes: ClassVar[bool] = False

    def can_write(self, data: SessionData) -> bool:
        """Whether this format has something to write for ``data`` now."""
        if not self.needs_transcript or data.transcript is not None:
            return True
        return self.writes_field_notes and is_notes_only(data)

    def filename(self, data: SessionData) -> str:
        return f"{data.name}{self.extension}"

    def write(self, data: SessionData, path: Path) -> Path:
        raise NotImplementedError


class TextWriter(Writer):
    bom: ClassVar[bool] = False  # a UTF-8 BOM for Windows tools that guess the encoding otherwise

    def render(self, data: SessionData) -> str:
        raise NotImplementedError

    def write(self, data: SessionData, path: Path) -> Path:
        return write_text_atomic(path, self.render(data), bom=self.bom)


# ---------------------------------------------------------------------------------------------
# helpers shared by the reading formats


def readable(data: SessionData) -> SessionData:
    """The session with every text safe to write into a file a person opens: control characters
    (C0 but tab and newline, DEL, C1: a crafted session folder may hold them, and an editor or a
    ``cat`` in a terminal would act on them) made visible by :func:`~guide_tui.safetext.printable`,
    one character for one, so offsets into the text stay right. Bidirectional controls are kept:
    right-to-left text may need them (docs/guide-format.md). Every reading format starts here;
    JSON does not (it escapes control characters and is the unchanged archive).

    The transcript's raw dict is not walked (half the cost on a 2 h interview), only its
    ``topics``: the reading formats take everything else from the parsed transcript."""
    transcript = data.transcript
    if transcript is None:
        return map_text(data, printable)
    raw = transcript.raw
    topics = raw.get("topics")
    mapped_topics = map_text(topics, printable)
    parsed = map_text(dataclasses.replace(transcript, raw={}), printable)
    parsed = dataclasses.replace(
        parsed, raw=raw if mapped_topics is topics else {**raw, "topics": mapped_topics}
    )
    rest = map_text(dataclasses.replace(data, transcript=None), printable)
    return dataclasses.replace(rest, transcript=parsed)


def require_transcript(data: SessionData) -> Transcript:
    if data.transcript is None:
        raise ExportError(
            f"{data.folder}: no transcript.json yet; run `guide-tui transcribe {data.folder}` first"
        )
    return data.transcript


def transcript_model(data: SessionData) -> TranscriptModel:
    """The session's transcript model (turns, topic visits, codes): every writer reads this,
    none re-derives topics or turns."""
    transcript = require_transcript(data)
    titles = {}
    if data.guide is not None:
        titles = {t.id: t.title for t in data.guide.topics}
    titles.update(transcript.topic_titles)
    return build_model(
        transcript, [e.to_json_dict() for e in data.events], data.corrections, titles=titles
    )


#: Blocks that stand for a stretch without words: marked, never dropped.
Mark = Untranscribed | RecordingPause | RecordingGap


def mark_text(block: Mark) -> str:
    """The bracketed mark for a stretch that has no words (render.py's convention)."""
    if isinstance(block, Untranscribed):
        return untranscribed_mark(block)
    if isinstance(block, RecordingGap):
        return gap_mark(block)
    return recording_pause_mark(block)


def mark_time(block: Mark) -> float:
    return block.t if isinstance(block, RecordingPause) else block.start


def group_label(data: SessionData) -> str | None:
    if data.group and data.guide is not None:
        try:
            return data.guide.group(data.group).label
        except KeyError:
            pass
    return data.group


def started_label(data: SessionData) -> str | None:
    value = data.meta.get("started")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M %Z").strip()
    except ValueError:
        return value


def session_facts(data: SessionData) -> list[tuple[str, str]]:
    """The header every reading format starts with: who, when, which guide, which model."""
    info = data.guide_info
    facts: list[tuple[str, str | None]] = [
        ("Participant", data.participant),
        ("Group", group_label(data)),
        ("Date", started_label(data)),
        ("Interviewer", data.meta.get("interviewer")),
        ("Location", data.meta.get("location")),
        (
            "Guide",
            " ".join(
                str(x)
                for x in (
                    info.get("title") or info.get("id"),
                    f"(version {info['version']})" if info.get("version") else None,
                )
                if x
            )
            or None,
        ),
        ("Duration", timecodes.hms(d) if (d := data.duration_s()) else None),
    ]
    if data.transcript is not None:
        engine = data.transcript.engine
        model = " ".join(
            str(x) for x in (engine.get("name"), engine.get("version"), engine.get("model")) if x
        )
        facts.append(("Language", data.transcript.language))
        facts.append(("Transcribed with", model or None))
        facts.append(("Reviewed", reviewed_label(data)))
    return [(k, str(v)) for k, v in facts if v]


def reviewed_label(data: SessionData) -> str:
    """``00:12:30 of 00:48:10`` (the stretches marked reviewed against the audio), or
    ``not reviewed``; ``corrected, not reviewed`` when edits exist but nothing was marked."""
    done = reviewed_seconds(data.corrections)
    total = (data.transcript.duration if data.transcript else None) or data.duration_s()
    if done <= 0:
        return "corrected, not reviewed" if live(data.corrections) else "not reviewed"
    return f"{timecodes.hms(done)} of {timecodes.hms(total)}" if total else timecodes.hms(done)


def marker_label(kind: str | None) -> str:
    return (kind or "marker").replace("_", " ")


def annotation_label(ann: Annotation) -> tuple[str, str]:
    """("Note", text) or ("Marker", kind) for reading formats."""
    if ann.type == "marker":
        return "Marker", marker_label(ann.kind) + (f": {ann.text}" if ann.text else "")
    return "Note", ann.text or ""


@dataclass(frozen=True)
class TopicHeading:
    """A heading in the field notes of a session without a transcript."""

    topic: str | None
    start: float
    revisit: bool = False


def heading_text(data: SessionData, heading: TopicHeading | Heading) -> str:
    if isinstance(heading, Heading):
        visit = heading.visit
        title = visit_title(data, visit)
    else:
        title = data.topic_title(heading.topic)
    return f"{title} (continued)" if heading.revisit else title


def visit_title(data: SessionData, visit: TopicVisit) -> str:
    if visit.closing:
        return "Closing"
    return data.topic_title(visit.topic)


def one_line(text: str) -> str:
    """Collapse whitespace: tab-separated and subtitle formats cannot hold line breaks or tabs."""
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# Markdown


def _md_escape(text: str) -> str:
    # Brackets stay: without a "(url)" after them they render as text, and placeholders such
    # as "[Name 1]" and timestamps read better unescaped.
    for char in ("\\", "`", "*", "_", "<"):
        text = text.replace(char, "\\" + char)
    return text


class MarkdownWriter(TextWriter):
    name = "md"
    extension = ".md"
    description = "readable transcript: topic headings, timestamps, speakers, notes, markers"

    writes_field_notes = True

    def render(self, data: SessionData) -> str:
        data = readable(data)
        if data.transcript is None and is_notes_only(data):
            return self._render_field_notes(data, field_notes(data))
        model = transcript_model(data)
        lines = self._head(data)
        for block in model.blocks():
            if isinstance(block, Heading):
                lines += [f"## {_md_escape(heading_text(data, block))}", ""]
            elif isinstance(block, Turn):
                who = f" {_md_escape(block.speaker)}:" if block.speaker else ""
                text = _md_escape(model_turn_text(model, block))
                lines += [f"**[{timecodes.hms(block.start)}]{who}** {text}", ""]
            elif isinstance(block, (Untranscribed, RecordingPause, RecordingGap)):
                lines += [f"[{timecodes.hms(mark_time(block))}] {mark_text(block)}", ""]
            else:
                label, text = annotation_label(block)
                lines += [f"> **{label}** [{timecodes.hms(block.t)}] {_md_escape(text)}", ""]
        return "\n".join(lines).rstrip("\n") + "\n"

    @staticmethod
    def _head(data: SessionData) -> list[str]:
        title = data.guide_info.get("title")
        lines = [
            f"# Interview {_md_escape(data.participant)}"
            + (f" — {_md_escape(str(title))}" if title else ""),
            "",
        ]
        lines += ["| | |", "|---|---|"]
        for key, value in session_facts(data):
            lines.append(f"| {key} | {_md_cell(value)} |")
        lines.append("")
        return lines

    def _render_field_notes(self, data: SessionData, notes: FieldNotes) -> str:
        lines = self._head(data)
        lines += [f"*{NOTES_ONLY}*", ""]
        if notes.baseline:
            lines += ["## Baseline", "", "| Question | Answer |", "|---|---|"]
            lines += [f"| {_md_cell(k)} | {_md_cell(v)} |" for k, v in notes.baseline]
            lines.append("")
        if notes.coverage:
            lines += ["## Coverage", "", "| Topic | Status | Minutes |", "|---|---|---:|"]
            lines += [
                f"| {_md_cell(title)} | {status} | {_minutes(minutes)} |"
                for title, status, minutes in notes.coverage
            ]
            lines.append("")
        lines += ["## Notes and markers", ""]
        for block in field_note_blocks(notes):
            if isinstance(block, TopicHeading):
                lines += [f"### {_md_escape(heading_text(data, block))}", ""]
            else:
                label, text = entry_label(block)
                lines += [f"> **{label}** [{timecodes.hms(block.t)}] {_md_escape(text)}", ""]
        if not notes.entries:
            lines += ["(no notes or markers)", ""]
        return "\n".join(lines).rstrip("\n") + "\n"


def _md_cell(text: str) -> str:
    return _md_escape(text).replace("|", "\\|").replace("\n", " ")


def _minutes(minutes: float | None) -> str:
    return f"{minutes:.1f}" if minutes is not None else ""


#: What a notes-only export says first, so nobody looks for the missing transcript.
NOTES_ONLY = (
    "Notes only: the participant declined audio recording, so there is no transcript; "
    "these are the interviewer's notes and markers, at their times in the interview."
)


def entry_label(entry: FieldEntry) -> tuple[str, str]:
    """("Note", text) or ("Marker", kind), as for a transcript's annotations."""
    return ("Marker", entry.text) if entry.type == "marker" else ("Note", entry.text)


def field_note_blocks(notes: FieldNotes) -> list[TopicHeading | FieldEntry]:
    """Notes and markers in time order, with a heading whenever the topic changes."""
    blocks: list[TopicHeading | FieldEntry] = []
    seen: set[str | None] = set()
    current: object = object()
    for entry in notes.entries:
        if entry.topic != current:
            blocks.append(TopicHeading(entry.topic, entry.t, revisit=entry.topic in seen))
            seen.add(entry.topic)
            current = entry.topic
        blocks.append(entry)
    return blocks


# ---------------------------------------------------------------------------------------------
# MAXQDA / f4 plain text


class MaxqdaTextWriter(TextWriter):
    """One paragraph per turn, ``Name: `` first and ``#hh:mm:ss-d#`` (its end) last.

    That is the f4/f5 transcript convention MAXQDA imports with timestamps linked to the audio
    and speakers recognised for autocoding. Topic changes and notes are bracketed paragraphs so
    they can be found (and autocoded) by searching for ``[Topic:``.

    The first paragraph says whose transcript it is and how much of it was reviewed
    (``[Transcript: P01, 2026-11-02 09:00 UTC; reviewed 00:12:30 of 00:48:10]``): bracketed and
    without a ``#timestamp#``, like the topic and note paragraphs, so MAXQDA's and f4's timestamp
    reading (ascending stamps at paragraph ends) and ``import-corrections`` pass over it; the full
    facts table is the Markdown's and DOCX's, a transcript file's head is kept to one line.
    """

    name = "txt"
    extension = ".txt"
    description = "MAXQDA / f4 transcript: `Name: text #hh:mm:ss-d#` paragraphs"
    bom = True
    writes_field_notes = True

    def render(self, data: SessionData) -> str:
        data = readable(data)
        if data.transcript is None and is_notes_only(data):
            return self._render_field_notes(data, field_notes(data))
        model = transcript_model(data)
        paragraphs: list[str] = [self._head(data)]
        for block in model.blocks():
            if isinstance(block, Heading):
                paragraphs.append(
                    f"[Topic: {one_line(heading_text(data, block))}] "
                    f"{timecodes.maxqda(block.visit.start)}"
                )
            elif isinstance(block, Turn):
                who = f"{block.speaker}: " if block.speaker else ""
                text = one_line(model_turn_text(model, block))
                paragraphs.append(f"{who}{text} {timecodes.maxqda(block.end)}")
            elif isinstance(block, Untranscribed):
                paragraphs.append(f"{mark_text(block)} {timecodes.maxqda(block.end)}")
            elif isinstance(block, (RecordingPause, RecordingGap)):
                paragraphs.append(mark_text(block))
            else:
                # No #timestamp#: a note is placed after the turn it was taken in, and MAXQDA
                # wants timestamps in ascending order.
                label, text = annotation_label(block)
                paragraphs.append(f"[{label} {timecodes.hms(block.t)}: {one_line(text)}]")
        return "\n\n".join(paragraphs) + "\n"

    @staticmethod
    def _head(data: SessionData) -> str:
        who = ", ".join(x for x in (data.participant, started_label(data)) if x)
        reviewed = reviewed_label(data)
        if reviewed[0].isdigit():
            reviewed = f"reviewed {reviewed}"
        return f"[Transcript: {one_line(who)}; {reviewed}]"

    @staticmethod
    def _render_field_notes(data: SessionData, notes: FieldNotes) -> str:
        """Plain paragraphs: the facts, the baseline, the coverage, then ``[Topic: ...]`` and
        ``[Note hh:mm:ss: ...]`` paragraphs as in a transcript export (no ``#timestamp#``:
        there is no audio to link to)."""
        paragraphs = ["\n".join(f"{k}: {one_line(v)}" for k, v in session_facts(data))]
        paragraphs.append(f"[{NOTES_ONLY}]")
        if notes.baseline:
            paragraphs.append(
                "Baseline\n" + "\n".join(f"{k}: {one_line(v)}" for k, v in notes.baseline)
            )
        if notes.coverage:
            paragraphs.append(
                "Coverage\n"
                + "\n".join(
                    f"{one_line(title)}: {status}"
                    + (f", {minutes:.1f} min" if minutes is not None else "")
                    for title, status, minutes in notes.coverage
                )
            )
        for block in field_note_blocks(notes):
            if isinstance(block, TopicHeading):
                paragraphs.append(f"[Topic: {one_line(heading_text(data, block))}]")
            else:
                label, text = entry_label(block)
                paragraphs.append(f"[{label} {timecodes.hms(block.t)}: {one_line(text)}]")
        return "\n\n".join(paragraphs) + "\n"


# ---------------------------------------------------------------------------------------------
# NVivo transcript table


class NvivoWriter(TextWriter):
    """Tab-separated rows NVivo's transcript import maps to Timespan / Speaker / Content columns
    (Topic becomes a custom transcript field)."""

    name = "nvivo"
    extension = ".nvivo.txt"
    description = "NVivo transcript table: Timespan, Speaker, Content, Topic (tab-separated)"
    bom = True
    columns = ("Timespan", "Speaker", "Content", "Topic")

    def render(self, data: SessionData) -> str:
        data = readable(data)
        model = transcript_model(data)
        rows = ["\t".join(self.columns)]
        for block in model.blocks():
            if isinstance(block, Turn):
                start, end, speaker = block.start, block.end, block.speaker or ""
                text = model_turn_text(model, block)
            elif isinstance(block, (Untranscribed, RecordingGap)):
                start, end, speaker, text = block.start, block.end, "", mark_text(block)
            elif isinstance(block, RecordingPause):
                start = end = block.t
                speaker, text = "", mark_text(block)
            else:
                continue
            span = f"{timecodes.tenths(start)}-{timecodes.tenths(end)}"
            visit = model.visit_at(start)
            named = visit is not None and (visit.topic is not None or visit.closing)
            topic = visit_title(data, visit) if visit is not None and named else ""
            rows.append("\t".join((span, one_line(speaker), one_line(text), one_line(topic))))
        return "\r\n".join(rows) + "\r\n"


# ---------------------------------------------------------------------------------------------
# subtitles


def _cue_text(speaker: str | None, text: str) -> str:
    return f"{speaker}: {text}" if speaker else text


class SrtWriter(TextWriter):
    name = "srt"
    extension = ".srt"
    description = "SubRip subtitles, one cue per segment, speaker in the text"

    def render(self, data: SessionData) -> str:
        data = readable(data)
        cues = []
        for index, (start, end, speaker, text) in enumerate(subtitle_cues(data), start=1):
            cues.append(
                f"{index}\n{timecodes.srt(start)} --> {timecodes.srt(end)}\n"
                f"{_cue_text(speaker, one_line(text))}\n"
            )
        return "\n".join(cues)


def turn_cues(turn: Turn) -> list[Turn]:
    """A turn cut into sentences for subtitles; the first keeps the turn's speaker confidence,
    so an unsure speaker is marked once, where the turn begins."""
    return [
        Turn(words, turn.visit, turn.topic, turn.speaker, None if i else turn.speaker_confidence)
        for i, words in enumerate(sentence_chunks(turn))
    ]


def subtitle_cues(data: SessionData) -> list[tuple[float, float, str | None, str]]:
    """(start, end, speaker, text) per sentence of each turn, marks included; an untranscribed
    stretch is a cue of its own."""
    model = transcript_model(data)
    out: list[tuple[float, float, str | None, str]] = []
    for block in model.blocks():
        if isinstance(block, Turn):
            for part in turn_cues(block):
                out.append(
                    (
                        part.start,
                        max(part.end, part.start + 0.001),
                        block.speaker,
                        model_turn_text(model, part),
                    )
                )
        elif isinstance(block, Untranscribed):  # a gap has no audio to subtitle
            out.append((block.start, max(block.end, block.start + 0.001), None, mark_text(block)))
    return out


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class VttWriter(TextWriter):
    """WebVTT with the speaker as a voice span (``<v Name>``) and topic changes as NOTE blocks."""

    name = "vtt"
    extension = ".vtt"
    description = "WebVTT subtitles, speakers as voice spans, topics as NOTE blocks"

    def render(self, data: SessionData) -> str:
        data = readable(data)
        model = transcript_model(data)
        blocks = ["WEBVTT"]
        number = 0
        for block in model.blocks():
            if isinstance(block, Heading):
                title = one_line(heading_text(data, block)).replace("-->", "→")
                blocks.append(f"NOTE Topic: {title}")
                continue
            if isinstance(block, Turn):
                parts = [(p.start, p.end, model_turn_text(model, p)) for p in turn_cues(block)]
            elif isinstance(block, Untranscribed):  # a gap has no audio to subtitle
                parts = [(block.start, block.end, mark_text(block))]
            else:
                continue
            for start, end, raw in parts:
                number += 1
                text = _vtt_escape(one_line(raw))
                if isinstance(block, Turn) and block.speaker:
                    text = f"<v {_vtt_escape(block.speaker)}>{text}"
                end = max(end, start + 0.001)
                blocks.append(f"{number}\n{timecodes.vtt(start)} --> {timecodes.vtt(end)}\n{text}")
        return "\n\n".join(blocks) + "\n"


# ---------------------------------------------------------------------------------------------
# JSON


class JsonWriter(TextWriter):
    """The whole transcript, unchanged, wrapped with the session's metadata and coverage, and
    the corrections log (so the archive holds both the engine's record and the review)."""

    name = "json"
    extension = ".json"
    description = "the full transcript with session metadata"
    needs_transcript = False

    def render(self, data: SessionData) -> str:
        document: dict[str, Any] = {
            "format": "guide-tui-export",
            "schema": EXPORT_SCHEMA,
            "session_folder": data.name,
            "session": data.meta,
            "transcript": data.transcript.raw if data.transcript is not None else None,
            # the researcher's corrections, applied over "transcript" by the other formats
            # (docs/transcript-format.md, "Corrections"); the engine's record stays as it was
            "corrections": [c.as_dict() for c in data.corrections],
        }
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------------------------------------
# DOCX


#: Territories whose paper is US Letter; everywhere else uses A4 (ISO 216).
LETTER_TERRITORIES = frozenset({"US", "CA", "MX", "PH", "CL", "CO", "VE", "GT", "CR", "PR"})
#: A bare transcript language as the regional tag Word's spelling and hyphenation want.
LANGUAGE_TAGS = {
    "en": "en-GB",
    "da": "da-DK",
    "de": "de-DE",
    "sv": "sv-SE",
    "nb": "nb-NO",
    "no": "nb-NO",
    "nn": "nn-NO",
    "fi": "fi-FI",
    "fr": "fr-FR",
    "nl": "nl-NL",
    "es": "es-ES",
    "it": "it-IT",
    "pt": "pt-PT",
    "pl": "pl-PL",
}


def _locale_territory() -> tuple[str | None, str | None]:
    """(language, territory) of the user's locale (``LC_ALL``, ``LC_PAPER``, ``LANG``)."""
    import os
    import re

    for name in ("LC_ALL", "LC_PAPER", "LANG"):
        value = os.environ.get(name) or ""
        match = re.match(r"([a-z]{2,3})_([A-Z]{2})", value)
        if match:
            return match.group(1), match.group(2)
    return None, None


def paper_size() -> tuple[str, float, float]:
    """("A4" | "Letter", width mm, height mm): the locale's paper, A4 unless it says Letter."""
    _language, territory = _locale_territory()
    if territory in LETTER_TERRITORIES:
        return "Letter", 215.9, 279.4
    return "A4", 210.0, 297.0


def language_tag(data: SessionData) -> str | None:
    """The interview's language as a tag for Word (``da-DK``), the locale's region if it fits."""
    language = (data.transcript.language if data.transcript is not None else None) or str(
        data.guide_info.get("language") or ""
    )
    language = language.split("-")[0].split("_")[0].lower()
    if not language or language == "auto":
        return None
    locale_language, territory = _locale_territory()
    if locale_language == language and territory:
        return f"{language}-{territory}"
    return LANGUAGE_TAGS.get(language, language)


def _set_up_pages(document: Any, data: SessionData) -> None:
    """Paper, margins, language, a running header, page numbers and line numbers.

    Line numbers restart on no page (``continuous``): interview transcripts are cited as
    ``P01, l. 214``, so every line has a number that does not change with the page.
    """
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    _name, width, height = paper_size()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(width), Mm(height)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin = section.bottom_margin = Mm(25)

    tag = language_tag(data)
    if tag is not None:
        for lang in document.styles.element.iter(qn("w:lang")):
            lang.set(qn("w:val"), tag)
            lang.set(qn("w:eastAsia"), tag)

    date = started_label(data)
    header = section.header.paragraphs[0]
    header.text = " · ".join(
        x for x in (f"Interview {data.participant}", group_label(data), date) if x
    )
    for run in header.runs:
        run.font.size = Pt(9)

    footer = section.footer.paragraphs[0]
    footer.alignment = 1  # centred
    footer.add_run("Page ").font.size = Pt(9)
    for instruction, text in (("PAGE", "1"), (None, " of "), ("NUMPAGES", "1")):
        if instruction is None:
            footer.add_run(text).font.size = Pt(9)
            continue
        field = OxmlElement("w:fldSimple")
        field.set(qn("w:instr"), instruction)
        run = OxmlElement("w:r")
        value = OxmlElement("w:t")
        value.text = text  # shown until the reader updates fields
        run.append(value)
        field.append(run)
        footer._p.append(field)

    numbers = OxmlElement("w:lnNumType")
    numbers.set(qn("w:countBy"), "1")
    numbers.set(qn("w:restart"), "continuous")
    numbers.set(qn("w:distance"), str(Mm(6).twips))
    sect_pr = section._sectPr
    # The schema orders sectPr's children: lnNumType comes after pgSz/pgMar/paperSrc/pgBorders.
    anchor = None
    for tag_name in ("w:pgBorders", "w:paperSrc", "w:pgMar", "w:pgSz"):
        anchor = sect_pr.find(qn(tag_name))
        if anchor is not None:
            break
    if anchor is not None:
        anchor.addnext(numbers)
    else:
        sect_pr.insert(0, numbers)


def _suppress_line_numbers(paragraph: Any) -> None:
    """Title and facts are not transcript: keep them out of the line count."""
    from docx.oxml import OxmlElement

    paragraph._p.get_or_add_pPr().append(OxmlElement("w:suppressLineNumbers"))


class DocxWriter(Writer):
    """A Word transcript: title, a facts table, a heading per topic, one paragraph per turn.

    Pages are A4 (Letter where the locale uses it), in the interview's language, with the
    participant and date in the header, page numbers in the footer and line numbers in the margin.
    """

    name = "docx"
    extension = ".docx"
    description = "Word transcript with topic headings, timestamps, speakers and notes"
    writes_field_notes = True

    def write(self, data: SessionData, path: Path) -> Path:
        # A .docx is XML, and lxml refuses control characters with a ValueError that would end
        # the export: every text of the session goes through xml_text first, once.
        data = map_text(readable(data), xml_text)
        notes = field_notes(data) if data.transcript is None and is_notes_only(data) else None
        transcript = require_transcript(data) if notes is None else None
        import docx  # deferred: python-docx and lxml cost ~0.2 s and only this writer needs them
        from docx.shared import Pt, RGBColor

        document = docx.Document()
        _set_up_pages(document, data)
        title = data.guide_info.get("title")
        _suppress_line_numbers(
            document.add_heading(
                f"Interview {data.participant}" + (f" — {title}" if title else ""), level=0
            )
        )
        facts = session_facts(data)
        table = document.add_table(rows=len(facts), cols=2)
        table.style = "Table Grid"
        for row, (key, value) in zip(table.rows, facts, strict=True):
            row.cells[0].text = key
            row.cells[1].text = value
        grey = RGBColor(0x66, 0x66, 0x66)
        if notes is not None:
            self._field_notes(document, data, notes)
        assert transcript is not None or notes is not None
        model = transcript_model(data) if transcript is not None else None
        blocks: list[Block] = model.blocks() if model is not None else []
        for block in blocks:
            assert model is not None
            if isinstance(block, Heading):
                document.add_heading(heading_text(data, block), level=1)
            elif isinstance(block, Turn):
                para = document.add_paragraph()
                stamp = para.add_run(f"[{timecodes.hms(block.start)}] ")
                stamp.font.color.rgb = grey
                stamp.font.size = Pt(9)
                if block.speaker:
                    para.add_run(f"{block.speaker}: ").bold = True
                para.add_run(model_turn_text(model, block))
            elif isinstance(block, (Untranscribed, RecordingPause, RecordingGap)):
                para = document.add_paragraph()
                para.add_run(
                    f"[{timecodes.hms(mark_time(block))}] {mark_text(block)}"
                ).italic = True
            else:
                label, text = annotation_label(block)
                para = document.add_paragraph(style="Intense Quote")
                para.add_run(f"{label} [{timecodes.hms(block.t)}]: ").bold = True
                para.add_run(text)
        props = document.core_properties
        props.title = f"Interview {data.participant}"
        props.author = "guide-tui"
        props.comments = xml_text(f"Session {data.name}")  # the folder's name
        props.language = language_tag(data) or ""
        started = data.meta.get("started")
        if isinstance(started, str):
            try:
                stamp_time = datetime.fromisoformat(started).replace(tzinfo=None)
                props.created = props.modified = stamp_time
            except ValueError:
                pass
        with atomic_path(path) as tmp:
            document.save(str(tmp))
        return path

    @staticmethod
    def _field_notes(document: Any, data: SessionData, notes: FieldNotes) -> None:
        document.add_paragraph(NOTES_ONLY).runs[0].italic = True
        if notes.baseline:
            document.add_heading("Baseline", level=1)
            table = document.add_table(rows=len(notes.baseline), cols=2)
            table.style = "Table Grid"
            for row, (key, value) in zip(table.rows, notes.baseline, strict=True):
                row.cells[0].text, row.cells[1].text = key, value
        if notes.coverage:
            document.add_heading("Coverage", level=1)
            table = document.add_table(rows=len(notes.coverage) + 1, cols=3)
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, ("Topic", "Status", "Minutes"), strict=True):
                cell.text = text
            for row, (topic, status, minutes) in zip(table.rows[1:], notes.coverage, strict=True):
                row.cells[0].text, row.cells[1].text = topic, status
                row.cells[2].text = _minutes(minutes)
        document.add_heading("Notes and markers", level=1)
        for block in field_note_blocks(notes):
            if isinstance(block, TopicHeading):
                document.add_heading(heading_text(data, block), level=2)
            else:
                label, text = entry_label(block)
                para = document.add_paragraph(style="Intense Quote")
                para.add_run(f"{label} [{timecodes.hms(block.t)}]: ").bold = True
                para.add_run(text)


# ---------------------------------------------------------------------------------------------
# the lookup table


def _qdpx_writer() -> type[Writer]:
    from guide_tui.export.qdpx import QdpxWriter

    return QdpxWriter


WRITERS: dict[str, type[Writer]] = {
    w.name: w
    for w in (
        MarkdownWriter,
        MaxqdaTextWriter,
        NvivoWriter,
        SrtWriter,
        VttWriter,
        DocxWriter,
        JsonWriter,
    )
}
#: Every format, in the order ``export`` writes them by default.
FORMATS: tuple[str, ...] = ("md", "txt", "nvivo", "srt", "vtt", "docx", "qdpx", "json")


def get_writer(name: str) -> Writer:
    """The writer for ``name``; an unknown name is the user's typo, so list the choices."""
    if name == "qdpx":
        return _qdpx_writer()()
    try:
        return WRITERS[name]()
    except KeyError:
        raise ExportError(
            f"unknown export format {name!r}; choose from {', '.join(FORMATS)}"
        ) from None


def transcript_markdown(folder: Path) -> str:
    """``transcript.md`` as ``guide-tui transcribe`` writes it: the Markdown export of the session
    (one writer, one set of rules), in the readable wording when the user asked for ``--clean``."""

    from guide_tui.export.session_data import read_session
    from guide_tui.export.transcript import parse_transcript

    data = read_session(folder)
    transcript = data.transcript
    if transcript is not None and (transcript.raw.get("options") or {}).get("verbatim") is False:
        clean = parse_transcript(transcript.raw, str(folder), clean=True)
        data = dataclasses.replace(data, transcript=clean)
    return MarkdownWriter().render(data)


def export_session(
    data: SessionData, formats: Iterable[str], out_dir: Path, **options: Any
) -> list[Path]:
    """Write the given formats of one session into ``out_dir``; returns the files written."""
    written = []
    for name in formats:
        writer = get_writer(name)
        for key, value in options.items():
            if hasattr(writer, key):
                setattr(writer, key, value)
        written.append(writer.write(data, out_dir / writer.filename(data)))
    return written
