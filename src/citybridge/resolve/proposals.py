"""A proposed merge, as the matchers produce it and the review queue stores it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Proposal:
    """``merged_id`` is the same real-world thing as ``survivor_id`` with probability ``score``."""

    kind: str
    survivor_id: str
    merged_id: str
    score: float
    method: str  # matcher and rule, e.g. "organization:ror-name", "person:name+affiliation"
    reasons: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "survivor_id": self.survivor_id, "merged_id": self.merged_id,
                "score": round(self.score, 4), "method": self.method, "reasons": self.reasons}


__all__ = ["Proposal"]
