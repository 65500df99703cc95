"""Read back a transcript export corrected in another program (``guide-tui import-corrections``).

Researchers correct in f4transkript, MAXQDA or Word. The corrected text comes back here and is
turned into corrections (:mod:`.corrections`), so the guide-aware layer — topics, question codes,
notes, markers — survives: nothing of it is in the text, all of it is in the event log, and the
model lays it over the corrected words again.

How the text is placed: the export's stamps tie paragraphs to turns (the txt export's
``#hh:mm:ss-d#`` is a turn's *end*, the DOCX's ``[hh:mm:ss]`` its *start*); between two stamps
that still match a turn, the edited paragraphs and the transcript's turns are aligned word by word
(:class:`difflib.SequenceMatcher`). A changed run of words becomes ``edit_text``; a paragraph
that now begins inside a turn ``split_turn``; a turn start no paragraph begins at any more
``merge_turns``; a changed ``Label:`` ``set_speaker`` (or ``rename_speaker`` when every turn of
that speaker got the same new label). Marks (``(word?)``, ``(.)``, ``(4 s)``, ...) are not words
and are ignored. What has no transcript words to attach to is reported, never guessed.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from guide_tui.errors import GuideTuiError
from guide_tui.transcript.corrections import (
    EDIT_TEXT,
    MERGE_TURNS,
    RENAME_SPEAKER,
    SET_SPEAKER,
    SPLIT_TURN,
    Correction,
    CorrectionLog,
)
from guide_tui.transcript.model import TranscriptModel, Word

TXT_STAMP = re.compile(r"\s*(#\d{2}:\d{2}:\d{2}-\d#)\s*$")
DOCX_STAMP = re.compile(r"^\[(\d{2}:\d{2}:\d{2})\]\s*(.*)$", re.S)
LABEL = re.compile(r"^([^\s:][^:\n]{0,40}?):\s+(.*)$", re.S)
_MARKS = (
    (re.compile(r"\(possibly not spoken: ([^()]*)\)"), r"\1"),
    (re.compile(r"\(repetition collapsed, check the audio\)"), " "),
    (re.compile(r"\(speaker unsure\)"), " "),
    (re.compile(r"\((?:\.|\d+ s)\)"), " "),
    (re.compile(r"\(([^()]*?)\?\)"), r"\1"),
)


class RoundTripError(GuideTuiError):
    """The corrected file cannot be read back (not a txt/DOCX export, no transcript)."""


@dataclass
class Paragraph:
    """A speech paragraph of the edited export."""

    number: int  # 1-based, among the file's paragraphs
    text: str
    label: str | None = None
    stamp: str | None = None  # as written: "#00:01:02-3#" (txt) or "00:01:02" (docx)

    @property
    def tokens(self) -> list[str]:
        return strip_marks(self.text).split()


@dataclass
class Result:
    recorded: list[Correction] = field(default_factory=list)
    planned: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    described: list[str] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)


def strip_marks(text: str) -> str:
    for pattern, repl in _MARKS:
        text = pattern.sub(repl, text)
    return text


def _split_label(text: str, speakers: set[str]) -> tuple[str | None, str]:
    m = LABEL.match(text)
    if m and (m.group(1) in speakers or (" " not in m.group(1) and len(m.group(1)) <= 16)):
        return m.group(1).strip(), m.group(2).strip()
    return None, text.strip()


def read_txt(path: Path, speakers: set[str]) -> list[Paragraph]:
    """Speech paragraphs of a MAXQDA/f4 txt: blank-line separated; ``[Topic: …]``, ``[Note …]``,
    ``[Marker …]`` and mark-only paragraphs are skipped. A paragraph without a stamp is one the
    researcher split off (or typed)."""
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RoundTripError(f"{path}: cannot read it as UTF-8 text ({error})") from None
    out: list[Paragraph] = []
    blocks = re.split(r"\n[ \t]*\n", raw.replace("\r\n", "\n").replace("\r", "\n"))
    for number, block in enumerate(blocks, start=1):
        text = " ".join(block.split())
        if not text or text.startswith("["):
            continue
        stamp = None
        m = TXT_STAMP.search(text)
        if m:
            stamp, text = m.group(1), text[: m.start()].strip()
        label, body = _split_label(text, speakers)
        if not strip_marks(body).split() and label is None:
            continue  # (untranscribed speech …) and other marks
        out.append(Paragraph(number, body, label, stamp))
    return out


def read_docx(path: Path, speakers: set[str]) -> list[Paragraph]:
    """Speech paragraphs of the DOCX export (``[hh:mm:ss] Label: text``); headings, notes and
    markers (quotes), italic mark lines and the facts table are skipped."""
    try:
        import docx

        document = docx.Document(str(path))
    except Exception as error:  # python-docx raises many kinds for a non-DOCX file
        raise RoundTripError(f"{path}: not a DOCX file ({type(error).__name__})") from None
    out: list[Paragraph] = []
    started = False
    for number, para in enumerate(document.paragraphs, start=1):
        style = (para.style.name if para.style is not None else "") or ""
        if style.startswith("Heading") or style == "Title":
            started = started or style.startswith("Heading")
            continue
        if not started or style == "Intense Quote":
            continue
        text = " ".join(para.text.split())
        if not text:
            continue
        stamp = None
        m = DOCX_STAMP.match(text)
        if m:
            stamp, text = m.group(1), m.group(2).strip()
            if para.runs and all(r.italic for r in para.runs if r.text.strip()):
                continue  # a mark line: (untranscribed speech …)
        label, body = _split_label(text, speakers)
        out.append(Paragraph(number, body, label, stamp))
    return out


def _clip(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def plan(model: TranscriptModel, paragraphs: list[Paragraph], *, docx: bool) -> Result:
    """The corrections that turn ``model`` into the edited ``paragraphs``."""
    from guide_tui.export import timecodes

    result = Result()
    turns = list(model.turns)
    # 1. anchors: a paragraph whose stamp is still a turn's (txt: its end; docx: its start)
    by_stamp: dict[str, list[int]] = {}
    for k, turn in enumerate(turns):
        key = timecodes.hms(turn.start) if docx else timecodes.maxqda(turn.end)
        by_stamp.setdefault(key, []).append(k)
    cuts: list[tuple[int, int]] = [(0, 0)]
    for p_index, para in enumerate(paragraphs):
        if para.stamp is None:
            continue
        last_p, last_k = cuts[-1]
        candidates = [k for k in by_stamp.get(para.stamp, []) if k >= last_k]
        if not candidates:
            continue  # a stamp edited or out of order: its paragraph is aligned by words
        k = candidates[0]
        cut = (p_index, k) if docx else (p_index + 1, k + 1)
        if cut[0] >= last_p and cut[1] >= last_k and cut != cuts[-1]:
            cuts.append(cut)
    cuts.append((len(paragraphs), len(turns)))
    # 2. per chunk: align words
    edits: list[tuple[str, dict[str, Any], str]] = []
    structure: list[tuple[str, dict[str, Any], str]] = []
    labels: list[tuple[Paragraph, list[Word]]] = []
    for (p0, k0), (p1, k1) in itertools.pairwise(cuts):
        paras = paragraphs[p0:p1]
        chunk_turns = turns[k0:k1]
        words = [w for t in chunk_turns for w in t.words]
        if not words:
            for para in paras:
                result.unplaced.append(
                    f"paragraph {para.number} (\u201c{_clip(para.text)}\u201d): no transcript "
                    "words there to attach it to"
                )
            continue
        while True:
            tokens: list[str] = []
            starts: list[int] = []  # token index where each paragraph starts
            for para in paras:
                starts.append(len(tokens))
                tokens += para.tokens
            matcher = SequenceMatcher(None, [w.text for w in words], tokens, autojunk=False)
            same = {j for b in matcher.get_matching_blocks() for j in range(b.b, b.b + b.size)}
            bounds = [*starts[1:], len(tokens)]
            # a paragraph with no word of the transcript in it was typed in: not placeable
            lonely = [
                n
                for n, (j0, j1) in enumerate(zip(starts, bounds, strict=True))
                if len(paras) > 1 and j1 > j0 and not same.intersection(range(j0, j1))
            ]
            if not lonely:
                break
            for n in lonely:
                result.unplaced.append(
                    f"paragraph {paras[n].number} (\u201c{_clip(paras[n].text)}\u201d): no "
                    "transcript words there to attach it to"
                )
            paras = [para for n, para in enumerate(paras) if n not in lonely]
        if not tokens:
            continue
        if matcher.ratio() < 0.3 and len(words) > 3:
            first = paras[0] if paras else None
            where = f"paragraph {first.number}" if first else "a stretch"
            result.unplaced.append(
                f"{where} (\u201c{_clip(' '.join(tokens))}\u201d): too different from the "
                f"transcript at {timecodes.hms(words[0].start)} to place the changes"
            )
            continue
        ops = matcher.get_opcodes()
        mapping: dict[int, int] = {}  # edited token -> transcript word
        for tag, i1, i2, j1, j2 in ops:
            for j in range(j1, j2):
                if i2 > i1:
                    mapping[j] = min(i1 + (j - j1), i2 - 1)
                elif i1 < len(words):
                    mapping[j] = i1
                else:
                    mapping[j] = i1 - 1
            if tag == "equal":
                continue
            if i1 == i2:  # inserted words: join them to a neighbour
                if i1 > 0:
                    i1, new = i1 - 1, [words[i1 - 1].text, *tokens[j1:j2]]
                else:
                    i2, new = 1, [*tokens[j1:j2], words[0].text]
            else:
                new = tokens[j1:j2]
            span = words[i1:i2]
            original = " ".join(w.text for w in span)
            text = " ".join(new)
            edits.append(
                (
                    EDIT_TEXT,
                    {
                        "start": span[0].start,
                        "end": span[-1].end,
                        "original": original,
                        "text": text,
                    },
                    f"{timecodes.hms(span[0].start)} \u201c{_clip(original)}\u201d \u2192 "
                    f"\u201c{_clip(text)}\u201d",
                )
            )
        # paragraph boundaries
        turn_starts = {id(t.words[0]) for t in chunk_turns}
        begins: set[int] = set()
        for n, (para, j) in enumerate(zip(paras, starts, strict=True)):
            j_end = starts[n + 1] if n + 1 < len(starts) else len(tokens)
            if j >= j_end:
                continue
            i = mapping.get(j)
            if i is None:
                continue
            begins.add(i)
            j_last = mapping.get(j_end - 1, i)
            labels.append((para, words[i : max(j_last, i) + 1]))
            if n and id(words[i]) not in turn_starts and i > 0:
                structure.append(
                    (
                        SPLIT_TURN,
                        {"at": words[i].start, "word": words[i].text},
                        f"{timecodes.hms(words[i].start)} new paragraph at "
                        f"\u201c{words[i].text}\u201d",
                    )
                )
        for t in chunk_turns[1:]:
            i = next(n for n, w in enumerate(words) if w is t.words[0])
            if i not in begins:
                structure.append(
                    (
                        MERGE_TURNS,
                        {"at": t.words[0].start, "word": t.words[0].text},
                        f"{timecodes.hms(t.start)} paragraphs joined at "
                        f"\u201c{t.words[0].text}\u201d",
                    )
                )
    # 3. speaker labels
    speakers = _speaker_changes(model, labels)
    result.planned = [(kind, data) for kind, data, _ in speakers + structure + edits]
    result.described = [line for _, _, line in speakers + structure + edits]
    return result


def _speaker_changes(
    model: TranscriptModel, labels: list[tuple[Paragraph, list[Word]]]
) -> list[tuple[str, dict[str, Any], str]]:
    """``rename_speaker`` when every paragraph of a speaker has the same new label (a label
    scheme changed: ``SPEAKER_00`` → ``I``), else ``set_speaker`` for each changed paragraph."""
    from guide_tui.export import timecodes

    changed: list[tuple[Paragraph, list[Word], str | None]] = []
    seen: Counter[tuple[str | None, str | None]] = Counter()
    for para, words in labels:
        if not words:
            continue
        was = words[0].speaker
        seen[(was, para.label)] += 1
        if para.label is not None and para.label != was:
            changed.append((para, words, was))
    out: list[tuple[str, dict[str, Any], str]] = []
    renamed: set[str] = set()
    for was in {w for _, _, w in changed if w is not None}:
        new = {label for (old, label), _ in seen.items() if old == was}
        if (
            len(new) == 1
            and None not in new
            and sum(n for (o, _), n in seen.items() if o == was) > 1
        ):
            name = next(iter(new))
            assert name is not None
            renamed.add(was)
            out.append(
                (
                    RENAME_SPEAKER,
                    {"speaker": was, "name": name},
                    f"speaker {was} \u2192 {name} throughout",
                )
            )
    for para, words, was in changed:
        if was in renamed:
            continue
        original = " ".join(w.text for w in words)
        out.append(
            (
                SET_SPEAKER,
                {
                    "start": words[0].start,
                    "end": words[-1].end,
                    "original": original,
                    "speaker": para.label,
                },
                f"{timecodes.hms(words[0].start)} speaker {was or '(none)'} \u2192 {para.label}",
            )
        )
    return out


def import_corrections(session: Path, path: Path, *, dry_run: bool = False) -> Result:
    """Record the differences between ``path`` (an edited txt/DOCX export) and the session's
    corrected transcript as corrections; return what was recorded and what was not placed."""
    from guide_tui.export.session_data import read_session
    from guide_tui.export.writers import transcript_model

    if not path.is_file():
        raise RoundTripError(f"{path}: no such file")
    data = read_session(session)
    model = transcript_model(data)
    speakers = {t.speaker for t in model.turns if t.speaker} | set(model.speakers)
    suffix = path.suffix.lower()
    if suffix == ".docx":
        paragraphs = read_docx(path, speakers)
    elif suffix == ".txt":
        paragraphs = read_txt(path, speakers)
    else:
        raise RoundTripError(f"{path}: give the txt (MAXQDA/f4) or DOCX export")
    if not paragraphs:
        raise RoundTripError(f"{path}: no transcript paragraphs in it")
    result = plan(model, paragraphs, docx=suffix == ".docx")
    if dry_run:
        return result
    log = CorrectionLog.open(session)
    for kind, fields in result.planned:
        result.recorded.append(log.append(kind, **fields))
    # what the model still could not place (an edit overlapping another): say so too
    after = transcript_model(read_session(session))
    result.unplaced += [line for line in after.unplaced if line not in model.unplaced]
    return result


__all__ = ["Paragraph", "Result", "import_corrections", "plan", "read_docx", "read_txt"]
