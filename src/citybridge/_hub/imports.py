"""Hub methods for importing a user's tables: plan (layout + inferred mapping), preview, import."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from citybridge.errors import Invalid
from citybridge.ingest.mapping import Mapping
from citybridge.ingest.pipeline import Importer, ImportReport
from citybridge.ingest.preview import ImportPlan, Preview, plan_import, preview
from citybridge.model.entities import Kind

if TYPE_CHECKING:
    from citybridge.settings import Settings
    from citybridge.store import Store


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
                    infer: bool = True) -> ImportPlan:
        """How a file will be imported: its layout (header row, columns), and the mapping, given or inferred
        from its header and values (see :mod:`citybridge.ingest.infer`); nothing is read past a sample.

        >>> plan = hub.plan_import("projects.csv", kind="project")        # doctest: +SKIP
        >>> plan.mapping.columns["title"]                                  # doctest: +SKIP
        'name'
        """
        _check(kind, header_row)
        m = Mapping.load(mapping) if isinstance(mapping, str | Path) else mapping
        return plan_import(path, kind=kind, mapping=m, delimiter=delimiter, encoding=encoding,
                           header_row=header_row, infer=infer)

    def preview_import(self, path: str | Path, *, records: int = 5, **options: object) -> Preview:
        """What importing ``path`` would do, writing nothing: the plan, the first ``records`` rows as records,
        and every row's problem (as the import would report it). ``options`` are those of
        :meth:`plan_import`. CLI: ``citybridge import FILE --dry-run``.
        """
        return preview(self.plan_import(path, **options), records=records)  # type: ignore[arg-type]

    def import_files(
        self, paths: Iterable[str | Path], *, kind: str | None = None, mapping: str | Path | Mapping | None = None,
        delimiter: str | None = None, encoding: str | None = None, header_row: int | None = None,
        infer: bool = True, strict: bool = False, progress: Callable[[int], None] | None = None,
        row_log: IO[str] | None = None, changed_by: str | None = None,
    ) -> ImportReport:
        """Import tabular files (CSV, XLSX, JSON, JSONL) into the store; returns the combined report.

        Without a ``mapping`` the mapping is inferred per file (``report.inferred`` says what was inferred;
        ``infer=False`` keeps the plain default mapping). Rows are validated one by one (a bad row never stops
        the others) and written in batches of ``settings.import_batch``, each batch one transaction. With
        ``strict``, each file is one transaction that stops at its first bad row and writes nothing, and
        the files after it are not read (``report.stopped_at``).
        """
        _check(kind, header_row)
        m = Mapping.load(mapping) if isinstance(mapping, str | Path) else mapping
        total = ImportReport()
        for path in paths:
            plan = plan_import(path, kind=kind, mapping=m, delimiter=delimiter, encoding=encoding,
                               header_row=header_row, infer=infer)
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
