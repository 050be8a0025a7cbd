"""``citybridge network``, ``citybridge trends`` and ``citybridge gaps``: the analytics, as text, JSON or CSV."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.markup import escape

from citybridge.analyze.tables import gaps_rows, network_rows, to_csv, trends_rows
from citybridge.cli.common import app, emit_json, open_hub, out, user_errors
from citybridge.errors import Invalid

YearFrom = Annotated[int | None, typer.Option("--from", help="first year (inclusive)")]
YearTo = Annotated[int | None, typer.Option("--to", help="last year (inclusive)")]
AsJson = Annotated[bool, typer.Option("--json", help="the whole result as JSON")]
AsCsv = Annotated[bool, typer.Option("--csv", help="a flat table as CSV")]


def _emit(result: dict[str, Any], as_json: bool, as_csv: bool, rows: Any) -> bool:
    if as_json and as_csv:
        raise Invalid("choose one of --json and --csv", field="csv")
    if as_json:
        emit_json(result)
        return True
    if as_csv:
        sys.stdout.write(to_csv(*rows(result)))
        return True
    return False


def _names(items: list[dict[str, Any]], extra: str) -> None:
    for i, n in enumerate(items, start=1):
        out.print(f"  {i:>2}. {escape(n['name'][:70])} [dim]{n['id']} {n.get('country') or ''}[/dim]  "
                  f"{n['score']:.4f}  {escape(extra.format(**n))}", highlight=False)


@app.command("network")
@user_errors
def network_(
    theme: Annotated[str | None, typer.Option("--theme", "-t", help="sdg:11, pathway:<code>, programme:SC5, "
                                                                    "kw:<phrase>; none: the whole network")] = None,
    level: Annotated[str, typer.Option("--level", help="organization, person or city")] = "organization",
    year_from: YearFrom = None,
    year_to: YearTo = None,
    top: Annotated[int, typer.Option("--top", "-n", help="length of each ranking")] = 10,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
) -> None:
    """Who is central, excellent, a broker or a pioneer in a theme's collaboration network, with the records
    behind each figure."""
    with open_hub() as hub:
        result = hub.network_metrics(theme=theme, level=level, year_from=year_from, year_to=year_to, top=top)
    if _emit(dict(result), as_json, as_csv, network_rows):
        return
    out.print(f"[bold]{escape(result['theme_name'] or 'Whole network')}[/bold] ({result['level']}): "
              f"{result['nodes']:,} nodes, {result['edges']:,} ties, {result['activities']:,} activities, "
              f"{result['n_communities']:,} communities, years {result['years'][0]}-{result['years'][1]}",
              highlight=False)
    out.print("[bold]Excellence[/bold] (centrality x volume x recency)")
    _names(result["excellence"], "volume {volume}, centrality {centrality}")
    out.print("[bold]Brokers[/bold] (betweenness x mix of communities, sectors, countries)")
    _names(result["brokers"], "communities {communities_mix}, sectors {sectors_mix}, countries {countries_mix}")
    out.print("[bold]Pioneers[/bold] (early in the theme, central since)")
    _names(result["pioneers"], "since {first_year}, centrality since {centrality_since}")


@app.command("trends")
@user_errors
def trends_(
    scheme: Annotated[str | None, typer.Option("--scheme", help="sdg, pathway, programme or kw")] = None,
    theme: Annotated[list[str] | None, typer.Option("--theme", "-t", help="only these themes")] = None,
    year_from: YearFrom = None,
    year_to: YearTo = None,
    top: Annotated[int, typer.Option("--top", "-n", help="number of themes")] = 20,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
) -> None:
    """Theme volumes per year for supply and demand, with growth, bursts and emerging themes."""
    with open_hub() as hub:
        result = hub.trends(scheme=scheme, themes=theme, year_from=year_from, year_to=year_to, top=top)
    if _emit(dict(result), as_json, as_csv, trends_rows):
        return
    years = result["years"]
    out.print(f"years {years[0] if years else '-'}-{years[-1] if years else '-'}; emerging: "
              f"{', '.join(result['emerging']) or 'none'}", highlight=False)
    for s in result["series"]:
        flag = "[red]emerging[/red] " if s["emerging"] else ("rising " if s["supply"]["rising"]
                                                            or s["demand"]["rising"] else "")
        out.print(f"  {flag}[bold]{escape(s.get('theme_name') or s['theme'])}[/bold]  supply "
                  f"{s['supply']['total']} (growth {s['supply']['growth']:+.2f})  demand {s['demand']['total']} "
                  f"(growth {s['demand']['growth']:+.2f})", highlight=False)
        if s.get("reason"):
            out.print(f"     {escape(s['reason'])}", highlight=False, soft_wrap=True)


@app.command("gaps")
@user_errors
def gaps_(
    by: Annotated[str, typer.Option("--by", help="region (UN sub-regions) or country")] = "region",
    scheme: Annotated[str | None, typer.Option("--scheme", help="sdg, pathway, programme or kw")] = None,
    theme: Annotated[list[str] | None, typer.Option("--theme", "-t", help="only these themes")] = None,
    year_from: YearFrom = None,
    year_to: YearTo = None,
    top: Annotated[int, typer.Option("--top", "-n", help="number of ranked gaps")] = 10,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
) -> None:
    """Where demand outruns supply: theme x region (or country), the largest gaps with reasons."""
    with open_hub() as hub:
        result = hub.gaps(by=by, scheme=scheme, themes=theme, year_from=year_from, year_to=year_to, top=top)
    if _emit(dict(result), as_json, as_csv, gaps_rows):
        return
    out.print(f"{len(result['cells']):,} cells ({len(result['themes'])} themes x {len(result['areas'])} areas); "
              f"supply {result['totals']['supply']:,}, demand {result['totals']['demand']:,}", highlight=False)
    for i, c in enumerate(result["ranked"], start=1):
        out.print(f"  {i:>2}. [bold]{escape(c.get('theme_name') or c['theme'])}[/bold] in {escape(c['area'])}  "
                  f"gap {c['gap']:.1f}", highlight=False)
        out.print(f"      {escape(c['reason'])}", highlight=False, soft_wrap=True)


__all__ = ["gaps_", "network_", "trends_"]
