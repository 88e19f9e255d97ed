"""The ``resonant`` CLI as a new user meets it: render, regenerate, lock, info, export, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from resonant_studio.cli import main
from tests.conftest import snapshot

PROMPT = "dark techno 128 bpm in A minor, 4 bars"


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_sentence(err: str) -> None:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("resonant: ") and lines[0].endswith((".", "!", "?")), err
    assert "Traceback" not in err


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture) -> Path:
    code, out, err = run(capsys, "render", PROMPT, "--seed", "7", "--out", str(tmp_path), "--name", "demo")
    assert code == 0, err
    return tmp_path / "demo.resonant"


def test_render_writes_project_mix_stems_and_midi(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, err = run(capsys, "render", PROMPT, "--seed", "1", "--out", str(tmp_path), "--name", "demo",
                         "--stems", "--midi")
    assert code == 0, err
    assert "128 bpm" in out and "A minor" in out
    mix, sr = sf.read(tmp_path / "demo.wav", dtype="float32")
    assert sr == 44100 and mix.shape == (int(round(4 * 4 * 60 / 128 * sr)), 2)
    assert np.abs(mix).max() < 1.0
    stems = sorted((tmp_path / "demo-stems").glob("*.wav"))
    assert [p.name.split("-")[1] for p in stems] == ["drums", "bass", "harmony", "melody"]
    assert {sf.info(p).frames for p in stems} == {mix.shape[0]}
    import mido
    midi = mido.MidiFile(tmp_path / "demo.mid")
    named = [t for t in midi.tracks if any(m.type == "note_on" for m in t)]
    assert len(named) == 4
    assert (tmp_path / "demo.resonant" / "session.json").is_file()


def test_same_seed_gives_bit_identical_audio(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for sub in ("a", "b"):
        code, _, err = run(capsys, "render", PROMPT, "--seed", "42", "--out", str(tmp_path / sub),
                           "--name", "x", "--stems")
        assert code == 0, err
    a = snapshot(tmp_path / "a" / "x-stems")
    b = snapshot(tmp_path / "b" / "x-stems")
    assert [h for h, _ in a.values()] == [h for h, _ in b.values()]
    assert (tmp_path / "a" / "x.wav").read_bytes() == (tmp_path / "b" / "x.wav").read_bytes()


def test_rendering_twice_into_one_folder_keeps_the_first(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for _ in range(2):
        assert run(capsys, "render", PROMPT, "--seed", "3", "--out", str(tmp_path), "--name", "same")[0] == 0
    assert (tmp_path / "same.resonant").is_dir() and (tmp_path / "same-2.resonant").is_dir()


def test_lock_regenerate_info_round_trip(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert run(capsys, "lock", str(project), "drums")[0] == 0
    code, out, err = run(capsys, "regenerate", str(project), "--track", "bass", "--seed", "99")
    assert code == 0, err
    assert "take 2 of 2" in out
    code, out, err = run(capsys, "info", str(project), "--json")
    info = json.loads(out)
    tracks = {t["role"]: t for t in info["tracks"]}
    assert tracks["drums"]["locked"] and tracks["drums"]["takes"] == 1
    assert tracks["bass"]["takes"] == 2 and tracks["bass"]["seed"] == 99
    assert info["tempo"] == 128 and info["key"] == "A minor" and info["meter"] == "4/4"
    code, out, err = run(capsys, "info", str(project))
    assert "Drums" in out and "locked" in out


def test_regenerating_a_locked_track_is_refused(project: Path, capsys: pytest.CaptureFixture) -> None:
    run(capsys, "lock", str(project), "drums")
    before = snapshot(project)
    code, out, err = run(capsys, "regenerate", str(project), "--track", "drums")
    assert code == 1
    assert_one_sentence(err)
    assert "locked" in err
    assert snapshot(project) == before


def test_locked_drums_stay_bit_identical_across_regenerations(project: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture) -> None:
    run(capsys, "lock", str(project), "drums")
    hashes = set()
    for seed in (1, 2, 3):
        assert run(capsys, "regenerate", str(project), "--track", "bass", "--seed", str(seed))[0] == 0
        out = tmp_path / f"ex{seed}"
        assert run(capsys, "export", str(project), "--out", str(out), "--stems")[0] == 0
        stems = {p.name.split("-")[1]: p for p in (out / "demo-stems").glob("*.wav")}
        drums, _ = sf.read(stems["drums"], dtype="int32")
        hashes.add(drums.tobytes())
    assert len(hashes) == 1


@pytest.mark.parametrize("argv,needle", [
    (["render", ""], "empty"),
    (["render", "techno at 999 bpm"], "bpm"),
    (["render", "ambient in H minor"], "H"),
])
def test_bad_prompts_give_one_sentence_and_write_nothing(argv, needle, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    code, out, err = run(capsys, *argv, "--out", str(tmp_path))
    assert code == 1
    assert_one_sentence(err)
    assert needle in err
    assert list(tmp_path.iterdir()) == []


def _break(project: Path, how: str) -> None:
    meta = project / "session.json"
    if how == "corrupt":
        meta.write_text("{ this is not json")
    elif how == "newer":
        data = json.loads(meta.read_text())
        data["schema_version"] = 99
        meta.write_text(json.dumps(data))
    elif how == "missing-take":
        next((project / "takes").glob("*.flac")).unlink()


@pytest.mark.parametrize("how,needle", [("corrupt", "session.json"), ("newer", "newer"),
                                        ("missing-take", ".flac")])
@pytest.mark.parametrize("command", [["info"], ["regenerate", "--track", "bass"], ["lock", "--", "bass"]])
def test_broken_projects_give_one_sentence_and_stay_untouched(project: Path, how: str, needle: str,
                                                              command: list[str],
                                                              capsys: pytest.CaptureFixture) -> None:
    _break(project, how)
    before = snapshot(project)
    argv = [command[0], str(project), *command[1:]] if command[0] != "lock" else ["lock", str(project), "bass"]
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert_one_sentence(err)
    assert needle in err
    assert snapshot(project) == before


def test_unknown_track_name(project: Path, capsys: pytest.CaptureFixture) -> None:
    before = snapshot(project)
    code, out, err = run(capsys, "regenerate", str(project), "--track", "vocals")
    assert code == 1
    assert_one_sentence(err)
    assert "vocals" in err and "Drums" in err
    assert snapshot(project) == before


def test_export_into_unwritable_place(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    before = snapshot(tmp_path)
    code, out, err = run(capsys, "export", str(project), "--out", str(blocker / "sub"), "--stems")
    assert code == 1
    assert_one_sentence(err)
    assert snapshot(tmp_path) == before


def test_missing_project(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, err = run(capsys, "info", str(tmp_path / "nope.resonant"))
    assert code == 1
    assert_one_sentence(err)


def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("resonant")
    proc = subprocess.run([str(exe), "render", "", "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1
    assert_one_sentence(proc.stderr)


def test_a_closed_pipe_ends_quietly(project: Path) -> None:
    exe = Path(sys.executable).with_name("resonant")
    proc = subprocess.Popen([str(exe), "info", str(project)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # like `| head -0`: the reader is gone before the first line
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert err == "", err


def test_help_lists_every_command_without_loading_numpy() -> None:
    code = ("import sys\nfrom resonant_studio.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
            "print('numpy' in sys.modules, 'engine' in sys.modules, 'tracks' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-1] == "False False False", "resonant --help imported numpy or the engine"
    from resonant_studio.cli import COMMANDS
    for name in COMMANDS:
        assert f"    {name}" in out.stdout


def test_command_table_matches_what_the_modules_register() -> None:
    from resonant_studio.cli import COMMANDS, build_parser

    parser = build_parser(load_all=True)
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)
    helps = {a.dest: a.help for a in sub._choices_actions}
    for name, (_, help_text) in COMMANDS.items():
        assert helps[name] == help_text, f"{name}: the table says {help_text!r}, the module {helps[name]!r}"
        assert callable(sub.choices[name].get_default("func")) or sub.choices[name]._subparsers is not None


@pytest.mark.parametrize("argv", [["frob"], ["render", "--format", "mp4", "x"], ["render", "--bogus"],
                                  ["info"], ["lock", "p.resonant"], []])
def test_bad_command_words_are_one_sentence_and_exit_1(capsys: pytest.CaptureFixture, argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert_one_sentence(err)


def test_project_names_are_cut_at_a_word_boundary() -> None:
    from resonant_studio.generation.studio import slugify

    assert slugify("dark techno 128 bpm in A minor, rolling bassline, 8 bars") == \
        "dark-techno-128-bpm-in-a-minor-rolling-bassline-8-bars"
    long = slugify("an extraordinarily long description of a very particular kind of music for a scene", limit=30)
    assert len(long) <= 30 and not long.endswith("-")
    assert "an extraordinarily long description".replace(" ", "-").startswith(long) or long in \
        "an-extraordinarily-long-description-of-a-very-particular-kind-of-music-for-a-scene"
    assert long == "an-extraordinarily-long"  # whole words only
    assert slugify("x" * 100, limit=20) == "x" * 20


def test_the_readme_command_line_examples_run_as_written(tmp_path: Path) -> None:
    """The first code block under "From the command line", line by line, in a fresh folder."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## From the command line", 1)[1]
    block = section.split("```", 2)[1]
    lines = [line.strip() for line in block.splitlines() if line.strip().startswith("resonant ")]
    assert len(lines) >= 5
    import shlex

    script = Path(sys.executable).parent / "resonant"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "resonant_studio.cli"]
    for line in lines:
        argv = shlex.split(line)[1:]
        out = subprocess.run([*command, *argv], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, f"{line}\n{out.stderr}"
    assert (tmp_path / "mixes" / "dark-techno-128-bpm-in-a-minor-rolling-bassline-8-bars.flac").is_file()
