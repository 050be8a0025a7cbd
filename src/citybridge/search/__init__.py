"""Search: a BM25F lexical index, a vector index per embedding model, and their fusion.

Everything here is generic over *doc numbers* (0..n-1, mapped to string ids by the index) so the service
layer decides what a document is, which fields it has, and which docs a caller may see (``allow`` masks
are enforced inside every search, never by post-filtering a short top-k). Indexes are versioned,
memory-mapped artifacts derived from the store: on :class:`CorruptIndex`/:class:`StaleIndex`, rebuild.

>>> lex = LexicalIndex.build(docs, ids=ids, langs="en")                          # doctest: +SKIP
>>> vec = VectorIndex.build(get_embedder().embed(texts), get_embedder().model_id)  # doctest: +SKIP
>>> HybridSearcher(lex, vec, get_embedder()).search("green roofs", k=10, allow=mask)  # doctest: +SKIP
"""

from citybridge.search.analysis import Analyzer, fold_accents, get_analyzer, supported_languages
from citybridge.search.artifacts import CorruptIndex, IndexArtifactError, StaleIndex
from citybridge.search.fusion import (
    DEFAULT_FUSION,
    FusionConfig,
    HybridSearcher,
    blend,
    fuse,
    fusion_for,
    normalize,
    rrf,
)
from citybridge.search.lexical import DEFAULT_FIELDS, FieldSpec, LexicalIndex
from citybridge.search.query import Hits, ParsedQuery, QueryWord, as_allow_mask, parse_query
from citybridge.search.snippets import Snippet, snippet
from citybridge.search.vector import VectorIndex

__all__ = [
    "DEFAULT_FIELDS",
    "DEFAULT_FUSION",
    "Analyzer",
    "CorruptIndex",
    "FieldSpec",
    "FusionConfig",
    "Hits",
    "HybridSearcher",
    "IndexArtifactError",
    "LexicalIndex",
    "ParsedQuery",
    "QueryWord",
    "Snippet",
    "StaleIndex",
    "VectorIndex",
    "as_allow_mask",
    "blend",
    "fold_accents",
    "fuse",
    "fusion_for",
    "get_analyzer",
    "normalize",
    "parse_query",
    "rrf",
    "snippet",
    "supported_languages",
]
