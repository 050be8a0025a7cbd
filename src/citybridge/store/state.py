"""A cheap token that changes whenever the store may have changed, so derived structures (search indexes,
linking caches) skip their full fingerprint query (a count over every table, ~130 ms on 250k records)
while nothing was written.

On a SQLite file the token is ``PRAGMA data_version`` read on one connection held for the purpose: SQLite
changes it whenever *another* connection (of this process or any other) commits. On other databases, and
in-memory SQLite, there is no such signal and the token is None: callers fall back to re-checking their
fingerprint after a short time.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from typing import Any

_LOCK = threading.Lock()
_HELD: weakref.WeakKeyDictionary[Any, sqlite3.Connection | None] = weakref.WeakKeyDictionary()


def _connection(store: Any) -> sqlite3.Connection | None:
    conn = _HELD.get(store, False)
    if conn is not False:
        return conn  # type: ignore[return-value]
    url = store.engine.url
    held: sqlite3.Connection | None = None
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        try:
            held = sqlite3.connect(url.database, check_same_thread=False)
        except sqlite3.Error:
            held = None
    _HELD[store] = held
    if held is not None:
        weakref.finalize(store, held.close)
    return held


def change_token(store: Any) -> tuple[int, int] | None:
    """``(writes through this Store object, SQLite data_version)``, or None when the database gives no
    cheap change signal (PostgreSQL, in-memory SQLite)."""
    with _LOCK:
        conn = _connection(store)
        if conn is None:
            return None
        try:
            version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return None
    return int(getattr(store, "generation", 0)), version


__all__ = ["change_token"]
