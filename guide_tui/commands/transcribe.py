"""``guide-tui transcribe`` and ``guide-tui models list|pull``.

Only the standard library at module level (the CLI starts fast); Rich, numpy and the engines are
imported when a command runs. Rendering the progress is kept apart from the work (after pip's
``progress_bars.py``): the runner reports :class:`~guide_tui.transcribe.types.Progress` in seconds
of audio and this module decides how to show it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guide_tui.transcribe.types import TranscribeOptions

ORDER = 40


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tr = subparsers.add_parser(
        "transcribe",
        help="transcribe recorded sessions with local Whisper",
        description="Transcribe sessions offline into transcript.json and transcript.md, aligned "
        "with the guide's topics. Sessions are done one after another; an interrupted run "
        "continues where it stopped when run again.",
    )
    tr.add_argument(
        "sessions",
        nargs="+",
        metavar="SESSION",
        help="session folder (a path, or a folder name under the recordings folder)",
    )
    tr.add_argument(
        "--engine",
        choices=("faster-whisper", "openai-whisper"),
        default="faster-whisper",
        help="default: faster-whisper (measured fastest)",
    )
    tr.add_argument(
        "--model",
        help="name (tiny.en, base, small, large-v3, ...) or path to a "
        "CTranslate2 folder / .pt; default: the best local model for the language",
    )
    tr.add_argument(
        "--compute-type",
        default="default",
        help="faster-whisper: int8, float32, ... (default: the measured default)",
    )
    tr.add_argument("--language", help="ISO 639-1 code or 'auto' (default: the guide's language)")
    mode = tr.add_mutually_exclusive_group()
    mode.add_argument(
        "--verbatim",
        dest="verbatim",
        action="store_true",
        default=True,
        help="verbatim transcript: pauses, unclear marks, fillers (default)",
    )
    mode.add_argument(
        "--clean",
        dest="verbatim",
        action="store_false",
        help="readable transcript without fillers and marks",
    )
    tr.add_argument(
        "--filler-prompt",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="prompt Whisper to write the fillers it hears (um, uh) in English windows; "
        "speech that makes it skip is redecoded without the prompt",
    )
    tr.add_argument(
        "--filler-pass",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="decode English windows a second time with fillers in the prompt and add the "
        "fillers (um, uh) it finds between words both decodes agree on (default: on with "
        "--verbatim, off with --clean; costs decoding time)",
    )
    tr.add_argument(
        "--vocabulary-prompt",
        action="store_true",
        help="also give the guide's vocabulary to Whisper as a glossary prompt (off: it is used "
        "to correct spellings afterwards; the prompt made tiny.en 3-13x slower and drop fillers)",
    )
    tr.add_argument("--beam-size", type=int, default=5)
    tr.add_argument(
        "--window",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="audio per resumable window (default 120)",
    )
    tr.add_argument(
        "--no-vad",
        dest="vad",
        action="store_false",
        help="give the engine long silences too (not recommended)",
    )
    tr.add_argument("--threads", type=int, default=0, help="CPU threads (0: engine default)")
    tr.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="faster-whisper on an NVIDIA GPU (cuda) or the CPU; auto: the GPU when CUDA is "
        "usable here (with --cluster: cpu unless cuda is given)",
    )
    tr.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run the windows on Dask (extra [cluster]): local:N starts N worker processes "
        "here; tcp://host:8786 or tls://host:8786 uses a running scheduler (docs/cluster.md)",
    )
    tr.add_argument(
        "--cluster-shared-fs",
        action="store_true",
        help="the workers see the session folders at the same paths: send paths, not audio",
    )
    tr.add_argument(
        "--cluster-security",
        metavar="FOLDER",
        help="TLS for a tls:// scheduler: FOLDER holds ca.pem, cert.pem and key.pem",
    )
    tr.add_argument("--force", action="store_true", help="transcribe again even if transcribed")
    tr.set_defaults(func=run_transcribe)

    models = subparsers.add_parser(
        "models",
        help="list or download Whisper models",
        description="Whisper models in the local store.",
    )
    sub = models.add_subparsers(dest="models_command", metavar="ACTION")
    ls = sub.add_parser("list", help="models present on this machine")
    ls.set_defaults(func=run_models_list)
    pull = sub.add_parser("pull", help="download a model (the only command that uses the network)")
    pull.add_argument("name", help="tiny.en, base, small, large-v3, turbo, ...")
    pull.add_argument(
        "--engine", choices=("faster-whisper", "openai-whisper"), default="faster-whisper"
    )
    pull.set_defaults(func=run_models_pull)
    models.set_defaults(func=run_models_list)


def _session_folder(name: str) -> Path:
    from guide_tui.errors import SessionError, TranscriptionError
    from guide_tui.paths import recordings_dir
    from guide_tui.session.files import frozen_guide_changed
    from guide_tui.session.store import read_meta

    path = Path(name).expanduser()
    if not path.is_dir():
        path = recordings_dir() / name
        if not path.is_dir():
            raise TranscriptionError(
                f"no session folder {name!r} (looked in . and {recordings_dir()})"
            )
    try:  # every queued folder is checked before any work starts or a progress bar is drawn
        meta = read_meta(path)
    except SessionError as error:
        raise TranscriptionError(str(error)) from None
    warning = frozen_guide_changed(path, meta)
    if warning:
        print(f"guide-tui: warning: {warning}", file=sys.stderr)
    return path


def _device(args: argparse.Namespace) -> str:
    """``--device`` as the engine takes it: ``cpu`` or ``cuda`` (one line when CUDA is asked
    for and not usable)."""
    from guide_tui.errors import TranscriptionError

    wanted = getattr(args, "device", "auto")
    if wanted == "cpu":
        return "cpu"
    if args.engine != "faster-whisper":
        if wanted == "cuda":
            raise TranscriptionError("--device cuda needs the faster-whisper engine")
        return "cpu"
    if getattr(args, "cluster", None):  # the workers' GPUs are not visible from here
        return wanted if wanted == "cuda" else "cpu"
    from guide_tui.transcribe.engines.faster import cuda_devices, require_cuda

    if wanted == "cuda":
        require_cuda()
        return "cuda"
    return "cuda" if cuda_devices() else "cpu"


def options_from(args: argparse.Namespace) -> TranscribeOptions:
    """The transcription options the command line asks for (the filler pass follows the style
    unless it is set: a clean transcript drops the fillers anyway)."""
    from guide_tui.transcribe.types import TranscribeOptions

    return TranscribeOptions(
        engine=args.engine,
        model=args.model,
        compute_type=args.compute_type,
        language=args.language,
        beam_size=args.beam_size,
        verbatim=args.verbatim,
        filler_prompt=args.filler_prompt,
        filler_pass=args.verbatim if args.filler_pass is None else args.filler_pass,
        vocabulary_prompt=args.vocabulary_prompt,
        window_s=args.window,
        vad_filter=args.vad,
        threads=args.threads,
        device=_device(args),
    )


def run_transcribe(args: argparse.Namespace) -> int:
    from guide_tui.transcribe.runner import TRANSCRIPT, Transcriber

    folders = [_session_folder(s) for s in args.sessions]
    if getattr(args, "cluster", None):
        from guide_tui.transcribe.cluster import parse_local

        parse_local(args.cluster)  # a bad address is refused before any work
    options = options_from(args)
    todo = [f for f in folders if args.force or not (f / TRANSCRIPT).exists()]
    from guide_tui.session.lock import is_locked

    for f in folders:
        if f not in todo:
            print(f"{f}: already transcribed (use --force to redo)", file=sys.stderr)
        elif is_locked(f):  # not refused: reading is safe, but the audio is still growing
            print(
                f"{f}: the interview is still open in guide-tui; the transcript covers the "
                "audio recorded so far (transcribe again with --force after it ends)",
                file=sys.stderr,
            )
    if not todo:
        return 0
    empty: list[str] = []
    mute: list[str] = []  # speech energy, but not a word the engine could write
    if getattr(args, "cluster", None):
        code = _run_cluster(args, options, todo, empty, mute)
        if code:
            return code
    else:
        view = _ProgressView(len(todo))
        transcriber = Transcriber(options, on_progress=view.update)
        try:
            with view:
                for i, folder in enumerate(todo, 1):
                    view.start_session(i, folder)
                    out = transcriber.run(folder)
                    view.finish_session(out, transcriber.last_timings)
                    _report(folder, out, transcriber, view.segments, empty, mute)
        except KeyboardInterrupt:
            transcriber.cancel.set()
            print(_INTERRUPTED, file=sys.stderr)
            return 130
    if mute:
        print(
            f"guide-tui: speech found but nothing could be transcribed in {', '.join(mute)}: "
            "the transcript only marks it as untranscribed. Is the guide's language right "
            "(--language, --model)? Listen to the recording.",
            file=sys.stderr,
        )
    if mute or empty:
        # An empty transcript of a real interview means the audio is silent or broken: say so
        # and fail, rather than let an empty file pass for a transcript.
        if empty:
            print(
                f"guide-tui: no speech found in {', '.join(empty)}: the transcript is empty. "
                "Listen to the recording; `guide-tui mic-check` tests a microphone.",
                file=sys.stderr,
            )
        return 1
    return 0


_INTERRUPTED = (
    "guide-tui: transcription interrupted; finished windows are saved — run the same "
    "command again to continue"
)


def _report(
    folder: Path,
    out: Path,
    transcriber: Any,
    segments: int | None,
    empty: list[str],
    mute: list[str],
) -> None:
    """What a finished session tells the user (the same with and without a cluster)."""
    for line in _unplaced_corrections(folder):
        print(f"{folder.name}: {line}", file=sys.stderr)
    for warning in _warnings(out):  # identical channels, no speaker model
        print(f"guide-tui: warning: {warning}", file=sys.stderr)
    gaps = transcriber.last_untranscribed
    unheard = sum(float(g.get("speech_s") or 0) for g in gaps)
    if segments == 0:
        audio = _mmss(float(transcriber.last_timings.get("audio_s") or 0))
        if gaps:
            mute.append(f"{folder.name} ({unheard:.0f} s of speech in {audio})")
        else:
            empty.append(f"{folder.name} ({audio} of audio)")
    elif gaps:
        # Speech the engine could not write is marked in the transcript; say so here too, so
        # nobody takes the transcript for complete.
        print(
            f"guide-tui: {folder.name}: {len(gaps)} stretch(es) of speech "
            f"({unheard:.0f} s) could not be transcribed; they are marked "
            "untranscribed in the transcript — check them against the audio",
            file=sys.stderr,
        )


def _run_cluster(
    args: argparse.Namespace,
    options: Any,
    todo: list[Path],
    empty: list[str],
    mute: list[str],
) -> int:
    """``--cluster``: every session's windows as Dask tasks (guide_tui.transcribe.cluster)."""
    from guide_tui.transcribe.cluster import ClusterRun, connect
    from guide_tui.transcribe.runner import Transcriber

    cluster = connect(args.cluster, security_folder=args.cluster_security)
    view = _StudyView(len(todo))
    written: list[int] = []  # segments of the session just finished (its "done" progress)

    def on_progress(p: Any) -> None:
        if p.stage == "done":
            written.append(p.segments)

    transcriber = Transcriber(options, on_progress=on_progress)

    def on_session(i: int, folder: Path, out: Path) -> None:
        view.finish_session(i, out, transcriber.last_timings)
        _report(folder, out, transcriber, written.pop() if written else None, empty, mute)

    try:
        workers = cluster.workers()
        hosts = ", ".join(cluster.hosts())
        print(
            f"guide-tui: cluster {args.cluster}: {len(workers)} worker(s), "
            f"{sum(workers.values())} thread(s), on {hosts}",
            file=sys.stderr,
        )
        run = ClusterRun(
            transcriber,
            cluster,
            shared_fs=args.cluster_shared_fs,
            on_start=view.start,
            on_window=view.window,
            on_session=on_session,
        )
        with view:
            run.run(todo)
    except KeyboardInterrupt:
        print(_INTERRUPTED, file=sys.stderr)
        return 130
    finally:
        cluster.close()
    return 0


def _unplaced_corrections(folder: Path) -> list[str]:
    """The review's corrections the new transcript has no place for (their words changed), one
    line each; the others carry over, as the log is applied to whatever transcript.json holds."""
    from guide_tui.transcript.corrections import CORRECTIONS_FILE

    if not (folder / CORRECTIONS_FILE).is_file():
        return []
    from guide_tui.errors import GuideTuiError
    from guide_tui.export.session_data import read_session
    from guide_tui.export.writers import transcript_model

    try:
        model = transcript_model(read_session(folder, with_guide=False))
    except GuideTuiError as error:
        return [f"corrections not checked: {error}"]
    return [f"{line} (kept in the log, not applied)" for line in model.unplaced]


def _warnings(transcript: Path) -> list[str]:
    """The ``warnings`` messages of a just-written transcript (docs/transcript-format.md)."""
    import json

    try:
        data = json.loads(transcript.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    items = data.get("warnings") if isinstance(data, dict) else None
    return [str(w.get("message")) for w in items or () if isinstance(w, dict) and w.get("message")]


class _View:
    """What the two progress views share: the stream, a Rich bar on a terminal or plain lines."""

    PLAIN_EVERY_S = 10.0

    def __init__(self, sessions: int, stream: Any = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.sessions = sessions
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.progress: Any = None
        self._last_plain = 0.0

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def _print(self, line: str) -> None:
        if self.progress is not None:
            self.progress.console.print(line, highlight=False, markup=False)
        else:
            print(line, file=self.stream, flush=True)


class _ProgressView(_View):
    """Progress per session: audio done / total, speed, time left; a closing line per session.

    Speed is one figure everywhere, "× real time": audio processed ÷ wall time spent on it,
    measured by the runner (:attr:`Progress.speed`), never Rich's own estimate from the last few
    updates (openai-whisper delivers a window's segments in one burst, which read as
    "1816.7× real time"). On a terminal a Rich bar; otherwise plain lines (at the end of a
    window, at most one every ``PLAIN_EVERY_S`` seconds) written as they are, so a log never
    wraps inside a figure.
    """

    def __init__(self, sessions: int, stream: Any = None) -> None:
        super().__init__(sessions, stream)
        self.task: Any = None
        self.label = ""
        self._resumed = False
        self.segments: int | None = None  # of the last session finished
        if self.interactive:
            self._make_bar()

    def _make_bar(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn
        from rich.text import Text

        class AudioColumn(ProgressColumn):
            def render(self, task: Any) -> Text:
                return Text(f"{_mmss(task.completed)}/{_mmss(task.total or 0)}")

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            AudioColumn(),
            TextColumn("{task.fields[speed]}", style="progress.data.speed"),
            TextColumn("{task.fields[left]}", style="progress.remaining"),
            console=Console(file=self.stream),
            transient=False,
        )

    def __enter__(self) -> _ProgressView:
        if self.progress is not None:
            self.progress.__enter__()
        return self

    def start_session(self, index: int, folder: Path) -> None:
        from guide_tui.safetext import terminal_text

        # A folder name may hold anything: control characters are made visible for the
        # terminal, and the bar reads its description as markup, so it gets it escaped.
        self.label = f"[{index}/{self.sessions}] {terminal_text(folder.name)}"
        self.segments = None
        self._resumed = False
        self._last_plain = 0.0
        if self.progress is not None:
            from rich.markup import escape

            self.task = self.progress.add_task(escape(self.label), total=None, speed="", left="")

    def update(self, p: Any) -> None:
        if p.stage == "done":
            self.segments = p.segments
        if p.stage == "loading":  # the model was found: the work begins
            self._resumed = False
            if self.progress is not None and self.task is not None:
                self.progress.update(self.task, total=p.total_s, completed=0)
            elif self.progress is None:
                self._print(f"{self.label}: transcribing {_mmss(p.total_s)} of audio")
            return
        done = max(p.done_s, p.resumed_s)
        speed = p.speed
        left = (p.total_s - done) / speed if speed else None
        if self.progress is not None:
            if self.task is None:
                return
            if p.resumed_s and not self._resumed:
                # Audio done by an earlier run counts as done (not into the speed: the runner's).
                self.progress.reset(self.task, total=p.total_s, completed=p.resumed_s)
                self._resumed = True
            self.progress.update(
                self.task,
                completed=done,
                speed=_speed_text(speed),
                left=f"{_mmss(left)} left" if left is not None and p.stage != "done" else "",
            )
            return
        if p.stage != "transcribing" or not p.window_done:
            # Plain lines only at window ends: openai-whisper hands over a window's segments at
            # once, and a line for its first segment would understate the speed and overstate
            # the time left.
            return
        now = time.monotonic()
        if now - self._last_plain < self.PLAIN_EVERY_S:
            return
        self._last_plain = now
        self._print(progress_line(self.label, done, p.total_s, speed, left))

    def finish_session(self, out: Path, timings: dict[str, Any]) -> None:
        from guide_tui.transcribe.types import transcription_speed

        audio = float(timings.get("audio_s") or 0)
        resumed = float(timings.get("resumed_audio_s") or 0)
        wall = float(timings.get("transcribe_s") or 0)
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=audio, left="")
        speed = transcription_speed(audio - resumed, wall)
        parts = [f"{_mmss(audio - resumed)} of audio in {_mmss(wall)}"]
        if resumed:
            parts.append(f"{_mmss(resumed)} done by an earlier run")
        if speed:
            parts.append(_speed_text(speed))
        self._print(f"{self.label}: wrote {out} ({', '.join(parts)})")


class _StudyView(_View):
    """Progress of a study on a cluster: a bar per session and one for all of them (audio done
    / total, speed, time left), right also when windows finish out of order: a session's audio
    counts as done in proportion to the speech of its finished windows. Without a terminal,
    plain lines as :class:`_ProgressView` writes them (at most one round every
    ``PLAIN_EVERY_S`` seconds: the overall line and the sessions that moved)."""

    def __init__(self, sessions: int, stream: Any = None) -> None:
        super().__init__(sessions, stream)
        self.tasks: list[Any] = []
        self.overall: Any = None
        self.labels: list[str] = []
        self.total: list[float] = []  # audio of each session
        self.span: list[float] = []  # speech in its windows still to do when the run began
        self.span_done: list[float] = []
        self.resumed: list[float] = []
        self.t0 = time.monotonic()
        self._moved: set[int] = set()

    def __enter__(self) -> _StudyView:
        if self.interactive:
            view = _ProgressView(0, self.stream)  # the same columns as a single session's
            self.progress = view.progress
            self.progress.__enter__()
        return self

    def start(self, jobs: list[Any]) -> None:
        from guide_tui.safetext import terminal_text

        self.t0 = time.monotonic()
        for i, job in enumerate(jobs, 1):
            self.labels.append(f"[{i}/{self.sessions}] {terminal_text(job.folder.name)}")
            todo = sum(w.end - w.start for w in job.todo)
            every = sum(w.end - w.start for w in job.windows)
            self.total.append(job.total)
            self.span.append(every)
            self.span_done.append(every - todo)
            self.resumed.append(job.total * (every - todo) / every if every else 0.0)
        if self.progress is not None:
            from rich.markup import escape

            for i, label in enumerate(self.labels):
                self.tasks.append(
                    self.progress.add_task(
                        escape(label),
                        total=self.total[i],
                        completed=self.resumed[i],
                        speed="",
                        left="",
                    )
                )
            self.overall = self.progress.add_task(
                "all sessions",
                total=sum(self.total),
                completed=sum(self.resumed),
                speed="",
                left="",
            )
        else:
            self._print(
                f"all sessions: transcribing {_mmss(sum(self.total))} of audio in "
                f"{self.sessions} session(s) on the cluster"
            )

    def _done(self, i: int) -> float:
        if not self.span[i]:
            return self.total[i]
        return self.total[i] * min(1.0, self.span_done[i] / self.span[i])

    def _speed_left(self, done: float, resumed: float, total: float) -> tuple[Any, Any]:
        from guide_tui.transcribe.types import transcription_speed

        speed = transcription_speed(done - resumed, time.monotonic() - self.t0)
        return speed, ((total - done) / speed if speed else None)

    def window(self, d: Any) -> None:
        i = d.session
        self.span_done[i] += d.audio_s
        self._moved.add(i)
        done_all = sum(self._done(k) for k in range(len(self.total)))
        total_all = sum(self.total)
        speed, left = self._speed_left(done_all, sum(self.resumed), total_all)
        if self.progress is not None:
            s_speed, s_left = self._speed_left(self._done(i), self.resumed[i], self.total[i])
            self.progress.update(
                self.tasks[i],
                completed=self._done(i),
                speed=_speed_text(s_speed),
                left=f"{_mmss(s_left)} left" if s_left is not None else "",
            )
            self.progress.update(
                self.overall,
                completed=done_all,
                speed=_speed_text(speed),
                left=f"{_mmss(left)} left" if left is not None else "",
            )
            return
        now = time.monotonic()
        if now - self._last_plain < self.PLAIN_EVERY_S:
            return
        self._last_plain = now
        for k in sorted(self._moved):
            done = self._done(k)
            s_speed, s_left = self._speed_left(done, self.resumed[k], self.total[k])
            self._print(progress_line(self.labels[k], done, self.total[k], s_speed, s_left))
        self._moved.clear()
        self._print(progress_line("all sessions", done_all, total_all, speed, left))

    def finish_session(self, i: int, out: Path, timings: dict[str, Any]) -> None:
        audio = float(timings.get("audio_s") or 0)
        resumed = float(timings.get("resumed_audio_s") or 0)
        wall = float(timings.get("transcribe_s") or 0)
        if self.progress is not None and i < len(self.tasks):
            self.progress.update(self.tasks[i], completed=self.total[i], left="")
        parts = [f"{_mmss(audio - resumed)} of audio in {_mmss(wall)}"]
        if resumed:
            parts.append(f"{_mmss(resumed)} done by an earlier run")
        label = self.labels[i] if i < len(self.labels) else str(out.parent.name)
        self._print(f"{label}: wrote {out} ({', '.join(parts)})")


def _speed_text(speed: float | None) -> str:
    """The one convention for speed: audio seconds per wall second."""
    return f"{speed:.1f}× real time" if speed else ""


def progress_line(
    label: str, done: float, total: float, speed: float | None, left: float | None
) -> str:
    """One plain progress line (no terminal): what a log file or a CI job shows."""
    percent = f" ({100 * done / total:.0f}%)" if total else ""
    parts = [f"{label}: {_mmss(done)}/{_mmss(total)}{percent}"]
    if speed:
        parts.append(_speed_text(speed))
    if left is not None:
        parts.append(f"about {_mmss(left)} left")
    return ", ".join(parts)


def _mmss(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def run_models_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from guide_tui.paths import models_dir
    from guide_tui.transcribe.models import list_models

    entries = list_models()
    console = Console()
    if not entries:
        console.print(
            f"No models yet in {models_dir()}. Get one with `guide-tui models pull base.en`.",
            markup=False,
        )
        return 0
    from rich.text import Text

    from guide_tui.safetext import terminal_text

    def cell(value: object) -> Text:  # names and paths from the disk: text, not markup
        return Text(terminal_text(str(value)))

    table = Table("model", "engine", "source", "size", "path")
    for e in entries:
        table.add_row(
            cell(e.name), cell(e.engine), cell(e.source), f"{e.size / 1e6:.0f} MB", cell(e.path)
        )
    console.print(table)
    console.print(f"store: {models_dir()}", markup=False)
    return 0


def run_models_pull(args: argparse.Namespace) -> int:
    from guide_tui.transcribe.models import pull

    path = pull(args.name, args.engine)
    print(f"{args.name} ({args.engine}) is in {path}")
    return 0
