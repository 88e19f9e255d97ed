"""Which parts a prompt asks for, and what each part should sound like.

``instrument_hints`` reads phrases such as "acid bass", "warm pads" or "piano melody" into
``{role: hint}``; ``roles_left`` reads negations ("no drums", "without bass", "drumless") and
restrictions ("drums and bass only"). Both work on lower-case prompt text.
"""

from __future__ import annotations

import re

from engine.context import ROLES

_NEGATION_BEFORE = re.compile(
    r"\b(?:no|without|minus|sans|w/o|zero|not?\s+any)\s+(?:any\s+|the\s+|a\s+)?(?:[\w-]+\s+)?$")

# Phrases whose role is fixed by the phrase itself: (pattern, role, hint).
_FIXED: tuple[tuple[str, str, str], ...] = (
    (r"808 ?s|808 (?:bass|sub)(?:es|s)?(?:lines?)?", "bass", "808"),
    (r"(?:tr-?)?808(?: drums?| kit| beats?| drum machine| percussion)?", "drums", "808"),
    (r"(?:tr-?)?909(?: drums?| kit| beats?| drum machine)?", "drums", "909"),
    (r"(?:tr-?)?707(?: drums?| kit)?", "drums", "707"),
    (r"(?:tb-?)?303(?: bass(?:line)?| line)?|acid(?: bass(?:lines?)?| lines?)?", "bass", "acid"),
    (r"sub[- ]?bass(?:es)?|subs", "bass", "sub"),
    (r"reese(?: bass(?:es)?)?", "bass", "reese"),
    (r"wobbl(?:e|es|y)(?: bass(?:es)?)?", "bass", "wobble"),
    (r"slap(?:ped)?(?: bass)?", "bass", "slap"),
    (r"(?:upright|double|acoustic|walking|jazz) bass(?:lines?| lines?)?", "bass", "upright"),
    (r"fretless(?: bass)?", "bass", "fretless"),
    (r"bass guitar|electric bass", "bass", "electric"),
    (r"fm bass(?:es)?", "bass", "fm"),
    (r"moog(?: bass)?", "bass", "moog"),
    (r"synth[- ]?bass(?:es|lines?)?", "bass", "synth"),
    (r"rolling bass(?:lines?| lines?)?", "bass", "rolling"),
    (r"breakbeats?|break ?beats?|amen(?: breaks?)?|broken beats?|drum breaks|chopped breaks",
     "drums", "breakbeat"),
    (r"boom[- ]?bap(?: drums| beats?)?", "drums", "boom bap"),
    (r"(?:live|acoustic|real|rock) drums?(?: kit)?|drum ?kit", "drums", "acoustic"),
    (r"brush(?:es|ed drums)", "drums", "brushes"),
    (r"trap (?:hats|hi-?hats|drums)|hi-?hat rolls|hat rolls", "drums", "trap"),
    (r"(?:latin |hand |afro )?percussion|congas?|bongos?|shakers?|tambourines?", "drums",
     "percussion"),
    (r"dembow", "drums", "dembow"),
    (r"2[- ]?step (?:drums|beats?|groove)", "drums", "2-step"),
    (r"vocal chops?|chopped vocals", "melody", "vocal chop"),
    (r"music box", "melody", "music box"),
)

# Instrument nouns: (pattern, hint, default role). A role word after the noun moves it.
_NOUNS: tuple[tuple[str, str, str], ...] = (
    (r"pads?", "pad", "harmony"),
    (r"rhodes|electric pianos?|e-?pianos?|wurlitzer|wurli", "rhodes", "harmony"),
    (r"pianos?|keys", "piano", "harmony"),
    (r"strings?|string section|string ensemble|orchestra", "strings", "harmony"),
    (r"organs?|hammond(?: organ)?", "organ", "harmony"),
    (r"guitars?", "guitar", "harmony"),
    (r"(?:chord )?stabs?", "stab", "harmony"),
    (r"choirs?", "choir", "harmony"),
    (r"brass|horns?|horn section", "brass", "harmony"),
    (r"supersaws?", "supersaw", "harmony"),
    (r"synths?|synthesi[sz]ers?", "synth", "harmony"),
    (r"harps?", "harp", "harmony"),
    (r"cellos?", "cello", "harmony"),
    (r"plucks?|plucked synths?", "pluck", "melody"),
    (r"arps?|arpeggios?|arpeggiated(?: synths?)?|arpeggiator", "arp", "melody"),
    (r"flutes?", "flute", "melody"),
    (r"sax(?:ophones?)?", "sax", "melody"),
    (r"trumpets?", "trumpet", "melody"),
    (r"violins?|fiddles?", "violin", "melody"),
    (r"bells?", "bell", "melody"),
    (r"marimbas?|kalimbas?|xylophones?|glockenspiels?|vibraphones?", "mallet", "melody"),
    (r"whistles?", "whistle", "melody"),
    (r"saw(?:tooth)?", "saw", "melody"),
    (r"bass(?:lines?| lines?)?", "", "bass"),
    (r"drums", "", "drums"),
)

# Role words that may follow a noun: (pattern, role, suffix added to the hint).
_ROLE_WORDS: tuple[tuple[str, str, str], ...] = (
    (r"leads?|melod(?:y|ies)|lines?|riffs?|solos?|hooks?|toplines?|motifs?|themes?", "melody", ""),
    (r"pads?", "harmony", " pad"),
    (r"stabs?", "harmony", " stab"),
    (r"chords?|comping|progressions?|harmon(?:y|ies)|accompaniment", "harmony", ""),
)

ADJECTIVES = (
    "warm", "lush", "dark", "airy", "bright", "soft", "detuned", "analog", "analogue", "glassy",
    "distorted", "dusty", "vintage", "jazzy", "mellow", "deep", "huge", "gritty", "acoustic",
    "electric", "heavy", "muted", "filtered", "plucky", "ethereal", "shimmering", "evolving",
    "atmospheric", "grand", "felt", "clean", "crunchy", "fat", "wide", "big", "sparkling",
    "nylon", "steel", "funky", "cinematic", "sustained", "staccato", "pizzicato", "legato",
    "reversed", "granular", "wavetable", "retro", "punchy", "tight", "crisp", "pulsing",
    "driving", "bouncy", "dreamy", "lo-fi", "lofi", "tribal", "minimal", "organic", "hard",
    "dirty", "smooth", "fuzzy", "overdriven", "chiptune", "8-bit", "orchestral",
)
_ADJ = "|".join(re.escape(a) for a in sorted(ADJECTIVES, key=len, reverse=True))
_ADJ_PREFIX = rf"(?P<adj>(?:(?:{_ADJ})[\s,]+){{0,2}})"


def _is_negated(text: str, start: int) -> bool:
    return _NEGATION_BEFORE.search(text[:start]) is not None


def _candidates(text: str) -> list[tuple[int, int, str, str]]:
    """Every (start, end, role, hint) an instrument phrase in ``text`` suggests."""
    found: list[tuple[int, int, str, str]] = []
    for pattern, role, hint in _FIXED:
        for m in re.finditer(rf"\b(?:{pattern})\b", text):
            found.append((m.start(), m.end(), role, hint))
    role_words = "|".join(f"(?P<r{i}>{p})" for i, (p, _, _) in enumerate(_ROLE_WORDS))
    for pattern, hint, default_role in _NOUNS:
        # Bass and drum nouns keep their role; only their adjectives make a hint ("deep bass").
        movable = default_role not in ("bass", "drums")
        tail = rf"(?:\s+(?:{role_words})\b)?" if movable else ""
        for m in re.finditer(rf"\b{_ADJ_PREFIX}(?:{pattern})\b{tail}", text):
            role, suffix = default_role, ""
            for i, (_, word_role, word_suffix) in enumerate(_ROLE_WORDS):
                if movable and m.group(f"r{i}"):
                    role, suffix = word_role, word_suffix
            adjectives = [a.replace("analogue", "analog")
                          for a in re.split(r"[\s,]+", m.group("adj")) if a]
            words = adjectives + ([hint + suffix] if hint else [])
            if words:
                found.append((m.start(), m.end(), role, " ".join(words)))
    return found


def instrument_hints(text: str) -> dict[str, str]:
    """``{role: hint}`` from ``text`` (lower case); the first phrase for a role wins.

    Overlapping phrases keep the longest ("acid bass" over "bass"); negated phrases
    ("no piano", "without 808s") give no hint.
    """
    accepted: list[tuple[int, int, str, str]] = []
    for start, end, role, hint in sorted(_candidates(text), key=lambda c: (c[0], c[0] - c[1])):
        if any(start < e and s < end for s, e, _, _ in accepted):
            continue
        if not _is_negated(text, start):
            accepted.append((start, end, role, hint))
    hints: dict[str, str] = {}
    for _, _, role, hint in accepted:
        hints.setdefault(role, hint)
    return hints


ROLE_NOUNS: dict[str, str] = {
    "drums": r"drums?|beats?|percussion|drum ?kits?|rhythm section",
    "bass": r"bass(?:lines?| lines?)?|low[- ]end",
    "harmony": r"chords?|harmon(?:y|ies)|pads?|keys|comping",
    "melody": r"melod(?:y|ies)|leads?|toplines?|hooks?",
}
_ROLE_ALT = "|".join(f"(?:{p})" for p in ROLE_NOUNS.values())
_ROLE_LIST = rf"(?:{_ROLE_ALT})(?:\s*(?:,|and|or|nor|&|/)\s*(?:no\s+)?(?:the\s+)?(?:{_ROLE_ALT}))*"
_NEGATED_ROLES = re.compile(
    rf"\b(?:no|without|minus|sans|w/o|zero|leave out)\s+(?:any\s+|the\s+)?({_ROLE_LIST})\b")
_LESS_SUFFIX = re.compile(r"\b(drum|beat|bass|chord|melody|percussion)-?less\b")
_ONLY_NOUNS = r"drums|bass|bassline|chords|harmony|melody|pads|percussion"
_ONLY_LIST = rf"(?:{_ONLY_NOUNS})(?:\s*(?:,|and|&|\+)\s*(?:the\s+)?(?:{_ONLY_NOUNS}))*"
_ONLY = re.compile(rf"\b(?:only|just)\s+(?:the\s+)?({_ONLY_LIST})\b|\b({_ONLY_LIST})\s+only\b")


def _roles_named(phrase: str) -> set[str]:
    named = set()
    for role, pattern in ROLE_NOUNS.items():
        if re.search(rf"\b(?:{pattern})\b", phrase):
            named.add(role)
    return named


def removed_roles(text: str) -> set[str]:
    """Roles the prompt excludes: "no drums", "without bass or chords", "drumless"."""
    removed: set[str] = set()
    for m in _NEGATED_ROLES.finditer(text):
        removed |= _roles_named(m.group(1))
    for m in _LESS_SUFFIX.finditer(text):
        word = m.group(1)
        removed.add({"drum": "drums", "beat": "drums", "percussion": "drums", "bass": "bass",
                     "chord": "harmony", "melody": "melody"}[word])
    return removed


def roles_left(text: str, default: tuple[str, ...] = ROLES) -> tuple[str, ...]:
    """The roles the piece keeps, in ``default`` order (may be empty; the caller decides)."""
    only: set[str] = set()
    for m in _ONLY.finditer(text):
        only |= _roles_named(m.group(1) or m.group(2))
    kept = [r for r in default if (not only or r in only)]
    removed = removed_roles(text)
    return tuple(r for r in kept if r not in removed)
