"""Suspect spans of a window's first decode, decoded again on their own (issue 11: no speech
hidden under a loop or a guess, no text invented over speech no one can make out).

Pure functions on synthetic word timelines; the same rules on real tiny.en output are tested in
test_transcribe_fidelity.py (a reversed turn in several voices)."""

from __future__ import annotations

from dataclasses import replace

from guide_tui.transcribe.runner import _agreed, _recheck, _suspects
from guide_tui.transcribe.types import Segment, Word


def _w(spec: str, start: float, p: float = 0.9, step: float = 0.4) -> tuple[Word, ...]:
    return tuple(
        Word(start + i * step, start + i * step + step * 0.8, f" {t}", p)
        for i, t in enumerate(spec.split())
    )


def _seg(words: tuple[Word, ...], flags: tuple[str, ...] = ()) -> Segment:
    return Segment(
        words[0].start,
        words[-1].end,
        "".join(w.word for w in words).strip(),
        words=words,
        flags=flags,
    )


def _text(segments: list[Segment]) -> str:
    return " ".join(s.text for s in segments)


MI_LOOP = _w("Mi " + "mi " * 30, 13.0, p=0.9, step=0.5)  # covers 13-28 s


def test_a_loop_over_real_speech_is_replaced_by_what_two_fresh_decodes_agree_on() -> None:
    """tiny.en wrote "Mi-mi-mi…" from a reversed turn on through two real turns (voice D): the
    loop covered their audio, so the stretch check never saw it."""
    before = _seg(_w("to discuss difficult cases.", 10.0))
    segments = [before, _seg((Word(13.0, 13.5, " Mi", 0.0), *MI_LOOP[1:]))]
    (span,) = _suspects(segments)
    assert span.gram == ("mi",) and span.head is None  # the first copy is a guess too (p 0.0)
    first = [
        _w("It's a new mega, mega, roots in the shape", 13.7),
        _w("Let us move on to training,", 19.3),
    ]
    second = _w("and the future of the future", 13.5) + _w("Let us move on to training.", 19.3)
    out = _recheck(segments, span, first, list(second))
    assert _text(out) == "to discuss difficult cases. Let us move on to training,"
    assert "redecoded" in out[-1].flags and out[0] is before


def test_a_loop_a_fresh_decode_repeats_is_speech_said_again_and_again() -> None:
    said = _w("We measure blood pressure. " * 5, 1.0, p=0.8, step=0.4)
    segments = [_seg(said)]
    (span,) = _suspects(segments)
    assert span.gram == ("we", "measure", "blood", "pressure")
    first = [_w("We measure blood pressure. " * 4, 2.6, p=0.8)]
    assert _recheck(segments, span, first, []) is segments
    # Up to a misheard word, or copies cut where the fresh decode started (real tiny.en:
    # "we measured blood pressure" four times).
    for phrase in ("We measured blood pressure. ", "pressure, we measure blood "):
        assert _recheck(segments, span, [_w(phrase * 4, 2.6, p=0.8)], []) is segments
    # Another loop is not a confirmation.
    other = [_w("Mi mi mi mi mi mi mi", 2.6, p=0.8)]
    assert _recheck(segments, span, other, []) is not segments


def test_a_loop_nothing_confirms_keeps_its_first_copy_marked_over_its_own_words_only() -> None:
    """The copies' audio is then reported untranscribed (a collapsed loop covers only its span)."""
    copies = _w("thank you " * 6, 5.0, p=0.7)
    segments = [_seg(copies + _w("Next question.", 10.0))]
    (span,) = _suspects(segments)
    out = _recheck(segments, span, [], [])
    assert [(s.text, s.flags) for s in out] == [
        ("thank you", ("repetition", "repetition_collapsed")),
        ("Next question.", ()),
    ]
    assert out[0].end == copies[1].end  # not over the removed copies


def test_a_guess_is_replaced_only_where_a_fresh_decode_agrees_with_it() -> None:
    """A real turn decoded badly in a chunk that a reversed turn pushed into the temperature
    fallback comes out right when decoded on its own, and both versions share most words; over
    the reversed turn the two guesses share nothing, so the old guess stays (drop_gibberish
    removes it later and reports the stretch unintelligible)."""
    guess = _w("They must numb your surface of men's armor", 13.0, p=0.2)
    real = (
        _w("Let", 20.5, p=0.14)
        + _w("us move on to", 20.9, p=0.9)
        + _w("3rd and hang the nonsense with the upon", 22.5, p=0.1)
        + _w("this work.", 26.0, p=0.9)
    )
    segments = [_seg(guess), _seg(real)]
    (span,) = _suspects(segments)  # one guess from the reversed turn through the real one
    old = [x for s in segments for x in s.words]  # the first decode, as the runner passes it
    fresh = [
        _w("Thank you so much for watching, see you in the next video.", 13.2),
        _w("Let us move on to training, how were the nurses prepared for this work.", 20.6),
    ]
    out = _recheck(segments, span, fresh, [], old)
    text = _text(out)
    assert "nurses prepared" in text and "nonsense" not in text
    assert "watching" not in text and out[0] is segments[0]  # the old guess over the reversed turn
    # Nothing agrees: everything stays for drop_gibberish.
    assert _recheck(segments, span, fresh[:1], [], old) is segments


def test_a_garbled_real_turn_is_replaced_when_it_comes_out_the_same_twice() -> None:
    """tiny.en garbled a whole real turn after a reversed one ("Nae tokka kosat narigenal
    hosetal"); decoded on its own it came out right, and the same again from 1 s earlier, though
    it shares almost nothing with the guess."""
    guess = _w("Nae tokka kosat narigenal hosetal and i super continues nae mfvfurst", 25.2, p=0.2)
    segments = [_seg(_w("to discuss difficult cases.", 10.0)), _seg(guess)]
    (span,) = _suspects(segments)
    said = "They took a course at the regional hospital and I supervised them"
    out = _recheck(segments, span, [_w(said, 25.4)], _w(said, 25.3), guess)
    assert _text(out) == f"to discuss difficult cases. {said}"
    assert _recheck(segments, span, [_w(said, 25.4)], (), guess) is segments


def test_doubtful_words_right_before_a_guessed_loop_belong_to_it() -> None:
    lead = (Word(13.2, 13.6, " Nae,", 0.08),)
    loop = tuple(Word(13.7 + 0.2 * i, 13.85 + 0.2 * i, "mez", 0.1) for i in range(20))
    segments = [_seg(_w("to discuss difficult cases.", 10.0)), _seg(lead + loop)]
    (span,) = _suspects(segments)
    assert span.start == 13.2 and (1, 0) in span.words and span.head is None
    assert _text(_recheck(segments, span, [], [])) == "to discuss difficult cases."


def test_agreement_drops_inventions_loops_and_guesses_of_a_fresh_decode() -> None:
    heard = _w("They took a course at the regional hospital", 24.6)
    other = list(_w("it's all cut off at the regional hospital", 24.4))
    invented = _w("Thank you so much for watching", 14.0)
    assert _agreed([invented, heard], other) == heard
    # Three copies of a sentence in three segments: a loop, every copy dropped.
    again = [_w("I'm here for the next time.", t) for t in (14.2, 17.7, 18.7)]
    assert _agreed(again, [x for ws in again for x in ws]) == ()
    # A run the engine guessed (probabilities under 0.35 over 2.5 s) is no better for agreeing.
    guessed = _w("the most important thing is that we have to do it", 13.1, p=0.1)
    assert _agreed([guessed], list(guessed)) == ()
    assert _agreed([], other) == ()


def test_what_is_left_of_a_replaced_guess_goes_with_it() -> None:
    """RC0 (tiny.en): the guess looped on over the answer after the question and ended in a
    clear-looking "of men." after a short pause, which the edge rule keeps out of the run; the
    two fresh decodes agree on the answer, whose last word ("months") lies under that remnant.
    The remnant goes with the guess and the agreed answer is added whole."""
    guess = _w("I am a Muslim youth person of men and I am a Muslim youth person", 24.6, 0.05, 0.3)
    tail = _w("of men.", guess[-1].end + 0.4, p=0.9)
    segments = [_seg(_w("how were the nurses prepared for this work?", 21.0)), _seg(guess + tail)]
    (span,) = _suspects(segments)
    assert (1, len(guess)) not in span.words  # "of" is not part of the guess
    said = "They took a course at the regional hospital and I supervised them for three months."
    fresh = _w(said, 25.0)
    assert fresh[0].start < tail[0].start and tail[-1].end < fresh[-1].end  # the answer's time
    out = _recheck(segments, span, [fresh], list(fresh), list(guess + tail))
    assert _text(out) == f"how were the nurses prepared for this work? {said}"
    # Words of the segment beyond the agreed answer's time stay.
    later = _w("of men.", fresh[-1].end + 1.0, p=0.9)
    segments = [segments[0], _seg(guess + later)]
    (span,) = _suspects(segments)
    out = _recheck(segments, span, [fresh], list(fresh), list(guess + later))
    assert _text(out).endswith(f"{said} of men.")


def test_a_segment_the_engine_doubts_twice_is_decoded_again_on_its_own() -> None:
    """tiny.en read the Scottish interviewer's first question, 1 s into the window, as "What makes
    you come to know London won't ask so much?" (no-speech probability 0.67, mean word
    probability 0.46) over clear speech energy: misheard, flagged possible_hallucination, and
    not a guessed run (its doubtful words lie between clear ones). Decoded again from the silence
    before it, twice, it came out alike and closer to what was said."""
    probs = (0.09, 0.99, 0.62, 0.34, 0.52, 0.17, 0.06, 0.77, 0.68, 0.16, 0.64)
    heard = "What makes you come to know London won't ask so much?"
    words = tuple(
        replace(x, probability=p) for x, p in zip(_w(heard, 0.7, step=0.3), probs, strict=True)
    )
    answer = _seg(_w("Trust, mostly. I have worked with the same team", 5.2))
    doubted = replace(_seg(words), no_speech_prob=0.67)
    (span,) = _suspects([doubted, answer])
    assert (span.start, span.gram) == (0.7, None) and len(span.words) == len(heard.split())
    fresh = "Well, it makes you comfortable handling the tasks over."
    out = _recheck([doubted, answer], span, [_w(fresh, 0.9)], _w(fresh, 0.8), words)
    assert _text(out) == f"{fresh} {answer.text}" and "redecoded" in out[0].flags
    # Nothing agrees: the doubted words stay (drop_silence flags them "possibly not spoken").
    other = _w("and the future of the future", 0.9)
    assert _recheck([doubted, answer], span, [_w(fresh, 0.9)], other, words) == [doubted, answer]
    # The engine sure of the words (no-speech probability low): not a suspect.
    assert _suspects([replace(doubted, no_speech_prob=0.3), answer]) == []
