"""Building a :class:`~citybridge.search.lexical.LexicalIndex` in two passes with bounded memory.

Pass 1 analyses the documents chunk by chunk and spills each chunk's (doc, term, tf) pairs and token
stream; only document frequencies, field lengths and the term table stay in memory. Between the passes the
global statistics (idf, average field lengths) and the sorted term numbering are known. Pass 2 turns each
chunk's pairs into BM25F impacts and routes them into buckets of consecutive terms; each bucket is then
sorted by term on its own and written out in order, so the postings never exist whole in memory when the
index is built straight into a directory (:func:`build_to`). With a spill directory the peak is a chunk plus
a bucket (``bucket_pairs``), not the whole index; the arrays are byte-identical to an in-memory build.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from citybridge.search.analysis import get_analyzer
from citybridge.search.artifacts import ArtifactWriter

#: pairs (doc, term) sorted together in pass 2; ~28 bytes each at the peak of a bucket
BUCKET_PAIRS = 8_000_000


class _Spill:
    """Append-only arrays kept as a list in memory, or appended to raw files in a directory."""

    def __init__(self, directory: Path | None) -> None:
        self.dir = directory
        self.parts: dict[str, list[Any]] = {}
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def append(self, key: str, arr: np.ndarray) -> None:
        arr = np.ascontiguousarray(arr)
        if self.dir is None:
            self.parts.setdefault(key, []).append(arr)
            return
        with open(self.dir / f"{key}.bin", "ab") as f:
            f.write(memoryview(arr).cast("B"))
        self.parts.setdefault(key, []).append((arr.dtype, arr.shape))

    def count(self, key: str) -> int:
        return len(self.parts.get(key, ()))

    def part(self, key: str, i: int) -> np.ndarray:
        """The ``i``-th array appended under ``key``."""
        if self.dir is None:
            return self.parts[key][i]  # type: ignore[no-any-return]
        specs = self.parts[key]
        offset = sum(int(np.prod(s, dtype=np.int64)) * d.itemsize for d, s in specs[:i])
        dtype, shape = specs[i]
        count = int(np.prod(shape, dtype=np.int64))
        return np.fromfile(self.dir / f"{key}.bin", dtype=dtype, count=count, offset=offset).reshape(shape)

    def all(self, key: str, dtype: Any, width: int | None = None) -> np.ndarray:
        """Everything appended under ``key``, concatenated (an empty array if nothing was)."""
        n = self.count(key)
        if n == 0:
            return np.zeros((0,) if width is None else (0, width), dtype=dtype)
        if self.dir is None:
            return np.concatenate(self.parts[key])
        rows = self.parts[key][0][1][1:]
        return np.fromfile(self.dir / f"{key}.bin", dtype=dtype).reshape((-1, *rows))

    def drop(self, key: str) -> None:
        self.parts.pop(key, None)
        if self.dir is not None:
            (self.dir / f"{key}.bin").unlink(missing_ok=True)

    def close(self) -> None:
        self.parts.clear()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)


class _MemorySink:
    """Collects the output arrays in memory (the in-memory :meth:`LexicalIndex.build`)."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def put(self, name: str, dtype: Any, shape: tuple[int, ...], pieces: Iterable[np.ndarray]) -> None:
        out = np.empty(shape, dtype=dtype)
        pos = 0
        for piece in pieces:
            out[pos:pos + len(piece)] = piece
            pos += len(piece)
        assert pos == (shape[0] if shape else 0)
        self.arrays[name] = out


class _FileSink:
    """Streams the output arrays into an artifact directory."""

    def __init__(self, writer: ArtifactWriter) -> None:
        self.writer = writer

    def put(self, name: str, dtype: Any, shape: tuple[int, ...], pieces: Iterable[np.ndarray]) -> None:
        self.writer.add_stream(name, dtype, shape, pieces)


def build_arrays(
    docs: Iterable[Mapping[str, str | None]],
    sink: _MemorySink | _FileSink,
    spill: _Spill,
    *,
    ids: Sequence[str] | None,
    langs: str | Sequence[str],
    fields: Mapping[str, Any],
    k1: float,
    positions: bool,
    fingerprint: str | None,
    chunk_size: int,
    progress: Callable[[int], None] | None,
    bucket_pairs: int = BUCKET_PAIRS,
) -> dict[str, Any]:
    """Analyse ``docs`` and put every index array into ``sink``; returns the index metadata."""
    from citybridge.search.lexical import _ids_array, _max_per_term, _ranges, _TermTable

    names = list(fields)
    table = _TermTable()
    nf = len(names)
    flens: list[np.ndarray] = []
    tok_lens: list[np.ndarray] = []
    df = np.zeros(0, dtype=np.int64)
    it = iter(docs)
    base = 0
    used_langs: set[str] = {langs} if isinstance(langs, str) else set()
    # ---------------------------------------------------------------- pass 1: analyse and spill
    while True:
        chunk = list(islice(it, chunk_size))
        if not chunk:
            break
        m = len(chunk)
        if isinstance(langs, str):
            groups: dict[str, Any] = {langs: np.arange(m)}
        else:
            chunk_langs = list(langs[base : base + m])
            used_langs.update(chunk_langs)
            groups = {}
            for j, lang in enumerate(chunk_langs):
                groups.setdefault(lang, []).append(j)
            groups = {k: np.asarray(v) for k, v in groups.items()}
        lens = np.zeros((m, nf), dtype=np.int64)
        field_ids = []
        for fi, name in enumerate(names):
            texts = [d.get(name) or "" for d in chunk]
            parts = []
            for lang, idx in groups.items():
                sub = [texts[i] for i in idx] if len(groups) > 1 else texts
                ids_g, lens_g = table.encode_many(lang, sub)
                lens[idx, fi] = lens_g
                parts.append((idx, ids_g, lens_g))
            if len(parts) == 1:
                flat = parts[0][1]
            else:  # reorder the per-language concatenation into doc order
                g_docs = np.concatenate([p[0] for p in parts])
                g_ids = np.concatenate([p[1] for p in parts])
                g_lens = np.concatenate([p[2] for p in parts])
                g_starts = np.cumsum(g_lens) - g_lens
                order = np.argsort(g_docs, kind="stable")
                flat = g_ids[_ranges(g_starts[order], g_lens[order])]
            field_ids.append(flat)
        del chunk
        keys = [(np.repeat(np.arange(base, base + m, dtype=np.int64), lens[:, fi]) << 32) | field_ids[fi]
                for fi in range(nf)]
        bounds = np.cumsum([0] + [len(k) for k in keys])
        uniq, inv = np.unique(np.concatenate(keys), return_inverse=True)
        del keys
        tf = np.zeros((len(uniq), nf), dtype=np.uint16)
        for fi in range(nf):
            seg = inv[bounds[fi] : bounds[fi + 1]]
            if len(seg):
                tf[:, fi] = np.minimum(np.bincount(seg, minlength=len(uniq)), 65535)
        terms = (uniq & 0xFFFFFFFF).astype(np.int32)
        spill.append("docs", (uniq >> 32).astype(np.int32))
        spill.append("terms", terms)
        spill.append("tf", tf)
        counts = np.bincount(terms, minlength=len(table.ids))
        if len(df) < len(counts):
            df = np.concatenate([df, np.zeros(len(counts) - len(df), dtype=np.int64)])
        df[: len(counts)] += counts
        del uniq, inv, tf, terms
        flens.append(lens.astype(np.int32))
        if positions:
            # stream per doc: field0 tokens, -1, field1 tokens, -1, ... (fields never join into phrases)
            per_doc = lens.sum(axis=1) + nf
            doc_start = np.cumsum(per_doc) - per_doc
            stream = np.full(int(per_doc.sum()), -1, dtype=np.int32)
            field_off = doc_start.copy()
            for fi in range(nf):
                stream[_ranges(field_off, lens[:, fi])] = field_ids[fi]
                field_off += lens[:, fi] + 1
            spill.append("stream", stream)
            tok_lens.append(per_doc)
            del stream
        del field_ids
        base += m
        if progress:
            progress(base)

    # ---------------------------------------------------------------- global statistics
    n = base
    V = len(table.ids)
    df = np.concatenate([df, np.zeros(max(0, V - len(df)), dtype=np.int64)])[:V]
    flen = np.concatenate(flens) if flens else np.zeros((0, nf), np.int32)
    del flens
    avg = np.maximum(flen.mean(axis=0) if n else np.ones(nf), 1e-9)
    denoms: list[tuple[float, np.ndarray] | None] = []
    for fi, name in enumerate(names):
        spec = fields[name]
        if spec.weight == 0:
            denoms.append(None)
            continue
        denoms.append((spec.weight, (1 - spec.b) + spec.b * (flen[:, fi] / avg[fi]).astype(np.float32)))
    del flen
    idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
    # Renumber terms in sorted order so the vocabulary is a binary-searchable array.
    sorted_terms = sorted(table.ids, key=lambda t: t.encode("utf-8"))
    rank = np.empty(V, dtype=np.int32)
    rank[np.fromiter((table.ids[t] for t in sorted_terms), dtype=np.int64, count=V)] = np.arange(V, dtype=np.int32)
    indptr = np.zeros(V + 1, dtype=np.int64)
    by_rank = np.zeros(V, dtype=np.int64)
    by_rank[rank] = df
    np.cumsum(by_rank, out=indptr[1:])
    del by_rank
    total = int(indptr[-1])
    # buckets of consecutive term ranks holding at most ``bucket_pairs`` pairs (or one term's list)
    starts = [0]
    while starts[-1] < V:
        lo = starts[-1]
        hi = int(np.searchsorted(indptr, indptr[lo] + bucket_pairs, side="right")) - 1
        starts.append(min(V, max(hi, lo + 1)))
    starts_arr = np.asarray(starts, dtype=np.int64)
    n_buckets = len(starts) - 1

    # ---------------------------------------------------------------- pass 2a: impacts, routed to buckets
    for c in range(spill.count("docs")):
        d = spill.part("docs", c)
        t = spill.part("terms", c)
        tf_c = spill.part("tf", c)
        tfn = np.zeros(len(d), dtype=np.float32)
        for fi in range(nf):
            if denoms[fi] is None:
                continue
            weight, denom = denoms[fi]  # type: ignore[misc]
            tfn += weight * tf_c[:, fi] / denom[d]
        impacts = (idf[t] * tfn * np.float32(k1 + 1) / (np.float32(k1) + tfn)).astype(np.float32)
        del tfn, tf_c
        r = rank[t]
        order = np.argsort(r, kind="stable")
        r, d, impacts = r[order], d[order], impacts[order]
        cuts = np.searchsorted(r, starts_arr, side="left")
        for b in range(n_buckets):
            s, e = int(cuts[b]), int(cuts[b + 1])
            if e > s:
                spill.append(f"b{b}.rank", r[s:e])
                spill.append(f"b{b}.docs", d[s:e])
                spill.append(f"b{b}.imp", impacts[s:e])
        del d, t, r, impacts, order
    for key in ("docs", "terms", "tf"):
        spill.drop(key)

    # ---------------------------------------------------------------- pass 2b: sort each bucket by term
    max_impact = np.zeros(V, dtype=np.float32)

    def bucket_arrays() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for b in range(n_buckets):
            r = spill.all(f"b{b}.rank", np.int32)
            order = np.argsort(r, kind="stable")  # chunks were appended in doc order: docs stay ascending
            del r
            post = spill.all(f"b{b}.docs", np.int32)[order]
            imp = spill.all(f"b{b}.imp", np.float32)[order]
            del order
            lo, hi = starts[b], starts[b + 1]
            max_impact[lo:hi] = _max_per_term(imp, indptr[lo:hi + 1] - indptr[lo])
            for key in ("rank", "docs", "imp"):
                spill.drop(f"b{b}.{key}")
            yield post, imp

    if isinstance(sink, _MemorySink) or n_buckets <= 1:
        # one sort pass feeds both arrays
        pairs = list(bucket_arrays())
        sink.put("postings", np.int32, (total,), (p for p, _i in pairs))
        sink.put("impacts", np.float32, (total,), (i for _p, i in pairs))
        del pairs
    else:
        # stream postings bucket by bucket; impacts go to a spill file meanwhile, then stream out
        def postings() -> Iterator[np.ndarray]:
            for post, imp in bucket_arrays():
                spill.append("impacts.out", imp)
                yield post

        sink.put("postings", np.int32, (total,), postings())
        sink.put("impacts", np.float32, (total,),
                 (spill.part("impacts.out", i) for i in range(spill.count("impacts.out"))))
        spill.drop("impacts.out")
    width = max((len(t.encode("utf-8")) for t in sorted_terms), default=1)
    vocab = np.array([t.encode("utf-8") for t in sorted_terms], dtype=f"S{width}")
    sink.put("vocab", vocab.dtype, vocab.shape, [vocab])
    sink.put("indptr", np.int64, indptr.shape, [indptr])
    sink.put("max_impact", np.float32, max_impact.shape, [max_impact])
    doc_ids = _ids_array(ids, n)
    sink.put("doc_ids", doc_ids.dtype, doc_ids.shape, [doc_ids])
    del doc_ids
    if positions:
        lens_all = np.concatenate(tok_lens) if tok_lens else np.zeros(0, np.int64)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lens_all, out=offsets[1:])

        def mapped() -> Iterator[np.ndarray]:
            for c in range(spill.count("stream")):
                tokens = spill.part("stream", c)
                real = tokens >= 0
                tokens[real] = rank[tokens[real]]
                yield tokens

        sink.put("tokens", np.int32, (int(offsets[-1]),), mapped())
        spill.drop("stream")
        sink.put("tok_offsets", np.int64, offsets.shape, [offsets])
    return {
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


def spill_dir(directory: Path) -> Path:
    """Where :func:`build_arrays` spills while building into ``directory`` (removed afterwards)."""
    return directory / f".spill-{os.getpid()}"
