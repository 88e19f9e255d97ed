"""Models in the window: the File > Models… action, downloads off the UI thread, and offers.

``install_models_action(actions, notifier, parent_window, presets=...)`` registers the action
and returns a ``ModelsController``, which

- fills ``widgets.models_dialog.ModelsDialog`` from ``core.model_store.ModelStore`` and runs
  each pull on a ``PullWorker`` (a QThread), its progress (bytes, speed, time left) coming
  back as signals; Cancel sets the worker's flag, checked per chunk;
- turns every "model missing" message into an offer with a Download button (the sentences
  ``core.model_catalog.missing_model_message`` writes name the model), and offers the
  download when a quality tier whose model is missing is chosen;
- reloads the preset pickers when a model becomes ready, so the tier works without a restart.

Quitting during a download cancels it and waits for the worker: the partial folder stays
resumable (and a hard kill leaves the same, since nothing moves into place before it is verified).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal
from PySide6.QtWidgets import QWidget

from engine.errors import EngineError
from resonant_studio.core.errors import AppError
from resonant_studio.core.model_catalog import KNOWN_MODELS, missing_model_message, model_for_tier
from resonant_studio.core.model_hub import DownloadCancelled
from resonant_studio.core.model_store import GB, ModelState, ModelStore, PullProgress
from resonant_studio.qt.menus import ActionRegistry
from resonant_studio.qt.notifier import Message, Notifier
from widgets.models_dialog import ModelRowData, ModelsDialog

PULL_HINT = re.compile(r"resonant models pull ([A-Za-z0-9._-]+)")
ENGINE_MISSING = ("no musicgen model folder given", "musicgen model folder")  # the engine's ModelError, lower-cased
_RUNNING: set["PullWorker"] = set()  # workers outlive a closed dialog; Qt must not delete them running


class PullWorker(QThread):
    """One pull on its own thread. Every signal names the model it is for, so the controller's
    bound slots (queued onto the UI thread) need no lambdas."""

    progressed = Signal(str, object)  # model, PullProgress (of it, or of a model it needs)
    succeeded = Signal(object)        # ModelState
    failed = Signal(str, str, bool)   # model, sentence, whether the person cancelled it
    ended = Signal(str)               # model: emitted last, success or not

    def __init__(self, store: ModelStore, name: str) -> None:
        super().__init__()
        self.store, self.name = store, name
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        try:
            state = self.store.pull(self.name, self._progress, self._cancel.is_set)
        except DownloadCancelled as exc:
            self.failed.emit(self.name, str(exc), True)
        except (AppError, EngineError, OSError) as exc:
            self.failed.emit(self.name, str(exc), False)
        else:
            self.succeeded.emit(state)
        finally:
            self.ended.emit(self.name)

    def _progress(self, p: PullProgress) -> None:
        self.progressed.emit(self.name, p)


def row_data(state: ModelState) -> ModelRowData:
    info = state.info
    size = f"{state.size / GB:.1f} GB" if state.size and state.size >= 0.1 * GB else \
        (f"{state.size / 1e6:.1f} MB" if state.size else "size from the hub")
    tier = f"{info.tier} tier" if info.tier else "no tier"
    details = " · ".join((tier, size, info.licence or "licence: see the hub", f"engine {info.engine}"))
    return ModelRowData(info.name, info.label, details, info.description, state.state, state.problem or "")


class ModelsController(QObject):
    model_ready = Signal(str)

    def __init__(self, notifier: Notifier, parent_window: QWidget, store: ModelStore | None = None,
                 presets: Any = None) -> None:
        super().__init__(parent_window)
        self.notifier = notifier
        self.parent_window = parent_window
        self.store = store or ModelStore()
        self.presets = presets
        self.dialog: ModelsDialog | None = None
        self.workers: dict[str, PullWorker] = {}
        notifier.posted.connect(self._offer_for_message)
        if presets is not None:
            presets.model_missing.connect(self.offer)
            self.model_ready.connect(lambda _name: presets.reload())
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # --- the dialog ---------------------------------------------------------------------------
    def show(self) -> ModelsDialog:
        if self.dialog is None:
            self.dialog = ModelsDialog(self.parent_window)
            self.dialog.download_requested.connect(self.download)
            self.dialog.cancel_requested.connect(self.cancel)
            self.dialog.remove_requested.connect(self.remove)
        self.refresh()
        for name in self.workers:
            self.dialog.set_downloading(name, True)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def refresh(self) -> None:
        if self.dialog is None:
            return
        self.dialog.set_folder(f"Models folder: {self.store.root} (set RESONANT_MODELS_DIR to move it)")
        self.dialog.set_rows([row_data(s) for s in self.store.states()])

    # --- downloads ----------------------------------------------------------------------------
    def download(self, name: str) -> PullWorker | None:
        if name in self.workers:
            return self.workers[name]
        worker = PullWorker(self.store, name)
        worker.progressed.connect(self._on_progress)
        worker.succeeded.connect(self._on_ready)
        worker.failed.connect(self._on_failed)
        worker.ended.connect(self._on_ended)
        self.workers[name] = worker
        _RUNNING.add(worker)
        if self.dialog is not None:
            self.dialog.set_downloading(name, True)
            self.dialog.set_progress(name, None, "starting")
        worker.start()
        return worker

    def cancel(self, name: str) -> None:
        worker = self.workers.get(name)
        if worker is not None:
            worker.cancel()

    def remove(self, name: str) -> None:
        if name in self.workers:
            self.notifier.error(f"{name} is downloading: cancel it first")
            return
        try:
            self.store.remove(name)
        except (AppError, OSError) as exc:
            self.notifier.error(f"could not remove {name}: {exc}")
        else:
            self.notifier.info(f"removed {name}")
            if self.presets is not None:
                self.presets.reload()
        self.refresh()

    def _on_progress(self, name: str, p: PullProgress) -> None:
        if self.dialog is not None:
            text = p.describe() if p.name == name else f"{p.name} first (it is needed): {p.describe()}"
            self.dialog.set_progress(name, p.fraction if p.stage in ("downloading", "verifying") else None, text)

    def _on_ready(self, state: ModelState) -> None:
        self.notifier.info(f"{state.info.label} is ready")
        self.model_ready.emit(state.info.name)

    def _on_failed(self, name: str, text: str, cancelled: bool) -> None:
        (self.notifier.info if cancelled else self.notifier.error)(text)

    def _on_ended(self, name: str) -> None:
        worker = self.workers.pop(name, None)
        if worker is not None:
            worker.wait()  # ``ended`` is its last act: this returns at once
            _RUNNING.discard(worker)
        if self.dialog is not None:
            self.dialog.set_downloading(name, False)
        self.refresh()

    def shutdown(self) -> None:
        """Cancel every download and wait for it: what came stays as a resumable partial."""
        for worker in list(self.workers.values()):
            worker.cancel()
        for worker in list(self.workers.values()):
            worker.wait(10_000)

    # --- offers -------------------------------------------------------------------------------
    def offer(self, name: str, tier: str = "") -> None:
        """Say ``name`` is missing, with buttons that download it or open the dialog."""
        self.notifier.offer(missing_model_message(name, tier or None), self._offer_actions(name))

    def _offer_actions(self, name: str) -> list:
        def start() -> None:
            self.show()
            self.download(name)
        return [("Download", start), ("Models…", self.show)]

    def _offer_for_message(self, message: Message) -> None:
        """An error that says a model is missing gets its Download button (the same sentence, offered)."""
        if message.level != "error":
            return
        found = PULL_HINT.search(message.text)
        name = found.group(1) if found else None
        if name is None and message.text.lower().startswith(ENGINE_MISSING):
            name = model_for_tier("preview")
        if name in KNOWN_MODELS and name not in self.workers and self.store.state(name).state != "ready":
            self.notifier.offer(message.text, self._offer_actions(name))


def install_models_action(actions: ActionRegistry, notifier: Notifier, parent_window: QWidget, *,
                          presets: Any = None, store: ModelStore | None = None) -> ModelsController:
    """Register File > Models… and return the controller behind it (``presets``: the PresetControls)."""
    controller = ModelsController(notifier, parent_window, store=store, presets=presets)
    action = actions.add("models", "&Models…", "Download, verify and remove the MusicGen models",
                         controller.show)
    try:
        anchor = actions["quit"]
    except KeyError:
        actions.put("file", action, separator=True)
    else:
        menu = actions.menus["file"]
        menu.insertAction(anchor, action)
        menu.insertSeparator(anchor)
    return controller
