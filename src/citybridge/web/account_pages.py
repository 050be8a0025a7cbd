"""Sign-in and accounts: sign in / out (e-mail and password, or an API token), "My account" with personal API
tokens, invitations (a curator invites, the invitee sets a password), the admins' audit log and accounts
pages, and the record edit form (optimistic concurrency: a stale version shows the conflict).

Every form that changes data carries the CSRF token (:func:`citybridge.web.views.check_csrf`). The session
cookie is HttpOnly, SameSite=Strict and Secure behind TLS; each sign-in starts a new session (a session id
planted before sign-in is never promoted), and sign-out ends it in the store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from citybridge.api.auth import grant_for
from citybridge.api.deps import SESSION_COOKIE, TOKEN_COOKIE, session_grant
from citybridge.api.routes.common import ID_PATTERN
from citybridge.errors import CitybridgeError, Conflict, Forbidden, Invalid, Throttled, Unauthorized
from citybridge.model.access import can_see
from citybridge.model.entities import Visibility, record_from_dict, record_to_dict
from citybridge.store.accounts import ACTIONS, ROLES, SCOPES
from citybridge.web.views import CSRF_COOKIE, check_csrf, hub_of, render, web_grant

router = APIRouter()
IdPath = Annotated[str, Path(pattern=ID_PATTERN)]
SecretPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{20,100}$")]
SESSION_HOURS = 12
EDIT_FIELDS = ("name", "description", "visibility", "owner")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _signed_in(request: Request, account_id: str, target: str = "/") -> RedirectResponse:
    """Start a new session (and drop any earlier one of this browser): the answer to a good sign-in."""
    accounts = hub_of(request).accounts
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        accounts.end_session(old)
    sid = accounts.start_session(account_id, hours=SESSION_HOURS)
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="strict", secure=_secure(request),
                    max_age=SESSION_HOURS * 3600, path="/")
    resp.delete_cookie(TOKEN_COOKIE, path="/")
    return resp


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


# ------------------------------------------------------------------ sign-in / sign-out
@router.get("/signin", response_class=HTMLResponse, name="signin")
def signin_page(request: Request) -> HTMLResponse:
    return render(request, "signin.html")


@router.post("/signin", response_class=HTMLResponse)
async def signin(request: Request) -> Any:
    form = await request.form(max_files=0, max_fields=6)
    check_csrf(request, form)
    hub = hub_of(request)
    email = str(form.get("email") or "").strip()
    if email:
        try:
            account = hub.authenticate(email, str(form.get("password") or ""), client=_client(request))
        except Throttled as exc:
            return render(request, "signin.html", bad="throttled", email=email, status_code=exc.status)
        if account is None:
            return render(request, "signin.html", bad="password", email=email, status_code=401)
        return _signed_in(request, account.id)
    token = str(form.get("token") or "").strip()
    try:
        grant = grant_for(hub.settings, token, hub.store) if token else None
    except CitybridgeError:
        grant = None
    if grant is None:
        return render(request, "signin.html", bad="token", status_code=401)
    resp = RedirectResponse("/", status_code=303)
    resp.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request),
                    max_age=60 * 60 * 24 * 14, path="/")
    return resp


@router.post("/signout", name="signout")
async def signout(request: Request) -> RedirectResponse:
    form = await request.form(max_files=0, max_fields=3)
    check_csrf(request, form)
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        hub_of(request).accounts.end_session(sid)
    resp = RedirectResponse("/", status_code=303)
    for name in (SESSION_COOKIE, TOKEN_COOKIE, CSRF_COOKIE):
        resp.delete_cookie(name, path="/")
    return resp


# ------------------------------------------------------------------ my account, tokens, invitations
def _me(request: Request) -> Any:
    grant = session_grant(request)
    if grant is None:
        raise Unauthorized("sign in with your e-mail address and password to see your account", field="session")
    return hub_of(request).accounts.get(grant.caller.user)


def _account_page(request: Request, status_code: int = 200, **extra: Any) -> HTMLResponse:
    grant = session_grant(request)
    if grant is None:
        return render(request, "account.html", need_signin=True, status_code=401)
    hub = hub_of(request)
    account = hub.accounts.get(grant.caller.user)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    return render(request, "account.html", account=account, tokens=hub.tokens(account.id), scopes=SCOPES,
                  roles=ROLES if grant.caller.admin else ("staff", "member", "partner"),
                  can_invite=grant.caller.curator, now=now, status_code=status_code, **extra)


@router.get("/account", response_class=HTMLResponse, name="account_page")
def account_page(request: Request) -> HTMLResponse:
    return _account_page(request)


@router.post("/account/tokens", response_class=HTMLResponse, name="token_create")
async def token_create(request: Request) -> HTMLResponse:
    form = await request.form(max_files=0, max_fields=8)
    check_csrf(request, form)
    me = _me(request)
    days = str(form.get("expires_days") or "90").strip()
    try:
        secret, info = hub_of(request).create_token(
            me.id, str(form.get("name") or ""), [str(s) for s in form.getlist("scopes")] or ["read"],
            int(days) if days.isdigit() else -1, changed_by=f"web:{me.id}")
    except CitybridgeError as exc:
        return _account_page(request, status_code=exc.status, error=exc.message)
    return _account_page(request, new_token=secret, new_token_info=info)


@router.post("/account/tokens/{token_id}/revoke", name="token_revoke")
async def token_revoke(request: Request, token_id: Annotated[str, Path(pattern=r"^tok_[0-9a-f]{16}$")]) -> Any:
    form = await request.form(max_files=0, max_fields=3)
    check_csrf(request, form)
    me = _me(request)
    hub_of(request).revoke_token(me.id, token_id, changed_by=f"web:{me.id}")
    return RedirectResponse("/account", status_code=303)


@router.post("/account/invite", response_class=HTMLResponse, name="invite_create")
async def invite_create(request: Request) -> HTMLResponse:
    form = await request.form(max_files=0, max_fields=8)
    check_csrf(request, form)
    grant = session_grant(request) or web_grant(request)
    hub = hub_of(request)
    groups = [g.strip() for g in str(form.get("groups") or "").split(",") if g.strip()]
    try:
        secret = hub.invite(str(form.get("email") or ""), str(form.get("display_name") or ""),
                            str(form.get("role") or "member"), groups=groups,
                            record_id=str(form.get("record_id") or "").strip() or None, caller=grant.caller,
                            changed_by=f"web:{grant.caller.user}")
    except CitybridgeError as exc:
        if exc.status in (401, 403):
            raise
        return _account_page(request, status_code=exc.status, error=exc.message)
    link = hub.settings.public_url.rstrip("/") + f"/invite/{secret}"
    return _account_page(request, invite_link=link)


@router.get("/invite/{secret}", response_class=HTMLResponse, name="invite_page")
def invite_page(request: Request, secret: SecretPath) -> HTMLResponse:
    invitation = hub_of(request).accounts.invitation(secret)
    return render(request, "invite.html", invitation=invitation, secret=secret)


@router.post("/invite/{secret}", response_class=HTMLResponse)
async def invite_accept(request: Request, secret: SecretPath) -> Any:
    form = await request.form(max_files=0, max_fields=5)
    check_csrf(request, form)
    hub = hub_of(request)
    invitation = hub.accounts.invitation(secret)
    password = str(form.get("password") or "")
    if password != str(form.get("password2") or ""):
        return render(request, "invite.html", invitation=invitation, secret=secret,
                      error="the two passwords differ", status_code=422)
    try:
        account = hub.accept_invitation(secret, password, display_name=str(form.get("display_name") or "") or None)
    except Invalid as exc:
        return render(request, "invite.html", invitation=invitation, secret=secret, error=exc.message,
                      status_code=exc.status)
    return _signed_in(request, account.id, "/account")


# ------------------------------------------------------------------ admin: audit log and accounts
def _admin(request: Request) -> Any:
    grant = session_grant(request)
    caller = grant.caller if grant is not None else None
    if caller is None:
        from citybridge.web.views import caller_of

        caller = caller_of(request)
    if not caller.user:
        raise Unauthorized("sign in as an admin", field="session")
    if not caller.admin:
        raise Forbidden("only admins may see this page", field="authorization")
    return caller


@router.get("/admin/audit", response_class=HTMLResponse, name="audit_page")
def audit_page(
    request: Request,
    user: Annotated[str | None, Query(max_length=256)] = None,
    action: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[str | None, Query(max_length=32)] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    caller = _admin(request)
    if action and action not in ACTIONS:
        raise Invalid(f"unknown action '{action}'", field="action")
    since_dt = parse_since(since) if since else None
    entries = hub_of(request).audit_log(user=user or None, action=action or None, since=since_dt, limit=100,
                                        before=before, caller=caller)
    return render(request, "audit.html", entries=entries, user=user or "", action=action or "", since=since or "",
                  actions=ACTIONS, older=entries[-1].seq if len(entries) == 100 else None)


def parse_since(value: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise Invalid("since is a date or time, e.g. 2026-12-01 or 2026-12-01T08:00", field="since") from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@router.get("/admin/accounts", response_class=HTMLResponse, name="accounts_page")
def accounts_page(request: Request) -> HTMLResponse:
    _admin(request)
    return render(request, "accounts.html", accounts=hub_of(request).accounts.list(), roles=ROLES)


@router.post("/admin/accounts/{account_id}", name="account_update")
async def account_update(request: Request, account_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
                         ) -> RedirectResponse:
    form = await request.form(max_files=0, max_fields=6)
    check_csrf(request, form)
    caller = _admin(request)
    groups = [g.strip() for g in str(form.get("groups") or "").split(",") if g.strip()]
    hub_of(request).update_account(account_id, role=str(form.get("role") or "") or None, groups=groups,
                                   status=str(form.get("status") or "") or None, caller=caller,
                                   changed_by=f"web:{caller.user}")
    return RedirectResponse("/admin/accounts", status_code=303)


# ------------------------------------------------------------------ record edit form
def _editable(request: Request, entity_id: str) -> tuple[Any, Any, Any]:
    grant = web_grant(request)
    hub = hub_of(request)
    record = hub.get(entity_id, caller=grant.caller)
    return grant, hub, record


def _shown(record: Any) -> dict[str, Any]:
    """The editable fields of a record as the form shows them."""
    out = {f: getattr(record, f, None) or "" for f in EDIT_FIELDS if f in type(record).model_fields}
    if "visibility" in out and hasattr(out["visibility"], "value"):
        out["visibility"] = out["visibility"].value
    return out


@router.get("/entity/{entity_id}/edit", response_class=HTMLResponse, name="entity_edit")
def entity_edit(request: Request, entity_id: IdPath) -> HTMLResponse:
    _grant, hub, record = _editable(request, entity_id)
    return render(request, "edit.html", record=record, version=hub.store.version_of(record.id),
                  values=_shown(record),
                  visibilities=[v.value for v in Visibility])


@router.post("/entity/{entity_id}/edit", response_class=HTMLResponse)
async def entity_save(request: Request, entity_id: IdPath) -> Any:
    form = await request.form(max_files=0, max_fields=10)
    check_csrf(request, form)
    grant, hub, record = _editable(request, entity_id)
    # a field the form does not send keeps its value; one sent empty is cleared
    values = {f: str(form.get(f) or "").strip() for f in EDIT_FIELDS if f in form}
    version = str(form.get("version") or "")
    if not version.isdigit():
        raise Invalid("the form lost the record's version: reload the page", field="version")
    fields = type(record).model_fields
    values = {k: v for k, v in values.items() if k in fields}
    body = {**record_to_dict(record), **{k: (v or None) for k, v in values.items()}}
    body["name"] = values.get("name") or record.name
    body["visibility"] = values.get("visibility") or record.visibility.value
    body.pop("updated_at", None)
    try:
        edited = record_from_dict(body)
        if not grant.caller.curator and not can_see(edited.visibility, edited.owner, grant.caller):
            raise Forbidden("you would no longer see this record: keep yourself or your group as its owner",
                            field="owner")
        hub.save(edited, caller=grant.caller, changed_by=f"web:{grant.caller.user}", expected_version=int(version))
    except Conflict as exc:
        current = hub.store.get(record.id)
        return render(request, "edit.html", record=current, version=hub.store.version_of(record.id),
                      values={**_shown(current), **values},
                      conflict=exc.message, visibilities=[v.value for v in Visibility], status_code=409,
                      theirs=_shown(current))
    except (Invalid, ValueError) as exc:
        message = exc.message if isinstance(exc, Invalid) else str(exc).splitlines()[0]
        return render(request, "edit.html", record=record, version=int(version), values={**_shown(record), **values},
                      error=message,
                      visibilities=[v.value for v in Visibility], status_code=422)
    request.app.state.cache.clear()
    return RedirectResponse(f"/entity/{record.id}", status_code=303)
