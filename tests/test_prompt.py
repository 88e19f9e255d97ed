"""Prompt analysis: free text -> MusicalContext (tempo, key, meter, length, genre, chords)."""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import numpy as np
import pytest

from engine.context import ROLES, MusicalContext
from engine.errors import PromptError
from engine.genres import GENRES
from engine.progressions import MODAL_LOOPS, PROGRESSIONS, progression
from engine.prompt import EMPTY_PROMPT, analyze_prompt, describe, key_label, read_key
from engine.theory import SCALES, scale_pitch_classes

ALL = ROLES


class Case(NamedTuple):
    prompt: str
    tempo: float | tuple[float, float]
    key: str | None  # as key_label writes it; None: not checked
    meter: tuple[int, int]
    bars: int
    genre: str | None
    roles: tuple[str, ...] = ALL
    hints: dict[str, str] = {}  # a subset of context.instruments


CASES = [
    Case("dark techno 128 bpm in A minor", 128, "A minor", (4, 4), 8, "techno",
         hints={"drums": "909"}),
    Case("dark techno 128bpm, rolling bassline, no melody", 128, "A minor", (4, 4), 8, "techno",
         ("drums", "bass", "harmony"), {"bass": "rolling"}),
    Case("Minimal techno at 90 BPM in F#, 16 bars", 90, "F# minor", (4, 4), 16, "techno"),
    Case("techno, tempo 100, key of E", 100, "E minor", (4, 4), 8, "techno"),
    Case("acid techno with a 303 line, Dm", (125, 135), "D minor", (4, 4), 8, "techno",
         hints={"bass": "acid"}),
    Case("happy house with piano chords and a pluck lead", (120, 128), "F major", (4, 4), 8,
         "house", hints={"harmony": "piano", "melody": "pluck"}),
    Case("deep house in C# min, warm pads, 32 bars", (120, 128), "C# minor", (4, 4), 32, "house",
         hints={"harmony": "warm pad"}),
    Case("acid house 124bpm, acid bass", 124, None, (4, 4), 8, "house", hints={"bass": "acid"}),
    Case("lofi hip hop with rhodes and vinyl crackle", (70, 90), None, (4, 4), 8, "lofi",
         hints={"harmony": "rhodes"}),
    Case("chill lo-fi beat at 80 BPM in F, 16 bars", 80, "F minor", (4, 4), 16, "lofi"),
    Case("90s boom bap hip hop, Dm, 1 minute", 90, "D minor", (4, 4), 23, "hip hop",
         hints={"drums": "boom bap"}),
    Case("hip-hop instrumental, 92 bpm, piano melody, no bass", 92, None, (4, 4), 8, "hip hop",
         ("drums", "harmony", "melody"), {"melody": "piano"}),
    Case("trap beat with 808s and hi-hat rolls, dark, C# min", (130, 150), "C# minor", (4, 4), 8,
         "trap", hints={"bass": "808", "drums": "trap"}),
    Case("ambient drone, warm pads, drumless", (60, 80), None, (4, 4), 8, "ambient",
         ("bass", "harmony", "melody"), {"harmony": "warm pad"}),
    Case("peaceful ambient soundscape in the key of E, 30 seconds", (60, 80), "E major", (4, 4),
         9, "ambient"),
    Case("drum and bass 174 bpm with reese bass and amen breaks", 174, None, (4, 4), 8,
         "drum and bass", hints={"bass": "reese", "drums": "breakbeat"}),
    Case("liquid dnb, Bb minor, rolling sub bass", (170, 178), "Bb minor", (4, 4), 8,
         "drum and bass", hints={"bass": "sub"}),
    Case("half-time dubstep with wobble bass", (60, 80), None, (4, 4), 8, "dubstep",
         hints={"bass": "wobble"}),
    Case("dubstep, 140 bpm, E phrygian", 140, "E phrygian", (4, 4), 8, "dubstep"),
    Case("uplifting trance, F sharp minor, supersaw pads", (132, 142), "F# minor", (4, 4), 8,
         "trance", hints={"harmony": "supersaw pad"}),
    Case("80s synthwave in the key of E, arpeggiated synths", (85, 115), "E minor", (4, 4), 8,
         "synthwave", hints={"melody": "arp"}),
    Case("epic cinematic strings in D minor, 30 seconds", (70, 110), "D minor", (4, 4), 11,
         "cinematic"),
    Case("orchestral film score, 2 minutes at 90 bpm", 90, None, (4, 4), 45, "cinematic"),
    Case("jazz waltz in Bb major with brushes and upright bass", (90, 160), "Bb major", (3, 4), 8,
         "jazz", hints={"drums": "brushes", "bass": "upright"}),
    Case("swing jazz quartet with walking bass and a sax solo", (90, 160), "Bb major", (4, 4), 8,
         "jazz", hints={"bass": "upright", "melody": "sax"}),
    Case("E dorian funk groove with slap bass", (95, 115), "E dorian", (4, 4), 8, "funk",
         hints={"bass": "slap"}),
    Case("uptempo disco with strings, 8 measures", (125, 140), "G major", (4, 4), 8, "disco",
         hints={"harmony": "strings"}),
    Case("fast aggressive metal in E minor with distorted guitars", (155, 190), "E minor", (4, 4),
         8, "metal", hints={"harmony": "distorted guitar"}),
    Case("indie rock in G, live drums, 120 bpm", 120, "G major", (4, 4), 8, "rock",
         hints={"drums": "acoustic"}),
    Case("7/8 prog rock riff in B flat", (100, 140), "Bb major", (7, 8), 8, "rock"),
    Case("sunny pop song, I-V-vi-IV, C major, 110 bpm", 110, "C major", (4, 4), 8, "pop"),
    Case("sad pop ballad", (100, 124), None, (4, 4), 8, "pop"),
    Case("reggae in G major with organ skank", (65, 90), "G major", (4, 4), 8, "reggae",
         hints={"harmony": "organ"}),
    Case("uk garage 2-step with vocal chops", (128, 136), None, (4, 4), 8, "garage",
         hints={"drums": "2-step", "melody": "vocal chop"}),
    Case("neo soul, Cmaj7 vibes, rhodes chords", (70, 100), "C major", (4, 4), 8, "r&b",
         hints={"harmony": "rhodes"}),
    Case("a melancholic piano melody in 3/4, no drums, no bass", 120, "A minor", (3, 4), 8, None,
         ("harmony", "melody"), {"melody": "piano"}),
    Case("slow sad waltz for strings", (60, 90), None, (3, 4), 8, "waltz"),
    Case("15 seconds of 6/8 at 60 bpm", 60, None, (6, 8), 5, None),
    Case("drums and bass only, 130 bpm", 130, None, (4, 4), 8, None, ("drums", "bass")),
    Case("without drums or bass, just piano chords", 120, None, (4, 4), 8, None,
         ("harmony", "melody"), {"harmony": "piano"}),
    Case("I am making a rolling bassline for a techno track", (125, 135), "A minor", (4, 4), 8,
         "techno", hints={"bass": "rolling"}),
    Case("in a minor key: a sad piano piece, 4 bars", 120, None, (4, 4), 4, None),
    Case("Am techno, 30s loop", (125, 135), "A minor", (4, 4), 16, "techno"),
    Case("breakbeat with a deep bass and bright plucks in G minor @ 130", 130, "G minor", (4, 4),
         8, None, hints={"drums": "breakbeat", "bass": "deep", "melody": "bright pluck"}),
    Case("afrobeats, 105 bpm, shakers and congas, no melody", 105, None, (4, 4), 8, "afrobeats",
         ("drums", "bass", "harmony"), {"drums": "percussion"}),
    Case("dreamy chillwave, shimmering pads, a glassy bell melody, 75 bpm, Gb major", 75,
         "F# major", (4, 4), 8, "synthwave",
         hints={"harmony": "shimmering pad", "melody": "glassy bell"}),
    Case("blues shuffle in A, 12 bars", (70, 120), "A major", (4, 4), 12, "blues"),
    Case("tempo: 87, trip-hop, breakbeats and a dusty rhodes", 87, None, (4, 4), 8, "trip hop",
         hints={"drums": "breakbeat", "harmony": "dusty rhodes"}),
    Case("cinematic piece in C minor, 5/4, string melody, 64 bars", (70, 110), "C minor", (5, 4),
         64, "cinematic", hints={"melody": "strings"}),
]


def _check(ctx: MusicalContext, case: Case) -> None:
    if isinstance(case.tempo, tuple):
        lo, hi = case.tempo
        assert lo <= ctx.tempo <= hi, ctx.tempo
    else:
        assert ctx.tempo == case.tempo
    if case.key is not None:
        assert key_label(ctx.tonic, ctx.mode) == case.key
    assert ctx.meter == case.meter
    assert ctx.bars == case.bars
    assert ctx.genre == case.genre
    assert ctx.roles == case.roles
    instruments = dict(ctx.instruments)
    for role, hint in case.hints.items():
        assert instruments.get(role) == hint, (role, instruments)


@pytest.mark.parametrize("case", CASES, ids=[c.prompt[:40] for c in CASES])
def test_prompt_table(case: Case) -> None:
    ctx = analyze_prompt(case.prompt)
    _check(ctx, case)
    assert ctx.description == " ".join(case.prompt.split())
    assert len(ctx.chords) == ctx.bars
    assert set(r for r, _ in ctx.instruments) <= set(ctx.roles)
    assert 0.0 <= ctx.energy <= 1.0


def test_table_is_large_and_varied() -> None:
    assert len(CASES) >= 40
    assert len({c.genre for c in CASES}) >= 20


# --- errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_prompt_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(PromptError) as err:
        analyze_prompt(text)
    assert str(err.value) == EMPTY_PROMPT


@pytest.mark.parametrize("text", ["techno at 999 bpm", "0 bpm house", "tempo 12", "301bpm"])
def test_impossible_tempo_names_the_allowed_range(text: str) -> None:
    with pytest.raises(PromptError, match=r"between 30 and 300 bpm"):
        analyze_prompt(text)


@pytest.mark.parametrize("text, token", [("H minor techno", "H"), ("ambient in Z major", "Z"),
                                         ("in the key of Hb", "Hb"), ("X min pop", "X")])
def test_unknown_key_note_names_the_token_and_the_valid_notes(text: str, token: str) -> None:
    with pytest.raises(PromptError) as err:
        analyze_prompt(text)
    message = str(err.value)
    assert repr(token) in message
    assert "C, C#, Db, D" in message and "Bb, B" in message


@pytest.mark.parametrize("text", ["no drums, no bass, no chords, no melody",
                                  "drumless, without bass or harmony, no lead"])
def test_removing_every_part_is_refused(text: str) -> None:
    with pytest.raises(PromptError, match="keep at least one"):
        analyze_prompt(text)


@pytest.mark.parametrize("text", ["techno, 0 bars", "techno, 1000 bars"])
def test_impossible_bar_count(text: str) -> None:
    with pytest.raises(PromptError, match="between 1 and 512"):
        analyze_prompt(text)


def test_too_long_in_seconds_is_refused() -> None:
    with pytest.raises(PromptError, match="shorter"):
        analyze_prompt("dnb", seconds=3600)


@pytest.mark.parametrize("kwargs", [{"bars": 0}, {"bars": 513}, {"bars": 2.5}, {"bars": True},
                                    {"seconds": 0}, {"seconds": -3.0},
                                    {"seconds": float("nan")}, {"bars": 4, "seconds": 10}])
def test_bad_length_arguments(kwargs: dict) -> None:
    with pytest.raises(PromptError):
        analyze_prompt("techno", **kwargs)


# --- words that are not keys, lengths or tempos --------------------------------------------
@pytest.mark.parametrize("text", [
    "a rolling bassline", "I am here for a dark groove", "in a dark club", "admin mode",
    "ebm with a big kick", "harmonic minimalism", "a minimal techno loop", "wait a min",
    "I major in sound design", "a maj chord feel", "keys in the back", "key change at bar 9",
    "played in e-piano style", "In a club",
])
def test_ordinary_words_are_not_keys(text: str) -> None:
    assert read_key(text).tonic is None
    ctx = analyze_prompt(text)
    assert ctx.tonic == (9 if ctx.mode == "minor" else 0)  # the default, not a read tonic


def test_a_minor_key_is_a_mode_not_a_tonic() -> None:
    ctx = analyze_prompt("house in a minor key")
    assert ctx.mode == "minor" and key_label(ctx.tonic, ctx.mode) == "F minor"


@pytest.mark.parametrize("text, tonic_mode", [
    ("Bbm trap", "Bb minor"), ("F#m", "F# minor"), ("C# min", "C# minor"),
    ("Bb major", "Bb major"), ("in F#", None), ("E dorian", "E dorian"), ("Gmaj", "G major"),
    ("key: Eb", None), ("e minor", "E minor"), ("in E flat major", "Eb major"),
    ("D mixolydian jam", "D mixolydian"), ("A lydian", "A lydian"), ("B♭ minor", "Bb minor"),
    ("house in E-flat, minor", "Eb minor"), ("C# Minor", "C# minor"),
])
def test_key_spellings(text: str, tonic_mode: str | None) -> None:
    ctx = analyze_prompt(text)
    if tonic_mode is None:
        tonic = {"in F#": 6, "key: Eb": 3}[text]
        assert ctx.tonic == tonic
    else:
        assert key_label(ctx.tonic, ctx.mode) == tonic_mode


@pytest.mark.parametrize("text, bars", [
    ("808s and 909 drums", 8), ("80s synthwave", 8), ("'90s house", 8), ("1970s disco", 8),
    ("add a second melody", 8), ("30s", 15), ("a 60s loop", 30), ("half a minute", 15),
    ("eight bars", 8), ("sixteen measures", 16), ("a 4-bar loop", 4),
])
def test_lengths_and_look_alikes(text: str, bars: int) -> None:
    # no genre: 120 bpm 4/4, so one bar is two seconds
    assert analyze_prompt(text).bars == bars


def test_decades_become_tags() -> None:
    assert "80s" in analyze_prompt("80s synthwave").tags
    assert "90s" in analyze_prompt("'90s house").tags
    assert "70s" in analyze_prompt("seventies disco").tags


@pytest.mark.parametrize("text, expected", [
    ("techno", 130), ("fast techno", 150), ("slow techno", 110), ("very fast techno", 162),
    ("uptempo house", 136), ("half-time dnb", 87), ("techno at 140 BPM, slow", 140),
    ("upbeat house", 124),  # upbeat is a mood, not a tempo
])
def test_tempo_words_scale_the_genre_tempo(text: str, expected: float) -> None:
    assert analyze_prompt(text).tempo == expected


@pytest.mark.parametrize("text, meter", [("waltz", (3, 4)), ("techno in 3/4", (3, 4)),
                                         ("12/8 blues", (12, 8)), ("1/16 hats", (4, 4)),
                                         ("24/7 vibes", (4, 4))])
def test_meters(text: str, meter: tuple[int, int]) -> None:
    assert analyze_prompt(text).meter == meter


# --- genres, moods, defaults ------------------------------------------------------------------
@pytest.mark.parametrize("text, lo, hi", [
    ("techno", 125, 135), ("house", 120, 128), ("hip hop", 85, 95), ("lofi", 70, 90),
    ("ambient", 60, 80), ("drum and bass", 170, 178), ("dubstep", 138, 142), ("trap", 130, 150),
])
def test_genre_default_tempos(text: str, lo: float, hi: float) -> None:
    assert lo <= analyze_prompt(text).tempo <= hi


@pytest.mark.parametrize("genre", GENRES, ids=[g.name for g in GENRES])
def test_every_genre_is_found_by_its_name_and_its_defaults_are_sane(genre) -> None:
    ctx = analyze_prompt(f"a {genre.name} track")
    assert ctx.genre == genre.name
    lo, hi = genre.tempo_range
    assert lo <= ctx.tempo <= hi
    assert ctx.mode == genre.mode and ctx.tonic == genre.tonic
    assert ctx.meter == genre.meter


def test_more_specific_genre_wins_and_the_rest_become_tags() -> None:
    ctx = analyze_prompt("lofi hip hop with a bit of jazz")
    assert ctx.genre == "lofi"
    assert "jazz" in ctx.tags and "lofi hip hop" in ctx.tags
    assert analyze_prompt("deep house").tags == ("deep house",)
    assert analyze_prompt("jungle").tags == ("jungle",)
    assert analyze_prompt("dnb").tags == analyze_prompt("lo-fi").tags == ()


@pytest.mark.parametrize("text, mode", [
    ("dark pop", "minor"), ("sad jazz", "minor"), ("happy techno", "major"),
    ("uplifting trance", "major"), ("pop", "major"), ("techno", "minor"),
    ("happy song in D minor", "minor"), ("sad song, major key", "major"),
    ("not too dark, happy pop", "major"), ("upbeat techno", "major"),
])
def test_mode_from_mood_and_genre(text: str, mode: str) -> None:
    assert analyze_prompt(text).mode == mode


def test_moods_and_energy() -> None:
    calm = analyze_prompt("calm dreamy ambient")
    wild = analyze_prompt("aggressive energetic fast dubstep")
    assert calm.moods == ("peaceful", "dreamy")
    assert wild.moods == ("aggressive", "energetic")
    assert calm.energy < analyze_prompt("ambient").energy < wild.energy
    assert analyze_prompt("techno 150 bpm").energy > analyze_prompt("techno 120 bpm").energy
    assert "dark" not in analyze_prompt("not dark at all").moods


def test_no_genre_defaults() -> None:
    ctx = analyze_prompt("something nice")
    assert (ctx.tempo, ctx.meter, ctx.bars, ctx.genre) == (120, (4, 4), 8, None)
    assert key_label(ctx.tonic, ctx.mode) == "A minor"
    assert key_label(*_key(analyze_prompt("something happy"))) == "C major"
    assert ctx.roles == ROLES


def _key(ctx: MusicalContext) -> tuple[int, str]:
    return ctx.tonic, ctx.mode


# --- instruments and parts -------------------------------------------------------------------
@pytest.mark.parametrize("text, role, hint", [
    ("808 drums", "drums", "808"), ("a 909 kit", "drums", "909"), ("acid bass", "bass", "acid"),
    ("warm pads", "harmony", "warm pad"), ("piano melody", "melody", "piano"),
    ("rhodes", "harmony", "rhodes"), ("strings", "harmony", "strings"),
    ("pluck lead", "melody", "pluck"), ("sub bass", "bass", "sub"),
    ("breakbeat", "drums", "breakbeat"), ("synth bass", "bass", "synth"),
    ("rhodes melody", "melody", "rhodes"), ("synth pads", "harmony", "synth pad"),
    ("guitar riff", "melody", "guitar"),
    ("lush analogue strings", "harmony", "lush analog strings"),
    ("flute", "melody", "flute"), ("808s", "bass", "808"),
    ("a fiddle tune", "melody", "violin"),
])
def test_instrument_hints(text: str, role: str, hint: str) -> None:
    assert analyze_prompt(text).instrument(role) == hint


def test_text_hint_beats_genre_default_and_negated_instruments_give_none() -> None:
    assert analyze_prompt("techno with 808 drums").instrument("drums") == "808"
    assert analyze_prompt("techno").instrument("drums") == "909"
    assert analyze_prompt("ambient, no piano").instrument("harmony") == "pad"
    assert analyze_prompt("hip hop without 808s").instrument("bass") is None


def test_hints_of_removed_parts_are_dropped() -> None:
    ctx = analyze_prompt("trap, no drums")
    assert ctx.roles == ("bass", "harmony", "melody")
    assert ctx.instrument("drums") is None and ctx.instrument("bass") == "808"


@pytest.mark.parametrize("text, roles", [
    ("no drums", ("bass", "harmony", "melody")), ("without bass", ("drums", "harmony", "melody")),
    ("drumless", ("bass", "harmony", "melody")), ("no melody", ("drums", "bass", "harmony")),
    ("beatless, no chords", ("bass", "melody")), ("no pads or lead", ("drums", "bass")),
    ("just drums", ("drums",)), ("bass and drums only", ("drums", "bass")),
    ("a piano melody with a drum beat", ROLES),
])
def test_negations_and_restrictions(text: str, roles: tuple[str, ...]) -> None:
    assert analyze_prompt(text).roles == roles


# --- length precedence, determinism, round trip ---------------------------------------------
def test_explicit_length_arguments_override_the_text() -> None:
    assert analyze_prompt("techno, 16 bars", bars=4).bars == 4
    assert analyze_prompt("techno, 16 bars", seconds=60).bars == 33  # 130 bpm: 32.5 bars
    assert analyze_prompt("house 120 bpm, 1 minute", bars=2).bars == 2
    assert analyze_prompt("ambient 60 bpm in 3/4", seconds=10).bars == 3
    assert analyze_prompt("drone 60 bpm", seconds=0.5).bars == 1  # at least one bar
    assert analyze_prompt("techno").bars == 8
    assert analyze_prompt("techno", bars=np.int64(4)).bars == 4  # numpy integers are fine


def test_bars_in_the_text_win_over_seconds_in_the_text() -> None:
    assert analyze_prompt("30 seconds, 4 bars").bars == 4


def test_same_text_same_context() -> None:
    text = "dark melodic techno with acid bass and warm pads, 16 bars"
    first = analyze_prompt(text)
    assert all(analyze_prompt(text) == first for _ in range(3))


def test_context_round_trips_through_plain_data() -> None:
    for case in CASES[:10]:
        ctx = analyze_prompt(case.prompt)
        assert MusicalContext.from_dict(ctx.to_dict()) == ctx


def test_describe_is_one_line() -> None:
    assert describe(analyze_prompt("dark techno 128 bpm in A minor")) == \
        "128 bpm, 4/4, A minor, 8 bars, techno; dark"
    assert describe(analyze_prompt("Bb major jazz, no drums, 1 bar")) == \
        "120 bpm, 4/4, Bb major, 1 bar, jazz; no drums"


# --- chords ----------------------------------------------------------------------------------
def _assert_tonic_centred_and_diatonic(ctx: MusicalContext) -> None:
    assert len(ctx.chords) == ctx.bars
    tonic_chord = ctx.chords[0]
    assert tonic_chord.root == ctx.tonic
    assert ctx.chords[-1] == tonic_chord
    counts = Counter(ctx.chords)
    if ctx.bars > 1:
        assert all(counts[tonic_chord] > n for c, n in counts.items() if c != tonic_chord), counts
    scale = set(scale_pitch_classes(ctx.tonic, ctx.mode))
    for chord in ctx.chords:
        assert set(chord.pitch_classes) <= scale, (chord, ctx.key_name)


@pytest.mark.parametrize("case", CASES, ids=[c.prompt[:40] for c in CASES])
def test_table_chords_start_on_the_tonic_and_stay_in_key(case: Case) -> None:
    _assert_tonic_centred_and_diatonic(analyze_prompt(case.prompt))


@pytest.mark.parametrize("family", sorted(PROGRESSIONS))
def test_every_progression_is_tonic_centred_at_every_length(family: str) -> None:
    for mode in SCALES:
        for bars in range(1, 41):
            for sevenths in (False, True):
                chords = progression(family, 2, mode, bars, sevenths=sevenths)
                ctx = MusicalContext(tonic=2, mode=mode, bars=bars, chords=chords)
                _assert_tonic_centred_and_diatonic(ctx)


def test_style_specific_progressions() -> None:
    jazz = analyze_prompt("jazz in C major")
    assert [c.name for c in jazz.chords[:4]] == ["Cmaj7", "Cmaj7", "Dm7", "G7"]  # I, ii-V
    pop = analyze_prompt("pop in C major")
    assert [c.name for c in pop.chords[:4]] == ["C", "G", "Am", "F"]  # I-V-vi-IV
    minor = analyze_prompt("pop in A minor")
    assert [c.name for c in minor.chords[:4]] == ["Am", "F", "C", "G"]  # i-VI-III-VII
    assert MODAL_LOOPS["dorian"][0] == 1
