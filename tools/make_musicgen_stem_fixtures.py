"""Build tiny random MusicGen-Stem checkpoints with the fork's own classes and store reference outputs.

Run in the parity venv (torch, transformers, omegaconf, einops; never the app's venv) against
a checkout of ``simonrouard/audiocraft``'s ``multistem`` branch whose ``audiocraft/models/lm.py``
is commit 29b8230's (the generate that still forces kept streams; the later merge dropped it,
audiocraft issue #610)::

    G=<git dir of simonrouard/audiocraft>
    git --git-dir=$G archive multistem audiocraft config | tar -x -C /tmp/fork
    git --git-dir=$G show 29b8230:audiocraft/models/lm.py > /tmp/fork/audiocraft/models/lm.py
    python tools/make_musicgen_stem_fixtures.py --fork-src /tmp/fork --out tests/fixtures

Each ``musicgen-stem-tiny-{6,7}cb`` folder is an audiocraft export (``state_dict.bin`` and
``compression_state_dict_{bass,drums,other}.bin``: ``best_state`` + ``xp.cfg`` YAML, saved with
``torch.save``), a tiny Hugging Face T5 in ``t5/``, and ``parity/*.npy``: the fork's
``MusicGenStem`` greedy outputs for text -> stems and for ``regenerate_instruments_from_stems``.
Modules the fork imports but these code paths never run (xformers, spacy, demucs, ...) are
replaced by inert stand-ins so that only torch, transformers, omegaconf and einops are needed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import torch
import yaml

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
from make_musicgen_fixtures import build_tokenizer  # noqa: E402  (the same deterministic T5 tokenizer)

SOURCES = ["bass", "drums", "other"]
PROMPTS = ["funky bass line at 100 bpm", "jazz trio with brushes and upright bass"]
SAMPLE_RATE = 32000
VARIANTS = {  # name: (codebooks per stem in source order, delays), as the fork's grid
    "6cb": ({"bass": 1, "drums": 1, "other": 4}, [0, 0, 0, 1, 2, 3]),
    "7cb": ({"bass": 2, "drums": 1, "other": 4}, [0, 1, 0, 0, 1, 2, 3]),
}
REGENERATE = {"6cb": ["bass"], "7cb": ["drums", "other"]}


class _Inert(types.ModuleType):
    """A stand-in module: any attribute is another stand-in; calling one fails loudly."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        child = _Inert(f"{self.__name__}.{name}")
        setattr(self, name, child)
        return child

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"{self.__name__} was called, but it is only a stand-in for the fixtures")


def install_fork(fork_src: Path):
    for name in ("xformers", "flashy", "spacy", "num2words", "av", "torchaudio", "librosa", "demucs",
                 "audioseal", "laion_clap", "sentencepiece", "soundfile"):
        if importlib.util.find_spec(name) is None:
            for full in (name, f"{name}.ops", f"{name}.distrib", f"{name}.apply", f"{name}.filters"):
                sys.modules.setdefault(full, _Inert(full))
    if isinstance(sys.modules.get("xformers.ops"), _Inert):
        sys.modules["xformers.ops"].unbind = torch.unbind  # xformers' unbind is torch's (views of one tensor)
        # With the 'torch' attention backend the mask object is only tested for None (is_causal=...).
        sys.modules["xformers.ops"].LowerTriangularMask = type("LowerTriangularMask", (), {})
        sys.modules["xformers"].ops = sys.modules["xformers.ops"]
    julius = types.ModuleType("julius")

    def resample_frac(wav, old, new):
        assert old == new, "the fixtures feed audio at the model rate"
        return wav

    julius.resample_frac = resample_frac
    sys.modules.setdefault("julius", julius)
    # Packages without their __init__ (which would import training and demo code).
    for pkg in ("audiocraft", "audiocraft.models", "audiocraft.modules", "audiocraft.data", "audiocraft.utils"):
        module = types.ModuleType(pkg)
        module.__path__ = [str(fork_src / pkg.replace(".", "/"))]
        module.__version__ = "fixture"
        sys.modules[pkg] = module
        parent, _, child = pkg.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)
    from audiocraft.models import lm  # noqa: F401
    from audiocraft.modules import seanet

    sys.modules["audiocraft.modules"].SEANetEncoder = seanet.SEANetEncoder
    sys.modules["audiocraft.modules"].SEANetDecoder = seanet.SEANetDecoder

    import inspect
    if "forced_streams_prompt" not in inspect.signature(lm.LMModel.generate).parameters:
        sys.exit("the fork's LMModel.generate has no forced_streams_prompt: put commit 29b8230's lm.py in --fork-src")


def lm_cfg(n_q: int, delays, args) -> dict:
    return {
        "device": "cpu", "dtype": "float32", "sample_rate": SAMPLE_RATE, "channels": 1,
        "solver": "musicgenstem", "lm_model": "transformer_lm",
        "dataset": {"segment_duration": 30},
        "multistem_compression_model_checkpoints": {"sources": SOURCES, "pretrained": None,
                                                    "bass": None, "drums": None, "other": None},
        "codebooks_pattern": {"modeling": "delay", "delay": {"delays": list(delays), "flatten_first": 0, "empty_initial": 0}},
        "transformer_lm": {
            "dim": args.dim, "num_heads": args.heads, "num_layers": args.layers, "hidden_scale": 4,
            "n_q": n_q, "card": args.card, "dropout": 0.0, "emb_lr": None, "activation": "gelu",
            "norm_first": True, "bias_ff": False, "bias_attn": False, "bias_proj": False,
            "past_context": None, "causal": True, "custom": False, "memory_efficient": True,
            "attention_as_float32": False, "layer_scale": None, "positional_embedding": "sin",
            "xpos": False, "checkpointing": "none", "weight_init": "gaussian", "depthwise_init": "current",
            "zero_bias_init": True, "norm": "layer_norm", "cross_attention": False,
            "qk_layer_norm": False, "qk_layer_norm_cross": False, "attention_dropout": None,
            "kv_repeat": 1, "two_step_cfg": False,
        },
        "classifier_free_guidance": {"training_dropout": 0.3, "inference_coef": 3.0},
        "attribute_dropout": {},
        "fuser": {"cross_attention_pos_emb": False, "cross_attention_pos_emb_scale": 1, "sum": [],
                  "prepend": [], "cross": ["description"], "input_interpolate": []},
        "conditioners": {"description": {"model": "t5", "t5": {"name": "t5-tiny", "finetune": False,
                                                               "word_dropout": 0.3, "normalize_text": False}}},
    }


def codec_cfg(n_q: int, args) -> dict:
    return {
        "device": "cpu", "dtype": "float32", "sample_rate": SAMPLE_RATE, "channels": 1,
        "solver": "compression", "compression_model": "encodec",
        "encodec": {"autoencoder": "seanet", "quantizer": "rvq", "sample_rate": SAMPLE_RATE, "channels": 1,
                    "causal": False, "renormalize": False},
        "seanet": {"dimension": args.codec_dim, "channels": 1, "causal": False, "n_filters": args.codec_filters,
                   "n_residual_layers": 1, "ratios": [8, 5, 4, 4], "activation": "ELU",
                   "activation_params": {"alpha": 1.0}, "norm": "weight_norm", "norm_params": {},
                   "kernel_size": 7, "residual_kernel_size": 3, "last_kernel_size": 7, "dilation_base": 2,
                   "pad_mode": "constant", "true_skip": True, "compress": 2, "lstm": 2,
                   "disable_norm_outer_blocks": 0,
                   "decoder": {"trim_right_ratio": 1.0, "final_activation": None, "final_activation_params": None},
                   "encoder": {}},
        "rvq": {"n_q": n_q, "q_dropout": False, "bins": args.card, "decay": 0.99, "kmeans_init": True,
                "kmeans_iters": 50, "threshold_ema_dead_code": 2, "orthogonal_reg_weight": 0.0,
                "orthogonal_reg_active_codes_only": False},
    }


def build_t5(out: Path, args):
    from transformers import T5Config, T5EncoderModel

    tokenizer = build_tokenizer(args.t5_vocab)
    config = T5Config(vocab_size=len(tokenizer), d_model=args.t5_dim, d_kv=args.t5_dim // 2, d_ff=2 * args.t5_dim,
                      num_layers=2, num_heads=2, relative_attention_num_buckets=8, relative_attention_max_distance=16,
                      feed_forward_proj="relu", pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    model = T5EncoderModel(config).eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    for extra in ("special_tokens_map.json",):
        (out / extra).unlink(missing_ok=True)
    return model, tokenizer


def patch_t5(t5_model, tokenizer, dim: int):
    from audiocraft.modules import conditioners

    conditioners.T5Conditioner.MODELS = list(conditioners.T5Conditioner.MODELS) + ["t5-tiny"]
    conditioners.T5Conditioner.MODELS_DIMS = {**conditioners.T5Conditioner.MODELS_DIMS, "t5-tiny": dim}

    class _Loader:
        def __init__(self, obj):
            self.obj = obj

        def from_pretrained(self, name, *a, **k):
            assert name == "t5-tiny", name
            return self.obj

    conditioners.T5Tokenizer = _Loader(tokenizer)
    conditioners.T5EncoderModel = _Loader(t5_model)


def build_codec(n_q: int, args, gen: torch.Generator):
    from omegaconf import OmegaConf
    from audiocraft.models import builders

    cfg = codec_cfg(n_q, args)
    model = builders.get_compression_model(OmegaConf.create(cfg)).eval()
    # A fresh RVQ has zero codebooks (every code decodes alike). Draw each codebook from encoder
    # outputs of varied audio (and each residual codebook from the residuals), as k-means init would,
    # plus noise: entries sitting on the data make float32 near-ties in the nearest-entry search.
    t = torch.arange(SAMPLE_RATE * 4) / SAMPLE_RATE
    amps = torch.rand(16, generator=gen) * 0.8 + 0.05
    freqs = torch.rand(16, generator=gen) * 2000 + 40
    pieces = []
    for i in range(16):
        seg = t[: SAMPLE_RATE // 4]
        tone = amps[i] * torch.sin(2 * torch.pi * freqs[i] * seg)
        noise = amps[i] * torch.randn(seg.shape, generator=gen) * (i % 3 == 0)
        pieces.append(tone * (i % 3 != 0) + noise)
    probe = torch.cat(pieces)[None, None]
    with torch.no_grad():
        residual = model.encoder(probe)[0].T  # [frames, dim]
        for layer in model.quantizer.vq.layers:
            cb = layer._codebook
            pick = torch.randint(0, residual.shape[0], (cb.embed.shape[0],), generator=gen)
            spread = residual.std(dim=0, keepdim=True)  # per dimension, over frames
            cb.embed.copy_(residual[pick] + 0.3 * spread * torch.randn(cb.embed.shape, generator=gen))
            cb.embed_avg.copy_(cb.embed)
            cb.inited.fill_(1.0)
            nearest = torch.cdist(residual, cb.embed).argmin(dim=1)
            residual = residual - cb.embed[nearest]
    return model, cfg


def stem_audio(seconds: float, stem: str, rng: np.random.Generator) -> np.ndarray:
    """Deterministic stand-in stems: clicks for drums, a low sine for bass, chords for other."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    if stem == "drums":
        y = np.zeros_like(t)
        for start in np.arange(0, seconds, 0.3):
            i = int(start * SAMPLE_RATE)
            n = min(2000, y.size - i)
            y[i: i + n] += rng.normal(0, 0.5, n) * np.exp(-np.arange(n) / 300)
    elif stem == "bass":
        y = 0.4 * np.sin(2 * np.pi * 55 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t))
    else:
        y = 0.15 * sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0))
    return y.astype(np.float32)


def save_export(path: Path, state: dict, cfg: dict):
    pkg = {"best_state": {k: v.detach().clone() for k, v in state.items()},
           "xp.cfg": yaml.safe_dump(cfg, sort_keys=False), "version": "1.4.0a2", "exported": True}
    torch.save(pkg, path)


def make_variant(name: str, out: Path, args) -> None:
    from omegaconf import OmegaConf
    from audiocraft.models import builders
    from audiocraft.models.encodec import MultiStemCompressionModel
    from audiocraft.models.musicgenstem import MusicGenStem

    per_stem, delays = VARIANTS[name]
    folder = out / f"musicgen-stem-tiny-{name}"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "parity").mkdir(parents=True)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    t5_model, tokenizer = build_t5(folder / "t5", args)
    patch_t5(t5_model, tokenizer, args.t5_dim)

    cfg = lm_cfg(sum(per_stem.values()), delays, args)
    lm = builders.get_lm_model(OmegaConf.create(cfg)).eval()
    with torch.no_grad():  # spread the random weights so greedy codes vary step to step
        for emb in lm.emb:
            emb.weight.normal_(0, 1.0, generator=gen)
        for head in lm.linears:
            head.weight.normal_(0, 1.0 / args.dim ** 0.5, generator=gen)
        proj = lm.condition_provider.conditioners["description"].output_proj
        proj.weight.normal_(0, 3.0 / args.t5_dim ** 0.5, generator=gen)
    save_export(folder / "state_dict.bin", lm.state_dict(), cfg)

    codecs = []
    for stem in SOURCES:
        codec, ccfg = build_codec(per_stem[stem], args, gen)
        save_export(folder / f"compression_state_dict_{stem}.bin", codec.state_dict(), ccfg)
        codecs.append(codec)
    multi = MultiStemCompressionModel(SOURCES, codecs).eval()
    model = MusicGenStem(f"tiny-{name}", multi, lm, max_duration=30)
    ref = folder / "parity"

    # text -> three stems, greedy with guidance
    model.set_generation_params(use_sampling=False, duration=args.text_seconds, cfg_coef=3.0)
    audio, tokens = model.generate(PROMPTS, return_tokens=True)
    np.save(ref / "text_codes.npy", tokens.numpy().astype(np.int16))
    for stem in SOURCES:
        np.save(ref / f"text_audio_{stem}.npy", audio[stem][:, 0].numpy().astype(np.float32))

    # regeneration: keep some stems, regenerate the others, kept streams forced
    rng = np.random.default_rng(args.seed)
    regenerate = REGENERATE[name]
    kept = {s: stem_audio(args.kept_seconds, s, rng) for s in SOURCES if s not in regenerate}
    pcm = {s: np.round(np.clip(a, -1, 1) * 32767).astype(np.int16) for s, a in kept.items()}
    for s, p in pcm.items():
        np.save(ref / f"kept_{s}.npy", p)
    stems = {s: torch.from_numpy(p.astype(np.float32) / 32768.0)[None] for s, p in pcm.items()}
    model.set_generation_params(use_sampling=False, duration=args.regen_seconds, cfg_coef=3.0)
    prompts = PROMPTS[:1]
    audio, tokens = model.regenerate_instruments_from_stems(stems, SAMPLE_RATE, regenerate, prompts, return_tokens=True)
    np.save(ref / "regen_codes.npy", tokens.numpy().astype(np.int16))
    for stem in SOURCES:
        np.save(ref / f"regen_audio_{stem}.npy", audio[stem][:, 0].numpy().astype(np.float32))
    # the kept stems' own codes, as the fork encodes them (padded to 25 s)
    full = [stems.get(s, torch.zeros(1, pcm[next(iter(pcm))].size)) for s in SOURCES]
    wav = torch.stack(full, dim=0)[None]
    wav = torch.nn.functional.pad(wav, (0, SAMPLE_RATE * 25 - wav.shape[-1]))
    with torch.no_grad():
        codes = multi.encode(wav)
    np.save(ref / "kept_window_codes.npy", codes.numpy().astype(np.int16))

    # per-part checks that localise a mismatch: T5 states, LM logits on given tokens, one codec
    ids = tokenizer(PROMPTS, return_tensors="pt", padding=True)
    with torch.no_grad():
        hidden = t5_model(**ids).last_hidden_state
        np.save(ref / "t5_hidden.npy", hidden.numpy())
        attrs, _ = model._prepare_tokens_and_attributes(PROMPTS, None)
        given = torch.randint(0, args.card, (len(PROMPTS), lm.num_codebooks, 12), generator=gen)
        logits = lm(given, attrs)
        np.save(ref / "lm_input.npy", given.numpy().astype(np.int16))
        np.save(ref / "lm_logits.npy", logits.numpy())
        probe = torch.from_numpy(stem_audio(1.0, "drums", rng))[None, None]
        codes, _ = codecs[2].encode(probe)
        np.save(ref / "codec_input.npy", probe[0, 0].numpy())
        np.save(ref / "codec_codes.npy", codes.numpy().astype(np.int16))
        np.save(ref / "codec_audio.npy", codecs[2].decode(codes)[0, 0].numpy())
    settings = {"prompts": PROMPTS, "regen_prompts": prompts, "regenerate": regenerate, "kept": sorted(kept),
                "text_seconds": args.text_seconds, "regen_seconds": args.regen_seconds, "cfg_coef": 3.0,
                "delays": delays, "per_stem": per_stem, "seed": args.seed,
                "reference": "simonrouard/audiocraft multistem with lm.py of 29b8230"}
    (ref / "settings.json").write_text(json.dumps(settings, indent=1))
    print(f"{folder}: text codes {tuple(np.load(ref / 'text_codes.npy').shape)}, regen codes {tuple(tokens.shape)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fork-src", type=Path, required=True, help="checkout of the fork (see above)")
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default="6cb,7cb")
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--card", type=int, default=64)
    parser.add_argument("--codec-dim", type=int, default=16)
    parser.add_argument("--codec-filters", type=int, default=2)
    parser.add_argument("--t5-dim", type=int, default=24)
    parser.add_argument("--t5-vocab", type=int, default=120)
    parser.add_argument("--text-seconds", type=float, default=1.0)
    parser.add_argument("--regen-seconds", type=float, default=6.5, help="the fork's duration: output is duration*50 - 251 frames")
    parser.add_argument("--kept-seconds", type=float, default=3.0)
    args = parser.parse_args()
    install_fork(args.fork_src.resolve())
    for variant in args.variants.split(","):
        make_variant(variant, args.out, args)


if __name__ == "__main__":
    main()
