"""A path a person typed (a CLI argument, a dialog's text): usable, or one sentence why not.

``Path("a\\0b").exists()`` raises ValueError, ``Path("").name`` is empty, a 5000-character
name raises OSError from ``exists()`` itself, and ``~nobody/x`` raises RuntimeError from
``expanduser``: none of that should reach a person as a traceback.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path


def user_path(value: object, error: type[Exception], doing: str) -> Path:
    """``value`` as a Path, or ``error("cannot <doing> ...: why")``; ``~`` is expanded where it can be."""
    try:
        text = os.fspath(value)  # type: ignore[arg-type]
    except TypeError:
        raise error(f"cannot {doing} {value!r}: it is not a path") from None
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text.strip():
        raise error(f"cannot {doing}: no path was given")
    if "\0" in text:
        raise error(f"cannot {doing} {text!r}: a path cannot hold a NUL character")
    path = Path(text)
    with suppress(RuntimeError):  # "~someone" with no such user: keep it as typed
        path = path.expanduser()
    return path


def os_reason(err: OSError) -> str:
    """A short lower-case reason for an OSError ("file name too long")."""
    reason = err.strerror or str(err) or type(err).__name__
    return reason[0].lower() + reason[1:] if reason else reason
