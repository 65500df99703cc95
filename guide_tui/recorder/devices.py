"""Input devices: import PortAudio safely, list inputs, resolve a device by name or index.

``import sounddevice`` loads the PortAudio C library and enumerates every device (tens of ms, and
it fails with OSError when libportaudio2 is missing), so it happens here, on demand, and every
failure becomes a :class:`RecorderError` that says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from guide_tui.errors import RecorderError

PORTAUDIO_HINT = "install PortAudio (Debian/Ubuntu: apt-get install libportaudio2)"


def import_sounddevice() -> ModuleType:
    """sounddevice, or a RecorderError when PortAudio is not installed."""
    try:
        import sounddevice
    except OSError as error:  # "PortAudio library not found"
        raise RecorderError(f"cannot record audio: {error}; {PORTAUDIO_HINT}") from None
    except ImportError as error:
        raise RecorderError(f"cannot record audio: {error} (pip install sounddevice)") from None
    return sounddevice


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    hostapi: str
    channels: int  # maximum input channels
    default_samplerate: int
    is_default: bool


def list_input_devices() -> list[InputDevice]:
    """Every device that can record, the system default marked."""
    sd = import_sounddevice()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
    except sd.PortAudioError as error:
        raise RecorderError(f"cannot list audio devices: {error}") from None
    default = _default_input_index(sd)
    found = []
    for info in devices:
        if info["max_input_channels"] <= 0:
            continue
        found.append(
            InputDevice(
                index=int(info["index"]),
                name=str(info["name"]),
                hostapi=str(hostapis[info["hostapi"]]["name"]),
                channels=int(info["max_input_channels"]),
                default_samplerate=int(info["default_samplerate"]),
                is_default=int(info["index"]) == default,
            )
        )
    return found


def _default_input_index(sd: ModuleType) -> int | None:
    try:
        index = sd.default.device[0]
        if index is None or index < 0:
            index = sd.query_devices(kind="input")["index"]
    except (sd.PortAudioError, ValueError, TypeError, KeyError):
        return None
    return int(index)


def resolve_device(spec: int | str | None) -> InputDevice:
    """The input device meant by ``spec``: None (the default), an index, or part of a name.

    A name must match exactly one input (case-insensitive substring) or exactly equal one name.
    """
    devices = list_input_devices()
    if not devices:
        raise RecorderError(
            "no audio input device found (no microphone, or the sound server is not running); "
            "the interview can go on as notes-only"
        )
    if spec is None or spec == "":
        for device in devices:
            if device.is_default:
                return device
        return devices[0]
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        index = int(spec)
        for device in devices:
            if device.index == index:
                return device
        raise RecorderError(f"no input device with index {index}; {_known(devices)}")
    wanted = str(spec).casefold()
    exact = [d for d in devices if d.name.casefold() == wanted]
    if len(exact) == 1:
        return exact[0]
    matches = [d for d in devices if wanted in d.name.casefold()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RecorderError(f"no input device matches {spec!r}; {_known(devices)}")
    raise RecorderError(f"{spec!r} matches several input devices; {_known(matches)}")


def _known(devices: list[InputDevice]) -> str:
    names = ", ".join(f"{d.index}: {d.name}" for d in devices)
    return f"inputs are: {names}" if names else "there are no inputs"
