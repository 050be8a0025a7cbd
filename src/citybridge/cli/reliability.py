"""``citybridge backup``, ``citybridge restore`` and ``citybridge doctor``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from citybridge.cli.common import EXIT_USER, app, emit_json, open_hub, out, settings, user_errors

_MARK = {"ok": "[green]ok[/green]", "degraded": "[yellow]attention[/yellow]", "failed": "[red]FAILED[/red]",
         "down": "[red]DOWN[/red]"}


@app.command()
@user_errors
def backup(path: Annotated[Path, typer.Argument(help="new (or empty) folder for the backup")],
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Back up the store (SQLite online backup API; pg_dump for PostgreSQL) with a verifiable manifest."""
    with open_hub() as hub:
        report = hub.backup(path)
    if as_json:
        emit_json(report.to_dict())
        return
    out.print(f"backed up {report.records:,} records and {report.relations:,} relations "
              f"({len(report.tables)} tables, schema {report.revision}) to {escape(str(path))}", highlight=False)
    out.print(f"restore with: citybridge --data-dir NEW_FOLDER restore {escape(str(path))}; "
              "then rebuild the search index: citybridge reindex (see RESTORE.md)", highlight=False)


@app.command()
@user_errors
def restore(path: Annotated[Path, typer.Argument(help="a folder written by `citybridge backup`")],
            as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Restore a backup into an empty data folder (or empty PostgreSQL database), verified by every table's
    row count and content digest."""
    from citybridge.store.backup import restore as restore_backup

    s = settings()
    report = restore_backup(s.resolved_database_url, path)
    with open_hub() as hub:  # applies migrations a backup from an older version lacks
        hub.store.migrate()
    if as_json:
        emit_json(report.to_dict())
        return
    out.print(f"restored {report.records:,} records and {report.relations:,} relations "
              f"({len(report.tables)} tables verified: row counts and SHA-256 digests match the backup)",
              highlight=False)
    out.print("next: citybridge reindex  (search indexes are rebuilt from the store)", highlight=False)


@app.command()
@user_errors
def doctor(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the store (reachable, schema current, integrity, foreign keys), the search index and the disk,
    and say what to do about each problem. Exit code 2 when something failed."""
    with open_hub() as hub:
        report = hub.doctor()
    if as_json:
        emit_json(report)
    else:
        for name, check in report["checks"].items():
            out.print(f"{_MARK.get(check['status'], check['status'])}  {name}: {escape(check['detail'])}",
                      highlight=False, soft_wrap=True)
            if check.get("fix") and check["status"] != "ok":
                out.print(f"      what to do: {escape(check['fix'])}", highlight=False, soft_wrap=True)
        out.print(f"overall: {_MARK.get(report['status'], report['status'])}", highlight=False)
    if report["status"] in ("down",) or any(c["status"] == "failed" for c in report["checks"].values()):
        raise typer.Exit(EXIT_USER)
