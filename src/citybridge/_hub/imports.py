"""Hub methods for importing a user's tables: plan (layout + inferred mapping), preview, import, and
uploads staged between a preview and the import (the web import page)."""

from __future__ import annotations

import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from citybridge.errors import Invalid, NotFound
from citybridge.ingest.mapping import Mapping
from citybridge.ingest.pipeline import Importer, ImportReport
from citybridge.ingest.preview import Choices, ImportPlan, Preview, plan_import, preview
from citybridge.model.entities import Kind

if TYPE_CHECKING:
    from citybridge.ingest.base import SourceItem
    from citybridge.model.entities import Record
    from citybridge.model.relations import Relation
    from citybridge.settings import Settings
    from citybridge.store import Store


UPLOAD_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".xlsx", ".json", ".json.gz", ".jsonld", ".jsonl", ".ndjson",
                   ".jsonl.gz", ".ndjson.gz")
UPLOAD_TTL = 24 * 3600  # seconds a staged upload is kept
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def _check(kind: str | None, header_row: int | None) -> None:
    if kind is not None and kind != "relation" and kind not in {k.value for k in Kind}:
        raise Invalid(f"unknown kind '{kind}'", field="kind")
    if header_row is not None and header_row < 1:
        raise Invalid("the header row is a row number (1 or more)", field="header_row")


class ImportMixin:
    """Import services. Mixed into :class:`citybridge.hub.Hub`."""

    store: Store
    settings: Settings

    def plan_import(self, path: str | Path, *, kind: str | None = None, mapping: str | Path | Mapping | None = None,
                    delimiter: str | None = None, encoding: str | None = None, header_row: int | None = None,
                    infer: bool = True, choices: Choices | None = None) -> ImportPlan:
        """How a file will be imported: its layout (header row, columns), and the mapping, given or inferred
        from its header and values (see :mod:`citybridge.ingest.infer`); nothing is read past a sample.

        >>> plan = hub.plan_import("projects.csv", kind="project")        # doctest: +SKIP
        >>> plan.mapping.columns["title"]                                  # doctest: +SKIP
        'name'
        """
        _check(kind, header_row)
        m = Mapping.load(mapping) if isinstance(mapping, str | Path) else mapping
        return plan_import(path, kind=kind, mapping=m, delimiter=delimiter, encoding=encoding,
                           header_row=header_row, infer=infer, choices=choices)

    def preview_import(self, path: str | Path, *, records: int = 5, **options: object) -> Preview:
        """What importing ``path`` would do, writing nothing: the plan, the first ``records`` rows as records,
        and every row's problem (as the import would report it). ``options`` are those of
        :meth:`plan_import`. CLI: ``citybridge import FILE --dry-run``.
        """
        return preview(self.plan_import(path, **options), records=records)  # type: ignore[arg-type]

    def import_files(
        self, paths: Iterable[str | Path], *, kind: str | None = None, mapping: str | Path | Mapping | None = None,
        delimiter: str | None = None, encoding: str | None = None, header_row: int | None = None,
        infer: bool = True, choices: Choices | None = None, strict: bool = False,
        progress: Callable[[int], None] | None = None, row_log: IO[str] | None = None, changed_by: str | None = None,
    ) -> ImportReport:
        """Import tabular files (CSV, XLSX, JSON, JSONL) into the store; returns the combined report.

        Without a ``mapping`` the mapping is inferred per file (``report.inferred`` says what was inferred;
        ``infer=False`` keeps the plain default mapping; ``choices`` change it as on the web import page).
        Rows are validated one by one (a bad row never stops
        the others) and written in batches of ``settings.import_batch``, each batch one transaction. With
        ``strict``, each file is one transaction that stops at its first bad row and writes nothing, and
        the files after it are not read (``report.stopped_at``).
        """
        _check(kind, header_row)
        m = Mapping.load(mapping) if isinstance(mapping, str | Path) else mapping
        total = ImportReport()
        for path in paths:
            plan = plan_import(path, kind=kind, mapping=m, delimiter=delimiter, encoding=encoding,
                               header_row=header_row, infer=infer, choices=choices)
            source = plan.source
            importer = Importer(self.store, batch_size=self.settings.import_batch,
                                changed_by=changed_by or f"import:{source.name}", progress=progress,
                                row_log=row_log)
            report = importer.run(source, kind=kind, mapping=plan.mapping, provenance_source=f"import:{source.name}",
                                  strict=strict)
            if plan.inference is not None and (plan.inference.inferred() or plan.notes):
                report.inferred.append(plan.summary())
            total.merge(report)
            if report.stopped_at:
                break
        return total

    def bulk_load(self, records: Iterable[Record | dict[str, Any] | SourceItem] = (),
                  relations: Iterable[Relation | dict[str, Any] | SourceItem] = (), *, source: str = "bulk",
                  changed_by: str | None = None, resolve: bool = True, strict: bool = False,
                  progress: Callable[[int], None] | None = None) -> ImportReport:
        """Load one batch-shaped partition of records and relations through the fast import path; returns
        the report (created / updated / unchanged / rejected, with where and field for each rejection).

        This is the entry point for bulk runs (a Dask partition, a Parquet file, an OpenAlex shard): call it
        once per partition.

        Args:
            records: ``Record`` objects, or dicts in the store's export form (``record_to_dict``: ``kind``,
                ``name``, ``external_ids``, ``provenance`` ...), validated like import rows; or ``SourceItem``
                objects when a row needs the intake flags (``stub``, ``keep``, ``merge_attributes``).
            relations: ``Relation`` objects or dicts (``type``, ``source``, ``target``, ...) whose ends are record
                ids or ``scheme:value`` external ids, resolved against the store and the records above; a
                ``SourceItem`` with ``optional=True`` for a link whose other end may be absent (a citation).
            source: the partition's name: rejections say ``<source>:<n>`` (n counts from 1 over the records,
                then over the relations) and provenance defaults to ``bulk:<source>``.
            resolve: match records to stored ones by shared external ids (the ``ExactIdResolver``) before
                writing; without it records are matched by id, then by exact external id, by the store.
            strict: the whole partition is one transaction that stops at its first bad row and writes nothing.

        Guarantees are those of :meth:`import_files`: rows are validated one by one, written in batches of
        ``settings.import_batch`` (each one transaction: a crash leaves whole batches or nothing), a re-run
        of the same partition is a no-op (``unchanged``), and a record or relation that replaces a stored
        version keeps the old one in history. New records are inserted in bulk (executemany on SQLite, COPY
        on PostgreSQL).

        >>> hub.bulk_load([{"kind": "organization", "name": "Oulu", "external_ids": {"ror": "03yj89h83"}}],
        ...               source="part-0001").created                              # doctest: +SKIP
        1
        """
        from citybridge.ingest.bulk import PartitionSource
        from citybridge.ingest.resolve import ExactIdResolver

        src = PartitionSource(source, records, relations)
        importer = Importer(self.store, batch_size=self.settings.import_batch,
                            changed_by=changed_by or f"bulk:{source}", progress=progress,
                            resolver=ExactIdResolver() if resolve else None)
        return importer.run(src, strict=strict)

    # ------------------------------------------------------------------ staged uploads
    def _uploads(self) -> Path:
        return self.settings.data_dir / "uploads"

    def stage_upload(self, filename: str | None, fileobj: IO[bytes]) -> str:
        """Keep an uploaded table under its (sanitised) name until it is imported or a day has passed;
        returns the token that names it. Raises Invalid for an unsupported or empty file."""
        name = _SAFE.sub("_", Path(filename or "").name).strip("._") or "upload"
        if not name.lower().endswith(UPLOAD_SUFFIXES):
            raise Invalid(f"unsupported file type '{name}': use .csv, .tsv, .xlsx, .json or .jsonl", field="file")
        self._prune_uploads()
        token = secrets.token_hex(16)
        folder = self._uploads() / token
        folder.mkdir(parents=True)
        path = folder / name
        with path.open("wb") as fh:
            shutil.copyfileobj(fileobj, fh, 1024 * 1024)
        if path.stat().st_size == 0:
            self.discard_upload(token)
            raise Invalid("the uploaded file is empty", field="file")
        return token

    def staged_upload(self, token: str) -> Path:
        """The file a token names; NotFound when it was imported, discarded or has expired."""
        folder = self._uploads() / token if _TOKEN.match(token or "") else None
        files = sorted(folder.iterdir()) if folder is not None and folder.is_dir() else []
        if not files:
            raise NotFound("the uploaded file is gone (uploads are kept for a day): upload it again", field="upload")
        return files[0]

    def discard_upload(self, token: str) -> None:
        if _TOKEN.match(token or ""):
            shutil.rmtree(self._uploads() / token, ignore_errors=True)

    def _prune_uploads(self) -> None:
        root = self._uploads()
        if not root.is_dir():
            return
        cutoff = time.time() - UPLOAD_TTL
        for folder in root.iterdir():
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
