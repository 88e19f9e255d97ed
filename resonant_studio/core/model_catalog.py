"""The checkpoints the engines know, and where their folders live.

``models/manifest.json`` is the catalogue (this module is its one reader): each entry names a
Hugging Face repository, the files of it an engine needs (``allow_patterns``), its licence,
approximate size, the engine that serves it and the quality tier whose default it is.

The models folder is ``RESONANT_MODELS_DIR`` when set; otherwise ``models/`` of the source
checkout when running from one (where the manifest sits), otherwise ``models/`` under the
user data dir (platformdirs) of an installed app, never inside site-packages.
``resonant_studio.core.model_store`` downloads into it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from resonant_studio.core.errors import AppError
from resonant_studio.core.settings import data_dir

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "models" / "manifest.json"
PARTIAL_DIR = ".partial"
"""Downloads in progress live in ``<models>/.partial/<name>/`` until verified, then move into place."""
RECORD = ".resonant-model.json"
"""A pulled folder's record: the hub commit and hashes it was checked against, and what is wrong with it."""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    hf_repo: str
    label: str
    approx_size_gb: float | None
    description: str
    tier: str | None = None
    engine: str = "musicgen"
    licence: str = ""
    channels: int | None = None
    revision: str = "main"
    allow_patterns: tuple[str, ...] = ()
    needs: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {"name": self.name, "hf_repo": self.hf_repo, "label": self.label,
                "approx_size_gb": self.approx_size_gb, "description": self.description, "tier": self.tier,
                "engine": self.engine, "licence": self.licence, "channels": self.channels,
                "revision": self.revision, "allow_patterns": list(self.allow_patterns), "needs": list(self.needs)}


def _read_manifest(path: Path = MANIFEST) -> dict[str, ModelInfo]:
    data = json.loads(path.read_text(encoding="utf-8"))
    defaults = data.get("default_allow_patterns", {})
    models: dict[str, ModelInfo] = {}
    for entry in data["models"]:
        engine = entry.get("engine", "musicgen")
        patterns = entry.get("allow_patterns") or defaults.get(engine, ["*"])
        models[entry["name"]] = ModelInfo(
            name=entry["name"], hf_repo=entry["hf_repo"], label=entry.get("label", entry["name"]),
            approx_size_gb=entry.get("approx_size_gb"), description=entry.get("description", ""),
            tier=entry.get("tier"), engine=engine, licence=entry.get("licence", ""), channels=entry.get("channels"),
            revision=entry.get("revision", "main"), allow_patterns=tuple(patterns), needs=tuple(entry.get("needs", ())))
    return models


KNOWN_MODELS: dict[str, ModelInfo] = _read_manifest()


def model_info(name: str) -> ModelInfo:
    """The catalogue entry ``name``; an unknown name is one sentence listing the known ones."""
    try:
        return KNOWN_MODELS[name]
    except KeyError:
        raise AppError(f"there is no model called {name!r}: choose one of {', '.join(KNOWN_MODELS)} "
                       "(see `resonant models list`)") from None


def model_for_tier(tier: str) -> str | None:
    """The catalogue's model for a quality tier (e.g. preview -> musicgen-small), or None."""
    return next((m.name for m in KNOWN_MODELS.values() if m.tier == tier), None)


def _running_from_source() -> bool:
    return (ROOT / "pyproject.toml").is_file() and "site-packages" not in ROOT.parts


def models_dir() -> Path:
    override = os.environ.get("RESONANT_MODELS_DIR")
    if override:
        return Path(override).expanduser()
    return ROOT / "models" if _running_from_source() else data_dir() / "models"


def model_folder(name: str) -> Path:
    return models_dir() / name


def partial_folder(name: str) -> Path:
    return models_dir() / PARTIAL_DIR / name


def recorded_problem(name: str) -> str | None:
    """What the folder's record says is wrong (a file failing the hub's hash, an engine refusal), else None."""
    try:
        record = json.loads((model_folder(name) / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    if record.get("bad"):
        return f"{record['bad'][0]} does not match the hub's hash"
    return str(record["problem"]) if record.get("problem") else None


def model_present(name: str) -> bool:
    """True when the model's folder has a config.json and no recorded problem (pulls move in only once verified)."""
    return (model_folder(name) / "config.json").is_file() and recorded_problem(name) is None


def missing_model_message(name: str, tier: str | None = None) -> str:
    """What to do when ``name`` is not installed: one sentence, the one-click way first."""
    info = KNOWN_MODELS.get(name)
    label = info.label if info else name
    size = f" ({info.approx_size_gb:g} GB)" if info and info.approx_size_gb else ""
    repo = f" {info.hf_repo}" if info else ""
    problem = recorded_problem(name) if model_folder(name).is_dir() else None
    if problem:
        return (f"{label} in {model_folder(name)} is broken ({problem}): repair it from File > Models… "
                f"or with `resonant models pull {name}`, which fetches only what is wrong")
    who = f"the {tier} tier needs {label}{size}" if tier else f"{label}{size} is not installed"
    return (f"{who}: download it from File > Models… or with `resonant models pull {name}`, "
            f"or put the Hugging Face folder{repo} in {model_folder(name)}")


def default_engine_options(engine: str, tier: str | None = None) -> dict[str, str]:
    """Options for an engine picked without a model folder: MusicGen gets the tier's model from
    the models folder (preview's when no MusicGen tier is asked). Raises AppError when it is missing."""
    if engine != "musicgen":
        return {}
    name = model_for_tier(tier or "") or model_for_tier("preview")
    if name is None or not model_present(name):
        raise AppError(missing_model_message(name or "musicgen-small", tier))
    return {"model_dir": str(model_folder(name))}
