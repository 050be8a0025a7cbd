"""Partitions of a bulk run: what one task reads (an OpenAlex snapshot part, a table shard, a chunk of a folder
of documents) and how it is parsed into source items, on whichever machine runs the task.

A partition is named by a fingerprint of what it reads (paths, sizes, modification times) and of the
enrichment it gets (step names and versions), so a restarted run recognises the partitions it finished.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from citybridge.errors import Invalid, NotFound
from citybridge.ingest.base import SourceItem
from citybridge.ingest.documents import DOC_SUFFIXES

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".csv.gz", ".tsv.gz", ".jsonl.gz", ".ndjson.gz", ".xlsx")
DOCS_PER_PARTITION = 200


@dataclass(frozen=True, slots=True)
class Partition:
    """One unit of work: ``kind`` is openalex, table, documents or source (any other registered dump)."""

    kind: str
    paths: tuple[str, ...]
    label: str

    def fingerprint(self, salt: str = "") -> str:
        """A key that changes when an input file changes (size, mtime) or the enrichment does (``salt``)."""
        h = hashlib.blake2b(digest_size=10)
        h.update(f"{self.kind}|{salt}".encode())
        for p in self.paths:
            st = Path(p).stat()
            h.update(f"|{Path(p).resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
        return h.hexdigest()

    def items(self) -> Iterator[SourceItem]:
        """The partition's source items, parsed by the same sources ``citybridge ingest``/``import`` use."""
        if self.kind == "openalex":
            from citybridge.ingest.openalex import OpenAlexSnapshotSource

            yield from OpenAlexSnapshotSource(self.paths[0]).items()
        elif self.kind == "documents":
            from citybridge.ingest.documents import DocumentSource

            yield from DocumentSource(self.paths).items()
        elif self.kind == "table":
            yield from _table_items(self.paths[0])
        else:
            from citybridge.ingest.watch import open_source

            yield from open_source(self.paths[0]).items()


def _table_items(path: str) -> Iterator[SourceItem]:
    """Rows of a table shard mapped to records (or relation rows) with the inferred mapping, as the importer
    maps them; rows that do not map become rejections naming their line."""
    from citybridge.ingest.mapping import RowError
    from citybridge.ingest.pipeline import Importer
    from citybridge.ingest.preview import plan_import

    plan = plan_import(path)
    source = plan.source
    builder = Importer(None)  # type: ignore[arg-type]  # only its row -> record mapping is used, never the store
    for item in source.items():
        if item.row is None or item.rejection is not None:
            yield item
            continue
        try:
            built = builder._build(item, None, plan.mapping, f"import:{source.name}")
        except RowError as exc:
            from citybridge.ingest.base import Rejection

            yield SourceItem(item.where, rejection=Rejection(item.where, exc.reason, exc.field))
            continue
        if isinstance(built, dict):
            yield SourceItem(item.where, row=built, kind="relation", optional=item.optional)
        elif hasattr(built, "kind"):
            yield SourceItem(item.where, record=built, stub=item.stub, keep=item.keep,  # type: ignore[arg-type]
                             merge_attributes=item.merge_attributes)
        else:
            yield SourceItem(item.where, relation=built, optional=item.optional)  # type: ignore[arg-type]


def _is_openalex_part(path: Path) -> bool:
    name = path.name.lower()
    in_layout = any(p.startswith("updated_date=") for p in path.parent.parts[-1:])
    return (in_layout and name.startswith("part_")) or ("openalex" in name and name.endswith((".jsonl", ".jsonl.gz")))


def discover(sources: Iterable[str | Path], *, docs_per_partition: int = DOCS_PER_PARTITION) -> list[Partition]:
    """The partitions of the given files and folders, in a stable order.

    A folder in the OpenAlex snapshot layout (``.../updated_date=*/part_*.gz``) gives one partition per part
    file; other folders give one partition per table shard (CSV, TSV, JSON Lines, XLSX) and one per
    ``docs_per_partition`` documents (PDF, DOCX, HTML, Markdown, text). A file is one partition.
    Raises NotFound for a missing path and Invalid when nothing readable is found.
    """
    parts: list[Partition] = []
    for src in sources:
        p = Path(src)
        if not p.exists():
            raise NotFound("file or folder not found", where=str(p))
        if p.is_file():
            parts.append(_file_partition(p))
            continue
        files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith((".", "_")))
        docs: list[Path] = []
        for f in files:
            low = f.name.lower()
            if _is_openalex_part(f):
                parts.append(Partition("openalex", (str(f),), str(f.relative_to(p))))
            elif low.endswith(TABLE_SUFFIXES):
                parts.append(Partition("table", (str(f),), str(f.relative_to(p))))
            elif low.endswith(DOC_SUFFIXES):
                docs.append(f)
        for i in range(0, len(docs), docs_per_partition):
            chunk = docs[i:i + docs_per_partition]
            parts.append(Partition("documents", tuple(map(str, chunk)),
                                   f"{p.name}/ documents {i + 1}-{i + len(chunk)}"))
    if not parts:
        raise Invalid("no readable input: give OpenAlex snapshot parts, table shards (CSV, JSONL) or "
                      "folders of documents", field="sources")
    return parts


def _file_partition(p: Path) -> Partition:
    from citybridge.ingest.base import registry

    low = p.name.lower()
    if _is_openalex_part(p) or registry.best_for(str(p)) == "openalex":
        return Partition("openalex", (str(p),), p.name)
    best = registry.best_for(str(p))
    if best in (None, "tabular") and low.endswith(TABLE_SUFFIXES):
        return Partition("table", (str(p),), p.name)
    if low.endswith(DOC_SUFFIXES) and best in (None, "documents", "tabular"):
        return Partition("documents", (str(p),), p.name)
    return Partition("source", (str(p),), p.name)
