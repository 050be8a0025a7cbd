"""Query-term expansion over the index vocabulary: prefixes (search-as-you-type) and typo tolerance.

Both return ``(term_id, weight)`` pairs with weight < 1 so an exact match always outranks an expansion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from citybridge.search.analysis import fold_accents

if TYPE_CHECKING:
    from citybridge.search.lexical import LexicalIndex

PREFIX_WEIGHT = 0.9
FUZZY_CACHE_SIZE = 20_000  # memoised corrections per index (a few MB at most)


#: allowed edit distance by analysed-term length (short words get no correction: too many neighbours)
def max_edits(term: str) -> int:
    return 0 if len(term) < 4 else 1 if len(term) < 8 else 2


def _range(index: LexicalIndex, prefix: bytes) -> tuple[int, int]:
    lo = int(np.searchsorted(index.vocab, prefix, side="left"))
    # Smallest byte string greater than every string starting with prefix.
    p = prefix.rstrip(b"\xff")
    if not p:
        return lo, len(index.vocab)
    upper = p[:-1] + bytes([p[-1] + 1])
    return lo, int(np.searchsorted(index.vocab, upper, side="left"))


def prefix_terms(
    index: LexicalIndex, word: str, stem: str | None, limit: int = 20
) -> list[tuple[int, float]]:
    """Terms completing a partly typed ``word``: vocabulary terms starting with it, most frequent first.

    A stem is often shorter than the typed prefix (``sustainab`` vs the stem ``sustain``), so terms that
    are themselves a prefix of the word (at least 3/4 of its length) count too.
    """
    folded = fold_accents(word.lower())
    if not folded:
        return []
    width = index.vocab.dtype.itemsize
    out: dict[int, float] = {}
    pb = folded.encode("utf-8")
    if len(pb) <= width:
        lo, hi = _range(index, pb)
        ids = np.arange(lo, hi)
        if len(ids) > limit:
            ids = ids[np.argsort(-index._df[ids], kind="stable")[:limit]]
        out.update((int(i), PREFIX_WEIGHT) for i in ids)
    for cut in range(max(3, (3 * len(folded)) // 4), len(folded)):
        tid = index.term_id(folded[:cut])
        if tid >= 0:
            out.setdefault(tid, PREFIX_WEIGHT)
    if stem:
        tid = index.term_id(stem)
        if tid >= 0:
            out[tid] = 1.0
    return list(out.items())


def fuzzy_terms(index: LexicalIndex, term: str, *, max_expansions: int = 3) -> list[tuple[int, float]]:
    """Vocabulary terms within a small edit distance of ``term`` (rapidfuzz Levenshtein), nearest first.

    Memoised per index (an index never changes once built): one scan of the vocabulary costs several ms,
    and a query asks for the same term once per index language and again for ranking, matching and fusion.
    """
    k = max_edits(term)
    if k == 0:
        return []
    cache: dict[tuple[str, int], list[tuple[int, float]]] = index.__dict__.setdefault("_fuzzy_cache", {})
    hit = cache.get((term, max_expansions))
    if hit is not None:
        return hit
    if len(cache) >= FUZZY_CACHE_SIZE:
        cache.clear()
    cache[(term, max_expansions)] = out = _fuzzy_terms(index, term, k, max_expansions)
    return out


def _fuzzy_terms(index: LexicalIndex, term: str, k: int, max_expansions: int) -> list[tuple[int, float]]:
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    found = process.extract(
        term, index.vocabulary(), scorer=Levenshtein.distance, score_cutoff=k, limit=max_expansions * 4
    )
    # Prefer nearer, then more frequent terms (a common word is the likelier intended one).
    found.sort(key=lambda m: (m[1], -index.df(m[2])))
    return [(int(i), 1.0 - 0.25 * d) for _, d, i in found[:max_expansions]]
