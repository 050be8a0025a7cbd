"""Running resolution over the store: the matchers of each kind propose, thresholds decide, merges apply
through :class:`citybridge.store.merges.MergeStore`, and profiles of the records involved are refreshed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from citybridge.errors import Conflict, NotFound
from citybridge.resolve.merge import combine
from citybridge.resolve.proposals import Proposal
from citybridge.store.merges import MergeStore

#: (auto-merge, review) thresholds of the rule-based matchers; organisations use the trained model's
RULE_THRESHOLDS = {"person": (0.95, 0.5), "place": (0.95, 0.5), "document": (0.95, 0.5)}


def thresholds(hub: Any, kind: str) -> tuple[float, float]:
    if kind == "organization":
        m = hub.org_matcher()
        return m.auto_merge, m.review
    if kind == "person":
        from citybridge.resolve.persons import AUTO_MERGE, REVIEW

        return AUTO_MERGE, REVIEW
    return RULE_THRESHOLDS[kind]


def propose(hub: Any, kind: str, progress: Callable[[int], None] | None = None
            ) -> tuple[list[Proposal], dict[str, int]]:
    if kind == "organization":
        from citybridge.resolve.organizations import propose_organizations

        return propose_organizations(hub.store, hub.org_matcher(), progress=progress)
    if kind == "person":
        from citybridge.resolve.persons import propose_persons

        return propose_persons(hub.store)
    if kind == "place":
        from citybridge.resolve.places import propose_places

        return propose_places(hub.store)
    from citybridge.resolve.documents import propose_documents

    return propose_documents(hub.store)


def run_resolution(hub: Any, kinds: Iterable[str], *, apply: bool, changed_by: str,
                   progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    ms = MergeStore(hub.store)
    known = ms.pair_states()
    report: dict[str, Any] = {"kinds": {}, "proposals": [], "applied": [], "queued": [], "thresholds": {},
                              "skipped": 0}
    for kind in kinds:
        auto, review = thresholds(hub, kind)
        report["thresholds"][kind] = {"auto_merge": auto, "review": review}
        proposals, counts = propose(hub, kind, progress)
        proposals.sort(key=lambda p: (-p.score, p.merged_id))
        counts.update(proposed=0, auto=0, review=0, already_decided=0)
        # a record that matches several records is ambiguous: a curator decides which, if any
        targets: dict[str, set[str]] = {}
        for p in proposals:
            if p.score >= review:
                targets.setdefault(p.merged_id, set()).add(p.survivor_id)
        for p in proposals:
            if p.score < review:
                continue
            ambiguous = len(targets[p.merged_id]) > 1
            if ambiguous:
                p.reasons["ambiguous_with"] = sorted(targets[p.merged_id] - {p.survivor_id})
            decision = "auto_merge" if p.score >= auto and not ambiguous else "review"
            pair = frozenset((p.survivor_id, p.merged_id))
            if pair in known:
                merge_id, status = known[pair]
                if apply and decision == "auto_merge" and status == "proposed":
                    # proposed by a run that stopped (was killed) before applying it: finish that run's work,
                    # as an uninterrupted run would have (a review-queue proposal never scores auto_merge)
                    counts["auto"] += 1
                    _apply_or_reject(hub, ms, merge_id, changed_by, report)
                    continue
                counts["already_decided"] += 1
                continue
            counts["proposed"] += 1
            counts["auto" if decision == "auto_merge" else "review"] += 1
            report["proposals"].append({**p.as_dict(), "decision": decision})
            if not apply:
                continue
            ids = ms.propose([p.as_dict()], created_by=changed_by)
            if not ids:
                continue
            known[pair] = (ids[0], "decided in this run")
            if decision == "review":
                report["queued"].append(ids[0])
                continue
            _apply_or_reject(hub, ms, ids[0], changed_by, report)
        report["kinds"][kind] = counts
    return report


def _apply_or_reject(hub: Any, ms: MergeStore, merge_id: str, changed_by: str, report: dict[str, Any]) -> None:
    try:
        apply_merge(hub, merge_id, changed_by=f"{changed_by}:auto")
        report["applied"].append(merge_id)
    except (Conflict, NotFound):  # an earlier merge of this run took one of the records
        ms.reject(merge_id, changed_by=f"{changed_by}:auto")
        report["skipped"] += 1


def apply_merge(hub: Any, merge_id: str, *, changed_by: str) -> dict[str, Any]:
    """Apply a proposed merge (following redirects when the survivor was itself merged away since)."""
    ms = MergeStore(hub.store)
    m = ms.get(merge_id)
    if m["status"] != "proposed":
        raise Conflict(f"merge '{merge_id}' is {m['status']}, not proposed", field="merge_id")
    sid = ms.redirect(m["survivor_id"]) or m["survivor_id"]
    if sid != m["survivor_id"]:
        _retarget(hub, merge_id, sid)
    try:
        survivor, merged = hub.store.get(sid), hub.store.get(m["merged_id"])
    except NotFound as exc:
        raise Conflict(f"merge '{merge_id}' cannot be applied: {exc}", field="merge_id") from exc
    combined = combine(survivor, merged, merge_id=merge_id)
    out = ms.apply(merge_id, combined, changed_by=changed_by)
    _refresh_profiles(hub, [sid])
    return out


def undo_merge(hub: Any, merge_id: str, *, changed_by: str) -> dict[str, Any]:
    ms = MergeStore(hub.store)
    out = ms.undo(merge_id, changed_by=changed_by)
    _refresh_profiles(hub, [out["survivor_id"]])
    return out


def _retarget(hub: Any, merge_id: str, survivor_id: str) -> None:
    from sqlalchemy import update

    from citybridge.store import tables as t

    with hub.store.engine.begin() as conn:
        conn.execute(update(t.merges).where(t.merges.c.id == merge_id).values(survivor_id=survivor_id))


def _refresh_profiles(hub: Any, ids: list[str]) -> None:
    """Profiles of the survivor and of what hangs off it, when enrichment has made profiles at all."""
    from citybridge.enrich.profiles import build_profiles, dirty_entities
    from citybridge.store.enrichment import EnrichmentStore

    es = EnrichmentStore(hub.store)
    if next(es.profiles(), None) is None:
        return
    model = hub.settings.search_embedder if hasattr(hub.settings, "search_embedder") else None
    build_profiles(hub.store, dirty_entities(hub.store, set(ids)), model=model)


def merge_detail(hub: Any, merge_id: str) -> dict[str, Any]:
    """A merge with both records side by side and its evidence."""
    from citybridge.model.entities import record_from_dict

    ms = MergeStore(hub.store)
    m = ms.get(merge_id)
    snap = ms.snapshot(merge_id) if m["status"] in ("applied", "undone") else None

    def load(record_id: str, key: str) -> Any:
        if snap is not None:
            import json

            return record_from_dict(json.loads(snap[key]["data"]))
        try:
            return hub.store.get(record_id)
        except NotFound:
            return None

    survivor = load(m["survivor_id"], "survivor")
    merged = load(m["merged_id"], "merged")
    rels = {}
    for side, rec in (("survivor", survivor), ("merged", merged)):
        rels[side] = len(hub.store.relations_of(rec.id, limit=10_000)) if rec is not None and snap is None else None
    if snap is not None:
        rels["merged"] = len(snap["relations_removed"])
    return {"merge": m, "survivor": survivor, "merged": merged, "relations": rels}


__all__ = ["apply_merge", "merge_detail", "propose", "run_resolution", "thresholds", "undo_merge"]
