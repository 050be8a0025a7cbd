"""FastAPI dependencies shared by the API and the web pages: the Hub, the caller, write grants, a small cache."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from citybridge.api.auth import DEV_WRITE_NOTE, Grant, grant_for, write_grant
from citybridge.hub import Hub
from citybridge.model.access import ANONYMOUS, Caller, role_caller

TOKEN_COOKIE = "citybridge_token"
SESSION_COOKIE = "citybridge_session"
bearer = HTTPBearer(auto_error=False, description="a personal token (cbt_..., made on the 'My account' page) or "
                    "one from CITYBRIDGE_WRITE_TOKEN or CITYBRIDGE_TOKENS")


def get_hub(request: Request) -> Hub:
    return request.app.state.hub  # type: ignore[no-any-return]


def _token(request: Request, creds: HTTPAuthorizationCredentials | None, *, cookie: bool) -> str | None:
    if creds is not None and creds.credentials:
        return creds.credentials
    return request.cookies.get(TOKEN_COOKIE) if cookie else None


def api_caller(request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    """The caller of an API read (anonymous without a token)."""
    hub = get_hub(request)
    return grant_for(hub.settings, _token(request, creds, cookie=False), hub.store).caller


def session_grant(request: Request) -> Grant | None:
    """The grant of the signed-in account behind the session cookie (None without a live session)."""
    sid = request.cookies.get(SESSION_COOKIE)
    if not sid:
        return None
    cached = request.scope.get("citybridge.session")
    if cached is not None:
        return cached if isinstance(cached, Grant) else None
    from citybridge.store.accounts import AccountStore

    account = AccountStore(get_hub(request).store).session_account(sid)
    grant: Grant | None = None
    if account is not None:
        caller, write = role_caller(account.id, account.role, account.groups, account.record_id)
        grant = Grant(caller, write=write)
    request.scope["citybridge.session"] = grant or False
    return grant


def web_caller(request: Request) -> Caller:
    """The caller of a web page: the signed-in account, else the sign-in cookie's token, if any (an unknown
    one counts as anonymous)."""
    grant = session_grant(request)
    if grant is not None:
        return grant.caller
    try:
        hub = get_hub(request)
        return grant_for(hub.settings, request.cookies.get(TOKEN_COOKIE), hub.store).caller
    except Exception:  # a stale cookie must not lock anyone out of public pages
        return ANONYMOUS


def _host(request: Request) -> str | None:
    return request.client.host if request.client else None


def _writer(request: Request, response: Response, token: str | None, curator: bool) -> Grant:
    hub = get_hub(request)
    grant = write_grant(hub.settings, token, _host(request), curator=curator, store=hub.store)
    if grant.dev_local:
        response.headers["X-Citybridge-Dev-Write"] = DEV_WRITE_NOTE
    return grant


def api_writer(request: Request, response: Response,
               creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Grant:
    """A caller allowed to change data (bearer token only: no cookie, so no cross-site writes)."""
    return _writer(request, response, _token(request, creds, cookie=False), curator=False)


def api_curator(request: Request, response: Response,
                creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Grant:
    """A curator allowed to write (imports)."""
    return _writer(request, response, _token(request, creds, cookie=False), curator=True)


class TTLCache:
    """A tiny thread-safe cache for derived views (home counts, map layers), cleared on every write."""

    def __init__(self, ttl: float = 300.0, size: int = 256) -> None:
        self.ttl = ttl
        self.size = size
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit and now - hit[0] < self.ttl:
                return hit[1]
        value = compute()
        with self._lock:
            if len(self._data) >= self.size:
                self._data.pop(next(iter(self._data)))
            self._data[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def get_cache(request: Request) -> TTLCache:
    return request.app.state.cache  # type: ignore[no-any-return]


HubDep = Annotated[Hub, Depends(get_hub)]
CallerDep = Annotated[Caller, Depends(api_caller)]
WriterDep = Annotated[Grant, Depends(api_writer)]
CuratorDep = Annotated[Grant, Depends(api_curator)]
CacheDep = Annotated[TTLCache, Depends(get_cache)]
