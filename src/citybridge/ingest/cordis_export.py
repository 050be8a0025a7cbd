"""CORDIS project exports -> projects with titles and objectives (and, when given, their organisations).

Layouts read (by column name, comma or semicolon separated, any order; missing columns are simply absent):

* the current export, ``project.csv`` (``id``, ``acronym``, ``title``, ``objective``, ``startDate``, ``endDate``,
  ``totalCost``, ``ecMaxContribution``, ``legalBasis``, ``frameworkProgramme``, ``topics``, ``rcn`` ...) with
  ``organization.csv`` beside it (``projectID``, ``organisationID``, ``name``, ``country``, ``role`` ...);
* the older H2020 projects export with names inline (``rcn``, ``id``, ``programme`` = legal basis codes,
  ``call``, ``fundingScheme``, ``coordinator``, ``coordinatorCountry``, ``participants`` (``;``-separated),
  ``participantCountries``) - the names are kept on the project (``attributes.coordinator``,
  ``attributes.participants``) for the participant-naming step, which matches them to the organisations
  (known by PIC only) of the participation graph;
* selections of either with fewer columns (e.g. ``id, acronym, title, objective, dates, status, costs``).

A project is keyed by ``cordis`` = its record number (rcn) when the file has one and by ``eu_grant`` = its
grant agreement number always, so two files sharing grant ids merge into one record, and a project with an
rcn joins the participation graph's project of that rcn. Only the fields a row fills are written and its
attributes are merged into a stored record's, so a file with fewer columns never blanks what another gave.
CORDIS data: (c) European Union, CC BY 4.0.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from citybridge.errors import NotFound
from citybridge.ingest.base import Rejection, SourceItem, rejected
from citybridge.ingest.cordis import (
    _ROLES,
    PROGRAMME_PARTS,
    _csv_rows,
    _date,
    _org_type,
    _present,
    _prov,
    amount,
    country_code,
)
from citybridge.model.entities import Organization, Project
from citybridge.model.relations import Relation, RelationType

#: Horizon 2020 legal-basis codes (``H2020-EU.3.5.2.``) -> programme part codes of the participation graph
LEGAL_BASIS_PARTS: tuple[tuple[str, str], ...] = (
    ("H2020-EU.1.1", "ERC"), ("H2020-EU.1.2", "FET"), ("H2020-EU.1.3", "MSCA"), ("H2020-EU.1.4", "RI"),
    ("H2020-EU.2.1", "LEIT"), ("H2020-EU.2.2", "ARF"), ("H2020-EU.2.3", "Innovation in SMEs"),
    ("H2020-EU.3.1", "SC1"), ("H2020-EU.3.2", "SC2"), ("H2020-EU.3.3", "SC3"), ("H2020-EU.3.4", "SC4"),
    ("H2020-EU.3.5", "SC5"), ("H2020-EU.3.6", "SC6"), ("H2020-EU.3.7", "SC7"), ("H2020-EU.4", "SEWP"),
    ("H2020-EU.5", "SWAFS"), ("H2020-Euratom", "Euratom"),
)


def programme_parts(legal_basis: str) -> list[str]:
    """Programme part codes of ``;``-separated legal-basis codes, in order, without repeats."""
    parts = []
    for code in re.split(r"[;,|]", legal_basis or ""):
        code = code.strip().rstrip(".")
        part = next((p for prefix, p in LEGAL_BASIS_PARTS if code == prefix or code.startswith(prefix + ".")), None)
        if part is not None and part not in parts:
            parts.append(part)
    return parts


def _names(value: str | None) -> list[str]:
    return [" ".join(n.split()) for n in (value or "").split(";") if n.strip()]


def _cell(row: dict[str, str], *names: str) -> str:
    for n in names:
        v = (row.get(n) or "").strip()
        if v and v.upper() not in ("NA", "N/A", "NULL"):
            return v
    return ""


class CordisExportSource:
    """A CORDIS project export (``project.csv`` and, if present beside it, ``organization.csv``)."""

    def __init__(self, project_csv: str | Path, organization_csv: str | Path | None = None) -> None:
        self.path = Path(project_csv)
        if not self.path.is_file():
            raise NotFound("CORDIS project file not found", where=str(self.path))
        self.name = self.path.name
        if organization_csv is None:
            guess = [p for p in self.path.parent.glob("organization.csv*") if p.is_file()]
            organization_csv = guess[0] if guess else None
        self.org_path = Path(organization_csv) if organization_csv else None

    def items(self) -> Iterator[SourceItem]:
        key_of: dict[str, str] = {}  # project id (grant agreement) -> reference of its record
        for line, row in _csv_rows(self.path):
            where = f"{self.name}:{line}"
            pid, rcn = _cell(row, "id", "projectID"), _cell(row, "rcn")
            title = _cell(row, "title") or _cell(row, "acronym")
            if not (pid or rcn) or not title:
                yield SourceItem(where, rejection=Rejection(where, "project without id or title",
                                                            "id" if not (pid or rcn) else "title"))
                continue
            key_of[pid] = f"cordis:{rcn}" if rcn else f"eu_grant:{pid}"
            yield self._project(where, pid, rcn, title, row)
        if self.org_path is not None:
            yield from self._organisations(key_of)

    def _project(self, where: str, pid: str, rcn: str, title: str, row: dict[str, str]) -> SourceItem:
        fp = _cell(row, "frameworkProgramme")
        legal = _cell(row, "legalBasis", "programme")
        parts = programme_parts(legal)
        topics = [t.strip() for t in _cell(row, "topics").split(";") if t.strip()]
        attrs: dict[str, Any] = {k: v for k, v in {
            "grant_id": pid or None, "framework_programme": fp or None, "topics": topics or None,
            "legal_basis": legal or None, "call": _cell(row, "call", "masterCall") or None,
            "funding_scheme": _cell(row, "fundingScheme") or None, "grant_doi": _cell(row, "grantDoi") or None,
            "programme_parts": [{"code": p, "description": PROGRAMME_PARTS.get(p, p)} for p in parts] or None,
            "programme_description": PROGRAMME_PARTS.get(parts[0], parts[0]) if parts else None,
        }.items() if v}
        if (d := amount(_cell(row, "durationM", "duration"))) is not None:
            attrs["duration_months"] = int(d)
        coordinator = _cell(row, "coordinator")
        if coordinator:
            attrs["coordinator"] = {k: v for k, v in {
                "name": " ".join(coordinator.split()),
                "country": country_code(_cell(row, "coordinatorCountry"))}.items() if v}
        if participants := _names(row.get("participants")):
            attrs["participants"] = participants
            attrs["participant_countries"] = [c for c in (country_code(x) for x in
                                                          _cell(row, "participantCountries").split(";")) if c]
        ids = {"eu_grant": pid, "cordis": rcn, "doi": attrs.get("grant_doi")}
        fields: dict[str, Any] = {
            "name": title, "acronym": _cell(row, "acronym") or None, "description": _cell(row, "objective") or None,
            "external_ids": {k: v for k, v in ids.items() if v}, "start_date": _date(row.get("startDate")),
            "end_date": _date(row.get("endDate")), "total_cost": amount(row.get("totalCost")),
            "funding": amount(row.get("ecMaxContribution")),
            "programme": (f"{fp or 'H2020'}-{parts[0]}" if parts else fp) or None,
            "status": _cell(row, "status") or None, "url": _cell(row, "projectUrl") or None,
            "attributes": attrs, "tags": topics or None, "languages": ["en"] if _cell(row, "objective") else None,
            "provenance": _prov("project", pid or rcn, f"https://cordis.europa.eu/project/id/{pid}" if pid else None),
        }
        if fields["funding"] is not None or fields["total_cost"] is not None:
            fields["currency"] = "EUR"
        try:
            # only the fields this row fills are set, so they are all that is written over a stored record
            prj = Project(**{k: v for k, v in fields.items() if v is not None})
        except ValueError as exc:
            return rejected(where, exc)
        return SourceItem(where, record=prj, merge_attributes=True)

    def _organisations(self, key_of: dict[str, str]) -> Iterator[SourceItem]:
        assert self.org_path is not None
        seen: set[str] = set()
        listed: dict[str, int] = {}
        name = self.org_path.name
        for line, row in _csv_rows(self.org_path):
            where = f"{name}:{line}"
            pic, pid = (row.get("organisationID") or "").strip(), (row.get("projectID") or "").strip()
            if not pic or not pid:
                yield SourceItem(where, rejection=Rejection(where, "row without organisationID or projectID",
                                                            "organisationID" if not pic else "projectID"))
                continue
            if pic not in seen:
                seen.add(pic)
                yield self._organisation(where, pic, row)
            role = _ROLES.get((row.get("role") or "").strip().lower().replace("_", ""), "other")
            listed[pid] = listed.get(pid, 0) + 1
            attrs = {k: v for k, v in {"contribution": amount(row.get("ecContribution")),
                                       "net_contribution": amount(row.get("netEcContribution")),
                                       "total_cost": amount(row.get("totalCost")), "order": listed[pid],
                                       "country": country_code(row.get("country"))}.items() if v is not None}
            yield SourceItem(where, relation=Relation(
                type=RelationType.partner_in, source=f"pic:{pic}", target=key_of.get(pid, f"eu_grant:{pid}"),
                role=role, attributes=attrs, provenance=_prov("organization", f"{pid}/{pic}")))

    @staticmethod
    def _organisation(where: str, pic: str, row: dict[str, str]) -> SourceItem:
        org_type, tags = _org_type(row.get("activityType"))
        lat = lon = None
        geo = (row.get("geolocation") or "").strip()
        if geo.count(",") == 1:
            lat, lon = amount(geo.split(",")[0]), amount(geo.split(",")[1])
        try:
            org = Organization(
                name=(row.get("name") or "").strip() or f"Organisation PIC {pic}",
                acronym=(row.get("shortName") or "").strip() or None, org_type=org_type, tags=tags,
                city=(row.get("city") or "").strip() or None, country=country_code(row.get("country")),
                address=", ".join(x for x in ((row.get("street") or "").strip(),
                                              (row.get("postCode") or "").strip()) if x) or None,
                website=(row.get("organizationURL") or "").strip() or None, lat=lat, lon=lon,
                external_ids={"pic": pic}, provenance=_prov("organization", pic),
                attributes=_present({"activity_type": row.get("activityType"), "sme": row.get("SME"),
                                     "nuts": row.get("nutsCode")}),
            )
        except ValueError as exc:
            return rejected(where, exc)
        return SourceItem(where, record=org, merge_attributes=True)


__all__ = ["LEGAL_BASIS_PARTS", "CordisExportSource", "programme_parts"]
