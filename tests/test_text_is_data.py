"""Guide and session text is data, never markup and never terminal commands (issue 10, item 5).

Random text (Rich/Textual markup such as ``[/b]``, ``[link=x]``, ``[@click=quit]``; control
characters and escape sequences; bidirectional controls; combining marks) goes through every
text field of a guide and of a session folder, into ``check``, ``show``, the interview app
(Textual Pilot), every export format, the qdpx schema, ``sessions`` and ``study``:

- the loader refuses control characters with ``file:line:col: error:`` and warns on bidi;
- what loads is shown exactly as written (markup is not interpreted, nothing crashes);
- whatever a guide built in code or a session folder holds, no control character from it reaches
  the terminal, and every XML export stays well-formed and valid.

The real-terminal side (tmux: the pane title, the raw bytes the terminal received) is at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import shutil
import sys
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from guide_tui.cli import main
from guide_tui.errors import GuideError
from guide_tui.guide.loader import parse_guide
from guide_tui.guide.model import Guide
from guide_tui.safetext import control_characters, describe, printable, terminal_text
from guide_tui.tui.format import escape

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "exports" / "recordings" / "2026-11-02_0900_P01"

MARKUP = [
    "[/b]", "[b]", "[/]", "[link=https://example.org]", "[/link]", "[@click=app.quit]",
    "[$success]", "[LBP]", "[ b]", "[red on blue]", "\\", "\\[", "$x", "${y}", "]", "[",
    "&amp;", "<w:t>", "]]>", "%s", "{0}",
]  # fmt: skip
UNICODE = [
    "\u202e", "\u202d", "\u2066", "\u2069", "\u0301", "\u0308\u0308", "\u200b", "\u2060",
    "\ufeff", "é", "ø", "汉字", "🙂", "\u05d0\u05d1", " ",
]  # fmt: skip
CONTROLS = [
    "\x1b]0;PWNED-TITLE\x07", "\x1b]52;c;SGVsbG8=\x07", "\x1b[2J", "\x1b[31m", "\x1b", "\x07",
    "\r", "\x00", "\x08", "\x7f", "\x9b", "\x85", "\x0c", "\t", "\n", "\u2028",
]  # fmt: skip

words = st.text(alphabet="abcXYZ 12", min_size=1, max_size=4)
#: Text a guide may hold: markup and odd Unicode, no control characters.
markup_text = (
    st.lists(st.one_of(st.sampled_from(MARKUP + UNICODE), words), min_size=1, max_size=6)
    .map("".join)
    .filter(lambda s: bool(s.strip()) and not control_characters(s.strip(), one_line=True))
)
#: Anything, control characters and escape sequences included.
any_text = st.lists(
    st.one_of(st.sampled_from(MARKUP + UNICODE + CONTROLS), words), min_size=1, max_size=6
).map("".join)
#: At least one control character that the loader must refuse.
control_text = st.tuples(markup_text, st.sampled_from(CONTROLS), markup_text).map("".join)

#: Every text field of a guide: (name, whether it must be one line).
FIELDS = {
    "title": True, "version": True, "description": False, "source": False, "author": True,
    "group": True, "consent": False, "label": True, "unit": True, "option": True,
    "choice_label": True, "topic": True, "rq": False, "summary": False, "topic_note": False,
    "question": False, "question_note": False, "probe": False, "variant": False,
    "closing": False, "vocabulary": True,
}  # fmt: skip


#: Where each field is in the document ``guide_doc`` builds.
PATHS: dict[str, tuple[str | int, ...]] = {
    "title": ("title",), "version": ("version",), "description": ("description",),
    "source": ("source",), "author": ("authors", 0), "group": ("groups", 0, "label"),
    "consent": ("consent", 0, "text"), "label": ("baseline", 0, "label"),
    "unit": ("baseline", 0, "unit"), "option": ("baseline", 1, "options", 0),
    "choice_label": ("baseline", 1, "label"), "topic": ("topics", 0, "title"),
    "rq": ("topics", 0, "research_questions", 0), "summary": ("topics", 0, "summary"),
    "topic_note": ("topics", 0, "note"), "question": ("topics", 0, "questions", 0, "text"),
    "question_note": ("topics", 0, "questions", 0, "note"),
    "probe": ("topics", 0, "questions", 0, "probes", 0, "text"),
    "variant": ("topics", 0, "questions", 0, "variants", "gp"),
    "closing": ("closing", 0, "text"), "vocabulary": ("vocabulary", 0),
}  # fmt: skip


def guide_doc(text: Callable[[str], str]) -> dict[str, Any]:
    """A guide with every text field from ``text(field name)``."""
    return {
        "schema": 1,
        "id": "fuzz",
        "title": text("title"),
        "version": text("version"),
        "language": "en",
        "duration_minutes": 10,
        "description": text("description"),
        "source": text("source"),
        "authors": [text("author")],
        "groups": [{"id": "gp", "label": text("group")}],
        "consent": [{"id": "ok", "text": text("consent")}],
        "baseline": [
            {"id": "age", "label": text("label"), "type": "number", "unit": text("unit")},
            {
                "id": "kind",
                "label": text("choice_label"),
                "type": "choice",
                "options": [text("option") + " 1", text("option") + " 2"],
            },
        ],
        "topics": [
            {
                "id": "t1",
                "title": text("topic"),
                "minutes": 10,
                "research_questions": [text("rq")],
                "summary": text("summary"),
                "note": text("topic_note"),
                "questions": [
                    {
                        "id": "q1",
                        "text": text("question"),
                        "note": text("question_note"),
                        "probes": [{"id": "p1", "text": text("probe")}],
                        "variants": {"gp": text("variant")},
                    }
                ],
            }
        ],
        "closing": [{"id": "end", "text": text("closing")}],
        "vocabulary": [text("vocabulary")],
    }


def guide_yaml(text: Callable[[str], str]) -> str:
    return yaml.safe_dump(guide_doc(text), allow_unicode=True, sort_keys=False, width=10_000)


def texts_of(guide: Guide) -> list[str]:
    """Every text shown for participant group ``gp`` (the variant replaces the question)."""
    topic = guide.topics[0]
    question = topic.questions[0]
    return [
        guide.title,
        guide.version,
        guide.groups[0].label,
        guide.consent[0].text,
        guide.baseline[0].label,
        guide.baseline[0].unit or "",
        guide.baseline[1].label,
        topic.title,
        *topic.research_questions,
        topic.summary or "",
        question.text_for("gp"),
        question.probes[0].text,
        guide.closing[0].text,
    ]


def words_of(text: str) -> str:
    """What a reader sees of ``text`` in a terminal: no bidi controls, whitespace collapsed."""
    return " ".join(terminal_text(text).split())


def seen(text: str, screen: str) -> bool:
    """Every line of ``text`` appears, as written, on ``screen``."""
    shown = words_of(screen)
    return all(words_of(line) in shown for line in text.split("\n") if line.strip())


CSI = re.compile(r"\x1b\[[0-9;:?<>=]*[ -/]*[@-~]")


def terminal_controls(raw: str) -> set[str]:
    """Control characters in terminal output other than newlines and the styling sequences
    (CSI) the program itself writes: what text from the data must never add."""
    rest = CSI.sub("", raw)
    return {c for c in rest if c not in "\n\t" and (ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0)}


# -- the loader --------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(FIELDS)), control_text)
@example("title", "Study \x1b]0;PWNED-TITLE\x07")
@example("question", "Say \x1b]52;c;SGVsbG8=\x07 this")
@example("topic", "Two\nlines")
def test_control_characters_in_any_field_are_refused(field: str, value: str) -> None:
    text = guide_yaml(lambda name: value if name == field else "Plain text")
    parsed: Any = yaml.safe_load(text)
    for key in PATHS[field]:
        parsed = parsed[key]
    if not control_characters(parsed.strip(), one_line=FIELDS[field]):
        return  # YAML read NEL or U+2028 as a line break and folded it; the loader strips
    with pytest.raises(GuideError) as raised:
        parse_guide(text, "fuzz.yaml")
    problems = [p for p in raised.value.problems if p.severity == "error"]
    assert any("control character" in p.message or "one line" in p.message for p in problems)
    line = text.splitlines()
    for problem in problems:
        assert problem.line >= 1 and problem.column >= 1
        assert problem.line <= len(line)
    message = str(raised.value)
    assert message.startswith("fuzz.yaml:")
    assert not terminal_controls(message)  # quoting the guide must not command the terminal


@settings(max_examples=150, deadline=None)
@given(markup_text)
@example("Low back pain [LBP] study")
@example("x [/b] y")
@example("[link=https://example.org]x[/link]")
def test_markup_bidi_and_combining_marks_load_as_written(value: str) -> None:
    guide, warnings = parse_guide(guide_yaml(lambda _name: value), "fuzz.yaml")
    assert guide.title == value.strip()
    assert guide.topics[0].questions[0].probes[0].text == value.strip()
    assert guide.baseline[1].options == (f"{value} 1".strip(), f"{value} 2".strip())
    has_bidi = bool(re.search("[\u202a-\u202e\u2066-\u2069]", value))
    assert any("bidirectional" in w.message for w in warnings) == has_bidi


def test_check_names_the_place_and_the_character(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "osc.yaml"
    path.write_text(guide_yaml(lambda n: "A \x1b]0;PWNED-TITLE\x07" if n == "topic" else "Text"))
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "PWNED" in t)
    assert f"{path}:{line}:" in err
    assert "error: the title of a topic contains the control character U+001B (ESCAPE)" in err
    assert "\x1b" not in err and "\x07" not in err


# -- show --------------------------------------------------------------------------------------


@pytest.fixture
def wide_terminal() -> Any:
    with mock.patch.dict(os.environ, {"COLUMNS": "1000", "LINES": "100"}):
        yield


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(markup_text)
@example("Low back pain [LBP] study")
@example("x [/b] y")
@example("a\\")
def test_show_prints_every_field_literally(tmp_path: Path, wide_terminal: Any, value: str) -> None:
    path = tmp_path / "guide.yaml"
    path.write_text(guide_yaml(lambda _name: value), encoding="utf-8")
    guide, _ = parse_guide(path.read_bytes(), str(path))
    for fmt in ("text", "markdown"):
        code, out, err = run_cli(["show", str(path), "--format", fmt])
        assert (code, err) == (0, "")
        assert "\x1b" not in out
        for text in texts_of(guide):
            assert seen(text, out), (fmt, text, out)
    code, out, _ = run_cli(["show", str(path), "--group", "gp"])
    assert code == 0 and seen(guide.topics[0].questions[0].text_for("gp"), out)


def poisoned(guide: Guide, poison: Callable[[str], str]) -> Guide:
    """``guide`` with ``poison`` applied to every text (ids kept): a guide that did not come
    through the loader, as code or a future import path could build one."""

    def each(items: tuple[Any, ...], **fields: Callable[[Any], Any]) -> tuple[Any, ...]:
        return tuple(replace(i, **{k: f(getattr(i, k)) for k, f in fields.items()}) for i in items)

    def maybe(value: str | None) -> str | None:
        return poison(value) if value else value

    def texts(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(poison(v) for v in values)

    topics = tuple(
        replace(
            t,
            title=poison(t.title),
            summary=maybe(t.summary),
            note=maybe(t.note),
            research_questions=texts(t.research_questions),
            questions=tuple(
                replace(
                    q,
                    text=poison(q.text),
                    note=maybe(q.note),
                    probes=each(q.probes, text=poison),
                    variants=tuple((g, poison(w)) for g, w in q.variants),
                )
                for q in t.questions
            ),
        )
        for t in guide.topics
    )
    return replace(
        guide,
        title=poison(guide.title),
        version=poison(guide.version),
        description=maybe(guide.description),
        source=maybe(guide.source),
        authors=texts(guide.authors),
        vocabulary=texts(guide.vocabulary),
        groups=each(guide.groups, label=poison),
        consent=each(guide.consent, text=poison),
        closing=each(guide.closing, text=poison),
        baseline=each(
            guide.baseline, label=poison, unit=maybe, options=lambda o: tuple(map(poison, o))
        ),
        topics=topics,
    )


LOADED = parse_guide(guide_yaml(lambda name: f"Text of {name}"), "plain.yaml")[0]


@settings(max_examples=40, deadline=None)
@given(any_text)
@example("\x1b]0;PWNED-TITLE\x07 [/b]")
def test_show_sends_no_control_character_to_a_terminal(value: str) -> None:
    """The rendering itself, given a guide the loader never saw, into a colour terminal."""
    from rich.console import Console

    from guide_tui.guide.render import to_rich

    guide = poisoned(LOADED, lambda s: s + value)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="truecolor", width=300)
    console.print(to_rich(guide))
    assert not terminal_controls(out.getvalue())
    assert seen(f"Text of probe{printable(value)}", CSI.sub("", out.getvalue()))


# -- the interview app (Pilot) -----------------------------------------------------------------


def screen_now(app: Any) -> tuple[str, str]:
    """The screen as text, and the bytes Textual would write to the terminal for it."""
    compositor = app.screen._compositor
    text = "\n".join(strip.text for strip in compositor.render_strips())
    raw = compositor.render_full_update().render_segments(app.console)
    return text, raw


async def walk_the_interview(
    guide_file: Path, guide: Guide, tmp: Path, session_text: str
) -> list[tuple[str, str, str]]:
    """Every screen of an interview on ``guide`` (``session.json`` and a note holding
    ``session_text``): (name, screen text, terminal bytes) for each."""
    from tui_support import FakeRecorder

    from guide_tui.guide import load_guide
    from guide_tui.session.events import EventType
    from guide_tui.session.state import PARTICIPANT_CONFIRMED
    from guide_tui.session.store import Session
    from guide_tui.tui.app import make_app
    from guide_tui.tui.screens.interview import InterviewScreen

    session = Session.create(load_guide(guide_file), "P01", group="gp", root=tmp)
    session.update_meta(
        participant=f"P {session_text}", interviewer=session_text, location=session_text
    )
    fake = FakeRecorder()
    fake.warn("silence", f"Silence on {session_text}")
    app = make_app(session, guide, recorder_factory=lambda _s: fake, group="gp", cursor_blink=False)
    screens = []
    async with app.run_test(size=(220, 60)) as pilot:
        await pilot.pause()
        screens.append(("consent", *screen_now(app)))
        for step in ("step-participant", "step-baseline"):
            await app.screen._show_step(step)
            await pilot.pause()
            screens.append((step, *screen_now(app)))
        for item in guide.consent:
            app.record(EventType.CONSENT, item=item.id, given=True)
        app.record(PARTICIPANT_CONFIRMED, group="gp")
        app.record(EventType.INTERVIEW_STARTED, notes_only=False)
        app.record(EventType.TOPIC_ENTERED, topic=guide.topics[0].id)
        app.record(EventType.NOTE, text=f"Note {session_text}", started_t=0.0, topic="t1")
        app.record(EventType.MARKER, kind=session_text, topic="t1")
        await app.push_screen(InterviewScreen())
        await pilot.pause()
        screens.append(("interview", *screen_now(app)))
        app.open_closing()
        await pilot.pause()
        screens.append(("closing", *screen_now(app)))
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"topic")
        await pilot.pause(0.3)
        screens.append(("palette", *screen_now(app)))
        assert app.is_running  # nothing above ended the app
    session.close()
    return screens


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(markup_text, any_text)
@example("Low back pain [LBP] study x [/b] y", "[@click=app.quit] \x1b]0;PWNED-TITLE\x07")
def test_the_interview_shows_guide_text_literally(
    tmp_path_factory: Any, value: str, session_text: str
) -> None:
    tmp = tmp_path_factory.mktemp("run")
    path = tmp / "guide.yaml"
    path.write_text(guide_yaml(lambda _name: value), encoding="utf-8")
    guide, _ = parse_guide(path.read_bytes(), str(path))
    screens = dict(
        (name, (text, raw))
        for name, text, raw in asyncio.run(walk_the_interview(path, guide, tmp, session_text))
    )
    for name, (_text, raw) in screens.items():
        assert not terminal_controls(raw), name
    topic, question = guide.topics[0], guide.topics[0].questions[0]
    expected = {
        "consent": [guide.title, guide.version, guide.consent[0].text],
        "step-participant": [guide.groups[0].label, f"P {session_text}", session_text],
        "step-baseline": [guide.baseline[0].label, guide.baseline[0].unit or ""],
        "interview": [
            topic.title,
            *topic.research_questions,
            question.text_for("gp"),
            question.probes[0].text,
            topic.summary or "",
            f"Note {session_text}",
        ],
        "closing": [guide.closing[0].text, guide.title],
    }
    for name, texts in expected.items():
        for text in texts:
            assert seen(printable(text), screens[name][0]), (name, text, screens[name][0])


def test_guide_ids_with_dots_do_not_crash_the_wizard(tmp_path: Path) -> None:
    """Ids may hold ``.`` (``v1.2``); Textual refuses them in widget ids."""
    text = guide_yaml(lambda name: f"Text of {name}").replace("id: ok", "id: v1.2")
    text = text.replace("id: age", "id: age.years").replace("id: kind", "id: kind_of")
    path = tmp_path / "dots.yaml"
    path.write_text(text, encoding="utf-8")
    guide, _ = parse_guide(path.read_bytes(), str(path))
    assert guide.consent[0].id == "v1.2" and guide.baseline[0].id == "age.years"
    screens = asyncio.run(walk_the_interview(path, guide, tmp_path, "x"))
    assert "Text of label" in dict((n, t) for n, t, _ in screens)["step-baseline"]


def test_run_exits_non_zero_when_the_screen_crashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Markup in a title once ended the app with a traceback, and ``run`` then said "paused;
    everything so far is saved" with exit status 0. Any error that ends the app now exits 1."""
    from guide_tui.tui.app import GuideApp

    def crash(self: GuideApp, *args: Any, **kwargs: Any) -> None:
        self._return_code = 1  # what Textual records when an exception ends the app

    monkeypatch.setattr(GuideApp, "run", crash)
    monkeypatch.setattr("guide_tui.commands.run.require_terminal", lambda: None)  # no pty here
    monkeypatch.setenv("GUIDE_TUI_RECORDINGS", str(tmp_path / "recordings"))
    code = main(["run", str(ROOT / "guides" / "demo.yaml"), "-p", "P01", "--no-audio"])
    err = capsys.readouterr().err
    assert code == 1
    assert "stopped on an error" in err and "--resume" in err


def test_escape_round_trips_through_textual_markup() -> None:
    from textual.content import Content

    for text in ["[LBP]", "[$success]", "[ b]", "a\\", "\\[b]", "x [/b] y", "\\", "$x"]:
        plain = Content.from_markup(f"[b]{escape(text)}[/b]").plain
        assert plain.replace("\u2060", "") == text
    assert escape("\x1b]0;T\x07") == "␛]0;T␇"


def test_safetext_helpers() -> None:
    from guide_tui.safetext import map_text, without_surrogates, xml_text

    assert printable("a\x1b]0;T\x07\r\x7f\x9b\tb\n") == "a␛]0;T␇␍␡\ufffd\tb\n"
    assert terminal_text("\u202eevil\u202c \u2066x\u2069") == "evil x"
    assert printable("\u202e") == "\u202e"  # kept in files: right-to-left text needs them
    assert xml_text("a\x00b\x0bc\ufffe\ud800\t\n\r\x85") == "a\ufffdb\ufffdc\ufffd\ufffd\t\n\r\x85"
    assert len(xml_text("\x01" * 5)) == 5  # one for one: qdpx character offsets stay right
    guide = LOADED
    assert map_text(guide, without_surrogates) is guide  # nothing to change: the same object
    changed = map_text(guide, lambda t: t.replace("Text", "T"))
    assert changed.topics[0].questions[0].probes[0].text == "T of probe"


def test_paths_with_brackets_print_as_written(tmp_path: Path) -> None:
    store = tmp_path / "models [" / "b]"  # a closing tag: ".../models [/b]"
    store.mkdir(parents=True)
    with mock.patch.dict(os.environ, {"GUIDE_TUI_MODELS": str(store)}):
        code, out, _ = run_cli(["models", "list"])
    assert code == 0 and seen(str(store), out)


# -- exports, qdpx schema, sessions and study ----------------------------------------------------


def poison_session(folder: Path, guide_text: str, text: str) -> None:
    """Put ``text`` into every text a session folder holds; the frozen guide's texts become
    ``guide_text`` (refused by the loader if it holds control characters)."""
    doc = yaml.safe_load((folder / "guide.yaml").read_text(encoding="utf-8"))
    doc["title"] = guide_text
    doc["version"] = guide_text
    for topic in doc["topics"]:
        topic["title"] = f"{guide_text} {topic['id']}"
        for question in topic.get("questions", []):
            if isinstance(question, dict):
                question["text"] = f"{guide_text} {question.get('id', '')}"
    (folder / "guide.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    meta = json.loads((folder / "session.json").read_text(encoding="utf-8"))
    meta.update(
        participant=f"P01 {text}",
        interviewer=text,
        location=text,
        observers=[text],
        group=f"gp {text}",
    )
    meta["guide"].update(title=text, version=text)
    meta["baseline"] = {key: f"{value} {text}" for key, value in meta["baseline"].items()}
    (folder / "session.json").write_text(json.dumps(meta), encoding="utf-8")
    events = (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()
    before, end = json.loads(events[-2]), json.loads(events[-1])
    note = {**before, "seq": end["seq"], "type": "note", "data": {"text": text, "topic": None}}
    marker = {**note, "seq": end["seq"] + 1, "type": "marker", "data": {"kind": text}}
    end["seq"] += 2
    events[-1:] = [json.dumps(note), json.dumps(marker), json.dumps(end)]
    (folder / "events.jsonl").write_text("\n".join(events) + "\n", encoding="utf-8")
    transcript = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    for segment in transcript["segments"]:
        segment["text"] = f"{segment['text']} {text}"
        if segment.get("speaker"):
            segment["speaker"] = f"{segment['speaker']} {text}"
    for topic in transcript["topics"]:
        topic["title"] = f"{topic['title']} {text}"
    (folder / "transcript.json").write_text(json.dumps(transcript), encoding="utf-8")
    # the review renamed the poisoned speaker to another poisoned name
    rename = {
        "v": 1,
        "seq": 1,
        "wall": "2026-11-02T11:00:00+00:00",
        "type": "rename_speaker",
        "data": {"speaker": f"Interviewer {text}", "name": f"I {text}"},
    }
    (folder / "corrections.jsonl").write_text(json.dumps(rename) + "\n", encoding="utf-8")


def raw_controls(text: str) -> list[str]:
    """Control characters a reader's editor or terminal would act on (tab and line ends aside)."""
    return [describe(c) for _, c in control_characters(text.replace("\r\n", "\n"))]


def check_exports(files: list[Path], text: str | None = None) -> None:
    """Every export is valid; with ``text`` (what was poisoned into the session), no readable
    export holds a raw control character, and its visible parts are there."""
    import docx

    from guide_tui.export.qdpx import validate_qde

    for path in files:
        if path.suffix == ".docx":
            document = docx.Document(str(path))
            assert document.paragraphs
            readable = "\n".join(p.text for p in document.paragraphs)
        elif path.suffix == ".qdpx":
            with zipfile.ZipFile(path) as archive:
                qde = archive.read("project.qde")
                readable = qde.decode("utf-8")
                for name in archive.namelist():
                    if name.endswith(".txt"):
                        readable += archive.read(name).decode("utf-8")
            assert validate_qde(qde) == [], path
        else:
            readable = path.read_text(encoding="utf-8-sig")
            if path.suffix == ".json":
                json.loads(readable)
                continue  # the archive: JSON escapes control characters itself
        assert not raw_controls(readable), (path.name, raw_controls(readable))
        if text is not None and path.suffix != ".qdpx":
            visible = " ".join(printable(text).split())
            if visible and path.suffix in (".txt", ".docx"):  # md and vtt escape markup
                assert seen(visible, " ".join(readable.split())), (path.name, visible)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.one_of(markup_text, any_text), any_text)
@example("x [/b] y \x1b]0;PWNED-TITLE\x07", "\x00\x1b]52;c;SGVsbG8=\x07 [/b] \ud800")
@example("Low back pain [LBP] study", "\u202e[link=x]\x0c")
def test_every_export_stays_valid_and_sessions_and_study_go_on(
    tmp_path_factory: Any, wide_terminal: Any, guide_text: str, text: str
) -> None:
    from guide_tui.export import FORMATS, export_session, read_session

    recordings = tmp_path_factory.mktemp("recordings")
    folder = Path(shutil.copytree(FIXTURE, recordings / FIXTURE.name))
    shutil.copytree(FIXTURE.parent / "2026-11-09_1300_P02", recordings / "2026-11-09_1300_P02")
    poison_session(folder, guide_text, text)

    data = read_session(folder)
    check_exports(export_session(data, FORMATS, tmp_path_factory.mktemp("out")), text)
    study_out = tmp_path_factory.mktemp("study")
    code, out, err = run_cli(["export", "--study", str(recordings), "-o", str(study_out)])
    assert code == 0, err
    (written,) = study_out.glob("*.qdpx")
    check_exports([written])

    code, out, err = run_cli(["sessions", str(recordings)])
    assert code == 0, err
    assert not terminal_controls(out + err)
    assert "P02" in out and seen(f"P01 {printable(text)}", out)
    for fmt in ("text", "md", "csv"):
        code, out, err = run_cli(["study", str(recordings), "--format", fmt])
        assert code == 0, err
        assert "P02" in out
        assert not terminal_controls(out + err)  # md and csv too: printable() in every cell


def test_one_bad_session_does_not_stop_sessions_or_study(
    tmp_path: Path, wide_terminal: Any
) -> None:
    recordings = tmp_path / "recordings"
    good = Path(shutil.copytree(FIXTURE, recordings / FIXTURE.name))
    bad = Path(shutil.copytree(FIXTURE, recordings / "2026-11-03_0900_P09"))
    meta = json.loads((bad / "session.json").read_text())
    meta.update(participant="P09", duration_s=float("inf"), created="99999-99-99T99:99")
    meta["guide"]["version"] = "2 [/b]"
    meta["baseline"] = {"age_band": {"nested": ["list"]}}
    (bad / "session.json").write_text(json.dumps(meta))  # Infinity, as Python's json writes it
    (bad / "guide.yaml").write_text("title: [/b]\n")
    refused = Path(shutil.copytree(FIXTURE, recordings / "2026-11-04_0900_P10"))
    meta = json.loads((refused / "session.json").read_text())
    meta.update(participant="P10", created=10**30)  # a wrong type: read_meta refuses it by name
    (refused / "session.json").write_text(json.dumps(meta))
    code, out, err = run_cli(["sessions", str(recordings)])
    assert code == 0, err
    assert "P01" in out and "P09" in out and "2 [/b]" in out
    assert "'created' must be a text" in out + err
    code, out, err = run_cli(["study", str(recordings)])
    assert code == 0, err
    assert good.name in out or "P01" in out
    assert "P09" in out or "P09" in err


# -- the real terminal (tmux) ------------------------------------------------------------------

OSC_TITLE = "\x1b]0;PWNED-TITLE\x07"
OSC_CLIPBOARD = "\x1b]52;c;SGVsbG8=\x07"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_escape_sequences_never_reach_a_real_terminal(tmp_path: Path) -> None:
    """In tmux: ``check`` refuses a guide holding OSC 0 (window title) and OSC 52 (clipboard);
    ``show`` of a session's frozen guide holding them, ``sessions``, ``study`` and
    ``run --resume`` of a session whose session.json and events hold them write none of them
    to the terminal (the raw bytes it received are read with ``pipe-pane``), and the pane keeps
    its title."""
    import subprocess
    import time

    recordings = tmp_path / "recordings"
    resumable = Path(shutil.copytree(FIXTURE, recordings / FIXTURE.name))
    poison_session(resumable, "Guide [/b] [LBP]", f"Said {OSC_CLIPBOARD} {OSC_TITLE}")
    meta = json.loads((resumable / "session.json").read_text())
    meta["status"] = "in_progress"
    (resumable / "session.json").write_text(json.dumps(meta))
    events = (resumable / "events.jsonl").read_text().splitlines()
    kept = [e for e in events if not re.search(r"\"(session_ended|closing_\w+)\"", e)]
    (resumable / "events.jsonl").write_text("\n".join(kept) + "\n")
    frozen = Path(shutil.copytree(FIXTURE, recordings / "2026-11-03_0900_P02"))
    poison_session(frozen, f"Guide {OSC_TITLE}", f"Said {OSC_CLIPBOARD}")
    evil = tmp_path / "evil.yaml"
    evil.write_text(
        guide_yaml(lambda n: f"T {OSC_TITLE}" if n == "title" else f"Q {OSC_CLIPBOARD}")
    )

    script = Path(sys.executable).with_name("guide-tui")
    tool = str(script) if script.exists() else f"{sys.executable} -m guide_tui"
    go = tmp_path / "go"
    runner = tmp_path / "steps.sh"
    runner.write_text(
        "#!/bin/sh\n"
        f"until [ -e {go} ]; do sleep 0.05; done\n"  # until the pane's output is captured
        f"cd {ROOT}\nexport TERM=xterm-256color PYTHONPATH={ROOT}\nunset COLUMNS LINES\n"
        f"{tool} check {evil}; echo CHECK=$?\n"
        f"{tool} show {frozen}/guide.yaml; echo SHOW=$?\n"
        f"{tool} sessions {recordings}; echo SESSIONS=$?\n"
        f"{tool} study {recordings}; echo STUDY=$?\n"
        f"{tool} run --resume {resumable} --no-audio; echo RUN=$?\n"
        "sleep 60\n"
    )
    runner.chmod(0o700)
    raw_log = tmp_path / "terminal.raw"
    socket = str(tmp_path / "tmux.sock")

    def tmux(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", socket, *args], capture_output=True, text=True, timeout=10
        ).stdout

    def wait_for(text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = tmux("capture-pane", "-t", "t", "-p")
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{screen}")

    tmux("new-session", "-d", "-s", "t", "-x", "160", "-y", "50", str(runner))
    try:
        title_before = tmux("display-message", "-t", "t", "-p", "#{pane_title}")
        tmux("pipe-pane", "-t", "t", "-o", f"cat >> {raw_log}")
        go.touch()
        wait_for("─ Notes ─")  # the resumed interview
        wait_for("Said ␛]52;c;SGVsbG8=␇ ␛]0;PWNED-TITLE␇")  # the note, as text
        tmux("send-keys", "-t", "t", "C-q")
        wait_for("Leave the interview?")
        tmux("send-keys", "-t", "t", "y")
        wait_for("RUN=0")
        title_after = tmux("display-message", "-t", "t", "-p", "#{pane_title}")
    finally:
        subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True)
    raw = raw_log.read_bytes()
    for step in (b"CHECK=1", b"SHOW=1", b"SESSIONS=0", b"STUDY=0", b"RUN=0"):
        assert step in raw
    assert "PWNED" not in title_after and title_after == title_before
    assert b"\x1b]0;PWNED" not in raw and b"\x1b]52;" not in raw
    assert "␛]0;PWNED-TITLE␇".encode() in raw  # shown, as text
