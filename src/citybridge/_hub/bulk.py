"""Hub method for bulk runs on Dask (``citybridge bulk``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from citybridge.pipelines import BulkReport


class BulkMixin:
    """Bulk services. Mixed into :class:`citybridge.hub.Hub`."""

    def bulk(self, sources: Iterable[str | Path], *, scheduler: str | None = None, workers: int | None = None,
             work_dir: str | Path | None = None, steps: Iterable[str] | None = None, index: bool = True,
             progress: bool = False) -> BulkReport:
        """Load partitioned inputs (OpenAlex snapshot parts, CSV/JSONL shards, folders of documents) through
        parse -> resolve ids -> enrich on Dask workers, into Parquet partitions that this process alone loads
        into the store; then build the search index. A LocalCluster of ``workers`` processes without a
        ``scheduler`` address. Resumable: a rerun skips finished partitions.

        CLI: ``citybridge bulk SOURCE... [--scheduler tcp://host:8786] [--workers N] [--json]``.

        >>> hub.bulk(["openalex/data/works"], workers=2).to_dict()["import"]["created"]   # doctest: +SKIP
        """
        from citybridge.pipelines import BulkRun

        hub: Any = self
        hub.init()
        return BulkRun(hub, sources, scheduler=scheduler, workers=workers, work_dir=work_dir, steps=steps,
                       index=index, progress=progress).run()
