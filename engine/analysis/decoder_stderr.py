"""Keep a C decoder's own notes off the terminal: fd 2 is pointed at a file around a decode.

libsndfile decodes MP3 with libmpg123, which prints to file descriptor 2 itself ("Note:
Illegal Audio-MPEG-Header ...", "[src/libmpg123/id3.c:...] warning: ..."), below Python's
``sys.stderr``, so neither ``contextlib.redirect_stderr`` nor a logging filter can catch it.
A person should read one sentence from us, not the decoder's notes before it. So, around an
MP3 decode only, fd 2 is duplicated away and pointed at a temporary file (not a pipe: a
pipe nobody reads fills up at 64 kB and blocks the decoder), and restored in ``finally``.

fd 2 belongs to the whole process, so two things follow:

* a lock keeps two decodes from nesting redirects (the inner restore would undo the outer);
* whatever *other* threads wrote meanwhile (a Python warning, a log line) is not the
  decoder's: it is written back to the real fd 2 afterwards, late but not lost. Only lines
  that look like the decoder's notes are kept back, in :attr:`Captured.notes`, for the
  caller to turn into its own sentence.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Iterator

_LOCK = threading.Lock()
MAX_CAPTURED = 1 << 20
"""Bytes of captured output looked at afterwards; a decoder that prints more is cut there."""
DECODER_NOTE = re.compile(r"^\s*(\[[^\]]*mpg123[^\]]*\]|Note:|Warning:|Error:|warning:|error:|mpg123)")


@dataclass
class Captured:
    notes: list[str] = field(default_factory=list)
    """The decoder's own lines, in order."""


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


@contextlib.contextmanager
def decoder_notes_captured() -> Iterator[Captured]:
    """While the block runs, fd 2 writes go to a temporary file; afterwards the decoder's notes
    are in the yielded :class:`Captured` and every other line is written to the real fd 2."""
    captured = Captured()
    with _LOCK:
        _flush()
        try:
            tmp = tempfile.TemporaryFile()
        except OSError:  # no writable temp folder: the notes show, nothing else goes wrong
            yield captured
            return
        with tmp:
            try:
                saved = os.dup(2)
            except OSError:  # no fd 2 at all (a windowed app): nothing to keep clean
                yield captured
                return
            try:
                os.dup2(tmp.fileno(), 2)
                yield captured
            finally:
                _flush()
                os.dup2(saved, 2)
                os.close(saved)
                tmp.seek(0)
                text = tmp.read(MAX_CAPTURED).decode("utf-8", errors="replace")
                others = []
                for line in text.splitlines(keepends=True):
                    (captured.notes if DECODER_NOTE.match(line) else others).append(line)
                captured.notes = [n.strip() for n in captured.notes]
                if others:
                    with contextlib.suppress(OSError):
                        os.write(2, "".join(others).encode("utf-8", errors="replace"))
