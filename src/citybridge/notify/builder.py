"""The digest builder, batch-shaped: one candidate pool per run, one match computation per distinct thing
followed (see :mod:`citybridge.notify.matching`), then each member assembled with vector operations —
visibility, their windows, what they were already sent, ranking, at most N per section, reasons.

A member's first digest (no subscription covered yet) shows the latest matches whatever their age; later
ones show what changed since the subscription was last covered. Calls closing within the deadline window
are always surfaced (first in their section) until sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from citybridge.model.access import ANONYMOUS
from citybridge.notify.matching import Matcher, Matches
from citybridge.notify.model import SECTIONS, Digest, Item, Member, Reason, Subscription
from citybridge.notify.pool import SECTION_CODE, Pool, epoch

#: records stamped before a digest's cut-off may commit after it (a long import batch): the next window
#: starts this much earlier, and the send log keeps anything from being sent twice
LATE_COMMIT = timedelta(hours=1)
NEW_WITHIN = timedelta(days=30)  # in a first digest, a record younger than this is "new"
PROFILE_THEMES = 6
PROFILE_KEYWORDS = 6
PEERS = SECTION_CODE["peers"]


@dataclass
class Part:
    """One source of matches for a member: a subscription, or one facet of a profile (``Found`` while
    matching, ``Matches`` over the pool once it is loaded)."""

    sub: Subscription
    matches: Any
    reason: Reason
    peer: bool = False


def window_start(sub: Subscription, since: datetime | None) -> datetime | None:
    if since is not None:
        return since
    return sub.last_digest_at - LATE_COMMIT if sub.last_digest_at is not None else None


def build_digests(hub: Any, members: list[Member], subs: dict[str, list[Subscription]], *, now: datetime,
                  today: date | None = None, since: datetime | None = None, per_section: int = 8,
                  deadline_days: int = 42, sent: dict[str, set[str]] | None = None,
                  stats: dict[str, Any] | None = None, shared: dict[str, Any] | None = None) -> list[Digest]:
    """Digests of ``members`` over their subscriptions ``subs`` (member id -> the subscriptions to cover).

    Args:
        now: the cut-off (an injectable clock); records changed after it wait for the next digest.
        today: the date deadlines are counted from (default: ``now``'s date).
        since: start every window here instead of at each subscription's last digest.
        sent: member id -> item keys already sent (claimed); they are never chosen again.
        stats: filled with pool size and distinct match computations, when given.
        shared: a dict kept by the caller across batches of one run: what was matched for one batch serves
            the next ones (when their windows start at the same time).
    """
    today = today or now.astimezone(UTC).date()
    sent = sent or {}
    starts = [window_start(s, since) for m in members for s in subs.get(m.id, ())]
    widest = None if (not starts or any(s is None for s in starts)) else min(starts)  # type: ignore[type-var]
    shared = shared if shared is not None else {}
    matcher = shared.get("matcher")
    if matcher is None or matcher.since != widest or matcher.hub is not hub:
        matcher = shared["matcher"] = Matcher(hub, since=widest)
    profiles = _profiles(hub, [m for m in members if any(s.type == "profile" for s in subs.get(m.id, ()))])
    # the cities, their peers and the places followed, each computed once for the whole batch
    cities = [p["city"][0] for p in profiles.values() if p.get("city")]
    matcher.peers_of(cities)
    matcher.labels([*(s.target for ss in subs.values() for s in ss if s.type == "theme" and s.target),
                    *(lab for p in profiles.values() for lab, _name in p.get("labels", ()))])
    matcher.places([*(s.target for ss in subs.values() for s in ss if s.type == "place" and s.target),
                    *cities, *(peer for c in cities for peer, _name in matcher.peers(c))])
    found = {m.id: [p for s in subs.get(m.id, ()) for p in _parts(matcher, s, profiles)] for m in members}
    # the pool: only records something matched (one scan when that is most of the store)
    everything = list({id(p.matches): p.matches for ps in found.values() for p in ps}.values())
    ids: set[str] = set()
    for f in everything:
        ids.update(f.scores)
    pool, rows = _pool(hub, shared, ids, everything, since=widest, now=now, today=today,
                       deadline_days=deadline_days)
    parts = {mid: [Part(p.sub, rows[id(p.matches)], p.reason, p.peer) for p in ps] for mid, ps in found.items()}
    closing = pool.closing(today, deadline_days)
    now_s = epoch(now)
    base = (0.2 * np.exp(-np.maximum(now_s - pool.changed, 0.0) / (14 * 86400.0))).astype(np.float32)
    # calls closing soon always surface, ahead of everything else in their section and the soonest first
    urgent = np.zeros(len(pool), np.float32)
    urgent[closing] = [(date.fromisoformat(pool.deadline[i][:10]) - today).days - 1000.0
                       for i in np.flatnonzero(closing)]
    digests = []
    filtered: dict[Any, Any] = {}
    for m in members:
        member_subs = subs.get(m.id, [])
        first = bool(member_subs) and all(s.last_digest_at is None for s in member_subs) and since is None
        digests.append(_assemble(pool, m, parts[m.id], sent.get(m.id, set()), closing, base, urgent, now=now,
                                 since=since, per_section=per_section, first=first, subs=member_subs,
                                 filtered=filtered))
    _summaries(hub, [i for d in digests for i in d.items])
    if stats is not None:
        stats.update({"pool": len(pool), "searches": matcher.searches, "matchers": len(matcher.found())})
    return digests


def _pool(hub: Any, shared: dict[str, Any], ids: set[str], everything: list[Any], *, since: datetime | None,
          now: datetime, today: date, deadline_days: int) -> tuple[Pool, dict[int, Matches]]:
    """The candidate pool of a batch and each match computation over its rows. Batches of one run with the
    same window share one pool (rows are only ever appended, so rows computed for an earlier batch stay
    right): a later batch loads only the records no earlier batch needed."""
    key = (since, now, today, deadline_days)
    pool = shared.get("pool") if shared.get("pool_key") == key and shared.get("matcher_of_pool") is \
        shared.get("matcher") else None
    if pool is None:
        pool = Pool.load(hub.store, since=since, now=now, today=today, deadline_days=deadline_days, ids=ids)
        shared.update({"pool": pool, "pool_key": key, "matcher_of_pool": shared.get("matcher"), "rows": {}})
    else:
        pool.add(hub.store, since=since, now=now, ids=[i for i in ids if i not in pool.pos])
    known: dict[int, Matches] = shared["rows"]
    for f in everything:
        if id(f) not in known and f.events:
            pool.extend(hub.store, f.events)
    for f in everything:
        if id(f) not in known:
            known[id(f)] = Matches.of(pool, f)
    return pool, {id(f): known[id(f)] for f in everything}


# ---------------------------------------------------------------------------- subscriptions -> parts
def _parts(matcher: Matcher, sub: Subscription, profiles: dict[str, dict[str, Any]]) -> list[Part]:
    if sub.type == "theme":
        return [Part(sub, matcher.label(sub.target or ""), Reason("theme", {"label": sub.label}))]
    if sub.type == "keyword":
        words = (sub.query or "").strip()
        query = f'"{words}"' if " " in words and '"' not in words else words
        return [Part(sub, matcher.search(query, {}), Reason("keyword", {"label": sub.label}))]
    if sub.type == "search":
        return [Part(sub, matcher.search(sub.query or "", sub.filters), Reason("search", {"label": sub.label}))]
    if sub.type == "place":
        return [Part(sub, matcher.place(sub.target or ""), Reason("place", {"label": sub.label}))]
    if sub.type == "record":
        return [Part(sub, matcher.record(sub.target or ""), Reason("record", {"label": sub.label}))]
    prof = profiles.get(sub.member_id) or {}
    out = [Part(sub, matcher.label(lab), Reason("profile", {"label": name})) for lab, name in prof.get("labels", [])]
    city = prof.get("city")
    if city:
        out.append(Part(sub, matcher.place(city[0]), Reason("profile_city", {"label": city[1]})))
        for peer_id, peer_name in matcher.peers(city[0]):
            out.append(Part(sub, matcher.place(peer_id), Reason("peer", {"label": peer_name, "city": city[1]}),
                            peer=True))
    return out


def _profiles(hub: Any, members: list[Member]) -> dict[str, dict[str, Any]]:
    """Member id -> {"labels": [(label, display name)], "city": (id, name) | None}: the strongest themes
    and keywords of the member's expertise profile (or of their own record when they have none), and the
    city they are in."""
    if not members:
        return {}
    from citybridge.link._derived import label_name, label_names
    from citybridge.link.challenge import city_index
    from citybridge.link.profile_index import is_theme
    from citybridge.store.enrichment import EnrichmentStore

    es = EnrichmentStore(hub.store)
    ids = [m.id for m in members]
    weights: dict[str, dict[str, float]] = {i: {} for i in ids}
    for prof in es.profiles(ids):
        for lab, e in (prof["data"].get("labels") or {}).items():
            weights[prof["entity_id"]][lab] = float(e.get("sum", 0.0))
    for rid, anns in es.annotations_for([i for i in ids if not weights[i]], steps=("tags", "keywords")).items():
        for a in anns:
            weights[rid][a["label"]] = max(weights[rid].get(a["label"], 0.0), float(a["score"]))
    names = label_names()
    cities = city_index(hub, ANONYMOUS)
    affiliations = _affiliations(hub, ids)
    out: dict[str, dict[str, Any]] = {}
    for m in members:
        w = weights[m.id]
        themes = sorted((lab for lab in w if is_theme(lab) and "." not in lab), key=lambda x: -w[x])[:PROFILE_THEMES]
        kws = sorted((lab for lab in w if lab.startswith("kw:")), key=lambda x: -w[x])[:PROFILE_KEYWORDS]
        row = cities.position(m.id)
        if row is None:
            row = cities.city_of_org(m.id)
        for org in affiliations.get(m.id, ()):
            if row is None:
                row = cities.city_of_org(org)
        out[m.id] = {"labels": [(lab, label_name(lab, names)) for lab in themes + kws],
                     "city": (cities.ids[row], cities.names[row]) if row is not None else None}
    return out


def _affiliations(hub: Any, ids: list[str]) -> dict[str, list[str]]:
    from sqlalchemy import select

    from citybridge.store import tables as t

    rel = t.relations.c
    out: dict[str, list[str]] = {}
    with hub.store.engine.connect() as conn:
        for n in range(0, len(ids), 900):
            q = select(rel.source_id, rel.target_id).where(rel.source_id.in_(ids[n:n + 900]),
                                                           rel.type.in_(("affiliated_with", "member_of")))
            for src, dst in conn.execute(q):
                out.setdefault(src, []).append(dst)
    return out


# ---------------------------------------------------------------------------- one member
def _assemble(pool: Pool, member: Member, parts: list[Part], sent: set[str], closing: np.ndarray,
              base: np.ndarray, urgent: np.ndarray, *, now: datetime, since: datetime | None, per_section: int,
              first: bool, subs: list[Subscription], filtered: dict[Any, Any] | None = None) -> Digest:
    """One member's digest. ``filtered`` (kept by the caller for one batch) holds each part's rows after
    the visibility and window filters, shared by the members who see the same rows."""
    filtered = filtered if filtered is not None else {}
    empty = Digest(member, now, {s: [] for s in SECTIONS}, {s: 0 for s in SECTIONS}, subs, first)
    if not parts:
        return empty
    vis = pool.visible(member.caller)
    vkey = pool.visibility_key(member.caller)  # None: the member sees rows of their own (no sharing)
    # dense accumulators over the pool: the rows of one part are distinct, so a gather-max-scatter per
    # part is exact (no sort of everything the member's subscriptions match)
    n = len(pool)
    best = np.zeros(n, np.float32)
    hits = np.zeros(n, np.int16)
    direct = np.zeros(n, bool)  # matched by something other than a peer city
    kept: list[np.ndarray] = []
    for part in parts:
        rows = part.matches.rows
        if not len(rows):
            kept.append(rows)
            continue
        start = window_start(part.sub, since)
        ckey = (id(part.matches), vkey, start)
        hit = filtered.get(ckey) if vkey is not None else None
        if hit is None:
            keep = vis[rows]
            if start is not None:
                keep &= (pool.changed[rows] > epoch(start)) | closing[rows]
            hit = (rows[keep], part.matches.scores[keep])
            if vkey is not None:
                filtered[ckey] = hit
        rows, scores = hit
        kept.append(rows)
        best[rows] = np.maximum(best[rows], scores)
        hits[rows] += 1
        if not part.peer:
            direct[rows] = True
    if sent:
        done = [pool.pos[rid] for key in sent for rid, _, v in [key.rpartition("@")]
                if rid in pool.pos and str(pool.version[pool.pos[rid]]) == v]
        hits[done] = 0
    uniq = np.flatnonzero(hits)
    if not len(uniq):
        return empty
    total = best[uniq] + base[uniq] + 0.1 * np.minimum(hits[uniq] - 1, 3)
    section = np.where(direct[uniq], pool.section[uniq], PEERS)
    order = np.where(closing[uniq], urgent[uniq], -total)  # ascending: closing calls by days left, then score
    sections: dict[str, list[Item]] = {}
    more: dict[str, int] = {}
    chosen: list[int] = []
    for name in SECTIONS:
        idx = np.flatnonzero(section == SECTION_CODE[name])
        top = idx[np.argsort(order[idx], kind="stable")[:per_section]]
        more[name] = len(idx) - len(top)
        chosen += top.tolist()
        sections[name] = []
    starts = [st for st in (window_start(p.sub, since) for p in parts) if st is not None]
    new_cut = epoch(now - NEW_WITHIN) if first or not starts else epoch(min(starts))
    mark = np.zeros(n, bool)
    mark[uniq[chosen]] = True
    sources: dict[int, list[int]] = {}
    for k, rows in enumerate(kept):
        for r_ in rows[mark[rows]].tolist():
            sources.setdefault(r_, []).append(k)
    for i in chosen:
        row = int(uniq[i])
        reasons, seen = [], set()
        for k in sources[row]:
            part = parts[k]
            detail = part.matches.details.get(row, {})
            key = (part.reason.code, part.reason.values.get("label"))
            if key in seen:
                continue
            seen.add(key)
            reasons.append(Reason(part.reason.code, {**part.reason.values, **detail}))
        is_new = bool(pool.created[row] > new_cut)
        deadline = pool.deadline[row]
        if closing[row] and deadline:
            days = (date.fromisoformat(deadline[:10]) - now.astimezone(UTC).date()).days
            reasons.insert(0, Reason("deadline", {"date": deadline[:10], "days": days}))
        updated = not first and not is_new
        if updated:
            reasons.append(Reason("updated", {}))
        name = SECTIONS[int(section[i])]
        sections[name].append(Item(
            record_id=pool.ids[row], version=int(pool.version[row]), kind=pool.kind[row], subtype=pool.subtype[row],
            name=pool.name[row], section=name, score=float(total[i]), new=is_new,
            changed_at=datetime.fromtimestamp(float(pool.changed[row]), UTC), reasons=reasons,
            deadline=deadline[:10] if deadline else None, updated=updated))
    return Digest(member, now, sections, more, subs, first)


def _summaries(hub: Any, items: Iterable[Item], chars: int = 240) -> None:
    """A short description for each chosen item (read once per distinct record of the run, from the JSON
    column, without building the records)."""
    from sqlalchemy import select

    from citybridge.notify.pool import json_text
    from citybridge.store import tables as t

    items = list(items)
    r = t.records.c
    ids = list({i.record_id for i in items})
    texts: dict[str, str] = {}
    q = select(r.id, json_text(hub.store, r.data, "description"))
    with hub.store.engine.connect() as conn:
        for n in range(0, len(ids), 900):
            texts.update({rid: d for rid, d in conn.execute(q.where(r.id.in_(ids[n:n + 900]))).all() if d})
    for item in items:
        text = " ".join(texts.get(item.record_id, "")[: chars * 4].split())
        item.summary = (text[: chars - 1].rsplit(" ", 1)[0] + "…") if len(text) > chars else (text or None)
