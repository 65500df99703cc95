"""Transcription: local Whisper into verbatim, topic-aligned transcripts (SPEC §6).

Layout (one idea per module):

- :mod:`.types` — the dataclasses at every boundary (``Word``, ``Segment``, ``TranscribeOptions``,
  ``Progress``); no third-party imports.
- :mod:`.audio` — session audio read with soundfile, resampled to 16 kHz in numpy (no ffmpeg), laid
  end to end on the session clock; energy-based speech detection and the plan of windows.
- :mod:`.models` — model names and paths, the local store, the bundled tiny.en, ``models pull``.
- :mod:`.engines` — the only modules that import faster_whisper / whisper / torch / ctranslate2:
  one adapter per engine behind :class:`~.engines.base.Engine`, and our CTranslate2 → openai-whisper
  checkpoint converter.
- :mod:`.guards` — verbatim post-processing: hallucination over silence, repetition loops,
  low-confidence flags, pauses, speakers from channel energy.
- :mod:`.align` — topics and annotations from ``events.jsonl``.
- :mod:`.transcript` — ``transcript.json`` (docs/transcript-format.md), atomic writes, Markdown.
- :mod:`.runner` — the pipeline for one session, resumable window by window.

Importing this package is cheap: numpy, soundfile and the engines are imported inside the functions
that need them.
"""

from __future__ import annotations

from guide_tui.transcribe.types import (
    Progress,
    Segment,
    TranscribeOptions,
    Word,
)

__all__ = ["Progress", "Segment", "TranscribeOptions", "Word"]
