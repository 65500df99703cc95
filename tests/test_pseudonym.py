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
        "ก่อ 2",  # Thai: a tone mark on its consonant
        "क्षमा",  # Devanagari: virama and vowel signs are marks
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
        ("\u0301\u0301\u0301", "starts with a combining mark"),  # draws as nothing
        ("\u0e48", "starts with a combining mark"),  # a Thai tone mark alone
        ("\u0301P01", "starts with a combining mark"),  # would sit on the folder's "_"
        ("\u3164", "invisible character"),  # Hangul filler: a letter that draws nothing
        ("P\u316401", "invisible character"),  # looks exactly like "P01"
        ("\u115f\u1160", "invisible character"),
        ("P01\ufe0f", "invisible character"),  # variation selector
        ("P\u034f01", "invisible character"),  # combining grapheme joiner
        ("\u200b\u200c", "control character"),  # zero-width space and non-joiner
        ("\u2060", "control character"),  # word joiner (a format character)
        ("#", "no letter or digit"),
        ("- _ -", "no letter or digit"),
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
