"""What a Dask worker does with one partition: parse -> resolve ids -> enrich -> columnar (Parquet bytes).

Pure with respect to the store: nothing here opens the database, so any number of workers, on any machine
that can read the inputs, run it at once; the client alone writes the store.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Sequence
from typing import Any

from citybridge.enrich.pipeline import Step, run_steps
from citybridge.model.entities import Record, derive_id
from citybridge.pipelines.columnar import PartitionWriter
from citybridge.pipelines.partitions import Partition
from citybridge.store.repository import fallback_key

ENRICH_BATCH = 512

# steps already loaded in this worker process (their models stay warm between partitions)
_STEPS: dict[tuple[tuple[str, str], ...], list[Step]] = {}


def step_key(steps: Sequence[Step]) -> tuple[tuple[str, str], ...]:
    return tuple((s.name, s.version) for s in steps)


def _warm(steps: list[Step]) -> list[Step]:
    key = step_key(steps)
    if key not in _STEPS:
        _STEPS.clear()
        _STEPS[key] = steps
    return _STEPS[key]


def resolved_id(rec: Record) -> str:
    """The id the store derives for a new record (its first external id, else kind and name): the key
    the worker's results carry until the client learns the stored id."""
    return rec.id or derive_id(rec.kind, rec.natural_key() or fallback_key(rec))


def enrichable(steps: Sequence[Step], rec: Record) -> set[str]:
    """The steps that apply to a record of this kind (as ``Enricher.plan`` selects them)."""
    return {s.name for s in steps if not s.kinds or rec.kind in s.kinds}


def process_partition(partition: Partition, steps: list[Step]) -> dict[str, Any]:
    """Parse, resolve and enrich one partition; returns its Parquet tables (bytes) and counts.

    Records of the partition that are not references to other records (stubs such as the authors named on a
    paper, which merge into stored records) are enriched here by ``steps``, a batch of ``ENRICH_BATCH`` at a
    time, exactly as ``citybridge enrich`` runs them.
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    t0, c0 = time.perf_counter(), time.process_time()
    steps = _warm(steps)
    writer = PartitionWriter()
    batch: list[tuple[int, Record]] = []
    counts = {"items": 0, "records": 0, "relations": 0, "rejected": 0, "enriched": 0}
    parse_s = enrich_s = 0.0

    def flush() -> None:
        nonlocal enrich_s
        if not batch:
            return
        e0 = time.perf_counter()
        records = [r for _s, r in batch]
        results = run_steps(steps, records, [enrichable(steps, r) for r in records])
        writer.add_results([s for s, _r in batch], results)
        counts["enriched"] += len(batch)
        enrich_s += time.perf_counter() - e0
        batch.clear()

    p0 = time.perf_counter()
    for item in partition.items():
        counts["items"] += 1
        seq = writer.add_item(item)
        if item.rejection is not None:
            counts["rejected"] += 1
        elif item.record is not None:
            counts["records"] += 1
            if not item.stub and enrichable(steps, item.record):
                batch.append((seq, item.record))
                if len(batch) >= ENRICH_BATCH:
                    flush()
        else:
            counts["relations"] += 1
    flush()
    parse_s = time.perf_counter() - p0 - enrich_s
    tables = writer.to_parquet()
    return {
        "tables": tables, "counts": counts, "label": partition.label,
        "seconds": {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0, "parse": parse_s,
                    "enrich": enrich_s},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
