"""Hub methods for dissemination: members, subscriptions, digests, e-mail sends and Atom feeds out.

Members are keyed by their record id (a person, or an organisation or city acting as contact). Interfaces
pass the ``caller``: a curator may act for any member, anyone else only for the member bound to their user
(:meth:`NotifyMixin.member_for`, the one place to change when accounts arrive).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from citybridge.errors import Forbidden, Invalid, NotFound, Unauthorized
from citybridge.model.access import ANONYMOUS, Caller, can_see
from citybridge.notify.model import (
    CHANNELS,
    FREQUENCIES,
    LANGUAGES,
    SUB_TYPES,
    Digest,
    Member,
    Subscription,
    check_choice,
    check_email,
    subscription_id,
)
from citybridge.notify.store import NotifyStore

if TYPE_CHECKING:
    from citybridge.model.entities import Record
    from citybridge.settings import Settings
    from citybridge.store import Store

MEMBER_KINDS = ("person", "organization", "place")
FEED_DAYS = 90
FEED_ENTRIES = 50
SEARCH_FILTERS = ("kind", "subtype", "sdg", "pathway", "country", "region", "language", "source", "year_from",
                  "year_to")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class NotifyMixin:
    """Subscriptions, digests, sends and feeds. Mixed into :class:`citybridge.hub.Hub`."""

    store: Store
    settings: Settings

    def get(self, record_id: str, *, caller: Caller | None = None) -> Record: ...  # provided by Hub

    @property
    def notify_store(self) -> NotifyStore:
        return NotifyStore(self.store)

    # ------------------------------------------------------------------ members
    def register_member(self, member_id: str, *, email: str | None = None, language: str | None = None,
                        principal: str | None = None, groups: list[str] | None = None,
                        network: bool | None = None, caller: Caller | None = None,
                        changed_by: str = "citybridge:notify", now: datetime | None = None) -> Member:
        """Make a record a member who receives digests (or update their settings); the e-mail address
        defaults to the record's own (a person's ``email``, or ``attributes.email``).

        A non-curator ``caller`` registers the record for themselves (it becomes bound to their user and
        takes their groups and network membership); they may not take over a member bound to someone else.
        """
        record = self.get(member_id, caller=caller)
        if record.kind.value not in MEMBER_KINDS:
            raise Invalid(f"a {record.kind.value} cannot receive digests (a person, organisation or city can)",
                          field="member")
        ns = self.notify_store
        old = ns.member(record.id)
        if caller is not None and not caller.curator:
            if not caller.user:
                raise Unauthorized("sign in to subscribe", field="authorization")
            if old is not None and old.principal != caller.user:
                raise Forbidden("this member is registered to someone else", field="member")
            principal, groups, network = caller.user, sorted(caller.groups), caller.member
        address = email or (old.email if old else None) or getattr(record, "email", None) or \
            record.attributes.get("email")
        if not address:
            raise Invalid(f"'{record.name}' has no e-mail address: give one", field="email")
        member = Member(
            id=record.id, email=check_email(str(address)),
            language=check_choice(language or (old.language if old else _language_of(record)), LANGUAGES,
                                  "language"),
            principal=principal if principal is not None else (old.principal if old else None),
            groups=tuple(groups if groups is not None else (old.groups if old else ())),
            network=network if network is not None else (old.network if old else False),
            status="active", name=record.name)
        ns.save_member(member, now=now or utcnow(), changed_by=changed_by)
        return member

    def member_for(self, caller: Caller, member_id: str | None = None) -> Member:
        """The member a web or API caller acts for: any member (``member_id``) for a curator, otherwise
        the member bound to the caller's user."""
        ns = self.notify_store
        if caller.curator and member_id:
            member = ns.member(self.get(member_id).id)
            if member is None:
                raise NotFound(f"'{member_id}' has not subscribed to anything", field="member")
            return member
        if not caller.user:
            raise Unauthorized("sign in to see your digest", field="authorization")
        member = ns.member_for_principal(caller.user)
        if member is None or (member_id and member.id != member_id and not caller.curator):
            raise NotFound("you have not subscribed to anything yet", field="member")
        return member

    # ------------------------------------------------------------------ subscriptions
    def subscribe(self, member_id: str, sub_type: str, value: str | None = None, *,
                  filters: dict[str, Any] | None = None, frequency: str = "weekly", channel: str = "email",
                  caller: Caller | None = None, changed_by: str = "citybridge:notify",
                  now: datetime | None = None) -> tuple[Subscription, bool]:
        """Follow something: a ``theme`` (``sdg:7``, ``pathway:circular``), a ``keyword`` ("energy
        communities"), a ``place`` (id or city name), a saved ``search`` (words + ``filters``), a ``record``
        (project, organisation, call ...) or ``profile`` (what matches the member's own expertise and city).

        The member must be registered (:meth:`register_member`). Returns the subscription and whether it is
        new (following the same thing twice updates frequency and channel).

        >>> hub.subscribe("per_123", "place", "Lisbon", frequency="daily")   # doctest: +SKIP
        """
        check_choice(sub_type, SUB_TYPES, "type")
        check_choice(frequency, FREQUENCIES, "frequency")
        check_choice(channel, CHANNELS, "channel")
        ns = self.notify_store
        member = ns.member(member_id) if caller is None or caller.curator else self.member_for(caller, member_id)
        if member is None:
            raise NotFound(f"'{member_id}' is not registered for digests (register the member first)",
                           field="member")
        target, query, label, flt = self._resolve_target(sub_type, (value or "").strip(), filters or {},
                                                         member.caller)
        sub = Subscription(id=subscription_id(member.id, sub_type, target, query, flt), member_id=member.id,
                           type=sub_type, label=label, target=target, query=query, filters=flt, frequency=frequency,
                           channel=channel, created_at=now or utcnow())
        created = ns.add_subscription(sub, changed_by=changed_by)
        return ns.subscription(sub.id), created

    def _resolve_target(self, sub_type: str, value: str, filters: dict[str, Any], caller: Caller
                        ) -> tuple[str | None, str | None, str, dict[str, Any]]:
        """(target, query, label, filters) of a subscription, checked against the store."""
        if sub_type == "profile":
            return None, None, "my profile", {}
        if sub_type in ("keyword", "search"):
            if len(value) > 500:
                raise Invalid("keep the words under 500 characters", field="query")
            flt = _clean_filters(filters) if sub_type == "search" else {}
            if not value and not flt:
                raise Invalid(f"a {sub_type} needs words" + (" or filters" if sub_type == "search" else ""),
                              field="query")
            if sub_type == "search":
                self.search(value, flt, (), 1, per_page=1, mode="lexical")  # type: ignore[attr-defined]
            label = value or ", ".join(f"{k}={v}" for k, v in flt.items())
            if sub_type == "search" and value and flt:
                label += " (" + ", ".join(f"{k}={v}" for k, v in flt.items()) + ")"
            return None, value or None, label, flt
        if not value:
            raise Invalid(f"say which {sub_type} to follow", field="value")
        if sub_type == "theme":
            return self._theme(value)
        if sub_type == "place":
            place = self._place(value, caller)
            return place.id, None, place.name, {}
        record = self.get(value, caller=caller)
        return record.id, None, record.name, {}

    def _theme(self, value: str) -> tuple[str, None, str, dict[str, Any]]:
        from citybridge.link._derived import label_names

        label = value if ":" in value else (f"sdg:{value}" if value.isdigit() else value)
        scheme, _, code = label.partition(":")
        from citybridge.model.taxonomy import theme_id

        try:
            theme = self.get(theme_id(scheme, code))
        except NotFound:
            raise NotFound(f"no theme '{value}' (e.g. sdg:7, pathway:circular)", field="value") from None
        return label, None, label_names().get(label, theme.name), {}

    def _place(self, value: str, caller: Caller) -> Record:
        from citybridge.link.challenge import city_index, resolve_focus

        with contextlib.suppress(NotFound):
            record = self.get(value, caller=caller)
            if record.kind.value != "place":
                raise Invalid(f"'{value}' is a {record.kind.value}, not a place", field="value")
            return record
        with contextlib.suppress(NotFound):
            return self.get(resolve_focus(self, value, city_index(self, caller), caller).id, caller=caller)
        from sqlalchemy import func, select

        from citybridge.store import tables as t

        r = t.records.c
        with self.store.engine.connect() as conn:
            row = conn.execute(select(r.id).where(r.kind == "place", func.lower(r.name) == value.lower())
                               .order_by(r.subtype.desc(), r.id)).first()
        if row is None:
            raise NotFound(f"no place named '{value}'", field="value")
        return self.get(row.id, caller=caller)

    def subscriptions(self, member_id: str | None = None, *, caller: Caller | None = None) -> list[Subscription]:
        """A member's subscriptions (every member's when ``member_id`` is None and no caller is given)."""
        if caller is not None:
            return self.notify_store.subscriptions([self.member_for(caller, member_id).id])
        return self.notify_store.subscriptions([member_id] if member_id else None)

    def unsubscribe(self, sub_id: str, *, caller: Caller | None = None) -> Subscription:
        """Stop one subscription."""
        ns = self.notify_store
        sub = ns.subscription(sub_id)
        if caller is not None and self.member_for(caller, sub.member_id).id != sub.member_id:
            raise NotFound(f"no subscription with id '{sub_id}'", field="subscription")
        return ns.remove_subscription(sub_id)

    def unsubscribe_member(self, member_id: str, token: str | None, *, changed_by: str = "unsubscribe-link",
                           now: datetime | None = None) -> Member:
        """One-click unsubscribe from every digest, authorised by the signed link of the e-mail; repeating it
        is harmless."""
        from citybridge.notify.signing import UNSUBSCRIBE, verify

        verify(self.settings.signing_key, UNSUBSCRIBE, member_id, token)
        ns = self.notify_store
        member = ns.member(member_id)
        if member is None:
            raise NotFound("nothing to unsubscribe from", field="member")
        ns.set_status(member_id, "unsubscribed", now=now or utcnow(), changed_by=changed_by)
        return ns.member(member_id)  # type: ignore[return-value]

    # ------------------------------------------------------------------ digests
    def digest(self, member_id: str, since: datetime | None = None, *, now: datetime | None = None,
               today: date | None = None, caller: Caller | None = None) -> Digest:
        """The member's next digest as it would be sent now: new or changed records since their last digest
        (since ``since`` when given) matching their subscriptions, ranked, deduplicated, at most
        ``CITYBRIDGE_DIGEST_ITEMS`` per section, each with the reasons it was chosen, only what the member may
        see, and nothing already sent to them.

        >>> hub.digest("per_123").sections["calls"][0].reasons   # doctest: +SKIP
        """
        from citybridge.notify.builder import build_digests

        ns = self.notify_store
        member = self.member_for(caller, member_id) if caller is not None else ns.member(member_id)
        if member is None:
            raise NotFound(f"'{member_id}' is not registered for digests", field="member")
        subs = [s for s in ns.subscriptions([member.id]) if s.emailed]
        return build_digests(self, [member], {member.id: subs}, now=now or utcnow(), today=today, since=since,
                             per_section=self.settings.digest_items,
                             deadline_days=self.settings.digest_deadline_days, sent=ns.sent_keys([member.id]))[0]

    def render_digest(self, digest: Digest) -> dict[str, str]:
        """``{"subject", "text", "html"}`` of a digest in the member's language."""
        from citybridge.notify.mail import render

        return render(digest, self.settings)

    def send_digests(self, *, member_ids: list[str] | None = None, since: datetime | None = None,
                     now: datetime | None = None, today: date | None = None, dry_run: bool = False,
                     changed_by: str = "citybridge:digest", progress: Callable[[int], None] | None = None
                     ) -> dict[str, Any]:
        """Send due digests by e-mail, safely repeatable; see :func:`citybridge.notify.sending.send_digests`."""
        from citybridge.notify.sending import send_digests

        if member_ids:
            member_ids = [self.get(m).id for m in member_ids]
        return send_digests(self, member_ids=member_ids, since=since, now=now or utcnow(), today=today,
                            dry_run=dry_run, changed_by=changed_by, progress=progress)

    def digests_sent(self, member_id: str) -> list[dict[str, Any]]:
        return self.notify_store.digests_of(member_id)

    # ------------------------------------------------------------------ feeds
    def subscription_feed(self, sub_id: str, key: str | None, *, now: datetime | None = None) -> Any:
        """The Atom feed of one subscription (channel feed or both), authorised by its signed link; entries
        are the subscription's matches of the last 90 days the member may see, newest first."""
        from citybridge.notify.builder import build_digests
        from citybridge.notify.signing import FEED, verify

        verify(self.settings.signing_key, FEED, sub_id, key)
        ns = self.notify_store
        sub = ns.subscription(sub_id)
        member = ns.member(sub.member_id)
        if member is None or sub.channel not in ("feed", "both"):
            raise NotFound(f"no feed for subscription '{sub_id}'", field="subscription")
        now = now or utcnow()
        fresh = Subscription(**{**sub.__dict__, "last_digest_at": None})
        digest = build_digests(self, [member], {member.id: [fresh]}, now=now, since=now - timedelta(days=FEED_DAYS),
                               per_section=FEED_ENTRIES, deadline_days=self.settings.digest_deadline_days)[0]
        items = sorted(digest.items, key=lambda i: (i.changed_at, i.record_id), reverse=True)[:FEED_ENTRIES]
        base = self.settings.public_url.rstrip("/")
        return self._feed(f"urn:citybridge:subscription:{sub.id}", f"citybridge: {sub.label}",
                          f"{base}/feeds/{sub.id}.atom?key={key}", f"{base}/digest?member={member.id}",
                          [(i.record_id, i.name, i.changed_at, i.summary, [i.section, i.kind]) for i in items], now)

    def search_feed(self, query: str, filters: dict[str, Any] | None = None, *, caller: Caller = ANONYMOUS,
                    self_url: str, alternate_url: str, now: datetime | None = None) -> Any:
        """The Atom feed of a search: the records it matches that ``caller`` may see, most recently changed
        first (at most 50)."""
        from sqlalchemy import select

        from citybridge.store import tables as t

        found = self.searcher.matching(query, filters=filters or None, caller=caller)  # type: ignore[attr-defined]
        r = t.records.c
        rows: list[Any] = []
        ids = list(found)
        q = select(r.id, r.name, r.kind, r.updated_at, r.visibility, r.owner)
        with self.store.engine.connect() as conn:
            for n in range(0, len(ids), 900):
                rows += [x for x in conn.execute(q.where(r.id.in_(ids[n:n + 900])))
                         if can_see(x.visibility, x.owner, caller)]
        rows.sort(key=lambda x: (_utc(x.updated_at), x.id), reverse=True)
        rows = rows[:FEED_ENTRIES]
        records = self.store.get_many(x.id for x in rows)
        entries = [(x.id, x.name, _utc(x.updated_at), _summary(records.get(x.id)), [x.kind]) for x in rows]
        title = f"citybridge: {query}" if query else "citybridge: " + ", ".join(f"{k}={v}" for k, v in
                                                                               (filters or {}).items())
        return self._feed("urn:citybridge:search:" + _digest_of(query, filters), title, self_url, alternate_url,
                          entries, now or utcnow())

    def _feed(self, feed_id: str, title: str, self_url: str, alternate_url: str, rows: list[Any],
              now: datetime) -> Any:
        from citybridge.notify.atom import Entry, render_feed
        from citybridge.notify.mail import entity_url

        base = self.settings.public_url.rstrip("/")
        entries = [Entry(record_id=rid, title=name, updated=updated, url=entity_url(base, rid), summary=summary,
                         categories=[c for c in cats if c]) for rid, name, updated, summary, cats in rows]
        return render_feed(feed_id=feed_id, title=title, self_url=self_url, alternate_url=alternate_url,
                           entries=entries, generated_at=now)

    def feed_link(self, sub: Subscription) -> str:
        """The signed URL of a subscription's Atom feed."""
        from citybridge.notify.signing import FEED, sign

        key = sign(self.settings.signing_key, FEED, sub.id)
        return f"{self.settings.public_url.rstrip('/')}/feeds/{sub.id}.atom?key={key}"


def _language_of(record: Any) -> str:
    for lang in record.languages or ():
        if lang in LANGUAGES:
            return str(lang)
    return "en"


def _clean_filters(filters: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in filters.items():
        if k not in SEARCH_FILTERS:
            raise Invalid(f"unknown filter '{k}' (one of: {', '.join(SEARCH_FILTERS)})", field=k)
        if v in (None, "", [], ()):
            continue
        out[k] = sorted(str(x) for x in v) if isinstance(v, list | tuple | set) else str(v)
    return dict(sorted(out.items()))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _summary(record: Any, chars: int = 400) -> str | None:
    text = " ".join((getattr(record, "description", None) or "").split())
    return text[:chars] or None


def _digest_of(query: str, filters: dict[str, Any] | None) -> str:
    import hashlib
    import json

    return hashlib.sha1(json.dumps([query, filters or {}], sort_keys=True).encode()).hexdigest()[:16]
