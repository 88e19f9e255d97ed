"""Sampling, seeds, windowed extension, the raw tool, and what the app never imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.musicgen.generate import Conditioning, TokenGeneration
from engine.musicgen.pipeline import MusicGenPipeline
from engine.musicgen.sampling import SamplingParams
from resonant_studio.cli import main as cli_main

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "musicgen-tiny"
MELODY = FIXTURES / "musicgen-melody-tiny"


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    return MusicGenPipeline.load(TINY, cache_dir=tmp_path_factory.mktemp("cache"))


def run(job) -> np.ndarray:
    for _ in job:
        pass
    return job.codes


def sample(pipe, seed, frames=12, **kw):
    params = SamplingParams(greedy=False, top_k=kw.pop("top_k", 0), temperature=kw.pop("temperature", 1.0),
                            top_p=kw.pop("top_p", 0.0), cfg_coef=3.0, seed=seed)
    return run(pipe.start(["lofi hip hop", "calm piano"], params, frames))


def test_same_seed_same_codes_other_seed_other_codes(pipe):
    a, b, c = sample(pipe, 5), sample(pipe, 5), sample(pipe, 6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (2, 4, 12)


def test_top_k_one_and_tiny_top_p_are_greedy(pipe):
    greedy = run(pipe.start(["lofi hip hop", "calm piano"], SamplingParams(greedy=True, cfg_coef=3.0), 12))
    np.testing.assert_array_equal(sample(pipe, 1, top_k=1), greedy)
    np.testing.assert_array_equal(sample(pipe, 2, top_p=1e-6), greedy)
    assert not np.array_equal(sample(pipe, 3, temperature=50.0), greedy)


def test_batch_items_are_independent_of_their_neighbours(pipe):
    params = SamplingParams(greedy=True, cfg_coef=3.0)
    both = run(pipe.start(["lofi hip hop", "calm piano with strings and rain"], params, 10))
    alone = run(pipe.start(["lofi hip hop"], params, 10))
    np.testing.assert_array_equal(both[:1], alone)


def test_generation_stops_when_the_caller_stops_iterating(pipe, monkeypatch):
    calls = []
    decoder = pipe.model.decoder
    original = type(decoder).__call__
    monkeypatch.setattr(type(decoder), "__call__", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    job = pipe.start(["lofi"], SamplingParams(greedy=True), 50)
    for done, total in job:
        if done == 3:
            break
    # the loop queues one step ahead of the one it hands out (mx.async_eval pipelining), no more
    assert len(calls) == 4 and total == 50 + 4 - 1


def test_windowed_extension_continues_each_window_from_the_last(tmp_path):
    pipe = MusicGenPipeline.load(TINY, cache_dir=tmp_path, context_seconds=0.2, extend_stride_seconds=0.12)
    context, stride = pipe.window_plan.context_frames, pipe.window_plan.stride_frames
    assert (context, stride) == (10, 6)
    params = SamplingParams(greedy=True, cfg_coef=3.0)
    job = pipe.start(["lofi hip hop"], params, 25)
    codes = run(job)
    assert codes.shape == (1, 4, 25)
    assert len(job.plan) == 4
    first = run(pipe.start(["lofi hip hop"], params, context))
    np.testing.assert_array_equal(codes[:, :, :context], first)
    kept = context - stride
    ids, mask = pipe.tokenizer(["lofi hip hop"])
    window = TokenGeneration(pipe.model, Conditioning(ids, mask, None, codes[:, :, context - kept: context]),
                             params, stride, pipe.pattern)
    for _ in window:
        pass
    np.testing.assert_array_equal(window.codes[:, :, kept:], codes[:, :, context: context + stride])


def test_melody_model_follows_its_chroma(tmp_path):
    pipe = MusicGenPipeline.load(MELODY, cache_dir=tmp_path)
    ref = np.load(MELODY / "reference" / "encodec_input.npy")
    params = SamplingParams(greedy=True, cfg_coef=3.0)
    with_tune = run(pipe.start(["lofi"], params, 10, melody=ref))
    other_tune = run(pipe.start(["lofi"], params, 10, melody=np.roll(ref, 9000)))
    assert not np.array_equal(with_tune, other_tune)


def test_raw_tool_writes_raw_audio_and_codes(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    settings = json.loads((TINY / "reference" / "settings.json").read_text())
    out, tokens = tmp_path / "take.wav", tmp_path / "take.npy"
    code = cli_main(["musicgen", "generate", "--model", str(TINY), "--prompt", settings["prompts"][0],
                     "--steps", str(settings["steps"]), "--greedy", "--cfg", str(settings["cfg"]),
                     "--out", str(out), "--tokens", str(tokens), "--quiet"])
    assert code == 0
    expected_codes = np.load(TINY / "reference" / "greedy_cfg_codes.npy")[0]
    np.testing.assert_array_equal(np.load(tokens), expected_codes)
    audio, rate = sf.read(out, dtype="float32")
    assert rate == 32000 and sf.info(out).subtype == "FLOAT"
    # batch of one: the padding-free run must match the reference's first (unpadded) prompt closely
    assert audio.shape == np.load(TINY / "reference" / "greedy_cfg_audio.npy")[0, 0].shape


def test_raw_tool_continues_an_audio_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    prompt = np.load(TINY / "reference" / "continuation_prompt.npy")
    sf.write(tmp_path / "prompt.wav", prompt, 32000, subtype="FLOAT")
    settings = json.loads((TINY / "reference" / "settings.json").read_text())
    code = cli_main(["musicgen", "generate", "--model", str(TINY), "--prompt", settings["continuation_prompts"][0],
                     "--steps", str(settings["steps"]), "--greedy", "--cfg", str(settings["cfg"]), "--quiet",
                     "--continue", str(tmp_path / "prompt.wav"), "--out", str(tmp_path / "o.wav"),
                     "--tokens", str(tmp_path / "o.npy")])
    assert code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), np.load(TINY / "reference" / "continuation_codes.npy")[0])


def test_raw_tool_reports_a_broken_folder_in_one_line(tmp_path, capsys):
    code = cli_main(["musicgen", "generate", "--model", str(tmp_path), "--prompt", "x", "--out", str(tmp_path / "o.wav")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.count("\n") == 0 and "config.json" in err
    assert not (tmp_path / "o.wav").exists()


def test_generation_imports_no_torch_and_unpickles_nothing(tmp_path):
    script = f"""
import pickle, sys
def refuse(*a, **k):
    raise AssertionError("something was unpickled")
pickle.load = pickle.loads = refuse
pickle.Unpickler = refuse
from engine.backends import get_backend
from resonant_studio.cli import main
code = main(["musicgen", "generate", "--model", {str(MELODY)!r}, "--prompt", "lofi", "--steps", "6",
             "--out", {str(tmp_path / 'x.wav')!r}, "--quiet"])
assert code == 0
banned = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'torchaudio'))
print("BANNED", banned)
"""
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                            cwd=Path(__file__).parents[1], timeout=120)
    assert result.returncode == 0, result.stderr
    assert "BANNED []" in result.stdout


def test_a_rows_samples_do_not_depend_on_the_rest_of_the_batch(pipe):
    params = SamplingParams(greedy=False, top_k=0, cfg_coef=3.0, seed=40)
    both = run(pipe.start(["lofi hip hop", "calm piano"], params, 10))
    alone_second = run(pipe.start(["calm piano"], SamplingParams(greedy=False, top_k=0, cfg_coef=3.0, seed=41), 10))
    np.testing.assert_array_equal(both[1:], alone_second)


def test_raw_tool_melody_batch_matches_reference(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    settings = json.loads((MELODY / "reference" / "settings.json").read_text())
    sf.write(tmp_path / "tune.wav", np.load(MELODY / "reference" / "encodec_input.npy"), 32000, subtype="FLOAT")
    args = ["musicgen", "generate", "--model", str(MELODY), "--steps", str(settings["steps"]), "--greedy",
            "--cfg", str(settings["cfg"]), "--melody", str(tmp_path / "tune.wav"), "--quiet",
            "--out", str(tmp_path / "m.wav"), "--tokens", str(tmp_path / "m.npy")]
    for prompt in settings["prompts"]:
        args += ["--prompt", prompt]
    assert cli_main(args) == 0
    codes = np.load(MELODY / "reference" / "greedy_cfg_codes.npy")
    audio = np.load(MELODY / "reference" / "greedy_cfg_audio.npy")
    for i in range(len(settings["prompts"])):
        np.testing.assert_array_equal(np.load(tmp_path / f"m-{i + 1}.npy"), codes[i])
        written, _ = sf.read(tmp_path / f"m-{i + 1}.wav", dtype="float32")
        np.testing.assert_allclose(written, audio[i, 0], atol=1e-5)


def test_windows_run_t5_and_the_cross_attention_projections_once(tmp_path, monkeypatch):
    pipe = MusicGenPipeline.load(TINY, cache_dir=tmp_path, context_seconds=0.2, extend_stride_seconds=0.12)
    model = type(pipe.model)
    calls = {"text": 0, "cross": 0}
    encode, cross = model.encode_text, type(pipe.model.decoder).cross_states
    monkeypatch.setattr(model, "encode_text", lambda self, *a: calls.__setitem__("text", calls["text"] + 1) or encode(self, *a))
    monkeypatch.setattr(type(pipe.model.decoder), "cross_states",
                        lambda self, *a: calls.__setitem__("cross", calls["cross"] + 1) or cross(self, *a))
    job = pipe.start(["lofi hip hop"], SamplingParams(greedy=True, cfg_coef=3.0), 25)
    run(job)
    assert len(job.plan) == 4 and calls == {"text": 1, "cross": 1}


def test_a_prompt_longer_than_the_text_context_is_one_sentence(pipe):
    from engine.errors import PromptError

    with pytest.raises(PromptError) as exc:
        pipe.start(["lofi " * 600], SamplingParams(greedy=True), 4)
    text = str(exc.value)
    assert "at most 512" in text and "\n" not in text


@pytest.mark.parametrize("length", [1, 2, 9, 40, 129])
def test_t5_position_bias_equals_the_bucket_of_every_pair(pipe, length):
    from engine.musicgen.t5 import relative_position_buckets

    attention = pipe.model.text_encoder.encoder.block[0].layer[0].SelfAttention
    bias = np.array(attention.position_bias(length))
    relative = np.arange(length)[None, :] - np.arange(length)[:, None]
    table = np.array(attention.relative_attention_bias.weight)
    expected = table[relative_position_buckets(relative, attention.num_buckets, attention.max_distance)]
    np.testing.assert_array_equal(bias, expected.transpose(2, 0, 1)[None])
