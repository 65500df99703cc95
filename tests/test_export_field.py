"""Exports as a researcher uses them in the field (issue 14, items 13 and 15): notes-only sessions
export their notes, DOCX transcripts are citable (A4, header, page and line numbers), anonymised
exports count every replacement and hold no absolute paths."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from guide_tui.export import get_writer, read_session
from guide_tui.export.qdpx import validate_qde
from guide_tui.export.refi_reader import read_qdpx

FIXTURES = Path(__file__).parent / "fixtures" / "exports" / "recordings"
COMPLETE = FIXTURES / "2026-11-02_0900_P01"
P02 = FIXTURES / "2026-11-09_1300_P02"
ROOT = Path(__file__).parents[1]

NOTE_ONE = "Declined recording; prefers to talk off the record about staffing."
NOTE_TWO = "Mette runs the diabetes clinic."


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "guide_tui", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )


@pytest.fixture
def notes_only(tmp_path: Path) -> Path:
    """P02's interview as it would be had the participant declined recording: no audio, two
    notes and a marker in the log (one note withdrawn with undo)."""
    folder = Path(shutil.copytree(P02, tmp_path / "2026-11-09_1300_P02"))
    meta = json.loads((folder / "session.json").read_text())
    meta.update(notes_only=True, audio=[])
    (folder / "session.json").write_text(json.dumps(meta))
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    events = [e for e in events if e["type"] not in ("note", "recording_started", "marker")]
    seq = max(e["seq"] for e in events) + 1
    wall = "2026-11-09T13:05:00.000+00:00"
    extra = [
        ("consent_declined_recording", 0.0, {"declined": True}),
        ("note", 40.0, {"text": NOTE_ONE, "started_t": 35.0, "topic": "motivation"}),
        ("note", 50.0, {"text": "a slip", "topic": "motivation"}),
        ("undo", 51.0, {"undoes": seq + 2}),
        ("marker", 70.0, {"kind": "follow_up", "topic": "delegation"}),
        ("note", 80.0, {"text": NOTE_TWO, "topic": "delegation"}),
    ]
    for n, (kind, t, data) in enumerate(extra):
        events.append({"v": 1, "seq": seq + n, "t": t, "wall": wall, "type": kind, "data": data})
    events.sort(key=lambda e: e["seq"])
    (folder / "events.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    return folder


def test_notes_only_session_exports_notes_markers_coverage_and_baseline(
    notes_only: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = _cli("export", str(notes_only), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "transcribe" not in result.stderr  # no advice to transcribe what cannot exist
    written = sorted(p.name for p in out.iterdir())
    stem = notes_only.name
    assert written == sorted(f"{stem}{x}" for x in (".md", ".txt", ".docx", ".qdpx", ".json"))

    md = (out / f"{stem}.md").read_text()
    assert "Notes only" in md and "## Baseline" in md and "| Gender | Female |" in md
    assert "## Coverage" in md and "## Notes and markers" in md
    assert NOTE_ONE in md and NOTE_TWO in md and "**Marker** [00:01:10] follow up" in md
    assert "a slip" not in md  # withdrawn with undo
    assert md.index(NOTE_ONE) < md.index("follow up") < md.index(NOTE_TWO)

    txt = (out / f"{stem}.txt").read_bytes().decode("utf-8-sig")
    assert f"[Note 00:00:35: {NOTE_ONE}]" in txt and "Gender: Female" in txt

    import docx

    document = docx.Document(str(out / f"{stem}.docx"))
    paragraphs = "\n".join(p.text for p in document.paragraphs)
    assert NOTE_ONE in paragraphs and "Notes and markers" in paragraphs
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    assert "Female" in cells and "Topic" in cells

    project = read_qdpx(out / f"{stem}.qdpx")
    with zipfile.ZipFile(out / f"{stem}.qdpx") as archive:
        assert validate_qde(archive.read("project.qde")) == []
    (text,) = [s for s in project.sources.values() if s.kind == "TextSource"]
    assert NOTE_ONE in text.text
    memos = [project.notes[n] for s in text.selections for n in s.notes]
    assert memos == [NOTE_ONE, NOTE_TWO]
    follow_up = project.code_by_name("follow up")
    assert project.coded_text(follow_up.guid) == ["[Marker 00:01:10: follow up]"]


def test_recorded_but_untranscribed_session_still_needs_a_transcript(tmp_path: Path) -> None:
    data = read_session(P02)
    assert not get_writer("md").can_write(data)
    assert get_writer("qdpx").can_write(data)


def test_anonymised_notes_only_export_replaces_names_in_notes(
    notes_only: Path, tmp_path: Path
) -> None:
    names = tmp_path / "names.txt"
    names.write_text("Mette\n")
    result = _cli("anonymise", str(notes_only), "--names", str(names), "-f", "md")
    assert result.returncode == 0, result.stderr
    md = next((notes_only / "exports" / "anonymised").glob("*.md")).read_text()
    assert "Mette" not in md and "[Name 1] runs the diabetes clinic." in md
    assert "[Name 1]: 1 replaced" in result.stderr


# --- DOCX --------------------------------------------------------------------------------------


def _docx(tmp_path: Path, env: dict[str, str]) -> object:
    import docx

    out = tmp_path / "out"
    result = _cli("export", str(COMPLETE), "-f", "docx", "-o", str(out), env=env)
    assert result.returncode == 0, result.stderr
    return docx.Document(str(next(out.glob("*.docx"))))


def test_docx_is_a4_with_header_page_and_line_numbers(tmp_path: Path) -> None:
    from docx.oxml.ns import qn

    document = _docx(tmp_path, {"LC_ALL": "", "LC_PAPER": "da_DK.UTF-8", "LANG": "C.UTF-8"})
    section = document.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    numbers = section._sectPr.find(qn("w:lnNumType"))
    assert numbers is not None and numbers.get(qn("w:countBy")) == "1"
    assert numbers.get(qn("w:restart")) == "continuous"
    header = section.header.paragraphs[0].text
    assert "Interview P01" in header and "2026-11-02" in header
    fields = [f.get(qn("w:instr")) for f in section.footer._element.iter(qn("w:fldSimple"))]
    assert fields == ["PAGE", "NUMPAGES"]
    languages = {lang.get(qn("w:val")) for lang in document.styles.element.iter(qn("w:lang"))}
    assert languages == {"en-GB"}  # the interview's language, not the template's en-US


def test_docx_follows_a_letter_locale(tmp_path: Path) -> None:
    document = _docx(tmp_path, {"LC_ALL": "en_US.UTF-8"})
    section = document.sections[0]
    assert round(section.page_width.mm, 1) == 215.9
    from docx.oxml.ns import qn

    languages = {lang.get(qn("w:val")) for lang in document.styles.element.iter(qn("w:lang"))}
    assert languages == {"en-US"}


# --- anonymise ---------------------------------------------------------------------------------


def test_anonymise_counts_names_in_the_session_details_and_drops_paths(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(COMPLETE, tmp_path / COMPLETE.name))
    meta = json.loads((folder / "session.json").read_text())
    meta["observers"] = ["Ingrid Holm"]
    meta["guide"]["source_path"] = "/home/ingrid/studies/guides/gp-delegation.yaml"
    (folder / "session.json").write_text(json.dumps(meta))
    names = tmp_path / "names.txt"
    names.write_text("Ingrid Holm = [Observer]\n")
    result = _cli("anonymise", str(folder), "--names", str(names), "-f", "json")
    assert result.returncode == 0, result.stderr
    assert "[Observer]: 1 replaced (Ingrid Holm), 1 in the session details" in result.stderr
    exported = next((folder / "exports" / "anonymised").glob("*.json")).read_text()
    assert "Ingrid" not in exported
    assert "/home/" not in exported and '"gp-delegation.yaml"' in exported
