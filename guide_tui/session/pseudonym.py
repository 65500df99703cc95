"""Participant pseudonyms, checked because they become part of a folder name.

A pseudonym is what the paper will call the participant (``#1``, ``GP 03``, ``municipal
physiotherapist 10``), so it may hold letters of any language, digits, spaces and a little
punctuation. It must never be able to escape the recordings folder, collide with a name the
operating system reserves, or produce a folder that cannot be copied to another machine: the
checks are those of the strictest common file system (Windows), so a study folder moved from a
Linux laptop to a Windows workstation still opens.

Every rejection says why, so the interviewer can fix it on the spot.
"""

from __future__ import annotations

import re
import unicodedata

from guide_tui.errors import PseudonymError

MAX_LENGTH = 64
"""Long enough for "municipal physiotherapist 10"; short enough to keep paths well under limits."""

UNSAFE_CHARACTERS = '<>:"|?*'
"""Not allowed in file names on Windows (``:`` is also the old macOS separator)."""

_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"COM{i}" for i in "123456789¹²³"]
    + [f"LPT{i}" for i in "123456789¹²³"]
)

_ALLOWED_PUNCTUATION = frozenset("#-_. ")

_INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\uffa0"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)
"""Unicode's default-ignorable code points that are letters or marks rather than format
characters (those are refused as control characters): Hangul fillers, the combining grapheme
joiner, variation selectors. They draw nothing, so ``"P01"`` and ``"P\u316401"`` would look the
same on screen and in a report yet be two participants."""


def validate_pseudonym(text: str) -> str:
    """Return ``text`` without surrounding whitespace, or raise :class:`PseudonymError` saying why.

    Allowed: letters of any script, digits, spaces, ``#``, ``-``, ``_`` and ``.`` (not first);
    at least one letter or digit (combining marks alone draw as nothing or as stray accents);
    nothing invisible.
    """
    if not isinstance(text, str):
        raise PseudonymError("The participant pseudonym must be text.")
    name = text.strip()
    if not name:
        raise PseudonymError(
            "The participant pseudonym is empty; give one such as '#1' or 'GP 03'."
        )
    if len(name) > MAX_LENGTH:
        raise PseudonymError(
            f"The participant pseudonym is {len(name)} characters long; at most {MAX_LENGTH} "
            "are allowed (it becomes part of a folder name)."
        )
    for char in name:
        if char in "/\\":
            raise PseudonymError(
                f"The participant pseudonym {name!r} contains a path separator ({char!r}); "
                "it becomes a folder name, so it may not contain '/' or '\\'."
            )
    if name in (".", ".."):
        raise PseudonymError(
            f"The participant pseudonym {name!r} is not allowed: it means a folder itself."
        )
    if name.startswith("."):
        raise PseudonymError(
            f"The participant pseudonym {name!r} starts with a dot, which would make a hidden "
            "folder; start it with a letter, digit or '#'."
        )
    for char in name:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") or char in "\t\n\r":
            raise PseudonymError(
                f"The participant pseudonym {name!r} contains a control character "
                f"(U+{ord(char):04X}); use only visible characters."
            )
        if char in _INVISIBLE:
            raise PseudonymError(
                f"The participant pseudonym {name!r} contains an invisible character "
                f"(U+{ord(char):04X}); use only visible characters."
            )
        if char in UNSAFE_CHARACTERS:
            raise PseudonymError(
                f"The participant pseudonym {name!r} contains {char!r}, which is not allowed in "
                f"file names on Windows or macOS (none of {UNSAFE_CHARACTERS} may be used)."
            )
        if not _is_allowed(char):
            raise PseudonymError(
                f"The participant pseudonym {name!r} contains {char!r}; use letters, digits, "
                "spaces, '#', '-', '_' or '.'."
            )
    if unicodedata.category(name[0]).startswith("M"):
        raise PseudonymError(
            f"The participant pseudonym {name!r} starts with a combining mark "
            f"(U+{ord(name[0]):04X}), which has no letter to sit on; start it with a letter, "
            "digit or '#'."
        )
    if not any(unicodedata.category(char)[0] in ("L", "N") for char in name):
        raise PseudonymError(
            f"The participant pseudonym {name!r} has no letter or digit; give one such as "
            "'#1' or 'GP 03' (it must be told apart in reports and folder names)."
        )
    stem = name.split(".", 1)[0].rstrip(" ").upper()
    if stem in _WINDOWS_RESERVED:
        raise PseudonymError(
            f"The participant pseudonym {name!r} is a device name reserved on Windows "
            f"({stem}); add something to it, e.g. '{name} 1' or 'P-{name}'."
        )
    if name.endswith("."):
        raise PseudonymError(
            f"The participant pseudonym {name!r} ends with a dot, which Windows drops from "
            "folder names; remove it."
        )
    return name


def _is_allowed(char: str) -> bool:
    """Letters and digits of any script (including combining marks), and a little punctuation."""
    if char in _ALLOWED_PUNCTUATION:
        return True
    category = unicodedata.category(char)
    return category[0] in ("L", "N") or category[0] == "M"


def folder_name(pseudonym: str) -> str:
    """The folder part for a (valid) pseudonym: spaces become ``-``, everything else stays.

    ``"municipal physiotherapist 10"`` → ``municipal-physiotherapist-10``; ``"#1"`` → ``#1``.
    Normalised to NFC so the same name typed on macOS and Linux gives the same folder. The
    pseudonym itself (with its spaces) is kept in ``session.json``.
    """
    name = unicodedata.normalize("NFC", validate_pseudonym(pseudonym))
    return re.sub(r"-{2,}", "-", re.sub(r"\s+", "-", name))
