"""``list_sessions`` and ``guide-tui sessions``: every folder shown, broken ones explained."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers_session import write_guide

from guide_tui.cli import main
from guide_tui.errors import SessionError
from guide_tui.session.clock import FrozenClock
from guide_tui.session.events import EventType
from guide_tui.session.store import Session, list_sessions

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """A recordings folder with one session of each status, and two broken folders."""
    guide = write_guide(tmp_path)
    root = tmp_path / "recordings"

    clock = FrozenClock(0.0)
    with Session.create(guide, "GP 01", group="gp", root=root, clock=clock) as ended:
        clock.advance(79.0)  # consent, baseline, microphone check
        ended.append(EventType.INTERVIEW_STARTED)
        clock.advance(10.0)
        ended.append(EventType.TOPIC_ENTERED, topic="role")
        clock.advance(220.0)
        ended.append(EventType.SESSION_ENDED)
        # What older versions wrote: the wall time since launch (5:09 for a 3:50 interview).
        ended.update_meta(status="ended", duration_s=309.0)
    (ended.path / "audio-001.wav").write_bytes(b"RIFF" + b"\0" * 100)
    (ended.path / "transcript.json").write_text("{}", encoding="utf-8")

    clock = FrozenClock(0.0)
    with Session.create(guide, "physio 02", group="physio", root=root, clock=clock) as live:
        clock.advance(5.0)
        live.append(EventType.INTERVIEW_STARTED)
        clock.advance(60.0)
        live.append(EventType.NOTE, text="still going")

    with Session.create(guide, "GP 03", root=root, clock=FrozenClock(5.0)) as stale:
        stale.append(EventType.TOPIC_ENTERED, topic="role")
    old = time.time() - 2 * 3600
    os.utime(stale.path / "events.jsonl", (old, old))

    with Session.create(guide, "GP 04", root=root, clock=FrozenClock(7.0)) as torn:
        torn.append(EventType.INTERVIEW_STARTED)
    with open(torn.path / "events.jsonl", "ab") as handle:
        handle.write(b'{"v":1,"seq":2,"t":8.0,"wa')

    # a false start: quit at the consent screen, long ago
    with Session.create(guide, "GP 05", root=root, clock=FrozenClock(0.0)) as false_start:
        false_start.append(EventType.CONSENT, item="recording", given=True)
    os.utime(false_start.path / "events.jsonl", (old, old))

    (root / "zz-no-session").mkdir()
    (root / "zz-no-session" / "events.jsonl").write_text("", encoding="utf-8")
    (root / "exports").mkdir()  # what `export --study` writes: not a session, not listed
    (root / "exports" / "study-session-test.qdpx").write_bytes(b"PK")
    bad = root / "zz-bad-json"
    bad.mkdir()
    (bad / "session.json").write_text("{not json", encoding="utf-8")
    (root / ".hidden").mkdir()
    (root / "notes.txt").write_text("not a folder", encoding="utf-8")
    return root


def test_list_sessions(study: Path) -> None:
    rows = {s.participant or s.path.name: s for s in list_sessions(study)}
    assert set(rows) == {
        "GP 01",
        "physio 02",
        "GP 03",
        "GP 04",
        "GP 05",
        "zz-no-session",
        "zz-bad-json",
    }

    ended = rows["GP 01"]
    assert (ended.status, ended.group, ended.guide_id, ended.guide_version) == (
        "ended",
        "gp",
        "session-test",
        "2",
    )
    # The interview on the recording clock, from its start to its end: not the consent, baseline
    # and microphone check before it (session.json's wall-time figure is not used).
    assert ended.duration_s == 230.0
    assert ended.events == 4
    assert ended.has_audio and ended.has_transcript
    assert ended.created and ended.created.endswith("+00:00")

    live = rows["physio 02"]
    assert (live.status, live.duration_s, live.events) == ("in_progress", 60.0, 3)
    assert not live.has_audio and not live.has_transcript

    assert rows["GP 03"].status == "interrupted"  # not written for two hours
    assert rows["GP 03"].duration_s == 0.0  # entered a topic, then nothing
    assert rows["GP 05"].duration_s is None  # the interview never started
    assert (rows["GP 04"].status, rows["GP 04"].torn_lines, rows["GP 04"].events) == (
        "interrupted",
        1,
        2,
    )
    assert (rows["GP 05"].status, rows["GP 05"].interview) == ("not_started", False)

    for name, reason in [("zz-no-session", "no session.json"), ("zz-bad-json", "damaged")]:
        assert rows[name].status == "unreadable"
        assert reason in (rows[name].reason or "")


def test_list_sessions_of_an_empty_or_missing_folder(tmp_path: Path) -> None:
    assert list_sessions(tmp_path) == []
    with pytest.raises(SessionError, match="No sessions folder"):
        list_sessions(tmp_path / "missing")


def test_sessions_command(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sessions", str(study)]) == 0
    out = capsys.readouterr().out
    for text in [
        "GP 01",
        "physio 02",
        "GP 03",
        "GP 04",
        "session-test v2",
        "03:50",
        "01:00",
        "recording clock",
        "ended",
        "in progress",
        "interrupted",
        "1 torn line",
        "unreadable",
        "zz-no-session",
        "zz-bad-json: ",
        "damaged",
        "not started",
        "4 interviews; 1 not started (no interview yet, not counted)",
    ]:
        assert text in out, text
    assert "Traceback" not in out
    assert "exports" not in out


def test_sessions_command_default_dir_from_environment(
    study: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GUIDE_TUI_RECORDINGS", str(study))
    assert main(["sessions"]) == 0
    assert "physio 02" in capsys.readouterr().out


def test_sessions_command_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sessions", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == f"No sessions yet in {tmp_path}."


def test_sessions_command_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sessions", str(tmp_path / "nope")]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == f"guide-tui: No sessions folder at {tmp_path / 'nope'}."
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert main(["sessions", str(tmp_path / "file")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_sessions_command_as_a_real_process(study: Path) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "guide_tui", "sessions", str(study)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "GP 01" in done.stdout and "interrupted" in done.stdout
    assert done.stderr == ""

    missing = subprocess.run(
        [sys.executable, "-m", "guide_tui", "sessions", str(study / "nope")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr
    assert missing.stderr.startswith("guide-tui: No sessions folder")


def test_summary_json_is_what_the_folder_says(study: Path) -> None:
    """The summary reads session.json only: a changed status shows without touching events."""
    [folder] = [p for p in study.iterdir() if p.name.endswith("physio-02")]
    meta = json.loads((folder / "session.json").read_text(encoding="utf-8"))
    meta["status"] = "ended"
    (folder / "session.json").write_text(json.dumps(meta), encoding="utf-8")
    [row] = [s for s in list_sessions(study) if s.participant == "physio 02"]
    assert row.status == "ended"


# --- discarding a false start (issue 14, item 11) ----------------------------------------------


def _false_start(tmp_path: Path, name: str = "GP 09") -> Path:
    guide = write_guide(tmp_path)
    with Session.create(guide, name, root=tmp_path / "recordings", clock=FrozenClock()) as s:
        s.append(EventType.CONSENT, item="recording", given=True)
    return s.path


def _guide_tui(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guide_tui", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        stdin=subprocess.DEVNULL,
        **kwargs,  # type: ignore[call-overload]
    )


def test_discard_asks_and_without_a_terminal_needs_yes(tmp_path: Path) -> None:
    folder = _false_start(tmp_path)
    refused = _guide_tui("sessions", "--discard", str(folder))
    assert refused.returncode != 0 and folder.is_dir()
    assert "Not deleting without asking" in refused.stderr and "--yes" in refused.stderr
    assert "Traceback" not in refused.stderr
    done = _guide_tui("sessions", "--discard", str(folder), "--yes")
    assert done.returncode == 0, done.stderr
    assert not folder.exists()
    assert f"Deleted {folder}" in done.stdout


def test_discard_never_deletes_audio_unless_asked_to(tmp_path: Path) -> None:
    folder = _false_start(tmp_path)
    audio = folder / "audio-001.wav"
    audio.write_bytes(b"RIFF" + b"\1" * 4000)
    refused = _guide_tui("sessions", "--discard", str(folder), "--yes")
    assert refused.returncode != 0
    assert "has audio (audio-001.wav" in refused.stderr and "--delete-audio" in refused.stderr
    assert "nothing was deleted" in refused.stderr
    assert audio.read_bytes() == b"RIFF" + b"\1" * 4000
    done = _guide_tui("sessions", "--discard", str(folder), "--yes", "--delete-audio")
    assert done.returncode == 0, done.stderr
    assert not folder.exists() and "and its recording" in done.stdout


def test_discard_refuses_what_is_not_a_session(tmp_path: Path) -> None:
    other = tmp_path / "exports"
    other.mkdir()
    (other / "keep.txt").write_text("x", encoding="utf-8")
    result = _guide_tui("sessions", "--discard", str(other), "--yes")
    assert result.returncode != 0 and "is not a session folder" in result.stderr
    assert (other / "keep.txt").exists()


@pytest.mark.parametrize(("answer", "deleted"), [("n", False), ("y", True)])
def test_discard_asks_on_a_terminal(tmp_path: Path, answer: str, deleted: bool) -> None:
    """A real pseudo-terminal on stdin: the question is asked and the answer obeyed."""
    import pty

    folder = _false_start(tmp_path)
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "guide_tui", "sessions", "--discard", str(folder)],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        os.write(controller, f"{answer}\n".encode())
        out, err = process.communicate(timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert "no interview yet" in out and "Delete this session?" in out, (out, err)
    assert folder.exists() is not deleted
    assert process.returncode == (0 if deleted else 1)
