"""File > Models… against a local hub: a missing tier offers the download, progress moves, the
tier becomes ready without a restart; Cancel leaves a resumable partial, nothing ready."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMainWindow

from local_hub import LocalHub
from resonant_studio.core.model_catalog import missing_model_message, model_present
from resonant_studio.core.model_store import ModelStore
from resonant_studio.core.settings import Settings
from resonant_studio.qt.menus import ActionRegistry
from resonant_studio.qt.models_dialog import install_models_action
from resonant_studio.qt.notifier import Notifier
from resonant_studio.qt.preset_controls import PresetControls
from widgets.models_dialog import ModelRowData, ModelsDialog
from widgets.prompt_bar import PromptBar

TINY = Path(__file__).parents[1] / "fixtures" / "musicgen-tiny"
TIMEOUT_MS = 60_000


@pytest.fixture
def hub(tmp_path, monkeypatch):
    with LocalHub({"facebook/musicgen-small": TINY}, max_seconds=240) as h:
        monkeypatch.setenv("HF_ENDPOINT", h.url)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("RESONANT_MODELS_DIR", str(tmp_path / "models"))
        yield h


@pytest.fixture
def studio(qtbot, tmp_path, hub):
    """The pieces the main window hands install_models_action, without the rest of the window."""
    window = QMainWindow()
    qtbot.addWidget(window)
    actions = ActionRegistry(window)
    notifier = Notifier(window)
    bar = PromptBar(["composer", "musicgen"], window)
    presets = PresetControls(bar, Settings(tmp_path / "settings.json"), notifier, actions, session=lambda: None,
                             parent=window)
    models = install_models_action(actions, notifier, window, presets=presets,
                                   store=ModelStore(cache_dir=tmp_path / "cache"))
    yield window, actions, notifier, presets, models
    models.shutdown()


def quality_label(presets: PresetControls, tier: str) -> str:
    box = presets.pickers.quality_box
    return box.itemText(box.findData(tier))


def test_choosing_a_missing_tier_offers_the_download_and_the_tier_becomes_ready(qtbot, studio, hub):
    window, actions, notifier, presets, models = studio
    assert actions["models"] in actions.menus["file"].actions()
    assert "model missing" in quality_label(presets, "preview")

    presets.pickers.select(quality="preview")  # the person picks the tier
    offer = notifier.last()
    assert offer.level == "offer" and "musicgen-small" in offer.text
    download = dict(offer.actions)["Download"]

    hub.rate = 400_000  # bytes/s: a few seconds, so progress is seen moving
    seen: list[int] = []
    download()
    dialog = models.dialog
    row = dialog.row("musicgen-small")
    row.progress.valueChanged.connect(seen.append)
    assert row.cancel_button.isVisibleTo(dialog) and not row.download_button.isEnabled()
    with qtbot.waitSignal(models.model_ready, timeout=TIMEOUT_MS):
        pass
    qtbot.waitUntil(lambda: "musicgen-small" not in models.workers)
    moving = [v for v in seen if 0 < v < 1000]
    assert len(set(moving)) >= 3, seen  # it moved, it did not jump from empty to full
    assert row.state_label.text() == "ready" and row.remove_button.isEnabled()
    assert model_present("musicgen-small")
    assert "model missing" not in quality_label(presets, "preview")  # no restart needed
    config = presets.resolve("lofi", seed=1)
    assert config is not None and config.model == "musicgen-small"
    assert "ready" in notifier.last().text


def test_a_model_missing_error_gets_a_download_button(qtbot, studio):
    _window, _actions, notifier, _presets, models = studio
    notifier.error(missing_model_message("musicgen-medium", "render"))
    offer = notifier.last()
    assert offer.level == "offer" and offer.text == notifier.messages[-2].text
    assert {"Download", "Models…"} == {title for title, _ in offer.actions}
    notifier.error("the mix clipped")  # other errors stay plain
    assert notifier.last().level == "error"
    # the engine's own sentence when the prompt bar's musicgen has no folder: the preview model is offered
    notifier.error("no MusicGen model folder given: pass --model DIR (a Hugging Face folder such as musicgen-small)")
    assert notifier.last().level == "offer"


def test_cancel_leaves_a_resumable_partial_and_nothing_ready(qtbot, studio, hub, tmp_path):
    _window, _actions, notifier, _presets, models = studio
    hub.rate = 100_000
    dialog = models.show()
    models.download("musicgen-small")
    row = dialog.row("musicgen-small")
    qtbot.waitUntil(lambda: row.progress.value() > 0, timeout=TIMEOUT_MS)
    worker = models.workers["musicgen-small"]
    with qtbot.waitSignal(worker.ended, timeout=TIMEOUT_MS):
        row.cancel_button.click()
    qtbot.waitUntil(lambda: "musicgen-small" not in models.workers)
    assert row.state_label.text() == "partial" and row.download_button.text() == "Resume"
    assert notifier.last().level == "info" and "resume" in notifier.last().text  # cancelling is no error
    assert not model_present("musicgen-small")
    assert not (tmp_path / "models" / "musicgen-small").exists()
    with qtbot.waitSignal(dialog.remove_requested):
        row.remove_button.click()
    assert row.state_label.text() == "missing"


def test_dialog_widget_shows_rows_and_reports_clicks(qtbot):
    dialog = ModelsDialog()
    qtbot.addWidget(dialog)
    dialog.set_rows([ModelRowData("a", "Model A", "preview tier · 2.4 GB", "small", "missing"),
                     ModelRowData("b", "Model B", "no tier · 8 GB", "big", "ready")])
    a, b = dialog.row("a"), dialog.row("b")
    assert a.download_button.isEnabled() and not a.remove_button.isEnabled()
    assert not b.download_button.isEnabled() and b.remove_button.isEnabled()
    with qtbot.waitSignal(dialog.download_requested) as got:
        a.download_button.click()
    assert got.args == ["a"]
    dialog.set_downloading("a", True)
    dialog.set_progress("a", 0.25, "downloading · 0.6 of 2.4 GB")
    assert a.progress.value() == 250 and "0.6 of 2.4" in a.progress_text.text()
    dialog.set_rows([ModelRowData("b", "Model B", "no tier · 8 GB", "big", "broken", "model.safetensors is missing")])
    assert b.download_button.text() == "Repair" and "missing" in b.state_label.toolTip()


def test_quitting_during_a_download_leaves_a_resumable_partial(qtbot, studio, hub):
    _window, _actions, _notifier, _presets, models = studio
    hub.rate = 100_000
    worker = models.download("musicgen-small")
    qtbot.waitUntil(lambda: models.store.state("musicgen-small").state == "partial", timeout=TIMEOUT_MS)
    models.shutdown()  # what the application's aboutToQuit runs
    assert worker.isFinished()
    assert models.store.state("musicgen-small").state == "partial" and not model_present("musicgen-small")
