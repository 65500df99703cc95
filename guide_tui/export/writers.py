"""Transcript writers, one small class per format behind a lookup table (like openai-whisper's
``get_writer``).

Every writer reads one :class:`~guide_tui.export.session_data.SessionData` and writes one file,
atomically. Text formats render to a string first (``render``), which is what the golden-file
tests compare; DOCX and QDPX build binary files. Exports need a transcript, except QDPX and
JSON, which are still useful without one (audio, cases, codes / metadata only).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from guide_tui.errors import ExportError
from guide_tui.export import timecodes
from guide_tui.export.files import atomic_path, write_text_atomic
from guide_tui.export.session_data import SessionData
from guide_tui.export.transcript import (
    Annotation,
    TopicHeading,
    Transcript,
    Turn,
    build_turns,
    timeline,
)

EXPORT_SCHEMA = 1


class Writer:
    """Base class: one format, one file per session."""

    name: ClassVar[str]
    extension: ClassVar[str]  # full suffix of the file name, e.g. ".nvivo.txt"
    description: ClassVar[str]
    needs_transcript: ClassVar[bool] = True

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


def require_transcript(data: SessionData) -> Transcript:
    if data.transcript is None:
        raise ExportError(
            f"{data.folder}: no transcript.json yet; run `guide-tui transcribe {data.folder}` first"
        )
    return data.transcript


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
    return [(k, str(v)) for k, v in facts if v]


def marker_label(kind: str | None) -> str:
    return (kind or "marker").replace("_", " ")


def annotation_label(ann: Annotation) -> tuple[str, str]:
    """("Note", text) or ("Marker", kind) for reading formats."""
    if ann.type == "marker":
        return "Marker", marker_label(ann.kind) + (f": {ann.text}" if ann.text else "")
    return "Note", ann.text or ""


def heading_text(data: SessionData, heading: TopicHeading) -> str:
    title = data.topic_title(heading.topic)
    return f"{title} (continued)" if heading.revisit else title


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

    def render(self, data: SessionData) -> str:
        transcript = require_transcript(data)
        title = data.guide_info.get("title")
        lines = [
            f"# Interview {_md_escape(data.participant)}"
            + (f" — {_md_escape(str(title))}" if title else ""),
            "",
        ]
        lines += ["| | |", "|---|---|"]
        for key, value in session_facts(data):
            cell = _md_escape(value).replace("|", "\\|")
            lines.append(f"| {key} | {cell} |")
        lines.append("")
        for block in timeline(transcript):
            if isinstance(block, TopicHeading):
                lines += [f"## {_md_escape(heading_text(data, block))}", ""]
            elif isinstance(block, Turn):
                who = f" {_md_escape(block.speaker)}:" if block.speaker else ""
                check = " *(check against the audio)*" if block.flagged else ""
                lines += [
                    f"**[{timecodes.hms(block.start)}]{who}** {_md_escape(block.text)}{check}",
                    "",
                ]
            else:
                label, text = annotation_label(block)
                lines += [f"> **{label}** [{timecodes.hms(block.t)}] {_md_escape(text)}", ""]
        return "\n".join(lines).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------------------------
# MAXQDA / f4 plain text


class MaxqdaTextWriter(TextWriter):
    """One paragraph per turn, ``Name: `` first and ``#hh:mm:ss-d#`` (its end) last.

    That is the f4/f5 transcript convention MAXQDA imports with timestamps linked to the audio
    and speakers recognised for autocoding. Topic changes and notes are bracketed paragraphs so
    they can be found (and autocoded) by searching for ``[Topic:``.
    """

    name = "txt"
    extension = ".txt"
    description = "MAXQDA / f4 transcript: `Name: text #hh:mm:ss-d#` paragraphs"
    bom = True

    def render(self, data: SessionData) -> str:
        transcript = require_transcript(data)
        paragraphs: list[str] = []
        for block in timeline(transcript):
            if isinstance(block, TopicHeading):
                paragraphs.append(
                    f"[Topic: {one_line(heading_text(data, block))}] "
                    f"{timecodes.maxqda(block.start)}"
                )
            elif isinstance(block, Turn):
                who = f"{block.speaker}: " if block.speaker else ""
                paragraphs.append(f"{who}{one_line(block.text)} {timecodes.maxqda(block.end)}")
            else:
                # No #timestamp#: a note is placed after the turn it was taken in, and MAXQDA
                # wants timestamps in ascending order.
                label, text = annotation_label(block)
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
        transcript = require_transcript(data)
        rows = ["\t".join(self.columns)]
        for turn in build_turns(transcript):
            span = f"{timecodes.tenths(turn.start)}-{timecodes.tenths(turn.end)}"
            topic = data.topic_title(turn.topic) if turn.topic else ""
            rows.append(
                "\t".join(
                    (span, one_line(turn.speaker or ""), one_line(turn.text), one_line(topic))
                )
            )
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
        transcript = require_transcript(data)
        cues = []
        segments = [s for s in transcript.segments if s.text]
        for index, seg in enumerate(segments, start=1):
            end = max(seg.end, seg.start + 0.001)
            cues.append(
                f"{index}\n{timecodes.srt(seg.start)} --> {timecodes.srt(end)}\n"
                f"{_cue_text(seg.speaker, one_line(seg.text))}\n"
            )
        return "\n".join(cues)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class VttWriter(TextWriter):
    """WebVTT with the speaker as a voice span (``<v Name>``) and topic changes as NOTE blocks."""

    name = "vtt"
    extension = ".vtt"
    description = "WebVTT subtitles, speakers as voice spans, topics as NOTE blocks"

    def render(self, data: SessionData) -> str:
        transcript = require_transcript(data)
        blocks = ["WEBVTT"]
        topic: object = object()
        for seg in transcript.segments:
            if not seg.text:
                continue
            if seg.topic != topic:
                topic = seg.topic
                title = one_line(data.topic_title(seg.topic)).replace("-->", "→")
                blocks.append(f"NOTE Topic: {title}")
            end = max(seg.end, seg.start + 0.001)
            text = _vtt_escape(one_line(seg.text))
            if seg.speaker:
                text = f"<v {_vtt_escape(seg.speaker)}>{text}"
            blocks.append(f"{seg.id}\n{timecodes.vtt(seg.start)} --> {timecodes.vtt(end)}\n{text}")
        return "\n\n".join(blocks) + "\n"


# ---------------------------------------------------------------------------------------------
# JSON


class JsonWriter(TextWriter):
    """The whole transcript, unchanged, wrapped with the session's metadata and coverage."""

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
        }
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------------------------------------
# DOCX


class DocxWriter(Writer):
    """A Word transcript: title, a facts table, a heading per topic, one paragraph per turn."""

    name = "docx"
    extension = ".docx"
    description = "Word transcript with topic headings, timestamps, speakers and notes"

    def write(self, data: SessionData, path: Path) -> Path:
        transcript = require_transcript(data)
        import docx  # deferred: python-docx and lxml cost ~0.2 s and only this writer needs them
        from docx.shared import Pt, RGBColor

        document = docx.Document()
        title = data.guide_info.get("title")
        document.add_heading(
            f"Interview {data.participant}" + (f" — {title}" if title else ""), level=0
        )
        facts = session_facts(data)
        table = document.add_table(rows=len(facts), cols=2)
        table.style = "Table Grid"
        for row, (key, value) in zip(table.rows, facts, strict=True):
            row.cells[0].text = key
            row.cells[1].text = value
        grey = RGBColor(0x66, 0x66, 0x66)
        for block in timeline(transcript):
            if isinstance(block, TopicHeading):
                document.add_heading(heading_text(data, block), level=1)
            elif isinstance(block, Turn):
                para = document.add_paragraph()
                stamp = para.add_run(f"[{timecodes.hms(block.start)}] ")
                stamp.font.color.rgb = grey
                stamp.font.size = Pt(9)
                if block.speaker:
                    para.add_run(f"{block.speaker}: ").bold = True
                para.add_run(block.text)
                if block.flagged:
                    para.add_run(" (check against the audio)").italic = True
            else:
                label, text = annotation_label(block)
                para = document.add_paragraph(style="Intense Quote")
                para.add_run(f"{label} [{timecodes.hms(block.t)}]: ").bold = True
                para.add_run(text)
        props = document.core_properties
        props.title = f"Interview {data.participant}"
        props.author = "guide-tui"
        props.comments = f"Session {data.name}"
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
