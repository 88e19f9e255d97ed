"""Prompt analysis: free text in, a ``MusicalContext`` out.

``analyze_prompt("dark techno 128 bpm in A minor, no melody")`` reads tempo, key and mode,
meter, length, genre, moods, instrument hints and removed parts, fills what the text leaves
open with the genre's defaults (never at random), and picks a tonic-centred chord
progression, one chord per bar. Anything impossible ("999 bpm", "H minor", an empty prompt)
raises ``PromptError`` with one sentence saying what to write instead.
"""

from __future__ import annotations

import math
import numbers

from engine.context import MAX_BARS, ROLES, MusicalContext
from engine.errors import PromptError
from engine.genres import DEFAULT_ENERGY, DEFAULT_TEMPO, GenreProfile, MoodProfile
from engine.part_hints import instrument_hints, roles_left
from engine.progressions import DEFAULT_FAMILY, progression
from engine.prompt_readers import (MINOR_LIKE, clean_text, read_bare_mode, read_bars,
                                   read_decades, read_feel_tags, read_genres, read_key,
                                   read_meter, read_moods, read_seconds, read_tempo, tempo_word)

__all__ = [
    "DEFAULT_BARS", "EMPTY_PROMPT", "analyze_prompt", "describe", "key_label",
    # the single-aspect readers, for callers that want only what the text states outright
    "read_bars", "read_key", "read_seconds", "read_tempo",
]

DEFAULT_BARS = 8
EMPTY_PROMPT = 'the prompt is empty: describe the music, e.g. "dark techno 128 bpm in A minor"'

# Tempo words ("fast", "half-time") scale the genre's tempo; keep the result playable.
_WORD_TEMPO_LIMITS = (40.0, 240.0)

# Accidental spelling by key: flats where the key signature has flats.
_SPELLING_MAJOR = {1: "Db", 3: "Eb", 6: "F#", 8: "Ab", 10: "Bb"}
_SPELLING_MINOR = {1: "C#", 3: "Eb", 6: "F#", 8: "G#", 10: "Bb"}
_NATURALS = {0: "C", 2: "D", 4: "E", 5: "F", 7: "G", 9: "A", 11: "B"}

# Other spellings of a genre's own name: not worth a tag ("deep house" and "jungle" are).
_GENRE_SPELLINGS = {"dnb", "d&b", "d'n'b", "drum'n'bass", "drumnbass", "drum n bass", "drum & bass",
                    "drum 'n' bass", "rnb", "r'n'b", "ukg", "rap"}


def analyze_prompt(text: str, *, bars: int | None = None,
                   seconds: float | None = None) -> MusicalContext:
    """Turn a description such as "lofi hip hop, rhodes, 16 bars" into a ``MusicalContext``.

    ``bars`` or ``seconds`` (not both) override any length in the text; seconds become a
    whole number of bars at the tempo (at least one). Without a length the piece has
    ``DEFAULT_BARS`` bars. The same text always gives the same context.
    """
    if not isinstance(text, str) or not text.strip():
        raise PromptError(EMPTY_PROMPT)
    _check_length_arguments(bars, seconds)
    description = clean_text(text)
    low = description.lower()

    named_genres = read_genres(low)
    genre = named_genres[0][0] if named_genres else None
    moods = read_moods(low)

    tempo, tempo_energy = _tempo(low, genre)
    meter = read_meter(low) or next((g.meter for g, _ in named_genres if g.meter != (4, 4)),
                                    (4, 4))
    tonic, mode = _key(description, genre, moods)

    beats_per_bar = meter[0] * 4.0 / meter[1]
    if bars is not None:
        length = int(bars)
    elif seconds is not None:
        length = _bars_for_seconds(float(seconds), tempo, beats_per_bar)
    else:
        text_bars = read_bars(low)
        text_seconds = read_seconds(low) if text_bars is None else None
        length = (text_bars if text_bars is not None
                  else _bars_for_seconds(text_seconds, tempo, beats_per_bar)
                  if text_seconds is not None else DEFAULT_BARS)

    roles = roles_left(low, ROLES)
    if not roles:
        raise PromptError("the prompt removes every part (drums, bass, harmony, melody): "
                          "keep at least one")
    hints = dict(genre.instruments) if genre else {}
    hints.update(instrument_hints(low))
    instruments = tuple(sorted((role, hint) for role, hint in hints.items() if role in roles))

    energy = (genre.energy if genre else DEFAULT_ENERGY) + sum(m.energy for m in moods)
    energy = round(min(1.0, max(0.05, energy + tempo_energy)), 2)

    sevenths = (genre.sevenths if genre else False) or any(
        word in low for word in ("jazzy", "7th", "seventh"))
    chords = progression(genre.progression if genre else DEFAULT_FAMILY, tonic, mode, length,
                         sevenths=sevenths)

    return MusicalContext(
        tempo=tempo, meter=meter, tonic=tonic, mode=mode, bars=length, chords=chords,
        genre=genre.name if genre else None, moods=tuple(m.name for m in moods), energy=energy,
        instruments=instruments, roles=roles, tags=_tags(low, named_genres),
        description=description,
    )


def describe(context: MusicalContext) -> str:
    """One line such as "128 bpm, 4/4, A minor, 8 bars, techno; dark"."""
    num, den = context.meter
    parts = [f"{context.tempo:g} bpm", f"{num}/{den}", key_label(context.tonic, context.mode),
             f"{context.bars} bar{'s' if context.bars != 1 else ''}"]
    if context.genre:
        parts.append(context.genre)
    line = ", ".join(parts)
    if context.moods:
        line += "; " + ", ".join(context.moods)
    missing = [r for r in ROLES if r not in context.roles]
    if missing:
        line += "; no " + ", ".join(missing)
    return line


def key_label(tonic: int, mode: str) -> str:
    """'A minor', 'Bb major', 'F# dorian': spelled with flats where the key has flats."""
    pc = tonic % 12
    if pc in _NATURALS:
        name = _NATURALS[pc]
    else:
        name = (_SPELLING_MINOR if mode in MINOR_LIKE else _SPELLING_MAJOR)[pc]
    return f"{name} {mode}"


# --- helpers --------------------------------------------------------------------------------
def _check_length_arguments(bars: int | None, seconds: float | None) -> None:
    if bars is not None and seconds is not None:
        raise PromptError("give the length as bars or as seconds, not both")
    if bars is not None and (isinstance(bars, bool) or not isinstance(bars, numbers.Integral)
                             or not 1 <= bars <= MAX_BARS):
        raise PromptError(f"bars must be a whole number between 1 and {MAX_BARS}, not {bars!r}")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, numbers.Real)
                                or not math.isfinite(seconds) or seconds <= 0):
        raise PromptError(f"seconds must be a positive number, not {seconds!r}")


def _tempo(low: str, genre: GenreProfile | None) -> tuple[float, float]:
    """(tempo, energy change): an explicit bpm wins, else the genre's tempo times tempo words."""
    base = genre.tempo if genre else DEFAULT_TEMPO
    explicit = read_tempo(low)
    factor, word_energy, _ = tempo_word(low)
    if explicit is not None:
        return explicit, (explicit - base) / 200.0
    lo, hi = _WORD_TEMPO_LIMITS
    return float(round(min(hi, max(lo, base * factor)))), word_energy


def _key(text: str, genre: GenreProfile | None, moods: list[MoodProfile]) -> tuple[int, str]:
    """Tonic and mode: the text's key, else its mode word, else the moods' lean, else the genre."""
    key = read_key(text)
    mode = key.mode or read_bare_mode(text)
    if mode is None:
        genre_mode = genre.mode if genre else "minor"
        lean = sum(m.lean for m in moods)
        if lean < 0 and genre_mode not in MINOR_LIKE:
            mode = "minor"
        elif lean > 0 and genre_mode in MINOR_LIKE:
            mode = "major"
        else:
            mode = genre_mode
    if key.tonic is not None:
        return key.tonic, mode
    if genre:
        return genre.tonic, mode
    return (9 if mode in MINOR_LIKE else 0), mode


def _bars_for_seconds(seconds: float, tempo: float, beats_per_bar: float) -> int:
    bars = max(1, math.floor(seconds * tempo / 60.0 / beats_per_bar + 0.5))  # half rounds up
    if bars > MAX_BARS:
        raise PromptError(f"{seconds:g} seconds at {tempo:g} bpm is more than {MAX_BARS} bars: "
                          "ask for a shorter piece")
    return bars


def _tags(low: str, named_genres: list[tuple[GenreProfile, str]]) -> tuple[str, ...]:
    """Sub-genres as written ("deep house"), further genres, decades and feel words."""
    tags: list[str] = []
    for i, (genre, words) in enumerate(named_genres):
        if _plain(words) != _plain(genre.name) and words not in _GENRE_SPELLINGS:
            tags.append(words)
        if i > 0:
            tags.append(genre.name)
    tags += read_decades(low) + read_feel_tags(low)
    return tuple(dict.fromkeys(tags))


def _plain(words: str) -> str:
    return "".join(ch for ch in words if ch.isalnum())
