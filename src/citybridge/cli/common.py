"""Shared pieces of the command line: the typer app, consoles, error translation, progress, output."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from citybridge.errors import CitybridgeError
from citybridge.hub import Hub
from citybridge.settings import Settings
from citybridge.store.db_errors import describe_database_error

app = typer.Typer(
    name="citybridge",
    help="Knowledge exchange for urban sustainability: import, explore and link what a network knows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

_state: dict[str, Any] = {"data_dir": None, "database_url": None}


@app.callback()
def _main(
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="data folder (CITYBRIDGE_DATA_DIR)")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL")] = None,
) -> None:
    _state["data_dir"] = data_dir
    _state["database_url"] = database_url


def settings() -> Settings:
    overrides: dict[str, Any] = {}
    if _state["data_dir"] is not None:
        overrides["data_dir"] = _state["data_dir"]
    if _state["database_url"] is not None:
        overrides["database_url"] = _state["database_url"]
    return Settings(**overrides)


#: exit codes: 2 for what the user asked (bad input, unknown id), 3 when the database failed
EXIT_USER, EXIT_DATABASE = 2, 3


def user_errors(fn: F) -> F:
    """Turn domain exceptions into one line on stderr and exit code 2, and database errors into one line naming
    the command, the table and the cause, with exit code 3 (each write batch is one transaction: the failed
    one was rolled back, and a re-run carries on from there)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CitybridgeError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_USER) from None
        except SQLAlchemyError as exc:
            command = _command_name(wrapper)
            problem = describe_database_error(exc)
            hint = "" if problem.unreachable else "; the batch in progress was rolled back, re-run to continue"
            err.print(f"[red]error:[/red] {escape(f'{command}: {problem}{hint}')}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_DATABASE) from None
        except OSError as exc:  # a file the user named cannot be read or written
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            err.print(f"[red]error:[/red] {escape(where + (exc.strerror or str(exc)))}", highlight=False,
                      soft_wrap=True)
            raise typer.Exit(EXIT_USER) from None
        except KeyboardInterrupt:
            err.print("interrupted; completed batches are stored, re-run to continue")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _command_name(callback: Callable[..., Any]) -> str:
    """The name a user typed for the command behind ``callback`` (e.g. ``import``, ``feeds poll``)."""
    groups = [("", app)] + [(f"{g.name} ", g.typer_instance) for g in app.registered_groups if g.typer_instance]
    for prefix, typer_app in groups:
        for info in typer_app.registered_commands:
            if info.callback is callback:
                return prefix + (info.name or callback.__name__.rstrip("_").replace("_", "-"))
    return callback.__name__.rstrip("_")


@contextmanager
def open_hub(*, store: bool = True) -> Iterator[Hub]:
    """A Hub on the configured store; ``store=False`` for commands that only read files (a dry run): the
    Hub then has an empty in-memory store, and the data folder is not even created."""
    if store:
        hub = Hub(settings())
    else:
        from citybridge.store import Store

        hub = Hub(settings(), store=Store.open("sqlite://", migrate=False))
    try:
        yield hub
    finally:
        hub.close()


@contextmanager
def progress_bar(label: str, total: int | None, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    if not enabled or not sys.stderr.isatty():
        yield lambda _n: None
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as prog:
        task = prog.add_task(label, total=total)
        yield lambda n: prog.advance(task, n)


def emit_json(data: Any) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


def print_report(report: Any, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_dict())
        return
    for line in report.lines():
        err.print(f"[yellow]rejected[/yellow] {escape(line)}", highlight=False, soft_wrap=True)
    if report.rejected > len(report.rejections):
        err.print(f"... and {report.rejected - len(report.rejections)} more rejections (see --report)")
    out.print(f"created {report.created:,}  updated {report.updated:,}  unchanged {report.unchanged:,}  "
              f"rejected {report.rejected:,}", highlight=False)
