"""A small, independent reader of REFI-QDA projects (``.qdpx``), written from ``Project.xsd``.

It exists so that exports can be checked by reading them back the way an importer would: by
GUID references, ``internal://`` paths resolved inside ``sources/``, selections as character
offsets into the source's text and sync points as milliseconds. It shares no code with the
writer on purpose. It reads what guide-tui writes and what the tools write (NVivo's example
project included); graphs, sets and links are ignored.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from guide_tui.errors import ExportError

NS = "{urn:QDA-XML:project:1.0}"
VALUE_TAGS = (
    "TextValue",
    "BooleanValue",
    "IntegerValue",
    "FloatValue",
    "DateValue",
    "DateTimeValue",
)
SOURCE_TAGS = ("TextSource", "PictureSource", "PDFSource", "AudioSource", "VideoSource")
SELECTION_TAGS = (
    "PlainTextSelection",
    "AudioSelection",
    "VideoSelection",
    "PictureSelection",
    "PDFSelection",
    "TranscriptSelection",
)


@dataclass
class Code:
    guid: str
    name: str
    codable: bool
    parent: str | None = None
    description: str | None = None


@dataclass
class Selection:
    guid: str
    kind: str
    name: str | None
    start: int | None  # characters (text) or milliseconds (audio/video)
    end: int | None
    codes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class SyncPoint:
    guid: str
    time_ms: int | None
    position: int | None


@dataclass
class Source:
    guid: str
    kind: str
    name: str | None
    path: str | None  # plainTextPath for text, path for media
    text: str | None = None
    selections: list[Selection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    transcript_path: str | None = None
    transcript_text: str | None = None
    sync_points: list[SyncPoint] = field(default_factory=list)
    data: bytes | None = None  # media bytes when read


@dataclass
class Case:
    guid: str
    name: str | None
    variables: dict[str, str] = field(default_factory=dict)  # variable name -> value text
    sources: list[str] = field(default_factory=list)  # SourceRef: whole sources
    selections: list[str] = field(default_factory=list)  # SelectionRef: parts of sources


@dataclass
class RefiProject:
    name: str
    users: dict[str, str | None]
    codes: dict[str, Code]
    variables: dict[str, tuple[str, str]]  # guid -> (name, typeOfVariable)
    cases: list[Case]
    sources: dict[str, Source]
    notes: dict[str, str]
    members: list[str]

    def code_by_name(self, name: str) -> Code:
        for code in self.codes.values():
            if code.name == name:
                return code
        raise KeyError(name)

    def selection(self, selection_guid: str) -> tuple[Source, Selection]:
        """A selection by GUID, with the source it lies in (``KeyError`` if there is none)."""
        for source in self.sources.values():
            for selection in source.selections:
                if selection.guid == selection_guid:
                    return source, selection
        raise KeyError(selection_guid)

    def case_text(self, case: Case) -> list[str]:
        """What a case query returns from text: each linked whole text source and each linked
        text selection, in the order the case lists them."""
        out = [
            self.sources[g].text or ""
            for g in case.sources
            if g in self.sources and self.sources[g].text is not None
        ]
        for selection_guid in case.selections:
            source, selection = self.selection(selection_guid)
            if source.text is not None and selection.start is not None:
                out.append(source.text[selection.start : selection.end])
        return out

    def coded_text(self, code_guid: str) -> list[str]:
        """Every text stretch coded with ``code_guid``, in source order."""
        result = []
        for source in self.sources.values():
            for selection in source.selections:
                if (
                    code_guid in selection.codes
                    and source.text is not None
                    and selection.start is not None
                ):
                    result.append(source.text[selection.start : selection.end])
        return result


def _children(element: ET.Element, tag: str) -> list[ET.Element]:
    return element.findall(NS + tag)


def _codes(parent: ET.Element, into: dict[str, Code], parent_guid: str | None) -> None:
    for element in _children(parent, "Code"):
        guid = element.get("guid") or ""
        if guid in into:
            raise ExportError(f"duplicate code GUID {guid}")
        description = element.find(NS + "Description")
        into[guid] = Code(
            guid,
            element.get("name") or "",
            element.get("isCodable") == "true",
            parent_guid,
            description.text if description is not None else None,
        )
        _codes(element, into, guid)


def _int(value: str | None) -> int | None:
    return int(value) if value is not None else None


def read_qdpx(path: str | Path, *, with_media: bool = False) -> RefiProject:
    """Read a ``.qdpx``; raises :class:`ExportError` when it is not a readable project."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise ExportError(f"{path}: not a REFI-QDA project ({error})") from None
    with archive:
        members = archive.namelist()
        try:
            root = ET.fromstring(archive.read("project.qde"))
        except KeyError:
            raise ExportError(f"{path}: no project.qde") from None
        except ET.ParseError as error:
            raise ExportError(f"{path}: project.qde is not XML ({error})") from None

        def internal(ref: str | None, binary: bool = False) -> str | bytes | None:
            if not ref:
                return None
            if not ref.startswith("internal://"):
                return None  # an external file: not in the archive
            name = "sources/" + ref[len("internal://") :]
            try:
                raw = archive.read(name)
            except KeyError:
                raise ExportError(f"{path}: {ref} is missing from sources/") from None
            return raw if binary else raw.decode("utf-8")

        if root.tag != NS + "Project":
            raise ExportError(f"{path}: root element is {root.tag}, not Project")
        users = {u.get("guid") or "": u.get("name") for u in root.iter(NS + "User")}
        codes: dict[str, Code] = {}
        for book in _children(root, "CodeBook"):
            for codes_el in _children(book, "Codes"):
                _codes(codes_el, codes, None)
        variables = {
            v.get("guid") or "": (v.get("name") or "", v.get("typeOfVariable") or "")
            for v in root.iter(NS + "Variable")
        }
        cases = []
        for case_el in root.iter(NS + "Case"):
            case = Case(case_el.get("guid") or "", case_el.get("name"))
            for value_el in _children(case_el, "VariableValue"):
                ref = value_el.find(NS + "VariableRef")
                name = (
                    variables.get(ref.get("targetGUID") or "", ("?", ""))[0]
                    if ref is not None
                    else "?"
                )
                for tag in VALUE_TAGS:
                    found = value_el.find(NS + tag)
                    if found is not None:
                        case.variables[name] = found.text or ""
            case.sources = [r.get("targetGUID") or "" for r in _children(case_el, "SourceRef")]
            case.selections = [
                r.get("targetGUID") or "" for r in _children(case_el, "SelectionRef")
            ]
            cases.append(case)
        sources: dict[str, Source] = {}
        for sources_el in _children(root, "Sources"):
            for element in sources_el:
                kind = element.tag.removeprefix(NS)
                if kind not in SOURCE_TAGS:
                    continue
                guid = element.get("guid") or ""
                if (
                    element.get("plainTextPath")
                    and element.find(NS + "PlainTextContent") is not None
                ):
                    raise ExportError(
                        f"{path}: source {guid} has both plainTextPath and PlainTextContent"
                    )
                source = Source(
                    guid,
                    kind,
                    element.get("name"),
                    element.get("plainTextPath") or element.get("path"),
                )
                if kind == "TextSource":
                    inline = element.find(NS + "PlainTextContent")
                    text = internal(source.path)
                    source.text = (
                        inline.text
                        if inline is not None
                        else (text if isinstance(text, str) else None)
                    )
                elif with_media:
                    data = internal(source.path, binary=True)
                    source.data = data if isinstance(data, bytes) else None
                for tag in SELECTION_TAGS:
                    for sel in _children(element, tag):
                        start = _int(sel.get("startPosition") or sel.get("begin"))
                        end = _int(sel.get("endPosition") or sel.get("end"))
                        source.selections.append(
                            Selection(
                                sel.get("guid") or "",
                                tag,
                                sel.get("name"),
                                start,
                                end,
                                [
                                    c.get("targetGUID") or ""
                                    for coding in _children(sel, "Coding")
                                    for c in _children(coding, "CodeRef")
                                ],
                                [n.get("targetGUID") or "" for n in _children(sel, "NoteRef")],
                            )
                        )
                source.notes = [n.get("targetGUID") or "" for n in _children(element, "NoteRef")]
                for transcript in _children(element, "Transcript"):
                    source.transcript_path = transcript.get("plainTextPath")
                    text = internal(source.transcript_path)
                    source.transcript_text = text if isinstance(text, str) else None
                    source.sync_points = [
                        SyncPoint(
                            p.get("guid") or "", _int(p.get("timeStamp")), _int(p.get("position"))
                        )
                        for p in _children(transcript, "SyncPoint")
                    ]
                sources[guid] = source
        notes = {}
        for notes_el in _children(root, "Notes"):
            for note in _children(notes_el, "Note"):
                inline = note.find(NS + "PlainTextContent")
                text = inline.text if inline is not None else internal(note.get("plainTextPath"))
                notes[note.get("guid") or ""] = text if isinstance(text, str) else ""
    return RefiProject(
        root.get("name") or "", users, codes, variables, cases, sources, notes, members
    )
