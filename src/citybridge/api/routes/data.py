"""``/stats``, ``/export`` (streamed) and ``/import`` (multipart upload -> import report)."""

from __future__ import annotations

from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import StreamingResponse

from citybridge.api.deps import CacheDep, CallerDep, CuratorDep, HubDep
from citybridge.api.routes.common import errors
from citybridge.api.schemas import ImportReportOut, StatsOut
from citybridge.api.streaming import stream_writer
from citybridge.errors import Invalid
from citybridge.hub import Hub
from citybridge.ingest.pipeline import ImportReport
from citybridge.model.entities import Kind

router = APIRouter(tags=["data"])

ExportKind = Literal["organization", "person", "project", "document", "opportunity", "place", "theme", "relation"]
MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8", "jsonld": "application/ld+json",
         "ttl": "text/turtle; charset=utf-8"}


@router.get("/stats", response_model=StatsOut, responses=errors(401))
def stats(hub: HubDep, caller: CallerDep) -> dict[str, Any]:
    """Counts of the records (by kind and subtype) and relations (by type) the caller may see."""
    return hub.stats(caller=caller)


@router.get("/export", responses={200: {"description": "the export, streamed", "content": {
    "application/x-ndjson": {"schema": {"type": "string"}}, "text/csv": {"schema": {"type": "string"}},
    "application/ld+json": {"schema": {"type": "string"}}, "text/turtle": {"schema": {"type": "string"}}}},
    **errors(401, 422)},
    response_class=StreamingResponse)
def export(hub: HubDep, caller: CallerDep,
           format: Annotated[Literal["jsonl", "csv", "jsonld", "ttl"],
                             Query(description="jsonl re-imports exactly")] = "jsonl",
           kind: Annotated[ExportKind | None, Query(description="only this kind, or 'relation'")] = None,
           ) -> StreamingResponse:
    """Everything the caller may see, streamed as JSON Lines, CSV (one kind per file is tidiest), JSON-LD or Turtle."""
    name = f"citybridge-{kind or 'all'}.{format}"
    body = stream_writer(lambda out: hub.export(out, format, kind=kind, caller=caller))
    return StreamingResponse(body, media_type=MEDIA[format],
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


def import_upload(hub: Hub, filename: str | None, fileobj: IO[bytes], *, kind: str | None,
                  changed_by: str) -> ImportReport:
    """Stage an uploaded file under its (sanitised) name and import it with the inferred mapping."""
    if kind is not None and kind != "relation" and kind not in {k.value for k in Kind}:
        raise Invalid(f"unknown kind '{kind}'", field="kind")
    token = hub.stage_upload(filename, fileobj)
    try:
        return hub.import_files([hub.staged_upload(token)], kind=kind, changed_by=changed_by)
    except UnicodeDecodeError as exc:
        raise Invalid(f"cannot decode the file: {exc.reason}", field="file") from None
    finally:
        hub.discard_upload(token)


@router.post("/import", response_model=ImportReportOut, responses=errors(401, 403, 413, 422))
def import_file(
    hub: HubDep, grant: CuratorDep, cache: CacheDep,
    file: Annotated[UploadFile, File(description="CSV, TSV, XLSX, JSON or JSON Lines (also .gz)")],
    kind: Annotated[ExportKind | None, Form(description="kind of every row, unless the file has a kind column")]
    = None,
) -> dict[str, Any]:
    """Import a file (curators only). Each row is validated on its own: bad rows are reported, never stored
    half-way; the size limit is CITYBRIDGE_MAX_UPLOAD_BYTES (413 above it)."""
    report = import_upload(hub, file.filename, file.file, kind=kind, changed_by=f"api-import:{grant.caller.user}")
    cache.clear()
    return report.to_dict()
