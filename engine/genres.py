"""What a genre or a mood word implies when the prompt says nothing more.

A ``GenreProfile`` gives the tempo, mode, key, energy, chord-progression family and
instrument hints typical of a genre; a ``MoodProfile`` gives the mode a mood word leans to
and how it moves the energy. ``prompt.py`` reads these tables; nothing here parses text
beyond the alias patterns.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.theory import pitch_class


@dataclass(frozen=True)
class GenreProfile:
    """Defaults for one genre. ``aliases`` are regular expressions matched as whole words."""

    name: str
    aliases: tuple[str, ...]
    tempo: float
    tempo_range: tuple[float, float]
    mode: str
    tonic: int
    energy: float
    progression: str
    instruments: tuple[tuple[str, str], ...] = ()
    meter: tuple[int, int] = (4, 4)
    sevenths: bool = False


def _genre(name: str, aliases: tuple[str, ...], tempo: float, tempo_range: tuple[float, float],
           mode: str, key: str, energy: float, progression: str,
           instruments: dict[str, str] | None = None, meter: tuple[int, int] = (4, 4),
           sevenths: bool = False) -> GenreProfile:
    return GenreProfile(name, aliases, tempo, tempo_range, mode, pitch_class(key), energy,
                        progression, tuple(sorted((instruments or {}).items())), meter, sevenths)


# Order matters only for documentation; matching prefers the earliest, then the longest alias.
GENRES: tuple[GenreProfile, ...] = (
    _genre("techno", (r"techno", r"acid techno", r"minimal techno", r"industrial techno",
                      r"hard techno", r"melodic techno", r"dub techno"),
           130, (125, 135), "minor", "A", 0.75, "techno", {"drums": "909"}),
    _genre("house", (r"house", r"deep house", r"tech house", r"acid house", r"progressive house",
                     r"afro house", r"french house", r"disco house"),
           124, (120, 128), "minor", "F", 0.7, "house", {"drums": "909", "harmony": "stab"}),
    _genre("hip hop", (r"hip[- ]?hop", r"boom[- ]?bap", r"rap", r"old school hip[- ]?hop"),
           90, (85, 95), "minor", "D", 0.55, "hiphop", {"drums": "boom bap", "harmony": "piano"}),
    _genre("trap", (r"trap",), 140, (130, 150), "minor", "F", 0.7, "trap",
           {"drums": "808", "bass": "808"}),
    _genre("drill", (r"drill", r"uk drill"), 142, (138, 146), "minor", "C#", 0.7, "trap",
           {"drums": "808", "bass": "808"}),
    _genre("lofi", (r"lo[- ]?fi", r"lo[- ]?fi hip[- ]?hop", r"chillhop", r"lo[- ]?fi beats?"),
           80, (70, 90), "minor", "D", 0.35, "lofi",
           {"drums": "boom bap", "harmony": "rhodes"}, sevenths=True),
    _genre("ambient", (r"ambient", r"drone", r"soundscape"), 70, (60, 80), "major", "C", 0.2,
           "ambient", {"harmony": "pad"}),
    _genre("drum and bass", (r"drum (?:and|&|n|'n') ?bass", r"drum'n'bass", r"drumnbass", r"dnb",
                             r"d&b", r"d'n'b", r"jungle", r"liquid (?:dnb|drum and bass)",
                             r"neurofunk"),
           174, (170, 178), "minor", "F", 0.85, "techno", {"drums": "breakbeat", "bass": "reese"}),
    _genre("dubstep", (r"dubstep", r"brostep", r"riddim"), 140, (138, 142), "minor", "E", 0.85,
           "techno", {"bass": "wobble"}),
    _genre("trance", (r"trance", r"psytrance", r"psy[- ]trance", r"uplifting trance",
                      r"progressive trance"),
           138, (132, 142), "minor", "A", 0.8, "trance",
           {"harmony": "supersaw", "melody": "pluck"}),
    _genre("synthwave", (r"synthwave", r"retrowave", r"outrun", r"darksynth", r"vaporwave",
                         r"chillwave"),
           100, (85, 115), "minor", "A", 0.6, "pop", {"bass": "synth", "harmony": "analog pad"}),
    _genre("garage", (r"uk garage", r"ukg", r"2[- ]?step", r"speed garage", r"garage"),
           132, (128, 136), "minor", "G", 0.7, "house", {"drums": "2-step"}),
    _genre("edm", (r"edm", r"big room", r"electro house", r"future bass"), 128, (124, 132),
           "minor", "F", 0.85, "trance", {"harmony": "supersaw"}),
    _genre("rock", (r"rock", r"indie rock", r"punk", r"punk rock", r"grunge", r"rock and roll",
                    r"rock n roll"),
           120, (100, 140), "major", "E", 0.75, "rock", {"drums": "acoustic", "harmony": "guitar"}),
    _genre("metal", (r"metal", r"heavy metal", r"metalcore", r"thrash"), 150, (100, 180), "minor",
           "E", 0.95, "metal", {"drums": "acoustic", "harmony": "distorted guitar"}),
    _genre("pop", (r"pop", r"k-?pop", r"synth-?pop", r"electropop", r"indie pop", r"dance pop"),
           110, (100, 124), "major", "C", 0.65, "pop"),
    _genre("jazz", (r"jazz", r"bebop", r"swing jazz", r"smooth jazz", r"jazz fusion", r"bossa nova",
                    r"bossa"),
           120, (90, 160), "major", "Bb", 0.45, "jazz",
           {"drums": "brushes", "bass": "upright", "harmony": "piano"}, sevenths=True),
    _genre("funk", (r"funk", r"p-?funk"), 105, (95, 115), "minor", "E", 0.75, "funk",
           {"bass": "slap", "harmony": "guitar"}),
    _genre("disco", (r"disco", r"nu[- ]?disco", r"italo disco"), 118, (110, 125), "major", "G",
           0.75, "pop", {"bass": "electric", "harmony": "strings"}),
    _genre("r&b", (r"r&b", r"rnb", r"r'n'b", r"neo[- ]?soul", r"soul"), 85, (70, 100), "minor", "C",
           0.45, "lofi", {"harmony": "rhodes"}, sevenths=True),
    _genre("cinematic", (r"cinematic", r"orchestral", r"film score", r"movie score", r"soundtrack",
                         r"epic orchestral", r"trailer music"),
           90, (70, 110), "minor", "D", 0.55, "cinematic", {"harmony": "strings"}),
    _genre("classical", (r"classical", r"baroque", r"chamber music"), 100, (60, 140), "major", "D",
           0.4, "pop", {"harmony": "strings"}),
    _genre("reggae", (r"reggae", r"dub", r"ska", r"dancehall", r"rocksteady"), 75, (65, 90),
           "major", "G", 0.5, "reggae", {"harmony": "organ"}),
    _genre("reggaeton", (r"reggaeton", r"dembow"), 95, (88, 100), "minor", "A", 0.7, "pop",
           {"drums": "dembow"}),
    _genre("afrobeats", (r"afrobeats?", r"amapiano"), 105, (98, 115), "minor", "G", 0.65, "house",
           {"drums": "percussion"}),
    _genre("blues", (r"blues", r"12[- ]bar blues"), 90, (70, 120), "major", "E", 0.5, "blues",
           {"harmony": "guitar"}),
    _genre("country", (r"country", r"bluegrass", r"americana", r"folk"), 110, (90, 130), "major",
           "G", 0.55, "rock", {"harmony": "acoustic guitar"}),
    _genre("trip hop", (r"trip[- ]?hop", r"downtempo"), 88, (75, 100), "minor", "G", 0.4,
           "hiphop", {"drums": "breakbeat"}),
    _genre("waltz", (r"waltz",), 90, (80, 180), "major", "F", 0.4, "pop", meter=(3, 4)),
)

GENRE_BY_NAME: dict[str, GenreProfile] = {g.name: g for g in GENRES}


@dataclass(frozen=True)
class MoodProfile:
    """A mood word. ``lean`` is -1 for minor, +1 for major, 0 for neither."""

    name: str
    aliases: tuple[str, ...]
    lean: int
    energy: float


MOODS: tuple[MoodProfile, ...] = (
    MoodProfile("dark", (r"dark", r"darker", r"moody", r"brooding", r"gloomy"), -1, -0.05),
    MoodProfile("happy", (r"happy", r"joyful", r"joyous", r"cheerful", r"feel[- ]good", r"fun",
                          r"upbeat"),
                1, 0.1),
    MoodProfile("sad", (r"sad", r"sorrowful", r"heartbroken", r"tearful", r"mournful",
                        r"somber", r"sombre"), -1, -0.15),
    MoodProfile("melancholic", (r"melancholic", r"melancholy", r"wistful", r"bittersweet"), -1,
                -0.1),
    MoodProfile("epic", (r"epic", r"anthemic", r"heroic", r"massive", r"huge"), 0, 0.15),
    MoodProfile("triumphant", (r"triumphant", r"victorious", r"majestic"), 1, 0.15),
    MoodProfile("chill", (r"chill", r"chilled", r"chillout", r"laid[- ]back", r"relaxed",
                          r"relaxing", r"mellow", r"easy[- ]going", r"lazy"), 0, -0.2),
    MoodProfile("peaceful", (r"peaceful", r"calm", r"serene", r"tranquil", r"gentle", r"soothing",
                             r"meditative"), 1, -0.25),
    MoodProfile("aggressive", (r"aggressive", r"angry", r"hard[- ]hitting", r"brutal", r"fierce",
                               r"furious", r"raw"), -1, 0.25),
    MoodProfile("energetic", (r"energetic", r"high[- ]energy", r"driving", r"pumping", r"banging",
                              r"powerful", r"intense"), 0, 0.2),
    MoodProfile("dreamy", (r"dreamy", r"ethereal", r"floaty", r"hazy", r"airy", r"spacey",
                           r"spacious"), 0, -0.15),
    MoodProfile("uplifting", (r"uplifting", r"euphoric", r"hopeful", r"inspiring",
                              r"inspirational", r"positive"), 1, 0.15),
    MoodProfile("mysterious", (r"mysterious", r"eerie", r"haunting", r"spooky", r"creepy"), -1,
                -0.05),
    MoodProfile("tense", (r"tense", r"suspenseful", r"ominous", r"menacing", r"sinister",
                          r"anxious"), -1, 0.1),
    MoodProfile("romantic", (r"romantic", r"sensual", r"sexy", r"tender", r"loving"), 1, -0.1),
    MoodProfile("nostalgic", (r"nostalgic", r"retro", r"vintage"), 0, -0.05),
    MoodProfile("hypnotic", (r"hypnotic", r"mesmeri[sz]ing", r"repetitive", r"trancey"), 0, 0.0),
    MoodProfile("groovy", (r"groovy", r"funky", r"bouncy", r"swinging", r"jazzy"), 0, 0.1),
    MoodProfile("playful", (r"playful", r"quirky", r"whimsical", r"cute", r"silly"), 1, 0.05),
    MoodProfile("bright", (r"bright", r"sunny", r"summery", r"warm[- ]hearted"), 1, 0.05),
    MoodProfile("heavy", (r"heavy", r"gritty", r"dirty", r"grimy", r"filthy", r"distorted"), -1,
                0.15),
    MoodProfile("emotional", (r"emotional", r"heartfelt", r"soulful"), 0, -0.05),
)

# Sub-genre qualifiers and feel words worth keeping as tags.
FEEL_TAGS: dict[str, str] = {
    r"swing(?:ing)? feel|swung|swing": "swing",
    r"shuffle|shuffled": "shuffle",
    r"four[- ]on[- ]the[- ]floor": "four-on-the-floor",
    r"syncopated|syncopation": "syncopated",
    r"triplets?": "triplets",
    r"half[- ]?time": "half-time",
    r"double[- ]?time": "double-time",
    r"instrumental": "instrumental",
    r"loop|loopable": "loop",
}

DEFAULT_TEMPO = 120.0
DEFAULT_ENERGY = 0.5
