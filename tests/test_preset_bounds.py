"""Preset files as a hostile or careless user writes them: every one is refused with one
sentence naming the file (and the key), skipped, and quickly; the other presets still load.

The schema cases call ``validate_preset`` directly; the hostile files go through
``load_presets``, the path the CLI and the window take.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resonant_studio.presets.bounded_yaml import MAX_BYTES, MAX_DEPTH, MAX_NUMBER_CHARS
from resonant_studio.presets.schema import PresetError, validate_preset
from resonant_studio.presets.store import load_presets, user_preset_dir

ROOT = Path(__file__).resolve().parents[1]


def billion_laughs() -> str:
    """Nine levels of nine aliases each: 9**9 (387 million) strings once expanded."""
    lines = ["kind: style", 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
        previous = name
    lines.append("tags: *i")
    return "\n".join(lines) + "\n"


HOSTILE = [
    ("laughs", billion_laughs(), ["anchors or aliases", "line 2"]),
    ("merge", "kind: style\nbase: &base {energy: 0.5}\n<<: *base\n", ["anchors or aliases"]),
    ("digits_5000", "kind: style\nenergy: 1" + "0" * 4999 + "\n", [f"at most {MAX_NUMBER_CHARS} characters", "5000"]),
    ("digits_400", "kind: style\ngeneration: {top_k: 1" + "0" * 399 + "}\n", ["at most", "not 400"]),
    ("float_400", "kind: style\nenergy: 0." + "1" * 398 + "\n", ["at most", "not 400"]),
    ("hex_5000", "kind: style\nenergy: 0x" + "f" * 4998 + "\n", ["at most", "not 5000"]),
    ("deep_flow", "kind: style\ntags: " + "[" * 500 + "]" * 500 + "\n", [f"at most {MAX_DEPTH} deep"]),
    ("deeper_flow", "kind: style\ntags: " + "[" * 20_000 + "]" * 20_000 + "\n", ["nest"]),  # libyaml stops at 1000
    ("deep_block", "kind: style\n" + "".join(f"{'  ' * i}k{i}:\n" for i in range(200)) + "  " * 200 + "x\n",
     ["at most", "deep"]),
    ("too_big", "kind: style\ndescription: " + "la " * MAX_BYTES + "\n", [f"larger than {MAX_BYTES // 1000} kB"]),
    ("tag_float", "kind: style\nenergy: !!float abc\n", ["YAML tags", "!!float"]),
    ("tag_bool", "kind: role\nloop: !!bool maybe\n", ["YAML tags", "!!bool"]),
    ("tag_python", "kind: style\ndescription: !!python/object/apply:os.system [echo hi]\n", ["YAML tags"]),
    ("bad_date", "kind: style\nenergy: 2020-99-99\n", ["'energy'", "a number between 0 and 1", "'2020-99-99'"]),
    ("infinite", "kind: style\nenergy: .inf\n", ["'energy'", "not inf"]),
    ("not_a_number", "kind: style\nenergy: .nan\n", ["'energy'", "not nan"]),
    ("a_list", "- kind\n- style\n", ["must be a mapping", "not list"]),
    ("unhashable_key", "kind: style\n? [a, b]\n: c\n", ["not valid YAML"]),
    ("not_utf8", None, ["not UTF-8"]),
]


@pytest.mark.parametrize("name,text,needles", HOSTILE, ids=[case[0] for case in HOSTILE])
def test_a_hostile_user_preset_is_one_sentence_skipped_quickly(name: str, text: str | None, needles: list[str]):
    folder = user_preset_dir()
    folder.mkdir(parents=True)
    path = folder / f"{name}.yaml"
    if text is None:
        path.write_bytes(b"kind: style\ndescription: caf\xe9\n")
    else:
        path.write_text(text, encoding="utf-8")
    (folder / "fine.yaml").write_text("kind: style\ntags: [fine]\n", encoding="utf-8")
    started = time.perf_counter()
    library = load_presets()
    elapsed = time.perf_counter() - started
    assert len(library.problems) == 1, library.problems
    problem = library.problems[0]
    assert str(path) in problem and "\n" not in problem and len(problem) < 400, problem
    for needle in needles:
        assert needle in problem, problem
    assert "fine" in library.names("style") and "dark_techno" in library.names("style")
    assert elapsed < 10, f"{elapsed:.1f} s"  # a hang guard: these take milliseconds


def test_a_fifo_among_user_presets_is_not_opened():
    folder = user_preset_dir()
    folder.mkdir(parents=True)
    os.mkfifo(folder / "pipe.yaml")  # opening it for reading would block forever
    assert "ambient_lofi" in load_presets().names("style")


def test_presets_list_with_a_billion_laughs_answers_like_without(tmp_path: Path):
    """Through the real command in a fresh process: the hostile file costs no more than a
    plain one (a generous ratio: the process start dominates and the machine is shared)."""
    folder = tmp_path / "config" / "presets"
    folder.mkdir(parents=True)
    env = {**os.environ, "RESONANT_CONFIG_DIR": str(tmp_path / "config")}
    command = [sys.executable, "-c", "import sys; from resonant_studio.cli import main; sys.exit(main(sys.argv[1:]))",
               "presets", "list"]

    def seconds() -> tuple[float, subprocess.CompletedProcess]:
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        return time.perf_counter() - started, done

    (folder / "plain.yaml").write_text("kind: style\ntags: [plain]\n", encoding="utf-8")
    plain, _ = seconds()
    (folder / "laughs.yaml").write_text(billion_laughs(), encoding="utf-8")
    hostile, done = seconds()
    assert done.returncode == 0, done.stderr
    assert "plain" in done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "laughs.yaml" in lines[0] and "aliases" in lines[0], done.stderr
    assert hostile < 3 * plain + 1, (hostile, plain)


# --- the schema, value by value -----------------------------------------------------------------
REFUSED = [
    ({"kind": "style", "energy": "0.5"}, ["'energy'", "a number between 0 and 1", "'0.5'"]),
    ({"kind": "style", "energy": True}, ["'energy'", "not True"]),
    ({"kind": "style", "generation": {"top_k": 3.5}}, ["'generation.top_k'", "a whole number between 0 and 2048"]),
    ({"kind": "style", "generation": {"tmperature": 1}}, ["unknown key 'generation.tmperature'",
                                                          "did you mean 'generation.temperature'"]),
    ({"kind": "style", "generation": 5}, ["'generation'", "a mapping with keys top_k, top_p, temperature, cfg_coef"]),
    ({"kind": "style", 7: "x"}, ["unknown key '7'", "allowed keys are kind, description"]),
    ({"kind": "style", "tempo": [120, 90]}, ["'tempo'", "slower tempo first"]),
    ({"kind": "style", "tempo": [10, 90]}, ["'tempo'", "between 30 and 300", "not 10"]),
    ({"kind": "style", "tempo": [90, 100, 110]}, ["'tempo'", "a range [slowest, fastest]"]),
    ({"kind": "style", "tags": ["ok", "  "]}, ["'tags'", "a list of words or phrases"]),
    ({"kind": "style", "instruments": {"kazoo": "x"}}, ["'instruments.kazoo'", "a track role"]),
    ({"kind": "style", "instruments": {"bass": 5}}, ["'instruments.bass'", "must be text, not 5"]),
    ({"kind": "style", "instruments": ["bass"]}, ["'instruments'", "a mapping from a track role"]),
    ({"kind": "style", "keys": []}, ["'keys'", "keys such as 'A minor'"]),
    ({"kind": "style", "description": "x" * 5000, "energy": "y" * 5000}, ["'energy'", "..."]),
    ({"kind": "role", "parts": []}, ["'parts'", "at least one track role"]),
    ({"kind": "role", "parts": ["drums", "kazoo"]}, ["'parts'", "not 'kazoo'"]),
    ({"kind": "role", "loop": "yes"}, ["'loop'", "true or false"]),
    ({"kind": "role", "duration": {"min": 5, "max": 2}}, ["'duration.min' (5 s) must not be above 'duration.max'"]),
    ({"kind": "role", "duration": {"min": 1, "max": 2, "default": 3}}, ["'duration.default' (3 s) must lie between"]),
    ({"kind": "role", "loop": True, "duration_mode": "strict"}, ["'duration_mode' cannot be strict for a loop"]),
    ({"kind": "role", "dynamics": {"loudness_lufs": 3}}, ["'dynamics.loudness_lufs'", "-70 and 0 (or null)"]),
    ({"kind": "quality", "engine": "musicgen"}, ["'model' must name a MusicGen model"]),
    ({"kind": "quality", "engine": "composer", "model": "musicgen-small"}, ["'model' must be null"]),
    ({"kind": "quality", "engine": "torch"}, ["'engine'", "one of composer, musicgen", "'torch'"]),
    ({"kind": ["style"]}, ["'kind'", "one of style, role, quality"]),
]


@pytest.mark.parametrize("data,needles", REFUSED)
def test_schema_refuses_with_one_sentence_naming_file_and_key(data: dict, needles: list[str]):
    with pytest.raises(PresetError) as info:
        validate_preset(data, "mine.yaml")
    message = str(info.value)
    assert message.startswith("mine.yaml: ") and "\n" not in message and len(message) < 400, message
    for needle in needles:
        assert needle in message, message


def test_schema_keeps_only_the_keys_set_in_plain_types():
    checked = validate_preset({"kind": "style", "tags": " one phrase ", "tempo": [90, 100.5], "energy": 1,
                               "generation": {"top_k": 200.0}, "instruments": {"bass": " upright "}}, "mine.yaml")
    assert checked == {"kind": "style", "tags": ["one phrase"], "tempo": [90.0, 100.5], "energy": 1.0,
                       "generation": {"top_k": 200}, "instruments": {"bass": "upright"}}
    assert type(checked["generation"]) is dict and type(checked["generation"]["top_k"]) is int
    role = validate_preset({"kind": "role", "parts": "bass", "dynamics": {"loudness_lufs": None}}, "r.yaml")
    assert role == {"kind": "role", "parts": ["bass"], "dynamics": {"loudness_lufs": None}}
