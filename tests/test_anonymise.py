"""Pseudonymisation: listed names (and simple inflections) disappear from every export, a private
key records the replacements, and the original transcript is not touched."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from guide_tui.cli import main
from guide_tui.errors import ExportError
from guide_tui.export.anonymise import Replacement, load_names, replace_names

COMPLETE = Path(__file__).parent / "fixtures" / "exports" / "recordings" / "2026-11-02_0900_P01"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mette handles it", "[Name 1] handles it"),
        ("Mette's training", "[Name 1]'s training"),
        ("Mette’s training", "[Name 1]’s training"),
        ("mettes kursus", "[Name 1]s kursus"),  # Danish genitive, any case
        ("Metteline came", "Metteline came"),  # a different name
        ("Dr. Hansen and Hansens klinik", "[Doctor] and [Name 2]s klinik"),
    ],
)
def test_replace_names(text: str, expected: str) -> None:
    names = [
        Replacement("Mette", "[Name 1]"),
        Replacement("Hansen", "[Name 2]"),
        Replacement("Dr. Hansen", "[Doctor]"),
    ]
    assert replace_names(text, names) == expected


def test_names_file(tmp_path: Path) -> None:
    path = tmp_path / "names.txt"
    path.write_text("\ufeff# people\nMette = [Nurse]\nHansen\n\nhansen\nAarhus = [City]  # place\n")
    names = load_names(path)
    assert [(n.name, n.placeholder) for n in names] == [
        ("Mette", "[Nurse]"),
        ("Hansen", "[Name 2]"),
        ("Aarhus", "[City]"),
    ]
    path.write_text("# nothing\n")
    with pytest.raises(ExportError, match="no names listed"):
        load_names(path)
    with pytest.raises(ExportError, match="no such names file"):
        load_names(tmp_path / "missing.txt")


def test_anonymise_command(tmp_path: Path, capsys) -> None:
    folder = Path(shutil.copytree(COMPLETE, tmp_path / COMPLETE.name))
    original = hashlib.sha256((folder / "transcript.json").read_bytes()).hexdigest()
    names = tmp_path / "names.txt"
    names.write_text("Hansen\nMette = [Nurse]\nAarhus = [City]\n")
    assert main(["anonymise", str(folder), "--names", str(names)]) == 0
    err = capsys.readouterr().err
    assert "[Nurse]: 2 replaced (Mette, Mette's)" in err

    out = folder / "exports" / "anonymised"
    files = sorted(out.iterdir())
    assert len(files) == 8
    for path in files:
        if path.suffix == ".docx":
            import docx

            text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
        elif path.suffix == ".qdpx":
            with zipfile.ZipFile(path) as archive:
                text = "\n".join(archive.read(n).decode("utf-8") for n in archive.namelist())
                assert not any(n.endswith(".wav") for n in archive.namelist())
        else:
            text = path.read_text(encoding="utf-8-sig")
        for name in ("Hansen", "Mette", "Aarhus"):
            assert name not in text, f"{name} left in {path.name}"
    assert "[Nurse]'s training was a course in [City]" in (out / f"{folder.name}.md").read_text()

    key = json.loads((folder / "anonymisation-key.json").read_text())
    assert [(r["name"], r["placeholder"], r["count"]) for r in key["replacements"]] == [
        ("Hansen", "[Name 1]", 2),
        ("Mette", "[Nurse]", 2),
        ("Aarhus", "[City]", 1),
    ]
    assert (folder / "anonymisation-key.json").stat().st_mode & 0o777 == 0o600
    assert hashlib.sha256((folder / "transcript.json").read_bytes()).hexdigest() == original


def test_anonymise_bad_input(tmp_path: Path, capsys) -> None:
    assert main(["anonymise", str(COMPLETE), "--names", str(tmp_path / "none.txt")]) == 2
    assert "no such names file" in capsys.readouterr().err
