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
from citybridge.model.access import Caller

TOKEN_COOKIE = "citybridge_token"
bearer = HTTPBearer(auto_error=False, description="a token from CITYBRIDGE_WRITE_TOKEN or CITYBRIDGE_TOKENS")


def get_hub(request: Request) -> Hub:
    return request.app.state.hub  # type: ignore[no-any-return]


def _token(request: Request, creds: HTTPAuthorizationCredentials | None, *, cookie: bool) -> str | None:
    if creds is not None and creds.credentials:
        return creds.credentials
    return request.cookies.get(TOKEN_COOKIE) if cookie else None


def api_caller(request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    """The caller of an API read (anonymous without a token)."""
    return grant_for(get_hub(request).settings, _token(request, creds, cookie=False)).caller


def web_caller(request: Request) -> Caller:
    """The caller of a web page: the sign-in cookie's token, if any (an unknown one counts as anonymous)."""
    try:
        return grant_for(get_hub(request).settings, request.cookies.get(TOKEN_COOKIE)).caller
    except Exception:  # a stale cookie must not lock anyone out of public pages
        from citybridge.model.access import ANONYMOUS

        return ANONYMOUS


def _host(request: Request) -> str | None:
    return request.client.host if request.client else None


def _writer(request: Request, response: Response, token: str | None, curator: bool) -> Grant:
    grant = write_grant(get_hub(request).settings, token, _host(request), curator=curator)
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
