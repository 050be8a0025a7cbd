"""The import pages (curators): upload a table, see what the import would do (the inferred mapping, the
first records, every problem), adjust the mapping (column -> field, type values, defaults), then import.

The uploaded file is staged by the Hub between the preview and the import (a token in the form names it),
so a curator can adjust and preview as often as needed without uploading again.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData, UploadFile

from citybridge.errors import CitybridgeError, Invalid
from citybridge.ingest.infer import field_choices, type_value
from citybridge.ingest.preview import Choices, Preview, type_values
from citybridge.web.views import check_csrf, curator_grant, hub_of, render, same_origin

router = APIRouter()
KINDS = ("organization", "person", "project", "document", "opportunity", "place")
MAX_FIELDS = 4000  # form fields of a preview: a wide sheet has a few per column
MAX_VALUES = 25  # distinct type values offered for mapping per column


def _page(request: Request, status_code: int = 200, **context: Any) -> HTMLResponse:
    grant = context.pop("grant")
    return render(request, "import.html", status_code=status_code, allowed=True, dev_local=grant.dev_local,
                  kinds=KINDS, limit=hub_of(request).settings.max_upload_bytes, **context)


@router.get("/import", response_class=HTMLResponse, name="import_page")
def import_page(request: Request) -> HTMLResponse:
    try:
        grant = curator_grant(request)
    except CitybridgeError:
        return render(request, "import.html", allowed=False, status_code=403)
    return _page(request, grant=grant)


@router.post("/import", response_class=HTMLResponse)
async def import_post(request: Request) -> HTMLResponse:
    """Import an uploaded file at once, with the inferred mapping."""
    from citybridge.api.routes.data import import_upload

    same_origin(request)
    grant = curator_grant(request)
    hub = hub_of(request)
    form = await request.form(max_files=1, max_fields=10)
    check_csrf(request, form)
    upload = _upload_of(form)
    kind = str(form.get("kind") or "") or None
    try:
        report = await run_in_threadpool(import_upload, hub, upload.filename, upload.file, kind=kind,
                                         changed_by=f"web-import:{grant.caller.user}")
    finally:
        await upload.close()
    request.app.state.cache.clear()
    return _page(request, grant=grant, report=report.to_dict())


@router.post("/import/preview", response_class=HTMLResponse, name="import_preview")
async def import_preview(request: Request) -> HTMLResponse:
    """Stage an upload (or take the staged one) and show what importing it would do."""
    grant, hub, form = await _curator_form(request, max_files=1)
    token = str(form.get("upload") or "")
    if not token:
        upload = _upload_of(form)
        try:
            token = await run_in_threadpool(hub.stage_upload, upload.filename, upload.file)
        finally:
            await upload.close()
    options = _options(form)
    path = hub.staged_upload(token)
    result: Preview = await run_in_threadpool(lambda: hub.preview_import(path, **options))
    return _page(request, grant=grant, preview=_view(result, token, options), token=token)


@router.post("/import/commit", response_class=HTMLResponse, name="import_commit")
async def import_commit(request: Request) -> HTMLResponse:
    """Import the staged file with the mapping as adjusted on the preview."""
    grant, hub, form = await _curator_form(request, max_files=0)
    token = str(form.get("upload") or "")
    path = hub.staged_upload(token)
    options = _options(form)
    report = await run_in_threadpool(lambda: hub.import_files([path], changed_by=f"web-import:{grant.caller.user}",
                                                              **options))
    hub.discard_upload(token)
    request.app.state.cache.clear()
    return _page(request, grant=grant, report=report.to_dict(), imported=path.name)


# ------------------------------------------------------------------------------------------ form <-> plan
async def _curator_form(request: Request, *, max_files: int) -> tuple[Any, Any, FormData]:
    """The grant, hub and form of a curator's same-origin post (raises Forbidden/Unauthorized otherwise)."""
    same_origin(request)
    grant = curator_grant(request)
    form = await request.form(max_files=max_files, max_fields=MAX_FIELDS)
    check_csrf(request, form)
    return grant, hub_of(request), form


def _upload_of(form: FormData) -> UploadFile:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise Invalid("choose a file to import", field="file")
    return upload


def _options(form: FormData) -> dict[str, Any]:
    """``plan_import`` options from the form: kind, header row, and the curator's choices, which are
    dropped when the kind or the header row changed (the columns are not the same then)."""
    kind = str(form.get("kind") or "") or None
    if kind is not None and kind not in (*KINDS, "relation"):
        raise Invalid(f"unknown kind '{kind}'", field="kind")
    header = str(form.get("header_row") or "").strip()
    if header and not header.isdigit():
        raise Invalid("the header row is a row number", field="header_row")
    header_row = int(header) if header else None
    options: dict[str, Any] = {"kind": kind, "header_row": header_row}
    same = (str(form.get("shown_kind") or "") == (kind or "") and
            str(form.get("shown_header") or "") == (str(header_row) if header_row else ""))
    if not same:
        return options
    choices = Choices()
    for column, target in zip(form.getlist("colname"), form.getlist("target"), strict=False):
        choices.columns[str(column)] = str(target) or "-"
    for target, written, value in zip(form.getlist("vm_target"), form.getlist("vm_from"), form.getlist("vm_to"),
                                      strict=False):
        if str(value):
            choices.values.setdefault(str(target), {})[str(written)] = str(value)
    for name, value in zip(form.getlist("def_field"), form.getlist("def_value"), strict=False):
        if str(name) and str(value).strip():
            choices.defaults[str(name)] = str(value).strip()
    options["choices"] = choices
    return options


def _view(p: Preview, token: str, options: dict[str, Any]) -> dict[str, Any]:
    """What the preview template shows: the file, the columns with their field choices, type value maps,
    defaults, the first records and the problems."""
    plan = p.plan
    inference = plan.inference
    kind = inference.kind if inference else plan.kind
    fields = field_choices(kind)
    columns = []
    value_maps = []
    chosen_values = plan.choices.values if plan.choices else {}
    for g in inference.columns if inference else []:
        columns.append({"name": g.column, "target": g.target or "-", "how": g.how, "reason": g.reason,
                        "parse": g.parse, "samples": g.samples,
                        "options": ["-", f"attributes.{g.column}", *[f for f in fields if f != g.target],
                                    *([g.target] if g.target and g.target not in fields else [])]})
        enum = type_values(kind, g.target)
        if enum:
            seen = sorted({str(r.get(g.column)).strip() for r in plan.rows if str(r.get(g.column) or "").strip()})
            current = {**g.values, **chosen_values.get(g.target or "", {})}
            value_maps.append({"column": g.column, "target": g.target, "options": enum, "values": [
                {"from": v, "to": current.get(v) or (v if v in enum else type_value(g.target or "", v) or "")}
                for v in seen[:MAX_VALUES]]})
    defaults = list((plan.choices.defaults if plan.choices else {}).items())
    return {"file": plan.source.name, "summary": plan.summary(), "kind": kind, "given_kind": options.get("kind"),
            "kind_reason": inference.kind_reason if inference else None,
            "header_row": options.get("header_row"), "columns": columns, "value_maps": value_maps,
            "defaults": defaults + [("", "")] * 2, "default_fields": [f for f in fields if "." not in f],
            "records": [_shown(r) for r in p.records], "problems": p.problems[:200], "rows": p.rows, "ok": p.ok,
            "rejected": p.rejected, "token": token}


def _shown(record: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in record.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        out[key] = text if len(text) <= 160 else text[:157] + "…"
    return out
