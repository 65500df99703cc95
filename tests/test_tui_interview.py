"""Whole interviews driven through the real TUI with Textual's Pilot, on the shipped guides.

Each test creates a real session folder (the real store, the real loader), walks the screens
with key presses as an interviewer would, and then reads ``events.jsonl`` and ``session.json``
from the disk: the files are the product, the screen is how they get written.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Label, OptionList, Select, Static
from tui_support import GROUP_GUIDE_YAML, GUIDES, FakeRecorder, of_type, read_events, read_meta

from guide_tui.guide import load_guide
from guide_tui.session.events import Event
from guide_tui.session.state import InterviewState
from guide_tui.session.store import Session
from guide_tui.tui.app import GuideApp, make_app
from guide_tui.tui.screens.closing import ClosingScreen
from guide_tui.tui.screens.interview import InterviewScreen
from guide_tui.tui.screens.pre import PreInterviewScreen
from guide_tui.tui.widgets import RecorderPanel, TickItem

SIZE = (120, 40)


def run_async(test: Callable[..., Any]) -> Callable[..., None]:
    """Run an ``async def`` test with ``asyncio.run`` (no async pytest plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 10) -> None:
    """Let the app run until ``condition()`` holds (workers and timers need a few cycles)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the app did not get there in time")
        await pilot.pause(0.02)


def new_app(
    tmp_path: Path,
    guide_file: Path,
    participant: str = "P01",
    *,
    group: str | None = None,
    recorder: FakeRecorder | None = None,
) -> tuple[GuideApp, Session, FakeRecorder]:
    guide = load_guide(guide_file)
    session = Session.create(guide, participant, group=group, root=tmp_path / "recordings")
    fake = recorder or FakeRecorder()
    app = make_app(
        session, guide, recorder_factory=lambda _s: fake, group=group, cursor_blink=False
    )
    return app, session, fake


async def pass_consent(pilot: Pilot[Any], app: GuideApp, *, decline: bool = False) -> None:
    """Tick every consent item (or, declining, every item not about recording) and go on."""
    from guide_tui.session.state import consent_item_is_about_recording

    for item in app.guide.consent:
        if not (decline and consent_item_is_about_recording(item.text)):
            await pilot.press("space")
        await pilot.press("down")
    if decline:
        await pilot.press("space")  # "Participant declines audio recording"
    await pilot.press("ctrl+n")


async def fill_baseline(pilot: Pilot[Any], app: GuideApp, answers: dict[str, Any]) -> None:
    screen = app.screen
    for field_id, value in answers.items():
        widget = screen.query_one(f"#baseline-{field_id}")
        if isinstance(widget, Select):
            widget.value = value
        else:
            assert isinstance(widget, Input)
            widget.focus()
            await pilot.press(*str(value))
    await pilot.pause()
    await pilot.press("ctrl+n")


async def start_interview(pilot: Pilot[Any], app: GuideApp) -> None:
    await pilot.press("ctrl+n")
    await wait_until(pilot, lambda: isinstance(app.screen, InterviewScreen))


async def end_interview(pilot: Pilot[Any], app: GuideApp) -> None:
    await pilot.press("e")
    await wait_until(pilot, lambda: isinstance(app.screen, ClosingScreen))
    for _ in app.guide.closing:
        await pilot.press("space", "down")
    await pilot.press("e")
    await pilot.pause()
    await pilot.press("y")
    await wait_until(pilot, lambda: app.return_value is not None)


def question_texts(app: GuideApp) -> list[str]:
    options = app.screen.query_one("#questions", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def rebuilt_from_disk(session: Session) -> InterviewState:
    events = [Event.from_json_dict(e) for e in read_events(session.path)]
    return InterviewState.from_events(session.guide, events)


# -- demo guide ---------------------------------------------------------------------------------


@run_async
async def test_whole_interview_on_the_demo_guide(tmp_path: Path) -> None:
    app, session, rec = new_app(tmp_path, GUIDES / "demo.yaml")
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, PreInterviewScreen)
        # Recording cannot start before consent: Continue refuses, nothing is logged.
        await pilot.press("ctrl+n")
        assert app.screen.current_step == "step-consent"
        await pass_consent(pilot, app)
        await pilot.press("ctrl+n")  # participant confirmed
        await pilot.press("ctrl+n")  # empty baseline: refused, errors shown
        assert app.screen.current_step == "step-baseline"
        assert "Required" in str(app.screen.query_one("#error-role", Label).content)
        await fill_baseline(
            pilot, app, {"role": "Office", "years-in-job": 12, "works-remotely": True}
        )
        assert app.screen.current_step == "step-mic"
        assert app.screen.query_one("#mic-check-panel")  # the recording issue's seam
        await start_interview(pilot, app)
        assert rec.calls == ["start"]
        assert app.state.current_topic == "daily-work"

        # Out of order: the last topic first.
        rec.advance(10)
        await pilot.press("3")
        assert app.state.current_topic == "collaboration"
        rec.advance(5)
        await pilot.press("space", "down", "space")  # question, then its probe
        await pilot.press("s", "c")  # summary given, topic covered
        rec.advance(3)
        await pilot.press("n")
        rec.advance(4)  # typing takes time: the note stays where typing started
        await pilot.press(*"weekly meeting", "enter")
        await pilot.press("q", "f", "i")

        # Back to the first topic: tick, undo, tick again.
        rec.advance(20)
        await pilot.press("1", "space", "u")
        assert app.state.topics["daily-work"].asked == {}
        await pilot.press("space")
        # Jump by typing; skip that topic.
        rec.advance(30)
        await pilot.press("t", *"tools", "enter")
        assert app.state.current_topic == "tools"
        await pilot.press("x")
        await pilot.press("p")  # pause recording
        assert rec.state == "paused"
        await pilot.press("p")
        rec.advance(6)

        # Closing lists what is open; going back and returning is possible.
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ClosingScreen))
        coverage = str(app.screen.query_one("#coverage-text").content)
        assert "Tools you work with" in coverage and "A typical working day" in coverage
        assert "Which part of your day do you enjoy the most?" in coverage
        await pilot.press("b")
        assert isinstance(app.screen, InterviewScreen)
        state_before_end = app.state.snapshot()
        await end_interview(pilot, app)

    assert app.return_value == session.path
    events = read_events(session.path)
    types = [e["type"] for e in events]
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert types[0] == "session_started" and types[-1] == "session_ended"
    assert [e["data"] for e in of_type(events, "consent")] == [
        {"item": "agrees-to-try", "given": True},
        {"item": "audio-recording", "given": True},
    ]
    baseline = {e["data"]["field"]: e["data"]["value"] for e in of_type(events, "baseline_answer")}
    assert baseline == {"role": "Office", "years-in-job": 12, "works-remotely": True}
    assert types.index("recording_started") < types.index("interview_started")
    entered = [e["data"]["topic"] for e in of_type(events, "topic_entered")]
    assert entered == ["daily-work", "collaboration", "daily-work", "tools", "tools"]
    asked = of_type(events, "question_asked")
    assert [e["data"]["question"] for e in asked] == ["who-with", "typical-day", "typical-day"]
    (probe,) = of_type(events, "probe_used")
    assert probe["data"] == {
        "topic": "collaboration",
        "question": "who-with",
        "probe": app.guide.topic("collaboration").questions[0].probes[0].id,
    }
    (undo,) = of_type(events, "undo")
    assert undo["data"]["undoes"] == asked[1]["seq"]
    (note,) = of_type(events, "note")
    assert note["data"]["text"] == "weekly meeting" and note["data"]["topic"] == "collaboration"
    assert note["data"]["started_t"] == pytest.approx(18.0) and note["t"] == pytest.approx(22.0)
    assert [e["data"]["kind"] for e in of_type(events, "marker")] == [
        "quotable",
        "follow_up",
        "interruption",
    ]
    assert of_type(events, "topic_covered")[0]["data"] == {"topic": "collaboration"}
    assert of_type(events, "topic_skipped")[0]["data"] == {"topic": "tools"}
    assert len(of_type(events, "recording_paused")) == len(of_type(events, "recording_resumed"))
    assert len(of_type(events, "closing_prompt")) == 2
    assert "recording_stopped" in types

    meta = read_meta(session.path)
    assert meta["status"] == "ended" and meta["ended"] and meta["duration_s"] >= 0
    assert meta["duration_s"] == meta["interview_seconds"]  # the interview, not since launch
    assert meta["consent"] == {"agrees-to-try": True, "audio-recording": True}
    assert meta["baseline"] == baseline
    coverage = meta["coverage"]
    assert coverage["topics"]["collaboration"]["status"] == "covered"
    assert coverage["topics"]["collaboration"]["summary_given"] is True
    assert coverage["topics"]["collaboration"]["seconds"] == pytest.approx(32.0)
    assert coverage["topics"]["tools"]["status"] == "skipped"
    assert coverage["topics"]["daily-work"] | {"seconds": 0} == {
        "status": "in_progress",
        "seconds": 0,
        "planned_minutes": 2.0,
        "questions_asked": ["typical-day"],
        "questions_total": 2,
        "probes_used": 0,
        "summary_given": False,
    }
    # abs: session_started is logged on the session's own clock (0.000 or 0.001 on a busy
    # machine), and the interview clock starts from the last t
    assert coverage["topics"]["daily-work"]["seconds"] == pytest.approx(10 + 30, abs=0.01)
    assert coverage["closing_prompts"] == [p.id for p in app.guide.closing]
    assert coverage["notes"] == 1 and coverage["markers"] == 3
    # The log alone rebuilds what was on screen.
    rebuilt = rebuilt_from_disk(session)
    assert rebuilt.snapshot() | {"phase": None, "closing": None} == state_before_end | {
        "phase": None,
        "closing": None,
    }
    assert rebuilt.phase == "ended"


# -- GP delegation guide -------------------------------------------------------------------------


@run_async
async def test_whole_interview_on_the_gp_delegation_guide(tmp_path: Path) -> None:
    app, session, rec = new_app(tmp_path, GUIDES / "gp-delegation-lbp.yaml", "GP 03")
    guide = app.guide
    async with app.run_test(size=(80, 24)) as pilot:
        await pass_consent(pilot, app)
        await pilot.press("ctrl+n")
        await fill_baseline(
            pilot,
            app,
            {
                "gender": "Female",
                "age": ">50 years",
                "city-size": "≤10,000 citizens",
                "practice-type": "Partnership",
                "number-of-gps": 3,
                "number-of-staff": 7,
            },
        )
        await start_interview(pilot, app)
        topics = [t.id for t in guide.topics]
        # The sensitive topic is saved for late, but here the participant raises it early.
        await pilot.press(str(topics.index("skim-through-preliminaries") + 1))
        assert "sensitive" in question_texts(app)[0]
        await pilot.press("space", "down", "space", "down", "space")
        rec.advance(60)
        await pilot.press("s", "c", "2")
        for _ in guide.topic("general-structure-delegation").questions:
            await pilot.press("space", "down")
        rec.advance(120)
        await pilot.press("s", "c", "right", "space", "n", *"refers to physio", "enter")
        rec.advance(30)
        await pilot.press("x", "q")
        await end_interview(pilot, app)

    events = read_events(session.path)
    types = [e["type"] for e in events]
    assert types[-1] == "session_ended"
    assert len(of_type(events, "consent")) == len(guide.consent)
    assert len(of_type(events, "baseline_answer")) == 6  # the optional text left empty
    probes = of_type(events, "probe_used")
    assert [p["data"]["question"] for p in probes] == ["critical-points-of-view"] * 2
    meta = read_meta(session.path)
    assert meta["participant"] == "GP 03" and meta["status"] == "ended"
    assert meta["baseline"]["number-of-gps"] == 3
    coverage = meta["coverage"]
    assert coverage["topics_covered"] == 2 and coverage["topics_skipped"] == 1
    assert coverage["topics"]["general-structure-delegation"]["questions_asked"] == [
        q.id for q in guide.topic("general-structure-delegation").questions
    ]
    assert coverage["topics"]["skim-through-preliminaries"]["seconds"] == pytest.approx(60)
    assert coverage["topics"]["back-patients"]["status"] == "skipped"
    assert coverage["closing_prompts"] == [p.id for p in guide.closing]
    assert rebuilt_from_disk(session).coverage_summary() == coverage


# -- details ----------------------------------------------------------------------------------


@run_async
async def test_declining_recording_makes_a_notes_only_session(tmp_path: Path) -> None:
    app, session, rec = new_app(tmp_path, GUIDES / "demo.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await pass_consent(pilot, app, decline=True)
        assert app.screen.current_step == "step-participant"
        await pilot.press("ctrl+n")
        await fill_baseline(
            pilot, app, {"role": "Other", "years-in-job": 1, "works-remotely": False}
        )
        await start_interview(pilot, app)
        assert "NOTES ONLY" in str(app.screen.query_one("#topbar").content)
        await pilot.press("p")  # nothing to pause but the clock: say so, and show it
        assert any("nothing is recorded" in n.message for n in app._notifications)
        assert "PAUSED" in str(app.screen.query_one("#topbar").content)
        await pilot.press("p")
        assert "PAUSED" not in str(app.screen.query_one("#topbar").content)
        await end_interview(pilot, app)
    assert "start" not in rec.calls  # the real recorder was never started
    events = read_events(session.path)
    assert of_type(events, "consent_declined_recording")[0]["data"] == {"declined": True}
    assert not of_type(events, "recording_started")
    assert len(of_type(events, "recording_paused")) == 1  # the interview's pause is still logged
    meta = read_meta(session.path)
    assert meta["notes_only"] is True and meta["coverage"]["notes_only"] is True


@run_async
async def test_group_decides_questions_and_wording(tmp_path: Path) -> None:
    guide_file = tmp_path / "group.yaml"
    guide_file.write_text(GROUP_GUIDE_YAML, encoding="utf-8")
    app, session, _ = new_app(tmp_path, guide_file, group="physio")
    async with app.run_test(size=SIZE) as pilot:
        await pass_consent(pilot, app)
        await pilot.press("ctrl+n")
        await pilot.press("ctrl+n")  # no baseline
        await start_interview(pilot, app)
        texts = question_texts(app)
        assert len(texts) == 2
        assert "Describe a typical day with your patients." in texts[0]
        assert "sensitive" in texts[1] and "disagreement" in texts[1]
        assert not any("GPs" in t for t in texts)
    assert of_type(read_events(session.path), "participant_confirmed")[0]["data"] == {
        "group": "physio"
    }


@run_async
async def test_recorder_status_and_warnings(tmp_path: Path) -> None:
    app, session, rec = new_app(tmp_path, GUIDES / "demo.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await pass_consent(pilot, app)
        await pilot.press("ctrl+n")
        await fill_baseline(
            pilot, app, {"role": "Office", "years-in-job": 2, "works-remotely": True}
        )
        await start_interview(pilot, app)
        rec.advance(75)
        rec.warn("silence", "No sound for 10 s: is the microphone muted?")
        await pilot.pause(0.3)
        panel = app.screen.query_one(RecorderPanel).text
        assert "REC" in panel and "1:15" in panel and "Fake microphone" in panel
        assert "█" in panel and "microphone muted" in panel
        await pilot.press("ctrl+q")
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.is_running)
    events = read_events(session.path)
    (warning,) = of_type(events, "warning")
    assert warning["data"]["kind"] == "silence"
    assert of_type(events, "recording_started")[0]["data"]["device"] == "Fake microphone"
    assert of_type(events, "recording_stopped")
    assert read_meta(session.path)["status"] == "in_progress"  # left, not ended: resumable


@run_async
async def test_help_and_command_palette_reach_every_action(tmp_path: Path) -> None:
    app, _session, _ = new_app(tmp_path, GUIDES / "demo.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        await pass_consent(pilot, app)
        await pilot.press("ctrl+n")
        await fill_baseline(
            pilot, app, {"role": "Office", "years-in-job": 2, "works-remotely": True}
        )
        await start_interview(pilot, app)
        screen = app.screen
        titles = {c.title for c in app.get_system_commands(screen)}
        for action in ("note", "quotable", "follow up", "undo", "covered", "skip", "end"):
            assert action in titles
        assert "Go to topic 2: Tools you work with" in titles
        await pilot.press("question_mark")
        help_text = " ".join(str(s.content) for s in app.screen.query("Static"))
        assert "Mark the topic covered" in help_text and "Add a note" in help_text
        await pilot.press("escape")
        assert app.screen is screen


# -- resume into each phase ---------------------------------------------------------------------


def resumed_app(tmp_path: Path, script: Callable[[Session], None]) -> tuple[GuideApp, Session]:
    guide = load_guide(GUIDES / "demo.yaml")
    with Session.create(guide, "R01", root=tmp_path / "recordings") as session:
        script(session)
    reopened = Session.open(session.path, mark_resumed=True)
    app = make_app(
        reopened,
        reopened.guide,
        recorder_factory=lambda _s: FakeRecorder(),
        resumed=True,
        cursor_blink=False,
    )
    return app, reopened


@run_async
async def test_resume_in_the_baseline_step_keeps_the_answers(tmp_path: Path) -> None:
    def script(session: Session) -> None:
        for item in session.guide.consent:
            session.append("consent", item=item.id, given=True)
        session.append("participant_confirmed", group=None)
        session.append("baseline_answer", field="years-in-job", value=4)

    app, _session = resumed_app(tmp_path, script)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, PreInterviewScreen)
        assert app.screen.current_step == "step-baseline"
        assert app.screen.query_one("#baseline-years-in-job", Input).value == "4"


@run_async
async def test_resume_in_closing_goes_back_to_the_interview(tmp_path: Path) -> None:
    def script(session: Session) -> None:
        for item in session.guide.consent:
            session.append("consent", item=item.id, given=True)
        session.append("interview_started")
        session.append("topic_entered", topic="tools")
        session.append("closing_started")

    app, session = resumed_app(tmp_path, script)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ClosingScreen))
        await app.wait_for_recorder()
        await pilot.press("b")
        assert isinstance(app.screen, InterviewScreen)
        assert app.state.current_topic == "tools" and app.state.phase == "interview"
        await pilot.press("ctrl+q", "y")
        await wait_until(pilot, lambda: not app.is_running)
    types = [e["type"] for e in read_events(session.path)]
    assert types[-4:] == [
        "session_resumed",
        "recording_started",  # recording goes on after a resume
        "topic_entered",  # back from closing: the topic's clock runs again
        "recording_stopped",  # left with ctrl+q: resumable, not ended
    ]


# -- consent ------------------------------------------------------------------------------------


@run_async
async def test_enter_on_a_consent_item_continues_and_never_unticks(tmp_path: Path) -> None:
    """Enter on the highlighted item used to toggle it: meant as "continue", it withdrew the
    consent to recording (an event ``consent … given: false``)."""
    app, session, _ = new_app(tmp_path, GUIDES / "demo.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "down", "space")  # both items ticked; the second highlighted
        await pilot.press("enter")
        assert app.state.consent == {"agrees-to-try": True, "audio-recording": True}
        assert app.screen.current_step == "step-participant"
    events = read_events(session.path)
    assert [e["data"]["given"] for e in of_type(events, "consent")] == [True, True]


@run_async
async def test_agreeing_to_and_declining_recording_exclude_each_other(tmp_path: Path) -> None:
    app, session, _ = new_app(tmp_path, GUIDES / "demo.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "down", "space", "down")  # both ticked, then "declines"
        await pilot.press("space")
        screen = app.screen
        audio = screen.query_one("#consent-audio-recording", TickItem)
        declines = screen.query_one("#declines-recording", TickItem)
        assert not audio.value and declines.value
        assert app.state.notes_only and not app.state.consent["audio-recording"]
        await pilot.press("up", "space")  # agrees after all: the refusal is taken back
        assert audio.value and not declines.value
        assert not app.state.notes_only and app.state.recording_allowed
    events = read_events(session.path)
    assert [(e["type"], e["data"]) for e in events if e["type"].startswith("consent")] == [
        ("consent", {"item": "agrees-to-try", "given": True}),
        ("consent", {"item": "audio-recording", "given": True}),
        ("consent_declined_recording", {"declined": True}),
        ("consent", {"item": "audio-recording", "given": False}),
        ("consent", {"item": "audio-recording", "given": True}),
        ("consent_declined_recording", {"declined": False}),
    ]


# -- participant and group ----------------------------------------------------------------------


@run_async
async def test_group_from_the_command_line_is_highlighted_and_fills_profession(
    tmp_path: Path,
) -> None:
    """``--group social-worker``: the picker's cursor sat on the first group; the baseline asked
    the profession again; observers were shown nowhere."""
    from textual.widgets import RadioButton

    guide = load_guide(GUIDES / "cross-sectoral-lbp.yaml")
    session = Session.create(
        guide,
        "SW 02",
        group="social-worker",
        observers=["B. Second", "C. Third"],
        root=tmp_path / "recordings",
    )
    app = make_app(session, guide, cursor_blink=False)  # as ``run`` makes it
    async with app.run_test(size=(80, 24)) as pilot:
        await pass_consent(pilot, app)
        assert app.screen.current_step == "step-participant"
        await pilot.pause()
        (highlighted,) = app.screen.query(RadioButton).filter(".-selected")
        assert highlighted.name == "social-worker" and highlighted.value
        facts = str(app.screen.query_one("#participant-facts", Static).content)
        assert "Observers: B. Second, C. Third" in facts
        await pilot.press("ctrl+n")
        assert app.screen.current_step == "step-baseline"
        profession = app.screen.query_one("#baseline-profession", Select)
        assert profession.value == "Social worker at the jobcentre"
        # Back, another group: the echo follows it.
        await pilot.press("escape")
        await pilot.pause()
        radios = app.screen.query_one("#group")
        radios.focus()
        await pilot.press("up", "enter", "ctrl+n")
        assert app.state.group == "municipal-physio"
        assert profession.value == "Municipal physiotherapist"


@run_async
async def test_ticking_everything_covers_the_topic(tmp_path: Path) -> None:
    app, session, _ = new_app(tmp_path, GUIDES / "demo.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await pass_consent(pilot, app)
        await pilot.press("ctrl+n")
        await fill_baseline(
            pilot, app, {"role": "Office", "years-in-job": 2, "works-remotely": True}
        )
        await start_interview(pilot, app)
        await pilot.press("3")
        topic = app.guide.topic("collaboration")
        for question in topic.questions:
            await pilot.press("space", *["down"] * (1 + len(question.probes)))
        assert app.state.topics["collaboration"].status == "in_progress"
        await pilot.press("s")
        assert app.state.topics["collaboration"].status == "covered"
        assert any("Topic covered" in n.message for n in app._notifications)
        assert "✓ covered" in str(app.screen.query_one("#topic-head").content)
        await pilot.press("c")  # nothing to add: said so, and nothing is un-covered
        assert any("Covered already" in n.message for n in app._notifications)
        assert app.state.topics["collaboration"].status == "covered"
        await end_interview(pilot, app)
    events = read_events(session.path)
    assert not of_type(events, "topic_covered")
    assert read_meta(session.path)["coverage"]["topics"]["collaboration"]["status"] == "covered"


# -- 80×24 ---------------------------------------------------------------------------------------


def plain(app: GuideApp, selector: str) -> str:
    from textual.content import Content

    shown = app.screen.query_one(selector, Static).content
    return shown.plain if isinstance(shown, Content) else Content.from_markup(str(shown)).plain


@run_async
async def test_at_80x24_everything_is_reachable_and_cut_only_with_an_ellipsis(
    tmp_path: Path,
) -> None:
    """The GP guide at 80×24: titles were cut to 12 characters, research questions cut mid-
    sentence and three of five missing, the summary scrolled away, a marker after a long note
    out of sight."""
    app, _session, _ = new_app(tmp_path, GUIDES / "gp-delegation-lbp.yaml", "GP 04")
    guide = app.guide
    async with app.run_test(size=(80, 24)) as pilot:
        await pass_consent(pilot, app)
        await pilot.press("ctrl+n")
        await fill_baseline(
            pilot,
            app,
            {
                "gender": "Male",
                "age": "≤50 years",
                "city-size": ">10,000 citizens",
                "practice-type": "Solo",
                "number-of-gps": 1,
                "number-of-staff": 2,
            },
        )
        await start_interview(pilot, app)
        await pilot.press("2")
        topic = guide.topic("general-structure-delegation")
        # The head names the whole topic; the list gives every title more than one line.
        assert " ".join(plain(app, "#topic-head").split()).startswith(f"2/6 {topic.title}")
        listed = plain(app, "#topics").splitlines()
        assert len(listed) == 2 * len(guide.topics)
        for number, shown in enumerate(guide.topics):
            words = " ".join(listed[2 * number : 2 * number + 2]).split()[2:]  # icon, number
            if ":" in words[-1]:
                words.pop()  # the time spent
            words = " ".join(words).removesuffix(" ⚠")
            assert words == shown.title or (
                words.endswith("…") and shown.title.startswith(words[:-1].rstrip())
            ), words
        # Research questions: whole, or cut with an ellipsis, and a way to the rest.
        research = plain(app, "#research").splitlines()
        for line in research[:-1]:
            rq = line.removeprefix("RQ: ")
            assert rq in topic.research_questions or (
                line.endswith("…") and any(q.startswith(rq[:-1]) for q in topic.research_questions)
            )
        assert research[-1] == "… 3 more: r shows the topic in full"
        summary = plain(app, "#summary")
        assert summary.startswith("☐ Summarise (s): So, if I understand") and summary.endswith("…")
        await pilot.press("r")
        card = " ".join(str(s.content) for s in app.screen.query(Static))
        for text in [*topic.research_questions, topic.summary or "", *topic.questions[-1:]]:
            assert str(getattr(text, "text", text)) in card
        await pilot.press("escape")
        # The last question is reachable with the cursor; the summary has its key.
        questions = app.screen.query_one("#questions", OptionList)
        await pilot.press(*["down"] * (len(topic.questions) - 1))
        assert questions.get_option_at_index(questions.highlighted or 0).id == (
            f"q:{topic.questions[-1].id}"
        )
        # A marker after a long note is the last thing in the notes panel.
        await pilot.press("n", *("a long note " * 6), "enter")
        await pilot.press("q")
        notes = plain(app, "#notes").splitlines()
        assert len(notes) == 3 and notes[2].startswith("0:00 ★ quotable · General structure")
        assert notes[1].endswith("…")  # the note, cut where it does not fit


@run_async
async def test_a_topic_passed_through_is_not_in_progress_at_closing(tmp_path: Path) -> None:
    app, session, rec = new_app(tmp_path, GUIDES / "demo.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await pass_consent(pilot, app)
        await pilot.press("ctrl+n")
        await fill_baseline(
            pilot, app, {"role": "Office", "years-in-job": 2, "works-remotely": True}
        )
        await start_interview(pilot, app)
        rec.advance(3)
        await pilot.press("2")  # a stray digit, corrected at once
        rec.advance(2)
        await pilot.press("1")
        rec.advance(60)
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ClosingScreen))
        coverage = str(app.screen.query_one("#coverage-text").content)
        assert "A typical working day [dim](in progress)" in coverage
        assert "Tools you work with [dim](not started)" in coverage
        await pilot.press("b")
        await end_interview(pilot, app)
    topics = read_meta(session.path)["coverage"]["topics"]
    assert topics["tools"]["status"] == "not_started"
    assert topics["daily-work"]["status"] == "in_progress"


@run_async
async def test_enter_walks_forward_through_steps_without_fields(tmp_path: Path) -> None:
    """After Enter continued from consent, a second Enter on the participant step pressed the
    focused Back button and went back."""
    app, _session, _ = new_app(tmp_path, GUIDES / "gp-delegation-lbp.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in app.guide.consent:
            await pilot.press("space", "down")
        await pilot.press("enter")
        assert app.screen.current_step == "step-participant"
        await pilot.press("enter")
        assert app.screen.current_step == "step-baseline"


@pytest.mark.parametrize("typing", [False, True], ids=["consent screen", "typing a note"])
@run_async
async def test_a_closed_terminal_ends_the_app_though_nothing_can_be_imported(
    tmp_path: Path, monkeypatch, typing: bool
) -> None:
    """The app must leave on SIGHUP/SIGTERM even when its install is gone (a deleted clone or
    virtual environment): an import failing in the signal handler left it running, spinning on
    the dead terminal at 50 % CPU."""
    import builtins
    import sys

    app, _session, _rec = new_app(tmp_path, GUIDES / "demo.yaml")
    async with app.run_test(size=SIZE) as pilot:
        if typing:
            await pass_consent(pilot, app)
            await pilot.press("ctrl+n")
            await fill_baseline(
                pilot, app, {"role": "Office", "years-in-job": 12, "works-remotely": True}
            )
            await start_interview(pilot, app)
            await pilot.press("n", *"typed when the lid closed")

        real = builtins.__import__

        def gone(name, globals=None, locals=None, fromlist=(), level=0):
            # What is loaded still imports; nothing more can be read from the deleted files.
            loaded = sys.modules.get(name) if level == 0 else None
            if loaded is not None and all(hasattr(loaded, x) for x in fromlist or ()):
                return real(name, globals, locals, fromlist, level)
            raise ImportError(f"No module named {name!r} (the install was deleted)")

        with monkeypatch.context() as m:
            if not typing:  # nothing has opened a dialog yet
                m.delitem(sys.modules, "guide_tui.tui.screens.modals", raising=False)
            m.setattr(builtins, "__import__", gone)
            app._hangup()
        await pilot.pause()
        assert app.ended_by == "SIGHUP"
    assert app.return_code is not None  # it left
    events = read_events(_session.path)
    assert [e["data"]["kind"] for e in events if e["type"] == "warning"] == ["terminal_closed"]
    notes = [e["data"]["text"] for e in events if e["type"] == "note"]
    assert notes == (["typed when the lid closed"] if typing else [])
