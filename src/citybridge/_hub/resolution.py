"""Hub methods for entity resolution: matching, store-wide resolution, merges, the review queue and undo."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from citybridge.errors import Invalid
from citybridge.model.access import Caller

if TYPE_CHECKING:
    from citybridge.model.entities import Record
    from citybridge.resolve.org_matcher import OrgMatcher
    from citybridge.settings import Settings
    from citybridge.store import Store

KINDS = ("organization", "person", "place", "document")


class ResolutionMixin:
    """Entity resolution services. Mixed into :class:`citybridge.hub.Hub`."""

    store: Store
    settings: Settings

    def get(self, record_id: str, *, caller: Caller | None = None) -> Record: ...  # provided by Hub

    # ------------------------------------------------------------------ matching
    def org_matcher(self) -> OrgMatcher:
        """The organisation matcher over the stored ROR organisations, kept current with the store
        (index artifact under ``<data_dir>/index/orgs.json.gz``, rebuilt when organisations change)."""
        from citybridge.resolve.org_index import OrgIndex, entries_from_store
        from citybridge.resolve.org_matcher import OrgMatcher

        fp = _org_fingerprint(self.store)
        cached = getattr(self, "_org_matcher_cache", None)
        if cached is not None and cached.index.fingerprint == fp:
            return cached
        path = self.settings.data_dir / "index" / "orgs.json.gz"
        index = None
        if self.settings.is_sqlite and path.exists():
            try:
                index = OrgIndex.load(path)
            except (OSError, ValueError):
                index = None
            if index is not None and index.fingerprint != fp:
                index = None
        if index is None:
            index = OrgIndex.build(entries_from_store(self.store), fingerprint=fp)
            if self.settings.is_sqlite:
                index.save(path)
        matcher = OrgMatcher(index)
        self._org_matcher_cache = matcher
        return matcher

    def match_affiliation(self, text: str, *, country: str | None = None, limit: int = 5) -> dict[str, Any]:
        """Ranked ROR candidates for one affiliation string or organisation name, each with its calibrated
        probability, decision (``match`` / ``review`` / ``none``), the unit kept beside it (e.g. the
        department) and the features behind the score.

        >>> hub.match_affiliation("Dept. of Civil Eng., Univ. of Porto, Portugal")["best"]["name"]  # doctest: +SKIP
        'University of Porto'
        """
        return self.match_affiliations([(text, country)], limit=limit)[0]

    def match_affiliations(self, items: Sequence[str | tuple[str, str | None]], *, limit: int = 3
                           ) -> list[dict[str, Any]]:
        """Batch form of :meth:`match_affiliation` (each item a string or ``(string, country)``)."""
        from citybridge.resolve.org_matcher import candidate_dict

        if not 1 <= limit <= 20:
            raise Invalid("limit must be between 1 and 20", field="limit")
        clean: list[tuple[str, str | None]] = []
        for i, item in enumerate(items):
            text, country = (item, None) if isinstance(item, str) else item
            if not isinstance(text, str) or not text.strip():
                raise Invalid(f"item {i + 1}: the affiliation string is empty", field="affiliations")
            if len(text) > 2000:
                raise Invalid(f"item {i + 1}: longer than 2,000 characters", field="affiliations")
            clean.append((text.strip(), country or None))
        matcher = self.org_matcher()
        out = []
        for (text, country), cands in zip(clean, matcher.match_many(clean, limit=limit), strict=True):
            rows = [candidate_dict(c, matcher) for c in cands]
            best = rows[0] if rows and rows[0]["decision"] == "match" else None
            out.append({"query": text, "country": country, "decision": rows[0]["decision"] if rows else "none",
                        "best": best, "candidates": rows})
        return out

    def match_places(self, items: Sequence[str | tuple[str, str | None]]) -> list[dict[str, Any]]:
        """City names (any language, optional country) -> gazetteer cities; unknown and ambiguous names are
        reported as such, never guessed."""
        from citybridge.resolve.places import match_places

        return [m.as_dict() for m in match_places(items)]

    # ------------------------------------------------------------------ resolution
    def resolve(self, kind: str | None = None, *, apply: bool = False, changed_by: str = "resolve",
                progress: Callable[[int], None] | None = None, limit: int | None = None) -> dict[str, Any]:
        """Find records of the same real-world thing (one kind, or all of them) and report proposed merges
        with scores and reasons. With ``apply``, merges above the kind's auto-merge threshold are applied
        and those between the thresholds go to the review queue; below, nothing.

        Returns ``{"kinds": {kind: counts}, "proposals": [...], "applied": [merge ids], "queued": [...],
        "thresholds": {...}, "seconds": s}``; ``limit`` caps the proposals listed (not those acted on).
        """
        from citybridge.resolve.runner import run_resolution

        kinds = KINDS if kind is None else (kind,)
        bad = [k for k in kinds if k not in KINDS]
        if bad:
            raise Invalid(f"cannot resolve kind '{bad[0]}' (one of: {', '.join(KINDS)})", field="kind")
        t0 = time.perf_counter()
        report = run_resolution(self, kinds, apply=apply, changed_by=changed_by, progress=progress)
        if limit is not None:
            report["proposals"] = report["proposals"][:limit]
        report["seconds"] = round(time.perf_counter() - t0, 2)
        return report

    # ------------------------------------------------------------------ merges
    def merges(self, *, status: str | None = None, kind: str | None = None, record_id: str | None = None,
               limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Merges, newest first; ``status="proposed"`` is the review queue (best scores first)."""
        from citybridge.store.merges import MergeStore

        if not 1 <= limit <= 500:
            raise Invalid("limit must be between 1 and 500", field="limit")
        return MergeStore(self.store).list(status=status, kind=kind, record_id=record_id, limit=limit,
                                           offset=max(0, offset))

    def merge_counts(self) -> dict[str, int]:
        from citybridge.store.merges import MergeStore

        return MergeStore(self.store).counts()

    def merge_detail(self, merge_id: str) -> dict[str, Any]:
        """One merge with both records side by side (the merged one from the snapshot once applied)."""
        from citybridge.resolve.runner import merge_detail

        return merge_detail(self, merge_id)

    def accept_merge(self, merge_id: str, *, changed_by: str | None = None) -> dict[str, Any]:
        """Apply a proposed merge (a curator's "accept")."""
        from citybridge.resolve.runner import apply_merge

        return apply_merge(self, merge_id, changed_by=changed_by or "curator")

    def reject_merge(self, merge_id: str, *, changed_by: str | None = None) -> dict[str, Any]:
        """Reject a proposed merge: the pair is never proposed again."""
        from citybridge.store.merges import MergeStore

        return MergeStore(self.store).reject(merge_id, changed_by=changed_by or "curator")

    def undo_merge(self, merge_id: str, *, changed_by: str | None = None) -> dict[str, Any]:
        """Undo an applied merge exactly (records, ids, relations, annotations, embeddings, profiles,
        redirects); the pair is not proposed again."""
        from citybridge.resolve.runner import undo_merge

        return undo_merge(self, merge_id, changed_by=changed_by or "curator")

    def merge(self, survivor_id: str, merged_id: str, *, changed_by: str | None = None,
              reasons: dict[str, Any] | None = None) -> dict[str, Any]:
        """Merge ``merged_id`` into ``survivor_id`` by hand (recorded like any merge, undoable)."""
        from citybridge.resolve.proposals import Proposal
        from citybridge.resolve.runner import apply_merge
        from citybridge.store.merges import MergeStore

        survivor, merged = self.get(survivor_id), self.get(merged_id)
        if survivor.id == merged.id:
            raise Invalid("a record cannot be merged into itself", field="merged_id")
        ms = MergeStore(self.store)
        pending = [m for m in ms.list(status="proposed", record_id=merged.id, limit=500)
                   if {m["survivor_id"], m["merged_id"]} == {survivor.id, merged.id}]
        if pending:
            ids = [pending[0]["id"]]
        else:
            ids = ms.propose([Proposal(survivor.kind.value, survivor.id, merged.id, 1.0, "manual",
                                       reasons or {}).as_dict()], created_by=changed_by, again=True)
        return apply_merge(self, ids[0], changed_by=changed_by or "curator")


def _org_fingerprint(store: Store) -> str:
    from sqlalchemy import func, select

    from citybridge.store import tables as t

    with store.engine.connect() as conn:
        orgs = conn.execute(select(func.count(), func.max(t.records.c.updated_at)).where(
            t.records.c.kind == "organization")).one()
        rels = conn.execute(select(func.count()).where(t.relations.c.type == "member_of")).one()
    return hashlib.sha1(repr((tuple(orgs), tuple(rels))).encode()).hexdigest()[:16]


__all__ = ["KINDS", "ResolutionMixin"]
