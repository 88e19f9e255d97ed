"""The musicgen-stem backend: roles onto stems, locked tracks heard, takes on the session length."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.backends import GenerationRequest, LockedPart, PartSpec, available_backends, get_backend
from engine.context import MusicalContext
from engine.errors import GenerationCancelled, ModelError
from engine.musicgen_stem.backend import split_bands

TINY = Path(__file__).parent / "fixtures" / "musicgen-stem-tiny-6cb"
SR = 44100


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    return get_backend("musicgen-stem", model_dir=str(TINY), cache_dir=tmp_path_factory.mktemp("cache"))


def drum_loop(seconds: float, bpm: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.zeros(int(seconds * SR), np.float32)
    for k in range(int(seconds * bpm / 60)):
        n = int(k * 60 / bpm * SR)
        m = min(1500, y.size - n)
        y[n: n + m] += rng.standard_normal(m).astype(np.float32) * np.exp(-np.arange(m) / 200.0)
    return np.repeat(y[:, None], 2, axis=1)


def request(parts, locked=(), seed=3, bars=1, params=None):
    context = MusicalContext(tempo=100, bars=bars, genre="funk")
    return GenerationRequest(context=context, parts=tuple(parts), seed=seed, sample_rate=SR,
                             locked=tuple(locked), prompt="funk", params=params or {})


def test_registered_and_refuses_a_bad_folder(tmp_path):
    assert "musicgen-stem" in available_backends()
    with pytest.raises(ModelError, match="does not exist"):
        get_backend("musicgen-stem", model_dir=str(tmp_path / "absent"))


def test_render_lock_drums_regenerate_bass_five_times(tmp_path):
    from resonant_studio.generation.plan import generate
    from resonant_studio.generation.studio import new_session

    options = {"model_dir": str(TINY), "cache_dir": str(tmp_path)}
    session = new_session("funk 100 bpm", bars=2)
    generate(session, seed=1, engine="musicgen-stem", engine_options=options)  # returns (session, takes)
    tracks = {t.role: t for t in session.tracks}
    for t in session.tracks:
        assert t.active_take.audio.shape == (session.num_samples, 2)
    drums, bass = tracks["drums"], tracks["bass"]
    drums.locked = True
    drum_audio = drums.active_take.audio.copy()
    takes = []
    for seed in range(10, 15):
        _, (take,) = generate(session, [bass], seed=seed, engine="musicgen-stem", engine_options=options)
        takes.append(take)
        np.testing.assert_array_equal(drums.active_take.audio, drum_audio)
        assert take.audio.shape == (session.num_samples, 2)
        assert "drums" in take.params["kept_stems"] and take.params["stem"] == "bass"
    audios = [t.audio for t in takes]
    assert all(np.abs(a).max() > 0 for a in audios)
    assert all(not np.array_equal(audios[i], audios[j]) for i in range(5) for j in range(i + 1, 5))


def test_an_imported_drum_loop_conditions_the_new_bass(backend):
    parts = [PartSpec("Bass", "bass")]
    a = backend.generate(request(parts, [LockedPart("Loop", "drums", drum_loop(2.4, 100, 1))], seed=5))[0]
    b = backend.generate(request(parts, [LockedPart("Loop", "drums", drum_loop(2.4, 100, 1))], seed=5))[0]
    c = backend.generate(request(parts, [LockedPart("Loop", "drums", 0.2 * drum_loop(2.4, 140, 9))], seed=5))[0]
    np.testing.assert_array_equal(a.audio, b.audio)
    assert not np.array_equal(a.audio, c.audio)
    assert a.params["kept_stems"] == ["drums"] and a.params["silent_stems"] == ["other"] and a.audio.shape == (request(parts).context.num_samples(SR), 2)


def test_tonal_tracks_share_one_other_take_split_by_bands(backend):
    parts = [PartSpec("Keys", "harmony"), PartSpec("Lead", "melody")]
    out = backend.generate(request(parts, [LockedPart("Loop", "drums", drum_loop(2.4, 100, 2))]))
    assert [p.params["stem"] for p in out] == ["other", "other"]
    assert out[0].params["band_split"] == ["Keys", "Lead"]
    assert not np.array_equal(out[0].audio, out[1].audio)
    spectrum = [np.abs(np.fft.rfft(p.audio[:, 0])) for p in out]
    freqs = np.fft.rfftfreq(out[0].audio.shape[0], 1 / SR)
    assert spectrum[0][freqs >= 1000].max() < 1e-3 * max(1e-9, spectrum[0].max())
    assert spectrum[1][freqs < 1000].max() < 1e-3 * max(1e-9, spectrum[1].max())


def test_a_locked_tonal_track_cannot_be_kept_while_other_is_regenerated(backend):
    locked = [LockedPart("Keys", "harmony", drum_loop(2.4, 100, 3))]
    (part,) = backend.generate(request([PartSpec("Lead", "melody")], locked))
    assert part.params["not_heard"] == ["Keys"] and part.params["kept_stems"] == []


def test_bands_sum_back_to_the_signal():
    y = np.random.default_rng(0).standard_normal(4096).astype(np.float32)
    for n in (1, 2, 3):
        np.testing.assert_allclose(np.sum(split_bands(y, SR, n), axis=0), y, atol=1e-4)


def test_cancel_stops_between_steps(backend):
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(GenerationCancelled):
        backend.generate(request([PartSpec("Bass", "bass")]), cancel=cancel)
    assert len(calls) == 3
