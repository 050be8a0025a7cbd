"""The candidate pool of a digest run: every record changed in the widest window of the run, plus calls
whose deadline falls in the next weeks, as columns (numpy arrays) so members are assembled with vector
operations instead of per-record Python."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import JSON, String, cast, func, select

from citybridge.model.access import Caller
from citybridge.notify.model import SECTIONS
from citybridge.store import tables as t
from citybridge.store.repository import Store, _chunks

EXCLUDED_KINDS = ("place", "theme")  # the map and the taxonomy are not news
SECTION_CODE = {s: i for i, s in enumerate(SECTIONS)}
_VIS = {"public": 0, "network": 1, "private": 2}


def section_of(kind: str, subtype: str | None) -> str:
    if kind == "opportunity":
        return "calls"
    if kind == "project":
        return "projects"
    if kind == "document":
        return "news" if subtype == "news" else "research"
    return "organisations"


def json_text(store: Store, column: Any, key: str) -> Any:
    """A text field of a JSON text column, for SQLite and PostgreSQL alike."""
    if store.dialect == "postgresql":
        return cast(column, JSON)[key].as_string()
    return cast(func.json_extract(column, f"$.{key}"), String)


def epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


class Pool:
    """Records a digest run may choose from, one row each."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.pos: dict[str, int] = {}
        self._rows: list[tuple[Any, ...]] = []
        self._owner_codes: dict[str, int] = {"": 0}
        self._vis_cache: dict[Any, np.ndarray] = {}

    # ------------------------------------------------------------------ building
    @classmethod
    def load(cls, store: Store, *, since: datetime | None, now: datetime, today: date,
             deadline_days: int) -> Pool:
        """Records changed in ``(since, now]`` (all of them when ``since`` is None) and calls closing in
        ``[today, today + deadline_days]``."""
        pool = cls()
        r = t.records.c
        deadline = json_text(store, r.data, "deadline")
        cols = (r.id, r.kind, r.subtype, r.name, r.visibility, r.owner, r.version, r.created_at, r.updated_at,
                deadline.label("deadline"))
        base = select(*cols).where(r.kind.not_in(EXCLUDED_KINDS), r.updated_at <= now)
        changed = base if since is None else base.where(r.updated_at > since)
        closing = (select(*cols).where(r.kind == "opportunity", deadline >= today.isoformat(),
                                       deadline <= (today + timedelta(days=deadline_days)).isoformat()))
        with store.engine.connect() as conn:
            for q in (changed, closing):
                for row in conn.execute(q):
                    pool._add(row)
        pool._freeze()
        return pool

    def extend(self, store: Store, events: dict[str, datetime]) -> None:
        """Add records that are news through a new relation (a new partner of a followed project): their
        change time becomes the relation's, when later than their own."""
        r = t.records.c
        missing = [i for i in events if i not in self.pos]
        if missing:
            deadline = json_text(store, r.data, "deadline")
            q = select(r.id, r.kind, r.subtype, r.name, r.visibility, r.owner, r.version, r.created_at,
                       r.updated_at, deadline.label("deadline")).where(r.kind.not_in(EXCLUDED_KINDS))
            with store.engine.connect() as conn:
                for chunk in _chunks(missing):
                    for row in conn.execute(q.where(r.id.in_(chunk))):
                        self._add(row)
            self._freeze()
        for rid, when in events.items():
            i = self.pos.get(rid)
            if i is not None:
                self.changed[i] = max(self.changed[i], epoch(when))

    def _add(self, row: Any) -> None:
        if row.id in self.pos:
            return
        self.pos[row.id] = len(self.ids)
        self.ids.append(row.id)
        self._rows.append(tuple(row))

    def _freeze(self) -> None:
        rows = self._rows
        n = len(rows)
        self.kind = [x[1] for x in rows]
        self.subtype = [x[2] for x in rows]
        self.name = [x[3] for x in rows]
        self.version = np.fromiter((x[6] for x in rows), dtype=np.int64, count=n)
        self.created = np.fromiter((epoch(x[7]) for x in rows), dtype=np.float64, count=n)
        old = getattr(self, "changed", None)
        self.changed = np.fromiter((epoch(x[8]) for x in rows), dtype=np.float64, count=n)
        if old is not None:
            self.changed[: len(old)] = np.maximum(self.changed[: len(old)], old)
        self.deadline = [x[9] if isinstance(x[9], str) and len(x[9]) >= 10 else None for x in rows]
        self.section = np.fromiter((SECTION_CODE[section_of(x[1], x[2])] for x in rows), dtype=np.int8, count=n)
        self.vis = np.fromiter((_VIS.get(x[4], 2) for x in rows), dtype=np.int8, count=n)
        self.owner = np.fromiter((self._owner_codes.setdefault(x[5] or "", len(self._owner_codes)) for x in rows),
                                 dtype=np.int32, count=n)
        self._vis_cache.clear()

    def __len__(self) -> int:
        return len(self.ids)

    # ------------------------------------------------------------------ reading
    def closing(self, today: date, days: int) -> np.ndarray:
        """Mask of calls whose deadline falls in ``[today, today + days]``."""
        lo, hi = today.isoformat(), (today + timedelta(days=days)).isoformat()
        return np.fromiter((d is not None and lo <= d[:10] <= hi for d in self.deadline), dtype=bool,
                           count=len(self.ids))

    def visible(self, caller: Caller) -> np.ndarray:
        """Mask of the rows ``caller`` may see (the rule of :func:`citybridge.model.access.can_see`). The
        public and network masks are shared; a caller owning restricted rows gets its own copy."""
        if caller.curator:
            return self._shared("all", lambda: np.ones(len(self.ids), dtype=bool))
        mask = self._shared(("levels", caller.member),
                            lambda: (self.vis == 0) | ((self.vis == 1) & caller.member))
        owners = [self._owner_codes[p] for p in caller.principals if p in self._owner_codes]
        if owners:
            mask = mask | np.isin(self.owner, owners)
        return mask

    def _shared(self, key: Any, build: Any) -> np.ndarray:
        mask = self._vis_cache.get(key)
        if mask is None:
            mask = self._vis_cache[key] = build()
        return mask

    def rows_of(self, ids: Iterable[str]) -> np.ndarray:
        """Pool rows of the given record ids (those not in the pool are left out)."""
        pos = self.pos
        return np.fromiter((pos[i] for i in ids if i in pos), dtype=np.int64)
