"""The search service: indexes derived from the store, kept current, queried with filters, facets and
visibility enforced inside the search.

Artifacts live under ``<data_dir>/index/``: ``lexical/`` (BM25F), ``facets/`` and ``vectors-<model>/``,
each with a manifest carrying a format version and the store fingerprint they were built from. A missing,
corrupt or stale artifact is rebuilt before it is ever served.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from citybridge.errors import Invalid, NotFound
from citybridge.model.access import ANONYMOUS, Caller, can_see
from citybridge.model.entities import Record, record_to_dict
from citybridge.search.artifacts import CorruptIndex, IndexArtifactError, StaleIndex
from citybridge.search.facets import FacetBuilder, Facets
from citybridge.search.fusion import HybridSearcher, blend
from citybridge.search.lexical import LexicalIndex
from citybridge.search.query import Hits, parse_query
from citybridge.search.rows import EMPTY as _EMPTY
from citybridge.search.rows import Enrichment as _Enrichment
from citybridge.search.rows import IndexRow, RowSource, StoreRows, make_row
from citybridge.search.rows import enrichment_by_record as _enrichment_by_record
from citybridge.search.snippets import snippet
from citybridge.search.vector import VectorIndex
from citybridge.store import tables as t
from citybridge.store.enrichment import EnrichmentStore
from citybridge.store.repository import Store
from citybridge.store.state import change_token

FACETS = ("kind", "subtype", "sdg", "pathway", "country", "region", "language", "year", "source")
MAX_PAGE_SIZE = 100
POOL = 100  # ranked candidates per query at least
SEMANTIC_EXTRA = 20  # hybrid results found by meaning alone (no query term in the text), at most
# ... and only that similar: on SciFact train, query-relevant cosines (wordllama) have median 0.51 and 10th
# percentile 0.33; query-random ones median 0.16, 90th percentile 0.24
SEMANTIC_FLOOR = 0.35
BODY_CHARS = 20_000  # body text indexed per record; the best passage still comes from the whole text
#: cross-lingual channel (e5 vectors of short fields, see citybridge.enrich.embed): results found by meaning
#: across languages beside the lexical ones, at most this many ...
CROSSLINGUAL_EXTRA = 20
#: ... and only this close (e5 query -> passage cosine): at least CROSSLINGUAL_FLOOR and within CROSSLINGUAL_MARGIN
#: of the closest record. e5 cosines of unrelated texts are high: on the UN SDG target titles (eval_crosslingual
#: data, es and de -> en, every third target) a target's own English text scores 0.92 (median; 0.90 at the 10th
#: percentile), the other targets' texts 0.82 (median; 0.85-0.86 at the 90th): the floor is below the other
#: targets' 90th percentile because a short challenge and a title score lower than two long target texts, and the
#: margin (half the gap between those two, 0.03) keeps only the records about as close as the closest one.
CROSSLINGUAL_FLOOR = 0.84
CROSSLINGUAL_MARGIN = 0.03


logger = logging.getLogger(__name__)
_WORDS = re.compile(r"\w+")  # a text scored as words: no phrase, prefix or operator syntax


def store_fingerprint(store: Store) -> str:
    """A cheap digest of everything the indexes derive from: records, enrichment state, embeddings."""
    with store.engine.connect() as conn:
        parts = [
            conn.execute(select(func.count(), func.max(t.records.c.updated_at))).one(),
            conn.execute(select(func.count(), func.max(t.enrich_state.c.done_at))).one(),
            conn.execute(select(func.count()).select_from(t.embeddings)).one(),
            conn.execute(select(func.count(), func.max(t.history.c.seq))).one(),
        ]
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


@dataclass
class Part:
    """One searchable segment: the persisted main index, or the in-memory delta of recent changes."""

    lexical: LexicalIndex
    facets: Facets
    vectors: VectorIndex | None
    searcher: HybridSearcher
    exclude: np.ndarray | None = None  # docs superseded by the delta (changed or deleted since the build)
    xvectors: VectorIndex | None = None  # cross-lingual channel: e5 record vectors of short fields (or None)

    def allow(self, caller: Caller, filters: dict[str, Any] | None) -> np.ndarray:
        mask = self.facets.visible(caller)
        fmask = self.facets.mask(filters or {})
        if fmask is not None:
            mask &= fmask
        if self.exclude is not None:
            mask &= ~self.exclude
        return mask


@dataclass
class Loaded:
    fingerprint: str
    parts: list[Part]

    @property
    def main(self) -> Part:
        return self.parts[0]


@dataclass
class _DeltaState:
    """The records of the delta segment, kept between refreshes (see ``SearchService._with_delta``)."""

    built_at: datetime  # of the main index the delta is relative to
    versions: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # rid -> version last read
    bodies: dict[str, tuple[dict[str, Any], _Enrichment]] = field(default_factory=dict)  # deleted ones absent
    vectors: dict[str, dict[str, np.ndarray | None]] = field(default_factory=dict)  # rid -> model -> vector
    part: Part | None = None

    def forget(self, rid: str) -> None:
        self.versions.pop(rid, None)
        self.bodies.pop(rid, None)
        self.vectors.pop(rid, None)
        self.part = None


@dataclass
class _Corpus:
    ids: list[str]
    docs: list[dict[str, str]]
    langs: list[str]
    facets: FacetBuilder


class SearchService:
    """Builds, loads and queries the indexes of one store.

    The main index is persisted under ``index_dir``; records changed since it was built (up to
    ``delta_limit``, or 5% of the index) are indexed in memory as a delta segment and searched beside it, so
    imports and enrichment show up at once; beyond that the main index is rebuilt.
    """

    def __init__(self, store: Store, index_dir: Path, *, embedder: str | None = "wordllama",
                 delta_limit: int = 5000, crosslingual: str | None = None, background: bool = False,
                 refresh_every: float = 0.5) -> None:
        self.store = store
        self.dir = Path(index_dir)
        self.embedder_name = embedder
        self.crosslingual_name = crosslingual
        self.delta_limit = delta_limit
        self._loaded: Loaded | None = None
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._generation = -1
        self._token: tuple[int, int] | None = None
        self._main: tuple[int, tuple[Part, str, datetime]] | None = None  # (manifest mtime, loaded main part)
        self._delta_state: _DeltaState | None = None
        self.background = background  # other processes' writes: refreshed off the request path
        self.refresh_every = refresh_every
        self._bg_guard = threading.Lock()
        self._bg_running = False
        self._bg_last = 0.0

    # ------------------------------------------------------------------ lifecycle
    def _embedder(self) -> Any:
        if not self.embedder_name:
            return None
        from citybridge.enrich.embed import get_embedder

        return get_embedder(self.embedder_name)

    def crosslingual_embedder(self) -> Any:
        """The cross-lingual embedder (e5), or None when off or not installed."""
        if not self.crosslingual_name:
            return None
        from citybridge.enrich.embed import get_embedder
        from citybridge.errors import Unavailable

        try:
            return get_embedder(self.crosslingual_name)
        except Unavailable:
            return None

    def current(self, *, max_age: float = 2.0) -> Loaded:
        """The indexes for the store as it is now: loaded from disk plus a delta of recent changes, or
        rebuilt when missing, corrupt or too far behind.

        Writes through this store are always seen (the caller waits for the refresh: read-your-writes).
        Other processes' writes are checked by one thread while the others keep serving what is loaded; with
        ``background`` (``Settings.search_refresh``, what ``citybridge serve`` uses) that
        check runs in a thread of its own, so no reader ever waits for it, and their results are at most
        one refresh late (the delta is incremental: only the records changed since the last refresh are
        read again)."""
        now = time.monotonic()
        token = change_token(self.store)  # SQLite: moves on any commit; skips the ~100 ms fingerprint
        same_generation = self._generation == self.store.generation
        fresh = (token is not None and token == self._token) or (
            same_generation and now - self._checked_at < max_age)
        if self._loaded is not None and fresh:
            return self._loaded
        if self._loaded is not None and same_generation:
            # only other processes' writes are to be checked: one thread makes the check (the
            # fingerprint scans tables), the others keep serving what is loaded instead of queueing behind it
            if self.background:
                self._refresh_in_background(token)
                return self._loaded
            if not self._lock.acquire(blocking=False):
                return self._loaded
        else:
            self._lock.acquire()  # written through this store: wait, so a caller reads its own writes
        try:
            return self._refresh(token)
        finally:
            self._lock.release()

    def _refresh_in_background(self, token: Any) -> None:
        """Start one thread refreshing the indexes (unless one runs), at most every ``refresh_every`` s."""
        with self._bg_guard:
            if self._bg_running or time.monotonic() - self._bg_last < self.refresh_every:
                return
            self._bg_running = True

        def work() -> None:
            try:
                with self._lock:
                    self._refresh(change_token(self.store))
            except Exception:  # pragma: no cover - the next request retries, on its own path
                logger.exception("background search refresh failed")
            finally:
                with self._bg_guard:
                    self._bg_running = False
                    self._bg_last = time.monotonic()

        threading.Thread(target=work, name="citybridge-search-refresh", daemon=True).start()

    def _refresh(self, token: Any) -> Loaded:
        fp = store_fingerprint(self.store)
        self._checked_at = time.monotonic()
        self._generation = self.store.generation
        self._token = token
        if self._loaded is not None and self._loaded.fingerprint == fp:
            return self._loaded
        try:
            main, built_fp, built_at = self._main_part()
            if built_fp == fp:
                self._loaded = Loaded(fp, [main])
            else:
                self._loaded = self._with_delta(fp, main, built_at)
        except IndexArtifactError:
            self._main = None
            self._loaded = self.rebuild(fingerprint=fp)
        return self._loaded

    def _main_part(self) -> tuple[Part, str, datetime]:
        """The persisted main index, loaded again only when its manifest changed (a rebuild by any process)."""
        try:
            stamp = (self.dir / "facets" / "manifest.json").stat().st_mtime_ns
        except FileNotFoundError:
            stamp = None
        if self._main is not None and stamp is not None and self._main[0] == stamp:
            return self._main[1]
        loaded = self._load_main()
        self._main = (stamp, loaded) if stamp is not None else None
        self._delta_state = None
        return loaded

    def _load_main(self) -> tuple[Part, str, datetime]:
        facets_meta = _manifest(self.dir / "facets")
        fp, built_at = facets_meta.get("fingerprint"), facets_meta.get("built_at")
        if not fp or not built_at:
            raise StaleIndex("index manifest lacks fingerprint/built_at", where=str(self.dir))
        lexical = LexicalIndex.load(self.dir / "lexical", fingerprint=fp)
        facets = Facets.load(self.dir / "facets", fingerprint=fp)
        vectors = None
        emb = self._embedder()
        if emb is not None:
            vectors = VectorIndex.load(self.dir / f"vectors-{_safe(emb.model_id)}", model_id=emb.model_id,
                                       fingerprint=fp)
        xvectors = None
        xemb = self.crosslingual_embedder()
        if xemb is not None:
            xvectors = VectorIndex.load(self.dir / f"vectors-{_safe(xemb.model_id)}", model_id=xemb.model_id,
                                        fingerprint=fp)
        if lexical.n_docs != facets.n_docs or any(v is not None and v.n_docs != lexical.n_docs
                                                  for v in (vectors, xvectors)):
            raise CorruptIndex("index parts disagree on the number of documents", where=str(self.dir))
        part = Part(lexical, facets, vectors, HybridSearcher(lexical, vectors, emb), xvectors=xvectors)
        return part, fp, datetime.fromisoformat(built_at)

    def _with_delta(self, fp: str, main: Part, built_at: datetime) -> Loaded:
        """The main index with the records changed since ``built_at`` masked, and their current versions
        (deleted ones left out) in an in-memory delta segment.

        Incremental: the delta's records are kept with their version (last update, enrichment and history
        entry); a refresh reads again only the records whose version moved, then re-indexes the delta from
        memory, so a write costs about its own records, not every record changed since the main build."""
        changed = self._changed_since(built_at)
        if len(changed) > max(self.delta_limit, main.lexical.n_docs // 20):
            self._main = None
            return self.rebuild(fingerprint=fp)
        state = self._delta_state
        if state is None or state.built_at != built_at:
            state = self._delta_state = _DeltaState(built_at)
        moved = sorted(rid for rid, version in changed.items() if state.versions.get(rid) != version)
        for rid in [rid for rid in state.versions if rid not in changed]:  # (only after a main rebuild)
            state.forget(rid)
        if moved:
            records = self.store.get_many(moved)
            es = EnrichmentStore(self.store)
            annotations = ({**a, "record_id": rid} for rid, anns in es.annotations_for(records).items()
                           for a in anns)
            enr = _enrichment_by_record(annotations)
            for rid in moved:
                state.forget(rid)
                if rid in records:
                    state.bodies[rid] = (record_to_dict(records[rid]), enr.get(rid, _EMPTY))
                state.versions[rid] = changed[rid]
        exclude = np.zeros(main.lexical.n_docs, dtype=bool)
        for rid in changed:
            with contextlib.suppress(KeyError, ValueError):
                exclude[main.lexical.doc_number(rid)] = True
        masked = dataclasses.replace(main, exclude=exclude)  # the loaded main part itself is never changed
        if not state.bodies:
            return Loaded(fp, [masked])
        if moved or state.part is None:
            order = sorted(state.bodies)
            corpus = self._corpus((state.bodies[r][0] for r in order), {r: state.bodies[r][1] for r in order})
            state.part = self._part(corpus, fp, EnrichmentStore(self.store), vector_cache=state.vectors)
        return Loaded(fp, [masked, state.part])

    def _changed_since(self, when: datetime) -> dict[str, tuple[Any, ...]]:
        """Records changed at or after ``when``, each with its version: (its stored version and content hash,
        its enrichment steps done since and the last of them, its last delete/merge/unmerge history entry)."""
        r, s, h = t.records.c, t.enrich_state.c, t.history.c
        out: dict[str, list[Any]] = {}
        with self.store.engine.connect() as conn:
            for rid, version, digest in conn.execute(select(r.id, r.version, r.hash).where(r.updated_at >= when)):
                out.setdefault(rid, [None, None, None])[0] = (version, digest)
            # (plain range reads on the time indexes, folded here: a GROUP BY makes SQLite walk the whole table)
            steps: dict[str, list[Any]] = {}
            for rid, at in conn.execute(select(s.record_id, s.done_at).where(s.done_at >= when)):
                acc = steps.setdefault(rid, [0, at])
                acc[0] += 1
                acc[1] = max(acc[1], at)
            for rid, (n, at) in steps.items():
                out.setdefault(rid, [None, None, None])[1] = (n, at)
            # deleted, merged into another record, or restored by an undo
            for entity, rid, change, seq in conn.execute(select(h.entity, h.entity_id, h.change, h.seq)
                                                         .where(h.changed_at >= when)):
                if entity == "record" and change in ("delete", "merge", "unmerge"):
                    entry = out.setdefault(rid, [None, None, None])
                    entry[2] = max(entry[2] or 0, seq)
        return {rid: tuple(v) for rid, v in sorted(out.items())}

    def _corpus(self, bodies: Iterable[dict[str, Any]], enr: dict[str, _Enrichment]) -> _Corpus:
        corpus = _Corpus([], [], [], FacetBuilder())
        for body in bodies:
            row = make_row(body, enr.get(body["id"], _EMPTY))
            corpus.ids.append(row.id)
            corpus.docs.append(row.doc)
            corpus.langs.append(row.lang)
            corpus.facets.add(**row.facets)
        return corpus

    def _part(self, corpus: _Corpus, fp: str, es: EnrichmentStore,
              vector_cache: dict[str, dict[str, np.ndarray | None]] | None = None) -> Part:
        """An in-memory segment (the delta of recent changes); the main index is built by :meth:`_build_to`.
        ``vector_cache`` keeps the vectors read for earlier refreshes, so only new records' vectors are read."""
        lexical = LexicalIndex.build(corpus.docs, ids=corpus.ids, langs=corpus.langs, fingerprint=fp)
        emb = self._embedder()
        pos = {rid: i for i, rid in enumerate(corpus.ids)}

        def stored(model: Any) -> VectorIndex:
            matrix = np.zeros((len(corpus.ids), model.dim), dtype=np.float32)
            if vector_cache is not None:  # a delta: read only the vectors of records not read before
                mid = model.model_id
                need = [rid for rid in corpus.ids if mid not in vector_cache.get(rid, {})]
                for rid in need:
                    vector_cache.setdefault(rid, {})[mid] = None
                if need:
                    for rid, _p, _f, _s, _e, vec in es.vectors(mid, need):
                        if rid in pos and len(vec) == model.dim:
                            vector_cache[rid][mid] = np.asarray(vec, dtype=np.float32)
                for rid, i in pos.items():
                    got = vector_cache[rid].get(mid)
                    if got is not None:
                        matrix[i] = got
                return VectorIndex.build(matrix, model.model_id, fingerprint=fp)
            for rid, _p, _f, _s, _e, vec in es.vectors(model.model_id, corpus.ids):
                if rid in pos and len(vec) == model.dim:
                    matrix[pos[rid]] = vec
            return VectorIndex.build(matrix, model.model_id, fingerprint=fp)

        vectors = stored(emb) if emb is not None else None
        xemb = self.crosslingual_embedder()
        xvectors = stored(xemb) if xemb is not None else None
        return Part(lexical, corpus.facets.build(), vectors, HybridSearcher(lexical, vectors, emb), xvectors=xvectors)

    def _build_to(self, tmp: Path, source: RowSource, fp: str, progress: Callable[[int], None] | None,
                  built_at: datetime) -> None:
        """Stream ``source``'s rows into the index files under ``tmp`` (see :meth:`rebuild`)."""
        from citybridge.search.artifacts import release_pages

        models = [m for m in (self._embedder(), self.crosslingual_embedder()) if m is not None]
        ids: list[str] = []
        langs: list[str] = []
        facets = FacetBuilder()
        tmp.mkdir(parents=True)
        raw = {m.model_id: tmp / f".{_safe(m.model_id)}.f32" for m in models}
        files = {mid: path.open("wb") for mid, path in raw.items()}
        zero = {m.model_id: np.zeros(m.dim, dtype=np.float32) for m in models}

        def docs(rows: Iterator[IndexRow]) -> Iterator[dict[str, str]]:
            for row in rows:
                ids.append(row.id)
                langs.append(row.lang)
                facets.add(**row.facets)
                for m in models:
                    vec = row.vectors.get(m.model_id)
                    ok = vec is not None and len(vec) == m.dim
                    files[m.model_id].write(np.asarray(vec if ok else zero[m.model_id], dtype=np.float32).tobytes())
                yield row.doc

        try:
            LexicalIndex.build_to(tmp / "lexical", docs(source.rows(self.store, [m.model_id for m in models])),
                                  ids=ids, langs=langs, fingerprint=fp, progress=progress)
        finally:
            for fh in files.values():
                fh.close()
        for m in models:
            matrix = (np.memmap(raw[m.model_id], dtype=np.float32, mode="r", shape=(len(ids), m.dim)) if ids
                      else np.zeros((0, m.dim), dtype=np.float32))
            VectorIndex.build(matrix, m.model_id, fingerprint=fp).save(tmp / f"vectors-{_safe(m.model_id)}")
            if isinstance(matrix, np.memmap):
                release_pages(matrix)
            del matrix
            raw[m.model_id].unlink()
        facets.save(tmp / "facets", fp, built_at=built_at)

    def rebuild(self, *, fingerprint: str | None = None, progress: Callable[[int], None] | None = None,
                source: RowSource | None = None) -> Loaded:
        """Build the main index from the whole store and write it atomically (manifest last).

        The records' rows are streamed (``source``: by default :class:`~citybridge.search.rows.StoreRows`, a
        window of records at a time) into the two-pass lexical build and memory-mapped vector files, so the
        build's memory does not grow with the corpus (beyond ids, languages and facet columns)."""
        # everything changed at or after ``built_at`` lands in the next delta, so nothing is missed
        # (store timestamps have whole seconds: floor the start of the build to its second)
        built_at = datetime.now(UTC).replace(microsecond=0)
        fp = fingerprint or store_fingerprint(self.store)
        tmp = self.dir.with_name(f"{self.dir.name}.building-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        self._build_to(tmp, (source or StoreRows()), fp, progress, built_at)
        # swap the new set in under a lock; readers holding the old mmaps keep them until they reload
        with _dir_lock(self.dir):
            old = self.dir.with_name(f"{self.dir.name}.old-{os.getpid()}")
            if self.dir.exists():
                self.dir.rename(old)
            tmp.rename(self.dir)
            shutil.rmtree(old, ignore_errors=True)
        self._main = None
        main, _fp, _at = self._main_part()
        current = store_fingerprint(self.store)
        if current != fp:  # written to while we built: serve the changes from a delta
            return self._with_delta(current, main, _at)
        return Loaded(fp, [main])

    # ------------------------------------------------------------------ querying
    def search(self, query: str, *, filters: dict[str, Any] | None = None, facets: tuple[str, ...] = FACETS,
               page: int = 1, per_page: int = 10, caller: Caller = ANONYMOUS, mode: str = "hybrid",
               snippets: bool = True, fuzzy: bool = True) -> dict[str, Any]:
        """Ranked, filtered, faceted results for ``query`` that ``caller`` may see (``fuzzy=False``: no
        typo-tolerant retry when the exact words find almost nothing)."""
        if not 1 <= per_page <= MAX_PAGE_SIZE:
            raise Invalid(f"per_page must be between 1 and {MAX_PAGE_SIZE}", field="per_page")
        if page < 1 or page * per_page > 10_000:
            raise Invalid("page out of range (at most the first 10,000 results)", field="page")
        if mode not in ("hybrid", "lexical", "dense"):
            raise Invalid("mode must be hybrid, lexical or dense", field="mode")
        query = (query or "").strip()
        if len(query) > 1000:
            raise Invalid("query longer than 1,000 characters", field="q")
        idx = self.current()
        k = page * per_page
        t0 = time.perf_counter()
        allows = [part.allow(caller, filters) for part in idx.parts]

        xl: dict[str, float] = {}  # record id -> e5 cosine of the results found across languages only

        def run(fuzzy: bool | str) -> list[tuple[Part, Hits, np.ndarray]]:
            out = []
            xl.clear()
            for part, allow in zip(idx.parts, allows, strict=True):
                if not query:
                    matched = np.flatnonzero(allow)
                    hits = Hits(matched[:k], np.zeros(min(k, len(matched)), dtype=np.float32))
                else:
                    hits = self._rank(part, query, max(k, POOL), allow, mode, fuzzy=fuzzy)
                    lexical = self._matches(part, query, allow, Hits.empty(), fuzzy=fuzzy)
                    # results: documents holding the query terms, plus the best few found by meaning alone
                    # (so the total and every page agree, whatever page is asked for)
                    extra = np.setdiff1d(hits.docs, lexical, assume_unique=False)
                    # (in hybrid mode only beside real matches, and only as close in meaning as the best
                    # of them: a query nothing contains finds nothing)
                    room = POOL if mode == "dense" else (SEMANTIC_EXTRA if len(lexical) else 0)
                    keep_extra = extra[np.isin(extra, hits.docs[:room])]
                    if mode == "hybrid" and len(keep_extra) and part.vectors is not None:
                        qvec = part.searcher.embedder.embed([query])[0]
                        best = float(np.max(part.vectors.score_docs(qvec, hits.docs[np.isin(hits.docs, lexical)]),
                                            initial=0.0))
                        floor = max(0.9 * best, SEMANTIC_FLOOR)
                        keep_extra = keep_extra[part.vectors.score_docs(qvec, keep_extra) >= floor]
                    matched = np.union1d(lexical, keep_extra)
                    keep = np.isin(hits.docs, matched)
                    hits = Hits(hits.docs[keep], hits.scores[keep])
                    if part.xvectors is not None and mode != "lexical":
                        hits, matched = self._crosslingual(part, query, allow, hits, matched, xl)
                out.append((part, hits, matched))
            return out

        # exact terms first; typo tolerance only when the exact words find nothing anywhere
        runs = run(False)
        if fuzzy and query and sum(len(m) for _p, _h, m in runs) == 0:
            runs = run("auto")
        ranked: list[tuple[float, str]] = []
        total = 0
        counts: dict[str, dict[str, int]] = {}
        for part, hits, matched in runs:
            total += len(matched)
            ranked.extend((float(s), part.lexical.doc_id(int(d))) for d, s in zip(hits.docs, hits.scores,
                                                                                 strict=True))
            if facets:
                _add_counts(counts, part.facets.counts(matched, facets))
        ranked.sort(key=lambda x: (-x[0], x[1]))
        window = ranked[(page - 1) * per_page: k]
        elapsed = time.perf_counter() - t0
        results = self._results(query, window, caller, snippets)
        for item in results:
            if item["id"] in xl:
                item["crosslingual"] = round(xl[item["id"]], 4)  # found across languages (e5 cosine)
        return {
            "query": query, "mode": mode, "total": int(total), "page": page, "per_page": per_page,
            "results": results, "facets": counts, "took_ms": round(elapsed * 1000, 2),
        }

    def _crosslingual(self, part: Part, query: str, allow: np.ndarray, hits: Hits, matched: np.ndarray,
                      xl: dict[str, float]) -> tuple[Hits, np.ndarray]:
        """Add the records closest in meaning to ``query`` in any language (e5 vectors of their short fields),
        at most CROSSLINGUAL_EXTRA, only as close as the floor and margin allow, after the results found
        otherwise: they never push a lexical or semantic match down, they fill the list when the words cannot
        cross languages.
        Their scores are below the lowest other score, in the order of their cosine."""
        from citybridge.enrich.embed import embed_queries

        xemb = self.crosslingual_embedder()
        assert part.xvectors is not None and xemb is not None
        qvec = self._xquery(xemb, query, embed_queries)
        found = part.xvectors.search(qvec, CROSSLINGUAL_EXTRA * 3, allow=allow)
        best = float(np.max(found.scores, initial=0.0))
        floor = max(CROSSLINGUAL_FLOOR, best - CROSSLINGUAL_MARGIN)
        fresh = ~np.isin(found.docs, matched) & (found.scores >= floor)
        docs, cos = found.docs[fresh][:CROSSLINGUAL_EXTRA], found.scores[fresh][:CROSSLINGUAL_EXTRA]
        if not len(docs):
            return hits, matched
        low = float(np.min(hits.scores)) if len(hits.scores) else 1.0
        scores = (low * 0.5 * cos).astype(np.float32) if low > 0 else (cos - 1.0).astype(np.float32)
        merged = Hits(np.concatenate([hits.docs, docs]), np.concatenate([hits.scores, scores]))
        xl.update((part.lexical.doc_id(int(d)), float(c)) for d, c in zip(docs, cos, strict=True))
        return merged, np.union1d(matched, docs)

    def _xquery(self, xemb: Any, query: str, embed_queries: Any) -> np.ndarray:
        key = (xemb.model_id, query)
        cache = self.__dict__.setdefault("_xq_cache", {})
        if key not in cache:
            if len(cache) > 256:
                cache.clear()
            cache[key] = embed_queries(xemb, [query])[0]
        return cache[key]  # type: ignore[no-any-return]

    def matching(self, query: str, *, filters: dict[str, Any] | None = None,
                 caller: Caller = ANONYMOUS) -> dict[str, float]:
        """Every record matching ``query`` lexically within ``filters`` that ``caller`` may see, with its
        BM25F score: the whole result set, not a page (saved-search alerts compare it with what changed).
        An empty query matches everything within the filters (score 0)."""
        query = (query or "").strip()
        if len(query) > 1000:
            raise Invalid("query longer than 1,000 characters", field="q")
        out: dict[str, float] = {}
        for part in self.current().parts:  # the delta comes last and holds the newest version of a record
            allow = part.allow(caller, filters)
            if not query:
                docs, scores = np.flatnonzero(allow), None
            else:
                docs = self._matches(part, query, allow, Hits.empty(), fuzzy=False)
                scores = part.lexical.score_docs(part.lexical.query_terms(parse_query(query)), docs)
            ids = part.lexical.doc_ids[docs] if len(docs) else []
            for n, raw in enumerate(ids):
                out[bytes(raw).decode("utf-8")] = float(scores[n]) if scores is not None else 0.0
        return out

    def bm25_of(self, text: str, ids: list[str]) -> dict[str, float]:
        """BM25F score of ``text`` (every word a query term, no typo tolerance) in each of the records ``ids``,
        over the query's upper bound (the sum of each term's highest impact), so in 0..1 whatever the text's
        length: how much of the text a record covers. Records not indexed are left out."""
        text = (text or "").strip()[:4000]
        if not text or not ids:
            return {}
        out: dict[str, float] = {}
        for part in self.current().parts:  # the delta comes last and holds the newest version of a record
            lex = part.lexical
            docs = []
            for rid in ids:
                try:
                    d = lex.doc_number(rid)
                except KeyError:
                    continue
                if part.exclude is None or not part.exclude[d]:
                    docs.append(d)
            if not docs:
                continue
            weights = lex.query_terms(parse_query(" ".join(_WORDS.findall(text))), fuzzy=False)
            bound = float(sum(w * float(lex.max_impact[tid]) for tid, w in weights.items())) or 1.0
            arr = np.asarray(sorted(docs), dtype=np.int64)
            scores = lex.score_docs(weights, arr)
            for d, s in zip(arr, scores, strict=True):
                out[lex.doc_id(int(d))] = float(s) / bound
        return out

    def _rank(self, part: Part, query: str, k: int, allow: np.ndarray, mode: str, fuzzy: bool | str) -> Hits:
        if mode == "lexical" or part.vectors is None:
            return part.lexical.search(query, k, allow=allow, fuzzy=fuzzy)
        if mode == "dense":
            qvec = part.searcher.embedder.embed([query])[0]
            return part.vectors.search(qvec, k, allow=allow)
        return part.searcher.search(query, k, allow=allow, fuzzy=fuzzy)

    def _matches(self, part: Part, query: str, allow: np.ndarray, hits: Hits, fuzzy: bool | str) -> np.ndarray:
        """Every allowed document matching the query lexically (for totals and facet counts), plus the hits."""
        lex = part.lexical
        parsed = parse_query(query)
        if parsed.phrases:
            found: np.ndarray | None = None
            for p in parsed.phrases:
                d = lex.phrase_docs(p, allow=allow)
                found = d if found is None else np.intersect1d(found, d, assume_unique=True)
            docs = found if found is not None else np.zeros(0, np.int64)
        else:
            weights = lex.query_terms(parsed, fuzzy=fuzzy)
            spans = [lex.postings[int(lex.indptr[tid]):int(lex.indptr[tid + 1])] for tid in weights]
            docs = np.unique(np.concatenate(spans)) if spans else np.zeros(0, np.int64)
            docs = docs[allow[docs]] if len(docs) else docs
        return np.union1d(docs.astype(np.int64), hits.docs)

    def _results(self, query: str, ranked: list[tuple[float, str]], caller: Caller,
                 with_snippets: bool) -> list[dict[str, Any]]:
        ids = [rid for _s, rid in ranked]
        records = self.store.get_many(ids)
        es = EnrichmentStore(self.store)
        tags = es.annotations_for(ids, steps=("tags",))
        out = []
        for score, rid in ranked:
            rec = records.get(rid)
            if rec is None or not can_see(rec.visibility, rec.owner, caller):
                continue  # deleted since the index was built, or visibility changed: never leak it
            item: dict[str, Any] = {"id": rid, "kind": rec.kind.value, "subtype": rec.subtype, "name": rec.name,
                                    "score": round(float(score), 4), "country": getattr(rec, "country", None),
                                    "year": getattr(rec, "year", None),
                                    "tags": [{"label": a["label"], "score": a["score"]} for a in tags.get(rid, [])
                                             if "." not in a["label"]][:6]}
            if with_snippets and query:
                item["snippet"] = _best_snippet(rec, query)
            out.append(item)
        return out

    def more_like_this(self, record_id: str, *, limit: int = 10, caller: Caller = ANONYMOUS,
                       filters: dict[str, Any] | None = None) -> dict[str, Any]:
        """Records similar to one record: its embedding and its key terms, fused, itself excluded."""
        rec = self.store.get(record_id)
        if not can_see(rec.visibility, rec.owner, caller):
            raise NotFound(f"no record with id '{record_id}'")
        idx = self.current()
        qvec = None
        for part in reversed(idx.parts):  # the delta holds the newest version of a record
            try:
                me = part.lexical.doc_number(rec.id)
            except (KeyError, ValueError):
                continue
            if part.vectors is not None and np.any(part.vectors.vectors[me]):
                qvec = np.asarray(part.vectors.vectors[me])
            break
        es = EnrichmentStore(self.store)
        kws = [a["label"][3:] for a in es.annotations_of(rec.id, "keywords")][:8]
        text = " ".join([rec.name, *kws]) if kws else " ".join([rec.name, (rec.description or "")[:300]])
        ranked: list[tuple[float, str]] = []
        for part in idx.parts:
            allow = part.allow(caller, filters)
            with contextlib.suppress(KeyError, ValueError):
                allow[part.lexical.doc_number(rec.id)] = False
            lex = part.lexical.search(text, limit * 5, allow=allow, fuzzy=False)
            docs, scores = lex.docs, lex.scores
            if qvec is not None and part.vectors is not None:
                dense = part.vectors.search(qvec, limit * 5, allow=allow)
                cand = np.union1d(docs, dense.docs)
                weights = part.lexical.query_terms(parse_query(text))
                fused = blend(cand, part.lexical.score_docs(weights, cand), part.vectors.score_docs(qvec, cand),
                              alpha=0.5, limit=limit)
                docs, scores = fused.docs, fused.scores
            ranked.extend((float(s), part.lexical.doc_id(int(d))) for d, s in zip(docs, scores, strict=True))
        ranked.sort(key=lambda x: (-x[0], x[1]))
        return {"record": rec.id, "results": self._results("", ranked[:limit], caller, False)}


def _add_counts(total: dict[str, dict[str, int]], more: dict[str, dict[str, int]]) -> None:
    for name, values in more.items():
        acc = total.setdefault(name, {})
        for key, n in values.items():
            acc[key] = acc.get(key, 0) + n
    for name, values in total.items():
        total[name] = dict(sorted(values.items(), key=lambda kv: -kv[1]))


def _manifest(directory: Path) -> dict[str, Any]:
    try:
        return json.loads((directory / "manifest.json").read_text("utf-8"))
    except FileNotFoundError:
        raise CorruptIndex("no manifest.json: the index was never built", where=str(directory)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptIndex(f"unreadable manifest.json ({exc})", where=str(directory)) from None


# ---------------------------------------------------------------------------- helpers
_LEXICAL_LANGS = {"en", "es", "pt", "fr", "de", "it", "nl"}


def _gazetteer() -> Any:
    try:
        from citybridge.enrich.gazetteer import load_gazetteer

        return load_gazetteer()
    except Exception:  # pragma: no cover - the gazetteer ships with the package
        return None


def _subtype(body: dict[str, Any]) -> str | None:
    for key in ("org_type", "doc_type", "opp_type", "place_type", "project_type"):
        if body.get(key):
            return str(body[key])
    return None


def _year(body: dict[str, Any]) -> int | None:
    for key in ("year", "start_date", "published", "deadline"):
        value = body.get(key)
        if value:
            try:
                return int(str(value)[:4])
            except ValueError:
                continue
    return None


def _source(source: str | None) -> str | None:
    if not source:
        return None
    return source.split(":", 1)[0] if source.startswith(("import:", "ingest:", "feed:", "enrich:")) else source


@contextlib.contextmanager
def _dir_lock(directory: Path) -> Iterator[None]:
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.with_name(directory.name + ".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _safe(model_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in model_id)


def _best_snippet(rec: Record, query: str) -> dict[str, Any] | None:
    fields = rec.text_fields()
    best = None
    for name in ("description", "body", "name"):
        text = fields.get(name)
        if not text:
            continue
        lang = rec.languages[0] if rec.languages and rec.languages[0] in _LEXICAL_LANGS else "en"
        snip = snippet(text[:200_000], query, lang=lang)
        score = len(snip.highlights)
        if best is None or score > best[0]:
            best = (score, name, snip)
        if score and name != "name":
            break
    if best is None:
        return None
    _score, name, snip = best
    return {"field": name, "start": snip.start, "end": snip.end, "text": snip.text,
            "highlights": [[s - snip.start, e - snip.start] for s, e in snip.highlights]}
