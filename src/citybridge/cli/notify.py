"""``citybridge subscribe``, ``citybridge subscriptions list|remove`` and ``citybridge digest send|preview``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape

from citybridge.cli.common import app, emit_json, err, open_hub, out, progress_bar, user_errors
from citybridge.errors import Invalid

subscriptions_app = typer.Typer(help="List and remove subscriptions.", no_args_is_help=True)
digest_app = typer.Typer(help="Send and preview e-mail digests.", no_args_is_help=True)
app.add_typer(subscriptions_app, name="subscriptions")
app.add_typer(digest_app, name="digest")


def _when(value: str | None, name: str) -> datetime | None:
    """A date (midnight UTC) or an ISO date-time."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"'{value}' is not a date such as 2026-11-30 or 2026-11-30T06:00", field=name) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _filters(pairs: list[str] | None) -> dict[str, Any]:
    out_: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise Invalid(f"filter '{pair}' is not key=value (e.g. sdg=7, country=PT)", field="filter")
        prev = out_.get(key.strip())
        value = value.strip()
        out_[key.strip()] = value if prev is None else [*([prev] if isinstance(prev, str) else prev), value]
    return out_


@app.command()
@user_errors
def subscribe(
    member: Annotated[str, typer.Argument(help="the member's record id (a person, organisation or city)")],
    theme: Annotated[list[str] | None, typer.Option("--theme", help="sdg:7, pathway:circular ...")] = None,
    keyword: Annotated[list[str] | None, typer.Option("--keyword", help='words, e.g. "energy communities"')] = None,
    place: Annotated[list[str] | None, typer.Option("--place", help="a place id or a city name")] = None,
    search: Annotated[str | None, typer.Option("--search", help="saved search words")] = None,
    filter_: Annotated[list[str] | None, typer.Option("--filter", help="saved search filter key=value")] = None,
    record: Annotated[list[str] | None, typer.Option("--record", help="a project, organisation, call ... id")] = None,
    profile: Annotated[bool, typer.Option("--profile", help="what matches the member's expertise and city")] = False,
    frequency: Annotated[str, typer.Option("--frequency", help="daily, weekly or monthly")] = "weekly",
    channel: Annotated[str, typer.Option("--channel", help="email, feed or both")] = "email",
    email: Annotated[str | None, typer.Option("--email", help="address (default: the record's)")] = None,
    language: Annotated[str | None, typer.Option("--language", help="en, es, pt, fr or de")] = None,
    user: Annotated[str | None, typer.Option("--user", help="the caller user whose view digests take")] = None,
    group: Annotated[list[str] | None, typer.Option("--group", help="an owner group the member belongs to")] = None,
    network: Annotated[bool | None, typer.Option("--network-member/--no-network-member",
                                                 help="may see network records")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Register a member for digests (or change their settings) and add subscriptions."""
    wanted: list[tuple[str, str | None, dict[str, Any] | None]] = [
        *(("theme", v, None) for v in theme or ()), *(("keyword", v, None) for v in keyword or ()),
        *(("place", v, None) for v in place or ()), *(("record", v, None) for v in record or ())]
    if search is not None or filter_:
        wanted.append(("search", search or "", _filters(filter_)))
    if profile:
        wanted.append(("profile", None, None))
    with open_hub() as hub:
        m = hub.register_member(member, email=email, language=language, principal=user, groups=group,
                                network=network, changed_by="cli:subscribe")
        done = []
        for sub_type, value, flt in wanted:
            sub, created = hub.subscribe(m.id, sub_type, value, filters=flt, frequency=frequency, channel=channel,
                                         changed_by="cli:subscribe")
            done.append({**_sub_dict(hub, sub), "created": created})
    if as_json:
        emit_json({"member": m.id, "email": m.email, "language": m.language, "subscriptions": done})
        return
    out.print(f"{escape(m.name)} <{escape(m.email)}> ({m.language})", highlight=False)
    for d in done:
        state = "added" if d["created"] else "updated"
        out.print(f"  {state} {d['id']}: {d['type']} {escape(d['label'])} ({d['frequency']}, {d['channel']})",
                  highlight=False)


def _sub_dict(hub: Any, sub: Any) -> dict[str, Any]:
    body = {"id": sub.id, "member": sub.member_id, "type": sub.type, "label": sub.label, "target": sub.target,
            "query": sub.query, "filters": sub.filters, "frequency": sub.frequency, "channel": sub.channel,
            "last_digest_at": sub.last_digest_at.isoformat() if sub.last_digest_at else None}
    if sub.channel in ("feed", "both"):
        body["feed"] = hub.feed_link(sub)
    return body


@subscriptions_app.command("list")
@user_errors
def subscriptions_list(
    member: Annotated[str | None, typer.Argument(help="a member's record id (default: every member)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Subscriptions of one member, or of everyone."""
    with open_hub() as hub:
        subs = [_sub_dict(hub, s) for s in hub.subscriptions(hub.get(member).id if member else None)]
    if as_json:
        emit_json({"subscriptions": subs})
        return
    for s in subs:
        last = s["last_digest_at"] or "never"
        out.print(f"{s['id']}  {s['member']}  {s['type']}: {escape(s['label'])}  {s['frequency']}/{s['channel']}  "
                  f"last digest {last}", highlight=False)
    if not subs:
        out.print("no subscriptions")


@subscriptions_app.command("remove")
@user_errors
def subscriptions_remove(sub_id: Annotated[str, typer.Argument(help="subscription id (sub_...)")],
                         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Stop one subscription."""
    with open_hub() as hub:
        sub = hub.unsubscribe(sub_id)
    if as_json:
        emit_json({"removed": sub.id, "member": sub.member_id})
    else:
        out.print(f"removed {sub.id} ({sub.type}: {escape(sub.label)})", highlight=False)


@digest_app.command("send")
@user_errors
def digest_send(
    member: Annotated[list[str] | None, typer.Option("--member", help="only these members (due or not)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="build and render, store and send nothing")] = False,
    since: Annotated[str | None, typer.Option("--since", help="changes since this date instead of the last digest")]
    = None,
    now: Annotated[str | None, typer.Option("--now", help="the clock (ISO date-time; default: now)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Send the digests that are due through SMTP; safe to re-run (nothing is sent twice)."""
    with open_hub() as hub, progress_bar("building digests", None) as tick:
        report = hub.send_digests(member_ids=member, since=_when(since, "since"), now=_when(now, "now"),
                                  dry_run=dry_run, changed_by="cli:digest-send", progress=tick)
    if as_json:
        emit_json(report)
    else:
        verb = "would send" if dry_run else "sent"
        n = len(report["digests"]) if dry_run else report["sent"]
        out.print(f"{verb} {n} digest(s) with {report['items']} item(s); resent {report['resent']}, "
                  f"nothing new for {report['empty']}, failed {report['failed']}, conflicts {report['conflicts']}",
                  highlight=False)
    if report["stopped"]:
        err.print(f"[red]stopped:[/red] {escape(report['stopped'])}", highlight=False)
        raise typer.Exit(3)


@digest_app.command("preview")
@user_errors
def digest_preview(
    member: Annotated[str, typer.Argument(help="the member's record id")],
    since: Annotated[str | None, typer.Option("--since", help="changes since this date")] = None,
    now: Annotated[str | None, typer.Option("--now", help="the clock (ISO date-time; default: now)")] = None,
    today: Annotated[str | None, typer.Option("--today", help="count deadlines from this date")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text, html or json")] = "text",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Render a member's next digest without sending or recording anything."""
    if fmt not in ("text", "html", "json"):
        raise Invalid(f"unknown format '{fmt}' (text, html, json)", field="format")
    day = date.fromisoformat(today) if today else None
    with open_hub() as hub:
        digest = hub.digest(hub.get(member).id, since=_when(since, "since"), now=_when(now, "now"), today=day)
        rendered = hub.render_digest(digest)
    if as_json or fmt == "json":
        emit_json({**digest.to_dict(), "subject": rendered["subject"]})
    elif fmt == "html":
        typer.echo(rendered["html"])
    else:
        typer.echo(f"Subject: {rendered['subject']}\n\n{rendered['text']}")
