"""``resonant musicgen generate | stems``: the raw MusicGen and MusicGen-Stem tools.

Writes exactly what the model produces (mono float WAV at the model's rate, no resampling,
no normalising, no clipping) and, with --tokens, the generated codes ``[codebooks, frames]``.
Sampling defaults come from the checkpoint's generation_config.json, as in transformers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from resonant_studio.core.errors import AppError
from resonant_studio.cli.args import positive, seed as seed_type
from resonant_studio.cli.presets import _arg
from resonant_studio.presets.schema import GENERATION_TYPES, MAX_DURATION_S, number

# The sampling flags take what preset files and `render` take: --top-k 10**12, --cfg nan or
# --temperature inf are refused with a sentence, not handed to the sampler.
TOP_K, TOP_P = _arg(GENERATION_TYPES["top_k"], "top-k"), _arg(GENERATION_TYPES["top_p"], "top-p")
TEMPERATURE, CFG = _arg(GENERATION_TYPES["temperature"], "temperature"), _arg(GENERATION_TYPES["cfg_coef"], "cfg")
SECONDS = _arg(number(high=MAX_DURATION_S, above=0), "seconds")
MAX_CONDITION_SECONDS = 60.0
"""At most this much of a --melody or --continue file is read: MusicGen's context is 30 s."""



def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("musicgen", help="run MusicGen directly (raw model output)")
    inner = group.add_subparsers(dest="musicgen_command", metavar="COMMAND")
    inner.required = True
    p = inner.add_parser("generate", help="text (+ melody or audio prompt) to a WAV at the model's rate",
                         description="Generate audio with a MusicGen checkpoint folder and write the raw output.")
    p.add_argument("--model", required=True, type=Path, metavar="DIR", help="Hugging Face MusicGen folder")
    p.add_argument("--prompt", required=True, action="append", metavar="TEXT",
                   help="text prompt; repeat for a batch (files get -1, -2, ... suffixes)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--seconds", type=SECONDS, metavar="S", help="length of new audio (default 8)")
    length.add_argument("--steps", type=positive(int), metavar="N",
                        help="decoding steps, as transformers' max_new_tokens (frames = N - codebooks + 1)")
    p.add_argument("--greedy", action="store_true", help="always take the most likely token")
    p.add_argument("--top-k", type=TOP_K, metavar="K", help="sample among the K most likely tokens (0: off)")
    p.add_argument("--top-p", type=TOP_P, metavar="P", help="nucleus sampling threshold (0: off)")
    p.add_argument("--temperature", type=TEMPERATURE, metavar="T")
    p.add_argument("--cfg", type=CFG, metavar="C", help="classifier-free guidance coefficient (1: off)")
    p.add_argument("--seed", type=seed_type, default=0, help="random seed: the same seed gives the same codes")
    p.add_argument("--melody", type=Path, metavar="FILE", help="audio whose chroma conditions a melody model")
    p.add_argument("--continue", dest="continue_from", type=Path, metavar="FILE", help="audio to continue")
    p.add_argument("--dtype", choices=("float32", "float16", "bfloat16"), default=None,
                   help="weights' precision (default: this machine's: float32 on a CPU, bfloat16 on Apple silicon)")
    p.add_argument("--out", required=True, type=Path, metavar="FILE.wav")
    p.add_argument("--tokens", type=Path, metavar="FILE.npy", help="also save the codes, shape [codebooks, frames]")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_generate)

    p = inner.add_parser("stems", help="MusicGen-Stem: text (+ stems to keep) to bass, drums and other WAVs",
                         description="Generate the three stems, or regenerate some given the others, and write "
                                     "one 32 kHz WAV per stem.")
    p.add_argument("--model", required=True, type=Path, metavar="DIR", help="MusicGen-Stem folder (6cb or 7cb)")
    p.add_argument("--text-encoder", type=Path, metavar="DIR",
                   help="t5-base or a MusicGen folder with its text encoder (default: DIR/t5)")
    p.add_argument("--prompt", required=True, metavar="TEXT")
    p.add_argument("--keep", action="append", default=[], metavar="STEM=FILE",
                   help="a stem to keep (bass, drums or other) and the audio file it is; repeatable")
    p.add_argument("--regenerate", action="extend", nargs="+", choices=("bass", "drums", "other"), default=None,
                   help="the stems to make anew (default: every stem not kept)")
    p.add_argument("--seconds", type=SECONDS, metavar="S",
                   help="length (default: the kept audio's, else 10 s)")
    p.add_argument("--greedy", action="store_true", help="always take the most likely token")
    p.add_argument("--top-k", type=TOP_K, metavar="K")
    p.add_argument("--top-p", type=TOP_P, metavar="P")
    p.add_argument("--temperature", type=TEMPERATURE, metavar="T")
    p.add_argument("--cfg", type=CFG, metavar="C", help="classifier-free guidance coefficient")
    p.add_argument("--seed", type=seed_type, default=0)
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for bass.wav, drums.wav, other.wav")
    p.add_argument("--tokens", type=Path, metavar="FILE.npy", help="also save the codes, shape [1, codebooks, frames]")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_stems)


def read_mono(path: Path, sample_rate: int) -> np.ndarray:
    """The first minute of an audio file as mono float32 at ``sample_rate``, through the one
    bounded reader (pipes, devices, NaN samples and absurd headers get a sentence)."""
    from engine.analysis.audio_io import read_audio

    return read_audio(path, MAX_CONDITION_SECONDS, sample_rate=sample_rate, channels=1).audio


def _numbered(path: Path, index: int, count: int) -> Path:
    return path if count == 1 else path.with_name(f"{path.stem}-{index + 1}{path.suffix}")


def cmd_generate(args: argparse.Namespace) -> int:
    import soundfile as sf

    from engine.musicgen.pipeline import MusicGenPipeline

    from engine.musicgen.precision import default_dtype

    if args.out.is_dir() or args.out.suffix.lower() not in (".wav", ".flac"):
        raise AppError(f"--out {args.out} must name a .wav or .flac file to write")
    pipe = MusicGenPipeline.load(args.model, dtype=args.dtype or default_dtype())
    sampling_asked = any(v is not None for v in (args.top_k, args.top_p, args.temperature))
    params = pipe.default_params(
        greedy=True if args.greedy else (False if sampling_asked else None),
        top_k=args.top_k, top_p=args.top_p, temperature=args.temperature, cfg_coef=args.cfg, seed=args.seed,
    )
    if args.steps is not None:
        new_frames = pipe.frames_for_steps(args.steps)
    else:
        new_frames = pipe.frames_for_seconds(args.seconds if args.seconds is not None else 8.0)
    melody = read_mono(args.melody, pipe.sample_rate) if args.melody else None
    prompt_audio = read_mono(args.continue_from, pipe.sample_rate) if args.continue_from else None
    job = pipe.start(args.prompt, params, new_frames, melody=melody, audio_prompt=prompt_audio)
    shown = -1
    for done, total in job:
        percent = 100 * done // total
        if not args.quiet and percent != shown:
            shown = percent
            print(f"\rgenerating {done}/{total} steps ({percent}%)", end="", file=sys.stderr, flush=True)
    if not args.quiet:
        print(file=sys.stderr)
    codes = job.codes
    audio = pipe.decode(codes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for i in range(len(args.prompt)):
        sf.write(str(_numbered(args.out, i, len(args.prompt))), audio[i], pipe.sample_rate, subtype="FLOAT")
        if args.tokens is not None:
            np.save(_numbered(args.tokens, i, len(args.prompt)), codes[i])
    if not args.quiet:
        seconds = audio.shape[1] / pipe.sample_rate
        print(f"wrote {args.out} ({seconds:.2f} s at {pipe.sample_rate} Hz, {codes.shape[2]} frames)", file=sys.stderr)
    return 0


def _keep_pairs(values: list[str]) -> dict[str, str]:
    keep: dict[str, str] = {}
    for value in values:
        stem, sep, path = value.partition("=")
        if not sep or not path:
            raise AppError(f"--keep takes STEM=FILE (e.g. drums=loop.wav), not {value!r}")
        if stem in keep:
            raise AppError(f"--keep names the {stem} stem twice")
        keep[stem] = path
    return keep


def cmd_stems(args: argparse.Namespace) -> int:
    from engine.musicgen_stem.tool import run as run_stems

    shown = [-1]

    def progress(done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        if not args.quiet and percent != shown[0]:
            shown[0] = percent
            print(f"\rgenerating {done}/{total} steps ({percent}%)", end="", file=sys.stderr, flush=True)

    result = run_stems(args.model, args.prompt, _keep_pairs(args.keep), args.regenerate, args.out,
                       tokens_path=args.tokens, seed=args.seed, seconds=args.seconds, text_dir=args.text_encoder,
                       greedy=args.greedy, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                       cfg_coef=args.cfg, progress=progress)
    if not args.quiet:
        print(file=sys.stderr)
        for stem, path in result.files.items():
            state = "kept" if stem in result.kept else "generated"
            print(f"wrote {path} ({state})", file=sys.stderr)
    return 0
