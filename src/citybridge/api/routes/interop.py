"""``/oai`` (OAI-PMH 2.0), ``/oai/cb_jsonld.xsd``, ``/vocab`` (the citybridge vocabulary) and
``/api/v1/catalog`` (DCAT, JSON-LD or Turtle). Public records only, for every caller."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from citybridge.api.deps import HubDep

router = APIRouter(tags=["interoperability"])  # mounted at the root: /oai and /vocab are not API paths
catalog_router = APIRouter(tags=["interoperability"])
XML = "text/xml; charset=utf-8"


@router.get("/oai", response_class=Response, responses={200: {"content": {"text/xml": {}}}})
async def oai_get(request: Request, hub: HubDep) -> Response:
    """OAI-PMH 2.0: Identify, ListMetadataFormats, ListSets, ListIdentifiers, ListRecords, GetRecord."""
    args: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        args.setdefault(key, []).append(value)
    return Response(hub.oai(args), media_type=XML)


@router.post("/oai", response_class=Response, responses={200: {"content": {"text/xml": {}}}})
async def oai_post(request: Request, hub: HubDep) -> Response:
    """OAI-PMH 2.0 with the arguments form-encoded in the body."""
    form = await request.form()
    args: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        args.setdefault(key, []).append(str(value))
    return Response(hub.oai(args), media_type=XML)


@router.get("/oai/cb_jsonld.xsd", response_class=Response)
def oai_jsonld_schema(hub: HubDep) -> Response:
    """XML Schema of the ``cb_jsonld`` metadata format (a JSON-LD document wrapped in one element)."""
    return Response(hub.oai_provider().jsonld_schema(), media_type=XML)


@router.get("/vocab", response_class=Response, responses={200: {"content": {"text/turtle": {}}}})
def vocab(hub: HubDep) -> Response:
    """The citybridge vocabulary (RDFS in Turtle): the export terms schema.org does not have."""
    return Response(hub.vocabulary(), media_type="text/turtle; charset=utf-8")


@catalog_router.get("/catalog", response_class=Response, responses={200: {"content": {
    "application/ld+json": {}, "text/turtle": {}}}})
def catalog(request: Request, hub: HubDep,
            format: Annotated[Literal["jsonld", "ttl"] | None,
                              Query(description="jsonld or ttl (default: by Accept header, else jsonld)")] = None,
            ) -> Response:
    """A DCAT catalogue of the public exports (one dataset per kind, one distribution per format)."""
    if format is None:
        format = "ttl" if "text/turtle" in request.headers.get("accept", "") else "jsonld"
    media = "text/turtle; charset=utf-8" if format == "ttl" else "application/ld+json"
    return Response(hub.catalog(format), media_type=media)
