"""A real microphone for tests on machines without sound hardware: a private PulseAudio daemon.

The daemon runs in a temporary folder (its own ``XDG_RUNTIME_DIR``, config, state and a fresh
``HOME``, so nothing of the developer's desktop audio is touched) with one *null sink*. Whatever a
test plays into the sink with ``paplay`` comes back, in real time, on the sink's monitor source,
which we make the default capture source through ``PULSE_SOURCE``. The recorder then captures it
the way it captures a real microphone: sounddevice → PortAudio → ALSA ``pulse`` plugin → daemon.

Facts this relies on (measured, see the team's tools notes):

- PortAudio enumerates devices when it initialises (at ``import sounddevice``), so the daemon is
  started first and PortAudio re-initialised afterwards.
- Capture is bit-exact only when the played file, the sink and the stream share rate, sample
  format and channel count; the fixture creates the sink in the format the test asks for.
- The first callback arrives 0.3–2 s after the stream starts: wait for it before playing.
- ``status.input_overflow`` is never set on this path, which is why the recorder detects drops by
  counting frames against elapsed time.

Fixtures (speech, tones, silence) are synthesised at test time with espeak-ng and sox into the
test's temp dir; no audio is committed. Everything skips with a clear reason when the Debian
packages are missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

#: PulseAudio sample format names for the dtypes the recorder supports.
PA_FORMATS = {"float32": "float32le", "int16": "s16le", "int32": "s32le"}
SOX_ENCODINGS = {
    "float32": ("floating-point", "32"),
    "int16": ("signed-integer", "16"),
    "int32": ("signed-integer", "32"),
}

PULSE_PACKAGES = "pulseaudio pulseaudio-utils libasound2-plugins libportaudio2"


def require_pulseaudio() -> None:
    """Skip the calling test when the virtual microphone cannot be built here."""
    for program in ("pulseaudio", "pactl", "paplay"):
        if shutil.which(program) is None:
            pytest.skip(f"virtual microphone needs `{program}` (apt-get install {PULSE_PACKAGES})")
    if not Path(
        "/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so"
    ).exists() and not list(Path("/usr/lib").glob("*/alsa-lib/libasound_module_pcm_pulse.so")):
        pytest.skip(
            "virtual microphone needs the ALSA pulse plugin (apt-get install libasound2-plugins)"
        )


def require_sox() -> None:
    if shutil.which("sox") is None:
        pytest.skip("audio fixtures need `sox` (apt-get install sox)")


def reinit_portaudio() -> None:
    """Make PortAudio see devices that appeared (or vanished) after ``import sounddevice``."""
    sd = sys.modules.get("sounddevice")
    if sd is not None:
        sd._terminate()
        sd._initialize()


@contextlib.contextmanager
def patched_environ(env: dict[str, str]) -> Iterator[None]:
    old = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class VirtualMic:
    """A running private PulseAudio daemon with one null sink whose monitor is the default input."""

    def __init__(self, workdir: Path, rate: int, channels: int, dtype: str, sink: str) -> None:
        self.workdir = workdir
        self.rate, self.channels, self.dtype, self.sink = rate, channels, dtype, sink
        run = workdir / "run"
        self.socket = run / "native"
        self.env = {
            "XDG_RUNTIME_DIR": str(run),
            "XDG_CONFIG_HOME": str(workdir / "config"),
            "PULSE_RUNTIME_PATH": str(run / "pulse"),
            "PULSE_STATE_PATH": str(workdir / "state"),
            "PULSE_COOKIE": str(workdir / "config" / "cookie"),
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_SOURCE": f"{sink}.monitor",  # what ALSA's "pulse"/"default" capture opens
            "PULSE_SINK": sink,
        }
        self.daemon: subprocess.Popen[bytes] | None = None

    # -- daemon lifetime -------------------------------------------------------------------------
    def start(self, timeout: float = 15.0) -> None:
        for name in ("run", "config", "home", "state"):
            (self.workdir / name).mkdir(mode=0o700, parents=True, exist_ok=True)
        cmd = [
            "pulseaudio",
            "-n",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--use-pid-file=no",
            "--disallow-exit",
            f"--log-target=file:{self.workdir / 'pulseaudio.log'}",
            "-L",
            f"module-native-protocol-unix auth-anonymous=1 socket={self.socket}",
            "-L",
            f"module-null-sink sink_name={self.sink} rate={self.rate} "
            f"channels={self.channels} format={PA_FORMATS[self.dtype]}",
        ]
        self.daemon = subprocess.Popen(
            cmd,
            env=self.child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.daemon.poll() is not None:
                log = (self.workdir / "pulseaudio.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"pulseaudio exited with {self.daemon.returncode}:\n{log}")
            probe = subprocess.run(
                ["pactl", "info"],
                env=self.child_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if probe.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("pulseaudio did not come up")
            time.sleep(0.1)

    def kill(self) -> None:
        """Take the device away abruptly (what unplugging a USB microphone looks like)."""
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGKILL)
            self.daemon.wait(10)

    def stop(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.terminate()
            try:
                self.daemon.wait(5)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()

    def child_env(self) -> dict[str, str]:
        """Environment for processes that must talk to this daemon (paplay, a recording child)."""
        return dict(os.environ, HOME=str(self.workdir / "home"), **self.env)

    # -- playing ---------------------------------------------------------------------------------
    def play(self, path: str | os.PathLike[str]) -> subprocess.Popen[bytes]:
        """Start playing a file into the sink; bit-exact only in the sink's own format."""
        return subprocess.Popen(
            ["paplay", f"--device={self.sink}", str(path)],
            env=self.child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )


@contextlib.contextmanager
def virtual_mic(
    workdir: Path,
    *,
    rate: int = 48000,
    channels: int = 1,
    dtype: str = "int16",
    sink: str = "guide_tui_test_sink",
) -> Iterator[VirtualMic]:
    """Run a virtual microphone for the duration of the block (this process's env points at it).

    Close every stream before leaving the block: PortAudio is re-initialised on the way out.
    """
    require_pulseaudio()
    mic = VirtualMic(Path(workdir), rate, channels, dtype, sink)
    mic.start()
    try:
        with patched_environ(mic.env):
            reinit_portaudio()
            try:
                yield mic
            finally:
                mic.stop()
                reinit_portaudio()
    finally:
        mic.stop()


# ------------------------------------------------------------------------------- fixtures (audio)


def _throwaway_env(workdir: Path) -> dict[str, str]:
    home = workdir / "espeak-home"
    home.mkdir(parents=True, exist_ok=True)
    return dict(os.environ, HOME=str(home))


def sox_output_args(rate: int, channels: int, dtype: str) -> list[str]:
    encoding, bits = SOX_ENCODINGS[dtype]
    return ["-r", str(rate), "-c", str(channels), "-e", encoding, "-b", bits]


def make_speech(
    workdir: Path,
    *,
    rate: int = 48000,
    channels: int = 1,
    dtype: str = "int16",
    text: str | None = None,
    name: str = "speech.wav",
) -> Path:
    """Synthesise a few seconds of speech with espeak-ng and convert it with sox to the sink format.

    Normalised to -3 dBFS peak so that it is loud speech that does not clip, with 0.3 s of digital
    silence on each side (PulseAudio may soften the first milliseconds a player sends). Skips when
    espeak-ng or sox is missing.
    """
    require_sox()
    if shutil.which("espeak-ng") is None:
        pytest.skip("speech fixture needs `espeak-ng` (apt-get install espeak-ng)")
    text = text or (
        "Could you tell me about the last time you delegated a task to a nurse? "
        "What made you decide to do it that way, and how did it go?"
    )
    raw = workdir / f"{name}.espeak.wav"
    out = workdir / name
    subprocess.run(
        ["espeak-ng", "-w", str(raw), text],
        check=True,
        env=_throwaway_env(workdir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    subprocess.run(
        # -D: no dither, so the silence around the speech is digital zero (easy to check).
        [
            "sox",
            "-D",
            str(raw),
            *sox_output_args(rate, channels, dtype),
            str(out),
            "gain",
            "-n",
            "-3",
            "pad",
            "0.3",
            "0.3",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return out


def make_tone(
    workdir: Path,
    seconds: float,
    *,
    rate: int = 48000,
    channels: int = 1,
    dtype: str = "int16",
    gain_db: float = -6.0,
    name: str = "tone.wav",
) -> Path:
    """A 440 Hz sine at ``gain_db`` (a positive gain clips it hard)."""
    require_sox()
    out = workdir / name
    subprocess.run(
        [
            "sox",
            "-n",
            *sox_output_args(rate, channels, dtype),
            str(out),
            "synth",
            str(seconds),
            "sine",
            "440",
            "gain",
            str(gain_db),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return out


def make_silence(
    workdir: Path,
    seconds: float,
    *,
    rate: int = 48000,
    channels: int = 1,
    dtype: str = "int16",
    name: str = "silence.wav",
) -> Path:
    require_sox()
    out = workdir / name
    subprocess.run(
        ["sox", "-n", *sox_output_args(rate, channels, dtype), str(out), "trim", "0", str(seconds)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return out


# ------------------------------------------------------------------------------- comparison


def locate(captured, reference, window: int = 64) -> tuple[int, int, int] | None:
    """Find ``reference`` inside ``captured`` sample-exactly (first channel of 2-D arrays).

    An anchor of ``window`` samples, taken at the reference's first loud sample, is matched
    exactly. Returns ``(offset, n_equal, n_compared)`` or None; ``offset`` is where the
    reference's first sample lies in the capture.
    """
    import numpy as np

    cap = captured if captured.ndim == 1 else captured[:, 0]
    ref = reference if reference.ndim == 1 else reference[:, 0]
    loud = 0.03 if ref.dtype.kind == "f" else int(0.03 * np.iinfo(ref.dtype).max)
    start = int(np.flatnonzero(np.abs(ref) > loud)[0])
    anchor = ref[start : start + window]
    # Candidates by the first sample, then the whole anchor: memory stays O(len(captured)).
    candidates = np.flatnonzero(cap[: len(cap) - window + 1] == anchor[0])
    hits = [int(i) for i in candidates if np.array_equal(cap[i : i + window], anchor)]
    if not hits:
        return None
    offset = hits[0] - start
    r0 = max(0, -offset)
    segment = captured[max(offset, 0) : offset + len(reference)]
    expected = reference[r0 : r0 + len(segment)]
    n_equal = (
        int((segment == expected).all(axis=1).sum())
        if segment.ndim == 2
        else int((segment == expected).sum())
    )
    return offset, n_equal, len(segment)


def isolate_pulse_client() -> None:
    """Keep libpulse (loaded by PortAudio's ALSA enumeration) out of the developer's ``$HOME``.

    Without ``XDG_RUNTIME_DIR`` libpulse creates ``~/.config/pulse/<machine-id>-runtime`` and
    ``/tmp/pulse-*`` at ``import sounddevice``. Call at the top of a test module that imports
    the recorder.
    """
    import tempfile

    if not os.environ.get("XDG_RUNTIME_DIR") and not os.environ.get("PULSE_RUNTIME_PATH"):
        os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="guide-tui-xdg-")
