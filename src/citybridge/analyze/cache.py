"""Analytics results cached as versioned artifacts, refreshed when the store changes.

Each result is one JSON file under ``<data_dir>/analytics/``, named by a digest of what was asked (function,
parameters, what the caller may see) and holding ``{"format": "citybridge.analytics", "version": FORMAT,
"fingerprint": <store fingerprint>, "key": ..., "built_at": ..., "result": ...}``, written atomically
(temp file + fsync + rename). A file of another format version or store fingerprint is stale: the result is
computed again and the file replaced. The fingerprint digests the counts and last changes of records,
relations, annotations and history, so any import, edit, merge or enrichment run invalidates the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from citybridge.model.access import Caller
from citybridge.search.artifacts import atomic_write_bytes
from citybridge.store import tables as t
from citybridge.store.repository import Store

FORMAT = "citybridge.analytics"
#: bump when the shape or the method of any analytics result changes
VERSION = 3  # 3: excellence = decayed volume x centrality; rising = rate-ratio test (2 is analytics-web's)


def store_fingerprint(store: Store) -> str:
    """A digest of everything analytics derive from (records, relations, annotations, history)."""
    with store.engine.connect() as conn:
        parts = [
            conn.execute(select(func.count(), func.max(t.records.c.updated_at))).one(),
            conn.execute(select(func.count(), func.max(t.relations.c.updated_at))).one(),
            conn.execute(select(func.count(), func.max(t.annotations.c.seq))).one(),
            conn.execute(select(func.count(), func.max(t.history.c.seq))).one(),
        ]
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def caller_key(caller: Caller) -> str:
    """What decides visibility: curators see all; others by membership and principals."""
    if caller.curator:
        return "curator"
    return f"member={caller.member};" + ",".join(sorted(caller.principals))


class AnalyticsCache:
    """Result files in ``directory``; :meth:`get` returns a fresh cached result or computes and stores it."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)

    def path(self, key: dict[str, Any]) -> Path:
        digest = hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]
        return self.dir / f"{key.get('fn', 'result')}-{digest}.json"

    def load(self, key: dict[str, Any], fingerprint: str) -> dict[str, Any] | None:
        path = self.path(key)
        try:
            body = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return None
        if (body.get("format"), body.get("version"), body.get("fingerprint")) != (FORMAT, VERSION, fingerprint):
            return None
        return body.get("result")

    def save(self, key: dict[str, Any], fingerprint: str, result: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        body = {"format": FORMAT, "version": VERSION, "fingerprint": fingerprint, "key": key,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "result": result}
        atomic_write_bytes(self.path(key), json.dumps(body, default=str).encode())

    def get(self, key: dict[str, Any], fingerprint: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        cached = self.load(key, fingerprint)
        if cached is not None:
            return cached
        result = compute()
        with contextlib.suppress(OSError):  # a read-only data folder still answers, uncached
            self.save(key, fingerprint, result)
        return result


__all__ = ["AnalyticsCache", "FORMAT", "VERSION", "caller_key", "store_fingerprint"]
