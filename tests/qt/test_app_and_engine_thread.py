"""Start-up without a screen, and the engine thread's queue, errors and cancel on their own."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine.errors import BackendError, GenerationCancelled
from resonant_studio.qt.app import NO_SCREEN, screen_problem
from resonant_studio.qt.engine_thread import EngineThread

ROOT = Path(__file__).resolve().parents[2]


SCRIPT = Path(sys.executable).with_name("resonant-studio")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY/WAYLAND_DISPLAY decide only on Linux")
@pytest.mark.parametrize("command", [[sys.executable, "-m", "resonant_studio"], [str(SCRIPT)]],
                         ids=["python -m resonant_studio", "resonant-studio"])
def test_without_a_screen_it_says_so_in_one_sentence(command: list[str]) -> None:
    if not Path(command[0]).exists():
        pytest.skip("the resonant-studio script is not installed in this environment")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip() == NO_SCREEN
    assert "Traceback" not in out.stderr + out.stdout


def test_screen_problem_rules() -> None:
    assert screen_problem({}, "linux") == NO_SCREEN
    assert screen_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert screen_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
    assert screen_problem({}, "darwin") is None
    assert screen_problem({}, "win32") is None


class Recorder:
    """Collects what a backend was asked, in order; can fail or wait on demand."""

    name = "recorder"

    def __init__(self, **options) -> None:
        self.options = options
        self.seen: list[object] = []
        self.gate = threading.Event()
        self.gate.set()

    def generate(self, request, progress=None, cancel=None):
        self.seen.append(request)
        if request == "fail":
            raise BackendError("the recorder cannot do that: ask for something else")
        if request == "crash":
            raise ZeroDivisionError("a bug")
        while not self.gate.wait(0.01):
            if cancel():
                raise GenerationCancelled()
        progress(1.0, "done")
        return [f"part for {request}"]


@pytest.fixture
def engine(qtbot):
    backends: list[Recorder] = []

    def factory(name, **options):
        backends.append(Recorder(**options))
        return backends[-1]

    thread = EngineThread(backend_factory=factory)
    thread.backends_made = backends
    thread.start()
    yield thread
    assert thread.shutdown()


def test_requests_run_in_order_on_one_backend_built_once(qtbot, engine) -> None:
    results = []
    engine.finished_job.connect(lambda job, parts: results.append((job, parts)))
    ids = [engine.submit("recorder", f"r{i}") for i in range(3)]
    qtbot.waitUntil(lambda: len(results) == 3)
    assert results == [(ids[i], [f"part for r{i}"]) for i in range(3)]
    assert len(engine.backends_made) == 1 and engine.backends_made[0].seen == ["r0", "r1", "r2"]
    engine.submit("recorder", "r3", model_dir="/elsewhere")
    qtbot.waitUntil(lambda: len(results) == 4)
    assert engine.backends_made[1].options == {"model_dir": "/elsewhere"}


def test_an_error_is_a_sentence_and_the_thread_goes_on(qtbot, engine) -> None:
    failures, results = [], []
    engine.failed.connect(lambda job, msg: failures.append(msg))
    engine.finished_job.connect(lambda job, parts: results.append(parts))
    engine.submit("recorder", "fail")
    engine.submit("recorder", "crash")
    engine.submit("recorder", "fine")
    qtbot.waitUntil(lambda: len(results) == 1)
    assert failures[0] == "the recorder cannot do that: ask for something else."
    assert failures[1].startswith("the recorder engine failed unexpectedly (ZeroDivisionError")
    assert engine.isRunning()


def test_cancel_stops_the_running_job_and_drops_queued_ones(qtbot, engine) -> None:
    cancelled, results = [], []
    engine.cancelled.connect(cancelled.append)
    engine.finished_job.connect(lambda job, parts: results.append(job))
    started = []
    engine.started_job.connect(started.append)
    engine.submit("recorder", "warm")
    qtbot.waitUntil(lambda: len(results) == 1)
    engine.backends_made[0].gate.clear()
    running = engine.submit("recorder", "slow")
    queued = engine.submit("recorder", "never")
    qtbot.waitUntil(lambda: running in started)
    assert engine.busy
    engine.cancel()
    qtbot.waitUntil(lambda: len(cancelled) == 2)
    assert cancelled == [running, queued] and results == [1]
    assert engine.backends_made[0].seen == ["warm", "slow"]
    qtbot.waitUntil(lambda: not engine.busy)


def test_tasks_run_on_the_engine_thread(qtbot, engine) -> None:
    where = []
    # Submit inside the block: a task this quick can finish before a later waitSignal connects.
    with qtbot.waitSignal(engine.finished_job) as blocker:
        engine.submit_task("where", lambda: where.append(threading.current_thread().name) or 42)
    assert blocker.args[1] == 42 and where and where[0] != threading.main_thread().name


def test_an_unexpected_error_becomes_a_message(window, monkeypatch, capsys) -> None:
    from resonant_studio.qt import app

    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)
    app._report_unexpected_errors(window)
    try:
        raise KeyError("lane 7")
    except KeyError:
        sys.excepthook(*sys.exc_info())
    message = window.notifier.last("error").text
    assert message.startswith("Something went wrong (KeyError: 'lane 7')")
    assert "Traceback" in capsys.readouterr().err  # the details, for a bug report


def test_one_musicgen_model_is_resident_and_the_composer_gives_its_memory_back(qtbot) -> None:
    from pathlib import Path

    from engine.context import MusicalContext
    from resonant_studio.generation import studio

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    session = studio.new_session("lofi", context=MusicalContext(tempo=120.0, bars=1))
    request = studio.build_request(session, [session.track("bass")], seed=1)
    thread = EngineThread()
    try:
        done = []
        thread.finished_job.connect(lambda job, parts: done.append(job))
        thread.failed.connect(lambda job, msg: done.append(msg))
        thread.submit("musicgen", request, model_dir=str(fixtures / "musicgen-tiny"))
        qtbot.waitUntil(lambda: len(done) == 1, timeout=120_000)
        assert isinstance(done[0], int), done[0]
        assert len(thread._resident.resident) == 1
        thread.submit("musicgen", request, model_dir=str(fixtures / "musicgen-melody-tiny"))
        qtbot.waitUntil(lambda: len(done) == 2, timeout=120_000)
        assert isinstance(done[1], int), done[1]
        assert [r.split(" ")[0] for r in thread._resident.resident] == ["musicgen-melody-tiny"]  # the other released
        thread.submit("composer", request)
        qtbot.waitUntil(lambda: len(done) == 3, timeout=120_000)
        assert thread._resident.resident == []
    finally:
        assert thread.shutdown()
