"""Is a model folder what the hub says it is, and can its engine read it?

Hashes are the hub's own: the LFS sha256 of each large file, the git blob id (sha1 of
``blob <size>\\0`` + content) of each small one. The engine check calls the engine's loader
(``engine.musicgen.checkpoint.open_folder`` reads config.json and every safetensors header)
and its conversion (``engine.musicgen.model.load_model`` converts once to cached MLX
safetensors, so the first generation does not stall for it).

A folder's record, ``.resonant-model.json``, keeps the commit and the hashes it was checked
against, so ``verify`` works offline and ``list`` can tell ready from broken without hashing.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

from resonant_studio.core.model_catalog import RECORD
from resonant_studio.core.model_hub import RemoteFile, RemoteSnapshot

HASH_CHUNK = 4 << 20


def file_matches(path: Path, remote: RemoteFile, on_bytes: Callable[[int], None] = lambda n: None) -> bool:
    """True when ``path`` has the size and hash the hub reported for ``remote``."""
    try:
        if path.stat().st_size != remote.size:
            return False
        sha256, sha1 = hashlib.sha256(), hashlib.sha1()
        sha1.update(f"blob {remote.size}\0".encode())
        with path.open("rb") as f:
            while chunk := f.read(HASH_CHUNK):
                (sha256 if remote.sha256 else sha1).update(chunk)
                on_bytes(len(chunk))
    except OSError:
        return False
    if remote.sha256:
        return sha256.hexdigest() == remote.sha256.lower()
    return remote.git_sha1 is None or sha1.hexdigest() == remote.git_sha1.lower()


def engine_problem(engine: str, folder: Path) -> str | None:
    """The engine loader's sentence when it cannot read ``folder``, else None (cheap: no weights read)."""
    if engine != "musicgen":
        return None  # that engine's loader checks its own files when it loads them
    from engine.errors import ModelError
    from engine.musicgen.checkpoint import open_folder

    try:
        open_folder(folder)
    except ModelError as exc:
        return str(exc)
    return None


def convert(engine: str, folder: Path, cache_dir: Path | None) -> str | None:
    """Convert ``folder`` to the engine's cached form now; the loader's sentence on failure."""
    if engine != "musicgen":
        return None
    from engine.errors import ModelError
    from engine.musicgen.model import load_model

    try:
        load_model(folder, cache_dir=cache_dir)
    except ModelError as exc:
        return str(exc)
    return None


def converted_files(engine: str, folder: Path, cache_dir: Path | None) -> list[Path]:
    """The cached conversions of ``folder`` (removed with the model)."""
    if engine != "musicgen":
        return []
    from engine.errors import ModelError
    from engine.musicgen.checkpoint import DTYPES, cache_key, default_cache_dir, open_folder

    try:
        opened = open_folder(folder)
    except (ModelError, OSError):
        return []
    where = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return [p for p in (where / f"{cache_key(opened, d)}.safetensors" for d in DTYPES) if p.is_file()]


# --- the record -------------------------------------------------------------------------------
def write_record(folder: Path, name: str, snap: RemoteSnapshot, bad: list[str], problem: str | None) -> None:
    data = {"name": name, "hf_repo": snap.repo, "commit": snap.commit, "bad": bad, "problem": problem,
            "files": {f.path: {"size": f.size, "sha256": f.sha256, "git_sha1": f.git_sha1} for f in snap.files}}
    tmp = folder / (RECORD + ".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, folder / RECORD)


def read_record(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else None


def snapshot_from_record(record: dict) -> RemoteSnapshot:
    files = tuple(RemoteFile(path, int(f["size"]), f.get("sha256"), f.get("git_sha1"))
                  for path, f in sorted(record["files"].items()))
    return RemoteSnapshot(str(record.get("hf_repo", "")), str(record.get("commit", "")), files)


def quick_problem(folder: Path, record: dict | None) -> str | None:
    """Why a folder is not ready, judged from its record and file sizes alone (no hashing)."""
    if record is None:
        return None
    if record.get("bad"):
        return f"{record['bad'][0]} does not match the hub's hash"
    if record.get("problem"):
        return str(record["problem"])
    for path, f in record["files"].items():
        p = folder / path
        if not p.is_file():
            return f"{path} is missing"
        if p.stat().st_size != int(f["size"]):
            return f"{path} has {p.stat().st_size} bytes, not {f['size']}"
    return None
