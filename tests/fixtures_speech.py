"""Synthetic interview speech made with espeak-ng, for tests and benchmarks (importable by others).

Real Whisper weights need real-sounding speech with a known text; we make it ourselves instead of
shipping recordings: two espeak-ng voices (interviewer and participant) take turns, with known turn
times, written as a session-like WAV at 48 kHz (resampled by sox, not by our own resampler, so the
fixture does not test the code with itself). Optional: two channels (one microphone per speaker,
with the other voice bleeding in at ``bleed_db``), leading/trailing silence, low noise.

Results are cached by their parameters under ``GUIDE_TUI_TEST_CACHE`` (or a temp dir), so a test
session synthesises each fixture once. espeak-ng runs with a throw-away ``HOME``. Everything skips
cleanly (``pytest.skip``) when espeak-ng or sox is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

INTERVIEWER_VOICE = "en-us"
PARTICIPANT_VOICE = "en-gb+f3"

#: A short semi-structured interview in two topics (speaker, text, topic id).
INTERVIEW_TURNS: tuple[tuple[str, str, str], ...] = (
    (
        "I",
        "Thank you for taking part. Could you tell me how tasks are delegated in your practice?",
        "delegation",
    ),
    (
        "P",
        "Most routine checks go to the nurses. They measure blood pressure and they renew "
        "prescriptions for stable patients.",
        "delegation",
    ),
    ("I", "What makes you comfortable handing those tasks over?", "delegation"),
    (
        "P",
        "Trust, mostly. I have worked with the same team for twelve years, and we meet every "
        "morning to discuss difficult cases.",
        "delegation",
    ),
    ("I", "Let us move on to training. How were the nurses prepared for this work?", "training"),
    (
        "P",
        "They took a course at the regional hospital, and I supervised them for the first "
        "three months.",
        "training",
    ),
    ("I", "Would you change anything about that training?", "training"),
    (
        "P",
        "I would add more practice with real patients, because the course was mostly theory.",
        "training",
    ),
)

#: A GP interview on low back pain in 12 turns, full of the GP guide's vocabulary and with 5 spoken
#: fillers (bench/fidelity.py; the fillers test in tests/test_transcribe_fidelity.py).
GP_TURNS: tuple[tuple[str, str, str], ...] = (
    ("I", "Thank you for talking with me today. Could you start by describing your practice?", "a"),
    (
        "P",
        "Um, it is a partnership practice with three general practitioners, two practice nurses "
        "and a health care assistant.",
        "a",
    ),
    ("I", "How do you usually handle patients with low back pain?", "a"),
    (
        "P",
        "Well, uh, first I look for red flags. If there are none, I give them advice on "
        "self-management and exercise instruction.",
        "a",
    ),
    ("I", "Do you delegate any of that work to the clinic staff?", "b"),
    (
        "P",
        "Yes, the practice nurse does the diabetes controls, and, um, she also follows up the "
        "back pain patients by phone.",
        "b",
    ),
    ("I", "And when do you refer to a physiotherapist or a chiropractor?", "b"),
    (
        "P",
        "Hmm, when the pain lasts more than six weeks, or when the patient asks for it. The "
        "referral goes to secondary care only with red flags.",
        "b",
    ),
    ("I", "Do you follow the clinical guidelines for this?", "c"),
    (
        "P",
        "Mostly, yes. We made a flowchart for triage at the front desk, so, uh, the secretaries "
        "know what to ask.",
        "c",
    ),
    ("I", "What would help you delegate more tasks?", "c"),
    (
        "P",
        "Honestly, more time for training, and a medical student now and then would help a lot.",
        "c",
    ),
)


@dataclass(frozen=True)
class Turn:
    speaker: str  # "I" (interviewer) or "P" (participant)
    text: str
    topic: str
    start: float  # seconds in the file
    end: float


@dataclass(frozen=True)
class SpeechFixture:
    path: Path
    turns: tuple[Turn, ...]
    samplerate: int
    channels: int

    @property
    def duration(self) -> float:
        return sf.info(str(self.path)).duration

    @property
    def reference(self) -> str:
        return " ".join(t.text for t in self.turns if t.speaker != "R")


def have_tools() -> bool:
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


def _require_tools() -> None:
    if not have_tools():
        import pytest

        pytest.skip("espeak-ng and sox are needed to synthesise speech fixtures")


def cache_dir() -> Path:
    root = os.environ.get("GUIDE_TUI_TEST_CACHE")
    path = (
        Path(root) if root else Path(tempfile.gettempdir()) / f"guide-tui-test-cache-{os.getuid()}"
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def say(text: str, voice: str, samplerate: int, speed: int = 165) -> np.ndarray:
    """One utterance, float32 mono at ``samplerate`` (espeak-ng 22.05 kHz, resampled by sox)."""
    _require_tools()
    with tempfile.TemporaryDirectory() as home:
        raw, out = Path(home) / "raw.wav", Path(home) / "out.wav"
        env = {"HOME": home, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text],
            check=True,
            env=env,
            capture_output=True,
        )
        subprocess.run(
            # -R: sox dithers when it writes 16 bits, from an unseeded generator by default, so
            # every fixture came out different (a WER threshold passed on one draw, failed on
            # the next); repeatable mode seeds it.
            ["sox", "-R", str(raw), "-r", str(samplerate), "-b", "16", str(out)],
            check=True,
            env=env,
            capture_output=True,
        )
        data, _ = sf.read(str(out), dtype="float32")
    return data


def make_interview(
    turns: tuple[tuple[str, str, str], ...] = INTERVIEW_TURNS,
    *,
    samplerate: int = 48000,
    channels: int = 1,
    gap_s: float = 0.9,
    lead_s: float = 1.0,
    tail_s: float = 1.0,
    bleed_db: float = -18.0,
    noise_db: float | None = -70.0,
    gain: float = 0.5,
    voices: dict[str, str] | None = None,
    speeds: dict[str, int] | None = None,
) -> SpeechFixture:
    """An espeak two-voice interview (cached); see the module docstring. ``voices`` maps a
    turn's speaker code to an espeak-ng voice (default: ``I`` and ``P`` voices above; any other
    code, e.g. ``O`` for an observer, needs an entry); ``speeds`` to words per minute (165).

    A turn whose speaker is ``"R"`` is the participant's voice *time-reversed* (what
    ``sox ... reverse`` does): speech energy no model can transcribe; its ``Turn`` keeps the text
    it was made from, but it is not part of :attr:`SpeechFixture.reference`.
    """
    _require_tools()
    chosen = {"I": INTERVIEWER_VOICE, "P": PARTICIPANT_VOICE, **(voices or {})}
    chosen.setdefault("R", chosen["P"])
    params: dict = {
        "turns": turns,
        "sr": samplerate,
        "ch": channels,
        "gap": gap_s,
        "lead": lead_s,
        "tail": tail_s,
        "bleed": bleed_db,
        "noise": noise_db,
        "gain": gain,
        "voices": [INTERVIEWER_VOICE, PARTICIPANT_VOICE] if voices is None else chosen,
        "v": 3,  # 3: repeatable dither (say)
    }
    if speeds is not None:
        params["speeds"] = speeds
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    folder = cache_dir() / f"interview-{key}"
    wav, meta = folder / "audio.wav", folder / "turns.json"
    if not (wav.is_file() and meta.is_file()):
        folder.mkdir(parents=True, exist_ok=True)
        pieces: list[np.ndarray] = [np.zeros((round(lead_s * samplerate), 2), np.float32)]
        pos = lead_s
        made: list[dict] = []
        for speaker, text, topic in turns:
            x = say(text, chosen[speaker], samplerate, (speeds or {}).get(speaker, 165))
            if speaker == "R":
                x = np.ascontiguousarray(x[::-1])
            x = x * gain / max(1e-6, float(np.max(np.abs(x))))
            stereo = np.zeros((len(x), 2), np.float32)
            own, other = (0, 1) if speaker == "I" else (1, 0)
            stereo[:, own] = x
            stereo[:, other] = x * 10 ** (bleed_db / 20)
            pieces.append(stereo)
            made.append(
                {
                    "speaker": speaker,
                    "text": text,
                    "topic": topic,
                    "start": pos,
                    "end": pos + len(x) / samplerate,
                }
            )
            pos += len(x) / samplerate + gap_s
            pieces.append(np.zeros((round(gap_s * samplerate), 2), np.float32))
        pieces.append(np.zeros((round(tail_s * samplerate), 2), np.float32))
        audio = np.concatenate(pieces)
        if noise_db is not None:
            rng = np.random.default_rng(7)
            audio += rng.normal(0, 10 ** (noise_db / 20), audio.shape).astype(np.float32)
        audio = (
            audio
            if channels == 2
            else audio.mean(axis=1, keepdims=True) * 2 / (1 + 10 ** (bleed_db / 20))
        )
        tmp = folder / "audio.tmp.wav"
        sf.write(str(tmp), np.clip(audio, -1, 1), samplerate, subtype="PCM_16")
        tmp.replace(wav)
        meta.write_text(json.dumps(made), encoding="utf-8")
    made = json.loads(meta.read_text(encoding="utf-8"))
    return SpeechFixture(wav, tuple(Turn(**t) for t in made), samplerate, channels)


def make_silence(
    seconds: float = 30.0, *, samplerate: int = 48000, noise_db: float | None = -75.0
) -> Path:
    """A WAV of silence (with faint noise, as a real quiet room has), cached."""
    folder = cache_dir()
    path = folder / f"silence-{seconds:g}-{samplerate}-{noise_db}.wav"
    if not path.is_file():
        n = round(seconds * samplerate)
        x = np.zeros(n, np.float32)
        if noise_db is not None:
            x += np.random.default_rng(3).normal(0, 10 ** (noise_db / 20), n).astype(np.float32)
        tmp = path.with_suffix(".tmp.wav")
        sf.write(str(tmp), x, samplerate, subtype="PCM_16")
        tmp.replace(path)
    return path


DEMO_GUIDE = """\
id: test
title: Delegation in general practice
version: "1"
language: en
duration_minutes: 10
topics:
  - id: delegation
    title: Delegation of tasks
    questions:
      - id: how
        text: How are tasks delegated in your practice?
  - id: training
    title: Training
    questions:
      - id: prepared
        text: How were the nurses prepared for this work?
"""


def guide_with_vocabulary() -> str:
    """:data:`DEMO_GUIDE` with the shipped GP guide's ``vocabulary`` (the glossary prompt)."""
    import yaml

    root = Path(__file__).resolve().parents[1]
    vocab = yaml.safe_load((root / "guides" / "gp-delegation-lbp.yaml").read_text())["vocabulary"]
    return DEMO_GUIDE + "vocabulary:\n" + "".join(f"  - {json.dumps(v)}\n" for v in vocab)


def make_session(
    folder: Path,
    audio: list[Path],
    events: list[tuple[float, str, dict]] = (),  # type: ignore[assignment]
    *,
    participant: str = "P07",
    group: str | None = "gp",
    guide_yaml: str | None = DEMO_GUIDE,
    offsets: list[float] | None = None,
) -> Path:
    """A minimal session folder (session.json, events.jsonl, audio-00N.wav) for transcription tests.

    Written directly rather than through ``Session.create`` so transcription tests depend only on
    the documented folder layout (docs/architecture.md), not on the recorder or the TUI.
    ``offsets``: each file's start on the session clock, as the recorder writes it (after a lost
    device the next file starts later than the previous one ends).
    """
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, src in enumerate(audio, 1):
        dst = folder / f"audio-{i:03d}.wav"
        shutil.copyfile(src, dst)
        info = sf.info(str(dst))
        entry = {"file": dst.name, "samplerate": info.samplerate, "channels": info.channels}
        if offsets is not None:
            entry |= {"offset": offsets[i - 1], "frames": info.frames}
        entries.append(entry)
    meta = {
        "schema": 1,
        "participant": participant,
        "group": group,
        "guide": {"id": "test", "version": "1"},
        "audio": entries,
    }
    (folder / "session.json").write_text(json.dumps(meta), encoding="utf-8")
    lines = []
    for seq, (t, type_, data) in enumerate(events):
        lines.append(
            json.dumps(
                {
                    "v": 1,
                    "seq": seq,
                    "t": t,
                    "wall": "2026-11-22T09:00:00+00:00",
                    "type": type_,
                    "data": data,
                }
            )
        )
    (folder / "events.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    if guide_yaml is not None:
        (folder / "guide.yaml").write_text(guide_yaml, encoding="utf-8")
    return folder


def normalize(text: str) -> str:
    """openai-whisper's English normaliser when installed (numbers, spelling), else a plain one."""
    try:
        from whisper.normalizers import EnglishTextNormalizer

        return EnglishTextNormalizer()(text)
    except ImportError:
        import re

        return re.sub(r"\s+", " ", re.sub(r"[^\w' ]", " ", text.lower())).strip()


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference words) after :func:`normalize`."""
    ref, hyp = normalize(reference).split(), normalize(hypothesis).split()
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1], len(ref)


def wer(reference: str, hypothesis: str) -> float:
    errors, n = word_errors(reference, hypothesis)
    return errors / max(1, n)


def turn_recall(turn: Turn, words: list[dict]) -> float:
    """The share of a turn's words that the transcript has within the turn's time (±0.4 s, by
    word midpoint, each transcript word counted once): the per-turn recall of issue 11."""
    from collections import Counter

    ref = normalize(turn.text).split()
    inside = [
        w["word"] for w in words if turn.start - 0.4 < (w["start"] + w["end"]) / 2 < turn.end + 0.4
    ]
    hyp = Counter(normalize(" ".join(inside)).split())
    hit = 0
    for r in ref:
        if hyp[r] > 0:
            hyp[r] -= 1
            hit += 1
    return hit / max(1, len(ref))


def models_cache() -> Path:
    """A persistent model store for tests (``GUIDE_TUI_MODELS``): the converted tiny.en ``.pt`` is
    built once per machine, not once per test run."""
    path = cache_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def transcribe_with_tiny_en(folder: Path) -> Path:
    """Run the real transcriber (tiny.en, 2 threads) on a session folder, models from the
    shared test cache, leaving ``GUIDE_TUI_MODELS`` as it was."""
    from guide_tui.transcribe.runner import Transcriber
    from guide_tui.transcribe.types import TranscribeOptions

    old = os.environ.get("GUIDE_TUI_MODELS")
    os.environ["GUIDE_TUI_MODELS"] = str(models_cache())
    try:
        Transcriber(TranscribeOptions(model="tiny.en", threads=2)).run(folder)
    finally:
        if old is None:
            os.environ.pop("GUIDE_TUI_MODELS", None)
        else:
            os.environ["GUIDE_TUI_MODELS"] = old
    return folder
