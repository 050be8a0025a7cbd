"""Helpers shared by the linking services: what a caller may see, and a cache of structures derived
from the store that follows the store's changes.

Two ways to follow them (``Settings.link_refresh``): ``sync`` (the default of a Hub) rebuilds a structure
before it is used once the store changed; ``background`` (what ``citybridge serve`` uses) keeps serving the
previous structure while one thread rebuilds it, at most every ``link_refresh_seconds``, so a write never
puts a rebuild (seconds on a large store) on a reader's path."""

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
from citybridge.store.state import change_token

_LOCK = threading.Lock()
_MAX_ENTRIES = 8
_RECHECK_SECONDS = 2.0  # without a cheap change signal (PostgreSQL), re-read the fingerprint this often
_FP_LOCK = threading.Lock()  # one thread re-reads the fingerprint after a write; the others wait for its answer


def fingerprint(store: Store) -> tuple[Any, ...]:
    """Changes whenever a record, relation or profile is written or deleted (counts and last update)."""
    out: list[Any] = []
    with store.engine.connect() as conn:
        for table in (t.records, t.relations, t.profiles):
            n, last = conn.execute(select(func.count(), func.max(table.c.updated_at))).one()
            out += [n, str(last)]
    return tuple(out)


def current_fingerprint(holder: Any, store: Store) -> tuple[Any, ...]:
    """:func:`fingerprint`, re-read only when the store's change token moved (or, without a token, at most
    every 2 seconds, like the search indexes). After a write, one thread re-reads it (three counting queries:
    tens of milliseconds on a large store) while the others wait for its answer, instead of every busy
    thread running the same queries at once."""

    def fresh(token: Any, generation: int, now: float) -> tuple[Any, ...] | None:
        memo = holder.__dict__.get("_link_fingerprint")
        if memo is not None:
            last_token, last_generation, last_at, fp = memo
            same = token == last_token and generation == last_generation
            if same and (token is not None or now - last_at < _RECHECK_SECONDS):
                return fp  # type: ignore[no-any-return]
        return None

    token = change_token(store)
    generation = getattr(store, "generation", 0)
    fp = fresh(token, generation, time.monotonic())
    if fp is not None:
        return fp
    with _FP_LOCK:
        now = time.monotonic()
        fp = fresh(token, generation, now)  # another thread may have read it for this state while we waited
        if fp is None:
            fp = fingerprint(store)
            holder.__dict__["_link_fingerprint"] = (token, generation, now, fp)
    return fp


def caller_key(caller: Caller) -> tuple[Any, ...]:
    levels, owners = visible_levels(caller)
    return tuple(sorted(levels)), tuple(sorted(owners))


def visible(visibility: str, owner: str | None, key: tuple[Any, ...]) -> bool:
    """``can_see`` on a (levels, owners) key from :func:`caller_key`."""
    return visibility in key[0] or (owner is not None and owner in key[1])


def _refresh_mode(holder: Any) -> tuple[bool, float]:
    settings = getattr(holder, "settings", None)
    return (getattr(settings, "link_refresh", "sync") == "background",
            float(getattr(settings, "link_refresh_seconds", 30.0)))


def _build_and_keep(holder: Any, cache: dict[Any, Any], key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    value = build()
    with _LOCK:
        for stale in [k for k in cache if k[0] == key[0] and k[1] == key[1]]:
            del cache[stale]
        while len(cache) >= _MAX_ENTRIES:
            cache.pop(next(iter(cache)))
        cache[key] = value
        holder.__dict__.setdefault("_link_checked_at", {})[key[:2]] = time.monotonic()
    return value


def _newest(holder: Any, cache: dict[Any, Any], name: str, ckey: tuple[Any, ...], store: Store,
            build: Callable[[], Any], every: float) -> Any:
    """Background mode: the structure of this name and caller, whatever store state it was built from (None
    when there is none yet). When it was last checked more than ``every`` seconds ago, one thread checks the
    store's fingerprint and rebuilds it if the store changed: the reader never waits for either."""
    with _LOCK:
        keys = [k for k in cache if k[0] == name and k[1] == ckey]
        if not keys:
            return None
        value = cache[keys[-1]]
        running: set[Any] = holder.__dict__.setdefault("_link_refreshing", set())
        checked = holder.__dict__.setdefault("_link_checked_at", {})
        if (name, ckey) in running or time.monotonic() - checked.get((name, ckey), 0.0) < every:
            return value
        running.add((name, ckey))

    def refresh() -> None:
        try:
            key = (name, ckey, current_fingerprint(holder, store))
            with _LOCK:
                current = key in cache
                if current:
                    checked[key[:2]] = time.monotonic()
            if not current:
                _build_and_keep(holder, cache, key, build)
        except Exception:  # noqa: BLE001 - a failed refresh keeps the old structure; a later call retries
            import logging

            logging.getLogger("citybridge.link").exception("background rebuild of %s failed", name)
        finally:
            with _LOCK:
                running.discard((name, ckey))

    threading.Thread(target=refresh, name=f"citybridge-link-{name}", daemon=True).start()
    return value


def cached(holder: Any, name: str, store: Store, caller: Caller, build: Callable[[], Any]) -> Any:
    """``build()`` once per (name, caller visibility, store state); kept on ``holder`` (the Hub). In background
    mode (see the module) the structure built last is served while a newer one is built."""
    cache: dict[Any, Any] = holder.__dict__.setdefault("_link_cache", {})
    background, every = _refresh_mode(holder)
    if background:
        old = _newest(holder, cache, name, caller_key(caller), store, build, every)
        if old is not None:
            return old
    key = (name, caller_key(caller), current_fingerprint(holder, store))
    with _LOCK:
        hit = cache.get(key)
        if hit is not None:
            return hit
    with _LOCK:
        building = holder.__dict__.setdefault("_link_building", {}).setdefault(key, threading.Lock())
    # one thread builds, concurrent callers of the same key wait for it instead of building in parallel
    # (a build reads much of the store: many at once exhaust the connection pool and the cores)
    with building:
        with _LOCK:
            hit = cache.get(key)
        if hit is not None:
            return hit
        value = _build_and_keep(holder, cache, key, build)
        with _LOCK:
            holder.__dict__["_link_building"].pop(key, None)
    return value


def shared_index(holder: Any, name: str, caller: Caller, cls: type, build: Callable[[], Any],
                 share: bool = True) -> Any:
    """:func:`cached`, and when ``share``: the structure of the store's current state is the memory-mapped
    artifact all processes serving this store use (see :mod:`citybridge.link.artifacts`), built by one of
    them. ``share`` is for what every caller may see (the structures of anonymous visitors, the profile
    index, which is masked per query); other callers' structures are built in memory."""
    store = holder.store

    def make() -> Any:
        if not share:
            return build()
        from citybridge.link.artifacts import artifact_root, shared

        return shared(artifact_root(holder), name, current_fingerprint(holder, store), cls, build)

    return cached(holder, name, store, caller, make)


def is_public(caller: Caller) -> bool:
    """Whether ``caller`` sees what an anonymous visitor sees, no more."""
    from citybridge.model.access import ANONYMOUS

    return caller_key(caller) == caller_key(ANONYMOUS)


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
