"""SVG snapshots of the main screens at 80×24 (usable) and 120×40 (good), dark and light.

Deterministic by construction: sessions are built from events written with a frozen clock, the
recorder is a fake whose clock stands still, the cursor does not blink, and no wall-clock time is
ever drawn. Textual is pinned exactly (pyproject); after bumping it, look at the differences and
refresh deliberately with ``pytest tests/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_support import GUIDES, FakeRecorder

from guide_tui.guide import load_guide
from guide_tui.session.clock import FrozenClock
from guide_tui.session.store import Session
from guide_tui.tui.app import GuideApp, make_app

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def build(
    tmp_path: Path,
    script: Callable[[Session, FrozenClock], None] | None = None,
    guide_name: str = "demo.yaml",
    **kwargs: Any,
) -> GuideApp:
    """A session of the guide (the demo by default) advanced by ``script`` (events at frozen
    times), then the app."""
    guide = load_guide(GUIDES / guide_name)
    clock = FrozenClock(0.0)
    session = Session.create(guide, "P07", root=tmp_path / "recordings", clock=clock)
    if script is not None:
        script(session, clock)
    recorder = FakeRecorder(t=clock.t)
    recorder.rms_db, recorder.peak_db = -22.0, -8.0
    return make_app(
        session, guide, recorder_factory=lambda _s: recorder, cursor_blink=False, **kwargs
    )


def consented(session: Session, clock: FrozenClock) -> None:
    for item in session.guide.consent:
        session.append("consent", item=item.id, given=True)
    session.append("participant_confirmed", group=None)


def mid_interview(session: Session, clock: FrozenClock) -> None:
    consented(session, clock)
    for field, value in (("role", "Office"), ("years-in-job", 12), ("works-remotely", True)):
        session.append("baseline_answer", field=field, value=value)
    session.append("interview_started")
    session.append("topic_entered", topic="daily-work")
    clock.advance(30)
    session.append("question_asked", topic="daily-work", question="typical-day")
    probe = session.guide.topic("daily-work").questions[0].probes[0].id
    session.append("probe_used", topic="daily-work", question="typical-day", probe=probe)
    clock.advance(130)  # 2:40 on a 2-minute topic: red
    session.append("topic_entered", topic="tools")
    clock.advance(20)
    session.append("question_asked", topic="tools", question="main-tools")
    clock.advance(20)
    session.append("note", text="Uses three spreadsheets", started_t=195.0, topic="tools")
    clock.advance(10)
    session.append("marker", kind="quotable", topic="tools")
    clock.advance(40)


def closing(session: Session, clock: FrozenClock) -> None:
    mid_interview(session, clock)
    session.append("topic_covered", topic="tools")
    session.append("closing_started")
    session.append("closing_prompt", prompt=session.guide.closing[0].id)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait for the recorder (built off the UI thread) and one poll, so the status is final."""
    app = pilot.app
    assert isinstance(app, GuideApp)
    await app.wait_for_recorder()
    await pilot.pause(0.25)


def then(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press(*keys)
        await pilot.pause(0.1)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_consent(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = build(tmp_path)
    assert snap_compare(app, terminal_size=size, run_before=then("space"))


@pytest.mark.parametrize("size", SIZES)
def test_baseline_with_errors(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = build(tmp_path, consented)
    assert snap_compare(app, terminal_size=size, run_before=then("ctrl+n"))


@pytest.mark.parametrize("size", SIZES)
def test_interview(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = build(tmp_path, mid_interview)
    assert snap_compare(app, terminal_size=size, run_before=settle)


def test_interview_light_theme(snap_compare: Any, tmp_path: Path) -> None:
    app = build(tmp_path, mid_interview, theme="light")
    assert snap_compare(app, terminal_size=(120, 40), run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_closing(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = build(tmp_path, closing)
    assert snap_compare(app, terminal_size=size, run_before=settle)


def test_help(snap_compare: Any, tmp_path: Path) -> None:
    app = build(tmp_path, mid_interview)
    assert snap_compare(app, terminal_size=(80, 24), run_before=then("question_mark"))


def test_note_dialog(snap_compare: Any, tmp_path: Path) -> None:
    app = build(tmp_path, mid_interview)
    assert snap_compare(app, terminal_size=(80, 24), run_before=then("n", *"agrees"))


def gp_mid_interview(session: Session, clock: FrozenClock) -> None:
    """The GP guide's busiest topic (five research questions, five questions, a long summary),
    a three-line note and, after it, a marker: at 80×24 the marker used to stay out of sight."""
    consented(session, clock)
    session.append("interview_started")
    session.append("topic_entered", topic="presentation-of-informant")
    clock.advance(200)
    session.append("question_asked", topic="presentation-of-informant", question="type-of-clinic")
    session.append(
        "question_asked", topic="presentation-of-informant", question="expectations-motivation"
    )
    session.append("summary_given", topic="presentation-of-informant")  # covered by its ticks
    clock.advance(40)
    session.append("topic_entered", topic="general-structure-delegation")
    clock.advance(60)
    session.append(
        "question_asked", topic="general-structure-delegation", question="new-appointments"
    )
    clock.advance(30)
    session.append(
        "note",
        text="Nurses do the diabetes controls and some of the follow-up calls; the GP "
        "would like them to see back patients first, but worries about the economy of it",
        started_t=320.0,
        topic="general-structure-delegation",
    )
    clock.advance(5)
    session.append("marker", kind="quotable", topic="general-structure-delegation")
    clock.advance(5)


@pytest.mark.parametrize("size", SIZES)
def test_gp_interview(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = build(tmp_path, gp_mid_interview, "gp-delegation-lbp.yaml")
    assert snap_compare(app, terminal_size=size, run_before=settle)


def test_gp_topic_in_full(snap_compare: Any, tmp_path: Path) -> None:
    """``r``: every research question and the whole summary, where 80×24 has no room."""
    app = build(tmp_path, gp_mid_interview, "gp-delegation-lbp.yaml")
    assert snap_compare(app, terminal_size=(80, 24), run_before=then("r"))


# -- guide-tui review ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_review(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    """The review of the fixture session (with places to check, a stretch marked reviewed), the
    cursor on the first place to check: status, topic headings, turns, marks and keys."""
    from test_tui_review import marked_copy
    from tui_support import FakePlayer

    from guide_tui.commands.review import build_review_app
    from guide_tui.transcript.corrections import CorrectionLog

    folder = marked_copy(tmp_path)
    CorrectionLog.open(folder).append("reviewed", start=0.0, end=21.4)
    app = build_review_app(folder)
    app.review_screen._player_factory = FakePlayer

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.pause(0.1)
        await pilot.press("down", "n")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
