"""A session folder received from someone else must never make guide-tui read (and package into
a shareable export) the reader's own files: names in ``session.json`` that lead outside the
folder, and links inside it, are refused with a clear message by every reader: export (every
format, ``--study``), anonymise, transcribe, the sessions list.

Real files, real symbolic links, real FIFOs, the real CLI; the "secret" is a valid WAV / guide /
transcript / event log next to the session, each carrying a marker that must not appear in any
file written."""

from __future__ import annotations

import json
import os
import shutil
import struct
import threading
import wave
import zipfile
from pathlib import Path

import pytest

from guide_tui.cli import main
from guide_tui.errors import SessionError
from guide_tui.session.files import (
    SessionFileError,
    open_session_file,
    plain_name,
    read_session_file,
    session_file,
)

FIXTURES = Path(__file__).parent / "fixtures" / "exports" / "recordings"
COMPLETE = FIXTURES / "2026-11-02_0900_P01"
MARKER = b"SECRET-OF-THE-READER"


# --------------------------------------------------------------------------- the one resolver


@pytest.mark.parametrize(
    "name",
    ["../../../../etc/passwd", "/etc/shadow", "a/b.wav", "a\\b.wav", ".", "..", "", "x\0y", "C:x"],
)
def test_names_that_leave_the_folder_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(SessionFileError, match="refused"):
        plain_name(name, folder=tmp_path, source="session.json: audio file")
    with pytest.raises(SessionFileError):
        session_file(tmp_path, name)
    with pytest.raises(SessionFileError):
        read_session_file(tmp_path, name)


@pytest.mark.parametrize("name", [None, 5, ["audio-001.wav"], {"file": "x"}])
def test_names_of_the_wrong_type_are_refused(tmp_path: Path, name: object) -> None:
    with pytest.raises(SessionFileError, match="must be a non-empty text"):
        session_file(tmp_path, name)


def test_links_folders_and_fifos_are_refused(tmp_path: Path) -> None:
    (tmp_path / "own.wav").write_bytes(b"RIFF")
    (tmp_path / "secret").write_bytes(MARKER)
    session = tmp_path / "session"
    session.mkdir()
    (session / "audio-001.wav").write_bytes(b"mine")
    (session / "out.wav").symlink_to(tmp_path / "secret")
    (session / "in.wav").symlink_to("audio-001.wav")  # even a link inside the folder
    (session / "dangling.wav").symlink_to(tmp_path / "nowhere")
    (session / "sub").mkdir()
    os.mkfifo(session / "fifo.wav")

    assert session_file(session, "audio-001.wav") == session / "audio-001.wav"
    assert read_session_file(session, "audio-001.wav") == b"mine"
    for name in ("out.wav", "in.wav", "dangling.wav"):
        with pytest.raises(SessionFileError, match="symbolic link"):
            session_file(session, name)
        # the descriptor-level check on its own (what closes the check-then-open race)
        with pytest.raises(SessionFileError, match="symbolic link"):
            open_session_file(session, name)
    with pytest.raises(SessionFileError, match="a folder"):
        read_session_file(session, "sub")
    with pytest.raises(FileNotFoundError):
        session_file(session, "audio-002.wav")
    assert issubclass(SessionFileError, SessionError)

    # a FIFO must be refused, not block the reader waiting for a writer
    outcome: list[BaseException] = []

    def read_fifo() -> None:
        try:
            read_session_file(session, "fifo.wav")
        except BaseException as error:  # handed to the test thread
            outcome.append(error)

    thread = threading.Thread(target=read_fifo, daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), "reading a FIFO blocked"
    assert isinstance(outcome[0], SessionFileError) and "FIFO" in str(outcome[0])


# --------------------------------------------------------------------------- the attacks


def _wav(path: Path, value: int = 100, seconds: float = 0.5) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(struct.pack("<h", value) * int(8000 * seconds))
    return path


def _secret_wav(path: Path) -> Path:
    """A valid WAV (so the old code packaged it as audio) whose samples spell the marker."""
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(MARKER * 400)
    return path


def _set_audio(folder: Path, names: list[str] | None) -> None:
    meta = json.loads((folder / "session.json").read_text())
    if names is None:
        meta.pop("audio", None)
    else:
        meta["audio"] = [{"file": n, "samplerate": 8000, "channels": 1} for n in names]
    (folder / "session.json").write_text(json.dumps(meta))


def _attack(root: Path, how: str) -> Path:
    """A copy of the complete fixture session under ``root`` with one attack applied."""
    folder = Path(shutil.copytree(COMPLETE, root / COMPLETE.name))
    _wav(folder / "audio-001.wav")
    secret_dir = root.parent / f"secret-{how}"
    secret_dir.mkdir()
    secret = _secret_wav(secret_dir / "secret.wav")
    if how == "dotdot":
        _set_audio(folder, ["audio-001.wav", os.path.relpath(secret, folder)])
    elif how == "absolute":
        _set_audio(folder, ["audio-001.wav", str(secret)])
    elif how == "symlink":
        (folder / "audio-002.wav").symlink_to(secret)
        _set_audio(folder, ["audio-001.wav", "audio-002.wav"])
    elif how == "symlink-unlisted":  # no audio list: the folder is searched for audio*.wav
        (folder / "audio-002.wav").symlink_to(secret)
        _set_audio(folder, None)
    elif how == "transcript":
        text = (folder / "transcript.json").read_text().replace("today", MARKER.decode())
        (secret_dir / "transcript.json").write_text(text)
        (folder / "transcript.json").unlink()
        (folder / "transcript.json").symlink_to(secret_dir / "transcript.json")
    elif how == "guide":
        text = (folder / "guide.yaml").read_text()
        text = text.replace("Motivation for participation", MARKER.decode())
        (secret_dir / "guide.yaml").write_text(text)
        (folder / "guide.yaml").unlink()
        (folder / "guide.yaml").symlink_to(secret_dir / "guide.yaml")
    elif how == "events":
        line = {"v": 1, "seq": 99, "t": 3.0, "wall": "2026-11-02T09:00:03+00:00"}
        line |= {"type": "note", "data": {"text": MARKER.decode()}}
        data = (folder / "events.jsonl").read_text() + json.dumps(line) + "\n"
        (secret_dir / "events.jsonl").write_text(data)
        (folder / "events.jsonl").unlink()
        (folder / "events.jsonl").symlink_to(secret_dir / "events.jsonl")
    else:  # pragma: no cover
        raise AssertionError(how)
    return folder


ATTACKS = ["dotdot", "absolute", "symlink", "symlink-unlisted", "transcript", "guide", "events"]


def _leaked(folder: Path) -> list[str]:
    """Files under ``folder`` holding the marker (inside zips too: .qdpx, .docx)."""
    found = []
    for path in folder.rglob("*") if folder.exists() else ():
        if path.is_symlink() or not path.is_file():
            continue  # the attacker's link itself, not something guide-tui wrote
        data = path.read_bytes()
        if MARKER in data:
            found.append(str(path))
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                found += [f"{path}:{n}" for n in archive.namelist() if MARKER in archive.read(n)]
    return found


@pytest.mark.parametrize("how", ATTACKS)
def test_export_refuses_files_from_outside(tmp_path: Path, how: str, capsys) -> None:
    folder = _attack(tmp_path / "recordings", how)
    out = tmp_path / "out"
    assert main(["export", str(folder), "-o", str(out)]) != 0
    err = capsys.readouterr().err
    assert "refused" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert _leaked(out) == [] and _leaked(folder / "exports") == []

    assert main(["anonymise", str(folder), "--names", str(_names(tmp_path))]) != 0
    assert "refused" in capsys.readouterr().err
    assert _leaked(folder) == []


@pytest.mark.parametrize("how", ATTACKS)
def test_study_export_skips_the_tampered_session(tmp_path: Path, how: str, capsys) -> None:
    root = tmp_path / "recordings"
    _attack(root, how)
    shutil.copytree(FIXTURES / "2026-11-09_1300_P02", root / "2026-11-09_1300_P02")
    out = tmp_path / "out"
    assert main(["export", "--study", str(root), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "skipped" in err and "refused" in err
    (project,) = out.glob("study*.qdpx")
    with zipfile.ZipFile(project) as archive:
        assert not any(n.endswith(".wav") for n in archive.namelist())
    assert _leaked(out) == []
    assert main(["study", str(root), "--format", "md"]) == 0
    captured = capsys.readouterr()
    assert "refused" in captured.err and MARKER.decode() not in captured.out


@pytest.mark.parametrize("how", ATTACKS)
def test_transcribe_refuses_files_from_outside(
    tmp_path: Path, how: str, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("GUIDE_TUI_MODELS", str(tmp_path / "no-models"))
    folder = _attack(tmp_path / "recordings", how)
    before = (folder / "transcript.json").read_bytes()
    assert main(["transcribe", str(folder), "--force"]) != 0
    err = capsys.readouterr().err
    assert "refused" in err and "Traceback" not in err
    assert (folder / "transcript.json").read_bytes() == before  # nothing was written
    assert _leaked(folder) == []


def test_sessions_list_does_not_read_a_linked_log(tmp_path: Path, capsys) -> None:
    folder = _attack(tmp_path / "recordings", "events")
    assert main(["sessions", str(folder.parent)]) == 0
    out = capsys.readouterr().out
    assert "unreadable" in out


def test_an_ordinary_session_still_exports_its_audio(tmp_path: Path) -> None:
    """The check refuses only what it must: own files, listed or found, are packaged."""
    from guide_tui.export.refi_reader import read_qdpx

    folder = Path(shutil.copytree(COMPLETE, tmp_path / COMPLETE.name))
    _wav(folder / "audio-001.wav", value=1)
    _wav(folder / "audio-002.wav", value=2)
    _set_audio(folder, None)  # found by name in the folder
    assert main(["export", str(folder), "-f", "qdpx", "-o", str(tmp_path / "out")]) == 0
    project = read_qdpx(tmp_path / "out" / f"{folder.name}.qdpx", with_media=True)
    audio = [s for s in project.sources.values() if s.kind == "AudioSource"]
    assert len(audio) == 1 and len(audio[0].data) == 44 + 2 * 4000 * 2  # both, end to end


def _names(tmp_path: Path) -> Path:
    path = tmp_path / "names.txt"
    path.write_text("Hansen\n")
    return path


@pytest.mark.parametrize("name", ["events.jsonl", "audio-001.wav"])
def test_resume_does_not_write_through_a_link(tmp_path: Path, name: str) -> None:
    """Resuming appends to ``events.jsonl`` and repairs WAVs in place: through a link that
    would write into the reader's own file. The folder is refused before anything is opened."""
    folder = Path(shutil.copytree(COMPLETE, tmp_path / "recordings" / COMPLETE.name))
    meta = json.loads((folder / "session.json").read_text())
    meta["status"] = "in_progress"
    (folder / "session.json").write_text(json.dumps(meta))
    own = tmp_path / f"own-{name}"
    if name.endswith(".wav"):
        _wav(own)
    else:
        shutil.copyfile(folder / name, own)
        (folder / name).unlink()
    (folder / name).symlink_to(own)
    before = own.read_bytes()
    from guide_tui.session import Session

    # what `run --resume` does first (the TUI itself is not started here)
    with pytest.raises(SessionFileError, match="symbolic link"):
        Session.open(folder, mark_resumed=True)
    assert own.read_bytes() == before


def test_exports_are_not_written_through_a_linked_exports_folder(tmp_path: Path, capsys) -> None:
    folder = Path(shutil.copytree(COMPLETE, tmp_path / "recordings" / COMPLETE.name))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (folder / "exports").symlink_to(elsewhere)
    assert main(["export", str(folder), "-f", "md"]) == 1
    assert "give the export folder with -o" in capsys.readouterr().err
    assert main(["anonymise", str(folder), "--names", str(_names(tmp_path))]) == 2
    assert main(["export", str(folder), "-f", "md", "-o", str(tmp_path / "out")]) == 0
    assert list(elsewhere.iterdir()) == []
