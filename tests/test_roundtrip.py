"""``guide-tui import-corrections``: an export corrected elsewhere comes back as corrections, and
the next exports carry the changes with their times, topics, codes, notes and markers intact."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from guide_tui.cli import main
from guide_tui.export import read_session
from guide_tui.export.refi_reader import read_qdpx
from guide_tui.export.writers import transcript_model
from guide_tui.transcript.corrections import CORRECTIONS_FILE, CorrectionLog

COMPLETE = Path(__file__).parent / "fixtures" / "exports" / "recordings" / "2026-11-02_0900_P01"


@pytest.fixture
def session(tmp_path: Path) -> Path:
    return Path(shutil.copytree(COMPLETE, tmp_path / COMPLETE.name))


def _export(folder: Path, fmt: str) -> Path:
    assert main(["export", str(folder), "--format", fmt]) == 0
    ext = {"txt": ".txt", "md": ".md", "docx": ".docx", "qdpx": ".qdpx", "json": ".json"}[fmt]
    return folder / "exports" / f"{folder.name}{ext}"


def _edit_txt(path: Path, out: Path, *changes: tuple[str, str]) -> Path:
    text = path.read_bytes().decode("utf-8-sig")
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    out.write_bytes(("\ufeff" + text).encode("utf-8"))
    return out


CHANGES = (
    # words
    ("Dr. Hansen told me", "Dr. Jensen told us"),
    # a speaker label
    ("P01: Yes. #00:01:26-0#", "P02: Yes. #00:01:26-0#"),
    # a paragraph boundary: one paragraph split in two
    ("Mostly on the job. Mette's", "Mostly on the job.\n\nMette's"),
    # and two joined into one
    ("engaged in? #00:00:41-0#\n\nP01: They do", "engaged in? They do"),
)


def test_txt_round_trip_keeps_times_topics_codes_and_notes(
    session: Path, tmp_path: Path, capsys
) -> None:
    before = transcript_model(read_session(session))
    qdpx_before = read_qdpx(_export(session, "qdpx"))
    edited = _edit_txt(_export(session, "txt"), tmp_path / "edited.txt", *CHANGES)
    capsys.readouterr()
    assert main(["import-corrections", str(session), str(edited)]) == 0
    out = capsys.readouterr()
    assert "recorded 5 correction(s)" in out.out, out.out
    assert out.err == ""
    types = [json.loads(x)["type"] for x in (session / CORRECTIONS_FILE).read_text().splitlines()]
    assert sorted(types) == [
        "edit_text",
        "edit_text",
        "merge_turns",
        "set_speaker",
        "split_turn",
    ]
    # the engine's record is untouched
    assert (session / "transcript.json").read_bytes() == (COMPLETE / "transcript.json").read_bytes()

    txt = _export(session, "txt").read_bytes().decode("utf-8-sig")
    assert "Dr. Jensen told us about the study" in txt
    assert "P02: Yes. #00:01:26-0#" in txt
    assert "P01: Mostly on the job. #00:01:06-9#" in txt
    assert "P01: Mette's training was a course in Aarhus, which we paid for. #00:01:19-0#" in txt
    assert "Interviewer: Which tasks is the clinic staff engaged in? They do blood samples" in txt
    # topics and notes where they were
    assert "[Topic: Motivation for participation] #00:00:02-1#" in txt
    assert "[Topic: Economic considerations] #00:01:27-2#" in txt
    assert "[Note 00:00:28: Hesitates before answering" in txt
    assert "[Marker 00:00:55: quotable]" in txt

    md = _export(session, "md").read_text()
    assert "**[00:01:25] P02:** Yes." in md
    assert "Dr. Jensen told us" in md
    assert "| Reviewed | corrected, not reviewed |" in md

    after = transcript_model(read_session(session))
    assert [(v.topic, v.start) for v in after.visits] == [(v.topic, v.start) for v in before.visits]
    assert [(c.type, c.question, c.start) for c in after.codes] == [
        (c.type, c.question, c.start) for c in before.codes
    ]
    # the next qdpx: same codes (and one for the new speaker), codings and memos, over the
    # corrected text
    qdpx = read_qdpx(_export(session, "qdpx"))
    assert sorted(c.name for c in qdpx.codes.values()) == sorted(
        [c.name for c in qdpx_before.codes.values()] + ["Speaker: P02"]
    )
    assert qdpx.coded_text(qdpx.code_by_name("Speaker: P02").guid) == ["[00:01:25] P02: Yes."]
    text = next(s for s in qdpx.sources.values() if s.kind == "TextSource")
    assert "Dr. Jensen told us" in text.text and "P02: Yes." in text.text
    assert "Hansen told me" not in text.text
    motivation = qdpx.code_by_name("Motivation for participation")
    (coded,) = qdpx.coded_text(motivation.guid)
    assert coded.startswith("[00:00:02] Interviewer: Tell me about your expectations")
    assert "Jensen" in coded and "Which tasks" not in coded
    assert len(qdpx.coded_text(qdpx.code_by_name("quotable").guid)) == 1
    assert list(qdpx.notes.values()).count(
        "Hesitates before answering; mentions a colleague by name."
    ) == list(qdpx_before.notes.values()).count(
        "Hesitates before answering; mentions a colleague by name."
    )

    # the json export keeps the engine's record and carries the corrections beside it
    document = json.loads(_export(session, "json").read_text())
    assert document["transcript"] == json.loads((COMPLETE / "transcript.json").read_text())
    assert [c["type"] for c in document["corrections"]] == types

    # importing the same file again changes nothing
    capsys.readouterr()
    assert main(["import-corrections", str(session), str(edited)]) == 0
    assert "recorded 0 correction(s)" in capsys.readouterr().out


def test_unplaceable_edits_are_reported(session: Path, tmp_path: Path, capsys) -> None:
    edited = _edit_txt(
        _export(session, "txt"),
        tmp_path / "edited.txt",
        ("Mette's training", "Mette's training"),  # a no-op, so the file is written
    )
    text = edited.read_bytes().decode("utf-8-sig")
    # a paragraph typed in where there is no speech, and a turn rewritten beyond recognition
    text = text.replace(
        "[Topic: Before the first topic] #00:00:00-0#",
        "[Topic: Before the first topic] #00:00:00-0#\n\nP01: Hello there. #00:00:00-5#",
    )
    text = text.replace(
        'It\'s a question of fees, really. We get paid per consultation, so "delegation" '
        "costs us. (4 s) And the staff cost money too.",
        "Completely different words were written here by somebody else entirely today.",
    )
    edited.write_bytes(text.encode("utf-8"))
    capsys.readouterr()
    assert main(["import-corrections", str(session), str(edited)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err
    assert err[0].startswith("guide-tui: not placed: paragraph ") and "Hello there." in err[0]
    assert "too different from the transcript at 00:01:3" in err[1]
    txt = _export(session, "txt").read_bytes().decode("utf-8-sig")
    assert "Hello there" not in txt and "It's a question of fees" in txt


def test_docx_round_trip(session: Path, tmp_path: Path, capsys) -> None:
    import docx

    path = _export(session, "docx")
    document = docx.Document(str(path))
    paragraphs = list(document.paragraphs)
    for n, para in enumerate(paragraphs):
        if para.text.endswith(
            "Mostly on the job. Mette's training was a course in Aarhus, which we paid for."
        ):
            # Enter pressed after "job." in Word: a new paragraph without a stamp
            para.runs[-1].text = "Mostly on the job."
            paragraphs[n + 1].insert_paragraph_before(
                "Mette's training was a course in Aarhus, which we paid for."
            )
        for run in para.runs:
            if "Dr. Hansen told me" in run.text:
                run.text = run.text.replace("Dr. Hansen told me", "Dr. Jensen told us")
            if run.text == "Interviewer: " and para.text.endswith("Why now?"):
                run.text = "Moderator: "
    edited = tmp_path / "edited.docx"
    document.save(str(edited))
    capsys.readouterr()
    assert main(["import-corrections", str(session), str(edited)]) == 0
    assert "recorded 4 correction(s)" in capsys.readouterr().out
    md = _export(session, "md").read_text()
    assert "Dr. Jensen told us" in md and "**[00:00:20] Moderator:** Why now?" in md
    assert "P01:** Mostly on the job.\n\n**[00:01:06] P01:** Mette's training" in md


def test_transcribe_force_reports_corrections_it_cannot_place(session: Path, capsys) -> None:
    """What ``transcribe --force`` prints after writing a new transcript.json."""
    from guide_tui.commands.transcribe import _unplaced_corrections

    log = CorrectionLog.open(session)
    log.append("edit_text", start=11.98, end=12.35, original="Hansen", text="Jensen")
    log.append("edit_text", start=30.0, end=31.0, original="never said this", text="x")
    lines = _unplaced_corrections(session)
    assert len(lines) == 1
    assert lines[0].startswith("correction 2 (edit_text at 00:00:30)") and "never said" in lines[0]
    assert "Jensen" in _export(session, "md").read_text()


def test_bad_input_is_one_line(session: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "x.pdf").write_text("x")
    (tmp_path / "bad.docx").write_text("not a docx")
    for f in ("x.pdf", "bad.docx", "missing.txt"):
        capsys.readouterr()
        assert main(["import-corrections", str(session), str(tmp_path / f)]) != 0
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
    assert not (session / CORRECTIONS_FILE).exists()
