"""Labelled test material written as General MIDI with mido and rendered by FluidSynth.

This is audio the app did not write: drum loops (GM kick/snare/hats), bass lines and piano
parts, with the truth kept beside them (tempo, first downbeat, kick/snare/hat times, chord per
bar, key). Loops can swing, shuffle, be humanised, start off the downbeat or after silence.
Rendering needs ``fluidsynth`` and the ``fluid-soundfont-gm`` soundfont (Debian packages);
``available()`` says whether they are here.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
RATE = 44100
TPB = 960
KICK, SNARE, HAT = 36, 38, 42

# One character per sixteenth: x hit, o ghost (soft), . rest.
DRUM_STYLES = {
    "rock": {KICK: "x.......x.x.....", SNARE: "....x.......x...", HAT: "x.x.x.x.x.x.x.x."},
    "funk": {KICK: "x..x..x...x..x..", SNARE: "....x..o.o..x..o", HAT: "xxxxxxxxxxxxxxxx"},
    "hiphop": {KICK: "x......x.xx.....", SNARE: "....x.......x...", HAT: "x.x.x.x.x.x.x.x."},
    "four": {KICK: "x...x...x...x...", SNARE: "....x.......x...", HAT: "..x...x...x...x."},
    "sync": {KICK: "x..x...x..x.....", SNARE: "....x.......x..o", HAT: "x.x.x.x.x.x.x.x."},
}

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
# Progressions as (scale degree, quality); minor keys use natural-minor degrees.
PROGRESSIONS = {
    "major": (((0, "maj"), (4, "maj"), (5, "min"), (3, "maj")),
              ((0, "maj"), (5, "min"), (3, "maj"), (4, "maj")),
              ((1, "min"), (4, "maj"), (0, "maj"), (0, "maj")),
              ((0, "maj"), (3, "maj"), (0, "maj"), (4, "maj"))),
    "minor": (((0, "min"), (5, "maj"), (2, "maj"), (6, "maj")),
              ((0, "min"), (3, "min"), (4, "min"), (0, "min")),
              ((0, "min"), (6, "maj"), (5, "maj"), (6, "maj")),
              ((0, "min"), (3, "min"), (6, "maj"), (2, "maj"))),
}
TRIADS = {"maj": (0, 4, 7), "min": (0, 3, 7)}


@dataclass
class Material:
    """One rendered file and its truth. Times are seconds from the start of the file."""

    kind: str
    audio: np.ndarray
    """float32 [N, 2] at RATE."""
    tempo: float
    first_downbeat: float
    bars: int
    kicks: np.ndarray = field(default_factory=lambda: np.zeros(0))
    snares: np.ndarray = field(default_factory=lambda: np.zeros(0))
    hats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    kick_beats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Each kick's written position in beats from the first downbeat (loop-periodic)."""
    snare_beats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    chords: tuple[tuple[int, str], ...] = ()
    """(root pitch class, quality) per bar, from the first downbeat."""
    tonic: int | None = None
    mode: str | None = None
    notes: list = field(default_factory=list)
    """(pitch, start seconds) of every pitched note."""


def available() -> bool:
    return shutil.which("fluidsynth") is not None and SOUNDFONT.exists()


def render_midi(events: list[tuple[float, int, int, int, float]], tempo: float, programs: dict[int, int]) -> np.ndarray:
    """events: (start seconds, channel, pitch, velocity, length seconds) -> float32 [N, 2]."""
    import mido
    import soundfile as sf

    mid = mido.MidiFile(ticks_per_beat=TPB)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=int(round(60_000_000 / tempo)), time=0))
    for ch, prog in programs.items():
        track.append(mido.Message("program_change", channel=ch, program=prog, time=0))
    ticks_per_s = TPB * tempo / 60.0
    msgs = []
    for start, ch, pitch, vel, length in events:
        on = int(round(max(0.0, start) * ticks_per_s))
        off = on + max(1, int(round(length * ticks_per_s)))
        msgs.append((on, 1, mido.Message("note_on", channel=ch, note=int(pitch), velocity=int(vel))))
        msgs.append((off, 0, mido.Message("note_off", channel=ch, note=int(pitch), velocity=0)))
    msgs.sort(key=lambda m: (m[0], m[1]))
    now = 0
    for tick, _, msg in msgs:
        track.append(msg.copy(time=tick - now))
        now = tick
    with tempfile.TemporaryDirectory() as tmp:
        mpath, wpath = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        mid.save(str(mpath))
        subprocess.run(["fluidsynth", "-ni", "-F", str(wpath), "-r", str(RATE), str(SOUNDFONT), str(mpath)],
                       check=True, capture_output=True)
        audio, _ = sf.read(str(wpath), dtype="float32", always_2d=True)
    return audio


def _swung(step: int, swing: float) -> float:
    """Beat position of a sixteenth step; swing moves the off-beat eighth to ``swing`` of the beat
    (0.5 straight, 0.667 triplet shuffle) and the sixteenths around it in proportion."""
    beat, sub = divmod(step, 4)
    pos = {0: 0.0, 1: swing / 2, 2: swing, 3: swing + (1 - swing) / 2}[sub]
    return beat + pos


def drum_loop(tempo: float, style: str = "rock", bars: int = 4, swing: float = 0.5, humanise_ms: float = 0.0,
              start_beat: int = 0, preroll_s: float = 0.0, seed: int = 0,
              kit: tuple[int, int, int] = (KICK, SNARE, HAT)) -> Material:
    """A loop of ``bars`` bars; ``start_beat`` > 0 starts the file that many beats into the bar
    (the loop stays whole bars long, so the skipped beats come at its end). ``kit`` is the GM
    notes (kick, snare, hat) that play the style's lines: (35, 40, 46) is acoustic bass drum,
    electric snare and open hat."""
    rng = np.random.default_rng(seed)
    pattern = DRUM_STYLES[style]
    note_of = dict(zip((KICK, SNARE, HAT), kit))
    spb = 60.0 / tempo
    events, truth = [], {KICK: [], SNARE: [], HAT: []}
    written = {KICK: [], SNARE: []}
    loop_beats = 4 * bars
    for bar in range(bars):
        for pitch, line in pattern.items():
            for step, ch in enumerate(line):
                if ch == ".":
                    continue
                beat = bar * 4 + _swung(step, swing)
                # Rotate so the file starts start_beat beats into the bar.
                pos = (beat - start_beat) % loop_beats
                jitter = rng.normal(0.0, humanise_ms / 1000.0) if humanise_ms else 0.0
                t = preroll_s + pos * spb + jitter
                vel = (40 if ch == "o" else 100) + int(rng.integers(-12, 13))
                if pitch == HAT:
                    vel -= 25
                events.append((max(t, preroll_s), 9, note_of[pitch], int(np.clip(vel, 20, 127)), 0.1))
                if ch != "o":
                    truth[pitch].append(max(t, preroll_s))
                if pitch in written and ch != "o":
                    # Relative to the file's first downbeat: bar 1 when the file starts mid-bar 0.
                    written[pitch].append((beat - (4 if start_beat else 0)) % loop_beats)
    audio = render_midi(events, tempo, {})
    first_down = preroll_s + ((4 - start_beat) % 4) * spb
    return Material("drums", audio, tempo, first_down, bars,
                    kicks=np.sort(truth[KICK]), snares=np.sort(truth[SNARE]), hats=np.sort(truth[HAT]),
                    kick_beats=np.sort(written[KICK]), snare_beats=np.sort(written[SNARE]))


def _chords(tonic: int, mode: str, prog: int) -> tuple[tuple[int, str], ...]:
    scale = MAJOR if mode == "major" else MINOR
    return tuple(((tonic + scale[d]) % 12, q) for d, q in PROGRESSIONS[mode][prog % 4])


def piano_part(tempo: float, tonic: int, mode: str, prog: int = 0, bars: int = 8, rhythm: str = "block",
               swing: float = 0.5, humanise_ms: float = 0.0, start_beat: int = 0, preroll_s: float = 0.0,
               seed: int = 0, program: int = 0) -> Material:
    """Piano (GM ``program``, 0 = acoustic grand) chords, one per bar from a diatonic
    progression, in ``rhythm``: block (half notes), comp (syncopated eighths), arp (broken
    chord in eighths)."""
    rng = np.random.default_rng(seed)
    chords = _chords(tonic, mode, prog)
    spb = 60.0 / tempo
    events, notes = [], []
    loop_beats = 4 * bars
    for bar in range(bars):
        root, quality = chords[bar % len(chords)]
        base = 48 + root
        voicing = [base - 12] + [base + i for i in TRIADS[quality]] + [base + 12]
        if rhythm == "block":
            hits = [(0.0, 1.9, voicing), (2.0, 1.9, voicing[1:])]
        elif rhythm == "comp":
            hits = [(0.0, 1.4, voicing), (1.5, 0.9, voicing[1:]), (2.5, 0.4, voicing[1:]), (3.0, 0.9, voicing[1:])]
        else:
            order = voicing[1:] + [voicing[2] + 12, voicing[3]]
            hits = [(0.0, 3.9, voicing[:1])] + [(0.5 * k, 0.45, [order[k % len(order)]]) for k in range(8)]
        for beat, length, pitches in hits:
            b = bar * 4 + (int(beat) + (swing if beat % 1 else 0.0))
            pos = (b - start_beat) % loop_beats
            jitter = rng.normal(0.0, humanise_ms / 1000.0) if humanise_ms else 0.0
            t = preroll_s + pos * spb + jitter
            for p in pitches:
                vel = int(np.clip(80 + rng.integers(-10, 11), 30, 127))
                events.append((max(t, preroll_s), 0, p, vel, length * spb))
                notes.append((p, max(t, preroll_s)))
    audio = render_midi(events, tempo, {0: program})
    first_down = preroll_s + ((4 - start_beat) % 4) * spb
    first_bar = 1 if start_beat else 0
    return Material("piano", audio, tempo, first_down, bars,
                    chords=tuple(chords[(b + first_bar) % 4] for b in range(bars)),
                    tonic=tonic, mode=mode, notes=notes)


def bass_line(tempo: float, tonic: int, mode: str, prog: int = 0, bars: int = 8, style: str = "rock",
              humanise_ms: float = 0.0, seed: int = 0, program: int = 33) -> Material:
    """A bass (GM ``program``, 33 = finger bass) on the chord roots, in the rhythm of a drum
    style's kick."""
    rng = np.random.default_rng(seed)
    chords = _chords(tonic, mode, prog)
    spb = 60.0 / tempo
    events, notes = [], []
    kick_line = DRUM_STYLES[style][KICK]
    steps = [s for s, c in enumerate(kick_line) if c != "."]
    for bar in range(bars):
        root = chords[bar % 4][0]
        pitch = 28 + (root - 4) % 12
        for i, s in enumerate(steps):
            nxt = steps[i + 1] if i + 1 < len(steps) else 16
            t = (bar * 4 + s / 4) * spb + (rng.normal(0, humanise_ms / 1000) if humanise_ms else 0.0)
            events.append((max(0.0, t), 0, pitch, 95, (nxt - s) / 4 * spb * 0.9))
            notes.append((pitch, max(0.0, t)))
    audio = render_midi(events, tempo, {0: program})
    return Material("bass", audio, tempo, 0.0, bars, chords=tuple(chords[b % 4] for b in range(bars)),
                    tonic=tonic, mode=mode, notes=notes)
