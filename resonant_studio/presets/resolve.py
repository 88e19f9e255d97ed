"""One configuration from the presets and the user's values, with the reason for every value.

Layers, weakest first: built-in defaults < quality < role < style < your prompt < the
command line (or the window's explicit fields). A later layer wins key by key (instrument
hints merge role by role). A few values are then derived, each with a note that
``presets.explain.explain`` prints:

- tempo: stated by the user, else the prompt analysis' tempo moved into the style's range;
- key: stated by the user, else one of the style's keys picked by the seed;
- duration: stated by the user (refused above the quality tier's maximum), else the
  style's or role's, kept inside the role's range and the tier's maximum; a loop is
  rounded to whole bars so the beat lands when it repeats;
- bars: enough whole bars to cover the duration (plus the loop's crossfade), since the
  composer renders whole bars and post-processing cuts them to length.

The same presets, prompt and seed always give the same configuration, so a take rendered
with it can be rendered again bit for bit; ``to_dict()`` is stored with every take.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from engine.context import MAX_BARS, MusicalContext
from engine.postprocess import PostprocessSettings
from engine.text_context import TextContext
from engine.theory import pitch_name
from resonant_studio.core.errors import AppError
from resonant_studio.core.model_catalog import missing_model_message, model_folder, model_present
from resonant_studio.presets.layers import (DEFAULT_QUALITY, DEFAULTS, EXPLICIT_KEYS, Layer, compose_prompt, flatten,
                                           layer_value, merge, prompt_values)
from resonant_studio.presets.schema import GENERATION_KEYS, parse_key
from resonant_studio.presets.store import PresetLibrary

__all__ = ["DEFAULT_QUALITY", "DEFAULTS", "Layer", "ResolvedConfig", "compose_prompt", "flatten", "resolve"]


@dataclass
class ResolvedConfig:
    style: str | None
    role: str | None
    quality: str
    seed: int
    user_prompt: str
    prompt: str
    """The composed prompt: what the engine is given as text."""
    layers: list[Layer]
    values: dict[str, Any]
    origin: dict[str, str]
    notes: list[str]
    context: MusicalContext
    duration: float | None
    postprocess: PostprocessSettings
    text_context: TextContext | None = None
    analysis_text: str = ""

    # --- what the render needs -----------------------------------------------------------------
    @property
    def engine(self) -> str:
        return str(self.values["engine"])

    @property
    def model(self) -> str | None:
        return self.values.get("model") if self.engine == "musicgen" else None

    @property
    def model_dir(self) -> Path | None:
        return model_folder(self.model) if self.model else None

    @property
    def generation_params(self) -> dict[str, Any]:
        return {k: self.values[k] for k in GENERATION_KEYS}

    def check_model_available(self) -> None:
        """Raise a one-sentence ``AppError`` when the tier's model folder is not there."""
        if self.engine == "musicgen" and self.model and not model_present(self.model):
            raise AppError(missing_model_message(self.model, self.quality))

    def engine_options(self) -> dict[str, Any]:
        self.check_model_available()
        return {"model_dir": self.model_dir} if self.engine == "musicgen" and self.model_dir else {}

    def session_context(self) -> dict[str, Any]:
        """The session's context as plain data; ``duration_seconds`` when a role fixes the length."""
        ctx = self.context.to_dict()
        if self.duration is not None:
            ctx["duration_seconds"] = self.duration
        return ctx

    def to_dict(self) -> dict[str, Any]:
        return {
            "style": self.style,
            "role": self.role,
            "quality": self.quality,
            "seed": self.seed,
            "user_prompt": self.user_prompt,
            "prompt": self.prompt,
            "engine": self.engine,
            "model": self.model,
            "generation": self.generation_params,
            "tempo": self.context.tempo,
            "key": self.context.key_name,
            "bars": self.context.bars,
            "duration": self.duration,
            "postprocess": self.postprocess.to_dict(),
            "values": dict(self.values),
            "origin": dict(self.origin),
            "layers": [layer.to_dict() for layer in self.layers],
            "notes": list(self.notes),
            "text_context": self.text_context.to_dict() if self.text_context else None,
            "context": self.context.to_dict(),
        }


def resolve(library: PresetLibrary, *, user_prompt: str = "", style: str | None = None,
            role: str | None = None, quality: str | None = None, seed: int = 0,
            explicit: Mapping[str, Any] | None = None, text_context: TextContext | None = None) -> ResolvedConfig:
    """Resolve every layer into one configuration (see the module docstring)."""
    from engine.prompt import analyze_prompt

    explicit = {k: v for k, v in dict(explicit or {}).items() if v is not None}
    unknown = set(explicit) - set(EXPLICIT_KEYS)
    if unknown:
        raise AppError(f"unknown setting {sorted(unknown)[0]!r}: choose from {', '.join(EXPLICIT_KEYS)}")
    if text_context is not None:
        user_prompt = ". ".join(p for p in (user_prompt.strip(), text_context.prompt()) if p)
    quality_name = quality or DEFAULT_QUALITY
    layers = [Layer("built-in defaults", dict(DEFAULTS))]
    layers.append(Layer(f"quality {quality_name}", flatten(library.get("quality", quality_name))))
    if role:
        layers.append(Layer(f"role {role}", flatten(library.get("role", role))))
    if style:
        layers.append(Layer(f"style {style}", flatten(library.get("style", style))))
    from_prompt = prompt_values(user_prompt)
    if from_prompt:
        layers.append(Layer("your prompt", from_prompt))
    if explicit:
        layers.append(Layer("your settings", explicit))
    values, origin = merge(layers)
    notes: list[str] = []

    prompt = compose_prompt(values.get("tags", []), user_prompt, values.get("role_hint", ""),
                            values.get("prepend", ""), values.get("append", ""))
    # First reading: the tempo, meter and key the words suggest before any range applies.
    first = analyze_prompt(prompt, bars=1)
    tempo = _choose_tempo(values, origin, first.tempo, notes)
    tonic, mode = _choose_key(values, origin, first, seed, notes)
    bar_seconds = first.beats_per_bar * 60.0 / tempo
    duration, bars = _choose_length(values, origin, layers, bar_seconds, notes)

    # Second reading, at the chosen tempo and key (stated in words so the chords follow the key).
    stated = [f"{tempo:g} bpm"] if tempo != first.tempo else []
    if (tonic, mode) != (first.tonic, first.mode):
        stated.append(f"in {pitch_name(tonic)} {mode}")
    analysis_text = ". ".join([prompt, " ".join(stated)]) if stated else prompt
    ctx = analyze_prompt(analysis_text, bars=bars)
    if duration is None and ctx.duration > float(values["max_duration"]) + 1e-6:
        duration = float(values["max_duration"])
        values["duration"] = duration
        notes.append(f"{ctx.bars} bars last {ctx.duration:.1f} s, more than the {origin['max_duration']} renders: "
                     f"cut to {duration:g} s")
        ctx = analyze_prompt(analysis_text, bars=max(1, math.ceil(duration / bar_seconds - 1e-9)))
    changes: dict[str, Any] = {"tempo": tempo}
    if (ctx.tonic, ctx.mode) != (tonic, mode):
        changes.update(tonic=tonic, mode=mode)
        notes.append(f"key forced to {pitch_name(tonic)} {mode} after the prompt analysis read {ctx.key_name}")
    if "energy" in values:
        changes["energy"] = float(values["energy"])
    if values.get("instruments"):
        changes["instruments"] = tuple(sorted({**dict(ctx.instruments), **values["instruments"]}.items()))
    if values.get("moods"):
        changes["moods"] = tuple(dict.fromkeys(tuple(ctx.moods) + tuple(values["moods"])))
    if values.get("parts"):
        kept = tuple(r for r in values["parts"] if r in ctx.roles)
        if not kept:
            kept = tuple(values["parts"])
            notes.append(f"the prompt removed every part the {origin['parts']} plays; kept {', '.join(kept)}")
        changes["roles"] = kept
    roles = changes.get("roles", ctx.roles)
    instruments = changes.get("instruments", ctx.instruments)
    changes["instruments"] = tuple((r, h) for r, h in instruments if r in roles)
    context = ctx.with_changes(**changes)

    postprocess = PostprocessSettings(
        duration_seconds=duration,
        duration_mode=values["duration_mode"],
        loop=bool(values["loop"]) and duration is not None,
        loop_crossfade_seconds=float(values["loop_crossfade"]) if values["loop"] else 0.0,
        fade_in_seconds=float(values["fade_in"]),
        fade_out_seconds=float(values["fade_out"]),
        loudness_lufs=values.get("loudness_lufs"),
    )
    return ResolvedConfig(style=style, role=role, quality=quality_name, seed=int(seed), user_prompt=user_prompt,
                          prompt=prompt, layers=layers, values=values, origin=origin, notes=notes,
                          context=context, duration=duration, postprocess=postprocess,
                          text_context=text_context, analysis_text=analysis_text)


# --- derived values -------------------------------------------------------------------------------
def _choose_tempo(values: dict, origin: dict, suggested: float, notes: list[str]) -> float:
    if "tempo" in values:
        return float(values["tempo"])
    tempo = float(suggested)
    rng = values.get("tempo_range")
    if rng:
        low, high = rng
        if not low <= tempo <= high:
            moved = min(max(tempo, low), high)
            notes.append(f"tempo {tempo:g} bpm read from the prompt moved to {moved:g} bpm, "
                         f"inside the {origin['tempo_range']} range {low:g}-{high:g} bpm")
            tempo = moved
            origin["tempo"] = origin["tempo_range"]
    values["tempo"] = tempo
    origin.setdefault("tempo", "prompt analysis")
    return tempo


def _choose_key(values: dict, origin: dict, first: MusicalContext, seed: int, notes: list[str]) -> tuple[int, str]:
    if "key" in values:
        return parse_key(values["key"])
    keys = values.get("keys")
    if keys:
        wanted_mode = values.get("mode")
        candidates = [k for k in keys if parse_key(k)[1] == wanted_mode] if wanted_mode else list(keys)
        if candidates:
            choice = candidates[seed % len(candidates)]
            notes.append(f"key {choice} is the {origin['keys']} key that seed {seed} picks from {', '.join(candidates)}")
            values["key"] = choice
            origin["key"] = origin["keys"]
            return parse_key(choice)
    values["key"] = first.key_name
    origin["key"] = "prompt analysis"
    return first.tonic, first.mode


def _choose_length(values: dict, origin: dict, layers: list[Layer], bar_seconds: float,
                   notes: list[str]) -> tuple[float | None, int | None]:
    """(duration in seconds or None, bars to render or None for the analysis' own length)."""
    max_duration = float(values["max_duration"])
    tier = origin["max_duration"]
    explicit_layers = ("your prompt", "your settings")
    if "bars" in values and origin["bars"] in explicit_layers:
        bars = int(values["bars"])
        seconds = bars * bar_seconds
        if seconds > max_duration + 1e-6:
            raise AppError(f"{bars} bars at {values['tempo']:g} bpm last {seconds:.1f} s, more than the "
                           f"{tier} renders ({max_duration:g} s): ask for fewer bars or another quality")
        values["duration"] = seconds
        origin["duration"] = origin["bars"]
    duration = values.get("duration")
    if duration is None:
        return None, None  # no preset or person fixed a length: the prompt analysis decides
    duration = float(duration)
    rng = values.get("duration_range")
    if origin["duration"] in explicit_layers:
        if duration > max_duration + 1e-6:
            raise AppError(f"a duration of {duration:g} s is more than the {tier} renders ({max_duration:g} s): "
                           "ask for less or choose another quality")
    else:
        if rng:
            low = rng[0] if rng[0] is not None else 0.0
            high = rng[1] if rng[1] is not None else math.inf
            if not low <= duration <= high:
                role_default = layer_value(layers, "role ", "duration")
                fixed = role_default if role_default is not None else min(max(duration, low), high)
                notes.append(f"duration {duration:g} s from the {origin['duration']} is outside the "
                             f"{origin['duration_range']} range {low:g}-{high:g} s: used {fixed:g} s")
                duration = float(fixed)
                origin["duration"] = origin["duration_range"]
        if duration > max_duration:
            notes.append(f"duration {duration:g} s shortened to {max_duration:g} s, the most the {tier} renders")
            duration = max_duration
            origin["duration"] = tier
    if values.get("loop"):
        duration = _whole_bar_loop(duration, bar_seconds, rng, max_duration, notes)
    values["duration"] = duration
    render = duration + (float(values["loop_crossfade"]) if values.get("loop") else 0.0)
    bars = max(1, math.ceil(render / bar_seconds - 1e-9))
    if bars > MAX_BARS:
        raise AppError(f"{duration:g} s at {values['tempo']:g} bpm needs {bars} bars, more than {MAX_BARS}: "
                       "ask for a shorter duration")
    return duration, bars


def _whole_bar_loop(duration: float, bar_seconds: float, rng: list | None, max_duration: float,
                    notes: list[str]) -> float:
    low = (rng[0] if rng and rng[0] is not None else 0.0) - 1e-9
    high = min(rng[1] if rng and rng[1] is not None else math.inf, max_duration) + 1e-9
    n = duration / bar_seconds
    for bars in sorted({max(1, round(n)), max(1, math.floor(n)), math.ceil(n)}, key=lambda b: abs(b - n)):
        seconds = bars * bar_seconds
        if low <= seconds <= high:
            if abs(seconds - duration) > 1e-6:
                notes.append(f"loop length {duration:g} s rounded to {bars} whole bars ({seconds:.3f} s) "
                             "so the beat lands when it repeats")
            return seconds
    notes.append(f"loop length {duration:g} s kept: no whole number of bars fits the allowed range")
    return duration
