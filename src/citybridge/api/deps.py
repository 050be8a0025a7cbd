"""FastAPI dependencies shared by the API and the web pages: the Hub, the caller, write grants, a small cache."""

from __future__ import annotations

import logging
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
log = logging.getLogger(__name__)
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
    """A small thread-safe cache for derived views (home counts, map layers, peer cities).

    An entry is fresh until a write: ``clear()`` (called after writes through this process) and, with a
    ``version`` function (the store's change token), any commit by another process make every entry stale.
    A stale entry is recomputed before answering when ``stale`` is 0; otherwise it keeps being served while
    one background thread recomputes it, at most once per ``stale`` seconds per entry (so views are at most
    ``stale`` seconds plus one computation behind the store, and a burst of writes costs one computation per
    view, not one per write). Concurrent misses of the same key compute it once; the others wait for it.
    """

    def __init__(self, ttl: float = 300.0, size: int = 256, *, stale: float = 0.0,
                 version: Callable[[], Any] | None = None) -> None:
        self.ttl = ttl
        self.size = size
        self.stale = stale
        self._version = version
        self._epoch = 0
        self._data: dict[Any, tuple[float, Any, Any]] = {}  # key -> (computed at, (epoch, version), value)
        self._computing: dict[Any, threading.Event] = {}
        self._lock = threading.Lock()

    def _stamp(self) -> Any:
        return (self._epoch, self._version() if self._version is not None else None)

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        while True:
            now = time.monotonic()
            stamp = self._stamp()
            with self._lock:
                hit = self._data.get(key)
                if hit and now - hit[0] < self.ttl and (hit[1] == stamp or (
                        self.stale > 0 and now - hit[0] < self.ttl)):
                    if hit[1] != stamp and now - hit[0] >= self.stale and key not in self._computing:
                        self._start(key, compute, background=True)
                    return hit[2]
                running = self._computing.get(key)
                if running is None:
                    self._start(key, compute, background=False)
                    break
            running.wait()  # another thread computes it: take its answer
        return self._compute(key, compute, stamp)

    def _start(self, key: Any, compute: Callable[[], Any], *, background: bool) -> None:
        """Mark ``key`` as being computed (under the lock); in a thread of its own when ``background``."""
        self._computing[key] = threading.Event()
        if background:
            stamp = self._stamp()
            threading.Thread(target=self._compute, args=(key, compute, stamp, True), daemon=True,
                             name="citybridge-view-refresh").start()

    def _compute(self, key: Any, compute: Callable[[], Any], stamp: Any, background: bool = False) -> Any:
        try:
            value = compute()
        except Exception:
            with self._lock:
                self._computing.pop(key).set()
            if background:  # pragma: no cover - the stale view stays; the next request after `stale` retries
                log.exception("recomputing a cached view failed")
                return None
            raise
        with self._lock:
            if key not in self._data and len(self._data) >= self.size:
                self._data.pop(next(iter(self._data)))
            self._data[key] = (time.monotonic(), stamp, value)
            self._computing.pop(key).set()
        return value

    def clear(self) -> None:
        """Make every entry stale (a write through this process changed the store)."""
        with self._lock:
            self._epoch += 1
            if self.stale <= 0:
                self._data.clear()


def get_cache(request: Request) -> TTLCache:
    return request.app.state.cache  # type: ignore[no-any-return]


HubDep = Annotated[Hub, Depends(get_hub)]
CallerDep = Annotated[Caller, Depends(api_caller)]
WriterDep = Annotated[Grant, Depends(api_writer)]
CuratorDep = Annotated[Grant, Depends(api_curator)]
CacheDep = Annotated[TTLCache, Depends(get_cache)]
