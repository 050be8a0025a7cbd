"""``/relations``: create and delete typed relations between records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response

from citybridge.api.deps import CacheDep, HubDep, WriterDep
from citybridge.api.routes.common import ID_PATTERN, errors
from citybridge.api.schemas import WriteResult
from citybridge.errors import Invalid
from citybridge.model.relations import Relation, check_relation_kinds

router = APIRouter(prefix="/relations", tags=["relations"])

RELATION_EXAMPLES = {
    "partner": {"summary": "An organisation coordinates a project",
                "value": {"type": "partner_in", "source": "org_lisbon_cm", "target": "prj_cool_streets",
                          "role": "coordinator", "start_date": "2021-01-01"}},
}


@router.post("", response_model=WriteResult, status_code=201, responses=errors(401, 403, 404, 422))
def create_relation(hub: HubDep, grant: WriterDep, cache: CacheDep,
                    relation: Annotated[Relation, Body(openapi_examples=RELATION_EXAMPLES)]) -> dict[str, str]:
    """Create (or update) a relation; both ends must exist and be visible to the caller."""
    source = hub.get(relation.source, caller=grant.caller)
    target = hub.get(relation.target, caller=grant.caller)
    why = check_relation_kinds(relation.type, source.kind, target.kind)
    if why:
        raise Invalid(why, field="type")
    rel = relation.model_copy(update={"source": source.id, "target": target.id})
    rel.id = rel.key()
    report = hub.relate([rel], changed_by=f"api:{grant.caller.user}")
    if report.rejected:
        rej = report.rejections[0]
        raise Invalid(rej["reason"] or "rejected", field=rej.get("field"))
    cache.clear()
    return {"status": "created" if report.created else ("updated" if report.updated else "unchanged"),
            "id": rel.id}


@router.delete("/{relation_id}", status_code=204, responses=errors(401, 403, 404, 422))
def delete_relation(hub: HubDep, grant: WriterDep, cache: CacheDep,
                    relation_id: Annotated[str, Path(pattern=ID_PATTERN, examples=["rel_5f2c0a9d31b7e6a4c210"])]
                    ) -> Response:
    """Delete a relation (kept in history)."""
    hub.unrelate(relation_id, caller=grant.caller, changed_by=f"api:{grant.caller.user}")
    cache.clear()
    return Response(status_code=204)
