"""Entity resolution: one record per real-world organisation, person, place and document.

Blocking and features per kind (:mod:`~citybridge.resolve.affiliation` for organisation names and free
affiliation strings against ROR, :mod:`~citybridge.resolve.persons`, :mod:`~citybridge.resolve.places`,
:mod:`~citybridge.resolve.documents`), a calibrated match probability (:mod:`~citybridge.resolve.scoring`,
trained by :mod:`~citybridge.resolve.training`), and merges that are reviewed, reversible and recorded
(:mod:`~citybridge.resolve.merge`, :mod:`~citybridge.resolve.runner`, persisted by
:mod:`citybridge.store.merges`). The intake's exact-id resolver stays in :mod:`citybridge.ingest.resolve`.
"""

from __future__ import annotations

from citybridge.resolve.affiliation import FEATURES, AffiliationMatcher, Candidate, parse
from citybridge.resolve.merge import combine, conflicting_ids, survivor_first
from citybridge.resolve.org_index import OrgEntry, OrgIndex, entries_from_ror_files, entries_from_store
from citybridge.resolve.org_matcher import OrgMatcher, match_organizations
from citybridge.resolve.places import PlaceMatch, match_places
from citybridge.resolve.proposals import Proposal
from citybridge.resolve.scoring import MatchModel, shipped_model

__all__ = ["FEATURES", "AffiliationMatcher", "Candidate", "MatchModel", "OrgEntry", "OrgIndex", "OrgMatcher",
           "PlaceMatch", "Proposal", "combine", "conflicting_ids", "entries_from_ror_files", "entries_from_store",
           "match_organizations", "match_places", "parse", "shipped_model", "survivor_first"]
