"""Pseudonymisation of exports from a names list (SPEC §7).

The transcript keeps what was said; what leaves the machine should not name anyone. So the
original ``transcript.json`` is never touched: an anonymised *copy* of the session's data is
handed to the ordinary writers, and a private key of what was replaced is kept in the session
folder (0600) so the researcher can go back.

Names match whole words, case-insensitively, with simple inflected forms (English possessives
``Mette's``/``Hansens'``, Scandinavian/German genitive ``-s``, definite ``-en``/``-ens``): the
suffix is kept after the placeholder (``[Name 1]'s``) so the sentence still reads. Longer
entries are replaced first, so "Dr. Hansen" wins over "Hansen". Word timings are dropped from
the copy: they repeat the words and are not needed downstream.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from guide_tui.errors import ExportError
from guide_tui.export.files import write_text_atomic
from guide_tui.export.session_data import SessionData
from guide_tui.export.transcript import Annotation, Segment

KEY_FILE = "anonymisation-key.json"
SUFFIXES = ("'s", "’s", "s'", "s’", "'", "’", "ens", "en", "es", "s", "e")


@dataclass
class Replacement:
    name: str
    placeholder: str
    count: int = 0  # every occurrence replaced (transcript, notes and session details)
    forms: set[str] = field(default_factory=set)
    in_details: int = 0  # of ``count``, those in the session details (interviewer, location, ...)
    pattern: re.Pattern[str] | None = None

    def compile(self) -> re.Pattern[str]:
        if self.pattern is None:
            words = r"\s+".join(re.escape(w) for w in self.name.split())
            suffix = "|".join(re.escape(s) for s in SUFFIXES)
            self.pattern = re.compile(rf"(?<!\w)({words})({suffix})?(?!\w)", re.IGNORECASE)
        return self.pattern


def load_names(path: Path) -> list[Replacement]:
    """One name per line; ``Name = [Placeholder]`` sets the placeholder; ``#`` comments."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ExportError(f"{path}: no such names file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ExportError(f"{path}: cannot read the names file ({error})") from None
    entries: list[Replacement] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, placeholder = (part.strip() for part in line.partition("="))
        if not name:
            raise ExportError(f"{path}:{number}: a placeholder without a name")
        if name.casefold() in seen:
            continue
        seen.add(name.casefold())
        entries.append(Replacement(name, placeholder or f"[Name {len(entries) + 1}]"))
    if not entries:
        raise ExportError(f"{path}: no names listed")
    return entries


_WORD = re.compile(r"\w+")
#: Suffixes made of word characters only: they make one token with the name ("Hansens").
_WORD_SUFFIXES = tuple(s.casefold() for s in SUFFIXES if _WORD.fullmatch(s))


class NameIndex:
    """The names by the first run of word characters in each, case-folded.

    A study's names list can be long (a staff register, a town's street names: 200,000 entries
    took over two minutes when every name's pattern scanned every text). A name can only match
    where its first word occurs, so each text is split into words once, the few names whose
    first word is among them are looked up in a dict, and only their patterns run. Single-word
    names are also found under a word with an inflection suffix ("Hansens" → "hansen").
    """

    def __init__(self, names: list[Replacement]) -> None:
        self.names = names
        self.by_word: dict[str, list[Replacement]] = {}
        self.always: list[Replacement] = []  # names without a word character: always tried
        for entry in names:
            first = _WORD.search(entry.name)
            if first is None:
                self.always.append(entry)
            else:
                self.by_word.setdefault(first.group(0).casefold(), []).append(entry)

    def candidates(self, text: str) -> list[Replacement]:
        """The names that may occur in ``text``, longest first (so "Dr. Hansen" wins)."""
        found: dict[int, Replacement] = {id(e): e for e in self.always}
        for word in {m.casefold() for m in _WORD.findall(text)}:
            keys = [word] + [word[: -len(s)] for s in _WORD_SUFFIXES if word.endswith(s)]
            for key in keys:
                for entry in self.by_word.get(key, ()):
                    found[id(entry)] = entry
        return sorted(found.values(), key=lambda e: len(e.name), reverse=True)


def replace_names(
    text: str,
    names: list[Replacement] | NameIndex,
    *,
    count: bool = True,
    details: bool = False,
) -> str:
    """``text`` with every listed name (and simple inflection) replaced.

    ``count=False`` for second copies of the same text (the raw JSON), so the report counts
    each occurrence once; ``details=True`` counts it as one in the session details too. Pass a
    :class:`NameIndex` when replacing in many texts: it is built once.
    """
    index = names if isinstance(names, NameIndex) else NameIndex(names)
    for entry in index.candidates(text):

        def substitute(match: re.Match[str], entry: Replacement = entry) -> str:
            if count:
                entry.count += 1
                entry.in_details += details
                entry.forms.add(match.group(0))
            return entry.placeholder + (match.group(2) or "")

        text = entry.compile().sub(substitute, text)
    return text


def _scrub(
    value: Any,
    names: NameIndex,
    *,
    count: bool = True,
    details: bool = False,
    paths: bool = True,
) -> Any:
    """Every string inside ``value`` (lists and dicts walked), names replaced and (``paths``)
    absolute paths cut to their last part: a path names the researcher's account and folders."""
    if isinstance(value, str):
        text = _strip_path(value) if paths else value
        return replace_names(text, names, count=count, details=details)
    if isinstance(value, list):
        return [_scrub(v, names, count=count, details=details, paths=paths) for v in value]
    if isinstance(value, dict):
        return {
            k: _scrub(v, names, count=count, details=details, paths=paths) for k, v in value.items()
        }
    return value


_ABSOLUTE_PATH = re.compile(r"^(?:/|~/|[A-Za-z]:[\\/]|\\\\)[^\n]*[\\/][^\n]*$")


def _strip_path(text: str) -> str:
    """``/home/mette/guides/gp.yaml`` → ``gp.yaml``; anything that is not a path is kept."""
    if not _ABSOLUTE_PATH.match(text):
        return text
    return re.split(r"[\\/]", text.rstrip("\\/"))[-1] or text


def anonymise_session(
    data: SessionData, names: list[Replacement]
) -> tuple[SessionData, list[Replacement]]:
    """An anonymised copy of ``data`` (nothing on disk changes) and the replacement report."""
    index = NameIndex(names)
    # interviewer, location, observers, ...: occurrences there are counted (they are replaced)
    meta = _scrub(copy.deepcopy(data.meta), index, details=True)
    transcript = data.transcript
    # The log is what a notes-only session exports (notes, markers, baseline answers); with a
    # transcript its notes are the transcript's annotations already (counted there), so here
    # they are only scrubbed. Every event is scrubbed: free-text answers can hold names too.
    events = tuple(
        dataclasses.replace(
            e,
            data=_scrub(e.data, index, count=transcript is None and e.type == "note", paths=False),
        )
        for e in data.events
    )
    if transcript is not None:
        segments = tuple(_anonymise_segment(s, index) for s in transcript.segments)
        annotations = tuple(
            dataclasses.replace(a, text=replace_names(a.text, index) if a.text else a.text)
            for a in transcript.annotations
        )
        # The raw copy (for the JSON export) is scrubbed whole, so that text fields the
        # transcriber adds later (``text_clean`` was one) cannot leak a name.
        raw = copy.deepcopy(transcript.raw)
        for seg in raw.get("segments") or ():
            if isinstance(seg, dict):
                seg.pop("words", None)
        raw = _scrub(raw, index, count=False)
        raw["anonymised"] = True
        transcript = transcript.replace_text(_check(segments), _check(annotations), raw)
    anonymised = dataclasses.replace(data, meta=meta, transcript=transcript, events=events)
    return anonymised, names


def _anonymise_segment(seg: Segment, index: NameIndex) -> Segment:
    """The segment with names replaced; its timed words go when any was replaced (a name can
    span several words), so no reader can put the name back together from them."""
    text = replace_names(seg.text, index)
    return dataclasses.replace(seg, text=text, words=seg.words if text == seg.text else ())


def _check(items: tuple[Any, ...]) -> tuple[Any, ...]:
    assert all(isinstance(i, (Segment, Annotation)) for i in items)
    return items


def write_key(folder: Path, names_file: Path, report: list[Replacement]) -> Path:
    """The private key: which name became which placeholder, in which forms, how often."""
    key = {
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "names_file": str(names_file),
        "replacements": [
            {
                "name": e.name,
                "placeholder": e.placeholder,
                "count": e.count,
                "forms": sorted(e.forms),
            }
            for e in report
        ],
    }
    return write_text_atomic(
        folder / KEY_FILE, json.dumps(key, ensure_ascii=False, indent=2) + "\n"
    )
