"""tracks keeps its own copy of the engine's limits (it may not import engine); they must agree.

Also: every context the engine produces passes the check, and one the engine refuses is
refused at the door, so a project that opens can be regenerated and exported.
"""

from __future__ import annotations

import pytest

import engine.context as ec
import engine.theory as theory
import tracks.context_schema as cs
from engine.prompt import analyze_prompt
from tracks import Track
from tracks.context_schema import ContextError, check_context


def test_the_limits_agree_with_the_engine():
    assert (cs.MIN_TEMPO, cs.MAX_TEMPO) == (ec.MIN_TEMPO, ec.MAX_TEMPO)
    assert cs.MAX_BARS == ec.MAX_BARS
    assert set(cs.MODES) == set(theory.SCALES)
    assert set(cs.CHORD_QUALITIES) == set(theory.CHORD_INTERVALS)
    assert set(cs.CONTEXT_ROLES) == set(ec.ALL_ROLES)
    for den in cs.METER_DENOMINATORS:
        ec.MusicalContext(meter=(4, den))
    for den in (1, 3, 32):
        with pytest.raises(ValueError):
            ec.MusicalContext(meter=(4, den))
        with pytest.raises(ContextError):
            check_context({"meter": [4, den]})


def test_track_roles_are_context_roles():
    import tracks.track

    assert set(tracks.track.ROLES) <= set(cs.CONTEXT_ROLES)
    Track("x", "other")


@pytest.mark.parametrize("prompt", [
    "dark techno in F# minor at 140 bpm, 16 bars, acid bass",
    "calm lofi hip hop, 3/4, dorian, no drums",
    "epic orchestral 60 bpm 512 bars",
    "happy pop in C major with piano melody and 808 drums",
])
def test_every_context_the_engine_makes_passes(prompt):
    check_context(analyze_prompt(prompt).to_dict())


@pytest.mark.parametrize("changes", [
    {"tempo": ec.MAX_TEMPO + 1}, {"tempo": ec.MIN_TEMPO - 1}, {"bars": ec.MAX_BARS + 1}, {"bars": 0},
])
def test_what_the_engine_refuses_is_refused_here_too(changes):
    with pytest.raises(ValueError):
        ec.MusicalContext(**changes)
    with pytest.raises(ContextError):
        check_context({**ec.MusicalContext().to_dict(), **changes})


def test_a_context_that_passes_builds_in_the_engine():
    ok = {**ec.MusicalContext().to_dict(), "tempo": ec.MAX_TEMPO, "bars": ec.MAX_BARS, "mode": "lydian",
          "chords": [{"root": 11, "quality": q} for q in cs.CHORD_QUALITIES], "meter": [cs.MAX_METER_BEATS, 16]}
    check_context(ok)
    ctx = ec.MusicalContext.from_dict(ok)
    assert ctx.key_name.endswith("lydian") and len(ctx.chords) == len(cs.CHORD_QUALITIES)


@pytest.mark.parametrize("value", ["klingon", 7, None])
def test_unknown_modes_are_refused_before_the_engine_raises_key_error(value):
    with pytest.raises(KeyError if isinstance(value, str) else Exception):
        theory.scale_pitch_classes(0, value)
    with pytest.raises(ContextError, match=r"^context\.mode should be one of"):
        check_context({"mode": value})


def test_the_longest_allowed_session_is_bounded():
    longest = {"tempo": cs.MIN_TEMPO, "bars": cs.MAX_BARS, "meter": [cs.MAX_METER_BEATS, 2]}
    check_context(longest)
    assert cs.bars_seconds(longest) == cs.MAX_SESSION_SECONDS == 512 * 32 * 2.0  # 9.1 hours
