"""Hub methods for accounts (users, groups, roles, personal API tokens, sign-in, invitations) and the audit log.

Every write through the Hub is audited: the record writes of :class:`citybridge.hub.Hub` call :meth:`audit`;
this mixin, first in the Hub's bases, wraps the writes of the other mixins (imports, merges, digests,
subscriptions). Who and through which interface come from the ``changed_by`` label the interfaces already
pass (``api:alice``, ``web:alice``, ``web-import:alice``; anything else is the command line).
"""

from __future__ import annotations

import getpass
import io
import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

from citybridge.errors import Forbidden, Throttled
from citybridge.model.access import Caller
from citybridge.store.accounts import Account, AccountStore, AuditEntry, TokenInfo, check_role

if TYPE_CHECKING:
    from citybridge.settings import Settings
    from citybridge.store import Store

#: failed sign-ins (per e-mail address, and per client address) before sign-in is refused for a while
LOGIN_LIMIT = 5
LOGIN_WINDOW = timedelta(minutes=15)
INTERFACES = {"api": "api", "web": "web", "web-import": "web", "cli": "cli"}


def actor_of(changed_by: str | None) -> tuple[str, str]:
    """(actor, interface) of a ``changed_by`` label."""
    prefix, sep, rest = (changed_by or "").partition(":")
    if sep and prefix in INTERFACES and rest:
        return rest, INTERFACES[prefix]
    try:
        user = getpass.getuser()
    except Exception:  # pragma: no cover - no login name in some containers
        user = "unknown"
    return f"cli:{user}", "cli"


class _IdTee(io.TextIOBase):
    """A row log that passes lines on and keeps the ids of the first ``limit`` created/updated rows."""

    def __init__(self, inner: IO[str] | None, limit: int = 1000) -> None:
        self.inner, self.limit, self.ids = inner, limit, []  # type: list[str]

    @property
    def active(self) -> bool:
        """False once lines would be dropped anyway: the importer then stops formatting them."""
        return self.inner is not None or len(self.ids) < self.limit

    def write(self, s: str) -> int:
        if self.inner is not None:
            self.inner.write(s)
        if len(self.ids) < self.limit and ('"created"' in s or '"updated"' in s):
            for line in s.splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("status") in ("created", "updated") and entry.get("id"):
                    self.ids.append(entry["id"])
        return len(s)


class AccountsMixin:
    """Accounts and audit. Mixed into :class:`citybridge.hub.Hub`, first of its bases."""

    store: Store
    settings: Settings

    @property
    def accounts(self) -> AccountStore:
        return AccountStore(self.store)

    # ------------------------------------------------------------------ audit
    def audit(self, changed_by: str | None, action: str, entity_ids: Iterable[str] = (),
              fields: Iterable[str] = (), detail: dict[str, Any] | None = None) -> None:
        actor, interface = actor_of(changed_by)
        self.accounts.audit(actor, interface, action, [i for i in entity_ids if i], list(fields), detail)

    def audit_log(self, *, user: str | None = None, since: datetime | None = None, action: str | None = None,
                  limit: int = 200, before: int | None = None, caller: Caller | None = None) -> list[AuditEntry]:
        """Audit entries, newest first; with a ``caller``, only an admin may read them."""
        if caller is not None and not caller.admin:
            raise Forbidden("only admins may read the audit log", field="authorization")
        return self.accounts.audit_entries(user=user, since=since, action=action, limit=limit, before=before)

    # ------------------------------------------------------------------ accounts
    def create_account(self, email: str, display_name: str, role: str, *, account_id: str | None = None,
                       record_id: str | None = None, groups: Iterable[str] = (), password: str | None = None,
                       changed_by: str | None = None) -> Account:
        account = self.accounts.create(email, display_name, role, account_id=account_id, record_id=record_id,
                                       groups=tuple(groups), password=password)
        self.audit(changed_by, "account", [account.id], ["email", "role", "groups", "record_id"],
                   {"role": account.role, "groups": list(account.groups)})
        return account

    def update_account(self, account_id: str, *, role: str | None = None, groups: Iterable[str] | None = None,
                       status: str | None = None, record_id: str | None = None, changed_by: str | None = None,
                       caller: Caller | None = None) -> Account:
        """Change an account's role, groups, status or record; role changes are audited as ``role``."""
        if caller is not None and not caller.admin:
            raise Forbidden("only admins may change accounts and roles", field="authorization")
        before, after = self.accounts.update(account_id, role=role, groups=list(groups) if groups is not None
                                             else None, status=status, record_id=record_id)
        changed = [f for f in ("role", "groups", "status", "record_id") if getattr(before, f) != getattr(after, f)]
        if changed:
            self.audit(changed_by, "role" if "role" in changed or "groups" in changed else "account", [account_id],
                       changed, {f: [_plain(getattr(before, f)), _plain(getattr(after, f))] for f in changed})
        return after

    def set_password(self, account_id: str, password: str, *, changed_by: str | None = None) -> None:
        self.accounts.set_password(account_id, password)
        self.audit(changed_by, "account", [account_id], ["password"])

    def invite(self, email: str, display_name: str, role: str = "member", *, groups: Iterable[str] = (),
               record_id: str | None = None, caller: Caller | None = None, changed_by: str | None = None) -> str:
        """An invitation link's secret. Curators invite members, staff and partners; only admins invite
        curators and admins."""
        check_role(role)
        if caller is not None:
            if not caller.curator:
                raise Forbidden("only curators may invite", field="authorization")
            if role in ("admin", "curator") and not caller.admin:
                raise Forbidden("only admins may invite curators and admins", field="role")
        secret = self.accounts.invite(email, display_name, role, groups=tuple(groups), record_id=record_id,
                                      invited_by=changed_by)
        self.audit(changed_by, "invite", [], ["email", "role"], {"email": email.strip().lower(), "role": role,
                                                                 "groups": sorted(set(groups))})
        return secret

    def accept_invitation(self, secret: str, password: str, *, display_name: str | None = None) -> Account:
        account = self.accounts.accept(secret, password, display_name=display_name)
        self.audit(f"web:{account.id}", "account", [account.id], ["password"], {"invited": True,
                                                                              "role": account.role})
        return account

    def authenticate(self, email: str, password: str, *, client: str | None = None) -> Account | None:
        """The account with this e-mail and password, or None; raises Throttled after too many failures
        (per address and per client) within the window."""
        keys = [f"email:{(email or '').strip().lower()[:320]}"] + ([f"ip:{client}"] if client else [])
        if self.accounts.failures(keys[:1], LOGIN_WINDOW) >= LOGIN_LIMIT or (
                client and self.accounts.failures(keys[1:], LOGIN_WINDOW) >= LOGIN_LIMIT * 4):
            raise Throttled("too many failed sign-ins: wait 15 minutes and try again", field="password")
        too_long = len(password or "") > 1024 or len(email or "") > 320  # refused before any hashing
        account = None if too_long else self.accounts.verify_password(email, password)
        if account is None:
            self.accounts.record_failure(keys)
            return None
        self.accounts.clear_failures(keys[:1])
        return account

    # ------------------------------------------------------------------ personal API tokens
    def create_token(self, account_id: str, name: str, scopes: Iterable[str] | str = ("read",),
                     expires_days: int | None = 90, *, changed_by: str | None = None) -> tuple[str, TokenInfo]:
        """A personal API token (the secret is returned once, only its hash is stored)."""
        account = self.accounts.get(account_id)
        scope_list = scopes if isinstance(scopes, str) else list(scopes)
        secret, info = self.accounts.create_token(account.id, name, scope_list, expires_days)
        self.audit(changed_by or f"cli:{account.id}", "token", [info.id], ["scopes"],
                   {"op": "create", "account": account.id, "scopes": list(info.scopes)})
        return secret, info

    def tokens(self, account_id: str) -> list[TokenInfo]:
        return self.accounts.tokens(account_id)

    def revoke_token(self, account_id: str, token_id: str, *, changed_by: str | None = None) -> TokenInfo:
        info = self.accounts.revoke_token(account_id, token_id)
        self.audit(changed_by, "token", [token_id], ["revoked_at"], {"op": "revoke", "account": account_id})
        return info

    # ------------------------------------------------------------------ audited writes of the other mixins
    def import_files(self, paths: Iterable[Any], **kwargs: Any) -> Any:
        paths = list(paths)
        tee = _IdTee(kwargs.pop("row_log", None))
        report = super().import_files(paths, row_log=tee, **kwargs)  # type: ignore[misc]
        self.audit(kwargs.get("changed_by"), "import", tee.ids, [],
                   {"sources": [str(getattr(p, "name", p)) for p in paths], **report.counts()})
        return report

    def accept_merge(self, merge_id: str, *, changed_by: str | None = None) -> Any:
        out = super().accept_merge(merge_id, changed_by=changed_by)  # type: ignore[misc]
        self._audit_merge("merge", merge_id, changed_by)
        return out

    def merge(self, survivor_id: str, merged_id: str, *, changed_by: str | None = None, **kwargs: Any) -> Any:
        out = super().merge(survivor_id, merged_id, changed_by=changed_by, **kwargs)  # type: ignore[misc]
        self.audit(changed_by, "merge", [survivor_id, merged_id], [],
                   {"merge": out.get("id") if isinstance(out, dict) else None})
        return out

    def reject_merge(self, merge_id: str, *, changed_by: str | None = None) -> Any:
        out = super().reject_merge(merge_id, changed_by=changed_by)  # type: ignore[misc]
        self._audit_merge("reject_merge", merge_id, changed_by)
        return out

    def undo_merge(self, merge_id: str, *, changed_by: str | None = None) -> Any:
        out = super().undo_merge(merge_id, changed_by=changed_by)  # type: ignore[misc]
        self._audit_merge("unmerge", merge_id, changed_by)
        return out

    def _audit_merge(self, action: str, merge_id: str, changed_by: str | None) -> None:
        from citybridge.store.merges import MergeStore

        m = MergeStore(self.store).get(merge_id)
        self.audit(changed_by, action, [m["survivor_id"], m["merged_id"]], [], {"merge": merge_id})

    def send_digests(self, **kwargs: Any) -> dict[str, Any]:
        report: dict[str, Any] = super().send_digests(**kwargs)  # type: ignore[misc]
        if not report.get("dry_run"):
            sent = [d for d in report.get("digests", []) if d.get("id")]
            self.audit(kwargs.get("changed_by") or "citybridge:digest", "digest_send",
                       [d["member"] for d in sent], [],
                       {k: report.get(k) for k in ("sent", "resent", "failed", "items", "stopped")}
                       | {"digests": [d["id"] for d in sent][:200]})
        return report

    def subscribe(self, member_id: str, sub_type: str, value: str | None = None, **kwargs: Any) -> Any:
        out = super().subscribe(member_id, sub_type, value, **kwargs)  # type: ignore[misc]
        sub = out[0] if isinstance(out, tuple) else out
        self.audit(kwargs.get("changed_by"), "subscribe", [member_id], [],
                   {"type": sub_type, "value": value, "subscription": getattr(sub, "id", None)})
        return out

    def unsubscribe(self, sub_id: str, **kwargs: Any) -> Any:
        sub = super().unsubscribe(sub_id, **kwargs)  # type: ignore[misc]
        caller = kwargs.get("caller")
        who = f"web:{caller.user}" if caller is not None and caller.user else None
        self.audit(who, "unsubscribe", [sub.member_id], [], {"subscription": sub_id})
        return sub


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
