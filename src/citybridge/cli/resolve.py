"""``citybridge resolve``, ``citybridge merges list|show|accept|reject|undo`` and ``citybridge match``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from citybridge.cli.common import app, emit_json, err, open_hub, out, progress_bar, user_errors
from citybridge.model.entities import record_to_dict

merges_app = typer.Typer(help="The merge log and review queue: list, show, accept, reject, undo.",
                         no_args_is_help=True)
app.add_typer(merges_app, name="merges")


def _reasons(reasons: dict[str, Any]) -> str:
    if "features" in reasons:
        feats = reasons["features"]
        top = sorted(feats.items(), key=lambda kv: -abs(kv[1]))[:5]
        return f"matched '{reasons.get('matched', '')}' in '{reasons.get('query', '')}'; " + ", ".join(
            f"{k} {v:g}" for k, v in top)
    return ", ".join(f"{k}: {v}" for k, v in reasons.items() if not isinstance(v, dict | list))[:160]


@app.command("resolve")
@user_errors
def resolve_(
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="organization, person, place or document "
                                                                  "(default: all)")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="merge above the auto threshold, queue the rest")] = False,
    show: Annotated[int, typer.Option("--show", "-n", help="proposals to list")] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Find records of the same organisation, person, place or document; report proposed merges with
    scores and reasons, and with --apply merge them (reversibly: see `citybridge merges undo`)."""
    with open_hub() as hub, progress_bar("resolving", None, enabled=not as_json) as tick:
        report = hub.resolve(kind, apply=apply, changed_by="cli:resolve", progress=tick)
    if as_json:
        emit_json(report)
        return
    for k, counts in report["kinds"].items():
        th = report["thresholds"][k]
        out.print(f"[bold]{k}[/bold]: " + ", ".join(f"{n} {v:,}" for n, v in counts.items())
                  + f"  [dim](auto-merge >= {th['auto_merge']:.2f}, review >= {th['review']:.2f})[/dim]",
                  highlight=False)
    for p in report["proposals"][:show]:
        out.print(f"  {p['score']:.3f} {p['decision']:<10} {p['merged_id']} -> {p['survivor_id']}  "
                  f"[dim]{escape(_reasons(p['reasons']))}[/dim]", highlight=False, soft_wrap=True)
    if len(report["proposals"]) > show:
        out.print(f"  ... and {len(report['proposals']) - show:,} more (--show N, or --json)")
    if apply:
        out.print(f"applied {len(report['applied']):,} merges, queued {len(report['queued']):,} for review "
                  f"({report['seconds']} s)")
    else:
        out.print(f"nothing changed (dry run, {report['seconds']} s); --apply merges and queues them")


@merges_app.command("list")
@user_errors
def merges_list(
    status: Annotated[str | None, typer.Option("--status", help="proposed (the review queue), applied, rejected, "
                                                                "undone")] = None,
    kind: Annotated[str | None, typer.Option("--kind", "-k")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Merges, newest first (the review queue, best first, with --status proposed)."""
    with open_hub() as hub:
        rows = hub.merges(status=status, kind=kind, limit=limit)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        out.print("no merges")
    for m in rows:
        out.print(f"{m['id']}  {m['status']:<8} {m['kind']:<12} {m['score']:.3f}  {m['merged_id']} -> "
                  f"{m['survivor_id']}  [dim]{escape(m['method'])}[/dim]", highlight=False)


@merges_app.command("show")
@user_errors
def merges_show(merge_id: Annotated[str, typer.Argument(help="merge id (mrg_...)")],
                as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One merge: both records side by side and the evidence."""
    with open_hub() as hub:
        d = hub.merge_detail(merge_id)
    body = {"merge": d["merge"], "relations": d["relations"],
            "survivor": record_to_dict(d["survivor"]) if d["survivor"] else None,
            "merged": record_to_dict(d["merged"]) if d["merged"] else None}
    if as_json:
        emit_json(body)
        return
    m = d["merge"]
    out.print(f"[bold]{m['id']}[/bold] {m['status']} {m['kind']} score {m['score']:.3f} ({escape(m['method'])})")
    for side in ("survivor", "merged"):
        r = body[side] or {}
        out.print(f"  {side:<8} {r.get('id', '?')}  {escape(r.get('name', '(gone)'))}  "
                  f"{escape(str(r.get('external_ids', {})))}", highlight=False)
    out.print(f"  reasons: {escape(_reasons(m['reasons']))}", highlight=False, soft_wrap=True)


def _decide(action: str, merge_id: str, as_json: bool) -> None:
    with open_hub() as hub:
        fn = {"accept": hub.accept_merge, "reject": hub.reject_merge, "undo": hub.undo_merge}[action]
        m = fn(merge_id, changed_by=f"cli:{action}")
    if as_json:
        emit_json(m)
        return
    out.print(f"{m['id']}: {m['status']} ({m['merged_id']} -> {m['survivor_id']})")


@merges_app.command("accept")
@user_errors
def merges_accept(merge_id: Annotated[str, typer.Argument()], as_json: Annotated[bool, typer.Option("--json")]
                  = False) -> None:
    """Apply a proposed merge."""
    _decide("accept", merge_id, as_json)


@merges_app.command("reject")
@user_errors
def merges_reject(merge_id: Annotated[str, typer.Argument()], as_json: Annotated[bool, typer.Option("--json")]
                  = False) -> None:
    """Reject a proposed merge (the pair is not proposed again)."""
    _decide("reject", merge_id, as_json)


@merges_app.command("undo")
@user_errors
def merges_undo(merge_id: Annotated[str, typer.Argument()], as_json: Annotated[bool, typer.Option("--json")]
                = False) -> None:
    """Undo an applied merge exactly: records, ids, relations, annotations and history come back."""
    _decide("undo", merge_id, as_json)


@app.command("match")
@user_errors
def match_(
    texts: Annotated[list[str], typer.Argument(help="affiliation strings or organisation names")],
    country: Annotated[str | None, typer.Option("--country", help="ISO code or country name")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="candidates per string")] = 3,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Match affiliation strings to ROR organisations: ranked candidates with probabilities and features."""
    with open_hub() as hub:
        if not hub.store.stats()["by_kind"].get("organization"):
            err.print("note: the store holds no organisations; import ROR first (citybridge ror FILE)")
        results = hub.match_affiliations([(t, country) for t in texts], limit=limit)
    if as_json:
        emit_json(results if len(results) > 1 else results[0])
        return
    for r in results:
        out.print(f"[bold]{escape(r['query'])}[/bold]  -> {r['decision']}", highlight=False)
        if not r["candidates"]:
            out.print("  [dim]no candidate[/dim]")
        for c in r["candidates"]:
            unit = f"  unit: {escape(c['unit'])}" if c["unit"] else ""
            out.print(f"  {c['probability']:.3f} {c['decision']:<6} ror:{c['ror']}  {escape(c['name'])} "
                      f"({c['country'] or '?'}){unit}", highlight=False)
