"""The corpus of bad inputs (issue 13, "How it will be judged"): every case runs the real CLI
in a child process and must end with exit 1, one sentence on stderr, no traceback, the case's
tree unchanged, under 30 s and 1.5 GB peak RSS.

The hostile files are made at test time (tests/bad_inputs/makers.py); the tables are
cases_files.py (audio, projects) and cases_more.py (presets, model folders, arguments). The
cases selected for a run are executed two at a time (the machines have two cores) by one
session fixture, then judged one test per case, so a failure names its case.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from tests.bad_inputs import cases_files as files
from tests.bad_inputs import cases_more as more
from tests.bad_inputs.harness import Outcome, run_cli, tree_state
from tests.bad_inputs.makers import fifo, write_pcm_wav

MAX_SECONDS = 30.0
MAX_RSS_MB = 1536.0
WORKERS = 2


@dataclass(frozen=True)
class Case:
    kind: str
    name: str
    setup: Callable[[Path, Path], list[str]]
    """``setup(root, base_project) -> argv``: makes the bad input below ``root``."""
    xfail: str = ""
    may_succeed: bool = False
    """Where the input is odd but real (a sparse 2 GB file that reads fine, a 0.1 s one-shot the
    library indexes): exit 0 is allowed, but then with nothing at all on stderr; the time,
    memory and disk limits still hold."""

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.name}"


def _project(root: Path, base: Path) -> Path:
    project = root / "work" / "p.resonant"
    shutil.copytree(base, project, symlinks=True)
    return project


# --- audio ----------------------------------------------------------------------------------

def _audio_case(name: str, maker, command: str) -> Case:
    def setup(root: Path, base: Path) -> list[str]:
        folder = root / "work" / "in"
        folder.mkdir(parents=True)
        path = maker(folder)
        if command == "analyze":
            return ["analyze", str(path)]
        if command == "analyze-json":
            return ["analyze", "--json", "--full", str(path)]
        return ["library", "search", "--like", str(path)]
    return Case("audio", f"{command}-{name}", setup, may_succeed=name.startswith("sparse_") or name in REAL_BUT_SHORT)


REAL_BUT_SHORT = {"too_short_0_1s"}
"""A real 0.1 s file: too short for a tempo or key, but a sound (tests/test_library.py indexes
such one-shots through the same analyze_file). It may be analysed, with the notes saying what
could not be told, or refused; either way in one clean answer."""


# --- projects -------------------------------------------------------------------------------

_PARSE = re.compile(r"^(session_|schema_|tempo_5000|gain_400|deep_nesting|context_|tracks_not)")


def _project_case(name: str, mutate, command: str) -> Case:
    def setup(root: Path, base: Path) -> list[str]:
        project = _project(root, base)
        session = json.loads((project / "session.json").read_text())
        if mutate(session, project) != "raw":
            (project / "session.json").write_text(json.dumps(session, indent=2))
        argv = {"info": ["info", str(project)],
                "regenerate": ["regenerate", str(project), "--track", "bass", "--seed", "3"],
                "export": ["export", str(project), "--out", str(root / "work" / "out"), "--stems"],
                "lock": ["lock", str(project), "bass"]}[command]
        return argv
    return Case("project", f"{command}-{name}", setup)


def _project_commands(name: str, commands: tuple[str, ...]) -> tuple[str, ...]:
    return ("info",) if _PARSE.match(name) else commands


# --- presets, models, arguments ---------------------------------------------------------------

def _preset_case(name: str, option: str, content) -> Case:
    def setup(root: Path, base: Path) -> list[str]:
        folder = root / "config" / "presets"
        folder.mkdir(parents=True)
        path = folder / "evil.yaml"
        if callable(content):
            content(path)
        else:
            path.write_bytes(content.encode("utf-8", "surrogateescape"))
        return ["render", "techno", "--bars", "2", option, "evil", "--out", str(root / "work" / "out")]
    return Case("preset", name, setup)


def _model_case(name: str, engine: str, maker, command: str) -> Case:
    def setup(root: Path, base: Path) -> list[str]:
        (root / "work").mkdir(parents=True, exist_ok=True)
        model = root / "work" / "model"
        maker(model)
        out = root / "work" / "out"
        if command == "render":
            return ["render", "techno", "--bars", "1", "--engine",
                    "musicgen" if engine == "musicgen" else "musicgen-stem",
                    "--model", str(model), "--out", str(out)]
        if engine == "stem":
            return ["musicgen", "stems", "--model", str(model), "--prompt", "hi", "--seconds",
                    "0.2", "--out", str(out), "--quiet"]
        return ["musicgen", "generate", "--model", str(model), "--prompt", "hi", "--seconds",
                "0.2", "--out", str(out / "o.wav"), "--quiet"]
    return Case("model", f"{command}-{name}", setup)


def _arg_case(name: str, argv: list[str]) -> Case:
    def setup(root: Path, base: Path) -> list[str]:
        work = root / "work"
        work.mkdir(parents=True, exist_ok=True)
        values = {"dir": work, "out": work / "out"}
        joined = " ".join(argv)
        if "{project}" in joined:
            values["project"] = _project(root, base)
        if "{wav}" in joined:
            values["wav"] = write_pcm_wav(work / "good.wav")
        if "{fifo}" in joined:
            values["fifo"] = fifo(work / "pipe")
        if "{model}" in joined:
            values["model"] = work / "model"
            shutil.copytree(more.FIXTURES / "musicgen-tiny", values["model"],
                            ignore=shutil.ignore_patterns("reference"))
        return [a.format(**{k: str(v) for k, v in values.items()}) for a in argv]
    return Case("cli", name, setup)


def all_cases() -> list[Case]:
    cases = []
    for name, maker in files.AUDIO.items():
        cases.append(_audio_case(name, maker, "analyze"))
    # search --like reads through the same door; a sample checks it also creates no library.
    for name in ("zero_length", "random_bytes", "rate_1hz", "nan_samples", "samples_1e30", "fifo", "dev_zero_link",
                 "symlink_loop", "directory", "missing", "channels_65535", "flac_truncated", "header_only"):
        cases.append(_audio_case(name, files.AUDIO[name], "search"))
    for name in ("nan_samples", "rate_1hz", "fifo", "samples_1e30", "rate_384k_8ch_huge"):
        cases.append(_audio_case(name, files.AUDIO[name], "analyze-json"))
    for name, (mutate, commands) in files.PROJECTS.items():
        for command in _project_commands(name, commands):
            cases.append(_project_case(name, mutate, command))
    for name in ("mode_klingon", "take_id_dotdot", "track_role_klingon", "bars_100000", "tempo_1000", "meter_zero",
                 "take_file_missing", "duplicate_track_ids", "roles_klingon", "track_active_take_99"):
        cases.append(_project_case(name, files.PROJECTS[name][0], "lock"))
        cases.append(_project_case(name, files.PROJECTS[name][0], "info"))
    for name, (option, content) in more.PRESETS.items():
        cases.append(_preset_case(name, option, content))
    for name, (engine, maker) in more.MODELS.items():
        cases.append(_model_case(name, engine, maker, "direct"))
    for name in ("no_config", "config_200000_layers", "shard_dotdot", "stem_pickle_os_system"):
        engine, maker = more.MODELS[name]
        cases.append(_model_case(name, engine, maker, "render"))
    for name, argv in more.ARGS.items():
        cases.append(_arg_case(name, argv))
    return cases


XFAIL: dict[str, str] = {}
"""Case id -> why it is known to fail (a strict xfail: it must fail, so a fix is noticed)."""
NOT_RUN: set[str] = set()
"""Known failures that take 5-12 GB and up to 45 s each: not run on a shared machine until fixed (then
remove them from XFAIL and from here and they are judged like every other case)."""
CASES = {case.id: dataclasses.replace(case, xfail=XFAIL.get(case.id, "")) for case in all_cases()}
assert set(XFAIL) <= set(CASES), set(XFAIL) - set(CASES)


def _base_project(tmp: Path) -> Path:
    root = tmp / "base"
    root.mkdir()
    outcome = run_cli(["render", "techno 120 bpm in A minor", "--bars", "2", "--seed", "1",
                       "--name", "p", "--out", str(root / "work")], root, root)
    assert outcome.rc == 0, outcome.stderr
    return root / "work" / "p.resonant"


def _run_case(case: Case, tmp: Path, base: Path) -> tuple[Outcome, bool, list[str]]:
    root = tmp / case.id
    root.mkdir()
    for sub in ("config", "data", "models"):
        (root / sub).mkdir(exist_ok=True)
    argv = case.setup(root, base)
    before = tree_state(root)
    outcome = run_cli(argv, root, root / "work" if (root / "work").is_dir() else root)
    after = tree_state(root)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return outcome, not changed, changed


@pytest.fixture(scope="session")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Run every selected case, two at a time, once per session."""
    wanted = [item.callspec.params["case_id"] for item in request.session.items
              if getattr(item, "callspec", None) and "case_id" in item.callspec.params
              and item.module.__name__ == __name__ and item.callspec.params["case_id"] not in NOT_RUN]
    tmp = tmp_path_factory.mktemp("bad")
    base = _base_project(tmp)
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {cid: pool.submit(_run_case, CASES[cid], tmp, base) for cid in wanted}
        return {cid: f.result() for cid, f in futures.items()}


def test_corpus_is_large_enough() -> None:
    kinds = {}
    for case in CASES.values():
        kinds[case.kind] = kinds.get(case.kind, 0) + 1
    assert len(CASES) >= 250, kinds
    assert set(kinds) == {"audio", "project", "preset", "model", "cli"}


def _params():
    for cid, case in CASES.items():
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail, run=cid not in NOT_RUN)] if case.xfail else []
        yield pytest.param(cid, id=cid, marks=marks)


@pytest.mark.parametrize("case_id", list(_params()))
def test_bad_input(case_id: str, outcomes) -> None:
    outcome, unchanged, changed = outcomes[case_id]
    err = outcome.stderr.strip()
    assert not outcome.killed, f"ran past the kill limit: {err[-300:]!r}"
    assert "Traceback" not in err, err[-1500:]
    if CASES[case_id].may_succeed and outcome.rc == 0:
        assert not err, f"succeeded, but with noise on stderr: {err[-800:]!r}"
    else:
        assert outcome.rc == 1, f"rc {outcome.rc}: {err[-500:]!r}"
        assert err and "\n" not in err, f"not one line: {err[-800:]!r}"
        assert err.startswith("resonant: ") and err.endswith((".", "!", "?")), f"not a sentence: {err!r}"
    assert unchanged, f"changed on disk: {changed}"
    assert outcome.wall_s < MAX_SECONDS, outcome.wall_s
    assert outcome.max_rss_mb < MAX_RSS_MB, outcome.max_rss_mb
