"""Persistence of dissemination: members, subscriptions, digests and the send log, over SQLAlchemy Core.

The send log is what makes sending safe to repeat: a digest's items are *claimed* (one row per member and
item, unique) in the same transaction that stores the digest as ``pending`` with its whole message, before
any SMTP traffic; the digest becomes ``sent`` once the server has accepted it. A run that dies in between
leaves a pending digest, which the next run sends as it was (same Message-ID, same items); an item once
claimed is never put into another digest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from citybridge.errors import Conflict, NotFound
from citybridge.notify.model import Item, Member, Subscription
from citybridge.store import tables as t
from citybridge.store.repository import Store, _chunks


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class NotifyStore:
    """Members, subscriptions and digests of one :class:`~citybridge.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # ------------------------------------------------------------------ members
    def save_member(self, member: Member, *, now: datetime, changed_by: str) -> None:
        row = {"email": member.email, "language": member.language, "principal": member.principal,
               "groups": json.dumps(list(member.groups)), "network": member.network, "status": member.status,
               "updated_at": now, "changed_by": changed_by}
        m = t.notify_members.c
        with self.engine.begin() as conn:
            done = conn.execute(update(t.notify_members).where(m.member_id == member.id).values(**row)).rowcount
            if not done:
                conn.execute(insert(t.notify_members).values(member_id=member.id, created_at=now, **row))

    def member(self, member_id: str) -> Member | None:
        found = self.members([member_id], active_only=False)
        return found[0] if found else None

    def members(self, ids: Iterable[str] | None = None, *, active_only: bool = True) -> list[Member]:
        m = t.notify_members.c
        q = select(t.notify_members, t.records.c.name).join(t.records, t.records.c.id == m.member_id)
        if active_only:
            q = q.where(m.status == "active")
        rows: list[Any] = []
        with self.engine.connect() as conn:
            if ids is None:
                rows = list(conn.execute(q.order_by(m.member_id)))
            else:
                for chunk in _chunks(list(dict.fromkeys(ids))):
                    rows += conn.execute(q.where(m.member_id.in_(chunk)).order_by(m.member_id)).all()
        return [Member(id=r.member_id, email=r.email, language=r.language, principal=r.principal,
                       groups=tuple(json.loads(r.groups)), network=bool(r.network), status=r.status, name=r.name)
                for r in rows]

    def member_for_principal(self, principal: str) -> Member | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.notify_members.c.member_id).where(
                t.notify_members.c.principal == principal).order_by(t.notify_members.c.member_id)).first()
        return self.member(row.member_id) if row else None

    def set_status(self, member_id: str, status: str, *, now: datetime, changed_by: str) -> bool:
        """Returns whether the status changed."""
        m = t.notify_members.c
        with self.engine.begin() as conn:
            n = conn.execute(update(t.notify_members).where(m.member_id == member_id, m.status != status)
                             .values(status=status, updated_at=now, changed_by=changed_by)).rowcount
        return bool(n)

    # ------------------------------------------------------------------ subscriptions
    def add_subscription(self, sub: Subscription, *, changed_by: str) -> bool:
        """Store a subscription; False when the member already follows exactly this (its settings are updated)."""
        s = t.subscriptions.c
        with self.engine.begin() as conn:
            if conn.execute(select(s.id).where(s.id == sub.id)).first() is not None:
                conn.execute(update(t.subscriptions).where(s.id == sub.id).values(
                    frequency=sub.frequency, channel=sub.channel, label=sub.label, changed_by=changed_by))
                return False
            conn.execute(insert(t.subscriptions).values(
                id=sub.id, member_id=sub.member_id, type=sub.type, target=sub.target, query=sub.query,
                filters=json.dumps(sub.filters, sort_keys=True), label=sub.label, frequency=sub.frequency,
                channel=sub.channel, created_at=sub.created_at, last_digest_at=None, changed_by=changed_by))
        return True

    def remove_subscription(self, sub_id: str) -> Subscription:
        sub = self.subscription(sub_id)
        with self.engine.begin() as conn:
            conn.execute(delete(t.subscriptions).where(t.subscriptions.c.id == sub_id))
        return sub

    def subscription(self, sub_id: str) -> Subscription:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.subscriptions).where(t.subscriptions.c.id == sub_id)).first()
        if row is None:
            raise NotFound(f"no subscription with id '{sub_id}'", field="subscription")
        return _sub(row)

    def subscriptions(self, member_ids: Iterable[str] | None = None) -> list[Subscription]:
        s = t.subscriptions.c
        q = select(t.subscriptions).order_by(s.member_id, s.created_at, s.id)
        with self.engine.connect() as conn:
            if member_ids is None:
                return [_sub(r) for r in conn.execute(q)]
            out: list[Subscription] = []
            for chunk in _chunks(list(dict.fromkeys(member_ids))):
                out += [_sub(r) for r in conn.execute(q.where(s.member_id.in_(chunk)))]
            return out

    # ------------------------------------------------------------------ send log
    def sent_keys(self, member_ids: Iterable[str]) -> dict[str, set[str]]:
        """Member id -> keys of the items already claimed by one of their digests (pending or sent)."""
        out: dict[str, set[str]] = {}
        d = t.digest_items.c
        with self.engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(member_ids))):
                for r in conn.execute(select(d.member_id, d.item_key).where(d.member_id.in_(chunk))):
                    out.setdefault(r.member_id, set()).add(r.item_key)
        return out

    def claim(self, *, digest_id: str, member_id: str, cutoff: datetime, items: list[Item], sub_ids: list[str],
              message_id: str, message: str, now: datetime, changed_by: str) -> None:
        """Store a digest as pending with its message and claim its items, in one transaction; raises Conflict
        when another run claimed one of the items first (nothing is stored then)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(t.digests).values(
                    id=digest_id, member_id=member_id, status="pending", cutoff=cutoff, items=len(items),
                    subscriptions=json.dumps(sub_ids), message_id=message_id, message=message, created_at=now,
                    changed_by=changed_by))
                conn.execute(insert(t.digest_items), [
                    {"member_id": member_id, "item_key": i.key, "digest_id": digest_id, "record_id": i.record_id,
                     "section": i.section} for i in items])
        except IntegrityError:
            raise Conflict(f"another run is sending a digest to '{member_id}' with some of these items",
                           field="member") from None

    def mark_sent(self, digest_id: str, *, now: datetime) -> None:
        """The server accepted the message: the digest is sent and its subscriptions are covered up to its
        cut-off."""
        with self.engine.begin() as conn:
            row = conn.execute(select(t.digests.c.subscriptions, t.digests.c.cutoff)
                               .where(t.digests.c.id == digest_id)).one()
            conn.execute(update(t.digests).where(t.digests.c.id == digest_id)
                         .values(status="sent", sent_at=now, error=None))
            self._advance(conn, json.loads(row.subscriptions), _utc(row.cutoff))  # type: ignore[arg-type]

    def mark_failed(self, digest_id: str, error: str, *, now: datetime) -> None:
        """The server refused the message for good: keep the digest as failed and release its items, so a
        later digest (to a corrected address) still carries them."""
        with self.engine.begin() as conn:
            conn.execute(update(t.digests).where(t.digests.c.id == digest_id)
                         .values(status="failed", error=error[:2000], sent_at=now))
            conn.execute(delete(t.digest_items).where(t.digest_items.c.digest_id == digest_id))

    def advance(self, sub_ids: list[str], cutoff: datetime) -> None:
        """Subscriptions covered up to ``cutoff`` by a digest that had nothing new (no message is sent)."""
        with self.engine.begin() as conn:
            self._advance(conn, sub_ids, cutoff)

    @staticmethod
    def _advance(conn: Any, sub_ids: list[str], cutoff: datetime) -> None:
        s = t.subscriptions.c
        for chunk in _chunks(sub_ids):
            conn.execute(update(t.subscriptions).where(s.id.in_(chunk)).values(last_digest_at=cutoff))

    def pending(self, member_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Digests stored but not (known to be) accepted by the server, oldest first."""
        d = t.digests.c
        q = select(d.id, d.member_id, d.message_id, d.message, d["items"], d.created_at).where(
            d.status == "pending").order_by(d.created_at, d.id)
        if member_ids is not None:
            q = q.where(d.member_id.in_(list(member_ids)))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def digests_of(self, member_id: str, *, limit: int = 10) -> list[dict[str, Any]]:
        d = t.digests.c
        q = (select(d.id, d.status, d.cutoff, d["items"], d.message_id, d.created_at, d.sent_at, d.error,
                    d.changed_by).where(d.member_id == member_id).order_by(d.created_at.desc(), d.id).limit(limit))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def digest_record_ids(self, digest_id: str) -> list[str]:
        with self.engine.connect() as conn:
            return [r.record_id for r in conn.execute(select(t.digest_items.c.record_id)
                                                       .where(t.digest_items.c.digest_id == digest_id))]


def _sub(row: Any) -> Subscription:
    return Subscription(id=row.id, member_id=row.member_id, type=row.type, label=row.label, target=row.target,
                        query=row.query, filters=json.loads(row.filters or "{}"), frequency=row.frequency,
                        channel=row.channel, created_at=_utc(row.created_at), last_digest_at=_utc(row.last_digest_at))
