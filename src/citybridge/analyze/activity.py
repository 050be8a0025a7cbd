"""The table every analysis reads: who (agents) took part in what (activities), when, on which themes, where.

An *activity* is a project, a document, a call or a news item; an *agent* is an organisation, a person or a
city. Participations link the two (``partner_in``/``leads`` for projects, ``authored`` for documents). The
network metrics project this bipartite table onto agents; trends and gaps count activities per theme, year
and country. The same table is built from a store (what a caller may see, :func:`activities_from_store`) or
from the CORDIS H2020 files (:func:`activities_from_cordis`, for the evaluation and the benchmark), so every
figure is computed by one code path.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from citybridge.model.access import Caller
from citybridge.store import tables as t
from citybridge.store.repository import Store
from citybridge.store.visible import visible_clause

#: which side of supply and demand an activity stands on, by (kind, subtype); see :func:`side_of`
SUPPLY_KINDS = {"project": None, "document": {"paper", "report", "guideline", "manual", "case_study", "dataset"}}
DEMAND_KINDS = {"opportunity": {"funding_call", "funding_programme", "research_call"},
                "document": {"news", "policy"}}
#: graph levels: which agents make the nodes
LEVELS = ("organization", "person", "city")
PARTICIPATION = ("partner_in", "leads", "authored")


def side_of(kind: str, subtype: str | None) -> str | None:
    """``"supply"`` (research and projects), ``"demand"`` (calls, news, policies and plans, challenges) or None.

    Documents of an unknown subtype count as supply; a document with ``attributes.challenge`` (a member's
    stated challenge or a city plan) is demand whatever its subtype (see :func:`activities_from_store`).
    """
    if kind == "project":
        return "supply"
    if kind == "opportunity":
        return "demand"
    if kind == "document":
        return "demand" if subtype in DEMAND_KINDS["document"] else "supply"
    return None


@dataclass
class Activities:
    """Agents x activities, as parallel arrays (index = position)."""

    agent_ids: list[str] = field(default_factory=list)
    agent_names: list[str] = field(default_factory=list)
    agent_kind: list[str] = field(default_factory=list)  # organization | person | place
    agent_sector: list[str] = field(default_factory=list)  # university, research_institute, company, ...
    agent_country: list[str | None] = field(default_factory=list)
    act_ids: list[str] = field(default_factory=list)
    act_names: list[str] = field(default_factory=list)
    act_kind: list[str] = field(default_factory=list)
    act_side: list[str | None] = field(default_factory=list)
    act_year: list[int | None] = field(default_factory=list)
    act_themes: list[tuple[str, ...]] = field(default_factory=list)
    act_countries: list[tuple[str, ...]] = field(default_factory=list)  # where it is (own, places, partners)
    part_agent: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    part_act: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    part_lead: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @property
    def n_agents(self) -> int:
        return len(self.agent_ids)

    @property
    def n_acts(self) -> int:
        return len(self.act_ids)

    def years(self) -> np.ndarray:
        """Activity years as an int array (0 where unknown); computed once (the table is not changed after
        it is built)."""
        cached = self.__dict__.get("_years")
        if cached is None or len(cached) != len(self.act_year):
            cached = self.__dict__["_years"] = np.array([y or 0 for y in self.act_year], dtype=np.int32)
        return cached

    def theme_index(self) -> dict[str, np.ndarray]:
        """Theme -> the sorted indices of its activities."""
        acc: dict[str, list[int]] = {}
        for i, themes in enumerate(self.act_themes):
            for th in themes:
                acc.setdefault(th, []).append(i)
        return {k: np.array(v, dtype=np.int32) for k, v in acc.items()}


class _Builder:
    def __init__(self) -> None:
        self.data = Activities()
        self.agents: dict[str, int] = {}
        self.acts: dict[str, int] = {}
        self.parts: list[tuple[int, int, bool]] = []

    def agent(self, aid: str, name: str, kind: str, sector: str | None, country: str | None) -> int:
        i = self.agents.get(aid)
        if i is None:
            d = self.data
            i = self.agents[aid] = len(d.agent_ids)
            d.agent_ids.append(aid)
            d.agent_names.append(name)
            d.agent_kind.append(kind)
            d.agent_sector.append(sector or "other")
            d.agent_country.append(country)
        return i

    def act(self, aid: str, name: str, kind: str, side: str | None, year: int | None, themes: Iterable[str],
            countries: Iterable[str]) -> int:
        i = self.acts.get(aid)
        if i is None:
            d = self.data
            i = self.acts[aid] = len(d.act_ids)
            d.act_ids.append(aid)
            d.act_names.append(name)
            d.act_kind.append(kind)
            d.act_side.append(side)
            d.act_year.append(year)
            d.act_themes.append(tuple(sorted(set(themes))))
            d.act_countries.append(tuple(sorted({c for c in countries if c})))
        return i

    def done(self) -> Activities:
        d = self.data
        if self.parts:
            arr = np.array(self.parts, dtype=np.int64)
            # one participation per (agent, activity): a coordinator who is also listed as partner counts once
            order = np.lexsort((-arr[:, 2], arr[:, 1], arr[:, 0]))
            arr = arr[order]
            keep = np.ones(len(arr), dtype=bool)
            keep[1:] = (arr[1:, 0] != arr[:-1, 0]) | (arr[1:, 1] != arr[:-1, 1])
            arr = arr[keep]
            d.part_agent = arr[:, 0].astype(np.int32)
            d.part_act = arr[:, 1].astype(np.int32)
            d.part_lead = arr[:, 2].astype(bool)
        return d


def _theme_labels(label: str) -> str | None:
    """The theme an annotation label counts for: SDG targets roll up to their goal; keywords and pathways stay."""
    scheme, _, code = label.partition(":")
    if not code:
        return None
    if scheme == "sdg":
        return "sdg:" + code.split(".")[0]
    if scheme == "kw":
        return keyword_theme(code)
    if scheme == "pathway":
        return label
    return None


def keyword_theme(phrase: str) -> str:
    """The theme of a keyword: ``kw:`` + the phrase lower-cased with single spaces, so the keyword
    annotations ``Energy communities`` and ``energy  communities`` make one keyword cluster."""
    return "kw:" + " ".join(phrase.casefold().split())


def activities_from_store(store: Store, caller: Caller, *, level: str = "organization",
                          keywords: bool = True) -> Activities:
    """The participation table of what ``caller`` may see.

    Activities are projects, documents and opportunities with their year (a project's start, a document's
    year, a call's deadline), themes (SDG goals and pathways from the ``tags`` annotations, keywords from
    ``keywords``, ``programme:<code>`` from H2020 programme parts) and countries (their own, the places
    they are about, and for projects their partners'). Agents at ``level`` ``organization`` or ``person``
    are the records taking part; at ``city`` each organisation counts for the city it is located in.
    """
    if level not in LEVELS:
        from citybridge.errors import Invalid

        raise Invalid(f"unknown network level '{level}' (one of: {', '.join(LEVELS)})", field="level")
    r, rel, a = t.records.c, t.relations.c, t.annotations.c
    b = _Builder()
    act_rows: dict[str, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        q = (select(r.id, r.kind, r.subtype, r.name, r.country, r.year, r.data)
             .where(r.kind.in_(("project", "document", "opportunity"))).where(visible_clause(t.records, caller))
             .order_by(r.id))
        for row in conn.execute(q):
            act_rows[row.id] = {"kind": row.kind, "subtype": row.subtype, "name": row.name, "year": row.year,
                                "countries": {row.country} if row.country else set(), "themes": set(),
                                "data": row.data}
        q = select(a.record_id, a.label).where(a.label.like("sdg:%") | a.label.like("pathway:%")
                                               | (a.label.like("kw:%") if keywords else a.label.like("sdg:%")))
        for rid, label in conn.execute(q):
            row = act_rows.get(rid)
            th = _theme_labels(label)
            if row is not None and th:
                row["themes"].add(th)
        # places an activity is about, with their country
        plc = t.records.alias("plc")
        q = (select(a.record_id, plc.c.country).select_from(t.annotations.join(plc, plc.c.id == a.target_id))
             .where(a.label.like("place:%")))
        for rid, country in conn.execute(q):
            row = act_rows.get(rid)
            if row is not None and country:
                row["countries"].add(country)
        agent_kinds = ("person",) if level == "person" else ("organization",)
        types = ("authored",) if level == "person" else ("partner_in", "leads")
        src = t.records.alias("src")
        q = (select(rel.source_id, rel.target_id, rel.type, rel.role, src.c.name, src.c.subtype, src.c.country)
             .select_from(t.relations.join(src, src.c.id == rel.source_id))
             .where(rel.type.in_(types)).where(src.c.kind.in_(agent_kinds))
             .where(visible_clause(t.relations, caller)).where(visible_clause(src, caller))
             .order_by(rel.source_id, rel.target_id, rel.id))
        links = list(conn.execute(q))
        city_of: dict[str, tuple[str, str, str | None]] = {}
        if level == "city":
            plc = t.records.alias("plc")
            q = (select(rel.source_id, plc.c.id, plc.c.name, plc.c.country)
                 .select_from(t.relations.join(plc, plc.c.id == rel.target_id))
                 .where(rel.type == "located_in").where(plc.c.subtype == "city")
                 .where(visible_clause(t.relations, caller)).where(visible_clause(plc, caller)))
            for org, pid, pname, pcountry in conn.execute(q):
                city_of.setdefault(org, (pid, pname, pcountry))
    for row in links:
        act = act_rows.get(row.target_id)
        if act is not None and act["kind"] == "project" and row.country:
            act["countries"].add(row.country)
    for aid, row in act_rows.items():
        side = side_of(row["kind"], row["subtype"])
        data = row["data"] or ""
        if row["kind"] == "project" and '"programme_parts"' in data:
            for part in (json.loads(data).get("attributes") or {}).get("programme_parts") or []:
                if isinstance(part, dict) and part.get("code"):
                    row["themes"].add(f"programme:{part['code']}")
        elif row["kind"] == "opportunity" and '"countries"' in data:
            # eligible countries of a call or programme (Climate-ADAPT lists them)
            countries = (json.loads(data).get("attributes") or {}).get("countries") or []
            row["countries"].update(c for c in countries if isinstance(c, str) and len(c) == 2)
        elif row["kind"] == "document" and '"challenge"' in data:
            side = "demand" if (json.loads(data).get("attributes") or {}).get("challenge") else side
        b.act(aid, row["name"], row["kind"], side, row["year"], row["themes"], row["countries"])
    for row in links:
        ai = b.acts.get(row.target_id)
        if ai is None:
            continue
        if level == "city":
            city = city_of.get(row.source_id)
            if city is None:
                continue
            gi = b.agent(city[0], city[1], "place", "city", city[2])
        else:
            gi = b.agent(row.source_id, row.name, agent_kinds[0], row.subtype, row.country)
        b.parts.append((gi, ai, row.type == "leads" or row.role == "coordinator"))
    return b.done()


def _rows(path: Path) -> Iterable[dict[str, str]]:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return csv.DictReader(io.StringIO(raw.decode("utf-8")))


CORDIS_SECTORS = {"HES": "university", "REC": "research_institute", "PRC": "company", "PUB": "public_body",
                  "OTH": "other"}


def activities_from_cordis(folder: str | Path) -> Activities:
    """The CORDIS H2020 participation graph (``h2020.csv.gz`` + ``programme_parts.csv.gz`` in ``folder``):
    organisations (by PIC) x projects (by rcn, year = start year, theme ``programme:<part>``, countries of
    the partners). Used by ``benchmarks/eval_analytics.py`` and ``bench_analytics.py``."""
    folder = Path(folder)
    parts: dict[str, str] = {}
    for row in _rows(folder / "programme_parts.csv.gz"):
        parts[row["rcn"]] = row["programme_part"]
    b = _Builder()
    rows = list(_rows(folder / "h2020.csv.gz"))
    countries: dict[str, set[str]] = {}
    for row in rows:
        if row["country"]:
            countries.setdefault(row["rcn"], set()).add(row["country"])
    for row in rows:
        rcn = row["rcn"]
        part = parts.get(rcn)
        year = int(row["start_year"]) if (row.get("start_year") or "").isdigit() else None
        ai = b.act(f"cordis:{rcn}", f"H2020 project {rcn}", "project", "supply", year,
                   [f"programme:{part}"] if part else [], countries.get(rcn, ()))
        gi = b.agent(f"pic:{row['pic']}", f"Organisation PIC {row['pic']}", "organization",
                     CORDIS_SECTORS.get(row["type"], "other"), row["country"] or None)
        b.parts.append((gi, ai, row["role"] == "coordinator"))
    return b.done()


__all__ = ["Activities", "LEVELS", "activities_from_cordis", "activities_from_store", "keyword_theme", "side_of"]
