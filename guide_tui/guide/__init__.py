"""The interview guide: typed model (``model``) and its YAML loader/validator (``loader``)."""

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


def load_guide(path):  # type: ignore[no-untyped-def]
    """Load and validate a guide file; see :func:`guide_tui.guide.loader.load_guide`."""
    from guide_tui.guide.loader import load_guide as _load

    return _load(path)
