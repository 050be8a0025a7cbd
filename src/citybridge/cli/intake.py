"""Intake commands: ``ingest``, ``watch``, ``feeds``, ``openalex``, ``ror``, ``cordis``, ``cordis-join``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from citybridge.cli.common import app, emit_json, err, open_hub, out, print_report, progress_bar, user_errors

feeds_app = typer.Typer(help="News feeds (RSS/Atom): register and poll.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")

JsonOpt = Annotated[bool, typer.Option("--json", help="print the report as JSON")]


@app.command()
@user_errors
def ingest(
    targets: Annotated[list[str], typer.Argument(help="files, folders or URLs")],
    include: Annotated[list[str] | None, typer.Option("--include", help="glob of files to take from folders")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="glob of files to skip")] = None,
    source: Annotated[str | None, typer.Option("--source", help="a registered source by name (e.g. eu-calls, "
                                               "climate-adapt-funding, ec-news); default: recognised")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest documents (PDF, DOCX, HTML, Markdown, text), data files, portal exports and URLs, deduplicated."""
    with open_hub() as hub:
        hub.init()
        with progress_bar("ingesting", None) as tick:
            report = hub.ingest(targets, include=include or (), exclude=exclude or (), source=source,
                                progress=tick)
    print_report(report, as_json)


@app.command()
@user_errors
def watch(
    folder: Annotated[Path, typer.Argument(help="consume folder")],
    interval: Annotated[float, typer.Option("--interval", help="seconds between scans")] = 5.0,
    once: Annotated[bool, typer.Option("--once", help="scan once and exit")] = False,
) -> None:
    """Watch a consume folder: new files are ingested, failures moved to failed/ with a reason."""
    with open_hub() as hub:
        hub.init()
        err.print(f"watching {folder} every {interval:g}s (Ctrl-C stops)", highlight=False)

        def on_poll(summary: object) -> None:
            out.print(str(summary), highlight=False)

        try:
            summary = hub.watch(folder, interval=interval, max_polls=1 if once else None, on_poll=on_poll,
                                settle_seconds=0.0 if once else 2.0)
        except KeyboardInterrupt:
            return
    out.print(str(summary), highlight=False)


@feeds_app.command("add")
@user_errors
def feeds_add(
    url: Annotated[str, typer.Argument(help="RSS or Atom feed URL")],
    theme: Annotated[list[str] | None, typer.Option("--theme", help="theme code, e.g. sdg:11 (repeatable)")] = None,
    org: Annotated[str | None, typer.Option("--org", help="publishing organisation: id or ror:...")] = None,
    title: Annotated[str | None, typer.Option("--title")] = None,
) -> None:
    """Register a feed."""
    with open_hub() as hub:
        hub.init()
        feed = hub.feeds_add(url, themes=theme or (), organization=org, title=title)
    out.print(f"feed registered: {feed.url}", highlight=False)


@feeds_app.command("list")
@user_errors
def feeds_list(as_json: JsonOpt = False) -> None:
    """Registered feeds and their last poll."""
    with open_hub() as hub:
        hub.init()
        feeds = hub.feeds_list()
    if as_json:
        emit_json([f.__dict__ if hasattr(f, "__dict__") else f for f in feeds])
        return
    for f in feeds:
        out.print(f"{f.url}  themes={','.join(f.themes) or '-'}  last={f.last_polled or 'never'} {f.last_status or ''}",
                  highlight=False)


@feeds_app.command("poll")
@user_errors
def feeds_poll(urls: Annotated[list[str] | None, typer.Argument(help="only these feeds")] = None,
               as_json: JsonOpt = False) -> None:
    """Poll feeds with conditional GET; new items become news documents."""
    with open_hub() as hub:
        hub.init()
        report = hub.feeds_poll(urls or None)
    print_report(report, as_json)


@app.command()
@user_errors
def openalex(
    entity: Annotated[str, typer.Argument(help="works, authors, institutions, funders, topics, publishers")] = "works",
    search: Annotated[str | None, typer.Option("--search")] = None,
    filter: Annotated[str | None, typer.Option("--filter", help="OpenAlex filter, e.g. publication_year:2024")] = None,
    limit: Annotated[int | None, typer.Option("--limit")] = None,
    mailto: Annotated[str | None, typer.Option("--mailto", help="your e-mail for the polite pool")] = None,
    snapshot: Annotated[Path | None, typer.Option("--snapshot", help="JSON Lines(.gz) snapshot file")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="API root (mirror or test server)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import OpenAlex entities from the API or a snapshot file."""
    with open_hub() as hub:
        hub.init()
        with progress_bar("openalex", limit) as tick:
            report = hub.openalex(entity, search=search, filter=filter, limit=limit, mailto=mailto,
                                  snapshot=snapshot, base_url=base_url, progress=tick)
    print_report(report, as_json)


@app.command()
@user_errors
def ror(path: Annotated[Path, typer.Argument(help="ROR dump (.json or .json.gz, schema v1 or v2)")],
        as_json: JsonOpt = False) -> None:
    """Import a ROR registry dump."""
    with open_hub() as hub:
        hub.init()
        with progress_bar("ror", None) as tick:
            report = hub.ror(path, progress=tick)
    print_report(report, as_json)


@app.command("cordis-join")
@user_errors
def cordis_join(dry_run: Annotated[bool, typer.Option("--dry-run", help="report, write nothing")] = False,
                as_json: JsonOpt = False) -> None:
    """Name the CORDIS graph's PIC-only organisations from exported project listings; describe projects
    known by number only."""
    with open_hub() as hub:
        report = hub.join_cordis(apply=not dry_run, progress=lambda msg: err.print(msg))
    if as_json:
        emit_json(report)
        return
    for part, counts in report.items():
        out.print(f"[bold]{part}[/bold]: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items()))


@app.command()
@user_errors
def cordis(paths: Annotated[list[Path], typer.Argument(help="h2020.csv.gz or project.csv exports")],
           as_json: JsonOpt = False) -> None:
    """Import CORDIS project exports or the H2020 participation graph."""
    with open_hub() as hub:
        hub.init()
        with progress_bar("cordis", None) as tick:
            report = hub.cordis(paths, progress=tick)
    print_report(report, as_json)
