"""Readers for single aspects of a prompt: tempo, key and mode, meter, length, genre, mood.

Each reader takes the cleaned prompt (lower case where it says ``low``), returns what it found
or None, and raises ``PromptError`` for what cannot be made ("999 bpm", "H minor").
``engine.prompt.analyze_prompt`` combines them with the genre defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.context import MAX_BARS, MAX_TEMPO, MIN_TEMPO
from engine.errors import PromptError
from engine.genres import FEEL_TAGS, GENRES, MOODS, GenreProfile, MoodProfile
from engine.theory import pitch_class

NOTE_NAMES = ("C", "C#", "Db", "D", "D#", "Eb", "E", "F", "F#", "Gb", "G", "G#", "Ab", "A", "A#",
              "Bb", "B")
MINOR_LIKE = ("minor", "dorian", "phrygian")

# --- tempo --------------------------------------------------------------------------------
_NUMBER = r"(\d+(?:\.\d+)?)"
_TEMPO_PATTERNS = (
    re.compile(rf"{_NUMBER}\s*(?:bpm|beats per minute)\b"),
    re.compile(rf"(?<![\w-])(?:bpm|tempo)\s*(?:of|at|=|:|is)?\s*{_NUMBER}\b"
               r"(?!\s*(?:bars?|measures?|seconds?|secs?|s\b|minutes?|mins?))"),
    re.compile(rf"@\s*{_NUMBER}\b"),
)
# Relative tempo words, most specific first: (pattern, factor, energy change).
_TEMPO_WORDS = (
    (r"very fast|super fast|really fast|blazing", 1.25, 0.2),
    (r"very slow|super slow|really slow|glacial", 0.7, -0.2),
    (r"double[- ]?time", 2.0, 0.2),
    (r"half[- ]?time", 0.5, -0.1),
    (r"up[- ]?tempo", 1.1, 0.1),
    (r"fast|quick|rapid|speedy", 1.15, 0.15),
    (r"slow|slowed", 0.85, -0.15),
)

# --- key ----------------------------------------------------------------------------------
_ACCIDENTAL = r"(?:#|♯|b|♭|-sharp|-flat| sharp| flat)"
_MODE_WORDS = {
    "minor": "minor", "min": "minor", "aeolian": "minor", "major": "major", "maj": "major",
    "ionian": "major", "dorian": "dorian", "phrygian": "phrygian", "lydian": "lydian",
    "mixolydian": "mixolydian",
}
_MODE_ALT = "|".join(sorted(_MODE_WORDS, key=len, reverse=True))
_LETTER_MODE = re.compile(rf"\b([A-Za-z]{_ACCIDENTAL}?)[\s-]*({_MODE_ALT})(?:7|9|11|13)?\b",
                          re.IGNORECASE)
_LETTER_M = re.compile(r"\b([A-G](?:#|♯|b|♭)?|[a-g](?:#|♯))m(?:7|9|in7)?(?![\w#])")
_KEY_OF = re.compile(rf"\bkey(?:\s+of|\s*[:=])?\s+([A-Za-z]{_ACCIDENTAL}?)(?![\w#♯♭])"
                     rf"(?:[\s-]*({_MODE_ALT})\b)?", re.IGNORECASE)
_IN_NOTE = re.compile(
    rf"\b[Ii]n\s+([A-G]{_ACCIDENTAL}?|[a-g](?:#|♯|b|♭)|[b-g])(?![\w#♯♭'-])")  # not "in a"
_BARE_MODE = re.compile(r"\b(minor|major|aeolian|ionian|dorian|phrygian|lydian|mixolydian)\b",
                        re.IGNORECASE)

# --- meter and length ---------------------------------------------------------------------
_METER = re.compile(r"(?<![\d/])(\d{1,2})\s*/\s*(2|4|8|16)(?![\d/])")
_WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "sixteen": 16, "twenty": 20,
    "twenty-four": 24, "thirty": 30, "thirty-two": 32, "forty": 40, "forty-five": 45,
    "forty-eight": 48, "sixty": 60, "sixty-four": 64, "ninety": 90,
}
_WORDS = sorted((w for w in _WORD_NUMBERS if w not in ("a", "an")), key=len, reverse=True)
_COUNT = rf"(\d+(?:\.\d+)?|{'|'.join(_WORDS)})"  # no articles: "a second melody" is no length
_BARS = re.compile(rf"\b{_COUNT}[\s-]*(?:bars?|measures?)\b")
_SECONDS_LONG = re.compile(rf"\b{_COUNT}[\s-]*(?:seconds?|secs?)\b")
_SECONDS_SHORT = re.compile(r"(?<![\w'.])(\d+(?:\.\d+)?)s\b")
_MINUTES = re.compile(rf"\b(an?|{_COUNT[1:-1]})[\s-]*(?:minutes?|mins?)\b")
_HALF_MINUTE = re.compile(r"\bhalf a minute\b")
_DRUM_MACHINES = {"303", "606", "707", "808", "909"}  # "808s" are drums or bass, not seconds
_DECADE = re.compile(r"(?<![\w'])('?)((?:19)?)([5-9]0)('?)s\b")
_DECADE_WORDS = {"fifties": "50s", "sixties": "60s", "seventies": "70s", "eighties": "80s",
                 "nineties": "90s"}
# Words after "60s" that make it a length ("a 60s loop") rather than a decade ("60s soul").
_LENGTH_NOUNS = ("long", "loop", "of", "clip", "intro", "outro", "piece", "track", "sketch",
                 "sample", "preview", "version", "snippet", "jingle", "idea")


@dataclass(frozen=True)
class KeyReading:
    """What the text says about the key; None where it says nothing."""

    tonic: int | None
    mode: str | None


def _number(token: str) -> float:
    return float(_WORD_NUMBERS[token]) if token in _WORD_NUMBERS else float(token)


def clean_text(text: str) -> str:
    """The prompt with control characters removed and runs of white space collapsed."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


# --- readers ------------------------------------------------------------------------------
def read_tempo(low: str) -> float | None:
    """An explicit tempo in bpm, or None. Out-of-range values raise ``PromptError``."""
    for pattern in _TEMPO_PATTERNS:
        m = pattern.search(low)
        if m:
            tempo = float(m.group(1))
            if not MIN_TEMPO <= tempo <= MAX_TEMPO:
                raise PromptError(f"tempo {tempo:g} bpm is out of range: use a tempo between "
                                  f"{MIN_TEMPO:g} and {MAX_TEMPO:g} bpm")
            return tempo
    return None


def tempo_word(low: str) -> tuple[float, float, str | None]:
    """(factor, energy change, word) for the first tempo word found, else (1, 0, None)."""
    for pattern, factor, energy in _TEMPO_WORDS:
        m = re.search(rf"\b(?:{pattern})\b", low)
        if m:
            return factor, energy, m.group(0)
    return 1.0, 0.0, None


def _note(token: str) -> int:
    """Pitch class of a note token such as 'F#', 'bb', 'E flat'; ValueError if not a note."""
    t = token.strip().replace("-", " ")
    t = re.sub(r"\s*sharp$", "#", t, flags=re.IGNORECASE)
    t = re.sub(r"\s*flat$", "b", t, flags=re.IGNORECASE)
    return pitch_class(t)


def _unknown_note(token: str) -> PromptError:
    return PromptError(f"{token!r} is not a note name: write the key with one of "
                       f"{', '.join(NOTE_NAMES)} (German H is B)")


def read_key(text: str) -> KeyReading:
    """Tonic and mode from key phrases; ordinary words ("a rolling bassline") are left alone."""
    m = _KEY_OF.search(text)
    if m:
        try:
            tonic = _note(m.group(1))
        except ValueError:
            raise _unknown_note(m.group(1)) from None
        mode = _MODE_WORDS[m.group(2).lower()] if m.group(2) else None
        return KeyReading(tonic, mode)
    for m in _LETTER_MODE.finditer(text):
        token, word = m.group(1), m.group(2).lower()
        mode = _MODE_WORDS[word]
        if token.lower() == "a" and text[m.end():m.end() + 4].lower() == " key":
            return KeyReading(None, mode)  # "a minor key": some minor key, not A minor
        if token.lower() == "i" or (token == "a" and word in ("min", "maj")):
            continue  # "I major in ...", "a min" are English, not keys
        try:
            return KeyReading(_note(token), mode)
        except ValueError:
            raise _unknown_note(token) from None
    m = _LETTER_M.search(text)
    if m:
        return KeyReading(_note(m.group(1)), "minor")
    m = _IN_NOTE.search(text)
    if m:
        return KeyReading(_note(m.group(1)), None)
    return KeyReading(None, None)


def read_bare_mode(text: str) -> str | None:
    m = _BARE_MODE.search(text)
    return _MODE_WORDS[m.group(1).lower()] if m else None


def read_meter(low: str) -> tuple[int, int] | None:
    for m in _METER.finditer(low):
        num, den = int(m.group(1)), int(m.group(2))
        if 2 <= num <= 16:
            return num, den
    return None


def read_bars(low: str) -> int | None:
    m = _BARS.search(low)
    if not m:
        return None
    value = _number(m.group(1))
    if value != int(value) or not 1 <= value <= MAX_BARS:
        raise PromptError(f"{m.group(0)!r} is not a length we can make: use a whole number of "
                          f"bars between 1 and {MAX_BARS}")
    return int(value)


def _decades(low: str) -> list[tuple[int, int, str]]:
    """(start, end, tag) for decade mentions: "80s synthwave", "'90s", "1970s", "eighties"."""
    found = []
    for m in _DECADE.finditer(low):
        quoted, century, tens, apostrophe = m.group(1), m.group(2), m.group(3), m.group(4)
        follower = re.match(r"\s+([a-z][\w-]*)", low[m.end():])
        if quoted or century or apostrophe or (follower and follower.group(1) not in _LENGTH_NOUNS):
            found.append((m.start(), m.end(), f"{tens}s"))
    for word, tag in _DECADE_WORDS.items():
        for m in re.finditer(rf"\b{word}\b", low):
            found.append((m.start(), m.end(), tag))
    return sorted(found)


def read_decades(low: str) -> list[str]:
    tags: list[str] = []
    for _, _, tag in _decades(low):
        if tag not in tags:
            tags.append(tag)
    return tags


def read_seconds(low: str) -> float | None:
    """A length in seconds ("30 seconds", "30s", "1 minute", "half a minute"), or None."""
    if _HALF_MINUTE.search(low):
        return 30.0
    for pattern in (_MINUTES, _SECONDS_LONG):
        m = pattern.search(low)
        if m:
            value = _number(m.group(1)) * (60.0 if pattern is _MINUTES else 1.0)
            if value <= 0:
                raise PromptError(f"{m.group(0)!r} is not a length we can make: ask for at least "
                                  "one second")
            return value
    decade_starts = {start for start, _, _ in _decades(low)}
    for m in _SECONDS_SHORT.finditer(low):
        if m.group(1) in _DRUM_MACHINES or m.start() in decade_starts or float(m.group(1)) <= 0:
            continue
        return float(m.group(1))
    return None


def read_genres(low: str) -> list[tuple[GenreProfile, str]]:
    """(genre, words that named it) in order of mention; an alias inside a longer one
    ("hip hop" in "lofi hip hop") does not count, and each genre is listed once."""
    spans = []
    for genre in GENRES:
        for alias in genre.aliases:
            for m in re.finditer(rf"(?<![\w-])(?:{alias})(?![\w-])", low):
                spans.append((m.start(), m.end(), genre))
    spans.sort(key=lambda s: (s[0], s[0] - s[1]))
    kept: list[tuple[int, int, GenreProfile]] = []
    for start, end, genre in spans:
        if not any(start < e and s < end for s, e, _ in kept):
            kept.append((start, end, genre))
    ordered: list[tuple[GenreProfile, str]] = []
    for start, end, genre in kept:
        if all(genre is not g for g, _ in ordered):
            ordered.append((genre, low[start:end]))
    return ordered


def read_moods(low: str) -> list[MoodProfile]:
    """Mood profiles in order of mention, skipping negated ones ("not too dark")."""
    found: list[tuple[int, MoodProfile]] = []
    for mood in MOODS:
        for alias in mood.aliases:
            for m in re.finditer(rf"(?<![\w-])(?:{alias})(?![\w-])", low):
                if re.search(r"\b(?:not|no|non|never|less)(?:\s+(?:too|very|so))?[\s-]+$",
                             low[:m.start()]):
                    continue
                found.append((m.start(), mood))
    ordered: list[MoodProfile] = []
    for _, mood in sorted(found, key=lambda f: f[0]):
        if mood not in ordered:
            ordered.append(mood)
    return ordered


def read_feel_tags(low: str) -> list[str]:
    return [tag for pattern, tag in FEEL_TAGS.items() if re.search(rf"\b(?:{pattern})\b", low)]
