"""A BM25F lexical index over numpy arrays: precomputed per-term impacts in a CSC layout, memory-mappable.

Data (all ``.npy``, see :mod:`citybridge.search.artifacts`):

- ``vocab``     sorted analysed terms (UTF-8 bytes, fixed width); a term's id is its position.
- ``indptr``    postings of term ``t`` are ``[indptr[t], indptr[t+1])``.
- ``postings``  doc numbers (int32), ascending within a term.
- ``impacts``   BM25F score of the term in that doc (float32, idf included), so a query is a weighted sum
  of a few slices + a top-k selection.
- ``tokens``/``tok_offsets``  the analysed token stream of each doc (fields separated by -1), used to
  verify phrase queries; optional (``positions=False``).
- ``doc_ids``   external string ids (UTF-8 bytes).

Scoring is BM25F (Robertson & Zaragoza 2009): per field ``f`` a length-normalised frequency
``tf_f / (1 - b_f + b_f * len_f / avglen_f)`` is weighted by ``w_f`` and summed before the saturation
``tf~ (k1 + 1) / (k1 + tf~)``, times ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``. With one field and
weight 1 this is exactly Lucene's/bm25s' BM25.
"""

from __future__ import annotations

import os
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from citybridge.search.analysis import _WORD, Analyzer, get_analyzer
from citybridge.search.artifacts import ArtifactReader, ArtifactWriter, StaleIndex
from citybridge.search.query import Hits, ParsedQuery, QueryWord, as_allow_mask, parse_query, top_k

FORMAT = "citybridge.lexical"
VERSION = 1


@dataclass(frozen=True)
class FieldSpec:
    """How much a field counts (``weight``) and how strongly its length normalises (``b``)."""

    weight: float = 1.0
    b: float = 0.75


#: title > keywords > abstract > body. Tuned on SciFact train (title vs abstract); keywords/body by analogy.
DEFAULT_FIELDS: dict[str, FieldSpec] = {
    "title": FieldSpec(2.0, 0.75),
    "keywords": FieldSpec(1.5, 0.5),
    "abstract": FieldSpec(1.0, 0.75),
    "body": FieldSpec(0.8, 0.75),
}


# Bytes-level pre-tokenisation: ASCII punctuation -> space, ASCII upper -> lower (bytes.translate is a
# C loop, ~3x faster than the unicode regex). Each *distinct* raw token is then analysed once with the
# same regex the query side uses, so both sides produce identical terms.
_BYTE_TABLE = bytes(
    32 if chr(c) in string.punctuation else (c + 32 if 65 <= c <= 90 else c) for c in range(256)
)


class _TermTable:
    """Raw token -> term ids (per language), growing while documents are added."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self._langs: dict[str, tuple[dict[bytes, int], list[int], list[int], list[int]]] = {}

    def encode_many(self, lang: str, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Term ids of all texts concatenated (stopwords dropped) and the number of ids per text."""
        tokmap, offs, lens_e, flat_ids = self._langs.setdefault(lang, ({}, [], [], []))
        flat: list[bytes] = []
        lens = np.zeros(len(texts), dtype=np.int64)
        for i, t in enumerate(texts):
            if t:
                w = t.encode("utf-8", "ignore").translate(_BYTE_TABLE).split()
                flat += w
                lens[i] = len(w)
        new = set(flat).difference(tokmap)
        if new:
            analyzer, ids = get_analyzer(lang), self.ids
            for tok in new:
                tids = []
                for word in _WORD.findall(tok.decode("utf-8", "replace").lower()):
                    term = analyzer.term(word)
                    if term is not None:
                        tids.append(ids.setdefault(term, len(ids)))
                tokmap[tok] = len(lens_e)
                offs.append(len(flat_ids))
                lens_e.append(len(tids))
                flat_ids.extend(tids)
        entry = np.fromiter(map(tokmap.__getitem__, flat), dtype=np.int64, count=len(flat))
        e_len = np.asarray(lens_e, dtype=np.int64)[entry]
        out = np.asarray(flat_ids, dtype=np.int64)[_ranges(np.asarray(offs, dtype=np.int64)[entry], e_len)]
        owner = np.repeat(np.arange(len(texts)), lens)
        return out, np.bincount(owner, weights=e_len, minlength=len(texts)).astype(np.int64)


def _scatter_add(acc: np.ndarray, docs: np.ndarray, impacts: np.ndarray, w: float) -> None:
    """``acc[docs] += w * impacts`` (np.add.at has a fast path in numpy 2 that beats fancy-index +=)."""
    np.add.at(acc, docs, impacts if w == 1.0 else impacts * np.float32(w))


def _max_per_term(impacts: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Largest impact in each posting list (0 for empty lists): MaxScore's upper bounds."""
    out = np.zeros(len(indptr) - 1, dtype=np.float32)
    nonempty = np.flatnonzero(np.diff(indptr) > 0)
    if len(nonempty):
        out[nonempty] = np.maximum.reduceat(impacts, indptr[nonempty])
    return out


def _ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` for each (s, l), vectorised."""
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    excl = np.cumsum(lens) - lens
    return np.repeat(starts - excl, lens) + np.arange(total, dtype=np.int64)


class LexicalIndex:
    """BM25F index over documents with named text fields.

    Build with :meth:`build`, persist with :meth:`save`, reopen (mmap) with :meth:`load`.

    >>> idx = LexicalIndex.build([{"title": "Green roofs", "abstract": "Cooling cities"}], ids=["r1"])
    >>> idx.search("roof", k=5).docs.tolist()
    [0]
    """

    def __init__(self, arrays: Mapping[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.vocab = arrays["vocab"]
        self.indptr = arrays["indptr"]
        self.postings = arrays["postings"]
        self.impacts = arrays["impacts"]
        self.max_impact = arrays["max_impact"]
        self.doc_ids = arrays["doc_ids"]
        self.tokens = arrays.get("tokens")
        self.tok_offsets = arrays.get("tok_offsets")
        self.meta = meta
        self.n_docs = int(meta["n_docs"])
        self.languages: list[str] = list(meta["languages"])
        self._df = np.diff(self.indptr)
        self._vocab_list: list[str] | None = None
        self._number_of: dict[str, int] | None = None

    # ------------------------------------------------------------------ building
    @classmethod
    def build(
        cls,
        docs: Iterable[Mapping[str, str | None]],
        *,
        ids: Sequence[str] | None = None,
        langs: str | Sequence[str] = "en",
        fields: Mapping[str, FieldSpec] | None = None,
        k1: float = 1.2,
        positions: bool = True,
        fingerprint: str | None = None,
        chunk_size: int = 20_000,
        progress: Callable[[int], None] | None = None,
    ) -> LexicalIndex:
        """Index ``docs`` (mappings field -> text; unknown fields are ignored).

        Args:
            docs: documents in doc-number order; doc number ``i`` is the i-th document.
            ids: external string id per document (default: ``"0"``, ``"1"`` ...).
            langs: one language for all, or one per document (ISO 639-1), choosing the analyzer.
            fields: field weights/b (default :data:`DEFAULT_FIELDS`; add any field name you index).
            k1: BM25 term-frequency saturation.
            positions: keep the token stream for phrase queries (~4 bytes per token).
            fingerprint: opaque source state (e.g. a store revision) checked by :meth:`load`.
            chunk_size: documents analysed per batch (bounds peak memory).
            progress: called with the number of documents done after each batch.

        Returns:
            An in-memory index; call :meth:`save` to persist it.
        """
        from citybridge.search.lexical_build import _MemorySink, _Spill, build_arrays

        sink = _MemorySink()
        spill = _Spill(None)
        meta = build_arrays(docs, sink, spill, ids=ids, langs=langs, fields=dict(fields or DEFAULT_FIELDS), k1=k1,
                            positions=positions, fingerprint=fingerprint, chunk_size=chunk_size, progress=progress)
        return cls(sink.arrays, meta)

    @classmethod
    def build_to(
        cls,
        directory: str | os.PathLike[str],
        docs: Iterable[Mapping[str, str | None]],
        *,
        ids: Sequence[str] | None = None,
        langs: str | Sequence[str] = "en",
        fields: Mapping[str, FieldSpec] | None = None,
        k1: float = 1.2,
        positions: bool = True,
        fingerprint: str | None = None,
        chunk_size: int = 20_000,
        progress: Callable[[int], None] | None = None,
        bucket_pairs: int | None = None,
    ) -> LexicalIndex:
        """Build the index straight into ``directory`` with bounded memory and open it (mmap).

        Same arguments and the same arrays as :meth:`build` + :meth:`save`, but intermediate pairs are
        spilled next to the artifact and the postings are sorted one bucket of terms at a time (see
        :mod:`citybridge.search.lexical_build`), so peak memory is a chunk of documents plus a bucket of
        ``bucket_pairs`` postings, whatever the corpus size; ``docs`` may be a generator.
        """
        from citybridge.search.lexical_build import BUCKET_PAIRS, _FileSink, _Spill, build_arrays, spill_dir

        w = ArtifactWriter(directory, FORMAT, VERSION)
        spill = _Spill(spill_dir(w.dir))
        try:
            meta = build_arrays(docs, _FileSink(w), spill, ids=ids, langs=langs,
                                fields=dict(fields or DEFAULT_FIELDS), k1=k1, positions=positions,
                                fingerprint=fingerprint, chunk_size=chunk_size, progress=progress,
                                bucket_pairs=bucket_pairs or BUCKET_PAIRS)
        finally:
            spill.close()
        w.commit(meta)
        return cls.load(directory, verify=False)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the index to ``directory`` (atomically per file, manifest last)."""
        w = ArtifactWriter(directory, FORMAT, VERSION)
        names = ("vocab", "indptr", "postings", "impacts", "max_impact", "doc_ids", "tokens", "tok_offsets")
        for name in names:
            arr = getattr(self, name)
            if arr is not None:
                w.add(name, arr)
        w.commit(self.meta)
        return Path(directory)

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        *,
        fingerprint: str | None = None,
        mmap: bool = True,
        verify: bool | None = None,
    ) -> LexicalIndex:
        """Open a saved index; raises :class:`CorruptIndex` or :class:`StaleIndex` if it must be rebuilt.

        Args:
            fingerprint: if given, the source state the index must have been built from.
            mmap: map arrays read-only instead of reading them into memory.
            verify: checksum every file (default: only for small indexes).
        """
        expect: dict[str, Any] = {}
        if fingerprint is not None:
            expect["fingerprint"] = fingerprint
        r = ArtifactReader(directory, FORMAT, VERSION, expect=expect, verify=verify)
        for lang, cfg in r.manifest.get("analysis", {}).items():
            if get_analyzer(lang).config != cfg:
                raise StaleIndex(
                    f"analysis for {lang!r} changed since the index was built", where=str(directory)
                )
        arrays = {name: r.array(name, mmap=mmap) for name in r.manifest["files"]}
        return cls(arrays, r.manifest)

    # ------------------------------------------------------------------ ids
    def doc_id(self, number: int) -> str:
        """External id of internal doc number ``number``."""
        return bytes(self.doc_ids[number]).decode("utf-8")

    def doc_number(self, doc_id: str) -> int:
        """Internal doc number of external ``doc_id`` (builds a lookup table on first use)."""
        if self._number_of is None:
            self._number_of = {bytes(b).decode("utf-8"): i for i, b in enumerate(self.doc_ids)}
        return self._number_of[doc_id]

    # ------------------------------------------------------------------ terms
    def term_id(self, term: str) -> int:
        """Id of an analysed term, or -1 if it is not in the vocabulary."""
        b = term.encode("utf-8")
        if len(b) > self.vocab.dtype.itemsize or not len(self.vocab):
            return -1
        i = int(np.searchsorted(self.vocab, b))
        return i if i < len(self.vocab) and self.vocab[i] == b else -1

    def term(self, term_id: int) -> str:
        return bytes(self.vocab[term_id]).decode("utf-8")

    def df(self, term_id: int) -> int:
        return int(self._df[term_id])

    def vocabulary(self) -> list[str]:
        """All terms as a list (decoded lazily once; used for typo tolerance)."""
        if self._vocab_list is None:
            self._vocab_list = [bytes(b).decode("utf-8") for b in self.vocab]
        return self._vocab_list

    def _analyzers(self, lang: str | None) -> list[Analyzer]:
        return [get_analyzer(lang)] if lang else [get_analyzer(x) for x in self.languages or ["en"]]

    def query_terms(
        self,
        parsed: ParsedQuery,
        *,
        lang: str | None = None,
        fuzzy: bool | str = "auto",
        max_expansions: int = 20,
    ) -> dict[int, float]:
        """Weighted term ids of a parsed query, after analysis, prefix expansion and typo tolerance.

        Words analysed by several index languages contribute each distinct variant once.
        ``fuzzy="auto"`` corrects only words not found in the vocabulary; ``True`` always adds near terms.
        """
        from citybridge.search.expand import fuzzy_terms, prefix_terms

        weights: dict[int, float] = {}
        analyzers = self._analyzers(lang)
        words = list(parsed.words)
        for phrase in parsed.phrases:
            words.extend(QueryWord(w) for w in _WORD.findall(phrase))
        for qw in words:
            word = qw.text.lower()
            variants: dict[int, float] = {}
            for an in analyzers:
                t = an.term(word)
                if t is None:
                    continue
                tid = self.term_id(t)
                if tid >= 0:
                    variants[tid] = 1.0
                if qw.prefix:
                    for pid, w in prefix_terms(self, word, t, max_expansions):
                        variants.setdefault(pid, w)
                elif fuzzy and (fuzzy is True or tid < 0):
                    for fid, w in fuzzy_terms(self, t, max_expansions=3):
                        variants.setdefault(fid, w)
            for tid, w in variants.items():
                weights[tid] = weights.get(tid, 0.0) + w
        return weights

    # ------------------------------------------------------------------ scoring
    def score_docs(self, weights: Mapping[int, float], docs: np.ndarray) -> np.ndarray:
        """BM25F scores of the given doc numbers for weighted query terms (for fusion and re-ranking)."""
        docs = np.asarray(docs, dtype=np.int64)
        out = np.zeros(len(docs), dtype=np.float32)
        for tid, w in weights.items():
            lo, hi = int(self.indptr[tid]), int(self.indptr[tid + 1])
            post = self.postings[lo:hi]
            pos = np.searchsorted(post, docs)
            pos_c = np.minimum(pos, max(hi - lo - 1, 0))
            if hi > lo:
                hit = post[pos_c] == docs
                out += np.where(hit, self.impacts[lo:hi][pos_c], 0).astype(np.float32) * np.float32(w)
        return out

    def _accumulate(
        self, weights: Mapping[int, float], allow: np.ndarray | None, k: int, prune: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Candidate docs and their exact scores (a superset of the top ``k``)."""
        spans = [(int(self.indptr[t]), int(self.indptr[t + 1]), w, t) for t, w in weights.items()]
        spans = [s for s in spans if s[1] > s[0]]
        if not spans:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        total = sum(hi - lo for lo, hi, _, _ in spans)
        if total * 8 < self.n_docs:
            # Few postings: aggregate them directly, cost O(P log P) independent of corpus size.
            ids = np.concatenate([self.postings[lo:hi] for lo, hi, _, _ in spans])
            sc = np.concatenate([self.impacts[lo:hi] * np.float32(w) for lo, hi, w, _ in spans])
            if allow is not None:
                keep = allow[ids]
                ids, sc = ids[keep], sc[keep]
            if len(spans) == 1:
                return ids.astype(np.int64), sc
            uniq, inv = np.unique(ids, return_inverse=True)
            return uniq.astype(np.int64), np.bincount(inv, weights=sc).astype(np.float32)

        # MaxScore, vectorised: a lower bound theta on the k-th best score (from fully scoring a few
        # promising docs) lets the terms whose summed upper bounds stay below theta skip the scatter:
        # a doc matching only those cannot reach the top k, so they are only looked up for survivors.
        ub = {t: float(self.max_impact[t]) * w for _, _, w, t in spans}
        theta = 0.0
        if prune and len(spans) > 1:
            theta = self._theta(spans, ub, weights, allow, k)
        noness: list[tuple[int, int, float, int]] = []
        cum = 0.0
        for sp in sorted(spans, key=lambda s: ub[s[3]]):
            if cum + ub[sp[3]] >= theta:
                break
            cum += ub[sp[3]]
            noness.append(sp)
        ess = [sp for sp in spans if sp not in noness]
        acc = np.zeros(self.n_docs, dtype=np.float32)
        for lo, hi, w, _ in ess:
            _scatter_add(acc, self.postings[lo:hi], self.impacts[lo:hi], w)
        if allow is not None:
            acc *= allow
        cut = np.float32((theta - cum) * (1 - 1e-5))  # float32 sums differ by order: keep a margin
        cand = np.flatnonzero(acc >= cut) if cut > 0 else np.flatnonzero(acc)
        # Each non-essential term: binary-search the survivors if that is cheaper than a scatter.
        lookup = {}
        for lo, hi, w, t in noness:
            if len(cand) * 16 < hi - lo:
                lookup[t] = w
            else:
                _scatter_add(acc, self.postings[lo:hi], self.impacts[lo:hi], w)
        sc = acc[cand]
        if lookup:
            sc = sc + self.score_docs(lookup, cand)
        if theta > 0:
            keep = sc >= np.float32(theta * (1 - 1e-5))
            cand, sc = cand[keep], sc[keep]
        return cand, sc

    def _theta(
        self,
        spans: list[tuple[int, int, float, int]],
        ub: dict[int, float],
        weights: Mapping[int, float],
        allow: np.ndarray | None,
        k: int,
    ) -> float:
        """k-th best full score among the top-impact docs of the strongest short lists (0 if too few)."""
        short = [s for s in spans if s[1] - s[0] <= max(self.n_docs // 20, 4 * k)]
        if not short:
            return 0.0
        picks = []
        for lo, hi, _, _ in sorted(short, key=lambda s: -ub[s[3]])[:2]:
            imp = self.impacts[lo:hi]
            m = min(4 * k, len(imp))
            top = np.argpartition(-imp, m - 1)[:m] if len(imp) > m else np.arange(len(imp))
            picks.append(np.asarray(self.postings[lo:hi][top], dtype=np.int64))
        sample = np.unique(np.concatenate(picks))
        if allow is not None:
            sample = sample[allow[sample]]
        if len(sample) < k:
            return 0.0
        full = self.score_docs(weights, sample)
        return float(np.partition(full, len(full) - k)[len(full) - k])

    def phrase_docs(
        self, phrase: str, *, lang: str | None = None, allow: np.ndarray | None = None
    ) -> np.ndarray:
        """Doc numbers containing ``phrase`` as consecutive analysed terms within one field.

        Stopwords are removed on both sides, so ``"city of Lisbon"`` also matches ``city in Lisbon``.
        """
        if self.tokens is None:
            from citybridge.errors import Unavailable

            raise Unavailable("this index was built without positions; phrase queries need positions=True")
        best: np.ndarray | None = None
        for an in self._analyzers(lang):
            tids = [self.term_id(t) for t in an.terms(phrase)]
            if not tids or min(tids) < 0:
                continue
            found = _verify_phrase(self, tids, allow)
            best = found if best is None else np.union1d(best, found)
        return np.zeros(0, np.int64) if best is None else best

    def search(
        self,
        query: str | ParsedQuery,
        k: int = 10,
        *,
        allow: np.ndarray | None = None,
        lang: str | None = None,
        fuzzy: bool | str = "auto",
        prefix: bool = False,
    ) -> Hits:
        """Top ``k`` documents for ``query``.

        Args:
            query: text with optional ``"phrases"`` (required, verified on positions) and ``prefix*`` words.
            k: how many hits.
            allow: filter applied inside the search (boolean mask over doc numbers, packed bitset or an
                array of allowed doc numbers): the top ``k`` are the best *allowed* documents.
            lang: analyse the query for this language only (default: every language of the index).
            fuzzy: ``"auto"`` corrects words missing from the vocabulary; False disables; True always.
            prefix: treat the last word as a prefix (search-as-you-type).

        Returns:
            :class:`Hits` (doc numbers + scores), best first.
        """
        parsed = parse_query(query) if isinstance(query, str) else query
        if prefix and parsed.words and not parsed.words[-1].prefix:
            parsed.words[-1] = QueryWord(parsed.words[-1].text, True)
        mask = as_allow_mask(allow, self.n_docs)
        weights = self.query_terms(parsed, lang=lang, fuzzy=fuzzy)
        if parsed.phrases:
            cand: np.ndarray | None = None
            for p in parsed.phrases:
                found = self.phrase_docs(p, lang=lang, allow=mask)
                cand = found if cand is None else np.intersect1d(cand, found, assume_unique=True)
            assert cand is not None
            return top_k(cand, self.score_docs(weights, cand), k)
        docs, scores = self._accumulate(weights, mask, k)
        return top_k(docs, scores, k)


def _ids_array(ids: Sequence[str] | None, n: int) -> np.ndarray:
    if ids is None:
        ids = [str(i) for i in range(n)]
    if len(ids) != n:
        raise ValueError(f"{len(ids)} ids for {n} documents")
    enc = [str(i).encode("utf-8") for i in ids]
    width = max((len(b) for b in enc), default=1)
    return np.array(enc, dtype=f"S{max(width, 1)}")


def _verify_phrase(index: LexicalIndex, tids: list[int], allow: np.ndarray | None) -> np.ndarray:
    """Docs whose token stream has ``tids`` consecutively (vectorised over all candidate docs)."""
    lists = sorted((index.postings[index.indptr[t] : index.indptr[t + 1]] for t in set(tids)), key=len)
    docs = np.asarray(lists[0], dtype=np.int64)
    for other in lists[1:]:
        docs = np.intersect1d(docs, other, assume_unique=True)
    if allow is not None:
        docs = docs[allow[docs]]
    if len(tids) == 1 or len(docs) == 0:
        return docs
    assert index.tokens is not None and index.tok_offsets is not None
    m = len(tids)
    starts = np.asarray(index.tok_offsets[docs], dtype=np.int64)
    lens = np.asarray(index.tok_offsets[docs + 1], dtype=np.int64) - starts
    total = int(lens.sum())
    owner = np.repeat(np.arange(len(docs)), lens)
    rel = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens)
    pos = np.repeat(starts, lens) + rel
    ok = rel <= (lens[owner] - m)
    toks = index.tokens
    ok &= np.asarray(toks[pos]) == tids[0]
    for i in range(1, m):
        cand = np.flatnonzero(ok)
        ok[cand] = np.asarray(toks[pos[cand] + i]) == tids[i]
    return docs[np.unique(owner[ok])]
