"""``--explain``: what each layer contributed to a resolved configuration, in plain text."""

from __future__ import annotations

from typing import Any

from resonant_studio.presets.resolve import ResolvedConfig


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items())
    return str(value)


def _layer_lines(config: "ResolvedConfig") -> list[str]:
    lines = []
    for layer in config.layers:
        lines.append(f"  {layer.name}:")
        if not layer.values:
            lines.append("      (nothing)")
        for key, value in layer.values.items():
            if key == "instruments":
                for role, hint in value.items():
                    winner = config.origin.get(f"instruments.{role}")
                    mark = "" if winner == layer.name else f"   (replaced by {winner})"
                    lines.append(f"      instruments.{role} = {hint}{mark}")
                continue
            winner = config.origin.get(key)
            mark = "" if winner == layer.name else f"   (replaced by {winner})"
            lines.append(f"      {key} = {_show(value)}{mark}")
    return lines


def explain(config: ResolvedConfig) -> str:
    ctx = config.context
    v = config.values
    num, den = ctx.meter
    lines = [f"Resolved configuration (seed {config.seed})"]
    lines.append(f"  prompt:   {config.prompt}")
    if config.text_context is not None:
        tc = config.text_context
        lines.append(f"  context:  topic {', '.join(tc.topic) or 'none'}; mood {', '.join(tc.moods) or 'none'}")
    lines.append("")
    lines.append("Layers, weakest first (a later layer replaces an earlier one key by key):")
    lines.extend(_layer_lines(config))
    if config.notes:
        lines.append("")
        lines.append("Derived:")
        lines.extend(f"  - {note}" for note in config.notes)
    lines.append("")
    lines.append("Result:")
    model = f", model {config.model}" if config.model else ""
    lines.append(f"  engine    {config.engine}{model}   ({config.origin.get('engine')})")
    lines.append(f"  tempo     {ctx.tempo:g} bpm   ({config.origin.get('tempo')})")
    lines.append(f"  key       {ctx.key_name}   ({config.origin.get('key')})")
    lines.append(f"  meter     {num}/{den}, {ctx.bars} bars rendered ({ctx.duration:.3f} s)")
    pp = config.postprocess
    if config.duration is not None:
        how = f"loop with a {pp.loop_crossfade_seconds:g} s crossfade" if pp.loop else pp.duration_mode
        lines.append(f"  duration  {config.duration:.3f} s, {how}   ({config.origin.get('duration')})")
    else:
        lines.append("  duration  the rendered bars, untouched")
    if not pp.loop and (pp.fade_in_seconds or pp.fade_out_seconds):
        lines.append(f"  fades     in {pp.fade_in_seconds:g} s, out {pp.fade_out_seconds:g} s   "
                     f"({config.origin.get('fade_out')})")
    loud = "untouched" if pp.loudness_lufs is None else f"{pp.loudness_lufs:g} LUFS, peaks at most {pp.peak_ceiling_db:g} dBFS"
    lines.append(f"  loudness  {loud}   ({config.origin.get('loudness_lufs')})")
    lines.append(f"  energy    {ctx.energy:g}   ({config.origin.get('energy', 'prompt analysis')})")
    lines.append(f"  parts     {', '.join(ctx.roles)}   ({config.origin.get('parts', 'prompt analysis')})")
    if ctx.instruments:
        lines.append("  sounds    " + ", ".join(f"{role}: {hint}" for role, hint in ctx.instruments))
    sampling = ", ".join(f"{k} {_show(v[k])} ({config.origin.get(k)})" for k in ("top_k", "top_p", "temperature", "cfg_coef"))
    lines.append(f"  sampling  {sampling}")
    return "\n".join(lines)
