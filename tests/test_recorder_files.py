"""The recorder's file side, driven by ``--audio-file`` playback (the same queue/writer path as a
microphone, no sound server needed): crash repair, seamless roll-over before the WAV limit, a
full disk, dropped frames, the file source itself, and the warning rules on synthetic blocks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from virtual_mic import isolate_pulse_client

from guide_tui.errors import RecorderError
from guide_tui.recorder.base import RecorderState
from guide_tui.recorder.capture import AudioRecorder
from guide_tui.recorder.config import RecorderConfig
from guide_tui.recorder.monitor import DropDetector, LevelMonitor
from guide_tui.recorder.repair import next_audio_path, repair_session_audio, repair_wav
from guide_tui.recorder.sources import FileSource
from guide_tui.recorder.wavfile import CrashSafeWav

isolate_pulse_client()
pytestmark = pytest.mark.timeout(120)

Usage = namedtuple("Usage", "total used free")


def noise(seconds: float, rate: int, channels: int = 1, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-8000, 8000, size=(int(seconds * rate), channels), dtype=np.int16)


def write_wav(path: Path, data: np.ndarray, rate: int) -> Path:
    sf.write(path, data, rate, subtype="PCM_16")
    return path


def wait_for(predicate, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def fast_file(path: Path, config: RecorderConfig, speed: float):  # type: ignore[no-untyped-def]
    return lambda: FileSource(path, config, speed=speed)


# ------------------------------------------------------------------------------ repair


def crashed_wav(tmp_path: Path, frames: int, torn_bytes: int = 1) -> tuple[Path, np.ndarray]:
    """A WAV as a killed writer can leave it: sizes one block short, half a frame at the end."""
    data = noise(frames / 16000, 16000)
    path = tmp_path / "audio-001.wav"
    wav = CrashSafeWav(path, 16000, 1, "PCM_16")
    wav.write(data)
    blob = bytearray(path.read_bytes())
    wav.close()
    blob[4:8] = (36).to_bytes(4, "little")  # RIFF size as if no data had been written
    data_at = blob.index(b"data")
    blob[data_at + 4 : data_at + 8] = (0).to_bytes(4, "little")
    path.write_bytes(bytes(blob) + b"\x7f" * torn_bytes)
    return path, data


def test_repair_restores_every_frame_a_crash_hid(tmp_path: Path) -> None:
    path, data = crashed_wav(tmp_path, 16000 * 3)
    assert sf.info(path).frames == 0  # what every tool sees before the repair
    result = repair_wav(path)
    assert result.repaired and result.frames == len(data) and result.frames_before == 0
    restored, _ = sf.read(path, dtype="int16", always_2d=True)
    assert np.array_equal(restored, data)
    if shutil.which("soxi"):
        out = subprocess.run(["soxi", "-s", str(path)], capture_output=True, text=True)
        assert int(out.stdout) == len(data)


def test_repairing_a_healthy_file_changes_nothing(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "audio-001.wav", noise(1.0, 16000), 16000)
    before = path.read_bytes()
    result = repair_wav(path)
    assert not result.repaired and path.read_bytes() == before


def test_repair_session_audio_reports_a_file_beyond_repair_and_keeps_it(tmp_path: Path) -> None:
    crashed_wav(tmp_path, 16000)
    (tmp_path / "audio-002.wav").write_bytes(b"RIFF")  # killed before the header was written
    results = repair_session_audio(tmp_path)
    assert [(r.path.name, r.frames >= 0) for r in results] == [
        ("audio-001.wav", True),
        ("audio-002.wav", False),
    ]
    assert (tmp_path / "audio-002.wav").exists()
    assert next_audio_path(tmp_path).name == "audio-003.wav"


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    write_wav(tmp_path / "audio-001.wav", noise(0.1, 16000), 16000)
    with pytest.raises(RecorderError, match="never overwritten"):
        CrashSafeWav(tmp_path / "audio-001.wav", 16000, 1, "PCM_16")


# ------------------------------------------------------------------------------ file source


def test_audio_file_plays_through_the_recorder_in_real_time_bit_exact(tmp_path: Path) -> None:
    data = noise(2.0, 16000)
    source = write_wav(tmp_path / "pilot.wav", data, 16000)
    recorder = AudioRecorder(tmp_path / "s", RecorderConfig(), audio_file=source)
    started = time.monotonic()
    recorder.start()
    assert recorder.poll().device == "file:pilot.wav"
    assert wait_for(lambda: recorder.state == RecorderState.STOPPED, 10)
    wall = time.monotonic() - started
    status = recorder.poll()
    assert wall >= 1.9, "played at real-time pace, not as fast as it can be read"
    recorded, _ = sf.read(tmp_path / "s" / "audio-001.wav", dtype="int16", always_2d=True)
    assert np.array_equal(recorded, data)
    assert status.files[0].closed_reason == "source_ended"
    assert "ended" in (status.message or "")
    t_end = recorder.now()
    time.sleep(0.1)
    assert recorder.now() > t_end  # notes after the file ended still get increasing times
    recorder.stop()


SOURCE_FORMATS = [
    ("wav", "FLOAT"),
    ("wav", "DOUBLE"),
    ("wav", "PCM_16"),
    ("wav", "PCM_24"),
    ("wav", "PCM_32"),
    ("wav", "PCM_U8"),
    ("flac", "PCM_16"),
    ("flac", "PCM_24"),
    ("ogg", "VORBIS"),
]


@pytest.mark.parametrize(("ext", "subtype"), SOURCE_FORMATS)
@pytest.mark.parametrize("dtype", ["int16", "int32", "float32"])
def test_audio_file_of_any_format_plays_at_its_true_level(
    tmp_path: Path, ext: str, subtype: str, dtype: str
) -> None:
    """A -2.8 dBFS tone in any format soundfile reads is recorded at -2.8 dBFS, whatever the
    recording's dtype (a float WAV used to come out at -90 dBFS: libsndfile does not scale
    float to integer). Played through the real recorder (``audio_file=``), at real-time pace."""
    rate = 16000
    amplitude = 10 ** (-2.8 / 20)
    t = np.arange(int(0.4 * rate)) / rate
    tone = (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float64)
    source = tmp_path / f"pilot.{ext}"
    sf.write(source, tone, rate, subtype=subtype)
    recorder = AudioRecorder(tmp_path / "s", RecorderConfig(dtype=dtype), audio_file=source)
    recorder.start()
    assert wait_for(lambda: recorder.state == RecorderState.STOPPED, 10)
    recorder.stop()
    recorded, _ = sf.read(tmp_path / "s" / "audio-001.wav", dtype="float64", always_2d=True)
    peak_db = 20 * np.log10(np.abs(recorded).max())
    rms_db = 20 * np.log10(np.sqrt((recorded[: len(tone)] ** 2).mean()))
    lossy = subtype in ("VORBIS", "PCM_U8")
    assert peak_db == pytest.approx(-2.8, abs=0.3 if lossy else 0.05), peak_db
    assert rms_db == pytest.approx(-2.8 - 3.01, abs=0.3 if lossy else 0.05), rms_db
    if subtype == "PCM_16" and dtype != "float32":
        # Integer in, integer out: not a sample changed on the way.
        original, _ = sf.read(source, dtype="int16", always_2d=True)
        again, _ = sf.read(tmp_path / "s" / "audio-001.wav", dtype="int16", always_2d=True)
        assert np.array_equal(again, original)


def test_float_samples_beyond_full_scale_are_clipped_not_wrapped() -> None:
    from guide_tui.recorder.sources import to_recording_dtype

    block = np.array([[1.5], [-1.5], [1.0], [-1.0], [0.5]])
    assert to_recording_dtype(block, "int16")[:, 0].tolist() == [
        32767,
        -32768,
        32767,
        -32768,
        16384,
    ]
    assert to_recording_dtype(block, "int32")[:, 0].tolist()[:2] == [2**31 - 1, -(2**31)]


def test_rolls_over_to_the_next_file_before_the_size_limit_without_losing_a_frame(
    tmp_path: Path,
) -> None:
    rate = 8000
    data = noise(80.0, rate)  # 1.28 MB of int16: two files at a 1 MiB limit
    source = write_wav(tmp_path / "long.wav", data, rate)
    config = RecorderConfig(max_file_bytes=2**20)
    recorder = AudioRecorder(tmp_path / "s", config, source_factory=fast_file(source, config, 40))
    recorder.start()
    assert wait_for(lambda: recorder.state == RecorderState.STOPPED, 30)
    status = recorder.poll()
    first, second = status.files
    assert first.closed_reason == "size_limit" and second.closed_reason == "source_ended"
    assert (tmp_path / "s" / "audio-001.wav").stat().st_size <= 2**20
    parts = [
        sf.read(tmp_path / "s" / info.file, dtype="int16", always_2d=True)[0]
        for info in status.files
    ]
    assert np.array_equal(np.concatenate(parts), data)
    assert second.offset == pytest.approx(first.offset + first.frames / rate)
    assert status.warnings == () or all(w.kind != "dropped_frames" for w in status.warnings)


# ------------------------------------------------------------------------------ disk space


def test_low_disk_warns_with_minutes_left_then_stops_cleanly(tmp_path: Path) -> None:
    rate = 16000
    source = write_wav(tmp_path / "in.wav", noise(20.0, rate), rate)
    free = {"bytes": 40 * 2**20}

    def usage(_path: Path) -> Usage:
        free["bytes"] -= 400_000  # the disk fills up fast
        return Usage(10**12, 0, free["bytes"])

    config = RecorderConfig(disk_check_seconds=0.1, disk_reserve_bytes=32 * 2**20)
    recorder = AudioRecorder(tmp_path / "s", config, audio_file=source, disk_usage=usage)
    recorder.start()
    assert wait_for(lambda: recorder.state == RecorderState.HALTED, 15)
    status = recorder.poll()
    kinds = [w.kind for w in status.warnings]
    assert "low_disk" in kinds and kinds[-1] == "disk_full", kinds
    assert status.files[0].closed_reason == "disk_full"
    assert status.disk_minutes_left is not None and status.disk_minutes_left < 1
    frames = sf.info(tmp_path / "s" / "audio-001.wav").frames
    assert frames == status.files[0].frames > 0
    recorder.stop()


@pytest.mark.skipif(
    sys.platform != "linux" or os.geteuid() != 0, reason="mounting a tiny tmpfs needs root"
)
def test_a_really_full_disk_keeps_everything_written_then_resume_records_on(
    tmp_path: Path,
) -> None:
    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        (mount / "other.bin").write_bytes(b"\0" * 2**20)  # someone else's file on the disk
        rate = 48000
        data = noise(20.0, rate)  # 1.9 MB: more than fits
        source = write_wav(tmp_path / "in.wav", data, rate)
        config = RecorderConfig(disk_reserve_bytes=64 * 1024, disk_check_seconds=3600)
        recorder = AudioRecorder(mount, config, source_factory=fast_file(source, config, 20))
        recorder.start()
        assert wait_for(lambda: recorder.state == RecorderState.HALTED, 20)
        status = recorder.poll()
        assert status.files[0].closed_reason == "disk_full", status
        assert "disk is full" in (status.message or "")
        assert "resume recording" in (status.message or "")
        recorded, _ = sf.read(mount / "audio-001.wav", dtype="int16", always_2d=True)
        assert len(recorded) == status.files[0].frames > rate * 3
        assert np.array_equal(recorded, data[: len(recorded)])

        recorder.resume()  # still full: refused, still halted, nothing new on disk
        status = recorder.poll()
        assert status.state == RecorderState.HALTED and "is full" in (status.message or "")
        assert not (mount / "audio-002.wav").exists()

        (mount / "other.bin").unlink()  # space is back
        recorder.resume()
        assert recorder.poll().state == RecorderState.RECORDING
        assert wait_for(lambda: recorder.poll().files[-1].frames > rate, 10)
        recorder.stop()
        status = recorder.poll()
        assert [f.file for f in status.files] == ["audio-001.wav", "audio-002.wav"]
        second = status.files[1]
        assert second.offset >= status.files[0].offset + status.files[0].frames / rate
        assert sf.info(mount / "audio-002.wav").frames == second.frames > rate
    finally:
        subprocess.run(["umount", "-l", str(mount)])


# ------------------------------------------------------------------------------ dropped frames


class GappySource(FileSource):
    """A file source that loses 0.5 s of audio once: what an overloaded machine does."""

    def start(self, on_block, on_finished):  # type: ignore[no-untyped-def]
        delivered = {"frames": 0, "skipped": False}

        def deliver(block: np.ndarray, overflow: bool) -> None:
            delivered["frames"] += len(block)
            if not delivered["skipped"] and delivered["frames"] > self.samplerate:
                if delivered["frames"] < 1.5 * self.samplerate:
                    return  # swallowed: never reaches the recorder
                delivered["skipped"] = True
            on_block(block, overflow)

        super().start(deliver, on_finished)


def test_frames_lost_against_elapsed_time_are_reported(tmp_path: Path) -> None:
    rate = 16000
    source = write_wav(tmp_path / "in.wav", noise(3.0, rate), rate)
    config = RecorderConfig()
    recorder = AudioRecorder(
        tmp_path / "s", config, source_factory=lambda: GappySource(source, config)
    )
    recorder.start()
    assert wait_for(lambda: recorder.state == RecorderState.STOPPED, 10)
    status = recorder.poll()
    assert [w.kind for w in status.warnings].count("dropped_frames") == 1
    assert 0.4 * rate < status.dropped_frames < 0.6 * rate
    assert status.files[0].dropped_frames == status.dropped_frames


def test_callback_jitter_and_clock_drift_are_not_drops() -> None:
    rate, block = 48000, 1024
    detector = DropDetector(RecorderConfig(), rate)
    rng = np.random.default_rng(3)
    received = 0
    for i in range(int(600 * rate / block)):  # ten minutes
        received += block
        ideal = received / rate / 1.0001  # the card runs 100 ppm fast
        assert detector.observe(ideal + rng.uniform(0, 0.08), received) is None, i
    assert detector.dropped == 0


# ------------------------------------------------------------------------------ warning rules


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000, 96000])
def test_default_blocks_give_the_meter_ten_levels_a_second(rate: int) -> None:
    config = RecorderConfig()
    block = config.frames_per_block(rate)
    assert block <= 0.1 * rate
    monitor = LevelMonitor(config, rate, 1)
    tone = (np.sin(np.arange(block) / 5) * 8000).astype(np.int16).reshape(-1, 1)
    for _ in range(rate // block):  # about one second of blocks
        monitor.feed(tone, 0.0, recording=True)
    seconds = (rate // block) * block / rate
    assert monitor.windows / seconds >= 10


def test_silence_counts_only_while_recording_and_rearms_after_sound() -> None:
    rate = 16000
    monitor = LevelMonitor(RecorderConfig(silence_seconds=1.0), rate, 1)
    quiet = np.zeros((1024, 1), dtype=np.int16)
    loud = (np.sin(np.arange(1024) / 5) * 8000).astype(np.int16).reshape(-1, 1)

    def feed(block: np.ndarray, seconds: float, recording: bool = True) -> list[str]:
        kinds = []
        for _ in range(int(seconds * rate / 1024)):
            kinds += [f.kind for f in monitor.feed(block, 0.0, recording)]
        return kinds

    assert feed(quiet, 3.0, recording=False) == []  # paused: no alarm
    assert feed(quiet, 1.5) == ["silence"]
    assert feed(quiet, 3.0) == []  # said once, not every window
    assert feed(loud, 0.5) == []
    assert feed(quiet, 1.5) == ["silence"]


def test_config_rejects_unknown_and_bad_settings() -> None:
    with pytest.raises(RecorderError, match=r"unknown .recording. setting.*silence_secs"):
        RecorderConfig.from_mapping({"silence_secs": 3})
    with pytest.raises(RecorderError, match=r"channels must be 1 or 2"):
        RecorderConfig.from_mapping({"channels": 4})
    assert RecorderConfig.from_mapping({"device": "USB", "channels": 2}).channels == 2
    with pytest.raises(RecorderError, match=r"blocksize must be a whole number of frames"):
        RecorderConfig.from_mapping({"blocksize": 10})
    with pytest.raises(RecorderError, match=r"blocksize must be a whole number of frames"):
        RecorderConfig.from_mapping({"blocksize": "big"})
    assert RecorderConfig.from_mapping({"blocksize": 2048}).frames_per_block(48000) == 2048


def test_missing_portaudio_means_notes_only_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails as without the package
    recorder = AudioRecorder(tmp_path / "s")
    recorder.start()
    status = recorder.poll()
    assert status.state == RecorderState.UNAVAILABLE
    assert "sounddevice" in (status.message or "")
    assert [w.kind for w in status.warnings] == ["unavailable"]
    assert not list((tmp_path / "s").glob("*.wav"))
    recorder.stop()


def test_stop_from_another_thread_while_writing_drains_everything(tmp_path: Path) -> None:
    rate = 16000
    data = noise(30.0, rate)
    source = write_wav(tmp_path / "in.wav", data, rate)
    config = RecorderConfig()
    recorder = AudioRecorder(tmp_path / "s", config, source_factory=fast_file(source, config, 10))
    recorder.start()
    time.sleep(0.7)
    stopper = threading.Thread(target=recorder.stop)
    stopper.start()
    stopper.join(10)
    status = recorder.poll()
    recorded, _ = sf.read(tmp_path / "s" / "audio-001.wav", dtype="int16", always_2d=True)
    assert len(recorded) == status.files[0].frames == round(status.t * rate)
    assert np.array_equal(recorded, data[: len(recorded)])


def test_portaudio_errors_become_plain_words() -> None:
    from guide_tui.recorder.sources import _explain_portaudio_error

    busy = _explain_portaudio_error("USB Mic", Exception("Device unavailable [PaErrorCode -9985]"))
    assert "busy" in busy and "USB Mic" in busy
    rate = _explain_portaudio_error("USB Mic", Exception("Invalid sample rate [-9997]"))
    assert "sample rate" in rate
