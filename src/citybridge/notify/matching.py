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
        self.labels([label])
        return self._cache[("label", label)]  # type: ignore[no-any-return]

    def labels(self, labels: list[str]) -> None:
        """Compute :meth:`label` for many labels: keyword labels 900 to a query, theme labels one each."""
        todo = [lab for lab in dict.fromkeys(labels) if ("label", lab) not in self._cache]
        if not todo:
            return
        a = t.annotations.c
        out = {lab: Found() for lab in todo}
        exact = [lab for lab in todo if lab.startswith("kw:")]
        queries = [(select(a.label, a.record_id, a.score).where(a.label.in_(chunk)), None) for chunk in _chunks(exact)]
        queries += [(select(a.label, a.record_id, a.score).where(or_(a.label == lab, a.label.like(lab + ".%"))), lab)
                    for lab in todo if not lab.startswith("kw:")]
        with self.store.engine.connect() as conn:
            for q, theme in queries:
                for label, rid, score in conn.execute(q).all():
                    scores = out[theme or label].scores
                    if score > scores.get(rid, -1.0):
                        scores[rid] = min(float(score), 1.0)
        for lab, found in out.items():
            self._cache[("label", lab)] = found

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
        self.places([place_id])
        return self._cache[("place", place_id)]  # type: ignore[no-any-return]

    def places(self, place_ids: list[str]) -> None:
        """Compute :meth:`place` for many places at once (a few queries per 900 places, not per place)."""
        todo = [p for p in dict.fromkeys(place_ids) if ("place", p) not in self._cache]
        if not todo:
            return
        r, rel, a = t.records.c, t.relations.c, t.annotations.c
        members: dict[str, list[str]] = {p: [p] for p in todo}  # place -> itself and, for a region, its cities
        atoms: dict[str, Found] = {}
        local: dict[str, dict[str, str]] = {}  # atom -> organisations located there -> name
        with self.store.engine.connect() as conn:
            info = {}
            for chunk in _chunks(todo):
                info.update({x.id: x for x in conn.execute(select(r.id, r.subtype, r.country, r.name)
                                                           .where(r.id.in_(chunk))).all()})
            for pid, row in info.items():
                if row.subtype == "region":
                    members[pid] += [x.id for x in conn.execute(select(r.id).where(
                        r.kind == "place", r.subtype == "city", r.country == row.country,
                        json_text(self.store, r.data, "admin1") == row.name)).all()]
            every = list(dict.fromkeys(x for ms in members.values() for x in ms))
            for x in every:
                atoms[x], local[x] = Found(), {}
            for chunk in _chunks(every):
                q = (select(rel.target_id, rel.source_id, r.kind, r.name).join(t.records, r.id == rel.source_id)
                     .where(rel.target_id.in_(chunk), rel.type.in_(PLACE_TYPES)))
                for place, src, kind, name in conn.execute(q).all():
                    atoms[place].scores[src] = 1.0
                    if kind == "organization":
                        local[place][src] = name
                q = select(a.target_id, a.record_id, a.score).where(a.target_id.in_(chunk), a.step == "places")
                for place, rid, score in conn.execute(q).all():
                    found = atoms[place].scores
                    found[rid] = max(found.get(rid, 0.0), 0.8 * min(float(score), 1.0))
            where_org: dict[str, list[str]] = {}
            for place, orgs in local.items():
                for org in orgs:
                    where_org.setdefault(org, []).append(place)
            for chunk in _chunks(list(where_org)):
                q = select(rel.source_id, rel.target_id).where(rel.source_id.in_(chunk), rel.type.in_(PARTNER_TYPES))
                for src, dst in conn.execute(q).all():
                    for place in where_org[src]:
                        if atoms[place].scores.get(dst, 0.0) < 0.6:
                            atoms[place].scores[dst] = 0.6
                            atoms[place].details[dst] = {"via": local[place][src]}
            for pid in todo:
                out = Found()
                for x in members[pid]:
                    for rid, score in atoms[x].scores.items():
                        if score > out.scores.get(rid, -1.0):
                            out.scores[rid] = score
                            if rid in atoms[x].details:
                                out.details[rid] = atoms[x].details[rid]
                row = info.get(pid)
                if row is not None and row.subtype == "country" and row.country:
                    q = select(r.id).where(r.country == row.country, r.kind.not_in(EXCLUDED_KINDS))
                    if self.since is not None:
                        q = q.where(r.updated_at > self.since)
                    for (rid,) in conn.execute(q).all():
                        out.scores[rid] = max(out.scores.get(rid, 0.0), 0.9)
                self._cache[("place", pid)] = out

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
        self.peers_of([city_id])
        return self._cache[("peers", city_id)]  # type: ignore[no-any-return]

    def peers_of(self, city_ids: list[str]) -> None:
        """Compute :meth:`peers` for many cities at once (batched matrix operations over the city index)."""
        from citybridge.link.challenge import city_index
        from citybridge.link.peer_cities import top_peers

        todo = [c for c in dict.fromkeys(city_ids) if ("peers", c) not in self._cache]
        if not todo:
            return
        index = city_index(self.hub, ANONYMOUS)
        rows = {c: index.position(c) for c in todo}
        known = [c for c in todo if rows[c] is not None]
        tops = top_peers(index, np.array([rows[c] for c in known], dtype=np.int64), limit=PEERS_PER_CITY)
        for c in todo:
            self._cache[("peers", c)] = []
        for c, top in zip(known, tops, strict=True):
            self._cache[("peers", c)] = [(index.ids[j], index.names[j]) for j in top]
