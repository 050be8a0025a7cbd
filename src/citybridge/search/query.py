"""Query syntax: free words, ``"exact phrases"`` and ``prefix*`` words.

>>> parse_query('green roofs "heat island" Lisb*')
ParsedQuery(words=[QueryWord(text='green', prefix=False), QueryWord(text='roofs', prefix=False), \
QueryWord(text='Lisb', prefix=True)], phrases=['heat island'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

_PHRASE = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"[^\W_]+\*?", re.UNICODE)


@dataclass(frozen=True)
class QueryWord:
    text: str
    prefix: bool = False


@dataclass
class ParsedQuery:
    words: list[QueryWord] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)


def parse_query(query: str) -> ParsedQuery:
    """Split ``query`` into free words, quoted phrases (their words also score) and ``word*`` prefixes.

    An unbalanced quote is treated as plain text rather than an error: users type half-finished queries.
    """
    phrases = [p.strip() for p in _PHRASE.findall(query) if p.strip()]
    rest = _PHRASE.sub(" ", query).replace('"', " ")
    words = []
    for w in _WORD.findall(rest):
        if w.endswith("*"):
            words.append(QueryWord(w[:-1], True))
        else:
            words.append(QueryWord(w))
    return ParsedQuery(words, phrases)


@dataclass(frozen=True)
class Hits:
    """Ranked results of one query: internal doc numbers and scores, best first."""

    docs: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.docs)

    @classmethod
    def empty(cls) -> Hits:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.float32))


def as_allow_mask(allow: np.ndarray | None, n: int) -> np.ndarray | None:
    """Normalise an allow-filter to a boolean mask of length ``n``.

    Accepts None (everything allowed), a boolean mask, a packed bitset (``np.packbits`` output, uint8,
    ``ceil(n/8)`` bytes) or an array of allowed doc numbers.
    """
    if allow is None:
        return None
    allow = np.asarray(allow)
    if allow.dtype == bool:
        if allow.shape != (n,):
            raise ValueError(f"allow mask has shape {allow.shape}, expected ({n},)")
        return allow
    if allow.dtype == np.uint8 and allow.shape == ((n + 7) // 8,) and n > 0:
        return np.unpackbits(allow, count=n).astype(bool)
    mask = np.zeros(n, dtype=bool)
    mask[allow.astype(np.int64)] = True
    return mask


def top_k(docs: np.ndarray, scores: np.ndarray, k: int) -> Hits:
    """Best ``k`` of (docs, scores), ordered by score desc then doc number asc (deterministic ties)."""
    if len(docs) == 0 or k <= 0:
        return Hits.empty()
    if len(docs) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        docs, scores = docs[part], scores[part]
    order = np.lexsort((docs, -scores))
    return Hits(docs[order].astype(np.int64), scores[order].astype(np.float32))
