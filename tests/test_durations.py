"""One interview duration everywhere: from the interview's start to its end on the recording clock.

A session with 1:19 of consent, baseline and microphone check before a 3:50 interview (what a
field test saw as "5:09") must read 3:50 in ``sessions``, the export header, the study's sessions
table and COREQ item 21, and the live clock of the interview screen must agree.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers_session import write_guide

from guide_tui.export.session_data import read_session
from guide_tui.export.writers import session_facts
from guide_tui.session.clock import FrozenClock
from guide_tui.session.events import EventType
from guide_tui.session.state import InterviewState, interview_seconds
from guide_tui.session.store import Session, list_sessions
from guide_tui.study.report import load_study

PRE_INTERVIEW = 79.0
INTERVIEW = 230.0


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    guide = write_guide(tmp_path)
    root = tmp_path / "recordings"
    clock = FrozenClock(0.0)
    with Session.create(guide, "P01", group="gp", root=root, clock=clock) as session:
        session.append(EventType.CONSENT, item="audio", given=True)
        clock.advance(PRE_INTERVIEW)
        session.append(EventType.INTERVIEW_STARTED)
        session.append(EventType.TOPIC_ENTERED, topic="role")
        clock.advance(INTERVIEW)
        session.append(EventType.SESSION_ENDED)
        # As versions before this fix wrote it: wall time since launch.
        session.update_meta(status="ended", duration_s=PRE_INTERVIEW + INTERVIEW)
    return root


def test_interview_seconds_counts_the_interview_only(recordings: Path) -> None:
    (folder,) = recordings.iterdir()
    data = read_session(folder)
    assert interview_seconds(data.events) == INTERVIEW
    assert data.duration_s() == INTERVIEW
    state = InterviewState.from_events(data.guide, data.events)  # type: ignore[arg-type]
    assert state.elapsed() == INTERVIEW  # the interview screen's clock: the same measure


def test_interview_seconds_of_an_unfinished_or_unstarted_session(tmp_path: Path) -> None:
    guide = write_guide(tmp_path)
    clock = FrozenClock(0.0)
    with Session.create(guide, "P02", root=tmp_path / "r", clock=clock) as session:
        clock.advance(40.0)
        assert interview_seconds(session.events) is None  # still at consent
        session.append(EventType.INTERVIEW_STARTED)
        clock.advance(12.5)
        session.append(EventType.NOTE, text="crash after this")
        assert interview_seconds(session.events) == 12.5


def test_sessions_exports_and_study_show_the_interview_duration(recordings: Path) -> None:
    (summary,) = list_sessions(recordings)
    assert summary.duration_s == INTERVIEW

    (folder,) = recordings.iterdir()
    facts = dict(session_facts(read_session(folder)))
    assert facts["Duration"] == "00:03:50"

    study = load_study(recordings)
    (row,) = study.table("sessions").rows
    minutes = float(re.findall(r"[\d.]+", row[4])[0])
    assert minutes == pytest.approx(INTERVIEW / 60, abs=0.5), row[4]  # 4, not 5
    assert any("recording clock" in note for note in study.table("sessions").notes)
    coreq = {r[1]: r[2] for r in study.table("coreq").rows}
    assert coreq["Duration"].startswith("min 4, median 4, max 4 minutes")
    assert "recording clock" in coreq["Duration"]
