"""The MLX port against transformers' own outputs, stored by tools/make_musicgen_fixtures.py.

Every folder tests/fixtures/musicgen-*/ with a reference/ is checked, so regenerating the
fixtures with other dimensions and seeds (``make parity PARITY_ARGS="--seed 7 ..."``) re-runs
parity on them; MUSICGEN_FIXTURES=DIR points the checks at another folder. No torch here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest

from engine.musicgen.pipeline import MusicGenPipeline
from engine.musicgen.sampling import SamplingParams

# MUSICGEN_FIXTURES=DIR checks freshly made checkpoints (tools/make_musicgen_fixtures.py --out DIR) instead.
ROOT = Path(os.environ.get("MUSICGEN_FIXTURES") or Path(__file__).parent / "fixtures")
FIXTURES = sorted(p for p in ROOT.glob("musicgen-*") if (p / "reference").is_dir())


@pytest.fixture(scope="module", params=FIXTURES, ids=[p.name for p in FIXTURES])
def case(request, tmp_path_factory):
    folder = request.param
    pipe = MusicGenPipeline.load(folder, cache_dir=tmp_path_factory.mktemp("mlx-cache"))
    settings = json.loads((folder / "reference" / "settings.json").read_text())

    def ref(name: str) -> np.ndarray:
        return np.load(folder / "reference" / f"{name}.npy")

    return pipe, settings, ref


def test_fixtures_cover_both_checkpoint_classes():
    architectures = {json.loads((p / "config.json").read_text())["architectures"][0] for p in FIXTURES}
    assert architectures == {"MusicgenForConditionalGeneration", "MusicgenMelodyForConditionalGeneration"}


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
    audio = pipe.decode(ref("encodec_codes"))
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
    np.testing.assert_allclose(pipe.decode(job.codes), ref(f"{label}_audio")[:, 0], atol=1e-5)


def test_guidance_changes_the_reference(case):
    """Guards the fixtures: with guidance off the codes must differ, or the CFG check tests nothing."""
    _, _, ref = case
    assert not np.array_equal(ref("greedy_cfg_codes"), ref("greedy_nocfg_codes"))


def test_audio_prompt_continuation(case):
    pipe, settings, ref = case
    if settings["melody"]:
        pytest.skip("continuation reference is stored for the text model")
    prompt = ref("continuation_prompt")
    job = pipe.start(settings["continuation_prompts"], SamplingParams(greedy=True, cfg_coef=settings["cfg"]),
                     pipe.frames_for_steps(settings["steps"]), audio_prompt=prompt)
    for _ in job:
        pass
    expected = ref("continuation_codes")
    np.testing.assert_array_equal(job.codes, expected)
    prompt_codes = pipe.encode_audio(prompt)
    np.testing.assert_array_equal(job.codes[:, :, : prompt_codes.shape[2]], prompt_codes)
    np.testing.assert_allclose(pipe.decode(job.codes), ref("continuation_audio")[:, 0], atol=1e-5)


def test_melody_model_without_a_melody(case):
    pipe, settings, ref = case
    if not settings["melody"]:
        pytest.skip("the text model takes no melody")
    job = pipe.start(settings["prompts"], SamplingParams(greedy=True, cfg_coef=settings["cfg"]),
                     pipe.frames_for_steps(settings["steps"]))
    for _ in job:
        pass
    np.testing.assert_array_equal(job.codes, ref("greedy_nomelody_codes"))
    np.testing.assert_allclose(pipe.decode(job.codes), ref("greedy_nomelody_audio")[:, 0], atol=1e-5)
