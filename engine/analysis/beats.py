"""The one beat tracker: tempo with octave resolution, a beat grid, its downbeat and phase.

Used by analysis, by import conform and by the MusicGen conform step, so all three agree.
Steps (plain numpy):

1. A comb over tempi 40-240 bpm scores how strongly the onset envelope sits on each grid.
2. The candidate metrical levels around the best comb (x1/2, x2/3, x1, x3/2, x2) are judged by
   musical context, not by a tempo prior alone: in a drum recording the level where the snares
   fall on beats 2 and 4 of the bar is the beat (a 92 bpm swing loop has snares on 2 and 4 at
   92, on beats 3 and 7 at 184); otherwise the faster of two levels wins only where its
   in-between grid points are nearly as strong as its beats (quarter-note chords at 170 bpm
   are not eighths at 85), with a gentle prior towards 60-160 bpm. Tonal material adds the bar
   lengths its chord changes suggest to the candidates, and its level is the one whose bars
   each hold one chord (a syncopated bass line's beat may be in no octave of its onset comb).
3. Tempo and phase are refined by a least-squares line through the onsets near the beats, so
   a 117 bpm loop reads as 117.0 and does not drift against a 120 bpm session.
4. The downbeat is the beat position that carries the kicks and not the snares (drums), the
   chord changes and bass notes (tonal material), or the low-band accents (anything else).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.analysis.onsets import FPS, Spectrogram, flux, onset_envelope, pick_onsets

MIN_BPM, MAX_BPM = 40.0, 240.0
LEVEL_MIN, LEVEL_MAX = 55.0, 200.0
"""Tempi the chosen beat level may take (slower or faster readings are octaves of these)."""
CLEAR_BEAT = 3.2
"""A beat strength (``_clarity``) above this is a clear beat (random hits measured 1.5-3.0, played parts 3-15)."""


@dataclass(frozen=True)
class BeatGrid:
    """A constant-tempo grid: beat ``k`` is at ``first_beat + k * 60 / tempo`` seconds."""

    tempo: float
    first_beat: float
    """Seconds to the first beat at or after the start."""
    downbeat: float
    """Seconds to the first beat that starts a bar."""
    beats_per_bar: int
    strength: float
    """How clearly the onsets keep to the grid (a z-score; ``CLEAR_BEAT`` and above is clear)."""
    downbeat_confidence: float = 0.0
    """0 (a guess) .. 1: the winning bar position's margin over the runner-up."""
    level_reason: str = ""
    """Which rule chose the tempo octave: "backbeat", "subdivision", or "comb"."""

    @property
    def period(self) -> float:
        return 60.0 / self.tempo

    def beat_times(self, duration: float) -> np.ndarray:
        n = max(0, int(np.floor((duration - self.first_beat) / self.period)) + 1)
        return self.first_beat + np.arange(n) * self.period

    def downbeat_index(self) -> int:
        """Index (in ``beat_times``) of the first downbeat."""
        return int(round((self.downbeat - self.first_beat) / self.period))

    @property
    def clear(self) -> bool:
        return self.strength >= CLEAR_BEAT


def _widen(env: np.ndarray, frames: int = 2) -> np.ndarray:
    """Max over +-``frames``: a humanised or slightly swung onset still meets its grid point."""
    out = env.copy()
    for k in range(1, frames + 1):
        out[k:] = np.maximum(out[k:], env[:-k])
        out[:-k] = np.maximum(out[:-k], env[k:])
    return out


def _comb(env: np.ndarray, period: float) -> tuple[float, float]:
    """(best mean of ``env`` on a grid of ``period`` frames, its phase in frames)."""
    phases = np.arange(0.0, period, 1.0)
    count = int((env.size - 1 - period) // period) + 1
    if count < 2:
        return 0.0, 0.0
    idx = phases[:, None] + np.arange(count)[None, :] * period
    scores = np.interp(idx, np.arange(env.size), env).mean(axis=1)
    i = int(np.argmax(scores))
    return float(scores[i]), float(phases[i])


def _salience(env: np.ndarray, bpm: float) -> tuple[float, float]:
    return _comb(env, 60.0 / bpm * FPS)


def _refine(env: np.ndarray, bpm: float, span: float = 0.03) -> tuple[float, float, float]:
    """Best (bpm, score, phase frames) within +-``span`` of ``bpm``."""
    best = (bpm, -1.0, 0.0)
    for b in bpm * np.geomspace(1 - span, 1 + span, 25):
        score, phase = _salience(env, b)
        if score > best[1]:
            best = (float(b), score, phase)
    return best


def _backbeat(snares: np.ndarray, kicks: np.ndarray, bpm: float, phase_s: float, bpb: int) -> float:
    """0..1: how well snares fall on two alternate beats of the bar (2 and 4 in 4/4) at ``bpm``."""
    if snares.size < 3 or bpb not in (2, 4):
        return 0.0
    pos = (snares - phase_s) * bpm / 60.0
    on_beat = np.abs(pos - np.round(pos)) < 0.14
    if on_beat.mean() < 0.5:
        return 0.0
    idx = np.round(pos[on_beat]).astype(int)
    if bpb == 2:
        counts = np.bincount(idx % 2, minlength=2)
        return float(counts.max() / counts.sum()) * (1.0 if counts.min() == 0 else 0.5)
    counts = np.bincount(idx % 4, minlength=4)
    best = 0.0
    for d in range(2):  # snares on {1, 3} or on {0, 2} of the four positions
        a, b = counts[(d + 1) % 4], counts[(d + 3) % 4]
        others = counts[d % 4] + counts[(d + 2) % 4]
        pair = 2.0 * min(a, b) / max(1, a + b + others)
        best = max(best, pair)
    return float(best * on_beat.mean())


def _prior(bpm: float) -> float:
    """Gentle preference for 70-150 bpm (log-normal around 110, ~1.3 octaves wide)."""
    return float(np.exp(-0.5 * (np.log2(bpm / 110.0) / 1.3) ** 2))


def _bar_changes(novelty: np.ndarray, rate: float, bpm: float, bpb: int) -> tuple[float, float]:
    """(mean chord change on the bar lines of ``bpm``, on the mid-bar points), best phase."""
    period = bpb * 60.0 / bpm * rate
    if novelty.size < 2.5 * period:
        return 0.0, 0.0
    score, phase = _comb(novelty, period)
    count = int((novelty.size - 1 - phase - period / 2) // period) + 1
    mids = phase + period / 2 + np.arange(max(1, count)) * period
    mid = float(np.interp(mids, np.arange(novelty.size), novelty).mean())
    return score, mid


def _bar_tempi(novelty: np.ndarray, rate: float, bpb: int, count: int = 3) -> list[float]:
    """Tempi whose bar lines best carry the chord changes, read from the changes alone.

    A syncopated bass line (onsets at 0, 1.75, 2.25 and 2.5 beats) can leave its true beat out
    of the onset comb's family of levels, while its root still changes on the bar line.
    """
    tempi = np.geomspace(LEVEL_MIN, LEVEL_MAX, 96)
    scores = np.array([_bar_changes(novelty, rate, t, bpb)[0] for t in tempi])
    peaks = [i for i in range(1, tempi.size - 1) if scores[i] >= scores[i - 1] and scores[i] >= scores[i + 1]]
    peaks.sort(key=lambda i: -scores[i])
    return [float(tempi[i]) for i in peaks[:count]]


def _same_chord(chroma: np.ndarray, novelty: np.ndarray, rate: float, bpm: float, bpb: int, parts: int) -> float:
    """How alike the ``parts`` equal pieces of each bar are (mean cosine of their chroma): about
    0.9 and above where a bar holds one chord, lower where it holds several."""
    period = bpb * 60.0 / bpm * rate
    _, phase = _comb(novelty, period)
    sims = []
    t = phase
    while t + period <= len(chroma):
        edges = np.round(t + np.arange(parts + 1) * period / parts).astype(int)
        pieces = [chroma[x:y].mean(axis=0) for x, y in zip(edges[:-1], edges[1:]) if y > x]
        for u, v in zip(pieces[:-1], pieces[1:]):
            sims.append(float(u @ v / max(1e-12, float(np.linalg.norm(u) * np.linalg.norm(v)))))
        t += period
    return float(np.mean(sims)) if sims else 1.0


ONE_CHORD = 0.9
"""``_same_chord`` at or above this: the bar holds one chord (measured: true bars 0.91-1.0,
bars of a half-tempo reading 0.3-0.89, on rendered piano parts and bass lines)."""


def _harmonic_level(levels, novelty: np.ndarray, chroma: np.ndarray, rate: float, bpb: int):
    """The level whose bars hold one chord each: its bar lines carry the chord changes and its
    mid-bar points do not.

    Of the levels whose bar lines carry nearly the most change and whose beats the onsets
    support (an arpeggio's changes fit many bar lengths), the start is the fastest of those with
    nearly the most of both. A slower reading (half
    or a third of the tempo) can still score more than the true one: it samples fewer bar lines
    and picks the best of them (ii V I I read at half tempo has a change on every bar line).
    So the reading moves to three or two times its tempo where its own bars hold several
    chords and that level's bars hold one.
    """
    scored = {lv: _bar_changes(novelty, rate, lv[0], bpb) for lv in levels}
    top = max(h for h, _ in scored.values())
    if top <= 1.5 * (float(np.mean(novelty)) + 1e-12):
        return None
    support = max(lv[1] for lv in levels)
    clean = [lv for lv in levels if scored[lv][1] < 0.6 * scored[lv][0] and lv[1] >= 0.4 * support]
    start = [lv for lv in clean if scored[lv][0] >= 0.7 * top]
    if not start:
        return None
    # Bars that each hold one chord, where some level has them.
    one_chord = [x for x in start if _same_chord(chroma, novelty, rate, x[0], bpb, 2) >= ONE_CHORD]
    if not one_chord:
        # An electric piano's arpeggio changes colour mid-bar nearly as much as on the bar line,
        # so its true level can miss "clean" while only a half-tempo reading passes, whose bars
        # hold two chords. A level the onsets support as well, with nearly the most change on
        # its bar lines and one chord in each bar, is the better start.
        one_chord = [lv for lv in levels if lv[1] >= 0.8 * support and scored[lv][0] >= 0.7 * top
                     and _same_chord(chroma, novelty, rate, lv[0], bpb, 2) >= ONE_CHORD]
    start = one_chord or start
    # The chord changes and the onsets both have a say: a 4/3 reading of a ballad has nearly
    # the changes of the true level on its bar lines, but half the onsets on its beats. Of the
    # levels with nearly the most of both, the fastest.
    both = {x: scored[x][0] * x[1] for x in start}
    lv = max((x for x in start if both[x] >= 0.8 * max(both.values())), key=lambda x: x[0])
    for _ in range(2):
        for k in (3, 2):
            faster = [x for x in clean if abs(x[0] / (k * lv[0]) - 1) < 0.03 and scored[x][0] >= 0.5 * scored[lv][0]]
            if (faster and _same_chord(chroma, novelty, rate, lv[0], bpb, k) < ONE_CHORD
                    and _same_chord(chroma, novelty, rate, faster[0][0], bpb, 2) >= ONE_CHORD):
                lv = faster[0]
                break
        else:
            break
    return lv


def _choose_level(env: np.ndarray, base: float, drums, novelty: np.ndarray | None = None,
                  novelty_rate: float = 0.0, bpb: int = 4, chroma: np.ndarray | None = None,
                  other_peaks: tuple[float, ...] = ()) -> tuple[float, str]:
    ratios = (1.0, 0.5, 2.0, 2.0 / 3.0, 1.5, 1.0 / 3.0, 3.0, 0.25, 4.0, 0.75, 4.0 / 3.0)
    levels = []
    for r in ratios:
        b = base * r
        if not (LEVEL_MIN <= b <= LEVEL_MAX):
            continue
        if all(abs(b / x - 1) > 0.02 for x, _, _ in levels):
            levels.append(_refine(env, b))
    harmonic = novelty is not None and chroma is not None and novelty_rate > 0
    if harmonic and (drums is None or drums.snare.size < 3):
        # The bar lengths the chord changes themselves suggest, and their octaves.
        for t in _bar_tempi(novelty, novelty_rate, bpb):
            for b in (t, 2 * t, t / 2):
                if LEVEL_MIN <= b <= LEVEL_MAX and all(abs(b / x - 1) > 0.02 for x, _, _ in levels):
                    levels.append(_refine(env, b))
    if drums is not None and drums.snare.size >= 3:
        backs = [_backbeat(drums.snare, drums.kick, lv_bpm, lv_phase / FPS, 4) for lv_bpm, _, lv_phase in levels]
        top = max(backs)
        if top < 0.5:
            # The comb's best peak can be no simple ratio of the beat (a 173 bpm rock loop under
            # ringing open hats peaks at 69.5, two fifths of it): its other peaks, and their
            # octaves, may hold the level the backbeat shows.
            extra = []
            for peak in other_peaks:
                for b in (peak, 2.0 * peak, 0.5 * peak):
                    if LEVEL_MIN <= b <= LEVEL_MAX and all(abs(b / x - 1) > 0.02 for x, _, _ in levels + extra):
                        extra.append(_refine(env, b))
            extra_backs = [_backbeat(drums.snare, drums.kick, lv_bpm, lv_phase / FPS, 4) for lv_bpm, _, lv_phase in extra]
            if extra_backs and max(extra_backs) >= 0.5:
                levels, backs, top = extra, extra_backs, max(extra_backs)
        if top >= 0.5:
            tied = [lv for lv, b in zip(levels, backs) if b >= top - 0.1]
            return max(tied, key=lambda lv: lv[1] * _prior(lv[0]))[0], "backbeat"
    if harmonic:
        chosen = _harmonic_level(levels, novelty, chroma, novelty_rate, bpb)
        if chosen is not None:
            return chosen[0], "harmony"
    # Without a backbeat: start from the best-scoring level, then move to its double where the
    # double's in-between grid points are nearly as strong as its beats.
    bpm, score, _ = max(levels, key=lambda lv: lv[1] * _prior(lv[0]))
    reason = "comb"
    for _ in range(2):
        half = [lv for lv in levels if abs(lv[0] / (bpm / 2) - 1) < 0.03]
        if half and half[0][1] >= 0.85 * score and _prior(half[0][0]) > _prior(bpm) * 1.05:
            bpm, score, reason = half[0][0], half[0][1], "subdivision"
            continue
        double = [lv for lv in levels if abs(lv[0] / (bpm * 2) - 1) < 0.03]
        if double and double[0][1] >= 0.85 * score:
            bpm, score, reason = double[0][0], double[0][1], "subdivision"
            continue
        break
    return bpm, reason


def _on_the_beat(spec: Spectrogram, phase_s: float, period: float, drums, novelty, novelty_rate: float) -> float:
    """``phase_s`` or half a beat later, whichever grid carries the kicks and snares, the bass
    notes and the chord changes (syncopated parts put as many onsets off the beat as on it)."""
    low = flux(spec, 20.0, 200.0)
    duration = spec.frames / FPS

    def score(ph: float) -> float:
        grid = ph % period + np.arange(int(duration / period) + 1) * period
        total = 0.0
        f = np.clip(np.round(grid * FPS).astype(int), 0, low.size - 1)
        total += float(np.mean([low[max(0, i - 2): i + 3].max() for i in f])) / (float(low.mean()) + 1e-12)
        if novelty is not None and novelty_rate > 0:
            g = np.clip(np.round(grid * novelty_rate).astype(int), 0, novelty.size - 1)
            total += float(novelty[g].mean()) / (float(novelty.mean()) + 1e-12)
        if drums is not None and drums.kick.size + drums.snare.size >= 4:
            hits = np.concatenate([drums.kick, drums.snare])
            pos = (hits - ph) / period
            total += 2.0 * float(np.mean(np.abs(pos - np.round(pos)) < 0.12))
        return total

    here, half = score(phase_s), score(phase_s + period / 2)
    return phase_s + period / 2 if half > 1.2 * here else phase_s


def _clarity(onsets: np.ndarray, bpm: float, phase_s: float) -> float:
    """How clearly the onsets keep to the grid: the largest binomial z-score of the share of
    onsets near a beat, an eighth, a triplet or a sixteenth against the share chance would put
    there. Noise scores about 0; a played part 5-15."""
    n = onsets.size
    if n < 4:
        return 0.0
    pos = (onsets - phase_s) * bpm / 60.0
    best = 0.0
    # (subdivisions per beat, tolerance in beats): beats, eighths, triplets, sixteenths.
    for sub, tol in ((1, 0.1), (2, 0.1), (3, 0.05), (4, 0.05)):
        chance = 2 * tol * sub
        share = float(np.mean(np.abs(sub * pos - np.round(sub * pos)) < tol * sub))
        best = max(best, (share - chance) / np.sqrt(chance * (1 - chance) / n))
    # Swung eighths: the beat and the offbeat where this part puts it (0.5 straight .. 0.67).
    frac = pos - np.floor(pos)
    mid = frac[(frac > 0.45) & (frac < 0.75)]
    if mid.size >= 3:
        off = float(np.median(mid))
        share = float(np.mean((np.abs(pos - np.round(pos)) < 0.08) | (np.abs(frac - off) < 0.08)))
        best = max(best, (share - 0.32) / np.sqrt(0.32 * 0.68 / n) - 1.0)  # -1: the offbeat was fitted
        # Swung sixteenths: the two in-between sixteenths move with the offbeat (0.29 and 0.79
        # at a swing of 0.58), so a swung funk hat line is on no straight grid.
        grid = np.array([0.0, off / 2, off, off + (1 - off) / 2, 1.0])
        share = float(np.mean(np.abs(frac[:, None] - grid[None, :]).min(axis=1) < 0.05))
        best = max(best, (share - 0.4) / np.sqrt(0.4 * 0.6 / n) - 1.0)
    return float(best)


def _line_through(onset_times: np.ndarray, weights: np.ndarray, period: float, phase_s: float, tol: float,
                  min_near: int, min_span: int, drift: float) -> tuple[float, float]:
    """Least-squares (period, phase) of a grid through the onsets within ``tol`` periods of its
    points (three passes; a pass that would move the period more than ``drift`` is refused)."""
    for _ in range(3):
        pos = (onset_times - phase_s) / period
        k = np.round(pos)
        near = np.abs(pos - k) < tol
        if near.sum() < min_near or np.ptp(k[near]) < min_span:
            break
        w = np.sqrt(weights[near])
        A = np.stack([k[near], np.ones(near.sum())], axis=1) * w[:, None]
        sol, *_ = np.linalg.lstsq(A, onset_times[near] * w, rcond=None)
        if not ((1 - drift) * period < sol[0] < (1 + drift) * period):
            break
        period, phase_s = float(sol[0]), float(sol[1])
    return period, phase_s


def _fit_grid(onset_times: np.ndarray, weights: np.ndarray, bpm: float, phase_s: float) -> tuple[float, float]:
    """Least-squares (bpm, phase) through the onsets within 12% of a beat of the grid."""
    period, phase_s = _line_through(onset_times, weights, 60.0 / bpm, phase_s, 0.12, 4, 3, 0.1)
    return 60.0 / period, phase_s


def _fit_sixteenths(onset_times: np.ndarray, weights: np.ndarray, low: np.ndarray, bpm: float, phase_s: float,
                    bpb: int) -> tuple[float, float]:
    """(bpm, phase) of a grid whose sixteenths the onsets sit on, from bar lines read from the
    chord changes: a syncopated line has few notes on the beat but all on sixteenths.

    The chord changes put the bar line only within half a beat or so (chroma smears a low note
    over its long window). At each bar line the onset with the most low-band attack (``low``,
    one per onset: the new root) within half a beat places it (their median); the circular
    mean of the onsets' places within a sixteenth then moves it onto the sixteenths, and a
    least-squares line through the onsets near a sixteenth refines tempo and phase.
    """
    period = 60.0 / bpm
    step = period / 4
    if onset_times.size < 8:
        return bpm, phase_s
    bar = bpb * period
    offsets = []
    for line in phase_s + bar * np.arange(np.floor(-phase_s / bar), np.ceil((onset_times.max() - phase_s) / bar) + 1):
        near = np.flatnonzero(np.abs(onset_times - line) < 0.55 * period)
        if near.size:
            offsets.append(onset_times[near[np.argmax(low[near])]] - line)
    if len(offsets) >= 2:
        phase_s += float(np.median(offsets))
    angle = 2 * np.pi * (onset_times - phase_s) / step
    phase_s += float(np.angle(np.sum(weights * np.exp(1j * angle)))) / (2 * np.pi) * step
    step, phase_s = _line_through(onset_times, weights, step, phase_s, 0.25, 8, 12, 0.03)
    return 60.0 / (4 * step), phase_s


def _distinct_voices(drums) -> bool:
    """Kicks and snares mostly at different times, as in a kit (not one sound read as both)."""
    if drums.kick.size == 0 or drums.snare.size == 0:
        return drums.kick.size > 0
    both = np.abs(drums.kick[:, None] - drums.snare[None, :]).min(axis=1) < 0.02
    return float(np.mean(both)) < 0.7


def _downbeat(beats: np.ndarray, bpb: int, drums, spec: Spectrogram, chroma_per_beat: np.ndarray | None,
              period: float) -> tuple[int, float]:
    """(bar position 0..bpb-1 of the first downbeat among ``beats``, confidence)."""
    if bpb <= 1 or beats.size < bpb:
        return 0, 0.0
    scores = np.zeros(bpb)
    tol = 0.12 * period

    def count_at(times: np.ndarray) -> np.ndarray:
        out = np.zeros(bpb)
        if times.size == 0:
            return out
        d = np.abs(times[:, None] - beats[None, :])
        j = np.argmin(d, axis=1)
        ok = d[np.arange(times.size), j] < tol
        np.add.at(out, j[ok] % bpb, 1.0)
        return out

    if drums is not None and drums.kick.size >= 2 and _distinct_voices(drums):
        kicks, snares = count_at(drums.kick), count_at(drums.snare)
        scores += (kicks - 1.5 * snares) / max(1.0, kicks.sum())
    if chroma_per_beat is not None and len(chroma_per_beat) == beats.size and beats.size > bpb:
        c = chroma_per_beat / np.maximum(np.linalg.norm(chroma_per_beat, axis=1, keepdims=True), 1e-9)
        change = np.zeros(beats.size)
        change[1:] = 1.0 - np.sum(c[1:] * c[:-1], axis=1)
        per = np.array([change[d::bpb].mean() for d in range(bpb)])
        scores += 2.0 * per / max(1e-9, per.sum())
    frames = np.clip(np.round(beats * FPS).astype(int), 0, max(0, spec.frames - 1))
    # Accents: the low band (kick, bass notes) counts, and so, less, does the whole band.
    power = spec.band(20.0, 11025.0)
    rise = np.maximum(0.0, np.diff(power, prepend=0.0))
    for band, weight in ((flux(spec, 20.0, 200.0), 0.5), (rise, 0.3)):
        lw = np.array([max(band[max(0, f - 2): f + 3].max(initial=0.0), 0.0) for f in frames])
        per = np.array([lw[d::bpb].mean() for d in range(bpb)])
        scores += weight * per / max(1e-9, per.sum())
    # Files are usually cut on a bar line: the beat where the sound starts is favoured, unless
    # the kicks, snares or chord changes say otherwise.
    sound = float(spec.band(20.0, 11025.0).max(initial=0.0))
    if sound > 0:
        first = np.flatnonzero(spec.band(20.0, 11025.0) >= sound * 1e-4)
        if first.size:
            near = np.abs(beats - first[0] / FPS) < 0.2 * period
            if near.any():
                scores[int(np.flatnonzero(near)[0]) % bpb] += 0.1
    scores -= 0.02 * np.arange(bpb)
    order = np.argsort(scores)[::-1]
    spread = float(scores[order[0]] - scores[order[1]])
    return int(order[0]), float(np.clip(spread / 0.5, 0.0, 1.0))


def track_beats(spec: Spectrogram, beats_per_bar: int = 4, drums=None, chroma=None, chroma_rate: float = 0.0,
                near_tempo: float | None = None, onset_times: np.ndarray | None = None) -> BeatGrid:
    """The beat grid of the audio behind ``spec``.

    ``drums`` (a ``DrumOnsets``) lets the backbeat choose the tempo octave and the kicks the
    downbeat; ``chroma`` ([T, 12] at ``chroma_rate``) lets chord changes mark the bar lines.
    ``near_tempo`` folds the result to the octave nearest a session tempo (MusicGen conform).
    ``onset_times`` (seconds, e.g. ``DrumOnsets.all``, timed on the waveform) make the grid's
    phase exact; without them onsets are read from the spectrogram's frames.
    """
    env = onset_envelope(spec)
    wide = _widen(env)
    duration = spec.frames / FPS
    if env.size < int(2 * FPS) or float(env.max(initial=0.0)) <= 0.0:
        return BeatGrid(near_tempo or 120.0, 0.0, 0.0, beats_per_bar, 0.0)
    bpms = np.geomspace(MIN_BPM, MAX_BPM, 160)
    comb = np.array([_salience(wide, b)[0] for b in bpms])
    weighted = comb * np.array([_prior(b) for b in bpms])
    base = float(bpms[int(np.argmax(weighted))])
    peaks = [i for i in range(1, bpms.size - 1) if weighted[i] >= weighted[i - 1] and weighted[i] > weighted[i + 1]]
    peaks = sorted(peaks, key=lambda i: -weighted[i])
    other_peaks = tuple(float(bpms[i]) for i in peaks if abs(bpms[i] / base - 1) > 0.02)[:3]
    novelty = c = None
    if chroma is not None and chroma_rate > 0 and len(chroma) > 4:
        c = np.asarray(chroma, dtype=np.float64)
        c = c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-9)
        # Chord change: how much the next ~0.2 s differs from the last ~0.2 s.
        w = max(1, int(round(0.2 * chroma_rate)))
        cs = np.concatenate([np.zeros((1, 12)), np.cumsum(c, axis=0)])
        idx = np.arange(len(c))
        before = cs[idx] - cs[np.maximum(idx - w, 0)]
        after = cs[np.minimum(idx + w, len(c))] - cs[idx]
        nb = np.linalg.norm(before, axis=1) * np.linalg.norm(after, axis=1)
        novelty = np.where(nb > 0, 1.0 - np.sum(before * after, axis=1) / np.maximum(nb, 1e-12), 0.0)
    if near_tempo:
        # Generated audio should be near the session's tempo: search 0.8-1.25x of it (a 2/3 or
        # 3/2 reading of a syncopated part is outside), favouring the session's own.
        near = np.geomspace(0.8, 1.25, 100) * near_tempo
        scores = np.array([_salience(wide, b)[0] for b in near])
        # MusicGen was asked for this tempo: readings within a few % of it are favoured.
        scores = scores * (1.0 + 0.3 * np.exp(-0.5 * (np.log(near / near_tempo) / 0.04) ** 2))
        bpm, reason = _refine(wide, float(near[int(np.argmax(scores))]), 0.01)[0], "session"
    else:
        bpm, reason = _choose_level(wide, base, drums, novelty, chroma_rate, beats_per_bar, c, other_peaks)
    score, phase = _salience(wide, bpm)
    if reason == "harmony":
        # The level came from the chord changes: so does the phase (a syncopated bass line puts
        # more onsets on the offbeats than on the beats, but its root changes on the bar line).
        phase = _comb(novelty, beats_per_bar * 60.0 / bpm * chroma_rate)[1] / chroma_rate * FPS
    frames = pick_onsets(env, threshold=0.1)
    times = frames / FPS
    # Relative to a loud onset, not the loudest: the very first frame can tower over the rest.
    ref = float(np.percentile(env[frames], 90)) if frames.size else 1.0
    weights = np.clip(env[frames] / max(1e-12, ref), 0.0, 1.0)
    if onset_times is not None and len(onset_times) >= 8:
        # Exact attack times, each weighted by the envelope at its frame.
        times = np.asarray(onset_times, dtype=np.float64)
        # A frame hears an attack up to half a window (~23 ms) before it starts.
        f = np.round(times * FPS).astype(int)
        near = np.array([env[max(0, i - 5): min(env.size, i + 3)].max(initial=0.0) for i in f])
        weights = np.clip(near / max(1e-12, ref), 0.0, 1.0)
    if reason == "harmony":
        lows = flux(spec, 20.0, 200.0)
        f = np.clip(np.round(times * FPS).astype(int), 0, lows.size - 1)
        low = np.array([lows[max(0, i - 2): i + 3].max() for i in f])
        bpm, phase_s = _fit_sixteenths(times, weights, low, bpm, phase / FPS, beats_per_bar)
        bpm, phase_s = _fit_grid(times, weights, bpm, phase_s)  # the notes on the beats refine it
    else:
        bpm, phase_s = _fit_grid(times, weights, bpm, phase / FPS)
    strength = _clarity(times[weights >= 0.2], bpm, phase_s)
    period = 60.0 / bpm
    if reason != "harmony":  # there the bar lines placed the beat
        phase_s = _on_the_beat(spec, phase_s, period, drums, novelty, chroma_rate)
    phase_s = phase_s % period
    if phase_s > period - 0.02:  # a first beat a hair before 0 counts as at 0
        phase_s -= period
    beats = phase_s + np.arange(max(1, int((duration - phase_s) / period) + 1)) * period
    beats = beats[beats >= -0.02]
    chroma_per_beat = None
    if chroma is not None and chroma_rate > 0 and len(chroma):
        edges = np.clip(np.round(np.append(beats, beats[-1] + period) * chroma_rate).astype(int), 0, len(chroma))
        chroma_per_beat = np.array([chroma[a:b].mean(axis=0) if b > a else np.zeros(12)
                                    for a, b in zip(edges[:-1], edges[1:])])
    d, confidence = _downbeat(beats, beats_per_bar, drums, spec, chroma_per_beat, period)
    first = float(max(beats[0], 0.0))
    return BeatGrid(float(bpm), first, float(max(beats[min(d, beats.size - 1)], 0.0)), beats_per_bar,
                    float(strength), confidence, reason)
