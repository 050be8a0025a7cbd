"""CORDIS (EU research projects) -> projects, organisations and ``partner_in`` links.

Two layouts:

* the id-only Horizon 2020 participation graph (``h2020.csv.gz``: one row per participation with ``rcn``,
  ``role``, ``pic``, ``type``, ``contribution``, ``country``, dates and costs) plus an optional
  ``programme_parts.csv.gz`` (``rcn`` -> programme part such as ``SC5``). There are no names or titles, so
  projects are named "H2020 project <rcn>" and organisations "Organisation PIC <pic>".
* CORDIS project exports (``project.csv`` with ``organization.csv`` beside it, or the older H2020 projects
  export with coordinator and participant names inline): see :mod:`citybridge.ingest.cordis_export`.

Projects carry the external id ``cordis`` = CORDIS record number (rcn) in both layouts, organisations
``pic`` = the EU participant identification code, so the two layouts and repeated imports merge.
CORDIS data: (c) European Union, CC BY 4.0.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from citybridge.errors import Invalid, NotFound
from citybridge.ingest.base import Rejection, SourceItem, registry, rejected
from citybridge.ingest.jsonstream import open_binary
from citybridge.model.entities import Organization, OrganizationType, Project, Provenance
from citybridge.model.relations import Relation, RelationType

LICENCE = "CC-BY-4.0"
ACTIVITY_TYPES: dict[str, tuple[OrganizationType, str | None]] = {
    "HES": (OrganizationType.university, None),
    "REC": (OrganizationType.research_institute, None),
    "PRC": (OrganizationType.company, None),
    "PUB": (OrganizationType.other, "public body"),
    "OTH": (OrganizationType.other, None),
}
#: Horizon 2020 programme parts (pillars and societal challenges) by code
PROGRAMME_PARTS: dict[str, str] = {
    "ERC": "European Research Council", "FET": "Future and Emerging Technologies",
    "MSCA": "Marie Skłodowska-Curie Actions", "RI": "Research infrastructures",
    "LEIT": "Leadership in enabling and industrial technologies", "ARF": "Access to risk finance",
    "Innovation in SMEs": "Innovation in SMEs",
    "SC1": "Health, demographic change and wellbeing",
    "SC2": "Food security, sustainable agriculture and forestry, marine, maritime and inland water research, "
           "and the bioeconomy",
    "SC3": "Secure, clean and efficient energy", "SC4": "Smart, green and integrated transport",
    "SC5": "Climate action, environment, resource efficiency and raw materials",
    "SC6": "Europe in a changing world - inclusive, innovative and reflective societies",
    "SC7": "Secure societies - protecting freedom and security of Europe and its citizens",
    "SEWP": "Spreading excellence and widening participation", "SWAFS": "Science with and for society",
    "Euratom": "Euratom research and training programme",
}
_COUNTRY_FIX = {"UK": "GB", "EL": "GR"}  # EU protocol codes -> ISO 3166-1
_PLACEHOLDER = frozenset({"name"})  # "H2020 project <rcn>", "Organisation PIC <pic>"
_ROLES = {"coordinator": "coordinator", "participant": "participant", "partner": "partner",
          "thirdparty": "third_party", "associatedpartner": "associated", "associated": "associated"}


def country_code(value: str | None) -> str | None:
    """ISO 3166-1 alpha-2 from a CORDIS country code (``UK`` -> ``GB``, ``EL`` -> ``GR``), else None."""
    v = (value or "").strip().upper()
    v = _COUNTRY_FIX.get(v, v)
    return v if len(v) == 2 and v.isalpha() else None


def amount(value: str | None) -> float | None:
    """A money amount as CORDIS writes it: ``1234.5``, ``1234,5``, ``1 234 567,00``, or ``NA``/empty."""
    v = (value or "").strip().replace(" ", "").replace("\u00a0", "")
    if not v or v.upper() in ("NA", "N/A", "NULL"):
        return None
    if "," in v and "." in v:
        v = v.replace(",", "")
    elif "," in v:
        v = v.replace(",", ".")
    try:
        return float(v)
    except ValueError:
        return None


def _date(value: str | None) -> date | None:
    v = (value or "").strip()[:10]
    try:
        return date.fromisoformat(v) if v else None
    except ValueError:
        return None


def _csv_rows(path: Path, delimiter: str | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    raw = open_binary(path)
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
    try:
        head = text.readline()
        delim = delimiter or (";" if head.count(";") > head.count(",") else ",")
        header = next(csv.reader([head], delimiter=delim))
        reader = csv.DictReader(text, fieldnames=[h.strip() for h in header], delimiter=delim)
        for row in reader:
            yield reader.line_num + 1, row
    finally:
        text.close()


def _prov(kind: str, record_id: str, url: str | None = None) -> list[Provenance]:
    return [Provenance(source=f"cordis:{kind}", record_id=record_id, licence=LICENCE, url=url)]


def _present(values: dict[str, str | None]) -> dict[str, str]:
    return {k: v.strip() for k, v in values.items() if v and v.strip()}


def _org_type(activity: str | None) -> tuple[OrganizationType, list[str]]:
    code = (activity or "").strip().upper()
    org_type, tag = ACTIVITY_TYPES.get(code, (OrganizationType.other, None))
    return org_type, [tag] if tag else []


class H2020ParticipationSource:
    """The id-only H2020 participation graph (``h2020.csv[.gz]`` + optional ``programme_parts.csv[.gz]``)."""

    def __init__(self, path: str | Path, programme_parts: str | Path | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise NotFound("CORDIS file not found", where=str(self.path))
        self.name = self.path.name
        if programme_parts is None:
            guess = [p for p in self.path.parent.glob("programme_parts.csv*") if p.is_file()]
            programme_parts = guess[0] if guess else None
        self.parts: dict[str, list[str]] = {}
        if programme_parts is not None:
            for _line, row in _csv_rows(Path(programme_parts)):
                rcn, part = (row.get("rcn") or "").strip(), (row.get("programme_part") or "").strip()
                if rcn and part and part not in self.parts.setdefault(rcn, []):
                    self.parts[rcn].append(part)

    def items(self) -> Iterator[SourceItem]:
        listed: dict[str, int] = {}  # rcn -> participations read so far (their order is the project's listing)
        orgs: set[str] = set()
        for line, row in _csv_rows(self.path):
            where = f"{self.name}:{line}"
            rcn, pic = (row.get("rcn") or "").strip(), (row.get("pic") or "").strip()
            if not rcn or not pic:
                yield SourceItem(where, rejection=Rejection(where, "row without rcn or pic", "rcn" if not rcn
                                                            else "pic"))
                continue
            if rcn not in listed:
                listed[rcn] = 0
                yield self._project(where, rcn, row)
            listed[rcn] += 1
            if pic not in orgs:
                orgs.add(pic)
                yield self._org(where, pic, row)
            role = _ROLES.get((row.get("role") or "").strip().lower().replace("_", ""), "other")
            # the listing order aligns the participations with names listed elsewhere (CORDIS exports)
            attrs: dict[str, Any] = {"order": listed[rcn]}
            if (c := amount(row.get("contribution"))) is not None:
                attrs["contribution"] = c
            if (cc := country_code(row.get("country"))) is not None:
                attrs["country"] = cc
            try:
                rel = Relation(type=RelationType.partner_in, source=f"pic:{pic}", target=f"cordis:{rcn}",
                               role=role, start_date=_date(row.get("start_date")),
                               end_date=_date(row.get("end_date")),
                               attributes=attrs, provenance=_prov("h2020", f"{rcn}/{pic}"))
            except ValueError as exc:
                yield rejected(where, exc)
                continue
            yield SourceItem(where, relation=rel)

    def _project(self, where: str, rcn: str, row: dict[str, str]) -> SourceItem:
        parts = self.parts.get(rcn, [])
        attrs: dict[str, Any] = {"framework_programme": "H2020"}
        if parts:
            attrs["programme_parts"] = [{"code": p, "description": PROGRAMME_PARTS.get(p, p)} for p in parts]
            attrs["programme_description"] = PROGRAMME_PARTS.get(parts[0], parts[0])
        if (row.get("duration") or "").strip().isdigit():
            attrs["duration_months"] = int(row["duration"])
        try:
            prj = Project(
                name=f"H2020 project {rcn}", external_ids={"cordis": rcn},
                start_date=_date(row.get("start_date")), end_date=_date(row.get("end_date")),
                total_cost=amount(row.get("total_cost")), funding=amount(row.get("max_contribution")),
                currency="EUR", programme=f"H2020-{parts[0]}" if parts else "H2020", attributes=attrs,
                provenance=_prov("h2020", rcn, f"https://cordis.europa.eu/project/rcn/{rcn}"),
            )
        except ValueError as exc:
            return rejected(where, exc)
        # the placeholder name never replaces a real title; attributes add to those other sources gave
        return SourceItem(where, record=prj, keep=_PLACEHOLDER, merge_attributes=True)

    def _org(self, where: str, pic: str, row: dict[str, str]) -> SourceItem:
        org_type, tags = _org_type(row.get("type"))
        attrs: dict[str, Any] = {"activity_type": (row.get("type") or "").strip() or None}
        if row.get("group"):
            attrs["country_group"] = row["group"].strip()
        try:
            org = Organization(name=f"Organisation PIC {pic}", org_type=org_type, tags=tags,
                               country=country_code(row.get("country")), external_ids={"pic": pic},
                               attributes={k: v for k, v in attrs.items() if v},
                               provenance=_prov("h2020", pic))
        except ValueError as exc:
            return rejected(where, exc)
        return SourceItem(where, record=org, keep=_PLACEHOLDER, merge_attributes=True)


def open_cordis(path: str | Path) -> H2020ParticipationSource | CordisExportSource:
    """The right CORDIS source for a file, by its header (participation graph or project export)."""
    p = Path(path)
    if not p.is_file():
        raise NotFound("CORDIS file not found", where=str(p))
    with open_binary(p) as fh:
        head = fh.readline(64 * 1024).decode("utf-8-sig", errors="replace").lower()
    cols = {c.strip().strip('"') for c in head.replace(";", ",").split(",")}
    if {"rcn", "pic"} <= cols:
        return H2020ParticipationSource(p)
    if {"id", "title"} <= cols:
        return CordisExportSource(p)
    if {"projectid", "organisationid"} <= cols:
        raise Invalid("this is a CORDIS organization.csv: pass the project.csv beside it", where=str(p))
    raise Invalid("not a CORDIS file (expected h2020 participations with rcn/pic, or a project.csv export)",
                  where=str(p))


def _score(target: str) -> float:
    name = Path(target).name.lower()
    if name.startswith(("h2020", "cordis", "project.csv", "he-project", "h2020-project")):
        return 2.0 if ".csv" in name else 0.0
    if name.endswith((".csv", ".csv.gz")) and Path(target).is_file():
        try:  # a renamed CORDIS export: known by its header
            with open_binary(Path(target)) as fh:
                head = fh.readline(64 * 1024).decode("utf-8-sig", errors="replace").lower()
        except OSError:
            return 0.0
        cols = {c.strip().strip('"') for c in head.replace(";", ",").split(",")}
        if {"rcn", "pic", "role"} <= cols or ({"id", "title", "objective"} <= cols and
                                               cols & {"ecmaxcontribution", "rcn", "frameworkprogramme"}):
            return 2.0
    return 0.0


registry.register("cordis", open_cordis, _score)

from citybridge.ingest.cordis_export import CordisExportSource  # noqa: E402  (uses the helpers above)

__all__ = ["CordisExportSource", "H2020ParticipationSource", "PROGRAMME_PARTS", "amount", "country_code",
           "open_cordis"]
