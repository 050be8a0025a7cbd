"""Sections found through the search service (visibility enforced inside it): research, reports and news
(``evidence``), case studies, guidelines, manuals and policies, and the projects and news that describe
measures taken in a city (``practice``), ``projects`` and open ``opportunities``. Each hit is re-scored with
components and explained by its matching passage and by the themes it shares with the challenge, quoting the
passages of the record that carry them."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from citybridge.link import reads
from citybridge.link._derived import label_name, label_names
from citybridge.link.challenge import Challenge, city_index, profile_index
from citybridge.link.opportunities import budget_reason, closed_reason, deadline_reason, eligibility, programme_reason
from citybridge.link.passages import best_snippet, phrase_pairs_of, record_pairs
from citybridge.link.profile_index import is_theme, key_terms
from citybridge.model.access import Caller

SEARCH_SECTIONS: dict[str, dict[str, Any]] = {
    "evidence": {"kind": "document", "subtype": ["paper", "report", "dataset", "news"]},
    "practice": {"kind": ["document", "project"],
                 "subtype": ["case_study", "guideline", "manual", "policy", "news", "project"]},
    "projects": {"kind": "project"},
    "opportunities": {"kind": "opportunity"},
}
#: in ``practice``, projects and news count when they name a city (where the measures were taken)
PRACTICE_NEEDS_CITY = frozenset({"project", "news"})
#: weights of the components of a search-section item (each component in 0..1): ``title`` is the share of the
#: challenge's concept weight its title names (a record's title states its subject; its text may mention many),
#: ``concepts`` the share its title, description or best passage names. Chosen with benchmarks/cv_link.py (2-fold).
SEARCH_WEIGHTS = {"match": 0.25, "concepts": 0.2, "themes": 0.15, "phrase": 0.15, "title": 0.1, "place": 0.1,
                  "recency": 0.05}
#: a hit that has two of the challenge's key terms side by side ("urban heat") names its subject too
PHRASE_IS_KEY = True
#: the match component of a hit found by both queries: the better relative score ("best") or the full query's
MATCH_FROM = "best"
#: how a glossary concept of several terms is named by a record (see ``_names``)
GROUP_MATCH = "half"
#: the challenge's key concepts: those weighing (idf) at least this share of its heaviest concept (0: at least the
#: median concept weight); a hit must name one of them ("stormwater", "drainage"), not only the challenge's common
#: words ("urban", "management")
KEY_CONCEPT_SHARE = 0.0
#: text of a record read for the concepts it names: its title and description (not a long body)
CONCEPT_TEXT_CHARS = 3000


@dataclass
class LinkItem:
    """One suggestion in a section."""

    id: str
    kind: str
    subtype: str | None
    name: str
    score: float
    components: dict[str, float]
    explanation: str
    reasons: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "subtype": self.subtype, "name": self.name, "score": self.score,
                "components": self.components, "explanation": self.explanation, "reasons": self.reasons,
                "evidence": self.evidence}


def quote(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return f"“{text[:n].rstrip()}{'…' if len(text) > n else ''}”"


def shared_themes(challenge: Challenge, anns: list[dict[str, Any]], idf: Callable[[str], float] | None = None
                  ) -> tuple[float, list[tuple[str, float, str]]]:
    """(overlap in 0..1, [(label, score, a passage of the record carrying it)]) of a record's tags with the
    challenge's themes; overlap = idf-weighted sum of min scores over the challenge's idf-weighted total (a
    theme nearly everything has, like SDG 11 here, counts for little)."""
    w = idf or (lambda _lab: 1.0)
    total = sum(s * w(lab) for lab, s in challenge.labels.items())
    shared = []
    for a in anns:
        lab = a["label"]
        if a["step"] == "tags" and is_theme(lab) and lab in challenge.labels:
            passage = next((e.get("text", "") for e in a["evidence"] if e.get("text")), "")
            shared.append((lab, min(float(a["score"]), challenge.labels[lab]), passage))
    shared.sort(key=lambda x: -x[1] * w(x[0]))
    return (min(1.0, sum(s * w(lab) for lab, s, _p in shared) / total) if total else 0.0), shared


def term_coverage(hub: Any, challenge: Challenge, matched: set[str]) -> float:
    """Share of the challenge's key-term weight (idf in the search index) that a hit's passage matched."""
    weights: dict[str, float] | None = challenge.__dict__.get("_term_weights")
    if weights is None:
        lexical = hub.searcher.current().main.lexical
        n = max(lexical.n_docs, 1)
        weights = {}
        for term in challenge.terms:
            try:
                df = lexical.df(lexical.term_id(term))
            except (KeyError, ValueError):
                df = 0
            weights[term] = math.log(1.0 + n / (df + 1.0))
        challenge.__dict__["_term_weights"] = weights
    groups = challenge.groups
    if groups:  # a concept counts once, with the weight of its rarest term, when enough of its terms matched
        gw = [max(weights.get(t, 0.0) for t in g) for g in groups]
        total = sum(gw)
        return sum(w for g, w in zip(groups, gw, strict=True) if _names(g, matched)) / total if total else 0.0
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in matched) / total if total else 0.0


def _names(group: list[str], matched: set[str]) -> bool:
    """Whether matched terms name a concept: any of its terms (``GROUP_MATCH = "half"``), or half of them ("half":
    "heat" alone does not name "district heating heat network")."""
    n = len(set(group) & matched)
    return n >= (len(group) + 1) // 2 if GROUP_MATCH == "half" else n > 0


def concepts(hub: Any, challenge: Challenge) -> list[tuple[list[str], float]]:
    """The challenge's concepts (a glossary entry's terms, else each key term alone) with their weight: the idf
    of their rarest term in the search index."""
    term_coverage(hub, challenge, set())  # computes the weights once per challenge
    weights: dict[str, float] = challenge.__dict__["_term_weights"]
    groups = challenge.groups or [[t] for t in weights]
    return [(g, max(weights.get(t, 0.0) for t in g)) for g in groups if g]


def discriminative_terms(hub: Any, challenge: Challenge, share: float | None = None) -> set[str]:
    """The terms of the challenge's key concepts, those weighing at least ``share`` (default
    ``KEY_CONCEPT_SHARE``) of its heaviest one: a hit that names none of them shares only the challenge's common
    words ("urban", "management") and not its subject ("stormwater", "drainage"). With fewer than three
    concepts every one is key."""
    found = concepts(hub, challenge)
    if len(found) < 3:
        return {t for g, _w in found for t in g}
    share = KEY_CONCEPT_SHARE if share is None else share
    if share <= 0:  # the median concept weight
        import statistics

        cut = statistics.median(w for _g, w in found)
        return {t for g, w in found if w >= cut for t in g}
    top = max(w for _g, w in found)
    cut = share * top
    return {t for g, w in found if w >= cut for t in g}


def concept_query(challenge: Challenge, subject: set[str]) -> str | None:
    """The words of the challenge's text (or of its English reading) that carry its key concepts, as a second
    query: the full query ranks records by all its words, and a frequent one ("urban", "city") can fill the
    first places with records that never name the subject. None when that query would be the same."""
    lang = "en" if challenge.read_as else (challenge.language or "en")
    words = [w for w in challenge.query.replace("-", " ").split() if set(key_terms(w, [lang])) & subject]
    query = " ".join(dict.fromkeys(words))
    if not query or set(key_terms(query, [lang])) >= set(challenge.terms):
        return None
    return query


def phrase_share(challenge: Challenge, text: str, pairs: frozenset[tuple[str, str]] | None = None
                 ) -> tuple[float, list[str]]:
    """Share of the challenge's adjacent key-term pairs that a record's text also has side by side, and those
    pairs (as stems): "urban heat" in a record about urban heat, not "urban" here and "heat" there."""
    if not challenge.pairs or not text:
        return 0.0, []
    have = (pairs if pairs is not None else phrase_pairs_of(text)) & challenge.pairs
    return len(have) / len(challenge.pairs), sorted(f"{a} {b}" for a, b in have)


def themes_reason(shared: list[tuple[str, float, str]], names: dict[str, str]) -> str:
    parts = []
    for lab, _s, passage in shared[:3]:
        parts.append(label_name(lab, names) + (f" ({quote(passage, 60)})" if passage else ""))
    return "shares " + "; ".join(parts) + " with the challenge"


def search_section(hub: Any, section: str, challenge: Challenge, *, filters: dict[str, Any] | None, limit: int,
                   caller: Caller, today: date) -> list[LinkItem]:
    """One search-backed section, re-scored and explained; items without real evidence are left out."""
    wanted = {**(filters or {}), **SEARCH_SECTIONS[section]}
    if "subtype" in (filters or {}):  # the user's subtype filter narrows the section's own subtypes
        own = set(SEARCH_SECTIONS[section].get("subtype") or ())
        user = filters["subtype"] if isinstance(filters["subtype"], list) else [filters["subtype"]]  # type: ignore[index]
        wanted["subtype"] = [s for s in user if not own or s in own] or ["-none-"]
    per_page = min(100, max(limit * (12 if section == "practice" else 3), 12))
    subject = discriminative_terms(hub, challenge)
    hits = _candidates(hub, challenge, subject, wanted, per_page, caller)
    if not hits:
        return []
    ids = [h["id"] for h in hits]
    anns = reads.annotations(hub, ids, ("tags", "places", "language"))
    records = reads.records(hub, ids)
    cities = city_index(hub, caller) if section == "practice" else None
    names = label_names()
    idf = profile_index(hub).theme_idf_of
    focus = challenge.focus
    lang = challenge.language or "en"
    # who would apply: the focus city (its country, a local authority), else the organisation asked about
    entity = challenge.entity
    is_lg = getattr(getattr(entity, "org_type", None), "value", "") == "local_government"
    applicant = (focus.country, True) if focus is not None else (getattr(entity, "country", None), is_lg)
    items = []
    for h in hits:
        reasons: list[str] = []
        evidence: dict[str, Any] = {}
        rec = records.get(h["id"])
        if rec is not None and "generated_name" in rec.attributes:
            continue  # a project known by number only: no title or objective to match a challenge with
        if section == "opportunities":
            if rec is None or closed_reason(rec, today):
                continue
            deadline = getattr(rec, "deadline", None)
            evidence["deadline"] = deadline.isoformat() if deadline else None
            place_score, eligible, excluded = eligibility(rec, *applicant)
            if excluded:
                continue  # a programme for other countries
        where_city: list[str] = []
        if cities is not None and h.get("subtype") in PRACTICE_NEEDS_CITY:
            where_city = [cities.names[r] for a in anns.get(h["id"], []) if a["step"] == "places"
                          and (r := cities.position(a["target_id"])) is not None]
            if not where_city:
                continue  # a project or news item in practice must say where the measures were taken
        snip = best_snippet(hub, rec, h["_query"])
        hl_terms = {t for s, e in snip.get("highlights", []) for t in key_terms(snip["text"][s:e], [lang])}
        # the challenge's terms the record names: in its best passage, its title or its description
        named, in_title = _named_terms(challenge, rec)
        hl_terms |= named
        overlap, shared = shared_themes(challenge, anns.get(h["id"], []), idf)
        # a hit counts when it carries a third of the challenge's key-term weight, or a fifth of it and
        # a good part of its themes (matching only "urban" and sharing only SDG 11 is not a match)
        coverage = term_coverage(hub, challenge, hl_terms)
        across = h.get("crosslingual")
        if across is not None:
            # found by meaning only (the e5 channel): it counts where words cannot match, i.e. when the record is
            # in another language than the challenge
            rec_lang = _language(anns.get(h["id"], []))
            if rec_lang is None or rec_lang == lang:
                continue
        elif not (coverage >= 0.35 or (coverage >= 0.2 and overlap >= 0.5)):
            continue
        phrase, said = phrase_share(challenge, " ".join(rec.text_fields().values()) if rec is not None else "",
                                    record_pairs(rec) if rec is not None else None)
        if across is None and not (hl_terms & subject or (PHRASE_IS_KEY and said)):
            continue
        match = 0.5 * float(across) if across is not None else h["_match"]
        comps = {"match": round(match, 4), "concepts": round(coverage, 4), "themes": round(overlap, 4),
                 "phrase": round(phrase, 4),
                 "title": round(term_coverage(hub, challenge, in_title), 4), "place": 0.0, "recency": 0.0}
        if across is not None:
            reasons.append(f"close in meaning across languages ({rec_lang}; e5 cosine {across:.2f}): "
                           f"{quote(h['name'])}")
            evidence["crosslingual"] = {"cosine": across, "language": rec_lang}
        if hl_terms:
            where = " (title)" if in_title & subject else (
                "" if snip.get("field") in (None, "description", "body") else f" ({snip['field']})")
            n_terms = len(set(challenge.terms))
            reasons.append(f"matches {len(hl_terms & set(challenge.terms))} of {n_terms} key terms "
                           f"({', '.join(sorted(hl_terms))}){where}: {quote(snip['text'])}")
            evidence["passage"] = {"field": snip.get("field"), "start": snip.get("start"), "end": snip.get("end"),
                                   "terms": sorted(hl_terms), "coverage": round(coverage, 3)}
        if said:
            evidence["phrases"] = said
        if shared:
            reasons.append(themes_reason(shared, names))
            evidence["shared_themes"] = [lab for lab, _s, _p in shared]
        if where_city:
            reasons.append("measures in " + ", ".join(list(dict.fromkeys(where_city))[:3]))
        if section == "opportunities":
            comps["place"] = place_score
            reasons += [r for r in (programme_reason(rec), *eligible, budget_reason(rec)) if r]
        elif focus is not None:
            places = {a["target_id"] for a in anns.get(h["id"], []) if a["step"] == "places"}
            if focus.id in places:
                comps["place"] = 1.0
                reasons.append(f"about {focus.name}")
            elif focus.country and h.get("country") == focus.country:
                comps["place"] = 0.5
                reasons.append(f"from {focus.country}, the country of {focus.name}")
        year = h.get("year")
        if year:
            comps["recency"] = round(max(0.0, min(1.0, 1.0 - (today.year - 2 - int(year)) / 12.0)), 4)
        if section == "opportunities":
            reasons.append(deadline_reason(rec, today))
        score = sum(SEARCH_WEIGHTS[c] * v for c, v in comps.items())
        head = f"{h['subtype'] or h['kind']}{f', {year}' if year else ''}"
        items.append(LinkItem(id=h["id"], kind=h["kind"], subtype=h.get("subtype"), name=h["name"],
                              score=round(score, 4), components=comps,
                              explanation=f"{head}: " + "; ".join(reasons), reasons=reasons, evidence=evidence))
    items.sort(key=lambda x: (-x.score, x.id))
    return items[:limit]


def _candidates(hub: Any, challenge: Challenge, subject: set[str], wanted: dict[str, Any], per_page: int,
                caller: Caller) -> list[dict[str, Any]]:
    """Hits of the challenge's query and of its key-concept query (see :func:`concept_query`), merged; each
    with ``_match``, its score relative to the best hit of the query that found it (the better of the two)."""
    out: dict[str, dict[str, Any]] = {}
    queries = [challenge.query]
    second = concept_query(challenge, subject)
    if second is not None:
        queries.append(second)
    for n, query in enumerate(queries):
        # no snippets from the search: a hit's passage is cut only once it passed the cheap checks (see
        # best_snippet), most hits of practice and opportunities never get that far
        res = hub.searcher.search(query, filters=wanted, facets=(), per_page=per_page, caller=caller, fuzzy=False,
                                  snippets=False)
        hits = [h for h in res["results"] if h["id"] not in challenge.exclude]
        top = max((h["score"] for h in hits), default=0.0) or 1.0
        for h in hits:
            rel = min(1.0, h["score"] / top) * (0.5 if n and MATCH_FROM == "full" else 1.0)
            if h["id"] not in out:
                out[h["id"]] = {**h, "_match": rel, "_query": query}
            elif rel > out[h["id"]]["_match"]:
                out[h["id"]]["_match"] = rel
    return list(out.values())


def _named_terms(challenge: Challenge, rec: Any) -> tuple[set[str], set[str]]:
    """(the challenge's key terms a record names in its title or description, those it names in its title)."""
    if rec is None:
        return set(), set()
    fields = rec.text_fields()
    wanted = set(challenge.terms)
    langs = ["en"] if challenge.read_as else [challenge.language]
    title = set(key_terms(fields.get("name", ""), langs)) & wanted
    text = set(key_terms(fields.get("description", "")[:CONCEPT_TEXT_CHARS], langs)) & wanted
    return title | text, title


def _language(anns: list[dict[str, Any]]) -> str | None:
    best = max((a for a in anns if a["step"] == "language"), key=lambda a: a["score"], default=None)
    return best["label"].removeprefix("lang:") if best is not None else None


__all__ = ["LinkItem", "SEARCH_SECTIONS", "SEARCH_WEIGHTS", "quote", "search_section", "shared_themes",
           "themes_reason"]
