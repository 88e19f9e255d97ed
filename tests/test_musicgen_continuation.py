"""Continuation (a selection's preceding audio, or a reference), melody from a reference, slack, resident models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.analysis.result import ReferenceAnalysis
from engine.backends import GenerationRequest, PartSpec
from engine.context import MusicalContext
from engine.errors import BackendError
from engine.musicgen.backend import MusicGenBackend, part_prompt
from engine.musicgen.continuation import AudioContinuation
from engine.musicgen.resident import ResidentModels
from engine.musicgen.sampling import SamplingParams

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "musicgen-tiny"
MELODY = FIXTURES / "musicgen-melody-tiny"
SR = 44100


def tune(seconds: float, sr: int = 32000) -> np.ndarray:
    return np.load(TINY / "reference" / "encodec_input.npy")[: int(seconds * sr)]


def request(params=None, reference=None, bars=1):
    context = MusicalContext(tempo=120.0, bars=bars, genre="lofi hip hop")
    return GenerationRequest(context=context, parts=(PartSpec("Keys", "harmony"),), seed=4, sample_rate=SR,
                             prompt="lofi", params=params or {}, reference=reference)


def reference_file(tmp_path: Path, continue_audio: bool) -> ReferenceAnalysis:
    path = tmp_path / "ref.wav"
    sf.write(path, tune(2.0), 32000)
    return ReferenceAnalysis(path=str(path), tempo=120.0, tonic=0, mode="major", energy=0.5, loudness_lufs=None,
                             duration=2.0, chroma=np.zeros((4, 12), np.float32), chroma_rate=10.0,
                             continue_audio=continue_audio)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return ResidentModels(cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def backend(models):
    return MusicGenBackend(TINY, models=models)


def test_a_selection_is_continued_from_its_last_seconds(backend):
    pipe = backend.pipeline
    before = tune(1.0, 32000)
    given = AudioContinuation(before, 32000, seconds=0.4)
    part = backend.generate(request({"continue_from": given}))[0]
    assert part.params["continued_from"] == "selection" and part.params["prompt_seconds"] == pytest.approx(0.4)
    # the same continuation straight from the pipeline: the part is what follows the prompt
    prompt = before[-int(0.4 * 32000):]
    params = SamplingParams(seed=4)
    context = MusicalContext(tempo=120.0, bars=1, genre="lofi hip hop")
    job = pipe.start([part_prompt(context, PartSpec("Keys", "harmony"), "lofi")], params,
                     pipe.frames_for_seconds(context.duration + 0.1), audio_prompt=prompt)
    for _ in job:
        pass
    new_codes = job.codes[:, :, job.prompt_frames:]
    import soxr

    expected = soxr.resample(pipe.decode(new_codes)[0], 32000, SR)[: context.num_samples(SR)]
    np.testing.assert_allclose(part.audio[: len(expected), 0], expected, atol=1e-5)
    plain = backend.generate(request())[0]
    assert not np.allclose(plain.audio, part.audio)


def test_a_reference_is_continued_when_asked(backend, tmp_path):
    asked = backend.generate(request(reference=reference_file(tmp_path, continue_audio=True)))[0]
    not_asked = backend.generate(request(reference=reference_file(tmp_path, continue_audio=False)))[0]
    assert asked.params["continued_from"] == "reference" and asked.params["prompt_seconds"] == pytest.approx(2.0)
    assert not_asked.params["continued_from"] is None
    assert not np.allclose(asked.audio, not_asked.audio)


def test_the_melody_model_follows_a_references_chroma(tmp_path, models):
    melody_backend = MusicGenBackend(MELODY, models=models)
    with_ref = melody_backend.generate(request(reference=reference_file(tmp_path, continue_audio=False)))[0]
    without = melody_backend.generate(request())[0]
    assert with_ref.params["melody_conditioned"] and not without.params["melody_conditioned"]
    assert not np.allclose(with_ref.audio, without.audio)


@pytest.mark.parametrize("bad", [np.zeros(0, np.float32), np.array([np.nan, 0.0], np.float32), np.zeros(8, np.int16)])
def test_bad_continuation_audio_is_one_sentence(bad):
    with pytest.raises(BackendError) as exc:
        AudioContinuation(bad, 32000)
    assert "\n" not in str(exc.value)


def test_continue_from_must_be_typed(backend):
    with pytest.raises(BackendError, match="AudioContinuation"):
        backend.generate(request({"continue_from": [0.0, 0.1]}))


def test_slack_never_opens_a_window_on_its_own(backend):
    fits = MusicalContext(tempo=120.0, bars=12)  # 24 s: 24 s plus slack would pass the 30 s context
    assert backend.seconds_to_generate(fits) == pytest.approx(30.0)
    short = MusicalContext(tempo=120.0, bars=4)  # 8 s: the full slack fits
    assert backend.seconds_to_generate(short) == pytest.approx((8 + 2) * 1.15 + 0.5)
    long = MusicalContext(tempo=120.0, bars=20)  # 40 s: windows are needed anyway
    assert backend.seconds_to_generate(long) > 40


def test_one_resident_model_and_the_others_released(tmp_path, monkeypatch):
    import engine.musicgen.resident as resident

    loads = []
    original = resident.MusicGenPipeline.load
    monkeypatch.setattr(resident.MusicGenPipeline, "load",
                        staticmethod(lambda *a, **k: loads.append(a[0]) or original(*a, **k)))
    models = ResidentModels(cache_dir=tmp_path)
    stages = []
    first = models.get(TINY, progress=lambda f, m: stages.append(f))
    assert stages[0] == 0.0 and stages[-1] == 1.0 and stages == sorted(stages) and len(stages) >= 4
    assert models.get(TINY) is first and len(loads) == 1
    models.get(MELODY)
    assert models.resident == ["musicgen-melody-tiny (float32)"] and (TINY, "float32") not in models
    both = ResidentModels(budget_bytes=10 * models.resident_bytes, cache_dir=tmp_path)
    both.get(TINY)
    both.get(MELODY)
    assert len(both.resident) == 2
    tight = ResidentModels(budget_bytes=1, cache_dir=tmp_path)
    tight.get(TINY)
    tight.get(MELODY, dtype="bfloat16")
    assert tight.resident == ["musicgen-melody-tiny (bfloat16)"]
    with pytest.raises(Exception):
        models.get(tmp_path / "no-such-model")
    assert models.resident == ["musicgen-melody-tiny (float32)"], "a failed load must not drop the resident model"
    models.release()
    assert models.resident == []


def test_backend_dtype_defaults_to_the_platform_tier(models):
    from engine.musicgen.precision import default_dtype

    backend = MusicGenBackend(TINY, models=models, tier="preview")
    part = backend.generate(request())[0]
    assert part.params["dtype"] == default_dtype("preview")
