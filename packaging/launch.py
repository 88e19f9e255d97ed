"""Frozen-app entry point: the same launcher as ``resonant-studio``.

The library analyses generations in a helper process (resonant_studio/library/helper_process.py,
``spawn``); in a frozen app that process is this executable started again, and
``freeze_support`` turns such a start into the helper instead of a second window.
"""

import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from resonant_studio.qt.app import run

    run()
