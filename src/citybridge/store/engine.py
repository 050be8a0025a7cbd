"""Database engines: embedded SQLite (WAL, foreign keys, busy timeout) or PostgreSQL by URL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from citybridge.errors import Invalid, Unavailable


def make_engine(url: str, *, busy_timeout_ms: int = 10_000, echo: bool = False) -> Engine:
    """Create an engine for ``url``; SQLite files get their folder created and safe pragmas."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # a web server's threads each hold a connection: a pool larger than the default 5 + 10
        kwargs: dict[str, Any] = {"connect_args": {"timeout": busy_timeout_ms / 1000}, "pool_size": 20,
                                  "max_overflow": 40}
        if path in ("", ":memory:"):
            from sqlalchemy.pool import StaticPool

            kwargs = {"connect_args": {"check_same_thread": False}, "poolclass": StaticPool}
        engine = create_engine(url, echo=echo, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cur.execute("PRAGMA synchronous=NORMAL")
            # a larger page cache keeps the B-trees of a growing store in memory during bulk imports
            cur.execute("PRAGMA cache_size=-131072")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

        return engine
    if url.startswith("postgresql"):
        try:
            return create_engine(url, echo=echo, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise Unavailable(
                f"the PostgreSQL driver is missing ({exc.name}); install citybridge[postgres]"
            ) from exc
    raise Invalid(f"unsupported database URL '{url.split(':', 1)[0]}': use sqlite:/// or postgresql://",
                  field="database_url")


@contextmanager
def temporary_database(server_url: str, prefix: str = "cbtmp_") -> Iterator[str]:
    """A new, uniquely named PostgreSQL database on the server of ``server_url`` (any database there the user may
    connect to), dropped on exit; yields its URL. For tests and benchmarks: never drops what it did not create."""
    from sqlalchemy import text

    name = prefix + uuid.uuid4().hex[:10]
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server_url.rsplit("/", 1)[0] + "/" + name
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
