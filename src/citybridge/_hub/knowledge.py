"""Hub methods that join knowledge sources into the graph: names for the CORDIS graph's PIC-only organisations
(from the names CORDIS exports list per project), and readable names for projects known by number only."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from citybridge.model.entities import Organization, Project, Provenance

if TYPE_CHECKING:
    from citybridge.settings import Settings
    from citybridge.store import Store

PLACEHOLDER_ORG = "Organisation PIC "
PLACEHOLDER_PROJECT = "H2020 project "
ORG_TYPES = {"university": "a university", "research_institute": "a research organisation",
             "company": "a company", "other": "an organisation"}


def _money(value: float | None) -> str | None:
    if not value:
        return None
    return f"€{value / 1e6:.1f}M" if value >= 1e6 else f"€{value / 1e3:.0f}k"


class KnowledgeMixin:
    """Joins across knowledge sources. Mixed into :class:`citybridge.hub.Hub`."""

    store: Store
    settings: Settings

    def _participations(self, project_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
        by_project: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rel in self.store.iter_relation_dicts("partner_in"):
            if rel["target"] in project_ids:
                by_project[rel["target"]].append(rel)
        return by_project

    def name_cordis_participants(self, *, apply: bool = True, progress: Callable[[str], None] | None = None
                                 ) -> dict[str, Any]:
        """Name the participation graph's organisations known by PIC only, from the coordinator and participant
        names CORDIS exports list per project (aligned within each project, voted across projects; see
        :mod:`citybridge.ingest.cordis_names`). Each named organisation keeps the evidence in
        ``attributes.cordis_name``; organisations named by another source are left as they are.
        Returns counts (and, with ``apply=False``, writes nothing). CLI: ``citybridge cordis-join``.
        """
        from citybridge.ingest.cordis_names import ListedProject, Member, name_organisations

        listed: dict[str, Project] = {}
        for rec in self.store.iter_records("project"):
            if isinstance(rec, Project) and (rec.attributes.get("coordinator") or rec.attributes.get("participants")):
                listed[rec.id] = rec
        if progress:
            progress(f"{len(listed):,} projects list participant names")
        rels = self._participations(set(listed))
        orgs = self.store.get_many({r["source"] for rs in rels.values() for r in rs})
        projects = []
        for pid, rec in listed.items():
            members = []
            for r in rels.get(pid, []):
                org = orgs.get(r["source"])
                attrs = r.get("attributes") or {}
                country = attrs.get("country") or getattr(org, "country", None)
                members.append(Member(r["source"], r.get("role") or "", country, int(attrs.get("order") or 0)))
            coord = rec.attributes.get("coordinator") or {}
            projects.append(ListedProject(
                pid, rec.external_ids.get("cordis") or rec.attributes.get("grant_id") or pid, coord.get("name"),
                coord.get("country"), list(rec.attributes.get("participants") or []),
                list(rec.attributes.get("participant_countries") or []), members))
        namings, stats = name_organisations(projects)
        updates = []
        for oid, naming in namings.items():
            org = orgs.get(oid)
            if not isinstance(org, Organization):
                continue
            if not (org.name.startswith(PLACEHOLDER_ORG) or "cordis_name" in org.attributes):
                stats["kept_other_name"] = stats.get("kept_other_name", 0) + 1
                continue
            evidence = naming.to_dict()
            if org.name == naming.name and org.attributes.get("cordis_name") == evidence:
                continue
            prov = Provenance(source="cordis:names", record_id=org.external_ids.get("pic") or oid, licence="CC-BY-4.0")
            updates.append(org.model_copy(update={
                "name": naming.name, "attributes": {**org.attributes, "cordis_name": evidence},
                "provenance": [*[p for p in org.provenance if p.source != "cordis:names"], prov]}))
        stats["organisations_updated"] = len(updates)
        if apply and updates:
            self.store.upsert_records(updates, changed_by="cordis:names")
        return stats

    def describe_id_only_projects(self, *, apply: bool = True) -> dict[str, int]:
        """Projects the participation graph knows by number only ("H2020 project 193399") get a readable name
        and a description from the graph: programme part, years, coordinator and partners (named when the
        naming step could), EU contribution. Projects with a title from a CORDIS export are left as they are;
        a later export with their title replaces the generated name. CLI: ``citybridge cordis-join``.
        """
        from citybridge.ingest.cordis import PROGRAMME_PARTS
        from citybridge.link.profile_sections import H2020_PARTS

        todo = {rec.id: rec for rec in self.store.iter_records("project")
                if isinstance(rec, Project) and (rec.name.startswith(PLACEHOLDER_PROJECT)
                                                 or rec.name == rec.attributes.get("generated_name"))}
        rels = self._participations(set(todo))
        orgs = self.store.get_many({r["source"] for rs in rels.values() for r in rs})
        updates = []
        for pid, rec in todo.items():
            members = sorted(rels.get(pid, []), key=lambda r: (r.get("role") != "coordinator",
                                                               (r.get("attributes") or {}).get("order") or 0))
            parts = [p["code"] for p in rec.attributes.get("programme_parts") or []]
            area = H2020_PARTS.get(parts[0], PROGRAMME_PARTS.get(parts[0], parts[0])) if parts else None

            def who(r: dict[str, Any]) -> str:
                org = orgs.get(r["source"])
                country = (r.get("attributes") or {}).get("country") or getattr(org, "country", None)
                if org is None or org.name.startswith(PLACEHOLDER_ORG):
                    kind = ORG_TYPES.get(getattr(getattr(org, "org_type", None), "value", "other"), "an organisation")
                    return f"{kind}{f' from {country}' if country else ''}"
                return f"{org.name}{f' ({country})' if country else ''}"

            lead = next((r for r in members if r.get("role") == "coordinator"), members[0] if members else None)
            years = "–".join(dict.fromkeys(str(d.year) for d in (rec.start_date, rec.end_date) if d))
            name = f"Horizon 2020 {area + ' ' if area else ''}project"
            if lead is not None:
                name += f" coordinated by {who(lead)}"
            name += f", {years}" if years else ""
            countries = Counter((r.get("attributes") or {}).get("country") for r in members)
            others = [who(r) for r in members if r is not lead]
            text = [f"Horizon 2020 project (CORDIS record {rec.external_ids.get('cordis', '?')})"
                    + (f" in {PROGRAMME_PARTS.get(parts[0], parts[0])} ({parts[0]})" if parts else "")
                    + (f", {rec.start_date} to {rec.end_date}" if rec.start_date and rec.end_date else "") + "."]
            money = [m for m in (_money(rec.funding), _money(rec.total_cost)) if m]
            if money:
                text.append(f"EU contribution {money[0]}" + (f" of {money[1]} total cost." if len(money) > 1 else "."))
            if lead is not None:
                text.append(f"Coordinator: {who(lead)}.")
            if others:
                shown = others[:12]
                text.append("Partners: " + "; ".join(shown) + (f" and {len(others) - len(shown)} more" if
                                                               len(others) > len(shown) else "") + ".")
            text.append(f"{len(members)} organisations from {len([c for c in countries if c])} countries; no title "
                        "or objective is published in this data set.")
            attrs = {**rec.attributes, "generated_name": name[:2000]}
            if name[:2000] != rec.name or " ".join(text) != rec.description:
                updates.append(rec.model_copy(update={"name": name[:2000], "description": " ".join(text),
                                                      "attributes": attrs}))
        if apply and updates:
            for i in range(0, len(updates), 2000):
                self.store.upsert_records(updates[i:i + 2000], changed_by="cordis:describe")
        return {"projects_by_number_only": len(todo), "projects_described": len(updates)}

    def join_cordis(self, *, apply: bool = True, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Name the graph's organisations, then describe the projects known by number only (in this order, so
        descriptions carry the new names). CLI: ``citybridge cordis-join [--dry-run] [--json]``."""
        naming = self.name_cordis_participants(apply=apply, progress=progress)
        return {"naming": naming, "projects": self.describe_id_only_projects(apply=apply)}
