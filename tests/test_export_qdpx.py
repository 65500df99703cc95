"""The REFI-QDA export: valid against ``Project.xsd``, laid out as importers expect, and read
back by an independent parser (``guide_tui.export.refi_reader``, written from the schema) with
sources, codes, codings, cases and memos intact."""

from __future__ import annotations

import re
import shutil
import struct
import uuid
import wave
import zipfile
from pathlib import Path

import pytest

from guide_tui.cli import main
from guide_tui.export import get_writer, read_session
from guide_tui.export.qdpx import build_project, validate_qde, write_study_qdpx
from guide_tui.export.refi_reader import read_qdpx
from guide_tui.export.writers import transcript_model
from guide_tui.transcript.render import model_turn_text

FIXTURES = Path(__file__).parent / "fixtures" / "exports" / "recordings"
GOLDEN = Path(__file__).parent / "golden" / "exports"
COMPLETE = FIXTURES / "2026-11-02_0900_P01"
NVIVO_EXAMPLE = Path(__file__).parents[2] / "shared" / "tools" / "refi-qda" / "nvivo_project.qdpx"


def make_wav(
    path: Path, seconds: float, rate: int = 8000, channels: int = 2, value: int = 0
) -> Path:
    """A tiny WAV made at test time (audio is never committed)."""
    frames = int(seconds * rate)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(struct.pack("<h", value) * frames * channels)
    return path


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    """The complete session with its audio split over two files (a lost-and-recovered device)."""
    folder = Path(shutil.copytree(COMPLETE, tmp_path / COMPLETE.name))
    make_wav(folder / "audio-001.wav", 1.0, value=1)
    make_wav(folder / "audio-002.wav", 0.5, value=2)
    text = (folder / "session.json").read_text()
    text = text.replace(
        '"file": "audio-001.wav"', '"file": "audio-001.wav"}, {"file": "audio-002.wav"', 1
    )
    (folder / "session.json").write_text(text)
    return folder


@pytest.fixture(scope="module")
def study_sessions():
    return [read_session(p) for p in sorted(FIXTURES.iterdir())]


def test_project_matches_golden(study_sessions) -> None:
    qde = build_project(study_sessions[:1]).qde.decode("utf-8")
    golden = GOLDEN / "P01.project.qde"
    import os

    if os.environ.get("GUIDE_TUI_UPDATE_GOLDEN") or not golden.exists():
        golden.write_bytes(qde.encode("utf-8"))
    assert qde == golden.read_bytes().decode("utf-8")


@pytest.mark.parametrize("which", ["single", "study"])
def test_project_validates_against_schema(study_sessions, which: str) -> None:
    sessions = study_sessions[:1] if which == "single" else study_sessions
    assert validate_qde(build_project(sessions).qde) == []


def test_schema_shipped_with_its_licence() -> None:
    from guide_tui.export.qdpx import schema_path

    text = schema_path().read_text(encoding="utf-8")
    assert "MIT license" in text and 'targetNamespace="urn:QDA-XML:project:1.0"' in text


def test_guids_are_distinct_valid_and_stable(study_sessions) -> None:
    qde = build_project(study_sessions).qde.decode("utf-8")
    guids = re.findall(r'\bguid="([^"]+)"', qde)
    assert len(guids) == len(set(guids)) > 40
    for value in guids:
        uuid.UUID(value)
    refs = set(re.findall(r'targetGUID="([^"]+)"', qde)) | set(
        re.findall(r'(?:creatingUser|creatingUserGUID)="([^"]+)"', qde)
    )
    assert refs <= set(guids), "every reference points at an element of the project"
    assert build_project(study_sessions).qde.decode("utf-8") == qde


def test_zip_layout_follows_refi(recorded: Path, tmp_path: Path) -> None:
    path = get_writer("qdpx").write(read_session(recorded), tmp_path / "p.qdpx")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        qde = archive.read("project.qde").decode("utf-8")
    assert names[0] == "project.qde"
    assert all(n == "project.qde" or n.startswith("sources/") for n in names)
    paths = re.findall(r'(?:plainTextPath|path)="([^"]+)"', qde)
    assert paths and all(p.startswith("internal://") for p in paths)
    assert {"sources/" + p.removeprefix("internal://") for p in paths} == set(names) - {
        "project.qde"
    }
    assert "PlainTextContent" not in re.sub(r"<Note .*?</Note>", "", qde, flags=re.S), (
        "sources use plainTextPath, never also inline content"
    )
    assert validate_qde(qde.encode("utf-8")) == []


def test_round_trip_recovers_sources_codes_codings_cases(recorded: Path, tmp_path: Path) -> None:
    data = read_session(recorded)
    path = get_writer("qdpx").write(data, tmp_path / "p.qdpx")
    project = read_qdpx(path, with_media=True)

    assert project.users and list(project.users.values()) == ["A. Researcher"]
    # codes: topics with questions as children, markers under a non-codable parent
    topic = project.code_by_name("Motivation for participation")
    assert topic.codable and topic.parent is None
    question = project.code_by_name(
        "Tell me about your expectations of the study and motivation for participation."
    )
    assert question.parent == topic.guid
    markers = project.code_by_name("Markers")
    assert not markers.codable
    assert project.code_by_name("quotable").parent == markers.guid

    # sources: one coded transcript text, one audio with a synced transcript
    kinds = sorted(s.kind for s in project.sources.values())
    assert kinds == ["AudioSource", "TextSource"]
    text = next(s for s in project.sources.values() if s.kind == "TextSource")
    audio = next(s for s in project.sources.values() if s.kind == "AudioSource")

    # codings: the topic's stretch is exactly that topic's turns
    model = transcript_model(data)
    turns = list(model.turns)
    coded = project.coded_text(topic.guid)
    assert len(coded) == 1
    motivation = [t for t in turns if t.topic == "motivation"]
    assert coded[0].startswith("[00:00:02] Interviewer: Tell me about your expectations")
    assert coded[0].endswith(model_turn_text(model, motivation[-1]))
    assert "General structure" not in coded[0]
    staff = project.coded_text(
        project.code_by_name("Which tasks is the clinic staff engaged in?").guid
    )
    assert staff == [
        "[00:00:36] Interviewer: Which tasks is the clinic staff engaged in?\n\n"
        "[00:00:41] P01: They do blood samples, vaccinations and, yes, some of the "
        "chronic care. Mette handles the diabetes controls."
    ]
    quotable = project.coded_text(project.code_by_name("quotable").guid)
    assert quotable == [staff[0].split("\n\n")[1]]
    economy = project.code_by_name("Economic considerations")
    assert len(project.coded_text(economy.guid)) == 1

    # memos: notes are attached to the selection where they were taken
    note_refs = [n for s in text.selections for n in s.notes]
    assert [project.notes[n] for n in note_refs] == [
        "Hesitates before answering; mentions a colleague by name."
    ]
    assert any("Participant: P01" in n for n in project.notes.values())

    # audio: the two recordings laid end to end, sync points in ms at character positions
    with wave.open(__import__("io").BytesIO(audio.data)) as handle:
        assert handle.getnframes() == 8000 + 4000 and handle.getnchannels() == 2
    assert audio.transcript_text == text.text
    points = audio.sync_points
    assert len(points) == 2 * len(turns)
    assert points[0].time_ms == 500 and points[1].time_ms == 1800
    positions = [p.position for p in points]
    assert positions == sorted(positions)
    for turn, point in zip(turns, points[::2], strict=True):
        assert text.text[point.position :].startswith("[")
        assert turn.text[:20] in text.text[point.position : point.position + 200]

    # cases: the participant, with group and baseline answers as typed variables
    assert len(project.cases) == 1
    case = project.cases[0]
    assert case.name == "P01"
    assert case.variables == {
        "Group": "General practitioner",
        "Gender": "Male",
        "Age": "⩽50 years",
        "City size": ">10,000 citizens",
        "Type of practice": "Collaborative",
        "Years in practice": "12",
    }
    # ... linked to the participant's own turns, not to the sources (speakers are known)
    assert case.sources == []
    own = project.case_text(case)
    assert len(own) == len([t for t in turns if t.speaker == "P01"]) == 6
    assert all(re.match(r"\[\d\d:\d\d:\d\d\] P01: ", part) for part in own), own
    assert not any("Interviewer" in part for part in own)
    # speakers are codes, each on exactly that speaker's turns
    speakers = project.code_by_name("Speakers")
    assert not speakers.codable
    for label in ("Interviewer", "P01"):
        code = project.code_by_name(f"Speaker: {label}")
        assert code.parent == speakers.guid
        coded = project.coded_text(code.guid)
        assert len(coded) == len([t for t in turns if t.speaker == label])
        assert all(f"] {label}: " in part and "\n" not in part for part in coded)
    assert project.coded_text(project.code_by_name("Speaker: P01").guid) == own
    types = {name: kind for name, kind in project.variables.values()}
    assert types["Years in practice"] == "Integer" and types["Gender"] == "Text"


def test_no_audio_option_and_missing_audio(recorded: Path, tmp_path: Path) -> None:
    data = read_session(recorded)
    writer = get_writer("qdpx")
    writer.include_audio = False
    project = read_qdpx(writer.write(data, tmp_path / "p.qdpx"))
    assert [s.kind for s in project.sources.values()] == ["TextSource"]
    project = read_qdpx(get_writer("qdpx").write(read_session(COMPLETE), tmp_path / "q.qdpx"))
    assert [s.kind for s in project.sources.values()] == ["TextSource"]


def test_study_project_has_every_session(study_sessions, tmp_path: Path) -> None:
    path = write_study_qdpx(study_sessions, tmp_path / "study.qdpx")
    project = read_qdpx(path)
    assert [c.name for c in project.cases] == ["P01", "P02", "P03"]
    assert project.cases[2].variables["Group"] == "Clinic staff"
    assert "Years in practice" not in project.cases[2].variables  # not answered
    # every topic of every guide version used, newest wording first
    names = [c.name for c in project.codes.values() if c.parent is None]
    assert names == [
        "Motivation for participation",
        "General structure – delegation of tasks",
        "Economic considerations",
        "Patients with low back pain",
        "Markers",
        "Speakers",
    ]
    assert project.code_by_name("Which tasks are your clinic staff engaged in today?")
    # only P01 is transcribed: one text source; P02/P03 have cases and memos
    assert [s.kind for s in project.sources.values()] == ["TextSource"]
    assert sum("session facts" in n or "Participant:" in n for n in project.notes.values()) == 3
    qde = zipfile.ZipFile(path).read("project.qde").decode("utf-8")
    text_source = next(iter(project.sources))
    assert re.search(
        rf'<Set guid="[^"]+" name="General practitioner">.*?<MemberSource targetGUID="'
        rf'{text_source}" />\s*</Set>',
        qde,
        re.S,
    ), "a set of sources per participant group"
    assert 'name="Clinic staff"' not in qde.split("<Sets>")[1]  # no sources: no empty set


def test_cli_study_export(tmp_path: Path) -> None:
    root = Path(shutil.copytree(FIXTURES, tmp_path / "recordings"))
    assert main(["export", "--study", str(root)]) == 0
    path = root / "exports" / "study-gp-delegation-mini.qdpx"  # one project per guide
    assert validate_qde(zipfile.ZipFile(path).read("project.qde")) == []
    assert main(["export", "--study", str(root), "--format", "md"]) == 2


@pytest.mark.skipif(not NVIVO_EXAMPLE.exists(), reason="shared REFI-QDA examples not present")
def test_reader_reads_an_nvivo_project() -> None:
    project = read_qdpx(NVIVO_EXAMPLE)
    assert project.name == "qc project"
    assert len(project.codes) > 100
    assert [s.kind for s in project.sources.values()] == ["TextSource", "TextSource"]


# --- what QualCoder shows (issue 14, item 14) ---------------------------------------------------

QDA = "{urn:QDA-XML:project:1.0}"


def _qde(sessions):  # -> xml.etree.ElementTree.Element
    import xml.etree.ElementTree as ET

    qde = build_project(sessions).qde
    assert validate_qde(qde) == []
    return ET.fromstring(qde)


def test_note_text_is_the_selection_description_and_facts_are_the_source_description() -> None:
    root = _qde([read_session(COMPLETE)])
    described = [
        s.findtext(f"{QDA}Description")
        for s in root.iter(f"{QDA}PlainTextSelection")
        if s.find(f"{QDA}NoteRef") is not None
    ]
    assert described == ["Hesitates before answering; mentions a colleague by name."]
    source = next(root.iter(f"{QDA}TextSource"))
    facts = source.findtext(f"{QDA}Description") or ""
    assert "Participant: P01" in facts and "Interviewer: A. Researcher" in facts


def test_every_code_has_a_colour_derived_from_its_id(study_sessions) -> None:
    from guide_tui.export.qdpx import code_colour

    def colours(root) -> dict[str, str]:
        return {c.get("guid"): c.get("color") for c in root.iter(f"{QDA}Code")}

    alone = colours(_qde(study_sessions[:1]))
    study = colours(_qde(study_sessions))
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c or "") for c in alone.values()), alone
    # the same code has the same colour in a one-session project and in the study's
    assert all(study[g] == c for g, c in alone.items())
    assert code_colour("motivation") == code_colour("motivation")
    assert code_colour("motivation") != code_colour("delegation")
    assert len(set(alone.values())) == len(alone)  # distinct here, not a constant


def test_memo_time_is_the_wall_time_of_the_note_not_started_plus_t(tmp_path: Path) -> None:
    """Consent and baseline took 2.5 minutes before the recording (and its clock) started."""
    import json
    from datetime import datetime, timedelta

    folder = Path(shutil.copytree(COMPLETE, tmp_path / COMPLETE.name))
    lines = []
    for line in (folder / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["seq"] >= 7:  # from interview_started on
            wall = datetime.fromisoformat(event["wall"]) + timedelta(seconds=150)
            event["wall"] = wall.isoformat(timespec="milliseconds")
        lines.append(json.dumps(event))
    (folder / "events.jsonl").write_text("\n".join(lines) + "\n")
    root = _qde([read_session(folder)])
    note = next(n for n in root.iter(f"{QDA}Note") if n.get("name", "").startswith("Note "))
    # typed from t=28 s on the recording, which began at 09:02:30
    assert note.get("creationDateTime") == "2026-11-02T09:02:58Z"
