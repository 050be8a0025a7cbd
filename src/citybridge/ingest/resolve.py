"""Entity resolution on intake: which stored record (if any) is an incoming record the same thing as?

The seam is the :class:`Resolver` protocol; the importer calls it once per batch, inside the batch's
transaction, before records are written. :class:`ExactIdResolver` (the default for connectors) matches
on shared external ids only. Fuzzy resolution (names, places, affiliation strings) runs after intake, over the
whole store, in :mod:`citybridge.resolve` (``Hub.resolve``): its merges are reviewed and reversible, which a
decision taken inside an import batch could not be.

Rules of the exact resolver, per record:

1. A record with an explicit ``id`` keeps it.
2. Otherwise, if its primary id (first by scheme priority, e.g. ``ror`` for organisations, ``doi`` for
   papers) is already held by a record, it becomes that record (sources merge, provenance is united).
3. Otherwise it joins a record that holds one of its other ids, *unless* that record carries a different
   value of a scheme the incoming record also has (two different ROR ids are two organisations even
   when a registry lists the same ISNI for both). Else it gets the id derived from its primary id.
4. External ids held by some other record are dropped from the incoming record (kept in
   ``attributes.conflicting_ids`` for later review) instead of making the store reject it.
5. A content id (``sha256``) held by another record marks the incoming record a duplicate: it is not
   written and is reported as ``unchanged`` with the id of the record that has the same content.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from citybridge.model.entities import EXTERNAL_ID_SCHEMES, Record, derive_id
from citybridge.store.repository import Store, fallback_key

#: schemes whose equality means "same content", not "same entity"
CONTENT_SCHEMES: frozenset[str] = frozenset({"sha256"})


@dataclass(slots=True)
class Resolution:
    """What to do with one incoming record."""

    record: Record
    duplicate_of: str | None = None  # set: do not write, the content is already stored under this id
    dropped: dict[str, str] = field(default_factory=dict)  # external ids that belong to other records


class Resolver(Protocol):
    """Decides the identity of incoming records, a batch at a time."""

    def resolve(self, records: Sequence[Record], store: Store, conn: Any) -> list[Resolution]:
        """One resolution per record, in order. ``conn`` is the open batch transaction."""
        ...


def _priority(scheme: str) -> int:
    try:
        return EXTERNAL_ID_SCHEMES.index(scheme)
    except ValueError:
        return len(EXTERNAL_ID_SCHEMES)


class ExactIdResolver:
    """Match on shared external ids; never merge two records that differ on an id scheme both have."""

    def resolve(self, records: Sequence[Record], store: Store, conn: Any) -> list[Resolution]:
        pairs = [(s, v) for r in records for s, v in r.external_ids.items()]
        owner: dict[tuple[str, str], str] = store.resolve_external(pairs, conn) if pairs else {}
        owners = set(owner.values())
        held: dict[str, dict[str, set[str]]] = store.external_ids_of(owners, conn) if owners else {}
        kinds: dict[str, str] = store.kinds_of(owners, conn) if owners else {}
        out: list[Resolution] = []
        for rec in records:
            res = self._one(rec, owner, held, kinds)
            out.append(res)
            if res.duplicate_of is None:
                tid = res.record.id
                kinds.setdefault(tid, rec.kind.value)
                for s, v in res.record.external_ids.items():
                    owner.setdefault((s, v), tid)
                    held.setdefault(tid, {}).setdefault(s, set()).add(v)
        return out

    def _one(self, rec: Record, owner: dict[tuple[str, str], str], held: dict[str, dict[str, set[str]]],
             kinds: dict[str, str]) -> Resolution:
        ids = rec.external_ids
        target = rec.id or None
        if target is None:
            ordered = sorted(ids.items(), key=lambda kv: _priority(kv[0]))
            if ordered and (ordered[0][0], ordered[0][1]) in owner:
                target = owner[ordered[0]]
            else:
                candidates = sorted(
                    {owner[(s, v)]: _priority(s) for s, v in ordered
                     if (s, v) in owner and s not in CONTENT_SCHEMES}.items(), key=lambda kv: kv[1])
                for cand, _p in candidates:
                    if kinds.get(cand) == rec.kind.value and self._compatible(ids, held.get(cand, {})):
                        target = cand
                        break
            if target is None:
                target = derive_id(rec.kind, rec.natural_key() or fallback_key(rec))
        dropped = {s: v for s, v in ids.items() if owner.get((s, v), target) != target}
        dup = next((owner[(s, v)] for s, v in dropped.items() if s in CONTENT_SCHEMES), None)
        if dup is not None:
            return Resolution(rec, duplicate_of=dup)
        update: dict[str, Any] = {"id": target}
        if dropped:
            update["external_ids"] = {s: v for s, v in ids.items() if s not in dropped}
            update["attributes"] = {**rec.attributes, "conflicting_ids": dropped}
        return Resolution(rec.model_copy(update=update), dropped=dropped)

    @staticmethod
    def _compatible(ids: dict[str, str], other: dict[str, set[str]]) -> bool:
        return all(v in other[s] for s, v in ids.items() if s in other and s not in CONTENT_SCHEMES)


__all__ = ["CONTENT_SCHEMES", "ExactIdResolver", "Resolution", "Resolver"]
