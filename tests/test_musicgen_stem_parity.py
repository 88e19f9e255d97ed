"""MusicGen-Stem in MLX against the fork's own outputs, stored by tools/make_musicgen_stem_fixtures.py.

The reference is ``simonrouard/audiocraft`` (multistem) with commit 29b8230's ``LMModel.generate``
(the one that forces kept streams): greedy codes must be identical, the kept streams must be
exactly the kept stems' codes, and decoded stems allclose. Every ``musicgen-stem-*`` folder with
a ``parity/`` is checked; MUSICGEN_STEM_FIXTURES=DIR points at freshly made ones. No torch here.
"""

from __future__ import annotations

import json

import mlx.core as mx
import numpy as np
import pytest

from engine.musicgen.sampling import SamplingParams
from engine.musicgen_stem.generate import condition_cross
from engine.musicgen_stem.pipeline import StemPipeline
from parity_fixtures import fixture_folders, load_case

FIXTURES = fixture_folders("MUSICGEN_STEM_FIXTURES", "musicgen-stem-*", "parity")


@pytest.fixture(scope="module", params=FIXTURES, ids=[p.name for p in FIXTURES])
def case(request, tmp_path_factory):
    cache = tmp_path_factory.mktemp("stem-cache")
    return load_case(request.param, "parity", lambda folder: StemPipeline.load(folder, cache_dir=cache))


def _run(job):
    steps = [s for s in job]
    assert steps and steps[-1][0] == steps[-1][1] == len(steps)
    return job.codes


def test_both_codebook_layouts_are_covered():
    delays = {tuple(json.loads((p / "parity" / "settings.json").read_text())["delays"]) for p in FIXTURES}
    assert delays >= {(0, 0, 0, 1, 2, 3), (0, 1, 0, 0, 1, 2, 3)}


def test_parts_match(case):
    pipe, settings, ref = case
    states, mask = pipe.stem.encode_text(settings["prompts"])
    assert np.asarray(mask).min() == 0, "the prompts should need padding"
    np.testing.assert_allclose(np.array(states), ref("t5_hidden"), atol=2e-5)
    cross = condition_cross(pipe.lm, states, mask, use_cfg=False)
    logits = pipe.lm.decoder(mx.array(ref("lm_input").astype(np.int32)), pipe.lm.decoder.make_cache(), cross)
    np.testing.assert_allclose(np.array(logits), ref("lm_logits"), atol=1e-4, rtol=1e-4)
    codes = pipe.codec.encode_stem("other", ref("codec_input"))
    np.testing.assert_array_equal(codes, ref("codec_codes"))
    audio = pipe.codec.stems["other"].decode(mx.array(ref("codec_codes").astype(np.int32)))
    np.testing.assert_allclose(np.array(audio)[0, :, 0], ref("codec_audio"), atol=1e-5)


def test_text_to_stems_greedy_codes_are_identical(case):
    pipe, settings, ref = case
    expected = ref("text_codes")
    assert len(np.unique(expected)) > 10, "a degenerate reference would prove little"
    params = SamplingParams(greedy=True, cfg_coef=settings["cfg_coef"])
    codes = _run(pipe.generate(settings["prompts"], params, expected.shape[2]))
    np.testing.assert_array_equal(codes, expected)
    audio = pipe.decode(codes)
    for stem in pipe.sources:
        np.testing.assert_allclose(audio[stem], ref(f"text_audio_{stem}"), atol=1e-5)


def test_regeneration_with_kept_streams_forced_is_identical(case):
    pipe, settings, ref = case
    expected = ref("regen_codes")
    kept = {s: ref(f"kept_{s}").astype(np.float32) / 32768.0 for s in settings["kept"]}
    params = SamplingParams(greedy=True, cfg_coef=settings["cfg_coef"])
    codes = _run(pipe.regenerate(settings["regen_prompts"], params, kept, settings["regenerate"], expected.shape[2]))
    np.testing.assert_array_equal(codes, expected)
    # The kept streams are the kept stems' own codes, bit for bit (the fork's encoding and ours).
    kept_streams = pipe.streams_of(settings["kept"])
    window = ref("kept_window_codes")[:, kept_streams, : expected.shape[2]]
    np.testing.assert_array_equal(codes[:, kept_streams], window)
    ours = pipe.encode_kept(kept, 0)
    np.testing.assert_array_equal(np.concatenate([ours[s] for s in settings["kept"]])[:, : expected.shape[2]],
                                  window[0])
    new_streams = pipe.streams_of(settings["regenerate"])
    assert len(np.unique(codes[:, new_streams])) > 1, "the regenerated streams should be generated, not constant"
    audio = pipe.decode(codes)
    for stem in pipe.sources:
        np.testing.assert_allclose(audio[stem], ref(f"regen_audio_{stem}"), atol=1e-5)
