"""``resonant models list | pull | verify | remove``: the model manager from the shell.

``pull`` shows bytes, speed and time left on stderr when it is a terminal; Ctrl+C keeps what
was fetched so the next ``pull`` resumes.
"""

from __future__ import annotations

import argparse
import json
import sys

from resonant_studio.core.model_catalog import KNOWN_MODELS
from resonant_studio.core.model_store import GB, ModelState, ModelStore, PullProgress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="download, verify and remove MusicGen checkpoints",
                       description="The checkpoints the engines use, in the models folder "
                                   "(RESONANT_MODELS_DIR to move it). Downloads honour HF_ENDPOINT, "
                                   "HF_HUB_OFFLINE and HF_TOKEN.")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")
    msub.required = True
    lp = msub.add_parser("list", help="every known model with its tier, size and state")
    lp.add_argument("--json", action="store_true", help="machine-readable output")
    lp.set_defaults(func=cmd_list)
    pp = msub.add_parser("pull", help="download, verify and convert a model (resumes an interrupted one)")
    pp.add_argument("name", choices=tuple(KNOWN_MODELS), metavar="NAME")
    pp.set_defaults(func=cmd_pull)
    vp = msub.add_parser("verify", help="check files against the hub's hashes (every installed model if no NAME)")
    vp.add_argument("name", nargs="?", choices=tuple(KNOWN_MODELS), metavar="NAME")
    vp.set_defaults(func=cmd_verify)
    rp = msub.add_parser("remove", help="delete a model, its partial download and its converted cache")
    rp.add_argument("name", choices=tuple(KNOWN_MODELS), metavar="NAME")
    rp.set_defaults(func=cmd_remove)


def _size(state: ModelState) -> str:
    if not state.size:
        return "?"
    return f"{state.size / GB:.1f} GB" if state.size >= 0.1 * GB else f"{state.size / 1e6:.1f} MB"


def cmd_list(args: argparse.Namespace) -> int:
    store = ModelStore()
    states = store.states()
    if args.json:
        print(json.dumps({"models_dir": str(store.root), "models": [s.to_dict() for s in states]}, indent=2))
        return 0
    print(f"{'name':<24}{'tier':<10}{'size':>9}  {'state':<8} path")
    for s in states:
        print(f"{s.info.name:<24}{s.info.tier or '-':<10}{_size(s):>9}  {s.state:<8} {s.path}")
        if s.problem and s.state != "missing":
            print(f"{'':<24}{s.problem}")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    tty = sys.stderr.isatty()

    def report(p: PullProgress) -> None:
        if tty:
            print(f"\r{p.name}: {p.describe():<70}", end="\n" if p.stage == "done" else "", file=sys.stderr, flush=True)

    try:
        state = ModelStore().pull(args.name, report)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        print(f"resonant: stopped; run `resonant models pull {args.name}` again to resume.", file=sys.stderr)
        return 130
    print(f"{state.info.name}: {state.state} in {state.path} ({_size(state)})")
    return 0 if state.state == "ready" else 1


def cmd_verify(args: argparse.Namespace) -> int:
    store = ModelStore()
    names = [args.name] if args.name else [s.info.name for s in store.states() if s.state in ("ready", "broken")]
    if not names:
        print("No models installed: `resonant models pull musicgen-small` fetches the preview tier's.")
        return 0
    failed = 0
    for name in names:
        state = store.verify(name)
        if state.state == "ready":
            print(f"{name}: every file matches the hub's hashes and the engine reads it")
        elif state.state == "broken":
            failed += 1
            print(f"{name}: broken: {state.problem}; `resonant models pull {name}` fetches it again", file=sys.stderr)
        else:
            failed += 1
            print(f"{name}: {state.state}, nothing to verify", file=sys.stderr)
    return 1 if failed else 0


def cmd_remove(args: argparse.Namespace) -> int:
    gone = ModelStore().remove(args.name)
    if not gone:
        print(f"{args.name} is not installed.")
        return 0
    for path in gone:
        print(f"removed {path}")
    return 0
