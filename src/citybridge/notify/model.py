"""What dissemination is made of: members, subscriptions, digest items with their reasons. Pure, no I/O."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from citybridge.errors import Invalid
from citybridge.model.access import Caller

SUB_TYPES = ("theme", "keyword", "place", "search", "record", "profile")
FREQUENCIES: dict[str, timedelta] = {"daily": timedelta(days=1), "weekly": timedelta(days=7),
                                     "monthly": timedelta(days=30)}
CHANNELS = ("email", "feed", "both")
LANGUAGES = ("en", "es", "pt", "fr", "de")
#: digest sections, in the order a digest shows them
SECTIONS = ("calls", "projects", "research", "news", "peers", "organisations")
#: a run a little early still counts (a daily cron line at 06:00 that starts at 05:59:58)
DUE_SLACK = timedelta(hours=1)


@dataclass(frozen=True)
class Member:
    """Someone who receives digests: a person record, or an organisation / city record acting as contact."""

    id: str
    email: str
    language: str = "en"
    principal: str | None = None  # the caller user whose view the digests take (default: the member's id)
    groups: tuple[str, ...] = ()
    network: bool = False
    status: str = "active"
    name: str = ""

    @property
    def caller(self) -> Caller:
        """The view a digest takes: never a curator's, so a digest shows only what this member may see."""
        return Caller(user=self.principal or self.id, groups=frozenset(self.groups), member=self.network)


@dataclass(frozen=True)
class Subscription:
    """One thing a member follows, how often, and through which channel."""

    id: str
    member_id: str
    type: str
    label: str
    target: str | None = None
    query: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    frequency: str = "weekly"
    channel: str = "email"
    created_at: datetime | None = None
    last_digest_at: datetime | None = None

    @property
    def key(self) -> tuple[Any, ...]:
        """What is matched, the same for every member following the same thing (one search per key)."""
        if self.type == "profile":
            return ("profile", self.member_id)
        return (self.type, self.target, self.query, json.dumps(self.filters, sort_keys=True))

    def due(self, now: datetime) -> bool:
        return self.last_digest_at is None or now >= self.last_digest_at + FREQUENCIES[self.frequency] - DUE_SLACK

    @property
    def emailed(self) -> bool:
        return self.channel in ("email", "both")


def subscription_id(member_id: str, sub_type: str, target: str | None, query: str | None,
                    filters: dict[str, Any]) -> str:
    """Stable id of a subscription: the same member following the same thing twice is one subscription."""
    raw = json.dumps([member_id, sub_type, target, query, filters], sort_keys=True, ensure_ascii=False)
    return "sub_" + hashlib.blake2b(raw.encode("utf-8"), digest_size=10).hexdigest()


def check_choice(value: str, allowed: tuple[str, ...] | dict[str, Any], name: str) -> str:
    if value not in allowed:
        raise Invalid(f"unknown {name} '{value}' (one of: {', '.join(allowed)})", field=name)
    return value


def check_email(email: str) -> str:
    """A plausible single address (the SMTP server has the last word); one line, no display name."""
    email = (email or "").strip()
    local, at, domain = email.rpartition("@")
    if (not at or not local or not domain or len(email) > 320 or len(local) > 64 or "." not in domain.strip(".")
            or any(c.isspace() or c in "<>,;:\"()[]\\" for c in email)):
        raise Invalid(f"'{email}' is not an e-mail address", field="email")
    return email


@dataclass
class Reason:
    """Why an item was chosen: a code the templates phrase in the member's language, and its values."""

    code: str  # theme | keyword | place | search | record | profile | profile_city | peer | deadline | updated
    values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, **self.values}


@dataclass
class Item:
    """One record in a digest, with the reasons it was chosen."""

    record_id: str
    version: int
    kind: str
    subtype: str | None
    name: str
    section: str
    score: float
    new: bool
    changed_at: datetime
    reasons: list[Reason] = field(default_factory=list)
    deadline: str | None = None
    summary: str | None = None
    updated: bool = False  # changed since the member last heard of it, not new

    @property
    def key(self) -> str:
        """What the send log remembers: a record in one version is sent to a member at most once."""
        return f"{self.record_id}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.record_id, "version": self.version, "kind": self.kind, "subtype": self.subtype,
                "name": self.name, "section": self.section, "score": round(self.score, 4), "new": self.new,
                "updated": self.updated,
                "changed_at": self.changed_at.isoformat(), "deadline": self.deadline, "summary": self.summary,
                "reasons": [r.to_dict() for r in self.reasons]}


@dataclass
class Digest:
    """A member's digest: sections of items (at most N each) and how many more matched."""

    member: Member
    cutoff: datetime
    sections: dict[str, list[Item]]
    more: dict[str, int]
    subscriptions: list[Subscription]
    first: bool = False  # the member's first digest: the latest matches, not only changes since

    @property
    def items(self) -> list[Item]:
        return [i for s in SECTIONS for i in self.sections.get(s, [])]

    def __len__(self) -> int:
        return sum(len(v) for v in self.sections.values())

    def to_dict(self) -> dict[str, Any]:
        return {"member": self.member.id, "cutoff": self.cutoff.isoformat(), "first": self.first,
                "items": len(self), "subscriptions": [s.id for s in self.subscriptions],
                "sections": {s: [i.to_dict() for i in self.sections[s]] for s in SECTIONS if self.sections.get(s)},
                "more": {s: n for s, n in self.more.items() if n}}
