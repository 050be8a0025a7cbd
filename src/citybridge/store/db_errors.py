"""What a database error was about, in words a user can act on: the table and the cause, one line.

Interfaces call :func:`describe_database_error` where they translate errors (the CLI's one-line message, the
API's error body), so no driver traceback reaches a user. Works for SQLite (including the guards of
:mod:`citybridge.store.guards`) and PostgreSQL (psycopg's diagnostics name the table when the server knows it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

_TABLE_IN_SQL = re.compile(r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.I)
_FROM = re.compile(r'\bFROM\s+"?(\w+)', re.I)
_TABLE_IN_MESSAGE = re.compile(r"(?:failed|for|in):?\s+(\w+)\.\w+")  # "UNIQUE constraint failed: feeds.url"


@dataclass(frozen=True, slots=True)
class DatabaseProblem:
    """A database error reduced to what a user needs: the table (when known), the cause, and whether the
    database could not be reached at all."""

    table: str | None
    cause: str
    unreachable: bool = False

    def __str__(self) -> str:
        if self.unreachable:
            return f"cannot reach the database: {self.cause}"
        where = f" in table {self.table}" if self.table else ""
        return f"database error{where}: {self.cause}"


def describe_database_error(exc: SQLAlchemyError) -> DatabaseProblem:
    """The table and cause of a SQLAlchemy error (the driver's first message line, without SQL or parameters).

    >>> from sqlalchemy.exc import IntegrityError
    >>> str(describe_database_error(IntegrityError("INSERT INTO feeds (url) VALUES (?)", ("x",),
    ...                                             Exception("UNIQUE constraint failed: feeds.url"))))
    'database error in table feeds: UNIQUE constraint failed: feeds.url'
    """
    orig = getattr(exc, "orig", None)
    message = str(orig if orig is not None else exc).strip()
    cause = message.splitlines()[0].strip() if message else type(exc).__name__
    diag = getattr(orig, "diag", None)
    column = getattr(diag, "column_name", None)
    table = getattr(diag, "table_name", None)
    if not table:
        found = _TABLE_IN_MESSAGE.search(cause)
        table = found.group(1) if found else None
    statement = getattr(exc, "statement", None) or ""
    if not table and statement:
        found = _TABLE_IN_SQL.match(statement) or _FROM.search(statement)
        table = found.group(1) if found else None
    if column and column not in cause:
        cause = f"{cause} (column {column})"
    unreachable = isinstance(exc, DBAPIError) and bool(exc.connection_invalidated) or (
        not statement and _looks_like_connection_failure(cause))
    return DatabaseProblem(table, cause, unreachable)


def _looks_like_connection_failure(cause: str) -> bool:
    text = cause.lower()
    return any(w in text for w in ("connection", "could not connect", "unable to open database", "does not exist"))


__all__ = ["DatabaseProblem", "describe_database_error"]
