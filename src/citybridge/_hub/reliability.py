"""Hub methods that keep a store trustworthy: health, doctor, backup (restore: :func:`citybridge.store.backup.restore`).

``health()`` is cheap (served at ``GET /api/v1/health``): the store answers, the schema is current, the search
index matches the store, the disk has room. ``doctor()`` adds the slow checks (SQLite ``integrity_check`` and
``foreign_key_check``, the index files' checksums) and says, for each problem, what to do.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from citybridge.settings import Settings
    from citybridge.store import Store

#: below this much free space on the data folder's disk, health reports ``low`` (imports and rebuilds need room)
MIN_FREE_BYTES = 512 * 1024 * 1024


def _check(status: str, detail: str, fix: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"status": status, "detail": detail, "fix": fix, **extra}


class ReliabilityMixin:
    """Health, doctor and backup. Mixed into :class:`citybridge.hub.Hub`."""

    store: Store
    settings: Settings
    searcher: Any

    # ------------------------------------------------------------------ health
    def health(self) -> dict[str, Any]:
        """Cheap checks for a load balancer or monitor.

        Returns ``{"status": "ok" | "degraded" | "down", "checks": {store, migrations, index, disk}}``; each
        check has ``status``, ``detail`` and ``fix`` (what to do, or None). ``down``: the store cannot be read.
        """
        checks: dict[str, dict[str, Any]] = {"store": self._check_store()}
        if checks["store"]["status"] == "ok":
            checks["migrations"] = self._check_migrations()
            checks["index"] = self._check_index(verify=False)
        checks["disk"] = self._check_disk()
        return {"status": _overall(checks), "checks": checks}

    def doctor(self) -> dict[str, Any]:
        """:meth:`health` plus the integrity of the database and of the index files (slow on big stores)."""
        report = self.health()
        checks = report["checks"]
        if checks["store"]["status"] == "ok":
            checks["integrity"] = self._check_integrity()
            checks["index"] = self._check_index(verify=True)
        report["status"] = _overall(checks)
        return report

    def _check_store(self) -> dict[str, Any]:
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        from citybridge.store.db_errors import describe_database_error

        t0 = time.perf_counter()
        try:
            with self.store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return _check("down", str(describe_database_error(exc)),
                          "check that the database server runs and CITYBRIDGE_DATABASE_URL points at it")
        ms = round((time.perf_counter() - t0) * 1000, 1)
        return _check("ok", f"{self.store.dialect} answers in {ms} ms", backend=self.store.dialect, ms=ms)

    def _check_migrations(self) -> dict[str, Any]:
        from citybridge.store.migrate import current_revision, head_revision

        current, head = current_revision(self.store.engine), head_revision(self.store.engine)
        if current == head:
            return _check("ok", f"schema at {head}", current=current, head=head)
        return _check("degraded", f"schema at {current}, this version needs {head}",
                      "run `citybridge init` (applies the pending migrations)", current=current, head=head)

    def _check_index(self, *, verify: bool) -> dict[str, Any]:
        from citybridge.search.artifacts import IndexArtifactError
        from citybridge.search.service import _manifest, store_fingerprint

        directory = Path(self.searcher.dir)
        try:
            meta = _manifest(directory / "facets")
        except IndexArtifactError:
            return _check("degraded", "no search index yet (the first search builds it)",
                          "run `citybridge reindex`")
        fp = store_fingerprint(self.store)
        built = meta.get("built_at")
        if verify:
            try:
                self.searcher._load_main()  # checks format, sizes and (up to 256 MB) checksums of every file
            except IndexArtifactError as exc:
                return _check("degraded", f"the search index cannot be used: {exc}", "run `citybridge reindex`",
                              built_at=built)
        if meta.get("fingerprint") == fp:
            return _check("ok", f"search index matches the store (built {built})", built_at=built, fresh=True)
        return _check("ok", f"search index built {built}; later changes are served from an in-memory delta "
                      "until the next rebuild", "run `citybridge reindex` after large imports", built_at=built,
                      fresh=False)

    def _check_disk(self) -> dict[str, Any]:
        folder = Path(self.settings.data_dir)
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        usage = shutil.disk_usage(folder)
        free_mb = usage.free // (1024 * 1024)
        status = "ok" if usage.free >= MIN_FREE_BYTES else "degraded"
        fix = None if status == "ok" else f"free space on the disk of {folder} (imports and index rebuilds need it)"
        return _check(status, f"{free_mb:,} MB free of {usage.total // (1024 * 1024):,} MB on the data disk", fix,
                      free_bytes=usage.free, total_bytes=usage.total)

    def _check_integrity(self) -> dict[str, Any]:
        if self.store.dialect != "sqlite":
            return _check("ok", "PostgreSQL keeps constraints itself; run `pg_amcheck` for page-level checks")
        with self.store.engine.connect() as conn:
            problems = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]
            orphans = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if problems != ["ok"]:
            return _check("failed", f"integrity check: {problems[0]} ({len(problems)} problem(s))",
                          "restore the latest backup: `citybridge --data-dir NEW restore BACKUP` "
                          "(or `sqlite3 citybridge.db .recover` to salvage what is readable)")
        if orphans:
            tables = sorted({r[0] for r in orphans})
            return _check("failed", f"{len(orphans)} row(s) point at missing rows (tables {', '.join(tables)})",
                          "restore the latest backup, or export, re-import into a new data folder")
        return _check("ok", "integrity_check ok, no foreign-key violations")

    # ------------------------------------------------------------------ backup
    def backup(self, path: str | os.PathLike[str]) -> Any:
        """A verified backup of the store in the new folder ``path`` (see :mod:`citybridge.store.backup`);
        returns a :class:`~citybridge.store.backup.BackupReport`."""
        from citybridge.store.backup import backup

        return backup(self.store.engine, path)


def _overall(checks: dict[str, dict[str, Any]]) -> str:
    states = {c["status"] for c in checks.values()}
    if "down" in states:
        return "down"
    return "ok" if states <= {"ok"} else "degraded"
