"""The guide loader: shipped guides, every error kind at its exact line and column, ids."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from guide_tui.errors import GuideError
from guide_tui.guide import load_guide
from guide_tui.guide.ids import slugify
from guide_tui.guide.loader import load_guide_with_warnings, parse_guide

GUIDES = Path(__file__).resolve().parent.parent / "guides"

VALID = """\
id: t
title: Test guide
version: 1
language: en
duration_minutes: 10
groups:
  - id: gp
    label: GP
  - label: Social worker
consent:
  - Information sheet read
baseline:
  - {id: gender, label: Gender, type: choice, options: [Male, Female]}
topics:
  - id: one
    title: One
    minutes: 5
    questions:
      - text: First question?
        probes: ["Example?"]
        groups: [gp]
  - title: Two
    minutes: 5
    questions: ["Second question?"]
closing: ["Anything to add?"]
"""


def problems_of(text: str) -> list[tuple[int, int, str, str]]:
    with pytest.raises(GuideError) as info:
        parse_guide(textwrap.dedent(text), "g.yaml")
    return [(p.line, p.column, p.severity, p.message) for p in info.value.problems]


def only_error(text: str) -> tuple[int, int, str]:
    found = [p for p in problems_of(text) if p[2] == "error"]
    assert len(found) == 1, found
    line, column, _, message = found[0]
    return line, column, message


@pytest.mark.parametrize("path", sorted(GUIDES.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_guides_load_without_warnings(path: Path) -> None:
    guide, warnings = load_guide_with_warnings(path)
    assert warnings == []
    assert guide.topics and all(topic.questions for topic in guide.topics)
    assert guide.sha256 and len(guide.sha256) == 64


def test_gp_guide_is_table_2_of_seed_000() -> None:
    guide = load_guide(GUIDES / "gp-delegation-lbp.yaml")
    assert guide.duration_minutes == 60
    assert guide.language == "en"
    texts = [q.text for t in guide.topics for q in t.questions]
    for expected in (
        "Are new appointments being scheduled during/after the consultation?",
        "How is the staff in your clinic trained?",
        "How much time do you spend with patients having low back pain?",
        "How often do you refer patients with low back pain to other health services?",
        "Which activities could the clinical staff be involved in?",
    ):
        assert expected in texts
    closing = " ".join(c.text for c in guide.closing)
    assert "changed your mind" in closing and "anything to add" in closing.lower()
    baseline = {f.id: f for f in guide.baseline}
    assert any(f.type == "choice" and "Solo" in f.options for f in baseline.values())


def test_cross_sectoral_guide_has_five_groups_and_variants() -> None:
    guide = load_guide(GUIDES / "cross-sectoral-lbp.yaml")
    assert len(guide.groups) == 5
    assert any(q.variants for t in guide.topics for q in t.questions)


def test_valid_guide_builds_typed_model_with_derived_ids() -> None:
    guide, warnings = parse_guide(VALID, "g.yaml")
    assert warnings == []
    assert [g.id for g in guide.groups] == ["gp", "social-worker"]
    assert [t.id for t in guide.topics] == ["one", "two"]
    assert guide.topics[0].questions[0].id == "first-question"
    assert guide.topics[0].questions[0].probes[0].id == "example"
    assert guide.consent[0].id == "information-sheet-read"
    assert guide.closing[0].id == "anything-to-add"
    assert guide.topics_for("social-worker")[0].questions_for("social-worker") == ()


def test_ids_are_stable_across_runs_and_collisions_are_numbered() -> None:
    text = VALID.replace('questions: ["Second question?"]', 'questions: ["First question?"]')
    first, _ = parse_guide(text, "g.yaml")
    second, _ = parse_guide(text, "g.yaml")
    assert first == second
    assert first.topics[1].questions[0].id == "first-question-2"
    assert slugify("Ça va? Très bien — 10 %!") == "ca-va-tres-bien-10"
    assert slugify("???", "question") == "question"


def test_yes_and_no_stay_text() -> None:
    guide, _ = parse_guide(VALID.replace("[Male, Female]", "[Yes, No, 'off']"), "g.yaml")
    assert guide.baseline[0].options == ("Yes", "No", "off")


# One test per error kind, each asserting the exact line and column.


def test_misspelt_key_suggests_the_right_one() -> None:
    line, column, message = only_error(
        VALID.replace(
            "    minutes: 5\n    questions:\n      - text",
            "    minutes: 5\n    questons:\n      - text",
        )
    )
    assert (line, column) == (18, 5)
    assert "unknown key 'questons'" in message and "did you mean 'questions'" in message


def test_missing_required_key() -> None:
    line, column, message = only_error(VALID.replace("title: Test guide\n", ""))
    assert (line, column) == (1, 1)
    assert "missing the required key 'title'" in message


def test_wrong_type_number() -> None:
    line, column, message = only_error(
        VALID.replace("duration_minutes: 10", "duration_minutes: ten")
    )
    assert (line, column) == (5, 19)
    assert "must be a number" in message


def test_wrong_type_list() -> None:
    line, column, message = only_error(VALID.replace('closing: ["Anything to add?"]', "closing: 3"))
    assert (line, column) == (25, 10)
    assert "must be a list" in message


def test_duplicate_id() -> None:
    line, column, message = only_error(
        VALID.replace("  - title: Two", "  - id: one\n    title: Two")
    )
    assert (line, column) == (22, 9)
    assert "duplicate id 'one'" in message and "line 15" in message


def test_duplicate_key() -> None:
    line, column, message = only_error(VALID.replace("version: 1\n", "version: 1\nversion: 2\n"))
    assert (line, column) == (4, 1)
    assert "duplicate key 'version'" in message


def test_dangling_group_reference() -> None:
    line, column, message = only_error(VALID.replace("groups: [gp]", "groups: [gps]"))
    assert (line, column) == (21, 18)
    assert "unknown group 'gps'" in message and "did you mean 'gp'" in message


def test_variant_for_unknown_group() -> None:
    line, column, message = only_error(
        VALID.replace(
            "        groups: [gp]", "        groups: [gp]\n        variants: {nurse: 'Hi?'}"
        )
    )
    assert (line, column) == (22, 20)
    assert "unknown key 'nurse'" in message


def test_empty_topic() -> None:
    line, column, message = only_error(
        VALID.replace('questions: ["Second question?"]', "questions: []")
    )
    assert (line, column) == (24, 16)
    assert "no questions" in message


def test_unknown_baseline_type_and_language() -> None:
    found = problems_of(
        VALID.replace("type: choice", "type: choise").replace("language: en", "language: english")
    )
    assert [(p[0], p[1]) for p in found] == [(4, 11), (13, 39)]
    assert "did you mean 'choice'" in found[1][3]


def test_choice_without_options() -> None:
    line, column, message = only_error(VALID.replace(", options: [Male, Female]", ""))
    assert (line, column) == (13, 5)
    assert "no options" in message


def test_yaml_syntax_error_has_position() -> None:
    line, _column, message = only_error("id: t\ntitle: [unclosed\nversion: 1\n")
    assert line == 2 and "YAML syntax" in message  # where the bracket was opened


def test_not_utf8_has_position() -> None:
    with pytest.raises(GuideError) as info:
        parse_guide(b"id: t\ntitle: caf\xe9\n", "g.yaml")
    assert (info.value.problems[0].line, info.value.problems[0].column) == (2, 11)


def test_minutes_not_adding_up_is_a_warning_not_an_error() -> None:
    guide, warnings = parse_guide(
        VALID.replace("duration_minutes: 10", "duration_minutes: 60"), "g.yaml"
    )
    assert guide.duration_minutes == 60
    assert len(warnings) == 1 and (warnings[0].line, warnings[0].column) == (15, 3)
    assert "add up to 10" in warnings[0].message


def test_several_mistakes_reported_in_one_run() -> None:
    broken = (
        VALID.replace("language: en", "langauge: en")
        .replace("duration_minutes: 10", "duration_minutes: -3")
        .replace("groups: [gp]", "groups: [gps]")
        .replace('questions: ["Second question?"]', "questions: []")
        .replace("type: choice", "type: number")
    )
    found = problems_of(broken)
    errors = [p for p in found if p[2] == "error"]
    assert [(p[0], p[1]) for p in errors] == [(4, 1), (5, 19), (13, 56), (21, 18), (24, 16)]
    assert found == sorted(found)


def test_missing_file_and_folder_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(GuideError, match="no such guide file"):
        load_guide(tmp_path / "nope.yaml")
    with pytest.raises(GuideError, match="is a folder"):
        load_guide(tmp_path)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(GuideError, match="empty"):
        load_guide(empty)


def test_alias_bomb_is_refused_quickly() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        refs = ", ".join([f"*{previous}"] * 10)
        bomb += f"{level}: &{level} [{refs}]\n"
    bomb += "topics: *i\n"
    with pytest.raises(GuideError):
        parse_guide(bomb, "bomb.yaml")
