"""What each subscription matches, computed once per distinct thing followed (a theme, a place, a saved
search, a record, a label of a profile, a city's peers), whatever the number of members following it.

A :class:`Found` holds record ids with a score in 0..1 and, for some, a detail for the reason (the partner
located in the followed city, the relation that made a record news) and a change time of its own (a new
relation). The builder turns them into pool rows (:class:`Matches`) once the pool is loaded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import or_, select

from citybridge.errors import CitybridgeError
from citybridge.model.access import ANONYMOUS, CURATOR
from citybridge.notify.pool import EXCLUDED_KINDS, Pool, json_text
from citybridge.store import tables as t
from citybridge.store.repository import _chunks

PARTNER_TYPES = ("partner_in", "leads", "authored", "funded_by")
PLACE_TYPES = ("located_in", "about", "serves_region")
PEERS_PER_CITY = 3


@dataclass
class Found:
    """Record id -> score (0..1), with optional reason details and change times from new relations."""

    scores: dict[str, float] = field(default_factory=dict)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, datetime] = field(default_factory=dict)


@dataclass
class Matches:
    """A :class:`Found` over the rows of a pool."""

    rows: np.ndarray  # pool rows (int64)
    scores: np.ndarray  # float32 in 0..1
    details: dict[int, dict[str, Any]] = field(default_factory=dict)  # pool row -> extra reason values

    @classmethod
    def of(cls, pool: Pool, found: Found) -> Matches:
        pos = pool.pos
        keep = [(pos[i], s) for i, s in found.scores.items() if i in pos]
        rows = np.fromiter((r for r, _s in keep), dtype=np.int64, count=len(keep))
        vals = np.fromiter((s for _r, s in keep), dtype=np.float32, count=len(keep))
        det = {pos[i]: d for i, d in found.details.items() if i in pos}
        return cls(rows, np.clip(vals, 0.0, 1.0), det)


class Matcher:
    """Computes and caches what things followed match, for one digest run."""

    def __init__(self, hub: Any, *, since: datetime | None) -> None:
        self.hub = hub
        self.store = hub.store
        self.since = since  # start of the widest window of the run (None: everything)
        self._cache: dict[Any, Any] = {}
        self.searches = 0  # distinct searches run (the benchmark reports it)

    def cached(self, key: Any, build: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def found(self) -> list[Found]:
        return [v for v in self._cache.values() if isinstance(v, Found)]

    # ------------------------------------------------------------------ by subscription type
    def label(self, label: str) -> Found:
        """Records tagged with a theme label (``sdg:7`` also takes its targets ``sdg:7.2``) or carrying a
        keyword annotation (``kw:energy community``)."""
        def build() -> Found:
            a = t.annotations.c
            cond = a.label == label if label.startswith("kw:") else or_(a.label == label,
                                                                          a.label.like(label + ".%"))
            scores: dict[str, float] = {}
            with self.store.engine.connect() as conn:
                for rid, score in conn.execute(select(a.record_id, a.score).where(cond)).all():
                    if score > scores.get(rid, -1.0):
                        scores[rid] = min(float(score), 1.0)
            return Found(scores)

        return self.cached(("label", label), build)  # type: ignore[no-any-return]

    def search(self, query: str, filters: dict[str, Any]) -> Found:
        """Records a saved search finds (lexical matches of the words, within the filters); visibility is
        applied per member afterwards, so one search serves everyone following it."""
        def build() -> Found:
            self.searches += 1
            found = self.hub.searcher.matching(query, filters=filters or None, caller=CURATOR)
            top = max(found.values(), default=0.0)
            return Found({i: (s / top if top > 0 else 0.5) for i, s in found.items()})

        return self.cached(("search", query, repr(sorted(filters.items()))), build)  # type: ignore[no-any-return]

    def place(self, place_id: str) -> Found:
        """Records located in or about a place (its cities, for a region; its records, for a country),
        mentioning it, and the projects, calls and documents of organisations located there."""
        return self.cached(("place", place_id), lambda: self._place(place_id))  # type: ignore[no-any-return]

    def _place(self, place_id: str) -> Found:
        r, rel, a = t.records.c, t.relations.c, t.annotations.c
        out = Found()
        scores, details = out.scores, out.details
        with self.store.engine.connect() as conn:
            row = conn.execute(select(r.subtype, r.country, r.name).where(r.id == place_id)).first()
            if row is None:
                return out
            places = [place_id]
            if row.subtype == "region":
                places += [x.id for x in conn.execute(select(r.id).where(
                    r.kind == "place", r.subtype == "city", r.country == row.country,
                    json_text(self.store, r.data, "admin1") == row.name))]
            local: dict[str, str] = {}  # organisation located there -> its name
            for chunk in _chunks(places):
                q = (select(rel.source_id, r.kind, r.name).join(t.records, r.id == rel.source_id)
                     .where(rel.target_id.in_(chunk), rel.type.in_(PLACE_TYPES)))
                for src, kind, name in conn.execute(q).all():
                    scores[src] = 1.0
                    if kind == "organization":
                        local[src] = name
                q = select(a.record_id, a.score).where(a.target_id.in_(chunk), a.step == "places")
                for rid, score in conn.execute(q).all():
                    scores[rid] = max(scores.get(rid, 0.0), 0.8 * min(float(score), 1.0))
            if row.subtype == "country" and row.country:
                q = select(r.id).where(r.country == row.country, r.kind.not_in(EXCLUDED_KINDS))
                if self.since is not None:
                    q = q.where(r.updated_at > self.since)
                for (rid,) in conn.execute(q).all():
                    scores[rid] = max(scores.get(rid, 0.0), 0.9)
            for chunk in _chunks(list(local)):
                q = select(rel.source_id, rel.target_id).where(rel.source_id.in_(chunk), rel.type.in_(PARTNER_TYPES))
                for src, dst in conn.execute(q).all():
                    if scores.get(dst, 0.0) < 0.6:
                        scores[dst] = 0.6
                        details[dst] = {"via": local[src]}
        return out

    def record(self, record_id: str) -> Found:
        """The followed record when it changed, and records newly linked to it (a new partner, a new report
        about it) with the relation as the reason and its time as their change time."""
        def build() -> Found:
            rel = t.relations.c
            out = Found({record_id: 1.0})
            q = (select(rel.source_id, rel.target_id, rel.type, rel.created_at)
                 .where(or_(rel.source_id == record_id, rel.target_id == record_id)))
            if self.since is not None:
                q = q.where(rel.created_at > self.since)
            with self.store.engine.connect() as conn:
                for src, dst, rtype, created in conn.execute(q.limit(5000)).all():
                    other = dst if src == record_id else src
                    out.scores[other] = 0.8
                    out.details[other] = {"relation": rtype}
                    out.events[other] = created
            return out

        return self.cached(("record", record_id), build)  # type: ignore[no-any-return]

    def peers(self, city_id: str) -> list[tuple[str, str]]:
        """(id, name) of the closest peer cities of a city (public view), [] when it has none."""
        def build() -> list[tuple[str, str]]:
            try:
                return [(p.id, p.name) for p in self.hub.peer_cities(city_id, limit=PEERS_PER_CITY,
                                                                     caller=ANONYMOUS)]
            except CitybridgeError:  # a city with too little data for peers simply has none
                return []

        return self.cached(("peers", city_id), build)  # type: ignore[no-any-return]
