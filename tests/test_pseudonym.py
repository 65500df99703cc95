"""Pseudonyms become folder names: each unsafe kind is rejected with its own reason."""

from __future__ import annotations

import pytest

from guide_tui.errors import PseudonymError, SessionError
from guide_tui.session.pseudonym import MAX_LENGTH, folder_name, validate_pseudonym


@pytest.mark.parametrize(
    "text",
    [
        "#1",
        "GP 03",
        "municipal physiotherapist 10",
        "P-07_b",
        "v1.2",
        "Ærø læge",
        "Müller",
        "Дмитрий",
        "医生 3",
        "é",  # e + combining acute accent
        "x" * MAX_LENGTH,
        "CONSULTANT",  # only exact device names are reserved
        "com10",
    ],
)
def test_good_pseudonyms_are_accepted_unchanged(text: str) -> None:
    assert validate_pseudonym(text) == text


def test_surrounding_whitespace_is_stripped() -> None:
    assert validate_pseudonym("  GP 03\t\n") == "GP 03"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \t ", "empty"),
        ("x" * (MAX_LENGTH + 1), f"at most {MAX_LENGTH}"),
        ("gp/03", "path separator"),
        ("gp\\03", "path separator"),
        ("../etc", "path separator"),
        (".", "folder itself"),
        ("..", "folder itself"),
        (".hidden", "starts with a dot"),
        ("gp\x0003", "control character"),
        ("gp\x1b[31m", "control character"),
        ("gp\n03", "control character"),
        ("gp\u200b03", "control character"),  # zero-width space: invisible
        ("gp<03", "not allowed in file names"),
        ("gp>03", "not allowed in file names"),
        ("gp:03", "not allowed in file names"),
        ('gp"03', "not allowed in file names"),
        ("gp|03", "not allowed in file names"),
        ("gp?", "not allowed in file names"),
        ("gp*", "not allowed in file names"),
        ("CON", "reserved on Windows"),
        ("nul", "reserved on Windows"),
        ("Com1", "reserved on Windows"),
        ("LPT9", "reserved on Windows"),
        ("aux.txt", "reserved on Windows"),
        ("gp 03.", "ends with a dot"),
        ("gp$03", "use letters, digits"),
        ("gp%03", "use letters, digits"),
        ("😀", "use letters, digits"),
    ],
)
def test_bad_pseudonyms_are_rejected_with_their_reason(text: str, reason: str) -> None:
    with pytest.raises(PseudonymError, match=reason) as caught:
        validate_pseudonym(text)
    assert isinstance(caught.value, SessionError)  # the CLI prints it without a traceback


def test_non_text_is_rejected() -> None:
    with pytest.raises(PseudonymError, match="must be text"):
        validate_pseudonym(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pseudonym", "folder"),
    [
        ("#1", "#1"),
        ("GP 03", "GP-03"),
        ("municipal physiotherapist 10", "municipal-physiotherapist-10"),
        ("  GP   03 ", "GP-03"),
        ("a - b", "a-b"),
        ("é", "é"),  # NFC: the same folder on macOS and Linux
    ],
)
def test_folder_name_is_readable(pseudonym: str, folder: str) -> None:
    assert folder_name(pseudonym) == folder


def test_folder_name_validates() -> None:
    with pytest.raises(PseudonymError):
        folder_name("../x")
