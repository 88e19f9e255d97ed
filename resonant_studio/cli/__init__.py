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

from resonant_studio.core.fast_blas import ensure_fast_blas

COMMANDS = {
    # command: (module that registers it, its line in `resonant --help`). Only the module of the
    # command being run is imported, so `resonant --help` answers without loading numpy or MLX;
    # tests/test_cli.py checks this table against what the modules register.
    "render": ("session", "generate a new session from a prompt and export it"),
    "regenerate": ("session", "add a new take to one track of a project"),
    "export": ("session", "export a project's mix, stems and MIDI"),
    "lock": ("session", "lock a track so regeneration leaves it alone"),
    "unlock": ("session", "unlock a track so regeneration may change it"),
    "import": ("session", "add an audio file to a project as a locked track that every engine fits"),
    "info": ("session", "show a project's tempo, key, tracks and takes"),
    "musicgen": ("musicgen", "run MusicGen directly (raw model output)"),
    "analyze": ("library", "tempo, key, loudness and more of an audio file"),
    "library": ("library", "index your music and find songs like a reference"),
    "presets": ("presets", "list the style, role and quality presets"),
    "models": ("models", "download, verify and remove MusicGen checkpoints"),
}

NO_MLX = {"lock", "unlock", "info", "export", "presets", "import"}
"""Commands that never run MLX, so they need no fast-BLAS re-exec."""


def user_errors() -> tuple[type[Exception], ...]:
    """The project's own error classes: their message is the sentence a person reads. Anything
    else is a bug and keeps its traceback. Imported when needed: they pull in numpy."""
    from engine.errors import EngineError
    from resonant_studio.core.errors import AppError
    from tracks.errors import TracksError

    return (AppError, EngineError, TracksError)


class UsageError(Exception):
    """Bad command-line words: one sentence, exit code 1 (argparse would print its usage, exit 2)."""


class SentenceParser(argparse.ArgumentParser):
    def error(self, message: str):  # noqa: D102 (argparse's hook)
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _command_in(argv: Sequence[str]) -> str | None:
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] = (), *, load_all: bool = False) -> argparse.ArgumentParser:
    """The parser, with the full options of the command in ``argv`` (of every command with
    ``load_all``) and a one-line entry for each of the others."""
    parser = SentenceParser(prog="resonant", description="Resonant Studio from the command line.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    command = _command_in(argv)
    wanted = {module for module, _ in COMMANDS.values()} if load_all else (
        {COMMANDS[command][0]} if command else set())
    for module in sorted(wanted):
        importlib.import_module(f"{__name__}.{module}").register(sub)
    for name, (_, help_text) in COMMANDS.items():
        if name not in sub.choices:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _sentence(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text if text.endswith((".", "!", "?")) else text + "."


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(argv).parse_args(argv)
    except UsageError as exc:
        print(f"resonant: {_sentence(exc)}", file=sys.stderr)
        return 1
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # The reader went away (`resonant info X | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except user_errors() as exc:
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
    """The ``resonant`` console script: a fast BLAS for MLX on Linux (when the command may use
    MLX), then ``main``."""
    argv = sys.argv[1:]
    command = _command_in(argv)
    if command is not None and command not in NO_MLX and not {"-h", "--help"} & set(argv):
        ensure_fast_blas()
    sys.exit(main())


if __name__ == "__main__":
    run()
