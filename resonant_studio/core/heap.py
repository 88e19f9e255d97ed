"""Keeping the cyclic garbage collector off what lives as long as the process.

A full collection walks every tracked object with the GIL held. After start-up (modules, Qt
wrappers, tables) and after the library store's first open (qdrant_client, pydantic, protobuf)
that is ~140,000 objects each time, and the walk froze the window 65-250 ms in the middle of
an export or an indexing. ``freeze_long_lived`` moves everything alive now out of its sight
(``gc.freeze()``), and gives it back at exit (``gc.unfreeze()``), so the interpreter's last
collection still frees it: frozen, native objects (soxr's resamplers) were reported leaked.
"""

from __future__ import annotations

import atexit
import gc

_unfreeze_at_exit = False


def freeze_long_lived() -> None:
    global _unfreeze_at_exit
    gc.freeze()
    if not _unfreeze_at_exit:
        _unfreeze_at_exit = True
        atexit.register(gc.unfreeze)
