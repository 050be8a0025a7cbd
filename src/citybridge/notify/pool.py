"""The candidate pool of a digest run: every record changed in the widest window of the run, plus calls
whose deadline falls in the next weeks, as columns (numpy arrays) so members are assembled with vector
operations instead of per-record Python."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import JSON, String, case, cast, func, select

from citybridge.model.access import Caller
from citybridge.notify.model import SECTIONS
from citybridge.store import tables as t
from citybridge.store.repository import Store, _chunks

EXCLUDED_KINDS = ("place", "theme")  # the map and the taxonomy are not news
SECTION_CODE = {s: i for i, s in enumerate(SECTIONS)}
_VIS = {"public": 0, "network": 1, "private": 2}
FULL_SCAN = 20_000  # more ids than this: one scan of the changed records beats chunked IN (...) queries


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


def _epochs(values: Iterable[datetime]) -> np.ndarray:
    """Seconds since 1970 (UTC) of many datetimes, converted by numpy (naive values are UTC)."""
    naive = [v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo else v for v in values]
    return np.asarray(naive, dtype="datetime64[us]").astype(np.int64).astype(np.float64) / 1e6


class Pool:
    """Records a digest run may choose from, one row each."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.pos: dict[str, int] = {}
        self._owner_codes: dict[str, int] = {"": 0}
        self._vis_cache: dict[Any, np.ndarray] = {}

    # ------------------------------------------------------------------ building
    @classmethod
    def load(cls, store: Store, *, since: datetime | None, now: datetime, today: date, deadline_days: int,
             ids: Iterable[str] | None = None) -> Pool:
        """Records changed in ``(since, now]`` (all of them when ``since`` is None; only ``ids`` when given)
        and calls closing in ``[today, today + deadline_days]``."""
        pool = cls()
        r = t.records.c
        cols = pool._columns(store)
        base = select(*cols).where(r.kind.not_in(EXCLUDED_KINDS), r.updated_at <= now)
        changed = base if since is None else base.where(r.updated_at > since)
        deadline = json_text(store, r.data, "deadline")
        closing = (select(*cols).where(r.kind == "opportunity", deadline >= today.isoformat(),
                                       deadline <= (today + timedelta(days=deadline_days)).isoformat()))
        wanted = None if ids is None else list(dict.fromkeys(ids))
        rows: list[Any] = []
        with store.engine.connect() as conn:
            if wanted is None or len(wanted) > FULL_SCAN:
                rows += conn.execute(changed).all()
            else:
                for chunk in _chunks(wanted):
                    rows += conn.execute(changed.where(r.id.in_(chunk))).all()
            rows += conn.execute(closing).all()
        if wanted is not None and len(wanted) > FULL_SCAN:
            keep = set(wanted)
            rows = [x for x in rows if x[0] in keep or x[1] == "opportunity"]
        pool._append(rows)
        return pool

    def add(self, store: Store, *, since: datetime | None, now: datetime, ids: list[str]) -> None:
        """Add the records ``ids`` changed in ``(since, now]`` (as :meth:`load` would have taken them)."""
        if not ids:
            return
        r = t.records.c
        q = select(*self._columns(store)).where(r.kind.not_in(EXCLUDED_KINDS), r.updated_at <= now)
        if since is not None:
            q = q.where(r.updated_at > since)
        rows: list[Any] = []
        with store.engine.connect() as conn:
            for chunk in _chunks(ids):
                rows += conn.execute(q.where(r.id.in_(chunk))).all()
        self._append(rows)

    @staticmethod
    def _columns(store: Store) -> tuple[Any, ...]:
        r = t.records.c
        deadline = json_text(store, r.data, "deadline")
        return (r.id, r.kind, r.subtype, r.name, r.visibility, r.owner, r.version, r.created_at, r.updated_at,
                case((r.kind == "opportunity", deadline), else_=None).label("deadline"))  # parse calls' JSON only

    def extend(self, store: Store, events: dict[str, datetime]) -> None:
        """Add records that are news through a new relation (a new partner of a followed project): their
        change time becomes the relation's, when later than their own."""
        r = t.records.c
        missing = [i for i in events if i not in self.pos]
        if missing:
            q = select(*self._columns(store)).where(r.kind.not_in(EXCLUDED_KINDS))
            rows: list[Any] = []
            with store.engine.connect() as conn:
                for chunk in _chunks(missing):
                    rows += conn.execute(q.where(r.id.in_(chunk))).all()
            self._append(rows)
        for rid, when in events.items():
            i = self.pos.get(rid)
            if i is not None:
                self.changed[i] = max(self.changed[i], epoch(when))

    def _append(self, rows: list[Any]) -> None:
        """Add rows (id, kind, subtype, name, visibility, owner, version, created_at, updated_at, deadline),
        column by column."""
        fresh = []
        for row in rows:
            if row[0] not in self.pos:
                self.pos[row[0]] = len(self.ids)
                self.ids.append(row[0])
                fresh.append(row)
        if not fresh and self.ids:
            return
        cols = list(zip(*fresh, strict=True)) if fresh else [()] * 10
        ids, kinds, subtypes, names, vis, owners, versions, created, updated, deadlines = cols
        sections = [SECTION_CODE[section_of(k, s)] for k, s in zip(kinds, subtypes, strict=True)]
        owner_codes = [self._owner_codes.setdefault(o or "", len(self._owner_codes)) for o in owners]
        add = {
            "kind": list(kinds), "subtype": list(subtypes), "name": list(names),
            "deadline": [d if isinstance(d, str) and len(d) >= 10 else None for d in deadlines],
        }
        arrays = {
            "version": np.asarray(versions, dtype=np.int64), "created": _epochs(created),
            "changed": _epochs(updated), "section": np.asarray(sections, dtype=np.int8),
            "vis": np.asarray([_VIS.get(v, 2) for v in vis], dtype=np.int8),
            "owner": np.asarray(owner_codes, dtype=np.int32),
        }
        for name, values in add.items():
            setattr(self, name, getattr(self, name, []) + values)
        for name, arr in arrays.items():
            old = getattr(self, name, None)
            setattr(self, name, arr if old is None else np.concatenate([old, arr]))
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

    def visibility_key(self, caller: Caller) -> Any:
        """A key naming the mask :meth:`visible` gives ``caller`` when it is one of the shared masks (the
        same for every caller with that key); None when the caller owns restricted rows of the pool."""
        if caller.curator:
            return "all"
        if any(p in self._owner_codes for p in caller.principals):
            return None
        return ("levels", caller.member)

    def _shared(self, key: Any, build: Any) -> np.ndarray:
        mask = self._vis_cache.get(key)
        if mask is None:
            mask = self._vis_cache[key] = build()
        return mask

    def rows_of(self, ids: Iterable[str]) -> np.ndarray:
        """Pool rows of the given record ids (those not in the pool are left out)."""
        pos = self.pos
        return np.fromiter((pos[i] for i in ids if i in pos), dtype=np.int64)
