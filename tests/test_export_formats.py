"""Exports of one session: golden files per format, and each format read back by a real parser.

Golden files live in ``tests/golden/exports/``; a change to an export's output must be
deliberate: regenerate with ``GUIDE_TUI_UPDATE_GOLDEN=1 pytest tests/test_export_formats.py``
and review the diff.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from guide_tui.cli import main
from guide_tui.errors import ExportError
from guide_tui.export import FORMATS, export_session, get_writer, read_session, timecodes
from guide_tui.export.transcript import parse_transcript
from guide_tui.export.writers import subtitle_cues, transcript_model
from guide_tui.transcript import build_model
from guide_tui.transcript.render import model_turn_text

FIXTURES = Path(__file__).parent / "fixtures" / "exports" / "recordings"
GOLDEN = Path(__file__).parent / "golden" / "exports"
COMPLETE = FIXTURES / "2026-11-02_0900_P01"
UNTRANSCRIBED = FIXTURES / "2026-11-09_1300_P02"
UPDATE = bool(os.environ.get("GUIDE_TUI_UPDATE_GOLDEN"))


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
        if not UPDATE:
            pytest.fail(f"golden file {path} was missing and has been written; review it")
    assert actual == path.read_bytes().decode("utf-8"), f"differs from {path}"


@pytest.fixture(scope="module")
def complete():
    return read_session(COMPLETE)


@pytest.fixture
def session_copy(tmp_path: Path) -> Path:
    """A writable copy of the complete session (exports go into its exports/ folder)."""
    return Path(shutil.copytree(COMPLETE, tmp_path / COMPLETE.name))


def docx_dump(path: Path) -> str:
    """A DOCX as ``style | text`` lines (tables as ``cell | cell``): stable across saves."""
    import docx

    document = docx.Document(str(path))
    lines = []
    for table in document.tables:
        lines += [" | ".join(c.text for c in row.cells) for row in table.rows]
    lines += [f"{p.style.name} | {p.text}" for p in document.paragraphs]
    return "\n".join(lines) + "\n"


# --- golden files ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "txt", "nvivo", "srt", "vtt", "json"])
def test_text_format_matches_golden(complete, fmt: str) -> None:
    writer = get_writer(fmt)
    check_golden(f"P01{writer.extension}", writer.render(complete))


def test_docx_matches_golden(complete, tmp_path: Path) -> None:
    path = get_writer("docx").write(complete, tmp_path / "t.docx")
    check_golden("P01.docx.txt", docx_dump(path))


# --- read back by independent parsers -----------------------------------------------------------


def test_srt_reads_back_with_srt_library(complete) -> None:
    import srt

    subtitles = list(srt.parse(get_writer("srt").render(complete)))
    cues = subtitle_cues(complete)  # one per sentence of each turn
    assert len(subtitles) == len(cues) > len(complete.transcript.segments)
    for cue, (start, end, speaker, text) in zip(subtitles, cues, strict=True):
        assert cue.start.total_seconds() == pytest.approx(start, abs=0.001)
        assert cue.end.total_seconds() == pytest.approx(end, abs=0.001)
        assert cue.content == f"{speaker}: {text}"


def test_vtt_reads_back_with_webvtt(complete, tmp_path: Path) -> None:
    import webvtt

    path = get_writer("vtt").write(complete, tmp_path / "t.vtt")
    captions = webvtt.read(str(path))
    cues = subtitle_cues(complete)
    assert len(captions) == len(cues)
    for caption, (start, *_rest) in zip(captions, cues, strict=True):
        assert caption.start_in_seconds == int(start)
        assert caption.voice == _rest[1]
        assert caption.text == _rest[2]


def test_nvivo_table_has_four_columns_on_every_line(complete, tmp_path: Path) -> None:
    path = get_writer("nvivo").write(complete, tmp_path / "t.nvivo.txt")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "NVivo on Windows needs the BOM to read UTF-8"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter="\t"))
    assert rows[0] == ["Timespan", "Speaker", "Content", "Topic"]
    assert all(len(row) == 4 for row in rows), [r for r in rows if len(r) != 4]
    turns = list(transcript_model(complete).turns)
    assert len(rows) - 1 == len(turns)
    for row, turn in zip(rows[1:], turns, strict=True):
        start, end = row[0].split("-")
        assert start == timecodes.tenths(turn.start) and end == timecodes.tenths(turn.end)
        assert row[1] == turn.speaker
    assert rows[3][3] == "Motivation for participation"


def test_maxqda_text_paragraphs_carry_speaker_and_timestamp(complete) -> None:
    text = get_writer("txt").render(complete)
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    turns = [p for p in paragraphs if not p.startswith("[")]
    assert len(turns) == len(list(transcript_model(complete).turns))
    import re

    for paragraph in turns:
        assert re.fullmatch(r"(Interviewer|P01): .+ #\d\d:\d\d:\d\d-\d#", paragraph.strip())
    stamps = re.findall(r"#(\d\d):(\d\d):(\d\d)-(\d)#", text)
    seconds = [int(h) * 3600 + int(m) * 60 + int(s) + int(d) / 10 for h, m, s, d in stamps]
    assert seconds == sorted(seconds), "MAXQDA needs ascending timestamps"


def test_maxqda_text_says_whose_transcript_and_how_much_was_reviewed(session_copy: Path) -> None:
    import re

    from guide_tui.transcript.corrections import CorrectionLog

    first = get_writer("txt").render(read_session(session_copy)).split("\n\n")[0]
    assert first == "[Transcript: P01, 2026-11-02 09:00 UTC; not reviewed]"
    CorrectionLog.open(session_copy).append("reviewed", start=0.0, end=30.0)
    text = get_writer("txt").render(read_session(session_copy))
    head, rest = text.split("\n\n", 1)
    assert head == "[Transcript: P01, 2026-11-02 09:00 UTC; reviewed 00:00:30 of 00:01:58]"
    assert "#" not in head, "no timestamp: MAXQDA links only the turns' stamps"
    assert re.match(r"\[Topic: .*\] #00:00:00-0#", rest), "the stamps begin after it"


def test_docx_reads_back_with_python_docx(complete, tmp_path: Path) -> None:
    import docx

    path = get_writer("docx").write(complete, tmp_path / "t.docx")
    document = docx.Document(str(path))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == [
        "Before the first topic",
        "Motivation for participation",
        "General structure – delegation of tasks",
        "Economic considerations",
    ]
    body = "\n".join(p.text for p in document.paragraphs)
    assert "[00:00:06] P01: Well, um, I think delegation" in body
    assert "Note [00:00:28]: Hesitates before answering" in body
    assert document.core_properties.title == "Interview P01"


def test_json_export_keeps_transcript_and_metadata(complete) -> None:
    document = json.loads(get_writer("json").render(complete))
    assert document["session"]["participant"] == "P01"
    assert document["transcript"] == json.loads((COMPLETE / "transcript.json").read_text())


# --- units ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "maxqda", "tenths", "srt"),
    [
        (0, "#00:00:00-0#", "00:00:00.0", "00:00:00,000"),
        (59.96, "#00:01:00-0#", "00:01:00.0", "00:00:59,960"),
        (3723.45, "#01:02:03-4#", "01:02:03.4", "01:02:03,450"),  # 3723.45 is 3723.4499...
        (-1, "#00:00:00-0#", "00:00:00.0", "00:00:00,000"),
    ],
)
def test_timecodes(seconds: float, maxqda: str, tenths: str, srt: str) -> None:
    assert timecodes.maxqda(seconds) == maxqda
    assert timecodes.tenths(seconds) == tenths
    assert timecodes.srt(seconds) == srt
    assert timecodes.vtt(seconds) == srt.replace(",", ".")


def test_turns_join_a_speaker_and_mark_pauses(complete) -> None:
    model = transcript_model(complete)
    turns = list(model.turns)
    texts = [model_turn_text(model, t) for t in turns]
    assert [t.speaker for t in turns[:4]] == ["Interviewer", "Interviewer", "P01", "Interviewer"]
    assert "(.) I hope it helps" in texts[2]
    assert any("(4 s) And the staff" in t for t in texts)


def test_unlabelled_turns_split_at_long_silences() -> None:
    transcript = parse_transcript(
        {
            "segments": [
                {"start": 0, "end": 1, "text": "a"},
                {"start": 1.5, "end": 2, "text": "b"},
                {"start": 5, "end": 6, "text": "c"},
            ]
        }
    )
    assert [t.text for t in build_model(transcript).turns] == ["a b", "c"]


def test_newer_transcript_schema_is_refused() -> None:
    with pytest.raises(ExportError, match="newer than this guide-tui"):
        parse_transcript({"schema": 99, "segments": []})


def test_unknown_keys_are_ignored() -> None:
    transcript = parse_transcript(
        {
            "schema": 1,
            "new_key": 1,
            "segments": [{"start": 0, "end": 1, "text": "hi", "speaker": None, "future": [1]}],
        }
    )
    assert transcript.segments[0].text == "hi"


def test_text_formats_need_a_transcript() -> None:
    data = read_session(UNTRANSCRIBED)
    with pytest.raises(ExportError, match="guide-tui transcribe"):
        get_writer("md").render(data)


def test_unknown_format_lists_the_choices() -> None:
    with pytest.raises(ExportError, match="choose from md, txt"):
        get_writer("pdf")


def test_exports_are_atomic_and_owner_only(complete, tmp_path: Path) -> None:
    written = export_session(complete, [f for f in FORMATS if f != "qdpx"], tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in written)
    for path in written:
        assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o700


def test_a_failed_export_leaves_the_old_file(complete, tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "P01.md"
    target.write_text("old")
    writer = get_writer("md")
    monkeypatch.setattr(type(writer), "render", lambda self, data: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        writer.write(complete, target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["P01.md"]


# --- the command ----------------------------------------------------------------------------------


def test_cli_exports_every_format_into_the_session(session_copy: Path, capsys) -> None:
    assert main(["export", str(session_copy)]) == 0
    names = sorted(p.name for p in (session_copy / "exports").iterdir())
    assert names == sorted(f"{session_copy.name}{get_writer(f).extension}" for f in FORMATS)
    assert (session_copy / "transcript.json").read_bytes() == (
        COMPLETE / "transcript.json"
    ).read_bytes()


def test_cli_export_selected_formats_to_out(session_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        main(["export", str(session_copy), "-f", "md,srt", "--format", "vtt", "--out", str(out)])
        == 0
    )
    assert sorted(p.suffix for p in out.iterdir()) == [".md", ".srt", ".vtt"]


def test_cli_untranscribed_session_gets_json_and_qdpx(tmp_path: Path, capsys) -> None:
    folder = shutil.copytree(UNTRANSCRIBED, tmp_path / UNTRANSCRIBED.name)
    assert main(["export", str(folder)]) == 0
    assert sorted(p.suffix for p in (folder / "exports").iterdir()) == [".json", ".qdpx"]
    assert "no transcript yet" in capsys.readouterr().err
    assert main(["export", str(folder), "-f", "md"]) == 1
    assert "guide-tui transcribe" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "/nonexistent/session"],
        ["export", "--format", "pdf", str(COMPLETE)],
        ["export"],
    ],
)
def test_cli_bad_input_is_a_message_not_a_traceback(argv: list[str], capsys) -> None:
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert err.startswith("guide-tui: ") and "Traceback" not in err


def test_cli_clean_uses_text_clean(session_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["export", str(session_copy), "-f", "md", "--clean", "--out", str(out)]) == 0
    text = (out / f"{session_copy.name}.md").read_text()
    assert "Well, I think delegation" in text and " um," not in text
    assert main(["export", str(session_copy), "-f", "md", "--out", str(out)]) == 0
    assert "Well, um, I think" in (out / f"{session_copy.name}.md").read_text()


def test_export_modules_import_without_heavy_dependencies() -> None:
    """The CLI must start fast and the export layer must not pull in the UI or audio stack."""
    import subprocess
    import sys

    code = (
        "import sys, guide_tui.export, guide_tui.export.qdpx, guide_tui.export.anonymise, "
        "guide_tui.study, guide_tui.commands.export\n"
        "bad = [m for m in ('textual', 'docx', 'lxml', 'xmlschema', 'numpy', 'sounddevice', "
        "'torch', 'faster_whisper') if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_cli_finds_a_session_by_name_in_the_recordings_folder(
    session_copy: Path, monkeypatch
) -> None:
    monkeypatch.setenv("GUIDE_TUI_RECORDINGS", str(session_copy.parent))
    monkeypatch.chdir(session_copy.parent.parent)
    assert main(["export", session_copy.name, "-f", "txt"]) == 0
    assert (session_copy / "exports" / f"{session_copy.name}.txt").is_file()


def test_revisited_topic_gets_a_continued_heading() -> None:
    from guide_tui.transcript import Heading

    transcript = parse_transcript(
        {
            "topics": [{"id": "a", "title": "A"}],
            "segments": [
                {"start": 0, "end": 1, "text": "one", "topic": "a"},
                {"start": 2, "end": 3, "text": "two", "topic": "b"},
                {"start": 4, "end": 5, "text": "three", "topic": "a"},
            ],
        }
    )
    headings = [b for b in build_model(transcript).blocks() if isinstance(b, Heading)]
    assert [(h.visit.topic, h.revisit) for h in headings] == [
        ("a", False),
        ("b", False),
        ("a", True),
    ]


def test_exports_work_without_the_frozen_guide(session_copy: Path, tmp_path: Path) -> None:
    """A guide that no longer loads (or is gone) costs the questions, not the export."""
    from guide_tui.export.qdpx import build_project, validate_qde

    (session_copy / "guide.yaml").unlink()
    data = read_session(session_copy)
    assert data.guide is None and data.guide_problem
    assert "## Motivation for participation" in get_writer("md").render(data)
    assert validate_qde(build_project([data]).qde) == []


def test_marks_are_the_same_in_every_reading_format(complete, tmp_path: Path) -> None:
    """An uncertain word, a possible hallucination, a collapsed loop, untranscribed speech and
    the closing appear with one convention in md, txt, NVivo, SRT, VTT, DOCX and the qdpx text."""
    import copy
    import dataclasses

    from guide_tui.export.qdpx import layout_transcript

    assert complete.transcript is not None
    raw = copy.deepcopy(complete.transcript.raw)
    seg = raw["segments"][1]  # "Tell me about your expectations ..."
    seg["words"] = [
        {
            "start": seg["start"] + i * 0.2,
            "end": seg["start"] + i * 0.2 + 0.15,
            "word": " " + w,
            "probability": 0.1 if w == "expectations" else 0.9,
        }
        for i, w in enumerate(seg["text"].split())
    ]
    raw["segments"][4]["flags"] = ["repetition"]  # "Why now?"
    raw["segments"][-1]["flags"] = ["possible_hallucination"]
    raw["untranscribed"] = [{"start": 104.0, "end": 107.5, "reason": "no words"}]
    paused = [
        dataclasses.replace(complete.events[0], type=kind, t=50.0, wall=wall, seq=900 + i, data={})
        for i, (kind, wall) in enumerate(
            (
                ("recording_paused", "2026-11-02T09:00:50+00:00"),
                ("recording_resumed", "2026-11-02T09:02:00+00:00"),
            )
        )
    ]
    events = (
        *sorted((*complete.events[:-3], *paused), key=lambda e: e.t),
        dataclasses.replace(complete.events[-3], type="closing_started", data={}),
        *complete.events[-2:],
    )
    data = dataclasses.replace(complete, transcript=parse_transcript(raw), events=events)
    marks = (
        "(expectations?)",
        "Why now? (repetition collapsed, check the audio)",
        "(possibly not spoken: ",
        "(untranscribed speech 01:44–01:47, check the audio)",
        "(recording paused 1 min 10 s at 00:50)",
    )
    docx_text = "\n".join(
        p.text
        for p in __import__("docx")
        .Document(str(get_writer("docx").write(data, tmp_path / "m.docx")))
        .paragraphs
    )
    texts = {
        "md": get_writer("md").render(data),
        "txt": get_writer("txt").render(data),
        "nvivo": get_writer("nvivo").render(data),
        "srt": get_writer("srt").render(data),
        "vtt": get_writer("vtt").render(data),
        "docx": docx_text,
        "qdpx": layout_transcript(data).text,
    }
    for name, text in texts.items():
        for mark in marks:
            if name in ("srt", "vtt") and mark.startswith("(recording paused"):
                continue  # subtitles follow the audio, which has nothing for the pause
            assert mark in text, (name, mark)
        assert "(.) (.)" not in text and "check against the audio" not in text, name
    for name in ("md", "txt", "docx", "qdpx", "vtt"):
        assert "Closing" in texts[name], name
    assert "Closing" in texts["nvivo"].splitlines()[-1]
