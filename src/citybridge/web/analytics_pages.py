"""The analytics pages: ``/analytics`` (a theme's network of excellence, trend lines with the emerging challenges,
the gap heat-map and the map of gaps), ``/analytics/{part}.csv`` (each chart's figures as a file) and
``/analytics/records`` (the records behind one mark of a chart). Every figure comes from
``Hub.network_metrics`` / ``Hub.trends`` / ``Hub.gaps``; :mod:`citybridge.web.chart_data` only reshapes them for
the charts (``static/js/charts.js``, on the vendored d3 + Observable Plot) and the tables beside them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from citybridge.errors import Invalid
from citybridge.model.access import can_see
from citybridge.model.taxonomy import PATHWAYS, sdg_nodes
from citybridge.web import chart_data
from citybridge.web.messages import pick_language, translator
from citybridge.web.pages import json_island
from citybridge.web.views import caller_of, hub_of, render

router = APIRouter()
THEME = r"^(sdg|pathway|programme|kw):[\w .&'/-]{1,100}$|^$"
ThemeQ = Annotated[str | None, Query(pattern=THEME)]
KeywordQ = Annotated[str | None, Query(max_length=100)]
ByQ = Annotated[Literal["region", "country"], Query()]
#: the theme a newcomer lands on: SDG 11, sustainable cities and communities
DEFAULT_THEME = "sdg:11"
RECORDS_SHOWN = 500
#: agents per ranking (excellence, brokers, pioneers): the ten of each are marked in the picture
RANKED = 10
GOALS = [f"sdg:{n.code}" for n in sdg_nodes() if n.level == "goal"]


def _cached(request: Request, key: Any, compute: Any) -> Any:
    return request.app.state.cache.get(key, compute)


def _translator(request: Request) -> Any:
    return translator(pick_language(request.query_params.get("lang"), request.headers.get("accept-language")))


def chosen_theme(theme: str | None, keyword: str | None) -> str:
    """The theme of a request: a keyword (``kw:energy communities``) when one is typed and no theme is picked,
    else the picked theme, else SDG 11."""
    keyword = " ".join((keyword or "").split())
    if keyword and not theme:
        if len(keyword) < 2:
            raise Invalid("type a keyword of at least two letters", field="keyword")
        return f"kw:{keyword.lower()}"
    theme = theme or DEFAULT_THEME
    if theme.partition(":")[0] in ("sdg", "pathway") and chart_data.theme_record(theme) is None:
        raise Invalid(f"unknown theme '{theme}': an SDG goal (sdg:1 to sdg:17), target (sdg:11.6) or pathway",
                      field="theme")
    return theme


def figures(request: Request, theme: str, by: str = "region") -> dict[str, Any]:
    """The three analyses of one theme for this caller: its network, the trends and gaps of the themes of its
    scheme (so SDG 11 is seen beside the other goals), cached by the Hub until the store changes."""
    hub, caller = hub_of(request), caller_of(request)

    def compute() -> dict[str, Any]:
        scheme = theme.partition(":")[0]
        if scheme == "kw":  # a keyword is seen beside the 17 goals (other keywords are too noisy to compare)
            context: dict[str, Any] = {"themes": [theme, *GOALS]}
        else:
            context = {"scheme": scheme}
        trends = hub.trends(**context, caller=caller)
        if theme not in {s["theme"] for s in trends["series"]}:  # a quiet theme: its own series too
            own = hub.trends(themes=[theme], caller=caller)["series"]
            trends = {**trends, "series": [*trends["series"], *own]}
        return {"network": hub.network_metrics(theme=theme, top=RANKED, caller=caller), "trends": trends,
                "gaps": hub.gaps(by=by, **context, caller=caller)}

    return _cached(request, ("analytics", caller, theme, by), compute)


@router.get("/analytics", response_class=HTMLResponse, name="analytics_page")
def analytics_page(request: Request, theme: ThemeQ = None, keyword: KeywordQ = None, by: ByQ = "region"
                   ) -> HTMLResponse:
    label = chosen_theme(theme, keyword)
    _ = _translator(request)
    view = chart_data.page_view(figures(request, label, by), label, _, links=_links(request, label, by))
    for part in ("network", "trends", "gaps"):
        view[part]["chart_json"] = Markup(json_island(view[part].pop("chart")))
    return render(request, "analytics.html", view=view, theme=label if not label.startswith("kw:") else "",
                  keyword=label[3:] if label.startswith("kw:") else "", by=by,
                  goals=[n for n in sdg_nodes() if n.level == "goal"], pathways=PATHWAYS)


@router.get("/analytics/{part}.csv", name="analytics_csv")
def analytics_csv(request: Request, part: Literal["network", "trends", "gaps"], theme: ThemeQ = None,
                  keyword: KeywordQ = None, by: ByQ = "region") -> Response:
    label = chosen_theme(theme, keyword)
    text = chart_data.csv_of(part, figures(request, label, by)[part], label)
    slug = label.replace(":", "-").replace(" ", "-")
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="citybridge-{part}-{slug}.csv"'})


@router.get("/analytics/records", response_class=HTMLResponse, name="analytics_records")
def analytics_records(
    request: Request, part: Annotated[Literal["network", "trends", "gaps"], Query()],
    theme: ThemeQ = None, keyword: KeywordQ = None,
    node: Annotated[str | None, Query(max_length=256)] = None,
    row: Annotated[str | None, Query(max_length=120)] = None,
    side: Annotated[Literal["supply", "demand"] | None, Query()] = None,
    region: Annotated[str | None, Query(max_length=120)] = None, by: ByQ = "region",
    year: Annotated[int | None, Query(ge=1000, le=2200)] = None,
) -> HTMLResponse:
    label = chosen_theme(theme, keyword)
    _ = _translator(request)
    what, ids = chart_data.records_behind(part, figures(request, label, by)[part], label, _, node=node, row=row,
                                          side=side, region=region, year=year)
    hub, caller = hub_of(request), caller_of(request)
    # the figures were computed for this caller already; the visibility check is repeated on the records shown
    found = hub.store.get_many(ids[:RECORDS_SHOWN]) if ids else {}
    records = [found[i] for i in ids[:RECORDS_SHOWN] if i in found and can_see(found[i].visibility, found[i].owner,
                                                                                caller)]
    return render(request, "analytics_records.html", what=what, records=records, total=len(ids),
                  back=_links(request, label, by)["page"])


def _links(request: Request, label: str, by: str) -> dict[str, Any]:
    from urllib.parse import urlencode

    root = str(request.scope.get("root_path", ""))
    params = {"keyword": label[3:]} if label.startswith("kw:") else {"theme": label}
    if by != "region":
        params["by"] = by

    def url(path: str, **extra: Any) -> str:
        return f"{root}{path}?{urlencode({**params, **{k: v for k, v in extra.items() if v is not None}})}"

    return {"page": url("/analytics"), "csv": lambda part: url(f"/analytics/{part}.csv"),
            "records": lambda part, **kw: url("/analytics/records", part=part, **kw),
            "entity": lambda eid: f"{root}/entity/{eid}",
            "theme_page": lambda lbl: f"{root}/analytics?{urlencode({'theme': lbl})}"}
