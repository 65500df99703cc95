"""Engine adapters: the only modules of guide-tui that import faster_whisper, whisper, torch or
ctranslate2 (enforced by the import-hygiene test). Everything else sees :class:`.base.Engine`.
"""

from __future__ import annotations

from guide_tui.transcribe.engines.base import Engine, load_engine

__all__ = ["Engine", "load_engine"]
