"""Bounded parsing of JSON and YAML that a person (or a hostile file) hands the app.

``json.loads`` and ``yaml.safe_load`` are safe from code execution but not from size: a
10,000-deep list raises RecursionError, a 5000-digit number ValueError, ``1e999`` becomes
infinity, and a "billion laughs" YAML document (aliases of aliases) expands to gigabytes
and never returns. These loaders refuse all of that up front, with one sentence that names
the file, so a caller only ever sees :class:`SafeLoadError`:

* the file must be a regular file (no FIFO, device or folder) of at most ``max_bytes``;
* containers may nest at most ``max_depth`` deep;
* a number literal may hold at most ``max_number_chars`` characters and must be finite;
* YAML aliases (``*name``) are refused outright: no preset or config needs them, and
  refusing them is the only bound on expansion that costs nothing to check.

Nothing but the standard library and PyYAML, so every layer may use it: ``tracks`` and the
app layer (session.json, autosave, settings) and the engine's model folders (config.json,
indexes, tokenizer settings, MusicGen-Stem's xp.cfg), which turn :class:`SafeLoadError` into
their own error class. It is the one module of ``engine/`` that ``tracks/`` imports
(tests/test_layering.py).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
MAX_NUMBER_CHARS = 100


class SafeLoadError(ValueError):
    """A file cannot be parsed within the bounds; the message is one sentence naming it."""


# --- reading the bytes -----------------------------------------------------------------------
def read_text_bounded(path: str | os.PathLike, *, max_bytes: int = MAX_BYTES, follow_symlinks: bool = True) -> str:
    """The UTF-8 text of a regular file no larger than ``max_bytes``.

    With ``follow_symlinks=False`` a symbolic link is refused rather than followed (project
    files use this so a crafted project cannot make the app read outside its folder).
    """
    p = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
        if p.is_symlink():
            raise SafeLoadError(f"{p} is a symbolic link, which this app does not follow here")
    try:
        fd = os.open(p, flags)
    except FileNotFoundError:
        raise
    except OSError as err:
        reason = (err.strerror or str(err)).lower()
        raise SafeLoadError(f"{p} cannot be read ({reason})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise SafeLoadError(f"{p} is not a regular file (a folder, pipe or device), so it was not read")
    with os.fdopen(fd, "rb") as f:
        if info.st_size > max_bytes:
            raise SafeLoadError(f"{p} is {info.st_size / 1e6:.1f} MB, more than the {max_bytes / 1e6:g} MB "
                                "this app reads from such a file")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew while we read it
        raise SafeLoadError(f"{p} is more than the {max_bytes / 1e6:g} MB this app reads from such a file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SafeLoadError(f"{p} is not UTF-8 text") from None


# --- JSON ------------------------------------------------------------------------------------
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _json_depth(text: str, max_depth: int) -> int | None:
    """The position of the first bracket deeper than ``max_depth``, or None (strings skipped)."""
    depth = 0
    for m in _JSON_TOKENS.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > max_depth:
                return m.start()
        elif c in "]}":
            depth -= 1
    return None


def loads_json(text: str, source: str, *, max_depth: int = MAX_DEPTH,
               max_number_chars: int = MAX_NUMBER_CHARS) -> Any:
    """Parse JSON ``text`` (from ``source``, named in errors) within the bounds."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise SafeLoadError(f"{source} is not UTF-8 text") from None
    where = _json_depth(text, max_depth)
    if where is not None:
        line = text.count("\n", 0, where) + 1
        raise SafeLoadError(f"{source} nests more than {max_depth} levels deep (line {line}), "
                            "more than any file this app writes")

    def number(literal: str, convert):
        if len(literal) > max_number_chars:
            raise SafeLoadError(f"{source} holds a number {len(literal)} characters long "
                                f"(at most {max_number_chars} are read)")
        value = convert(literal)
        if isinstance(value, float) and not math.isfinite(value):
            raise SafeLoadError(f"{source} holds the number {literal[:20]}, which is too large to use")
        return value

    def constant(name: str):
        raise SafeLoadError(f"{source} holds {name}, which is not a number this app accepts")

    try:
        return json.loads(text, parse_int=lambda s: number(s, int), parse_float=lambda s: number(s, float),
                          parse_constant=constant)
    except SafeLoadError:
        raise
    except json.JSONDecodeError as err:
        raise SafeLoadError(f"{source} is not valid JSON ({err.msg.lower()} at line {err.lineno}, "
                            f"column {err.colno})") from None
    except (RecursionError, ValueError, OverflowError, MemoryError) as err:
        raise SafeLoadError(f"{source} cannot be read as JSON ({type(err).__name__}: {err})") from None


def load_json_file(path: str | os.PathLike, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
                   max_number_chars: int = MAX_NUMBER_CHARS, follow_symlinks: bool = True) -> Any:
    """Read and parse a JSON file within the bounds (FileNotFoundError passes through)."""
    text = read_text_bounded(path, max_bytes=max_bytes, follow_symlinks=follow_symlinks)
    return loads_json(text, str(path), max_depth=max_depth, max_number_chars=max_number_chars)


# --- YAML ------------------------------------------------------------------------------------
def loads_yaml(text: str, source: str, *, max_depth: int = MAX_DEPTH,
               max_number_chars: int = MAX_NUMBER_CHARS, max_bytes: int = MAX_BYTES, finite: bool = True) -> Any:
    """Parse one YAML document safely: no aliases, bounded depth, size and number length
    (and, with ``finite``, no ``.inf`` or ``.nan``)."""
    import yaml

    if len(text) > max_bytes:
        raise SafeLoadError(f"{source} is more than the {max_bytes / 1e6:g} MB this app reads from such a file")

    number_tags = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}

    class BoundedLoader(yaml.SafeLoader):
        _depth = 0

        def compose_node(self, parent, index):  # noqa: D401 - PyYAML's hook
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise SafeLoadError(f"{source} uses a YAML alias (line {mark.line + 1}); aliases are not "
                                    "accepted here, so write the value out")
            self._depth += 1
            try:
                if self._depth > max_depth:
                    mark = self.peek_event().start_mark
                    raise SafeLoadError(f"{source} nests more than {max_depth} levels deep (line {mark.line + 1})")
                node = super().compose_node(parent, index)
            finally:
                self._depth -= 1
            if isinstance(node, yaml.ScalarNode) and node.tag in number_tags and len(node.value) > max_number_chars:
                raise SafeLoadError(f"{source} holds a number {len(node.value)} characters long "
                                    f"(line {node.start_mark.line + 1}; at most {max_number_chars} are read)")
            return node

    try:
        data = yaml.load(text, Loader=BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    except SafeLoadError:
        raise
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SafeLoadError(f"{source} is not valid YAML ({err.problem or 'syntax error'}{at})") from None
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError, MemoryError) as err:
        raise SafeLoadError(f"{source} cannot be read as YAML ({type(err).__name__}: {err})") from None
    bad = _first_non_finite(data) if finite else None
    if bad is not None:
        raise SafeLoadError(f"{source} holds {bad}, which is not a number this app accepts")
    return data


def _first_non_finite(data: Any) -> str | None:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return repr(item)
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def load_yaml_file(path: str | os.PathLike, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
                   max_number_chars: int = MAX_NUMBER_CHARS, follow_symlinks: bool = True) -> Any:
    """Read and parse a YAML file within the bounds (FileNotFoundError passes through)."""
    text = read_text_bounded(path, max_bytes=max_bytes, follow_symlinks=follow_symlinks)
    return loads_yaml(text, str(path), max_depth=max_depth, max_number_chars=max_number_chars,
                      max_bytes=max_bytes)
