"""One interface for both Whisper engines.

An engine is loaded once per run and then handed the 16 kHz float32 audio of one window at a
time. ``transcribe`` is a generator of our :class:`~guide_tui.transcribe.types.Segment` (times
relative to the window), so the runner can report progress as segments arrive and stop between
them. Both adapters are given exactly the same decoding options (beam size, temperature fallback,
thresholds, prompt, word timestamps); voice-activity filtering is done before, by
:mod:`guide_tui.transcribe.audio`, so both engines hear the same samples.

``seed`` makes temperature-fallback sampling reproducible per window: a resumed run must produce
the same text as an uninterrupted one. ``condition_on_previous_text`` overrides the option for one
call (the runner redecodes a skipped stretch without it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from guide_tui.errors import TranscriptionError
from guide_tui.transcribe.types import EngineInfo, Segment, TranscribeOptions

if TYPE_CHECKING:
    import numpy as np

    from guide_tui.transcribe.models import ResolvedModel


class Engine(Protocol):
    info: EngineInfo

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """``(code, probability)`` from the first 30 s of ``audio``."""
        ...

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str | None,
        prompt: str | None,
        seed: int,
        condition_on_previous_text: bool | None = None,
        temperature: tuple[float, ...] | None = None,
        beam_size: int | None = None,
    ) -> Iterator[Segment]:
        """Segments of ``audio`` (16 kHz mono) on its own clock. ``condition_on_previous_text``,
        ``temperature`` and ``beam_size`` override the engine's options for this call (``None``:
        as set)."""
        ...


def offline_environment() -> None:
    """Make sure nothing an engine imports reaches a model hub at run time."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def load_engine(options: TranscribeOptions, model: ResolvedModel) -> Engine:
    """Load ``model`` into the engine ``options.engine`` names (seconds for tiny.en)."""
    if options.engine == "faster-whisper":
        from guide_tui.transcribe.engines.faster import FasterWhisperEngine

        return FasterWhisperEngine(model, options)
    if options.engine == "openai-whisper":
        if options.device != "cpu":
            raise TranscriptionError("--device cuda needs the faster-whisper engine")
        from guide_tui.transcribe.engines.openai import OpenAIWhisperEngine

        return OpenAIWhisperEngine(model, options)
    raise TranscriptionError(
        f"unknown engine {options.engine!r}: use faster-whisper or openai-whisper"
    )
