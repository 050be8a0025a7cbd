"""``/entities``: list, read, create, update and delete records; their relations and network."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Response

from citybridge.api.deps import CacheDep, CallerDep, HubDep, WriterDep
from citybridge.api.routes.common import ID_PATTERN, errors, parse_record, subtypes
from citybridge.api.schemas import (
    RECORD_EXAMPLES,
    EntityDetail,
    EntityPage,
    NetworkOut,
    RelationOut,
    WriteResult,
    record_body_schema,
)
from citybridge.errors import Conflict, Invalid
from citybridge.model.entities import Kind, record_to_dict
from citybridge.model.relations import RelationType

router = APIRouter(prefix="/entities", tags=["entities"])

KindParam = Annotated[Kind | None, Query(description="only records of this kind")]
IdPath = Annotated[str, Path(description="record id, or an external id as scheme:value (e.g. ror:05abc)",
                             pattern=ID_PATTERN, examples=["org_lisbon_cm"])]
RECORD_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": record_body_schema(), "examples": RECORD_EXAMPLES}}}}


@router.get("", response_model=EntityPage, responses=errors(401, 422))
def list_entities(
    hub: HubDep, caller: CallerDep, kind: KindParam = None,
    subtype: Annotated[str | None, Query(description="e.g. local_government, university, paper",
                                         max_length=64)] = None,
    country: Annotated[str | None, Query(description="ISO 3166-1 alpha-2", pattern=r"^[A-Za-z]{2}$")] = None,
    after: Annotated[str | None, Query(description="cursor: `next` of the previous page", max_length=256)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Records the caller may see, in id order, one page at a time (cursor pagination)."""
    kind_value = kind.value if kind else None
    if subtype is not None and subtype not in subtypes(kind_value):
        raise Invalid(f"unknown subtype '{subtype}'" + (f" for {kind_value}" if kind_value else ""), field="subtype")
    rows = hub.list(kind_value, subtype=subtype, country=country, after=after, limit=limit, caller=caller)
    return {"items": [record_to_dict(r) for r in rows], "next": rows[-1].id if len(rows) == limit else None}


@router.post("", response_model=WriteResult, status_code=201, responses=errors(401, 403, 409, 422),
             openapi_extra=RECORD_BODY)
def create_entity(hub: HubDep, grant: WriterDep, cache: CacheDep, body: Annotated[Any, Body()]) -> dict[str, str]:
    """Create a record. An explicit ``id`` that exists already is a conflict (use PUT to change it)."""
    record = parse_record(body)
    if record.id and hub.store.exists(record.id):
        raise Conflict(f"a record with id '{record.id}' exists; use PUT /entities/{record.id}", field="id")
    status, rid = hub.save(record, caller=grant.caller, changed_by=f"api:{grant.caller.user}")
    cache.clear()
    return {"status": status, "id": rid}


def etag(version: int) -> str:
    return f'"{version}"'


def if_match_version(value: str | None) -> int | None:
    """The version an ``If-Match`` header names (``"3"``, ``W/"3"`` or ``3``); None without the header."""
    if value is None or value.strip() == "*":
        return None
    tag = value.split(",")[0].strip().removeprefix("W/").strip('"')
    if not tag.isdigit() or len(tag) > 9:
        raise Invalid("If-Match takes the ETag of GET /entities/{id} (the record's version)", field="if-match")
    return int(tag)


@router.get("/{entity_id}", response_model=EntityDetail, responses=errors(401, 404, 422))
def get_entity(hub: HubDep, caller: CallerDep, entity_id: IdPath, response: Response) -> dict[str, Any]:
    """A record with its relations, annotations with evidence, provenance and history. The ``ETag``
    header is the record's version: send it back as ``If-Match`` with PUT so no one's change is lost."""
    data = hub.show(entity_id, caller=caller)
    record = data["record"]
    response.headers["ETag"] = etag(data["version"])
    return {"record": record_to_dict(record), "version": data["version"], "relations": data["relations"],
            "annotations": {k: data[k] for k in ("languages", "tags", "places", "keywords")},
            "provenance": [p.model_dump(mode="json", exclude_none=True) for p in record.provenance],
            "history": data["history"]}


@router.put("/{entity_id}", response_model=WriteResult, responses=errors(401, 403, 404, 409, 422),
            openapi_extra=RECORD_BODY)
def update_entity(hub: HubDep, grant: WriterDep, cache: CacheDep, entity_id: IdPath,
                  body: Annotated[Any, Body()], response: Response,
                  if_match: Annotated[str | None, Header(description="the ETag (version) the change is based "
                                                         "on; a stale one answers 409", max_length=64)] = None
                  ) -> dict[str, str]:
    """Change a record: the fields sent replace the stored ones; external ids and provenance are united.
    With ``If-Match`` (the ETag of GET), the change applies only to that version, else 409."""
    expected = if_match_version(if_match)
    current = hub.get(entity_id, caller=grant.caller)
    if isinstance(body, dict) and body.get("id") not in (None, "", current.id):
        raise Invalid("the body's id differs from the id in the path", field="id")
    record = parse_record({**body, "id": current.id} if isinstance(body, dict) else body)
    if record.kind != current.kind:
        raise Invalid(f"cannot change a {current.kind.value} into a {record.kind.value}", field="kind")
    status, rid = hub.save(record, caller=grant.caller, changed_by=f"api:{grant.caller.user}",
                           expected_version=expected)
    cache.clear()
    response.headers["ETag"] = etag(hub.store.version_of(rid))
    return {"status": status, "id": rid}


@router.delete("/{entity_id}", status_code=204, responses=errors(401, 403, 404, 422))
def delete_entity(hub: HubDep, grant: WriterDep, cache: CacheDep, entity_id: IdPath) -> Response:
    """Delete a record and its relations (both are kept in history)."""
    hub.delete(entity_id, caller=grant.caller, changed_by=f"api:{grant.caller.user}")
    cache.clear()
    return Response(status_code=204)


@router.get("/{entity_id}/relations", response_model=list[RelationOut], responses=errors(401, 404, 422))
def entity_relations(
    hub: HubDep, caller: CallerDep, entity_id: IdPath,
    type: Annotated[RelationType | None, Query(description="only relations of this type")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[dict[str, Any]]:
    """A record's relations with the name and kind of the record at the other end."""
    return hub.relations(entity_id, caller=caller, rel_type=type.value if type else None, limit=limit)


@router.get("/{entity_id}/network", response_model=NetworkOut, responses=errors(401, 404, 422))
def entity_network(
    hub: HubDep, caller: CallerDep, entity_id: IdPath,
    depth: Annotated[int, Query(ge=1, le=3, description="collaboration steps from the record")] = 2,
    max_nodes: Annotated[int, Query(ge=2, le=400)] = 150,
) -> dict[str, Any]:
    """The collaboration graph around a record: partners via shared projects, co-authors, members."""
    return hub.network(entity_id, caller=caller, depth=depth, max_nodes=max_nodes)
