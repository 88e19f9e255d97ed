"""Style, role and quality pickers in the prompt bar, and "Save as preset", in the real window."""

from __future__ import annotations

import numpy as np
import pytest

from resonant_studio.generation.preset_render import TAKE_PARAM_KEY
from resonant_studio.presets.store import load_presets, user_preset_dir
from tests.qt.conftest import GENERATION_TIMEOUT_MS, make_window
from widgets.preset_pickers import PresetPickers


def click_generate(qtbot, window) -> None:
    with qtbot.waitSignal(window.controller.generation_applied, timeout=GENERATION_TIMEOUT_MS):
        window.prompt_bar.generate_button.click()
    qtbot.waitUntil(lambda: not window.controller.mix_pending)


def test_pickers_widget_lists_choices_and_reports_the_selection(qtbot):
    pickers = PresetPickers()
    qtbot.addWidget(pickers)
    pickers.set_choices([("dark_techno", "dark"), ("ambient_lofi", "calm")], [("ui_sfx", "short")],
                        [("sketch", "composer"), ("preview", "small")], unavailable=["preview"])
    assert pickers.style() is None and pickers.role() is None and pickers.quality() == "sketch"
    with qtbot.waitSignal(pickers.changed):
        pickers.style_box.setCurrentIndex(pickers.style_box.findData("ambient_lofi"))
    assert pickers.style() == "ambient_lofi"
    assert "calm" in pickers.style_box.toolTip()
    assert "model missing" in pickers.quality_box.itemText(pickers.quality_box.findData("preview"))
    # Refilling keeps the selection when it still exists.
    pickers.set_choices([("ambient_lofi", "calm")], [("ui_sfx", "short")], [("sketch", "composer")])
    assert pickers.style() == "ambient_lofi"
    with qtbot.waitSignal(pickers.save_requested):
        pickers.save_button.click()


def test_generate_with_a_style_and_role_gives_the_role_length(qtbot, window):
    pickers = window.presets.pickers
    assert pickers.parent() is window.prompt_bar
    assert set(load_presets().names("style")) <= {pickers.style_box.itemData(i) for i in range(pickers.style_box.count())}
    pickers.select(style="tech_minimal", role="logo_sting", quality="sketch")
    window.prompt_bar.prompt_edit.setText("a product reveal")
    window.prompt_bar.seed_box.setValue(12)
    click_generate(qtbot, window)
    s = window.session
    assert 122 <= s.tempo <= 128
    assert s.duration == pytest.approx(3.5)
    assert window.player.length == s.num_samples
    take = s.tracks[0].active_take
    assert take.num_samples == s.num_samples
    assert take.params[TAKE_PARAM_KEY]["role"] == "logo_sting" and take.seed == 12
    assert window.settings.get("preset_role") == "logo_sting"  # remembered for next time

    # Regenerating one track keeps the role's length.
    lane = window.timeline.lane(s.track("bass"))
    with qtbot.waitSignal(window.controller.generation_applied, timeout=GENERATION_TIMEOUT_MS):
        lane.header.regenerate_button.click()
    assert s.track("bass").active_take.num_samples == s.num_samples


def test_a_tier_without_its_model_says_which_folder_and_changes_nothing(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("RESONANT_MODELS_DIR", str(tmp_path / "models"))
    window.presets.pickers.select(quality="preview")
    window.prompt_bar.prompt_edit.setText("anything")
    messages = []
    window.notifier.posted.connect(lambda m: messages.append(m.text))
    window.prompt_bar.generate_button.click()
    assert window.session is None or not any(t.takes for t in window.session.tracks)
    assert not window.controller.busy
    # one sentence: the error, and (with File > Models… installed) the same sentence offered with a Download button
    assert 1 <= len(messages) <= 2 and all(m == messages[0] for m in messages)
    assert "preview tier needs MusicGen small" in messages[0]
    assert str(tmp_path / "models" / "musicgen-small") in messages[0]


def test_broken_user_preset_is_reported_and_the_rest_are_offered(qtbot, tmp_path):
    folder = user_preset_dir()
    folder.mkdir(parents=True)
    (folder / "cold.yaml").write_text("kind: style\ngeneration: {temperature: -1}\n")
    (folder / "mine.yaml").write_text("kind: style\ntags: [mine]\n")
    window = make_window(qtbot, tmp_path / "settings.json")
    try:
        box = window.presets.pickers.style_box
        names = {box.itemData(i) for i in range(box.count())}
        assert "mine" in names and "dark_techno" in names and "cold" not in names
        assert "cold.yaml" in window.banner.text() and "generation.temperature" in window.banner.text()
    finally:
        window.shutdown()


def test_hostile_user_presets_do_not_stop_the_window(qtbot, tmp_path):
    """A billion laughs, a 5000-digit number and deep nesting once hung or aborted the start-up."""
    from tests.test_preset_bounds import billion_laughs

    folder = user_preset_dir()
    folder.mkdir(parents=True)
    (folder / "laughs.yaml").write_text(billion_laughs())
    (folder / "digits.yaml").write_text("kind: style\nenergy: 1" + "0" * 4999 + "\n")
    (folder / "deep.yaml").write_text("kind: style\ntags: " + "[" * 20_000 + "]" * 20_000 + "\n")
    (folder / "mine.yaml").write_text("kind: style\ntags: [mine]\n")
    window = make_window(qtbot, tmp_path / "settings.json")
    try:
        box = window.presets.pickers.style_box
        names = {box.itemData(i) for i in range(box.count())}
        assert "mine" in names and "dark_techno" in names and not names & {"laughs", "digits", "deep"}
        assert len(window.presets.library.problems) == 3
        assert "skipped a user preset" in window.banner.text().lower()
    finally:
        window.shutdown()


def test_save_as_preset_writes_a_style_that_recreates_the_session(qtbot, window):
    window.presets.pickers.select(style="synthwave")
    window.prompt_bar.prompt_edit.setText("night drive")
    click_generate(qtbot, window)
    s = window.session
    path = window.presets.save_session_style("night_drive")
    assert path == user_preset_dir() / "night_drive.yaml"
    preset = load_presets().get("style", "night_drive")
    assert preset.data["tempo"] == [s.tempo, s.tempo]
    assert preset.data["keys"] == [s.key_name]
    assert "night drive" in preset.data["tags"]
    window.presets.reload()
    box = window.presets.pickers.style_box
    assert box.findData("night_drive") >= 0
    assert np.isfinite(s.tempo)


def test_edit_menu_offers_save_as_preset(qtbot, window):
    edit = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    assert window.presets.save_action in edit.actions()


def test_post_processing_runs_on_the_engine_thread_not_the_ui(qtbot, window, monkeypatch):
    import threading

    import resonant_studio.generation.postprocess as tp

    threads = []
    real = tp.run_postprocess

    def recording(spec, parts, sample_rate):
        threads.append(threading.current_thread())
        return real(spec, parts, sample_rate)

    monkeypatch.setattr(tp, "run_postprocess", recording)
    window.presets.pickers.select(style="deep_house", role="background_bed")
    window.prompt_bar.prompt_edit.setText("late night")
    click_generate(qtbot, window)
    assert threads and all(t is not threading.main_thread() for t in threads)
    s = window.session
    take = s.track("drums").active_take
    assert take.num_samples == s.num_samples and take.params["postprocess"]["gain_db"] is not None
    assert take.params[TAKE_PARAM_KEY]["role"] == "background_bed"


def test_a_role_preset_on_an_existing_piece_gives_the_role_length(qtbot, window):
    window.prompt_bar.prompt_edit.setText("house, 124 bpm, C major")
    click_generate(qtbot, window)
    assert window.session.bars == 8 and window.session.duration > 10
    window.presets.pickers.select(style="tech_minimal", role="logo_sting", quality="sketch")
    click_generate(qtbot, window)
    s = window.session
    assert s.duration == pytest.approx(3.5)
    assert all(t.active_take.num_samples == s.num_samples for t in s.tracks if t.active_take is not None)


def test_a_preset_under_locked_tracks_keeps_their_timing_and_asks(qtbot, window):
    """The preset's tempo and key are offered; the locked drums never change unless the person agrees."""
    window.prompt_bar.prompt_edit.setText("house, 124 bpm, C major")
    click_generate(qtbot, window)
    s = window.session
    drums = s.track("drums")
    drums.locked = True
    before = drums.active_take.audio.copy()
    window.presets.pickers.select(style="dark_techno", quality="sketch")
    window.prompt_bar.prompt_edit.setText("dark techno, 132 bpm, F minor")
    click_generate(qtbot, window)
    assert s.tempo == 124 and s.key_name == "C major"  # kept under the locked drums
    np.testing.assert_array_equal(drums.active_take.audio, before)
    offer = window.notifier.last()
    assert offer.level == "offer" and "tempo 124 -> 132 bpm" in offer.text and "F minor" in offer.text
    dict(offer.actions)["Follow it and fit the locked tracks"]()
    assert s.tempo == 132 and s.key_name == "F minor"
    assert len(drums.takes) == 2 and drums.locked
    np.testing.assert_array_equal(drums.takes[0].audio, before)  # the original is still a take
    assert abs(drums.active_take.num_samples - s.num_samples) <= 2  # it still ends with the piece
    window.controller.undo()
    assert s.tempo == 124 and drums.active_take.audio is drums.takes[0].audio

    # Declined once, the same change is not asked again in this session.
    n = len(window.notifier.messages)
    click_generate(qtbot, window)
    assert any(m.level == "offer" for m in window.notifier.messages[n:])
    dict(window.notifier.last("offer").actions)["Keep the session's"]()
    n = len(window.notifier.messages)
    click_generate(qtbot, window)
    assert not any(m.level == "offer" for m in window.notifier.messages[n:])
    np.testing.assert_array_equal(drums.takes[0].audio, before)
