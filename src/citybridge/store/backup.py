"""Backups a store can be restored from exactly, and the check that proves it.

A backup is a folder::

    manifest.json    format, schema revision, backend, and for every table its row count and a SHA-256 over
                     its rows in primary-key order (records' own content hashes included)
    citybridge.db    SQLite: a copy made with SQLite's online backup API (writers carry on meanwhile)
    citybridge.pgdump  PostgreSQL: ``pg_dump --format=custom`` of the same snapshot the manifest was read from
    RESTORE.md       how to restore it, and how to rebuild the derived indexes

Search, vector and resolution indexes are not in the backup: they are derived from the store and rebuilt by
``citybridge reindex`` (or on the first search). :func:`restore` refuses a target that already holds data,
copies the backup in, and compares every table's count and digest with the manifest before the restored
database takes the place of the (absent) live one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, inspect, text

from citybridge.errors import Conflict, Invalid, NotFound, Unavailable

FORMAT = "citybridge.backup"
VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "citybridge.db"
PG_FILE = "citybridge.pgdump"

RESTORE_NOTES = """# Restoring this citybridge backup

Made {created_at} from a {backend} store at schema revision `{revision}`
({records} records, {relations} relations).

## Restore

    citybridge --data-dir NEW_EMPTY_FOLDER restore {path}                      # SQLite
    citybridge --database-url postgresql+psycopg://u@host/emptydb restore {path}   # PostgreSQL

`restore` refuses a target that already holds a database, and checks every table's row count and
SHA-256 digest against `manifest.json` before the restored store is put in place.

## Rebuild the indexes

Search, vector and organisation-resolution indexes are derived from the store and are not part of the
backup. Rebuild them once after restoring:

    citybridge --data-dir NEW_EMPTY_FOLDER reindex

(or let the first search rebuild them). Embeddings are stored in the database and come back with it;
`citybridge enrich` only needs to run again for records added afterwards.
"""


@dataclass
class BackupReport:
    """What a backup or restore did, and the figures it was verified against."""

    path: str
    backend: str
    revision: str | None
    tables: dict[str, dict[str, Any]]
    verified: bool = False
    mismatches: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return int(self.tables.get("records", {}).get("rows", 0))

    @property
    def relations(self) -> int:
        return int(self.tables.get("relations", {}).get("rows", 0))

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "backend": self.backend, "revision": self.revision, "records": self.records,
                "relations": self.relations, "verified": self.verified, "mismatches": self.mismatches,
                "tables": self.tables}


# ---------------------------------------------------------------------------------------------- digests
def _norm(value: Any) -> Any:
    """A value as the same JSON whichever driver read it (datetimes in UTC, bytes as hex)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return value


def table_digests(conn: Connection) -> dict[str, dict[str, Any]]:
    """For every table of the database (Alembic's version table included): its row count and a SHA-256 over
    its rows in primary-key order, each row as canonical JSON of its columns sorted by name."""
    insp = inspect(conn)
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(insp.get_table_names()):
        if name.startswith("sqlite_"):
            continue
        cols = sorted(c["name"] for c in insp.get_columns(name))
        pk = insp.get_pk_constraint(name).get("constrained_columns") or cols
        q = conn.dialect.identifier_preparer.quote
        sql = (f"SELECT {', '.join(q(c) for c in cols)} FROM {q(name)} "
               f"ORDER BY {', '.join(q(c) for c in pk)}")
        h = hashlib.sha256()
        n = 0
        for row in conn.execute(text(sql)):
            h.update(json.dumps([_norm(v) for v in row], ensure_ascii=False, default=str).encode("utf-8"))
            h.update(b"\n")
            n += 1
        out[name] = {"rows": n, "sha256": h.hexdigest()}
    return out


def _revision(conn: Connection) -> str | None:
    if "alembic_version" not in inspect(conn).get_table_names():
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (backups and the search index manifests)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a file just moved into it) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------- backup
def backup(engine: Engine, path: str | os.PathLike[str]) -> BackupReport:
    """Write a verified backup of the store behind ``engine`` into the new or empty folder ``path``.

    SQLite: the online backup API copies a consistent snapshot while other connections keep writing; the copy
    is checked with ``PRAGMA integrity_check`` and its tables digested. PostgreSQL: ``pg_dump`` runs on a
    snapshot exported from the transaction the digests are read in, so the manifest describes the dump exactly.
    The manifest is written last: a folder without one is not a backup.
    """
    dest = Path(path)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise Conflict("the backup folder must be new or empty", where=str(dest))
    dest.mkdir(parents=True, exist_ok=True)
    backend = engine.dialect.name
    if backend == "sqlite":
        file, tables, revision = _backup_sqlite(engine, dest)
    elif backend == "postgresql":
        file, tables, revision = _backup_postgres(engine, dest)
    else:  # pragma: no cover - make_engine refuses other databases
        raise Invalid(f"cannot back up a {backend} database", field="database_url")
    created = datetime.now(UTC).replace(microsecond=0).isoformat()
    manifest = {"format": FORMAT, "version": VERSION, "backend": backend, "revision": revision,
                "created_at": created, "file": file.name, "file_sha256": sha256_file(file), "tables": tables}
    report = BackupReport(str(dest), backend, revision, tables, verified=True)
    (dest / "RESTORE.md").write_text(RESTORE_NOTES.format(
        created_at=created, backend=backend, revision=revision, records=report.records,
        relations=report.relations, path=dest), encoding="utf-8")
    _write_json(dest / MANIFEST, manifest)
    fsync_dir(dest)
    return report


def _sqlite_path(engine: Engine) -> Path:
    db = engine.url.database
    if not db or db == ":memory:":
        raise Invalid("an in-memory database cannot be backed up", field="database_url")
    return Path(db)


def _backup_sqlite(engine: Engine, dest: Path) -> tuple[Path, dict[str, Any], str | None]:
    src_path = _sqlite_path(engine)
    if not src_path.exists():
        raise NotFound("no database to back up", where=str(src_path))
    target = dest / SQLITE_FILE
    part = dest / (SQLITE_FILE + ".part")
    src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(part)
    try:
        src.backup(dst)  # one step: a single read snapshot (WAL lets writers go on)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        problems = [r[0] for r in dst.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise Conflict(f"the copy failed the integrity check: {problems[0]}", where=str(src_path))
    finally:
        dst.close()
        src.close()
    with open(part, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(part, target)
    copy = create_engine(f"sqlite:///{target}")
    try:
        with copy.connect() as conn:
            return target, table_digests(conn), _revision(conn)
    finally:
        copy.dispose()


def _pg_env_url(engine: Engine) -> tuple[str, dict[str, str]]:
    """A libpq URL for pg_dump/pg_restore (password passed in the environment, not on the command line)."""
    url = engine.url.set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
        url = url.set(password=None)
    return url.render_as_string(hide_password=False), env


def _pg_tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise Unavailable(f"{name} is not installed (install the PostgreSQL client tools of the server's version)")
    return exe


def _backup_postgres(engine: Engine, dest: Path) -> tuple[Path, dict[str, Any], str | None]:
    exe = _pg_tool("pg_dump")
    target = dest / PG_FILE
    part = dest / (PG_FILE + ".part")
    url, env = _pg_env_url(engine)
    with engine.connect() as conn:
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        done = subprocess.run([exe, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                               f"--file={part}", url], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            part.unlink(missing_ok=True)
            raise Unavailable(f"pg_dump failed: {done.stderr.strip().splitlines()[-1] if done.stderr else ''}")
        tables = table_digests(conn)
        revision = _revision(conn)
        conn.rollback()
    os.replace(part, target)
    return target, tables, revision


# ---------------------------------------------------------------------------------------------- restore
def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    folder = Path(path)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound("not a citybridge backup (no manifest.json)", where=str(folder)) from None
    except (OSError, ValueError) as exc:
        raise Invalid(f"unreadable backup manifest: {exc}", where=str(folder / MANIFEST)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Invalid("not a citybridge backup manifest", where=str(folder / MANIFEST), field="format")
    if manifest.get("version") != VERSION:
        raise Invalid(f"backup format version {manifest.get('version')} is not supported (expected {VERSION})",
                      where=str(folder / MANIFEST), field="version")
    return manifest


def _compare(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    out = []
    for name in sorted(set(expected) | set(found)):
        e, f = expected.get(name), found.get(name)
        if e is None or f is None:
            out.append(f"table {name}: {'missing after restore' if f is None else 'not in the backup'}")
        elif e["rows"] != f["rows"]:
            out.append(f"table {name}: {f['rows']} rows, backup has {e['rows']}")
        elif e["sha256"] != f["sha256"]:
            out.append(f"table {name}: content differs from the backup")
    return out


def verify(engine: Engine, manifest: dict[str, Any]) -> list[str]:
    """Differences between the database behind ``engine`` and a backup manifest (empty: identical)."""
    with engine.connect() as conn:
        return _compare(manifest["tables"], table_digests(conn))


def restore(url: str, path: str | os.PathLike[str]) -> BackupReport:
    """Restore the backup in ``path`` into the database at ``url``, which must not hold any table yet.

    Raises Conflict when the target holds data or the restored copy differs from the manifest (SQLite: nothing
    is then put in place; PostgreSQL: ``pg_restore`` runs in one transaction, and a copy that restores but
    differs is reported, to be dropped), Invalid when the backup is not one or was made by another backend.
    """
    folder = Path(path)
    manifest = read_manifest(folder)
    backend = "sqlite" if url.startswith("sqlite") else "postgresql" if url.startswith("postgresql") else "?"
    if manifest["backend"] != backend:
        raise Invalid(f"this backup is of a {manifest['backend']} store; the target is {backend}",
                      where=str(folder), field="backend")
    file = folder / manifest["file"]
    if not file.is_file():
        raise NotFound("the backup's database file is missing", where=str(file))
    if sha256_file(file) != manifest["file_sha256"]:
        raise Conflict("the backup file does not match its manifest (damaged or changed)", where=str(file))
    restore_into = _restore_sqlite if backend == "sqlite" else _restore_postgres
    mismatches = restore_into(url, file, manifest)
    return BackupReport(str(folder), backend, manifest.get("revision"), manifest["tables"],
                        verified=not mismatches, mismatches=mismatches)


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _restore_sqlite(url: str, file: Path, manifest: dict[str, Any]) -> list[str]:
    target = Path(url.split("///", 1)[1]) if "///" in url else None
    if target is None or str(target) in ("", ":memory:"):
        raise Invalid("restore needs a database file (set --data-dir)", field="database_url")
    for suffix in ("", "-wal", "-shm"):
        existing = Path(str(target) + suffix)
        if existing.exists() and existing.stat().st_size > 0:
            raise Conflict("the target already has a database; restore into an empty data folder",
                           where=str(existing))
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".restoring")
    shutil.copyfile(file, part)
    with open(part, "rb+") as f:
        os.fsync(f.fileno())
    with _engine(f"sqlite:///{part}") as eng:
        with eng.connect() as conn:
            problems = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]
        mismatches = verify(eng, manifest)
    if problems != ["ok"]:
        mismatches.insert(0, f"integrity check: {problems[0]}")
    if mismatches:
        part.unlink(missing_ok=True)
        raise Conflict("the restored copy differs from the backup: " + "; ".join(mismatches[:5]),
                       where=str(file))
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    os.replace(part, target)
    fsync_dir(target.parent)
    # indexes in the folder (if any) describe another store: drop them, they are rebuilt from this one
    shutil.rmtree(target.parent / "index", ignore_errors=True)
    return []


def _restore_postgres(url: str, file: Path, manifest: dict[str, Any]) -> list[str]:
    exe = _pg_tool("pg_restore")
    with _engine(url) as eng:
        with eng.connect() as conn:
            existing = [n for n in inspect(conn).get_table_names()]
        if existing:
            raise Conflict(f"the target database already has tables ({', '.join(sorted(existing)[:3])} ...); "
                           "restore into an empty database", field="database_url")
        libpq, env = _pg_env_url(eng)
        done = subprocess.run([exe, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                               f"--dbname={libpq}", str(file)], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "unknown error"
            raise Conflict(f"pg_restore failed (nothing restored): {last}", where=str(file))
        mismatches = verify(eng, manifest)
    if mismatches:
        raise Conflict("the restored database differs from the backup: " + "; ".join(mismatches[:5]),
                       where=str(file))
    return []


__all__ = ["BackupReport", "backup", "read_manifest", "restore", "table_digests", "verify"]
