"""``resonant presets list [--json]``, and the preset options other commands add.

``add_preset_arguments(parser)`` gives a command --preset/--role/--quality/--explain,
--context-file, --prepend/--append and explicit overrides (--tempo, --key, --duration, ...);
``resolve_from_args(args, prompt, seed)`` turns them into a ``ResolvedConfig``.
"""

from __future__ import annotations

import argparse
import json
import stat
import sys
from pathlib import Path
from typing import Any

from resonant_studio.core.errors import AppError
from resonant_studio.core.model_catalog import model_present
from resonant_studio.presets.resolve import ResolvedConfig, resolve
from resonant_studio.presets.schema import (TIER_ORDER, DURATION_MODES, GENERATION_TYPES, MAX_DURATION_S, PresetError,
                                           check_value, number, parse_key)
from resonant_studio.presets.store import describe_problems, load_presets, user_preset_dir

MAX_CONTEXT_BYTES = 1_000_000


def _arg(kind, what: str):
    """An argparse type from a schema type, so the CLI and preset files accept the same values."""
    def convert(text: str) -> Any:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} is a number, not {text!r}") from None
        try:
            return check_value(kind, value, "the command line", what)
        except PresetError as exc:
            raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[1]) from None
    return convert


def _key(text: str) -> str:
    try:
        parse_key(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a key is a note and a mode such as 'A minor', not {text!r}") from None
    return text.strip()


def add_preset_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("presets", "style, role and quality presets (see `resonant presets list`)")
    g.add_argument("--preset", "--style", dest="style", metavar="STYLE", help="style preset, e.g. ambient_lofi")
    g.add_argument("--role", metavar="ROLE", help="what the music is for, e.g. background_bed or ui_sfx")
    g.add_argument("--quality", metavar="TIER", help="sketch (composer, default), preview, render or high_end")
    g.add_argument("--explain", action="store_true", help="print the resolved configuration, layer by layer")
    g.add_argument("--context-file", type=Path, metavar="FILE",
                   help="a text whose topic and mood the music should fit (e.g. an article or answer)")
    g.add_argument("--prepend", metavar="TEXT", help="words put before the composed prompt")
    g.add_argument("--append", metavar="TEXT", help="words put after the composed prompt")
    g.add_argument("--tempo", type=_arg(number(30, 300), "tempo"), metavar="BPM", help="tempo (beats per minute)")
    g.add_argument("--key", type=_key, metavar="KEY", help="key, e.g. 'F# minor'")
    g.add_argument("--duration", type=_arg(number(high=MAX_DURATION_S, above=0), "duration"), metavar="SECONDS",
                   help="length in seconds (the takes are cut or padded to it)")
    g.add_argument("--duration-mode", choices=DURATION_MODES, help="crop, pad or strict (default: from the role)")
    g.add_argument("--normalize", type=_arg(number(-70, 0), "normalize"), metavar="LUFS", dest="loudness_lufs",
                   help="level the takes to this loudness (never clipping)")
    for name, kind in GENERATION_TYPES.items():
        flag = "--" + name.replace("_", "-")
        g.add_argument(flag, dest=name, type=_arg(kind, name), metavar="N", help=f"sampling {name}")


def read_context_file(path: Path):
    from engine.text_context import read_text_context

    try:
        info = path.stat()
        size = info.st_size
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
            # A FIFO would block until a writer comes, /dev/zero would read forever.
            raise AppError(f"{path} is a pipe or a device, not a text file: save the text to a file first")
        if size > MAX_CONTEXT_BYTES:
            raise AppError(f"{path} is {size // 1000} kB: a context text can be at most {MAX_CONTEXT_BYTES // 1000} kB")
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise AppError(f"there is no context file {path}") from None
    except IsADirectoryError:
        raise AppError(f"{path} is a folder: --context-file wants a text file") from None
    return read_text_context(text)


def resolve_from_args(args: argparse.Namespace, prompt: str, seed: int) -> ResolvedConfig:
    """The configuration ``args`` ask for; problems with user presets are printed, not fatal."""
    library = load_presets()
    text_context = read_context_file(args.context_file) if getattr(args, "context_file", None) else None
    explicit = {name: getattr(args, name, None) for name in (
        "engine", "tempo", "key", "duration", "duration_mode", "loudness_lufs", "prepend", "append",
        "top_k", "top_p", "temperature", "cfg_coef")}
    if getattr(args, "bars", None) is not None:
        explicit["bars"] = args.bars
    resolved = resolve(library, user_prompt=prompt or "", style=args.style, role=args.role, quality=args.quality,
                       seed=seed, explicit=explicit, text_context=text_context)
    # Reported once the run goes ahead: when it fails, its one sentence already says why a
    # preset it asked for was skipped.
    for line in describe_problems(library.problems):
        print(f"resonant: {line}", file=sys.stderr)
    return resolved


# --- presets list ---------------------------------------------------------------------------------
def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("presets", help="list the style, role and quality presets",
                       description="Built-in presets, and yours from the user preset folder.")
    psub = p.add_subparsers(dest="presets_command", metavar="ACTION")
    psub.required = True
    lp = psub.add_parser("list", help="list every preset")
    lp.add_argument("--json", action="store_true", help="machine-readable output")
    lp.set_defaults(func=cmd_list)


def _tier_status(preset) -> str:
    model = preset.data.get("model")
    if preset.data.get("engine") == "musicgen" and model:
        return "ready" if model_present(model) else "model missing"
    return "ready"


def cmd_list(args: argparse.Namespace) -> int:
    library = load_presets()
    if args.json:
        items = []
        for preset in library:
            item = preset.summary()
            if preset.kind == "quality":
                item["status"] = _tier_status(preset)
            items.append(item)
        print(json.dumps({"presets": items, "problems": library.problems,
                          "user_dir": str(user_preset_dir())}, indent=2))
        return 0
    for kind, title in (("style", "Styles"), ("role", "Roles"), ("quality", "Quality tiers")):
        print(f"{title}:")
        presets = library.of_kind(kind)
        if kind == "quality":
            presets.sort(key=lambda q: (TIER_ORDER.index(q.name) if q.name in TIER_ORDER else len(TIER_ORDER), q.name))
        for preset in presets:
            mark = "" if preset.builtin else " (yours)"
            extra = ""
            if kind == "style" and "tempo" in preset.data:
                low, high = preset.data["tempo"]
                extra = f" [{low:g}-{high:g} bpm]"
            elif kind == "role" and "duration" in preset.data:
                d = preset.data["duration"]
                extra = f" [{d.get('min', 0):g}-{d.get('max', 0):g} s{', loops' if preset.data.get('loop') else ''}]"
            elif kind == "quality":
                model = preset.data.get("model") or preset.data.get("engine", "composer")
                extra = f" [{model}, up to {preset.data.get('max_duration', 0):g} s, {_tier_status(preset)}]"
            print(f"  {preset.name:<20}{preset.description}{extra}{mark}")
    print(f"Your presets folder: {user_preset_dir()}")
    for line in describe_problems(library.problems):
        print(f"resonant: {line}", file=sys.stderr)
    return 0
