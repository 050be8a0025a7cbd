"""The ``citybridge`` command line: a thin adapter that builds a :class:`Hub` and calls it.

User errors (domain exceptions) end in one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from citybridge.cli import accounts as _accounts  # noqa: F401  (registers account, audit, migrate-store)
from citybridge.cli import analytics as _analytics  # noqa: F401  (registers network, trends, gaps)
from citybridge.cli import enrich as _enrich  # noqa: F401  (registers enrich, tag)
from citybridge.cli import imports as _imports  # noqa: F401  (registers import)
from citybridge.cli import intake as _intake  # noqa: F401  (registers ingest, watch, feeds, openalex, ror, cordis)
from citybridge.cli import link as _link  # noqa: F401  (registers link, peers, partners, fit)
from citybridge.cli import notify as _notify  # noqa: F401  (registers subscribe, subscriptions, digest)
from citybridge.cli import reliability as _reliability  # noqa: F401  (registers backup, restore, doctor)
from citybridge.cli import resolve as _resolve  # noqa: F401  (registers resolve, merges, match)
from citybridge.cli import search as _search  # noqa: F401  (registers search, similar, reindex)
from citybridge.cli import serve as _serve  # noqa: F401  (registers serve)
from citybridge.cli.common import (
    app,
    emit_json,
    err,
    open_hub,
    out,
    print_report,
    progress_bar,
    settings,
    user_errors,
)
from citybridge.errors import Invalid
from citybridge.model.entities import record_to_dict


@app.command()
@user_errors
def init(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Create the data folder and database, and store the built-in SDG and pathway taxonomies."""
    with open_hub() as hub:
        report = hub.init()
        if as_json:
            emit_json({"database": hub.settings.resolved_database_url.split("@")[-1], **report.counts()})
        else:
            out.print(f"ready: {hub.settings.resolved_database_url.split('@')[-1]} "
                      f"({report.created} taxonomy nodes added)")


@app.command()
@user_errors
def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl, csv, jsonld, ttl or parquet")] = "jsonl",
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="only this kind, or 'relation'")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="file (default: stdout); a folder for parquet")] = None,
) -> None:
    """Export the store (streamed); JSON Lines re-imports exactly; parquet writes records, relations and
    annotations as three files into the --output folder."""
    if fmt not in ("jsonl", "csv", "jsonld", "ttl", "parquet"):
        raise Invalid(f"unknown format '{fmt}' (jsonl, csv, jsonld, ttl, parquet)", field="format")
    if fmt == "parquet":
        if output is None:
            raise Invalid("--format parquet writes a folder: give it with --output", field="output")
        if kind is not None:
            raise Invalid("--kind is not available with --format parquet (filter in the reader)", field="kind")
        with open_hub() as hub:
            counts = hub.export_parquet(output)
        err.print("exported " + ", ".join(f"{n:,} {name}" for name, n in counts.items()) + f" to {output}",
                  highlight=False)
        return
    with open_hub() as hub:
        if output is None:
            n = hub.export(sys.stdout, fmt, kind=kind)  # type: ignore[arg-type]
        else:
            tmp = output.with_name(output.name + ".part")
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                n = hub.export(fh, fmt, kind=kind)  # type: ignore[arg-type]
            tmp.replace(output)
        err.print(f"exported {n:,} items", highlight=False)


@app.command()
@user_errors
def stats(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Counts of records by kind and subtype, and of relations by type."""
    with open_hub() as hub:
        data = hub.stats()
    if as_json:
        emit_json(data)
        return
    table = Table(title=f"{data['records']:,} records, {data['relations']:,} relations")
    table.add_column("kind")
    table.add_column("subtype")
    table.add_column("count", justify="right")
    for kind, subs in data["by_subtype"].items():
        for sub, n in subs.items():
            table.add_row(kind, sub, f"{n:,}")
    for rel, n in data["by_relation"].items():
        table.add_row("relation", rel, f"{n:,}")
    out.print(table)


@app.command()
@user_errors
def show(record_id: Annotated[str, typer.Argument(help="record id, or scheme:value such as ror:05abc")],
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One record with its relations, provenance and history."""
    with open_hub() as hub:
        data = hub.show(record_id)
    body = record_to_dict(data["record"])
    if as_json:
        extra = {k: v for k, v in data.items() if k not in ("record", "version", "relations", "history")}
        emit_json({**body, "version": data["version"], "relations": data["relations"],
                   "history": data["history"], **extra})
        return
    subtype = data["record"].subtype
    label = f"{body['kind']}, {subtype}" if subtype else body["kind"]
    out.print(f"[bold]{escape(body['name'])}[/bold]  ({label})  id {body['id']}  v{data['version']}", highlight=False)
    for key, value in body.items():
        if key in ("name", "kind", "id"):
            continue
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
        out.print(f"  {key}: {escape(text[:300])}", highlight=False, soft_wrap=True)
    if data.get("languages"):
        langs = ", ".join(f"{a['label'].split(':', 1)[1]} {a['score']:.0%}" for a in data["languages"])
        out.print(f"  languages (detected): {langs}", highlight=False)
    for section in ("tags", "places"):
        if data.get(section):
            out.print(f"  {section}:", highlight=False)
            for a in data[section][:15]:
                ev = "; ".join(f"{e.get('field', '')}: “{e.get('text', '')}”" for e in a["evidence"][:3])
                out.print(f"    {a['label'].split(':')[0]} {escape(a['name'])}  {a['score']:.2f}  {escape(ev)}",
                          highlight=False, soft_wrap=True)
    if data.get("keywords"):
        kws = ", ".join(a["label"].split(":", 1)[1] for a in data["keywords"][:12])
        out.print(f"  keywords: {escape(kws)}", highlight=False, soft_wrap=True)
    if data["relations"]:
        out.print(f"  relations ({len(data['relations'])}):")
        for rel in data["relations"][:40]:
            arrow = "->" if rel["direction"] == "out" else "<-"
            role = escape(f" [{rel['role']}]") if rel["role"] else ""
            other = escape(str(rel["other_name"]))
            out.print(f"    {rel['type']}{role} {arrow} {other} ({rel['other_id']})", highlight=False)
    if data["history"]:
        out.print(f"  history: {len(data['history'])} earlier version(s); last change by "
                  f"{data['history'][-1]['changed_by']} at {data['history'][-1]['changed_at']}", highlight=False)


@app.command("list")
@user_errors
def list_(
    kind: Annotated[str | None, typer.Option("--kind", "-k")] = None,
    subtype: Annotated[str | None, typer.Option("--subtype")] = None,
    country: Annotated[str | None, typer.Option("--country")] = None,
    after: Annotated[str | None, typer.Option("--after", help="cursor: last id of the previous page")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List records, paged by id."""
    with open_hub() as hub:
        rows = hub.list(kind, subtype=subtype, country=country, after=after, limit=limit)
    if as_json:
        emit_json({"items": [record_to_dict(r) for r in rows], "next": rows[-1].id if len(rows) == limit else None})
        return
    table = Table()
    for col in ("id", "kind", "subtype", "name", "country"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.id, r.kind.value, r.subtype or "", r.name[:70], getattr(r, "country", None) or "")
    out.print(table)
    if len(rows) == limit:
        out.print(f"next page: --after {rows[-1].id}", highlight=False)


@app.command()
@user_errors
def demo(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    fresh: Annotated[bool, typer.Option("--fresh/--keep", help="start from an empty data folder")] = False,
) -> None:
    """Load the shipped demo knowledge pack into the data folder."""
    s = settings()
    if fresh and s.is_sqlite:
        for suffix in ("", "-wal", "-shm"):
            Path(str(s.data_dir / "citybridge.db") + suffix).unlink(missing_ok=True)
    with open_hub() as hub, progress_bar("loading demo pack", None) as tick:
        report = hub.load_demo(progress=tick)
    print_report(report, as_json)
    if not as_json:
        out.print("demo pack loaded; try: citybridge stats", highlight=False)


def main() -> None:  # pragma: no cover - console-script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
