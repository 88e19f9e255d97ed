"""Output devices through sounddevice: listing them, re-scanning, and closing without hanging.

PortAudio reads the device list once, when it is initialised, so a device plugged in after
launch is only seen after a re-initialisation (``rescan``), which is safe only while no
stream is open. A stream whose device vanished can block forever in ``stop()``; ``close_stream``
therefore stops it on a worker thread with a timeout, then tries ``abort()`` the same way,
and gives up (leaving a daemon thread behind) rather than hang the app's Quit.
"""

from __future__ import annotations

import atexit
import threading
from contextlib import suppress
from typing import Any, Callable

STOP_TIMEOUT_S = 0.6
ABORT_TIMEOUT_S = 0.4


def load_backend() -> tuple[Any | None, str | None]:
    """(the sounddevice module, None), or (None, a sentence saying why it cannot be used)."""
    try:
        import sounddevice as sd
    except OSError:
        return None, "cannot play: the PortAudio library is not installed (on Debian/Ubuntu: apt-get install libportaudio2)"
    except ImportError:
        return None, "cannot play: the sounddevice package is not installed"
    return sd, None


RESCAN_TIMEOUT_S = 1.5


def rescan(sd: Any, timeout: float = RESCAN_TIMEOUT_S) -> bool:
    """Make PortAudio read the device list again (call only with no stream open).

    Runs on a worker thread: after a device vanished, PortAudio's terminate can block for
    good (seen with JACK killed mid-playback). False when it did not finish in ``timeout``.
    """
    terminate, initialize = getattr(sd, "_terminate", None), getattr(sd, "_initialize", None)
    if terminate is None or initialize is None:
        return True

    def run() -> None:
        try:
            terminate()
        finally:
            initialize()

    return _within(run, timeout)


def forget_on_exit(sd: Any) -> None:
    """Stop sounddevice terminating PortAudio when Python exits: with a stream stuck in a dead
    device, that terminate blocks, and Quit would hang after the window has closed."""
    handler = getattr(sd, "_exit_handler", None)
    if handler is not None:
        atexit.unregister(handler)


def output_devices(sd: Any) -> list[str]:
    """Names of the devices that can play (at least two output channels)."""
    try:
        devices = sd.query_devices()
    except Exception:  # PortAudio's own errors: no list to show
        return []
    return [str(d["name"]) for d in devices if int(d.get("max_output_channels", 0)) >= 2]


def _within(call: Callable[[], Any], timeout: float) -> bool:
    """Run ``call`` on a daemon thread; True if it returned (raising counts) within ``timeout``."""
    done = threading.Event()

    def run() -> None:
        try:
            with suppress(Exception):  # a stream whose device is gone raises here; finishing is what counts
                call()
        finally:
            done.set()

    threading.Thread(target=run, name="audio-close", daemon=True).start()
    return done.wait(timeout)


def close_stream(stream: Any, stop_timeout: float = STOP_TIMEOUT_S, abort_timeout: float = ABORT_TIMEOUT_S) -> str:
    """Stop and close ``stream`` without ever blocking longer than both timeouts together.

    Returns how it went: "stopped", "aborted" or "abandoned" (both calls hung).
    """
    if _within(stream.stop, stop_timeout):
        _within(stream.close, abort_timeout)
        return "stopped"
    if _within(stream.abort, abort_timeout):
        _within(stream.close, abort_timeout)
        return "aborted"
    return "abandoned"
