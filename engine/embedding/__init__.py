"""Text embeddings (sentence vectors) computed in MLX."""

from engine.embedding.text import TEXT_DIM, TextEmbedder, find_model_dir, shared_text_embedder

__all__ = ["TEXT_DIM", "TextEmbedder", "find_model_dir", "shared_text_embedder"]
