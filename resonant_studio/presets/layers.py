"""The layers a configuration is resolved from: built-in defaults, presets flattened to plain
keys, the values the user's own prompt states, and how layers merge (later wins, key by key;
instrument hints merge role by role). ``preset_resolve`` derives the final values from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.theory import pitch_name
from resonant_studio.presets.schema import GENERATION_KEYS
from resonant_studio.presets.store import Preset

DEFAULT_QUALITY = "sketch"
DEFAULTS: dict[str, Any] = {
    "engine": "composer",
    "model": None,
    "max_duration": 300.0,
    "top_k": 250,
    "top_p": 0.0,
    "temperature": 1.0,
    "cfg_coef": 3.0,
    "duration_mode": "crop",
    "loop": False,
    "loop_crossfade": 0.5,
    "fade_in": 0.0,
    "fade_out": 0.0,
    "loudness_lufs": None,
}
EXPLICIT_KEYS = ("engine", "tempo", "key", "duration", "bars", "duration_mode", "loudness_lufs",
                 "prepend", "append") + GENERATION_KEYS


@dataclass(frozen=True)
class Layer:
    """One source of values: ``name`` as a person reads it, ``values`` as flat keys."""

    name: str
    values: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "values": dict(self.values)}


def flatten(preset: Preset) -> dict[str, Any]:
    """A preset's settings as the flat keys the layers merge."""
    d = preset.data
    out: dict[str, Any] = dict(d.get("generation", {}))
    for key in ("prepend", "append"):
        if key in d:
            out[key] = d[key]
    if preset.kind == "style":
        for key in ("tags", "instruments", "keys", "moods", "energy", "duration"):
            if key in d:
                out[key] = d[key]
        if "tempo" in d:
            out["tempo_range"] = list(d["tempo"])
    elif preset.kind == "role":
        if "hint" in d:
            out["role_hint"] = d["hint"]
        duration = d.get("duration", {})
        if "min" in duration or "max" in duration:
            out["duration_range"] = [duration.get("min"), duration.get("max")]
        if "default" in duration:
            out["duration"] = duration["default"]
        for key in ("duration_mode", "loop", "loop_crossfade", "parts"):
            if key in d:
                out[key] = d[key]
        dynamics = d.get("dynamics", {})
        for src, dst in (("energy", "energy"), ("loudness_lufs", "loudness_lufs"),
                         ("fade_in", "fade_in"), ("fade_out", "fade_out")):
            if src in dynamics:
                out[dst] = dynamics[src]
    else:
        for key in ("engine", "model", "max_duration"):
            if key in d:
                out[key] = d[key]
    return out


def compose_prompt(tags: list[str], user_prompt: str, role_hint: str, prepend: str = "", append: str = "") -> str:
    """``{prepend} {style tags}. {user prompt}. {role hint} {append}``, empty pieces left out."""
    pieces = [prepend, ", ".join(tags), user_prompt, role_hint, append]
    return ". ".join(p.strip().rstrip(".").strip() for p in pieces if p and p.strip().rstrip("."))


def prompt_values(user_prompt: str) -> dict[str, Any]:
    """What the user's own words state outright: tempo, key, length, instruments."""
    from engine.part_hints import instrument_hints
    from engine.prompt import read_bars, read_key, read_seconds, read_tempo

    low = " ".join(user_prompt.lower().split())
    out: dict[str, Any] = {}
    if not low:
        return out
    tempo = read_tempo(low)
    if tempo is not None:
        out["tempo"] = tempo
    key = read_key(" ".join(user_prompt.split()))
    if key.tonic is not None and key.mode is not None:
        out["key"] = f"{pitch_name(key.tonic)} {key.mode}"
    elif key.mode is not None:
        out["mode"] = key.mode
    bars = read_bars(low)
    seconds = read_seconds(low)
    if bars is not None:
        out["bars"] = bars
    elif seconds is not None:
        out["duration"] = seconds
    hints = instrument_hints(low)
    if hints:
        out["instruments"] = dict(hints)
    return out


def merge(layers: list[Layer]) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for layer in layers:
        for key, value in layer.values.items():
            if key == "instruments":
                merged = dict(values.get("instruments", {}))
                merged.update(value)
                values["instruments"] = merged
                for role in value:
                    origin[f"instruments.{role}"] = layer.name
                origin["instruments"] = layer.name
            else:
                values[key] = value
                origin[key] = layer.name
    return values, origin


def layer_value(layers: list[Layer], prefix: str, key: str) -> Any:
    for layer in layers:
        if layer.name.startswith(prefix) and key in layer.values:
            return layer.values[key]
    return None
