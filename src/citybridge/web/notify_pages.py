"""The dissemination pages: "My digest" (``/digest``: subscriptions, the next digest with its reasons, what
was sent, feed links), the subscribe form, the signed one-click unsubscribe page (RFC 8058: a POST to the
link unsubscribes, a GET only asks), and the Atom feeds (``/feeds/search.atom`` for any search,
``/feeds/{sub_id}.atom`` for a subscription). Every page calls the Hub."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from citybridge.api.auth import LOCAL_CURATOR, dev_local_writes, grant_for
from citybridge.api.deps import TOKEN_COOKIE, session_grant
from citybridge.api.routes.search import SearchDep
from citybridge.errors import CitybridgeError, Unauthorized
from citybridge.model.access import ANONYMOUS, Caller
from citybridge.notify import SECTIONS, not_modified, phrase
from citybridge.notify.model import CHANNELS, FREQUENCIES, LANGUAGES, SUB_TYPES
from citybridge.web.views import check_csrf, hub_of, render

router = APIRouter()
ATOM = "application/atom+xml; charset=utf-8"
MemberQuery = Annotated[str | None, Query(max_length=256, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,255}$|^$")]


def personal_caller(request: Request) -> Caller:
    """The caller of a personal page: the sign-in cookie's; in development with no token configured, a local
    curator from 127.0.0.1 (as for imports); otherwise anonymous."""
    settings = hub_of(request).settings
    session = session_grant(request)
    if session is not None:
        return session.caller
    token = request.cookies.get(TOKEN_COOKIE)
    if token:
        try:
            return grant_for(settings, token, hub_of(request).store).caller
        except CitybridgeError:
            return ANONYMOUS
    host = request.client.host if request.client else None
    return LOCAL_CURATOR if dev_local_writes(settings, host) else ANONYMOUS


@router.get("/digest", response_class=HTMLResponse, name="digest_page")
def digest_page(request: Request, member: MemberQuery = None) -> HTMLResponse:
    hub, caller = hub_of(request), personal_caller(request)
    if not caller.user:
        return render(request, "digest.html", caller=caller, need_signin=True, status_code=401)
    try:
        m = hub.member_for(caller, member or None)
    except CitybridgeError as exc:
        if exc.status != 404:
            raise
        form = {**_form_defaults(None), "member": member or ""}
        return render(request, "digest.html", caller=caller, unregistered=True, form=form)
    digest = hub.digest(m.id)
    subs = hub.subscriptions(m.id)
    lang = m.language
    sections = [(name, [(item, [phrase(r, lang) for r in item.reasons]) for item in digest.sections[name]],
                 digest.more.get(name, 0)) for name in SECTIONS if digest.sections.get(name)]
    return render(request, "digest.html", caller=caller, member=m, digest=digest, sections=sections,
                  subs=[(s, hub.feed_link(s) if s.channel in ("feed", "both") else None) for s in subs],
                  sent=hub.digests_sent(m.id), subject=hub.render_digest(digest)["subject"] if len(digest) else None,
                  form=_form_defaults(m), for_member=m.id if caller.curator else None)


def _form_defaults(member: Any) -> dict[str, Any]:
    return {"types": [t for t in SUB_TYPES], "frequencies": list(FREQUENCIES), "channels": list(CHANNELS),
            "languages": list(LANGUAGES), "member": member.id if member else "",
            "email": member.email if member else "", "language": member.language if member else "en"}


@router.post("/digest/subscribe", name="digest_subscribe")
async def digest_subscribe(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=12)
    check_csrf(request, form)
    hub, caller = hub_of(request), personal_caller(request)
    field = {k: str(v).strip() for k, v in form.items()}
    member_id = field.get("member") or None
    if not caller.user:
        return render(request, "digest.html", caller=caller, need_signin=True, status_code=401)
    try:
        if member_id is None:
            member_id = hub.member_for(caller).id
        known = hub.notify_store.member(hub.get(member_id, caller=caller).id)
        if known is None or field.get("email") or field.get("language"):
            hub.register_member(member_id, email=field.get("email") or None, language=field.get("language") or None,
                                caller=caller, changed_by=f"web:{caller.user}")
        filters = {k: field[k] for k in ("sdg", "pathway", "country", "kind") if field.get(k)}
        hub.subscribe(member_id, field.get("type", ""), field.get("value") or None, filters=filters or None,
                      frequency=field.get("frequency") or "weekly", channel=field.get("channel") or "email",
                      caller=caller, changed_by=f"web:{caller.user}")
    except CitybridgeError as exc:
        return render(request, "digest.html", caller=caller, unregistered=True, error=exc.message,
                      status_code=exc.status, form={**_form_defaults(None), **field,
                                                    "types": list(SUB_TYPES), "frequencies": list(FREQUENCIES),
                                                    "channels": list(CHANNELS), "languages": list(LANGUAGES)})
    query = f"?{urlencode({'member': member_id})}" if caller.curator else ""
    return RedirectResponse(f"/digest{query}", status_code=303)


@router.post("/digest/remove", name="digest_remove")
async def digest_remove(request: Request) -> RedirectResponse:
    form = await request.form(max_files=0, max_fields=3)
    check_csrf(request, form)
    hub, caller = hub_of(request), personal_caller(request)
    if not caller.user:
        raise Unauthorized("sign in to manage your subscriptions", field="session")
    sub = hub.unsubscribe(str(form.get("subscription") or ""), caller=caller)
    query = f"?{urlencode({'member': sub.member_id})}" if caller.curator else ""
    return RedirectResponse(f"/digest{query}", status_code=303)


# ------------------------------------------------------------------ one-click unsubscribe (RFC 8058)
Signed = Annotated[str, Query(max_length=256)]


@router.get("/unsubscribe", response_class=HTMLResponse, name="unsubscribe_page")
def unsubscribe_page(request: Request, m: Signed, t: Signed) -> HTMLResponse:
    """Only asks (mail scanners follow links): the button POSTs to the same signed URL."""
    hub = hub_of(request)
    from citybridge.notify.signing import UNSUBSCRIBE, verify

    verify(hub.settings.signing_key, UNSUBSCRIBE, m, t)
    member = hub.notify_store.member(m)
    return render(request, "unsubscribe.html", member=member, done=member is not None and member.status != "active",
                  action=f"/unsubscribe?{urlencode({'m': m, 't': t})}")


@router.post("/unsubscribe", response_class=HTMLResponse)
def unsubscribe_post(request: Request, m: Signed, t: Signed) -> HTMLResponse:
    """The one-click unsubscribe: the signed link is the authority (mail providers POST
    ``List-Unsubscribe=One-Click`` from anywhere, without cookies)."""
    member = hub_of(request).unsubscribe_member(m, t, changed_by="web:unsubscribe-link")
    return render(request, "unsubscribe.html", member=member, done=True, action=None)


# ------------------------------------------------------------------ Atom feeds
def _atom(request: Request, feed: Any) -> Response:
    headers = {"ETag": feed.etag, "Last-Modified": feed.last_modified, "Cache-Control": "no-cache"}
    if not_modified(feed, request.headers.get("if-none-match"), request.headers.get("if-modified-since")):
        return Response(status_code=304, headers=headers)
    return Response(feed.body, media_type=ATOM, headers=headers)


@router.get("/feeds/search.atom", name="search_feed")
def search_feed(request: Request, params: SearchDep) -> Response:
    """The newest records a search finds, as Atom (what the caller may see)."""
    from citybridge.web.views import caller_of

    hub = hub_of(request)
    pairs = [(k, v) for k, v in request.query_params.multi_items() if v != "" and k not in ("page", "per_page")]
    base = hub.settings.public_url.rstrip("/")
    feed = hub.search_feed(params.q, params.filters, caller=caller_of(request),
                           self_url=f"{base}/feeds/search.atom?{urlencode(pairs)}",
                           alternate_url=f"{base}/search?{urlencode(pairs)}")
    return _atom(request, feed)


@router.get("/feeds/{sub_id}.atom", name="subscription_feed")
def subscription_feed(request: Request, sub_id: str, key: Signed = "") -> Response:
    """A subscription's feed; the signed key in its URL is the authority (feed readers send no cookie)."""
    return _atom(request, hub_of(request).subscription_feed(sub_id, key or None))
