"""The checkpoint's own T5 tokenizer, read from its ``tokenizer.json`` (or ``spiece.model``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.errors import ModelError, PromptError
from engine.musicgen.json_files import read_object

DEFAULT_MAX_TOKENS = 512  # T5's model_max_length, when tokenizer_config.json does not say


class TextTokenizer:
    """Prompts -> ``input_ids [B, L]`` and ``attention_mask [B, L]``, padded to the longest prompt."""

    def __init__(self, folder: Path):
        from tokenizers import Tokenizer

        folder = Path(folder)
        settings = {}
        if (folder / "tokenizer_config.json").is_file():
            settings = read_object(folder / "tokenizer_config.json")  # bounded: a hostile file is one sentence
        path = folder / "tokenizer.json"
        if path.is_file():
            try:
                self._tokenizer = Tokenizer.from_file(str(path))
            except Exception as exc:  # tokenizers raises a bare Exception on bad JSON
                raise ModelError(f"{path} cannot be read ({exc}): the tokenizer file is damaged") from exc
        elif (folder / "spiece.model").is_file():
            self._tokenizer = self._from_sentencepiece(folder / "spiece.model")
        else:
            raise ModelError(f"{folder} has no tokenizer.json or spiece.model: copy the checkpoint's tokenizer files there")
        pad = settings.get("pad_token", "<pad>")
        pad = pad.get("content", "<pad>") if isinstance(pad, dict) else pad
        if not isinstance(pad, str) or len(pad) > 100:
            raise ModelError(f"{folder / 'tokenizer_config.json'} sets pad_token to {str(pad)[:40]!r}, which is not a "
                             "token: the file is damaged")
        pad_id = self._tokenizer.token_to_id(pad)
        self.pad_id = 0 if pad_id is None else pad_id
        limit = settings.get("model_max_length")
        # transformers writes a huge sentinel (1e30) when a tokenizer has no limit: treat as T5's 512.
        self.max_tokens = int(limit) if isinstance(limit, (int, float)) and 0 < limit <= 1 << 20 else DEFAULT_MAX_TOKENS
        self._tokenizer.no_truncation()
        self._tokenizer.enable_padding(pad_id=self.pad_id, pad_token=pad)

    @staticmethod
    def _from_sentencepiece(path: Path):
        try:
            from tokenizers import SentencePieceUnigramTokenizer

            tok = SentencePieceUnigramTokenizer.from_spm(str(path))
        except Exception as exc:
            raise ModelError(
                f"{path} could not be converted without sentencepiece ({exc}): add the checkpoint's tokenizer.json"
            ) from exc
        from tokenizers import processors

        eos = tok.token_to_id("</s>")
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", eos)])
        return tok

    def __call__(self, prompts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        encodings = self._tokenizer.encode_batch(list(prompts))
        longest = max((sum(e.attention_mask) for e in encodings), default=0)
        if longest > self.max_tokens:
            raise PromptError(f"a prompt is {longest} tokens long but this model reads at most {self.max_tokens}: "
                              "shorten it")
        ids = np.array([e.ids for e in encodings], dtype=np.int32)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int32)
        return ids, mask
