"""SQLite guards generated from the table definitions, so the embedded store refuses what PostgreSQL refuses.

SQLite stores any text in a ``VARCHAR(n)`` column, any 64-bit integer in an ``INTEGER`` one and text with NUL
characters anywhere; PostgreSQL rejects a value longer than ``n``, an integer outside 32 bits and a NUL. A store
that only ever ran on SQLite (every test, every demo) would hide such a value until a PostgreSQL deployment hits
it. These guards close the gap: one ``BEFORE INSERT`` and one ``BEFORE UPDATE`` trigger per table, generated from
``store/tables.py`` (so a column added or resized there is guarded without anyone writing a trigger), that abort
the statement with a message naming the table and column.

Triggers rather than ``CHECK`` constraints: they are added to an existing store without rebuilding its tables,
and they are regenerated whenever the table definitions change (each trigger's name carries a digest of its
body). A migration that rebuilds a table drops its triggers with it; :func:`install_guards` puts them back.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import BigInteger, Connection, Engine, Integer, MetaData, String, Table, inspect

PREFIX = "cb_guard_"
INT4 = (-(2**31), 2**31 - 1)  # PostgreSQL's INTEGER


def _nul(ref: str) -> str:
    return f"instr(CAST({ref} AS BLOB), x'00') > 0"


def _checks(table: Table) -> tuple[list[str], list[tuple[str, str]]]:
    """The quick test of the trigger's WHEN (one NUL scan over every text column at once), and (SQL condition
    on NEW, message) for each column PostgreSQL would be stricter about, to name the culprit."""
    when: list[str] = []
    texts: list[str] = []
    checks: list[tuple[str, str]] = []
    for col in table.columns:
        ref = f'NEW."{col.name}"'
        where = f"{table.name}.{col.name}"
        if isinstance(col.type, String):  # Text is a String without a length
            n = col.type.length
            if n:
                when.append(f"length({ref}) > {n}")
                checks.append((when[-1], f"value too long for {where} (more than {n} characters)"))
            if not col.info.get("json"):  # JSON writers escape control characters
                texts.append(f"coalesce({ref}, '')")
                checks.append((_nul(ref), f"NUL character in {where}"))
        elif isinstance(col.type, Integer) and not isinstance(col.type, BigInteger):
            if col.primary_key and col.autoincrement is True:
                continue  # assigned by the database
            when.append(f"{ref} NOT BETWEEN {INT4[0]} AND {INT4[1]}")
            checks.append((when[-1], f"integer out of range for {where} (PostgreSQL INTEGER is 32-bit)"))
    if texts:
        when.append(_nul(" || ".join(texts)))
    return when, checks


def guard_triggers(metadata: MetaData) -> dict[str, tuple[str, str]]:
    """Trigger name -> (table, ``CREATE TRIGGER`` statement), for every table of ``metadata``."""
    out: dict[str, tuple[str, str]] = {}
    for table in metadata.sorted_tables:
        conditions, checks = _checks(table)
        if not checks:
            continue
        when = " OR ".join(f"({cond})" for cond in conditions)
        body = " ".join(f"SELECT RAISE(ABORT, '{msg}') WHERE {cond};" for cond, msg in checks)
        for event in ("INSERT", "UPDATE"):
            digest = hashlib.blake2b(f"{event}|{when}|{body}".encode(), digest_size=4).hexdigest()
            name = f"{PREFIX}{table.name}_{event[0].lower()}_{digest}"
            out[name] = (table.name, f'CREATE TRIGGER IF NOT EXISTS "{name}" BEFORE {event} ON "{table.name}" '
                                     f"FOR EACH ROW WHEN {when} BEGIN {body} END")
    return out


def is_guard_error(exc: BaseException) -> bool:
    """Whether a database error was raised by one of these guards."""
    text = str(getattr(exc, "orig", exc))
    return text.startswith(("value too long for ", "NUL character in ", "integer out of range for "))


def _installed(conn: Connection) -> set[str]:
    rows = conn.exec_driver_sql(
        f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '{PREFIX}%'")
    return {r[0] for r in rows}


def install_guards(engine: Engine, metadata: MetaData) -> int:
    """Bring the guard triggers of a SQLite store in line with ``metadata`` (a no-op on other databases and when
    they already are; safe when several processes open the store at once); returns the number created."""
    if engine.dialect.name != "sqlite":
        return 0
    wanted = guard_triggers(metadata)
    with engine.connect() as conn:
        have = _installed(conn)
    if have == set(wanted):
        return 0
    existing = set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        for name in have - set(wanted):
            conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS "{name}"')
        created = 0
        for name, (table, sql) in wanted.items():
            if name not in have and table in existing:
                conn.exec_driver_sql(sql)
                created += 1
    return created


def drop_guards(engine: Engine) -> None:
    """Remove every guard trigger (before migrations, which must see the tables as they define them)."""
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as conn:
        for name in _installed(conn):
            conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS "{name}"')


__all__ = ["guard_triggers", "install_guards", "drop_guards", "is_guard_error", "PREFIX"]
