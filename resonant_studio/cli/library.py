"""``resonant analyze`` and ``resonant library index | search | info``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from resonant_studio.cli.args import positive_int
from resonant_studio.library.results import LibraryError, SearchFilters, parse_key



def _tempo_range(text: str) -> tuple[float | None, float | None]:
    """'90-110', '90-' or '-110' bpm."""
    low, sep, high = text.partition("-")
    try:
        if not sep:
            raise ValueError
        return (float(low) if low.strip() else None, float(high) if high.strip() else None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a tempo range looks like 90-110, 90- or -110, not {text!r}") from None


MAX_TOP = 1000


def _top(text: str) -> int:
    value = positive_int(text)
    if value > MAX_TOP:
        raise argparse.ArgumentTypeError(f"at most {MAX_TOP} results are shown, not {value}")
    return value


def _key(text: str) -> str:
    try:
        return parse_key(text)
    except LibraryError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="tempo, key, loudness and more of an audio file")
    p.add_argument("file", help="WAV, FLAC, OGG or MP3 file")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--full", action="store_true", help="with --json: add beat times, chroma and the sound vector")
    p.set_defaults(func=cmd_analyze)

    lib = sub.add_parser("library", help="index your music and find songs like a reference")
    lsub = lib.add_subparsers(dest="library_command", metavar="ACTION")
    lsub.required = True
    p = lsub.add_parser("index", help="add a folder's audio files (unchanged files are skipped)")
    p.add_argument("folder")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_index)

    p = lsub.add_parser("search", help="find music like a reference file and/or a text")
    p.add_argument("--like", metavar="FILE", help="a reference audio file")
    p.add_argument("--text", metavar="TEXT", help='a description, e.g. "dark ambient for sci-fi"')
    p.add_argument("--top", type=_top, default=10, metavar="K", help="how many results (default 10)")
    p.add_argument("--tempo", type=_tempo_range, metavar="MIN-MAX", help="tempo range in bpm, e.g. 90-110")
    p.add_argument("--key", type=_key, help="only this key, e.g. 'A minor' or Am")
    p.add_argument("--source", choices=("imported", "generated"), help="only imported files or generated takes")
    p.add_argument("--json", action="store_true", help="print a JSON list of results")
    p.set_defaults(func=cmd_search)

    p = lsub.add_parser("info", help="where the library is and how many items it holds")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)


def cmd_analyze(args: argparse.Namespace) -> int:
    from engine.analysis import analyze_file

    a = analyze_file(args.file)
    if args.json:
        print(json.dumps(a.to_dict(include_arrays=args.full), ensure_ascii=False, indent=2))
        return 0
    d = a.to_dict()
    lines = [
        f"file:      {d['path']}",
        f"duration:  {_clock(a.duration)} ({a.sample_rate} Hz, {a.channels} channel{'s' if a.channels != 1 else ''})",
        f"tempo:     {'-' if a.tempo is None else f'{a.tempo:.1f} bpm'} ({len(a.beats)} beats)",
        f"key:       {a.key_name or '-'}" + (f" (confidence {a.key_confidence:.2f})" if a.key_name else ""),
        f"loudness:  {'-' if a.loudness_lufs is None else f'{a.loudness_lufs:.1f} LUFS'}, peak {a.peak_dbfs:.1f} dBFS",
        f"energy:    {a.energy:.2f}",
    ]
    lines += [f"note:      {w}" for w in a.warnings]
    print("\n".join(lines))
    return 0


def _clock(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    return f"{int(m)}:{s:05.2f}"


def _open_library():
    from resonant_studio.library.store import Library

    return Library()


def cmd_index(args: argparse.Namespace) -> int:
    def progress(fraction: float, message: str) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\r[{fraction:4.0%}] {message[:70]:<70}", end="", file=sys.stderr, flush=True)

    folder = Path(args.folder)
    if not folder.exists():
        raise LibraryError(f"{folder} does not exist: choose a folder with your music")
    if not folder.is_dir():
        raise LibraryError(f"{folder} is not a folder: use `resonant analyze` for one file")
    with _open_library() as library:
        try:
            report = library.index_folder(args.folder, progress=progress)
        except KeyboardInterrupt:
            print("", file=sys.stderr)
            raise
        total = library.count()
    if not args.json and sys.stderr.isatty():
        print("", file=sys.stderr)
    if args.json:
        print(json.dumps({"added": report.added, "updated": report.updated, "skipped": report.skipped,
                          "removed": report.removed, "failed": [{"path": p, "reason": r} for p, r in report.failed],
                          "seconds": round(report.seconds, 3), "library_items": total}, ensure_ascii=False, indent=2))
    else:
        print(f"{report.summary()}; the library holds {total} items.")
        for path, why in report.failed:
            print(f"  skipped {path}: {why}")
        if report.indexed and report.seconds > 0:
            print(f"  {report.indexed / report.seconds:.1f} files/s")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    if not args.like and not args.text:
        raise LibraryError("search needs --like FILE or --text TEXT (or both)")
    tempo_min, tempo_max = args.tempo or (None, None)
    filters = SearchFilters(tempo_min, tempo_max, args.key, args.source)
    # The reference is analysed before the store is opened: a bad file creates no library.
    from engine.analysis import analyze_file

    like = analyze_file(args.like) if args.like else None
    with _open_library() as library:
        results = library.search(like=like, text=args.text, top_k=args.top, filters=filters)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2))
        return 0
    if not results:
        print("nothing found: index a folder first (`resonant library index DIR`) or loosen the filters.")
        return 0
    for rank, r in enumerate(results, 1):
        tempo = "-" if r.tempo is None else f"{r.tempo:.0f} bpm"
        print(f"{rank:2d}. {r.score:.3f}  {r.title}  [{tempo}, {r.key or '-'}, {r.source}]")
        print(f"      {r.path}")
        print(f"      {'; '.join(r.reasons)}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    with _open_library() as library:
        info: dict[str, Any] = {"location": library.url or str(library.path), "items": library.count()}
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"library: {info['location']}\nitems:   {info['items']}")
    return 0
