"""A partition of records and relations given in memory (a Dask partition, rows read from Parquet) as a Source,
so bulk runs go through the same intake pipeline (validation, resolution, batched writes) as files do."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from citybridge.ingest.base import SourceItem
from citybridge.model.entities import Record
from citybridge.model.relations import Relation


class PartitionSource:
    """Records, then relations, of one partition. Dicts are raw rows (validated by the importer: a bad one is
    rejected as ``<name>:<n>`` naming its field); models pass as they are; ``SourceItem`` objects keep their
    flags (``stub``, ``optional`` ...) and get the partition's numbering as their place."""

    def __init__(self, name: str, records: Iterable[Record | dict[str, Any] | SourceItem],
                 relations: Iterable[Relation | dict[str, Any] | SourceItem] = ()) -> None:
        self.name = name
        self._records = records
        self._relations = relations

    def items(self) -> Iterator[SourceItem]:
        n = 0
        for group, default_kind in ((self._records, None), (self._relations, "relation")):
            for obj in group:
                n += 1
                where = f"{self.name}:{n}"
                if isinstance(obj, SourceItem):
                    yield obj if obj.where else _placed(obj, where)
                elif isinstance(obj, Record):
                    yield SourceItem(where, record=obj)
                elif isinstance(obj, Relation):
                    yield SourceItem(where, relation=obj)
                elif isinstance(obj, dict):
                    # a relation's id is its key, derived again once its ends are resolved to record ids
                    row = obj if default_kind is None else {k: v for k, v in obj.items() if k != "id"}
                    yield SourceItem(where, row=row, kind=None if "kind" in obj else default_kind)
                else:
                    from citybridge.ingest.base import Rejection

                    yield SourceItem(where, rejection=Rejection(
                        where, f"expected a record, a relation or a dict, got {type(obj).__name__}"))


def _placed(item: SourceItem, where: str) -> SourceItem:
    item.where = where
    return item


__all__ = ["PartitionSource"]
