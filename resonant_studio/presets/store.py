"""Style, role and quality presets: the built-in files, the user's own, and saving new ones.

Built-ins live in the ``presets/`` folder beside the application's packages (the wheel ships
that folder as the ``presets`` data package, so ``Path(__file__).parents[2] / "presets"``
finds it in a checkout, an editable install and an installed wheel alike). User presets
live in ``<config dir>/presets`` (``RESONANT_CONFIG_DIR`` overrides the config dir); a user
file with the same kind and name as a built-in replaces it, any other adds a preset.

A broken user preset never stops the others: ``load_presets`` records one sentence for it
in ``PresetLibrary.problems`` and goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from resonant_studio.presets import bounded_yaml
from resonant_studio.presets.bounded_yaml import MAX_BYTES
from resonant_studio.presets.schema import KINDS, NAME_PATTERN, PresetError, validate_preset
from resonant_studio.core.settings import config_dir
from tracks.atomic import write_bytes_atomic

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "presets"


def user_preset_dir() -> Path:
    return config_dir() / "presets"


@dataclass(frozen=True)
class Preset:
    kind: str
    name: str
    data: dict[str, Any]
    """Validated file content (``kind`` included)."""
    source: Path
    builtin: bool

    @property
    def description(self) -> str:
        return str(self.data.get("description", ""))

    def summary(self) -> dict[str, Any]:
        """Plain data for ``presets list --json`` and the window's pickers."""
        return {"kind": self.kind, "name": self.name, "description": self.description,
                "builtin": self.builtin, "source": str(self.source),
                "data": {k: v for k, v in self.data.items() if k != "kind"}}


@dataclass
class PresetLibrary:
    presets: dict[tuple[str, str], Preset] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    """One sentence per user preset that could not be loaded (skipped)."""

    def names(self, kind: str) -> list[str]:
        return sorted(name for k, name in self.presets if k == kind)

    def of_kind(self, kind: str) -> list[Preset]:
        return [self.presets[(kind, n)] for n in self.names(kind)]

    def get(self, kind: str, name: str) -> Preset:
        preset = self.presets.get((kind, name))
        if preset is None:
            known = ", ".join(self.names(kind)) or "none"
            broken = [p for p in self.problems if f"{name}.yaml:" in p]
            why = f" ({broken[0].rstrip('.')})" if broken else ""
            raise PresetError(f"there is no {kind} preset named {name!r}{why}: choose one of {known}")
        return preset

    def __iter__(self):
        return iter(sorted(self.presets.values(), key=lambda p: (KINDS.index(p.kind), p.name)))


def read_preset_file(path: Path, *, builtin: bool = False) -> Preset:
    """One preset from one YAML file; ``PresetError`` naming the file (and key) when it is wrong.

    Whatever the file holds (a billion laughs, 5,000-digit numbers, deep nesting, megabytes),
    the answer is a preset or one sentence, within milliseconds: see ``bounded_yaml``."""
    name = path.stem
    if not NAME_PATTERN.match(name):
        raise PresetError(f"{path}: a preset file name may use only lower-case letters, digits, '-' and '_'")
    try:
        if not path.is_file():  # a FIFO or a device would block or never end
            raise PresetError(f"{path}: is not a regular file")
        with path.open("rb") as file:
            raw = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise PresetError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if len(raw) > MAX_BYTES:
        raise PresetError(f"{path}: is larger than {MAX_BYTES // 1000} kB, far more than a preset needs")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PresetError(f"{path}: is not UTF-8 text") from None
    try:
        data = bounded_yaml.load(text)
    except yaml.YAMLError as exc:
        raise PresetError(_yaml_problem(path, text, exc)) from None
    checked = validate_preset(data, str(path))
    return Preset(kind=checked["kind"], name=name, data=checked, source=path, builtin=builtin)


def _yaml_problem(path: Path, text: str, exc: yaml.YAMLError) -> str:
    """One sentence for a YAML error or a refused bound, with the line it happened on."""
    mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
    where = ""
    if mark is not None:
        lines = text.splitlines()
        line = lines[mark.line].strip() if mark.line < len(lines) else ""
        where = f" at line {mark.line + 1}" + (f" ({line[:60]!r})" if line else "")
    problem = getattr(exc, "problem", None) or "unreadable"
    if isinstance(exc, bounded_yaml.PresetYAMLLimit):
        return f"{path}: is refused{where}: {problem}"
    return f"{path}: is not valid YAML{where} ({problem})"


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    # Not only regular files: a FIFO, a device or a symlink loop named *.yaml is read (safely,
    # refused by the bounded reader) so that it is reported, not silently ignored.
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and not p.is_dir())


def load_presets(user_dir: Path | None = None, builtin_dir: Path | None = None) -> PresetLibrary:
    """The built-ins, then the user's presets over them; broken user files are reported and skipped."""
    library = PresetLibrary()
    for path in _yaml_files(builtin_dir or BUILTIN_DIR):
        preset = read_preset_file(path, builtin=True)  # a broken built-in is a bug: let it raise
        library.presets[(preset.kind, preset.name)] = preset
    for path in _yaml_files(user_dir or user_preset_dir()):
        try:
            preset = read_preset_file(path)
        except PresetError as exc:
            library.problems.append(str(exc))
            continue
        library.presets[(preset.kind, preset.name)] = preset
    return library


def save_user_preset(kind: str, name: str, data: dict[str, Any], user_dir: Path | None = None,
                     *, overwrite: bool = False) -> Path:
    """Validate ``data`` as a ``kind`` preset and write it to the user folder atomically.

    Nothing is written when the data is invalid or the file exists and ``overwrite`` is False.
    """
    folder = user_dir or user_preset_dir()
    if not NAME_PATTERN.match(name):
        raise PresetError(f"preset name {name!r} may use only lower-case letters, digits, '-' and '_'")
    path = folder / f"{name}.yaml"
    content = {"kind": kind, **{k: v for k, v in data.items() if k != "kind"}}
    validate_preset(content, str(path))
    if path.exists() and not overwrite:
        raise PresetError(f"{path} already exists: choose another name or overwrite it")
    folder.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(content, sort_keys=False, allow_unicode=True)
    write_bytes_atomic(path, text.encode("utf-8"))
    return path


def style_preset_from(context: dict[str, Any], user_prompt: str, base: Preset | None = None,
                      generation: dict[str, Any] | None = None, duration: float | None = None) -> dict[str, Any]:
    """A style preset that recreates a session's sound: its tempo, key, instruments and moods,
    the base style's tags plus the user's own words. Plain data for ``save_user_preset``."""
    from engine.theory import pitch_name

    tempo = round(float(context.get("tempo", 120.0)), 3)
    tags = list(base.data.get("tags", [])) if base is not None else []
    words = " ".join(user_prompt.split())
    if words and words not in tags:
        tags.append(words)
    data: dict[str, Any] = {
        "description": f"Saved from \"{words}\"" if words else "Saved from a session",
        "tags": tags or ["instrumental"],
        "tempo": [tempo, tempo],
        "keys": [f"{pitch_name(int(context.get('tonic', 0)))} {context.get('mode', 'major')}"],
    }
    instruments = context.get("instruments") or {}
    if isinstance(instruments, (list, tuple)):
        instruments = dict(instruments)
    if instruments:
        data["instruments"] = {str(k): str(v) for k, v in instruments.items()}
    if context.get("moods"):
        data["moods"] = [str(m) for m in context["moods"]]
    if context.get("energy") is not None:
        data["energy"] = round(float(context["energy"]), 3)
    if generation:
        data["generation"] = {k: generation[k] for k in ("top_k", "top_p", "temperature", "cfg_coef") if k in generation}
    if duration:
        data["duration"] = round(float(duration), 3)
    return data


def describe_problems(problems: Iterable[str]) -> list[str]:
    """The problems as lines a person reads, each saying it was skipped."""
    return [f"skipped a user preset: {p.rstrip('.')}." for p in problems]
