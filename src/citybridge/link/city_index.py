"""The arrays peer-city similarity runs on, built once from the store (and rebuilt when it changes).

Per city (a ``place`` record of type city): country, UN sub-region and macro region, latitude, population;
sparse rows of its SDG/pathway profile, of its partners - the organisations taking part in its projects
(projects ``about`` the city, and projects of its local government, i.e. ``local_government`` organisations
``located_in`` it; the local government itself is not counted) - and of the networks its local governments
are ``member_of``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select

from citybridge.link._derived import caller_key, visible
from citybridge.model.access import ANONYMOUS, Caller
from citybridge.store import tables as t
from citybridge.store.enrichment import EnrichmentStore
from citybridge.store.repository import Store

PROFILE_PREFIXES = ("sdg:", "pathway:")


def _normalise_rows(m: Any) -> Any:
    from scipy import sparse

    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    return (sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ m).tocsr().astype(np.float32)


def _binary(rows: list[int], cols: list[int], shape: tuple[int, int]) -> Any:
    from scipy import sparse

    m = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
    m.data[:] = 1.0  # duplicates summed by the constructor count once
    return m


@dataclass
class CityIndex:
    """Aligned arrays over cities, plus the sparse profile / partner / network matrices."""

    ids: list[str]
    names: list[str]
    country: np.ndarray  # int codes into ``countries``; -1 unknown
    region: np.ndarray  # UN sub-region codes into ``regions``; -1 unknown
    macro: np.ndarray  # UN macro region codes into ``regions``; -1 unknown
    lat: np.ndarray  # nan: unknown
    log_pop: np.ndarray  # log10 population; nan: unknown
    countries: list[str]
    regions: list[str]
    profile: Any  # cities x labels, rows L2-normalised (zero rows: no profile)
    profile_labels: list[str]
    partners: Any  # cities x organisations, 1 when the org takes part in one of the city's projects
    networks: Any  # cities x network organisations, 1 when a local government of the city is a member
    org_ids: list[str]
    org_names: list[str]
    city_orgs: dict[int, list[str]] = field(default_factory=dict)  # local governments located in the city
    org_city: dict[str, int] = field(default_factory=dict)  # organisation -> city it is located in
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def position(self, city_id: str) -> int | None:
        return self._index.get(city_id)

    def after_load(self) -> None:
        """Rebuild the lookups that are not stored (see :mod:`citybridge.link.artifacts`)."""
        self._index = {c: i for i, c in enumerate(self.ids)}

    def city_of_org(self, org_id: str) -> int | None:
        return self.org_city.get(org_id)

    @classmethod
    def from_store(cls, store: Store, caller: Caller = ANONYMOUS) -> CityIndex:
        """Every city, organisation and relation the caller may see; about half a second for 44k cities."""
        from scipy import sparse

        key = caller_key(caller)
        r = t.records.c
        ids, names, lat, pop = [], [], [], []
        country_raw, region_raw, macro_raw = [], [], []
        org_names: dict[str, str] = {}
        org_type: dict[str, str | None] = {}
        projects: set[str] = set()
        with store.engine.connect() as conn:
            q = select(r.id, r.name, r.country, r.visibility, r.owner, r.data).where(
                r.kind == "place", r.subtype == "city").order_by(r.id)
            for row in conn.execute(q):
                if not visible(row.visibility, row.owner, key):
                    continue
                body = json.loads(row.data)
                ids.append(row.id)
                names.append(row.name)
                country_raw.append(row.country)
                region_raw.append(body.get("un_region"))
                macro_raw.append((body.get("attributes") or {}).get("un_macro_region"))
                lat.append(body.get("lat", np.nan) if body.get("lat") is not None else np.nan)
                p = body.get("population")
                pop.append(np.log10(p) if p else np.nan)
            for row in conn.execute(select(r.id, r.name, r.subtype, r.kind, r.visibility, r.owner).where(
                    r.kind.in_(["organization", "project"]))):
                if not visible(row.visibility, row.owner, key):
                    continue
                if row.kind == "organization":
                    org_names[row.id] = row.name
                    org_type[row.id] = row.subtype
                else:
                    projects.add(row.id)
            c = t.relations.c
            rels = [row for row in conn.execute(select(c.type, c.source_id, c.target_id, c.visibility, c.owner).where(
                c.type.in_(["located_in", "about", "partner_in", "leads", "member_of"])))
                if visible(row.visibility, row.owner, key)]
        index = {cid: i for i, cid in enumerate(ids)}
        countries: dict[str, int] = {}
        regions: dict[str, int] = {}

        def codes(values: list[str | None], table: dict[str, int]) -> np.ndarray:
            return np.array([table.setdefault(v, len(table)) if v else -1 for v in values], np.int32)

        org_index = {o: k for k, o in enumerate(org_names)}
        city_projects: dict[int, set[str]] = defaultdict(set)
        located: dict[str, int] = {}
        members: dict[str, set[str]] = defaultdict(set)  # project -> orgs
        member_of: dict[str, set[str]] = defaultdict(set)  # org -> networks
        for rel in rels:
            if rel.type == "located_in" and rel.target_id in index and rel.source_id in org_index:
                located[rel.source_id] = index[rel.target_id]
            elif rel.type == "about" and rel.target_id in index and rel.source_id in projects:
                city_projects[index[rel.target_id]].add(rel.source_id)
            elif rel.type in ("partner_in", "leads") and rel.source_id in org_index and rel.target_id in projects:
                members[rel.target_id].add(rel.source_id)
            elif rel.type == "member_of" and rel.source_id in org_index and rel.target_id in org_index:
                member_of[rel.source_id].add(rel.target_id)
        city_orgs: dict[int, list[str]] = defaultdict(list)  # the city's own local governments
        nr, nc = [], []
        for o, ci in located.items():
            if org_type.get(o) == "local_government":
                city_orgs[ci].append(o)
                for net in member_of.get(o, ()):
                    nr.append(ci)
                    nc.append(org_index[net])
        # a city's projects: those about it and those its local government takes part in; its partners: the
        # other organisations in them (a university of the city is a partner, the city itself is not)
        for prj, orgs in members.items():
            for o in orgs:
                if o in located and org_type.get(o) == "local_government":
                    city_projects[located[o]].add(prj)
        pr, pc = [], []
        for ci, prjs in city_projects.items():
            own = set(city_orgs.get(ci, ()))
            for prj in prjs:
                for o in members.get(prj, ()):
                    if o not in own:
                        pr.append(ci)
                        pc.append(org_index[o])
        n = len(ids)
        # SDG/pathway profiles of the cities (built by the enrichment step from linked projects and documents)
        labels: dict[str, int] = {}
        lr, lc, lv = [], [], []
        for prof in EnrichmentStore(store).profiles(ids):
            i = index[prof["entity_id"]]
            for label, entry in (prof["data"].get("labels") or {}).items():
                if label.startswith(PROFILE_PREFIXES) and "." not in label and entry.get("sum", 0) > 0:
                    lr.append(i)
                    lc.append(labels.setdefault(label, len(labels)))
                    lv.append(float(entry["sum"]))
        profile = _normalise_rows(sparse.csr_matrix((np.asarray(lv, np.float32), (lr, lc)), shape=(n, len(labels))))
        out = cls(
            ids=ids, names=names, country=codes(country_raw, countries), region=codes(region_raw, regions),
            macro=codes(macro_raw, regions), lat=np.asarray(lat, np.float32), log_pop=np.asarray(pop, np.float32),
            countries=list(countries), regions=list(regions), profile=profile, profile_labels=list(labels),
            partners=_binary(pr, pc, (n, len(org_index))), networks=_binary(nr, nc, (n, len(org_index))),
            org_ids=list(org_names), org_names=list(org_names.values()), city_orgs=dict(city_orgs),
            org_city=located)
        out._index = index
        return out


__all__ = ["CityIndex"]
