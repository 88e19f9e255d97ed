"""The one way the window runs work off the UI thread: ``Worker``.

A worker is one long-lived thread that runs functions from a queue, in order. Each function
gets a ``Task`` (to report progress and to see whether it was cancelled); its result, its
error or its progress reach the callbacks given with it on the UI thread, through a queued
Qt signal, so no callback ever runs on the worker thread.

A task submitted with a ``key`` replaces any task of the same key still waiting, and a task
whose key has been submitted again while it ran delivers nothing (the mix renderer asks for
the newest mix only). The project's own errors (``USER_ERRORS``) and OS errors go to
``failed`` as they are; any other exception is a bug: its traceback goes to stderr and
``failed`` gets a sentence that says so, and the worker keeps running.
"""

from __future__ import annotations

import itertools
import queue
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from engine.errors import EngineError
from resonant_studio.core.errors import AppError
from tracks.errors import TracksError

USER_ERRORS = (AppError, EngineError, TracksError, OSError)
"""Errors whose message is a sentence for a person (OSError: the disk's own words)."""


class Cancelled(Exception):
    """Raised inside a task (``task.check()``) to stop it; delivered as ``cancelled``."""


@dataclass(eq=False)
class Task:
    id: int
    fn: Callable[["Task"], Any]
    key: str | None = None
    done: Callable[[Any], None] | None = None
    failed: Callable[[BaseException], None] | None = None
    progress: Callable[[float, str], None] | None = None
    cancelled: Callable[[], None] | None = None
    _cancel: threading.Event = field(default_factory=threading.Event)
    _report: Callable[["Task", float, str], None] | None = None
    _finished: threading.Event = field(default_factory=threading.Event)
    _outcome: tuple[str, Any] = ("pending", None)

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the task has run; its result, or its error raised (``Cancelled`` when it
        was cancelled). For a clean exit and for tests: the window itself never waits."""
        if not self._finished.wait(timeout):
            raise TimeoutError(f"task {self.id} did not finish within {timeout} s")
        kind, payload = self._outcome
        if kind == "failed":
            raise payload
        if kind == "cancelled":
            raise Cancelled()
        return payload

    def report(self, fraction: float, message: str = "") -> None:
        """Progress from the worker thread; delivered on the UI thread."""
        if self._report is not None:
            self._report(self, float(fraction), str(message))

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise ``Cancelled`` when the task was cancelled (call it between steps)."""
        if self._cancel.is_set():
            raise Cancelled()


_STOP = object()


class Worker(QObject):
    """``submit(fn, done=..., failed=..., progress=...)``; callbacks run on the UI thread."""

    _deliver = Signal(object, str, object)   # (task, kind, payload), emitted on the worker thread
    idle = Signal()                          # the queue ran dry after a task

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._queue: queue.Queue = queue.Queue()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._latest: dict[str, int] = {}   # key -> id of the newest task with that key
        self._current: Task | None = None
        self._waiting = 0
        self._deliver.connect(self._on_deliver)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # --- UI thread ---------------------------------------------------------------------------
    def submit(self, fn: Callable[[Task], Any], *, key: str | None = None,
               done: Callable[[Any], None] | None = None, failed: Callable[[BaseException], None] | None = None,
               progress: Callable[[float, str], None] | None = None,
               cancelled: Callable[[], None] | None = None) -> Task:
        task = Task(next(self._ids), fn, key, done, failed, progress, cancelled, _report=self._emit_progress)
        with self._lock:
            if key is not None:
                self._latest[key] = task.id
            self._waiting += 1
        self._queue.put(task)
        return task

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._current is not None or self._waiting > 0

    def cancel_all(self) -> None:
        with self._lock:
            current = self._current
        if current is not None:
            current.cancel()

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Let the running task finish (up to ``timeout``), drop nothing queued; True when stopped."""
        self._queue.put(_STOP)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _on_deliver(self, task: Task, kind: str, payload: Any) -> None:
        if kind == "progress":
            if task.progress is not None:
                task.progress(*payload)
        elif kind == "done":
            if task.done is not None:
                task.done(payload)
        elif kind == "cancelled":
            if task.cancelled is not None:
                task.cancelled()
        elif kind == "failed":
            if task.failed is not None:
                task.failed(payload)
        elif kind == "idle":
            self.idle.emit()

    # --- worker thread -----------------------------------------------------------------------
    def _emit_progress(self, task: Task, fraction: float, message: str) -> None:
        if not self._superseded(task):
            self._deliver.emit(task, "progress", (fraction, message))

    def _superseded(self, task: Task) -> bool:
        if task.key is None:
            return False
        with self._lock:
            return self._latest.get(task.key) != task.id

    def _run(self) -> None:
        try:
            self._loop()
        except RuntimeError:  # the QObject was deleted under us (the app is exiting): end quietly
            return

    def _loop(self) -> None:
        while True:
            task = self._queue.get()
            if task is _STOP:
                return
            with self._lock:
                self._waiting -= 1
                self._current = task
            try:
                if self._superseded(task):
                    task._outcome = ("cancelled", None)
                    continue  # a newer task of the same key is queued
                kind, payload = self._call(task)
                task._outcome = (kind, payload)
                if not self._superseded(task):
                    self._deliver.emit(task, kind, payload)
            finally:
                task._finished.set()
                with self._lock:
                    self._current = None
                    empty = self._waiting == 0
                if empty:
                    self._deliver.emit(None, "idle", None)

    def _call(self, task: Task) -> tuple[str, Any]:
        try:
            task.check()
            return "done", task.fn(task)
        except Cancelled:
            return "cancelled", None
        except USER_ERRORS as exc:
            return "failed", exc
        except Exception as exc:  # a bug: keep its traceback, keep the worker alive
            traceback.print_exc(file=sys.stderr)
            return "failed", BugError(f"something went wrong in {self.name} ({exc.__class__.__name__}: {exc}); "
                                      "the details are in the terminal")


class BugError(Exception):
    """What ``failed`` receives for an unexpected exception: its message says so."""


def sentence(exc: BaseException) -> str:
    """An error as the one sentence a person reads (an OSError in the disk's own words)."""
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror.lower()} ({exc.filename})" if exc.filename else exc.strerror.lower()
    else:
        text = str(exc).strip() or exc.__class__.__name__
    return text.rstrip(".")
