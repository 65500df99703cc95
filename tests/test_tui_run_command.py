"""``guide-tui run``: bad input is a message and a non-zero exit before any screen is drawn; the
guide picker; the recorder seam with the recording package's session bridge."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList
from tui_support import GROUP_GUIDE_YAML, GUIDES, of_type, read_events

from guide_tui.cli import main
from guide_tui.commands.run import next_steps
from guide_tui.guide import load_guide
from guide_tui.session.store import Session
from guide_tui.tui.app import make_app
from guide_tui.tui.picker import GuidePickerApp


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["run", *args])
    return code, capsys.readouterr().err


@pytest.fixture(autouse=True)
def recordings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "recordings"
    monkeypatch.setenv("GUIDE_TUI_RECORDINGS", str(folder))
    return folder


def test_participant_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(capsys, str(GUIDES / "demo.yaml"))
    assert code != 0 and "--participant is required" in err


def test_unsafe_pseudonym_is_refused(capsys: pytest.CaptureFixture[str], recordings: Path) -> None:
    code, err = run_cli(capsys, str(GUIDES / "demo.yaml"), "--participant", "../escape")
    assert code != 0 and err.startswith("guide-tui: ")
    assert not recordings.exists() or not any(recordings.iterdir())


def test_group_must_belong_to_the_guide(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(capsys, str(GUIDES / "demo.yaml"), "-p", "P1", "--group", "gp")
    assert code != 0 and "has no participant groups" in err
    code, err = run_cli(
        capsys, str(GUIDES / "cross-sectoral-lbp.yaml"), "-p", "P1", "--group", "dentist"
    )
    assert code != 0 and "dentist" in err and "social-worker" in err


def test_resume_refuses_missing_and_ended_sessions(
    capsys: pytest.CaptureFixture[str], recordings: Path
) -> None:
    code, err = run_cli(capsys, "--resume", str(recordings / "nope"))
    assert code != 0 and "No session folder" in err
    guide = load_guide(GUIDES / "demo.yaml")
    with Session.create(guide, "P2", root=recordings) as session:
        session.update_meta(status="ended")
    code, err = run_cli(capsys, "--resume", str(session.path))
    assert code != 0 and "already ended" in err


def test_resume_refuses_options_that_belong_to_a_new_session(
    capsys: pytest.CaptureFixture[str], recordings: Path
) -> None:
    guide = load_guide(GUIDES / "demo.yaml")
    with Session.create(guide, "P3", root=recordings, observers=["B. Second"]) as session:
        pass
    code, err = run_cli(capsys, "--resume", str(session.path), "--observer", "X", "-p", "P4")
    assert code != 0
    assert "drop --participant, --observer" in err and "Traceback" not in err
    assert Session.open(session.path).meta["observers"] == ["B. Second"]


def test_no_guide_and_no_guides_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUIDE_TUI_GUIDES", str(tmp_path / "empty"))
    code, err = run_cli(capsys, "--participant", "P3")
    assert code != 0 and "no guides in" in err


def test_picker_lists_guides_and_marks_broken_ones(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("title: [unclosed\n", encoding="utf-8")
    good = tmp_path / "group.yaml"
    good.write_text(GROUP_GUIDE_YAML, encoding="utf-8")
    app = GuidePickerApp([broken, good])

    async def pick() -> None:
        async with app.run_test(size=(100, 20)) as pilot:
            options = app.query_one(OptionList)
            assert options.get_option_at_index(0).disabled
            assert "Group test guide" in str(options.get_option_at_index(1).prompt)
            await pilot.press("down", "enter")

    asyncio.run(pick())
    assert app.return_value == good


def test_works_with_the_recording_packages_session_bridge(tmp_path: Path) -> None:
    """The seam ``commands/run.py`` will use: the bridge logs recording events itself, so the
    app must not log them twice; a notes-only bridge logs nothing, so the app logs pauses."""
    from guide_tui.recorder import attach_recorder

    guide = load_guide(GUIDES / "demo.yaml")
    session = Session.create(guide, "P4", root=tmp_path / "rec")
    for item in guide.consent:
        session.append("consent", item=item.id, given=True)
    session.append("interview_started")
    session.append("topic_entered", topic="tools")

    def factory(s: Any) -> Any:
        return attach_recorder(s, notes_only=True)

    app = make_app(session, guide, recorder_factory=factory, resumed=True, cursor_blink=False)

    async def walk() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await app.wait_for_recorder()
            assert app.recorder_logs_events
            await pilot.press("space", "p", "p", "q")
            await pilot.pause(0.2)
            await app.run_action("quit_session")
            await pilot.press("y")

    asyncio.run(walk())
    events = read_events(session.path)
    assert len(of_type(events, "recording_paused")) == 1
    assert len(of_type(events, "recording_resumed")) == 1
    assert not of_type(events, "recording_started")
    assert [e["seq"] for e in events] == list(range(len(events)))


def test_without_a_terminal_run_refuses_in_one_line(recordings: Path) -> None:
    """Started from a script with no terminal, the app spun at 83 % CPU drawing nowhere. A real
    process, stdin from /dev/null and output into pipes: one line, non-zero, no session folder."""
    command = [sys.executable, "-m", "guide_tui", "run", str(GUIDES / "demo.yaml")]
    result = subprocess.run(
        [*command, "--participant", "P01", "--no-audio"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "guide-tui: run needs a terminal: start it from a terminal window "
        "(standard input and standard error must both be one)."
    ]
    assert not recordings.exists() or not any(recordings.iterdir())


def test_the_end_message_says_what_comes_next(tmp_path: Path) -> None:
    folder = tmp_path / "2026-01-01_0900_P 01"
    folder.mkdir()
    notes_only = next_steps(folder)
    assert "guide-tui export '" + str(folder) + "'" in notes_only
    assert "transcribe" not in notes_only  # nothing was recorded
    (folder / "audio-001.wav").write_bytes(b"")
    recorded = next_steps(folder)
    assert recorded.index("guide-tui transcribe") < recorded.index("guide-tui export")


def test_the_bell_is_off_unless_the_config_turns_it_on(
    _isolated_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from guide_tui.commands.run import _bell_setting

    assert _bell_setting() is False
    (_isolated_config / "config.toml").write_text("bell = true\n", encoding="utf-8")
    assert _bell_setting() is True
    (_isolated_config / "config.toml").write_text('bell = "loud"\n', encoding="utf-8")
    code, err = run_cli(capsys, str(GUIDES / "demo.yaml"), "-p", "P1")
    assert code != 0 and "'bell' must be true or false" in err
