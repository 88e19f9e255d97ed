"""Genre families and instrument voices: how a context's words pick patterns and sounds.

A genre string ("deep house", "lo-fi hip hop") maps to one family whose patterns the part
writers know. An instrument hint ("808", "rhodes", "acid") maps to a synth voice; without a
hint each family has a default voice per role.
"""

from __future__ import annotations

from engine.errors import BackendError

FAMILIES = ("techno", "house", "hiphop", "lofi", "trap", "dnb", "rock", "ambient", "pop")

# Checked in order: the first family with a matching keyword wins ("lofi hip hop" -> lofi).
_FAMILY_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("lofi", ("lofi", "lo-fi", "lo fi", "chillhop")),
    ("trap", ("trap", "drill", "phonk", "dubstep", "riddim")),
    ("dnb", ("dnb", "drum and bass", "drum & bass", "drum n bass", "jungle", "breakbeat", "liquid")),
    ("techno", ("techno", "minimal", "industrial", "acid", "hard")),
    ("house", ("house", "disco", "edm", "dance", "trance", "garage", "electro", "club")),
    ("hiphop", ("hip hop", "hip-hop", "hiphop", "rap", "boom bap", "boom-bap", "r&b", "rnb")),
    ("rock", ("rock", "punk", "metal", "indie", "grunge", "funk", "blues", "country")),
    ("ambient", ("ambient", "drone", "cinematic", "classical", "orchestral", "soundtrack", "new age")),
    ("pop", ("pop", "synthwave", "soul", "jazz", "folk")),
)


def family_of(genre: str | None) -> str:
    """The pattern family for a genre string; "pop" when nothing matches."""
    text = (genre or "").lower()
    for family, keywords in _FAMILY_KEYWORDS:
        if any(k in text for k in keywords):
            return family
    return "pop"


VOICES: dict[str, tuple[str, ...]] = {
    "drums": ("kit", "808_kit"),
    "bass": ("saw_bass", "square_bass", "acid_bass", "808", "sub_bass", "pluck_bass"),
    "harmony": ("pad", "strings", "keys", "piano", "organ", "pluck"),
    "melody": ("triangle_lead", "square_lead", "saw_lead", "bell", "piano", "pluck", "keys"),
    "other": ("pluck", "bell", "triangle_lead", "pad"),
}

_HINT_KEYWORDS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "drums": (
        ("808_kit", ("808", "trap")),
        ("kit", ("kit", "drum", "acoustic", "909", "break", "boom bap", "2-step")),
    ),
    "bass": (
        ("808", ("808",)),
        ("acid_bass", ("acid", "303")),
        ("sub_bass", ("sub", "deep", "sine")),
        ("square_bass", ("square", "reese", "wobble", "pulse")),
        ("pluck_bass", ("upright", "electric", "finger", "guitar", "slap", "funk", "pluck")),
        ("saw_bass", ("saw", "synth", "moog", "analog")),
    ),
    "harmony": (
        ("strings", ("string", "violin", "cello", "orchestr", "choir")),
        ("keys", ("rhodes", "electric piano", "e-piano", "epiano", "wurli", "keys")),
        ("piano", ("piano", "grand")),
        ("organ", ("organ", "hammond")),
        ("pluck", ("pluck", "guitar", "harp", "stab")),
        ("pad", ("pad", "supersaw", "synth", "warm", "lush", "atmos")),
    ),
    "melody": (
        ("bell", ("bell", "glock", "celesta", "music box", "vibra", "marimba", "mallet")),
        ("piano", ("piano",)),
        ("keys", ("rhodes", "electric piano", "keys")),
        ("square_lead", ("square", "chip", "8-bit", "8bit", "clarinet")),
        ("triangle_lead", ("flute", "whistle", "triangle", "soft", "ocarina", "vocal", "voice")),
        ("pluck", ("pluck", "guitar", "harp", "kalimba")),
        ("saw_lead", ("lead", "saw", "synth", "brass", "trumpet", "sax")),
    ),
    "other": (
        ("bell", ("bell", "glock", "chime")),
        ("pad", ("pad", "texture", "drone", "atmos")),
        ("triangle_lead", ("flute", "soft")),
        ("pluck", ("arp", "pluck", "sequence", "synth")),
    ),
}

_DEFAULT_VOICE: dict[str, dict[str, str]] = {
    "drums": {"trap": "808_kit"},
    "bass": {"techno": "saw_bass", "house": "square_bass", "hiphop": "sub_bass", "lofi": "sub_bass",
             "trap": "808", "dnb": "square_bass", "rock": "pluck_bass", "ambient": "sub_bass",
             "pop": "pluck_bass"},
    "harmony": {"techno": "pad", "house": "organ", "hiphop": "piano", "lofi": "keys", "trap": "pad",
                "dnb": "pad", "rock": "piano", "ambient": "strings", "pop": "piano"},
    "melody": {"techno": "saw_lead", "house": "square_lead", "hiphop": "bell", "lofi": "keys",
               "trap": "bell", "dnb": "saw_lead", "rock": "saw_lead", "ambient": "bell",
               "pop": "triangle_lead"},
    "other": {"ambient": "pad", "lofi": "bell"},
}
_FALLBACK = {"drums": "kit", "bass": "saw_bass", "harmony": "pad", "melody": "triangle_lead", "other": "pluck"}


def voice_for(role: str, hint: str | None, family: str) -> str:
    """The synth voice for ``role``: from the instrument hint if it names one, else the family's."""
    text = (hint or "").lower()
    if text:
        if text in VOICES.get(role, ()):
            return text
        for voice, keywords in _HINT_KEYWORDS.get(role, ()):
            if any(k in text for k in keywords):
                return voice
    return _DEFAULT_VOICE.get(role, {}).get(family, _FALLBACK[role])


def check_voice(role: str, voice: str) -> str:
    """``voice`` if the role can play it; otherwise a BackendError naming the choices."""
    if voice not in VOICES[role]:
        raise BackendError(f"the composer has no {role} voice {voice!r}: choose one of {', '.join(VOICES[role])}")
    return voice
