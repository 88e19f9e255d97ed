"""``resonant-studio`` / ``python -m resonant_studio`` / ``make run``: open the studio window.

Anything that stops the window from opening (no screen, a missing system library) is said
in one sentence on stderr with exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import ctypes.util
import os
import sys
from typing import Sequence

from resonant_studio import __version__
from resonant_studio.core.fast_blas import ensure_fast_blas

STARTUP_PROBE = "RESONANT_STARTUP_PROBE"
NO_SCREEN = ("resonant-studio needs a screen: no display was found "
             "(set DISPLAY, or QT_QPA_PLATFORM=offscreen for a headless check)")


def screen_problem(environ: dict[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why Qt could not open a window here, as a sentence; None when it should work.

    Qt's own failure here is an abort with a multi-line plugin message, so the common cases
    are checked first.
    """
    env = os.environ if environ is None else environ
    platform = platform or sys.platform
    if not platform.startswith("linux"):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "")
    if qpa and qpa.split(":")[0] not in ("xcb", "wayland"):
        return None  # offscreen, vnc, eglfs...: the person chose it
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return NO_SCREEN
    uses_xcb = qpa.startswith("xcb") or (not qpa and not env.get("WAYLAND_DISPLAY"))
    if uses_xcb and ctypes.util.find_library("xcb-cursor") is None:
        return ("resonant-studio cannot open a window: Qt needs the X11 library libxcb-cursor0 "
                "(on Debian/Ubuntu: apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1)")
    return None


def _report_unexpected_errors(window) -> None:
    """A bug in a slot must not pass silently or end the session: the details go to stderr,
    a sentence to the window, and the app keeps running."""
    previous = sys.excepthook

    def hook(kind, value, tb) -> None:
        previous(kind, value, tb)
        try:
            window.notifier.error(f"something went wrong ({kind.__name__}: {value}); the details are in "
                                  "the terminal. Save your work")
        except Exception:  # the window itself may be gone
            pass

    sys.excepthook = hook


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="resonant-studio", description="Open the Resonant Studio window.")
    parser.add_argument("project", nargs="?", help="a project folder (Name.resonant) to open")
    parser.add_argument("--version", action="version", version=f"resonant-studio {__version__}")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    problem = screen_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    try:
        from PySide6.QtWidgets import QApplication

        from resonant_studio.qt.main_window import MainWindow
        from widgets.theme import apply_dark_theme
    except ImportError as exc:
        print(f"resonant-studio cannot start: {exc.name or exc} is not installed "
              "(run `make run`, which installs the dependencies)", file=sys.stderr)
        return 1

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Resonant Studio")
    app.setOrganizationName("Resonant")
    app.setApplicationVersion(__version__)
    apply_dark_theme(app)
    window = MainWindow()
    _report_unexpected_errors(window)
    window.show()
    if os.environ.get(STARTUP_PROBE):  # benchmarks/startup.py: say when the window is up, then quit
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, lambda: (print("window shown", flush=True), app.quit()))
    elif not window.projects.check_recovery() and args.project:
        window.open_project(args.project)
    code = app.exec()
    window.shutdown()
    return int(code)


def run() -> None:
    """The ``resonant-studio`` launcher: a fast BLAS for MLX on Linux, then the window."""
    ensure_fast_blas()
    sys.exit(main())


if __name__ == "__main__":
    run()
