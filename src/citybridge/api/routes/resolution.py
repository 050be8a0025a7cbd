"""``POST /match/affiliation`` (batch matching to ROR) and ``/merges`` (the merge log and review queue):
thin over :meth:`Hub.match_affiliations` and the Hub's merge methods."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from citybridge.api.deps import CacheDep, CuratorDep, HubDep
from citybridge.api.routes.common import errors
from citybridge.model.entities import record_to_dict

router = APIRouter(tags=["resolution"])
MergeId = Annotated[str, Path(pattern=r"^mrg_[0-9a-f]{16}$", description="merge id", examples=["mrg_0a1b2c3d4e5f6a7b"])]


class AffiliationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000, description="an affiliation string or organisation name")
    country: str | None = Field(default=None, max_length=60, description="ISO code or country name, when known")


class MatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    affiliations: list[str | AffiliationIn] = Field(
        min_length=1, max_length=1000, description="strings, or objects with text and country",
        examples=[["Dept. of Civil Eng., Univ. of Porto, Portugal", {"text": "TU München", "country": "DE"}]])
    limit: int = Field(default=3, ge=1, le=20, description="candidates per string")


class CandidateOut(BaseModel):
    ror: str
    name: str
    record_id: str | None
    country: str | None
    probability: float
    decision: str = Field(description="match (>= accept threshold), review, or none")
    matched: str
    segment: str
    unit: str | None = Field(description="the department or unit part of the string, kept beside the organisation")
    features: dict[str, float]


class MatchResult(BaseModel):
    query: str
    country: str | None
    decision: str
    best: CandidateOut | None
    candidates: list[CandidateOut]


class MatchOut(BaseModel):
    results: list[MatchResult]
    thresholds: dict[str, float]


class MergeOut(BaseModel):
    id: str
    kind: str
    survivor_id: str
    merged_id: str
    status: str
    score: float
    method: str
    reasons: dict[str, Any]
    created_at: Any
    created_by: str | None
    decided_at: Any
    decided_by: str | None
    undone_at: Any
    undone_by: str | None


@router.post("/match/affiliation", response_model=MatchOut, responses=errors(401, 422))
def match_affiliation(hub: HubDep, body: MatchIn) -> dict[str, Any]:
    """Match a batch of affiliation strings (any language) to the stored ROR organisations: ranked
    candidates with calibrated probabilities, the decision at the documented thresholds, the unit kept
    beside the organisation, and the features behind each score. Nothing is stored."""
    items = [a if isinstance(a, str) else (a.text, a.country) for a in body.affiliations]
    results = hub.match_affiliations(items, limit=body.limit)
    return {"results": results, "thresholds": hub.org_matcher().model.thresholds}


@router.get("/merges", response_model=list[MergeOut], responses=errors(401, 403, 422))
def list_merges(
    hub: HubDep, grant: CuratorDep,
    status: Annotated[str | None, Query(pattern="^(proposed|applied|rejected|undone)$",
                                        description="proposed is the review queue")] = None,
    kind: Annotated[str | None, Query(pattern="^(organization|person|place|document)$")] = None,
    record_id: Annotated[str | None, Query(max_length=128, description="merges involving this record")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """The merge log, newest first; with ``status=proposed`` the review queue, best scores first (curators)."""
    return hub.merges(status=status, kind=kind, record_id=record_id, limit=limit, offset=offset)


@router.get("/merges/{merge_id}", responses=errors(401, 403, 404))
def get_merge(hub: HubDep, grant: CuratorDep, merge_id: MergeId) -> dict[str, Any]:
    """One merge with both records side by side and the evidence (curators)."""
    d = hub.merge_detail(merge_id)
    return {"merge": d["merge"], "relations": d["relations"],
            "survivor": record_to_dict(d["survivor"]) if d["survivor"] else None,
            "merged": record_to_dict(d["merged"]) if d["merged"] else None}


def _decide(hub: Any, grant: Any, cache: Any, action: str, merge_id: str) -> dict[str, Any]:
    fn = {"accept": hub.accept_merge, "reject": hub.reject_merge, "undo": hub.undo_merge}[action]
    out = fn(merge_id, changed_by=f"api:{grant.caller.user}")
    cache.clear()
    return out  # type: ignore[no-any-return]


@router.post("/merges/{merge_id}/accept", response_model=MergeOut, responses=errors(401, 403, 404, 409))
def accept_merge(hub: HubDep, grant: CuratorDep, cache: CacheDep, merge_id: MergeId) -> dict[str, Any]:
    """Apply a proposed merge."""
    return _decide(hub, grant, cache, "accept", merge_id)


@router.post("/merges/{merge_id}/reject", response_model=MergeOut, responses=errors(401, 403, 404, 409))
def reject_merge(hub: HubDep, grant: CuratorDep, cache: CacheDep, merge_id: MergeId) -> dict[str, Any]:
    """Reject a proposed merge (the pair is not proposed again)."""
    return _decide(hub, grant, cache, "reject", merge_id)


@router.post("/merges/{merge_id}/undo", response_model=MergeOut, responses=errors(401, 403, 404, 409))
def undo_merge(hub: HubDep, grant: CuratorDep, cache: CacheDep, merge_id: MergeId) -> dict[str, Any]:
    """Undo an applied merge exactly."""
    return _decide(hub, grant, cache, "undo", merge_id)
