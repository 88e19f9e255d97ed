"""What a preset file may contain, and the checks that turn a bad one into one clear sentence.

A preset is one YAML file; its name is the file name without ``.yaml`` and its ``kind`` says
what it sets:

- ``style``   how the music sounds: prompt tags, instruments, tempo and key ranges, sampling.
- ``role``    what the music is for: duration range, dynamics, loopability, sampling.
- ``quality`` how it is made: the engine, the model and the longest duration it renders.

``validate_preset(data, source)`` returns the preset's data with defaults filled in, or
raises ``PresetError`` naming the file, the key and what is allowed. Unknown keys are
rejected (with the nearest known key suggested) so that a typo never goes unnoticed.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Any, Callable, Mapping

from engine.context import ALL_ROLES, MAX_TEMPO, MIN_TEMPO
from engine.postprocess import DURATION_MODES
from engine.theory import SCALES, pitch_class
from resonant_studio.core.errors import AppError
from resonant_studio.core.model_catalog import KNOWN_MODELS

KINDS = ("style", "role", "quality")
TIER_ORDER = ("sketch", "preview", "render", "high_end")
"""Quality tiers from the quickest to the best, the order pickers and listings show them in."""
ENGINES = ("composer", "musicgen")
GENERATION_KEYS = ("top_k", "top_p", "temperature", "cfg_coef")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MAX_DURATION_S = 600.0


class PresetError(AppError):
    """A preset file is missing, unreadable or breaks the schema; the message names file and key."""


Check = Callable[[Any, str, str], Any]
"""A check takes (value, source, dotted key) and returns the value to keep, or raises."""


def _fail(source: str, key: str, wanted: str, value: Any) -> PresetError:
    return PresetError(f"{source}: key '{key}' must be {wanted}, not {value!r}")


# --- single values ----------------------------------------------------------------------------
def text(value: Any, source: str, key: str) -> str:
    if not isinstance(value, str):
        raise _fail(source, key, "text", value)
    return value.strip()


def boolean(value: Any, source: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(source, key, "true or false", value)
    return value


def number(low: float | None = None, high: float | None = None, *, above: float | None = None,
           integer: bool = False, optional: bool = False) -> Check:
    """A number in [low, high] (or strictly above ``above``); ``optional`` also allows null."""
    parts = []
    if above is not None:
        parts.append(f"above {above:g}")
    if low is not None and high is not None:
        parts.append(f"between {low:g} and {high:g}")
    elif low is not None:
        parts.append(f"at least {low:g}")
    elif high is not None:
        parts.append(f"at most {high:g}")
    wanted = ("a whole number" if integer else "a number") + (" " + " and ".join(parts) if parts else "")
    if optional:
        wanted += " (or null)"

    def check(value: Any, source: str, key: str) -> Any:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _fail(source, key, wanted, value)
        if integer and value != int(value):
            raise _fail(source, key, wanted, value)
        if (above is not None and not value > above) or (low is not None and value < low) \
                or (high is not None and value > high):
            raise _fail(source, key, wanted, value)
        return int(value) if integer else float(value)

    return check


def one_of(choices: tuple[str, ...], *, optional: bool = False) -> Check:
    def check(value: Any, source: str, key: str) -> Any:
        if value is None and optional:
            return None
        if value not in choices:
            allowed = ", ".join(choices) + (" (or null)" if optional else "")
            raise _fail(source, key, f"one of {allowed}", value)
        return value

    return check


def text_list(value: Any, source: str, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(source, key, "a list of words or phrases", value)
    return [v.strip() for v in value]


def roles_list(value: Any, source: str, key: str) -> list[str]:
    items = text_list(value, source, key)
    for item in items:
        if item not in ALL_ROLES:
            raise _fail(source, key, f"a list of track roles from {', '.join(ALL_ROLES)}", item)
    if not items:
        raise _fail(source, key, "a list of at least one track role", value)
    return items


def instruments(value: Any, source: str, key: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise _fail(source, key, f"a mapping from a track role ({', '.join(ALL_ROLES)}) to an instrument", value)
    out = {}
    for role, hint in value.items():
        if role not in ALL_ROLES:
            raise _fail(source, f"{key}.{role}", f"a track role: one of {', '.join(ALL_ROLES)}", role)
        out[role] = text(hint, source, f"{key}.{role}")
    return out


def tempo_range(value: Any, source: str, key: str) -> list[float]:
    wanted = f"a range [slowest, fastest] in bpm between {MIN_TEMPO:g} and {MAX_TEMPO:g}"
    if not isinstance(value, list) or len(value) != 2:
        raise _fail(source, key, wanted, value)
    check = number(MIN_TEMPO, MAX_TEMPO)
    low, high = (check(v, source, key) for v in value)
    if low > high:
        raise _fail(source, key, wanted + " with the slower tempo first", value)
    return [low, high]


def parse_key(name: str) -> tuple[int, str]:
    """'A minor' -> (9, 'minor'); ValueError for anything else."""
    parts = name.split()
    if len(parts) != 2 or parts[1].lower() not in SCALES:
        raise ValueError(name)
    return pitch_class(parts[0]), parts[1].lower()


def key_list(value: Any, source: str, key: str) -> list[str]:
    items = text_list(value, source, key)
    wanted = f"a list of keys such as 'A minor' (modes: {', '.join(SCALES)})"
    for item in items:
        try:
            parse_key(item)
        except ValueError:
            raise _fail(source, key, wanted, item) from None
    if not items:
        raise _fail(source, key, wanted, value)
    return items


def section(schema: Mapping[str, Check]) -> Check:
    """A nested mapping whose keys are checked against ``schema`` (all optional)."""
    def check(value: Any, source: str, key: str) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise _fail(source, key, f"a mapping with keys {', '.join(schema)}", value)
        return _check_keys(value, schema, source, key + ".")

    return check


def _check_keys(data: Mapping[str, Any], schema: Mapping[str, Check], source: str, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in schema:
            names = {k: prefix + k for k in schema}
            if "generation" in schema:  # "temperature" at the top belongs under generation
                names.update({k: f"generation.{k}" for k in GENERATION_KEYS})
            close = difflib.get_close_matches(str(key), list(names), n=1)
            hint = f" (did you mean '{names[close[0]]}'?)" if close else ""
            raise PresetError(f"{source}: unknown key '{prefix}{key}'{hint}; allowed keys are {', '.join(schema)}")
        out[key] = schema[key](value, source, prefix + str(key))
    return out


# --- the three kinds --------------------------------------------------------------------------
GENERATION_CHECKS: dict[str, Check] = {
    "top_k": number(0, 2048, integer=True),
    "top_p": number(0.0, 1.0),
    "temperature": number(high=5.0, above=0.0),
    "cfg_coef": number(0.0, 20.0),
}
GENERATION = section(GENERATION_CHECKS)

COMMON: dict[str, Check] = {
    "kind": one_of(KINDS),
    "description": text,
    "prepend": text,
    "append": text,
    "generation": GENERATION,
}

STYLE: dict[str, Check] = {
    **COMMON,
    "tags": text_list,
    "instruments": instruments,
    "tempo": tempo_range,
    "keys": key_list,
    "moods": text_list,
    "energy": number(0.0, 1.0),
    "duration": number(high=MAX_DURATION_S, above=0.0),
}

ROLE: dict[str, Check] = {
    **COMMON,
    "hint": text,
    "duration": section({
        "min": number(high=MAX_DURATION_S, above=0.0),
        "max": number(high=MAX_DURATION_S, above=0.0),
        "default": number(high=MAX_DURATION_S, above=0.0),
    }),
    "duration_mode": one_of(DURATION_MODES),
    "loop": boolean,
    "loop_crossfade": number(0.0, 10.0),
    "parts": roles_list,
    "dynamics": section({
        "energy": number(0.0, 1.0),
        "loudness_lufs": number(-70.0, 0.0, optional=True),
        "fade_in": number(0.0, 30.0),
        "fade_out": number(0.0, 30.0),
    }),
}

QUALITY: dict[str, Check] = {
    **COMMON,
    "engine": one_of(ENGINES),
    "model": one_of(tuple(KNOWN_MODELS), optional=True),
    "max_duration": number(high=MAX_DURATION_S, above=0.0),
}

SCHEMAS: dict[str, dict[str, Check]] = {"style": STYLE, "role": ROLE, "quality": QUALITY}


def validate_preset(data: Any, source: str) -> dict[str, Any]:
    """The checked preset data; ``PresetError`` naming ``source`` and the key otherwise."""
    if not isinstance(data, Mapping):
        raise PresetError(f"{source}: a preset file must be a mapping of keys to values, not {type(data).__name__}")
    if "kind" not in data:
        raise PresetError(f"{source}: key 'kind' is missing: say which kind of preset this is ({', '.join(KINDS)})")
    kind = one_of(KINDS)(data["kind"], source, "kind")
    out = _check_keys(data, SCHEMAS[kind], source)
    _check_consistency(kind, out, source)
    return out


def _check_consistency(kind: str, data: dict[str, Any], source: str) -> None:
    if kind == "role" and "duration" in data:
        d = data["duration"]
        low, high = d.get("min"), d.get("max")
        if low is not None and high is not None and low > high:
            raise PresetError(f"{source}: key 'duration.min' ({low:g} s) must not be above 'duration.max' ({high:g} s)")
        default = d.get("default")
        if default is not None and ((low is not None and default < low) or (high is not None and default > high)):
            raise PresetError(f"{source}: key 'duration.default' ({default:g} s) must lie between "
                              f"'duration.min' and 'duration.max'")
    if kind == "role" and data.get("loop") and data.get("duration_mode") == "strict":
        raise PresetError(f"{source}: key 'duration_mode' cannot be strict for a loop, which sets its own length")
    if kind == "quality":
        engine, model = data.get("engine"), data.get("model")
        if engine == "musicgen" and model is None:
            raise PresetError(f"{source}: key 'model' must name a MusicGen model when the engine is musicgen")
        if engine == "composer" and model is not None:
            raise PresetError(f"{source}: key 'model' must be null when the engine is the composer, not {model!r}")
