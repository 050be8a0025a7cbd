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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import islice
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


class _TermTable:
    """Word -> provisional term id, per language, growing while documents are added."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self._by_lang: dict[str, tuple[Analyzer, dict[str, int]]] = {}

    def encoder(self, lang: str) -> Callable[[str], list[int]]:
        if lang not in self._by_lang:
            self._by_lang[lang] = (get_analyzer(lang), {})
        analyzer, words = self._by_lang[lang]
        ids = self.ids

        def encode(text: str) -> list[int]:
            out = []
            get = words.get
            for w in _WORD.findall(text.lower()):
                i = get(w)
                if i is None:
                    t = analyzer.term(w)
                    i = -1 if t is None else ids.setdefault(t, len(ids))
                    words[w] = i
                if i >= 0:
                    out.append(i)
            return out

        return encode


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
        fields = dict(fields or DEFAULT_FIELDS)
        names = list(fields)
        table = _TermTable()
        per_doc_lang = not isinstance(langs, str)
        enc_default = table.encoder(langs) if isinstance(langs, str) else None
        encoders: dict[str, Callable[[str], list[int]]] = {}
        pair_docs, pair_terms, pair_tf, flens, tok_chunks, tok_lens = [], [], [], [], [], []
        it = iter(docs)
        base = 0
        used_langs: set[str] = {langs} if isinstance(langs, str) else set()
        while True:
            chunk = list(islice(it, chunk_size))
            if not chunk:
                break
            m = len(chunk)
            flat: list[list[int]] = [[] for _ in names]
            lens = np.zeros((m, len(names)), dtype=np.int32)
            stream: list[int] = []
            slen = np.zeros(m, dtype=np.int64)
            for j, doc in enumerate(chunk):
                if per_doc_lang:
                    lang = langs[base + j]  # type: ignore[index]
                    used_langs.add(lang)
                    enc = encoders.get(lang) or encoders.setdefault(lang, table.encoder(lang))
                else:
                    enc = enc_default  # type: ignore[assignment]
                before = len(stream)
                for fi, name in enumerate(names):
                    text = doc.get(name)
                    if not text:
                        continue
                    tids = enc(text)
                    flat[fi].extend(tids)
                    lens[j, fi] = len(tids)
                    if positions:
                        stream.extend(tids)
                        stream.append(-1)
                slen[j] = len(stream) - before
            keys, fidx_bounds = [], [0]
            for fi in range(len(names)):
                arr = np.asarray(flat[fi], dtype=np.int64)
                d = np.repeat(np.arange(base, base + m, dtype=np.int64), lens[:, fi])
                keys.append((d << 32) | arr)
                fidx_bounds.append(fidx_bounds[-1] + len(arr))
            allkeys = np.concatenate(keys)
            uniq, inv = np.unique(allkeys, return_inverse=True)
            tf = np.zeros((len(uniq), len(names)), dtype=np.uint16)
            for fi in range(len(names)):
                seg = inv[fidx_bounds[fi] : fidx_bounds[fi + 1]]
                if len(seg):
                    tf[:, fi] = np.minimum(np.bincount(seg, minlength=len(uniq)), 65535)
            pair_docs.append((uniq >> 32).astype(np.int32))
            pair_terms.append((uniq & 0xFFFFFFFF).astype(np.int32))
            pair_tf.append(tf)
            flens.append(lens)
            if positions:
                tok_chunks.append(np.asarray(stream, dtype=np.int32))
                tok_lens.append(slen)
            base += m
            if progress:
                progress(base)

        n = base
        V = len(table.ids)
        d_all = np.concatenate(pair_docs) if pair_docs else np.zeros(0, np.int32)
        t_all = np.concatenate(pair_terms) if pair_terms else np.zeros(0, np.int32)
        tf_all = np.concatenate(pair_tf) if pair_tf else np.zeros((0, len(names)), np.uint16)
        flen = np.concatenate(flens) if flens else np.zeros((0, len(names)), np.int32)
        del pair_docs, pair_terms, pair_tf
        avg = np.maximum(flen.mean(axis=0) if n else np.ones(len(names)), 1e-9)
        tfn = np.zeros(len(d_all), dtype=np.float32)
        for fi, name in enumerate(names):
            spec = fields[name]
            if spec.weight == 0:
                continue
            denom = (1 - spec.b) + spec.b * (flen[:, fi] / avg[fi]).astype(np.float32)
            tfn += spec.weight * tf_all[:, fi] / denom[d_all]
        df = np.bincount(t_all, minlength=V)
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        impacts = idf[t_all] * tfn * np.float32(k1 + 1) / (np.float32(k1) + tfn)
        del tfn, tf_all

        # Renumber terms in sorted order so the vocabulary is a binary-searchable array.
        terms = sorted(table.ids, key=lambda t: t.encode("utf-8"))
        rank = np.empty(V, dtype=np.int32)
        rank[np.fromiter((table.ids[t] for t in terms), dtype=np.int64, count=V)] = np.arange(
            V, dtype=np.int32
        )
        t_all = rank[t_all]
        order = np.argsort(t_all, kind="stable")  # pairs are in doc order, so docs stay ascending per term
        postings = d_all[order]
        impacts = impacts[order].astype(np.float32)
        indptr = np.zeros(V + 1, dtype=np.int64)
        np.cumsum(np.bincount(t_all, minlength=V), out=indptr[1:])
        width = max((len(t.encode("utf-8")) for t in terms), default=1)
        arrays: dict[str, np.ndarray] = {
            "vocab": np.array([t.encode("utf-8") for t in terms], dtype=f"S{width}"),
            "indptr": indptr,
            "postings": postings.astype(np.int32),
            "impacts": impacts,
            "doc_ids": _ids_array(ids, n),
        }
        if positions:
            tokens = np.concatenate(tok_chunks) if tok_chunks else np.zeros(0, np.int32)
            real = tokens >= 0
            tokens[real] = rank[tokens[real]]
            offsets = np.zeros(n + 1, dtype=np.int64)
            if tok_lens:
                np.cumsum(np.concatenate(tok_lens), out=offsets[1:])
            arrays["tokens"], arrays["tok_offsets"] = tokens, offsets
        meta = {
            "n_docs": n,
            "n_terms": V,
            "k1": k1,
            "fields": {k: asdict(v) for k, v in fields.items()},
            "avg_field_len": dict(zip(names, map(float, avg), strict=True)),
            "languages": sorted(used_langs),
            "positions": positions,
            "fingerprint": fingerprint,
            "analysis": {lang: get_analyzer(lang).config for lang in sorted(used_langs)},
        }
        return cls(arrays, meta)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the index to ``directory`` (atomically per file, manifest last)."""
        w = ArtifactWriter(directory, FORMAT, VERSION)
        for name in ("vocab", "indptr", "postings", "impacts", "doc_ids", "tokens", "tok_offsets"):
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
        self, weights: Mapping[int, float], allow: np.ndarray | None, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Candidate docs and their scores (a superset of the top ``k``)."""
        spans = [(int(self.indptr[t]), int(self.indptr[t + 1]), w) for t, w in weights.items()]
        spans = [s for s in spans if s[1] > s[0]]
        if not spans:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        total = sum(hi - lo for lo, hi, _ in spans)
        if total * 8 < self.n_docs:
            # Few postings: aggregate them directly, cost O(P log P) independent of corpus size.
            ids = np.concatenate([self.postings[lo:hi] for lo, hi, _ in spans])
            sc = np.concatenate([self.impacts[lo:hi] * np.float32(w) for lo, hi, w in spans])
            if allow is not None:
                keep = allow[ids]
                ids, sc = ids[keep], sc[keep]
            if len(spans) == 1:
                return ids.astype(np.int64), sc
            uniq, inv = np.unique(ids, return_inverse=True)
            return uniq.astype(np.int64), np.bincount(inv, weights=sc).astype(np.float32)
        acc = np.zeros(self.n_docs, dtype=np.float32)
        for lo, hi, w in spans:
            # doc numbers are unique within a posting list, so fancy-index += is exact here
            acc[self.postings[lo:hi]] += self.impacts[lo:hi] * np.float32(w)
        if allow is not None:
            acc *= allow
        # Lower bound on the k-th best score from the shortest list's docs (their scores are final),
        # so we only scan survivors instead of partitioning the whole corpus.
        lo, hi, _ = min(spans, key=lambda s: s[1] - s[0])
        sample = acc[self.postings[lo:hi]]
        theta = np.float32(0)
        if len(sample) >= k:
            theta = np.partition(sample, len(sample) - k)[len(sample) - k]
        cand = np.flatnonzero(acc >= theta) if theta > 0 else np.flatnonzero(acc)
        return cand, acc[cand]

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
