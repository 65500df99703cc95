"""Repair a WAV whose writer died before closing it, in place, without losing a frame.

Stdlib only: reopening a session repairs its audio before anything heavy is imported.

Why it is still needed although the writer asks libsndfile to rewrite the header after every
write (``SFC_SET_UPDATE_HEADER_AUTO``): a kill between the data write and the header rewrite
leaves the sizes one block short, and a power cut can leave the header of an older flush. Every
tool we care about (soundfile, sox, QDA tools) trusts the sizes, so audio past them is invisible
until the sizes are patched from the file's real length. A torn last frame (fewer bytes than one
frame) is cut off. Nothing else is rewritten; repairing a healthy file changes nothing.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

#: Audio files of a session: audio-001.wav, audio-002.wav, ...
AUDIO_FILE_RE = re.compile(r"^audio-(\d{3,})\.wav$")


@dataclass(frozen=True)
class RepairResult:
    path: Path
    frames: int
    repaired: bool  # False: the header was already right
    frames_before: int  # what the header claimed before the repair


def repair_wav(path: str | os.PathLike[str]) -> RepairResult:
    """Make the RIFF and data sizes of ``path`` match what is on disk; raises ValueError if the
    file is not a WAV we can repair (the message names the file)."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "r+b") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            raise ValueError(f"{path}: not a WAV file")
        pos, block_align, data_pos, ds64_pos = 12, None, None, None
        declared = 0
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"ds64":
                ds64_pos = pos
            elif chunk_id == b"fmt ":
                fmt = f.read(16)
                if len(fmt) == 16:
                    block_align = struct.unpack("<H", fmt[12:14])[0]
            elif chunk_id == b"data":
                data_pos, declared = pos, chunk_size
                break
            pos += 8 + chunk_size + (chunk_size & 1)
        if data_pos is None or not block_align:
            raise ValueError(f"{path}: no fmt/data chunk: the header was never written")
        data_start = data_pos + 8
        available = (size - data_start) // block_align * block_align
        if head[:4] == b"RF64":
            if ds64_pos is None:
                raise ValueError(f"{path}: RF64 without a ds64 chunk")
            f.seek(ds64_pos + 8 + 8)
            declared = struct.unpack("<Q", f.read(8))[0]
        if declared == available and data_start + available == size:
            return RepairResult(path, available // block_align, False, declared // block_align)
        if declared < available and _valid_chunk_after(f, data_start + declared, size):
            # A chunk follows the data (written at a clean close): the sizes are right.
            return RepairResult(path, declared // block_align, False, declared // block_align)
        f.truncate(data_start + available)  # drop a torn last frame
        riff_size = data_start + available - 8
        if head[:4] == b"RIFF":
            if riff_size > 0xFFFFFFFF:
                raise ValueError(
                    f"{path}: audio beyond the 4 GiB WAV limit; read it with `sox --ignore-length`"
                )
            f.seek(4)
            f.write(struct.pack("<I", riff_size))
            f.seek(data_pos + 4)
            f.write(struct.pack("<I", available))
        else:
            f.seek(ds64_pos + 8)  # type: ignore[operator]
            f.write(struct.pack("<QQQ", riff_size, available, available // block_align))
        f.flush()
        os.fsync(f.fileno())
    return RepairResult(path, available // block_align, True, declared // block_align)


def _valid_chunk_after(f: BinaryIO, pos: int, size: int) -> bool:
    """Whether a plausible RIFF chunk header sits at ``pos`` (word-aligned) inside the file."""
    pos += pos & 1
    if pos + 8 > size:
        return False
    f.seek(pos)
    chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
    return all(32 <= byte < 127 for byte in chunk_id) and pos + 8 + chunk_size <= size


def session_audio_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The session's audio files in recording order."""
    found = []
    for entry in Path(folder).iterdir():
        match = AUDIO_FILE_RE.match(entry.name)
        if match and entry.is_file():
            found.append((int(match.group(1)), entry))
    return [entry for _, entry in sorted(found)]


def next_audio_path(folder: str | os.PathLike[str]) -> Path:
    """The file the next recording goes to: one past the highest existing index."""
    files = session_audio_files(folder)
    index = int(AUDIO_FILE_RE.match(files[-1].name).group(1)) + 1 if files else 1  # type: ignore[union-attr]
    return Path(folder) / f"audio-{index:03d}.wav"


def repair_session_audio(folder: str | os.PathLike[str]) -> list[RepairResult]:
    """Repair every audio file of a session (call on reopen, before recording on).

    A file too damaged to repair (no header at all) is left untouched and reported as a result
    with ``frames == -1``: its bytes are still there for a specialist; it is never deleted.
    """
    results = []
    for path in session_audio_files(folder):
        try:
            results.append(repair_wav(path))
        except (ValueError, OSError):
            results.append(RepairResult(path, -1, False, -1))
    return results
