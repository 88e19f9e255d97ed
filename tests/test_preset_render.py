"""Every built-in style x role renders with the composer, within its duration and tempo range;
the same preset, role, seed and prompt give a bit-identical take; a background bed loops."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.postprocess import measure_loudness, peak_db
from resonant_studio.generation.preset_render import TAKE_PARAM_KEY, generate_with_config, new_session_from_config
from resonant_studio.presets.resolve import resolve
from resonant_studio.presets.store import load_presets
from tracks.mixer import render_mix

LIBRARY = load_presets()
STYLES = LIBRARY.names("style")
ROLES = LIBRARY.names("role")


def render(style: str | None, role: str | None, seed: int, prompt: str = ""):
    config = resolve(load_presets(), user_prompt=prompt, style=style, role=role, seed=seed)
    session = new_session_from_config(config)
    takes = generate_with_config(session, config)
    return config, session, takes


@pytest.mark.parametrize("style,role", list(itertools.product(STYLES, ROLES)))
def test_every_style_and_role_renders_within_its_ranges(style: str, role: str):
    config, session, takes = render(style, role, seed=11)
    low, high = LIBRARY.get("style", style).data["tempo"]
    assert low <= session.tempo <= high
    d = LIBRARY.get("role", role).data["duration"]
    seconds = session.num_samples / session.sample_rate
    assert d["min"] - 1e-6 <= seconds <= d["max"] + 1e-6
    assert seconds == pytest.approx(config.duration, abs=1 / session.sample_rate)
    assert takes and all(t.num_samples == session.num_samples for t in takes)
    mix = render_mix(session)
    assert np.all(np.isfinite(mix)) and np.abs(mix).max() > 1e-3  # real audio, not silence
    assert peak_db(mix) <= -1.0 + 1e-3  # normalised without clipping
    assert takes[0].params[TAKE_PARAM_KEY]["style"] == style


def test_same_preset_role_seed_and_prompt_give_a_bit_identical_take():
    a = render("lofi_hip_hop", "logo_sting", seed=123, prompt="coffee shop morning")[2]
    b = render("lofi_hip_hop", "logo_sting", seed=123, prompt="coffee shop morning")[2]
    assert [t.audio.tobytes() for t in a] == [t.audio.tobytes() for t in b]
    c = render("lofi_hip_hop", "logo_sting", seed=124, prompt="coffee shop morning")[2]
    assert [t.audio.tobytes() for t in a] != [t.audio.tobytes() for t in c]


def test_a_take_stores_what_reproduces_it():
    config, session, takes = render("epic_trailer", "chapter_transition", seed=9, prompt="the storm arrives")
    stored = takes[0].params[TAKE_PARAM_KEY]
    assert stored == config.to_dict()
    again = resolve(load_presets(), user_prompt=stored["user_prompt"], style=stored["style"], role=stored["role"],
                    quality=stored["quality"], seed=stored["seed"])
    assert again.to_dict() == stored
    session2 = new_session_from_config(again)
    takes2 = generate_with_config(session2, again)
    assert [t.audio.tobytes() for t in takes2] == [t.audio.tobytes() for t in takes]


def test_background_bed_end_joins_its_start_without_a_click():
    config, session, _ = render("dark_techno", "background_bed", seed=4)
    assert config.postprocess.loop
    mix = render_mix(session).astype(np.float64)
    steps = np.abs(np.diff(mix, axis=0)).max(axis=1)
    seam = float(np.abs(mix[0] - mix[-1]).max())
    # The seam is an ordinary step of this audio, not an outlier (a click would top the steps).
    assert seam <= np.percentile(steps, 99.9)
    # Whole bars: the beat lands when it repeats.
    bars = config.duration * config.context.tempo / 60 / config.context.beats_per_bar
    assert bars == pytest.approx(round(bars), abs=1e-6)


def test_roles_set_the_loudness():
    _, ui, _ = render("corporate_upbeat", "chapter_transition", seed=3)
    _, bed, _ = render("corporate_upbeat", "background_bed", seed=3)
    loud_transition = measure_loudness(render_mix(ui), ui.sample_rate)
    loud_bed = measure_loudness(render_mix(bed), bed.sample_rate)
    assert loud_bed == pytest.approx(-23.0, abs=0.5)
    assert loud_transition > loud_bed + 1.0


def test_regenerating_a_part_keeps_the_role_length_loop_and_level(tmp_path, capsys):
    from resonant_studio.cli import main
    from tracks.project import load_project

    code = main(["render", "--preset", "deep_house", "--role", "background_bed", "--quality", "preview",
                 "--engine", "composer", "--seed", "8", "--name", "bed", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    project = tmp_path / "bed.resonant"
    before = load_project(project)
    bass_gain = before.track("bass").active_take.params["postprocess"]["gain_db"]
    assert main(["regenerate", str(project), "--track", "bass", "--seed", "99"]) == 0
    session = load_project(project)
    bass = session.track("bass")
    assert len(bass.takes) == 2
    new = bass.active_take
    assert new.num_samples == session.num_samples  # cut to the loop length, not whole bars
    assert new.params["postprocess"]["gain_db"] == pytest.approx(bass_gain, abs=0.01) or \
        new.params["postprocess"]["gain_db"] < bass_gain  # the siblings' gain, lowered only to avoid clipping
    seam = float(np.abs(new.audio[0].astype(np.float64) - new.audio[-1]).max())
    steps = np.abs(np.diff(new.audio.astype(np.float64), axis=0)).max(axis=1)
    assert seam <= np.percentile(steps, 99.9)


def test_a_musicgen_tier_renders_through_its_model_folder(tmp_path, monkeypatch):
    """The preview tier with a tiny random MusicGen in the models folder (the test fixture)."""
    import shutil
    from pathlib import Path

    models = tmp_path / "models"
    shutil.copytree(Path(__file__).parent / "fixtures" / "musicgen-tiny", models / "musicgen-small")
    monkeypatch.setenv("RESONANT_MODELS_DIR", str(models))
    config = resolve(load_presets(), user_prompt="rain", style="lofi_hip_hop", role="ui_sfx", quality="preview",
                     seed=3)
    assert config.engine == "musicgen" and config.model == "musicgen-small"
    session = new_session_from_config(config)
    takes = generate_with_config(session, config)
    assert all(t.backend == "musicgen" and t.num_samples == session.num_samples for t in takes)
    assert session.duration == pytest.approx(1.0)
    assert takes[0].params["temperature"] == config.values["temperature"]
    assert takes[0].params[TAKE_PARAM_KEY]["quality"] == "preview"


def test_a_preset_offers_its_timing_under_locked_tracks_and_drums_keep_their_pitch():
    from resonant_studio.generation import studio
    from resonant_studio.generation.plan import generate
    from resonant_studio.generation.preset_render import follow_preset_timing, preset_timing_offer

    session = studio.new_session("house 124 bpm in C major")
    generate(session, seed=3)
    config = resolve(load_presets(), user_prompt="dark techno, 124 bpm, F minor", style="dark_techno", seed=1)
    assert preset_timing_offer(session, config) is None  # nothing locked: nothing to ask
    drums, bass = session.track("drums"), session.track("bass")
    drums.locked = bass.locked = True
    assert preset_timing_offer(session, config) == "key C major -> F minor"
    drums_before, bass_before = drums.active_take.audio.copy(), bass.active_take.audio.copy()
    changed = follow_preset_timing(session, config)
    assert changed == [bass]  # a key change moves the bass; the drums have no key to move
    assert len(drums.takes) == 1 and np.array_equal(drums.active_take.audio, drums_before)
    assert bass.active_take.params["fitted_to"] == {"tempo": 124.0, "semitones": 5, "pitched": True}
    assert session.key_name == "F minor" and bass.locked
    session.history.undo()
    assert session.key_name == "C major" and np.array_equal(bass.active_take.audio, bass_before)
