"""MusicGen-Stem generation: seeds, sampling, kept streams under sampling, windows past the context, the raw tool."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.errors import BackendError, GenerationCancelled
from engine.musicgen.sampling import SamplingParams
from engine.musicgen_stem import tool
from engine.musicgen_stem.pipeline import StemPipeline

TINY = Path(__file__).parent / "fixtures" / "musicgen-stem-tiny-7cb"


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    return StemPipeline.load(TINY, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def small_context(tmp_path_factory):
    """An 8 s context (149 output frames per regeneration window) so that windows are cheap to test."""
    return StemPipeline.load(TINY, cache_dir=tmp_path_factory.mktemp("cache"), context_seconds=8.0,
                             extend_stride_seconds=2.0)


def bass_line(seconds: float, sr: int = 32000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.4 * np.sin(2 * np.pi * 55 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32)


def run(job):
    steps = list(job)
    assert [s for s, _ in steps] == list(range(1, len(steps) + 1)) and steps[-1][1] == len(steps)
    return job.codes


def test_same_seed_same_codes_and_seeds_differ(pipe):
    params = SamplingParams(seed=4, top_k=20, temperature=1.2)
    a = run(pipe.generate(["funk"], params, 30))
    b = run(pipe.generate(["funk"], params, 30))
    c = run(pipe.generate(["funk"], SamplingParams(seed=5, top_k=20, temperature=1.2), 30))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (1, 7, 30) and a.max() < pipe.stem.lm_config.card


def test_top_p_and_top_k_one_agree_with_greedy(pipe):
    greedy = run(pipe.generate(["funk"], SamplingParams(greedy=True), 20))
    top1 = run(pipe.generate(["funk"], SamplingParams(top_k=1, seed=9), 20))
    tiny_p = run(pipe.generate(["funk"], SamplingParams(top_p=1e-6, seed=9), 20))
    np.testing.assert_array_equal(top1, greedy)
    np.testing.assert_array_equal(tiny_p, greedy)


@pytest.mark.parametrize("seed", [0, 1])
def test_kept_streams_are_the_kept_codes_whatever_the_sampling(pipe, seed):
    kept = {"bass": bass_line(3.0)}
    codes = run(pipe.regenerate(["funk"], SamplingParams(seed=seed, top_k=50), kept, ["drums", "other"], 60))
    expected = pipe.encode_kept(kept, 0)["bass"][:, :60]
    np.testing.assert_array_equal(codes[0, pipe.streams_of(["bass"])], expected)


def test_a_stem_neither_kept_nor_regenerated_is_kept_silent(pipe):
    codes = run(pipe.regenerate(["funk"], SamplingParams(seed=3), {"bass": bass_line(2.0)}, ["drums"], 40))
    silence = pipe.encode_kept({"other": np.zeros(1, np.float32)}, 0)["other"][:, :40]
    np.testing.assert_array_equal(codes[0, pipe.streams_of(["other"])], silence)


def test_regeneration_past_one_window_continues_itself(small_context):
    pipe = small_context
    room = pipe.regeneration_frames
    frames = 2 * room + 40
    plan = pipe.regeneration_windows(frames)
    assert len(plan) > 2 and plan[0] == (0, room, 0) and all(o > 0 for _, _, o in plan[1:])
    assert plan[-1][0] + plan[-1][1] == frames
    kept = {"bass": bass_line(frames / pipe.frame_rate + 1)}
    job = pipe.regenerate(["funk"], SamplingParams(seed=2, top_k=30), kept, ["drums", "other"], frames)
    codes = run(job)
    assert codes.shape == (1, 7, frames)
    bass = pipe.streams_of(["bass"])
    for start, count, overlap in plan:  # each window's kept frames are that window's own encoding
        window = pipe.encode_kept(kept, start)["bass"]
        np.testing.assert_array_equal(codes[0, bass, start + overlap: start + count], window[:, overlap:count])


def test_text_to_stems_past_the_context_by_extend_stride(small_context):
    pipe = small_context
    frames = pipe.context_frames + 150
    codes = run(pipe.generate(["funk"], SamplingParams(seed=1, top_k=30), frames))
    assert codes.shape == (1, 7, frames)
    stems = pipe.decode(codes)
    assert set(stems) == {"bass", "drums", "other"}
    assert all(a.shape == (1, frames * pipe.codec.hop_length) for a in stems.values())


def test_unknown_or_missing_stems_get_a_sentence(pipe):
    with pytest.raises(BackendError, match="unknown stem 'vocals'"):
        pipe.regenerate(["x"], SamplingParams(), {"drums": bass_line(1)}, ["vocals"], 10)
    with pytest.raises(BackendError, match="at least one stem"):
        pipe.regenerate(["x"], SamplingParams(), {"drums": bass_line(1)}, [], 10)


def test_raw_tool_writes_one_file_per_stem(tmp_path):
    keep = tmp_path / "bass_in.wav"
    sf.write(str(keep), bass_line(1.5, 44100), 44100)
    result = tool.run(TINY, "funk", {"bass": keep}, ["drums", "other"], tmp_path / "out",
                      tokens_path=tmp_path / "codes.npy", seed=3, cache_dir=tmp_path / "cache")
    assert sorted(result.files) == ["bass", "drums", "other"] and result.kept == ("bass",)
    lengths = set()
    for stem, path in result.files.items():
        audio, rate = sf.read(str(path))
        assert rate == 32000 and audio.ndim == 1 and np.isfinite(audio).all()
        lengths.add(audio.size)
    assert lengths == {result.codes.shape[2] * 640}
    np.testing.assert_array_equal(np.load(tmp_path / "codes.npy"), result.codes)
    with pytest.raises(BackendError, match="both kept and regenerated"):
        tool.run(TINY, "funk", {"bass": keep}, ["bass"], tmp_path / "o2", cache_dir=tmp_path / "cache")
    with pytest.raises(BackendError, match="does not exist"):
        tool.run(TINY, "funk", {"bass": tmp_path / "nope.wav"}, None, tmp_path / "o3", cache_dir=tmp_path / "cache")


def test_raw_tool_cancel(tmp_path):
    with pytest.raises(GenerationCancelled):
        tool.run(TINY, "funk", None, None, tmp_path / "out", seconds=1.0, cache_dir=tmp_path / "cache",
                 cancel=lambda: True)
    assert not (tmp_path / "out").exists()
