"""The MusicGen checkpoints the quality tiers know, and where their folders are looked for.

Weights are never shipped: a person puts a Hugging Face checkpoint folder (config.json,
model.safetensors, tokenizer files) under the models folder, named as below. The folder is
``RESONANT_MODELS_DIR`` when set, otherwise ``models/`` next to the application's packages.
``models/manifest.json`` lists the same models for people and tools; a test keeps the two equal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelInfo:
    name: str
    hf_repo: str
    label: str
    approx_size_gb: float
    description: str

    def to_dict(self) -> dict:
        return {"name": self.name, "hf_repo": self.hf_repo, "label": self.label,
                "approx_size_gb": self.approx_size_gb, "description": self.description}


KNOWN_MODELS: dict[str, ModelInfo] = {m.name: m for m in (
    ModelInfo("musicgen-small", "facebook/musicgen-small", "MusicGen small", 2.4,
              "300M parameters, text to music; fast enough for previews"),
    ModelInfo("musicgen-medium", "facebook/musicgen-medium", "MusicGen medium", 8.0,
              "1.5B parameters, text to music; the render tier"),
    ModelInfo("musicgen-large", "facebook/musicgen-large", "MusicGen large", 13.0,
              "3.3B parameters, text to music; best quality, slowest"),
    ModelInfo("musicgen-melody", "facebook/musicgen-melody", "MusicGen melody", 6.0,
              "1.5B parameters, text plus a melody (chroma) to follow"),
)}


def models_dir() -> Path:
    override = os.environ.get("RESONANT_MODELS_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "models"


def model_folder(name: str) -> Path:
    return models_dir() / name


def model_present(name: str) -> bool:
    """True when the model's folder exists with a config.json (the rest is checked on load)."""
    return (model_folder(name) / "config.json").is_file()


def missing_model_message(name: str, tier: str | None = None) -> str:
    """What to do when ``name`` is not installed: one sentence, honest about how to get it."""
    info = KNOWN_MODELS.get(name)
    label = info.label if info else name
    repo = info.hf_repo if info else name
    who = f"the {tier} tier needs {label}" if tier else f"{label} is not installed"
    folder = model_folder(name)
    return (f"{who}: put the Hugging Face folder {repo} (config.json, model.safetensors and tokenizer files) "
            f"in {folder}, e.g. with `huggingface-cli download {repo} --local-dir {folder}` "
            "on a machine that can reach the Hugging Face hub")
