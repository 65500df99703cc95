"""Study reports over the fixture sessions: one complete and transcribed (guide v1), one complete
but not transcribed (v2, with an observer and a skipped topic), one interrupted by a crash (v2,
torn last line). Golden file: ``tests/golden/study.md``."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from guide_tui.cli import main
from guide_tui.export import read_session
from guide_tui.study import load_study, render_markdown, render_text
from guide_tui.study.tables import render_csv

FIXTURES = Path(__file__).parent / "fixtures" / "exports" / "recordings"
GOLDEN = Path(__file__).parent / "golden" / "study.md"


@pytest.fixture(scope="module")
def study():
    return load_study(FIXTURES)


def rows(study, name: str) -> list[tuple[str, ...]]:
    return list(study.table(name).rows)


def test_markdown_report_matches_golden(study) -> None:
    text = render_markdown(list(study.tables), study.title)
    if os.environ.get("GUIDE_TUI_UPDATE_GOLDEN") or not GOLDEN.exists():
        GOLDEN.write_bytes(text.encode("utf-8"))
    assert text == GOLDEN.read_bytes().decode("utf-8")


def test_sessions_table(study) -> None:
    table = rows(study, "sessions")
    assert [r[0] for r in table] == ["P01", "P02", "P03"]
    assert [r[6] for r in table] == ["yes", "no", "no"]  # transcribed
    assert [r[7] for r in table] == ["0/15 turns", "–", "–"]  # reviewed
    assert [r[8] for r in table] == ["complete", "complete", "interrupted (1 torn line)"]
    # P01 asked the one question of "Economic considerations": covered without a mark
    assert [r[9] for r in table] == ["3/3", "3/4", "1/4"]
    assert [r[3] for r in table] == ["1", "2", "2"]


def test_reviewed_column_counts_turns_marked_reviewed(tmp_path: Path, capsys) -> None:
    """From the corrections log through the transcript model: a turn counts when the whole of
    it was marked reviewed (the review screen marks turn by turn)."""
    from guide_tui.export.writers import transcript_model
    from guide_tui.transcript.corrections import CorrectionLog

    root = Path(shutil.copytree(FIXTURES, tmp_path / "recordings"))
    folder = root / "2026-11-02_0900_P01"
    turns = transcript_model(read_session(folder)).turns
    log = CorrectionLog.open(folder)
    for turn in turns[:3]:
        log.append("reviewed", start=turn.start, end=turn.end)
    log.append("reviewed", start=turns[5].start, end=turns[5].end - 1.0)  # half a turn: no
    table = rows(load_study(root), "sessions")
    assert table[0][7] == f"3/{len(turns)} turns"
    assert main(["study", str(root), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[lines.index("# sessions") + 1].split(",")
    first = next(csv.reader([lines[lines.index("# sessions") + 2]]))
    row = dict(zip(header, first, strict=True))
    assert (row["Turns reviewed"], row["Turns"]) == ("3", str(len(turns)))


def test_coverage_matrix(study) -> None:
    table = {r[0]: r[1:] for r in rows(study, "coverage")}
    assert study.table("coverage").columns == ("Topic", "P01", "P02", "P03")
    assert table["Motivation for participation"] == (
        "covered 0.6 min",
        "covered 5.0 min",
        "covered 6.6 min",
    )
    assert table["General structure – delegation of tasks"][2] == "partly 3.7 min"
    assert table["Economic considerations"] == ("covered 0.4 min", "skipped", "not")
    assert table["Patients with low back pain"] == ("–", "covered 9.8 min", "not")


def test_baseline_table_has_the_form_of_table_1(study) -> None:
    table = rows(study, "baseline")
    assert study.table("baseline").columns[2] == "Number of participants (n=3)"
    assert table[:4] == [
        ("Group", "General practitioner", "2"),
        ("", "Clinic staff", "1"),
        ("Gender", "Male", "1"),
        ("", "Female", "2"),
    ]
    assert ("Type of practice", "Collaborative", "2") in table
    assert ("", "Solo", "0") in table  # every option listed, as in a paper's Table 1
    assert ("Years in practice", "median (range)", "17 (12–22)") in table
    assert ("", "not answered", "1") in table


def test_guide_versions_and_changes(study) -> None:
    table = rows(study, "guide_versions")
    assert [r[0] for r in table] == ["1", "2"]
    assert table[1][3] == "P02, P03"
    changes = table[1][5]
    assert "topic added: Patients with low back pain" in changes
    assert (
        "question reworded: Which tasks is the clinic staff engaged in? → Which tasks are "
        "your clinic staff engaged in today?"
    ) in changes
    assert "question added: Are new appointments" in changes
    assert "planned minutes 10 → 5" in changes


def test_coreq_facts(study) -> None:
    facts = {r[1]: r[2] for r in rows(study, "coreq")}
    assert facts["Sample size"] == (
        "3 participants, 3 interviews (General practitioner: 2, Clinic staff: 1)"
    )
    assert (
        facts["Presence of non-participants"] == "P02: B. Second-Researcher (observer, field notes)"
    )
    assert facts["Repeat interviews"] == "none"
    assert facts["Audio/visual recording"] == "audio recorded in 3 of 3 interviews"
    assert facts["Field notes"] == "taken in 2 of 3 interviews (2 notes)"
    assert facts["Duration"].startswith("min 2, median 17, max 32 minutes")
    assert facts["Interview guide"] == "2 version(s) used: 1, 2 (adjusted during the study)"
    assert facts["Transcription models"] == "faster-whisper 1.2.1 small.en"
    assert facts["Interrupted sessions"] == "1"


def test_repeat_interview_counts_the_participant_once(tmp_path: Path) -> None:
    root = Path(shutil.copytree(FIXTURES, tmp_path / "rec"))
    again = Path(shutil.copytree(root / "2026-11-02_0900_P01", root / "2026-11-20_0900_P01"))
    meta = json.loads((again / "session.json").read_text())
    meta["started"] = "2026-11-20T09:00:00+00:00"
    meta["baseline"]["years_in_practice"] = 13
    (again / "session.json").write_text(json.dumps(meta))
    study = load_study(root)
    assert study.table("coverage").columns[1:] == ("P01", "P02", "P03", "P01 (2)")
    facts = {r[1]: r[2] for r in study.table("coreq").rows}
    assert facts["Repeat interviews"] == "P01"
    assert facts["Sample size"].startswith("3 participants, 4 interviews")
    baseline = list(study.table("baseline").rows)
    assert ("Years in practice", "median (range)", "17.5 (13–22)") in baseline


def test_unreadable_frozen_guide_falls_back_to_session_json(tmp_path: Path) -> None:
    root = Path(shutil.copytree(FIXTURES, tmp_path / "rec"))
    (root / "2026-11-09_1300_P02" / "guide.yaml").write_text("topics: [oops\n")
    study = load_study(root)
    versions = list(study.table("guide_versions").rows)
    assert versions[1][5].startswith("topic added")  # P03's copy of v2 stands in
    (root / "2026-11-12_1030_P03" / "guide.yaml").write_text("topics: [oops\n")
    study = load_study(root)
    coverage = {r[0]: r[1:] for r in study.table("coverage").rows}
    assert coverage["patients"][1:] == ("covered 9.8 min", "not")  # id: no guide has a title
    versions = list(study.table("guide_versions").rows)
    assert versions[1][5].startswith("could not compare")


def test_csv_tables_are_rectangular(study) -> None:
    for table in study.tables:
        parsed = list(csv.reader(io.StringIO(render_csv(table))))
        columns = table.csv_columns or table.columns
        assert parsed[0] == list(columns)
        assert all(len(r) == len(columns) for r in parsed)


def test_text_rendering_shows_every_table(study) -> None:
    text = render_text(list(study.tables), study.title, width=140)
    for title in (
        "Sessions",
        "Coverage: topics × participants",
        "Baseline characteristics",
        "Interview guide versions used",
        "COREQ checklist",
    ):
        assert title in text
    assert "\x1b[" not in text


def test_cli_study_formats(tmp_path: Path, capsys) -> None:
    assert main(["study", str(FIXTURES)]) == 0
    assert "Coverage: topics × participants" in capsys.readouterr().out
    assert main(["study", str(FIXTURES), "--format", "md"]) == 0
    assert capsys.readouterr().out == GOLDEN.read_bytes().decode("utf-8")
    assert main(["study", str(FIXTURES), "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("# sessions\nParticipant,Group,Date")
    out = tmp_path / "csv"
    assert main(["study", str(FIXTURES), "--format", "csv", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "baseline.csv",
        "coreq.csv",
        "coverage.csv",
        "guide_versions.csv",
        "sessions.csv",
    ]


def test_cli_study_of_an_empty_or_missing_folder(tmp_path: Path, capsys) -> None:
    assert main(["study", str(tmp_path)]) == 2
    assert main(["study", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "no sessions in" in err and "no such folder" in err and "Traceback" not in err


def test_a_broken_session_folder_is_reported_not_fatal(tmp_path: Path, capsys) -> None:
    root = Path(shutil.copytree(FIXTURES, tmp_path / "rec"))
    broken = root / "2026-11-15_1000_P04"
    broken.mkdir()
    (broken / "session.json").write_text("{not json")
    assert main(["study", str(root), "--format", "csv"]) == 0
    err = capsys.readouterr().err
    assert "skipped" in err and "2026-11-15_1000_P04" in err and "damaged" in err
    assert len(load_study(root).sessions) == 3


# --- issue 14: false starts, one study per guide, CSV for spreadsheets, files, wording -----------


def _cli(*args: str, columns: int = 80):  # -> subprocess.CompletedProcess[str]
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "COLUMNS": str(columns)}
    return subprocess.run(
        [sys.executable, "-m", "guide_tui", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES, tmp_path / "recordings"))


def _add_session(root: Path, name: str, *, guide_id: str | None = None, false_start: bool = False):
    folder = Path(shutil.copytree(root / "2026-11-09_1300_P02", root / name))
    meta = json.loads((folder / "session.json").read_text())
    meta["participant"] = name.rsplit("_", 1)[1]
    meta["started"] = f"{name[:10]}T10:00:00+00:00"
    if guide_id:
        meta["guide"]["id"] = guide_id
    if false_start:
        meta.update(status="in_progress", baseline={}, audio=[], coverage=None, duration_s=None)
        lines = (folder / "events.jsonl").read_text().splitlines()[:2]  # started, one consent
        (folder / "events.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "session.json").write_text(json.dumps(meta))
    return folder


def test_a_false_start_is_listed_as_not_started_not_counted(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _add_session(root, "2026-11-20_0900_P09", false_start=True)
    result = _cli("study", str(root), "--format", "md")
    assert result.returncode == 0, result.stderr
    assert "| 12 | Sample size | 3 participants, 3 interviews (" in result.stdout
    assert "(3 interviews)" in result.stdout.splitlines()[0]
    assert "Not started (quit before the interview; not counted): P09 (2026-11-20" in result.stdout
    assert "| P09 |" not in result.stdout
    sessions = _cli("sessions", str(root), columns=200)
    assert "not started" in sessions.stdout
    assert "3 interviews; 1 not started" in sessions.stdout


def test_one_study_per_guide_with_a_warning_about_the_others(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _add_session(root, "2026-11-21_0900_D01", guide_id="demo")
    result = _cli("study", str(root), "--format", "md")
    assert result.returncode == 0, result.stderr
    assert "3 participants, 3 interviews" in result.stdout and "D01" not in result.stdout
    assert "this folder has interviews with 2 guides" in result.stderr
    assert "Left out: demo (1 session)" in result.stderr and "--guide ID" in result.stderr

    chosen = _cli("study", str(root), "--format", "md", "--guide", "demo")
    assert chosen.returncode == 0, chosen.stderr
    assert "1 participant, 1 interview" in chosen.stdout and "| D01 |" in chosen.stdout
    assert "Left out: gp-delegation-mini (3 sessions)" in chosen.stderr

    unknown = _cli("study", str(root), "--guide", "nope")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "no sessions with guide 'nope'" in unknown.stderr and "demo (1)" in unknown.stderr

    for n in (2, 3):
        _add_session(root, f"2026-11-2{n}_0900_D0{n}", guide_id="demo")
    tie = _cli("study", str(root))
    assert tie.returncode == 2 and "choose one with --guide ID" in tie.stderr


def test_export_study_is_per_guide_and_its_folder_is_no_session(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _add_session(root, "2026-11-21_0900_D01", guide_id="demo")
    exported = _cli("export", "--study", str(root), "--no-audio")
    assert exported.returncode == 0, exported.stderr
    assert (root / "exports" / "study-gp-delegation-mini.qdpx").is_file()
    assert "Left out: demo (1 session)" in exported.stderr
    demo = _cli("export", "--study", str(root), "--guide", "demo", "--no-audio")
    assert demo.returncode == 0 and (root / "exports" / "study-demo.qdpx").is_file()
    listed = _cli("sessions", str(root), columns=200)
    assert listed.returncode == 0 and "unreadable" not in listed.stdout
    assert "exports" not in listed.stdout
    again = _cli("study", str(root))
    assert again.returncode == 0 and "skipped" not in again.stderr


def test_csv_files_have_numbers_as_numbers_and_a_bom(tmp_path: Path) -> None:
    out = tmp_path / "csv"
    result = _cli("study", str(FIXTURES), "--format", "csv", "-o", str(out))
    assert result.returncode == 0, result.stderr
    raw = (out / "coverage.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 ("–", "×") only with it
    coverage = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(coverage[0]) == ["Topic id", "Topic", "Participant", "Status", "Minutes"]
    row = next(r for r in coverage if r["Topic id"] == "motivation" and r["Participant"] == "P01")
    assert (row["Status"], float(row["Minutes"])) == ("covered", 0.6)
    assert not any("min" in r["Minutes"] for r in coverage)
    sessions = list(
        csv.DictReader(io.StringIO((out / "sessions.csv").read_bytes().decode("utf-8-sig")))
    )
    assert [float(r["Duration (min)"]) for r in sessions][:2] == [2.0, 31.7]
    # P01 asked the one question of "Economic considerations": covered without a mark
    assert (sessions[0]["Topics covered"], sessions[0]["Topics in guide"]) == ("3", "3")


def test_study_text_file_is_not_folded_mid_word(tmp_path: Path) -> None:
    out = tmp_path / "study.txt"
    result = _cli("study", str(FIXTURES), "-o", str(out), columns=80)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    change = next(
        r[5] for r in load_study(FIXTURES).table("guide_versions").rows if "added" in r[5]
    )
    assert change in text  # whole, on one line
    assert "General structure – delegation of tasks" in text


def test_sample_size_without_groups_names_no_groups(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    for folder in root.iterdir():
        meta = json.loads((folder / "session.json").read_text())
        meta["group"] = None
        (folder / "session.json").write_text(json.dumps(meta))
    facts = {r[1]: r[2] for r in load_study(root).table("coreq").rows}
    assert facts["Sample size"] == "3 participants, 3 interviews"
