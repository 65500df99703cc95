"""guide-tui: a terminal assistant for qualitative research interviews.

The package is layered (see docs/architecture.md): the domain (``guide``, ``session``) is plain
Python; services with I/O (``recorder``, ``transcribe``, ``export``) build on it; only
``guide_tui.tui`` imports Textual. Importing this package must stay cheap: no side effects, no
heavy imports.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("guide-tui")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
