"""``guide-tui transcribe SESSION... --cluster ADDRESS``: a study's windows as Dask tasks.

The local run (:class:`guide_tui.transcribe.runner.Transcriber`) is kept whole; only the loop over
windows moves. The client (this process) reads every session, scans and plans its windows, opens
its checkpoint exactly as a local run does, then submits the windows of all sessions as tasks:
each carries the window's 16 kHz samples (read and resampled here) or, with a shared filesystem
declared, nothing but the file's path. A worker runs :func:`window_task`, which loads the model
once per process (:data:`_ENGINES`) and calls :func:`guide_tui.transcribe.runner.decode_window`,
the very function of the local loop (redecode of skipped speech included). Segments come back to
the client, which appends each window to its session's checkpoint as it arrives (out of order:
the checkpoint is keyed by window) and, once a session has all its windows, assembles and writes
``transcript.json`` as the local run does. So resume, guards, alignment and the atomic write are
the local code, and the transcript is the same as a local run's except ``created`` and
``timings``.

Faults: a worker that dies mid-window has its task reassigned by the scheduler (the samples are
in the task, not on the dead worker); a window that arrives twice is written once
(:meth:`~guide_tui.transcribe.runner.Job.add`); a killed client leaves checkpoints that a rerun
continues from. Memory: at most :func:`_in_flight` windows are submitted at a time, so the
client and scheduler hold a few windows of audio, not a study.

Only :mod:`guide_tui.commands.transcribe` imports this module, and only for ``--cluster``: dask is
an optional extra (``pip install 'guide-tui[cluster]'``) and stays out of the plain path and the
TUI.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from guide_tui.errors import TranscriptionError
from guide_tui.transcribe import audio as audio_mod
from guide_tui.transcribe.types import EngineInfo, Segment, TranscribeOptions

#: Seconds to reach a scheduler before giving up with one line.
CONNECT_TIMEOUT_S = 10.0
#: Windows in flight per worker thread: enough to keep every worker busy while results travel.
IN_FLIGHT_PER_THREAD = 2
#: Files a TLS folder (``--cluster-security``) holds.
TLS_FILES = ("ca.pem", "cert.pem", "key.pem")


def _dask() -> Any:
    try:
        import distributed
    except ImportError:
        raise TranscriptionError(
            "--cluster needs Dask: pip install 'guide-tui[cluster]' (dask and distributed)"
        ) from None
    return distributed


# --------------------------------------------------------------------------- connecting


@dataclass
class Cluster:
    """A connected client (and the local cluster it started, if any)."""

    client: Any
    local: Any = None  # a LocalCluster to close at the end
    engine_threads: int = 0  # CPU threads per engine on a local cluster (0: leave as given)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        if self.local is not None:
            with contextlib.suppress(Exception):
                self.local.close()

    def workers(self) -> dict[str, int]:
        """Worker address → threads."""
        return dict(self.client.nthreads())

    def hosts(self) -> list[str]:
        from urllib.parse import urlsplit

        return sorted({urlsplit(a).hostname or a for a in self.workers()})


def parse_local(address: str) -> int | None:
    """N for ``local:N`` (None for a scheduler address); TranscriptionError for a bad one."""
    if not address.startswith("local:"):
        if "://" not in address:
            raise TranscriptionError(
                f"--cluster {address!r}: use local:N (N worker processes here) or a scheduler "
                "address such as tcp://host:8786 or tls://host:8786"
            )
        return None
    try:
        n = int(address[len("local:") :])
    except ValueError:
        n = 0
    if n < 1:
        raise TranscriptionError(f"--cluster {address!r}: N in local:N is a number of workers ≥ 1")
    return n


def security_from(folder: str | None, address: str) -> Any:
    """Dask TLS settings from ``--cluster-security FOLDER`` (ca.pem, cert.pem, key.pem), or
    None (Dask's own configuration then applies, e.g. ``distributed.comm.tls.*``)."""
    if folder is None:
        return None
    path = Path(folder).expanduser()
    missing = [name for name in TLS_FILES if not (path / name).is_file()]
    if missing:
        raise TranscriptionError(
            f"--cluster-security {path}: missing {', '.join(missing)} (the folder holds the "
            "CA certificate ca.pem and this machine's cert.pem and key.pem)"
        )
    if not address.startswith("tls://"):
        raise TranscriptionError(
            f"--cluster-security is for a tls:// scheduler address, not {address!r}"
        )
    distributed = _dask()
    return distributed.Security(
        tls_ca_file=str(path / "ca.pem"),
        tls_client_cert=str(path / "cert.pem"),
        tls_client_key=str(path / "key.pem"),
        require_encryption=True,
    )


def connect(address: str, *, security_folder: str | None = None) -> Cluster:
    """A client of ``address``: ``local:N`` starts N worker processes here (loopback only),
    anything else is a running scheduler. One clear TranscriptionError when it cannot be
    reached."""
    n = parse_local(address)
    security = security_from(security_folder, address) if n is None else None
    distributed = _dask()
    import dask

    tls_configured = dask.config.get("distributed.comm.tls.ca-file", None)
    if address.startswith("tls://") and security is None and not tls_configured:
        raise TranscriptionError(
            f"{address} is a TLS scheduler: give --cluster-security FOLDER (ca.pem, "
            "cert.pem, key.pem) or set distributed.comm.tls in Dask's configuration"
        )

    # Audio must not be written to a worker's disk: no spilling of task data, here and (for
    # the workers this process starts) in every worker.
    dask.config.set(
        {
            "distributed.worker.memory.target": False,
            "distributed.worker.memory.spill": False,
            "distributed.comm.timeouts.connect": f"{CONNECT_TIMEOUT_S:g}s",
            "distributed.scheduler.allowed-failures": 3,
        }
    )
    for name in ("distributed", "distributed.worker", "distributed.scheduler", "tornado"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if n is not None:
        cores = os.cpu_count() or 1
        engine_threads = max(1, cores // n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            local = distributed.LocalCluster(
                n_workers=n,
                threads_per_worker=1,  # one window at a time per process: one model in memory
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                memory_limit=0,
                silence_logs=logging.ERROR,
            )
            client = distributed.Client(local, timeout=CONNECT_TIMEOUT_S)
        return Cluster(client, local, engine_threads)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client = distributed.Client(address, timeout=CONNECT_TIMEOUT_S, security=security)
    except Exception as error:  # OSError, TimeoutError, ssl and TLS-configuration errors alike
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise TranscriptionError(
            f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT_S:g} s "
            f"({reason[:160]}); is `dask scheduler` running there, and the address right?"
        ) from None
    if not client.nthreads():
        with contextlib.suppress(Exception):
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    if not client.nthreads():
        client.close()
        raise TranscriptionError(
            f"the Dask scheduler at {address} has no workers: start some with "
            f"`dask worker {address} --nthreads 1`"
        )
    return Cluster(client)


# --------------------------------------------------------------------------- the worker side

#: The engine a worker process has loaded, by (options, model reference): one at a time.
_ENGINES: dict[tuple[Any, ...], Any] = {}
#: CPU ÷ audio seconds of the windows this worker decoded (the window time limit, as locally).
_RTFS: list[float] = []


@dataclass(frozen=True)
class ModelSpec:
    """What a worker needs to load the client's model and to check it is the same one."""

    options: TranscribeOptions
    reference: str  # a name the worker resolves, or a path (the same on every machine)
    name: str
    size: int
    engine_version: str
    compute_type: str


def _engine_for(spec: ModelSpec) -> Any:
    key = (spec.options, spec.reference)
    engine = _ENGINES.get(key)
    if engine is None:
        from guide_tui.transcribe.engines import load_engine
        from guide_tui.transcribe.models import resolve
        from guide_tui.transcribe.runner import _model_size

        model = resolve(spec.reference, spec.options.engine)
        host = _host()
        if _model_size(model.path) != spec.size:
            raise TranscriptionError(
                f"worker {host} has another {spec.name} ({model.path}) than the client: the "
                "transcript would not be the client's; give every machine the same model"
            )
        _ENGINES.clear()
        engine = load_engine(spec.options, model)
        info: EngineInfo = engine.info
        if (info.version, info.compute_type) != (spec.engine_version, spec.compute_type):
            raise TranscriptionError(
                f"worker {host} runs {info.name} {info.version} ({info.compute_type}), the client "
                f"{spec.engine_version} ({spec.compute_type}): install the same guide-tui on both"
            )
        _ENGINES[key] = engine
    return engine


def _host() -> str:
    import socket

    return socket.gethostname()


def window_task(
    spec: ModelSpec,
    file: audio_mod.AudioFile,
    index: int,
    chunks: list[tuple[int, int]],
    samples: Any,
    language: str | None,
    prompt: str | None,
    fillers: str | None = None,
) -> tuple[int, list[Segment], float]:
    """One window on a worker: ``(index, segments, wall seconds)``. ``samples`` None: read the
    window from ``file.path`` (a shared filesystem)."""
    engine = _engine_for(spec)
    w = audio_mod.Window(index, file, list(chunks))
    if samples is None:
        samples = w.read16k()
    if os.environ.get("GUIDE_TUI_TEST_SLOW_WINDOW"):  # tests only: time to kill a worker mid-task
        time.sleep(float(os.environ["GUIDE_TUI_TEST_SLOW_WINDOW"]))
    from guide_tui.transcribe.runner import _FIRST_RTF, decode_window

    t0, c0 = time.perf_counter(), time.process_time()
    # The window's CPU-time limit scales with this worker's speed so far, as in a local run.
    rtf = max(0.05, sorted(_RTFS)[len(_RTFS) // 2]) if _RTFS else _FIRST_RTF * (os.cpu_count() or 1)
    segments = decode_window(engine, w, samples, language, prompt, rtf=rtf, fillers=fillers)
    if w.end > w.start:
        _RTFS.append((time.process_time() - c0) / (w.end - w.start))
    return index, segments, time.perf_counter() - t0


def detect_task(spec: ModelSpec, samples: Any) -> str:
    """The language of a session, from its first window (as the local run detects it)."""
    language, _ = _engine_for(spec).detect_language(samples)
    return str(language)


# --------------------------------------------------------------------------- the client side


@dataclass
class WindowDone:
    """A window's result as the client sees it (progress and benchmarks)."""

    session: int
    index: int
    audio_s: float
    wall_s: float
    sent_bytes: int


class ClusterRun:
    """Transcribe several sessions on a cluster; see the module docstring.

    ``on_window``: each new window written; ``on_session``: ``(position, folder, transcript)``
    after a session's transcript is written; ``on_start``: each session's prepared
    :class:`~guide_tui.transcribe.runner.Job` list, before the first task.
    """

    def __init__(
        self,
        transcriber: Any,
        cluster: Cluster,
        *,
        shared_fs: bool = False,
        on_start: Callable[[list[Any]], None] | None = None,
        on_window: Callable[[WindowDone], None] | None = None,
        on_session: Callable[[int, Path, Path], None] | None = None,
    ) -> None:
        self.transcriber = transcriber
        self.cluster = cluster
        self.shared_fs = shared_fs
        self.on_start = on_start or (lambda jobs: None)
        self.on_window = on_window or (lambda d: None)
        self.on_session = on_session or (lambda i, f, o: None)
        self.sent_bytes = 0
        self.duplicates = 0  # results of a window already written (a rerun task)

    def run(self, folders: list[Path]) -> list[Path]:
        from guide_tui.transcribe.runner import SessionInput, transcribe_lock

        t_start = time.perf_counter()
        locks = []
        jobs = []
        try:
            for folder in folders:
                session = SessionInput.read(folder)
                locks.append(transcribe_lock(Path(folder)))
                jobs.append(
                    self.transcriber.prepare(Path(folder), session, self._describe, t_start=t_start)
                )
            self.on_start(jobs)
            return self._run(jobs)
        finally:
            for job in jobs:
                job.writer.close()
            for lock in locks:
                lock.release()

    def _describe(self, model: Any) -> EngineInfo:
        """The engine's description without loading the model (the workers load it)."""
        options = self.transcriber.options
        if options.engine != "faster-whisper":
            raise TranscriptionError("--cluster runs the faster-whisper engine only")
        from guide_tui.transcribe.engines.faster import engine_version
        from guide_tui.transcribe.models import DEFAULT_COMPUTE_TYPE, default_compute_type

        compute_type = options.compute_type
        if compute_type == "default":
            compute_type = default_compute_type(options.device) or DEFAULT_COMPUTE_TYPE
        return EngineInfo(
            name="faster-whisper",
            version=engine_version(),
            model=model.name,
            model_path=str(model.path),
            compute_type=compute_type,
            device=options.device,
        )

    def _spec(self, job: Any) -> ModelSpec:
        from guide_tui.transcribe.runner import _model_size

        options = self.transcriber.options
        if self.cluster.engine_threads and not options.threads:
            options = replace(options, threads=self.cluster.engine_threads)
        model = job.model
        reference = str(model.path) if model.source == "path" else model.name
        return ModelSpec(
            options,
            reference,
            model.name,
            _model_size(model.path),
            job.info.version,
            job.info.compute_type,
        )

    def _run(self, jobs: list[Any]) -> list[Path]:
        distributed = _dask()
        client = self.cluster.client
        threads = sum(self.cluster.workers().values()) or 1
        limit = max(2, IN_FLIGHT_PER_THREAD * threads)
        specs = [self._spec(job) for job in jobs]
        outs: list[Path | None] = [None] * len(jobs)
        started = [time.perf_counter()] * len(jobs)
        worked = [0.0] * len(jobs)
        stubs: list[dict[Path, Any]] = [
            {} for _ in jobs
        ]  # file path → scattered stub (energy frames, no audio)
        # Sessions whose language is to be detected: on their first window still to do, as
        # the local run does, before their other windows go out.
        for i, job in enumerate(jobs):
            if job.language is None and job.todo:
                samples = job.todo[0].read16k()
                self.sent_bytes += samples.nbytes
                future = client.submit(detect_task, specs[i], samples, pure=False)
                job.set_language(_result(future))
        queue: Iterator[tuple[int, audio_mod.Window]] = (
            (i, w) for i, job in enumerate(jobs) for w in job.todo
        )
        pending: dict[Any, tuple[int, audio_mod.Window, int]] = {}
        results = distributed.as_completed()

        def submit_more() -> None:
            for i, w in queue:
                job = jobs[i]
                stub = stubs[i].get(w.file.path)
                if stub is None:
                    stub = client.scatter(self._stub(w.file), broadcast=False, hash=False)
                    stubs[i][w.file.path] = stub
                samples = None if self.shared_fs else w.read16k()
                sent = 0 if samples is None else int(samples.nbytes)
                self.sent_bytes += sent
                future = client.submit(
                    window_task,
                    specs[i],
                    stub,
                    w.index,
                    list(w.chunks),
                    samples,
                    job.language,
                    job.prompt,
                    job.fillers,
                    pure=False,
                    retries=0,  # a dead worker's task is reassigned; an error is not retried
                )
                pending[future] = (i, w, sent)
                results.add(future)
                if len(pending) >= limit:
                    return

        for i, job in enumerate(jobs):  # resumed sessions that need no window at all
            if not job.todo:
                outs[i] = self._finish(i, job, 0.0, 0.0)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Large object.*")
            warnings.filterwarnings("ignore", message=".*Sending large graph.*")
            submit_more()
            for future in results:
                i, w, sent = pending.pop(future)
                index, segments, wall = _result(future)
                future.release()
                job = jobs[i]
                if job.add(index, segments):
                    worked[i] += w.end - w.start
                    self.on_window(WindowDone(i, index, w.end - w.start, wall, sent))
                else:
                    self.duplicates += 1
                if not job.todo and outs[i] is None:
                    outs[i] = self._finish(i, job, time.perf_counter() - started[i], worked[i])
                submit_more()
        return [out for out in outs if out is not None]

    def _finish(self, i: int, job: Any, transcribe_s: float, worked_s: float) -> Path:
        job.writer.close()
        out: Path = self.transcriber.finish(job, transcribe_s, worked_s)
        self.on_session(i, job.folder, out)
        return out

    def _stub(self, f: audio_mod.AudioFile) -> audio_mod.AudioFile:
        """What a worker needs of a file: its place and energy frames; the path only on a
        shared filesystem (elsewhere the name alone, nothing of the folder)."""
        path = f.path.resolve() if self.shared_fs else Path(f.path.name)
        return audio_mod.AudioFile(path, f.offset, f.frames, f.samplerate, f.channels, f.frame_db)


def _result(future: Any) -> Any:
    """A task's result; its TranscriptionError as such, a lost task as one clear line."""
    try:
        return future.result()
    except TranscriptionError:
        raise
    except Exception as error:
        name = type(error).__name__
        if name == "KilledWorker":
            raise TranscriptionError(
                "a window killed every worker that tried it (out of memory?); the finished "
                "windows are saved: run the same command again to continue"
            ) from None
        if name in ("CommClosedError", "CancelledError", "FutureCancelledError"):
            raise TranscriptionError(
                "lost the connection to the Dask scheduler; the finished windows are saved: "
                "run the same command again to continue"
            ) from None
        raise
