"""Transcribe one session folder, window by window, resumable.

Why windows: an hour of interview is minutes of CPU work, and the laptop may be closed half-way.
The audio is planned into windows (:func:`guide_tui.transcribe.audio.plan_windows`) that depend only
on the audio and the options; each window is transcribed on its own (fresh prompt, sampling seed =
window index) and its segments are appended to ``transcript.partial.jsonl`` with an fsync as soon as
it is done. A rerun reads the partial file, skips every window already there (if the fingerprint of
audio, model and options matches) and continues; because windows are independent and deterministic,
the final ``transcript.json`` has the same content as an uninterrupted run (only ``created`` and
``timings`` differ). A torn last line from a kill is ignored.

Everything after the engine (guards, speakers, topics, pauses) runs on the complete list of
segments at the end, so it is the same whether or not the run was interrupted.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from guide_tui.errors import GuideTuiError, TranscriptionError
from guide_tui.transcribe import audio as audio_mod
from guide_tui.transcribe import diarize as diarize_mod
from guide_tui.transcribe import guards
from guide_tui.transcribe import speakers as speakers_mod
from guide_tui.transcribe.align import GuideText, Timeline, read_events
from guide_tui.transcribe.models import ResolvedModel, default_model, pull_command, resolve
from guide_tui.transcribe.transcript import SCHEMA, get_writer, write_atomic
from guide_tui.transcribe.types import EngineInfo, Progress, Segment, TranscribeOptions, Word

PARTIAL = "transcript.partial.jsonl"
TRANSCRIPT = "transcript.json"
MARKDOWN = "transcript.md"
_PARTIAL_VERSION = 1


@dataclass
class SessionInput:
    """What transcription needs from a session folder (docs/architecture.md layout)."""

    folder: Path
    meta: dict[str, Any]
    audio_paths: list[Path]
    participant: str | None
    group: str | None
    language: str | None  # from the guide; None = auto
    vocabulary: tuple[str, ...]
    channel_labels: dict[str, list[str]] = field(default_factory=dict)
    interviewer_channel: int | None = None  # 0 or 1, found at the microphone check

    @classmethod
    def read(cls, folder: Path) -> SessionInput:
        folder = Path(folder)
        if not folder.is_dir():
            raise TranscriptionError(f"{folder} is not a folder")
        from guide_tui.errors import SessionError
        from guide_tui.session.store import read_meta

        try:
            meta = read_meta(folder)  # also refuses a linked guide.yaml, events.jsonl, ...
        except SessionError as error:
            raise TranscriptionError(str(error)) from None
        paths: list[Path] = []
        for entry in meta.get("audio") or []:
            name = entry.get("file") if isinstance(entry, dict) else entry
            if isinstance(name, str) and name:
                paths.append(_audio_path(folder, name, "session.json: audio file"))
        if not paths:
            paths = [_audio_path(folder, p.name, "audio file") for p in folder.glob("audio-*.wav")]
            paths.sort()
        if not paths:
            raise TranscriptionError(f"{folder} has no audio to transcribe (a notes-only session?)")
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            raise TranscriptionError(f"{folder}: audio file(s) missing: {', '.join(missing)}")
        participant = meta.get("participant")
        if isinstance(participant, dict):
            participant = participant.get("pseudonym") or participant.get("id")
        group = meta.get("group")
        if isinstance(group, dict):
            group = group.get("id")
        language, vocabulary = _guide_language(folder, meta)
        interviewer = "Interviewer"
        check = meta.get("voice_check")
        channel = check.get("interviewer_channel") if isinstance(check, dict) else None
        mine = channel if channel in (0, 1) and not isinstance(channel, bool) else None
        labels: dict[str, list[str]] = {}
        for entry in meta.get("audio") or []:
            if isinstance(entry, dict) and isinstance(entry.get("file"), str):
                speakers = entry.get("speakers")
                if isinstance(speakers, list) and all(isinstance(s, str) for s in speakers):
                    labels[Path(entry["file"]).name] = list(speakers)
        default = [interviewer, str(participant or "Participant")]
        for p in paths:
            labels.setdefault(p.name, default[::-1] if mine == 1 else default)
        return cls(
            folder,
            meta,
            paths,
            participant if isinstance(participant, str) else None,
            group if isinstance(group, str) else None,
            language,
            vocabulary,
            labels,
            mine,
        )

    def interviewer_voice(self) -> tuple[speakers_mod.KnownVoice | None, list[dict[str, Any]]]:
        """The interviewer's voice known before transcription (the session's sample, else the
        voice profile when the session was run with one), and warnings about either."""
        from guide_tui import voiceprint

        check = self.meta.get("voice_check")
        if not isinstance(check, dict):
            return None, []
        warnings: list[dict[str, Any]] = []
        sample = check.get("sample")
        if isinstance(sample, str) and sample:
            try:
                path = _audio_path(self.folder, sample, "session.json: voice sample")
                got = speakers_mod.voice_of_file(path) if path.is_file() else None
                if got is not None:
                    return speakers_mod.KnownVoice(got[0], "voice_sample"), warnings
                problem = (
                    "holds too little speech to tell the voice" if path.is_file() else "is missing"
                )
            except TranscriptionError as error:  # a link, a damaged file: say so, name without
                problem = f"cannot be used ({error})"
            warnings.append(
                {"kind": "voice_sample", "message": f"{sample}: the interviewer's voice sample "
                 f"{problem}; the interviewer was named without it"}
            )  # fmt: skip
        if check.get("profile") is True:
            try:
                embedding = voiceprint.load_profile()
            except GuideTuiError as error:
                warnings.append({"kind": "voice_profile", "message": str(error)})
                return None, warnings
            if embedding is not None:
                return speakers_mod.KnownVoice(embedding, "voice_profile"), warnings
        return None, warnings


def _audio_path(folder: Path, name: str, source: str) -> Path:
    """``folder/name`` when it is the session's own file: a name leading outside the folder or
    a link is refused (a missing file is reported by the caller)."""
    from guide_tui.errors import SessionError
    from guide_tui.session.files import session_file

    try:
        return session_file(folder, name, source=source)
    except FileNotFoundError:
        return folder / name
    except SessionError as error:
        raise TranscriptionError(str(error)) from None


def _guide_language(folder: Path, meta: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    from guide_tui.errors import GuideTuiError
    from guide_tui.guide.loader import read_guide_data

    language: Any = None
    vocabulary: tuple[str, ...] = ()
    try:  # a damaged frozen guide (not UTF-8, nested too deeply) leaves session.json's language
        data = read_guide_data(folder / "guide.yaml")
    except GuideTuiError:
        data = None
    if isinstance(data, dict):
        language = data.get("language")
        vocab = data.get("vocabulary")
        if isinstance(vocab, list):
            vocabulary = tuple(str(v) for v in vocab if isinstance(v, (str, int, float)))
    guide_meta = meta.get("guide")
    if language is None and isinstance(guide_meta, dict):
        language = guide_meta.get("language")
    if not isinstance(language, str) or language.lower() in ("", "auto"):
        return None, vocabulary
    return language.lower(), vocabulary


@dataclass
class Job:
    """One session between :meth:`Transcriber.prepare` and :meth:`Transcriber.finish`: its
    windows, the ones done (from the checkpoint and this run) and the open checkpoint."""

    folder: Path
    session: SessionInput
    model: ResolvedModel
    files: list[audio_mod.AudioFile]
    windows: list[audio_mod.Window]
    language: str | None
    vocabulary: tuple[str, ...]
    label: str
    total: float
    info: EngineInfo
    done: dict[int, list[Segment]]
    writer: _PartialWriter
    resumed_s: float
    options: TranscribeOptions
    load_s: float
    t_start: float
    c_start: float

    @property
    def todo(self) -> list[audio_mod.Window]:
        return [w for w in self.windows if w.index not in self.done]

    @property
    def prompt(self) -> str | None:
        """Every window's prompt; it depends on the language (the filler prompt is English)."""
        return _prompt(self.options, self.vocabulary, self.language)

    @property
    def fillers(self) -> str | None:
        """The prompt of every window's filler pass (``TranscribeOptions.filler_pass``)."""
        return _filler_pass(self.options, self.language)

    def set_language(self, language: str) -> None:
        """The language detected on the first window: fixed for the session, checkpointed."""
        self.language = language
        self.writer.append({"language": language})

    def add(self, index: int, segments: list[Segment]) -> bool:
        """Record window ``index`` (checkpoint line, fsynced); False if it was already there
        (a window a cluster ran twice is written once)."""
        if index in self.done:
            return False
        self.done[index] = segments
        self.writer.append(
            {
                "window": index,
                "key": self.windows[index].key(),
                "segments": [s.to_json_dict() for s in segments],
            }
        )
        return True


def transcribe_lock(folder: Path) -> Any:
    """The session's transcription lock (one transcription of a session at a time), or one line
    naming the other guide-tui that holds it."""
    from guide_tui.errors import SessionError
    from guide_tui.session import lock as session_lock

    try:
        return session_lock.acquire(
            folder,
            name=session_lock.TRANSCRIBE_LOCK_FILE,
            busy="is being transcribed by another guide-tui",
            advice="wait for it to finish",
        )
    except SessionError as error:
        raise TranscriptionError(str(error)) from None


class Transcriber:
    """Runs sessions one after another, keeping the loaded engine for the next in the queue."""

    def __init__(
        self,
        options: TranscribeOptions,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.options = options
        self.on_progress = on_progress or (lambda p: None)
        self.cancel = cancel or threading.Event()
        self._engines: dict[tuple[str, str, str], Any] = {}
        #: CPU seconds ÷ audio seconds of each window decoded in this run (the speed the
        #: per-window time limit scales with: CPU time, so a loaded machine cannot cut a window).
        self._rtfs: list[float] = []
        #: Wall and CPU seconds per stage of the last run (``timings.stages`` in transcript.json).
        self._stages: dict[str, list[float]] = {}
        self.last_timings: dict[str, float] = {}
        #: The last session's ``untranscribed`` stretches (speech energy, no words).
        self.last_untranscribed: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ model & engine
    def _model_for(self, language: str | None) -> ResolvedModel:
        name = self.options.model or default_model(language)
        try:
            model = resolve(name, self.options.engine)
        except TranscriptionError:
            if self.options.model or language == "en":
                raise
            # Only the bundled, English-only tiny.en is here: say what to get, and why.
            spoken = f"the guide's language is {language!r}" if language else "no language is set"
            raise TranscriptionError(
                f"no multilingual model on this machine and {spoken}; the bundled tiny.en is "
                f"English-only. Get one once with `{pull_command(name, self.options.engine)}` "
                "(needs the network; Danish needs small or larger), or pass --model."
            ) from None
        if model.english_only and language not in (None, "en"):
            raise TranscriptionError(
                f"model {model.name} is English-only but the guide's language is {language!r}: "
                f"use a multilingual model (e.g. --model base)"
            )
        return model

    def _engine(self, model: ResolvedModel) -> Any:
        from guide_tui.transcribe.engines import load_engine

        key = (self.options.engine, str(model.path), self.options.compute_type)
        if key not in self._engines:
            self._engines.clear()  # one model in memory at a time
            self._engines[key] = load_engine(self.options, model)
        return self._engines[key]

    # ------------------------------------------------------------------ one session
    def run(self, folder: Path) -> Path:
        """Transcribe ``folder``; returns the path of ``transcript.json``.

        Two transcriptions of one session would write the same checkpoint and transcript: the
        second is refused (its own lock; a running interview does not block transcription).
        """
        session = SessionInput.read(folder)
        lock = transcribe_lock(folder)
        try:
            return self._run(Path(folder), session)
        finally:
            lock.release()

    @contextlib.contextmanager
    def _stage(self, name: str) -> Iterator[None]:
        """Add the wall and CPU seconds of the block to stage ``name``."""
        t, c = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            acc = self._stages.setdefault(name, [0.0, 0.0])
            acc[0] += time.perf_counter() - t
            acc[1] += time.process_time() - c

    def _run(self, folder: Path, session: SessionInput) -> Path:
        t_start = time.perf_counter()
        self._stages = {}
        engines: list[Any] = []

        def describe(model: ResolvedModel) -> EngineInfo:
            engines.append(self._engine(model))
            info: EngineInfo = engines[0].info
            return info

        job = self.prepare(folder, session, describe, t_start=t_start, c_start=time.process_time())
        engine = engines[0]
        language = job.language
        t1 = time.perf_counter()
        worked_s = 0.0
        try:
            for w in job.windows:
                if w.index in job.done:
                    continue
                if self.cancel.is_set():
                    raise KeyboardInterrupt
                samples = w.read16k()
                if language is None:
                    language, _ = engine.detect_language(samples)
                    job.set_language(language)
                segs = self._window(
                    engine,
                    w,
                    samples,
                    language,
                    job.prompt,
                    job.fillers,
                    job.label,
                    job.total,
                    job.resumed_s,
                    t1,
                )
                job.add(w.index, segs)
                worked_s += w.end - w.start
        finally:
            job.writer.close()
        return self.finish(job, time.perf_counter() - t1, worked_s)

    def prepare(
        self,
        folder: Path,
        session: SessionInput,
        describe: Callable[[ResolvedModel], EngineInfo],
        *,
        t_start: float,
        c_start: float | None = None,
    ) -> Job:
        """Everything before the first window: model, audio scan, windows, the checkpoint.

        ``describe`` gives the engine's :class:`EngineInfo` for the model (the local run loads
        the engine there; a cluster run describes it without loading, the workers load it).
        """
        options = self.options
        language = (options.language if options.language not in (None, "auto") else None) or (
            session.language if options.language is None else None
        )
        model = self._model_for(language)
        if model.english_only:
            language = "en"
        vocabulary = options.vocabulary or session.vocabulary
        label = session.participant or folder.name
        _repair(session.audio_paths)
        from guide_tui.session.audio_offsets import recorded_offsets

        offsets = recorded_offsets(session.meta, [p.name for p in session.audio_paths])
        files = audio_mod.open_audio(session.audio_paths, offsets)
        total = audio_mod.audio_end(files)  # progress runs on the session clock
        self.on_progress(Progress(label, 0.0, total, stage="loading"))
        with self._stage("scan"):
            for f in files:
                audio_mod.scan(f, cancel=self.cancel.is_set)
            windows = audio_mod.plan_windows(
                files,
                window_s=options.window_s,
                vad=options.vad_filter,
                min_silence_s=options.min_silence_s,
            )
        t0 = time.perf_counter()
        with self._stage("load"):
            info = describe(model)
        load_s = time.perf_counter() - t0
        fingerprint = _fingerprint(options, info, model, files, windows, language, vocabulary)
        partial = folder / PARTIAL
        done, detected = _read_partial(partial, fingerprint)
        if language is None and detected:
            language = detected
        writer = _PartialWriter(partial, fingerprint, fresh=not done and detected is None)
        resumed_s = sum(windows[i].end - windows[i].start for i in done if i < len(windows))
        return Job(
            folder=folder,
            session=session,
            model=model,
            files=files,
            windows=windows,
            language=language,
            vocabulary=vocabulary,
            label=label,
            total=total,
            info=info,
            done=done,
            writer=writer,
            resumed_s=resumed_s,
            options=options,
            load_s=load_s,
            t_start=t_start,
            c_start=time.process_time() if c_start is None else c_start,
        )

    def finish(self, job: Job, transcribe_s: float, worked_s: float) -> Path:
        """Guards, speakers, topics and the atomic write of ``transcript.json``, once every
        window is in ``job.done``; the checkpoint goes."""
        label, total, resumed_s = job.label, job.total, job.resumed_s
        self.on_progress(
            Progress(
                label,
                total,
                total,
                stage="aligning",
                resumed_s=resumed_s,
                elapsed_s=transcribe_s,
            )
        )
        done, windows, files = job.done, job.windows, job.files
        segments = [s for i in sorted(done) if i < len(windows) for s in done[i]]
        transcript = self._assemble(
            job.session, files, segments, job.info, self.options, job.language, job.vocabulary
        )
        transcript["timings"] = {
            "load_s": round(job.load_s, 3),
            "transcribe_s": round(transcribe_s, 3),
            "total_s": round(time.perf_counter() - job.t_start, 3),
            "audio_s": round(sum(f.duration for f in files), 3),
            "rtf": round(transcribe_s / worked_s, 4) if worked_s else None,
            "resumed_audio_s": round(resumed_s, 3),
            # Process CPU seconds (all threads) of the whole run and of each stage: scan, load,
            # decode (the windows), redecode (skipped speech), speakers, guards. Writing the
            # files comes after and is not counted. (A --cluster run: this process only, the
            # workers' decoding not included; stages of its sessions together.)
            "cpu_s": round(time.process_time() - job.c_start, 3),
            "stages": {
                k: {"wall_s": round(v[0], 3), "cpu_s": round(v[1], 3)}
                for k, v in self._stages.items()
            },
        }
        self.last_timings = transcript["timings"]
        self.last_untranscribed = transcript["untranscribed"]
        out = job.folder / TRANSCRIPT
        write_atomic(out, get_writer("json").render(transcript))
        from guide_tui.export.writers import transcript_markdown

        write_atomic(job.folder / MARKDOWN, transcript_markdown(job.folder))
        (job.folder / PARTIAL).unlink(missing_ok=True)
        self.on_progress(
            Progress(
                label,
                total,
                total,
                stage="done",
                segments=len(transcript["segments"]),  # after the guards: what was written
                resumed_s=resumed_s,
                elapsed_s=transcribe_s,
            )
        )
        return out

    def _window(
        self,
        engine: Any,
        w: audio_mod.Window,
        samples: Any,
        language: str | None,
        prompt: str | None,
        fillers: str | None,
        label: str,
        total: float,
        resumed_s: float,
        started: float,
    ) -> list[Segment]:
        """``started``: ``perf_counter`` when this run began transcribing (for the speed)."""

        def on_segment(seg: Segment, count: int) -> None:
            if self.cancel.is_set():
                raise KeyboardInterrupt
            self.on_progress(
                Progress(
                    label,
                    min(total, seg.end),
                    total,
                    segments=count,
                    resumed_s=resumed_s,
                    elapsed_s=time.perf_counter() - started,
                )
            )

        c_window = time.process_time()
        segments = decode_window(
            engine,
            w,
            samples,
            language,
            prompt,
            rtf=self._rtf,
            on_segment=on_segment,
            stop=self.cancel.is_set,
            stage=self._stage,
            fillers=fillers,
        )
        if self.cancel.is_set():
            # Cancelled during a redecode or the filler pass (which stop early rather than
            # raise): a window cut short is not kept, so a resumed run decodes it whole.
            raise KeyboardInterrupt
        spent = time.process_time() - c_window
        if w.end > w.start:
            self._rtfs.append(spent / (w.end - w.start))
        self.on_progress(
            Progress(
                label,
                min(total, w.end),
                total,
                segments=len(segments),
                resumed_s=resumed_s,
                elapsed_s=time.perf_counter() - started,
                window_done=True,
            )
        )
        return segments

    @property
    def _rtf(self) -> float:
        """The speed measured so far: median CPU seconds ÷ audio seconds of earlier windows
        (before the first: :data:`_FIRST_RTF` per CPU core)."""
        if not self._rtfs:
            return _FIRST_RTF * (os.cpu_count() or 1)
        ordered = sorted(self._rtfs)
        return max(0.05, ordered[len(ordered) // 2])

    def _assemble(
        self,
        session: SessionInput,
        files: list[audio_mod.AudioFile],
        segments: list[Segment],
        info: EngineInfo,
        options: TranscribeOptions,
        language: str | None,
        vocabulary: tuple[str, ...],
    ) -> dict[str, Any]:
        from guide_tui import __version__

        duration = audio_mod.audio_end(files)
        no_audio = audio_mod.gaps(files)
        timeline = Timeline(
            read_events(session.folder / "events.jsonl"), GuideText.read(session.folder)
        )
        with self._stage("guards"):
            segments = sorted(segments, key=lambda s: (s.start, s.end))
            segments = guards.drop_silence(segments, files)
            segments = guards.trim_lead_silence(segments, files)
            segments = guards.guard_repetition(segments)
            segments, guessed = guards.drop_gibberish(segments)
            segments = guards.spell_vocabulary(segments, vocabulary)
            segments = guards.flag_low_confidence(segments)
        with self._stage("speakers"):
            voice, voice_warnings = (
                session.interviewer_voice() if diarize_mod.available() else (None, [])
            )
            who = speakers_mod.attribute(
                segments,
                files,
                session.channel_labels,
                participant=session.participant,
                observers=[o for o in session.meta.get("observers") or () if isinstance(o, str)],
                annotations=timeline.annotations,
                interviewer_voice=voice,
                interviewer_channel=session.interviewer_channel,
            )
            who.warnings.extend(voice_warnings)
        segments = who.segments
        segments = guards.split_at_topics(segments, timeline.topic_at)
        segments = [replace(s, id=i) for i, s in enumerate(segments)]
        topics = [
            dict(t, end=t["end"] if t["end"] is not None else round(duration, 3))
            for t in timeline.topics
        ]
        guide_meta = session.meta.get("guide")
        if not isinstance(guide_meta, dict):
            guide_meta = {}
        seg_dicts = []
        for s in segments:
            d = s.to_json_dict()
            d["text_clean"] = guards.clean_text(s.text)
            for word, doubt in zip(d["words"], guards.uncertain_words(s), strict=True):
                word["uncertain"] = doubt
            seg_dicts.append(d)
        unheard = [
            {
                "start": round(a, 3),
                "end": round(b, 3),
                "speech_s": round(guards.speech_seconds(files, a, b), 2),
                "reason": "unintelligible"
                if any(x < b and y > a for x, y in guessed)
                else "no_words",
            }
            for a, b in _merge_spans(guards.untranscribed(segments, files) + guessed)
        ]
        return {
            "schema": SCHEMA,
            "app_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "session": {
                "participant": session.participant,
                "group": session.group,
                "guide_id": guide_meta.get("id"),
                "guide_version": guide_meta.get("version"),
            },
            "language": language,
            "duration": round(duration, 3),
            "engine": {
                "name": info.name,
                "version": info.version,
                "model": info.model,
                "model_path": info.model_path,
                "compute_type": info.compute_type,
                "device": info.device,
            },
            "options": {
                "beam_size": options.beam_size,
                "verbatim": options.verbatim,
                "vad_filter": options.vad_filter,
                "min_silence_s": options.min_silence_s,
                "initial_prompt": _prompt(options, vocabulary, language),
                "filler_prompt": options.filler_prompt,
                "filler_pass": _filler_pass(options, language) is not None,
                "vocabulary_prompt": options.vocabulary_prompt,
                "vocabulary": list(vocabulary),
                "word_timestamps": options.word_timestamps,
                "temperature": list(options.temperature),
                "condition_on_previous_text": options.condition_on_previous_text,
                "window_s": options.window_s,
            },
            "audio": [f.to_json_dict() for f in files],
            "speakers": who.speakers,
            "warnings": who.warnings,
            "topics": topics,
            "segments": seg_dicts,
            "annotations": timeline.annotations,
            "gaps": [{"start": round(a, 3), "end": round(b, 3)} for a, b in no_audio],
            "pauses": [  # silence heard, not time without a recording, never over speech energy
                {"start": round(a, 3), "end": round(b, 3)}
                for a, b in guards.pauses(segments, files=files)
                if not any(a < g1 and b > g0 for g0, g1 in no_audio)
            ],
            "untranscribed": unheard,
        }


def _repair(paths: list[Path]) -> None:
    """Patch the sizes of WAVs a crash left with a stale header (the recorder's own repair, stdlib
    only, a no-op on healthy files): audio past a stale size would be invisible to soundfile."""
    try:
        from guide_tui.recorder.repair import repair_wav
    except ImportError:  # pragma: no cover - the recorder package is part of guide-tui
        return
    for path in paths:
        try:
            repair_wav(path)
        except (ValueError, OSError):
            continue  # not a WAV we can patch: soundfile reports it if it cannot read it


def _to_session(w: audio_mod.Window, s: Segment) -> Segment:
    words = tuple(
        replace(x, start=w.to_session_time(x.start), end=w.to_session_time(x.end, end=True))
        for x in s.words
    )
    return replace(
        s, start=w.to_session_time(s.start), end=w.to_session_time(s.end, end=True), words=words
    )


def decode_window(
    engine: Any,
    w: audio_mod.Window,
    samples: Any,
    language: str | None,
    prompt: str | None,
    *,
    rtf: float = 1.0,
    on_segment: Callable[[Segment, int], None] | None = None,
    stop: Callable[[], bool] | None = None,
    stage: Callable[[str], contextlib.AbstractContextManager[Any]] | None = None,
    fillers: str | None = None,
) -> list[Segment]:
    """The whole work of one window: its segments on the session clock.

    ``samples`` are the window's 16 kHz audio (:meth:`Window.read16k`); the window's file needs
    only its energy frames (``frame_db``), not the file itself: a stretch redecoded on its own is
    cut from ``samples``. This one function runs in the local loop and as a cluster task
    (:mod:`guide_tui.transcribe.cluster`), so both give the same segments. ``rtf``: the speed
    measured so far (CPU seconds ÷ audio seconds), for the window's time limit (CPU time of this
    process, :data:`_WINDOW_BASE_S`); ``on_segment`` sees each segment as it arrives (with how
    many so far) and may raise to stop; ``stop`` ends a redecode early; ``stage(name)`` times
    the decode and redecode calls (``timings.stages``); ``fillers``: the prompt of the filler
    pass (:func:`guards.add_fillers`), ``None`` for none.
    """
    c_window = time.process_time()
    limit_s = _WINDOW_BASE_S + _WINDOW_RTF_FACTOR * (w.end - w.start) * rtf

    def run_once(
        win: audio_mod.Window,
        audio: Any,
        p: str | None,
        *,
        name: str = "decode",
        live: bool = True,
        **engine_args: Any,
    ) -> list[Segment]:
        # ``live``: the segments are the transcript's own (``on_segment`` sees them); the filler
        # pass only lends its fillers and stops early on ``stop`` instead.
        out: list[Segment] = []
        with stage(name) if stage is not None else contextlib.nullcontext():
            for s in engine.transcribe(
                audio, language=language, prompt=p, seed=w.index, **engine_args
            ):
                out.append(_to_session(win, s))
                if live and on_segment is not None:
                    on_segment(out[-1], len(out))
                elif not live and stop is not None and stop():
                    break
                if time.process_time() - c_window > limit_s:
                    # One bad window (a loop the temperature fallback keeps resampling) must
                    # not take minutes: stop here; the rest is redecoded per stretch below or
                    # reported as untranscribed, never silently lost. CPU time, not wall
                    # time: other programs slowing the machine down must not cut a window.
                    break
        return out

    def fresh(lo: float, hi: float, begin: float) -> list[tuple[Word, ...]]:
        # The words of lo..hi in a decode of begin..hi on its own (begin <= lo: from
        # :func:`_fresh_starts`): no prompt, no previous-text conditioning.
        sub = _sub_window(w, begin, hi)
        if sub is None:
            return []
        found = run_once(
            sub,
            _sub_samples(w, samples, sub),
            None,
            name="redecode",
            condition_on_previous_text=False,
        )
        out = [tuple(x for x in s.words if lo <= (x.start + x.end) / 2 <= hi) for s in found]
        return [ws for ws in out if ws]

    def twice(start: float, end: float) -> tuple[float, float, list[tuple[Word, ...]], list[Word]]:
        # The stretch start..end decoded fresh from the two starts of :func:`_fresh_starts`,
        # over the span of :func:`_fresh_span`: (lo, hi, the first decode's words by segment,
        # the second's words). The second is skipped (empty) when the first is implausible.
        lo, hi = _fresh_span(w, start, end)
        one, two = _fresh_starts(w, start)
        first = fresh(lo, hi, one)
        other = [] if not _plausible(first) else [x for ws in fresh(lo, hi, two) for x in ws]
        return lo, hi, first, other

    def redecode_stretches(segments: list[Segment]) -> list[Segment]:
        # Redecode every stretch of the window with speech energy and no words, on its own.
        #
        # Whisper skips speech: after a long pause, under a prompt, or when its previous text
        # leads it astray (issue 11: 7 turns of a 60-minute interview gone, no warning). Each
        # stretch of at least 1.5 s (:func:`guards.untranscribed`) is decoded in a window that
        # starts at the stretch (0.3 s before it, so the first word is whole), with no prompt
        # and no previous-text conditioning. Out of context, over speech no one can make out,
        # Whisper invents fluent text ("Thank you so much for watching"), so the stretch is
        # decoded twice (the second time from 1 s before it) and only the segments both
        # decodes agree on are added (:func:`_agreed`). What is still without words is
        # reported as ``untranscribed`` in transcript.json (:meth:`Transcriber._assemble`).
        for start, end in guards.untranscribed(segments, [w.file], within=_window_spans(w)):
            if time.process_time() - c_window > limit_s or (stop is not None and stop()):
                break
            lo, hi, first, other = twice(start, end)
            if not _plausible(first):
                continue
            add = _words_within([_as_segment(_agreed(first, other))], lo, hi, segments)
            if add:
                segments = sorted([*segments, *add], key=lambda s: (s.start, s.end))
        return segments

    def recheck_suspects(segments: list[Segment]) -> list[Segment]:
        # A loop or a guessed run hides the speech under it: it "covers" the audio, so the
        # stretch check above never sees it. One bad stretch (time-reversed speech) can also push
        # a whole 30 s chunk into the temperature fallback, and a loop of "Mi-mi-mi" started
        # there covered the two real turns after it. Each such span is decoded again on its
        # own and the result is judged by :func:`_recheck`.
        done: list[tuple[float, float]] = []
        while True:
            # Found again after each change (a change moves the words' indexes); a span already
            # judged is not judged again (a loop confirmed, a guess nothing better replaced).
            todo = [
                sp
                for sp in _suspects(segments)
                if not any(sp.start < b and a < sp.end for a, b in done)
            ]
            if not todo or time.process_time() - c_window > limit_s:
                break
            if stop is not None and stop():
                break
            span = todo[0]
            done.append((span.start, span.end))
            # Second opinions: a second fresh decode, up to 1 s earlier, and for a guessed run
            # the first decode's own words too (a loop's copies say nothing). A real turn the
            # first decode garbled ("Nae tokka kosat narigenal hosetal") does not agree with
            # the guess, but it does with itself decoded again.
            _, _, first, other = twice(span.start, span.end)
            also = [x for s in segments for x in s.words] if span.gram is None else []
            segments = _recheck(segments, span, first, other, also)
        return segments

    segments = run_once(w, samples, prompt)
    if prompt and _skipped_speech(w, segments):
        # A prompt can make Whisper skip whole turns (tiny.en dropped five with a filler
        # prompt): never trade speech for style. Keep whichever version covers more speech.
        # (Redecoding the stretches of the prompted version instead kept more fillers, 196/240
        # in the 60-minute fixture, but lost 4 turns and raised the WER to 0.129.)
        plain = run_once(w, samples, None)
        if _coverage(w, plain) > _coverage(w, segments):
            segments = plain
    segments = redecode_stretches(recheck_suspects(segments))
    late = time.process_time() - c_window > limit_s or (stop is not None and stop())
    if fillers is not None and not late:
        # Verbatim: a fresh window settles on a style from its first sentences and then writes
        # all or none of its fillers (68 of 240 in the 60-minute fixture, the engine on the
        # whole file 168). Decoded again with fillers in the prompt, it writes them; only those
        # fillers are taken, where both decodes agree on the words around them.
        # One greedy pass at temperature 0, about as long as the plain decode (a beam search
        # found a few more fillers, 4/5 for 3/5, but took up to 4x as long on fixture C); a
        # window that needs the temperature fallback gets no fillers added.
        heard = run_once(
            w, samples, fillers, name="fillers", live=False, temperature=(0.0,), beam_size=1
        )
        segments = guards.add_fillers(segments, [x for s in heard for x in s.words])
    return segments


@dataclass(frozen=True)
class _Suspect:
    """Words of a window's first decode that may hide speech: a loop's later copies (``gram``:
    the repeated phrase, normalised; ``head``: the last word of its first copy) or a run the
    engine guessed (``gram`` None)."""

    start: float
    end: float
    words: frozenset[tuple[int, int]]  # (segment index, word index)
    gram: tuple[str, ...] | None = None
    head: tuple[int, int] | None = None


def _suspects(segments: list[Segment]) -> list[_Suspect]:
    """The loops (:func:`guards.find_loop`, across segment borders) and guessed runs
    (:func:`guards.gibberish_runs`) of ``segments``, overlapping ones merged."""
    flat = [(k, j, x) for k, s in enumerate(segments) for j, x in enumerate(s.words)]
    words = [x for _, _, x in flat]

    def keys(a: int, b: int) -> frozenset[tuple[int, int]]:
        return frozenset((flat[i][0], flat[i][1]) for i in range(a, b + 1))

    out = [
        _Suspect(words[a].start, words[b].end, keys(a, b))
        for a, b in guards.gibberish_runs(words, {n for n, (_, j, _) in enumerate(flat) if j == 0})
    ]
    # A segment the engine itself doubts twice over (guards.doubted): over speech energy it is
    # misheard, not invented (over silence drop_silence removes it later, whatever the fresh
    # decodes say, so no energy check is needed here). tiny.en read the first question of a
    # window, 1 s into it, "What makes you come to know London won't ask so much?" (no-speech
    # probability 0.67); decoded on its own from the silence before it, twice, the question
    # comes out alike both times and closer ("Well, it makes you comfortable handling the
    # tasks over.").
    at = 0
    for s in segments:
        if s.words and guards.doubted(s):
            out.append(_Suspect(s.words[0].start, s.words[-1].end, keys(at, at + len(s.words) - 1)))
        at += len(s.words)
    tokens = [guards.norm_token(x.word) for x in words]
    at = 0
    while (loop := guards.find_loop(tokens[at:])) is not None:
        i, n, k = loop
        first, last = at + i + n, at + i + k * n - 1
        gram = tuple(tokens[at + i : at + i + n])
        if sum(x.probability for x in words[at + i : first]) / n < guards.GIBBERISH_WORD_PROB:
            # Its first copy is a guess too ("Mi", p = 0.00, then "-mi" 40 times), and so are
            # doubtful words right before it ("Nae," p = 0.08, then "-hmez" 90 times), as for a
            # guessed run (guards.GIBBERISH_EDGE_PROB).
            start, head = at + i, None
            while (
                start > at
                and words[start - 1].probability < guards.GIBBERISH_EDGE_PROB
                and words[start].start - words[start - 1].end < guards.GIBBERISH_EDGE_GAP_S
            ):
                start -= 1
        else:
            start, head = first, (flat[first - 1][0], flat[first - 1][1])
        out.append(_Suspect(words[start].start, words[last].end, keys(start, last), gram, head))
        at = last + 1
    merged: list[_Suspect] = []
    for sp in sorted(out, key=lambda x: x.start):
        if merged and sp.start <= merged[-1].end:
            m = merged[-1]
            merged[-1] = _Suspect(
                m.start,
                max(m.end, sp.end),
                m.words | sp.words,
                m.gram or sp.gram,
                m.head or sp.head,
            )
        else:
            merged.append(sp)
    return merged


def _recheck(
    segments: list[Segment],
    span: _Suspect,
    first: list[tuple[Word, ...]],
    other: Sequence[Word],
    also: Sequence[Word] = (),
) -> list[Segment]:
    """``segments`` after a fresh decode (``first``, words per segment) of a suspect span,
    judged against second opinions (``other``: a second fresh decode; ``also``: for a guessed
    run, the first decode's words; a loop's copies say nothing).

    - A loop the fresh decode repeats (:func:`_same_phrase`) is speech said again and again:
      kept (its copies are collapsed to one, covering their audio, by
      :func:`guards.guard_repetition`).
    - Fresh segments the second opinion agrees with (:func:`_agreed`) replace the suspect words
      they overlap (flagged ``redecoded``): a real turn decoded badly in a chunk that a stretch of
      unintelligible speech pushed into the temperature fallback.
    - A loop not confirmed loses its copies; its first copy stays, flagged ``repetition_collapsed``
      over its own words only, so the audio of the copies is reported untranscribed unless
      agreed words cover it.
    - Other suspect words stay as they were (:func:`guards.drop_gibberish` removes a guess and
      reports the stretch unintelligible).
    """
    if span.gram is not None:
        tokens = [guards.norm_token(x.word) for ws in first for x in ws]
        loop = guards.find_loop(tokens)
        if loop is not None and _same_phrase(tokens[loop[0] : loop[0] + loop[1]], span.gram):
            return segments  # said again and again
    good = _agreed(first, other, also)
    if not good and span.gram is None:
        return segments
    cover = [(ws[0].start, ws[-1].end) for ws in _runs(good)]
    suspect = set(span.words) | _remnants(segments, span, cover)

    def drop(k: int, j: int, x: Word) -> bool:
        if (k, j) not in suspect:
            return False
        return span.gram is not None or any(a - 0.3 < x.end and x.start < b + 0.3 for a, b in cover)

    kept: list[Segment] = []
    for k, s in enumerate(segments):
        holds_head = span.head is not None and span.head[0] == k
        if not holds_head and not any(drop(k, j, x) for j, x in enumerate(s.words)):
            kept.append(s)
            continue
        # The words left, cut after the loop's first copy (which carries the loop's mark).
        runs: list[list[Word]] = [[]]
        for j, x in enumerate(s.words):
            if not drop(k, j, x):
                runs[-1].append(x)
            if span.head == (k, j):
                runs.append([])
        for n, run in enumerate(runs):
            if not run:
                continue
            part = replace(
                s,
                start=s.start if run[0] is s.words[0] else run[0].start,
                end=run[-1].end,
                words=tuple(run),
                text=guards.joined(run),
            )
            kept.append(guards.mark_collapsed(part) if n == 0 and len(runs) > 1 else part)
    add = _words_within([_as_segment(good)], span.start - 10, span.end + 10, kept) if good else []
    return sorted([*kept, *add], key=lambda s: (s.start, s.end))


def _remnants(
    segments: list[Segment], span: _Suspect, cover: list[tuple[float, float]]
) -> set[tuple[int, int]]:
    """Words of a guessed run's segments right next to the run, in line with it, and inside the
    agreed words that replace it: what is left of the guess (the edge rule keeps a clear-looking
    tail, "of men." after a loop of "… person of men"), which would keep the agreed word under
    it ("months") out. Not for a loop (its first copy stays)."""
    if span.gram is not None or not cover:
        return set()
    out: set[tuple[int, int]] = set()
    for k in {k for k, _ in span.words}:
        words = segments[k].words
        held = [j for kk, j in span.words if kk == k]
        for start, step in ((max(held) + 1, 1), (min(held) - 1, -1)):
            j = start
            while 0 <= j < len(words) and any(
                a <= (words[j].start + words[j].end) / 2 <= b for a, b in cover
            ):
                out.add((k, j))
                j += step
    return out


def _same_phrase(a: Sequence[str], b: Sequence[str]) -> bool:
    """Are two loops' phrases the same, up to a misheard word ("we measured blood pressure" for
    "we measure blood pressure") or where the copies were cut ("pressure we measure blood")?"""
    return difflib.SequenceMatcher(None, list(a), list(b), autojunk=False).ratio() >= 0.5


#: A fresh decode's segment is kept when at least this share of its words is also in the second
#: opinion, within ``_AGREE_SLACK_S`` of its time span.
_AGREE_SHARE = 0.5
_AGREE_SLACK_S = 1.0
#: The second fresh decode of a stretch starts up to this long before the first.
_SECOND_LEAD_S = 1.0


def _agreed(
    first: list[tuple[Word, ...]], other: Sequence[Word], also: Sequence[Word] = ()
) -> tuple[Word, ...]:
    """The words of the segments of ``first`` that ``other`` or ``also`` (each a decode, in time
    order) agrees with and that are neither a loop nor a guess themselves (:func:`_suspects`).

    Real speech comes out the same when decoded twice from slightly different starts, even when
    misheard; what Whisper invents over speech it cannot make out does not ("Thank you so much
    for watching" once, "the most important thing is that we have to do it" the other time).
    """
    out: list[Word] = []
    for ws in _plausible(first):
        mine = [guards.norm_token(x.word) for x in ws]
        lo, hi = ws[0].start - _AGREE_SLACK_S, ws[-1].end + _AGREE_SLACK_S
        for opinion in (other, also):
            theirs = [
                guards.norm_token(x.word) for x in opinion if lo <= (x.start + x.end) / 2 <= hi
            ]
            matcher = difflib.SequenceMatcher(None, mine, theirs, autojunk=False)
            if sum(b.size for b in matcher.get_matching_blocks()) >= _AGREE_SHARE * len(mine):
                out.extend(ws)
                break
    return tuple(out)


def _plausible(first: list[tuple[Word, ...]]) -> list[tuple[Word, ...]]:
    """The segments of a fresh decode that may be speech: not a loop, not a guess, not a stock
    subtitle phrase. Without any, no second opinion is needed (nor decoded: over speech no one
    can make out, each fresh decode runs the whole temperature fallback)."""
    # A loop anywhere in the fresh decode (also across its segments: "I'm here for the next
    # time." three times) makes every segment it touches a guess, its first copy included.
    flat = [(n, x) for n, ws in enumerate(first) for x in ws]
    bad = {
        k
        for sp in _suspects([_as_segment([x for _, x in flat])])
        for _, j in (*sp.words, *((sp.head,) if sp.head else ()))
        for k in (flat[j][0],)
    }
    return [
        ws
        for n, ws in enumerate(first)
        if n not in bad and not guards.stock_phrase(guards.joined(ws))
    ]


def _runs(words: Sequence[Word], gap_s: float = 1.0) -> list[list[Word]]:
    """``words`` cut where more than ``gap_s`` passes between two."""
    out: list[list[Word]] = []
    for x in words:
        if out and x.start - out[-1][-1].end <= gap_s:
            out[-1].append(x)
        else:
            out.append([x])
    return out


def _as_segment(words: Sequence[Word]) -> Segment:
    if not words:
        return Segment(0.0, 0.0, "")
    return Segment(words[0].start, words[-1].end, guards.joined(words), words=tuple(words))


def _sub_samples(w: audio_mod.Window, samples: Any, sub: audio_mod.Window) -> Any:
    """The audio of ``sub`` (a part of ``w``, :func:`_sub_window`) cut from ``w``'s samples:
    the resampler computes each sample from its own neighbourhood, so this equals
    ``sub.read16k()`` without reading the file again (a cluster worker has no file)."""
    import numpy as np

    parts = []
    acc = 0
    for a, b in w.chunks:
        for x, y in sub.chunks:
            if a <= x and y <= b:
                parts.append(samples[acc + x - a : acc + y - a])
        acc += b - a
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


#: The start of every English window's prompt (``filler_prompt``, on by default): fillers and
#: discourse words only, no content words to lean on. Measured on the first 12 minutes of the
#: 60-minute fixture (docs/benchmarks-transcription.md): fillers 6/50 → 39/50, WER unchanged
#: (0.1096), no turn lost. The longer prompt of ../shared/tools/README.md §2 ("Umm, let me think
#: like, hmm... Okay, here's what I'm, like, thinking.") changed content words; "Um, uh, hmm."
#: kept as many fillers but raised the WER by 0.009.
FILLER_PROMPT = "Um, well, uh, I mean, you know, so…"


def _vocabulary_prompt(vocabulary: tuple[str, ...]) -> str | None:
    return f"Glossary: {', '.join(vocabulary)}." if vocabulary else None


def _prompt(
    options: TranscribeOptions, vocabulary: tuple[str, ...], language: str | None
) -> str | None:
    """The prompt of every window: the filler prompt (English only), then the explicit prompt or
    the vocabulary's glossary (``vocabulary_prompt``)."""
    glossary = _vocabulary_prompt(vocabulary) if options.vocabulary_prompt else None
    base = options.initial_prompt or glossary
    if options.filler_prompt and language == "en":
        return f"{FILLER_PROMPT} {base}" if base else FILLER_PROMPT
    return base


def _filler_pass(options: TranscribeOptions, language: str | None) -> str | None:
    on = options.filler_pass and not options.filler_prompt and language == "en"
    return FILLER_PROMPT if on else None


def _merge_spans(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping spans joined, in time order (a removed guess is always reported, even where
    the energy rule alone would find less than 1.5 s without words)."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _window_spans(w: audio_mod.Window) -> list[tuple[float, float]]:
    rate = audio_mod.SAMPLE_RATE
    return [(w.file.offset + a / rate, w.file.offset + b / rate) for a, b in w.chunks]


def _skipped_speech(w: audio_mod.Window, segments: list[Segment]) -> bool:
    """Is any stretch of ≥ 1.5 s of speech energy in the window without words?"""
    return bool(guards.untranscribed(segments, [w.file], within=_window_spans(w)))


def _coverage(w: audio_mod.Window, segments: list[Segment]) -> float:
    """Share of the window's speech energy that lies near a word (1.0: all of it)."""
    spans = _window_spans(w)
    speech = sum(guards.speech_seconds([w.file], a, b) for a, b in spans)
    if speech <= 0:
        return 1.0
    lost = sum(
        guards.speech_seconds([w.file], a, b)
        for a, b in guards.untranscribed(segments, [w.file], within=spans, min_s=0.0)
    )
    return 1.0 - lost / speech


#: A gap is redecoded from this long before its speech (the first word whole) to this long after.
_GAP_LEAD_S = 0.3
_GAP_TAIL_S = 0.5
#: ... and on through the speech still going on at its end, at most this much further.
_GAP_RUN_ON_S = 2.0
_FRAME_S = audio_mod.FRAME_S
#: Time limit of one window, in CPU seconds of this process: this plus this many times the
#: window's audio length at the speed measured so far in the run (CPU seconds per audio second;
#: before the first window: :data:`_FIRST_RTF` per CPU core, i.e. real time on every core).
#: CPU time, not wall time: on a machine loaded by other programs wall time stretches but the
#: work of a window does not, so load cannot cut a window (which would then be reported
#: untranscribed); a loop the temperature fallback keeps resampling still burns CPU and is cut.
_WINDOW_BASE_S = 30.0
_WINDOW_RTF_FACTOR = 5.0
_FIRST_RTF = 1.0


def _fresh_span(w: audio_mod.Window, start: float, end: float) -> tuple[float, float]:
    """The part of the audio whose words a fresh decode of ``start``..``end`` may add:
    :data:`_GAP_LEAD_S` before to :data:`_GAP_TAIL_S` after, and on to the end of the speech
    going on at ``end`` (+ the tail; at most :data:`_GAP_RUN_ON_S` more). A suspect span ends
    where its guessed words end, and the turn under it may go on: cut at 0.5 s, its last word
    was lost."""
    f = w.file
    hi = end + _GAP_TAIL_S
    if f.frame_db is not None and len(f.frame_db):
        mask = guards.speech_mask(f)
        i = int((end - f.offset) / _FRAME_S)
        last = min(len(mask), i + round(_GAP_RUN_ON_S / _FRAME_S))
        while 0 <= i < last and mask[i]:
            i += 1
        hi = max(hi, f.offset + i * _FRAME_S + _GAP_TAIL_S)
    return start - _GAP_LEAD_S, hi


def _fresh_starts(w: audio_mod.Window, start: float) -> tuple[float, float]:
    """Where the two fresh decodes of a stretch beginning at ``start`` begin (session clock).

    Both start in the silence before the stretch's speech when there is one: the first
    :data:`_GAP_LEAD_S` before the speech (so the first word is whole), the second up to
    :data:`_SECOND_LEAD_S` earlier, never inside the speech before that silence. A decode that
    began in the last words of the previous turn wrote those ("of this work.") and stopped
    there, so the turn that followed a stretch of unintelligible speech was never agreed on and
    was reported untranscribed (the RC0 fixture). Without a silence of at least twice the lead
    before the speech, the second begins :data:`_SECOND_LEAD_S` before the first, as before.
    """
    one = start - _GAP_LEAD_S
    two = one - _SECOND_LEAD_S
    f = w.file
    if f.frame_db is None or not len(f.frame_db):
        return one, two
    mask = guards.speech_mask(f)
    n = len(mask)
    lead = round(_GAP_LEAD_S / _FRAME_S)
    i = int((start - f.offset) / _FRAME_S)
    if not 0 <= i < n:
        return one, two
    if mask[i]:  # the speech began a little earlier, perhaps: back to its onset, within the lead
        while i > 0 and mask[i - 1] and int((start - f.offset) / _FRAME_S) - i < lead:
            i -= 1
    else:  # the stretch begins in silence (a guessed word's start): on to the speech, within 1 s
        j = i
        while j < min(n, i + round(1.0 / _FRAME_S)) and not mask[j]:
            j += 1
        i = j if j < n and mask[j] else i
    onset = i
    quiet = onset  # the silence before the onset reaches back to here (within the second lead)
    while quiet > 0 and not mask[quiet - 1] and onset - quiet < lead + _SECOND_LEAD_S / _FRAME_S:
        quiet -= 1
    if onset - quiet < 2 * lead:
        return one, two
    at = f.offset + onset * _FRAME_S
    one = at - _GAP_LEAD_S
    return one, max(f.offset + quiet * _FRAME_S, one - _SECOND_LEAD_S)


def _sub_window(w: audio_mod.Window, start: float, end: float) -> audio_mod.Window | None:
    """The part of ``w`` between ``start`` and ``end`` (session clock), as a window of its own."""
    rate = audio_mod.SAMPLE_RATE
    a = round((start - w.file.offset) * rate)
    b = round((end - w.file.offset) * rate)
    chunks = [(max(a, x), min(b, y)) for x, y in w.chunks if min(b, y) > max(a, x)]
    return audio_mod.Window(w.index, w.file, chunks) if chunks else None


def _words_within(
    found: list[Segment], start: float, end: float, existing: list[Segment]
) -> list[Segment]:
    """The words of ``found`` between ``start`` and ``end`` that no existing word overlaps, as
    segments (one per found segment), flagged ``redecoded``."""
    taken = [(x.start, x.end) for s in existing for x in s.words]
    out: list[Segment] = []
    for s in found:
        words = tuple(
            x
            for x in s.words
            if start <= (x.start + x.end) / 2 <= end
            and not any(a < x.end - 0.05 and b > x.start + 0.05 for a, b in taken)
        )
        if not words:
            continue
        out.append(
            replace(
                s,
                start=words[0].start,
                end=words[-1].end,
                text="".join(x.word for x in words).strip(),
                words=words,
                flags=(*s.flags, "redecoded"),
            )
        )
    return out


def _fingerprint(
    options: TranscribeOptions,
    info: EngineInfo,
    model: ResolvedModel,
    files: list[audio_mod.AudioFile],
    windows: list[audio_mod.Window],
    language: str | None,
    vocabulary: tuple[str, ...],
) -> str:
    data = {
        "v": _PARTIAL_VERSION,
        "options": options.fingerprint_dict(),
        "engine": [info.name, info.version, info.compute_type],
        "model": [str(model.path), _model_size(model.path)],
        # The offset too: saved segments are in session time, which moves with it.
        "audio": [
            [f.path.name, f.frames, f.samplerate, f.channels, round(f.offset, 6)] for f in files
        ],
        "windows": [w.key() for w in windows],
        "language": language,
        "vocabulary": list(vocabulary),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _model_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def _read_partial(path: Path, fingerprint: str) -> tuple[dict[int, list[Segment]], str | None]:
    """Completed windows from an interrupted run with the same fingerprint (else nothing)."""
    done: dict[int, list[Segment]] = {}
    language = None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        return done, None
    if not lines:
        return done, None
    try:
        header = json.loads(lines[0])
    except ValueError:
        return done, None
    if header.get("fingerprint") != fingerprint:
        return done, None
    for line in lines[1:]:
        try:
            rec = json.loads(line)
            if "language" in rec:
                language = rec["language"]
            elif "window" in rec:
                done[int(rec["window"])] = [Segment.from_json_dict(s) for s in rec["segments"]]
        except (ValueError, KeyError, TypeError):
            break  # a torn last line: everything before it is good
    return done, language


class _PartialWriter:
    """Appends one JSON line per completed window, fsynced, so a kill loses one window at most."""

    def __init__(self, path: Path, fingerprint: str, *, fresh: bool) -> None:
        self.path = path
        if fresh or not path.exists():
            write_atomic(
                path, json.dumps({"partial": _PARTIAL_VERSION, "fingerprint": fingerprint}) + "\n"
            )
        else:
            _truncate_torn_tail(path)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def append(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def _truncate_torn_tail(path: Path) -> None:
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)
