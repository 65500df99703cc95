"""Microphone check: listen for a few seconds, then judge the levels in plain words.

Used by ``guide-tui mic-check`` and by the pre-interview screen (live meter while it listens).
Nothing is written to disk: the check must be possible before consent to recording is given.

The verdict rules, loudest problem first:

- *silent*: the loudest 50 ms window is below the silence threshold (-65 dBFS): muted, unplugged
  or switched off;
- *clipping*: samples at full scale: too close or gain too high;
- *quiet*: speech (the 90th percentile of window levels) below -40 dBFS: move it closer;
- *noisy*: the noise floor above -45 dBFS: fans, traffic, a hum;
- *ok* otherwise.

The noise floor is measured in the pauses between words, never over speech: a pause is a run of
at least 0.1 s of 20 ms windows all at least 20 dB below the speech level (a dip between
syllables is shorter), and with at least 0.2 s of pauses their median window is the floor. (A
low percentile over all windows put continuous speech into the "floor" and called a clean
recording, whose pauses were digital silence, NOISY.) Without enough pauses the floor is
not measured (``noise_floor_db`` None, and the advice says so) unless even the quietest windows
are above the threshold and within 15 dB of the speech: a steady noise nearly as loud as the
speech, never a dip between syllables.

The percentiles need someone speaking during the check; the advice says so.

**Voice takes** (:meth:`MicCheck.take`): while the meter runs, the next few seconds can be kept in
memory under a name: the interviewer saying a sentence (the voice sample transcription names the
interviewer by, written to the session only when the interview starts with recording allowed:
:mod:`guide_tui.voiceprint`), and on two microphones each person in turn, whose per-channel
levels map the channels to the people (:func:`channel_map`).
"""

from __future__ import annotations

import contextlib
import io
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from guide_tui.errors import RecorderError
from guide_tui.recorder.config import RecorderConfig
from guide_tui.recorder.monitor import FLOOR_DB, DropDetector, LevelMonitor, to_db
from guide_tui.recorder.sources import DeviceSource, Source

QUIET_SPEECH_DB = -40.0
NOISY_FLOOR_DB = -45.0
PAUSE_BELOW_SPEECH_DB = 20.0  # a pause is this far below the speech level ...
PAUSE_MIN_WINDOWS = 5  # ... for this many 20 ms windows in a row (0.1 s)
MIN_PAUSE_SECONDS = 0.2  # pauses needed to measure the floor
FLOOR_WINDOW_SECONDS = 0.02  # short: pauses between words are 100-300 ms
STEADY_NOISE_DB = 15.0  # never quieter than this below the speech: a steady noise
_FULL_SCALE = {"int16": 32768.0, "int32": 2147483648.0, "float32": 1.0}


CHANNEL_MARGIN_DB = 6.0  # a person's own microphone is this much louder for them than for the other
ONE_TAKE_MARGIN_DB = 3.0  # with only the interviewer's take: the transcription's 3 dB rule


@dataclass(frozen=True)
class VoiceTake:
    """A few seconds kept during the check: float audio in [-1, 1], ``(frames, channels)``."""

    audio: np.ndarray
    samplerate: int

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.samplerate

    def channel_db(self) -> list[float]:
        """Level of each channel over the loudest half of the take (the speech, not pauses)."""
        window = max(1, self.samplerate // 50)
        n = len(self.audio) // window
        if not n:
            return [FLOOR_DB] * self.audio.shape[1]
        power = (self.audio[: n * window].astype(np.float64) ** 2).reshape(n, window, -1)
        per = power.mean(axis=1)  # (windows, channels)
        loud = per.sum(axis=1) >= np.median(per.sum(axis=1))
        return [round(to_db(float(np.sqrt(per[loud, c].mean()))), 1) for c in range(per.shape[1])]

    def speech_seconds(self) -> float:
        """Seconds of 20 ms windows within 30 dB of the loudest: roughly, of speech."""
        window = max(1, self.samplerate // 50)
        n = len(self.audio) // window
        if not n:
            return 0.0
        mono = self.audio[: n * window].astype(np.float64).mean(axis=1)
        level = np.sqrt((mono.reshape(n, window) ** 2).mean(axis=1))
        top = float(level.max())
        if top <= 10 ** (-60 / 20):
            return 0.0
        return float((level >= top * 10 ** (-30 / 20)).sum()) * window / self.samplerate

    def wav_bytes(self, channel: int | None = None) -> bytes:
        """16-bit mono WAV of the take (one channel, or the channels mixed)."""
        import wave

        x = self.audio.mean(axis=1) if channel is None else self.audio[:, channel]
        pcm = (np.clip(x, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(self.samplerate)
            w.writeframes(pcm)
        return out.getvalue()


def channel_map(interviewer: VoiceTake, participant: VoiceTake | None = None) -> int | None:
    """Which channel (0 or 1) is the interviewer's microphone, from each person speaking in turn;
    None when the levels do not say (one channel, identical channels, too close to call).

    With both takes the difference between channels must move by :data:`CHANNEL_MARGIN_DB`
    between the two people; with the interviewer's take alone, their channel must be
    :data:`ONE_TAKE_MARGIN_DB` louder.
    """
    if interviewer.audio.ndim != 2 or interviewer.audio.shape[1] < 2:
        return None
    i_db = interviewer.channel_db()
    lean = i_db[0] - i_db[1]  # > 0: the interviewer is louder on the first channel
    if participant is not None:
        p_db = participant.channel_db()
        lean -= p_db[0] - p_db[1]
        margin = CHANNEL_MARGIN_DB
    else:
        margin = ONE_TAKE_MARGIN_DB
    if abs(lean) < margin:
        return None
    return 0 if lean > 0 else 1


@dataclass(frozen=True)
class MicCheckResult:
    device: str
    samplerate: int
    channels: int
    seconds: float  # audio actually heard
    rms_db: float
    peak_db: float
    noise_floor_db: float | None  # None: no pause long enough to measure it
    speech_db: float
    clipped_samples: int
    dropped_frames: int
    verdict: str  # ok | silent | clipping | quiet | noisy
    advice: str
    identical_channels: bool = False  # two channels, one signal: speakers cannot be told by channel

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"


class MicCheck:
    """Listens in the background; ``levels()`` for a live meter, ``result()`` when done."""

    def __init__(
        self,
        config: RecorderConfig | None = None,
        seconds: float = 5.0,
        source_factory: Callable[[], Source] | None = None,
        *,
        continuous: bool = False,
    ) -> None:
        """``continuous``: keep the meter moving after the verdict until :meth:`stop` (the
        pre-interview screen); otherwise the device is closed once ``seconds`` were heard."""
        self.config = config or RecorderConfig()
        self.seconds = seconds
        self.continuous = continuous
        self._source_factory = source_factory or (lambda: DeviceSource(self.config))
        self._queue: queue.SimpleQueue[tuple[np.ndarray, float, int] | None] = queue.SimpleQueue()
        self._done = threading.Event()
        self._stopping = threading.Event()
        self._result: MicCheckResult | None = None
        self._error: str | None = None
        self._monitor: LevelMonitor | None = None
        self._thread: threading.Thread | None = None
        self._source: Source | None = None
        self._takes_lock = threading.Lock()
        self._taking: dict[str, tuple[int, list[np.ndarray]]] = {}  # name: (frames wanted, blocks)
        self._takes: dict[str, VoiceTake] = {}
        self.samplerate = 0
        self.channels = 0

    def start(self) -> None:
        """Open the device and start listening; raises RecorderError if it cannot be opened."""
        source = self._source_factory()
        self._source = source
        self.samplerate = source.samplerate
        self.channels = source.channels
        self._monitor = LevelMonitor(self.config, source.samplerate, source.channels)
        received = [0]

        def on_block(block: np.ndarray, overflow: bool) -> None:
            received[0] += len(block)
            self._queue.put((block, time.monotonic(), received[0]))

        def on_finished(reason: str) -> None:
            self._queue.put(None)

        self._thread = threading.Thread(target=self._listen, args=(source,), daemon=True,
                                        name="guide-tui-mic-check")  # fmt: skip
        self._thread.start()
        try:
            source.start(on_block, on_finished)
        except BaseException:
            self.stop()
            raise

    def _listen(self, source: Source) -> None:
        assert self._monitor is not None
        rate, scale = source.samplerate, _FULL_SCALE[self.config.dtype]
        drops = DropDetector(self.config, rate)
        blocks: list[np.ndarray] = []
        frames, clipped = 0, 0
        deadline = time.monotonic() + self.config.start_timeout_seconds
        while not self._stopping.is_set():
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                if not frames and time.monotonic() > deadline:
                    break  # nothing ever arrived
                continue
            if item is None:
                break
            block, arrived, received = item
            self._monitor.feed(block, arrived, recording=True)
            if self._taking:
                self._keep(block, rate, scale)
            if self._result is not None:
                continue  # verdict given; only the meter goes on
            drops.observe(arrived, received)
            clipped += int(np.count_nonzero(np.abs(block) >= self.config.clip_level * scale))
            blocks.append(block)
            frames += len(block)
            if frames >= self.seconds * rate:
                self._conclude(source, blocks, clipped, drops.dropped)
                blocks = []
                if not self.continuous:
                    break
        with contextlib.suppress(Exception):
            source.stop()
        if self._result is None:
            if frames:  # stopped early: judge what was heard
                self._conclude(source, blocks, clipped, drops.dropped)
            else:
                self._error = (f"no audio arrived from {source.name} in "
                               f"{self.config.start_timeout_seconds:.0f} s")  # fmt: skip
        self._done.set()

    def _conclude(
        self, source: Source, blocks: list[np.ndarray], clipped: int, dropped: int
    ) -> None:
        scale = _FULL_SCALE[self.config.dtype]
        audio = np.concatenate(blocks).astype(np.float64) / scale
        self._result = judge(source, audio, clipped, dropped, self.config)
        if self.continuous:
            self._done.set()  # otherwise set once the device is closed

    def take(self, name: str, seconds: float) -> None:
        """Keep the next ``seconds`` of audio under ``name`` (the meter goes on meanwhile); a take
        of the same name replaces the earlier one. See :meth:`taken`."""
        with self._takes_lock:
            self._takes.pop(name, None)
            self._taking[name] = (max(1, round(seconds * (self.samplerate or 16000))), [])

    def taken(self, name: str) -> VoiceTake | None:
        """The take once complete (None while it is being recorded, or never asked for)."""
        with self._takes_lock:
            return self._takes.get(name)

    def _keep(self, block: np.ndarray, rate: int, scale: float) -> None:
        with self._takes_lock:
            for name, (wanted, blocks) in list(self._taking.items()):
                blocks.append(block.astype(np.float32) / np.float32(scale))
                if sum(len(b) for b in blocks) >= wanted:
                    audio = np.concatenate(blocks)[:wanted]
                    self._takes[name] = VoiceTake(audio, rate)
                    del self._taking[name]

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening and close the device (waits, so the recorder can open it next)."""
        self._stopping.set()
        self._queue.put(None)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def latest(self) -> MicCheckResult | None:
        """The verdict once given (None before), without waiting."""
        return self._result

    @property
    def error(self) -> str | None:
        return self._error

    def levels(self) -> tuple[float, float]:
        """(rms_db, peak_db) of the latest window, loudest channel."""
        if self._monitor is None:
            return FLOOR_DB, FLOOR_DB
        levels = self._monitor.levels
        return max(levels.rms_db), max(levels.peak_db)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float | None = None) -> MicCheckResult:
        """Wait for the verdict; raises RecorderError when nothing could be heard at all."""
        if not self._done.wait(timeout):
            raise RecorderError("the microphone check did not finish")
        if self._result is None:
            raise RecorderError(self._error or "the microphone check failed")
        return self._result


def judge(
    source: Source, audio: np.ndarray, clipped: int, dropped: int, config: RecorderConfig
) -> MicCheckResult:
    """The verdict on (frames, channels) float audio in [-1, 1]; see the module docstring."""
    rate = source.samplerate
    mono = np.abs(audio).max(axis=1)
    windows_db = _window_levels(audio, max(1, rate // 20))  # 50 ms
    rms_db = to_db(float(np.sqrt((audio**2).mean())))
    peak_db = to_db(float(mono.max()))
    speech_db = float(np.percentile(windows_db, 90))
    floor_db = noise_floor(audio, rate, speech_db)
    if windows_db.max() < config.silence_db:
        verdict, advice = (
            "silent",
            (
                "No sound at all: the microphone seems muted, unplugged or switched off. Check its "
                "switch and cable, and the input chosen with --device."
            ),
        )
    elif clipped >= config.clip_min_samples:
        verdict, advice = (
            "clipping",
            (
                f"Too loud: {clipped} samples hit full scale. Move the microphone further away or "
                "lower the input gain."
            ),
        )
    elif speech_db < QUIET_SPEECH_DB:
        verdict, advice = (
            "quiet",
            (
                f"Very quiet (speech about {speech_db:.0f} dBFS): move the microphone closer "
                "or raise the input gain, and speak during the check."
            ),
        )
    elif floor_db is not None and floor_db > NOISY_FLOOR_DB:
        verdict, advice = (
            "noisy",
            (
                f"Background noise is high ({floor_db:.0f} dBFS between words): look for a quieter "
                "spot or switch off fans."
            ),
        )
    elif floor_db is None:
        verdict, advice = (
            "ok",
            (
                f"Good: speech about {speech_db:.0f} dBFS, no clipping. The background could not "
                "be measured (no pause in the speech): to measure it, pause for a second during "
                "a check."
            ),
        )
    else:
        background = f"{floor_db:.0f} dBFS" if floor_db > FLOOR_DB else "digital silence"
        verdict, advice = (
            "ok",
            f"Good: speech about {speech_db:.0f} dBFS, background {background}, no clipping.",
        )
    if dropped:
        advice += f" Note: {dropped / rate:.2f} s of audio was lost during the check."
    identical = verdict != "silent" and _identical_channels(audio)
    if identical:
        advice += (
            " The two channels carry the same signal (one microphone copied to both): speakers "
            "will be told apart by voice, not by channel."
        )
    return MicCheckResult(
        device=source.name, samplerate=rate, channels=source.channels,
        seconds=round(len(audio) / rate, 2), rms_db=round(rms_db, 1), peak_db=round(peak_db, 1),
        noise_floor_db=None if floor_db is None else round(floor_db, 1),
        speech_db=round(speech_db, 1),
        clipped_samples=clipped, dropped_frames=dropped, verdict=verdict, advice=advice,
        identical_channels=identical,
    )  # fmt: skip


def _identical_channels(audio: np.ndarray, min_corr: float = 0.95) -> bool:
    """The first two channels correlate >= ``min_corr`` (the rule transcription uses too:
    guide_tui.transcribe.speakers.IDENTICAL_CORR)."""
    if audio.ndim != 2 or audio.shape[1] < 2 or len(audio) < 2:
        return False
    a = audio[:, 0].astype(np.float64) - audio[:, 0].mean()
    b = audio[:, 1].astype(np.float64) - audio[:, 1].mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return denom > 0 and float((a * b).sum()) / denom >= min_corr


def _window_levels(audio: np.ndarray, window: int) -> np.ndarray:
    """dBFS of consecutive ``window``-frame windows (all channels together)."""
    n = len(audio) // window
    if not n:
        return np.array([FLOOR_DB])
    power = (audio[: n * window] ** 2).mean(axis=1).reshape(n, window).mean(axis=1)
    return np.array([to_db(float(np.sqrt(p))) for p in power])


def noise_floor(audio: np.ndarray, rate: int, speech_db: float) -> float | None:
    """The background level in the pauses, or None when there were too few pauses to tell.

    See the module docstring. Without pauses, quietest windows (2nd percentile) above
    ``NOISY_FLOOR_DB`` and less than ``STEADY_NOISE_DB`` below the speech are the answer: the
    floor cannot be lower than the quietest moment heard, and speech alone dips further.
    """
    levels = _window_levels(audio, max(1, round(rate * FLOOR_WINDOW_SECONDS)))
    quiet = levels <= speech_db - PAUSE_BELOW_SPEECH_DB
    in_pause = np.zeros(len(levels), dtype=bool)
    run = 0
    for i, q in enumerate(quiet):
        run = run + 1 if q else 0
        if run >= PAUSE_MIN_WINDOWS:
            in_pause[i - run + 1 : i + 1] = True
    pauses = levels[in_pause]
    if len(pauses) * FLOOR_WINDOW_SECONDS >= MIN_PAUSE_SECONDS:
        return float(np.median(pauses))
    lowest = float(np.percentile(levels, 2))
    if lowest > NOISY_FLOOR_DB and lowest > speech_db - STEADY_NOISE_DB:
        return lowest
    return None


def run_mic_check(
    config: RecorderConfig | None = None,
    seconds: float = 5.0,
    source_factory: Callable[[], Source] | None = None,
) -> MicCheckResult:
    """Listen for ``seconds`` and return the verdict (blocking; for the CLI)."""
    check = MicCheck(config, seconds, source_factory)
    check.start()
    try:
        return check.result(timeout=seconds + check.config.start_timeout_seconds + 10)
    finally:
        # Wait until the stream is closed: PortAudio's atexit terminate would deadlock with a
        # stream still stopping in the listening thread.
        check.stop()
