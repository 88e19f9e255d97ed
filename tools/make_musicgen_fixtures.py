"""Build tiny random MusicGen checkpoints with transformers and store their reference outputs.

Run in the parity venv (torch + transformers, never the app's venv): ``make parity``. Each
fixture folder is a Hugging Face checkpoint (config.json, model.safetensors, tokenizer files,
generation_config.json) plus ``reference/*.npy``: the outputs of transformers' own models for
fixed inputs. The app's test-suite compares the MLX port against them without torch.

    python tools/make_musicgen_fixtures.py --out tests/fixtures --seed 0
    python tools/make_musicgen_fixtures.py --out /tmp/fresh --seed 7 --decoder-hidden 40 \
        --decoder-layers 3 --heads 2 --codebooks 4 --codebook-size 32 --text-hidden 24

Every dimension is an option so that parity can be re-checked against checkpoints the port
has never seen.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import (
    EncodecConfig,
    MusicgenConfig,
    MusicgenDecoderConfig,
    MusicgenForConditionalGeneration,
    MusicgenMelodyConfig,
    MusicgenMelodyDecoderConfig,
    MusicgenMelodyForConditionalGeneration,
    T5Config,
    T5TokenizerFast,
)

PROMPTS = ["lofi hip hop beat", "a calm piano melody with soft strings and rain"]
CORPUS = [
    "lofi hip hop beat with dusty drums", "a calm piano melody with soft strings and rain",
    "energetic rock song with loud guitars", "ambient pad in d minor", "funky bass line at 100 bpm",
    "jazz trio with brushes and upright bass", "epic orchestral music", "house track with a deep kick",
]
SAMPLE_RATE = 32000


def build_tokenizer(vocab_size: int) -> T5TokenizerFast:
    """A T5-style SentencePiece-Unigram tokenizer (pad=0, </s>=1, <unk>=2), built deterministically.

    Pieces: whole words of a small corpus (most frequent first) and single letters, so unseen
    words still split; ``vocab_size`` bounds the count.
    """
    words: dict[str, int] = {}
    for sentence in CORPUS:
        for word in sentence.split():
            words["\u2581" + word] = words.get("\u2581" + word, 0) + 1
    letters = sorted({c for s in CORPUS for c in s if c != " "} | {"\u2581"})
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces += [(c, -8.0) for c in letters]
    ranked = sorted(words, key=lambda w: (-words[w], w))[: max(0, vocab_size - len(pieces))]
    pieces += [(w, -2.0 - 0.01 * i) for i, w in enumerate(ranked)]
    tok = Tokenizer(models.Unigram(pieces, unk_id=2))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    return T5TokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                           extra_ids=0)


def encodec_config(args) -> EncodecConfig:
    ratios = [int(r) for r in args.ratios.split(",")]
    frame_rate = math.ceil(SAMPLE_RATE / int(np.prod(ratios)))
    bandwidth = args.codebooks * frame_rate * math.ceil(math.log2(args.codebook_size)) / 1000
    return EncodecConfig(
        sampling_rate=SAMPLE_RATE, audio_channels=1, normalize=False, chunk_length_s=None, overlap=None,
        num_filters=args.encodec_filters, hidden_size=args.encodec_hidden, upsampling_ratios=ratios,
        codebook_size=args.codebook_size, target_bandwidths=[bandwidth], use_causal_conv=args.causal,
        use_conv_shortcut=args.conv_shortcut, num_lstm_layers=2, compress=2, pad_mode="reflect",
        norm_type="weight_norm", num_residual_layers=args.residual_layers,
    )


def t5_config(args, vocab_size: int) -> T5Config:
    return T5Config(
        vocab_size=vocab_size, d_model=args.text_hidden, d_kv=args.text_hidden // args.heads, d_ff=2 * args.text_hidden,
        num_layers=args.text_layers, num_heads=args.heads, feed_forward_proj=args.text_ff,
        relative_attention_num_buckets=16, relative_attention_max_distance=32,
    )


def decoder_kwargs(args, channels: int = 1) -> dict:
    return dict(
        vocab_size=args.codebook_size, hidden_size=args.decoder_hidden, num_hidden_layers=args.decoder_layers,
        ffn_dim=2 * args.decoder_hidden, num_attention_heads=args.heads, num_codebooks=args.codebooks * channels,
        audio_channels=channels,
        max_position_embeddings=512, pad_token_id=args.codebook_size, bos_token_id=args.codebook_size,
        activation_function="gelu", scale_embedding=args.scale_embedding, initializer_factor=args.init_scale,
    )


def randomise_codebooks(model, seed: int) -> None:
    """A fresh EnCodec has all-zero codebooks (every code decodes alike): give them random entries."""
    gen = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for layer in model.audio_encoder.quantizer.layers:
            embed = layer.codebook.embed
            embed.copy_(torch.randn(embed.shape, generator=gen))
            layer.codebook.embed_avg.copy_(embed)


def test_audio(seconds: float, seed: int) -> np.ndarray:
    """A little tune (a new note every 0.25 s) over a soft chord, plus noise: mono float32 at 32 kHz."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    notes = 440.0 * 2.0 ** (rng.integers(-12, 12, size=int(seconds * 4) + 1) / 12)
    tune = 0.4 * np.sin(2 * np.pi * np.cumsum(notes[(t * 4).astype(int)]) / SAMPLE_RATE)
    chord = sum(0.05 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    return (tune + chord + 0.01 * rng.standard_normal(t.shape)).astype(np.float32)


def reference_chroma(audio: np.ndarray, n_fft: int, hop: int, num_chroma: int) -> np.ndarray:
    """MusicgenMelodyFeatureExtractor's chroma; rebuilt with torch.stft when torchaudio is absent."""
    try:
        from transformers import MusicgenMelodyFeatureExtractor

        extractor = MusicgenMelodyFeatureExtractor(n_fft=n_fft, hop_length=hop, num_chroma=num_chroma)
        return extractor(audio, sampling_rate=SAMPLE_RATE, return_tensors="np")["input_features"]
    except ImportError:
        from transformers.audio_utils import chroma_filter_bank

        wav = torch.from_numpy(audio)[None]
        if wav.shape[-1] < n_fft:
            pad = n_fft - wav.shape[-1]
            wav = torch.nn.functional.pad(wav, (pad // 2, pad // 2 + pad % 2))
        window = torch.hann_window(n_fft)
        # torchaudio.transforms.Spectrogram(normalized=True, power=2): |STFT|^2 / sum(window^2)
        stft = torch.stft(wav, n_fft, hop_length=hop, win_length=n_fft, window=window, center=True,
                          pad_mode="reflect", return_complex=True)
        spec = stft.abs().pow(2) / window.pow(2).sum()
        filters = torch.from_numpy(chroma_filter_bank(sampling_rate=SAMPLE_RATE, num_frequency_bins=n_fft,
                                                      tuning=0, num_chroma=num_chroma)).float()
        raw = torch.einsum("cf,...ft->...ct", filters, spec)
        norm = torch.nn.functional.normalize(raw, p=float("inf"), dim=-2, eps=1e-6).transpose(1, 2)
        idx = norm.argmax(-1, keepdim=True)
        one_hot = torch.zeros_like(norm).scatter_(-1, idx, 1.0)
        return one_hot.numpy()


class CodeCatcher:
    """Wraps audio_encoder.decode to keep the codes transformers' generate() decodes.

    A stereo model decodes its even (left) and odd (right) codebooks in two calls; ``codes``
    interleaves them back into the decoder's ``[B, K, T]``.
    """

    def __init__(self, model):
        self.calls: list[np.ndarray] = []
        self._decode = model.audio_encoder.decode
        model.audio_encoder.decode = self

    def __call__(self, audio_codes, *a, **kw):
        self.calls.append(audio_codes[0].numpy().copy())
        return self._decode(audio_codes, *a, **kw)

    @property
    def codes(self) -> np.ndarray:
        calls, self.calls = self.calls, []
        if len(calls) == 1:
            return calls[0]
        left, right = calls
        out = np.empty((left.shape[0], 2 * left.shape[1], left.shape[2]), left.dtype)
        out[:, 0::2], out[:, 1::2] = left, right
        return out


def save(ref: Path, **arrays) -> None:
    for name, value in arrays.items():
        np.save(ref / f"{name}.npy", np.asarray(value))


def windowed_reference(model, catcher, enc, args, melody_wav: np.ndarray | None, stereo: bool) -> np.ndarray:
    """audiocraft's extend-stride loop (MusicGen._generate_tokens) around transformers' greedy generate.

    ``duration`` seconds in windows of ``max_duration`` (the context), each window continuing the
    last ``max_duration - extend_stride`` seconds of codes; a melody is re-read per window from
    the window's start, wrapped as ``positions % wav_length``.
    """
    frame_rate = model.config.audio_encoder.frame_rate
    duration, max_duration, stride = args.window_seconds, args.context_seconds, args.stride_seconds
    total_gen_len = int(duration * frame_rate)
    stride_tokens = int(frame_rate * stride)
    K = model.decoder.num_codebooks
    delays = K // 2 if stereo else K
    prompt, offset, pieces = None, 0, []
    while offset + (0 if prompt is None else prompt.shape[-1]) < total_gen_len:
        time_offset = offset / frame_rate
        max_gen_len = int(min(duration - time_offset, max_duration) * frame_rate)
        kwargs = {}
        if melody_wav is not None:
            start = int(time_offset * SAMPLE_RATE)
            positions = np.arange(start, start + int(max_duration * SAMPLE_RATE))
            chroma = reference_chroma(melody_wav[positions % melody_wav.shape[0]], args.chroma_fft, args.chroma_hop, 12)
            kwargs["input_features"] = torch.from_numpy(np.repeat(chroma, enc.input_ids.shape[0], axis=0))
        prompt_len = 0 if prompt is None else prompt.shape[-1]
        if prompt is not None:
            kwargs["decoder_input_ids"] = torch.from_numpy(prompt.reshape(-1, prompt_len))
        model.generate(**enc, **kwargs, do_sample=False, guidance_scale=args.cfg,
                       max_new_tokens=max_gen_len - prompt_len + delays - 1)
        codes = catcher.codes
        assert codes.shape[-1] == max_gen_len, (codes.shape, max_gen_len)
        pieces.append(codes if prompt is None else codes[:, :, prompt_len:])
        prompt = codes[:, :, stride_tokens:]
        offset += stride_tokens
    return np.concatenate(pieces, axis=-1)


def make_fixture(args, melody: bool, stereo: bool = False) -> Path:
    torch.manual_seed(args.seed + (1 if melody else 0) + (2 if stereo else 0))
    name = f"musicgen-{'melody-' if melody else ''}{'stereo-' if stereo else ''}tiny"
    folder = Path(args.out) / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    tokenizer = build_tokenizer(args.text_vocab)
    text = t5_config(args, vocab_size=len(tokenizer) + 5)
    audio = encodec_config(args)
    if melody:
        decoder = MusicgenMelodyDecoderConfig(**decoder_kwargs(args, 2 if stereo else 1))
        config = MusicgenMelodyConfig(text_encoder=text.to_dict(), audio_encoder=audio.to_dict(),
                                      decoder=decoder.to_dict(), num_chroma=12, chroma_length=args.chroma_length)
        model = MusicgenMelodyForConditionalGeneration(config).eval()
    else:
        decoder = MusicgenDecoderConfig(**decoder_kwargs(args, 2 if stereo else 1))
        config = MusicgenConfig(text_encoder=text.to_dict(), audio_encoder=audio.to_dict(), decoder=decoder.to_dict())
        model = MusicgenForConditionalGeneration(config).eval()
    randomise_codebooks(model, args.seed)
    model.generation_config.decoder_start_token_id = args.codebook_size
    model.generation_config.pad_token_id = args.codebook_size
    model.generation_config.bos_token_id = args.codebook_size
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    if melody:
        (folder / "preprocessor_config.json").write_text(json.dumps({
            "feature_extractor_type": "MusicgenMelodyFeatureExtractor", "feature_size": 12,
            "sampling_rate": SAMPLE_RATE, "hop_length": args.chroma_hop, "n_fft": args.chroma_fft,
            "num_chroma": 12, "chunk_length": 30, "padding_value": 0.0,
        }, indent=2))

    ref = folder / "reference"
    ref.mkdir()
    enc = tokenizer(PROMPTS, padding=True, return_tensors="pt")
    K = model.decoder.num_codebooks
    gen = torch.Generator().manual_seed(args.seed + 1)
    dec_in = torch.randint(0, args.codebook_size, (len(PROMPTS) * K, 7), generator=gen)
    dec_in[:, 0] = args.codebook_size
    wav = test_audio(2.0, args.seed)
    chroma = reference_chroma(wav, args.chroma_fft, args.chroma_hop, 12)
    extra = {"input_features": torch.from_numpy(np.repeat(chroma, len(PROMPTS), axis=0))} if melody else {}
    with torch.no_grad():
        hidden = model.text_encoder(input_ids=enc.input_ids, attention_mask=enc.attention_mask).last_hidden_state
        logits = model(input_ids=enc.input_ids, attention_mask=enc.attention_mask, decoder_input_ids=dec_in,
                       **extra).logits
        logits = logits[:, -dec_in.shape[1]:]
        codes = model.audio_encoder.encode(torch.from_numpy(wav)[None, None]).audio_codes[0]
        decoded = model.audio_encoder.decode(codes[None], [None]).audio_values  # before the catcher: not kept
        save(ref, input_ids=enc.input_ids, attention_mask=enc.attention_mask, t5_hidden=hidden,
             decoder_input_ids=dec_in, logits=logits, encodec_input=wav, encodec_codes=codes,
             encodec_audio=decoded, chroma=chroma)

        catcher = CodeCatcher(model)
        steps = args.steps
        for label, cfg in (("greedy_cfg", args.cfg), ("greedy_nocfg", None)):
            out = model.generate(**enc, **extra, do_sample=False, guidance_scale=cfg, max_new_tokens=steps)
            save(ref, **{f"{label}_codes": catcher.codes, f"{label}_audio": out})
            # Long runs (past the 256- and 512-position cache growth): codes only, to stay small.
            model.generate(**enc, **extra, do_sample=False, guidance_scale=cfg, max_new_tokens=args.long_steps)
            save(ref, **{f"{label}_long_codes": catcher.codes.astype(np.int16)})
        if args.window_seconds and not stereo:
            # A melody whose length does not divide the stride, so each window hears another part of it.
            tune = wav[: int(args.window_melody_seconds * SAMPLE_RATE)] if melody else None
            save(ref, windowed_codes=windowed_reference(model, catcher, enc, args, tune, stereo).astype(np.int16))
        if melody:
            out = model.generate(**enc, do_sample=False, guidance_scale=args.cfg, max_new_tokens=steps)
            save(ref, greedy_nomelody_codes=catcher.codes, greedy_nomelody_audio=out)
        elif not stereo:
            prompt_audio = wav[: int(0.2 * SAMPLE_RATE)]
            one = tokenizer(PROMPTS[:1], return_tensors="pt")
            out = model.generate(**one, input_values=torch.from_numpy(prompt_audio)[None, None], do_sample=False,
                                 guidance_scale=args.cfg, max_new_tokens=steps)
            save(ref, continuation_prompt=prompt_audio, continuation_codes=catcher.codes, continuation_audio=out)
    (ref / "settings.json").write_text(json.dumps({
        "prompts": PROMPTS, "steps": steps, "cfg": args.cfg, "seed": args.seed,
        "melody": melody, "stereo": stereo, "continuation_prompts": PROMPTS[:1], "long_steps": args.long_steps,
        "window_seconds": 0 if stereo else args.window_seconds, "context_seconds": args.context_seconds,
        "stride_seconds": args.stride_seconds, "window_melody_seconds": args.window_melody_seconds,
    }, indent=2))
    print(f"wrote {folder} ({sum(p.stat().st_size for p in folder.rglob('*') if p.is_file()) / 1e6:.2f} MB)")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="tests/fixtures")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--text-hidden", type=int, default=32)
    parser.add_argument("--text-layers", type=int, default=2)
    parser.add_argument("--text-vocab", type=int, default=80)
    parser.add_argument("--text-ff", default="relu", help="relu or gated-gelu")
    parser.add_argument("--decoder-hidden", type=int, default=48)
    parser.add_argument("--decoder-layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--codebooks", type=int, default=4)
    parser.add_argument("--codebook-size", type=int, default=64)
    parser.add_argument("--scale-embedding", action="store_true")
    parser.add_argument("--init-scale", type=float, default=0.2, help="decoder init std: large enough that prompts matter")
    parser.add_argument("--encodec-filters", type=int, default=4)
    parser.add_argument("--encodec-hidden", type=int, default=16)
    parser.add_argument("--ratios", default="8,5,4,4")
    parser.add_argument("--causal", action="store_true", help="EnCodec with causal convolutions")
    parser.add_argument("--conv-shortcut", action="store_true", help="EnCodec residual blocks with 1x1 shortcuts")
    parser.add_argument("--residual-layers", type=int, default=1)
    parser.add_argument("--chroma-length", type=int, default=20)
    parser.add_argument("--chroma-fft", type=int, default=16384)
    parser.add_argument("--chroma-hop", type=int, default=4096)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--long-steps", type=int, default=520, help="greedy decode steps of the long references")
    parser.add_argument("--window-seconds", type=float, default=40.0, help="length of the windowed reference (0: none)")
    parser.add_argument("--context-seconds", type=float, default=30.0)
    parser.add_argument("--stride-seconds", type=float, default=18.0)
    parser.add_argument("--window-melody-seconds", type=float, default=1.7,
                        help="melody length for the windowed reference (not a divisor of the stride)")
    parser.add_argument("--cfg", type=float, default=3.0)
    parser.add_argument("--only", choices=["musicgen", "melody", "stereo"], default=None)
    args = parser.parse_args()
    if args.only in (None, "musicgen"):
        make_fixture(args, melody=False)
    if args.only in (None, "melody"):
        make_fixture(args, melody=True)
    if args.only in (None, "stereo"):
        make_fixture(args, melody=False, stereo=True)


if __name__ == "__main__":
    main()
