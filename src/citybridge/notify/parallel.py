"""Digest batches built (and rendered) by worker processes while the sending process claims and sends.

Building is read-only, so batches of members may be built anywhere; what makes sending exactly-once - the
claim of the items and the send log, one member at a time - stays in the one process that sends. With
``workers`` > 1 the workers are forked from the sending process after its indexes are loaded (the lexical
index, the city index), each keeps its own match cache across the batches it builds, and results come back
in batch order. ``workers`` = 1 builds in the calling process, as before.
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from citybridge.notify.builder import build_digests
from citybridge.notify.model import Digest, Member, Subscription
from citybridge.notify.store import NotifyStore


@dataclass
class Job:
    """What every batch of one run shares."""

    now: datetime
    today: date | None
    since: datetime | None
    per_section: int
    deadline_days: int
    render: bool  # also write each non-empty digest's e-mail (under a fresh digest id)
    due: Callable[[list[Subscription]], list[Subscription]] | None = None  # the subscriptions to cover


@dataclass
class Built:
    digest: Digest
    digest_id: str | None = None
    raw: str | None = None


_STATE: dict[str, Any] = {}


def build_batch(hub: Any, batch: list[Member], job: Job, shared: dict[str, Any]) -> list[Built]:
    """Digests of one batch of members (and their e-mails when ``job.render``)."""
    from citybridge.notify.mail import message, message_id_for

    ns = NotifyStore(hub.store)
    subs: dict[str, list[Subscription]] = {}
    for s in ns.subscriptions([m.id for m in batch]):
        subs.setdefault(s.member_id, []).append(s)
    if job.due is not None:
        subs = {k: due for k, v in subs.items() if (due := job.due(v))}
    batch = [m for m in batch if m.id in subs]
    digests = build_digests(hub, batch, subs, now=job.now, today=job.today, since=job.since,
                            per_section=job.per_section, deadline_days=job.deadline_days,
                            sent=ns.sent_keys([m.id for m in batch]), shared=shared)
    out = []
    for d in digests:
        if job.render and len(d):
            digest_id = "dg_" + uuid.uuid4().hex
            out.append(Built(d, digest_id, message(d, hub.settings, message_id=message_id_for(digest_id,
                                                                                                hub.settings))))
        else:
            out.append(Built(d))
    return out


def _init() -> None:
    hub = _STATE["hub"]
    hub.store.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
    _STATE["shared"] = {}


def _work(k: int) -> list[Built]:
    return build_batch(_STATE["hub"], _STATE["batches"][k], _STATE["job"], _STATE["shared"])


def built_batches(hub: Any, batches: list[list[Member]], job: Job, *, workers: int = 1) -> Iterator[list[Built]]:
    """Each batch's built digests, in batch order; ``workers`` > 1 builds ahead in forked processes."""
    if workers <= 1 or len(batches) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        shared: dict[str, Any] = {}
        for batch in batches:
            yield build_batch(hub, batch, job, shared)
        return
    from citybridge.link.challenge import city_index
    from citybridge.model.access import ANONYMOUS

    city_index(hub, ANONYMOUS)  # built once here, inherited by every worker
    hub.searcher.current()
    _STATE.update({"hub": hub, "batches": batches, "job": job})
    ctx = multiprocessing.get_context("fork")
    try:
        with ctx.Pool(min(workers, len(batches)), initializer=_init) as pool:
            yield from pool.imap(_work, range(len(batches)))
    finally:
        _STATE.clear()
