"""``citybridge account ...`` (accounts, roles, invitations, personal tokens), ``citybridge audit`` and
``citybridge migrate-store --to URL``."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape

from citybridge.cli.common import app, emit_json, err, open_hub, out, user_errors
from citybridge.errors import Invalid

account_app = typer.Typer(help="Accounts: create, list, change roles, invite, personal API tokens.",
                          no_args_is_help=True)
app.add_typer(account_app, name="account")
CLI = "cli:"


def _who() -> str:
    import getpass

    try:
        return CLI + getpass.getuser()
    except Exception:  # pragma: no cover
        return CLI + "unknown"


def _groups(value: str | None) -> list[str]:
    return [g.strip() for g in (value or "").split(",") if g.strip()]


@account_app.command("create")
@user_errors
def account_create(
    email: Annotated[str, typer.Argument(help="e-mail address (the sign-in name)")],
    role: Annotated[str, typer.Option("--role", help="admin, curator, staff, member or partner")] = "member",
    name: Annotated[str | None, typer.Option("--name", help="display name")] = None,
    groups: Annotated[str | None, typer.Option("--groups", help="comma-separated group ids")] = None,
    record: Annotated[str | None, typer.Option("--record", help="the person/organisation/city record")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an account (with --password-stdin it can sign in at once; else invite instead)."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with open_hub() as hub:
        acc = hub.create_account(email, name or "", role, groups=_groups(groups), record_id=record,
                                 password=password, changed_by=_who())
    if as_json:
        emit_json(acc.as_dict())
    else:
        out.print(f"created {acc.id} <{escape(acc.email)}> as {acc.role}", highlight=False)


@account_app.command("list")
@user_errors
def account_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every account with its role and groups."""
    with open_hub() as hub:
        accounts = hub.accounts.list()
    if as_json:
        emit_json({"accounts": [a.as_dict() for a in accounts]})
        return
    for a in accounts:
        out.print(f"{a.id}  {escape(a.email)}  {a.role}  {','.join(a.groups) or '-'}  {a.status}", highlight=False)
    if not accounts:
        out.print("no accounts")


@account_app.command("set")
@user_errors
def account_set(
    user: Annotated[str, typer.Argument(help="account id or e-mail")],
    role: Annotated[str | None, typer.Option("--role")] = None,
    groups: Annotated[str | None, typer.Option("--groups", help="comma-separated (replaces the groups)")] = None,
    status: Annotated[str | None, typer.Option("--status", help="active or disabled")] = None,
    record: Annotated[str | None, typer.Option("--record")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Change an account's role, groups, status or record (audited)."""
    with open_hub() as hub:
        acc = hub.accounts.find(user)
        acc = hub.update_account(acc.id, role=role, groups=_groups(groups) if groups is not None else None,
                                 status=status, record_id=record, changed_by=_who())
    if as_json:
        emit_json(acc.as_dict())
    else:
        out.print(f"{acc.id}: {acc.role}, groups {','.join(acc.groups) or '-'}, {acc.status}", highlight=False)


@account_app.command("invite")
@user_errors
def account_invite(
    email: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option("--role")] = "member",
    name: Annotated[str | None, typer.Option("--name")] = None,
    groups: Annotated[str | None, typer.Option("--groups")] = None,
    record: Annotated[str | None, typer.Option("--record")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """An invitation link (valid 14 days, once) for a new account."""
    with open_hub() as hub:
        secret = hub.invite(email, name or "", role, groups=_groups(groups), record_id=record, changed_by=_who())
        link = hub.settings.public_url.rstrip("/") + f"/invite/{secret}"
    if as_json:
        emit_json({"email": email, "role": role, "link": link})
    else:
        out.print(link, highlight=False)


@account_app.command("token")
@user_errors
def account_token(
    user: Annotated[str, typer.Argument(help="account id or e-mail")],
    name: Annotated[str, typer.Option("--name")] = "cli",
    scopes: Annotated[str, typer.Option("--scopes", help="comma list of read, write, curate")] = "read",
    days: Annotated[int, typer.Option("--days", help="expires after this many days (0: never)")] = 90,
    revoke: Annotated[str | None, typer.Option("--revoke", help="revoke this token id instead")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Make a personal API token for an account (printed once), or revoke one."""
    with open_hub() as hub:
        acc = hub.accounts.find(user)
        if revoke:
            info = hub.revoke_token(acc.id, revoke, changed_by=_who())
            if as_json:
                emit_json({"revoked": info.id})
            else:
                out.print(f"revoked {info.id}")
            return
        secret, info = hub.create_token(acc.id, name, scopes, days or None, changed_by=_who())
    if as_json:
        emit_json({"id": info.id, "token": secret, "scopes": list(info.scopes),
                   "expires_at": info.expires_at.isoformat() if info.expires_at else None})
    else:
        out.print(secret, highlight=False)
        err.print(f"{info.id}: {','.join(info.scopes)}, expires {info.expires_at or 'never'} (shown once)")


@app.command()
@user_errors
def audit(
    user: Annotated[str | None, typer.Option("--user", help="only this actor (account id or cli user)")] = None,
    since: Annotated[str | None, typer.Option("--since", help="from this date or ISO date-time (UTC)")] = None,
    action: Annotated[str | None, typer.Option("--action", help="e.g. update, import, merge, role")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000)] = 200,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The audit log, newest first: who changed what, when, and through which interface."""
    when = None
    if since:
        try:
            when = datetime.fromisoformat(since)
        except ValueError:
            raise Invalid(f"'{since}' is not a date such as 2026-12-01", field="since") from None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
    with open_hub() as hub:
        entries = hub.audit_log(user=user, since=when, action=action, limit=limit)
    if as_json:
        emit_json({"entries": [e.as_dict() for e in entries]})
        return
    for e in entries:
        ids = ",".join(e.entity_ids[:5]) + (f" (+{len(e.entity_ids) - 5})" if len(e.entity_ids) > 5 else "")
        out.print(f"{e.at:%Y-%m-%d %H:%M:%S}  {escape(e.actor)}  {e.interface}  {e.action}  {escape(ids)}  "
                  f"{','.join(e.fields)}", highlight=False)
    if not entries:
        out.print("no entries")


@app.command("migrate-store")
@user_errors
def migrate_store(
    to: Annotated[str, typer.Option("--to", help="SQLAlchemy URL of an empty database, e.g. "
                                    "postgresql+psycopg://user@localhost/citybridge")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Copy this store (e.g. SQLite) into an empty database (e.g. PostgreSQL) and verify every table's row
    count and checksum; exit 3 when they differ."""
    from citybridge.store.copy import copy_store

    with open_hub() as hub:
        report = copy_store(hub.store, to, progress=lambda name, n: err.print(f"{name}: +{n}", highlight=False))
    if as_json:
        emit_json(report.as_dict())
    else:
        for name, v in report.tables.items():
            ok = "ok" if v["rows"] == v["target_rows"] and v["source_sha256"] == v["target_sha256"] else "DIFFERS"
            out.print(f"{name:<18} {v['rows']:>9} rows  sha256 {v['source_sha256'][:16]}  {ok}", highlight=False)
        out.print("verified: counts and checksums match" if report.verified else "NOT verified", highlight=False)
    if not report.verified:
        raise typer.Exit(3)
