"""The musicgen backend: registry, prompts per track, grid conforming, melody from locked tracks, cancel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.backends import GenerationRequest, LockedPart, PartSpec, get_backend
from engine.context import MusicalContext
from engine.errors import GenerationCancelled, ModelError
from engine.musicgen.backend import MusicGenBackend, part_prompt
from engine.musicgen.conform import conform_to_grid, track_beats

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "musicgen-tiny"
MELODY = FIXTURES / "musicgen-melody-tiny"
SR = 44100


def clicks(bpm: float, first: float, accent: int, seconds: float, sr: int = SR) -> np.ndarray:
    """A click track whose every 4th beat from beat ``accent`` is loud (the downbeats)."""
    rng = np.random.default_rng(0)
    y = np.zeros(int(seconds * sr))
    length = int(0.03 * sr)
    k = 0
    while first + k * 60 / bpm < seconds - 0.1:
        n = int((first + k * 60 / bpm) * sr)
        amp = 1.0 if (k - accent) % 4 == 0 else 0.35
        y[n: n + length] += amp * rng.standard_normal(length) * np.exp(-np.arange(length) / (0.005 * sr))
        k += 1
    return y.astype(np.float32)


def request(parts, bars=1, tempo=120.0, locked=(), seed=3, params=None):
    context = MusicalContext(tempo=tempo, bars=bars, genre="lofi hip hop", moods=("relaxed",))
    return GenerationRequest(context=context, parts=tuple(parts), seed=seed, sample_rate=SR, locked=tuple(locked),
                             prompt="lofi hip hop", params=params or {})


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    return get_backend("musicgen", model_dir=str(TINY), cache_dir=tmp_path_factory.mktemp("cache"))


def test_missing_or_broken_model_dir_raises_model_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        MusicGenBackend(model_dir=tmp_path / "absent")
    with pytest.raises(ModelError, match="config.json"):
        MusicGenBackend(model_dir=tmp_path)
    with pytest.raises(ModelError):
        MusicGenBackend(model_dir=None)


def test_track_prompts_carry_session_and_role():
    context = MusicalContext(tempo=92, tonic=2, mode="minor", genre="lofi hip hop", moods=("dusty",),
                             instruments=(("bass", "upright bass"),))
    text = part_prompt(context, PartSpec("Bass", "bass", "chill beat"), "chill beat")
    for word in ("chill beat", "lofi hip hop", "bass line", "upright bass", "dusty", "92 bpm", "D minor"):
        assert word in text
    assert "drum" in part_prompt(context, PartSpec("Drums", "drums"), "")


def test_generates_each_part_on_the_session_grid(backend):
    req = request([PartSpec("Drums", "drums", "lofi"), PartSpec("Bass", "bass", "lofi")])
    parts = backend.generate(req)
    assert [p.name for p in parts] == ["Drums", "Bass"]
    for p in parts:
        assert p.audio.shape == (req.context.num_samples(SR), 2) and p.audio.dtype == np.float32
        assert np.isfinite(p.audio).all() and np.abs(p.audio).max() > 0
        assert p.params["prompt"].startswith("lofi") and "conform" in p.params
    assert not np.allclose(parts[0].audio, parts[1].audio)


def test_same_seed_same_audio(backend):
    req = request([PartSpec("Melody", "melody")], params={"top_k": 50})
    a = backend.generate(req)[0].audio
    b = backend.generate(req)[0].audio
    np.testing.assert_array_equal(a, b)


def test_cancel_stops_within_one_step(backend, monkeypatch):
    steps = []
    decoder = backend.pipeline.model.decoder
    original = type(decoder).__call__
    monkeypatch.setattr(type(decoder), "__call__", lambda self, *a, **k: steps.append(1) or original(self, *a, **k))
    reports = []
    with pytest.raises(GenerationCancelled):
        backend.generate(request([PartSpec("Bass", "bass")], bars=4),
                         progress=lambda f, m: reports.append(f), cancel=lambda: len(reports) >= 2)
    assert len(steps) == 3  # two steps handed out, one queued ahead (async pipelining), none after cancel


def test_melody_model_is_conditioned_by_locked_tonal_tracks(tmp_path):
    backend = MusicGenBackend(model_dir=MELODY, cache_dir=tmp_path)
    t = np.arange(2 * SR) / SR
    tune = 0.3 * np.sin(2 * np.pi * np.where(t % 0.5 < 0.25, 440.0, 587.3) * t).astype(np.float32)
    harmony = LockedPart("Keys", "harmony", np.stack([tune, tune], axis=1))
    drums = LockedPart("Drums", "drums", np.zeros((2 * SR, 2), np.float32))
    plain = backend.generate(request([PartSpec("Melody", "melody")], locked=[drums]))[0]
    steered = backend.generate(request([PartSpec("Melody", "melody")], locked=[drums, harmony]))[0]
    assert not plain.params["melody_conditioned"] and steered.params["melody_conditioned"]
    assert not np.array_equal(plain.audio, steered.audio)


def test_beat_tracking_finds_tempo_and_downbeat():
    grid = track_beats(clicks(100, 0.3, 1, 12), SR, target_tempo=120, beats_per_bar=4)
    assert grid.tempo == pytest.approx(100, rel=0.01)
    assert grid.downbeat == pytest.approx(0.9, abs=0.03)
    half_time = track_beats(clicks(60, 0.3, 0, 12), SR, target_tempo=120, beats_per_bar=4)
    assert half_time.tempo == pytest.approx(120, rel=0.01)  # tempo octaves fold onto the session's


def test_conform_puts_beats_on_the_session_grid():
    out, report = conform_to_grid(clicks(100, 0.3, 1, 12), SR, tempo=120, beats_per_bar=4, num_samples=8 * SR)
    assert out.shape == (8 * SR,)
    assert report["stretch_rate"] == pytest.approx(1.2, rel=0.01)
    # Every beat of the session grid has its click, starting within 40 ms of the grid point.
    expected = np.arange(0, 7.6, 0.5)
    peak = np.abs(out).max()
    starts = []
    for e in expected:
        lo = max(0, int((e - 0.04) * SR))
        window = np.abs(out[lo: int((e + 0.04) * SR)])
        assert window.max() > 0.15 * peak, e
        starts.append(lo / SR + np.flatnonzero(window > 0.5 * window.max())[0] / SR)
    nearest = np.abs(np.array(starts) - expected)
    assert (nearest < 0.04).all(), nearest
    level = [np.abs(out[int(e * SR): int((e + 0.04) * SR)]).max() for e in expected]
    accents = [e for e, v in zip(expected, level) if v > 0.6 * max(level)]
    assert accents == [0.0, 2.0, 4.0, 6.0]  # the downbeats open each bar, the first at the start


def test_no_clear_beat_leaves_timing_alone():
    rng = np.random.default_rng(1)
    noise = (0.1 * rng.standard_normal(3 * SR)).astype(np.float32)
    out, report = conform_to_grid(noise, SR, tempo=120, beats_per_bar=4, num_samples=2 * SR)
    assert report["stretch_rate"] == 1.0
    np.testing.assert_allclose(out, noise[: 2 * SR], atol=1e-3)


def test_render_command_runs_end_to_end_with_musicgen(tmp_path, monkeypatch):
    pytest.importorskip("resonant_studio.cli.session")
    from resonant_studio.cli import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    code = main(["render", "lofi hip hop", "--engine", "musicgen", "--model", str(TINY), "--bars", "2",
                 "--seed", "4", "--out", str(tmp_path)])
    assert code == 0
    import soundfile as sf

    mixes = list(tmp_path.glob("*.wav"))
    assert mixes
    audio, rate = sf.read(mixes[0])
    assert rate == 44100 and np.abs(audio).max() > 0


def test_one_audio_prompt_per_part_and_all_of_one_length(backend):
    from engine.errors import BackendError
    from engine.musicgen.continuation import AudioContinuation

    parts = [PartSpec("Bass", "bass"), PartSpec("Keys", "harmony")]
    tone = (0.2 * np.sin(np.arange(SR) * 0.05)).astype(np.float32)
    with pytest.raises(BackendError, match="one per part"):
        backend.generate(request(parts, params={"continue_from": (AudioContinuation(tone, SR),)}))
    uneven = (AudioContinuation(tone, SR), AudioContinuation(tone[: SR // 2], SR))
    with pytest.raises(BackendError, match="same time"):
        backend.generate(request(parts, params={"continue_from": uneven}))
    both = backend.generate(request(parts, params={"continue_from": (AudioContinuation(tone, SR),
                                                                      AudioContinuation(-tone, SR))}))
    assert [p.params["continued_from"] for p in both] == ["selection", "selection"]
    assert both[0].params["prompt_seconds"] == pytest.approx(1.0)  # 1 s is whole 20 ms codec frames
