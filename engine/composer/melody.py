"""Melody and texture parts: phrases in key, and arpeggios or drones over the chords.

A melody is built from phrases (two bars each) in a form such as A B A C: every letter has
its own rhythm and contour, and a repeated letter comes back with the same shape, re-fitted to
the chords under it. Notes move by scale steps; notes on strong beats land on chord tones;
each phrase ends with a held chord tone and a rest, every second one on the tonic.
"""

from __future__ import annotations

import numpy as np

from engine.context import MusicalContext
from engine.errors import BackendError
from engine.theory import Note, scale_pitch_classes

LOW, HIGH = 60, 84
FORMS = ("ABAC", "AABA", "ABAB")
TEXTURES = ("arp_up", "arp_updown", "arp_down", "arp_random", "drone")

_STEPS = np.array([-3, -2, -1, 0, 1, 2, 3, 4])
_STEP_WEIGHTS = np.array([0.04, 0.14, 0.3, 0.08, 0.28, 0.1, 0.04, 0.02])


def _ladder(context: MusicalContext, with_chords: bool = False) -> np.ndarray:
    """Every in-scale MIDI pitch from LOW to HIGH, ascending (and the chords' own tones when
    the chords come from a locked part, which may leave the scale)."""
    scale = set(scale_pitch_classes(context.tonic, context.mode))
    if with_chords:
        for c in context.chords:
            scale |= set(c.pitch_classes)
    return np.array([p for p in range(LOW, HIGH + 1) if p % 12 in scale])


def _is_strong(offset_in_bar: float, context: MusicalContext) -> bool:
    num, den = context.meter
    if den == 8 and num % 3 == 0:
        return abs(offset_in_bar / 1.5 - round(offset_in_bar / 1.5)) < 1e-6
    if abs(offset_in_bar - round(offset_in_bar)) > 1e-6:
        return False
    return num % 2 == 0 and int(round(offset_in_bar)) % 2 == 0 or offset_in_bar == 0


def _phrase_rhythm(length: float, energy: float, rng: np.random.Generator, context: MusicalContext) -> list[tuple[float, float]]:
    """(offset, duration) of each note in a phrase of ``length`` beats, ending in a rest."""
    rest = 1.0 if length <= 4 else float(rng.choice([1.0, 1.5, 2.0]))
    end = length - rest
    slots = np.arange(0.0, end, 0.5)
    density = 0.3 + 0.35 * energy
    onsets = [0.0]
    for t in slots[1:]:
        strong = _is_strong(t % context.beats_per_bar, context)
        if rng.random() < density + (0.25 if strong else 0.0):
            onsets.append(float(t))
            if energy > 0.6 and rng.random() < 0.15 and t + 0.25 < end:
                onsets.append(float(t) + 0.25)
    out = []
    for i, t in enumerate(onsets):
        nxt = onsets[i + 1] if i + 1 < len(onsets) else end
        out.append((t, float(min(nxt - t, 2.0)) * (0.92 if i + 1 < len(onsets) else 1.0)))
    return out


def _chord_pcs(context: MusicalContext, beat: float) -> tuple[int, ...]:
    bar = min(int(beat // context.beats_per_bar + 1e-9), context.bars - 1)
    return context.chord_at_bar(bar).pitch_classes


def _nearest_index(ladder: np.ndarray, index: int, allowed: set[int]) -> int:
    """The ladder index nearest ``index`` whose pitch class is in ``allowed``."""
    order = sorted(range(len(ladder)), key=lambda j: (abs(j - index), j))
    for j in order:
        if int(ladder[j]) % 12 in allowed:
            return j
    return index


def write_melody(context: MusicalContext, rng: np.random.Generator, form: str | None = None,
                 chord_tones: float = 0.0) -> tuple[list[Note], dict]:
    """Melody notes for the whole context and the resolved choices (form).

    ``chord_tones`` (0..1) is the chance that a weak-beat note also lands on a chord tone: set
    when the chords come from a locked part, whose notes a melody should sit in.
    """
    drawn = FORMS[int(rng.integers(len(FORMS)))]  # drawn even when pinned: the rest stays the same
    form = drawn if form is None else form
    if form not in FORMS:
        raise BackendError(f"the composer has no melody form {form!r}: choose one of {', '.join(FORMS)}")
    ladder = _ladder(context, chord_tones > 0)
    scale_list = scale_pitch_classes(context.tonic, context.mode)
    scale = set(scale_list)
    tonic_triad = {scale_list[0], scale_list[2], scale_list[4]}
    key_third = scale_list[2]
    phrase_bars = 2 if context.bars >= 2 else 1
    length = phrase_bars * context.beats_per_bar
    shapes: dict[str, tuple[list[tuple[float, float]], np.ndarray]] = {}
    # Home is the tonic nearest A4, the middle of the range; phrases start near it.
    home = int(np.argmin(np.abs(ladder - 69) + 100 * (ladder % 12 != context.tonic)))
    index = home
    notes: list[Note] = []
    n_phrases = int(np.ceil(context.bars / phrase_bars))
    for k in range(n_phrases):
        letter = form[k % len(form)]
        if letter not in shapes:
            rhythm = _phrase_rhythm(length, context.energy, rng, context)
            steps = rng.choice(_STEPS, size=len(rhythm), p=_STEP_WEIGHTS)
            shapes[letter] = (rhythm, steps)
        rhythm, steps = shapes[letter]
        phrase_start = k * length
        # Each phrase starts near where the melody is, pulled gently back toward home.
        index = int(round(0.6 * index + 0.4 * home))
        for i, ((offset, dur), step) in enumerate(zip(rhythm, steps)):
            start = phrase_start + offset
            if start >= context.total_beats - 1e-9:
                break
            index = int(np.clip(index + step, 0, len(ladder) - 1))
            heard = set(_chord_pcs(context, start))
            chord = heard if chord_tones > 0 else (heard & scale or scale)
            last = i == len(rhythm) - 1
            in_bar = offset % context.beats_per_bar
            strong = _is_strong(in_bar, context)
            # Strong beats and phrase ends land on chord tones, and among those on the key's
            # own triad where the chord shares it; downbeats and every second phrase end go
            # to the tonic itself where the chord holds it: the melody keeps pointing home.
            home_tones = chord & tonic_triad or chord
            to_tonic = (in_bar == 0 or (last and k % 2 == 1)) and context.tonic in chord
            if to_tonic or (last and k % 2 == 1 and not strong):
                index = _nearest_index(ladder, index, {context.tonic})
            elif strong and not last and key_third in chord:
                # Mid-bar strong beats sing the key's third where the chord has it: the
                # third is what tells minor from major.
                index = _nearest_index(ladder, index, {key_third})
            elif last or strong or dur >= 1.0:
                index = _nearest_index(ladder, index, home_tones)  # held notes count as strong
            elif chord_tones > 0 and rng.random() < chord_tones:
                index = _nearest_index(ladder, index, chord)
            dur = min(dur, context.total_beats - start)
            vel = 100 if _is_strong(offset % context.beats_per_bar, context) else 86
            vel = int(np.clip(vel + rng.integers(-6, 7), 40, 127))
            notes.append(Note(int(ladder[index]), float(start), float(dur), vel))
    return notes, {"form": form, "phrase_bars": phrase_bars}


def default_texture(family: str, voice: str, rng: np.random.Generator) -> str:
    if voice == "pad" or family == "ambient":
        return "drone"
    return ("arp_up", "arp_updown", "arp_down", "arp_random")[int(rng.integers(4))]


def write_texture(context: MusicalContext, texture: str, rng: np.random.Generator) -> tuple[list[Note], dict]:
    """An arpeggio over each bar's chord, or a tonic-and-fifth drone."""
    if texture not in TEXTURES:
        raise BackendError(f"the composer has no texture {texture!r}: choose one of {', '.join(TEXTURES)}")
    bpb = context.beats_per_bar
    scale = set(scale_pitch_classes(context.tonic, context.mode))
    notes: list[Note] = []
    if texture == "drone":
        tonic = 60 + (context.tonic % 12)
        fifth = tonic + 7 if (context.tonic + 7) % 12 in scale else tonic + 12
        span = 2 * bpb
        t = 0.0
        while t < context.total_beats - 1e-9:
            dur = min(span, context.total_beats - t)
            notes += [Note(tonic, t, dur, 80), Note(fifth, t, dur, 70)]
            t += span
        return notes, {"texture": texture}
    step = 0.25 if context.energy > 0.55 and bpb in (4.0, 2.0) else 0.5
    per_bar = int(round(bpb / step))
    for bar in range(context.bars):
        pcs = [pc for pc in context.chord_at_bar(bar).pitch_classes if pc in scale] or [context.tonic]
        base = [64 + ((pc - 64) % 12) for pc in pcs]
        tones = sorted(base) + [min(base) + 12]
        if texture == "arp_down":
            order = tones[::-1]
        elif texture == "arp_updown":
            order = tones + tones[-2:0:-1]
        elif texture == "arp_random":
            order = list(rng.permutation(tones))
        else:
            order = tones
        for i in range(per_bar):
            start = bar * bpb + i * step
            vel = 96 if abs(start - round(start)) < 1e-9 else 78
            vel = int(np.clip(vel + rng.integers(-5, 6), 30, 127))
            pitch = int(order[i % len(order)])
            pitch = pitch - 12 if pitch > HIGH else pitch
            notes.append(Note(pitch, float(start), step * 0.8, vel))
    return notes, {"texture": texture, "step_beats": step}
