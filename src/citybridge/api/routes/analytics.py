"""``/analytics/network``, ``/analytics/trends``, ``/analytics/gaps``: the Hub's analytics, as JSON or CSV
(``format=csv``: the same flat tables as the CLI's ``--csv``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from citybridge.analyze.tables import gaps_rows, network_rows, to_csv, trends_rows
from citybridge.api.deps import CallerDep, HubDep
from citybridge.api.routes.common import errors

router = APIRouter(prefix="/analytics", tags=["analytics"])

THEME = r"^(sdg|pathway|programme|kw):[^\x00-\x1f]{1,200}$"
Theme = Annotated[str | None, Query(description="sdg:11, pathway:<code>, programme:SC5 or kw:<phrase>",
                                    pattern=THEME, max_length=210)]
Themes = Annotated[list[str] | None, Query(description="only these themes (repeat the parameter)", max_length=50)]
Scheme = Annotated[Literal["sdg", "pathway", "programme", "kw"] | None, Query(description="only this scheme")]
YearFrom = Annotated[int | None, Query(ge=1000, le=2200, description="first year (inclusive)")]
YearTo = Annotated[int | None, Query(ge=1000, le=2200, description="last year (inclusive)")]
Format = Annotated[Literal["json", "csv"], Query(description="json: the whole result; csv: a flat table")]
OK = {200: {"description": "the result (JSON) or its flat table (CSV)",
            "content": {"application/json": {"schema": {"type": "object"}},
                        "text/csv": {"schema": {"type": "string"}}}}}


def _out(result: dict[str, Any], fmt: str, rows: Any, name: str) -> Any:
    if fmt == "csv":
        return Response(to_csv(*rows(result)), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return result


@router.get("/network", responses={**OK, **errors(401, 422)})
def network(
    hub: HubDep, caller: CallerDep, theme: Theme = None,
    level: Annotated[Literal["organization", "person", "city"], Query(description="what the nodes are")]
    = "organization",
    year_from: YearFrom = None, year_to: YearTo = None,
    top: Annotated[int, Query(ge=1, le=500, description="length of each ranking")] = 20,
    graph_nodes: Annotated[int, Query(ge=2, le=400, description="size of the drawable subgraph")] = 60,
    format: Format = "json",
) -> Any:
    """Central, excellent, broker and pioneer agents of a theme's collaboration network (or the whole
    network), communities, a drawable subgraph, and the records behind every figure (``Hub.network_metrics``)."""
    result = hub.network_metrics(theme=theme, level=level, year_from=year_from, year_to=year_to, top=top,
                                 graph_nodes=graph_nodes, caller=caller)
    return _out(dict(result), format, network_rows, "network")


@router.get("/trends", responses={**OK, **errors(401, 422)})
def trends(
    hub: HubDep, caller: CallerDep, scheme: Scheme = None, theme: Themes = None,
    year_from: YearFrom = None, year_to: YearTo = None,
    top: Annotated[int, Query(ge=1, le=500, description="number of themes")] = 30,
    format: Format = "json",
) -> Any:
    """Theme volumes per year for supply and demand, growth, Kleinberg bursts, rising and emerging themes
    with their evidence (``Hub.trends``)."""
    result = hub.trends(scheme=scheme, themes=theme, year_from=year_from, year_to=year_to, top=top, caller=caller)
    return _out(dict(result), format, trends_rows, "trends")


@router.get("/gaps", responses={**OK, **errors(401, 422)})
def gaps(
    hub: HubDep, caller: CallerDep,
    by: Annotated[Literal["region", "country"], Query(description="UN sub-regions or countries")] = "region",
    scheme: Scheme = None, theme: Themes = None,
    year_from: YearFrom = None, year_to: YearTo = None,
    top: Annotated[int, Query(ge=1, le=500, description="number of ranked gaps")] = 20,
    format: Format = "json",
) -> Any:
    """The gap map: theme x area supply against demand with the records behind each cell, and the largest
    gaps with plain-language reasons (``Hub.gaps``)."""
    result = hub.gaps(by=by, scheme=scheme, themes=theme, year_from=year_from, year_to=year_to, top=top,
                      caller=caller)
    return _out(dict(result), format, gaps_rows, "gaps")
