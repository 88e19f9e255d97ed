"""One long-lived thread that owns the backends and runs generation requests in turn.

Requests go through a queue; progress, results and errors come back as Qt signals, which
Qt delivers on the UI thread. Cancel is a flag the backend checks between its steps. A
backend error becomes the ``failed`` signal with its sentence, never an exception that
reaches the event loop.
"""

from __future__ import annotations

import itertools
import queue
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from PySide6.QtCore import QThread, Signal

from engine.backends import get_backend
from engine.errors import EngineError, GenerationCancelled
from resonant_studio.generation.plan import GenerationPlan, run_plan

BackendFactory = Callable[..., Any]
PROGRESS_INTERVAL = 0.05  # seconds between progress signals
# The engine's Python code and the UI share one GIL. Qt releases it around each C++ call, and a
# thread that wants it back waits up to the switch interval (5 ms by default), so one repaint that
# makes hundreds of such calls could wait for seconds behind a busy backend. 0.5 ms bounds that.
GIL_SWITCH_INTERVAL = 0.0001


@dataclass
class Job:
    id: int
    engine: str
    request: Any
    options: dict[str, Any] = field(default_factory=dict)
    task: Callable[[], Any] | None = None   # engine work that is not a backend run (prompt analysis)
    plan: GenerationPlan | None = None      # a planned generation: ``run_plan`` with this thread's backend
    cancel_flag: threading.Event = field(default_factory=threading.Event)


_STOP = object()


class EngineThread(QThread):
    """Signals carry the job id first so the UI can match answers to what it asked for."""

    started_job = Signal(int)
    progress = Signal(int, float, str)
    context_read = Signal(int, object)   # a plan's prompt was read: its MusicalContext, before the backend runs
    finished_job = Signal(int, object)   # a plan's PlanResult, the backend's GeneratedParts, or a task's result
    failed = Signal(int, str)            # one sentence a person can act on
    cancelled = Signal(int)
    idle = Signal()                      # the queue is empty and nothing is running

    def __init__(self, parent=None, *, backend_factory: BackendFactory = get_backend) -> None:
        super().__init__(parent)
        self.setObjectName("engine")
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL))
        self._queue: queue.Queue = queue.Queue()
        self._ids = itertools.count(1)
        self._backends: dict[tuple[str, tuple], Any] = {}
        self._factory = backend_factory
        self._current: Job | None = None
        self._pending: dict[int, Job] = {}
        self._lock = threading.Lock()  # guards _current/_pending between UI and engine threads

    # --- UI thread --------------------------------------------------------------------------
    def submit(self, engine: str, request: Any, **options: Any) -> int:
        """Queue a request; returns the job id the signals will carry."""
        job = Job(next(self._ids), engine, request, dict(options))
        with self._lock:
            self._pending[job.id] = job
        self._queue.put(job)
        return job.id

    def submit_plan(self, plan: GenerationPlan) -> int:
        """Queue a planned generation; ``finished_job`` carries its ``PlanResult``."""
        job = Job(next(self._ids), plan.engine, plan.request, dict(plan.engine_options), plan=plan)
        with self._lock:
            self._pending[job.id] = job
        self._queue.put(job)
        return job.id

    def submit_task(self, label: str, task: Callable[[], Any]) -> int:
        """Run ``task()`` on the engine thread (e.g. prompt analysis); its result comes back
        through ``finished_job``, its EngineError through ``failed``."""
        job = Job(next(self._ids), label, None, task=task)
        with self._lock:
            self._pending[job.id] = job
        self._queue.put(job)
        return job.id

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
        with self._lock:
            jobs = list(self._pending.values()) + ([self._current] if self._current else [])
        for job in jobs:
            if job_id is None or job.id == job_id:
                job.cancel_flag.set()

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._current is not None or bool(self._pending)

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Cancel everything, stop the loop and wait for the thread; True when it ended."""
        self.cancel()
        self._queue.put(_STOP)
        return self.wait(timeout_ms)

    # --- engine thread --------------------------------------------------------------------
    def run(self) -> None:
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            with self._lock:
                self._pending.pop(job.id, None)
                self._current = job
            try:
                self._run_job(job)
            finally:
                with self._lock:
                    self._current = None
                    empty = not self._pending
                if empty:
                    self.idle.emit()

    def _backend(self, engine: str, options: dict[str, Any]) -> Any:
        key = (engine, tuple(sorted((k, repr(v)) for k, v in options.items())))
        backend = self._backends.get(key)
        if backend is None:
            backend = self._factory(engine, **options)
            self._backends[key] = backend  # backends own their models: built once, kept
        return backend

    def _progress_reporter(self, job_id: int) -> Callable[[float, str], None]:
        return _throttled(lambda fraction, message: self.progress.emit(job_id, fraction, message))

    def _run_job(self, job: Job) -> None:
        if job.cancel_flag.is_set():
            self.cancelled.emit(job.id)
            return
        self.started_job.emit(job.id)
        try:
            if job.task is not None:
                result = job.task()
            elif job.plan is not None:
                backend = self._backend(job.engine, job.options)
                result = run_plan(job.plan, backend, progress=self._progress_reporter(job.id),
                                  cancel=job.cancel_flag.is_set,
                                  context_read=lambda ctx, job_id=job.id: self.context_read.emit(job_id, ctx))
            else:
                backend = self._backend(job.engine, job.options)
                result = list(backend.generate(job.request, progress=self._progress_reporter(job.id),
                                               cancel=job.cancel_flag.is_set))
            if job.cancel_flag.is_set():
                raise GenerationCancelled()
            self.finished_job.emit(job.id, result)
        except GenerationCancelled:
            self.cancelled.emit(job.id)
        except (EngineError, ValueError, OSError) as exc:
            self.failed.emit(job.id, _sentence(exc))
        except Exception as exc:  # a bug in a backend must not take the studio down with it
            traceback.print_exc()
            self.failed.emit(job.id, f"the {job.engine} engine failed unexpectedly ({exc.__class__.__name__}: {exc})")


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
