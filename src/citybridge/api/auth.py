"""Who is calling: bearer token -> :class:`~citybridge.model.access.Caller` and write rights.

Tokens come from settings (``CITYBRIDGE_WRITE_TOKEN``, ``CITYBRIDGE_TOKENS``; see :mod:`citybridge.settings`)
or are personal API tokens of accounts in the store (``cbt_...``, stored hashed, with expiry and scopes; see
:mod:`citybridge.store.accounts`). With none configured, in development, writes from 127.0.0.1 are accepted as
a local curator.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from citybridge.errors import Forbidden, Unauthorized
from citybridge.model.access import ANONYMOUS, Caller, role_caller
from citybridge.settings import Settings

LOCAL_HOSTS = frozenset({"127.0.0.1", "::1"})
DEV_WRITE_NOTE = "allowed from localhost because no CITYBRIDGE_WRITE_TOKEN or CITYBRIDGE_TOKENS is set (development)"
WRITER = Caller(user="writer", member=True, curator=True, admin=True)
LOCAL_CURATOR = Caller(user="local", member=True, curator=True, admin=True)


@dataclass(frozen=True)
class Grant:
    """A resolved credential: who the caller is, whether they may write, and whether that is only the
    development localhost allowance."""

    caller: Caller
    write: bool = False
    dev_local: bool = False


def grant_for(settings: Settings, token: str | None, store: Any = None) -> Grant:
    """The grant of a bearer token (None: anonymous); raises Unauthorized for an unknown, expired or revoked
    token. Personal tokens are looked up in ``store`` (a :class:`~citybridge.store.Store`) when given."""
    if not token:
        return Grant(ANONYMOUS)
    if store is not None:
        from citybridge.store.accounts import TOKEN_PREFIX, AccountStore

        if token.startswith(TOKEN_PREFIX):
            found = AccountStore(store).token_account(token)
            if found is None:
                raise Unauthorized("unknown, expired or revoked token", field="authorization")
            account, info = found
            caller, write = role_caller(account.id, account.role, account.groups, account.record_id, info.scopes)
            return Grant(caller, write=write)
    if settings.write_token and hmac.compare_digest(token.encode(), settings.write_token.encode()):
        return Grant(WRITER, write=True)
    for known, spec in settings.tokens.items():
        if hmac.compare_digest(token.encode(), known.encode()):
            caller = Caller(user=spec.user, groups=frozenset(spec.groups), member=spec.member, curator=spec.curator,
                            admin=spec.admin)
            return Grant(caller, write=spec.write)
    raise Unauthorized("unknown token", field="authorization")


def dev_local_writes(settings: Settings, host: str | None) -> bool:
    """Whether an unauthenticated write from ``host`` is allowed (development, no token configured, localhost)."""
    return (settings.environment == "development" and not settings.write_token and not settings.tokens
            and host in LOCAL_HOSTS)


def write_grant(settings: Settings, token: str | None, host: str | None, *, curator: bool = False,
                store: Any = None) -> Grant:
    """The grant of a caller who wants to change data; raises Unauthorized / Forbidden otherwise."""
    grant = grant_for(settings, token, store)
    if not token and dev_local_writes(settings, host):
        return Grant(LOCAL_CURATOR, write=True, dev_local=True)
    if not grant.write:
        if not token:
            raise Unauthorized("writes need a bearer token (Authorization: Bearer ...)", field="authorization")
        raise Forbidden("this token may not change data", field="authorization")
    return check_grant(grant, curator=curator)


def check_grant(grant: Grant, *, curator: bool = False) -> Grant:
    """``grant`` if it may write (and curate, when asked); raises Forbidden otherwise."""
    if not grant.write:
        raise Forbidden("this caller may not change data", field="authorization")
    if curator and not grant.caller.curator:
        raise Forbidden("only curators may do this", field="authorization")
    return grant
