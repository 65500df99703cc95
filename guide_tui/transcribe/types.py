"""The dataclasses that cross every boundary of transcription.

Engines yield :class:`Segment` objects (after faster-whisper's ``Segment`` generator), never the
engine's own types, so the runner, the guards, alignment and the transcript writer are the same
whichever engine ran. Times are seconds; an engine yields them relative to the audio it was given
and the runner moves them onto the session clock with :meth:`Segment.shifted`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

ENGINES = ("faster-whisper", "openai-whisper")

#: Default temperature fallback: greedy first, sampling only when a window's text is too
#: repetitive or too improbable. Whisper's own goes on to 0.8 and 1.0, where a Danish loop took
#: 7 minutes for 60 s of audio (issue 11) and the text sampled that hot is rarely usable: bounded
#: at 0.6, with a time limit per window in the runner.
DEFAULT_TEMPERATURES = (0.0, 0.2, 0.4, 0.6)


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str  # with its leading space, as Whisper writes it
    probability: float

    def shifted(self, offset: float) -> Word:
        return replace(self, start=self.start + offset, end=self.end + offset)


@dataclass(frozen=True)
class Segment:
    """One stretch of transcribed speech.

    The engine fills the first block; the pipeline fills ``speaker``, ``topic`` and ``flags``.
    """

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 1.0
    temperature: float = 0.0
    id: int = 0
    speaker: str | None = None
    topic: str | None = None
    flags: tuple[str, ...] = ()
    speaker_id: str | None = (
        None  # key of transcript.json "speakers" (guide_tui.transcribe.speakers)
    )
    speaker_confidence: float | None = None

    def shifted(self, offset: float) -> Segment:
        return replace(
            self,
            start=self.start + offset,
            end=self.end + offset,
            words=tuple(w.shifted(offset) for w in self.words),
        )

    def to_json_dict(self) -> dict[str, Any]:
        out = self._json()
        if self.speaker_id is not None:  # only where speakers were identified (schema-additive)
            out["speaker_id"] = self.speaker_id
            out["speaker_confidence"] = self.speaker_confidence
            for w in out["words"]:
                w["speaker"] = self.speaker
                w["speaker_id"] = self.speaker_id
        return out

    def _json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "text": self.text,
            "speaker": self.speaker,
            "topic": self.topic,
            "avg_logprob": round(self.avg_logprob, 4),
            "no_speech_prob": round(self.no_speech_prob, 4),
            "compression_ratio": round(self.compression_ratio, 4),
            "temperature": self.temperature,
            "flags": list(self.flags),
            "words": [
                {
                    "start": round(w.start, 3),
                    "end": round(w.end, 3),
                    "word": w.word,
                    "probability": round(w.probability, 4),
                }
                for w in self.words
            ],
        }

    @classmethod
    def from_json_dict(cls, obj: dict[str, Any]) -> Segment:
        return cls(
            start=float(obj["start"]),
            end=float(obj["end"]),
            text=str(obj["text"]),
            words=tuple(
                Word(float(w["start"]), float(w["end"]), str(w["word"]), float(w["probability"]))
                for w in obj.get("words") or ()
            ),
            avg_logprob=float(obj.get("avg_logprob", 0.0)),
            no_speech_prob=float(obj.get("no_speech_prob", 0.0)),
            compression_ratio=float(obj.get("compression_ratio", 1.0)),
            temperature=float(obj.get("temperature", 0.0)),
            id=int(obj.get("id", 0)),
            speaker=obj.get("speaker"),
            topic=obj.get("topic"),
            flags=tuple(obj.get("flags") or ()),
            speaker_id=obj.get("speaker_id"),
            speaker_confidence=obj.get("speaker_confidence"),
        )


@dataclass(frozen=True)
class TranscribeOptions:
    """Everything that decides the text, identical for both engines.

    Every field is recorded in ``transcript.json`` (``options``) and in the resume checkpoint's
    fingerprint: a checkpoint made with other options is never reused.
    """

    engine: str = "faster-whisper"
    """``faster-whisper`` (default, by measurement: docs/transcription.md) or ``openai-whisper``."""
    model: str | None = None
    """A name (``tiny.en``, ``base``, ``large-v3``), a CTranslate2 folder or a ``.pt`` checkpoint;
    ``None`` picks the default for the language
    (:func:`guide_tui.transcribe.models.default_model`)."""
    compute_type: str = "default"
    """faster-whisper: ``int8``, ``float32`` ...; ``default`` means the measured default
    (:data:`guide_tui.transcribe.models.DEFAULT_COMPUTE_TYPE`). openai-whisper always runs
    float32 on CPU."""
    language: str | None = None
    """ISO 639-1 code; ``None``/``auto``: detected once on the first speech, then fixed for the
    whole session so the engine cannot switch language mid-interview."""
    beam_size: int = 5
    temperature: tuple[float, ...] = DEFAULT_TEMPERATURES
    vocabulary: tuple[str, ...] = ()
    """Domain words from the guide (overrides the guide's). Used to correct spellings after
    decoding (:func:`guide_tui.transcribe.guards.spell_vocabulary`); given to the engine as a
    prompt only with ``vocabulary_prompt``."""
    vocabulary_prompt: bool = False
    """Give the vocabulary to the engine as a glossary prompt of each window. Off by default: on
    tiny.en the 108-token glossary of the GP guide made decoding 3-13x slower, removed every
    filler and once skipped 7 turns (docs/benchmarks-transcription.md)."""
    initial_prompt: str | None = None
    """An explicit prompt (overrides the one made from the vocabulary)."""
    filler_prompt: bool = False
    """Start each English window's prompt with a short run of fillers
    (:data:`guide_tui.transcribe.runner.FILLER_PROMPT`), so that Whisper writes the *um*s it hears.
    Without it each fresh window picks a style once, from its first sentences: in the 60-minute
    fixture whole windows kept all or none of their fillers (68/240 against the engine's 168/240
    on the whole file; with it 168/240). Still off by default: under it tiny.en writes fluent,
    probable text over speech no one can make out, so the guards cannot tell it from speech (the
    reversed-turn sweep: up to 10 invented words, whole turns lost in 3 of 10 fixtures, 1
    without it), and it costs 25-60 % more decoding CPU (docs/transcription.md, "Verbatim").
    Speech it leaves without words is redecoded per stretch, then the window without it if
    speech is still missing. Other languages: no prompt (an English one could pull the text
    towards English)."""
    filler_pass: bool = True
    """Verbatim fillers without the filler prompt's risks: each English window is decoded a
    second time with the filler prompt, at temperature 0, and only the fillers of that decode
    are added, between words both decodes wrote alike (:func:`guide_tui.transcribe.guards.
    add_fillers`); the transcript's words, guards and marks stay the plain decode's. Off with
    ``filler_prompt`` (the first decode has them) and for other languages."""
    word_timestamps: bool = True
    vad_filter: bool = True
    """Leave long silences (≥ ``min_silence_s``) out of what the engine hears: Whisper invents text
    over silence. Done by our own energy detector so both engines get exactly the same audio."""
    min_silence_s: float = 2.0
    verbatim: bool = True
    """Verbatim (pauses, unclear marks, fillers kept) or clean (readable) rendering."""
    window_s: float = 120.0
    """Target length of the windows the audio is transcribed in, each cut at the quietest moment
    near its end. A window is the unit of checkpointing (resume) and of progress."""
    condition_on_previous_text: bool = True
    threads: int = 0
    """CPU threads for the engine; 0 lets the engine choose."""
    device: str = "cpu"
    """``cpu`` or ``cuda`` (faster-whisper only; the CLI turns ``auto`` into one of them)."""

    def fingerprint_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["temperature"] = list(self.temperature)
        data["vocabulary"] = list(self.vocabulary)
        data.pop("threads")  # does not change the text
        data.pop("verbatim")  # rendering only: the engine output is the same
        if self.device == "cpu":  # checkpoints from before the option stay valid
            data.pop("device")
        return data


@dataclass(frozen=True)
class Progress:
    """What a progress bar needs, reported in seconds of audio (after faster-whisper)."""

    session: str
    done_s: float
    total_s: float
    stage: str = "transcribing"  # loading | transcribing | aligning | done
    segments: int = 0
    resumed_s: float = 0.0  # audio already done by an earlier, interrupted run
    elapsed_s: float = 0.0  # wall seconds this run has been transcribing (model loaded)
    window_done: bool = False  # a whole window is done: ``done_s`` is exact (not a segment's end)

    @property
    def speed(self) -> float | None:
        """Audio this run got through per wall second ("× real time"), None until measurable.

        The one figure of speed the CLI shows, live and at the end: audio processed (the
        position reached, less what an earlier run had done) ÷ wall time spent on it.
        """
        return transcription_speed(self.done_s - self.resumed_s, self.elapsed_s)


def transcription_speed(audio_s: float, wall_s: float) -> float | None:
    """``audio_s`` of recording processed in ``wall_s`` seconds, as a multiple of real time.

    None below half a second of wall time: a first burst of segments (openai-whisper yields a
    whole window at once) would otherwise read as "1816.7× real time".
    """
    if wall_s < 0.5 or audio_s <= 0:
        return None
    return audio_s / wall_s


@dataclass
class EngineInfo:
    name: str
    version: str
    model: str
    model_path: str
    compute_type: str
    device: str = "cpu"
    extra: dict[str, Any] = field(default_factory=dict)
