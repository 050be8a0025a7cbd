"""``citybridge search``, ``citybridge similar`` and ``citybridge reindex``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from citybridge.cli.common import app, emit_json, open_hub, out, user_errors


def _mark(text: str, highlights: list[list[int]]) -> str:
    parts, pos = [], 0
    for s, e in highlights:
        parts.append(escape(text[pos:s]))
        parts.append(f"[bold yellow]{escape(text[s:e])}[/bold yellow]")
        pos = e
    parts.append(escape(text[pos:]))
    return "".join(parts)


def _print_results(data: dict, show_facets: bool = True) -> None:  # type: ignore[type-arg]
    total = data.get("total")
    if total is not None:
        out.print(f"{total:,} results ({data.get('took_ms', 0):.0f} ms)", highlight=False)
    for i, r in enumerate(data["results"], start=1 + (data.get("page", 1) - 1) * data.get("per_page", 10)):
        sub = f"{r['kind']}{'/' + r['subtype'] if r.get('subtype') else ''}"
        where = f" {r['country']}" if r.get("country") else ""
        out.print(f"{i:>3}. [bold]{escape(r['name'][:100])}[/bold]  ({sub}{where})  {r['score']:.3f}  {r['id']}",
                  highlight=False)
        snip = r.get("snippet")
        if snip and snip.get("text"):
            out.print(f"     {_mark(snip['text'], snip['highlights'])}", highlight=False, soft_wrap=True)
        if r.get("tags"):
            out.print("     " + ", ".join(t["label"] for t in r["tags"]), highlight=False)
    if show_facets and data.get("facets"):
        for name, counts in data["facets"].items():
            if counts:
                shown = ", ".join(f"{k} {v:,}" for k, v in list(counts.items())[:8])
                out.print(f"  [dim]{name}:[/dim] {escape(shown)}", highlight=False)


@app.command()
@user_errors
def search(
    query: Annotated[str, typer.Argument(help='words, "phrases", prefix*')],
    kind: Annotated[list[str] | None, typer.Option("--kind", "-k")] = None,
    subtype: Annotated[list[str] | None, typer.Option("--subtype")] = None,
    sdg: Annotated[list[str] | None, typer.Option("--sdg", help="goal number, e.g. 11")] = None,
    pathway: Annotated[list[str] | None, typer.Option("--pathway")] = None,
    country: Annotated[list[str] | None, typer.Option("--country", help="ISO code, e.g. BR")] = None,
    region: Annotated[str | None, typer.Option("--region", help="UN subregion")] = None,
    language: Annotated[str | None, typer.Option("--language")] = None,
    year_from: Annotated[int | None, typer.Option("--from")] = None,
    year_to: Annotated[int | None, typer.Option("--to")] = None,
    page: Annotated[int, typer.Option("--page")] = 1,
    per_page: Annotated[int, typer.Option("--per-page", "-n")] = 10,
    mode: Annotated[str, typer.Option("--mode", help="hybrid, lexical or dense")] = "hybrid",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Search everything: hybrid lexical + semantic ranking, filters, facets, best passages."""
    filters = {"kind": kind, "subtype": subtype, "sdg": sdg, "pathway": pathway, "country": country,
               "region": region, "language": language, "year_from": year_from, "year_to": year_to}
    with open_hub() as hub:
        data = hub.search(query, {k: v for k, v in filters.items() if v not in (None, [])}, page=page,
                          per_page=per_page, mode=mode)
    if as_json:
        emit_json(data)
    else:
        _print_results(data)


@app.command()
@user_errors
def similar(record_id: Annotated[str, typer.Argument(help="record id or scheme:value")],
            limit: Annotated[int, typer.Option("--limit", "-n")] = 10,
            as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """More like this: records similar to one record."""
    with open_hub() as hub:
        data = hub.more_like_this(record_id, limit=limit)
    if as_json:
        emit_json(data)
    else:
        _print_results(data, show_facets=False)


@app.command()
@user_errors
def reindex(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Rebuild the search indexes from the store."""
    with open_hub() as hub:
        data = hub.reindex()
    if as_json:
        emit_json(data)
    else:
        out.print(f"indexed {data['documents']:,} records ({data['terms']:,} terms, {data['vectors']:,} vectors) "
                  f"in {data['seconds']:.1f}s", highlight=False)
