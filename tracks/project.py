"""Project folders: ``Name.resonant/`` holding ``session.json`` and ``takes/<take id>.flac``.

Saving is crash-safe. Take files are immutable and named by take id, so a file that is
already there is the take and is never rewritten; new ones are written to a temp file in
``takes/`` and renamed into place. ``session.json`` is written last, the same way, with an
fsync: that rename is the commit point. A crash before it leaves the previous project
intact (plus, at worst, take files nothing refers to yet). Take files that the replaced
``session.json`` listed and the new one no longer does are removed only after the commit;
see project_boundary.py for what the sweep may delete (only what this app wrote) and for
the rule that nothing is read or written through a symbolic link inside the folder.

Loading reads and checks everything (document, every take file) before it builds the
Session, and never writes: a project that cannot be opened is left exactly as it was.

Autosave writes ``autosave.json`` beside ``session.json`` in the same format, sharing the
same take files. An explicit save supersedes it, so ``save_project`` removes it, but only
an autosave this process wrote (or opened) and that nobody has rewritten since: a CLI
command saving a project never deletes the autosave of a window that has it open, and the
sweep keeps every take that autosave lists. Changing a project is also guarded by the
project lock (project_lock.py), which the caller holds around open-change-save.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from tracks.atomic import commit, describe_os_error, remove_quietly, staged, write_bytes_atomic
from tracks.autosave_owner import adopt as _adopt_autosave, forget as _forget_autosave, owns as _owns_autosave
from tracks.errors import ProjectError
from tracks.project_boundary import (
    OutsideProject, check_takes_dir, is_link, is_regular_file, listed_take_ids, sweep, write_journal,
)
from tracks.project_lock import LockFailed, ProjectLock
from tracks.project_format import (
    LOCK_FILE, SCHEMA_VERSION, TAKE_SUFFIX, TAKES_DIR, Document, MalformedDocument, NewerSchema,
    build_document, check_document, is_safe_id, plain,
)
from engine.safe_load import SafeLoadError, load_json_file
from tracks.session import Session
from tracks.take import Take
from tracks.take_audio import TakeFileError, audio_scale, read_take_file, write_take_file
from tracks.user_path import os_reason, user_path
from tracks.track import Track

Progress = Callable[[float, str], None]
"""Called with a fraction in [0, 1] and a short message (a save writing its takes, an open reading them)."""

PROJECT_SUFFIX = ".resonant"
SESSION_FILE = "session.json"
AUTOSAVE_FILE = "autosave.json"
SAVE_LOCK_WAIT = 2.0  # seconds a save waits for another process's brief save before saying who holds it



def project_path(folder: str | os.PathLike) -> Path:
    """The folder a project is saved to: ``folder`` with ``.resonant`` added if it lacks it.

    An existing project folder is used as named even without the suffix, so a project that
    was opened from a folder is saved back into that same folder.
    """
    path = user_path(folder, ProjectError, "use")
    if not path.name:  # "/", "." or ".."
        path = path.resolve()
        if not path.name:
            raise ProjectError(f"cannot use {folder}: name a project folder inside it")
    if path.name.endswith(PROJECT_SUFFIX) or is_project(path):
        return path
    return path.with_name(path.name + PROJECT_SUFFIX)


def autosave_path(folder: str | os.PathLike) -> Path:
    return _existing_or_suffixed(folder) / AUTOSAVE_FILE


def is_project(folder: str | os.PathLike) -> bool:
    path = Path(folder)
    try:
        return (path / SESSION_FILE).is_file() or (path / AUTOSAVE_FILE).is_file()
    except (OSError, ValueError):  # a name too long, a NUL: not a project
        return False


# --- saving --------------------------------------------------------------------------------------
def save_project(session: Session, folder: str | os.PathLike, *, progress: Progress | None = None) -> Path:
    """Save ``session`` to ``folder`` (``.resonant`` is appended if missing); returns the folder.

    Raises ProjectError, with nothing changed on disk, when the path is taken by something
    that is not a project or cannot be written, and ProjectLockedError naming the holder
    when another process holds the project's lock for longer than ``SAVE_LOCK_WAIT``. The
    save holds the lock itself (re-entrant: a caller that already holds it is not blocked),
    so two saves never interleave; a caller that loads, changes and saves holds it around
    all three (``changing_project``) so that no other writer's change is lost in between.
    """
    path = project_path(folder)
    try:
        _check_target(path)
        with _locked(path, "a save"):
            return _save_project(session, path, progress)
    except OSError as err:  # from a check before the write (the write reports its own)
        raise ProjectError(f"cannot save to {path}: {os_reason(err)}") from None


def _save_project(session: Session, path: Path, progress: Progress | None = None) -> Path:
    autosave = path / AUTOSAVE_FILE
    replaced = listed_take_ids(path / SESSION_FILE) or set()
    owned = _owns_autosave(autosave)
    if owned:
        replaced |= listed_take_ids(autosave) or set()
    journal = _write(session, path, SESSION_FILE, replaced, progress)
    with _journal_removed(journal):
        if owned:
            _forget_autosave(autosave)
            remove_quietly(autosave)
        _sweep_after_commit(path, replaced)
    return path


def save_autosave(session: Session, folder: str | os.PathLike) -> Path:
    """Write ``autosave.json`` (and any new take files) into the project folder; returns its path."""
    path = project_path(folder)
    try:
        _check_target(path)
        with _locked(path, "an autosave"):
            return _save_autosave(session, path)
    except OSError as err:
        raise ProjectError(f"cannot save to {path}: {os_reason(err)}") from None


def _save_autosave(session: Session, path: Path) -> Path:
    autosave = path / AUTOSAVE_FILE
    replaced = listed_take_ids(autosave) or set()
    journal = _write(session, path, AUTOSAVE_FILE, replaced)
    with _journal_removed(journal):
        _adopt_autosave(autosave)
        _sweep_after_commit(path, replaced)
    return autosave


@contextmanager
def _journal_removed(journal: Path | None) -> Iterator[None]:
    """Remove the save's journal (if it wrote one) once the block is done, however it ends."""
    try:
        yield
    finally:
        if journal is not None:
            remove_quietly(journal)


def _sweep_after_commit(path: Path, replaced: set[str]) -> None:
    """Sweep what the replaced document(s) listed, keeping every take a document still lists."""
    keep: set[str] = set()
    for name in (SESSION_FILE, AUTOSAVE_FILE):
        document = path / name
        if is_link(document) or document.exists():
            ids = listed_take_ids(document)
            if ids is None:  # a document we cannot read may need any take: delete nothing
                return
            keep |= ids
    sweep(path, replaced, keep)


def discard_autosave(folder: str | os.PathLike) -> None:
    """Remove the project's autosave (the person chose the last save instead) and the take
    files only it listed."""
    path = _existing_or_suffixed(folder)
    target = path / AUTOSAVE_FILE
    if not (is_regular_file(target) or is_link(target)):
        return
    with _locked(path, "discarding an autosave"):
        _discard_autosave(path, target)


@contextmanager
def _locked(path: Path, what: str) -> Iterator[None]:
    lock = ProjectLock(path, what=what, timeout=SAVE_LOCK_WAIT)
    try:
        lock.acquire()
    except LockFailed as err:
        raise ProjectError(f"cannot save to {path}: {err.reason}") from None
    try:
        yield
    finally:
        lock.release()


def _discard_autosave(path: Path, target: Path) -> None:
    replaced = listed_take_ids(target) or set()
    journal = None
    try:
        if replaced and check_takes_dir(path).is_dir():
            journal = write_journal(path / TAKES_DIR, sorted(replaced))
        _forget_autosave(target)
        remove_quietly(target)
        _sweep_after_commit(path, replaced)
    except (OSError, OutsideProject) as err:
        raise ProjectError(f"cannot discard the autosave of {path}: {err}") from None
    finally:
        if journal is not None:
            remove_quietly(journal)


def has_newer_autosave(folder: str | os.PathLike) -> bool:
    """True when the folder has an autosave written after its last save (or never saved)."""
    try:
        path = _existing_or_suffixed(folder)
    except ProjectError:
        return False
    try:
        auto = (path / AUTOSAVE_FILE).stat().st_mtime_ns
    except OSError:
        return False
    try:
        saved = (path / SESSION_FILE).stat().st_mtime_ns
    except OSError:
        return True
    # save_project removes the autosave, so one that exists was written after the last save;
    # ">=" keeps that true on filesystems whose timestamps are whole seconds.
    return auto >= saved


def _check_target(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise ProjectError(f"cannot save to {path}: a file with that name is in the way")
    if path.is_dir() and not is_project(path) and any(p.name != LOCK_FILE for p in path.iterdir()):
        raise ProjectError(f"cannot save to {path}: the folder exists and is not a Resonant Studio project "
                           f"(it has no {SESSION_FILE}), so choose another name")
    try:
        check_takes_dir(path)
    except OutsideProject as err:
        raise ProjectError(f"cannot save to {path}: {err}") from None


def _write(session: Session, path: Path, document_name: str, replaced: set[str],
           progress: Progress | None = None) -> Path | None:
    """Write new take files, then the document (the commit point).

    Before any take file is written, a journal lists the new takes and ``replaced`` (the
    takes of the document(s) this save supersedes), so that if the process dies anywhere
    before its sweep ends, the next save can still sweep them. Returns the journal, which
    the caller removes after its sweep.
    """
    _check_target(path)
    takes = _unique_takes(session)
    created_dirs: list[Path] = []
    created_files: list[Path] = []
    scales = {take.id: audio_scale(take.audio) for take in takes if take.num_samples}
    document = build_document(session, scales)
    text = _dumps(document)
    try:  # never write a project that would not open again
        check_document(json.loads(text))
    except MalformedDocument as err:
        raise ProjectError(f"cannot save this session: {err}") from None
    journal = None
    try:
        _make_dirs(path / TAKES_DIR, created_dirs)
        new = [t for t in takes if t.num_samples and not is_regular_file(path / TAKES_DIR / f"{t.id}{TAKE_SUFFIX}")]
        if new or replaced:
            journal = write_journal(path / TAKES_DIR, sorted({t.id for t in new} | replaced))
        for i, take in enumerate(new):
            if progress is not None:
                progress(i / len(new), f"writing take {i + 1} of {len(new)}")
            _write_take(path / TAKES_DIR, take, scales[take.id], session.sample_rate, created_files)
        write_bytes_atomic(path / document_name, text.encode("utf-8"))
    except BaseException as err:
        if journal is not None:
            remove_quietly(journal)
        for f in created_files:
            remove_quietly(f)
        for d in reversed(created_dirs):
            with suppress(OSError):
                d.rmdir()
        if isinstance(err, OSError):
            raise ProjectError(f"cannot save to {path}: {describe_os_error(err)}") from err
        if isinstance(err, RuntimeError):  # libsndfile reports a failed FLAC write this way
            raise ProjectError(f"cannot save to {path}: {getattr(err, 'error_string', None) or err}") from err
        raise
    return journal


def _unique_takes(session: Session) -> list[Take]:
    seen: dict[str, Take] = {}
    for track in session.tracks:
        for take in track.takes:
            if not is_safe_id(take.id):
                raise ProjectError(f"cannot save take {take.id!r} of track {track.name!r}: "
                                   "take ids may hold only letters, digits, '_' and '-'")
            seen.setdefault(take.id, take)
    return list(seen.values())


def _make_dirs(folder: Path, created: list[Path]) -> None:
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for d in reversed(missing):
        d.mkdir()
        created.append(d)


def _write_take(takes_dir: Path, take: Take, scale: float, sample_rate: int, created: list[Path]) -> None:
    """Write the take's file unless it is already there (take files never change)."""
    target = takes_dir / f"{take.id}{TAKE_SUFFIX}"
    if is_regular_file(target):  # a link or anything odd under the take's name is replaced, not followed
        return
    with staged(target) as tmp:
        write_take_file(tmp, take.audio, sample_rate, scale)
    try:
        commit(tmp, target)
    except BaseException:
        remove_quietly(tmp)
        raise
    created.append(target)


def _dumps(document: dict) -> str:
    try:
        return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False, default=plain) + "\n"
    except (TypeError, ValueError) as err:
        raise ProjectError(f"cannot save this session: {err}") from err


# --- loading -------------------------------------------------------------------------------------
def load_project(folder: str | os.PathLike, *, progress: Progress | None = None) -> Session:
    """Open a saved project. Raises ProjectError naming the file at fault; never writes."""
    path = _existing_or_suffixed(folder)
    try:
        return _read(path, SESSION_FILE, progress)
    except OSError as err:
        raise ProjectError(f"cannot open {path}: {os_reason(err)}") from None


def load_autosave(folder: str | os.PathLike) -> Session:
    """Open the project's autosave instead of its last save; this process then owns it
    (its next save_project supersedes and removes it)."""
    path = _existing_or_suffixed(folder)
    try:
        session = _read(path, AUTOSAVE_FILE)
    except OSError as err:
        raise ProjectError(f"cannot open {path}: {os_reason(err)}") from None
    _adopt_autosave(path / AUTOSAVE_FILE)
    return session


def _existing_or_suffixed(folder: str | os.PathLike) -> Path:
    path = user_path(folder, ProjectError, "open")
    suffixed = project_path(path)
    try:
        return suffixed if not path.exists() and suffixed.exists() else path
    except OSError as err:
        raise ProjectError(f"cannot open {path}: {os_reason(err)}") from None


def _read(path: Path, document_name: str, progress: Progress | None = None) -> Session:
    if not path.exists():
        raise ProjectError(f"cannot open {path}: there is no such folder")
    if not path.is_dir():
        raise ProjectError(f"cannot open {path}: it is a file, not a project folder")
    doc_path = path / document_name
    if is_link(doc_path):
        raise ProjectError(f"cannot open the project: {doc_path} is a symbolic link, which this app does not follow")
    try:
        raw = load_json_file(doc_path, follow_symlinks=False)
    except FileNotFoundError:
        raise ProjectError(f"cannot open {path}: it has no {document_name}, so it is not a Resonant Studio project") from None
    except SafeLoadError as err:
        raise ProjectError(f"cannot open the project: {err}") from None
    except OSError as err:
        raise ProjectError(f"cannot open the project: {doc_path} cannot be read ({describe_os_error(err)})") from err
    try:
        document = check_document(raw)
    except NewerSchema as err:
        raise ProjectError(f"{doc_path} was saved by a newer Resonant Studio (schema {err.version}; "
                           f"this version reads up to {SCHEMA_VERSION}): update the app") from None
    except MalformedDocument as err:
        raise ProjectError(f"cannot open the project: {doc_path} is malformed ({err})") from None
    audio = _read_takes(path, document, progress)
    try:
        return _build(document, audio)
    except (ValueError, TypeError) as err:  # check_document should have caught it; say so plainly
        raise ProjectError(f"cannot open the project: {doc_path} is malformed ({err})") from None


def _read_takes(path: Path, document: Document, progress: Progress | None = None) -> dict:
    audio = {}
    total = sum(len(track.takes) for track in document.tracks) or 1
    done = 0
    try:
        check_takes_dir(path)
    except OutsideProject as err:
        raise ProjectError(f"cannot open the project {path}: {err}") from None
    for track in document.tracks:
        for take in track.takes:
            done += 1
            if take.id in audio or take.file is None:
                continue
            if progress is not None:
                progress((done - 1) / total, f"reading take {done} of {total}")
            file = path / take.file
            if is_link(file):
                raise ProjectError(f"cannot open the project: take file {file} is a symbolic link, "
                                   "which this app does not follow")
            if not is_regular_file(file):
                raise ProjectError(f"cannot open the project: take file {file} is missing")
            try:
                audio[take.id] = read_take_file(file, sample_rate=document.sample_rate,
                                                num_samples=take.num_samples, scale=take.audio_scale)
            except TakeFileError as err:
                raise ProjectError(f"cannot open the project: take file {file} is damaged ({err})") from None
            except OSError as err:
                raise ProjectError(f"cannot open the project: take file {file} cannot be read "
                                   f"({describe_os_error(err)})") from None
    return audio


def _build(document: Document, audio: dict) -> Session:
    session = Session(document.context, name=document.name, sample_rate=document.sample_rate,
                      prompt=document.prompt)
    for entry in document.tracks:
        track = Track(entry.name, entry.role, locked=entry.locked, muted=entry.muted, solo=entry.solo,
                      gain_db=entry.gain_db, pan=entry.pan, id=entry.id)
        takes = [
            Take(audio=audio.get(t.id, np.zeros((0, 2), dtype=np.float32)), notes=t.notes, prompt=t.prompt,
                 seed=t.seed, backend=t.backend, params=t.params, created=t.created, id=t.id)
            for t in entry.takes
        ]
        track._restore_takes(takes, entry.active_take)
        session.add_track(track, record=False)
    session.history.clear()
    return session
