"""Load and validate YAML interview guides (SPEC §2).

Why not ``yaml.safe_load`` and then check the dict? Because a dict has forgotten where each value
was written, and every message must name the line and column. So the file is *composed* with the
safe loader into a node tree (which keeps marks), and the validator walks the nodes, building the
typed model from scalars it reads itself. YAML 1.1 surprises are avoided on the way: text fields
take the scalar's source text, so ``No`` stays the string "No" instead of becoming ``False``.

Every problem in a file is collected (the walk never stops at the first one) and reported at once;
the guide is only built if there was no error, so a guide that fails validation is never used.
Warnings (minutes that do not add up) do not stop loading.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from guide_tui.errors import GuideError
from guide_tui.guide.ids import ID_PATTERN, IdAllocator
from guide_tui.guide.model import (
    BASELINE_TYPES,
    BaselineField,
    ClosingPrompt,
    ConsentItem,
    Group,
    Guide,
    Probe,
    Question,
    Topic,
)
from guide_tui.safetext import bidi_controls, control_characters, describe, terminal_text

SCHEMA_VERSION = 1
MAX_NODES = 200_000  # a guide is small; this stops alias bombs from taking the machine down
MAX_BYTES = 5 * 1024 * 1024

# ISO 639-1 codes Whisper can transcribe, plus "auto" (detect).
LANGUAGES = frozenset(
    """af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw
    he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne
    nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur
    uz vi yi yo yue zh auto""".split()
)

TOP_KEYS = (
    "schema",
    "id",
    "title",
    "version",
    "language",
    "duration_minutes",
    "description",
    "authors",
    "source",
    "groups",
    "consent",
    "baseline",
    "topics",
    "closing",
    "vocabulary",
)
TOP_REQUIRED = ("id", "title", "version", "language", "duration_minutes", "topics")
GROUP_KEYS = ("id", "label")
ITEM_KEYS = ("id", "text")
CLOSING_KEYS = ("id", "text", "variants")
SUMMARY_KEYS = ("text", "variants")
BASELINE_KEYS = ("id", "label", "type", "options", "required", "unit", "min", "max")
TOPIC_KEYS = (
    "id",
    "title",
    "minutes",
    "research_questions",
    "questions",
    "summary",
    "sensitive",
    "groups",
    "note",
)
QUESTION_KEYS = ("id", "text", "probes", "groups", "variants", "sensitive", "note")

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class Problem:
    """One error or warning, located in the file (line and column count from 1)."""

    file: str
    line: int
    column: int
    severity: str  # "error" | "warning"
    message: str

    def __str__(self) -> str:
        # A message may quote the guide (an unknown key, a title): never a command for the
        # terminal the message is printed on.
        return terminal_text(
            f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"
        )


def load_guide(path: str | os.PathLike[str]) -> Guide:
    """Load a guide, raising :class:`GuideError` listing every error; warnings are dropped."""
    guide, _warnings = load_guide_with_warnings(path)
    return guide


def load_guide_with_warnings(path: str | os.PathLike[str]) -> tuple[Guide, list[Problem]]:
    """Load a guide; return it with its warnings, or raise :class:`GuideError` with all problems."""
    data = _read_file(path)
    guide, warnings = parse_guide(data, str(path))
    return _with_source(guide, path, data), warnings


def read_guide_data(path: str | os.PathLike[str]) -> Any:
    """A guide file as plain YAML data (dicts, lists, strings), without validating it.

    For readers that want a field or two of a frozen guide that may no longer validate
    (transcription takes the language and vocabulary, and topic titles from a damaged guide).
    They get the loader's checks all the same: only a regular file, at most :data:`MAX_BYTES`,
    UTF-8, not nested past the recursion limit, so a bad file is a :class:`GuideError`, never a
    ``UnicodeDecodeError`` or ``RecursionError`` from deep inside PyYAML.
    """
    name = str(path)
    data = _read_file(path)
    if len(data) > MAX_BYTES:
        raise GuideError(f"{name}: over {MAX_BYTES // 1024 // 1024} MB; not a guide file")
    root = _compose(_decode(data, name), name)
    if root is None:
        return None
    try:
        return yaml.SafeLoader("").construct_document(root)
    except RecursionError:
        raise GuideError(
            "invalid YAML", [Problem(name, 1, 1, "error", "YAML nested too deeply")]
        ) from None
    except yaml.YAMLError as error:  # e.g. a timestamp or binary that does not construct
        raise GuideError("invalid YAML", [Problem(name, 1, 1, "error", f"YAML: {error}")]) from None


def _read_file(path: str | os.PathLike[str]) -> bytes:
    """The file's bytes (at most one more than :data:`MAX_BYTES`), or a GuideError saying why."""
    from guide_tui.userfiles import NotARegularFile, open_regular_file

    name = str(path)
    try:
        # Not open(): a named pipe or a device given as the guide would block it for ever.
        with open_regular_file(path) as handle:
            return handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise GuideError(f"{name}: no such guide file") from None
    except NotARegularFile as error:
        raise GuideError(f"{name}: is {error.kind}, not a guide file") from None
    except OSError as error:
        raise GuideError(f"{name}: cannot read the guide: {error.strerror or error}") from None


def parse_guide(data: bytes | str, filename: str = "<guide>") -> tuple[Guide, list[Problem]]:
    """Validate guide text; return (guide, warnings) or raise :class:`GuideError`."""
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise GuideError(f"{filename}: over {MAX_BYTES // 1024 // 1024} MB; not a guide file")
        text = _decode(data, filename)
    else:
        text = data
    root = _compose(text, filename)
    validator = _Validator(filename)
    guide = validator.validate(root)
    errors = [p for p in validator.problems if p.severity == "error"]
    warnings = [p for p in validator.problems if p.severity == "warning"]
    if errors or guide is None:
        count = len(errors)
        problems = sorted(validator.problems, key=lambda p: (p.line, p.column))
        raise GuideError(f"{filename}: {count} error{'s' if count != 1 else ''}", problems)
    return guide, warnings


def _decode(data: bytes, filename: str) -> str:
    """UTF-8 (a BOM allowed) or a GuideError pointing at the first byte that is not."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise GuideError(
            "not UTF-8 text",
            [
                Problem(
                    filename,
                    line,
                    column,
                    "error",
                    "the file is not UTF-8 text (save it as UTF-8)",
                )
            ],
        ) from None


def _with_source(guide: Guide, path: str | os.PathLike[str], data: bytes) -> Guide:
    from dataclasses import replace

    return replace(guide, path=str(Path(path)), sha256=hashlib.sha256(data).hexdigest())


# libyaml composes the same node tree with the same marks about 15x faster (20 ms -> 1.3 ms for
# the GP guide), which is most of the guide's share of the TUI's start-up. Errors are re-read
# with the pure-Python loader, whose messages are clearer ("but got '<stream end>'").
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str, filename: str) -> Node | None:
    try:
        return yaml.compose(text, Loader=_FAST_LOADER)  # safe: composes nodes only
    except (yaml.YAMLError, RecursionError):
        return _compose_slowly(text, filename)


def _compose_slowly(text: str, filename: str) -> Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)  # safe: SafeLoader, composes nodes only
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        advice = _plain_yaml_error(error, text.splitlines())
        if advice is not None:
            at, message = advice
            if at is not None:
                line, column = at.line + 1, at.column + 1
            raise GuideError(
                "invalid YAML",
                [Problem(filename, line, column, "error", f"YAML syntax: {message}")],
            ) from None
        what = error.problem or "invalid YAML"
        if error.context:
            what = f"{error.context}, {what}"
        raise GuideError(
            "invalid YAML", [Problem(filename, line, column, "error", f"YAML syntax: {what}")]
        ) from None
    except yaml.YAMLError as error:  # e.g. a reader error on a control character
        mark = getattr(error, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise GuideError(
            "invalid YAML", [Problem(filename, line, column, "error", f"YAML: {error}")]
        ) from None
    except RecursionError:
        raise GuideError(
            "invalid YAML", [Problem(filename, 1, 1, "error", "YAML nested too deeply")]
        ) from None


def _plain_yaml_error(error: yaml.MarkedYAMLError, lines: list[str]) -> tuple[Any, str] | None:
    """The parser's message for the common mistakes, as advice a guide author can act on.

    Returns (the mark to report, or None for the problem's own; the advice), or None for
    messages not translated (they are shown as the parser gave them). Guide authors are
    researchers, not YAML experts: "expected <block end>, but found '<block mapping start>'"
    means "this line is indented differently from its neighbours".
    """
    problem = error.problem or ""
    context = error.context or ""
    mark, context_mark = error.problem_mark, error.context_mark

    def shown(at: Any) -> str:
        if at is None or not 0 <= at.line < len(lines):
            return ""
        text = lines[at.line].strip()
        text = text if len(text) <= 60 else text[:57] + "..."
        return f" (line {at.line + 1}: {text!r})" if text else ""

    if "'\\t'" in problem:  # the parser shows the tab escaped
        return None, (
            "a tab character; YAML indents with spaces only: replace the tab with spaces"
            + shown(mark)
        )
    if problem == "mapping values are not allowed here" and mark is not None:
        line = lines[mark.line] if mark.line < len(lines) else ""
        first_colon = line.find(": ")
        if 0 <= first_colon < mark.column:  # the line's key came first: the text has ': '
            return None, (
                "a ': ' inside a text, which YAML reads as a new key: put the whole text in "
                'quotes, e.g. title: "Work: a typical day"' + shown(mark)
            )
        return None, (
            "this line is indented further than the line above it, but that line already has "
            "its value: line the key up with the keys above it" + shown(mark)
        )
    if problem.startswith("expected <block end>, but found '<scalar>'"):
        return None, (
            "text after a closing quote: put the whole value in quotes, or remove what follows "
            "the quote" + shown(mark)
        )
    if problem.startswith("expected <block end>, but found") or (
        problem.startswith("expected <block mapping") or problem.startswith("expected <block seq")
    ):
        return None, (
            "this line is indented differently from the lines at the same level above it: the "
            "keys of one item, and the '- ' items of one list, must start in the same column"
            + shown(mark)
        )
    if problem == "could not find expected ':'":
        return context_mark, (
            "a line without ':' after its key (write 'key: value'), or a text continued on the "
            "next line without being indented" + shown(context_mark)
        )
    if "quoted scalar" in context:
        return context_mark, (
            "a quote opened here is never closed: add the closing quote (a quote inside a "
            'quoted text is written twice for \' or as \\" for ")' + shown(context_mark)
        )
    if "flow sequence" in context:
        return context_mark, (
            "a list in [ ] that is not closed with ']', or an item in it that holds ': ' or ',' "
            "and needs quotes" + shown(context_mark)
        )
    if "flow mapping" in context:
        return context_mark, (
            "a mapping in { } that is not closed with '}', or a value in it that holds ': ' or "
            "',' and needs quotes" + shown(context_mark)
        )
    if problem == "sequence entries are not allowed here":
        return None, (
            "a '- ' list item on the same line as its key: start the list on the next line, "
            "indented under its key" + shown(mark)
        )
    return None


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == _NULL:
        return "nothing"
    value = str(node.value)
    shown = value if len(value) <= 30 else value[:27] + "..."
    return f"{shown!r}"


def _suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


class _Validator:
    """Walks the node tree once, collecting every problem and building the model."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []
        self.nodes_seen = 0
        self.group_ids: dict[str, Node] = {}
        self.last_suggested: set[str] = set()  # keys the last mapping's misspellings meant

    # -- reporting ---------------------------------------------------------------------------
    def error(self, node: Node | None, message: str) -> None:
        self._add(node, "error", message)

    def warning(self, node: Node | None, message: str) -> None:
        self._add(node, "warning", message)

    def _add(self, node: Node | None, severity: str, message: str) -> None:
        line, column = (node.start_mark.line + 1, node.start_mark.column + 1) if node else (1, 1)
        self.problems.append(Problem(self.filename, line, column, severity, message))

    # -- structure ---------------------------------------------------------------------------
    def mapping(
        self,
        node: Node,
        what: str,
        allowed: tuple[str, ...],
        required: tuple[str, ...] = (),
    ) -> dict[str, Node] | None:
        """The mapping's values by key, after checking keys; None if it is not a mapping."""
        self._count(node)
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping of keys to values, not {_describe(node)}")
            return None
        values: dict[str, Node] = {}
        first_seen: dict[str, Node] = {}
        suggested: set[str] = set()  # a misspelt key already says what was meant
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _NULL:
                self.error(key_node, f"keys in {what} must be plain words")
                continue
            key = str(key_node.value)
            if key in first_seen:
                line = first_seen[key].start_mark.line + 1
                self.error(
                    key_node, f"duplicate key '{key}' in {what} (first given on line {line})"
                )
                continue
            first_seen[key] = key_node
            if key not in allowed:
                suggested.update(difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6))
                self.error(
                    key_node,
                    f"unknown key '{key}' in {what}{_suggest(key, allowed)}; "
                    f"allowed: {', '.join(allowed)}",
                )
                continue
            values[key] = value_node
        self.last_suggested = suggested
        for key in required:
            if key not in values and key not in first_seen and key not in suggested:
                self.error(node, f"{what} is missing the required key '{key}'")
        return values

    def sequence(self, node: Node, what: str, allow_empty: bool = True) -> list[Node]:
        self._count(node)
        if not isinstance(node, SequenceNode):
            self.error(node, f"{what} must be a list ('- ' items), not {_describe(node)}")
            return []
        if not node.value and not allow_empty:
            self.error(node, f"{what} must not be empty")
        return list(node.value)

    def _count(self, node: Node) -> None:
        self.nodes_seen += 1
        if self.nodes_seen == MAX_NODES:
            self.error(node, "the guide is far too large (aliases expanding without end?)")

    @property
    def too_large(self) -> bool:
        return self.nodes_seen >= MAX_NODES

    # -- scalars -----------------------------------------------------------------------------
    def text(
        self, node: Node, what: str, allow_empty: bool = False, *, one_line: bool = False
    ) -> str | None:
        """A scalar's source text, stripped; None (with an error) if it is not text.

        Guide text is shown in terminals and written into XML: control characters (which a
        terminal executes: ``"\\e]0;..."`` retitles the window) are errors; a line break or
        tab in a ``one_line`` field (titles, labels, options) breaks the screen's layout and
        is one too. Bidirectional controls are only warned about: right-to-left guides (ar, he,
        fa, ur) may need them, and they do not command the terminal.
        """
        self._count(node)
        if not isinstance(node, ScalarNode) or node.tag == _NULL:
            self.error(node, f"{what} must be text, not {_describe(node)}")
            return None
        value = str(node.value).strip()
        if not value and not allow_empty:
            self.error(node, f"{what} must not be empty")
            return None
        return value if self._plain_text(node, what, value, one_line) else None

    def _plain_text(self, node: Node, what: str, value: str, one_line: bool) -> bool:
        """Check ``value`` for characters that do not belong in guide text (see :meth:`text`)."""
        found = control_characters(value, one_line=one_line)
        if found:
            index, char = found[0]
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            if char in "\t\n\r\u2028\u2029" and one_line:
                self.error(node, f"{what} must be one line, but has a {describe(char)}{more}")
            else:
                self.error(
                    node,
                    f"{what} contains the control character {describe(char)} at character "
                    f"{index + 1}{more}; terminals execute control characters, so a guide "
                    "may not hold them (written as \\e, \\x1b or \\u001b in quotes?)",
                )
            return False
        bidi = bidi_controls(value)
        if bidi:
            index, char = bidi[0]
            self.warning(
                node,
                f"{what} contains the invisible bidirectional control {describe(char)} at "
                f"character {index + 1}: the text may display in another order than it is "
                "written; remove it unless the text is right-to-left",
            )
        return True

    def number(self, node: Node, what: str, minimum: float | None = None) -> float | None:
        self._count(node)
        if not isinstance(node, ScalarNode) or node.tag not in (_INT, _FLOAT):
            self.error(node, f"{what} must be a number, not {_describe(node)}")
            return None
        try:  # the safe constructor reads every YAML 1.1 number form (0x1A, 1_000, .inf)
            value = float(yaml.SafeLoader("").construct_object(node))
        except (ValueError, TypeError, OverflowError, yaml.YAMLError):
            self.error(node, f"{what} must be a number, not {_describe(node)}")
            return None
        if value != value or value in (float("inf"), float("-inf")):
            self.error(node, f"{what} must be a finite number")
            return None
        if minimum is not None and value < minimum:
            self.error(node, f"{what} must be at least {minimum:g}, not {value:g}")
            return None
        return value

    def boolean(self, node: Node, what: str) -> bool | None:
        self._count(node)
        if isinstance(node, ScalarNode) and node.tag == _BOOL:
            return str(node.value).lower() in ("true", "yes", "on", "y")
        self.error(node, f"{what} must be true or false, not {_describe(node)}")
        return None

    def text_list(self, node: Node, what: str, *, one_line: bool = False) -> tuple[str, ...]:
        items = []
        for item in self.sequence(node, what):
            value = self.text(item, f"each item of {what}", one_line=one_line)
            if value is not None:
                items.append(value)
        return tuple(items)

    def given_id(self, node: Node, what: str, seen: dict[str, Node]) -> str | None:
        """Check a given id's form and uniqueness within its namespace ``seen``."""
        value = self.text(node, f"the id of {what}", one_line=True)
        if value is None:
            return None
        if not ID_PATTERN.match(value):
            self.error(
                node,
                f"id '{value}' of {what} must be 1-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit",
            )
            return None
        if value in seen:
            line = seen[value].start_mark.line + 1
            self.error(node, f"duplicate id '{value}' for {what} (already used on line {line})")
            return None
        seen[value] = node
        return value

    def group_refs(self, node: Node, what: str) -> tuple[str, ...]:
        refs = []
        for item in self.sequence(node, f"the groups of {what}"):
            value = self.text(item, f"a group of {what}", one_line=True)
            if value is None:
                continue
            if not self.group_ids:
                self.error(item, f"{what} names group '{value}', but the guide declares no groups")
            elif value not in self.group_ids:
                self.error(
                    item,
                    f"unknown group '{value}' in {what}{_suggest(value, list(self.group_ids))}; "
                    f"declared groups: {', '.join(self.group_ids)}",
                )
            else:
                refs.append(value)
        return tuple(refs)

    # -- the guide ---------------------------------------------------------------------------
    def validate(self, root: Node | None) -> Guide | None:
        if root is None:
            self.error(
                None, "the file is empty; a guide needs at least: " + ", ".join(TOP_REQUIRED)
            )
            return None
        top = self.mapping(root, "the guide", TOP_KEYS, TOP_REQUIRED)
        if top is None:
            return None
        if "schema" in top:
            schema = self.number(top["schema"], "schema")
            if schema is not None and schema != SCHEMA_VERSION:
                self.error(
                    top["schema"],
                    f"schema {schema:g} is not supported by this guide-tui (it reads schema "
                    f"{SCHEMA_VERSION}); upgrade guide-tui",
                )
        guide_id = title = version = language = None
        if "id" in top:
            guide_id = self.given_id(top["id"], "the guide", {})
        if "title" in top:
            title = self.text(top["title"], "title", one_line=True)
        if "version" in top:
            version = self.text(top["version"], "version", one_line=True)
        if "language" in top:
            language = self.text(top["language"], "language", one_line=True)
            if language is not None:
                language = language.lower()
                if language not in LANGUAGES:
                    self.error(
                        top["language"],
                        f"unknown language '{language}'{_suggest(language, sorted(LANGUAGES))}; "
                        "use an ISO 639-1 code such as 'en' or 'da', or 'auto'",
                    )
                    language = None
        duration = None
        if "duration_minutes" in top:
            duration = self.number(top["duration_minutes"], "duration_minutes", minimum=0)
            if duration == 0:
                self.error(top["duration_minutes"], "duration_minutes must be more than 0")
                duration = None
        description = self.text(top["description"], "description") if "description" in top else None
        source = self.text(top["source"], "source") if "source" in top else None
        authors = (
            self.text_list(top["authors"], "authors", one_line=True) if "authors" in top else ()
        )
        vocabulary = (
            self.text_list(top["vocabulary"], "vocabulary", one_line=True)
            if "vocabulary" in top
            else ()
        )

        groups = self.groups(top["groups"]) if "groups" in top else ()
        consent = (
            self.items(top["consent"], "consent", "a consent item", ConsentItem, "consent")
            if "consent" in top
            else ()
        )
        baseline = self.baseline(top["baseline"]) if "baseline" in top else ()
        topics = self.topics(top["topics"]) if "topics" in top else ()
        closing = (
            self.items(
                top["closing"],
                "closing",
                "a closing prompt",
                ClosingPrompt,
                "closing",
                with_variants=True,
            )
            if "closing" in top
            else ()
        )
        if topics and duration and "topics" in top:
            planned = sum(t.minutes or 0 for t in topics)
            if any(t.minutes is not None for t in topics) and abs(planned - duration) > 0.01:
                self.warning(
                    top["topics"],
                    f"the topics' minutes add up to {planned:g}, but duration_minutes is "
                    f"{duration:g}",
                )
        if self.too_large or any(p.severity == "error" for p in self.problems):
            return None
        assert guide_id and title and version and language and duration  # checked above
        return Guide(
            id=guide_id,
            title=title,
            version=version,
            language=language,
            duration_minutes=duration,
            topics=topics,
            consent=consent,
            baseline=baseline,
            closing=closing,
            groups=groups,
            vocabulary=vocabulary,
            description=description,
            authors=authors,
            source=source,
        )

    def groups(self, node: Node) -> tuple[Group, ...]:
        result = []
        allocator = IdAllocator()
        pending: list[tuple[Node | None, str, Node]] = []
        for item in self.sequence(node, "groups"):
            values = self.mapping(item, "a group", GROUP_KEYS, ("label",))
            if values is None:
                continue
            label = (
                self.text(values["label"], "the label of a group", one_line=True)
                if "label" in values
                else None
            )
            given = (
                self.given_id(values["id"], "a group", self.group_ids) if "id" in values else None
            )
            if label is None:
                continue
            pending.append((values.get("id"), given or "", item))
            result.append(Group(id=given or "", label=label))
        allocator.taken.update(self.group_ids)
        built = []
        for group, (id_node, given, item) in zip(result, pending, strict=True):
            if id_node is not None and not given:
                continue  # its id was invalid; already reported
            group_id = given or allocator.derive(group.label, "group")
            self.group_ids.setdefault(group_id, item)
            built.append(Group(id=group_id, label=group.label))
        return tuple(built)

    def items(
        self,
        node: Node,
        what: str,
        one: str,
        cls: Any,
        fallback: str,
        *,
        with_variants: bool = False,
    ) -> tuple[Any, ...]:
        """A list of text items, each a string or ``{id, text}`` (consent, probes, closing);
        closing prompts may also have ``variants`` per group, as questions do."""
        seen: dict[str, Node] = {}
        entries: list[tuple[str | None, str, tuple[tuple[str, str], ...]]] = []
        for item in self.sequence(node, what):
            if isinstance(item, MappingNode):
                keys = CLOSING_KEYS if with_variants else ITEM_KEYS
                values = self.mapping(item, one, keys, ("text",))
                if values is None:
                    continue
                given = self.given_id(values["id"], one, seen) if "id" in values else None
                text = self.text(values["text"], f"the text of {one}") if "text" in values else None
                variants = (
                    self.variants(values["variants"], f"'{text[:40]}'" if text else one)
                    if "variants" in values
                    else ()
                )
                if text is not None and ("id" not in values or given):
                    entries.append((given, text, variants))
            else:
                text = self.text(item, one)
                if text is not None:
                    entries.append((None, text, ()))
        allocator = IdAllocator(set(seen))
        return tuple(
            cls(id=given or allocator.derive(text, fallback), text=text, variants=variants)
            if with_variants
            else cls(id=given or allocator.derive(text, fallback), text=text)
            for given, text, variants in entries
        )

    def variants(self, node: Node, what: str) -> tuple[tuple[str, str], ...]:
        """``{group id: wording}`` for a question, a summary or a closing prompt."""
        variants: list[tuple[str, str]] = []
        variant_values = self.mapping(
            node, f"the variants of {what}", tuple(self.group_ids) or ("",)
        )
        for group_id, wording_node in (variant_values or {}).items():
            wording = self.text(wording_node, f"the '{group_id}' variant of {what}")
            if wording is not None:
                variants.append((group_id, wording))
        if not self.group_ids and isinstance(node, MappingNode):
            self.error(node, f"{what} has variants, but the guide declares no groups")
        return tuple(variants)

    def summary(self, node: Node, what: str) -> tuple[str | None, tuple[tuple[str, str], ...]]:
        """A summary is its text, or ``{text, variants}`` when groups need their own wording."""
        if not isinstance(node, MappingNode):
            return self.text(node, f"the summary of {what}"), ()
        values = self.mapping(node, f"the summary of {what}", SUMMARY_KEYS, ("text",))
        if values is None:
            return None, ()
        text = self.text(values["text"], f"the summary of {what}") if "text" in values else None
        variants = (
            self.variants(values["variants"], f"the summary of {what}")
            if "variants" in values
            else ()
        )
        return text, variants

    def baseline(self, node: Node) -> tuple[BaselineField, ...]:
        seen: dict[str, Node] = {}
        entries: list[tuple[str | None, dict[str, Any]]] = []
        for item in self.sequence(node, "baseline"):
            values = self.mapping(item, "a baseline field", BASELINE_KEYS, ("label", "type"))
            if values is None:
                continue
            label = (
                self.text(values["label"], "the label of a baseline field", one_line=True)
                if "label" in values
                else None
            )
            what = f"baseline field '{label}'" if label else "a baseline field"
            given = self.given_id(values["id"], what, seen) if "id" in values else None
            field_type = None
            if "type" in values:
                field_type = self.text(values["type"], f"the type of {what}", one_line=True)
                if field_type is not None and field_type not in BASELINE_TYPES:
                    self.error(
                        values["type"],
                        f"unknown type '{field_type}' for {what}"
                        f"{_suggest(field_type, BASELINE_TYPES)}; "
                        f"use one of: {', '.join(BASELINE_TYPES)}",
                    )
                    field_type = None
            options: tuple[str, ...] = ()
            if "options" in values:
                if field_type is not None and field_type != "choice":
                    self.error(values["options"], f"options only apply to type 'choice' ({what})")
                options = self.text_list(values["options"], f"the options of {what}", one_line=True)
                duplicates = {o for o in options if options.count(o) > 1}
                if duplicates:
                    self.error(
                        values["options"],
                        f"{what} lists an option twice: {', '.join(sorted(duplicates))}",
                    )
            elif field_type == "choice":
                self.error(item, f"{what} is a choice but has no options")
            required = (
                self.boolean(values["required"], f"'required' of {what}")
                if "required" in values
                else True
            )
            bounds: dict[str, float | None] = {"min": None, "max": None}
            for key in ("min", "max"):
                if key in values:
                    if field_type is not None and field_type != "number":
                        self.error(values[key], f"'{key}' only applies to type 'number' ({what})")
                    bounds[key] = self.number(values[key], f"'{key}' of {what}")
            unit = None
            if "unit" in values:
                if field_type is not None and field_type != "number":
                    self.error(values["unit"], f"'unit' only applies to type 'number' ({what})")
                unit = self.text(values["unit"], f"the unit of {what}", one_line=True)
            low, high = bounds["min"], bounds["max"]
            if low is not None and high is not None and low > high:
                self.error(values["max"], f"'max' of {what} is below its 'min'")
            if label is None or field_type is None or ("id" in values and not given):
                continue
            entries.append(
                (
                    given,
                    {
                        "label": label,
                        "type": field_type,
                        "options": options,
                        "required": True if required is None else required,
                        "unit": unit,
                        "minimum": low,
                        "maximum": high,
                    },
                )
            )
        allocator = IdAllocator(set(seen))
        return tuple(
            BaselineField(id=given or allocator.derive(fields["label"], "field"), **fields)
            for given, fields in entries
        )

    def topics(self, node: Node) -> tuple[Topic, ...]:
        topic_seen: dict[str, Node] = {}
        question_seen: dict[str, Node] = {}
        raw_topics = []
        for item in self.sequence(node, "topics", allow_empty=False):
            raw = self.topic(item, topic_seen, question_seen)
            if raw is not None:
                raw_topics.append(raw)
        topic_ids = IdAllocator(set(topic_seen))
        question_ids = IdAllocator(set(question_seen))
        topics = []
        for given, fields, questions in raw_topics:
            built_questions = tuple(
                Question(
                    id=q_given or question_ids.derive(q_fields["text"], "question"), **q_fields
                )
                for q_given, q_fields in questions
            )
            topics.append(
                Topic(
                    id=given or topic_ids.derive(fields["title"], "topic"),
                    questions=built_questions,
                    **fields,
                )
            )
        return tuple(topics)

    def topic(
        self, node: Node, topic_seen: dict[str, Node], question_seen: dict[str, Node]
    ) -> tuple[str | None, dict[str, Any], list[tuple[str | None, dict[str, Any]]]] | None:
        values = self.mapping(node, "a topic", TOPIC_KEYS, ("title",))
        if values is None:
            return None
        title = (
            self.text(values["title"], "the title of a topic", one_line=True)
            if "title" in values
            else None
        )
        what = f"topic '{title}'" if title else "a topic"
        if "questions" not in values and "questions" not in self.last_suggested:
            self.error(node, f"{what} is missing the required key 'questions'")
        given = self.given_id(values["id"], what, topic_seen) if "id" in values else None
        minutes = (
            self.number(values["minutes"], f"the minutes of {what}", minimum=0)
            if "minutes" in values
            else None
        )
        research = (
            self.text_list(values["research_questions"], f"the research questions of {what}")
            if "research_questions" in values
            else ()
        )
        summary, summary_variants = (
            self.summary(values["summary"], what) if "summary" in values else (None, ())
        )
        note = self.text(values["note"], f"the note of {what}") if "note" in values else None
        sensitive = (
            self.boolean(values["sensitive"], f"'sensitive' of {what}")
            if "sensitive" in values
            else False
        )
        groups = self.group_refs(values["groups"], what) if "groups" in values else ()
        questions = []
        if "questions" in values:
            items = self.sequence(values["questions"], f"the questions of {what}")
            if not items and isinstance(values["questions"], SequenceNode):
                self.error(values["questions"], f"{what} has no questions (an empty topic)")
            for item in items:
                question = self.question(item, what, question_seen)
                if question is not None:
                    questions.append(question)
        if title is None or ("id" in values and not given):
            return None
        fields = {
            "title": title,
            "minutes": minutes,
            "research_questions": research,
            "summary": summary,
            "summary_variants": summary_variants,
            "note": note,
            "sensitive": bool(sensitive),
            "groups": groups,
        }
        return given, fields, questions

    def question(
        self, node: Node, topic_what: str, seen: dict[str, Node]
    ) -> tuple[str | None, dict[str, Any]] | None:
        if not isinstance(node, MappingNode):
            text = self.text(node, f"a question of {topic_what}")
            return (None, {"text": text}) if text is not None else None
        values = self.mapping(node, f"a question of {topic_what}", QUESTION_KEYS, ("text",))
        if values is None:
            return None
        text = (
            self.text(values["text"], f"the text of a question of {topic_what}")
            if "text" in values
            else None
        )
        what = f"question '{text[:40]}'" if text else f"a question of {topic_what}"
        given = self.given_id(values["id"], what, seen) if "id" in values else None
        probes = self.probes(values["probes"], what) if "probes" in values else ()
        groups = self.group_refs(values["groups"], what) if "groups" in values else ()
        variants = self.variants(values["variants"], what) if "variants" in values else ()
        sensitive = (
            self.boolean(values["sensitive"], f"'sensitive' of {what}")
            if "sensitive" in values
            else False
        )
        note = self.text(values["note"], f"the note of {what}") if "note" in values else None
        if text is None or ("id" in values and not given):
            return None
        return given, {
            "text": text,
            "probes": probes,
            "groups": groups,
            "variants": variants,
            "sensitive": bool(sensitive),
            "note": note,
        }

    def probes(self, node: Node, what: str) -> tuple[Probe, ...]:
        """Probes of one question; their ids are unique within the question."""
        return self.items(node, f"the probes of {what}", f"a probe of {what}", Probe, "probe")
