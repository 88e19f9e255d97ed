"""Read a Hugging Face MusicGen folder and convert it, once, to cached MLX safetensors.

A folder holds ``config.json``, ``model.safetensors`` (or ``model.safetensors.index.json`` with
shards) and the tokenizer. Only safetensors are read: nothing is ever unpickled. Every way a
folder can be wrong ends in one ``ModelError`` sentence.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlx.core as mx

from engine.errors import ModelError
from engine.musicgen.config import (GenerationDefaults, MusicGenConfig, PreprocessorDefaults, check_config_against_weights,
                                    checked)
from engine.musicgen.json_files import loads as json_loads
from engine.musicgen.json_files import read_object

DTYPES = {"float32": mx.float32, "float16": mx.float16, "bfloat16": mx.bfloat16}
CONVERTED_FORMAT = "resonant-musicgen-mlx-1"


@dataclass(frozen=True)
class CheckpointFolder:
    path: Path
    config: MusicGenConfig
    weight_files: tuple[Path, ...]
    generation_defaults: dict[str, Any]
    preprocessor: dict[str, Any]


MAX_HEADER_BYTES = 100_000_000
"""The safetensors format's own limit on its JSON header (the Rust crate refuses more): a
header that claims gigabytes is a damaged or hostile file, refused before it is read."""


def check_safetensors(path: Path) -> dict[str, tuple[int, ...]]:
    """Raise ``ModelError`` unless ``path`` is a complete safetensors file; return its tensor shapes.

    Only the header is read, and only once its length has been checked against the format's
    limit and the file's size."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise ModelError(f"{path} is truncated (no safetensors header): download it again")
            (header_len,) = struct.unpack("<Q", head)
            if header_len > size - 8:
                raise ModelError(f"{path} is truncated (its header runs past the end): download it again")
            if header_len > MAX_HEADER_BYTES:
                raise ModelError(f"{path} says its safetensors header is {header_len / 1e6:,.0f} MB, more than the "
                                 f"format allows ({MAX_HEADER_BYTES / 1e6:.0f} MB): the file is damaged, download it again")
            first = f.read(1)
            if first != b"{":
                raise ModelError(f"{path} is not a readable safetensors file (its header is not JSON): download it again")
            header = json_loads(first + f.read(header_len - 1), str(path), max_depth=8)
        if not isinstance(header, dict):
            raise ModelError(f"{path} has a damaged safetensors header (not a JSON object): download it again")
        end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
    except ModelError:
        raise
    except (OSError, ValueError, UnicodeDecodeError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ModelError(f"{path} is not a readable safetensors file ({exc.__class__.__name__}): download it again") from exc
    if 8 + header_len + end > size:
        missing = 8 + header_len + end - size
        raise ModelError(f"{path} is truncated ({missing} bytes missing): download it again")
    try:
        return {k: tuple(int(d) for d in v["shape"]) for k, v in header.items() if k != "__metadata__"}
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path} has a damaged safetensors header ({exc.__class__.__name__}): download it again") from exc


def shard_path(folder: Path, name: object, index: Path) -> Path:
    """The shard a model index names, refused unless it is a plain file name inside ``folder``.

    An index is data from the internet: ``../../etc/x``, an absolute path or a link that
    leads out of the folder must not make the loader read elsewhere.
    """
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name \
            or Path(name).name != name or Path(name).is_absolute() or "\0" in name:
        raise ModelError(f"{index} names a shard {str(name)[:80]!r} that is not a plain file name in the model "
                         "folder: the index is damaged or unsafe")
    path = folder / name
    try:
        inside = path.resolve().parent == folder.resolve()
    except (OSError, RuntimeError):
        inside = False
    if path.is_symlink() and not inside:
        raise ModelError(f"{index} names shard {name}, a link that leads out of the model folder: copy the file in")
    return path


def open_folder(model_dir: str | os.PathLike) -> CheckpointFolder:
    """Check a checkpoint folder and read its configs (weights are read later)."""
    if model_dir is None or str(model_dir) == "":
        raise ModelError("no MusicGen model folder given: pass --model DIR (a Hugging Face folder such as musicgen-small)")
    path = Path(model_dir).expanduser()
    if not path.is_dir():
        raise ModelError(f"MusicGen model folder {path} does not exist: download facebook/musicgen-small there or pass another --model")
    config_path = path / "config.json"
    if not config_path.is_file():
        raise ModelError(f"{path} has no config.json: it is not a Hugging Face MusicGen folder")
    config = MusicGenConfig.from_dict(read_object(config_path), where=str(config_path))

    index = path / "model.safetensors.index.json"
    single = path / "model.safetensors"
    if single.is_file():
        files = (single,)
    elif index.is_file():
        weight_map = read_object(index).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise ModelError(f"{index} has no weight_map: the folder is damaged")
        for name in weight_map.values():
            shard_path(path, name, index)
        files = tuple(shard_path(path, name, index) for name in sorted(set(weight_map.values())))
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise ModelError(f"{path} lacks shard {missing[0]} named in its index: finish the download")
    else:
        pickled = [p.name for p in path.glob("*.bin")] + [p.name for p in path.glob("*.pt")]
        hint = f" (it has {pickled[0]}, a pickle, which is never loaded)" if pickled else ""
        raise ModelError(f"{path} has no model.safetensors{hint}: download the safetensors weights")
    shapes: dict[str, tuple[int, ...]] = {}
    for f in files:
        shapes.update(check_safetensors(f))
    check_config_against_weights(config, shapes, config_path)

    generation = _settings(path / "generation_config.json", GenerationDefaults)
    start = generation.get("decoder_start_token_id")
    if start is not None and start > config.decoder.vocab_size:
        raise ModelError(f"{path / 'generation_config.json'} sets decoder_start_token_id to {start}, past the "
                         f"decoder's vocabulary of {config.decoder.vocab_size}: the file is damaged")
    preprocessor = _settings(path / "preprocessor_config.json", PreprocessorDefaults)
    return CheckpointFolder(path, config, files, generation, preprocessor)


def _settings(path: Path, schema) -> dict[str, Any]:
    """An optional settings file, read bounded and its keys ``schema`` knows checked; {} when absent."""
    if not path.exists():
        return {}
    data = read_object(path)
    checked(schema, data, str(path))
    return data


def read_weights(folder: CheckpointFolder) -> dict[str, mx.array]:
    weights: dict[str, mx.array] = {}
    for f in folder.weight_files:
        try:
            weights.update(mx.load(str(f)))
        except Exception as exc:  # mlx raises RuntimeError/ValueError with its own wording
            raise ModelError(f"{f} cannot be read as safetensors ({exc}): download it again") from exc
    return weights


def cache_key(folder: CheckpointFolder, dtype: str) -> str:
    h = hashlib.sha256()
    h.update(CONVERTED_FORMAT.encode())
    h.update(str(folder.path.resolve()).encode())
    h.update((folder.path / "config.json").read_bytes())
    for f in folder.weight_files:
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return f"{h.hexdigest()[:20]}-{dtype}"


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("resonant-studio")) / "musicgen"


def load_converted(folder: CheckpointFolder, dtype: str, convert, cache_dir: Path | None) -> dict[str, mx.array]:
    """Return converted weights from the cache, or ``convert(raw_weights)`` them and cache the result."""
    if dtype not in DTYPES:
        raise ModelError(f"unknown dtype {dtype!r}: choose float32, float16 or bfloat16")
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = cache_dir / f"{cache_key(folder, dtype)}.safetensors"
    if target.is_file():
        try:
            loaded = mx.load(str(target), return_metadata=True)
            weights, meta = loaded
            if meta.get("format") == CONVERTED_FORMAT:
                return weights
        except Exception:
            pass  # a damaged cache entry is rebuilt below
    weights = convert(read_weights(folder))
    cast = {k: v.astype(DTYPES[dtype]) if mx.issubdtype(v.dtype, mx.floating) else v for k, v in weights.items()}
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".tmp{os.getpid()}.safetensors")
        mx.save_safetensors(str(tmp), cast, metadata={"format": CONVERTED_FORMAT})
        os.replace(tmp, target)
    except OSError:
        pass  # an unwritable cache only costs a conversion next time
    return cast
