"""The ``resonant`` command line (the room ``cli``: no Qt).

May import: ``engine``, ``tracks``, ``resonant_studio.core``, ``presets``, ``library``,
``generation``. Never Qt.

Each area adds its subcommands from a module of its own with a ``register(subparsers)``
function that sets ``func`` on its parsers; ``func(args) -> int`` returns the exit code.
Errors meant for a person are caught here and printed as one sentence, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from engine.errors import EngineError
from resonant_studio.core.errors import AppError
from resonant_studio.core.fast_blas import ensure_fast_blas
from tracks.errors import TracksError

COMMAND_MODULES = (
    "resonant_studio.cli.session",   # render, regenerate, lock, unlock, info
    "resonant_studio.cli.musicgen",  # musicgen generate (raw tool)
    "resonant_studio.cli.library",   # analyze, library index/search
    "resonant_studio.cli.presets",   # presets list
    "resonant_studio.cli.models",    # models list/pull/verify/remove
)

USER_ERRORS = (AppError, EngineError, TracksError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="resonant", description="Resonant Studio from the command line.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that area has not landed in this build
                continue
            raise
        module.register(sub)
    return parser


def _sentence(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text if text.endswith((".", "!", "?")) else text + "."


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # The reader went away (`resonant info X | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except USER_ERRORS as exc:
        print(f"resonant: {_sentence(exc)}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"resonant: {exc.strerror or exc}{where}.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("resonant: interrupted.", file=sys.stderr)
        return 130


def run() -> None:
    """The ``resonant`` console script: a fast BLAS for MLX on Linux, then ``main``."""
    ensure_fast_blas()
    sys.exit(main())


if __name__ == "__main__":
    run()
