"""guide-tui: a terminal assistant for qualitative research interviews.

The package is layered (see docs/architecture.md): the domain (``guide``, ``session``) is plain
Python; services with I/O (``recorder``, ``transcribe``, ``export``) build on it; only
``guide_tui.tui`` imports Textual. Importing this package must stay cheap: no side effects, no
heavy imports. ``__version__`` is a plain constant, also the packaging's version
(``pyproject.toml`` reads it). Asking ``importlib.metadata`` instead cost about 30 ms of
``guide-tui run``'s start-up, which writes the version into every new ``session.json``
(bench/startup.py; tests/test_tui_import_hygiene.py keeps it out).
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
