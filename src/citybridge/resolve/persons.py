"""Person resolution: name variants ("J. P. Alperin" / "Juan Pablo Alperín") backed by shared affiliations,
co-authors and topics. Records that share an ORCID or OpenAlex id are already one record (the intake's
exact-id resolver); two different ORCIDs are never merged.

The score is a hand-set log-odds sum (no labelled person pairs ship with citybridge to fit it on):
names alone never reach the auto-merge threshold; a full-name match needs a shared affiliation or
co-author to merge on its own.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from citybridge.resolve.merge import conflicting_ids
from citybridge.resolve.normalize import raw_tokens
from citybridge.resolve.proposals import Proposal

#: log-odds of each piece of evidence (documented in README "Entity resolution")
WEIGHTS = {"full_name": 1.0, "initials": -1.0, "affiliation": 2.5, "coauthor": 2.0, "more_coauthors": 0.5,
           "topic": 0.5, "other_openalex": -1.0, "other_country": -2.0}
AUTO_MERGE = 0.95
REVIEW = 0.5


@dataclass(slots=True)
class PersonName:
    given: tuple[str, ...]
    family: str

    @property
    def block(self) -> tuple[str, str]:
        return self.family, self.given[0][0] if self.given else ""


def parse_name(name: str, given: str | None = None, family: str | None = None) -> PersonName:
    """Given-name tokens and the family name, folded: "Alperín, Juan Pablo" -> (juan, pablo) alperin."""
    if family:
        return PersonName(tuple(raw_tokens(given or "")), " ".join(raw_tokens(family)))
    if "," in name:
        fam, _, rest = name.partition(",")
        return PersonName(tuple(raw_tokens(rest)), " ".join(raw_tokens(fam)))
    toks = raw_tokens(name)
    if not toks:
        return PersonName((), "")
    return PersonName(tuple(toks[:-1]), toks[-1])


def compare_names(a: PersonName, b: PersonName) -> str | None:
    """``full`` (same given names), ``initials`` (compatible: "j p" / "juan pablo") or None (different)."""
    if not a.family or a.family != b.family:
        return None
    if not a.given or not b.given:
        return "initials"
    full = True
    for x, y in zip(a.given, b.given, strict=False):
        if len(x) == 1 or len(y) == 1:
            if x[0] != y[0]:
                return None
            full = full and x == y
        elif x != y:
            return None
    if len(a.given) != len(b.given):
        full = False
    return "full" if full else "initials"


def _context(store: Any, ids: Iterable[str]) -> dict[str, dict[str, set[str]]]:
    """Affiliations, co-author name keys and topics of each person."""
    ids = set(ids)
    out: dict[str, dict[str, set[str]]] = {i: {"affiliation": set(), "coauthor": set(), "topic": set(),
                                               "docs": set()} for i in ids}
    authors_of: dict[str, set[str]] = defaultdict(set)
    for rel in store.iter_relation_dicts():
        src, tgt, typ = rel["source"], rel["target"], rel["type"]
        if src in ids and typ in ("affiliated_with", "member_of"):
            out[src]["affiliation"].add(tgt)
        elif src in ids and typ == "expert_in":
            out[src]["topic"].add(tgt)
        if typ == "authored":
            authors_of[tgt].add(src)
            if src in ids:
                out[src]["docs"].add(tgt)
    names = {i: r.name for i, r in store.get_many({a for s in authors_of.values() for a in s}).items()}
    for pid, ctx in out.items():
        for doc in ctx["docs"]:
            for other in authors_of[doc] - {pid}:
                pn = parse_name(names.get(other, ""))
                ctx["coauthor"].add(f"{pn.family} {pn.given[0][0] if pn.given else ''}")
    return out


def score_pair(kind_of_name: str, shared: dict[str, int], other_openalex: bool, other_country: bool
               ) -> tuple[float, dict[str, float]]:
    parts = {"full_name" if kind_of_name == "full" else "initials": WEIGHTS[kind_of_name if kind_of_name != "full"
                                                                            else "full_name"]}
    if shared["affiliation"]:
        parts["affiliation"] = WEIGHTS["affiliation"]
    if shared["coauthor"]:
        parts["coauthor"] = WEIGHTS["coauthor"] + WEIGHTS["more_coauthors"] * min(3, shared["coauthor"] - 1)
    if shared["topic"]:
        parts["topic"] = WEIGHTS["topic"]
    if other_openalex:
        parts["other_openalex"] = WEIGHTS["other_openalex"]
    if other_country:
        parts["other_country"] = WEIGHTS["other_country"]
    z = sum(parts.values())
    return 1.0 / (1.0 + math.exp(-z)), parts


def propose_persons(store: Any) -> tuple[list[Proposal], dict[str, int]]:
    from citybridge.resolve.merge import survivor_first

    people = list(store.iter_records("person"))
    blocks: dict[tuple[str, str], list[Any]] = defaultdict(list)
    parsed = {}
    for p in people:
        pn = parse_name(p.name, p.given_name, p.family_name)
        parsed[p.id] = pn
        if pn.family:
            blocks[pn.block].append(p)
    pairs = [(a, b) for members in blocks.values() if len(members) > 1
             for i, a in enumerate(members) for b in members[i + 1:]]
    ctx = _context(store, {x.id for pair in pairs for x in pair}) if pairs else {}
    out: list[Proposal] = []
    counts = {"considered": len(people), "pairs": len(pairs), "different_ids": 0}
    for a, b in pairs:
        if conflicting_ids(a, b).keys() - {"openalex"}:
            counts["different_ids"] += 1
            continue
        how = compare_names(parsed[a.id], parsed[b.id])
        if how is None:
            continue
        shared = {k: len(ctx[a.id][k] & ctx[b.id][k]) for k in ("affiliation", "coauthor", "topic")}
        other_oa = "openalex" in conflicting_ids(a, b)
        other_country = bool(a.country and b.country and a.country != b.country)
        p, parts = score_pair(how, shared, other_oa, other_country)
        if p < REVIEW:
            continue
        s, m = survivor_first(a, b)
        out.append(Proposal("person", s.id, m.id, p, f"person:{how}-name",
                            {"names": [s.name, m.name], "evidence": parts, "shared": shared}))
    return out, counts


__all__ = ["AUTO_MERGE", "REVIEW", "WEIGHTS", "PersonName", "compare_names", "parse_name", "propose_persons"]
