"""What every page shares: the template environment, the navigation, the caller, and ``render``.

A new page family (e.g. search, links) is one module with an ``APIRouter`` whose handlers call
:func:`render`, its templates extending ``base.html``, an entry in ``NAV`` and one line in
:data:`citybridge.web.ROUTERS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from citybridge.api.auth import write_grant
from citybridge.api.deps import TOKEN_COOKIE, web_caller
from citybridge.errors import Forbidden
from citybridge.hub import Hub
from citybridge.model.access import Caller
from citybridge.web import present
from citybridge.web.messages import pick_language, translator

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


_ROUTES: dict[tuple[int, str], Any] = {}


@pass_context
def _url_for(context: dict[str, Any], name: str, /, **params: Any) -> str:
    """Root-relative links (``/entity/x``), so pages work behind any host name or proxy."""
    request: Request = context["request"]
    # the route is looked up once per name: the app's own lookup walks every route on every call, which
    # was a quarter of a search page's time (each result links its page and its similar records)
    key = (id(request.app), name)
    route = _ROUTES.get(key)
    if route is None:
        route = _ROUTES[key] = _route_named(request.app, name, params)
    return str(request.scope.get("root_path", "")) + str(route.url_path_for(name, **params))


def _route_named(app: Any, name: str, params: dict[str, Any]) -> Any:
    """The innermost route that builds ``name`` (FastAPI nests included routers), else the app itself."""
    from starlette.routing import NoMatchFound

    def leaves(routes: Any) -> Any:
        for r in routes:
            nested = getattr(r, "effective_route_contexts", None)  # FastAPI's included routers
            yield from (nested() if nested is not None else (r,))

    for leaf in leaves(app.router.routes):
        try:
            leaf.url_path_for(name, **params)
        except NoMatchFound:
            continue
        return leaf
    return app


templates.env.globals.update(present=present, url_for=_url_for)
templates.env.filters["num"] = lambda n: f"{n:,}" if isinstance(n, int) else n

#: top navigation: (endpoint name, message key); pages added later append here
NAV: list[tuple[str, str]] = [("home", "nav.home"), ("search_page", "nav.search"), ("challenge_page", "nav.challenge"),
                              ("browse", "nav.browse"),
                              ("map_page", "nav.map"), ("partners_page", "nav.partners"), ("import_page", "nav.import"),
                              ("review_page", "nav.review"), ("digest_page", "nav.digest")]


def hub_of(request: Request) -> Hub:
    return request.app.state.hub  # type: ignore[no-any-return]


def caller_of(request: Request) -> Caller:
    return web_caller(request)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page with the shared context: ``_`` (UI strings), ``lang``, ``caller``, ``nav``."""
    lang = pick_language(request.query_params.get("lang"), request.headers.get("accept-language"))
    caller = context.pop("caller", None) or caller_of(request)
    base = {"_": translator(lang), "lang": lang, "caller": caller, "nav": NAV,
            "active": request.scope.get("route").name if request.scope.get("route") else None}
    return templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)


def same_origin(request: Request) -> None:
    """Refuse cross-site form posts (the dev localhost allowance has no cookie to protect it)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and not origin.startswith(str(request.base_url).rstrip("/")):
        raise Forbidden("cross-site form posts are not accepted", field="origin")


def error_page(request: Request, status: int, body: dict[str, Any]) -> HTMLResponse:
    """The HTML twin of the API's error schema (same status, code and message)."""
    return render(request, "error.html", status_code=status, error=body)


def curator_grant(request: Request) -> Any:
    """The write grant of a curator behind this request (token cookie, or the development localhost allowance);
    raises Forbidden otherwise."""
    hub = hub_of(request)
    host = request.client.host if request.client else None
    return write_grant(hub.settings, request.cookies.get(TOKEN_COOKIE), host, curator=True)
