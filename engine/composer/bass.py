"""Bass parts: chord roots, placed on the drums' kicks.

The rhythm is built from the kick positions the backend hands over (a locked drum track's
notes, kicks detected in its audio, or the drums generated in the same request), so the bass
lands with the drums that will play beside it. Pitches follow the chord of each bar, voice-led
in octave 1-2 (MIDI 28-52), with octaves, fifths and approach notes all taken from the chord
or the scale.
"""

from __future__ import annotations

import numpy as np

from engine.context import MusicalContext
from engine.errors import BackendError
from engine.theory import Chord, Note, scale_pitch_classes

LOW, HIGH = 28, 52
# Roots sit between A1 and B2, around E2: low enough to be a bass, high enough that a note
# is a clear pitch (a semitone near 55 Hz is only 3 Hz wide) and clear of the kick's body.
_ROOT_LOW, _ROOT_TOP, _ROOT_CENTRE = 33, 47, 40

PATTERNS = ("kick_follow", "kick_sustain", "offbeat", "octave", "rolling")
GROOVES = ("plain", "pickups", "answer", "drive", "lean")
"""What a kick-led bass does with the kicks: follows them, adds a pickup before bar lines, an
answer on a free eighth after a long kick, or both; or leaves the last kick of every other bar
to the drums when a kick lands on the next bar line (room to breathe where busy kicks leave no
free eighth). Drawn from the seed, so regenerating varies the rhythm."""


def default_groove(pattern: str, energy: float, rng: np.random.Generator) -> str:
    """The seed's groove; busier grooves are likelier at higher energy."""
    drive = float(np.clip(energy, 0.0, 1.0))
    weights = np.array([1.0, 1.0 + drive, 0.8 + drive, 0.3 + drive, 1.0 - 0.5 * drive])
    return GROOVES[int(rng.choice(len(GROOVES), p=weights / weights.sum()))]


def default_pattern(family: str, energy: float, rng: np.random.Generator) -> str:
    """The bass rhythm a family plays: offbeat or rolling techno, octave house, kick-led elsewhere."""
    if family == "techno":
        return "rolling" if energy >= 0.85 else "offbeat"
    if family == "house":
        return ("offbeat", "octave")[int(rng.integers(2))]
    if family in ("trap", "ambient"):
        return "kick_sustain"
    return "kick_follow"


def _free(at: float, kicks: np.ndarray, avoid: np.ndarray, room: float = 0.3) -> bool:
    """No kick and no snare within ``room`` beats of ``at``."""
    near = lambda xs: xs.size and float(np.min(np.abs(xs - at))) < room  # noqa: E731
    return not near(kicks) and not near(avoid)


def _onsets(pattern: str, kicks: np.ndarray, context: MusicalContext, energy: float,
            avoid: np.ndarray | None = None, groove: str = "pickups") -> list[tuple[float, str]]:
    """(start beat, kind) of every bass note; kind is "kick", "off" or "pickup".

    ``avoid`` are beats of snares with no kick: added notes keep clear of them, so the bass
    does not double the backbeat.
    """
    total = context.total_beats
    bpb = context.beats_per_bar
    kicks = kicks[(kicks >= 0) & (kicks < total - 1e-9)]
    avoid = np.zeros(0) if avoid is None else np.asarray(avoid, dtype=np.float64)
    out: list[tuple[float, str]] = []
    if pattern in ("kick_follow", "kick_sustain"):
        out = [(float(k), "kick") for k in kicks]
        if pattern == "kick_follow" and groove == "lean":
            for bar in range(1, context.bars, 2):
                end = (bar + 1) * bpb
                last = kicks[(kicks >= bar * bpb) & (kicks < end - 1e-9)]
                if last.size >= 2 and end - last[-1] <= 1.0 + 1e-9 and np.any(np.abs(kicks - end) < 0.05):
                    out.remove((float(last[-1]), "kick"))
        if pattern == "kick_follow" and groove in ("pickups", "drive"):
            # A pickup on the last eighth before a bar line when the kicks leave room for one.
            for bar in range(1, context.bars):
                at = bar * bpb - 0.5
                before = kicks[kicks < bar * bpb]
                if before.size and at - before[-1] >= 1.0 - 1e-9 and _free(at, kicks, avoid, 0.2):
                    out.append((at, "pickup"))
        if pattern == "kick_follow" and groove in ("answer", "drive"):
            # One answer per bar, an eighth or a beat into the bar's longest gap between kicks.
            bounds = list(kicks) + [total]
            gaps = [(nxt - k, k, nxt) for k, nxt in zip(bounds[:-1], bounds[1:]) if nxt - k >= 1.0 - 1e-9]
            by_bar: dict[int, tuple[float, float, float]] = {}
            for gap in gaps:
                bar = int(gap[1] // bpb)
                if bar not in by_bar or gap[0] > by_bar[bar][0]:
                    by_bar[bar] = gap
            for _, k, nxt in sorted(by_bar.values(), key=lambda g: g[1]):
                first = np.ceil((k + 0.5) * 2.0 - 1e-6) / 2.0  # the answer sits on the eighth grid
                for at in (first + 0.5, first, first + 1.0):
                    at = float(at)
                    if at < nxt - 0.4 and _free(at, kicks, avoid, 0.3):
                        out.append((at, "off"))
                        break
    elif pattern in ("offbeat", "octave"):
        kick_set = {round(float(k), 4) for k in kicks}
        for bar in range(context.bars):
            start = bar * bpb
            if pattern == "offbeat" and round(start, 4) in kick_set:
                out.append((start, "kick"))  # the root on the bar's first kick, then offbeats
            beat = 0.0
            while beat < bpb - 1e-9:
                at = start + beat + 0.5
                if round(at, 4) not in kick_set and at < total:
                    out.append((at, "off"))
                beat += 1.0
        if pattern == "octave":
            out += [(float(k), "kick") for k in kicks]
    elif pattern == "rolling":
        bounds = list(kicks) + [total]
        for k, nxt in zip(bounds[:-1], bounds[1:]):
            for d in (0.25, 0.5, 0.75):
                if k + d < nxt - 1e-9:
                    out.append((float(k + d), "off"))
    else:
        raise BackendError(f"the composer has no bass pattern {pattern!r}: choose one of {', '.join(PATTERNS)}")
    out = sorted(set(out))
    # One note per time: a kick beats an offbeat at the same instant.
    seen: dict[float, tuple[float, str]] = {}
    for t, kind in out:
        key = round(t, 4)
        if key not in seen or kind == "kick":
            seen[key] = (t, kind)
    return sorted(seen.values())


def _voice_led_roots(context: MusicalContext) -> list[int]:
    """One MIDI root per bar, each the octave of its chord root nearest the previous one."""
    roots: list[int] = []
    prev = _ROOT_CENTRE
    for bar in range(context.bars):
        pc = context.chord_at_bar(bar).root
        options = [p for p in range(_ROOT_LOW, _ROOT_TOP + 1) if p % 12 == pc]
        # Stay near the middle of the register so the line cannot drift to an edge.
        best = min(options, key=lambda p: (abs(p - prev) + 0.5 * abs(p - _ROOT_CENTRE), p))
        roots.append(best)
        prev = best
    return roots


def _chord_tone_above(root: int, chord: Chord, interval_index: int) -> int:
    pcs = chord.pitch_classes
    pc = pcs[min(interval_index, len(pcs) - 1)]
    p = root + ((pc - root) % 12)
    return p if p <= HIGH else p - 12


def _approach(next_root: int, scale: tuple[int, ...], from_below: bool) -> int:
    """The scale tone a step below (or above) the next bar's root."""
    for d in range(1, 3):
        p = next_root - d if from_below else next_root + d
        if p % 12 in scale and LOW <= p <= HIGH:
            return p
    return next_root


def write_bass(context: MusicalContext, kicks: np.ndarray, pattern: str, rng: np.random.Generator,
               avoid: np.ndarray | None = None, groove: str = "pickups") -> list[Note]:
    """Bass notes for the whole context, placed on ``kicks`` (beats) in ``pattern`` and ``groove``,
    keeping added notes clear of ``avoid`` (beats of snares without a kick)."""
    if groove not in GROOVES:
        raise BackendError(f"the composer has no bass groove {groove!r}: choose one of {', '.join(GROOVES)}")
    scale = scale_pitch_classes(context.tonic, context.mode)
    roots = _voice_led_roots(context)
    bpb = context.beats_per_bar
    onsets = _onsets(pattern, np.asarray(kicks, dtype=np.float64), context, context.energy, avoid, groove)
    max_len = {"kick_follow": 2.0, "kick_sustain": 4.0, "offbeat": 0.4, "octave": 0.45, "rolling": 0.25}[pattern]
    # Rolling sixteenths are nearly legato: short gaps would chop the low end into a buzz.
    gap = 0.03 if pattern == "rolling" else 0.06
    notes: list[Note] = []
    for i, (start, kind) in enumerate(onsets):
        bar = min(int(start // bpb + 1e-9), context.bars - 1)
        chord = context.chord_at_bar(bar)
        root = roots[bar]
        on_bar_line = abs(start - bar * bpb) < 1e-6
        pitch = root
        if kind == "pickup" and bar + 1 < context.bars:
            pitch = _approach(roots[bar + 1], scale, from_below=roots[bar + 1] > root or rng.random() < 0.5)
        elif pattern == "octave" and kind == "off":
            # The octave above, or the fifth where the octave would leave the register.
            pitch = root + 12 if root + 12 <= HIGH else _chord_tone_above(root, chord, 2)
        elif not on_bar_line:
            # Off the bar line, now and then an octave, the chord's fifth or its third (the
            # third tells minor from major, which roots alone never do).
            r = rng.random()
            if r < 0.12 and root + 12 <= HIGH:
                pitch = root + 12
            elif r < 0.22:
                pitch = _chord_tone_above(root, chord, 2)
            elif r < 0.34:
                pitch = _chord_tone_above(root, chord, 1)
        nxt = onsets[i + 1][0] if i + 1 < len(onsets) else context.total_beats
        duration = float(np.clip(nxt - start - gap, 0.1, max_len))
        duration = min(duration, context.total_beats - start)
        velocity = 112 if on_bar_line else (100 if kind == "kick" else 88)
        velocity = int(np.clip(velocity + rng.integers(-6, 7), 40, 127))
        notes.append(Note(int(pitch), float(start), duration, velocity))
    return notes
