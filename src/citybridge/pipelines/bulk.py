"""Bulk runs on Dask: partitions are parsed, resolved and enriched on the workers (a LocalCluster, or a cluster
named by its scheduler address), written by the client as Parquet partitions with durable markers, and loaded
into the store from the client alone (SQLite has one writer), in input order; then the search index is built
from the partitions' index rows, the store filling in the rest (``citybridge.pipelines.index_rows``).

A restarted run skips the partitions whose Parquet files are complete (``_SUCCESS.json``) and those already
loaded into this store (``_LOADED.json``), so an interrupted run continues where it stopped.

    >>> BulkRun(hub, ["snapshot/data/works"], workers=2).run().to_dict()["loaded"]   # doctest: +SKIP
    12
"""

from __future__ import annotations

import contextlib
import json
import resource
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citybridge.enrich.pipeline import EnrichReport, Step, StepOutput, record_text
from citybridge.errors import Invalid, Unavailable
from citybridge.ingest.base import SourceItem
from citybridge.ingest.pipeline import ImportReport
from citybridge.model.entities import EXTERNAL_ID_SCHEMES, Record
from citybridge.pipelines.columnar import FORMAT, TABLES, read_table, source_items, step_outputs
from citybridge.pipelines.index_rows import PartitionRows, write_index_rows
from citybridge.pipelines.partitions import Partition, discover
from citybridge.pipelines.work import enrichable, process_partition, resolved_id, step_key
from citybridge.search.artifacts import atomic_write_bytes
from citybridge.store.backup import fsync_dir

if TYPE_CHECKING:
    from citybridge.hub import Hub

SUCCESS, LOADED = "_SUCCESS.json", "_LOADED.json"
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@dataclass
class BulkReport:
    """What a bulk run did: partitions computed/reused/loaded, the import and enrichment counts, timings."""

    partitions: int = 0
    computed: int = 0  # processed by the workers in this run
    reused: int = 0  # already complete on disk from an earlier run
    loaded: int = 0  # loaded into the store in this run
    already_loaded: int = 0
    imported: ImportReport = field(default_factory=ImportReport)
    enrich: EnrichReport = field(default_factory=EnrichReport)
    relinked: int = 0  # links stored in the final pass (their other end was in a later partition)
    left_for_enrich: int = 0  # records whose stored text differs from what the workers enriched
    index_rows: int = 0  # index rows written beside the partitions loaded in this run
    index: dict[str, Any] | None = None
    scheduler: str = ""
    workers: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    worker_cpu_s: float = 0.0
    worker_peak_rss_mb: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "partitions": self.partitions, "computed": self.computed, "reused": self.reused,
            "loaded": self.loaded, "already_loaded": self.already_loaded,
            "import": {**self.imported.counts(), "unresolved": self.imported.unresolved,
                       "rejections": self.imported.rejections[:20]},
            "relinked": self.relinked,
            "enrich": self.enrich.to_dict(), "left_for_enrich": self.left_for_enrich, "index_rows": self.index_rows,
            "index": self.index,
            "scheduler": self.scheduler, "workers": self.workers,
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
            "worker_cpu_s": round(self.worker_cpu_s, 2), "worker_peak_rss_mb": round(self.worker_peak_rss_mb),
        }


class _ItemsSource:
    """A loaded partition's items as a :class:`~citybridge.ingest.base.Source` for the importer."""

    def __init__(self, name: str, items: list[tuple[int, SourceItem]], relations_only: bool = False,
                 key: str | None = None) -> None:
        self.name = name
        self.sha256 = key  # the partition's fingerprint, kept in the store's import log
        self._items = items
        self._relations_only = relations_only

    def items(self) -> Iterator[SourceItem]:
        for _seq, it in self._items:
            if not self._relations_only or it.relation is not None or it.row is not None:
                yield it


class BulkRun:
    """One bulk run of ``sources`` into ``hub``'s store (see the module docstring).

    Args:
        hub: the Hub whose store receives the records (written from this process only).
        sources: OpenAlex snapshot folders or parts, table shards, folders of documents.
        scheduler: a Dask scheduler address (``tcp://host:8786``); None starts a LocalCluster.
        workers: LocalCluster worker processes (default 2); ignored with a scheduler.
        work_dir: where the Parquet partitions and markers live (default ``<data_dir>/bulk``).
        steps: enrichment step names (default: the configured steps).
        index: build the search index at the end.
        progress: show Dask's progress bar (on stderr).
    """

    def __init__(self, hub: Hub, sources: Iterable[str | Path], *, scheduler: str | None = None,
                 workers: int | None = None, work_dir: str | Path | None = None,
                 steps: Iterable[str] | None = None, index: bool = True, progress: bool = False) -> None:
        if workers is not None and workers < 1:
            raise Invalid("workers must be at least 1", field="workers")
        self.hub = hub
        self.partitions = discover(sources)
        self.scheduler = scheduler
        self.workers = workers or 2
        self.work_dir = Path(work_dir) if work_dir else hub.settings.data_dir / "bulk"
        self.steps: list[Step] = hub.enrichment_steps(list(steps) if steps is not None else None)
        self.salt = f"format{FORMAT}|" + "|".join(f"{n}={v}" for n, v in step_key(self.steps))
        self.index = index
        self.progress = progress
        url = hub.settings.resolved_database_url
        self.store_id = url.split("@")[-1]

    # ------------------------------------------------------------------ layout
    def folder(self, part: Partition) -> Path:
        return self.work_dir / part.fingerprint(self.salt)

    def is_done(self, part: Partition) -> bool:
        return (self.folder(part) / SUCCESS).is_file()

    def is_loaded(self, part: Partition) -> bool:
        """Loaded into this store: the marker says so and the store's import log agrees (a store deleted and
        created again under the same URL gets every partition again)."""
        from sqlalchemy import func, select

        from citybridge.store import tables as t

        marker = self.folder(part) / LOADED
        if not marker.is_file() or json.loads(marker.read_text()).get("store") != self.store_id:
            return False
        imp = t.imports
        with self.hub.store.engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(imp).where(
                imp.c.source == f"bulk:{part.label}", imp.c.sha256 == part.fingerprint(self.salt),
                imp.c.status == "done")).scalar_one()
        return bool(n)

    def _write(self, part: Partition, result: dict[str, Any]) -> None:
        folder = self.folder(part)
        folder.mkdir(parents=True, exist_ok=True)
        for name in TABLES:
            atomic_write_bytes(folder / f"{name}.parquet", result["tables"][name])
        meta = {"format": FORMAT, "label": part.label, "kind": part.kind, "paths": list(part.paths),
                "steps": self.salt, "counts": result["counts"], "seconds": result["seconds"]}
        atomic_write_bytes(folder / SUCCESS, json.dumps(meta, indent=1).encode())
        fsync_dir(folder)

    # ------------------------------------------------------------------ the run
    def run(self) -> BulkReport:
        """Compute the missing partitions on Dask and load every partition not yet in this store, in input
        order; then build the index. Returns the report."""
        t0, c0 = time.perf_counter(), _cpu()
        report = BulkReport(partitions=len(self.partitions))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        todo = [p for p in self.partitions if not self.is_done(p)]
        report.reused = len(self.partitions) - len(todo)
        loaded_before = {i for i, p in enumerate(self.partitions) if self.is_done(p) and self.is_loaded(p)}
        report.already_loaded = len(loaded_before)
        next_to_load = 0
        unresolved: list[Partition] = []

        def load_ready() -> None:
            nonlocal next_to_load
            while next_to_load < len(self.partitions) and self.is_done(self.partitions[next_to_load]):
                part = self.partitions[next_to_load]
                if next_to_load not in loaded_before:
                    self._load(part, report)
                    report.loaded += 1
                if json.loads((self.folder(part) / LOADED).read_text()).get("unresolved"):
                    unresolved.append(part)
                next_to_load += 1

        if todo:
            with self._client() as client:
                report.scheduler = str(client.scheduler.address)
                report.workers = len(client.scheduler_info().get("workers", {}))
                self._compute(client, todo, report, load_ready)
        load_ready()
        report.seconds["compute_and_load"] = time.perf_counter() - t0
        if unresolved:  # links to records of later partitions: their ends are all stored now
            r0 = time.perf_counter()
            report.imported.unresolved = sum(self._relink(part, report) for part in unresolved)
            report.seconds["relink"] = time.perf_counter() - r0
        if self.index:
            i0 = time.perf_counter()
            # from the partitions' index rows; the store for the records they do not hold as it holds them
            source = PartitionRows([self.folder(p) for p in self.partitions])
            report.index = self.hub.reindex(source=source)
            report.seconds["index"] = time.perf_counter() - i0
        report.seconds["wall"] = time.perf_counter() - t0
        report.seconds["client_cpu"] = _cpu() - c0
        return report

    def _client(self) -> Any:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise Unavailable("bulk runs need dask.distributed: pip install 'citybridge[dask]'") from None
        if self.scheduler:
            try:
                return Client(self.scheduler, timeout=30)
            except OSError as exc:
                raise Unavailable(f"no Dask scheduler answers at {self.scheduler} ({exc})") from None
        # spawned worker processes with one thread each: an embedding model's thread pool never crosses a fork
        cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, env=WORKER_ENV)
        return _OwnedClient(Client(cluster), cluster)

    def _compute(self, client: Any, todo: list[Partition], report: BulkReport, load_ready: Any) -> None:
        from distributed import as_completed

        # in input order (the client loads them in that order)
        futures = {client.submit(process_partition, p, self.steps, key=f"bulk-{p.fingerprint(self.salt)}",
                                 pure=False, priority=len(todo) - i): p for i, p in enumerate(todo)}
        bar = _progress(list(futures)) if self.progress else None
        load_ready()  # partitions an earlier run computed load while the workers compute the rest
        try:
            for fut in as_completed(list(futures)):
                part = futures.pop(fut)
                result = fut.result()
                self._write(part, result)
                report.computed += 1
                report.worker_cpu_s += result["seconds"]["cpu"]
                report.worker_peak_rss_mb = max(report.worker_peak_rss_mb, result["peak_rss_mb"])
                fut.release()
                load_ready()
        finally:
            for fut in futures:
                fut.cancel()
            if bar is not None:
                bar.join(timeout=5)

    # ------------------------------------------------------------------ loading (client only)
    def _load(self, part: Partition, report: BulkReport) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        folder = self.folder(part)
        items = list(source_items(read_table(folder / "items.parquet")))
        importer = self.hub._importer(f"bulk:{part.label}")  # noqa: SLF001  (the connectors' importer)
        imported = importer.run(_ItemsSource(f"bulk:{part.label}", items, key=part.fingerprint(self.salt)))
        report.imported.merge(imported)
        outputs = step_outputs(read_table(folder / "annotations.parquet"), read_table(folder / "vectors.parquet"))
        report.index_rows += self._write_enrichment(items, outputs, report, folder)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        report.seconds["load"] = report.seconds.get("load", 0.0) + wall
        report.seconds["load_cpu"] = report.seconds.get("load_cpu", 0.0) + cpu
        marker = {"store": self.store_id, "counts": imported.counts(), "unresolved": imported.unresolved,
                  "seconds": {"wall": round(wall, 2), "cpu": round(cpu, 2)}}
        atomic_write_bytes(folder / LOADED, json.dumps(marker).encode())

    def _relink(self, part: Partition, report: BulkReport) -> int:
        items = list(source_items(read_table(self.folder(part) / "items.parquet")))
        importer = self.hub._importer(f"bulk:{part.label}")  # noqa: SLF001
        again = importer.run(_ItemsSource(f"bulk:{part.label} links", items, relations_only=True))
        report.relinked += again.created
        return again.unresolved

    def _write_enrichment(self, items: list[tuple[int, SourceItem]], outputs: dict[tuple[int, str], StepOutput],
                          report: BulkReport, folder: Path, batch: int = 4096) -> int:
        """Write the workers' step outputs for the records now stored with the text they were enriched on,
        through the enricher's own batch writer (annotations, vectors, derived relations, done marks), in
        batches as large as a partition's documents usually are: each batch asks every step its version (the
        tagger and the embedder compute theirs) and opens a transaction. The batches' boundaries change
        nothing stored (a record's annotations and derived relations are its own). Then the index rows of
        those records beside the partition (``index.parquet``). Returns the rows written."""
        from citybridge.enrich.pipeline import StepRunner
        from citybridge.enrich.runner import Enricher

        enriched = [(seq, it.record) for seq, it in items
                    if it.record is not None and not it.stub and enrichable(self.steps, it.record)]
        if not enriched:
            return 0
        store = self.hub.store
        pairs = {seq: _primary(rec) for seq, rec in enriched}
        owners = store.resolve_external([p for p in pairs.values() if p])
        ids = {seq: owners.get(pairs[seq]) if pairs[seq] else None for seq, _r in enriched}
        ids = {seq: rid or resolved_id(rec) for (seq, rec), rid in zip(enriched, ids.values(), strict=True)}
        stored = store.get_many(set(ids.values()))
        by_name = {s.name: s for s in self.steps}
        enricher = Enricher(store, self.steps)
        chosen: list[tuple[int, Record]] = []
        seen: set[str] = set()
        for seq, rec in enriched:
            cur = stored.get(ids[seq])
            if cur is None or cur.id in seen:
                continue
            if cur.kind != rec.kind or record_text(cur)[0] != record_text(rec)[0]:
                report.left_for_enrich += 1  # merged into a stored record with other text: `enrich` sees it
                continue
            seen.add(cur.id)
            chosen.append((seq, cur))
        for i in range(0, len(chosen), batch):
            chunk = chosen[i:i + batch]
            records = [r for _s, r in chunk]
            todo = {r.id: [by_name[n] for n in enrichable(self.steps, r)] for r in records}
            results = []
            for step in self.steps:
                idx = [k for k, (seq, _r) in enumerate(chunk) if (seq, step.name) in outputs]
                results.append((step.name, idx, [outputs[(chunk[k][0], step.name)] for k in idx]))
            enricher._write(records, results, StepRunner, todo, report.enrich)  # noqa: SLF001  (same writer)
        written = [(cur.id, [outputs[(seq, s.name)] for s in self.steps if (seq, s.name) in outputs])
                   for seq, cur in chosen]
        return write_index_rows(store, folder, written)


class _OwnedClient:
    """A client with the LocalCluster it started: closing it stops both."""

    def __init__(self, client: Any, cluster: Any) -> None:
        self.client, self.cluster = client, cluster

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def __enter__(self) -> Any:
        return self.client

    def __exit__(self, *exc: Any) -> None:
        self.client.close()
        self.cluster.close()


def _primary(rec: Record) -> tuple[str, str] | None:
    for scheme in EXTERNAL_ID_SCHEMES:
        if scheme in rec.external_ids:
            return scheme, rec.external_ids[scheme]
    return next(iter(rec.external_ids.items()), None)


def _progress(futures: list[Any]) -> Any:
    """Dask's own text progress bar (drawn on stderr, so ``--json`` output stays clean), in a background
    thread while the client loads the finished partitions."""
    import threading

    from distributed.diagnostics.progressbar import TextProgressBar

    class _StderrBar(TextProgressBar):  # type: ignore[misc]
        def _draw_bar(self, remaining: int, all: int, **kwargs: Any) -> None:  # noqa: A002
            frac = (1 - remaining / all) if all else 1.0
            sys.stderr.write(f"\r[{'#' * int(self.width * frac):<{self.width}}] | {int(100 * frac)}% Completed "
                             f"| {all - remaining}/{all} partitions")
            sys.stderr.flush()

        def _draw_stop(self, **kwargs: Any) -> None:
            sys.stderr.write("\n")
            sys.stderr.flush()

    def run() -> None:
        with contextlib.suppress(Exception):  # a progress bar never stops a run
            _StderrBar(futures, complete=True)

    th = threading.Thread(target=run, daemon=True, name="bulk-progress")
    th.start()
    return th


def _cpu() -> float:
    self_ = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return self_.ru_utime + self_.ru_stime + kids.ru_utime + kids.ru_stime

