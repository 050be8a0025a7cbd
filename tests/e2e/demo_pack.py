"""A reduced demo pack, cut from data/demo for tests of the whole main job: a few hundred records per file,
chosen so that relations, peer cities and partners still have something to work on."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"
_ID = re.compile(r'"id": "([^"]+)"')


def _lines(name: str) -> Iterator[str]:
    if not (DEMO / name).exists():  # a pack without people (open data names none) or without calls
        return
    with gzip.open(DEMO / name, "rt", encoding="utf-8") as fh:
        yield from fh


def _write(dest: Path, name: str, lines: list[str]) -> None:
    with gzip.open(dest / name, "wt", encoding="utf-8") as fh:
        fh.writelines(lines)


def build_reduced_pack(dest: Path, *, cities: int = 60, projects: int = 120, documents: int = 200,
                       opportunities: int = 80, partners_per_project: int = 4) -> dict[str, int]:
    """Write the reduced pack into ``dest``; returns the number of lines per file.

    Local governments of the first ``cities`` (by id) with their cities; the first ``projects`` projects with up
    to ``partners_per_project`` partners each; the first ``documents`` documents; every person; every country;
    and the relations whose two ends are kept.
    """
    dest.mkdir(parents=True, exist_ok=True)
    rels = [(line, json.loads(line)) for line in _lines("90-relations.jsonl.gz")]
    located = {r["source"]: r["target"] for _l, r in rels if r["type"] == "located_in"}
    orgs = {}
    governments = []
    for line in _lines("20-organizations.jsonl.gz"):
        oid = _ID.search(line).group(1)  # type: ignore[union-attr]
        orgs[oid] = line
        if '"org_type": "local_government"' in line and oid in located:
            governments.append(oid)
    keep_orgs = set(sorted(governments)[:cities])
    project_lines = [line for line in _lines("40-projects.jsonl.gz")][:projects]
    keep_projects = {_ID.search(line).group(1) for line in project_lines}  # type: ignore[union-attr]
    per_project: dict[str, int] = {}
    for _l, r in rels:
        if (r["type"] == "partner_in" and r["target"] in keep_projects and r["source"] in orgs
                and per_project.get(r["target"], 0) < partners_per_project):
            per_project[r["target"]] = per_project.get(r["target"], 0) + 1
            keep_orgs.add(r["source"])
    doc_lines = [line for line in _lines("50-documents.jsonl.gz")][:documents]
    opp_lines = [line for line in _lines("60-opportunities.jsonl.gz")][:opportunities]
    people = list(_lines("30-people.jsonl.gz"))
    keep_places = {located[o] for o in keep_orgs if o in located}
    place_lines = [line for line in _lines("10-places.jsonl.gz")
                   if '"place_type": "country"' in line or _ID.search(line).group(1) in keep_places]  # type: ignore[union-attr]
    kept = (keep_orgs | keep_projects
            | {_ID.search(x).group(1) for x in doc_lines + opp_lines + people + place_lines})  # type: ignore[union-attr]
    rel_lines = [line for line, r in rels if r["source"] in kept and r["target"] in kept]
    files = {"10-places.jsonl.gz": place_lines, "20-organizations.jsonl.gz": [orgs[o] for o in sorted(keep_orgs)],
             "30-people.jsonl.gz": people, "40-projects.jsonl.gz": project_lines,
             "50-documents.jsonl.gz": doc_lines, "60-opportunities.jsonl.gz": opp_lines,
             "90-relations.jsonl.gz": rel_lines}
    files = {name: lines for name, lines in files.items() if lines}
    for name, lines in files.items():
        _write(dest, name, lines)
    return {name: len(lines) for name, lines in files.items()}
