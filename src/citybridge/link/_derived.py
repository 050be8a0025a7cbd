"""Helpers shared by the linking services: what a caller may see, and a cache of structures derived
from the store that is dropped as soon as the store changes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from citybridge.model.access import Caller, visible_levels
from citybridge.model.taxonomy import builtin_nodes
from citybridge.store import tables as t
from citybridge.store.repository import Store

_LOCK = threading.Lock()
_MAX_ENTRIES = 8
FINGERPRINT_MAX_AGE = 2.0  # seconds a fingerprint is reused while nothing was written through the store


def fingerprint(store: Store) -> tuple[Any, ...]:
    """Changes whenever a record, relation or profile is written or deleted (counts and last update)."""
    out: list[Any] = []
    with store.engine.connect() as conn:
        for table in (t.records, t.relations, t.profiles):
            n, last = conn.execute(select(func.count(), func.max(table.c.updated_at))).one()
            out += [n, str(last)]
    return tuple(out)


def caller_key(caller: Caller) -> tuple[Any, ...]:
    levels, owners = visible_levels(caller)
    return tuple(sorted(levels)), tuple(sorted(owners))


def visible(visibility: str, owner: str | None, key: tuple[Any, ...]) -> bool:
    """``can_see`` on a (levels, owners) key from :func:`caller_key`."""
    return visibility in key[0] or (owner is not None and owner in key[1])


def recent_fingerprint(holder: Any, store: Store) -> tuple[Any, ...]:
    """:func:`fingerprint`, reused for up to :data:`FINGERPRINT_MAX_AGE` s unless something was written
    through ``store`` since (its ``generation``): the scan costs ~0.1 s on a large store, and a web page
    asks for it on every peer-cities or partners answer. Other processes' writes show within that age."""
    now = time.monotonic()
    memo = holder.__dict__.get("_link_fingerprint")
    if memo is not None and memo[0] == store.generation and now - memo[1] < FINGERPRINT_MAX_AGE:
        return memo[2]  # type: ignore[no-any-return]
    generation = store.generation
    fp = fingerprint(store)
    holder.__dict__["_link_fingerprint"] = (generation, now, fp)
    return fp


def cached(holder: Any, name: str, store: Store, caller: Caller, build: Callable[[], Any]) -> Any:
    """``build()`` once per (name, caller visibility, store state); kept on ``holder`` (the Hub)."""
    cache: dict[Any, Any] = holder.__dict__.setdefault("_link_cache", {})
    key = (name, caller_key(caller), recent_fingerprint(holder, store))
    with _LOCK:
        hit = cache.get(key)
    if hit is not None:
        return hit
    value = build()
    with _LOCK:
        for stale in [k for k in cache if k[0] == name and k[1] == key[1]]:
            del cache[stale]
        while len(cache) >= _MAX_ENTRIES:
            cache.pop(next(iter(cache)))
        cache[key] = value
    return value


def label_names() -> dict[str, str]:
    """Display names of SDG and pathway labels: ``sdg:11`` -> "SDG 11: Sustainable cities and communities"."""
    out = {}
    for node in builtin_nodes():
        if node.scheme == "sdg" and "." not in node.code:
            out[f"sdg:{node.code}"] = node.name
        elif node.scheme != "sdg":
            out[f"{node.scheme}:{node.code}"] = f"{node.name} ({node.scheme})"
    return out


def label_name(label: str, names: dict[str, str]) -> str:
    if label in names:
        return names[label]
    scheme, _, value = label.partition(":")
    return f"'{value}'" if scheme == "kw" else label
