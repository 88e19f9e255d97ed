"""One writer at a time: the project lock, and two processes changing one project at once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tracks import ProjectLockedError, Session, Take, Track
from tracks.project import load_project, save_autosave, save_project
from tracks.project_lock import LOCK_FILE, ProjectLock, holds_lock

ROOT = Path(__file__).resolve().parents[1]
CONTEXT = {"tempo": 120.0, "meter": [4, 4], "bars": 1, "tonic": 0, "mode": "major"}


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _session() -> Session:
    s = Session(CONTEXT, sample_rate=22050)
    s.add_track(Track("Drums", "drums", id="drums"))
    return s


HOLDER = textwrap.dedent("""
    import sys, time
    from tracks.project_lock import ProjectLock
    with ProjectLock(sys.argv[1], what="resonant regenerate"):
        print("held", flush=True)
        time.sleep(60)
""")


def _hold_in_child(folder: Path) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE,
                             text=True, env=_env(), cwd=ROOT)
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_second_writer_is_told_who_holds_the_lock(tmp_path):
    folder = save_project(_session(), tmp_path / "p")
    child = _hold_in_child(folder)
    try:
        with pytest.raises(ProjectLockedError) as err:
            ProjectLock(folder, what="window").acquire()
        message = str(err.value)
        assert f"pid {child.pid} on {socket.gethostname()}" in message and "resonant regenerate" in message
        assert str(folder) in message and "\n" not in message
        assert not holds_lock(folder)
    finally:
        child.kill()
        child.wait()


def test_a_holder_killed_with_sigkill_leaves_no_stale_lock(tmp_path):
    folder = save_project(_session(), tmp_path / "p")
    child = _hold_in_child(folder)
    child.send_signal(signal.SIGKILL)
    child.wait()
    with ProjectLock(folder, what="window"):
        info = json.loads((folder / LOCK_FILE).read_text())
        assert info["pid"] == os.getpid() and info["what"] == "window"
    assert not (folder / LOCK_FILE).exists()  # released: the holder's note goes with it


def test_waiting_for_a_lock_gets_it_when_the_holder_finishes(tmp_path):
    folder = save_project(_session(), tmp_path / "p")
    child = _hold_in_child(folder)
    import threading

    threading.Timer(0.3, child.kill).start()
    with ProjectLock(folder, timeout=30):
        assert holds_lock(folder)
    child.wait()


def test_the_lock_is_reentrant_within_a_process(tmp_path):
    folder = tmp_path / "p.resonant"
    with ProjectLock(folder, what="window"):
        with ProjectLock(folder, what="save"):
            save_project(_session(), folder)
        assert holds_lock(folder)
    assert not holds_lock(folder)
    assert load_project(folder).track("drums")


def test_a_lock_taken_for_a_first_save_that_never_came_leaves_no_folder(tmp_path):
    with ProjectLock(tmp_path / "new"):
        assert (tmp_path / "new.resonant" / LOCK_FILE).is_file()
    assert list(tmp_path.iterdir()) == []


def test_a_symlinked_lock_file_is_not_followed(tmp_path):
    folder = save_project(_session(), tmp_path / "p")
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    (folder / LOCK_FILE).symlink_to(outside)
    with pytest.raises(Exception) as err:
        ProjectLock(folder).acquire()
    assert "cannot lock" in str(err.value)
    assert outside.read_text() == "keep me"


WORKER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from tracks import ProjectLockedError, Take
    from tracks.project import load_project, save_project
    from tracks.project_lock import ProjectLock

    folder, tag, changes = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for i in range(changes):
        while True:
            try:
                with ProjectLock(folder, what=f"worker {tag}"):
                    session = load_project(folder)
                    take = Take(np.full((64, 2), 0.01 * (i + 1), np.float32), prompt=f"{tag}-{i}",
                                backend="test", id=f"{tag}x{i}")
                    session.track("drums").locked = False
                    session.track("drums").add_take(take)
                    session.track("drums").locked = (i % 2 == 0)
                    save_project(session, folder)
                break
            except ProjectLockedError:
                time.sleep(0.005)
        print(f"saved {take.id}", flush=True)
""")


@pytest.mark.slow
def test_two_processes_changing_one_project_lose_nothing(tmp_path):
    """20 rounds: every take a process reports saved is on disk, and the project always opens."""
    changes = 3
    for round_ in range(20):
        folder = save_project(_session(), tmp_path / f"r{round_}")
        workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(folder), f"r{round_}w{w}", str(changes)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
                   for w in range(2)]
        reported = []
        for w in workers:
            out, err = w.communicate(timeout=120)
            assert w.returncode == 0, err
            reported += [line.split()[1] for line in out.splitlines() if line.startswith("saved ")]
        assert len(reported) == 2 * changes
        session = load_project(folder)
        on_disk = {t.id for t in session.track("drums").takes}
        assert set(reported) <= on_disk, f"round {round_}: lost {set(reported) - on_disk}"
        leftovers = [p.name for p in folder.rglob("*.tmp")]
        assert leftovers == []


def test_a_save_keeps_an_autosave_another_process_wrote_and_its_takes(tmp_path):
    """A CLI command saving while the window has unsaved work must not delete that work."""
    folder = save_project(_session(), tmp_path / "p")
    window = textwrap.dedent("""
        import sys
        import numpy as np
        from tracks import Take
        from tracks.project import load_project, save_autosave
        s = load_project(sys.argv[1])
        s.track("drums").add_take(Take(np.full((64, 2), 0.5, np.float32), id="unsavedwork"))
        save_autosave(s, sys.argv[1])
    """)
    subprocess.run([sys.executable, "-c", window, str(folder)], check=True, env=_env(), cwd=ROOT)
    cli = load_project(folder)
    cli.track("drums").locked = True
    save_project(cli, folder)
    assert (folder / "autosave.json").is_file() and (folder / "takes" / "unsavedwork.flac").is_file()
    from tracks.project import load_autosave

    assert [t.id for t in load_autosave(folder).track("drums").takes] == ["unsavedwork"]


def test_a_save_removes_the_autosave_this_process_wrote(tmp_path):
    session = _session()
    folder = save_project(session, tmp_path / "p")
    session.track("drums").add_take(Take(np.zeros((64, 2), np.float32), id="autosaved"))
    save_autosave(session, folder)
    save_project(_session(), folder)  # the autosaved take is no longer wanted
    assert not (folder / "autosave.json").exists()
    assert not (folder / "takes" / "autosaved.flac").exists()


def test_discarding_an_autosave_removes_the_takes_only_it_listed(tmp_path):
    from tracks.project import discard_autosave

    session = _session()
    folder = save_project(session, tmp_path / "p")
    session.track("drums").add_take(Take(np.zeros((64, 2), np.float32), id="onlyauto"))
    save_autosave(session, folder)
    assert (folder / "takes" / "onlyauto.flac").is_file()
    discard_autosave(folder)
    assert not (folder / "autosave.json").exists() and not (folder / "takes" / "onlyauto.flac").exists()
    assert [p.name for p in (folder / "takes").iterdir()] == []
    load_project(folder)


def test_changing_a_project_saves_on_success_and_nothing_on_error(tmp_path):
    from tracks.project_lock import changing_project

    folder = save_project(_session(), tmp_path / "p")
    with changing_project(folder, what="resonant lock") as session:
        assert holds_lock(folder)
        session.track("drums").locked = True
    assert load_project(folder).track("drums").locked and not holds_lock(folder)
    with pytest.raises(RuntimeError):
        with changing_project(folder, what="resonant lock") as session:
            session.track("drums").locked = False
            raise RuntimeError("the command failed")
    assert load_project(folder).track("drums").locked
    child = _hold_in_child(folder)
    try:
        with pytest.raises(ProjectLockedError, match="resonant regenerate"):
            with changing_project(folder, what="resonant lock"):
                pass
    finally:
        child.kill()
        child.wait()


def test_one_process_reaching_a_project_by_two_paths_holds_one_lock(tmp_path):
    folder = save_project(_session(), tmp_path / "p")
    alias = tmp_path / "alias.resonant"
    alias.symlink_to(folder, target_is_directory=True)
    with ProjectLock(folder, what="window"):
        save_project(load_project(alias), alias)  # not blocked by our own lock
        assert holds_lock(alias)


def test_without_flock_a_dead_holders_lock_is_stale_and_a_live_ones_is_not(tmp_path, monkeypatch):
    """The fallback for platforms without fcntl (Windows): an exclusive file naming its holder."""
    import tracks.project_lock as pl

    monkeypatch.setattr(pl, "fcntl", None)
    folder = save_project(_session(), tmp_path / "p")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock_file = folder / LOCK_FILE
    lock_file.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "what": "crashed"}))
    with ProjectLock(folder, what="window"):
        assert json.loads(lock_file.read_text())["what"] == "window"
    assert not lock_file.exists()
    lock_file.write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname(), "what": "resonant render"}))
    with pytest.raises(ProjectLockedError, match=rf"resonant render, pid {os.getppid()} on "):
        ProjectLock(folder).acquire()
