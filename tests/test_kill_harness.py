"""SIGKILL harness: a process killed at a random moment of a save, an autosave or an export
never leaves a project that cannot be opened, never loses a take it reported saved, and
never leaves a half-written file under an export's final name.

The harness runs in a fresh interpreter (this file as a script), which forks each writer
from itself: a fork costs milliseconds, not an interpreter start, and forking a process
with no other threads (unlike pytest after Qt tests) cannot leave a child stuck on a lock
some other thread held. POSIX only, like SIGKILL and fork.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tracks import Session, Take, Track
from tracks.atomic import is_stale_temp
from tracks.export import export_all
from tracks.project import load_autosave, load_project, save_autosave, save_project

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not hasattr(os, "fork") or not hasattr(signal, "SIGKILL"), reason="POSIX only")]

KILLS = 120
SR = 22050
ROOT = Path(__file__).resolve().parents[1]
CONTEXT = {"tempo": 120.0, "meter": [4, 4], "bars": 2, "tonic": 0, "mode": "major"}


def _new_project(folder: Path) -> Path:
    s = Session(CONTEXT, sample_rate=SR)
    s.add_track(Track("Drums", "drums", id="drums"))
    s.add_track(Track("Bass", "bass", id="bass"))
    return save_project(s, folder)


def _writer(folder: Path, log: Path, exports: Path, seed: int) -> None:
    """The child: change, save, autosave and export in a loop until killed; log each success."""
    rng = np.random.default_rng(seed)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    i = seed % 3  # children start at different steps, so every kind of write gets killed
    while True:
        session = load_project(folder)
        track = session.track("drums" if i % 2 else "bass")
        take = Take(rng.uniform(-0.5, 0.5, (session.num_samples, 2)).astype(np.float32),
                    id=f"s{seed}n{i}", backend="test")
        track.add_take(take)
        step = i % 3
        if step == 0:
            os.write(fd, b"begin save\n")
            save_project(session, folder)
            os.write(fd, f"saved {take.id}\n".encode())
        elif step == 1:
            os.write(fd, b"begin autosave\n")
            save_autosave(session, folder)
            os.write(fd, f"autosaved {take.id}\n".encode())
        else:
            os.write(fd, b"begin export\n")
            export_all(session, mix_path=exports / "mix.wav", stems_dir=exports / "stems")
            os.write(fd, b"exported\n")
        i += 1


def _check(folder: Path, log: Path, exports: Path) -> None:
    session = load_project(folder)  # must open
    ids = {t.id for tr in session.tracks for t in tr.takes}
    lines = log.read_text().splitlines() if log.exists() else []
    saved = {line.split()[1] for line in lines if line.startswith("saved ")}
    assert saved <= ids, f"lost {saved - ids}"
    if (folder / "autosave.json").exists():
        load_autosave(folder)  # an autosave that is there opens too
    for f in list(exports.glob("*.wav")) + list(exports.glob("stems/*.wav")):
        info = sf.info(str(f))  # no half-written file under a final name
        assert info.frames == session.num_samples, f


def run_harness(tmp_path: Path, seed: int) -> None:
    """Kill writers at random; raises AssertionError at the first promise broken."""
    rng = random.Random(seed)
    kills = 0
    during = {"save": 0, "autosave": 0, "export": 0}
    started = time.monotonic()
    # At least KILLS kills, and more batches (up to three times as many) until enough of them have
    # landed inside each kind of write: on a loaded machine the writers take longer to get going,
    # so more kills land before their first write and a fixed count proved too few (seen in CI).
    enough = lambda: during["save"] >= 15 and during["export"] >= 15 and during["autosave"] >= 10  # noqa: E731
    for batch in range(3 * KILLS // 20):
        if batch >= KILLS // 20 and enough():
            break
        folder = _new_project(tmp_path / f"p{batch}")
        exports = tmp_path / f"out{batch}"
        exports.mkdir()
        log = tmp_path / f"log{batch}.txt"
        for k in range(20):
            seen = len(log.read_text().splitlines()) if log.exists() else 0
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child never returns
                try:
                    _writer(folder, log, exports, seed=batch * 100 + k)
                finally:
                    os._exit(1)
            # Aim each kill at one kind of write in turn: wait (a bounded while) until the writer
            # says it began one, then kill it a random moment later, inside it or just after.
            # Random delays alone let the slowest write take nearly every kill on a loaded machine.
            target = f"begin {('save', 'autosave', 'export')[kills % 3]}"
            deadline = time.monotonic() + 10.0
            while time.monotonic() < deadline:
                lines = log.read_text().splitlines() if log.exists() else []
                if len(lines) > seen and lines[-1] == target:  # this writer's line, not the last one's
                    break
                time.sleep(0.001)
            time.sleep(rng.uniform(0.0, 0.02))
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            assert os.WIFSIGNALED(status), "the writer stopped on its own (it crashed)"
            kills += 1
            lines = log.read_text().splitlines() if log.exists() else []
            if lines and lines[-1].startswith("begin "):
                during[lines[-1].split()[1]] += 1
            _check(folder, log, exports)
        # The next save by a live process sweeps every dead writer's temp files.
        save_project(load_project(folder), folder)
        stale = [p for p in folder.rglob("*.tmp") if is_stale_temp(p.name)]
        assert stale == []
        # ...and every take file a killed save wrote but never committed (its journal names it).
        listed = set()
        for doc in ("session.json", "autosave.json"):
            if (folder / doc).exists():
                listed |= {t["id"] for tr in json.loads((folder / doc).read_text())["tracks"] for t in tr["takes"]}
        orphans = [p.name for p in (folder / "takes").iterdir() if p.suffix == ".flac" and p.stem not in listed]
        assert orphans == [], orphans
        assert [p.name for p in (folder / "takes").glob(".new-takes.*")] == []
    assert kills >= 100
    print(f"{kills} kills: {during} inside a write")
    # Most kills land inside a write (the rest between two, or while loading).
    assert enough(), during
    assert time.monotonic() - started < 600


def test_random_sigkills_during_save_autosave_and_export_lose_nothing(tmp_path):
    seed = os.environ.get("KILL_SEED", "1234")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, __file__, str(tmp_path), seed], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=600)
    print(done.stdout)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "120 kills" in done.stdout


if __name__ == "__main__":
    run_harness(Path(sys.argv[1]), int(sys.argv[2]))
