"""A hand-edited or damaged ``session.json`` gets one clear line and a non-zero exit from export
and anonymise (and every other reader, through ``read_meta``), never a traceback; and a frozen
``guide.yaml`` that no longer matches the sha256 recorded in ``session.json`` is pointed out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from guide_tui.cli import main
from guide_tui.errors import ExportError
from guide_tui.export import read_session

COMPLETE = Path(__file__).parent / "fixtures" / "exports" / "recordings" / "2026-11-02_0900_P01"
KEYS = [
    "app_version",
    "created",
    "participant",
    "group",
    "interviewer",
    "location",
    "status",
    "started",
    "ended",
    "observers",
    "guide",
    "duration_s",
    "notes_only",
    "consent",
    "baseline",
    "audio",
    "pauses",
    "dropped_frames",
    "coverage",
]
VALUES = [[1], {"a": 1}, "text", 5, 1.5, True, [{"x": 1}], [None]]


def _session(tmp_path: Path, **changes: object) -> Path:
    folder = Path(shutil.copytree(COMPLETE, tmp_path / COMPLETE.name))
    meta = json.loads((folder / "session.json").read_text())
    meta.update(changes)
    (folder / "session.json").write_text(json.dumps(meta))
    return folder


def _names(tmp_path: Path) -> str:
    (tmp_path / "names.txt").write_text("Hansen\n")
    return str(tmp_path / "names.txt")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("audio", 5, "'audio' must be a list"),
        ("audio", True, "'audio' must be a list"),
        ("audio", ["audio-001.wav"], "'audio' entry 1 must be an object"),
        ("audio", [{"file": 3}], "'audio' entry 1 must be an object"),
        ("baseline", "Male", "'baseline' must be an object"),
        ("baseline", [1], "'baseline' must be an object"),
        ("participant", ["P01"], "'participant' must be a text"),
        ("duration_s", "long", "'duration_s' must be a number"),
        ("dropped_frames", True, "'dropped_frames' must be a whole number"),
        ("guide", {"sha256": 5}, "'guide.sha256' must be a text"),
    ],
)
def test_wrong_types_are_one_line(
    tmp_path: Path, capsys, key: str, value: object, message: str
) -> None:
    folder = _session(tmp_path, **{key: value})
    assert main(["export", str(folder), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert message in err and "session.json" in err
    assert len(err.strip().splitlines()) == 1, err
    assert main(["anonymise", str(folder), "--names", _names(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert main(["export", "--study", str(folder.parent), "-o", str(tmp_path / "s")]) == 2
    assert message in capsys.readouterr().err  # skipped, and then nothing left to export


def test_no_wrong_type_escapes_as_a_traceback(tmp_path: Path, capsys) -> None:
    """Every known key with values of every JSON type: refused by name, or exported fine."""
    names = _names(tmp_path)
    for n, (key, value) in enumerate((k, v) for k in KEYS for v in VALUES):
        folder = _session(tmp_path / str(n), **{key: value})
        try:
            read_session(folder)
        except ExportError as error:
            assert f"'{key}" in str(error)
            continue
        # accepted: every export and anonymise must then go through
        assert main(["export", str(folder), "-o", str(tmp_path / "out" / str(n))]) == 0, key
        assert main(["anonymise", str(folder), "--names", names]) == 0, key
    capsys.readouterr()


def test_edited_frozen_guide_is_pointed_out(tmp_path: Path, capsys, monkeypatch) -> None:
    folder = _session(tmp_path)
    assert main(["export", str(folder), "-f", "md"]) == 0
    assert "warning" not in capsys.readouterr().err  # the fixture's guide matches its sha256
    guide = folder / "guide.yaml"
    guide.write_text(guide.read_text().replace("Motivation for participation", "Edited"))

    assert main(["export", str(folder), "-f", "qdpx"]) == 0
    err = capsys.readouterr().err
    assert "guide.yaml was changed after the interview" in err and "sha256" in err
    assert main(["export", "--study", str(folder.parent)]) == 0
    assert "guide.yaml was changed" in capsys.readouterr().err
    assert main(["study", str(folder.parent)]) == 0
    assert "guide.yaml was changed" in capsys.readouterr().err
    assert main(["anonymise", str(folder), "--names", _names(tmp_path)]) == 0
    assert "guide.yaml was changed" in capsys.readouterr().err
    monkeypatch.setenv("GUIDE_TUI_MODELS", str(tmp_path / "no-models"))
    main(["transcribe", str(folder), "--force"])  # fails later: no model; warned first
    assert "guide.yaml was changed" in capsys.readouterr().err
