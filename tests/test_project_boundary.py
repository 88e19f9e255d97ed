"""A crafted project cannot make the app read, write or delete anything outside its folder.

Every test hashes a sibling ``outside/`` tree (names, bytes, modes, mtimes) before and after
and asserts it is unchanged; the files there are valid take files with the ids the project
names, so following a link would *succeed* silently rather than fail loudly.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from tracks import ProjectError, Session, Take, Track
from tracks.export import export_mix, export_stems
from tracks.project import load_autosave, load_project, save_autosave, save_project
from tracks.take_audio import write_take_file

SR = 22050
CONTEXT = {"tempo": 120.0, "meter": [4, 4], "bars": 1, "tonic": 0, "mode": "major"}


def tree_hash(folder: Path) -> dict:
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        data = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else None
        out[str(p.relative_to(folder))] = (data, st.st_mode, st.st_mtime_ns, st.st_size)
    return out


def make_session() -> Session:
    s = Session(CONTEXT, name="Crafted", sample_rate=SR)
    n = s.num_samples
    for i, role in enumerate(("drums", "bass")):
        track = s.add_track(Track(role.title(), role, id=f"t{i}"))
        track.add_take(Take(np.random.default_rng(i).uniform(-0.5, 0.5, (n, 2)).astype(np.float32),
                            id=f"take{i}", backend="composer"))
    s.history.clear()
    return s


@pytest.fixture
def world(tmp_path):
    """A saved project and, beside it, an ``outside`` tree worth protecting."""
    session = make_session()
    project = save_project(session, tmp_path / "song")
    outside = tmp_path / "outside"
    (outside / "takes").mkdir(parents=True)
    (outside / "holiday-recording.flac").write_bytes(b"fLaC precious")
    (outside / ".holiday.flac.abc.tmp").write_bytes(b"precious temp")
    for take in ("take0", "take1"):  # valid take files under the project's own ids
        write_take_file(outside / "takes" / f"{take}.flac", np.zeros((session.num_samples, 2), np.float32), SR, 1.0)
    (outside / "session.json").write_text((project / "session.json").read_text())
    return session, project, outside


def test_a_symlinked_takes_folder_is_neither_read_nor_written_nor_swept(world):
    session, project, outside = world
    before = tree_hash(outside)
    for f in (project / "takes").iterdir():
        f.unlink()
    (project / "takes").rmdir()
    (project / "takes").symlink_to(outside / "takes", target_is_directory=True)
    with pytest.raises(ProjectError, match="takes folder is a symbolic link"):
        load_project(project)
    session.track("Drums").add_take(Take(np.zeros((session.num_samples, 2), np.float32), id="newtake"))
    for save in (save_project, save_autosave):
        with pytest.raises(ProjectError, match="takes folder is a symbolic link"):
            save(session, project)
    assert tree_hash(outside) == before


def test_a_symlinked_take_file_is_not_read_and_a_save_replaces_the_link(world):
    session, project, outside = world
    before = tree_hash(outside)
    victim = project / "takes" / "take0.flac"
    victim.unlink()
    victim.symlink_to(outside / "takes" / "take0.flac")
    with pytest.raises(ProjectError, match=r"take file .*take0\.flac is a symbolic link"):
        load_project(project)
    save_project(session, project)  # writes a real take file over the link, not through it
    assert not victim.is_symlink() and victim.is_file()
    assert load_project(project).track("Drums").active_take.id == "take0"
    assert tree_hash(outside) == before


@pytest.mark.parametrize("document", ["session.json", "autosave.json"])
def test_a_symlinked_document_is_not_read_and_not_written_through(world, document):
    session, project, outside = world
    save_autosave(session, project)
    before = tree_hash(outside)
    (project / document).unlink()
    (project / document).symlink_to(outside / "session.json")
    loader = load_project if document == "session.json" else load_autosave
    with pytest.raises(ProjectError, match="is a symbolic link"):
        loader(project)
    save_project(session, project)
    save_autosave(session, project)
    assert not (project / "session.json").is_symlink()
    assert tree_hash(outside) == before


def _string_fields(doc: dict) -> list[tuple]:
    """Key paths of every string value in the document."""
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + (i,))
        elif isinstance(node, str):
            found.append(path)

    walk(doc, ())
    return found


def test_dot_dot_and_absolute_paths_in_every_name_field_touch_nothing_outside(world, tmp_path):
    session, project, outside = world
    pristine = json.loads((project / "session.json").read_text())
    fields = _string_fields(pristine)
    assert len(fields) >= 15
    evil_values = ["../../outside/holiday-recording.flac", "../outside/takes/take0",
                   str(outside / "holiday-recording.flac"), "..", "/"]
    before = tree_hash(outside)
    refused = opened = 0
    for path in fields:
        for evil in evil_values:
            doc = json.loads(json.dumps(pristine))
            node = doc
            for k in path[:-1]:
                node = node[k]
            node[path[-1]] = evil
            (project / "session.json").write_text(json.dumps(doc))
            try:
                loaded = load_project(project)
            except ProjectError as err:
                assert "\n" not in str(err)
                refused += 1
                continue
            opened += 1
            save_project(loaded, project)
            exports = tmp_path / "exports"
            exports.mkdir(exist_ok=True)
            export_mix(loaded, exports / "mix.wav")
            export_stems(loaded, exports / "stems")
            assert all(p.resolve().is_relative_to(exports) for p in exports.rglob("*"))
            save_project(make_session(), project)  # back to a clean project for the next field
    assert tree_hash(outside) == before
    # Every field that names a file (ids, take files, roles) is refused; display text opens.
    assert refused >= 5 * 6 and opened > 0
    for key in (("tracks", 0, "id"), ("tracks", 0, "takes", 0, "id"), ("tracks", 0, "takes", 0, "file")):
        assert key in fields
    for evil in evil_values:  # the project's name becomes a file name in the app (export, Save As)
        doc = json.loads(json.dumps(pristine))
        doc["name"] = evil
        (project / "session.json").write_text(json.dumps(doc))
        with pytest.raises(ProjectError, match="is a path, not a name"):
            load_project(project)


def test_the_project_folder_itself_may_be_reached_through_a_link(world, tmp_path):
    """The person chose that path; the boundary is what lies inside it."""
    session, project, _ = world
    alias = tmp_path / "alias.resonant"
    alias.symlink_to(project, target_is_directory=True)
    assert load_project(alias).track("Drums").active_take.id == "take0"
    save_project(session, alias)
    assert os.path.samefile(alias / "session.json", project / "session.json")
