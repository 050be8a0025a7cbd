"""Fast mean-pooled wordllama embeddings: the same numbers as ``WordLlama.embed(texts, norm=True)``, ~5x faster.

wordllama's tokenizer (a Llama SentencePiece BPE) has no pre-tokenizer, so ``tokenizers`` runs BPE over each
whole text as one "word" and cannot use its word cache: about 1 ms per abstract, more than everything else
the enrichment does. No token of its vocabulary has ``▁`` (the space marker) after another character, so no
BPE merge can cross the start of a space-separated chunk: tokenising chunk by chunk gives exactly the same
ids. Chunks repeat across texts, so their ids are cached. Pooling then sums the token vectors of each text
(no padding to the batch's longest text) and L2-normalises, as wordllama does.

:func:`chunked_encoder` returns ``None`` when the loaded tokenizer is not of the expected shape (a future
wordllama model); callers then use wordllama's own ``embed``.
"""

from __future__ import annotations

import hashlib
import json
import re
from itertools import chain
from typing import Any

import numpy as np

__all__ = ["ChunkedEncoder", "chunked_encoder"]

_SPACE = "\u2581"  # "▁", SentencePiece's word-start marker
_CHUNK = re.compile(f"{_SPACE}+[^{_SPACE}]*")
_EXPECTED_NORMALIZER = {
    "type": "Sequence",
    "normalizers": [
        {"type": "Prepend", "prepend": _SPACE},
        {"type": "Replace", "pattern": {"String": " "}, "content": _SPACE},
    ],
}
MAX_CACHE = 500_000  # cached chunks (a few tens of MB); cleared when full
# chunk -> ids, one table per tokenizer (by its JSON digest): the SDG tagger's encoder and the embedding
# step's encoder load the same tokenizer, so a chunk is tokenised once per process, not once per encoder
_CACHES: dict[str, dict[str, tuple[int, ...]]] = {}


class ChunkedEncoder:
    """Token ids and pooled embeddings of texts for one wordllama model (see the module docstring)."""

    def __init__(self, model: Any, cache_key: str = "") -> None:
        self.bpe = model.tokenizer.model
        self.matrix: np.ndarray = model.embedding
        self.cache: dict[str, tuple[int, ...]] = _CACHES.setdefault(cache_key, {}) if cache_key else {}

    def _chunk_ids(self, text: str) -> list[tuple[int, ...]]:
        """The ids of each space-started chunk of ``text``, in order (their concatenation is :meth:`ids`)."""
        chunks = _CHUNK.findall(_SPACE + text.replace(" ", _SPACE))
        cache = self.cache
        try:  # the common case, every chunk seen before: one C-level pass, no Python loop
            return list(map(cache.__getitem__, chunks))
        except KeyError:
            pass
        if len(cache) > MAX_CACHE:
            cache.clear()
        tokenize = self.bpe.tokenize
        for chunk in set(chunks).difference(cache):
            cache[chunk] = tuple(t.id for t in tokenize(chunk))
        return list(map(cache.__getitem__, chunks))

    def ids(self, text: str) -> list[int]:
        """The token ids wordllama's tokenizer gives ``text`` (no special tokens)."""
        if not text:
            return []
        return list(chain.from_iterable(self._chunk_ids(text)))

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised mean token vectors, float32, one row per text (``nan`` rows for empty texts, as
        wordllama gives)."""
        matrix = self.matrix
        limit = matrix.shape[0] - 1
        out = np.zeros((len(texts), matrix.shape[1]), dtype=np.float32)
        for i, text in enumerate(texts):
            if not text:
                continue
            rows = np.fromiter(chain.from_iterable(self._chunk_ids(text)), dtype=np.intp)
            if rows.size:
                # one gather + sum per text: faster than gathering a whole batch (memory-bound) or reduceat
                if rows.max() > limit:
                    np.clip(rows, 0, limit, out=rows)
                out[i] = matrix[rows].sum(axis=0) / np.float32(rows.size)
        with np.errstate(invalid="ignore", divide="ignore"):
            out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


def chunked_encoder(model: Any) -> ChunkedEncoder | None:
    """A :class:`ChunkedEncoder` for ``model``, or ``None`` when its tokenizer is not the expected kind."""
    try:
        spec = json.loads(model.tokenizer.to_str())
    except (AttributeError, ValueError):
        return None
    if (
        spec.get("normalizer") != _EXPECTED_NORMALIZER
        or spec.get("pre_tokenizer") is not None
        or (spec.get("model") or {}).get("type") != "BPE"
        or getattr(model, "binary", False)
    ):
        return None
    if any(re.search(f"[^{_SPACE}]{_SPACE}", tok) for tok in model.tokenizer.get_vocab()):
        return None  # a merge could cross a chunk boundary
    return ChunkedEncoder(model, hashlib.sha1(model.tokenizer.to_str().encode()).hexdigest())


def import_wordllama() -> Any:
    """``import wordllama`` without its side effect on the program's logging.

    wordllama (0.4) calls ``logging.basicConfig(level=logging.INFO)`` when imported: the root logger gets a
    stderr handler and the INFO level, so every library logger of the program (Alembic's migrations, httpx
    ...) starts printing. The root logger's level and handlers are put back as they were before the import.
    Raises ImportError when wordllama is not installed.
    """
    import logging

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        import wordllama
        import wordllama.inference  # noqa: F401  (also calls basicConfig)
    finally:
        for h in list(root.handlers):
            if h not in handlers:
                root.removeHandler(h)
        root.setLevel(level)
    return wordllama
