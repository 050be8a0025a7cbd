"""Organisation matching as one object: the name index, the candidate features and the calibrated model.

:class:`OrgMatcher` is the batch API other parts call (the knowledge pack naming CORDIS participants, the
store-wide organisation resolution, ``Hub.match_affiliation``): names or affiliation strings, with an
optional country each, in; ranked ROR candidates with probabilities out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from citybridge.resolve.affiliation import FEATURES, AffiliationMatcher, Candidate
from citybridge.resolve.org_index import OrgIndex, entries_from_ror_files, entries_from_store
from citybridge.resolve.scoring import MatchModel, shipped_model

NameLike = str | tuple[str, str | None]


class OrgMatcher:
    """Ranked, calibrated ROR candidates for organisation names and affiliation strings.

    >>> m = OrgMatcher.from_ror_files(["ror-v2-records.json.gz"])                 # doctest: +SKIP
    >>> best = m.match("Dept. of Civil Eng., Univ. of Porto, Portugal")[0]      # doctest: +SKIP
    >>> best.ror, round(best.probability, 2), best.unit                          # doctest: +SKIP
    ('043pwc612', 0.99, 'Dept. of Civil Eng.')
    """

    def __init__(self, index: OrgIndex, model: MatchModel | None = None) -> None:
        self.index = index
        self.features = AffiliationMatcher(index)
        self.model = model or shipped_model()
        if self.model.features != FEATURES:
            raise ValueError("the affiliation model was trained on other features; retrain it with "
                             "scripts/train_affiliation_model.py")

    @classmethod
    def from_ror_files(cls, paths: Iterable[str | Path], model: MatchModel | None = None) -> OrgMatcher:
        return cls(OrgIndex.build(entries_from_ror_files(paths)), model)

    @classmethod
    def from_store(cls, store: Any, model: MatchModel | None = None) -> OrgMatcher:
        return cls(OrgIndex.build(entries_from_store(store)), model)

    # ------------------------------------------------------------------ thresholds
    @property
    def accept(self) -> float:
        """Probability from which a match is reported (chosen on dev data for precision >= 0.95)."""
        return float(self.model.thresholds.get("accept", 0.5))

    @property
    def auto_merge(self) -> float:
        """Probability from which records merge without review (CV precision >= 0.99)."""
        return float(self.model.thresholds.get("auto_merge", 0.9))

    @property
    def review(self) -> float:
        """Probability from which a merge is proposed to a curator."""
        return float(self.model.thresholds.get("review", 0.3))

    # ------------------------------------------------------------------ matching
    def match(self, text: str, country: str | None = None, *, limit: int = 5,
              exclude: frozenset[str] = frozenset()) -> list[Candidate]:
        """Candidates for one string, most probable first (at most ``limit``); may be empty."""
        import numpy as np

        cands = self.features.candidates(text, country, exclude=exclude)
        if not cands:
            return []
        X = np.asarray([c.features for c in cands], dtype=np.float64)
        logits = self.model.scores(X)
        probs = self.model.probabilities(X, logits)
        for c, z, p in zip(cands, logits.tolist(), probs.tolist(), strict=True):
            c.score, c.probability = z, p
        cands.sort(key=lambda c: (-c.score, c.ror))
        return cands[:limit]

    def best(self, text: str, country: str | None = None) -> Candidate | None:
        """The organisation meant, when its probability reaches the ``accept`` threshold; else None."""
        cands = self.match(text, country, limit=1)
        return cands[0] if cands and cands[0].probability >= self.accept else None

    def match_many(self, items: Sequence[NameLike], *, limit: int = 5) -> list[list[Candidate]]:
        """Batch form of :meth:`match`: each item a string or ``(string, country)``; one list per item."""
        out = []
        for item in items:
            text, country = (item, None) if isinstance(item, str) else item
            out.append(self.match(text, country, limit=limit))
        return out


def match_organizations(matcher: OrgMatcher, names_with_countries: Sequence[NameLike], *, limit: int = 3
                        ) -> list[list[dict[str, Any]]]:
    """Plain-data batch matching (for other packages): per name, the candidates as dicts with ``ror``,
    ``name``, ``probability``, ``decision`` (``match`` / ``review`` / ``none``), ``unit`` and ``features``."""
    out = []
    for cands in matcher.match_many(names_with_countries, limit=limit):
        out.append([candidate_dict(c, matcher) for c in cands])
    return out


def candidate_dict(c: Candidate, matcher: OrgMatcher) -> dict[str, Any]:
    decision = "match" if c.probability >= matcher.accept else "review" if c.probability >= matcher.review else "none"
    return {"ror": c.ror, "name": c.name, "record_id": c.record_id, "country": c.country,
            "probability": round(c.probability, 4), "decision": decision, "matched": c.matched,
            "segment": c.segment, "unit": c.unit, "features": c.explain()}


__all__ = ["OrgMatcher", "candidate_dict", "match_organizations"]
