"""Property tests: whatever the input, the loader raises only GuideError (or returns a guide)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guide_tui.errors import GuideError
from guide_tui.guide.loader import parse_guide

GUIDES = Path(__file__).resolve().parent.parent / "guides"
BASE = yaml.safe_load((GUIDES / "demo.yaml").read_text(encoding="utf-8"))

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["", "choice", "gp", "en", "yes", "~", "1e999"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=12), st.sampled_from(list(BASE))), children, max_size=4
        ),
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


PATHS = _paths(BASE)


def _mutated(path: tuple, action: str, value: Any) -> Any:
    import copy

    doc = copy.deepcopy(BASE)
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "replace":
        parent[last] = value
    elif isinstance(parent, dict):
        parent[f"{last}x"] = value  # a near-miss key
    else:
        parent.append(value)
    return doc


def _check(text: str | bytes) -> None:
    try:
        parse_guide(text, "fuzz.yaml")
    except GuideError as error:
        assert error.problems or str(error)
        for problem in error.problems:
            assert problem.line >= 1 and problem.column >= 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHS), st.sampled_from(["delete", "replace", "add"]), values)
def test_mutated_guides_only_raise_guide_error(path: tuple, action: str, value: Any) -> None:
    _check(yaml.safe_dump(_mutated(path, action, value), allow_unicode=True))


@settings(max_examples=300, deadline=None)
@given(values)
def test_random_yaml_only_raises_guide_error(document: Any) -> None:
    _check(yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_random_text_only_raises_guide_error(text: str | bytes) -> None:
    _check(text)
