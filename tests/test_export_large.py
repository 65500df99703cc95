"""Exports of long interviews: audio over 4 GiB (about 6 h of 48 kHz stereo, recorded over
several files) no longer overflows a WAV header (``OverflowError``) in the .qdpx; it becomes
several audio sources, each a valid WAV, in a ZIP64-capable archive. Sparse files stand in for
gigabytes, so nothing big is written; the real export runs with the limit lowered."""

from __future__ import annotations

import shutil
import struct
import subprocess
import wave
import zipfile
from pathlib import Path

import pytest

from guide_tui.cli import main
from guide_tui.errors import ExportError
from guide_tui.export import qdpx

COMPLETE = Path(__file__).parent / "fixtures" / "exports" / "recordings" / "2026-11-02_0900_P01"


def _sparse_wav(path: Path, data_bytes: int, channels: int = 2, rate: int = 48000) -> Path:
    """A WAV header claiming ``data_bytes`` of 16-bit audio, the data a hole (no disk used)."""
    fmt = struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * channels * 2, channels * 2, 16)
    header = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt " + fmt
    with open(path, "wb") as handle:
        handle.write(header + b"data" + struct.pack("<I", data_bytes))
        handle.truncate(44 + data_bytes)
    return path


def test_files_over_the_wav_limit_are_not_joined(tmp_path: Path) -> None:
    a = _sparse_wav(tmp_path / "audio-001.wav", 2_200_000_000)  # ~3 h 11 min each
    b = _sparse_wav(tmp_path / "audio-002.wav", 2_200_000_000)
    c = _sparse_wav(tmp_path / "audio-003.wav", 1_000_000_000)
    assert qdpx._audio_groups([a, b, c]) == [[a], [b, c]]
    assert qdpx._audio_groups([a, c]) == [[a, c]]  # 3.2 GB: still one WAV
    sink = tmp_path / "out.wav"
    with open(sink, "wb") as out, pytest.raises(ExportError, match="too long for one WAV"):
        qdpx._write_wav((a, b), out)  # was OverflowError
    assert sink.stat().st_size == 0  # refused before a byte was written


def _wav(path: Path, frames: int, value: int) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(struct.pack("<hh", value, value) * frames)
    return path


def test_long_audio_is_exported_as_several_valid_wavs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guide_tui.export.refi_reader import read_qdpx

    folder = Path(shutil.copytree(COMPLETE, tmp_path / COMPLETE.name))
    for n, frames in enumerate((4000, 3000, 2000), start=1):
        _wav(folder / f"audio-{n:03d}.wav", frames, n)
    text = (folder / "session.json").read_text()
    listed = '"file": "audio-001.wav"}, {"file": "audio-002.wav"}, {"file": "audio-003.wav"'
    (folder / "session.json").write_text(text.replace('"file": "audio-001.wav"', listed, 1))
    # as if a WAV held only 7000 frames' worth: files 1+2 fit, 3 does not
    monkeypatch.setattr(qdpx, "WAV_DATA_LIMIT", 7000 * 4)
    out = tmp_path / "out"
    assert main(["export", str(folder), "-f", "qdpx", "-o", str(out)]) == 0
    path = out / f"{folder.name}.qdpx"

    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        wavs = [i for i in archive.infolist() if i.filename.endswith(".wav")]
        assert len(wavs) == 2
        frames = []
        for info in wavs:
            with archive.open(info) as member, wave.open(member) as handle:
                frames.append(handle.getnframes())
                assert handle.getnchannels() == 2 and handle.getframerate() == 8000
    assert sorted(frames) == [2000, 7000]
    unzip = shutil.which("unzip")
    if unzip:  # an independent reader of the ZIP64 records
        assert subprocess.run([unzip, "-tqq", str(path)], check=False).returncode == 0
    project = read_qdpx(path, with_media=True)
    names = sorted(s.name for s in project.sources.values() if s.kind == "AudioSource")
    assert names == ["P01 2026-11-02 audio", "P01 2026-11-02 audio 2"]
