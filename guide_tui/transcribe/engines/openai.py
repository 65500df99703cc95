"""openai-whisper (the reference package) adapter.

Deferred import: ``import whisper`` costs about 3.2 s (torch alone 2.7 s). Audio is passed as a
float32 array at 16 kHz, so the ``ffmpeg`` program is never needed. openai-whisper only sets the
alignment heads (needed for word timestamps) for its own named downloads, so for a checkpoint we
converted we set them from the checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from guide_tui.errors import TranscriptionError
from guide_tui.transcribe.engines.base import offline_environment
from guide_tui.transcribe.types import EngineInfo, Segment, TranscribeOptions, Word

if TYPE_CHECKING:
    import numpy as np

    from guide_tui.transcribe.models import ResolvedModel

_INSTALL = (
    "openai-whisper is not installed: pip install --no-deps openai-whisper "
    "numba tiktoken more-itertools tqdm (and torch==2.13.0 from the CPU index)"
)


class OpenAIWhisperEngine:
    def __init__(self, model: ResolvedModel, options: TranscribeOptions) -> None:
        offline_environment()
        try:
            import torch
            import whisper
        except ImportError:
            raise TranscriptionError(_INSTALL) from None
        if model.kind != "pt":
            raise TranscriptionError(f"openai-whisper needs a .pt checkpoint, not {model.path}")
        if options.threads:
            torch.set_num_threads(options.threads)
        try:
            self._model = whisper.load_model(str(model.path), device="cpu")
            ckpt = torch.load(str(model.path), map_location="cpu", weights_only=True)
        except (RuntimeError, OSError, ValueError, KeyError) as error:
            raise TranscriptionError(f"cannot load model {model.path}: {error}") from None
        heads = ckpt.get("alignment_heads") if isinstance(ckpt, dict) else None
        if heads:
            self._model.set_alignment_heads(heads)
        del ckpt
        self._options = options
        self.info = EngineInfo(
            name="openai-whisper",
            version=whisper.__version__,
            model=model.name,
            model_path=str(model.path),
            compute_type="float32",
        )

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        import whisper

        mel = whisper.log_mel_spectrogram(
            whisper.pad_or_trim(audio), n_mels=self._model.dims.n_mels
        )
        _, probs = self._model.detect_language(mel)
        code = max(probs, key=probs.get)
        return code, float(probs[code])

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
        import torch
        import whisper

        torch.manual_seed(seed)
        o = self._options
        result = whisper.transcribe(
            self._model,
            audio,
            verbose=None,
            language=language,
            temperature=tuple(o.temperature if temperature is None else temperature),
            beam_size=o.beam_size if beam_size is None else beam_size,
            best_of=5,
            initial_prompt=prompt,
            condition_on_previous_text=(
                o.condition_on_previous_text
                if condition_on_previous_text is None
                else condition_on_previous_text
            ),
            word_timestamps=o.word_timestamps,
            fp16=False,
        )
        for s in result["segments"]:
            yield Segment(
                start=float(s["start"]),
                end=float(s["end"]),
                text=s["text"].strip(),
                words=tuple(
                    Word(float(w["start"]), float(w["end"]), w["word"], float(w["probability"]))
                    for w in s.get("words", ())
                ),
                avg_logprob=float(s["avg_logprob"]),
                no_speech_prob=float(s["no_speech_prob"]),
                compression_ratio=float(s["compression_ratio"]),
                temperature=float(s["temperature"]),
            )


def download(name: str, target: Path) -> Path:
    """``models pull`` for openai-whisper: the official checkpoint, checksum verified by whisper."""
    try:
        import whisper
    except ImportError:
        raise TranscriptionError(_INSTALL) from None
    url = whisper._MODELS.get(name)
    if url is None:
        raise TranscriptionError(f"openai-whisper has no model named {name!r}")
    target.mkdir(parents=True, exist_ok=True)
    try:
        path = Path(whisper._download(url, str(target), in_memory=False))
    except Exception as error:  # urllib / checksum errors: all mean "could not download"
        raise TranscriptionError(
            f"could not download {name!r} for openai-whisper: {error}"
        ) from None
    final = target / f"{name}.pt"
    if path != final:
        path.replace(final)
    return final
