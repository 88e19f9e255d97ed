"""The built-in composer backend: shapes, levels, determinism, lock-awareness, key and meter."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.backends import GenerationRequest, LockedPart, PartSpec, get_backend
from engine.composer.backend import ComposerBackend
from engine.composer.drum_voices import drum_hit
from engine.composer.grid import onset_times, part_rng
from engine.context import MusicalContext
from engine.errors import BackendError, GenerationCancelled
from engine.theory import diatonic_chord, scale_pitch_classes

SR = 22050
ROLES = ("drums", "bass", "harmony", "melody")


def make_context(genre="techno", *, tempo=128.0, meter=(4, 4), tonic=9, mode="minor", bars=8,
                 degrees=(1, 6, 3, 7), energy=0.6, instruments=()) -> MusicalContext:
    chords = tuple(diatonic_chord(tonic, mode, d) for d in degrees)
    return MusicalContext(tempo=tempo, meter=meter, tonic=tonic, mode=mode, bars=bars, chords=chords,
                          genre=genre, energy=energy, instruments=instruments)


def generate(ctx, roles, seed=0, *, locked=(), sr=SR, params=None, progress=None, cancel=None):
    request = GenerationRequest(ctx, tuple(PartSpec(r.title(), r) for r in roles), seed, sr,
                                locked=tuple(locked), params=params or {})
    return ComposerBackend().generate(request, progress=progress, cancel=cancel)


def near_any(times: np.ndarray, targets: np.ndarray, tol: float = 0.020) -> np.ndarray:
    """For each time, whether some target lies within ``tol`` seconds."""
    if len(times) == 0 or len(targets) == 0:
        return np.zeros(len(times), dtype=bool)
    return np.abs(np.asarray(times)[:, None] - np.asarray(targets)[None, :]).min(axis=1) <= tol


def kick_or_eighth_fraction(onsets_s, kick_s, tempo) -> float:
    eighth = 30.0 / tempo
    on_grid = np.abs(np.asarray(onsets_s) / eighth - np.round(np.asarray(onsets_s) / eighth)) * eighth <= 0.020
    return float(np.mean(on_grid | near_any(onsets_s, kick_s)))


# --- shapes, levels ---------------------------------------------------------------------------

@pytest.mark.parametrize("genre", ["techno", "hip hop", "trap", "ambient", "drum and bass", "rock", "house"])
def test_every_role_renders_exact_length_stereo_float32_and_the_mix_cannot_clip(genre):
    ctx = make_context(genre, bars=4)
    parts = generate(ctx, ROLES + ("other",), seed=3)
    assert [p.role for p in parts] == list(ROLES) + ["other"]
    for part in parts:
        assert part.audio.shape == (ctx.num_samples(SR), 2)
        assert part.audio.dtype == np.float32
        assert np.isfinite(part.audio).all()
        peak = float(np.abs(part.audio).max())
        assert 0.1 < peak <= 0.35, (part.role, peak)
        assert part.notes, part.role
    peaks = [float(np.abs(p.audio).max()) for p in parts[:4]]
    assert sum(peaks) < 1.0  # so no alignment of the four parts' peaks can clip their sum


@pytest.mark.parametrize("sr", [16000, 44100, 48000])
def test_length_matches_context_at_other_sample_rates(sr):
    ctx = make_context(tempo=97.0, bars=3)
    for part in generate(ctx, ("drums", "bass"), seed=1, sr=sr):
        assert part.audio.shape == (ctx.num_samples(sr), 2)


def test_parts_come_back_in_request_order_with_their_names():
    ctx = make_context(bars=2)
    request = GenerationRequest(ctx, (PartSpec("Lead", "melody"), PartSpec("Kit", "drums"), PartSpec("Low", "bass")), 5, SR)
    parts = get_backend("composer", model_dir="/nowhere").generate(request)
    assert [(p.name, p.role) for p in parts] == [("Lead", "melody"), ("Kit", "drums"), ("Low", "bass")]


# --- determinism ------------------------------------------------------------------------------

def test_same_seed_is_bit_identical_and_another_seed_differs():
    ctx = make_context(bars=4)
    a = generate(ctx, ROLES + ("other",), seed=11)
    b = generate(ctx, ROLES + ("other",), seed=11)
    c = generate(ctx, ROLES + ("other",), seed=12)
    for pa, pb, pc in zip(a, b, c):
        assert np.array_equal(pa.audio, pb.audio), pa.role
        assert pa.notes == pb.notes and pa.params == pb.params
        assert not np.array_equal(pa.audio, pc.audio), pa.role


def test_params_record_the_choices_and_pinning_them_reproduces_the_part():
    ctx = make_context(bars=4)
    part = generate(ctx, ("bass",), seed=4)[0]
    assert part.params["seed"] == 4 and part.params["engine"] == "composer"
    assert {"voice", "pattern", "kick_source"} <= set(part.params)
    pinned = generate(ctx, ("bass",), seed=4, params={"bass": {"voice": part.params["voice"],
                                                               "pattern": part.params["pattern"]}})[0]
    assert np.array_equal(part.audio, pinned.audio)
    other = generate(ctx, ("bass",), seed=4, params={"bass": {"voice": "808"}})[0]
    assert other.params["voice"] == "808" and not np.array_equal(other.audio, part.audio)


def test_every_roles_resolved_choices_pinned_back_reproduce_it_exactly():
    ctx = make_context("house", bars=4)
    names = {"drums": ("voice", "pattern"), "bass": ("voice", "pattern"), "harmony": ("voice", "rhythm"),
             "melody": ("voice", "form"), "other": ("voice", "texture")}
    first = generate(ctx, ROLES + ("other",), seed=8)
    pinned = {p.role: {k: p.params[k] for k in names[p.role]} for p in first}
    again = generate(ctx, ROLES + ("other",), seed=8, params=pinned)
    for a, b in zip(first, again):
        assert np.array_equal(a.audio, b.audio), a.role
    changed = generate(ctx, ("harmony", "other"), seed=8, params={"harmony": {"rhythm": "sustain"},
                                                                  "other": {"texture": "drone"}})
    assert changed[0].params["rhythm"] == "sustain" and changed[1].params["texture"] == "drone"


def test_instrument_hint_picks_the_voice():
    ctx = make_context("hip hop", bars=2, instruments=(("bass", "808"), ("harmony", "rhodes"), ("melody", "bells")))
    voices = {p.role: p.params["voice"] for p in generate(ctx, ("bass", "harmony", "melody"))}
    assert voices == {"bass": "808", "harmony": "keys", "melody": "bell"}


# --- drums ------------------------------------------------------------------------------------

def test_techno_drums_are_four_on_the_floor_with_fills_and_crashes():
    ctx = make_context("techno", bars=16)
    for seed in range(4):
        part = generate(ctx, ("drums",), seed=seed)[0]
        kicks = {n.start for n in part.notes if n.pitch == 36}
        assert all(float(b) in kicks for b in range(int(ctx.total_beats)))
        every = part.params["fill_every"]
        assert every in (4, 8)
        crashes = sorted(n.start for n in part.notes if n.pitch == 49)
        assert crashes == [bar * 4.0 for bar in range(every, 16, every)]
        fill_start = (every - 1) * 4 + 4 - part.params["fill_steps"] / 4
        in_fill = {n.pitch for n in part.notes if fill_start <= n.start < every * 4}
        in_plain = {n.pitch for n in part.notes if fill_start - 4 <= n.start < fill_start}
        assert in_fill != in_plain


def test_hiphop_drums_are_not_four_on_the_floor_and_have_a_backbeat():
    ctx = make_context("boom bap hip hop", tempo=90, bars=4)
    part = generate(ctx, ("drums",), seed=2)[0]
    bar0 = [n for n in part.notes if n.start < 4]
    assert {n.start for n in bar0 if n.pitch == 38} >= {1.0, 3.0}
    assert {n.start for n in bar0 if n.pitch == 36} != {0.0, 1.0, 2.0, 3.0}


@pytest.mark.parametrize("meter", [(3, 4), (6, 8)])
def test_triple_and_compound_meters(meter):
    ctx = make_context("pop", meter=meter, bars=8, tempo=110)
    parts = generate(ctx, ROLES + ("other",), seed=7)
    bar = ctx.beats_per_bar
    for part in parts:
        assert part.audio.shape == (ctx.num_samples(SR), 2)
        assert all(0 <= n.start < ctx.total_beats for n in part.notes)
    drums = parts[0]
    kicks = {n.start for n in drums.notes if n.pitch == 36}
    assert all(b * bar in kicks for b in range(ctx.bars))
    snares = [n.start % bar for n in drums.notes if n.pitch == 38 and n.start < bar]
    assert snares == ([1.0, 2.0] if meter == (3, 4) else [1.5]) or drums.params["pattern"] == "waltz_rock"


@pytest.mark.parametrize("meter,bars,tempo,sr", [
    ((5, 4), 3, 100.0, 22050), ((7, 8), 2, 140.0, 22050), ((2, 4), 5, 120.0, 8000),
    ((12, 8), 2, 70.0, 22050), ((4, 4), 1, 300.0, 48000), ((4, 4), 1, 30.0, 8000),
])
def test_unusual_meters_lengths_and_tempos_still_render_every_role(meter, bars, tempo, sr):
    ctx = make_context("rock", meter=meter, bars=bars, tempo=tempo)
    for part in generate(ctx, ROLES + ("other",), seed=5, sr=sr):
        assert part.audio.shape == (ctx.num_samples(sr), 2)
        assert np.isfinite(part.audio).all() and float(np.abs(part.audio).max()) <= 0.35
        assert all(0 <= n.start < ctx.total_beats and n.duration > 0 for n in part.notes)


# --- lock-awareness ---------------------------------------------------------------------------

@pytest.mark.parametrize("as_audio", [False, True], ids=["locked-notes", "locked-audio-only"])
def test_regenerated_bass_lands_on_locked_kicks_or_the_eighth_grid(as_audio):
    genres = ("techno", "house", "hip hop", "pop", "drum and bass")
    for seed in range(10):
        ctx = make_context(genres[seed % len(genres)], tempo=(128, 124, 92, 110, 172)[seed % 5], bars=8)
        drums = generate(ctx, ("drums",), seed=seed)[0]
        locked = LockedPart("Drums", "drums", drums.audio, None if as_audio else drums.notes)
        bass = generate(ctx, ("bass",), seed=seed + 100, locked=(locked,))[0]
        assert bass.params["kick_source"] == ("locked drum audio" if as_audio else "locked drum notes")
        spb = 60.0 / ctx.tempo
        kick_s = np.array([n.start * spb for n in drums.notes if n.pitch == 36])
        note_s = np.array([n.start * spb for n in bass.notes])
        heard_s = onset_times(bass.audio, SR)
        assert kick_or_eighth_fraction(note_s, kick_s, ctx.tempo) >= 0.8, seed
        assert len(heard_s) >= 0.5 * len(note_s), seed
        assert kick_or_eighth_fraction(heard_s, kick_s, ctx.tempo) >= 0.8, seed


@pytest.mark.parametrize("as_audio", [False, True], ids=["locked-notes", "locked-audio-only"])
def test_kick_led_bass_follows_the_locked_kicks_not_its_own_seed(as_audio):
    ctx = make_context("hip hop", tempo=92, bars=8)
    hits = []
    for seed in range(10):
        drums = generate(ctx, ("drums",), seed=seed)[0]
        locked = LockedPart("Drums", "drums", drums.audio, None if as_audio else drums.notes)
        bass = generate(ctx, ("bass",), seed=seed + 50, locked=(locked,))[0]
        assert bass.params["pattern"] == "kick_follow"
        spb = 60.0 / ctx.tempo
        kick_s = np.array([n.start * spb for n in drums.notes if n.pitch == 36])
        hits.append(near_any(kick_s, np.array([n.start * spb for n in bass.notes])).mean())
        hits.append(near_any(kick_s, onset_times(bass.audio, SR)).mean())
    assert min(hits) >= 0.8, hits


def test_bass_follows_kicks_played_off_the_grid_in_imported_audio():
    ctx = make_context("hip hop", tempo=90, bars=4)
    rng = np.random.default_rng(3)
    spb = 60.0 / ctx.tempo
    grid = np.array([0.0, 1.75, 2.5])  # boom-bap kicks in each bar, in beats
    kicks_s = np.concatenate([(bar * 4 + grid) * spb for bar in range(ctx.bars)])
    kicks_s = kicks_s + rng.uniform(-0.03, 0.03, kicks_s.size) * (kicks_s > 0)  # a human drummer
    audio = np.zeros((ctx.num_samples(SR), 2), dtype=np.float32)
    hit = drum_hit(36, SR)
    for t in kicks_s:
        s = int(round(t * SR))
        m = min(len(hit), len(audio) - s)
        audio[s: s + m] += 0.4 * hit[:m, None]
    bass = generate(ctx, ("bass",), seed=1, locked=(LockedPart("Loop", "drums", audio, None),))[0]
    assert bass.params["kick_source"] == "locked drum audio"
    note_s = np.array([n.start * spb for n in bass.notes])
    assert near_any(kicks_s, note_s, tol=0.020).all()
    # Kicks well off the sixteenth grid keep their own time: the bass lands with them.
    sixteenth = spb / 4
    off_grid = np.abs(kicks_s / sixteenth - np.round(kicks_s / sixteenth)) * sixteenth > 0.016
    assert off_grid.sum() >= 3
    assert near_any(kicks_s[off_grid], note_s, tol=0.005).all()


def test_params_are_plain_json_data():
    ctx = make_context(bars=2)
    for part in generate(ctx, ROLES + ("other",), seed=2):
        assert json.loads(json.dumps(part.params)) == part.params


def test_locked_notes_may_be_plain_tuples_as_takes_store_them():
    ctx = make_context("hip hop", tempo=92, bars=4)
    drums = generate(ctx, ("drums",), seed=6)[0]
    as_tuples = tuple(tuple(n) for n in drums.notes)
    with_notes = generate(ctx, ("bass",), seed=1, locked=(LockedPart("D", "drums", drums.audio, drums.notes),))[0]
    with_tuples = generate(ctx, ("bass",), seed=1, locked=(LockedPart("D", "drums", drums.audio, as_tuples),))[0]
    assert with_tuples.notes == with_notes.notes


def test_bass_generated_with_drums_uses_those_drums():
    ctx = make_context("hip hop", tempo=90, bars=4)
    drums, bass_part = generate(ctx, ("bass", "drums"), seed=9)[::-1]
    assert bass_part.params["kick_source"] == "generated drums"
    kick_beats = {n.start for n in drums.notes if n.pitch == 36}
    assert kick_beats <= {n.start for n in bass_part.notes}


def test_onset_detector_finds_kicks_within_five_ms():
    rng = np.random.default_rng(0)
    times = np.sort(rng.uniform(0.1, 9.5, 20))
    times = times[np.diff(times, prepend=-1) > 0.15]
    audio = np.zeros(10 * SR, dtype=np.float32)
    hit = drum_hit(36, SR)
    for t in times:
        s = int(round(t * SR))
        m = min(len(hit), len(audio) - s)
        audio[s: s + m] += hit[:m] * rng.uniform(0.5, 1.0)
    audio += 0.05 * rng.standard_normal(len(audio)).astype(np.float32)  # hiss must not count
    found = onset_times(np.stack([audio, audio], axis=1), SR)
    assert len(found) == len(times)
    assert np.abs(found - times).max() < 0.005


# --- pitch ------------------------------------------------------------------------------------

@pytest.mark.parametrize("tonic,mode", [(9, "minor"), (2, "major"), (7, "dorian"), (4, "phrygian")])
def test_bass_and_melody_stay_in_scale_and_register(tonic, mode):
    scale = set(scale_pitch_classes(tonic, mode))
    genres = ("techno", "lofi", "trap", "house", "hip hop", "rock", "house", "ambient")
    for seed, genre in enumerate(genres):
        ctx = make_context(genre, tonic=tonic, mode=mode, degrees=(1, 4, 5, 1), bars=8)
        bass, melody, other = generate(ctx, ("bass", "melody", "other"), seed=seed)
        assert {n.pitch % 12 for n in bass.notes} <= scale
        assert {n.pitch % 12 for n in melody.notes} <= scale
        assert {n.pitch % 12 for n in other.notes} <= scale
        assert all(28 <= n.pitch <= 52 for n in bass.notes)
        assert all(60 <= n.pitch <= 84 for n in melody.notes)


@pytest.mark.parametrize("pattern", ["kick_follow", "kick_sustain", "offbeat", "octave", "rolling"])
def test_every_bass_pattern_stays_in_register_and_scale_on_the_sixteenth_grid(pattern):
    for tonic in range(12):  # every key: the register must hold whatever the roots are
        ctx = make_context("house", tonic=tonic, degrees=(1, 4, 5, 6), bars=4)
        scale = set(scale_pitch_classes(tonic, "minor"))
        bass = generate(ctx, ("bass",), seed=tonic, params={"bass": {"pattern": pattern}})[0]
        assert bass.params["pattern"] == pattern
        assert all(28 <= n.pitch <= 52 for n in bass.notes), [n.pitch for n in bass.notes]
        assert {n.pitch % 12 for n in bass.notes} <= scale
        assert all(abs(n.start * 4 - round(n.start * 4)) < 1e-9 for n in bass.notes)


def test_melody_puts_chord_tones_on_the_downbeats_and_leaves_rests():
    ctx = make_context("pop", bars=8)
    for seed in range(5):
        melody = generate(ctx, ("melody",), seed=seed)[0]
        for n in melody.notes:
            if n.start % 4 == 0:
                chord = ctx.chord_at_bar(int(n.start // 4))
                assert n.pitch % 12 in chord.pitch_classes
        ends = np.array([n.start + n.duration for n in melody.notes])
        starts = np.array([n.start for n in melody.notes])
        gaps = starts[1:] - ends[:-1]
        assert (gaps >= 0.9).sum() >= 3  # at least one rest per phrase of two bars, nearly


def test_harmony_voice_leads_between_chords():
    ctx = make_context("techno", bars=4, degrees=(1, 4, 5, 1))
    harmony = generate(ctx, ("harmony",), seed=0)[0]
    voicings = harmony.params["voicings"]
    for a, b in zip(voicings, voicings[1:]):
        assert max(abs(x - y) for x, y in zip(sorted(a), sorted(b))) <= 5
    for bar, v in enumerate(voicings):
        chord = ctx.chord_at_bar(bar)
        assert set(chord.pitch_classes) <= {p % 12 for p in v}


KRUMHANSL_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KRUMHANSL_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def chroma(audio: np.ndarray, sr: int) -> np.ndarray:
    """Mean pitch-class energy of ``audio`` from a plain numpy STFT (40 Hz - 5 kHz)."""
    mono = audio.mean(axis=1)
    n_fft, hop = 8192, 4096
    frames = np.lib.stride_tricks.sliding_window_view(mono, n_fft)[::hop] * np.hanning(n_fft)
    power = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).mean(axis=0)
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    band = (freqs >= 40) & (freqs <= 5000)
    pcs = np.round(12 * np.log2(freqs[band] / 440.0) + 69).astype(int) % 12
    return np.bincount(pcs, weights=np.sqrt(power[band]), minlength=12)


def best_key(profile: np.ndarray) -> tuple[int, str]:
    scores = {}
    for tonic in range(12):
        scores[(tonic, "major")] = np.corrcoef(profile, np.roll(KRUMHANSL_MAJOR, tonic))[0, 1]
        scores[(tonic, "minor")] = np.corrcoef(profile, np.roll(KRUMHANSL_MINOR, tonic))[0, 1]
    return max(scores, key=scores.get)


@pytest.mark.parametrize("tonic,mode,degrees,genre", [
    (9, "minor", (1, 6, 3, 7), "techno"),   # Am F C G: the relative major's chords, still A minor
    (9, "minor", (1, 4, 5, 1), "lofi"),
    (2, "major", (1, 5, 6, 4), "pop"),
    (6, "minor", (1, 6, 7, 1), "trap"),
])
def test_mix_of_four_parts_is_centred_on_the_contexts_key(tonic, mode, degrees, genre):
    for seed in (0, 1, 2):
        ctx = make_context(genre, tonic=tonic, mode=mode, degrees=degrees, bars=8, tempo=128)
        mix = sum(p.audio for p in generate(ctx, ROLES, seed=seed))
        assert best_key(chroma(mix, SR)) == (tonic, mode), seed


def pulse_bpm(audio: np.ndarray, sr: int) -> float:
    """The tempo whose period best repeats the spectral-flux onset envelope (60-200 bpm).

    As in common beat trackers, the autocorrelation is weighted by a log-normal preference
    around 120 bpm (one octave wide), which settles the doubled/halved-tempo ambiguity.
    """
    mono = audio.mean(axis=1)
    n_fft, hop = 2048, 256
    frames = np.lib.stride_tricks.sliding_window_view(mono, n_fft)[::hop] * np.hanning(n_fft)
    log_mag = np.log1p(100 * np.abs(np.fft.rfft(frames, axis=1)))
    flux = np.maximum(np.diff(log_mag, axis=0), 0).sum(axis=1)
    flux -= flux.mean()
    ac = np.correlate(flux, flux, mode="full")[flux.size - 1:]
    rate = sr / hop
    lags = np.arange(int(rate * 60 / 200), int(rate * 60 / 60) + 1)
    prior = np.exp(-0.5 * np.log2(60.0 * rate / lags / 120.0) ** 2)
    best = lags[np.argmax(ac[lags] * prior)]
    a, b, c = ac[best - 1], ac[best], ac[best + 1]
    best = best + 0.5 * (a - c) / (a - 2 * b + c)  # parabolic peak between lags
    return 60.0 * rate / best


@pytest.mark.parametrize("genre,tempo", [("techno", 128.0), ("house", 124.0), ("hip hop", 90.0)])
def test_drums_give_the_mix_a_clear_pulse_at_the_context_tempo(genre, tempo):
    for seed in (0, 1):
        ctx = make_context(genre, tempo=tempo, bars=8, degrees=(1, 1, 6, 7))
        mix = sum(p.audio for p in generate(ctx, ROLES, seed=seed))
        assert abs(pulse_bpm(mix, SR) - tempo) <= 2.0, seed


# --- control ----------------------------------------------------------------------------------

def test_cancel_between_parts_raises_and_progress_reaches_one():
    ctx = make_context(bars=2)
    asked = []

    def cancel_after_two():
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(GenerationCancelled):
        generate(ctx, ROLES, cancel=cancel_after_two)
    assert len(asked) == 3
    seen = []
    generate(ctx, ROLES, progress=lambda f, m: seen.append(f))
    assert seen == sorted(seen) and seen[0] == 0.0 and seen[-1] == 1.0 and len(seen) == 5


@pytest.mark.parametrize("change,words", [
    (dict(parts=(PartSpec("Vox", "vocals"),)), "role"),
    (dict(sample_rate=100), "sample rate"),
    (dict(parts=()), "nothing to generate"),
    (dict(params={"bass": {"voice": "kazoo"}}), "voice"),
    (dict(params={"bass": {"pattern": "polka"}}), "pattern"),
    (dict(params={"drums": {"pattern": "polka"}}), "pattern"),
])
def test_bad_requests_raise_one_clear_backend_error(change, words):
    base = dict(context=make_context(bars=2), parts=(PartSpec("Bass", "bass"), PartSpec("Drums", "drums")), seed=0,
                sample_rate=SR)
    base.update(change)
    with pytest.raises(BackendError, match=words):
        ComposerBackend().generate(GenerationRequest(**base))


def test_part_random_streams_are_stable_and_independent_per_role():
    assert part_rng(5, "bass").integers(1 << 30) == part_rng(5, "bass").integers(1 << 30)
    assert part_rng(5, "bass").integers(1 << 30) != part_rng(5, "melody").integers(1 << 30)
    assert part_rng(5, "bass").integers(1 << 30) != part_rng(6, "bass").integers(1 << 30)
    assert part_rng(-1, "bass").integers(1 << 30) == part_rng(-1, "bass").integers(1 << 30)

