"""Text from guides and session folders is data: never terminal commands, never invalid XML.

A guide, a ``session.json`` or an ``events.jsonl`` may come from a colleague (or be made to
attack). Three things can go wrong when such text is shown or exported, and each has one helper:

- control characters reach the terminal, which *executes* them (``ESC ] 0 ;`` sets the window
  title, ``ESC ] 52 ;`` writes the clipboard, ``CR`` overwrites what was printed):
  :func:`printable` replaces them with visible stand-ins, :func:`terminal_text` also drops the
  invisible bidirectional controls, whose reordering (in terminals that do it) can make a line
  read differently from what is stored;
- an XML export (``project.qde``, DOCX) gets characters XML 1.0 does not allow and no importer
  can read it: :func:`xml_text` replaces them, one for one, so character offsets (the qdpx
  codings) stay right;
- Rich/Textual markup: not handled here (see ``guide_tui.tui.format.escape`` and Rich ``Text``).

The guide loader refuses control characters outright (:func:`control_characters`); these
helpers are the defence for everything that does not come through the loader.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: C0 controls except tab and newline, DEL, C1 controls, and lone surrogates (which cannot be
#: encoded as UTF-8 at all; they only arrive through ``\\ud800``-style JSON or YAML escapes).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
#: The same, tab and newline included: for text that must stay on one line.
_CONTROL_OR_BREAK = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
#: Bidirectional embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI).
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
#: Not a ``Char`` of XML 1.0 (https://www.w3.org/TR/xml/#charsets).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

REPLACEMENT = "\ufffd"


def _picture(match: re.Match[str]) -> str:
    """A C0 control as its Unicode control picture (ESC → ␛, CR → ␍), DEL as ␡, else U+FFFD:
    the reader sees that something was there, and nothing is executed."""
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return REPLACEMENT


def printable(text: str) -> str:
    """``text`` with control characters (tab and newline excepted) made visible and inert."""
    return _CONTROL.sub(_picture, text) if _CONTROL.search(text) else text


def terminal_text(text: str) -> str:
    """``text`` safe to write to a terminal: :func:`printable`, bidirectional controls removed."""
    return BIDI_CONTROLS.sub("", printable(text))


def xml_text(text: str) -> str:
    """``text`` with every character XML 1.0 forbids replaced by U+FFFD (same length)."""
    return _NOT_XML.sub(REPLACEMENT, text) if _NOT_XML.search(text) else text


def describe(char: str) -> str:
    """``U+001B (ESCAPE)``: how a message names an invisible character."""
    code = ord(char)
    name = unicodedata.name(char, "") or _CONTROL_NAMES.get(code, "")
    if not name:
        name = "surrogate" if 0xD800 <= code <= 0xDFFF else "control character"
    return f"U+{code:04X} ({name})"


_CONTROL_NAMES = {
    0x00: "NULL",
    0x07: "BELL",
    0x08: "BACKSPACE",
    0x09: "TAB",
    0x0A: "LINE FEED",
    0x0B: "VERTICAL TAB",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESCAPE",
    0x7F: "DELETE",
    0x85: "NEXT LINE",
    0x9B: "CONTROL SEQUENCE INTRODUCER",
}


def control_characters(text: str, *, one_line: bool = False) -> list[tuple[int, str]]:
    """``(index, character)`` of each control character in ``text`` (with ``one_line``, tabs
    and line breaks count too)."""
    pattern = _CONTROL_OR_BREAK if one_line else _CONTROL
    return [(m.start(), m.group()) for m in pattern.finditer(text)]


def bidi_controls(text: str) -> list[tuple[int, str]]:
    """``(index, character)`` of each bidirectional control in ``text``."""
    return [(m.start(), m.group()) for m in BIDI_CONTROLS.finditer(text)]


_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """``text`` with lone surrogates (which JSON's ``\\udc80`` escapes can produce, and which
    no UTF-8 file, hash or XML can hold) replaced by U+FFFD."""
    return _SURROGATE.sub(REPLACEMENT, text) if _SURROGATE.search(text) else text


def map_text(value: T, convert: Callable[[str], str]) -> T:
    """``value`` with ``convert`` applied to every string in it: in (frozen) dataclasses,
    tuples, lists and dict values and keys. What ``convert`` leaves alone is returned as is
    (the same objects), so mapping a large session with nothing to change costs one walk."""
    if isinstance(value, str):
        return convert(value)  # type: ignore[return-value]
    if isinstance(value, (tuple, list)):
        items = [map_text(item, convert) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items) if isinstance(value, list) else tuple(items)  # type: ignore[return-value]
    if isinstance(value, dict):
        pairs = [(map_text(k, convert), map_text(v, convert)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, value.items(), strict=True)):
            return value
        return dict(pairs)  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for name in _init_fields(type(value)):
            old = getattr(value, name)
            if old is None or type(old) in _LEAVES:
                continue  # most fields of a word: times and probabilities
            new = map_text(old, convert)
            if new is not old:
                changes[name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


#: Values without text in them, skipped without a call (a 2 h transcript has ~25,000 words).
_LEAVES = (int, float, bool)
_FIELDS: dict[type, tuple[str, ...]] = {}


def _init_fields(cls: type) -> tuple[str, ...]:
    """The fields ``dataclasses.replace`` takes, looked up once per class."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.init)
    return names
