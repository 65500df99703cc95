"""faster-whisper (CTranslate2) adapter.

Deferred import: ``import faster_whisper`` costs about 0.5 s, and nothing outside transcription
needs it. The model is always loaded from a local folder with ``local_files_only=True`` and
``HF_HUB_OFFLINE=1``: a missing model must be an error, never a download.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from guide_tui.errors import TranscriptionError
from guide_tui.transcribe.engines.base import offline_environment
from guide_tui.transcribe.models import default_compute_type
from guide_tui.transcribe.types import EngineInfo, Segment, TranscribeOptions, Word

if TYPE_CHECKING:
    import numpy as np

    from guide_tui.transcribe.models import ResolvedModel


class FasterWhisperEngine:
    def __init__(self, model: ResolvedModel, options: TranscribeOptions) -> None:
        offline_environment()
        try:
            import faster_whisper
        except ImportError:
            raise TranscriptionError(
                "faster-whisper is not installed: pip install faster-whisper"
            ) from None
        if model.kind != "ct2":
            raise TranscriptionError(f"faster-whisper needs a CTranslate2 folder, not {model.path}")
        compute_type = options.compute_type
        if compute_type == "default":
            compute_type = default_compute_type(options.device)
        if options.device == "cuda":
            require_cuda()
        try:
            self._model = faster_whisper.WhisperModel(
                str(model.path),
                device=options.device,
                compute_type=compute_type,
                cpu_threads=options.threads,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as error:
            raise TranscriptionError(f"cannot load model {model.path}: {error}") from None
        self._options = options
        self.info = EngineInfo(
            name="faster-whisper",
            version=faster_whisper.__version__,
            model=model.name,
            model_path=str(model.path),
            compute_type=compute_type,
            device=options.device,
        )

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        language, probability, _ = self._model.detect_language(audio)
        return language, float(probability)

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
        import ctranslate2

        ctranslate2.set_random_seed(seed)
        o = self._options
        segments, _info = self._model.transcribe(
            audio,
            language=language,
            beam_size=o.beam_size if beam_size is None else beam_size,
            best_of=5,
            temperature=list(o.temperature if temperature is None else temperature),
            initial_prompt=prompt,
            condition_on_previous_text=(
                o.condition_on_previous_text
                if condition_on_previous_text is None
                else condition_on_previous_text
            ),
            word_timestamps=o.word_timestamps,
            vad_filter=False,  # done upstream, identically for both engines
        )
        for s in segments:
            yield Segment(
                start=float(s.start),
                end=float(s.end),
                text=s.text.strip(),
                words=tuple(
                    Word(float(w.start), float(w.end), w.word, float(w.probability))
                    for w in (s.words or ())
                ),
                avg_logprob=float(s.avg_logprob),
                no_speech_prob=float(s.no_speech_prob),
                compression_ratio=float(s.compression_ratio),
                temperature=float(s.temperature or 0.0),
            )


def engine_version() -> str:
    """faster-whisper's version, as :attr:`EngineInfo.version` records it (no model loaded)."""
    try:
        import faster_whisper
    except ImportError:
        raise TranscriptionError(
            "faster-whisper is not installed: pip install faster-whisper"
        ) from None
    return str(faster_whisper.__version__)


def cuda_devices() -> int:
    """CUDA devices CTranslate2 can use here (0 without a GPU or a CUDA build)."""
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except (ImportError, RuntimeError, OSError):
        return 0


def require_cuda() -> None:
    if cuda_devices() == 0:
        raise TranscriptionError(
            "--device cuda: no CUDA device is usable by CTranslate2 on this machine "
            "(no NVIDIA GPU, driver or CUDA 12 libraries); use --device cpu"
        )


def download(name: str, target: Path) -> Path:
    """``models pull`` for faster-whisper: the hub's CTranslate2 conversion of ``name``."""
    try:
        from faster_whisper.utils import download_model
    except ImportError:
        raise TranscriptionError(
            "faster-whisper is not installed: pip install faster-whisper"
        ) from None
    import warnings

    target.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            # faster-whisper still passes huggingface_hub's retired `local_dir_use_symlinks`;
            # the hub ignores it and warns, which reads like our fault. Only that one is hidden.
            warnings.filterwarnings("ignore", message=".*local_dir_use_symlinks.*")
            return Path(download_model(name, output_dir=str(target)))
    except Exception as error:  # the hub raises many types; all mean "could not download"
        raise TranscriptionError(
            f"could not download {name!r} for faster-whisper: {error}"
        ) from None
