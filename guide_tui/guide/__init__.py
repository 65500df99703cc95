"""The interview guide: typed model (``model``) and its YAML loader/validator (``loader``)."""

import os

from guide_tui.guide.model import (
    BaselineField,
    ClosingPrompt,
    ConsentItem,
    Group,
    Guide,
    Probe,
    Question,
    Topic,
)

__all__ = [
    "BaselineField",
    "ClosingPrompt",
    "ConsentItem",
    "Group",
    "Guide",
    "Probe",
    "Question",
    "Topic",
    "load_guide",
]


def load_guide(path: str | os.PathLike[str]) -> Guide:
    """Load and validate a guide file; see :func:`guide_tui.guide.loader.load_guide`."""
    from guide_tui.guide.loader import load_guide as _load  # deferred: PyYAML costs ~30 ms

    return _load(path)
