"""Read torch's ``torch.save`` zip files without torch and without running anything they name.

A ``.bin`` from audiocraft is a zip holding ``<name>/data.pkl`` (a pickle of the state dict)
and ``<name>/data/<key>`` (one raw storage per tensor). A pickle may name any Python callable
and the loader would call it; here every global is looked up in a short allow-list (tensor
rebuild functions, the storage dtypes, ``OrderedDict``) and anything else is refused with a
sentence before it is imported. Tensors come back as numpy arrays copied out of the storages,
after their offsets and strides are checked against the storage size.
"""

from __future__ import annotations

import functools
import io
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import ModelError

STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16", "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class StorageType:
    """Stands for ``torch.FloatStorage`` etc.: only its dtype matters."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = STORAGE_DTYPES[name]

    @property
    def itemsize(self) -> int:
        return 2 if self.dtype == "bfloat16" else np.dtype(self.dtype).itemsize


class Storage:
    """One ``data/<key>`` entry: a flat array of ``numel`` items."""

    def __init__(self, values: np.ndarray):
        self.values = values


def _rebuild_tensor(storage: Storage, offset: int, size, stride, *_ignored) -> np.ndarray:
    """torch._utils._rebuild_tensor(_v2): a strided view of the storage, checked, then copied."""
    if not isinstance(storage, Storage):
        raise ModelError("a tensor in the checkpoint does not point at a storage: the file is damaged")
    try:
        size = tuple(int(s) for s in size)
        stride = tuple(int(s) for s in stride)
        offset = int(offset)
    except (TypeError, ValueError):
        raise ModelError("a tensor in the checkpoint has a malformed shape: the file is damaged") from None
    flat = storage.values
    if len(size) != len(stride) or offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise ModelError("a tensor in the checkpoint has an invalid shape or stride: the file is damaged")
    if 0 in size:
        return np.zeros(size, flat.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= flat.size:
        raise ModelError("a tensor in the checkpoint reaches past the end of its storage: the file is damaged")
    count = int(np.prod(size))
    contiguous = tuple(int(np.prod(size[i + 1:])) for i in range(len(size)))
    if all(n == 1 or s == c for n, s, c in zip(size, stride, contiguous)):
        return flat[offset: offset + count].reshape(size)  # the usual case: a view, no copy
    view = np.lib.stride_tricks.as_strided(flat[offset:], shape=size,
                                           strides=tuple(s * flat.itemsize for s in stride), writeable=False)
    return np.array(view)


def _rebuild_parameter(data, requires_grad=None, backward_hooks=None, *_ignored):
    """torch._utils._rebuild_parameter: an ``nn.Parameter`` is its data."""
    return data


ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): name for name in STORAGE_DTYPES},
}


def _fresh(value):
    """A new object per lookup, so that a pickle's BUILD opcodes can only alter throwaway copies."""
    if isinstance(value, str):
        return StorageType(value)
    if value is OrderedDict:
        return OrderedDict  # a built-in type: its attributes cannot be set
    return functools.partial(value)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, read_storage, where: Path):
        super().__init__(io.BytesIO(data))
        self._read_storage = read_storage
        self._where = where
        self._storages: dict[str, Storage] = {}

    def find_class(self, module: str, name: str):
        # Called for every global the pickle names (GLOBAL, STACK_GLOBAL, INST, OBJ, EXT):
        # nothing outside the allow-list is ever imported, let alone called.
        try:
            return _fresh(ALLOWED[(module, name)])
        except KeyError:
            raise ModelError(
                f"{self._where} asks to run {module}.{name} while loading, which a plain checkpoint never "
                f"does: it was refused and nothing was executed (the file is not a plain tensor checkpoint)"
            ) from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], StorageType)):
            raise ModelError(f"{self._where} refers to data in a form this reader does not know: it is not a plain torch checkpoint")
        storage_type, key, numel = pid[1], str(pid[2]), int(pid[4])
        if key not in self._storages:
            self._storages[key] = Storage(self._read_storage(key, storage_type, numel))
        return self._storages[key]


def _bf16_to_f32(raw: np.ndarray) -> np.ndarray:
    return (raw.astype(np.uint32) << 16).view(np.float32)


def load_torch_file(path: str | Path) -> Any:
    """The object a ``torch.save`` zip holds, tensors as numpy arrays (bfloat16 widened to float32)."""
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ModelError(f"{path} does not exist: the model folder is incomplete") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(
            f"{path} is not a complete torch checkpoint (not a readable zip: {exc}); it may be truncated "
            f"or saved in torch's legacy format: download it again"
        ) from None
    with archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pickles) != 1:
            raise ModelError(f"{path} has no data.pkl inside: it is not a torch checkpoint")
        prefix = pickles[0][: -len("data.pkl")]
        order = "little"
        if prefix + "byteorder" in names:
            order = archive.read(prefix + "byteorder").decode("ascii", "replace").strip() or "little"

        def read_storage(key: str, storage_type: StorageType, numel: int) -> np.ndarray:
            entry = f"{prefix}data/{key}"
            try:
                raw = archive.read(entry)
            except KeyError:
                raise ModelError(f"{path} lacks the storage {entry}: the file is truncated, download it again") from None
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise ModelError(f"{path} has a damaged storage {entry} ({exc}): download it again") from None
            if numel < 0 or len(raw) < numel * storage_type.itemsize:
                raise ModelError(f"{path} has a storage shorter than its tensors need: the file is truncated, download it again")
            raw = raw[: numel * storage_type.itemsize]
            if storage_type.dtype == "bfloat16":
                return _bf16_to_f32(np.frombuffer(raw, dtype=np.dtype("<u2" if order == "little" else ">u2")))
            dtype = np.dtype(storage_type.dtype).newbyteorder("<" if order == "little" else ">")
            values = np.frombuffer(raw, dtype=dtype)
            return values if dtype.isnative else values.astype(dtype.newbyteorder("="))

        try:
            data = archive.read(pickles[0])
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ModelError(f"{path} has a damaged data.pkl ({exc}): download it again") from None
        try:
            return _RestrictedUnpickler(data, read_storage, path).load()
        except ModelError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
            raise ModelError(f"{path} cannot be read as a torch checkpoint ({exc.__class__.__name__}): download it again") from None
