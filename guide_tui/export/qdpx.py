"""REFI-QDA project export (``.qdpx``): one interview, or a whole study, for NVivo, MAXQDA,
ATLAS.ti and QualCoder.

What goes in, and why:

- **Codes** are the guide's topics with their questions as child codes, and the interviewer's
  markers ("quotable", "follow up") under a non-codable "Markers" parent. The transcript arrives
  **pre-coded**: every topic-aligned stretch with its topic, each question's stretch (from the
  turn where it was asked up to the next question of the topic) with its question, each marker's
  turn with the marker. The researcher starts analysis with the interview's own structure.
- **Sources**: per session a ``TextSource`` (the transcript as plain text; it carries the
  codings, because text codings are what every importer supports) and an ``AudioSource`` with
  the recording and a ``Transcript`` with ``SyncPoint`` s at every turn, so the tool can play the
  audio from the text. The codings are *not* repeated on the audio transcript: doubled codings
  would double every code count.
- **Speakers** are codes too, under a non-codable "Speakers" parent: ``Speaker: Interviewer``,
  ``Speaker: P07`` (the labels as corrected in review), each applied to exactly that speaker's
  turns, so "what did the interviewer ask" and "what did the participant say" are code queries.
- **Cases** are participants (a repeat interview joins its participant's case) with the group
  and baseline answers as **variables**. Where the transcript knows who spoke, a case is linked
  to its participant's own turns (``SelectionRef`` to those turns' selections), not to the whole
  source, so a case query does not return the interviewer's questions; the audio is then reached
  through the transcript's sync points and is not linked to the case. Without speakers (or when
  none of them is the participant) the case is linked to the session's sources as a whole.
- **Notes** become memos referenced from the selection they were taken at, and the note's text
  is also the selection's ``Description`` (QualCoder shows only that: it imported every note as
  an empty memo); the session's facts are the text source's ``Description`` as well as a memo
  (QualCoder drops memos no selection refers to); the **interviewer** is the project's user.
- **Colours**: every code has one, derived from its id (topic, question, marker kind), so an
  import shows the same colours every time and in every tool (QualCoder picks random colours for
  codes without one); a topic's questions are lighter shades of the topic's colour.

Format rules that importers enforce (``shared/tools/README.md`` §6 and the schema): the folder in
the zip is lowercase ``sources/``; source paths are ``internal://<guid>.<ext>``; a transcript
uses ``plainTextPath`` and never also ``PlainTextContent``; times are integer milliseconds and
positions character offsets (end exclusive) into the text; elements follow the schema's sequence
order and booleans are spelled out (ATLAS.ti rejects anything else). GUIDs are UUID 5 of stable
keys, so re-exporting gives the same project (and the golden test stays meaningful) while every
GUID stays distinct.
"""

from __future__ import annotations

import colorsys
import contextlib
import hashlib
import uuid
import wave
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO

from guide_tui import __version__
from guide_tui.errors import ExportError, SessionError
from guide_tui.export import timecodes
from guide_tui.export.field_notes import field_notes, is_notes_only
from guide_tui.export.files import atomic_path
from guide_tui.export.session_data import SessionData
from guide_tui.export.writers import (
    NOTES_ONLY,
    MaxqdaTextWriter,
    Writer,
    group_label,
    heading_text,
    mark_text,
    mark_time,
    marker_label,
    readable,
    session_facts,
    transcript_model,
)
from guide_tui.guide.model import BaselineField, Guide
from guide_tui.safetext import xml_text
from guide_tui.transcript.model import Heading, RecordingPause, TranscriptModel, Turn
from guide_tui.transcript.render import model_turn_text
from guide_tui.transcript.source import RecordingGap, Untranscribed

NS = "urn:QDA-XML:project:1.0"
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://guide-tui.invalid/refi-qda")
MARKER_COLOUR = "#FFD700"
SPEAKERS_COLOUR = "#708090"
MAX_CODE_NAME = 120


def guid(*key: object) -> str:
    """A GUID derived from a stable key: the same input always gives the same project."""
    return str(uuid.uuid5(GUID_NAMESPACE, "/".join(str(k) for k in key)))


def _el(
    parent: ET.Element, tag: str, attrs: dict[str, Any] | None = None, text: str | None = None
) -> ET.Element:
    """A child element; ``None`` attributes are left out, booleans spelled ``true``/``false``."""
    element = ET.SubElement(parent, f"{{{NS}}}{tag}")
    for key, value in (attrs or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        element.set(key, str(value))
    if text is not None:
        element.text = text
    return element


def _utc(value: Any, plus_seconds: float = 0.0) -> str | None:
    """An ISO date-time from ``session.json`` as ``xsd:dateTime`` in UTC (``...Z``)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc) + timedelta(seconds=plus_seconds)
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _hash_fraction(*key: object) -> float:
    """A number in [0, 1) that depends only on ``key`` (not on Python's salted ``hash``)."""
    digest = hashlib.sha256("/".join(str(k) for k in key).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def code_colour(topic_id: str, question_id: str | None = None) -> str:
    """``#RRGGBB`` for a topic's code, or a lighter shade of it for one of its questions.

    Derived from the ids alone, so a re-export, another guide version or another session gives
    the same code the same colour. Mid lightness and saturation read on light and dark themes.
    """
    hue = _hash_fraction("topic", topic_id)
    lightness = 0.42
    if question_id is not None:
        lightness = 0.58 + 0.14 * _hash_fraction("question", topic_id, question_id)
    red, green, blue = colorsys.hls_to_rgb(hue, lightness, 0.62)
    return "#{:02X}{:02X}{:02X}".format(*(round(c * 255) for c in (red, green, blue)))


def marker_colour(kind: str) -> str:
    """Yellows to browns for marker kinds (the "Markers" parent is gold), stable per kind."""
    red, green, blue = colorsys.hls_to_rgb(0.09 + 0.06 * _hash_fraction("marker", kind), 0.5, 0.85)
    return "#{:02X}{:02X}{:02X}".format(*(round(c * 255) for c in (red, green, blue)))


def speaker_colour(label: str) -> str:
    """Blues to purples for speakers, stable per label (the "Speakers" parent is slate)."""
    red, green, blue = colorsys.hls_to_rgb(0.55 + 0.25 * _hash_fraction("speaker", label), 0.5, 0.5)
    return "#{:02X}{:02X}{:02X}".format(*(round(c * 255) for c in (red, green, blue)))


def wall_at(data: SessionData, t: float) -> str | None:
    """The wall-clock time (``xsd:dateTime``, UTC) of the moment ``t`` on the session clock.

    ``t`` is the recording's clock: it stands still through consent, baseline and the mic check
    and while recording is paused, so ``started + t`` is early by all of that. Each event has
    both its ``t`` and its ``wall``; the latest event at or before ``t`` anchors the moment.
    """
    anchor = None
    for event in data.events:
        if event.t <= t and (anchor is None or event.t >= anchor.t):
            anchor = event
    if anchor is not None:
        moment = _utc(anchor.wall, t - anchor.t)
        if moment is not None:
            return moment
    return _utc(data.meta.get("started"), t)


def _code_name(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_CODE_NAME else text[: MAX_CODE_NAME - 1].rstrip() + "…"


# ---------------------------------------------------------------------------------------------
# the transcript as plain text, with the character offsets the codings need


@dataclass
class TextLayout:
    """The plain text of one transcript and where each turn lies in it."""

    text: str
    turns: list[Turn]
    spans: list[tuple[int, int]]  # per turn: (start, end) character offsets, end exclusive
    model: TranscriptModel
    participant: str = ""  # the session's participant (pseudonym)

    @property
    def participant_speakers(self) -> set[str]:
        """The labels of the participant's turns: the speaker whose role is ``participant``,
        else (a transcript without roles: two channels before 2026-12) the label that is the
        participant's pseudonym."""
        spoken = {t.speaker for t in self.turns if t.speaker}
        by_role = self.model.speakers_with_role("participant") & spoken
        if by_role or "participant" in self.model.roles.values():
            return by_role
        return {self.participant} & spoken


def layout_transcript(data: SessionData) -> TextLayout:
    """``[hh:mm:ss] Speaker: text`` paragraphs under ``[Topic: ...]`` lines, marks as in every
    other export (:mod:`guide_tui.transcript.render`)."""
    assert data.transcript is not None
    model = transcript_model(data)
    parts: list[str] = []
    offset = 0
    spans: list[tuple[int, int]] = []
    turns: list[Turn] = []

    def add(paragraph: str) -> tuple[int, int]:
        nonlocal offset
        if parts:
            parts.append("\n\n")
            offset += 2
        start = offset
        parts.append(paragraph)
        offset += len(paragraph)
        return start, offset

    for block in model.blocks():
        if isinstance(block, Heading):
            add(f"[Topic: {heading_text(data, block)}]")
        elif isinstance(block, Turn):
            who = f"{block.speaker}: " if block.speaker else ""
            text = model_turn_text(model, block)
            spans.append(add(f"[{timecodes.hms(block.start)}] {who}{text}"))
            turns.append(block)
        elif isinstance(block, (Untranscribed, RecordingPause, RecordingGap)):
            add(f"[{timecodes.hms(mark_time(block))}] {mark_text(block)}")
    return TextLayout("".join(parts) + "\n", turns, spans, model, data.participant)


def _turn_at(turns: list[Turn], t: float) -> int | None:
    """The turn being spoken at ``t``, else the last one that started before it."""
    best = None
    for index, turn in enumerate(turns):
        if turn.start <= t:
            best = index
            if t <= turn.end:
                return index
        else:
            break
    return best if best is not None else (0 if turns else None)


# ---------------------------------------------------------------------------------------------
# the project


@dataclass
class _CodeBook:
    topics: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    questions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    markers: list[str] = field(default_factory=list)


def _guides_newest_first(sessions: list[SessionData]) -> list[Guide]:
    def key(data: SessionData) -> str:
        return str(data.meta.get("started") or data.name)

    return [d.guide for d in sorted(sessions, key=key, reverse=True) if d.guide is not None]


def _codebook(sessions: list[SessionData]) -> _CodeBook:
    """Topics and questions of every guide version used (newest wording wins), plus markers."""
    book = _CodeBook()
    known: set[str] = set()
    for guide in _guides_newest_first(sessions):
        for topic in guide.topics:
            if topic.id not in known:
                known.add(topic.id)
                book.topics.append((topic.id, topic.title, topic.research_questions))
            questions = book.questions.setdefault(topic.id, [])
            ids = {q for q, _ in questions}
            questions.extend((q.id, q.text) for q in topic.questions if q.id not in ids)
    for data in sessions:  # topics only the transcript knows (a guide that no longer loads)
        if data.transcript is None:
            continue
        for seg in data.transcript.segments:
            if seg.topic and seg.topic not in known:
                known.add(seg.topic)
                book.topics.append((seg.topic, data.topic_title(seg.topic), ()))
    kinds = {
        a.kind or "marker"
        for d in sessions
        if d.transcript
        for a in d.transcript.annotations
        if a.type == "marker"
    }
    kinds |= {
        e.kind or "marker"
        for d in sessions
        if is_notes_only(d)
        for e in field_notes(d).entries
        if e.type == "marker"
    }
    book.markers = sorted(kinds)
    return book


def _variables(sessions: list[SessionData]) -> list[tuple[str, str, str, str | None]]:
    """(key, name, typeOfVariable, description) for the group and every baseline field."""
    fields: dict[str, BaselineField] = {}
    for guide in _guides_newest_first(sessions):
        for baseline_field in guide.baseline:
            fields.setdefault(baseline_field.id, baseline_field)
    answered = {k for d in sessions for k in (d.meta.get("baseline") or {})}
    result: list[tuple[str, str, str, str | None]] = [
        ("group", "Group", "Text", "Participant group")
    ]
    for field_id in list(fields) + sorted(answered - set(fields)):
        spec = fields.get(field_id)
        values = [
            v
            for d in sessions
            if (v := (d.meta.get("baseline") or {}).get(field_id)) is not None and v != ""
        ]
        kind = "Text"
        if (
            spec is not None
            and spec.type == "yes-no"
            and all(_as_bool(v) is not None for v in values)
        ):
            kind = "Boolean"
        elif (
            spec is not None
            and spec.type == "number"
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        ):
            kind = "Integer" if all(float(v).is_integer() for v in values) else "Float"
        name = spec.label if spec is not None else field_id
        result.append((field_id, name, kind, f"Baseline question `{field_id}`"))
    return result


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("yes", "true", "ja", "1", "y"):
        return True
    if text in ("no", "false", "nej", "0", "n"):
        return False
    return None


def _variable_value(parent: ET.Element, variable_guid: str, kind: str, value: Any) -> None:
    holder = _el(parent, "VariableValue")
    _el(holder, "VariableRef", {"targetGUID": variable_guid})
    if kind == "Boolean":
        _el(holder, "BooleanValue", text="true" if _as_bool(value) else "false")
    elif kind == "Integer":
        _el(holder, "IntegerValue", text=str(int(value)))
    elif kind == "Float":
        _el(holder, "FloatValue", text=repr(float(value)))
    else:
        _el(holder, "TextValue", text=str(value))


@dataclass
class Member:
    """A file that goes into ``sources/``: copied from disk or made from bytes."""

    arcname: str
    data: bytes | None = None
    files: tuple[Path, ...] = ()  # one file: copied; several WAVs: concatenated
    silence: tuple[int, ...] = ()  # frames of silence before each of ``files`` (a device gap)


@dataclass
class Project:
    qde: bytes
    members: list[Member]


#: The most audio bytes one WAV can hold: its sizes are 32-bit, and the RIFF size counts the
#: 36 header bytes after it. About 6 h 12 min of 48 kHz 16-bit stereo.
WAV_DATA_LIMIT = 0xFFFFFFFF - 36


@dataclass
class _AudioGroup:
    """Files joined into one audio source, each at its place on the session clock."""

    files: list[Path]
    starts: list[float]  # session time of each file's first frame
    silence: list[int]  # frames of silence before each file (the time the device was gone)
    end: float  # session time where the joined audio ends
    size: int = 0  # audio bytes of the joined WAV, silence included
    gaps: list[tuple[float, float]] = field(default_factory=list)  # session times of the silence

    @property
    def start(self) -> float:
        return self.starts[0]


def _audio_groups(
    files: list[Path], limit: int | None = None, data: SessionData | None = None
) -> list[list[Path]]:
    """The files of each audio source (see :func:`_placed_groups`)."""
    return [group.files for group in _placed_groups(data, files, limit)]


def _placed_groups(
    data: SessionData | None, files: list[Path], limit: int | None = None
) -> list[_AudioGroup]:
    """WAV files that can be joined into one (same format, together within the WAV size limit);
    else a new group. A long interview recorded over several files (a lost device,
    ``max_file_bytes``) becomes several audio sources rather than a WAV whose sizes overflow.

    Each file lies at its ``offset`` on the session clock (the clock ran on while a lost device
    was gone), so the gap between two files of a group is filled with silence: a position in the
    joined audio is then session time minus the group's start, which is what the sync points say.
    The offsets are the transcript's own (its times were computed with them, so text and audio
    stay together even for a transcript made before offsets were honoured), else
    ``session.json``'s.
    """
    from guide_tui.session.audio_offsets import place_audio, recorded_offsets

    limit = WAV_DATA_LIMIT if limit is None else limit
    params: list[tuple[int, int, int] | None] = []
    durations: list[float] = []
    sizes: list[int] = []
    for path in files:
        try:
            with _open_audio(path) as raw, wave.open(raw, "rb") as handle:
                channels, width, rate = (
                    handle.getnchannels(),
                    handle.getsampwidth(),
                    handle.getframerate(),
                )
                params.append((channels, width, rate))
                durations.append(handle.getnframes() / rate)
                sizes.append(handle.getnframes() * channels * width)
        except (OSError, wave.Error, EOFError, ZeroDivisionError):
            params.append(None)
            durations.append(_listed_seconds(data, path.name))
            sizes.append(0)
    listed: dict[str, Any] = data.meta if data is not None else {}
    transcript = data.transcript if data is not None else None
    if transcript is not None and isinstance(transcript.raw.get("audio"), list):
        listed = transcript.raw
    starts = place_audio(durations, recorded_offsets(listed, [p.name for p in files]))
    groups: list[_AudioGroup] = []
    last: tuple[int, int, int] | None = None
    for path, fmt, start, seconds, size in zip(
        files, params, starts, durations, sizes, strict=True
    ):
        group = groups[-1] if groups else None
        silence = max(0, round((start - group.end) * fmt[2])) if group and fmt else 0
        gap_bytes = silence * fmt[0] * fmt[1] if fmt else 0
        fits = group is not None and group.size + gap_bytes + size <= limit
        if group is not None and fmt is not None and fmt == last and fits:
            group.silence.append(silence)
            if silence:
                group.gaps.append((group.end, start))
            group.files.append(path)
            group.starts.append(start)
            group.size += gap_bytes + size
            group.end = start + seconds
            continue
        groups.append(_AudioGroup([path], [start], [0], start + seconds, size))
        last = fmt
    return groups
    return groups


def _recording_description(group: _AudioGroup) -> str:
    text = "Recording: " + ", ".join(p.name for p in group.files)
    if group.gaps:
        spans = ", ".join(f"{timecodes.hms(a)}-{timecodes.hms(b)}" for a, b in group.gaps)
        text += f"; silence where the microphone was lost: {spans}"
    return text


def _listed_seconds(data: SessionData | None, name: str) -> float:
    """A file's length as ``session.json`` lists it (for WAVs the ``wave`` module cannot read)."""
    entries = data.meta.get("audio") if data is not None else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("file") == name:
            frames, rate = entry.get("frames"), entry.get("samplerate")
            if isinstance(frames, int) and isinstance(rate, int) and rate > 0:
                return frames / rate
    return 0.0


def build_project(
    sessions: list[SessionData], *, include_audio: bool = True, name: str | None = None
) -> Project:
    """The ``project.qde`` document and the files that go with it."""
    if not sessions:
        raise ExportError("nothing to export: no sessions")
    sessions = [readable(d) for d in sessions]  # control characters made visible, as in txt
    sessions = sorted(sessions, key=lambda d: (str(d.meta.get("started") or ""), d.name))
    ET.register_namespace("", NS)
    first = sessions[0]
    created = _utc(first.meta.get("started"))
    interviewers = sorted(
        {str(d.meta["interviewer"]) for d in sessions if d.meta.get("interviewer")}
    ) or ["guide-tui"]
    user_guid = {n: guid("user", n) for n in interviewers}

    def user_of(data: SessionData) -> str:
        return user_guid[str(data.meta.get("interviewer") or interviewers[0])]

    if name is None:
        title = first.guide_info.get("title") or first.guide_info.get("id") or "Interviews"
        name = (
            f"{first.participant} — {title}"
            if len(sessions) == 1
            else f"{title} ({len(sessions)} interviews)"
        )
    root = ET.Element(
        f"{{{NS}}}Project",
        {
            "name": name,
            "origin": f"guide-tui {__version__}",
            "creatingUserGUID": user_guid[interviewers[0]],
            **({"creationDateTime": created} if created else {}),
        },
    )

    # Users ----------------------------------------------------------------------------------
    users = _el(root, "Users")
    for person in interviewers:
        _el(users, "User", {"guid": user_guid[person], "name": person})

    # CodeBook --------------------------------------------------------------------------------
    book = _codebook(sessions)
    codes = ET.Element(f"{{{NS}}}Codes")
    topic_code: dict[str, str] = {}
    question_code: dict[tuple[str, str], str] = {}
    marker_code: dict[str, str] = {}
    for topic_id, title, research_questions in book.topics:
        topic_code[topic_id] = guid("code", "topic", topic_id)
        code = _el(
            codes,
            "Code",
            {
                "guid": topic_code[topic_id],
                "name": _code_name(title),
                "isCodable": True,
                "color": code_colour(topic_id),
            },
        )
        description = f"Interview guide topic `{topic_id}`."
        if research_questions:
            description += " Research questions: " + " ".join(research_questions)
        _el(code, "Description", text=description)
        for question_id, text in book.questions.get(topic_id, []):
            question_code[(topic_id, question_id)] = guid("code", "question", topic_id, question_id)
            child = _el(
                code,
                "Code",
                {
                    "guid": question_code[(topic_id, question_id)],
                    "name": _code_name(text),
                    "isCodable": True,
                    "color": code_colour(topic_id, question_id),
                },
            )
            _el(child, "Description", text=f"Interview question `{question_id}`: {text}")
    if book.markers:
        parent = _el(
            codes,
            "Code",
            {
                "guid": guid("code", "markers"),
                "name": "Markers",
                "isCodable": False,
                "color": MARKER_COLOUR,
            },
        )
        _el(parent, "Description", text="Moments the interviewer marked during the interview.")
        for kind in book.markers:
            marker_code[kind] = guid("code", "marker", kind)
            _el(
                parent,
                "Code",
                {
                    "guid": marker_code[kind],
                    "name": marker_label(kind),
                    "isCodable": True,
                    "color": marker_colour(kind),
                },
            )
    layouts = [layout_transcript(d) if d.transcript is not None else None for d in sessions]
    speaker_code: dict[str, str] = {}
    labels = dict.fromkeys(t.speaker for lay in layouts if lay for t in lay.turns if t.speaker)
    if labels:
        parent = _el(
            codes,
            "Code",
            {
                "guid": guid("code", "speakers"),
                "name": "Speakers",
                "isCodable": False,
                "color": SPEAKERS_COLOUR,
            },
        )
        _el(parent, "Description", text="Who spoke: each speaker's turns in the transcripts.")
        for label in labels:
            assert label is not None
            speaker_code[label] = guid("code", "speaker", label)
            child = _el(
                parent,
                "Code",
                {
                    "guid": speaker_code[label],
                    "name": _code_name(f"Speaker: {label}"),
                    "isCodable": True,
                    "color": speaker_colour(label),
                },
            )
            _el(child, "Description", text=f"The turns of {label}.")
    if len(codes):
        _el(root, "CodeBook").append(codes)

    # Variables --------------------------------------------------------------------------------
    variables = _variables(sessions)
    variables_el = _el(root, "Variables")
    for key, var_name, kind, var_description in variables:
        variable = _el(
            variables_el,
            "Variable",
            {"guid": guid("variable", key), "name": var_name, "typeOfVariable": kind},
        )
        if var_description:
            _el(variable, "Description", text=var_description)

    # Sources, built first so that Cases can refer to them -----------------------------------
    sources_el = ET.Element(f"{{{NS}}}Sources")
    notes_el = ET.Element(f"{{{NS}}}Notes")
    members: list[Member] = []
    sources_of: dict[str, list[str]] = {}
    case_sources: dict[str, list[str]] = {}
    case_selections: dict[str, list[str]] = {}
    for data, layout in zip(sessions, layouts, strict=True):
        added = _add_session(
            data,
            layout,
            sources_el,
            notes_el,
            members,
            user_of(data),
            _Codes(topic_code, question_code, marker_code, speaker_code),
            include_audio,
        )
        sources_of.setdefault(data.participant, []).extend(added.sources)
        case_selections.setdefault(data.participant, []).extend(added.own_turns)
        case_sources.setdefault(data.participant, []).extend(
            added.sources if not added.own_turns else added.sources_without_speech
        )

    # Cases ------------------------------------------------------------------------------------
    cases_el = _el(root, "Cases")
    latest: dict[str, SessionData] = {}
    for data in sessions:  # a repeat interview: the latest baseline answers describe the case
        latest[data.participant] = data
    for participant, data in latest.items():
        case = _el(cases_el, "Case", {"guid": guid("case", participant), "name": participant})
        answers = dict(data.meta.get("baseline") or {})
        if data.group:
            answers["group"] = group_label(data)
        for key, _var_name, kind, _description in variables:
            value = answers.get(key)
            if value is not None and value != "":
                _variable_value(case, guid("variable", key), kind, value)
        for source_guid in case_sources.get(participant, []):
            _el(case, "SourceRef", {"targetGUID": source_guid})
        for selection_guid in case_selections.get(participant, []):
            _el(case, "SelectionRef", {"targetGUID": selection_guid})

    if len(sources_el):
        root.append(sources_el)
    if len(notes_el):
        root.append(notes_el)
    _add_group_sets(root, sessions, sources_of)
    count = len(sessions)
    _el(
        root,
        "Description",
        text=(
            f"Exported by guide-tui {__version__} from {count} interview session"
            f"{'s' if count != 1 else ''}: " + ", ".join(d.name for d in sessions) + "."
        ),
    )
    ET.indent(root, space=" ")
    # Session text may hold characters XML 1.0 forbids (ElementTree writes them as they are,
    # and no importer reads the result): replaced here, once, for every element and attribute.
    xml = xml_text(ET.tostring(root, encoding="unicode", xml_declaration=False))
    qde = ('<?xml version="1.0" encoding="UTF-8"?>\n' + xml + "\n").encode("utf-8")
    return Project(qde, members)


def _date_of(data: SessionData) -> str:
    """The interview date for source names (the folder name when ``started`` is missing)."""
    started = data.meta.get("started")
    return started[:10] if isinstance(started, str) and len(started) >= 10 else data.name


def _add_group_sets(
    root: ET.Element, sessions: list[SessionData], sources_of: dict[str, list[str]]
) -> None:
    """One set of sources per participant group (NVivo/MAXQDA document groups), when a study
    has more than one group: comparing professions is the usual first cut of the analysis."""
    groups: dict[str, list[str]] = {}
    for data in sessions:
        if data.group:
            groups.setdefault(data.group, [])
    if len(groups) < 2:
        return
    for participant, source_guids in sources_of.items():
        data = next(d for d in reversed(sessions) if d.participant == participant)
        if data.group:
            groups[data.group].extend(g for g in source_guids if g not in groups[data.group])
    groups = {group_id: members for group_id, members in groups.items() if members}
    if not groups:
        return
    sets_el = _el(root, "Sets")
    for group_id, members in groups.items():
        label = next((group_label(d) for d in sessions if d.group == group_id), group_id)
        group_set = _el(sets_el, "Set", {"guid": guid("set", "group", group_id), "name": label})
        _el(group_set, "Description", text=f"Interviews with participants of group `{group_id}`.")
        for source_guid in members:
            _el(group_set, "MemberSource", {"targetGUID": source_guid})


@dataclass(frozen=True)
class _Codes:
    """The code GUIDs a session's selections refer to."""

    topic: dict[str, str]
    question: dict[tuple[str, str], str]
    marker: dict[str, str]
    speaker: dict[str, str]


@dataclass
class _Added:
    """What one session put into the project, for its participant's case."""

    sources: list[str] = field(default_factory=list)
    #: The selections of the participant's own turns (empty: speakers unknown).
    own_turns: list[str] = field(default_factory=list)
    #: Sources that hold no speech of anyone (field notes), linked to the case whole.
    sources_without_speech: list[str] = field(default_factory=list)


def _add_session(
    data: SessionData,
    layout: TextLayout | None,
    sources_el: ET.Element,
    notes_el: ET.Element,
    members: list[Member],
    user: str,
    codes: _Codes,
    include_audio: bool,
) -> _Added:
    """Add one session's sources and memos; returns the GUIDs of its sources and of the
    selections of its participant's turns."""
    key = data.name
    created = _utc(data.meta.get("started"))
    stamp = {"creatingUser": user, "creationDateTime": created}
    added = _Added()
    source_guids = added.sources
    topic_code, marker_code = codes.topic, codes.marker

    # a memo with the session's facts, and one per note
    facts_guid = guid(key, "memo", "facts")
    facts = _el(
        notes_el,
        "Note",
        {"guid": facts_guid, "name": f"Interview {data.participant}: session facts", **stamp},
    )
    lines = [f"{k}: {v}" for k, v in session_facts(data)]
    lines.append(f"Session folder: {data.name}")
    _el(facts, "PlainTextContent", text="\n".join(lines))

    if layout is not None:
        text_guid = guid(key, "source", "text")
        source_guids.append(text_guid)
        members.append(Member(f"sources/{text_guid}.txt", xml_text(layout.text).encode("utf-8")))
        source = _el(
            sources_el,
            "TextSource",
            {
                "guid": text_guid,
                "name": f"{data.participant} {_date_of(data)} transcript",
                "plainTextPath": f"internal://{text_guid}.txt",
                **stamp,
            },
        )
        _el(
            source,
            "Description",
            text=f"Verbatim transcript of session {data.name}.\n" + "\n".join(lines),
        )
        for n, (start, end, code_guids, note_guids, label, description, own) in enumerate(
            _selections(data, layout, codes, notes_el, stamp)
        ):
            if own:
                added.own_turns.append(guid(key, "selection", n))
            selection = _el(
                source,
                "PlainTextSelection",
                {
                    "guid": guid(key, "selection", n),
                    "name": label,
                    "startPosition": start,
                    "endPosition": end,
                    **stamp,
                },
            )
            if description:
                _el(selection, "Description", text=description)
            for m, code_guid in enumerate(code_guids):
                coding = _el(selection, "Coding", {"guid": guid(key, "coding", n, m), **stamp})
                _el(coding, "CodeRef", {"targetGUID": code_guid})
            for note_guid in note_guids:
                _el(selection, "NoteRef", {"targetGUID": note_guid})
        _el(source, "NoteRef", {"targetGUID": facts_guid})

    if layout is None and is_notes_only(data):
        notes_guid = _add_field_notes(
            data, sources_el, notes_el, members, stamp, facts_guid, topic_code, marker_code
        )
        source_guids.append(notes_guid)
        added.sources_without_speech.append(notes_guid)

    audio = list(data.audio_files) if include_audio else []
    groups = _placed_groups(data, audio)
    for index, group in enumerate(groups):
        audio_guid = guid(key, "source", "audio", index)
        source_guids.append(audio_guid)
        members.append(
            Member(
                f"sources/{audio_guid}.wav", files=tuple(group.files), silence=tuple(group.silence)
            )
        )
        source = _el(
            sources_el,
            "AudioSource",
            {
                "guid": audio_guid,
                "name": f"{data.participant} {_date_of(data)} audio"
                + (f" {index + 1}" if index else ""),
                "path": f"internal://{audio_guid}.wav",
                **stamp,
            },
        )
        _el(source, "Description", text=_recording_description(group))
        if index == 0 and layout is not None:
            transcript_guid = guid(key, "transcript")
            members.append(
                Member(f"sources/{transcript_guid}.txt", xml_text(layout.text).encode("utf-8"))
            )
            transcript = _el(
                source,
                "Transcript",
                {
                    "guid": transcript_guid,
                    "name": f"{data.participant} transcript",
                    "plainTextPath": f"internal://{transcript_guid}.txt",
                    **stamp,
                },
            )
            for n, (turn, (start, end)) in enumerate(zip(layout.turns, layout.spans, strict=True)):
                if len(groups) > 1 and turn.start > group.end + 0.5:
                    continue  # heard in a later source (the device came back in another format)
                _el(
                    transcript,
                    "SyncPoint",
                    {
                        "guid": guid(key, "sync", n, "start"),
                        "timeStamp": timecodes.milliseconds(max(0.0, turn.start - group.start)),
                        "position": start,
                    },
                )
                _el(
                    transcript,
                    "SyncPoint",
                    {
                        "guid": guid(key, "sync", n, "end"),
                        "timeStamp": timecodes.milliseconds(max(0.0, turn.end - group.start)),
                        "position": end,
                    },
                )
        _el(source, "NoteRef", {"targetGUID": facts_guid})
    return added


def _add_field_notes(
    data: SessionData,
    sources_el: ET.Element,
    notes_el: ET.Element,
    members: list[Member],
    stamp: dict[str, Any],
    facts_guid: str,
    topic_code: dict[str, str],
    marker_code: dict[str, str],
) -> str:
    """A notes-only session's field notes as a text source: each note coded with its topic and
    carrying its memo, each marker coded with its kind (there is no transcript to code)."""
    key = data.name
    notes = field_notes(data)
    text = MaxqdaTextWriter._render_field_notes(data, notes)
    text_guid = guid(key, "source", "field-notes")
    members.append(Member(f"sources/{text_guid}.txt", text.encode("utf-8")))
    source = _el(
        sources_el,
        "TextSource",
        {
            "guid": text_guid,
            "name": f"{data.participant} {_date_of(data)} field notes",
            "plainTextPath": f"internal://{text_guid}.txt",
            **stamp,
        },
    )
    facts = "\n".join(f"{k}: {v}" for k, v in session_facts(data))
    _el(source, "Description", text=f"{NOTES_ONLY}\n{facts}\nSession folder: {data.name}")
    search_from = 0
    for n, entry in enumerate(notes.entries):
        label = "Marker" if entry.type == "marker" else "Note"
        paragraph = f"[{label} {timecodes.hms(entry.t)}: {' '.join(entry.text.split())}]"
        start = text.find(paragraph, search_from)
        if start < 0:
            continue
        end = start + len(paragraph)
        search_from = end
        selection = _el(
            source,
            "PlainTextSelection",
            {
                "guid": guid(key, "field-selection", n),
                "name": f"{label} at {timecodes.hms(entry.t)}",
                "startPosition": start,
                "endPosition": end,
                **stamp,
            },
        )
        codes = [topic_code[entry.topic]] if entry.topic in topic_code else []
        if entry.type == "marker" and (entry.kind or "marker") in marker_code:
            codes.append(marker_code[entry.kind or "marker"])
        if entry.type == "note":
            _el(selection, "Description", text=entry.text)
        for m, code_guid in enumerate(codes):
            coding = _el(selection, "Coding", {"guid": guid(key, "field-coding", n, m), **stamp})
            _el(coding, "CodeRef", {"targetGUID": code_guid})
        if entry.type == "note":
            note_guid = guid(key, "memo", "field-note", n)
            note = _el(
                notes_el,
                "Note",
                {
                    "guid": note_guid,
                    "name": f"Note {data.participant} {timecodes.hms(entry.t)}",
                    "creatingUser": stamp["creatingUser"],
                    "creationDateTime": wall_at(data, entry.t),
                },
            )
            _el(note, "PlainTextContent", text=entry.text)
            _el(selection, "NoteRef", {"targetGUID": note_guid})
    _el(source, "NoteRef", {"targetGUID": facts_guid})
    return text_guid


def _selections(
    data: SessionData,
    layout: TextLayout,
    codes: _Codes,
    notes_el: ET.Element,
    stamp: dict[str, Any],
) -> Iterator[tuple[int, int, list[str], list[str], str, str | None, bool]]:
    """(start, end, code GUIDs, note GUIDs, name, description, the participant's own turn) for
    every pre-coded or annotated stretch; a note's text is its selection's description."""
    assert data.transcript is not None
    topic_code, question_code, marker_code = codes.topic, codes.question, codes.marker
    turns, spans = layout.turns, layout.spans
    # topic stretches: the turns of one visit
    run_start = 0
    for index in range(1, len(turns) + 1):
        if index == len(turns) or turns[index].visit != turns[run_start].visit:
            topic = turns[run_start].topic
            if topic in topic_code:
                yield (
                    spans[run_start][0],
                    spans[index - 1][1],
                    [topic_code[topic]],
                    [],
                    data.topic_title(topic),
                    None,
                    False,
                )
            run_start = index
    # question stretches: the question and its answer, as the transcript model placed them
    for code in layout.model.codes:
        key = (code.topic or "", code.question or "")
        if code.type != "question_asked" or not code.placed or key not in question_code:
            continue
        covered = [i for i, turn in enumerate(turns) if code.start <= turn.start < code.end]
        if not covered:
            continue
        yield (
            spans[covered[0]][0],
            spans[covered[-1]][1],
            [question_code[key]],
            [],
            f"Question {code.question}",
            None,
            False,
        )
    # markers and notes: the turn they were taken in
    for number, ann in enumerate(data.transcript.annotations):
        if ann.type not in ("marker", "note"):
            continue
        at = _turn_at(turns, ann.t)
        if at is None:
            continue
        start, end = spans[at]
        if ann.type == "marker":
            kind = ann.kind or "marker"
            if kind in marker_code:
                name = f"Marker {marker_label(kind)}"
                yield start, end, [marker_code[kind]], [], name, None, False
            continue
        note_guid = guid(data.name, "memo", "note", number)
        note = _el(
            notes_el,
            "Note",
            {
                "guid": note_guid,
                "name": f"Note {data.participant} {timecodes.hms(ann.t)}",
                "creatingUser": stamp["creatingUser"],
                "creationDateTime": wall_at(data, ann.t),
            },
        )
        _el(note, "PlainTextContent", text=ann.text or "")
        yield (
            start,
            end,
            [],
            [note_guid],
            f"Note at {timecodes.hms(ann.t)}",
            ann.text or None,
            False,
        )
    # speakers: each turn coded with its speaker (appended last: the GUIDs above stay stable)
    own = layout.participant_speakers
    for turn, (start, end) in zip(turns, spans, strict=True):
        if turn.speaker in codes.speaker:
            name = f"{turn.speaker} at {timecodes.hms(turn.start)}"
            yield start, end, [codes.speaker[turn.speaker]], [], name, None, turn.speaker in own


# ---------------------------------------------------------------------------------------------
# writing the zip


def _zip_time(sessions: Iterable[SessionData]) -> tuple[int, int, int, int, int, int]:
    """A fixed timestamp for zip entries (the first session's start) so exports are stable."""
    for data in sessions:
        started = data.meta.get("started")
        if isinstance(started, str):
            try:
                moment = datetime.fromisoformat(started)
                if moment.year >= 1980:
                    return (
                        moment.year,
                        moment.month,
                        moment.day,
                        moment.hour,
                        moment.minute,
                        moment.second,
                    )
            except ValueError:
                pass
    return (1980, 1, 1, 0, 0, 0)


def _open_audio(path: Path) -> BinaryIO:
    """A session audio file, opened without following a link: the bytes that go into a shared
    project must be the session's own, whatever was swapped in since it was read."""
    from guide_tui.session.files import open_session_file

    try:
        return open_session_file(path.parent, path.name)
    except SessionError as error:
        raise ExportError(str(error)) from None


def _write_wav(files: tuple[Path, ...], out: Any, silence: tuple[int, ...] = ()) -> None:
    """Concatenate WAVs of one format into ``out`` (a write-only stream), header first, with
    ``silence[i]`` frames of zeros before file ``i`` (the time a lost device was gone)."""
    with contextlib.ExitStack() as stack:
        readers = [
            stack.enter_context(wave.open(stack.enter_context(_open_audio(p)), "rb")) for p in files
        ]
        channels, width, rate = (
            readers[0].getnchannels(),
            readers[0].getsampwidth(),
            readers[0].getframerate(),
        )
        gaps = list(silence) + [0] * (len(readers) - len(silence))
        frames = sum(r.getnframes() for r in readers) + sum(gaps)
        size = frames * channels * width
        if size > WAV_DATA_LIMIT:  # _audio_groups keeps groups within it
            raise ExportError("audio too long for one WAV file; it must be split")
        header = b"".join(
            (
                b"RIFF",
                (36 + size).to_bytes(4, "little"),
                b"WAVE",
                b"fmt ",
                (16).to_bytes(4, "little"),
                (1).to_bytes(2, "little"),
                channels.to_bytes(2, "little"),
                rate.to_bytes(4, "little"),
                (rate * channels * width).to_bytes(4, "little"),
                (channels * width).to_bytes(2, "little"),
                (8 * width).to_bytes(2, "little"),
                b"data",
                size.to_bytes(4, "little"),
            )
        )
        out.write(header)
        for reader, gap in zip(readers, gaps, strict=False):
            zeros = gap * channels * width
            while zeros > 0:
                out.write(bytes(min(zeros, 1 << 20)))
                zeros -= 1 << 20
            while chunk := reader.readframes(65536):
                out.write(chunk)


def write_project(project: Project, path: Path, sessions: list[SessionData]) -> Path:
    """Write the ``.qdpx`` zip atomically: ``project.qde`` at the top, files in ``sources/``."""
    date_time = _zip_time(sessions)
    with atomic_path(path) as tmp:
        try:
            # ZIP64 (explicit, though the default): a study's audio passes 4 GiB in a few
            # interviews; members are written with force_zip64 since their size is not known
            # to zipfile in advance.
            with zipfile.ZipFile(tmp, "w", allowZip64=True) as archive:
                info = zipfile.ZipInfo("project.qde", date_time)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, project.qde)
                for member in project.members:
                    info = zipfile.ZipInfo(member.arcname, date_time)
                    info.external_attr = 0o600 << 16
                    if member.data is not None:
                        info.compress_type = zipfile.ZIP_DEFLATED
                        archive.writestr(info, member.data)
                        continue
                    info.compress_type = zipfile.ZIP_STORED  # audio does not compress
                    with archive.open(info, "w", force_zip64=True) as out:
                        if len(member.files) == 1 and not any(member.silence):
                            with _open_audio(member.files[0]) as source:
                                while chunk := source.read(1 << 20):
                                    out.write(chunk)
                        else:
                            _write_wav(member.files, out, member.silence)
        except (wave.Error, EOFError) as error:
            raise ExportError(f"cannot read the session audio: {error}") from None
    return path


class QdpxWriter(Writer):
    """One session as a REFI-QDA project."""

    name = "qdpx"
    extension = ".qdpx"
    description = (
        "REFI-QDA project (NVivo, MAXQDA, ATLAS.ti, QualCoder): audio, transcript, "
        "topics as codes, pre-coded, case with baseline variables, notes as memos"
    )
    needs_transcript = False
    include_audio: bool = True  # set per export; audio is what makes a project large

    def write(self, data: SessionData, path: Path) -> Path:
        return write_study_qdpx([data], path, include_audio=self.include_audio)


def write_study_qdpx(
    sessions: list[SessionData], path: Path, *, include_audio: bool = True, name: str | None = None
) -> Path:
    """Every session of a study in one project (shared codes, one case per participant)."""
    project = build_project(sessions, include_audio=include_audio, name=name)
    return write_project(project, path, sessions)


def schema_path() -> Path:
    """The REFI-QDA ``Project.xsd`` shipped with guide-tui (MIT licence, header kept)."""
    return Path(__file__).with_name("schema") / "Project.xsd"


def validate_qde(qde: bytes) -> list[str]:
    """Schema problems of a ``project.qde`` (empty when valid). Needs ``xmlschema``."""
    try:
        import xmlschema  # deferred: ~0.3 s to import, and only checks need it
    except ImportError:
        raise ExportError(
            "validating needs the xmlschema package (pip install xmlschema)"
        ) from None
    schema = xmlschema.XMLSchema(str(schema_path()))
    return [
        str(error.reason or error) + f" (at {error.path})"
        for error in schema.iter_errors(qde.decode("utf-8"))
    ]
