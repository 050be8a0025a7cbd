"""The organisation-project participation graph the consortium builder ranks over, as plain arrays.

A :class:`PartnerGraph` is built from participations (organisation, project, role) plus per-organisation
and per-project attributes. It holds no store handle: the evaluation builds one straight from the CORDIS
H2020 file (:func:`graph_from_h2020`) and the service builds one from the store
(``citybridge.link.partner_store``). Everything the ranking needs is precomputed here once:
the bipartite incidence matrix, project sizes, per-organisation counts and programme-part profiles.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Organisation types grouped into the sectors a consortium usually mixes; constraints accept either.
TYPE_GROUPS: dict[str, frozenset[str]] = {
    "city": frozenset({"local_government", "public_body", "network_office"}),
    "public": frozenset({"local_government", "public_body", "network_office", "funder"}),
    "research": frozenset({"university", "research_institute"}),
    "company": frozenset({"company"}),
    "ngo": frozenset({"ngo", "network"}),
}
#: CORDIS activity types -> citybridge organisation type names used in the graph
CORDIS_TYPES = {"HES": "university", "REC": "research_institute", "PRC": "company", "PUB": "public_body",
                "OTH": "other"}
TYPE_NOUNS = {"university": "a university", "research_institute": "a research institute", "company": "a company",
              "public_body": "a public body", "local_government": "a local government", "ngo": "an NGO",
              "network": "a network", "network_office": "a network office", "funder": "a funder",
              "other": "an organisation of another type"}


@dataclass(frozen=True, slots=True)
class Participation:
    """One organisation taking part in one project."""

    org: str
    project: str
    role: str | None = None  # "coordinator" counts as coordination experience


@dataclass
class PartnerGraph:
    """Organisations x projects with the attributes the ranking reads; build it with :meth:`build`.

    Attributes are aligned arrays: ``org_ids[i]`` has country ``countries[org_country[i]]`` (-1: unknown)
    and type ``types[org_type[i]]``; ``incidence`` is the (orgs x projects) CSR matrix of participations,
    ``coordinated`` the same for coordinator roles.
    """

    org_ids: list[str]
    org_names: list[str]
    org_country: np.ndarray
    org_type: np.ndarray
    countries: list[str]
    types: list[str]
    project_ids: list[str]
    project_names: list[str]
    project_year: np.ndarray  # -1: unknown
    project_parts: list[tuple[str, ...]]
    incidence: Any  # scipy.sparse.csr_matrix, orgs x projects, 1.0 per participation
    coordinated: Any  # scipy.sparse.csr_matrix, orgs x projects, 1.0 per coordination
    parts: list[str] = field(default_factory=list)
    part_matrix: Any = None  # orgs x parts: number of the org's projects in each programme part
    # optional expertise profiles (store adapter): orgs x labels (rows L2-normalised) and orgs x dim vectors
    label_names: list[str] = field(default_factory=list)
    label_matrix: Any = None
    vectors: np.ndarray | None = None
    vector_model: str | None = None
    _org_index: dict[str, int] = field(default_factory=dict, repr=False)
    _project_index: dict[str, int] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, participations: Iterable[Participation], *,
              orgs: dict[str, dict[str, Any]] | None = None,
              projects: dict[str, dict[str, Any]] | None = None) -> PartnerGraph:
        """A graph from participations and optional attributes.

        Args:
            participations: (org id, project id, role) triples; repeated pairs count once.
            orgs: org id -> ``{"name", "country", "type"}`` (any may be missing); orgs only named here
                (without participations) are candidates too.
            projects: project id -> ``{"name", "year", "parts"}``.

        >>> g = PartnerGraph.build([Participation("a", "p1", "coordinator"), Participation("b", "p1")])
        >>> g.n_projects_of(g.index_of("a")), g.n_coordinated_of(g.index_of("a"))
        (1, 1)
        """
        from scipy import sparse

        orgs = orgs or {}
        projects = projects or {}
        org_index: dict[str, int] = {o: i for i, o in enumerate(orgs)}
        project_index: dict[str, int] = {p: i for i, p in enumerate(projects)}
        pairs: dict[tuple[int, int], bool] = {}
        for part in participations:
            oi = org_index.setdefault(part.org, len(org_index))
            pi = project_index.setdefault(part.project, len(project_index))
            pairs[(oi, pi)] = pairs.get((oi, pi), False) or part.role == "coordinator"
        n_org, n_prj = len(org_index), len(project_index)
        org_ids = list(org_index)
        project_ids = list(project_index)
        rows = np.fromiter((k[0] for k in pairs), dtype=np.int32, count=len(pairs))
        cols = np.fromiter((k[1] for k in pairs), dtype=np.int32, count=len(pairs))
        coord = np.fromiter(pairs.values(), dtype=bool, count=len(pairs))
        inc = sparse.csr_matrix((np.ones(len(pairs), np.float32), (rows, cols)), shape=(n_org, n_prj))
        crd = sparse.csr_matrix((np.ones(int(coord.sum()), np.float32), (rows[coord], cols[coord])),
                                shape=(n_org, n_prj))
        countries: dict[str, int] = {}
        types: dict[str, int] = {}
        org_country = np.full(n_org, -1, np.int32)
        org_type = np.zeros(n_org, np.int32)
        types["other"] = 0
        names = []
        for i, oid in enumerate(org_ids):
            info = orgs.get(oid, {})
            if info.get("country"):
                org_country[i] = countries.setdefault(str(info["country"]), len(countries))
            org_type[i] = types.setdefault(str(info.get("type") or "other"), len(types))
            names.append(str(info.get("name") or oid))
        years = np.array([int(projects.get(p, {}).get("year") or -1) for p in project_ids], np.int32)
        pparts = [tuple(projects.get(p, {}).get("parts") or ()) for p in project_ids]
        part_index: dict[str, int] = {}
        pr, pc = [], []
        for pi, ps in enumerate(pparts):
            for code in ps:
                pr.append(pi)
                pc.append(part_index.setdefault(code, len(part_index)))
        proj_part = sparse.csr_matrix((np.ones(len(pr), np.float32), (pr, pc)), shape=(n_prj, len(part_index)))
        graph = cls(
            org_ids=org_ids, org_names=names, org_country=org_country, org_type=org_type,
            countries=list(countries), types=list(types), project_ids=project_ids,
            project_names=[str(projects.get(p, {}).get("name") or p) for p in project_ids],
            project_year=years, project_parts=pparts, incidence=inc, coordinated=crd,
            parts=list(part_index), part_matrix=(inc @ proj_part).tocsr(),
        )
        graph._org_index = {o: i for i, o in enumerate(org_ids)}
        graph._project_index = {p: i for i, p in enumerate(project_ids)}
        graph._derive()
        return graph

    def after_load(self) -> None:
        """Rebuild the lookups and derived arrays that are not stored (see :mod:`citybridge.link.artifacts`)."""
        self._org_index = {o: i for i, o in enumerate(self.org_ids)}
        self._project_index = {p: i for i, p in enumerate(self.project_ids)}
        self._derive()

    def _derive(self) -> None:
        inc = self.incidence
        self.org_degree = np.asarray(inc.sum(axis=1)).ravel().astype(np.float32)
        self.project_size = np.asarray(inc.sum(axis=0)).ravel().astype(np.float32)
        self.org_coordinated = np.asarray(self.coordinated.sum(axis=1)).ravel().astype(np.float32)
        self.incidence_t = inc.T.tocsr()
        known = self.project_year[self.project_year >= 0]
        self.last_year = int(known.max()) if known.size else -1
        first = np.full(inc.shape[0], -1, np.int32)
        last = np.full(inc.shape[0], -1, np.int32)
        indptr, indices = inc.indptr, inc.indices
        for i in range(inc.shape[0]):
            ys = self.project_year[indices[indptr[i]:indptr[i + 1]]]
            ys = ys[ys >= 0]
            if ys.size:
                first[i], last[i] = ys.min(), ys.max()
        self.org_first_year, self.org_last_year = first, last

    # ------------------------------------------------------------------ lookups
    @property
    def n_orgs(self) -> int:
        return len(self.org_ids)

    def index_of(self, org_id: str) -> int:
        """Row of an organisation; raises KeyError when it is not in the graph."""
        return self._org_index[org_id]

    def has_org(self, org_id: str) -> bool:
        return org_id in self._org_index

    def project_index(self, project_id: str) -> int | None:
        return self._project_index.get(project_id)

    def projects_of(self, i: int) -> np.ndarray:
        return self.incidence.indices[self.incidence.indptr[i]:self.incidence.indptr[i + 1]]

    def members_of(self, project: int) -> np.ndarray:
        t = self.incidence_t
        return t.indices[t.indptr[project]:t.indptr[project + 1]]

    def n_projects_of(self, i: int) -> int:
        return int(self.org_degree[i])

    def n_coordinated_of(self, i: int) -> int:
        return int(self.org_coordinated[i])

    def country_of(self, i: int) -> str | None:
        c = int(self.org_country[i])
        return self.countries[c] if c >= 0 else None

    def type_of(self, i: int) -> str:
        return self.types[int(self.org_type[i])]

    def type_mask(self, wanted: Iterable[str]) -> np.ndarray:
        """Organisations whose type is one of ``wanted`` (type names or :data:`TYPE_GROUPS` names)."""
        names: set[str] = set()
        for w in wanted:
            names |= TYPE_GROUPS.get(w, frozenset({w}))
        codes = [k for k, t in enumerate(self.types) if t in names]
        return np.isin(self.org_type, codes)

    def country_mask(self, countries: Iterable[str]) -> np.ndarray:
        codes = [k for k, c in enumerate(self.countries) if c in {x.upper() for x in countries}]
        return np.isin(self.org_country, codes)


def read_h2020(path: str | Path, parts_path: str | Path | None = None
               ) -> tuple[list[dict[str, str]], dict[str, list[str]]]:
    """Rows of the CORDIS H2020 participation file and rcn -> programme parts (from ``programme_parts.csv*``
    beside it unless ``parts_path`` is given)."""
    from citybridge.ingest.cordis import _csv_rows

    p = Path(path)
    rows = [row for _line, row in _csv_rows(p)]
    if parts_path is None:
        guess = sorted(q for q in p.parent.glob("programme_parts.csv*") if q.is_file())
        parts_path = guess[0] if guess else None
    parts: dict[str, list[str]] = {}
    if parts_path is not None:
        for _line, row in _csv_rows(Path(parts_path)):
            rcn, code = (row.get("rcn") or "").strip(), (row.get("programme_part") or "").strip()
            if rcn and code and code not in parts.setdefault(rcn, []):
                parts[rcn].append(code)
    return rows, parts


def graph_from_h2020(rows: Sequence[dict[str, str]], parts: dict[str, list[str]], *,
                     years: tuple[int, int] | None = None) -> PartnerGraph:
    """A :class:`PartnerGraph` from CORDIS H2020 rows (see :func:`read_h2020`), keeping only projects whose
    start year lies in ``years`` (inclusive), so features never see later projects.

    Organisations are named ``PIC <pic>`` and projects ``H2020 <rcn>`` (the file has ids only); their ids in
    the graph are the PIC and the rcn.
    """
    from citybridge.ingest.cordis import country_code

    orgs: dict[str, dict[str, Any]] = {}
    projects: dict[str, dict[str, Any]] = {}
    links: list[Participation] = []
    for row in rows:
        rcn, pic = row["rcn"].strip(), row["pic"].strip()
        year = int(row["start_year"]) if row.get("start_year", "").isdigit() else None
        if years is not None and (year is None or not years[0] <= year <= years[1]):
            continue
        if rcn not in projects:
            projects[rcn] = {"name": f"H2020 {rcn}", "year": year, "parts": parts.get(rcn, [])}
        if pic not in orgs:
            orgs[pic] = {"name": f"PIC {pic}", "country": country_code(row.get("country")),
                         "type": CORDIS_TYPES.get((row.get("type") or "").strip().upper(), "other")}
        links.append(Participation(pic, rcn, (row.get("role") or "").strip().lower()))
    return PartnerGraph.build(links, orgs=orgs, projects=projects)


__all__ = ["CORDIS_TYPES", "Participation", "PartnerGraph", "TYPE_GROUPS", "TYPE_NOUNS", "graph_from_h2020",
           "read_h2020"]
