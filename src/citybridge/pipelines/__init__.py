"""Bulk runs of the intake and enrichment steps on a distributed engine (Dask): partitioned inputs -> parse ->
resolve ids -> enrich -> Parquet partitions -> one writer loads the store -> index. ``citybridge bulk``."""

from __future__ import annotations

from citybridge.pipelines.bulk import BulkReport, BulkRun
from citybridge.pipelines.partitions import Partition, discover

__all__ = ["BulkReport", "BulkRun", "Partition", "discover"]
