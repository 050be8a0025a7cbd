"""Sections ranked over expertise profiles: ``experts`` (persons), ``organisations`` and ``peer_cities``.

Every candidate is scored on the profile components of :mod:`citybridge.link.profile_index` (themes,
semantic, keywords, recency, volume) plus, for organisations, where it is (``place``), whether it worked with
the focus city's local government (``network``, from the project graph) and whether its own record matches
the challenge in the search (``search``). Explanations name the records behind the profile.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import select

from citybridge.link import expertise, reads
from citybridge.link._derived import label_name, label_names
from citybridge.link.challenge import Challenge, city_index, profile_index
from citybridge.link.passages import best_snippet
from citybridge.link.profile_index import ProfileIndex, Scores, is_theme, key_terms, match
from citybridge.link.search_sections import LinkItem, quote, shared_themes, term_coverage, themes_reason
from citybridge.model.access import Caller, can_see
from citybridge.store import tables as t
from citybridge.store.enrichment import EnrichmentStore

#: weights of the components of a profile-section item (each component in 0..1)
PROFILE_WEIGHTS = {"themes": 0.35, "semantic": 0.3, "keywords": 0.25, "recency": 0.05, "volume": 0.05,
                   "place": 0.15, "network": 0.25, "search": 0.3, "peer": 0.5}
RELEVANT = ("themes", "semantic", "keywords")
#: experts: how many of the best profile matches the expertise model re-ranks
EXPERT_POOL = 100
#: how the organisations section searches the organisations' own records: "lexical" (its item must match the
#: challenge's words in its record's passage anyway; "hybrid" adds a scan of every organisation's vector, the
#: largest cost of the section, for an order among the lexical matches)
ORG_SEARCH_MODE = "lexical"
MIN_RELEVANCE = 0.08  # weighted themes + semantic + keywords below this is not a match
#: Horizon 2020 societal challenges, for explanations of project-graph paths
H2020_PARTS = {"SC1": "health", "SC2": "food and bioeconomy", "SC3": "energy", "SC4": "transport",
               "SC5": "climate and resources", "SC6": "inclusive societies", "SC7": "security"}
VERBS = {"authored": "authored", "leads": "led", "partner_in": "took part in", "funded_by": "funded",
         "about": "about it", "located_in": "based there"}


def _relevance(comps: dict[str, float]) -> float:
    return sum(PROFILE_WEIGHTS[c] * comps.get(c, 0.0) for c in RELEVANT)


def _score(comps: dict[str, float]) -> float:
    return round(sum(PROFILE_WEIGHTS.get(c, 0.0) * v for c, v in comps.items()), 4)


def _candidates(idx: ProfileIndex, kind: str, challenge: Challenge, caller: Caller, filters: dict[str, Any] | None,
                today: date) -> dict[str, dict[str, float]]:
    """Entity id -> profile components, for every visible profile of this kind that matches at all."""
    mask = idx.kind_mask(kind) & idx.allowed(caller)
    countries = (filters or {}).get("country")
    if countries:
        wanted = {countries} if isinstance(countries, str) else set(countries)
        mask &= np.array([c in wanted for c in idx.country], bool)
    rows = np.flatnonzero(mask)
    if challenge.scores is None:
        challenge.scores = Scores(idx, challenge.labels, challenge.terms, challenge.vector)
    m = match(idx, rows, labels=challenge.labels, terms=challenge.terms, vector=challenge.vector,
              ref_year=today.year, scores=challenge.scores)
    rel = PROFILE_WEIGHTS["themes"] * m.themes + PROFILE_WEIGHTS["semantic"] * m.semantic + \
        PROFILE_WEIGHTS["keywords"] * m.keywords
    keep = np.flatnonzero(rel > 0)
    keep = keep[np.argsort(-rel[keep], kind="stable")[:300]]
    out = {}
    for k in keep:
        i = int(rows[k])
        if idx.ids[i] in challenge.exclude:
            continue
        out[idx.ids[i]] = {"themes": round(float(m.themes[k]), 4), "semantic": round(float(m.semantic[k]), 4),
                           "keywords": round(float(m.keywords[k]), 4), "recency": round(float(m.recency[k]), 4),
                           "volume": round(float(m.volume[k]), 4), "_cos": float(m.cosine[k])}
    return out


def _verbs(hub: Any, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """How each (entity, record) pair is linked, e.g. ``authored``."""
    out: dict[tuple[str, str], str] = {}
    entities = {e for e, _r in pairs}
    wanted = set(pairs)
    c = t.relations.c
    with hub.store.engine.connect() as conn:
        for ent in entities:
            others = [r for e, r in pairs if e == ent]
            for q in (select(c.type, c.source_id, c.target_id).where(c.source_id == ent, c.target_id.in_(others)),
                      select(c.type, c.source_id, c.target_id).where(c.target_id == ent, c.source_id.in_(others))):
                for row in conn.execute(q):
                    other = row.target_id if row.source_id == ent else row.source_id
                    if (ent, other) in wanted:
                        out.setdefault((ent, other), row.type)
    return out


def explain_profiles(hub: Any, ids: list[str], challenge: Challenge, caller: Caller,
                     idx: ProfileIndex) -> dict[str, tuple[list[str], dict[str, Any]]]:
    """Reasons and evidence of profile matches: shared themes with the records behind them, keywords in
    common, the closest record, volume and years; only records the caller may see are named."""
    es = EnrichmentStore(hub.store)
    profiles = {p["entity_id"]: p for p in es.profiles(ids)}
    names = label_names()
    wanted_terms = set(challenge.terms)
    plan: dict[str, dict[str, Any]] = {}
    record_ids: set[str] = set()
    for eid in ids:
        prof = profiles.get(eid)
        if prof is None:
            continue
        labels = prof["data"].get("labels") or {}
        shared = sorted(((lab, e) for lab, e in labels.items() if is_theme(lab) and lab in challenge.labels),
                        key=lambda x: -x[1]["sum"] * challenge.labels[x[0]])[:2]
        kws = [lab[3:] for lab, e in sorted(labels.items(), key=lambda x: -x[1]["sum"])
               if lab.startswith("kw:") and wanted_terms & set(key_terms(lab[3:]))][:4]
        # the records that can be named: those behind the shared themes and keywords, then the strongest others
        named = [lab for lab, _e in shared] + [f"kw:{k}" for k in kws]
        recs = list(dict.fromkeys([r for lab in named for r in labels.get(lab, {}).get("records", [])[:4]]
                                  + [r for _lab, e in labels.items() for r in e.get("records", [])[:1]]))[:16]
        plan[eid] = {"shared": shared, "kws": kws, "recs": recs, "data": prof["data"]}
        record_ids.update(recs)
    records = {r.id: r for r in reads.records(hub, record_ids).values() if can_see(r.visibility, r.owner, caller)}
    closest: dict[str, tuple[float, str]] = {}
    if challenge.vector is not None and idx.vector_model:
        vecs = {rid: v for rid, *_r, v in es.vectors(idx.vector_model, list(records))}
        for eid, p in plan.items():
            sims = [(float(vecs[r] @ challenge.vector), r) for r in p["recs"] if r in vecs and r in records]
            if sims:
                closest[eid] = max(sims)
    verbs = _verbs(hub, [(eid, r) for eid, p in plan.items() for r in p["recs"] if r in records])
    out = {}
    for eid, p in plan.items():
        reasons: list[str] = []
        evidence: dict[str, Any] = {}

        def show(rid: str, eid: str = eid) -> str:
            rec = records[rid]
            verb = VERBS.get(verbs.get((eid, rid), ""), "")
            year = getattr(rec, "year", None) or (rec.start_date.year if getattr(rec, "start_date", None) else None)
            return f"{verb + ' ' if verb and not verb.endswith(('it', 'there')) else ''}“{rec.name[:80]}”" + \
                (f" ({year})" if year else "")

        for lab, entry in p["shared"]:
            recs = [r for r in entry.get("records", []) if r in records][:2]
            if recs:
                more = entry.get("n", len(recs)) - len(recs)
                reasons.append(f"{label_name(lab, names)} in {entry.get('n', len(recs))} of its records, e.g. "
                               + ", ".join(show(r) for r in recs) + (f" and {more} more" if more > 0 else ""))
                evidence.setdefault("shared_themes", {})[lab] = recs
        if p["kws"]:
            reasons.append("keywords in common: " + ", ".join(p["kws"]))
            evidence["keywords"] = p["kws"]
        if eid in closest and closest[eid][0] >= 0.5:
            sim, rid = closest[eid]
            reasons.append(f"closest record {show(rid)}, similarity {sim:.2f}")
            evidence["closest_record"] = {"id": rid, "similarity": round(sim, 3)}
        years = p["data"].get("years")
        n = p["data"].get("n_records", 0)
        if n:
            span = f", {years[0]}-{years[1]}" if years and years[0] != years[1] else (f", {years[0]}" if years else "")
            reasons.append(f"{n} linked record{'s' if n != 1 else ''}{span}")
        out[eid] = (reasons, evidence)
    return out


def _network(hub: Any, challenge: Challenge, caller: Caller) -> tuple[Any, dict[str, tuple[int, list[int]]]]:
    """Organisations that took part in projects with the focus city's local governments: id -> (count,
    shared project rows)."""
    focus = challenge.focus
    if focus is None or not focus.local_governments:
        return None, {}
    from citybridge.link.partner_store import partner_graph

    graph = partner_graph(hub, caller)
    lgs = [graph.index_of(o) for o in focus.local_governments if graph.has_org(o)]
    if not lgs:
        return graph, {}
    projects = sorted({int(p) for lg in lgs for p in graph.projects_of(lg)})
    out: dict[str, tuple[int, list[int]]] = {}
    for p in projects:
        for j in graph.members_of(p):
            if int(j) in lgs:
                continue
            oid = graph.org_ids[int(j)]
            n, prjs = out.get(oid, (0, []))
            out[oid] = (n + 1, [*prjs, p])
    return graph, out


def _network_reason(graph: Any, prjs: list[int], focus_name: str, lg_names: list[str]) -> str:
    parts = Counter(p for j in prjs for p in graph.project_parts[j] if p)
    what = ", ".join(f"{H2020_PARTS.get(p, p)} ({p}) ×{n}" if n > 1 else f"{H2020_PARTS.get(p, p)} ({p})"
                     for p, n in parts.most_common(3))
    who = lg_names[0] if len(lg_names) == 1 else f"the local government of {focus_name}"
    shown = ", ".join(f"“{graph.project_names[j][:60]}”" for j in prjs[:2])
    return (f"partnered with {who} in {len(prjs)} project{'s' if len(prjs) != 1 else ''}"
            + (f" ({what})" if what else "") + f": {shown}" + (" ..." if len(prjs) > 2 else ""))


def profile_section(hub: Any, section: str, challenge: Challenge, *, filters: dict[str, Any] | None, limit: int,
                    caller: Caller, today: date) -> list[LinkItem]:
    """``experts`` (persons) or ``organisations``, ranked and explained."""
    idx = profile_index(hub)
    kind = "person" if section == "experts" else "organization"
    cands = _candidates(idx, kind, challenge, caller, filters, today)
    graph, network = _network(hub, challenge, caller) if kind == "organization" else (None, {})
    focus = challenge.focus
    hits: dict[str, dict[str, Any]] = {}
    if kind == "organization":
        res = hub.searcher.search(challenge.query, filters={**(filters or {}), "kind": "organization"}, facets=(),
                                  per_page=30, caller=caller, fuzzy=False, snippets=False, mode=ORG_SEARCH_MODE)
        top = max((h["score"] for h in res["results"]), default=1.0) or 1.0
        org_records = reads.records(hub, [h["id"] for h in res["results"]])
        for h in res["results"]:
            snip = best_snippet(hub, org_records.get(h["id"]), challenge.query)
            terms = {w for s, e in snip.get("highlights", []) for w in key_terms(snip["text"][s:e],
                                                                                [challenge.language])}
            if term_coverage(hub, challenge, terms) >= 0.35 and h["id"] not in challenge.exclude:
                hits[h["id"]] = {"score": min(1.0, h["score"] / top), "snippet": snip, "terms": terms}
        for oid in list(network) + list(hits):
            cands.setdefault(oid, {c: 0.0 for c in ("themes", "semantic", "keywords", "recency", "volume")})
        cities = city_index(hub, caller) if focus is not None else None
        for oid, comps in cands.items():
            comps["search"] = round(hits[oid]["score"], 4) if oid in hits else 0.0
            comps["network"] = round(min(1.0, network[oid][0] / 3.0), 4) if oid in network else 0.0
            if cities is not None and focus is not None:
                row = cities.city_of_org(oid)
                comps["place"] = 1.0 if row == focus.row else 0.0
    kept = {e: c for e, c in cands.items()
            if _relevance(c) >= MIN_RELEVANCE or c.get("search", 0) > 0 or c.get("network", 0) > 0}
    scores: dict[str, float] = {}
    if kind == "person":
        # the profile finds the candidates; the expertise model of Hub.fit ranks them (the same components,
        # weights and score as ``fit``, see citybridge.link.expertise)
        pool = sorted(kept, key=lambda e: (-_relevance(kept[e]), e))[:EXPERT_POOL]
        kept = expertise.components(hub, pool, challenge, idx, today)
        scores = {e: expertise.score(c) for e, c in kept.items()}
        ranked = sorted(kept, key=lambda e: (-scores[e], e))[:limit]
    else:
        ranked = sorted(kept, key=lambda e: (-_score({k: v for k, v in kept[e].items() if k != "_cos"}), e))[:limit]
    if not ranked:
        return []
    explained = explain_profiles(hub, ranked, challenge, caller, idx)
    records = reads.records(hub, ranked)
    lg_names = [r.name for r in reads.records(hub, focus.local_governments).values()] if focus else []
    own = reads.annotations(hub, [e for e in ranked if e in hits], ("tags",))
    names = label_names()
    items = []
    for eid in ranked:
        rec = records.get(eid)
        if rec is None or not can_see(rec.visibility, rec.owner, caller):
            continue
        comps = {k: v for k, v in kept[eid].items() if k != "_cos"}
        reasons, evidence = explained.get(eid, ([], {}))
        reasons = list(reasons)
        if eid in hits:
            snip = hits[eid]["snippet"]
            reasons.insert(0, f"its record matches: {quote(snip.get('text', ''))}")
            _o, shared = shared_themes(challenge, own.get(eid, []), idx.theme_idf_of)
            if shared:
                reasons.insert(1, themes_reason(shared, names))
        if eid in network and graph is not None and focus is not None:
            evidence["projects_with_focus"] = [graph.project_ids[p] for p in network[eid][1]]
            reasons.insert(0, _network_reason(graph, network[eid][1], focus.name, lg_names))
        if comps.get("place"):
            reasons.append(f"based in {focus.name}")  # type: ignore[union-attr]
        if not any(comps.get(c, 0) for c in (*RELEVANT, "lexical", "search", "network")):
            continue
        where = getattr(rec, "country", None)
        head = f"{rec.subtype or rec.kind.value}{', ' + where if where else ''}"
        items.append(LinkItem(id=eid, kind=rec.kind.value, subtype=rec.subtype, name=rec.name,
                              score=scores[eid] if kind == "person" else _score(comps),
                              components=comps, explanation=f"{head}: " + "; ".join(reasons), reasons=reasons,
                              evidence=evidence))
    return items


def peer_city_section(hub: Any, challenge: Challenge, *, filters: dict[str, Any] | None, limit: int,
                      caller: Caller, today: date) -> list[LinkItem]:
    """Cities facing the same challenge: peers of the focus city (``Hub.peer_cities``) re-ranked by how well
    their profile matches the challenge, or, without a focus city, the cities whose profile matches best."""
    idx = profile_index(hub)
    cands = _candidates(idx, "city", challenge, caller, filters, today)
    peers: dict[str, Any] = {}
    focus = challenge.focus
    if focus is not None:
        found = hub.peer_cities(focus.id, limit=max(15, limit * 3), caller=caller)
        top = max((p.score for p in found), default=1.0) or 1.0
        for p in found:
            if p.id in challenge.exclude:
                continue
            peers[p.id] = p
            comps = cands.setdefault(p.id, {c: 0.0 for c in ("themes", "semantic", "keywords", "recency",
                                                             "volume")})
            comps["peer"] = round(p.score / top, 4)
        cands = {e: c for e, c in cands.items() if e in peers}
    else:
        cands = {e: c for e, c in cands.items() if _relevance(c) >= MIN_RELEVANCE}
    countries = (filters or {}).get("country")
    ranked = sorted(cands, key=lambda e: (-_score({k: v for k, v in cands[e].items() if k != "_cos"}), e))
    ranked = ranked[:limit]
    explained = explain_profiles(hub, ranked, challenge, caller, idx)
    items = []
    for eid in ranked:
        comps = {k: v for k, v in cands[eid].items() if k != "_cos"}
        reasons, evidence = explained.get(eid, ([], {}))
        reasons = list(reasons) if _relevance(comps) > 0 else []
        if eid in peers:
            reasons.append(f"peer of {focus.name}: {peers[eid].explanation}")  # type: ignore[union-attr]
            evidence = {**evidence, "peer": peers[eid].evidence}
        if not reasons:
            continue
        pos = idx.position(eid)
        country = idx.country[pos] if pos is not None else (peers[eid].country if eid in peers else None)
        if countries and country not in ({countries} if isinstance(countries, str) else set(countries)):
            continue
        name = idx.names[pos] if pos is not None else peers[eid].name
        items.append(LinkItem(id=eid, kind="place", subtype="city", name=name, score=_score(comps), components=comps,
                              explanation=f"city{', ' + country if country else ''}: " + "; ".join(reasons),
                              reasons=reasons, evidence=evidence))
    return items


__all__ = ["H2020_PARTS", "MIN_RELEVANCE", "PROFILE_WEIGHTS", "explain_profiles", "peer_city_section",
           "profile_section"]
