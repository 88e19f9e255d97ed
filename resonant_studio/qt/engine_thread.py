"""The engine: one long-lived worker thread that owns the backends and runs requests in turn.

Built on ``qt.worker.Worker`` (the one way work leaves the UI thread): requests are queued,
progress, results and errors come back as signals on the UI thread, each carrying the job id
first so the UI can match answers to what it asked for. Cancel is a flag the backend checks
between its steps. A backend's own error becomes ``failed`` with its sentence; anything else
is a bug: its traceback goes to stderr and ``failed`` says the engine failed unexpectedly.

The backends are built on this thread and kept, one per engine and options. MusicGen's
models are the exception: one ``ResidentModels`` holds them (one model at a time by default:
keeping every quality tier's checkpoint resident held ~23 GB of fp32 weights), a MusicGen
backend is built per request through it (free when its model is resident), loading reports
progress, and the model is released when the composer is used instead.
"""

from __future__ import annotations

import sys
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from engine.backends import get_backend
from engine.errors import EngineError, GenerationCancelled
from resonant_studio.generation.plan import GenerationPlan, run_plan
from resonant_studio.qt.worker import Cancelled, Task, Worker

BackendFactory = Callable[..., Any]
PROGRESS_INTERVAL = 0.05  # seconds between progress signals
# The engine's Python code and the UI share one GIL. Qt releases it around each C++ call, and a
# thread that wants it back waits up to the switch interval (5 ms by default), so one repaint that
# makes hundreds of such calls could wait behind a busy backend. While (and only while) a job runs,
# the interval is shortened; it is put back as soon as the engine is idle.
GIL_SWITCH_INTERVAL = 0.0001


class EngineThread(QObject):
    started_job = Signal(int)
    progress = Signal(int, float, str)
    context_read = Signal(int, object)   # a plan's prompt was read: its MusicalContext, before the backend runs
    finished_job = Signal(int, object)   # a plan's PlanResult, the backend's GeneratedParts, or a task's result
    failed = Signal(int, str)            # one sentence a person can act on
    cancelled = Signal(int)
    idle = Signal()                      # the queue is empty and nothing is running

    def __init__(self, parent: QObject | None = None, *, backend_factory: BackendFactory = get_backend) -> None:
        super().__init__(parent)
        self.setObjectName("engine")
        self._worker = Worker("engine", self)
        self._worker.idle.connect(self._on_idle)
        self._backends: dict[tuple[str, tuple], Any] = {}
        self._factory = backend_factory
        self._resident: Any = None   # engine.musicgen.resident.ResidentModels, made on first use
        self._tasks: dict[int, Task] = {}   # not yet answered, by job id (UI thread only)
        self._saved_interval: float | None = None
        self._stopped = False

    # --- UI thread --------------------------------------------------------------------------
    def start(self) -> None:
        """Kept for symmetry with shutdown(): the worker thread runs from construction."""

    def isRunning(self) -> bool:  # noqa: N802 (the QThread name callers know)
        return not self._stopped

    def submit(self, engine: str, request: Any, **options: Any) -> int:
        """Queue a backend run of ``request``; ``finished_job`` carries its parts."""
        def run(task: Task) -> Any:
            backend = self._backend(engine, options, task)
            return list(backend.generate(request, progress=self._reporter(task), cancel=lambda: task.is_cancelled))
        return self._submit(engine, run)

    def submit_plan(self, plan: GenerationPlan) -> int:
        """Queue a planned generation; ``finished_job`` carries its ``PlanResult``."""
        def run(task: Task) -> Any:
            backend = self._backend(plan.engine, dict(plan.engine_options), task)
            return run_plan(plan, backend, progress=self._reporter(task), cancel=lambda: task.is_cancelled,
                            context_read=lambda ctx: self.context_read.emit(task.id, ctx))
        return self._submit(plan.engine, run)

    def submit_task(self, label: str, task: Callable[[], Any]) -> int:
        """Run ``task()`` on the engine thread (e.g. prompt analysis); its result comes back
        through ``finished_job``, its EngineError through ``failed``."""
        return self._submit(label, lambda _task: task())

    def preload(self, engine: str, then: Callable[[], Any] | None = None, **options: Any) -> int:
        """Build ``engine`` on the engine thread ahead of the first request (imports, models),
        then run ``then()`` there too (e.g. a first prompt analysis), so Generate starts warm."""
        def task() -> None:
            self._backend(engine, options)
            if then is not None:
                then()
        return self.submit_task(f"preload {engine}", task)

    def cancel(self, job_id: int | None = None) -> None:
        """Cancel one job, or every queued and running job when ``job_id`` is None."""
        for tid, task in list(self._tasks.items()):
            if job_id is None or tid == job_id:
                task.cancel()

    @property
    def busy(self) -> bool:
        return self._worker.busy

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Cancel everything, stop the worker and wait for it; True when it ended."""
        self.cancel()
        self._stopped = self._worker.shutdown(timeout_ms / 1000.0)
        self._restore_interval()
        return self._stopped

    def _submit(self, label: str, run: Callable[[Task], Any]) -> int:
        holder: dict[str, int] = {}
        task = self._worker.submit(lambda t: self._guarded(label, run, t),
                                   done=lambda result: self._answer(holder["id"], self.finished_job, result),
                                   failed=lambda exc: self._answer(holder["id"], self.failed, _sentence(exc)),
                                   cancelled=lambda: self._answer(holder["id"], self.cancelled))
        holder["id"] = task.id
        self._tasks[task.id] = task
        if self._saved_interval is None:
            self._saved_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._saved_interval, GIL_SWITCH_INTERVAL))
        return task.id

    def _answer(self, job_id: int, signal: Any, *payload: Any) -> None:
        self._tasks.pop(job_id, None)
        signal.emit(job_id, *payload)

    def _on_idle(self) -> None:
        if not self._worker.busy:
            self._restore_interval()
            self.idle.emit()

    def _restore_interval(self) -> None:
        if self._saved_interval is not None:
            sys.setswitchinterval(self._saved_interval)
            self._saved_interval = None

    # --- engine thread --------------------------------------------------------------------
    def _guarded(self, label: str, run: Callable[[Task], Any], task: Task) -> Any:
        self.started_job.emit(task.id)  # emitted here, delivered on the UI thread
        try:
            result = run(task)
        except GenerationCancelled:
            raise Cancelled() from None
        except (EngineError, OSError):
            raise
        except Exception as exc:  # a bug in a backend must not take the studio down with it
            traceback.print_exc()
            raise EngineError(f"the {label} engine failed unexpectedly ({exc.__class__.__name__}: {exc})") from exc
        task.check()  # cancelled while finishing: nothing is delivered
        return result

    def _backend(self, engine: str, options: dict[str, Any], task: Task | None = None) -> Any:
        if engine == "musicgen" and self._factory is get_backend:
            from engine.musicgen.resident import ResidentModels

            if self._resident is None:
                self._resident = ResidentModels()
            loading = self._reporter(task) if task is not None else None
            progress = (lambda f, m: loading(0.0, f"loading the model: {m}")) if loading else None
            return self._factory(engine, **options, models=self._resident, progress=progress)
        if self._resident is not None and engine == "composer":
            self._resident.release()  # the composer needs no weights: give MusicGen's memory back
        key = (engine, tuple(sorted((k, repr(v)) for k, v in options.items())))
        backend = self._backends.get(key)
        if backend is None:
            backend = self._factory(engine, **options)
            self._backends[key] = backend  # backends own their models: built once, kept
        return backend

    def _reporter(self, task: Task) -> Callable[[float, str], None]:
        return _throttled(lambda fraction, message: self.progress.emit(task.id, fraction, message))


def _throttled(emit: Callable[[float, str], None], interval: float = PROGRESS_INTERVAL) -> Callable[[float, str], None]:
    """Pass progress on at most every ``interval`` seconds (and always the message changes and 100 %),
    so a chatty backend cannot flood the UI thread's event queue."""
    last = {"time": -1.0, "message": None}

    def report(fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if fraction >= 1.0 or message != last["message"] or now - last["time"] >= interval:
            last["time"], last["message"] = now, message
            emit(float(fraction), str(message))

    return report


def _sentence(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text if text.endswith((".", "!", "?", ")")) else text + "."
