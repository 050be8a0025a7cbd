"""Names for the organisations of the CORDIS participation graph, which knows them by PIC only.

CORDIS project exports list a project's coordinator (name, country) and its participants (names, in
listing order, and the distinct participant countries in order of first appearance); the participation
graph lists the same project's participations (PIC, role, country) in the same listing order. Naming
aligns the two within each project and votes across projects:

1. the coordinator's name goes to the graph's coordinator of that project when their countries agree;
2. participant names go to the graph's participants by listing order when the counts agree and the graph's
   participant countries, in order of first appearance, are the ones the export lists;
3. projects that failed 2 are tried again without the pairs known from other projects (a name whose
   organisation the votes already name): the rest is aligned by order when the counts agree and the
   country sequence of the whole alignment is the listed one;
4. where the graph lists more participants than the export names, the extra ones are skipped: every way to
   skip them that keeps the listed country sequence and the known pairs is tried, and a name is aligned
   where all those ways agree;
5. an organisation takes the name most of its votes give (at least 60% of them), with the evidence: the
   projects and the rule behind each vote, and the names that disagreed.

Pure: lists in, namings out (the Hub reads the store and writes the names).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

MIN_SHARE = 0.6
MAX_EVIDENCE = 12
MAX_GAP_TRIALS = 5000  # skip sets tried when the graph lists more participants than the export names
RULES = {"coordinator": "coordinator of the project, countries agree",
         "order": "participant in listing order, counts and country sequence agree",
         "order_after_known": "participant in listing order once pairs known from other projects are set aside",
         "order_with_gaps": "participant in listing order, the graph's extra participants skipped in the only way "
                            "that keeps the listed country sequence and the known pairs"}


@dataclass(frozen=True, slots=True)
class Member:
    """One participation of the graph: organisation, role, country and place in the project's listing."""

    org_id: str
    role: str
    country: str | None
    order: int


@dataclass(slots=True)
class ListedProject:
    """A project as an export lists it (names) together with its graph participations (members)."""

    project_id: str
    label: str  # e.g. the rcn, for evidence
    coordinator: str | None
    coordinator_country: str | None
    participants: list[str]
    participant_countries: list[str]
    members: list[Member]


@dataclass
class Naming:
    """The name given to one organisation, and why."""

    org_id: str
    name: str
    votes: int
    total: int
    evidence: list[dict[str, str]] = field(default_factory=list)
    disagreeing: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "votes": self.votes, "of": self.total,
                               "evidence": self.evidence[:MAX_EVIDENCE]}
        if self.disagreeing:
            out["disagreeing"] = self.disagreeing
        return out


def norm(name: str) -> str:
    """Comparison key of an organisation name: case and punctuation folded."""
    return " ".join(re.sub(r"[^\w]+", " ", name.casefold()).split())


def firsts(values: Iterable[str | None]) -> list[str]:
    out: list[str] = []
    for v in values:
        if v and v not in out:
            out.append(v)
    return out


class _Ballot:
    def __init__(self) -> None:
        self.votes: dict[str, Counter[str]] = defaultdict(Counter)
        self.spellings: dict[str, Counter[str]] = defaultdict(Counter)
        self.evidence: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.cast: set[tuple[str, str]] = set()  # (org, project) pairs already voted on

    def vote(self, org: str, name: str, project: ListedProject, rule: str) -> None:
        if (org, project.project_id) in self.cast:
            return
        self.cast.add((org, project.project_id))
        key = norm(name)
        self.votes[org][key] += 1
        self.spellings[key][name] += 1
        self.evidence[org].append({"project": project.project_id, "label": project.label, "name": name,
                                   "rule": rule})

    def winners(self) -> dict[str, Naming]:
        out = {}
        for org, counter in self.votes.items():
            (top, n), total = counter.most_common(1)[0], sum(counter.values())
            if n / total < MIN_SHARE:
                continue
            name = self.spellings[top].most_common(1)[0][0]
            out[org] = Naming(org, name, n, total, [e for e in self.evidence[org] if norm(e["name"]) == top],
                              {self.spellings[k].most_common(1)[0][0]: v for k, v in counter.items() if k != top})
        return out


def _participants(project: ListedProject) -> list[Member]:
    return sorted((m for m in project.members if m.role == "participant"), key=lambda m: m.order)


def _countries_agree(project: ListedProject, countries: Sequence[str | None]) -> bool:
    return not project.participant_countries or firsts(countries) == project.participant_countries


def name_organisations(projects: Sequence[ListedProject]) -> tuple[dict[str, Naming], dict[str, int]]:
    """Namings by organisation id, and counts: projects with names, coordinators named, projects aligned by
    order (first pass and after known pairs), projects left unaligned."""
    ballot = _Ballot()
    stats = Counter[str]()
    pending: list[ListedProject] = []
    for p in projects:
        if not (p.coordinator or p.participants):
            continue
        stats["projects_with_names"] += 1
        coords = [m for m in p.members if m.role == "coordinator"]
        if p.coordinator and len(coords) == 1 and (
                p.coordinator_country is None or coords[0].country in (None, p.coordinator_country)):
            ballot.vote(coords[0].org_id, p.coordinator, p, "coordinator")
            stats["coordinators"] += 1
        if not p.participants:
            continue
        parts = _participants(p)
        if len(parts) == len(p.participants) and _countries_agree(p, [m.country for m in parts]):
            for m, name in zip(parts, p.participants, strict=True):
                ballot.vote(m.org_id, name, p, "order")
            stats["aligned_by_order"] += 1
        else:
            pending.append(p)
    for _round in range(2):  # pairs found in a round can unlock others
        known = {org: norm(n.name) for org, n in ballot.winners().items()}
        still = []
        for p in pending:
            if _align_rest(p, known, ballot):
                stats["aligned_after_known"] += 1
            elif _align_with_gaps(p, known, ballot):
                stats["aligned_with_gaps"] += 1
            else:
                still.append(p)
        pending = still
    stats["unaligned"] = len(pending)
    namings = ballot.winners()
    stats["organisations_named"] = len(namings)
    # consistency: organisations with several votes, and how many of them all votes name alike
    stats["named_with_2_votes_or_more"] = sum(1 for n in namings.values() if n.total >= 2)
    stats["unanimous_of_those"] = sum(1 for n in namings.values() if n.total >= 2 and n.votes == n.total)
    stats["organisations_contested"] = sum(1 for org in ballot.votes if org not in namings)
    return namings, dict(stats)


def _align_rest(p: ListedProject, known: dict[str, str], ballot: _Ballot) -> bool:
    parts = _participants(p)
    keys = [norm(n) for n in p.participants]
    fixed: dict[int, Member] = {}  # name position -> its known member
    used: set[str] = set()
    for m in parts:
        k = known.get(m.org_id)
        if k is not None and k in keys:
            i = next((i for i, kk in enumerate(keys) if kk == k and i not in fixed), None)
            if i is not None:
                fixed[i] = m
                used.add(m.org_id)
    rest_names = [i for i in range(len(keys)) if i not in fixed]
    rest_members = [m for m in parts if m.org_id not in used]
    if not fixed or not rest_names or len(rest_names) != len(rest_members):
        return False
    assignment = dict(fixed) | dict(zip(rest_names, rest_members, strict=True))
    if not _countries_agree(p, [assignment[i].country for i in range(len(keys))]):
        return False
    for i, m in zip(rest_names, rest_members, strict=True):
        ballot.vote(m.org_id, p.participants[i], p, "order_after_known")
    return True


def _align_with_gaps(p: ListedProject, known: dict[str, str], ballot: _Ballot) -> bool:
    parts = _participants(p)
    keys = [norm(n) for n in p.participants]
    extra = len(parts) - len(keys)
    if extra <= 0 or not keys or not p.participant_countries:
        return False
    n_trials = 1
    for i in range(extra):  # C(len(parts), extra) without building it
        n_trials = n_trials * (len(parts) - i) // (i + 1)
    if n_trials > MAX_GAP_TRIALS:
        return False
    agreed: list[set[str]] = [set() for _ in keys]
    valid = 0
    for skip in combinations(range(len(parts)), extra):
        kept = [m for j, m in enumerate(parts) if j not in skip]
        if firsts(m.country for m in kept) != p.participant_countries:
            continue
        if any(known.get(m.org_id) not in (None, k) and known[m.org_id] in keys for m, k in zip(kept, keys,
                                                                                                 strict=True)):
            continue  # a member known under another listed name cannot sit here
        valid += 1
        for i, m in enumerate(kept):
            agreed[i].add(m.org_id)
    if not valid:
        return False
    sure = [(i, next(iter(a))) for i, a in enumerate(agreed) if len(a) == 1]
    by_id = {m.org_id: m for m in parts}
    for i, org in sure:
        ballot.vote(by_id[org].org_id, p.participants[i], p, "order_with_gaps")
    return bool(sure)


__all__ = ["ListedProject", "MIN_SHARE", "Member", "Naming", "RULES", "firsts", "name_organisations", "norm"]
