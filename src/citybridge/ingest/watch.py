"""A consume folder: files dropped into it are ingested; what was processed is remembered in the store.

Each poll lists the folder (recursively, skipping ``failed/`` and hidden files), and ingests every file
whose path is new or whose content (sha256) changed since it was last processed. A file that cannot be
ingested is moved to ``failed/`` with a ``<name>.reason.txt`` beside it, so the folder never retries it
in a loop; the user fixes it and drops it in again.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select

from citybridge.errors import CitybridgeError
from citybridge.ingest.base import Source, registry
from citybridge.ingest.documents import DOC_SUFFIXES, DocumentSource
from citybridge.ingest.pipeline import Importer, ImportReport
from citybridge.ingest.resolve import ExactIdResolver
from citybridge.model.entities import utcnow
from citybridge.store import Store
from citybridge.store import tables as t

FAILED = "failed"


def open_source(
    target: str | Path, *, include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()
) -> Source:
    """The best source for a path, folder or URL: documents for folders, URLs and document files,
    otherwise the highest-scoring registered source (tabular, ROR, CORDIS, OpenAlex ...)."""
    text = str(target)
    if text.startswith(("http://", "https://")) and registry.best_for(text) == "feed":
        return registry.get("feed")(text)
    best = registry.best_for(text)
    if best is not None and registry.score(best, text) >= PORTAL_SCORE:  # a portal's own layout (news folder ...)
        return registry.get(best)(text)
    if text.startswith(("http://", "https://")) or Path(text).is_dir():
        return DocumentSource([text], include=include, exclude=exclude)
    if text.lower().endswith(DOC_SUFFIXES):  # prose first: a .txt dropped here is text, not a CSV
        return DocumentSource([text])
    name = registry.best_for(text)
    if name is None:
        from citybridge.errors import Invalid

        raise Invalid(
            "no source knows this kind of file (documents: pdf, docx, html, md, txt; tables: csv, "
            "xlsx, json, jsonl; dumps: ROR, CORDIS, OpenAlex)",
            where=text,
        )
    return registry.get(name)(text)


PORTAL_SCORE = 3.0  # sources that recognise a portal's layout by content score this much


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class WatchSummary:
    polls: int = 0
    processed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    report: ImportReport = field(default_factory=ImportReport)


class Watcher:
    """Polls one folder; :meth:`poll_once` does one pass and can be called on its own (tests, cron)."""

    def __init__(
        self, store: Store, folder: str | Path, *, batch_size: int = 2000, settle_seconds: float = 0.0
    ) -> None:
        self.store = store
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.batch_size = batch_size
        self.settle_seconds = settle_seconds  # skip files modified this recently (still being copied)

    def _known(self, path: str) -> tuple[str, str] | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(t.ingested_files.c.sha256, t.ingested_files.c.status).where(
                    t.ingested_files.c.path == path
                )
            ).first()
        return (row.sha256, row.status) if row else None

    def _remember(self, path: str, sha: str, status: str, record_id: str | None, reason: str | None) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(delete(t.ingested_files).where(t.ingested_files.c.path == path))
            conn.execute(
                insert(t.ingested_files).values(
                    path=path,
                    sha256=sha,
                    status=status,
                    record_id=record_id,
                    reason=reason,
                    processed_at=utcnow(),
                )
            )

    def candidates(self) -> list[Path]:
        now = time.time()
        out = []
        for f in sorted(self.folder.rglob("*")):
            rel = f.relative_to(self.folder)
            if not f.is_file() or rel.parts[0] == FAILED or any(p.startswith(".") for p in rel.parts):
                continue
            if self.settle_seconds and now - f.stat().st_mtime < self.settle_seconds:
                continue
            out.append(f)
        return out

    def poll_once(self, summary: WatchSummary | None = None) -> WatchSummary:
        summary = summary or WatchSummary()
        summary.polls += 1
        for f in self.candidates():
            key = str(f.resolve())
            if len(key) > t.ingested_files.c.path.type.length:  # cannot be remembered: set aside, never retried
                self._fail(f, f"path longer than {t.ingested_files.c.path.type.length} characters")
                summary.failed.append(str(f))
                continue
            sha = file_sha256(f)
            known = self._known(key)
            if known is not None and known[0] == sha:
                continue
            report, problem = self._ingest(f)
            summary.report.merge(report)
            if problem is None:
                self._remember(key, sha, "done", None, None)
                summary.processed.append(str(f))
            else:
                self._fail(f, problem)
                self._remember(key, sha, "failed", None, problem)
                summary.failed.append(str(f))
        return summary

    def _ingest(self, f: Path) -> tuple[ImportReport, str | None]:
        try:
            source = open_source(f)
            report = Importer(
                self.store,
                batch_size=self.batch_size,
                changed_by=f"watch:{self.folder.name}",
                resolver=ExactIdResolver(),
            ).run(source)
        except CitybridgeError as exc:
            return ImportReport(sources=[f.name]), str(exc)
        except Exception as exc:  # a watch loop must survive anything one file does
            return ImportReport(sources=[f.name]), f"{type(exc).__name__}: {exc}"
        if report.rejected and not (report.created or report.updated or report.unchanged):
            return report, "; ".join(report.lines())[:2000] or "nothing could be read"
        return report, None

    def _fail(self, f: Path, reason: str) -> None:
        dest_dir = self.folder / FAILED
        dest_dir.mkdir(exist_ok=True)
        dest = dest_dir / f.name
        n = 1
        while dest.exists():
            dest = dest_dir / f"{f.stem}.{n}{f.suffix}"
            n += 1
        shutil.move(str(f), dest)
        dest.with_name(dest.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")


def watch(
    store: Store,
    folder: str | Path,
    *,
    interval: float = 5.0,
    max_polls: int | None = None,
    stop: threading.Event | None = None,
    on_poll: Callable[[WatchSummary], Any] | None = None,
    settle_seconds: float = 2.0,
) -> WatchSummary:
    """Poll ``folder`` every ``interval`` seconds until ``stop`` is set or ``max_polls`` passes are done."""
    watcher = Watcher(store, folder, settle_seconds=settle_seconds)
    summary = WatchSummary()
    while True:
        watcher.poll_once(summary)
        if on_poll is not None:
            on_poll(summary)
        if max_polls is not None and summary.polls >= max_polls:
            return summary
        if stop is not None:
            if stop.wait(interval):
                return summary
        else:
            time.sleep(interval)


__all__ = ["WatchSummary", "Watcher", "open_source", "watch"]
