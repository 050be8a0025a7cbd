"""Accounts, groups, personal API tokens, web sessions, invitations, login throttling and the audit log.

Secrets are never stored: passwords as argon2id hashes (``argon2-cffi``), and API tokens, session ids and
invitation links — random 256-bit values — as their SHA-256 (a slow hash adds nothing to a secret that
cannot be guessed, and a lookup by hash stays an index probe). The audit log is append-only: this module
only ever inserts into it, and triggers in the database refuse UPDATE and DELETE.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update

from citybridge.errors import Conflict, Invalid, NotFound
from citybridge.store import tables as t
from citybridge.store.repository import Store, who

ROLES = ("admin", "curator", "staff", "member", "partner")
SCOPES = ("read", "write", "curate")
ACTIONS = ("create", "update", "delete", "relate", "unrelate", "import", "merge", "unmerge", "reject_merge",
           "visibility", "role", "account", "invite", "token", "digest_send", "subscribe", "unsubscribe")
TOKEN_PREFIX = "cbt_"
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id, the library's (RFC 9106 low-memory) defaults


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    display_name: str
    role: str
    record_id: str | None = None
    groups: tuple[str, ...] = ()
    status: str = "active"
    has_password: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "display_name": self.display_name, "role": self.role,
                "record_id": self.record_id, "groups": list(self.groups), "status": self.status}


@dataclass(frozen=True)
class TokenInfo:
    id: str
    account_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > utcnow())


@dataclass(frozen=True)
class Invitation:
    email: str
    display_name: str
    role: str
    groups: tuple[str, ...] = ()
    record_id: str | None = None
    expires_at: datetime | None = None


@dataclass
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    interface: str
    action: str
    entity_ids: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at.isoformat(), "actor": self.actor, "interface": self.interface,
                "action": self.action, "entity_ids": self.entity_ids, "fields": self.fields, "detail": self.detail}


def check_role(role: str) -> str:
    if role not in ROLES:
        raise Invalid(f"unknown role '{role}' (one of: {', '.join(ROLES)})", field="role")
    return role


def check_scopes(scopes: list[str] | tuple[str, ...] | str) -> tuple[str, ...]:
    items = [s.strip() for s in (scopes.split(",") if isinstance(scopes, str) else scopes) if s.strip()]
    bad = [s for s in items if s not in SCOPES]
    if bad or not items:
        raise Invalid(f"scopes are some of: {', '.join(SCOPES)}", field="scopes")
    return tuple(s for s in SCOPES if s in items)


def check_email(email: str) -> str:
    email = (email or "").strip().lower()
    if len(email) > 320 or not _EMAIL.match(email):
        raise Invalid("not an e-mail address", field="email")
    return email


def check_password(password: str) -> str:
    if not 10 <= len(password or "") <= 1024:
        raise Invalid("a password has 10 to 1024 characters", field="password")
    return password


class AccountStore:
    """The account tables of a :class:`~citybridge.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # ------------------------------------------------------------------ accounts
    def create(self, email: str, display_name: str, role: str, *, account_id: str | None = None,
               record_id: str | None = None, groups: list[str] | tuple[str, ...] = (), password: str | None = None,
               conn: Any = None) -> Account:
        email = check_email(email)
        check_role(role)
        display_name = (display_name or "").strip() or email.split("@")[0]
        if len(display_name) > 200:
            raise Invalid("a display name has at most 200 characters", field="display_name")
        if record_id is not None and not self.store.exists(record_id):
            raise NotFound(f"no record with id '{record_id}'", field="record_id")
        pw_hash = _hasher().hash(check_password(password)) if password is not None else None
        now = utcnow()

        def run(c: Any) -> Account:
            if c.execute(select(t.accounts.c.id).where(t.accounts.c.email == email)).first():
                raise Conflict(f"an account with e-mail '{email}' exists", field="email")
            aid = account_id or self._free_id(c, email.split("@")[0])
            if not _ID.match(aid):
                raise Invalid("an account id is 1-64 of a-z, 0-9, '.', '_', '-'", field="id")
            if c.execute(select(t.accounts.c.id).where(t.accounts.c.id == aid)).first():
                raise Conflict(f"an account with id '{aid}' exists", field="id")
            c.execute(insert(t.accounts).values(id=aid, email=email, display_name=display_name, record_id=record_id,
                                                role=role, password_hash=pw_hash, status="active",
                                                created_at=now, updated_at=now))
            self._set_groups(c, aid, groups)
            return Account(aid, email, display_name, role, record_id, tuple(sorted(set(groups))), "active",
                           pw_hash is not None)

        if conn is not None:
            return run(conn)
        with self.engine.begin() as c:
            return run(c)

    def _free_id(self, conn: Any, base: str) -> str:
        stem = re.sub(r"[^a-z0-9._-]+", "-", base.lower()).strip("-._")[:48] or "user"
        candidate, n = stem, 1
        while conn.execute(select(t.accounts.c.id).where(t.accounts.c.id == candidate)).first():
            n += 1
            candidate = f"{stem}-{n}"
        return candidate

    def _set_groups(self, conn: Any, account_id: str, groups: list[str] | tuple[str, ...]) -> None:
        now = utcnow()
        conn.execute(delete(t.group_members).where(t.group_members.c.account_id == account_id))
        for gid in sorted(set(groups)):
            if not gid or len(gid) > 128:
                raise Invalid("a group id has 1-128 characters", field="groups")
            if not conn.execute(select(t.account_groups.c.id).where(t.account_groups.c.id == gid)).first():
                conn.execute(insert(t.account_groups).values(id=gid, name=gid, created_at=now))
            conn.execute(insert(t.group_members).values(group_id=gid, account_id=account_id))

    def _row(self, conn: Any, row: Any) -> Account:
        groups = tuple(r.group_id for r in conn.execute(
            select(t.group_members.c.group_id).where(t.group_members.c.account_id == row.id)
            .order_by(t.group_members.c.group_id)))
        return Account(row.id, row.email, row.display_name, row.role, row.record_id, groups, row.status,
                       row.password_hash is not None)

    def get(self, account_id: str) -> Account:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.accounts).where(t.accounts.c.id == account_id)).first()
            if row is None:
                raise NotFound(f"no account '{account_id}'", field="user")
            return self._row(conn, row)

    def find(self, key: str) -> Account:
        """An account by id or e-mail."""
        with self.engine.connect() as conn:
            row = conn.execute(select(t.accounts).where(or_(t.accounts.c.id == key,
                                                            t.accounts.c.email == key.strip().lower()))).first()
            if row is None:
                raise NotFound(f"no account '{key}'", field="user")
            return self._row(conn, row)

    def list(self) -> list[Account]:
        with self.engine.connect() as conn:
            return [self._row(conn, r) for r in conn.execute(select(t.accounts).order_by(t.accounts.c.id))]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.accounts)).scalar_one())

    def update(self, account_id: str, *, role: str | None = None, groups: list[str] | None = None,
               status: str | None = None, record_id: str | None = None, display_name: str | None = None
               ) -> tuple[Account, Account]:
        """Change an account; returns (before, after)."""
        before = self.get(account_id)
        values: dict[str, Any] = {"updated_at": utcnow()}
        if role is not None:
            values["role"] = check_role(role)
        if status is not None:
            if status not in ("active", "disabled"):
                raise Invalid("status is active or disabled", field="status")
            values["status"] = status
        if record_id is not None:
            if record_id and not self.store.exists(record_id):
                raise NotFound(f"no record with id '{record_id}'", field="record_id")
            values["record_id"] = record_id or None
        if display_name is not None:
            values["display_name"] = display_name.strip()[:200] or before.display_name
        with self.engine.begin() as conn:
            conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(**values))
            if groups is not None:
                self._set_groups(conn, account_id, groups)
            if status == "disabled":  # a disabled account is signed out everywhere
                conn.execute(delete(t.web_sessions).where(t.web_sessions.c.account_id == account_id))
        return before, self.get(account_id)

    def set_password(self, account_id: str, password: str) -> None:
        pw_hash = _hasher().hash(check_password(password))
        with self.engine.begin() as conn:
            conn.execute(update(t.accounts).where(t.accounts.c.id == account_id)
                         .values(password_hash=pw_hash, updated_at=utcnow()))
            conn.execute(delete(t.web_sessions).where(t.web_sessions.c.account_id == account_id))

    def verify_password(self, email: str, password: str) -> Account | None:
        """The active account with this e-mail and password, else None (same work either way)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        hasher = _hasher()
        with self.engine.connect() as conn:
            row = conn.execute(select(t.accounts).where(t.accounts.c.email == (email or "").strip().lower())).first()
        stored = row.password_hash if row is not None and row.password_hash else None
        try:
            # without an account, verify against a throw-away hash so timing does not reveal who exists
            ok = hasher.verify(stored or _DUMMY.get(hasher), password or "")
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or row is None or stored is None or row.status != "active":
            return None
        if hasher.check_needs_rehash(stored):
            self.set_password(row.id, password)
        return self.get(row.id)

    # ------------------------------------------------------------------ personal API tokens
    def create_token(self, account_id: str, name: str, scopes: list[str] | tuple[str, ...] | str,
                     expires_days: int | None = 90) -> tuple[str, TokenInfo]:
        """A new token for the account: (the secret, shown once; its stored description)."""
        name = (name or "").strip()
        if not 1 <= len(name) <= 128:
            raise Invalid("a token name has 1-128 characters", field="name")
        if expires_days is not None and not 1 <= expires_days <= 3650:
            raise Invalid("a token expires after 1 to 3650 days", field="expires_days")
        scope = check_scopes(scopes)
        self.get(account_id)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        info = TokenInfo("tok_" + secrets.token_hex(8), account_id, name, scope, now,
                         now + timedelta(days=expires_days) if expires_days else None, None, None)
        with self.engine.begin() as conn:
            conn.execute(insert(t.api_tokens).values(id=info.id, account_id=account_id, name=name,
                                                     token_hash=digest(secret), scopes=",".join(scope),
                                                     created_at=now, expires_at=info.expires_at))
        return secret, info

    def tokens(self, account_id: str) -> list[TokenInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.api_tokens).where(t.api_tokens.c.account_id == account_id)
                                .order_by(t.api_tokens.c.created_at, t.api_tokens.c.id))
            return [_token_info(r) for r in rows]

    def revoke_token(self, account_id: str, token_id: str) -> TokenInfo:
        """Revoke one of the account's own tokens (another's is not found)."""
        with self.engine.begin() as conn:
            res = conn.execute(update(t.api_tokens).where(and_(t.api_tokens.c.id == token_id,
                                                               t.api_tokens.c.account_id == account_id,
                                                               t.api_tokens.c.revoked_at.is_(None)))
                               .values(revoked_at=utcnow()))
            row = conn.execute(select(t.api_tokens).where(and_(t.api_tokens.c.id == token_id,
                                                               t.api_tokens.c.account_id == account_id))).first()
        if row is None:
            raise NotFound(f"no token '{token_id}'", field="token")
        if res.rowcount == 0 and row.revoked_at is None:  # pragma: no cover - raced
            raise Conflict("the token changed meanwhile", field="token")
        return _token_info(row)

    def token_account(self, secret: str) -> tuple[Account, TokenInfo] | None:
        """The active account and live token of a secret, else None."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(t.api_tokens).where(t.api_tokens.c.token_hash == digest(secret))).first()
        if row is None:
            return None
        info = _token_info(row)
        if not info.active:
            return None
        account = self.get(info.account_id)
        if account.status != "active":
            return None
        now = utcnow()
        if info.last_used_at is None or now - info.last_used_at > timedelta(minutes=5):
            with self.engine.begin() as conn:
                conn.execute(update(t.api_tokens).where(t.api_tokens.c.id == info.id).values(last_used_at=now))
        return account, info

    # ------------------------------------------------------------------ web sessions
    def start_session(self, account_id: str, hours: int = 12) -> str:
        """A new session (a fresh id on every sign-in: no fixation); returns the cookie value."""
        sid = secrets.token_urlsafe(32)
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(delete(t.web_sessions).where(t.web_sessions.c.expires_at < now))
            conn.execute(insert(t.web_sessions).values(id_hash=digest(sid), account_id=account_id, created_at=now,
                                                       expires_at=now + timedelta(hours=hours)))
        return sid

    def session_account(self, sid: str) -> Account | None:
        if not sid or len(sid) > 200:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(t.web_sessions).where(t.web_sessions.c.id_hash == digest(sid))).first()
        if row is None or _utc(row.expires_at) <= utcnow():  # type: ignore[operator]
            return None
        account = self.get(row.account_id)
        return account if account.status == "active" else None

    def end_session(self, sid: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t.web_sessions).where(t.web_sessions.c.id_hash == digest(sid or "")))

    # ------------------------------------------------------------------ invitations
    def invite(self, email: str, display_name: str, role: str, *, groups: list[str] | tuple[str, ...] = (),
               record_id: str | None = None, invited_by: str | None = None, days: int = 14) -> str:
        """An invitation; returns the secret of its link (shown once)."""
        email = check_email(email)
        check_role(role)
        if record_id and not self.store.exists(record_id):
            raise NotFound(f"no record with id '{record_id}'", field="record_id")
        with self.engine.connect() as conn:
            if conn.execute(select(t.accounts.c.id).where(t.accounts.c.email == email)).first():
                raise Conflict(f"an account with e-mail '{email}' exists", field="email")
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(insert(t.invitations).values(
                token_hash=digest(secret), email=email, display_name=(display_name or "").strip()[:200] or email,
                role=role, groups=json.dumps(sorted(set(groups))), record_id=record_id or None,
                invited_by=who(invited_by), created_at=now, expires_at=now + timedelta(days=days)))
        return secret

    def invitation(self, secret: str) -> Invitation:
        row = self._open_invitation(secret)
        return Invitation(row.email, row.display_name, row.role, tuple(json.loads(row.groups)), row.record_id,
                          _utc(row.expires_at))

    def _open_invitation(self, secret: str, conn: Any = None) -> Any:
        query = select(t.invitations).where(t.invitations.c.token_hash == digest(secret or ""))
        if conn is None:
            with self.engine.connect() as c:
                row = c.execute(query).first()
        else:
            row = conn.execute(query).first()
        if row is None or row.used_at is not None or _utc(row.expires_at) <= utcnow():  # type: ignore[operator]
            raise NotFound("this invitation link is unknown, used or expired", field="invitation")
        return row

    def accept(self, secret: str, password: str, *, display_name: str | None = None) -> Account:
        """Use an invitation: the account is created with the chosen password; the link is spent."""
        check_password(password)
        with self.engine.begin() as conn:
            row = self._open_invitation(secret, conn)
            spent = conn.execute(update(t.invitations).where(and_(t.invitations.c.token_hash == row.token_hash,
                                                                  t.invitations.c.used_at.is_(None)))
                                 .values(used_at=utcnow()))
            if spent.rowcount != 1:
                raise NotFound("this invitation link is unknown, used or expired", field="invitation")
            return self.create(row.email, display_name or row.display_name, row.role, record_id=row.record_id,
                               groups=json.loads(row.groups), password=password, conn=conn)

    # ------------------------------------------------------------------ login throttling
    def failures(self, keys: list[str], window: timedelta) -> int:
        since = utcnow() - window
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.login_failures).where(
                and_(t.login_failures.c.key.in_(keys), t.login_failures.c.at > since))).scalar_one())

    def record_failure(self, keys: list[str]) -> None:
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(delete(t.login_failures).where(t.login_failures.c.at < now - timedelta(days=1)))
            for key in keys:
                conn.execute(insert(t.login_failures).values(key=key[:400], at=now))

    def clear_failures(self, keys: list[str]) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t.login_failures).where(t.login_failures.c.key.in_(keys)))

    # ------------------------------------------------------------------ audit log
    def audit(self, actor: str, interface: str, action: str, entity_ids: list[str] | tuple[str, ...] = (),
              fields: list[str] | tuple[str, ...] = (), detail: dict[str, Any] | None = None,
              conn: Any = None) -> None:
        values = {"at": utcnow(), "actor": who(actor) or "unknown", "interface": interface[:16],
                  "action": action[:32], "entity_ids": json.dumps(list(entity_ids)[:1000]),
                  "fields": json.dumps(sorted(set(fields))), "detail": json.dumps(detail or {}, default=str)}
        if conn is not None:
            conn.execute(insert(t.audit_log).values(**values))
            return
        with self.engine.begin() as c:
            c.execute(insert(t.audit_log).values(**values))

    def audit_entries(self, *, user: str | None = None, since: datetime | None = None, action: str | None = None,
                      limit: int = 200, before: int | None = None) -> list[AuditEntry]:
        q = select(t.audit_log).order_by(t.audit_log.c.seq.desc()).limit(limit)
        if user:
            q = q.where(t.audit_log.c.actor == user)
        if since is not None:
            q = q.where(t.audit_log.c.at >= since)
        if action:
            q = q.where(t.audit_log.c.action == action)
        if before is not None:
            q = q.where(t.audit_log.c.seq < before)
        with self.engine.connect() as conn:
            return [AuditEntry(r.seq, _utc(r.at), r.actor, r.interface, r.action,  # type: ignore[arg-type]
                               json.loads(r.entity_ids), json.loads(r.fields), json.loads(r.detail))
                    for r in conn.execute(q)]


class _Dummy:
    """A hash of a random password, made once, verified against when no account matches."""

    value: str | None = None

    def get(self, hasher: Any) -> str:
        if self.value is None:
            self.value = hasher.hash(secrets.token_hex(16))
        return self.value


_DUMMY = _Dummy()


def _token_info(row: Any) -> TokenInfo:
    return TokenInfo(row.id, row.account_id, row.name, tuple(row.scopes.split(",")), _utc(row.created_at),
                     _utc(row.expires_at), _utc(row.last_used_at), _utc(row.revoked_at))  # type: ignore[arg-type]
