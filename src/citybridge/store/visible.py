"""Reads filtered by what a caller may see, done in SQL so pages and counts never load hidden rows.

Every function takes a :class:`~citybridge.model.access.Caller`; the visibility rule itself lives in
:mod:`citybridge.model.access` (``visible_levels`` for SQL, ``can_see`` for single objects).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, ColumnElement, Table, cast, false, func, or_, select, true

from citybridge.errors import NotFound
from citybridge.model.access import Caller, visible_levels
from citybridge.model.entities import Record, record_from_dict
from citybridge.model.relations import Relation
from citybridge.store import tables as t
from citybridge.store.repository import Store


def visible_clause(table: Table, caller: Caller) -> ColumnElement[bool]:
    """SQL condition: rows of ``table`` (records or relations) the caller may see."""
    if caller.curator:
        return true()
    levels, owners = visible_levels(caller)
    cond: ColumnElement[bool] = table.c.visibility.in_(sorted(levels))
    if owners:
        cond = or_(cond, table.c.owner.in_(sorted(owners)))
    return cond


def json_number(store: Store, column: Any, key: str) -> ColumnElement[Any]:
    """A numeric field of a JSON text column, for SQLite and PostgreSQL alike."""
    if store.dialect == "postgresql":
        return cast(column, JSON)[key].as_float()
    return func.json_extract(column, f"$.{key}")


class VisibleReads:
    """Caller-filtered reads over a :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    def list_records(self, caller: Caller, kind: str | None = None, *, subtype: str | None = None,
                     country: str | None = None, after: str | None = None, limit: int = 50) -> list[Record]:
        """Visible records ordered by id; ``after`` is the last id of the previous page."""
        r = t.records.c
        q = select(r.data).where(visible_clause(t.records, caller)).order_by(r.id).limit(limit)
        if kind:
            q = q.where(r.kind == kind)
        if subtype:
            q = q.where(r.subtype == subtype)
        if country:
            q = q.where(r.country == country.upper())
        if after:
            q = q.where(r.id > after)
        with self.engine.connect() as conn:
            return [record_from_dict(json.loads(row.data)) for row in conn.execute(q)]

    def latest(self, caller: Caller, *, limit: int = 10, exclude_kinds: tuple[str, ...] = ("place", "theme")
               ) -> list[dict[str, Any]]:
        """The most recently created visible records (id, kind, subtype, name, created_at)."""
        r = t.records.c
        q = (select(r.id, r.kind, r.subtype, r.name, r.created_at).where(visible_clause(t.records, caller))
             .where(r.kind.not_in(exclude_kinds)).order_by(r.created_at.desc(), r.id).limit(limit))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(q)]

    def stats(self, caller: Caller) -> dict[str, Any]:
        """Like :meth:`Store.stats`, counting only what the caller may see."""
        r = t.records.c
        with self.engine.connect() as conn:
            kinds: dict[str, dict[str, int]] = {}
            q = (select(r.kind, r.subtype, func.count()).where(visible_clause(t.records, caller))
                 .group_by(r.kind, r.subtype))
            for kind, subtype, n in conn.execute(q):
                kinds.setdefault(kind, {})[subtype or "-"] = n
            rel = t.relations.c
            q = select(rel.type, func.count()).where(visible_clause(t.relations, caller)).group_by(rel.type)
            if not caller.curator:  # a relation counts only when both of its ends are visible too
                src, dst = t.records.alias("src"), t.records.alias("dst")
                q = (q.select_from(t.relations.join(src, src.c.id == rel.source_id)
                                   .join(dst, dst.c.id == rel.target_id))
                     .where(visible_clause(src, caller)).where(visible_clause(dst, caller)))
            rels = dict(conn.execute(q).all())
            countries = conn.execute(select(func.count(func.distinct(r.country)))
                                     .where(visible_clause(t.records, caller))).scalar_one()
        return {
            "records": sum(sum(v.values()) for v in kinds.values()),
            "by_kind": {k: sum(v.values()) for k, v in sorted(kinds.items())},
            "by_subtype": {k: dict(sorted(v.items())) for k, v in sorted(kinds.items())},
            "relations": sum(rels.values()),
            "by_relation": dict(sorted(rels.items())),
            "countries": countries,
        }

    def hidden_ids(self, caller: Caller) -> set[str]:
        """Ids of the records the caller may not see (small in practice: only restricted records)."""
        if caller.curator:
            return set()
        q = select(t.records.c.id).where(~visible_clause(t.records, caller))
        with self.engine.connect() as conn:
            return {row.id for row in conn.execute(q)}

    def get_relation(self, relation_id: str) -> Relation:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.relations.c.data).where(t.relations.c.id == relation_id)).first()
        if row is None:
            raise NotFound(f"no relation with id '{relation_id}'", field="relation_id")
        body = json.loads(row.data)
        body.pop("kind", None)
        return Relation.model_validate(body)

    # ------------------------------------------------------------------ aggregates for the home page
    def label_counts(self, caller: Caller, prefix: str) -> dict[str, int]:
        """Visible records per annotation label starting with ``prefix`` (e.g. ``sdg:``)."""
        a = t.annotations.c
        q = (select(a.label, func.count(func.distinct(a.record_id)))
             .select_from(t.annotations.join(t.records, t.records.c.id == a.record_id))
             .where(a.label.like(prefix + "%")).where(visible_clause(t.records, caller)).group_by(a.label))
        with self.engine.connect() as conn:
            return dict(conn.execute(q).all())

    def country_counts(self, caller: Caller, *, exclude_kinds: tuple[str, ...] = ("place", "theme")
                       ) -> dict[str, int]:
        """Visible records per country: their own country, else the countries of the places they mention."""
        r = t.records.c
        own = (select(r.country, func.count()).where(visible_clause(t.records, caller))
               .where(r.kind.not_in(exclude_kinds)).where(r.country.is_not(None)).group_by(r.country))
        rec = t.records.alias("rec")
        place = t.records.alias("place")
        a = t.annotations.c
        mentioned = (select(place.c.country, func.count(func.distinct(a.record_id)))
                     .select_from(t.annotations.join(rec, rec.c.id == a.record_id)
                                  .join(place, place.c.id == a.target_id))
                     .where(a.step == "places").where(rec.c.country.is_(None))
                     .where(rec.c.kind.not_in(exclude_kinds)).where(visible_clause(rec, caller))
                     .where(place.c.country.is_not(None)).group_by(place.c.country))
        out: dict[str, int] = {}
        with self.engine.connect() as conn:
            for query in (own, mentioned):
                for country, n in conn.execute(query):
                    out[country] = out.get(country, 0) + n
        return out

    # ------------------------------------------------------------------ map layers
    def located(self, caller: Caller, kind: str, *, subtype: str | None = None, ids: Any = None,
                limit: int = 5000) -> list[dict[str, Any]]:
        """Visible records of a kind that carry coordinates: id, name, subtype, country, lat, lon."""
        r = t.records.c
        lat, lon = json_number(self.store, r.data, "lat"), json_number(self.store, r.data, "lon")
        q = (select(r.id, r.name, r.subtype, r.country, lat.label("lat"), lon.label("lon"))
             .where(r.kind == kind).where(visible_clause(t.records, caller))
             .where(lat.is_not(None)).where(lon.is_not(None)).order_by(r.id).limit(limit))
        if subtype:
            q = q.where(r.subtype == subtype)
        if ids is not None:
            q = q.where(r.id.in_(ids))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(q)]

    def linked_places(self, caller: Caller, *, tagged: Any = None, limit: int = 5000) -> list[dict[str, Any]]:
        """Visible city records something visible is located in or about, with how many such records."""
        rel = t.relations.c
        src = t.records.alias("src")
        place = t.records.alias("place")
        lat, lon = json_number(self.store, place.c.data, "lat"), json_number(self.store, place.c.data, "lon")
        n = func.count(func.distinct(rel.source_id))
        q = (select(place.c.id, place.c.name, place.c.country, lat.label("lat"), lon.label("lon"), n.label("n"))
             .select_from(t.relations.join(place, place.c.id == rel.target_id)
                          .join(src, src.c.id == rel.source_id))
             .where(rel.type.in_(("located_in", "about", "serves_region")))
             .where(place.c.kind == "place").where(place.c.subtype == "city")
             .where(visible_clause(place, caller)).where(visible_clause(src, caller))
             .where(visible_clause(t.relations, caller))
             .where(lat.is_not(None)).where(lon.is_not(None))
             .group_by(place.c.id, place.c.name, place.c.country, lat, lon).order_by(n.desc()).limit(limit))
        if tagged is not None:
            q = q.where(rel.source_id.in_(tagged))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(q)]

    def project_partners(self, caller: Caller, *, tagged: Any = None, limit: int = 5000) -> list[dict[str, Any]]:
        """(project, partner organisation with coordinates, role) rows for visible projects and partners."""
        rel = t.relations.c
        prj = t.records.alias("prj")
        org = t.records.alias("org")
        lat, lon = json_number(self.store, org.c.data, "lat"), json_number(self.store, org.c.data, "lon")
        q = (select(prj.c.id.label("project_id"), prj.c.name.label("project_name"), org.c.id.label("org_id"),
                    org.c.country, rel.role, lat.label("lat"), lon.label("lon"))
             .select_from(t.relations.join(prj, prj.c.id == rel.target_id).join(org, org.c.id == rel.source_id))
             .where(rel.type.in_(("partner_in", "leads"))).where(prj.c.kind == "project")
             .where(org.c.kind == "organization")
             .where(visible_clause(prj, caller)).where(visible_clause(org, caller))
             .where(visible_clause(t.relations, caller))
             .where(lat.is_not(None)).where(lon.is_not(None)).order_by(prj.c.id).limit(limit))
        if tagged is not None:
            q = q.where(prj.c.id.in_(tagged))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(q)]

    @staticmethod
    def tagged_ids(labels: list[str]) -> Any:
        """A subquery of the record ids annotated with every one of ``labels`` (``sdg:11`` also matches its
        targets ``sdg:11.1`` ...)."""
        a = t.annotations.c
        queries = [select(a.record_id).where(or_(a.label == lab, a.label.like(lab + ".%"))) for lab in labels]
        if not queries:
            return select(a.record_id).where(false())
        if len(queries) == 1:
            return queries[0]
        # AND as chained IN conditions, not INTERSECT: SQLite refuses a compound select nested in a UNION
        q = select(t.records.c.id)
        for sub in queries:
            q = q.where(t.records.c.id.in_(sub))
        return q

    @staticmethod
    def partners_in(projects: Any) -> Any:
        """A subquery of the ids of agents that are partners in (or lead) the projects of a subquery."""
        rel = t.relations.c
        return (select(rel.source_id).where(rel.type.in_(("partner_in", "leads")))
                .where(rel.target_id.in_(projects)).distinct())

