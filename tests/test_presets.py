"""Preset files: the built-ins, user presets that override or add, validation, resolution order,
prompt composition, --explain and ``resonant presets list``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from resonant_studio.cli import main
from resonant_studio.core.errors import AppError
from resonant_studio.core.model_catalog import KNOWN_MODELS
from resonant_studio.presets.resolve import compose_prompt, resolve
from resonant_studio.presets.schema import PresetError
from resonant_studio.presets.store import BUILTIN_DIR, load_presets, save_user_preset, user_preset_dir

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def user_dir() -> Path:
    folder = user_preset_dir()
    folder.mkdir(parents=True)
    return folder


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- the built-ins ------------------------------------------------------------------------------
def test_builtins_cover_the_issue():
    lib = load_presets()
    assert lib.problems == []
    styles = lib.names("style")
    assert len(styles) >= 10
    for name in ("ambient_lofi", "epic_trailer", "tech_minimal", "dark_techno", "lofi_hip_hop", "cinematic_ambient"):
        assert name in styles
    assert set(lib.names("role")) >= {"ui_sfx", "logo_sting", "chapter_transition", "background_bed"}
    assert set(lib.names("quality")) >= {"sketch", "preview", "render", "high_end"}
    for preset in lib.of_kind("style"):
        d = preset.data
        assert d["description"] and d["tags"] and d["instruments"] and d["keys"] and d["duration"] > 0
        assert set(d["generation"]) == {"top_k", "top_p", "temperature", "cfg_coef"}
        assert d["tempo"][0] <= d["tempo"][1]
    models = {q.name: q.data.get("model") for q in lib.of_kind("quality")}
    assert models == {"sketch": None, "preview": "musicgen-small", "render": "musicgen-medium",
                      "high_end": "musicgen-large"}


def test_builtin_roles_say_what_the_issue_asks():
    lib = load_presets()
    ui, sting, transition, bed = (lib.get("role", n).data for n in
                                  ("ui_sfx", "logo_sting", "chapter_transition", "background_bed"))
    assert (ui["duration"]["min"], ui["duration"]["max"]) == (0.5, 2.0)
    assert (sting["duration"]["min"], sting["duration"]["max"]) == (2.0, 5.0)
    assert (transition["duration"]["min"], transition["duration"]["max"]) == (4.0, 8.0)
    assert bed["loop"] is True and bed["duration"]["min"] >= 15
    assert bed["dynamics"]["loudness_lufs"] < transition["dynamics"]["loudness_lufs"] < sting["dynamics"]["loudness_lufs"]


def test_builtin_folder_is_the_repository_presets_folder():
    assert BUILTIN_DIR == ROOT / "presets"
    assert len(list(BUILTIN_DIR.glob("*.yaml"))) >= 18


def test_models_manifest_lists_the_known_models():
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text())
    by_name = {m["name"]: m for m in manifest["models"]}
    assert set(by_name) == set(KNOWN_MODELS)
    for name, info in KNOWN_MODELS.items():
        assert by_name[name]["hf_repo"] == info.hf_repo


# --- user presets -------------------------------------------------------------------------------
def test_user_preset_overrides_a_builtin_and_adds_a_new_one(user_dir: Path):
    write(user_dir, "ambient_lofi", "kind: style\ndescription: mine\ntags: [my tags]\ntempo: [90, 95]\n")
    write(user_dir, "podcast_intro", "kind: role\ndescription: intro\nduration: {min: 5, max: 10, default: 8}\n")
    lib = load_presets()
    assert lib.get("style", "ambient_lofi").description == "mine"
    assert not lib.get("style", "ambient_lofi").builtin
    assert lib.get("role", "podcast_intro").data["duration"]["default"] == 8
    config = resolve(lib, user_prompt="rain", style="ambient_lofi", role="podcast_intro", seed=1)
    assert 90 <= config.context.tempo <= 95
    assert config.duration == 8.0
    assert config.prompt.startswith("my tags. rain")


@pytest.mark.parametrize("name,text,needles", [
    ("bad_yaml", "kind: style\ntags: [unclosed\n", ["bad_yaml.yaml", "not valid YAML", "line"]),
    ("unknown_key", "kind: style\ntemprature: 0.9\n", ["unknown_key.yaml", "'temprature'", "did you mean 'generation.temperature'"]),
    ("cold", "kind: style\ngeneration: {temperature: -1}\n", ["cold.yaml", "'generation.temperature'", "above 0", "-1"]),
    ("huge", "kind: quality\nengine: musicgen\nmodel: musicgen-huge\n", ["huge.yaml", "'model'", "musicgen-small", "musicgen-huge"]),
    ("nokind", "description: what am I\n", ["nokind.yaml", "'kind'"]),
    ("badmode", "kind: role\nduration_mode: stretch\n", ["badmode.yaml", "'duration_mode'", "crop, pad, strict"]),
    ("badkey", "kind: style\nkeys: [H minor]\n", ["badkey.yaml", "'keys'", "A minor"]),
])
def test_a_broken_user_preset_is_one_sentence_and_the_rest_load(user_dir: Path, name, text, needles):
    write(user_dir, name, text)
    write(user_dir, "fine", "kind: style\ntags: [fine]\n")
    lib = load_presets()
    assert len(lib.problems) == 1
    problem = lib.problems[0]
    for needle in needles:
        assert needle in problem, problem
    assert problem.count("\n") == 0
    assert "fine" in lib.names("style") and "dark_techno" in lib.names("style")
    # Asking for the broken one says why it is not there.
    with pytest.raises(PresetError, match=name):
        lib.get("quality" if name == "huge" else "style", name)
    # The others still resolve.
    assert resolve(lib, user_prompt="x", style="fine", role="ui_sfx", seed=0).duration == 1.0


def test_broken_user_preset_is_reported_by_presets_list_and_others_still_render(user_dir: Path, tmp_path: Path,
                                                                             capsys: pytest.CaptureFixture):
    write(user_dir, "cold", "kind: style\ngeneration: {temperature: -1}\n")
    assert main(["presets", "list"]) == 0
    out, err = capsys.readouterr()
    assert "dark_techno" in out
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "cold.yaml" in lines[0] and "generation.temperature" in lines[0]
    code = main(["render", "--preset", "dark_techno", "--role", "ui_sfx", "--seed", "1", "--out", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "cold.yaml" in err  # reported once, not fatal


def test_save_user_preset_validates_before_writing(user_dir: Path):
    path = save_user_preset("style", "my_style", {"tags": ["mine"], "tempo": [100, 110]})
    assert path == user_dir / "my_style.yaml"
    assert load_presets().get("style", "my_style").data["tempo"] == [100.0, 110.0]
    with pytest.raises(PresetError, match="'generation.temperature'"):
        save_user_preset("style", "bad", {"generation": {"temperature": -1}})
    assert not (user_dir / "bad.yaml").exists()
    with pytest.raises(PresetError, match="already exists"):
        save_user_preset("style", "my_style", {"tags": ["again"]})
    assert sorted(p.name for p in user_dir.iterdir()) == ["my_style.yaml"]  # no temp files left


# --- resolution ---------------------------------------------------------------------------------
def test_layers_resolve_defaults_quality_role_style_then_explicit():
    lib = load_presets()
    # top_k: default 250, role ui_sfx 200, style tech_minimal 200 -> explicit 99 wins.
    base = resolve(lib, user_prompt="click", role="ui_sfx", seed=0)
    assert base.values["temperature"] == 0.9 and base.origin["temperature"] == "role ui_sfx"
    styled = resolve(lib, user_prompt="click", role="ui_sfx", style="epic_trailer", seed=0)
    assert styled.values["temperature"] == 1.05 and styled.origin["temperature"] == "style epic_trailer"
    assert styled.values["fade_out"] == 0.08  # only the role says it: kept
    mine = resolve(lib, user_prompt="click", role="ui_sfx", style="epic_trailer", seed=0,
                   explicit={"temperature": 0.5, "tempo": 140})
    assert mine.values["temperature"] == 0.5 and mine.origin["temperature"] == "your settings"
    assert mine.context.tempo == 140  # the user's value beats the style's range
    assert resolve(lib, user_prompt="click", seed=0).values["engine"] == "composer"


def test_prompt_composition_order_and_optional_fields():
    assert compose_prompt(["lofi", "warm"], "rain on a window", "background bed") == \
        "lofi, warm. rain on a window. background bed"
    assert compose_prompt([], "just this.", "", prepend="intro", append="outro") == "intro. just this. outro"
    lib = load_presets()
    config = resolve(lib, user_prompt="a rainy city", style="lofi_hip_hop", role="chapter_transition", seed=0,
                     explicit={"append": "no vocals"})
    tags = ", ".join(lib.get("style", "lofi_hip_hop").data["tags"])
    hint = lib.get("role", "chapter_transition").data["hint"]
    assert config.prompt == f"{tags}. a rainy city. {hint}. no vocals"


def test_the_prompt_own_tempo_and_key_count_as_the_user_values():
    config = resolve(load_presets(), user_prompt="in E major at 100 bpm", style="dark_techno", seed=0)
    assert config.context.tempo == 100 and config.context.key_name == "E major"
    assert config.origin["tempo"] == "your prompt"


def test_style_key_is_picked_by_seed_and_tempo_kept_in_range():
    lib = load_presets()
    keys = lib.get("style", "dark_techno").data["keys"]
    seen = set()
    for seed in range(6):
        config = resolve(lib, user_prompt="", style="dark_techno", seed=seed)
        assert 128 <= config.context.tempo <= 138
        assert config.context.key_name in keys
        seen.add(config.context.key_name)
    assert len(seen) == len(keys)


def test_durations_stay_inside_the_role_and_tier():
    lib = load_presets()
    # The style's 30 s is outside ui_sfx's range: the role's own default is used and explained.
    config = resolve(lib, user_prompt="ping", style="ambient_lofi", role="ui_sfx", seed=0)
    assert config.duration == 1.0 and any("outside" in n for n in config.notes)
    # The preview tier renders at most 15 s: a 30 s bed is shortened (and rounded to whole bars).
    bed = resolve(lib, user_prompt="calm", role="background_bed", quality="preview", seed=0)
    assert bed.duration <= 15 + 1e-6
    with pytest.raises(AppError, match="more than the quality preview"):
        resolve(lib, user_prompt="calm", quality="preview", seed=0, explicit={"duration": 40})


def test_a_tier_without_its_model_names_the_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("RESONANT_MODELS_DIR", str(tmp_path))
    config = resolve(load_presets(), user_prompt="x", quality="preview", seed=0)
    with pytest.raises(AppError) as info:
        config.check_model_available()
    message = str(info.value)
    assert "preview tier needs MusicGen small" in message
    assert "facebook/musicgen-small" in message and str(tmp_path / "musicgen-small") in message
    (tmp_path / "musicgen-small").mkdir()
    (tmp_path / "musicgen-small" / "config.json").write_text("{}")
    config.check_model_available()
    assert config.engine_options() == {"model_dir": tmp_path / "musicgen-small"}
    assert config.engine == "musicgen" and config.generation_params["top_k"] == 250


def test_context_file_derives_topic_and_mood(tmp_path: Path, capsys: pytest.CaptureFixture):
    answer = tmp_path / "answer.txt"
    answer.write_text("The garden was quiet at sunset. We planted new trees in the garden and hope they grow. "
                      "A peaceful garden gives the community hope.", encoding="utf-8")
    code = main(["render", "--context-file", str(answer), "--preset", "ambient_lofi", "--role", "background_bed",
                 "--seed", "2", "--explain", "--out", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "topic garden" in out
    assert "peaceful" in out
    prompt_line = next(line for line in out.splitlines() if line.strip().startswith("prompt:"))
    assert "music for a text about garden" in prompt_line


def test_missing_context_file_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture):
    code = main(["render", "--context-file", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "o")])
    _, err = capsys.readouterr()
    assert code == 1 and err.count("\n") == 1 and "nope.txt" in err
    assert not (tmp_path / "o").exists()


# --- surfaces -----------------------------------------------------------------------------------
def test_explain_shows_each_layer_contribution(tmp_path: Path, capsys: pytest.CaptureFixture):
    code = main(["render", "neon rain", "--preset", "synthwave", "--role", "logo_sting", "--quality", "sketch",
                 "--temperature", "0.7", "--seed", "5", "--explain", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    layers = ["built-in defaults:", "quality sketch:", "role logo_sting:", "style synthwave:", "your settings:"]
    positions = [out.index(layer) for layer in layers]
    assert positions == sorted(positions)
    assert "temperature = 0.95   (replaced by your settings)" in out  # the role's, overridden
    assert "cfg_coef = 3.5   (replaced by style synthwave)" in out
    assert "temperature = 0.7" in out and "temperature 0.7 (your settings)" in out
    assert "duration  3.500 s, crop   (role logo_sting)" in out


def test_bad_sampling_value_on_the_command_line_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture):
    code = main(["render", "x", "--temperature", "-1", "--out", str(tmp_path)])
    _, err = capsys.readouterr()
    assert code == 1 and len(err.strip().splitlines()) == 1  # a usage error is one sentence, exit 1
    assert "temperature" in err and "above 0" in err


def test_unknown_preset_names_the_choices(tmp_path: Path, capsys: pytest.CaptureFixture):
    code = main(["render", "x", "--preset", "polka", "--out", str(tmp_path / "o")])
    _, err = capsys.readouterr()
    assert code == 1 and "no style preset named 'polka'" in err and "dark_techno" in err
    assert not (tmp_path / "o").exists()


def test_presets_list_json(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("RESONANT_MODELS_DIR", str(tmp_path))
    assert main(["presets", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    kinds = {p["kind"] for p in data["presets"]}
    assert kinds == {"style", "role", "quality"}
    tiers = {p["name"]: p["status"] for p in data["presets"] if p["kind"] == "quality"}
    assert tiers["sketch"] == "ready" and tiers["preview"] == "model missing"
    assert data["problems"] == [] and data["user_dir"] == str(user_preset_dir())
    assert os.fspath(user_preset_dir()).startswith(os.environ["RESONANT_CONFIG_DIR"])


# --- context text -------------------------------------------------------------------------------
def test_text_context_reads_topic_and_mood_deterministically():
    from engine.text_context import read_text_context

    text = ("Warning: the server failed at midnight. The outage spread to the database server and "
            "engineers feared the error would return. The server is back now.")
    first = read_text_context(text)
    assert first == read_text_context(text)
    assert first.topic[0] == "server"
    assert first.moods[0] == "tense"
    assert first.prompt().startswith("tense")
    happy = read_text_context("Congratulations! We celebrate a great win for the whole team today.")
    assert happy.moods[0] == "happy"


def test_text_context_without_words_is_one_sentence():
    from engine.errors import PromptError
    from engine.text_context import read_text_context

    with pytest.raises(PromptError, match="no words"):
        read_text_context("1234 5678 ...")


def test_cli_preset_render_is_bit_identical_for_the_same_seed(tmp_path: Path, capsys: pytest.CaptureFixture):
    for sub in ("a", "b"):
        code = main(["render", "city rain", "--preset", "ambient_lofi", "--role", "background_bed", "--seed", "21",
                     "--name", "bed", "--stems", "--out", str(tmp_path / sub)])
        assert code == 0, capsys.readouterr().err
    a, b = tmp_path / "a", tmp_path / "b"
    assert (a / "bed.wav").read_bytes() == (b / "bed.wav").read_bytes()
    for stem in sorted((a / "bed-stems").iterdir()):
        assert stem.read_bytes() == (b / "bed-stems" / stem.name).read_bytes()


def test_cli_duration_and_duration_modes(tmp_path: Path, capsys: pytest.CaptureFixture):
    import soundfile as sf

    assert main(["render", "techno 120 bpm", "--duration", "5", "--seed", "1", "--name", "five",
                 "--out", str(tmp_path)]) == 0
    assert sf.info(str(tmp_path / "five.wav")).frames == 5 * 44100
    # 5 s is not whole bars at 120 bpm (2 s a bar): strict refuses rather than cut, and writes nothing.
    code = main(["render", "techno 120 bpm", "--duration", "5", "--duration-mode", "strict", "--seed", "1",
                 "--name", "strict", "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 1 and "strict" in err and err.count("\n") == 1
    assert not (tmp_path / "s").exists()
    assert main(["render", "techno 120 bpm", "--duration", "6", "--duration-mode", "strict", "--seed", "1",
                 "--name", "six", "--out", str(tmp_path)]) == 0
    assert sf.info(str(tmp_path / "six.wav")).frames == 6 * 44100
