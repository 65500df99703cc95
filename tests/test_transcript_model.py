"""Property tests for the transcript model's rules on synthetic timelines (rules 3 and 4 of
docs/transcript-format.md): topic changes snap to turn/sentence starts, codes cover their question
and never another topic's turns."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from guide_tui.transcript import build_model, parse_transcript
from guide_tui.transcript.render import turn_text


def _session(turns, press_offsets, tick_offsets, speakers: bool):
    """Alternating interviewer question / participant answer turns; topic i starts with turn 2i.
    The interviewer presses the topic key at the new topic's question start + offset and ticks
    each question at its start + tick offset."""
    segments, t = [], 0.0
    spans = []
    for i, (n_words, gap) in enumerate(turns):
        asking = i % 2 == 0
        words = []
        for k in range(n_words):
            last = k == n_words - 1
            text = f" w{i}x{k}" + (("?" if asking else ".") if last else "")
            words.append({"start": t, "end": t + 0.3, "word": text, "probability": 0.9})
            t += 0.35
        text = "".join(w["word"] for w in words)
        spans.append((words[0]["start"], words[-1]["end"]))
        segments.append(
            {
                "start": words[0]["start"],
                "end": words[-1]["end"],
                "text": text.strip(),
                "words": words,
                "speaker": ("Interviewer" if asking else "P") if speakers else None,
            }
        )
        t += gap
    events = []
    n_topics = len(turns) // 2
    for topic in range(n_topics):
        q_start, q_end = spans[2 * topic]
        # a moment after the question began (inside it), or just before it, in the pause
        offset = min(press_offsets[topic], q_end - q_start - 0.01)
        offset = max(offset, -turns[2 * topic - 1][1] + 0.01) if topic else 0.0
        press = q_start + offset
        events.append(
            {"seq": topic, "t": press, "type": "topic_entered", "data": {"topic": f"T{topic}"}}
        )
    annotations = []
    for topic in range(n_topics):
        q_start = spans[2 * topic][0]
        tick = max(events[topic]["t"], q_start + tick_offsets[topic])
        annotations.append(
            {"t": tick, "type": "question_asked", "topic": f"T{topic}", "question": f"q{topic}"}
        )
    transcript = parse_transcript({"segments": segments, "annotations": annotations})
    return build_model(transcript, events), spans


timelines = st.lists(
    st.tuples(st.integers(1, 12), st.floats(0.2, 3.0)), min_size=2, max_size=12
).map(lambda xs: xs[: len(xs) // 2 * 2])


@settings(max_examples=150, deadline=None)
@given(
    timelines,
    st.lists(st.floats(-0.5, 2.0), min_size=6, max_size=6),
    st.lists(st.floats(-0.8, 1.5), min_size=6, max_size=6),
    st.booleans(),
)
def test_topics_never_split_a_turn_and_codes_cover_their_question(
    turns, press, ticks, speakers
) -> None:
    turns = turns[:12]
    model, spans = _session(turns, press + [0] * 6, ticks + [0] * 6, speakers)
    n_topics = len(turns) // 2
    topic_visits = [v for v in model.visits if v.topic is not None]
    assert [v.topic for v in topic_visits] == [f"T{i}" for i in range(n_topics)]
    # rule 3: each topic begins exactly at its question's first word (pressed a moment after
    # it began, or just before it in the pause), and no speaker turn is split across topics
    for i, visit in enumerate(topic_visits):
        assert visit.start == spans[2 * i][0]
    for start, end in spans:
        inside = {w_visit.index for w_visit in model.visits if start <= w_visit.start <= end}
        assert not any(start < v.start <= end for v in model.visits), (start, end, inside)
    for turn in model.turns:
        assert model.visits[turn.visit].start <= turn.start
        assert turn.end <= model.visits[turn.visit].end + 1e-9
    # rule 4: every question code's selection contains its question, never another topic
    for code in model.codes:
        visit = model.visits[code.visit]
        assert visit.topic == code.topic
        q = int(code.topic[1:])
        q_start, q_end = spans[2 * q]
        assert code.start <= q_start and q_end <= code.end
        assert visit.start <= code.start and code.end <= visit.end
        assert all(model.visits[t.visit].topic == code.topic for t in model.turns_in(code.span))


def test_first_topic_at_zero_covers_speech_from_zero() -> None:
    transcript = parse_transcript(
        {"segments": [{"start": 0.0, "end": 1.0, "text": "Thank you for coming."}]}
    )
    model = build_model(
        transcript, [{"seq": 0, "t": 5e-05, "type": "topic_entered", "data": {"topic": "a"}}]
    )
    assert [v.topic for v in model.visits] == ["a"]
    assert model.turns[0].visit == 0


def test_closing_is_a_visit_with_its_prompts_as_codes() -> None:
    transcript = parse_transcript(
        {
            "segments": [
                {"start": 0.0, "end": 2.0, "text": "What do you do?"},
                {"start": 3.0, "end": 5.0, "text": "I work."},
                {"start": 10.0, "end": 12.0, "text": "Anything to add?"},
                {"start": 13.0, "end": 14.0, "text": "No."},
            ]
        }
    )
    events = [
        {"seq": 0, "t": 0.0, "type": "topic_entered", "data": {"topic": "a"}},
        {"seq": 1, "t": 9.0, "type": "closing_started", "data": {}},
        {"seq": 2, "t": 10.5, "type": "closing_prompt", "data": {"prompt": "anything-else"}},
        {"seq": 3, "t": 7.0, "type": "recording_paused", "wall": "2026-01-01T10:00:00+00:00"},
        {"seq": 4, "t": 7.0, "type": "recording_resumed", "wall": "2026-01-01T10:01:05+00:00"},
    ]
    model = build_model(transcript, sorted(events, key=lambda e: e["t"]))
    closing = model.visits[-1]
    assert closing.closing and closing.title == "Closing" and closing.start == 10.0
    (code,) = model.codes
    assert code.type == "closing_prompt" and code.visit == closing.index and code.start == 10.0
    (pause,) = model.recording_pauses
    assert pause.t == 7.0 and pause.seconds == 65


def test_marks_only_where_the_record_says() -> None:
    words = [
        {"start": 0.0, "end": 0.4, "word": " I", "probability": 0.9},
        {"start": 0.5, "end": 0.9, "word": " went", "probability": 0.2},
        {"start": 4.0, "end": 4.4, "word": " home.", "probability": 0.9},
    ]
    transcript = parse_transcript(
        {
            "segments": [
                {"start": 0.0, "end": 4.4, "text": "I went home.", "words": words, "speaker": "P"},
                {
                    "start": 5.0,
                    "end": 6.0,
                    "text": "Thank you.",
                    "speaker": "P",
                    "flags": ["possible_hallucination"],
                },
            ],
            "pauses": [{"start": 0.9, "end": 4.0}, {"start": 4.4, "end": 5.0}],
        }
    )
    model = build_model(transcript)
    (turn,) = model.turns
    assert (
        turn_text(turn, model.pauses)
        == "I (went?) (3 s) home. (.) (possibly not spoken: Thank you.)"
    )
