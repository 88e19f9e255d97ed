"""Drum parts: step patterns per genre family and meter, seed variation, fills.

Patterns are written one string per General MIDI drum, one character per sixteenth step:
``X`` accent, ``x`` hit, ``o`` ghost, ``.`` rest. A bar repeats its pattern; every second
bar may carry the seed's variation, and the last bar of every 4 or 8 ends in a fill with a
crash on the next downbeat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.context import MusicalContext
from engine.theory import Note
from engine.composer.grid import steps_per_bar

KICK, RIM, SNARE, CLAP, CLOSED_HAT, OPEN_HAT, CRASH, RIDE = 36, 37, 38, 39, 42, 46, 49, 51
LOW_TOM, MID_TOM, HIGH_TOM = 45, 47, 50

_VELOCITY = {"X": 124, "x": 104, "o": 62}
_STEP_BEATS = 0.25

Pattern = dict[int, str]

_FOUR_FOUR: dict[str, dict[str, Pattern]] = {
    "techno": {
        "techno_four": {KICK: "x...x...x...x...", CLAP: "....x.......x...", CLOSED_HAT: "..x...x...x...x."},
        "techno_ride": {KICK: "x...x...x...x...", CLAP: "....x.......x...", OPEN_HAT: "..x...x...x...x.",
                        RIDE: "o.o.o.o.o.o.o.o."},
        "techno_rumble": {KICK: "x...x...x...x..o", SNARE: "....o.......x...", CLOSED_HAT: "..x...x...x...x.",
                          RIM: "...o.....o....o."},
    },
    "house": {
        "house_four": {KICK: "x...x...x...x...", CLAP: "....x.......x...", OPEN_HAT: "..x...x...x...x.",
                       CLOSED_HAT: "o...o...o...o..."},
        "house_shuffle": {KICK: "x...x...x...x...", CLAP: "....x.......x...", OPEN_HAT: "..x...x...x...x.",
                          CLOSED_HAT: "o..o.o..o..o.o.o"},
    },
    "hiphop": {
        "boom_bap": {KICK: "x......x.x......", SNARE: "....x.......x...", CLOSED_HAT: "x.x.x.x.x.x.x.x."},
        "boom_bap_lazy": {KICK: "x.........x.....", SNARE: "....x.......x...", CLOSED_HAT: "x.x.x.x.x.x.x.x."},
        "boom_bap_knock": {KICK: "x..x......x..x..", SNARE: "....x.......x...", CLOSED_HAT: "x.x.x.x.x.x.x.x."},
    },
    "lofi": {
        "lofi_dusty": {KICK: "x......x.x......", SNARE: "....x..o....x...", CLOSED_HAT: "x.o.x.o.x.o.x.o."},
        "lofi_rim": {KICK: "x.........x.....", RIM: "....x.......x...", CLOSED_HAT: "x.x.x.x.x.x.x.x."},
    },
    "trap": {
        "trap_half": {KICK: "x......x..x.....", CLAP: "........x.......", CLOSED_HAT: "xoxoxoxoxoxoxoxo"},
        "trap_bounce": {KICK: "x.....x...x..x..", CLAP: "........x.......", CLOSED_HAT: "x.x.x.x.x.x.x.x."},
    },
    "dnb": {
        "two_step": {KICK: "x.........x.....", SNARE: "....x.......x...", CLOSED_HAT: "x.x.x.x.x.x.x.x."},
        "amen": {KICK: "x.x.......xx....", SNARE: "....x..o.o..x..o", RIDE: "x.x.x.x.x.x.x.x."},
    },
    "rock": {
        "backbeat": {KICK: "x.......x.x.....", SNARE: "....x.......x...", CLOSED_HAT: "x.x.x.x.x.x.x.x."},
        "straight": {KICK: "x.......x.......", SNARE: "....x.......x...", CLOSED_HAT: "x.x.x.x.x.x.x.x."},
        "rock_push": {KICK: "x.x.....x.x.....", SNARE: "....x.......x...", RIDE: "x.x.x.x.x.x.x.x."},
    },
    "ambient": {
        "ambient_pulse": {KICK: "x.......x.......", RIM: "....o.......o...", CLOSED_HAT: "..o...o...o...o."},
        "ambient_sparse": {KICK: "x...............", RIM: "........o.......", CLOSED_HAT: "......o.......o."},
    },
    "pop": {
        "pop_beat": {KICK: "x.....x.x.......", SNARE: "....x.......x...", CLOSED_HAT: "x.x.x.x.x.x.x.x."},
        "pop_four": {KICK: "x...x...x...x...", CLAP: "....x.......x...", CLOSED_HAT: "x.x.x.x.x.x.x.x."},
    },
}

_THREE_FOUR: dict[str, Pattern] = {
    "waltz": {KICK: "x...........", SNARE: "....x...x...", CLOSED_HAT: "x.x.x.x.x.x."},
    "waltz_rock": {KICK: "x.......x...", SNARE: "....x.......", CLOSED_HAT: "x.x.x.x.x.x."},
}
_SIX_EIGHT: dict[str, Pattern] = {
    "six_eight": {KICK: "x...........", SNARE: "......x.....", CLOSED_HAT: "x.x.x.x.x.x."},
    "six_eight_roll": {KICK: "x.........x.", SNARE: "......x.....", CLOSED_HAT: "x.x.x.x.x.x."},
}

# Families whose pulse never stops: their fills keep the kick going.
_STEADY_KICK = {"techno", "house"}


@dataclass(frozen=True)
class DrumPlan:
    """The resolved choices that, with the context, reproduce a drum part."""

    pattern: str
    fill_every: int
    fill_steps: int
    fill_kind: str
    variation: str

    def to_params(self) -> dict:
        return {"pattern": self.pattern, "fill_every": self.fill_every, "fill_steps": self.fill_steps,
                "fill_kind": self.fill_kind, "variation": self.variation}


def meter_kind(context: MusicalContext) -> str:
    num, den = context.meter
    if (num, den) in ((4, 4), (2, 2)):
        return "4/4"
    if (num, den) == (3, 4):
        return "3/4"
    if (num, den) in ((6, 8), (12, 8)):
        return "6/8"
    return "other"


def _generic_pattern(context: MusicalContext) -> Pattern:
    """A plain pattern for meters without written ones: kick on one, snare mid-bar, eighth hats."""
    steps = steps_per_bar(context.beats_per_bar)
    kick, snare = ["."] * steps, ["."] * steps
    kick[0] = "x"
    snare[(steps // 2) // 2 * 2 if steps > 2 else 0] = "x"
    hats = "".join("x" if s % 2 == 0 else "." for s in range(steps))
    return {KICK: "".join(kick), SNARE: "".join(snare), CLOSED_HAT: hats}


def patterns_for(context: MusicalContext, family: str) -> dict[str, Pattern]:
    """The named patterns the composer can play for this context's meter and family."""
    kind = meter_kind(context)
    if kind == "4/4":
        return _FOUR_FOUR[family]
    if kind == "3/4":
        return _THREE_FOUR
    if kind == "6/8":
        if context.meter == (12, 8):
            return {name: {p: s * 2 for p, s in pat.items()} for name, pat in _SIX_EIGHT.items()}
        return _SIX_EIGHT
    return {"generic": _generic_pattern(context)}


def _apply_energy(pattern: Pattern, energy: float, family: str) -> Pattern:
    """Thin out ghosts and hats when calm; add sixteenth hats and an open hat when driving."""
    out = dict(pattern)
    if energy < 0.35:
        out = {p: s.replace("o", ".") for p, s in out.items()}
        if CLOSED_HAT in out and out[CLOSED_HAT].count("x") > len(out[CLOSED_HAT]) // 4:
            out[CLOSED_HAT] = "".join(c if i % 4 == 0 else "." for i, c in enumerate(out[CLOSED_HAT]))
    elif energy > 0.75 and family not in ("ambient",):
        hats = out.get(CLOSED_HAT, "." * len(next(iter(out.values()))))
        out[CLOSED_HAT] = "".join(c if c != "." else "o" for c in hats)
        if family in ("techno", "house", "pop", "rock") and OPEN_HAT not in out and len(hats) == 16:
            out[OPEN_HAT] = "." * 14 + "x."
    return {p: s for p, s in out.items() if s.strip(".")}


VARIATIONS = ("none", "extra_kick", "ghost_snare")


def _variation(pattern: Pattern, choice: str, rng: np.random.Generator, family: str) -> Pattern:
    """A second-bar variant of ``pattern``: an extra kick, a ghost snare, or none."""
    steps = len(next(iter(pattern.values())))
    out = dict(pattern)
    if choice == "extra_kick" and KICK in out:
        kick = list(out[KICK])
        # An extra kick in the second half, on the eighth grid so the groove stays square.
        free = [s for s in range(steps // 2, steps, 2) if kick[s] == "."]
        if family in _STEADY_KICK or not free:
            free = [s for s in range(steps // 2, steps) if kick[s] == "." and s % 2 == 1][-1:]
        if free:
            kick[int(free[int(rng.integers(len(free)))])] = "o"
            out[KICK] = "".join(kick)
    elif choice == "ghost_snare":
        snare = list(out.get(SNARE, "." * steps))
        free = [s for s in range(1, steps) if snare[s] == "." and s % 2 == 1]
        if free:
            snare[int(free[int(rng.integers(len(free)))])] = "o"
            out[SNARE] = "".join(snare)
    return out


def _fill_hits(kind: str, start_step: int, n_steps: int, rng: np.random.Generator) -> list[tuple[int, float, int]]:
    """(pitch, step, velocity) of a fill over ``n_steps`` sixteenths from ``start_step``."""
    hits: list[tuple[int, float, int]] = []
    for i in range(n_steps):
        step = start_step + i
        ramp = 70 + int(50 * (i + 1) / n_steps)
        if kind == "snare_roll":
            hits.append((SNARE, step, ramp))
            if i >= n_steps - 2:
                hits.append((SNARE, step + 0.5, ramp - 10))
        elif kind == "tom_run":
            toms = (HIGH_TOM, MID_TOM, LOW_TOM)
            hits.append((toms[min(2, i * 3 // n_steps)], step, ramp))
        else:  # "kick_snare": a call and answer between kick and snare
            hits.append((KICK if i % 4 in (0, 3) else SNARE, step, ramp))
    if kind == "snare_roll" and rng.random() < 0.5:
        hits.append((OPEN_HAT, start_step + n_steps - 2, 90))
    return hits


def plan_drums(context: MusicalContext, family: str, rng: np.random.Generator, pattern_name: str | None = None) -> DrumPlan:
    """Draw the seed's choices: pattern, variation, how often and how long the fills are."""
    names = list(patterns_for(context, family))
    drawn = names[int(rng.integers(len(names)))]  # drawn even when pinned: the rest stays the same
    name = pattern_name if pattern_name is not None else drawn
    steps = steps_per_bar(context.beats_per_bar)
    beat_steps = 6 if meter_kind(context) == "6/8" else 4
    fill_every = 4 if rng.random() < 0.25 + 0.5 * context.energy else 8
    # One beat of fill, two when driving; the bar's downbeat always stays.
    fill_steps = max(0, min(steps - beat_steps, beat_steps * (2 if context.energy >= 0.6 else 1)))
    kinds = ("snare_roll", "tom_run", "kick_snare")
    fill_kind = kinds[int(rng.integers(len(kinds)))]
    variation = VARIATIONS[int(rng.integers(len(VARIATIONS)))]
    return DrumPlan(name, fill_every, fill_steps, fill_kind, variation)


def write_drums(context: MusicalContext, family: str, rng: np.random.Generator,
                pattern_name: str | None = None) -> tuple[list[Note], DrumPlan]:
    """The drum notes for the whole context and the plan that produced them."""
    table = patterns_for(context, family)
    plan = plan_drums(context, family, rng, pattern_name)
    base = _apply_energy(table[plan.pattern], context.energy, family)
    var_rng = np.random.default_rng(rng.integers(1 << 32))
    varied = _variation(base, plan.variation, var_rng, family)
    steps = steps_per_bar(context.beats_per_bar)
    notes: list[Note] = []
    for bar in range(context.bars):
        pattern = varied if bar % 2 == 1 else base
        is_fill_bar = (bar + 1) % plan.fill_every == 0 and context.bars > 1 and plan.fill_steps > 0
        fill_from = steps - plan.fill_steps if is_fill_bar else steps
        for pitch, line in pattern.items():
            for step, ch in enumerate(line):
                if ch == ".":
                    continue
                if step >= fill_from and not (pitch == KICK and family in _STEADY_KICK):
                    continue
                vel = _VELOCITY[ch]
                if pitch in (CLOSED_HAT, RIDE) and ch != "X":
                    vel = int(np.clip(vel + rng.integers(-10, 11), 30, 127))
                notes.append(_note(pitch, bar * steps + step, vel))
        if is_fill_bar:
            for pitch, step, vel in _fill_hits(plan.fill_kind, bar * steps + fill_from, plan.fill_steps, rng):
                notes.append(_note(pitch, step, vel))
        if bar > 0 and bar % plan.fill_every == 0:
            notes.append(_note(CRASH, bar * steps, 110))
        if family == "trap" and CLOSED_HAT in pattern and rng.random() < 0.5:
            # A trap hat roll: one beat of the bar in thirty-seconds.
            beat = int(rng.integers(max(1, (fill_from - 4) // 4))) if fill_from >= 8 else 0
            for k in range(8):
                notes.append(_note(CLOSED_HAT, bar * steps + beat * 4 + k * 0.5, 60 + 6 * k))
    notes.sort(key=lambda n: (n.start, n.pitch))
    return _dedupe(notes), plan


def _note(pitch: int, step: float, velocity: int) -> Note:
    duration = 0.5 if pitch in (OPEN_HAT, CRASH, LOW_TOM) else _STEP_BEATS
    return Note(int(pitch), float(step) * _STEP_BEATS, duration, int(velocity))


def _dedupe(notes: list[Note]) -> list[Note]:
    """Keep the loudest of two hits of one drum at the same time."""
    best: dict[tuple[int, float], Note] = {}
    for n in notes:
        key = (n.pitch, round(n.start, 6))
        if key not in best or n.velocity > best[key].velocity:
            best[key] = n
    return sorted(best.values(), key=lambda n: (n.start, n.pitch))

