"""The MLX port against transformers' own outputs, stored by tools/make_musicgen_fixtures.py.

Every folder tests/fixtures/musicgen-*/ with a reference/ is checked, so regenerating the
fixtures with other dimensions and seeds (``make parity PARITY_ARGS="--seed 7 ..."``) re-runs
parity on them; MUSICGEN_FIXTURES=DIR points the checks at another folder. No torch here.
"""

from __future__ import annotations

import json
import os

import mlx.core as mx
import numpy as np
import pytest

from engine.musicgen.pipeline import MusicGenPipeline
from engine.musicgen.sampling import SamplingParams
from parity_fixtures import fixture_folders, load_case

# MUSICGEN_FIXTURES=DIR checks freshly made checkpoints (tools/make_musicgen_fixtures.py --out DIR) instead.
FIXTURES = fixture_folders("MUSICGEN_FIXTURES", "musicgen-*", "reference")


@pytest.fixture(scope="module", params=FIXTURES, ids=[p.name for p in FIXTURES])
def case(request, tmp_path_factory):
    cache = tmp_path_factory.mktemp("mlx-cache")
    return load_case(request.param, "reference", lambda folder: MusicGenPipeline.load(folder, cache_dir=cache))


def channels_first(pipe, audio: np.ndarray) -> np.ndarray:
    """The port's ``decode`` output in transformers' layout ``[B, C, N]``."""
    return audio[:, None, :] if audio.ndim == 2 else audio.transpose(0, 2, 1)


def run(job):
    for _ in job:
        pass
    return job.codes


def test_fixtures_cover_both_checkpoint_classes_and_stereo():
    architectures = {json.loads((p / "config.json").read_text())["architectures"][0] for p in FIXTURES}
    assert architectures == {"MusicgenForConditionalGeneration", "MusicgenMelodyForConditionalGeneration"}
    if not os.environ.get("MUSICGEN_FIXTURES"):
        assert any(json.loads((p / "config.json").read_text())["decoder"]["audio_channels"] == 2 for p in FIXTURES)


def test_tokenizer_matches_reference(case):
    pipe, settings, ref = case
    ids, mask = pipe.tokenizer(settings["prompts"])
    np.testing.assert_array_equal(ids, ref("input_ids"))
    np.testing.assert_array_equal(mask, ref("attention_mask"))
    assert mask.min() == 0, "the prompts should need padding, to exercise the mask"


def test_t5_hidden_states(case):
    pipe, _, ref = case
    hidden = pipe.model.text_encoder(mx.array(ref("input_ids")), mx.array(ref("attention_mask")))
    np.testing.assert_allclose(np.array(hidden), ref("t5_hidden"), atol=2e-5, rtol=1e-4)


def test_decoder_logits_for_given_tokens(case):
    pipe, _, ref = case
    model = pipe.model
    K = model.config.decoder.num_codebooks
    tokens = ref("decoder_input_ids")
    B = tokens.shape[0] // K
    states = model.encode_text(mx.array(ref("input_ids")), mx.array(ref("attention_mask")))
    cache = model.decoder.make_cache()
    x = mx.array(tokens.reshape(B, K, -1))
    if model.config.is_melody:
        prefix = mx.concatenate([model.project_chroma(mx.array(np.repeat(ref("chroma"), B, axis=0))), states], axis=1)
        logits = model.decoder(x, cache, None, prefix=prefix)
    else:
        logits = model.decoder(x, cache, model.decoder.cross_states(states, mx.array(ref("attention_mask"))))
    expected = ref("logits").reshape(B, K, tokens.shape[1], -1)
    np.testing.assert_allclose(np.array(logits), expected, atol=1e-4, rtol=1e-4)


def test_encodec_encode_gives_identical_codes(case):
    pipe, _, ref = case
    codes = pipe.model.audio_encoder.encode(mx.array(ref("encodec_input"))[None, :, None])
    np.testing.assert_array_equal(np.array(codes), ref("encodec_codes"))


def test_encodec_decode(case):
    pipe, _, ref = case
    expected = ref("encodec_audio")[:, 0]
    audio = np.array(pipe.model.audio_encoder.decode(mx.array(ref("encodec_codes").astype(np.int32))))[:, :, 0]
    assert audio.shape == expected.shape
    np.testing.assert_allclose(audio, expected, atol=1e-5)


def test_melody_chroma(case):
    pipe, _, ref = case
    np.testing.assert_allclose(pipe.chroma(ref("encodec_input")), ref("chroma")[0], atol=1e-6)
    assert len(set(ref("chroma")[0].argmax(-1))) > 2, "the test tune should move between pitch classes"


@pytest.mark.parametrize("label", ["greedy_cfg", "greedy_nocfg"])
def test_greedy_generation_matches(case, label):
    pipe, settings, ref = case
    cfg = settings["cfg"] if label == "greedy_cfg" else 1.0
    melody = ref("encodec_input") if settings["melody"] else None
    job = pipe.start(settings["prompts"], SamplingParams(greedy=True, cfg_coef=cfg),
                     pipe.frames_for_steps(settings["steps"]), melody=melody)
    for _ in job:
        pass
    expected = ref(f"{label}_codes")
    assert len(np.unique(expected)) > 3, "a degenerate reference would prove little"
    np.testing.assert_array_equal(job.codes, expected)
    np.testing.assert_allclose(channels_first(pipe, pipe.decode(job.codes)), ref(f"{label}_audio"), atol=1e-5)


TIE = 1e-4  # logits this close are a tie that float rounding may break either way


def stepwise_margins(pipe, settings, ref, codes: np.ndarray, cfg: float) -> np.ndarray:
    """Feed ``codes`` one decoding step at a time (the cache growing as in generation) and return,
    per frame, how far the reference's token falls below the port's best logit (0: the port agrees)."""
    from engine.musicgen.generate import Conditioning, condition

    ids, mask = pipe.tokenizer(settings["prompts"])
    B = ids.shape[0]
    chroma = np.repeat(pipe.melody_chroma(ref("encodec_input")), B, 0) if settings["melody"] else None
    inputs = condition(pipe.model, Conditioning(ids, mask, chroma), cfg > 1)
    sequence = pipe.pattern.build(codes)
    cache, prefix = pipe.model.decoder.make_cache(), inputs.prefix
    K, S = sequence.shape[1], sequence.shape[2]
    gaps = np.zeros((S, B, K))
    for j in range(S - 1):
        x = mx.array(sequence[:, :, j: j + 1].astype(np.int32))
        x = mx.concatenate([x, x]) if cfg > 1 else x
        logits = pipe.model.decoder(x, cache, inputs.cross, prefix=prefix, last_only=True)[:, :, -1]
        prefix = None
        if cfg > 1:
            logits = logits[B:] + (logits[:B] - logits[B:]) * cfg
        logits = np.array(logits)
        target = np.minimum(sequence[:, :, j + 1], logits.shape[-1] - 1)  # special cells are not read below
        gaps[j + 1] = logits.max(-1) - np.take_along_axis(logits, target[..., None], -1)[..., 0]
    delays = np.array([pipe.pattern.delay(k) for k in range(K)])
    frames = codes.shape[2]
    return np.array([max(gaps[f + d + 1, :, k].max() for k, d in enumerate(delays)) for f in range(frames)])


@pytest.mark.parametrize("label", ["greedy_cfg", "greedy_nocfg"])
def test_long_greedy_generation_matches(case, label):
    """520 steps, past the KV cache's growth at 256 and 512 positions.

    Step by step on transformers' tokens, the port's best token is transformers' at every step
    (up to a tie); generating freely, the codes are transformers' up to the first tie, if any.
    """
    pipe, settings, ref = case
    if "long_steps" not in settings:
        pytest.skip("fixture made without long references")
    assert settings["long_steps"] >= 500
    cfg = settings["cfg"] if label == "greedy_cfg" else 1.0
    expected = ref(f"{label}_long_codes").astype(np.int64)
    assert len(np.unique(expected[:, :, 300:])) > 3, "the reference should still move after 300 frames"
    margins = stepwise_margins(pipe, settings, ref, expected, cfg)
    assert margins.max() < TIE, f"frame {margins.argmax()}: transformers' token is {margins.max():.2g} below the best"
    melody = ref("encodec_input") if settings["melody"] else None
    codes = run(pipe.start(settings["prompts"], SamplingParams(greedy=True, cfg_coef=cfg),
                           pipe.frames_for_steps(settings["long_steps"]), melody=melody))
    differ = np.flatnonzero((codes != expected).any(axis=(0, 1)))
    if differ.size:  # only a tie may part the two: then every frame before it must agree
        assert margins[differ[0]] > 0, f"frame {differ[0]} differs without a tie"
        print(f"{label}: free-running codes part from transformers at frame {differ[0]} of {expected.shape[2]}, "
              f"on a tie of {margins[differ[0]]:.2g}")


def test_windowed_generation_matches_audiocrafts_extend_stride(case):
    """40 s in 30 s windows with an 18 s stride, each continuing the last 12 s; melody wrapped per window."""
    pipe, settings, ref = case
    if not settings.get("window_seconds"):
        pytest.skip("fixture made without a windowed reference")
    from engine.musicgen.pipeline import MusicGenPipeline

    windowed = MusicGenPipeline(pipe.model, pipe.folder, context_seconds=settings["context_seconds"],
                                extend_stride_seconds=settings["stride_seconds"])
    melody = None
    if settings["melody"]:
        melody = ref("encodec_input")[: int(settings["window_melody_seconds"] * windowed.sample_rate)]
    frames = int(settings["window_seconds"] * windowed.frame_rate)
    job = windowed.start(settings["prompts"], SamplingParams(greedy=True, cfg_coef=settings["cfg"]), frames,
                         melody=melody)
    assert len(job.plan) == 2 and job.plan[1][0] == windowed.window_plan.context_frames - windowed.window_plan.stride_frames
    codes = run(job)
    expected = ref("windowed_codes").astype(np.int64)
    assert codes.shape == expected.shape == (2, pipe.pattern.num_codebooks, frames)
    mismatch = np.argwhere((codes != expected).any(axis=(0, 1)))
    assert mismatch.size == 0, f"first frame that differs from the reference: {mismatch[0, 0]} of {frames}"


def test_guidance_changes_the_reference(case):
    """Guards the fixtures: with guidance off the codes must differ, or the CFG check tests nothing."""
    _, _, ref = case
    assert not np.array_equal(ref("greedy_cfg_codes"), ref("greedy_nocfg_codes"))


def test_audio_prompt_continuation(case):
    pipe, settings, ref = case
    if settings["melody"] or settings.get("stereo"):
        pytest.skip("continuation reference is stored for the mono text model")
    prompt = ref("continuation_prompt")
    job = pipe.start(settings["continuation_prompts"], SamplingParams(greedy=True, cfg_coef=settings["cfg"]),
                     pipe.frames_for_steps(settings["steps"]), audio_prompt=prompt)
    for _ in job:
        pass
    expected = ref("continuation_codes")
    np.testing.assert_array_equal(job.codes, expected)
    prompt_codes = pipe.encode_audio(prompt)
    np.testing.assert_array_equal(job.codes[:, :, : prompt_codes.shape[2]], prompt_codes)
    np.testing.assert_allclose(channels_first(pipe, pipe.decode(job.codes)), ref("continuation_audio"), atol=1e-5)


def test_melody_model_without_a_melody(case):
    pipe, settings, ref = case
    if not settings["melody"]:
        pytest.skip("the text model takes no melody")
    job = pipe.start(settings["prompts"], SamplingParams(greedy=True, cfg_coef=settings["cfg"]),
                     pipe.frames_for_steps(settings["steps"]))
    for _ in job:
        pass
    np.testing.assert_array_equal(job.codes, ref("greedy_nomelody_codes"))
    np.testing.assert_allclose(channels_first(pipe, pipe.decode(job.codes)), ref("greedy_nomelody_audio"), atol=1e-5)


@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_a_long_prompt_fed_in_chunks_gives_the_same_codes(case, chunk, monkeypatch):
    """The continuation prompt fed 1, 3 or 64 steps at a time (the KV cache taking multi-token
    updates after a partial fill) gives transformers' codes. The 40 s windowed test feeds its
    600-frame window prompts in the default 256-step chunks."""
    pipe, settings, ref = case
    if settings["melody"] or settings.get("stereo"):
        pytest.skip("the continuation reference is stored for the mono text model")
    import engine.musicgen.generate as generate

    monkeypatch.setattr(generate, "PREFILL_CHUNK", chunk)
    job = pipe.start(settings["continuation_prompts"], SamplingParams(greedy=True, cfg_coef=settings["cfg"]),
                     pipe.frames_for_steps(settings["steps"]), audio_prompt=ref("continuation_prompt"))
    np.testing.assert_array_equal(run(job), ref("continuation_codes"))
