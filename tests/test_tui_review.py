"""``guide-tui review`` (issue 13): the rows, the screen's keys and playback that follows the
cursor, through Textual's Pilot with a player that only records what it is asked (the real player
is tested against the virtual audio device in test_playback.py and test_tui_tmux.py)."""

from __future__ import annotations

import asyncio
import functools
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tui_support import FakePlayer

from guide_tui.cli import main
from guide_tui.commands.review import build_review_app
from guide_tui.errors import GuideTuiError
from guide_tui.export import read_session
from guide_tui.export.writers import transcript_model
from guide_tui.transcript.review import Row, review_rows
from guide_tui.tui.screens.review import ReviewScreen, TranscriptView, make_review_app

FIXTURES = Path(__file__).parent / "fixtures" / "exports" / "recordings"
COMPLETE = FIXTURES / "2026-11-02_0900_P01"
UNTRANSCRIBED = FIXTURES / "2026-11-09_1300_P02"


def run_async(test: Callable[..., Any]) -> Callable[..., None]:
    """Run an ``async def`` test with ``asyncio.run`` (no async pytest plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


def marked_copy(tmp_path: Path) -> Path:
    """The complete fixture session with places that need a look: an unsure word (segment 3),
    an unsure speaker (segment 6) and speech with no words at 104.5-107.5 s."""
    folder = Path(shutil.copytree(COMPLETE, tmp_path / COMPLETE.name))
    path = folder / "transcript.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    seg = data["segments"][3]  # "I hope it helps us use our nurses better." 15.6-19.5
    texts = seg["text"].split()
    step = (seg["end"] - seg["start"]) / len(texts)
    seg["words"] = [
        {
            "start": round(seg["start"] + i * step, 2),
            "end": round(seg["start"] + (i + 1) * step, 2),
            "word": " " + w,
            "probability": 0.1 if i == 1 else 0.9,
        }
        for i, w in enumerate(texts)
    ]
    data["segments"][6]["speaker_confidence"] = 0.4
    data["untranscribed"] = [{"start": 104.5, "end": 107.5}]
    path.write_text(json.dumps(data), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> list[Row]:
    folder = marked_copy(tmp_path_factory.mktemp("review"))
    return review_rows(transcript_model(read_session(folder)))


def _app(rows, player=None, **kwargs):
    return make_review_app(
        rows,
        title="P01",
        duration=118.0,
        player_factory=(lambda: player) if player is not None else None,
        poll_interval=0.02,
        **kwargs,
    )


def test_rows_follow_the_model(rows) -> None:
    kinds = [r.kind for r in rows]
    assert kinds[0] == "heading" and "turn" in kinds
    turns = [r for r in rows if r.kind == "turn"]
    assert all(r.id and r.id.startswith("t") for r in turns)
    assert turns == sorted(turns, key=lambda r: r.start)
    # what the exports mark is what the review points at
    looks = {k for r in rows for k in r.look}
    assert {"uncertain", "speaker", "untranscribed"} <= looks
    for r in rows:
        if "uncertain" in r.look:
            assert "?)" in r.text and "unsure words" in r.meta


@run_async
async def test_cursor_moves_and_playback_follows(rows) -> None:
    player = FakePlayer()
    app = _app(rows, player)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        view = screen.query_one(TranscriptView)
        first = view.cursor
        assert rows[first].kind == "turn"
        await pilot.press("down")
        second = view.cursor
        assert second > first and rows[second].selectable
        assert player.calls[-1] == ("seek", rows[second].start)
        await pilot.press("f5")
        assert player.playing
        await pilot.press("f5")
        assert not player.playing
        await pilot.press("enter")  # the turn, from its start to its end
        assert player.calls[-1] == ("play", rows[second].start, rows[second].end)
        # the audio moves on: the highlight and the cursor go with it
        third = screen._selectable(second + 1, 1)
        player.position = rows[third].start + 0.1
        await pilot.pause(0.1)
        assert view.playing_row == third and view.cursor == third
        await pilot.press("f6")
        assert player.calls[-1] == ("skip", -3.0)
        await pilot.press("f8")
        assert player.speed == 0.9
        status = str(screen.query_one("#topbar").render())
        assert "0.9×" in status and "of 01:58" in status


@run_async
async def test_next_place_to_check(rows) -> None:
    app = _app(rows, FakePlayer())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        view = app.screen.query_one(TranscriptView)
        looks = [i for i, r in enumerate(rows) if r.look and i > view.cursor]
        await pilot.press("n")
        assert view.cursor == looks[0]
        await pilot.press("N")
        if any(r.look for r in rows[: looks[0]]):
            assert view.cursor < looks[0]


@run_async
async def test_play_key_is_configurable(rows) -> None:
    player = FakePlayer()
    app = _app(rows, player, play_pause="f4")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        assert not player.playing  # the default key no longer plays once remapped
        await pilot.press("f4")
        assert player.playing
        keys = str(app.screen.query_one("#keys").render())
        assert "f4" in keys and "f5" not in keys


@run_async
async def test_without_audio_it_is_a_reader(rows) -> None:
    def broken():
        raise GuideTuiError("this session has no audio to play")

    app = make_review_app(rows, title="P01", duration=118.0, player_factory=broken)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("down", "f5")
        status = str(app.screen.query_one("#topbar").render())
        assert "No audio" in status


@run_async
async def test_help_lists_the_review_keys(rows) -> None:
    app = _app(rows, FakePlayer())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "Play or pause" in text and "Go straight to topic" not in text


def test_session_without_transcript_is_one_line(capsys) -> None:
    assert main(["review", str(UNTRANSCRIBED)]) != 0
    err = capsys.readouterr().err
    assert "no transcript.json yet" in err and err.count("\n") == 1


def test_build_from_a_session_folder(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(COMPLETE, tmp_path / COMPLETE.name))
    app = build_review_app(folder)
    assert isinstance(app.review_screen, ReviewScreen)


@run_async
async def test_the_first_frame_comes_before_the_model_and_keys_wait_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``guide-tui review`` (defer=True): the screen is up, saying "loading transcript…", while
    the model is built off the UI thread; its rows are then those of a direct build, and a key
    pressed meanwhile does nothing (no rows to act on) instead of failing."""
    import threading

    from guide_tui.transcript import review as review_module

    folder = marked_copy(tmp_path)
    expected = build_review_app(folder, read_only=True).review_screen.rows
    gate = threading.Event()
    real = review_module.build_model

    threads: list[threading.Thread] = []

    def slow_build(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        gate.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(review_module, "build_model", slow_build)
    app = build_review_app(folder, defer=True)
    app.review_screen._player_factory = None
    screen = app.review_screen
    assert screen.transcript_loading and screen.rows == []
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "loading transcript" in str(screen.query_one("#topbar").render())
        assert not screen.loading  # Textual's own indicator would hide the screen
        await pilot.press("r", "down", "n")  # ignored while loading
        assert screen.transcript_loading
        gate.set()
        for _ in range(200):
            if not screen.transcript_loading:
                break
            await pilot.pause(0.02)
        assert not screen.transcript_loading
        assert threads[0] is not threading.main_thread()  # built off the UI thread
        assert screen.rows == expected
        view = screen.query_one(TranscriptView)
        assert view.rows == expected and expected[view.cursor].kind == "turn"
        assert "reviewed 00:00 of" in str(screen.query_one("#topbar").render())
        await pilot.press("r")  # keys work now
        await pilot.pause()
    assert [c["type"] for c in _corrections(folder)] == ["reviewed"]


# -- corrections -------------------------------------------------------------------------------


def _corrections(folder: Path) -> list[dict[str, Any]]:
    path = folder / "corrections.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _export_md(folder: Path, fmt: str = "md") -> str:
    from guide_tui.export import export_session

    out = folder / "exports"
    out.mkdir(exist_ok=True)
    (written,) = export_session(read_session(folder), [fmt], out)
    return Path(written).read_text(encoding="utf-8-sig")


def _go_to(app, text: str) -> int:
    view = app.screen.query_one(TranscriptView)
    return next(i for i, r in enumerate(view.rows) if text in r.text)


@run_async
async def test_edits_become_corrections_and_reach_the_exports(tmp_path: Path) -> None:
    folder = marked_copy(tmp_path)
    transcript_before = (folder / "transcript.json").read_bytes()
    app = build_review_app(folder)
    app.review_screen._player_factory = None  # no audio device needed to edit
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        screen._select(_go_to(app, "Why now?"))
        await pilot.press("e")
        await pilot.pause()
        area = app.screen.query_one("#edit-text")
        area.text = "Why now, of all times?"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert any("of all times" in r.text for r in screen.rows)
        # rename a speaker for the whole session
        screen._select(_go_to(app, "of all times"))
        await pilot.press("S")
        await pilot.pause()
        name = app.screen.query_one("#name-input")
        name.value = "Researcher"
        await pilot.press("enter")
        await pilot.pause()
        assert {r.speaker for r in screen.rows if r.kind == "turn"} >= {"Researcher"}
        assert "Interviewer" not in {r.speaker for r in screen.rows}
        # mark reviewed: progress in the status line
        await pilot.press("r")
        await pilot.pause()
        assert "reviewed 00:01 of 01:58" in str(screen.query_one("#topbar").render())
        # undo withdraws the latest (the reviewed mark), nothing is deleted
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert "reviewed 00:00 of" in str(screen.query_one("#topbar").render())
    lines = _corrections(folder)
    assert [c["type"] for c in lines] == ["edit_text", "rename_speaker", "reviewed", "undo"]
    assert lines[0]["data"]["original"] == "Why now?"
    assert (folder / "transcript.json").read_bytes() == transcript_before
    for fmt in ("md", "txt"):
        text = _export_md(folder, fmt)
        assert "Why now, of all times?" in text and "Researcher" in text, fmt
    assert "Why now, of all times?" in _qdpx_text(folder)


def _qdpx_text(folder: Path) -> str:
    """Every text file inside the session's qdpx (project XML and the transcript source)."""
    import zipfile

    from guide_tui.export import export_session

    out = folder / "exports"
    out.mkdir(exist_ok=True)
    (written,) = export_session(read_session(folder), ["qdpx"], out)
    with zipfile.ZipFile(written) as archive:
        return "\n".join(
            archive.read(name).decode("utf-8", "replace")
            for name in archive.namelist()
            if name.endswith((".txt", ".qde"))
        )


@run_async
async def test_topic_boundary_moves_to_the_playback_position(tmp_path: Path) -> None:
    folder = marked_copy(tmp_path)
    app = build_review_app(folder)
    player = FakePlayer()
    app.review_screen._player_factory = lambda: player
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        screen = app.screen
        visit = screen.document.nearest_boundary(25.0)
        assert visit is not None and visit.start == pytest.approx(36.2)
        player.position = 20.0  # "Why now?" belongs to the next topic
        await pilot.press("b")
        await pilot.pause()
        moved = next(v for v in screen.document.model.visits if v.topic == visit.topic)
        assert moved.start == pytest.approx(20.0, abs=0.05)
    (line,) = _corrections(folder)
    assert line["type"] == "move_topic" and line["data"]["t"] == 20.0
    md = _export_md(folder)
    head = md.index(visit.title)
    assert md.index("Why now?") > head > md.index("nurses better")
    from guide_tui.export import export_session
    from guide_tui.export.refi_reader import read_qdpx

    (written,) = export_session(read_session(folder), ["qdpx"], folder / "exports")
    project = read_qdpx(written)
    (coded,) = project.coded_text(project.code_by_name(visit.title).guid)
    assert coded.startswith("[00:00:20] Interviewer: Why now?")  # the topic's code moved too


def test_read_only_review_writes_nothing(tmp_path: Path) -> None:
    folder = marked_copy(tmp_path)
    app = build_review_app(folder, read_only=True)
    actions = {b.action for b in app.review_screen.BINDINGS}
    assert "edit" not in actions and "undo" not in actions
    assert not (folder / "corrections.jsonl").exists()


@run_async
async def test_split_at_the_playback_position_and_merge(tmp_path: Path) -> None:
    folder = marked_copy(tmp_path)  # segment 3 has timed words: "I hope it helps ..." 15.6-19.5
    app = build_review_app(folder)
    player = FakePlayer()
    app.review_screen._player_factory = lambda: player
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        screen = app.screen
        row = _go_to(app, "delegation is something")
        screen._select(row)
        before = len([r for r in screen.rows if r.kind == "turn"])
        player.position = 15.6  # "I" of "I hope it helps us ..."
        await pilot.press("x")
        await pilot.pause()
        turns = [r for r in screen.rows if r.kind == "turn"]
        assert len(turns) == before + 1
        new = next(r for r in turns if r.start == pytest.approx(15.6))
        assert new.text.startswith("I (hope?) it helps")
        assert "**[00:00:15] P01:** I (hope?) it helps" in _export_md(folder)
        screen._select(screen.rows.index(new))
        await pilot.press("m")
        await pilot.pause()
        assert len([r for r in screen.rows if r.kind == "turn"]) == before
    assert [c["type"] for c in _corrections(folder)] == ["split_turn", "merge_turns"]
    assert "[00:00:15]" not in _export_md(folder)  # one paragraph again


@run_async
async def test_enter_a_topic_at_the_playback_position(tmp_path: Path) -> None:
    folder = marked_copy(tmp_path)
    app = build_review_app(folder)
    player = FakePlayer()
    app.review_screen._player_factory = lambda: player
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        screen = app.screen
        topic, title = list(screen.document.titles.items())[-1]
        player.position = 59.6  # "And how are they trained?"
        await pilot.press("T")
        await pilot.pause()
        await pilot.press("end", "enter")
        await pilot.pause()
        visit = screen.document.model.visit_at(60.0)
        assert visit is not None and visit.topic == topic
    (line,) = _corrections(folder)
    assert line["type"] == "enter_topic" and line["data"] == {"topic": topic, "t": 59.6}
    md = _export_md(folder)
    assert md.index("And how are they trained?") > md.index(title, md.index("Which tasks"))


@run_async
async def test_tick_a_question_at_the_playback_position(tmp_path: Path) -> None:
    folder = marked_copy(tmp_path)
    app = build_review_app(folder)
    player = FakePlayer()
    app.review_screen._player_factory = lambda: player
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        screen = app.screen
        codes_before = len(screen.document.model.codes)
        player.position = 62.5  # an answer in the delegation topic
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("enter")  # the topic's first question
        await pilot.pause()
        assert len(screen.document.model.codes) == codes_before + 1
    (line,) = _corrections(folder)
    assert line["type"] == "tick" and line["data"]["kind"] == "question_asked"
    assert line["data"]["topic"] == "delegation" and line["data"]["t"] == 62.5


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[review]\nplay_pause = "f5 f6"\n', "play_pause must be key names"),
        ("[review]\nrewind = 99\n", "rewind must be seconds"),
        ('review = "f4"\n', "[review] must be a table"),
    ],
)
def test_bad_review_settings_are_one_line(tmp_path: Path, monkeypatch, capsys, toml, message):
    (tmp_path / "config.toml").write_text(toml, encoding="utf-8")
    monkeypatch.setenv("GUIDE_TUI_CONFIG_DIR", str(tmp_path))
    folder = marked_copy(tmp_path)
    assert main(["review", str(folder)]) != 0
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_configured_play_key(tmp_path: Path, monkeypatch) -> None:
    from guide_tui.commands.review import review_settings

    (tmp_path / "config.toml").write_text('[review]\nplay_pause = "f4"\nrewind = 2\n')
    monkeypatch.setenv("GUIDE_TUI_CONFIG_DIR", str(tmp_path))
    assert review_settings() == ("f4", 2.0)


# -- the rebuild after a correction reuses the engine's words ----------------------------------


def _random_corrections(words: list[Any], choices: list[tuple[int, int, int, str]]) -> list[dict]:
    """Correction lines built from (kind, word index, length, text) choices over ``words``."""
    kinds = ("edit_text", "split_turn", "merge_turns", "set_speaker", "rename_speaker")
    kinds += ("reviewed", "tick", "undo", "move_topic")
    out: list[dict[str, Any]] = []
    for seq, (kind_i, at, length, text) in enumerate(choices):
        kind = kinds[kind_i % len(kinds)]
        first = words[at % len(words)]
        span = words[at % len(words) : at % len(words) + 1 + length % 4]
        original = " ".join(w.text for w in span)
        data: dict[str, Any]
        if kind == "edit_text":
            data = {"start": first.start, "end": span[-1].end, "original": original, "text": text}
        elif kind in ("split_turn", "merge_turns"):
            data = {"at": first.start, "word": first.text}
        elif kind == "set_speaker":
            data = {"start": first.start, "end": span[-1].end, "original": original}
            data["speaker"] = text or "P01"
        elif kind == "rename_speaker":
            data = {"speaker": first.speaker or "Interviewer", "name": text or "R1"}
        elif kind == "reviewed":
            data = {"start": first.start, "end": span[-1].end}
        elif kind == "tick":
            data = {"kind": "question_asked", "t": first.start}
        elif kind == "move_topic":
            data = {"topic": None, "from_t": first.start, "t": span[-1].end}
        else:
            data = {"undoes": max(0, seq - 1 - length)}
        out.append({"v": 1, "seq": seq, "wall": "", "type": kind, "data": data})
    return out


@pytest.fixture(scope="module")
def marked_document(tmp_path_factory) -> Any:
    folder = marked_copy(tmp_path_factory.mktemp("engine"))
    return build_review_app(folder, read_only=True).review_screen.document


@given(
    choices=st.lists(
        st.tuples(
            st.integers(0, 50),
            st.integers(0, 10_000),
            st.integers(0, 7),
            st.sampled_from(["", "well", "the nurses", "P02", "Ms Aarhus"]),
        ),
        max_size=8,
    )
)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_a_rebuild_with_the_kept_engine_words_is_a_full_rebuild(marked_document, choices) -> None:
    """The review keeps the engine's words across rebuilds (``engine=``): any sequence of
    corrections gives the same model and rows as building everything from scratch, and no
    rebuild changes the kept words for the next."""
    from guide_tui.transcript.model import build_model, engine_words
    from guide_tui.transcript.review import review_rows

    document = marked_document
    kept = engine_words(document.transcript)
    assert document._engine == kept  # unchanged by every earlier example's rebuilds
    corrections = _random_corrections(list(kept), choices)
    args = (document.transcript, document.events, corrections)
    fast = build_model(*args, titles=document.titles, engine=document._engine)
    full = build_model(*args, titles=document.titles)
    assert fast == full
    assert review_rows(fast) == review_rows(full)
    assert [r.turn for r in review_rows(fast)] == [r.turn for r in review_rows(full)]
