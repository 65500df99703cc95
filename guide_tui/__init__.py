"""guide-tui: a terminal assistant for qualitative research interviews.

The package is layered (see docs/architecture.md): the domain (``guide``, ``session``) is plain
Python; services with I/O (``recorder``, ``transcribe``, ``export``) build on it; only
``guide_tui.tui`` imports Textual. Importing this package must stay cheap: no side effects, no
heavy imports. ``__version__`` is read from the package metadata only when asked for
(``importlib.metadata`` costs about 30 ms at start-up, measured in bench/startup.py).
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("guide-tui")
        except PackageNotFoundError:  # running from a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'guide_tui' has no attribute {name!r}")
