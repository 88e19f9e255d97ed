"""What a saved musical context may hold: the ranges and names the engine accepts.

A project's ``context`` is the engine's ``MusicalContext.to_dict()`` as plain data. The
document layer may not import the engine, yet a value the engine would refuse (tempo 400,
a mode called "klingon", 10^9 bars) must be refused when the project is opened, not when
a regenerate or an export later crashes on it or asks for terabytes. So the limits are
kept here, and tests/test_context_schema.py checks that they agree with the engine's.
"""

from __future__ import annotations

import math
from typing import Any, Callable

MIN_TEMPO, MAX_TEMPO = 30.0, 300.0
MAX_BARS = 512
METER_DENOMINATORS = (2, 4, 8, 16)
MAX_METER_BEATS = 16
MODES = ("major", "minor", "dorian", "phrygian", "lydian", "mixolydian")
CHORD_QUALITIES = ("maj", "min", "dim", "sus2", "sus4", "maj7", "min7", "dom7")
CONTEXT_ROLES = ("drums", "bass", "harmony", "melody", "other")
MAX_TEXT = 2000
MAX_LIST = 1024

# 512 bars of 16/2 at 30 bpm (9.1 hours): the longest piece the limits above allow, which
# bounds a take (num_samples) and so what an export of a crafted project can allocate.
MAX_SESSION_SECONDS = MAX_BARS * (MAX_METER_BEATS * 4 / METER_DENOMINATORS[0]) * 60.0 / MIN_TEMPO


class ContextError(ValueError):
    """A context value the engine would not accept; the message starts with ``context.<key>``."""


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _whole(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _text(v: object) -> bool:
    return isinstance(v, str) and len(v) <= MAX_TEXT


def _text_list(v: object, allowed: tuple[str, ...] | None = None) -> bool:
    return (isinstance(v, list) and len(v) <= MAX_LIST
            and all(_text(x) and (allowed is None or x in allowed) for x in v))


def _chords(v: object) -> bool:
    return isinstance(v, list) and len(v) <= MAX_BARS and all(
        isinstance(c, dict) and set(c) <= {"root", "quality"} and _whole(c.get("root"))
        and 0 <= c["root"] <= 11 and c.get("quality") in CHORD_QUALITIES for c in v)


def _instruments(v: object) -> bool:
    return isinstance(v, dict) and all(k in CONTEXT_ROLES and _text(h) for k, h in v.items())


def _meter(v: object) -> bool:
    return (isinstance(v, list) and len(v) == 2 and all(_whole(x) for x in v)
            and 1 <= v[0] <= MAX_METER_BEATS and v[1] in METER_DENOMINATORS)


_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "tempo": (lambda v: _number(v) and MIN_TEMPO <= v <= MAX_TEMPO,
              f"a tempo between {MIN_TEMPO:g} and {MAX_TEMPO:g} bpm"),
    "meter": (_meter, f"[beats, note value] such as [4, 4] (beats 1-{MAX_METER_BEATS}, note value "
                      f"{', '.join(map(str, METER_DENOMINATORS))})"),
    "bars": (lambda v: _whole(v) and 1 <= v <= MAX_BARS, f"a whole number of bars from 1 to {MAX_BARS}"),
    "tonic": (lambda v: _whole(v) and 0 <= v <= 11, "a pitch class 0-11"),
    "mode": (lambda v: v in MODES, f"one of {', '.join(MODES)}"),
    "chords": (_chords, f"a list of at most {MAX_BARS} chords, each {{'root': 0-11, 'quality': "
                        f"{'/'.join(CHORD_QUALITIES)}}}"),
    "genre": (lambda v: v is None or _text(v), "text or null"),
    "moods": (_text_list, "a list of words"),
    "energy": (lambda v: _number(v) and 0.0 <= v <= 1.0, "a number from 0 to 1"),
    "instruments": (_instruments, f"an object mapping a part ({', '.join(CONTEXT_ROLES)}) to a hint"),
    "roles": (lambda v: _text_list(v, CONTEXT_ROLES) and len(set(v)) == len(v),
              f"a list of distinct parts from {', '.join(CONTEXT_ROLES)}"),
    "tags": (_text_list, "a list of words"),
    "description": (_text, f"text of at most {MAX_TEXT} characters"),
    "duration_seconds": (lambda v: v is None or (_number(v) and v >= 0), "a number of seconds (0 for none), or null"),
}


def bars_seconds(context: dict) -> float:
    """How long the context's bars last at its tempo (defaults as the session applies them)."""
    num, den = context.get("meter", (4, 4))
    return context.get("bars", 8) * (num * 4.0 / den) * 60.0 / context.get("tempo", 120.0)


def check_context(context: object) -> None:
    """Raise ContextError for the first key whose value the engine (or the session) cannot use.

    Unknown keys are allowed (a newer app may add some); every key the engine reads is checked.
    """
    if not isinstance(context, dict):
        raise ContextError(f"context should be an object, not {_show(context)}")
    for key, (ok, wanted) in _RULES.items():
        if key in context and not ok(context[key]):
            raise ContextError(f"context.{key} should be {wanted}, not {_show(context[key])}")
    fixed = context.get("duration_seconds")
    if fixed is not None and fixed > bars_seconds(context) + 1e-6:
        raise ContextError(f"context.duration_seconds {fixed:g} is longer than the {bars_seconds(context):.1f} s "
                           "its bars last at its tempo")
