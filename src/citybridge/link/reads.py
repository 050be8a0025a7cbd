"""Records and annotations as link's sections read them, kept per store state: the hits of related
challenges are largely the same records, and reading one from the store costs a query, a JSON parse and a
model validation. Bounded (``MAX_ENTRIES`` records and as many annotation lists, oldest dropped first) and
dropped whole when the store moves (a write: SQLite's change token, or else the store's fingerprint), so
nothing older than the store is served."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from citybridge.link._derived import current_fingerprint
from citybridge.store.enrichment import EnrichmentStore
from citybridge.store.state import change_token

MAX_ENTRIES = 5_000  # records of ~15 link calls; a report with its full text can weigh hundreds of kB
_MISSING = object()
_lock = threading.Lock()


def _state(hub: Any) -> dict[str, Any]:
    # the change token (a PRAGMA) moves on every commit by any process: cheaper than the fingerprint's counts
    # and never later than it; without one (PostgreSQL), the fingerprint
    token = change_token(hub.store)
    fp = ("token", token) if token is not None else ("fingerprint", current_fingerprint(hub, hub.store))
    with _lock:
        state = hub.__dict__.get("_link_reads")
        if state is None or state["fp"] != fp:
            state = {"fp": fp, "records": OrderedDict(), "annotations": OrderedDict()}
            hub.__dict__["_link_reads"] = state
    return state  # type: ignore[no-any-return]


def _keep(cache: OrderedDict[Any, Any], items: dict[Any, Any]) -> None:
    with _lock:
        cache.update(items)
        while len(cache) > MAX_ENTRIES:
            cache.popitem(last=False)


def records(hub: Any, ids: Iterable[str]) -> dict[str, Any]:
    """``store.get_many(ids)`` (ids that do not exist are absent)."""
    state = _state(hub)
    cache = state["records"]
    out: dict[str, Any] = {}
    missing = []
    with _lock:
        for rid in dict.fromkeys(ids):
            hit = cache.get(rid)
            if hit is None:
                missing.append(rid)
            elif hit is not _MISSING:
                out[rid] = hit
    if missing:
        found = hub.store.get_many(missing)
        _keep(cache, {rid: found.get(rid, _MISSING) for rid in missing})
        out.update(found)
    return out


def annotations(hub: Any, ids: Iterable[str], steps: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    """``EnrichmentStore.annotations_for(ids, steps=steps)`` (records without any are absent)."""
    state = _state(hub)
    cache = state["annotations"]
    out: dict[str, list[dict[str, Any]]] = {}
    missing = []
    with _lock:
        for rid in dict.fromkeys(ids):
            hit = cache.get((rid, steps))
            if hit is None:
                missing.append(rid)
            elif hit:
                out[rid] = hit
    if missing:
        found = EnrichmentStore(hub.store).annotations_for(missing, steps=steps)
        _keep(cache, {(rid, steps): found.get(rid, []) for rid in missing})
        out.update({rid: v for rid, v in found.items() if v})
    return out


__all__ = ["annotations", "records"]
