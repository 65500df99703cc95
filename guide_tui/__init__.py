"""guide-tui: a terminal assistant for qualitative research interviews.

The package is layered (see docs/architecture.md): the domain (``guide``, ``session``) is plain
Python; services with I/O (``recorder``, ``transcribe``, ``export``) build on it; only
``guide_tui.tui`` imports Textual. Importing this package must stay cheap: no side effects, no
heavy imports. ``__version__`` is a plain constant, also the packaging's version
(``pyproject.toml`` reads it): asking ``importlib.metadata`` costs about 10 ms at start-up, and
``guide-tui run`` writes the version into every new ``session.json``.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
