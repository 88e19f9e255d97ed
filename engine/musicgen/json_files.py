"""Bounded reading of the JSON files in a model folder (config.json, indexes, tokenizer settings).

A model folder is data from the internet. ``json.loads`` runs no code, but it is not bounded:
a 50,000-deep list raises RecursionError, a 5000-digit number ValueError (Python's int
limit), ``1e999`` becomes infinity and a FIFO or ``/dev/zero`` named config.json never ends.
engine/safe_load.py (shared with project files) reads a file only if it is a regular file of
at most ``max_bytes``, nests at most ``max_depth`` deep and holds short, finite numbers; here
its bounds are a model file's (tighter than a project's) and its refusal becomes a
:class:`ModelError` that names the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import ModelError
from engine.safe_load import SafeLoadError, loads_json, read_text_bounded

MAX_BYTES = 16_000_000
"""A config.json is a few kB; the index of a sharded checkpoint tens of kB."""
MAX_DEPTH = 32
MAX_NUMBER_CHARS = 40
"""Enough for any float repr and any int a shape holds (2**64 has 20 digits)."""


def _refused(err: SafeLoadError) -> ModelError:
    return ModelError(f"{str(err).rstrip('.')}: the model folder is damaged or not a model")


def read_text(path: Path, *, max_bytes: int = MAX_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` (never waits on a FIFO)."""
    try:
        return read_text_bounded(path, max_bytes=max_bytes)
    except SafeLoadError as err:
        raise _refused(err) from None
    except OSError as err:
        raise ModelError(f"{path} cannot be read ({(err.strerror or str(err)).lower()})") from None


def loads(text: str | bytes, source: str, *, max_depth: int = MAX_DEPTH,
          max_number_chars: int = MAX_NUMBER_CHARS) -> Any:
    """Parse JSON ``text`` within the bounds; ``source`` names it in the sentence."""
    try:
        return loads_json(text, source, max_depth=max_depth, max_number_chars=max_number_chars)
    except SafeLoadError as err:
        raise _refused(err) from None


def read_object(path: Path, *, max_bytes: int = MAX_BYTES) -> dict:
    """A JSON file that must hold an object (every model folder file does)."""
    data = loads(read_text(path, max_bytes=max_bytes), str(path))
    if not isinstance(data, dict):
        raise ModelError(f"{path} is not a JSON object: the folder is damaged")
    return data
