"""What every page shares: the template environment, the navigation, the caller, and ``render``.

A new page family (e.g. search, links) is one module with an ``APIRouter`` whose handlers call
:func:`render`, its templates extending ``base.html``, an entry in ``NAV`` and one line in
:data:`citybridge.web.ROUTERS`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup

from citybridge.api.auth import check_grant, write_grant
from citybridge.api.deps import SESSION_COOKIE, TOKEN_COOKIE, session_grant, web_caller
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
#: ``{{ csrf_field() }}`` in a form: the hidden CSRF input (the token comes from the page's context)
templates.env.globals["csrf_field"] = pass_context(
    lambda ctx: Markup(f'<input type="hidden" name="csrf" value="{ctx.get("csrf", "")}">'))
templates.env.filters["num"] = lambda n: f"{n:,}" if isinstance(n, int) else n

#: top navigation: (endpoint name, message key); pages added later append here
NAV: list[tuple[str, str]] = [("home", "nav.home"), ("search_page", "nav.search"), ("challenge_page", "nav.challenge"),
                              ("browse", "nav.browse"),
                              ("map_page", "nav.map"), ("analytics_page", "nav.analytics"),
                              ("partners_page", "nav.partners"), ("import_page", "nav.import"),
                              ("review_page", "nav.review"), ("digest_page", "nav.digest")]


def hub_of(request: Request) -> Hub:
    return request.app.state.hub  # type: ignore[no-any-return]


def caller_of(request: Request) -> Caller:
    return web_caller(request)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page with the shared context: ``_`` (UI strings), ``lang``, ``caller``, ``nav``."""
    lang = pick_language(request.query_params.get("lang"), request.headers.get("accept-language"))
    caller = context.pop("caller", None) or caller_of(request)
    base = {"_": translator(lang), "lang": lang, "caller": caller, "nav": NAV, "csrf": csrf_token(request),
            "active": request.scope.get("route").name if request.scope.get("route") else None}
    response = templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)
    seed = request.scope.get("citybridge.csrf_seed")
    if seed:
        response.set_cookie(CSRF_COOKIE, seed, httponly=True, samesite="lax", secure=request.url.scheme == "https",
                            path="/")
    return response


def same_origin(request: Request) -> None:
    """Refuse cross-site form posts (the dev localhost allowance has no cookie to protect it)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and not origin.startswith(str(request.base_url).rstrip("/")):
        raise Forbidden("cross-site form posts are not accepted", field="origin")


def error_page(request: Request, status: int, body: dict[str, Any]) -> HTMLResponse:
    """The HTML twin of the API's error schema (same status, code and message)."""
    return render(request, "error.html", status_code=status, error=body)


def curator_grant(request: Request) -> Any:
    """The write grant of a curator behind this request (signed-in account, token cookie, or the development
    localhost allowance); raises Forbidden otherwise."""
    return web_grant(request, curator=True)


def web_grant(request: Request, *, curator: bool = False) -> Any:
    """The write grant behind a page request (signed-in account, token cookie, or the development localhost
    allowance); raises Unauthorized / Forbidden otherwise."""
    session = session_grant(request)
    if session is not None:
        return check_grant(session, curator=curator)
    hub = hub_of(request)
    host = request.client.host if request.client else None
    return write_grant(hub.settings, request.cookies.get(TOKEN_COOKIE), host, curator=curator, store=hub.store)


# ------------------------------------------------------------------ CSRF
CSRF_COOKIE = "citybridge_csrf"
CSRF_FIELD = "csrf"


def _csrf_value(request: Request, seed: str) -> str:
    key = hub_of(request).settings.signing_key
    return hmac.new(key, b"csrf:" + seed.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The CSRF token of this browser: an HMAC of its session id (signed in) or of its CSRF cookie, which
    :func:`render` sets on the first page a browser sees. Forms carry it in a hidden ``csrf`` field."""
    seed = request.cookies.get(SESSION_COOKIE) or request.cookies.get(CSRF_COOKIE)
    if not seed:
        seed = request.scope.get("citybridge.csrf_seed")
        if not seed:
            seed = request.scope["citybridge.csrf_seed"] = secrets.token_urlsafe(24)
    return _csrf_value(request, seed)


def check_csrf(request: Request, form: Any) -> None:
    """Refuse a data-changing form post whose ``csrf`` field is missing or not this browser's (and any
    cross-site post, by its Origin)."""
    same_origin(request)
    sent = str(form.get(CSRF_FIELD) or "") if form is not None else ""
    seeds = [s for s in (request.cookies.get(SESSION_COOKIE), request.cookies.get(CSRF_COOKIE)) if s]
    if not sent or not any(hmac.compare_digest(sent, _csrf_value(request, s)) for s in seeds):
        raise Forbidden("the form has expired or did not come from this site: reload the page and try again",
                        field="csrf")
