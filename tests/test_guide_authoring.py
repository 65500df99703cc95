"""What guide authors meet (issue 14, item 16): YAML mistakes explained in plain words at their
line, per-group wordings for summaries and closing prompts, and shipped guides that cite."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from guide_tui.errors import GuideError
from guide_tui.guide import load_guide
from guide_tui.guide.loader import parse_guide
from guide_tui.guide.render import to_markdown

ROOT = Path(__file__).resolve().parents[1]
GUIDES = ROOT / "guides"

JARGON = ("<block", "token", "mapping values", "simple key", "scalar", "stream", "expected")

HEAD = """\
id: t
title: Test guide
version: 1
language: en
duration_minutes: 10
"""


@pytest.mark.parametrize(
    ("body", "line", "advice"),
    [
        ("topics:\n\t- title: A\n", 7, "tab character"),
        (
            "topics:\n  - title: Work: a day\n    questions: [Q?]\n",
            7,
            "put the whole text in quotes",
        ),
        (
            "topics:\n  - title: A\n    questions:\n      - text: Q\n     probes: [a]\n",
            10,
            "indented",
        ),
        ("topics:\n  - title: A\n    questions:\n    - text: Q\n   - text: R\n", 10, "same column"),
        ('closing:\n  - "Anything to add?\n', 7, "never closed"),
        ("topics\n  - title: A\n", 6, "without ':'"),
        ("authors: [A, B\ntopics: []\n", 6, "not closed with ']'"),
        ("topics: - title: A\n", 6, "start the list on the next line"),
        ('closing:\n  - "Anything" to add?\n', 7, "text after a closing quote"),
    ],
    ids=[
        "tab",
        "colon-in-text",
        "mapping-indent",
        "list-indent",
        "open-quote",
        "no-colon",
        "open-bracket",
        "dash-after-key",
        "text-after-quote",
    ],
)
def test_yaml_mistakes_are_explained_in_plain_words(body: str, line: int, advice: str) -> None:
    with pytest.raises(GuideError) as info:
        parse_guide(HEAD + body, "g.yaml")
    (problem,) = info.value.problems
    assert problem.line == line, str(problem)
    assert advice in problem.message, str(problem)
    assert not any(word in problem.message for word in JARGON), str(problem)
    assert str(problem).startswith(f"g.yaml:{line}:")


def test_check_command_prints_the_advice_with_file_line_column(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(HEAD + "topics:\n  - title: Work: a day\n    questions: [Q?]\n")
    done = subprocess.run(
        [sys.executable, "-m", "guide_tui", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert f"{path}:7:16" in output and "quotes" in output and "Traceback" not in output


GROUPED = HEAD + textwrap.dedent(
    """\
    groups:
      - {id: gp, label: GP}
      - {id: social-worker, label: Social worker}
    topics:
      - id: role
        title: Role
        questions:
          - text: Your role for the patient?
            variants: {social-worker: Your role for the citizen?}
        summary:
          text: So your role for the patient is ... Is that right?
          variants:
            social-worker: So your role for the citizen is ... Is that right?
    closing:
      - id: thanks
        text: Thank you; is there anything about your patients to add?
        variants:
          social-worker: Thank you; is there anything about the citizens to add?
      - Do you have any questions?
    """
)


def test_summary_and_closing_prompts_have_per_group_variants() -> None:
    guide, _warnings = parse_guide(GROUPED, "g.yaml")
    topic = guide.topic("role")
    assert topic.summary_for("gp") == "So your role for the patient is ... Is that right?"
    assert (
        topic.summary_for("social-worker") == "So your role for the citizen is ... Is that right?"
    )
    assert topic.summary_for(None) == topic.summary
    thanks, questions = guide.closing
    assert "citizens" in thanks.text_for("social-worker") and "patients" in thanks.text_for("gp")
    assert questions.text_for("social-worker") == "Do you have any questions?"
    for_worker = to_markdown(guide, "social-worker")
    assert "So your role for the citizen" in for_worker and "patient" not in for_worker
    everyone = to_markdown(guide)
    assert "*Social worker:* So your role for the citizen" in everyone


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("social-worker: So your role for the citizen", "unknown key 'dentist'"),
        ("text: So your role for the patient", "did you mean 'text'"),
    ],
)
def test_summary_variant_mistakes_are_located(change: str, message: str) -> None:
    broken = GROUPED.replace(
        change,
        "dentist: So your role for the citizen" if "social" in change else "txt: So",
        1,
    )
    with pytest.raises(GuideError) as info:
        parse_guide(broken, "g.yaml")
    assert any(message in p.message for p in info.value.problems), info.value.problems


def test_social_worker_summaries_speak_of_citizens_not_patients() -> None:
    guide = load_guide(GUIDES / "cross-sectoral-lbp.yaml")
    for topic in guide.topics_for("social-worker"):
        wording = " ".join(q.text_for("social-worker") for q in topic.questions)
        summary = topic.summary_for("social-worker") or ""
        if "citizen" in wording:
            assert "patient" not in summary, (topic.id, summary)
    text = to_markdown(guide, "social-worker")
    summaries = [line for line in text.splitlines() if "Summarise" in line]
    assert summaries and not any("patient" in line for line in summaries)


def test_the_tui_shows_the_summary_for_the_participants_group(tmp_path: Path) -> None:
    from textual.content import Content
    from textual.widgets import Static
    from tui_support import FakeRecorder

    from guide_tui.session.store import Session
    from guide_tui.tui.app import make_app
    from guide_tui.tui.screens.interview import QuestionList

    guide = load_guide(GUIDES / "cross-sectoral-lbp.yaml")
    session = Session.create(guide, "SW1", group="social-worker", root=tmp_path / "rec")
    for item in guide.consent:
        session.append("consent", item=item.id, given=True)
    session.append("interview_started")
    session.append("topic_entered", topic="course-of-consultation")
    app = make_app(
        session,
        guide,
        recorder_factory=lambda _s: FakeRecorder(),
        group="social-worker",
        resumed=True,
        cursor_blink=False,
    )
    shown: list[str] = []

    async def look() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.3)
            options = app.screen.query_one(QuestionList)
            shown.extend(
                str(options.get_option_at_index(i).prompt) for i in range(options.option_count)
            )
            summary = app.screen.query_one("#summary", Static).content  # under the list
            text = summary.plain if isinstance(summary, Content) else str(summary)
            shown.append(" ".join(text.split()))
            await app.run_action("quit_session")
            await pilot.press("y")

    asyncio.run(look())
    session.close()
    summary = next(text for text in shown if "Summarise" in text)
    assert "citizen on sick leave" in summary and "patient" not in summary


def test_shipped_guide_sources_are_citations() -> None:
    for path in sorted(GUIDES.glob("*.yaml")):
        guide = load_guide(path)
        if guide.source is None:
            continue
        assert "seed" not in guide.source.lower(), path.name
    gp = load_guide(GUIDES / "gp-delegation-lbp.yaml")
    assert gp.source is not None
    assert gp.source.startswith('Table 2 ("Interview guide")')
    assert "doi:10.21203/rs.2.11548/v1" in gp.source
    assert "R.H.K., J.L.T., C.A.A., T.A. and A.R." in gp.source
