"""Bounded reading of the JSON files in a model folder (config.json, indexes, tokenizer settings).

A model folder is data from the internet. ``json.loads`` runs no code, but it is not bounded:
a 50,000-deep list raises RecursionError, a 5000-digit number ValueError (Python's int
limit), ``1e999`` becomes infinity and a FIFO or ``/dev/zero`` named config.json never ends.
So a file is read here only if it is a regular file of at most ``max_bytes``, its brackets
nest at most ``max_depth`` deep (counted by a scan before parsing, strings skipped), and its
number literals are short and finite; anything else is one :class:`ModelError` naming the file.

tracks/safe_load.py does the same for projects and presets; the engine may not import
``tracks`` (tests/test_layering.py), hence this small twin with the engine's error class.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

from engine.errors import ModelError

MAX_BYTES = 16_000_000
"""A config.json is a few kB; the index of a sharded checkpoint tens of kB."""
MAX_DEPTH = 32
MAX_NUMBER_CHARS = 40
"""Enough for any float repr and any int a shape holds (2**64 has 20 digits)."""

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _too_deep(text: str, max_depth: int) -> int | None:
    depth = 0
    for m in _TOKENS.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > max_depth:
                return m.start()
        elif c in "]}":
            depth -= 1
    return None


def read_text(path: Path, *, max_bytes: int = MAX_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` (never waits on a FIFO)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as err:
        raise ModelError(f"{path} cannot be read ({(err.strerror or str(err)).lower()})") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ModelError(f"{path} is not a regular file (a folder, pipe or device), so it was not read")
        if info.st_size > max_bytes:
            raise ModelError(f"{path} is {info.st_size / 1e6:.1f} MB, more than the {max_bytes / 1e6:g} MB "
                             "such a file can be: the folder is damaged")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ModelError(f"{path} grew past {max_bytes / 1e6:g} MB while it was read: the folder is damaged")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelError(f"{path} is not UTF-8 text: the folder is damaged") from None


def loads(text: str | bytes, source: str, *, max_depth: int = MAX_DEPTH,
          max_number_chars: int = MAX_NUMBER_CHARS) -> Any:
    """Parse JSON ``text`` within the bounds; ``source`` names it in the sentence."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise ModelError(f"{source} is not UTF-8 JSON: the file is damaged") from None
    where = _too_deep(text, max_depth)
    if where is not None:
        line = text.count("\n", 0, where) + 1
        raise ModelError(f"{source} nests more than {max_depth} levels deep (line {line}), which no model "
                         "file does: the file is damaged or hostile")

    def number(literal: str, convert):
        if len(literal) > max_number_chars:
            raise ModelError(f"{source} holds a number {len(literal)} characters long (at most "
                             f"{max_number_chars} are read): the file is damaged or hostile")
        value = convert(literal)
        if isinstance(value, float) and not math.isfinite(value):
            raise ModelError(f"{source} holds the number {literal[:20]}, which is too large to be a setting")
        return value

    def constant(name: str):
        raise ModelError(f"{source} holds {name}, which is not a number a model setting can be")

    try:
        return json.loads(text, parse_int=lambda s: number(s, int), parse_float=lambda s: number(s, float),
                          parse_constant=constant)
    except ModelError:
        raise
    except json.JSONDecodeError as err:
        raise ModelError(f"{source} is not valid JSON ({err.msg.lower()} at line {err.lineno}, column "
                         f"{err.colno}): the file is damaged") from None
    except (RecursionError, ValueError, OverflowError, MemoryError) as err:
        raise ModelError(f"{source} cannot be read as JSON ({type(err).__name__}): the file is damaged") from None


def read_object(path: Path, *, max_bytes: int = MAX_BYTES) -> dict:
    """A JSON file that must hold an object (every model folder file does)."""
    data = loads(read_text(path, max_bytes=max_bytes), str(path))
    if not isinstance(data, dict):
        raise ModelError(f"{path} is not a JSON object: the folder is damaged")
    return data
