"""Shared helpers for the session store tests: a small guide written to disk and loaded with the
real loader (sessions freeze the guide file's exact bytes, so a file is needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from guide_tui.guide import Guide, load_guide

GUIDE_YAML = """\
# A small guide for the session tests.
title: Session test guide
id: session-test
version: "2"
language: en
duration_minutes: 10
groups:
  - id: gp
    label: General practitioner
  - id: physio
    label: Physiotherapist
topics:
  - id: role
    title: Your role
    minutes: 5
    questions:
      - id: describe
        text: Describe a typical day.
  - id: future
    title: The future
    minutes: 5
    questions:
      - id: change
        text: What would you change?
"""


def write_guide(folder: Path, text: str = GUIDE_YAML, name: str = "guide-test.yaml") -> Guide:
    """Write ``text`` to ``folder/name`` and load it with the real loader."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return load_guide(path)


def no_groups_guide(folder: Path) -> Guide:
    """The same guide without participant groups."""
    start = GUIDE_YAML.index("groups:")
    end = GUIDE_YAML.index("topics:")
    return write_guide(folder, GUIDE_YAML[:start] + GUIDE_YAML[end:], "no-groups.yaml")


def event_lines(session_folder: Path) -> list[dict[str, Any]]:
    """Every line of ``events.jsonl`` parsed (fails the test on a torn line).

    Split on ``\n`` only: ``str.splitlines`` would also split inside a note holding U+2028.
    """
    text = (session_folder / "events.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line]
