"""Stable ids derived from text.

Events and transcripts refer to guide entities by id, so an id must not change between runs or
machines: it is either given in the YAML or derived here from the entity's text, deterministically
(Unicode folded to ASCII, lowercased, non-alphanumerics collapsed to ``-``, cut at a word boundary).
Collisions among derived ids get ``-2``, ``-3``, … in document order; given ids win.
"""

from __future__ import annotations

import re
import unicodedata

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_DERIVED_LENGTH = 40


def slugify(text: str, fallback: str = "item") -> str:
    """A short, readable, deterministic id for ``text`` (``fallback`` if nothing is left)."""
    folded = unicodedata.normalize("NFKD", text)
    ascii_text = folded.encode("ascii", "ignore").decode("ascii").lower()
    words = re.findall(r"[a-z0-9]+", ascii_text)
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > MAX_DERIVED_LENGTH:
            if not slug:  # one very long word: cut it
                slug = word[:MAX_DERIVED_LENGTH]
            break
        slug = candidate
    return slug or fallback


class IdAllocator:
    """Hands out unique ids within one namespace: given ids first, then derived ones."""

    def __init__(self, taken: set[str] | None = None) -> None:
        self.taken: set[str] = set(taken or ())

    def derive(self, text: str, fallback: str) -> str:
        base = slugify(text, fallback)
        candidate, n = base, 2
        while candidate in self.taken:
            candidate = f"{base}-{n}"
            n += 1
        self.taken.add(candidate)
        return candidate
