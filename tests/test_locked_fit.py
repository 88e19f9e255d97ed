"""Locked tracks the app did not write: drum voices, tempo octave, key / no key, chords,
import conform, the composer following features, MusicGen conform, bass rhythm variation.

Material the app did not write is General MIDI rendered by FluidSynth (tests/gm_material.py;
skipped where fluidsynth and fluid-soundfont-gm are missing). Tests that need only numpy use
the composer's own drum synth.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis.beats import track_beats
from engine.analysis.drum_onsets import detect_drums
from engine.analysis.key import key_from_line, line_profile, relation
from engine.analysis.onsets import mono_at_rate, spectrogram
from engine.backends.base import GenerationRequest, LockedPart, PartSpec
from engine.composer.backend import ComposerBackend
from engine.composer.drum_voices import drum_hit
from engine.context import MusicalContext
from engine.errors import EngineError
from engine.import_conform import conform_import, context_for_import
from engine.locked import LockedFeatures, context_from_locked, features_from_audio
from engine.musicgen.conform import conform_to_grid, locked_onsets
from engine.theory import Chord

import gm_material as gm

SR = 44100
needs_fluidsynth = pytest.mark.skipif(not gm.available(), reason="needs fluidsynth and fluid-soundfont-gm")


def near(times, targets, tol):
    times, targets = np.asarray(times), np.asarray(targets)
    if times.size == 0 or targets.size == 0:
        return np.zeros(times.size, dtype=bool)
    return np.abs(times[:, None] - targets[None, :]).min(axis=1) <= tol


def synth_loop(tempo: float, bars: int, kicks=(0.0, 2.5), snares=(1.0, 3.0), start_beat: float = 0.0,
               snare_gain: float = 0.6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A loop from the composer's drum synth: (audio [N, 2], kick seconds, snare seconds)."""
    spb = 60.0 / tempo
    n = int((bars * 4 * spb + 0.5) * SR)
    audio = np.zeros(n, dtype=np.float32)
    times = {36: [], 38: []}
    for bar in range(bars):
        for pitch, beats, gain in ((36, kicks, 0.5), (38, snares, snare_gain)):
            for b in beats:
                t = (bar * 4 + b - start_beat) % (bars * 4) * spb
                s = int(round(t * SR))
                hit = drum_hit(pitch, SR)
                m = min(hit.size, n - s)
                audio[s: s + m] += gain * hit[:m]
                times[pitch].append(t)
    return np.stack([audio, audio], axis=1), np.sort(times[36]), np.sort(times[38])


# --- the drum-voice detector -------------------------------------------------------------------

def test_detector_tells_synth_kicks_from_snares():
    audio, kicks, snares = synth_loop(100, 4)
    d = detect_drums(audio, SR)
    assert near(kicks, d.kick, 0.01).all() and near(snares, d.snare, 0.01).all()
    assert not near(snares, d.kick, 0.03).any()  # a snare is never read as a kick


@needs_fluidsynth
def test_detector_tells_general_midi_kicks_from_snares_whose_shells_ring_below_150_hz():
    m = gm.drum_loop(110, "funk", bars=2, humanise_ms=5, seed=3)
    d = detect_drums(m.audio, SR)
    assert near(m.kicks, d.kick, 0.02).mean() >= 0.95
    assert near(m.snares, d.snare, 0.02).mean() >= 0.95
    lone_snares = m.snares[~near(m.snares, m.kicks, 0.03)]
    assert not near(lone_snares, d.kick, 0.03).any()


@needs_fluidsynth
@pytest.mark.parametrize("tempo, style, swing, humanise_ms, seed", [
    (171.7, "sync", 0.667, 10.0, 14),  # kicks on swung sixteenths ~60 ms before the snare on the beat
    (155.0, "four", 0.667, 10.0, 8),   # a kick under every backbeat snare; some cancel below 150 Hz
])
def test_detector_hears_kicks_struck_with_or_just_before_a_snare(tempo, style, swing, humanise_ms, seed):
    m = gm.drum_loop(tempo, style, bars=4, swing=swing, humanise_ms=humanise_ms, seed=seed)
    d = detect_drums(m.audio, SR)
    assert near(m.kicks, d.kick, 0.02).mean() >= 0.97, near(m.kicks, d.kick, 0.02).mean()
    lone_snares = m.snares[~near(m.snares, m.kicks, 0.03)]
    assert not near(lone_snares, d.kick, 0.03).any()


# --- tempo octave, key / no key, chords (librosa chroma: slow) ---------------------------------

@needs_fluidsynth
def test_a_loop_whose_comb_peaks_at_two_fifths_of_its_tempo_reads_its_backbeat_level():
    # Open hats ring over a 173 bpm rock beat: the onset comb's best peak is 69.5, and no simple
    # ratio of it (x2 = 139, x3 = 208) is the beat, so the backbeat test never saw 173.
    m = gm.drum_loop(173.40435, "rock", bars=4, seed=15, kit=(35, 40, 46))
    f = features_from_audio(m.audio, SR)
    assert f.role == "drums" and f.tempo == pytest.approx(173.4, rel=0.01), f.tempo


@needs_fluidsynth
def test_swing_loop_at_92_reads_92_not_184_and_has_no_key():
    m = gm.drum_loop(92, "rock", bars=4, swing=0.62, humanise_ms=6, seed=1)
    spec = spectrogram(mono_at_rate(m.audio, SR))
    grid = track_beats(spec, 4, drums=detect_drums(m.audio, SR))
    assert grid.tempo == pytest.approx(92, rel=0.01) and grid.level_reason == "backbeat"


@pytest.mark.slow
@needs_fluidsynth
def test_an_electric_piano_arpeggio_reads_its_own_tempo_not_half():
    # Rhodes (GM 4) colours change mid-bar nearly as much as on the bar line, so only the
    # half-tempo reading (63.7, two chords a bar) passed as "clean"; it also misread the key.
    m = gm.piano_part(127.447, 0, "minor", prog=11, bars=8, rhythm="arp", humanise_ms=5.0, preroll_s=0.25,
                      seed=111, program=4)
    f = features_from_audio(m.audio, SR)
    assert f.tempo == pytest.approx(127.45, rel=0.02), f.tempo
    assert relation(f.tonic, f.mode, 0, "minor") in ("same", "relative"), f.key_name


@pytest.mark.slow
@needs_fluidsynth
def test_piano_part_key_chords_and_tempo_and_drums_say_no_key():
    m = gm.piano_part(168, 4, "minor", prog=1, bars=8, rhythm="block", humanise_ms=4, start_beat=1, seed=2)
    f = features_from_audio(m.audio, SR)
    assert f.tempo == pytest.approx(168, rel=0.02)
    assert (f.tonic, f.mode) in ((4, "minor"), (7, "major"))  # E minor or its relative
    assert f.role in ("harmony", "melody")
    bar_s = 4 * 60 / m.tempo
    heard = [f.chord_at(m.first_downbeat + (b + 0.5) * bar_s) for b in range(7)]
    assert sum(c is not None and (c.root, c.quality) == m.chords[b] for b, c in enumerate(heard)) >= 6
    drums = features_from_audio(gm.drum_loop(120, "hiphop", bars=2).audio, SR)
    assert drums.tonic is None and drums.key_name == "no key" and drums.role == "drums"
    assert LockedFeatures.from_dict(f.to_dict()).chords == f.chords


@pytest.mark.slow
@needs_fluidsynth
@pytest.mark.parametrize("tempo, tonic, mode, prog, style", [
    (126, 0, "major", 0, "rock"),    # I V vi IV: four roots for equal time, the tonic first
    (98, 7, "minor", 2, "funk"),     # i VII VI VII: the loop dwells on VII, its phrases start on i
    (152, 2, "major", 1, "sync"),    # I vi IV V
    (84, 11, "minor", 3, "hiphop"),  # i iv VII III: every root a scale degree of two keys
])
def test_bass_line_key_from_its_notes(tempo, tonic, mode, prog, style):
    m = gm.bass_line(tempo, tonic, mode, prog=prog, bars=8, style=style, humanise_ms=5.0, seed=prog)
    f = features_from_audio(m.audio, SR)
    assert f.role == "bass"
    assert relation(f.tonic, f.mode, tonic, mode) in ("same", "relative"), f.key_name
    assert f.key_confidence > 0 and not any("major or minor is a guess" in w for w in f.warnings)


@pytest.mark.slow
@needs_fluidsynth
def test_a_bass_lines_bar_lines_read_the_note_struck_there_not_the_one_still_ringing():
    # I V vi IV in D#: every note is in Ab major too. Attacks read ~40 ms late, so just after
    # the fifth bar line the last bar's Ab still sounded, and Ab took the phrase start: "G# major".
    m = gm.bass_line(176.19, 3, "major", prog=0, bars=8, style="funk", humanise_ms=5.0, seed=16)
    f = features_from_audio(m.audio, SR)
    assert f.role == "bass" and f.key_name == "D# major", f.key_name


@pytest.mark.slow
@needs_fluidsynth
@pytest.mark.parametrize("tonic, program", [(8, 33), (4, 33), (6, 38)])
def test_a_low_bass_line_is_a_bass_not_drums(tonic, program):
    # Below 2 kHz there is nothing in a low bass's attack: the flatness of that silent band once
    # read as a snare's noise, and a G#1 rock line became "drums" with no key.
    m = gm.bass_line(85.19, tonic, "minor", prog=2, bars=8, style="rock", humanise_ms=5.0, seed=5, program=program)
    f = features_from_audio(m.audio, SR)
    assert f.role == "bass" and relation(f.tonic, f.mode, tonic, "minor") in ("same", "relative"), (f.role, f.key_name)


@pytest.mark.slow
@needs_fluidsynth
def test_a_bass_lines_key_does_not_follow_a_session_at_double_its_tempo():
    # G# F# E F# at 85 bpm, imported into a 172 bpm session: read at the session's octave, every
    # other bar line fell mid-bar, phrases started on G# and E alike, and the line read E major.
    m = gm.bass_line(85.19, 8, "minor", prog=2, bars=8, style="rock", humanise_ms=5.0, seed=5)
    f = features_from_audio(m.audio, SR, near_tempo=172.0)
    assert f.tempo == pytest.approx(170.4, rel=0.02) and f.key_name == "G# minor", (f.tempo, f.key_name)
    fitted = conform_import(m.audio, SR, f, MusicalContext(tempo=172.0, bars=8))
    assert fitted.features.key_name == "G# minor", fitted.features.key_name


@pytest.mark.slow
@needs_fluidsynth
@pytest.mark.parametrize("tonic, mode, prog", [
    (9, "minor", 1),  # i iv v i: A D E A, no C and no C#
    (2, "major", 2),  # ii V I I: E A D D, starts off the tonic and lands on it; no F#, no B
])
def test_a_bass_line_with_no_third_names_its_tonic_and_says_the_mode_is_a_guess(tonic, mode, prog):
    m = gm.bass_line(132, tonic, mode, prog=prog, bars=8, style="rock", humanise_ms=5.0, seed=1)
    f = features_from_audio(m.audio, SR)
    assert f.tonic == tonic and f.key_confidence <= 0.1
    assert any("major or minor is a guess" in w for w in f.warnings)


@pytest.mark.slow
@needs_fluidsynth
@pytest.mark.parametrize("tempo, tonic, mode, prog, style, seed", [
    (81.5, 11, "minor", 3, "hiphop", 7),  # kicks at 0, 1.75, 2.25, 2.5: no level of the onset comb is 81.5
    (169.0, 11, "minor", 3, "funk", 11),  # dotted kicks: the comb reads 70, and no level is 169
    (121.5, 3, "major", 2, "hiphop", 2),  # ii V I I: read at half tempo, every bar line has a change
    (155.8, 1, "major", 2, "hiphop", 22),
])
def test_a_syncopated_bass_lines_tempo_and_bar_lines_come_from_its_root_changes(tempo, tonic, mode, prog, style, seed):
    m = gm.bass_line(tempo, tonic, mode, prog=prog, bars=8, style=style, humanise_ms=5.0, seed=seed)
    f = features_from_audio(m.audio, SR)
    assert f.role == "bass" and abs(f.tempo / tempo - 1) <= 0.02, f.tempo
    beats = (f.downbeat - m.first_downbeat) * tempo / 60.0
    assert min(beats % 4, 4 - beats % 4) < 0.15, beats  # on a bar line (attacks read a few ms late)


@pytest.mark.slow
@needs_fluidsynth
def test_analyze_names_the_key_that_import_reads():
    from engine.analysis.analyze import analyze_audio

    m = gm.bass_line(81.5, 11, "minor", prog=3, bars=8, style="hiphop", humanise_ms=5.0, seed=7)  # B E A D
    analysis, imported = analyze_audio(m.audio, SR), features_from_audio(m.audio, SR)
    assert (analysis.tonic, analysis.mode) == (imported.tonic, imported.mode)
    assert relation(analysis.tonic, analysis.mode, 11, "minor") in ("same", "relative")


@pytest.mark.slow
@needs_fluidsynth
def test_an_aeolian_vamp_on_piano_is_its_minor_key_not_the_major_chord_it_dwells_on():
    # i VII VI VII comped: the VII chord sounds half the time, and the loop starts on i.
    m = gm.piano_part(122.5, 11, "minor", prog=2, bars=8, rhythm="comp", humanise_ms=5.0, seed=110)
    f = features_from_audio(m.audio, SR)
    assert relation(f.tonic, f.mode, 11, "minor") in ("same", "relative"), f.key_name


def _line(roots, bar_s=2.0):
    """Four eighth-ish notes a bar on each root: (pitch class, start, duration)."""
    return [(pc, bar * bar_s + k * bar_s / 4, 0.45 * bar_s / 2) for bar, pc in enumerate(roots) for k in range(4)]


def test_line_key_weighs_downbeats_and_phrase_starts_not_only_duration():
    downbeats = np.arange(8) * 2.0
    # A G F G: G sounds twice as long as A, but each phrase starts on A.
    p = line_profile(_line([9, 7, 5, 7] * 2), downbeats)
    assert p[9] > p[7]
    key = key_from_line(_line([9, 5, 0, 7] * 2), downbeats)  # i VI III VII: A F C G
    assert relation(key.tonic, key.mode, 9, "minor") in ("same", "relative") and key.mode_clear
    key = key_from_line(_line([4, 9, 2, 7] * 2), downbeats)  # i iv VII III: E A D G
    assert relation(key.tonic, key.mode, 4, "minor") in ("same", "relative") and key.confidence > 0.1
    key = key_from_line(_line([9, 2, 4, 9] * 2), downbeats)  # i iv v i with no third: A, mode a guess
    assert key.tonic == 9 and not key.mode_clear and key.confidence <= 0.1
    assert key_from_line([], []) is None


# --- import conform ----------------------------------------------------------------------------

@pytest.mark.slow
@needs_fluidsynth
def test_import_conform_puts_a_117_loop_on_a_120_grid_and_keeps_the_silence_story():
    m = gm.drum_loop(117, "sync", bars=4, humanise_ms=4, preroll_s=0.25, seed=4)
    f = features_from_audio(m.audio, SR)
    session = MusicalContext(tempo=120, bars=8)
    conf = conform_import(m.audio, SR, f, session)
    assert conf.info.stretch_rate == pytest.approx(120 / 117, rel=0.002)
    assert conf.info.trimmed_silence_s == pytest.approx(0.25, abs=0.01) and conf.info.loop_bars == 4
    assert any("silence" in w for w in conf.info.warnings)
    assert conf.audio.shape[0] == session.num_samples(SR)
    spb = 0.5
    shift = round((conf.info.source_downbeat_s - m.first_downbeat) * 117 / 60)
    expected = np.sort(np.concatenate([(m.kick_beats - shift) % 16 + 16 * k for k in range(2)])) * spb
    assert near(expected, np.asarray(conf.features.kicks), 0.02).mean() >= 0.95
    kept = conform_import(m.audio, SR, f, session, keep_tempo=True)
    assert kept.info.stretch_rate == 1.0 and kept.info.kept_tempo


def test_import_longer_than_the_session_is_kept_whole_and_bad_input_is_refused():
    audio, _, _ = synth_loop(120, 4)
    f = LockedFeatures(duration=audio.shape[0] / SR, tempo=120.0, beats=(), downbeat=0.0, beats_per_bar=4,
                       beat_strength=10.0, onsets=(0.0, 7.5))
    session = MusicalContext(tempo=120, bars=2)
    conf = conform_import(audio, SR, f, session, loop=False)
    assert conf.audio.shape[0] > session.num_samples(SR) and conf.info.extends_beyond_s > 3.9
    assert any("past the session" in w for w in conf.info.warnings)
    with pytest.raises(EngineError, match="no audio"):
        conform_import(np.zeros((0, 2)), SR, f, session)
    with pytest.raises(EngineError, match="outside"):
        conform_import(audio, SR, f, session, at_bar=5)
    ctx = context_for_import(LockedFeatures(duration=16.0, tempo=90.0, beats=(), downbeat=0.0, beats_per_bar=4,
                                            beat_strength=9.0, chords=(Chord(2, "min"), None), tonic=2, mode="minor",
                                            role="harmony"))
    assert (ctx.tempo, ctx.bars, ctx.tonic, ctx.mode, ctx.chords) == (90.0, 6, 2, "minor", (Chord(2, "min"),))


# --- the composer follows what locked tracks carry ----------------------------------------------

def test_bass_locks_to_kicks_of_a_percussive_track_of_any_role_and_avoids_lone_snares():
    ctx = MusicalContext(tempo=100, bars=4, genre="rock")
    audio, kicks, snares = synth_loop(100, 4, kicks=(0.0, 1.75, 2.5), snares=(1.0, 3.0), snare_gain=1.0)
    for part in (LockedPart("Loop", "other", audio), LockedPart("Loop", "melody", audio)):
        for seed in range(4):
            bass = ComposerBackend().generate(GenerationRequest(ctx, (PartSpec("Bass", "bass"),), seed, SR,
                                                                locked=(part,)))[0]
            starts = np.array([n.start for n in bass.notes]) * 0.6
            assert near(kicks, starts, 0.02).all(), (part.role, seed)
            assert not near(starts, snares, 0.05).any(), (part.role, seed)
            assert bass.params["kick_source"] == f"locked {part.role} audio"


def test_harmony_and_melody_follow_the_chords_of_a_locked_tonal_track():
    ctx = MusicalContext(tempo=120, bars=4, tonic=9, mode="minor", chords=(Chord(9, "min"),))
    heard = (Chord(0, "maj"), Chord(5, "maj"), Chord(7, "maj"), Chord(0, "maj"))
    piano = LockedFeatures(duration=8.0, tempo=120.0, beats=(), downbeat=0.0, beats_per_bar=4, beat_strength=9.0,
                           chords=heard, tonic=0, mode="major", key_confidence=0.8, role="harmony")
    part = LockedPart("Piano", "other", np.zeros((8 * SR, 2), np.float32), None, piano)
    harmony, melody = ComposerBackend().generate(GenerationRequest(
        ctx, (PartSpec("Keys", "harmony"), PartSpec("Lead", "melody")), 3, SR, locked=(part,)))
    assert harmony.params["chords_from"] == "locked tracks"
    for bar, chord in enumerate(heard):
        pcs = {n.pitch % 12 for n in harmony.notes if bar * 4 <= n.start < bar * 4 + 4}
        assert set(chord.pitch_classes) <= pcs
    in_chord = [n.pitch % 12 in heard[int(n.start // 4)].pitch_classes for n in melody.notes]
    assert np.mean(in_chord) >= 0.75
    # The app's session context: chords, and the key only when the prompt named none.
    assert context_from_locked(ctx, [piano]).chords == heard
    assert (context_from_locked(ctx, [piano]).tonic, context_from_locked(ctx, [piano], key_stated=True).tonic) == (0, 9)
    assert context_from_locked(ctx, [piano], chords_stated=True).chords == ctx.chords


def test_regenerated_bass_varies_its_rhythm_across_seeds():
    ctx = MusicalContext(tempo=96, bars=4, genre="rock", energy=0.7)
    audio, _, _ = synth_loop(96, 4, kicks=(0.0, 2.5))
    part = LockedPart("Loop", "drums", audio)
    rhythms = {tuple(round(n.start, 3) for n in ComposerBackend().generate(
        GenerationRequest(ctx, (PartSpec("Bass", "bass"),), seed, SR, locked=(part,)))[0].notes) for seed in range(6)}
    assert len(rhythms) >= 3


@pytest.mark.slow
@needs_fluidsynth
def test_a_bass_under_busy_swung_kicks_still_varies_its_rhythm():
    # Funk kicks leave no free eighth for pickups or answers; the bass can still leave a kick out.
    m = gm.drum_loop(175, "funk", bars=4, swing=0.58, humanise_ms=6.0, start_beat=1, seed=1)
    f = features_from_audio(m.audio, SR)
    assert f.beat_strength >= 3.2  # swung sixteenths are a clear beat
    session = MusicalContext(tempo=168.1, bars=8, genre="hip hop")
    conf = conform_import(m.audio, SR, f, session)
    assert conf.info.stretch_rate != 1.0 and not conf.info.kept_tempo
    part = LockedPart("Loop", "other", conf.audio, None, conf.features)
    rhythms = {tuple(round(n.start, 3) for n in ComposerBackend().generate(
        GenerationRequest(session, (PartSpec("Bass", "bass"),), seed, SR, locked=(part,)))[0].notes) for seed in range(6)}
    assert len(rhythms) >= 2


# --- the MusicGen conform step -------------------------------------------------------------------

def test_musicgen_conform_takes_the_downbeat_the_locked_drums_agree_with_not_the_loudest_beat():
    tempo = 110
    locked_audio, _, _ = synth_loop(tempo, 4)
    # The generated part starts on beat 3 and its snares are the loudest hits.
    gen, _, _ = synth_loop(tempo * 0.98, 4, kicks=(0.0, 1.75, 2.5), snares=(1.0, 3.0), start_beat=2, snare_gain=1.0)
    onsets = locked_onsets([LockedPart("D", "other", locked_audio)], SR)
    ctx = MusicalContext(tempo=tempo, bars=4)
    out, report = conform_to_grid(gen.mean(axis=1), SR, tempo, 4, ctx.num_samples(SR), locked_onsets=onsets)
    bar = 4 * 60 / tempo
    true_down = 2 * 60 / (tempo * 0.98)  # beat 3 of the file is bar one of the part
    at = (true_down - report["downbeat_s"]) / report["stretch_rate"]
    assert min(at % bar, bar - at % bar) < 0.03, report
    assert report["downbeat_from"] == "locked tracks" and out.shape == (ctx.num_samples(SR),)


@pytest.mark.slow
@needs_fluidsynth
@pytest.mark.parametrize("style, start_beat, lock", [("sync", 2, "four"), ("funk", 1, "rock"), ("funk", 3, "hiphop")])
def test_musicgen_conform_puts_a_syncopated_bass_lines_bar_one_on_the_session_bar(style, start_beat, lock):
    # A generated bass line whose first beats are missing: its notes meet the locked kick once
    # or twice a bar, but its note changes on the bar lines say where bar one is.
    tempo = 112.0
    locked = gm.drum_loop(tempo, lock, bars=4, seed=5)
    gen_tempo = tempo * 1.02
    bass = gm.bass_line(gen_tempo, 4, "minor", prog=3, bars=5, style=style, humanise_ms=5.0, seed=start_beat)
    cut = int(round(start_beat * 60 / gen_tempo * SR))
    y = bass.audio.mean(axis=1)[cut:]
    ctx = MusicalContext(tempo=tempo, bars=4)
    onsets = locked_onsets([LockedPart("Drums", "other", locked.audio)], SR)
    _, report = conform_to_grid(y, SR, tempo, 4, ctx.num_samples(SR), locked_onsets=onsets)
    bar = 4 * 60 / tempo
    at = ((4 - start_beat) * 60 / gen_tempo - report["downbeat_s"]) / report["stretch_rate"]
    assert min(at % bar, bar - at % bar) <= 0.05, report
    assert report["downbeat_from"] == "locked tracks"
    assert report["stretch_rate"] == pytest.approx(1 / 1.02, abs=0.02)


def test_musicgen_conform_refuses_to_stretch_an_unclear_beat_far_from_the_session_tempo():
    rng = np.random.default_rng(5)
    y = np.zeros(6 * SR, dtype=np.float32)
    for t in np.sort(rng.uniform(0, 5.8, 14)):  # a few hits at random times: no steady beat
        s = int(t * SR)
        y[s: s + 2000] += drum_hit(38, SR)[:2000]
    _, report = conform_to_grid(y, SR, 120, 4, 4 * SR)
    assert report["stretch_rate"] == 1.0
    if abs(report["detected_tempo"] / 120 - 1) > 0.04:
        assert "not stretched" in report["refused"]
