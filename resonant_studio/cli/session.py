"""``resonant render | regenerate | export | lock | unlock | info``: sessions from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine.backends import available_backends
from engine.prompt import describe
from resonant_studio.generation import studio
from resonant_studio.cli import args as cli_args
from resonant_studio.cli.presets import add_preset_arguments, resolve_from_args
from resonant_studio.presets.explain import explain
from resonant_studio.generation.preset_render import generate_with_config, new_session_from_config, regenerate_tracks
from resonant_studio.core.errors import AppError
from resonant_studio.core.model_catalog import default_engine_options
from tracks import Session
from resonant_studio.core.export import Exported, run_export
from tracks.export_choices import ExportChoices
from tracks.project import load_project, save_project
from tracks.project_lock import changing_project

PROJECT_SUFFIX = ".resonant"





def _add_engine_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", default="composer", choices=available_backends(),
                   help="generation engine (default: composer, instant and needs no weights)")
    p.add_argument("--model", metavar="DIR", help="model folder for the musicgen and musicgen-stem engines")
    p.add_argument("--text-encoder", metavar="DIR",
                   help="musicgen-stem: t5-base or a MusicGen folder with its text encoder (default: MODEL/t5)")


def _add_export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("wav", "flac", "mp3"), default="wav", help="audio format of the exports")
    p.add_argument("--bit-depth", type=int, choices=(16, 24, 32), default=24,
                   help="bits per sample: 16, 24 (default) or 32 (float, WAV only); MP3 ignores it")
    p.add_argument("--lufs", type=cli_args.lufs, metavar="LUFS", help="normalise the mix to this loudness (e.g. -14)")
    p.add_argument("--stems", action="store_true", help="also write one file per audible track")
    p.add_argument("--midi", action="store_true", help="also write a MIDI file of the symbolic parts")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="generate a new session from a prompt and export it",
                       description="Generate every part from PROMPT, save the project and export the mix.")
    p.add_argument("prompt", nargs="?", default="",
                   help='what the music is, e.g. "dark techno 128 bpm in A minor, 8 bars" (may be left out '
                        'with --preset or --context-file)')
    p.add_argument("--bars", type=cli_args.positive_int, help="length in bars (overrides the prompt)")
    p.add_argument("--seed", type=cli_args.seed, help="random seed; the same seed gives the same audio")
    p.add_argument("--out", type=Path, default=Path("."), metavar="DIR", help="folder to write into (default: here)")
    p.add_argument("--name", help="project name (default: from the prompt)")
    p.add_argument("--sample-rate", type=int, default=44100, choices=(32000, 44100, 48000))
    _add_engine_arguments(p)
    _add_export_arguments(p)
    add_preset_arguments(p)
    p.set_defaults(func=cmd_render, engine=None)  # no --engine: the quality tier picks it

    p = sub.add_parser("regenerate", help="add a new take to one track of a project",
                       description="Regenerate one track so it fits the others; the old takes stay in its history.")
    p.add_argument("project", type=Path)
    p.add_argument("--track", required=True, metavar="ROLE_OR_NAME")
    p.add_argument("--seed", type=cli_args.seed)
    p.add_argument("--prompt", default="", help="extra words for this part, e.g. \"acid bass\"")
    _add_engine_arguments(p)
    p.set_defaults(func=cmd_regenerate)

    p = sub.add_parser("export", help="export a project's mix, stems and MIDI")
    p.add_argument("project", type=Path)
    p.add_argument("--out", type=Path, metavar="DIR", help="folder to write into (default: beside the project)")
    _add_export_arguments(p)
    p.set_defaults(func=cmd_export)

    for name, locked in (("lock", True), ("unlock", False)):
        p = sub.add_parser(name, help=f"{name} a track so regeneration {'leaves it alone' if locked else 'may change it'}")
        p.add_argument("project", type=Path)
        p.add_argument("track", metavar="TRACK")
        p.set_defaults(func=cmd_lock, locked=locked)

    p = sub.add_parser("import", help="add an audio file to a project as a locked track that every engine fits",
                       description="Listen to FILE (tempo, downbeat, drum hits, chords, key), fit it to the project's "
                                   "tempo and length, and add it as a locked track. A PROJECT that does not exist yet "
                                   "is made at the file's own tempo, key and length.")
    p.add_argument("project", type=Path)
    p.add_argument("file", type=Path)
    p.add_argument("--role", choices=("drums", "bass", "harmony", "melody", "other"),
                   help="what the track is (default: proposed from the audio)")
    p.add_argument("--at", type=cli_args.positive_int, default=1, metavar="BAR", help="bar it starts at (default 1)")
    p.add_argument("--keep-tempo", action="store_true", help="do not time-stretch it to the project's tempo")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("info", help="show a project's tempo, key, tracks and takes")
    p.add_argument("project", type=Path)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)


# --- helpers -------------------------------------------------------------------------------
def _engine_options(args: argparse.Namespace) -> dict[str, Any]:
    if args.engine == "musicgen":
        if not args.model:  # the tier's model from the models folder (preview's when no MusicGen tier is asked)
            return default_engine_options("musicgen", getattr(args, "quality", None))
        return {"model_dir": args.model}
    if args.engine == "musicgen-stem":
        if not args.model:
            raise AppError("the musicgen-stem engine needs a model folder: pass --model DIR "
                           "(see `resonant models list` for musicgen-stem-6cb / -7cb)")
        options = {"model_dir": args.model}
        if getattr(args, "text_encoder", None):
            options["text_dir"] = args.text_encoder
        return options
    if args.model:
        raise AppError(f"--model is for the musicgen engines, not {args.engine}")
    return {}


def _free_project_path(out: Path, name: str) -> Path:
    candidate = out / f"{name}{PROJECT_SUFFIX}"
    n = 2
    while candidate.exists() or (out / f"{candidate.stem}.wav").exists() or (out / f"{candidate.stem}.flac").exists():
        candidate = out / f"{name}-{n}{PROJECT_SUFFIX}"
        n += 1
    return candidate


def _check_writable_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise AppError(f"cannot write to {out}: it is a file, not a folder")
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise AppError(f"cannot write to {out}: {probe} is a file, not a folder")


def _export_all(session: Session, out: Path, stem: str, args: argparse.Namespace, *,
                before_commit=None) -> Exported:
    choices = ExportChoices(folder=out, name=stem, mix=True, stems=args.stems, midi=args.midi, format=args.format,
                            bit_depth=args.bit_depth, target_lufs=args.lufs)
    return run_export(session, choices, before_commit=before_commit)


def _print_exports(ex: Exported) -> None:
    print(f"  mix:     {ex.mix}")
    for path in ex.stems:
        print(f"  stem:    {path}")
    if ex.midi is not None:
        print(f"  midi:    {ex.midi}")
    for note in ex.notes:
        print(f"  note:    {note}")


# --- commands ------------------------------------------------------------------------------
def cmd_render(args: argparse.Namespace) -> int:
    options = _engine_options(args) if args.engine else None  # else the tier's model (checked there)
    _check_writable_folder(args.out)
    seed = studio.new_seed() if args.seed is None else args.seed
    config = resolve_from_args(args, args.prompt, seed)
    if args.explain:
        print(explain(config))
    session = new_session_from_config(config, sample_rate=args.sample_rate, name=args.name)
    generate_with_config(session, config, engine_options=options,
                         progress=_progress_printer() if sys.stderr.isatty() else None)
    folder = _free_project_path(args.out, studio.slugify(session.name))
    session.name = folder.stem
    # all or nothing: the exports are staged, the project saved, then the exports renamed into place
    exported = _export_all(session, args.out, folder.stem, args, before_commit=lambda: save_project(session, folder))
    print(f"Rendered {session.name}: {describe(studio.context_of(session))}, seed {seed}")
    print(f"  project: {folder}")
    _print_exports(exported)
    return 0


def cmd_regenerate(args: argparse.Namespace) -> int:
    options = _engine_options(args)
    seed = studio.new_seed() if args.seed is None else args.seed
    # the project is locked from the open to the save: a second writer (the window, another
    # command) is told who holds it instead of one of them losing its change
    with changing_project(args.project, what="resonant regenerate") as session:
        track = session.track(args.track)
        context = studio.part_context(session, track, args.prompt)
        prompt = args.prompt or session.prompt
        regenerate_tracks(session, [track], seed=seed, engine=args.engine, engine_options=options, prompt=prompt,
                          context=context)  # cut, looped and levelled like the takes beside it
    print(f"{track.name}: take {track.active_index + 1} of {len(track.takes)} (seed {seed}, {args.engine})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    session = load_project(args.project)
    out = args.out if args.out is not None else args.project.resolve().parent
    _check_writable_folder(out)
    stem = args.project.name[: -len(PROJECT_SUFFIX)] if args.project.name.endswith(PROJECT_SUFFIX) else args.project.name
    exported = _export_all(session, out, stem, args)
    print(f"Exported {session.name}:")
    _print_exports(exported)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from resonant_studio.core.imports import apply_import, prepare_import

    project = args.project
    exists = project.exists() or project.with_name(project.name + PROJECT_SUFFIX).exists()
    if not exists:
        prepared = prepare_import(args.file, None, role=args.role, at_bar=args.at, keep_tempo=args.keep_tempo)
        session, track = apply_import(None, prepared)
        session.name = project.name[: -len(PROJECT_SUFFIX)] if project.name.endswith(PROJECT_SUFFIX) else project.name
        folder = save_project(session, project)
    else:
        with changing_project(project, what="resonant import") as session:
            prepared = prepare_import(args.file, studio.context_of(session), sample_rate=session.sample_rate,
                                      role=args.role, at_bar=args.at, keep_tempo=args.keep_tempo)
            session, track = apply_import(session, prepared)
        folder = project
    f = prepared.original_features
    info = prepared.conform_info or {}
    tempo = f"{f.tempo:.1f} bpm" if f.tempo else "no clear tempo"
    print(f"{track.name}: {track.role} (proposed {prepared.role_proposed}), {tempo}, {f.key_name}, locked")
    if info and abs(info.get("stretch_rate", 1.0) - 1.0) > 1e-4:
        print(f"  fitted to {session.tempo:g} bpm (stretched x{info['stretch_rate']:.3f}); the original is take 1")
    for warning in prepared.warnings:
        print(f"  note:    {warning}")
    print(f"  project: {folder}")
    return 0


def cmd_lock(args: argparse.Namespace) -> int:
    with changing_project(args.project, what=f"resonant {'lock' if args.locked else 'unlock'}") as session:
        track = session.track(args.track)
        already = track.locked == args.locked
        track.locked = args.locked
    if already:
        print(f"{track.name} is already {'locked' if args.locked else 'unlocked'}.")
        return 0
    print(f"{track.name} {'locked' if args.locked else 'unlocked'}.")
    return 0


def session_summary(session: Session) -> dict[str, Any]:
    num, den = session.meter
    return {
        "name": session.name,
        "prompt": session.prompt,
        "tempo": session.tempo,
        "key": session.key_name,
        "meter": f"{num}/{den}",
        "bars": session.bars,
        "duration": round(session.duration, 3),
        "sample_rate": session.sample_rate,
        "tracks": [
            {
                "name": t.name,
                "role": t.role,
                "locked": t.locked,
                "muted": t.muted,
                "solo": t.solo,
                "gain_db": t.gain_db,
                "pan": t.pan,
                "takes": len(t.takes),
                "active_take": None if t.active_index is None else t.active_index + 1,
                "seed": t.active_take.seed if t.active_take else None,
                "backend": t.active_take.backend if t.active_take else None,
            }
            for t in session.tracks
        ],
    }


def cmd_info(args: argparse.Namespace) -> int:
    info = session_summary(load_project(args.project))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{info['name']}: {info['tempo']:g} bpm, {info['meter']}, {info['key']}, {info['bars']} bars "
          f"({info['duration']:.1f} s at {info['sample_rate']} Hz)")
    if info["prompt"]:
        print(f"  prompt: {info['prompt']}")
    for t in info["tracks"]:
        state = "locked" if t["locked"] else "unlocked"
        flags = "".join(f", {f}" for f in ("muted", "solo") if t[f])
        take = f"take {t['active_take']} of {t['takes']}" if t["active_take"] else f"{t['takes']} takes"
        print(f"  {t['name']:<10} {t['role']:<8} {state}{flags}, {take}, {t['gain_db']:+.1f} dB")
    return 0


def _progress_printer():
    def report(fraction: float, message: str) -> None:
        print(f"\r  {fraction * 100:5.1f}%  {message:<40}", end="", file=sys.stderr, flush=True)
        if fraction >= 1.0:
            print(file=sys.stderr)
    return report
