"""What a preset file may contain, and how a bad one becomes one clear sentence.

A preset is one YAML file; its name is the file name without ``.yaml`` and its ``kind`` says
what it sets:

- ``style``   how the music sounds: prompt tags, instruments, tempo and key ranges, sampling.
- ``role``    what the music is for: duration range, dynamics, loopability, sampling.
- ``quality`` how it is made: the engine, the model and the longest duration it renders.

The three kinds are pydantic models (strict: no text read as a number, no ``true`` as 1;
unknown keys forbidden, so a typo never goes unnoticed). Each value type carries the words
that say what it wants (``number(0, 1)`` reads "a number between 0 and 1"), so
``validate_preset(data, source)`` can turn pydantic's first error into ``PresetError``: one
sentence naming the file, the key and what is allowed, with the nearest known key suggested
for an unknown one. It returns the keys the file set, checked, in plain dicts and lists.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Literal, Mapping

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError,
                      WrapValidator, model_validator)
from pydantic_core import PydanticCustomError

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


# --- how a failure reads ----------------------------------------------------------------------
def _wanted(words: str) -> WrapValidator:
    """Any failure of this value itself reads "must be {words}"; a failure inside it (a list
    item, a nested key) or a rule of ours keeps its own words and key."""
    def check(value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            if any(e["loc"] or e["type"].startswith("preset") for e in exc.errors()):
                raise
            raise _must_be(words) from None
    return WrapValidator(check)


def _must_be(words: str) -> PydanticCustomError:
    """The value breaks its type: said as "key '...' must be {words}, not {value}"."""
    return PydanticCustomError("preset_value", "{wanted}", {"wanted": words})


def _rule(sentence: str) -> PydanticCustomError:
    """A rule between keys broken: ``sentence`` is said as it is, after the file's name."""
    return PydanticCustomError("preset_rule", "{sentence}", {"sentence": sentence})


# --- single values ----------------------------------------------------------------------------
Text = Annotated[str, _wanted("text")]
Boolean = Annotated[bool, _wanted("true or false")]


def _whole(value: Any) -> Any:
    """3.0 counts as the whole number 3 (strict ints would refuse it)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def number(low: float | None = None, high: float | None = None, *, above: float | None = None,
           integer: bool = False, optional: bool = False) -> Any:
    """A finite number in [low, high] (or strictly above ``above``); ``optional`` also allows null."""
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
    bounds = Field(ge=low, le=high, gt=above)
    if integer:
        kind = Annotated[int, bounds, BeforeValidator(_whole)]
    else:
        kind = Annotated[float, bounds, Field(allow_inf_nan=False)]
    if optional:
        return Annotated[kind | None, _wanted(wanted + " (or null)")]
    return Annotated[kind, _wanted(wanted)]


def one_of(choices: tuple[str, ...], *, optional: bool = False) -> Any:
    allowed = ", ".join(choices) + (" (or null)" if optional else "")
    choice = Literal[choices]  # type: ignore[valid-type]
    return Annotated[choice | None if optional else choice, _wanted(f"one of {allowed}")]


def _as_list(value: Any) -> Any:
    """A single word or phrase stands for a list of one."""
    return [value] if isinstance(value, str) else value


Phrase = Annotated[str, Field(min_length=1), _wanted("a list of words or phrases")]
Words = Annotated[list[Phrase], BeforeValidator(_as_list), _wanted("a list of words or phrases")]

_ROLES = ", ".join(ALL_ROLES)
Role = Literal[ALL_ROLES]  # type: ignore[valid-type]
Roles = Annotated[list[Annotated[Role, _wanted(f"a list of track roles from {_ROLES}")]], BeforeValidator(_as_list),
                  Field(min_length=1), _wanted(f"a list of at least one track role from {_ROLES}")]
Instruments = Annotated[dict[Annotated[Role, _wanted(f"a track role: one of {_ROLES}")], Text],
                        _wanted(f"a mapping from a track role ({_ROLES}) to an instrument")]


def parse_key(name: str) -> tuple[int, str]:
    """'A minor' -> (9, 'minor'); ValueError for anything else."""
    parts = name.split()
    if len(parts) != 2 or parts[1].lower() not in SCALES:
        raise ValueError(name)
    return pitch_class(parts[0]), parts[1].lower()


def _key_name(name: str) -> str:
    parse_key(name)  # its ValueError becomes pydantic's, then our words
    return name


_KEYS_WANTED = f"a list of keys such as 'A minor' (modes: {', '.join(SCALES)})"
KeyName = Annotated[str, AfterValidator(_key_name), _wanted(_KEYS_WANTED)]
Keys = Annotated[list[KeyName], BeforeValidator(_as_list), Field(min_length=1), _wanted(_KEYS_WANTED)]

_TEMPO_WANTED = f"a range [slowest, fastest] in bpm between {MIN_TEMPO:g} and {MAX_TEMPO:g}"


def _slower_first(pair: list[float]) -> list[float]:
    if pair[0] > pair[1]:
        raise _must_be(f"{_TEMPO_WANTED} with the slower tempo first")
    return pair


TempoRange = Annotated[list[number(MIN_TEMPO, MAX_TEMPO)], Field(min_length=2, max_length=2),
                       _wanted(_TEMPO_WANTED), AfterValidator(_slower_first)]
Seconds = number(high=MAX_DURATION_S, above=0.0)
Fraction = number(0.0, 1.0)


def section(model: type[BaseModel]) -> Any:
    """A nested mapping checked by ``model`` (all keys optional)."""
    return Annotated[model, _wanted(f"a mapping with keys {', '.join(model.model_fields)}")]


# --- the three kinds --------------------------------------------------------------------------
class _Keys(BaseModel):
    """Strict and closed: YAML's types are kept as they are, unknown keys are refused."""

    model_config = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=True)


TopK = number(0, 2048, integer=True)
TopP = number(0.0, 1.0)
Temperature = number(high=5.0, above=0.0)
CfgCoef = number(0.0, 20.0)
GENERATION_TYPES = {"top_k": TopK, "top_p": TopP, "temperature": Temperature, "cfg_coef": CfgCoef}
"""The sampling settings' types, which the command line's --top-k ... check values with."""


class Generation(_Keys):
    top_k: TopK = None
    top_p: TopP = None
    temperature: Temperature = None
    cfg_coef: CfgCoef = None


class _Common(_Keys):
    kind: one_of(KINDS)  # each kind narrows it; declared here so listings name it first
    description: Text = None
    prepend: Text = None
    append: Text = None
    generation: section(Generation) = None


class StylePreset(_Common):
    kind: Literal["style"]
    tags: Words = None
    instruments: Instruments = None
    tempo: TempoRange = None
    keys: Keys = None
    moods: Words = None
    energy: Fraction = None
    duration: Seconds = None


class RoleDuration(_Keys):
    min: Seconds = None
    max: Seconds = None
    default: Seconds = None


class Dynamics(_Keys):
    energy: Fraction = None
    loudness_lufs: number(-70.0, 0.0, optional=True) = None
    fade_in: number(0.0, 30.0) = None
    fade_out: number(0.0, 30.0) = None


class RolePreset(_Common):
    kind: Literal["role"]
    hint: Text = None
    duration: section(RoleDuration) = None
    duration_mode: one_of(DURATION_MODES) = None
    loop: Boolean = None
    loop_crossfade: number(0.0, 10.0) = None
    parts: Roles = None
    dynamics: section(Dynamics) = None

    @model_validator(mode="after")
    def _consistent(self) -> RolePreset:
        if self.duration is not None:
            low, high, default = self.duration.min, self.duration.max, self.duration.default
            if low is not None and high is not None and low > high:
                raise _rule(f"key 'duration.min' ({low:g} s) must not be above 'duration.max' ({high:g} s)")
            if default is not None and ((low is not None and default < low) or (high is not None and default > high)):
                raise _rule(f"key 'duration.default' ({default:g} s) must lie between "
                            "'duration.min' and 'duration.max'")
        if self.loop and self.duration_mode == "strict":
            raise _rule("key 'duration_mode' cannot be strict for a loop, which sets its own length")
        return self


class QualityPreset(_Common):
    kind: Literal["quality"]
    engine: one_of(ENGINES) = None
    model: one_of(tuple(KNOWN_MODELS), optional=True) = None
    max_duration: Seconds = None

    @model_validator(mode="after")
    def _consistent(self) -> QualityPreset:
        if self.engine == "musicgen" and self.model is None:
            raise _rule("key 'model' must name a MusicGen model when the engine is musicgen")
        if self.engine == "composer" and self.model is not None:
            raise _rule(f"key 'model' must be null when the engine is the composer, not {self.model!r}")
        return self


MODELS: dict[str, type[_Common]] = {"style": StylePreset, "role": RolePreset, "quality": QualityPreset}
_KIND = TypeAdapter(one_of(KINDS))


# --- checking ---------------------------------------------------------------------------------
def validate_preset(data: Any, source: str) -> dict[str, Any]:
    """The keys ``data`` sets, checked; ``PresetError`` naming ``source`` and the key otherwise."""
    if not isinstance(data, Mapping):
        raise PresetError(f"{source}: a preset file must be a mapping of keys to values, not {type(data).__name__}")
    if "kind" not in data:
        raise PresetError(f"{source}: key 'kind' is missing: say which kind of preset this is ({', '.join(KINDS)})")
    kind = check_value(_KIND, data["kind"], source, "kind")
    model = MODELS[kind]
    try:
        checked = model.model_validate(dict(data))
    except ValidationError as exc:
        raise PresetError(_sentence(exc.errors()[0], model, source)) from None
    return checked.model_dump(exclude_unset=True)


def check_value(kind: Any, value: Any, source: str, key: str) -> Any:
    """``value`` checked as one of the types above (or a ``TypeAdapter`` of one), or ``PresetError``."""
    adapter = kind if isinstance(kind, TypeAdapter) else TypeAdapter(kind)
    try:
        return adapter.validate_python(value, strict=True)
    except ValidationError as exc:
        raise PresetError(_sentence(exc.errors()[0], None, source, prefix=key)) from None


def _sentence(error: Mapping[str, Any], model: type[BaseModel] | None, source: str, prefix: str = "") -> str:
    names = [str(p) for p in error["loc"] if not isinstance(p, int) and p != "[key]"]
    key = ".".join(([prefix] if prefix else []) + names)
    if error["type"] == "preset_rule":
        return f"{source}: {error['ctx']['sentence']}"
    if error["type"] == "preset_value":
        return f"{source}: key '{key}' must be {error['ctx']['wanted']}, not {_shown(error['input'])}"
    if error["type"] in ("extra_forbidden", "invalid_key") and model is not None:
        return _unknown_key(model, [str(p) for p in error["loc"]], source)
    return f"{source}: key '{key}' is not allowed here ({error['msg']})"


def _unknown_key(model: type[BaseModel], path: list[str], source: str) -> str:
    """Unknown keys only occur in mappings of models, so every part of ``path`` is a key."""
    for part in path[:-1]:
        model = model.model_fields[part].annotation
    prefix = "".join(f"{part}." for part in path[:-1])
    names = {k: prefix + k for k in model.model_fields}
    if "generation" in names:  # "temperature" at the top belongs under generation
        names.update({k: f"generation.{k}" for k in GENERATION_KEYS})
    close = difflib.get_close_matches(path[-1], list(names), n=1)
    hint = f" (did you mean '{names[close[0]]}'?)" if close else ""
    allowed = ", ".join(model.model_fields)
    return f"{source}: unknown key '{prefix}{path[-1]}'{hint}; allowed keys are {allowed}"


def _shown(value: Any, limit: int = 80) -> str:
    """``repr`` of the offending value, shortened so a hostile file cannot flood the message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
