"""Sending digests safely: a re-run or a crash mid-way never sends an item twice and never skips one.

For each member, in order: build the digest; store it as *pending* with its whole message and claim its
items (one transaction, see :class:`~citybridge.notify.store.NotifyStore`); hand it to the SMTP server;
mark it *sent*. A run first sends what an interrupted run left pending, exactly as stored (same
Message-ID, so a receiving system can drop the one copy that may already have arrived if the crash fell
between the server's acceptance and the commit that records it). Digests are built in batches of members,
so each batch shares one candidate pool and one match computation per thing followed.
"""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Callable
from datetime import date, datetime
from email.utils import parseaddr
from typing import Any

from citybridge.errors import Conflict, Unavailable
from citybridge.notify.mail import SmtpSender, message, message_id_for
from citybridge.notify.model import Digest, Subscription
from citybridge.notify.parallel import Job, built_batches
from citybridge.notify.store import NotifyStore

BATCH = 2000  # members whose digests are built together


def due_subscriptions(subs: list[Subscription], now: datetime, *, force: bool = False) -> list[Subscription]:
    """The e-mailed subscriptions a digest at ``now`` covers (all e-mailed ones when ``force``)."""
    return [s for s in subs if s.emailed and (force or s.due(now))]


def send_digests(hub: Any, *, member_ids: list[str] | None = None, since: datetime | None = None,
                 now: datetime, today: date | None = None, dry_run: bool = False,
                 changed_by: str = "citybridge:digest", progress: Callable[[int], None] | None = None
                 ) -> dict[str, Any]:
    """Send the digests that are due (those of ``member_ids`` only, due or not, when given).

    Returns a report: sent, resent (pending digests of an interrupted run), empty (nothing new), failed
    (refused by the server for good: the items are released), conflicts (another run had claimed the
    items), stopped (why the run stopped early, e.g. the server is unreachable), and per digest the member,
    id and item count. ``dry_run`` builds and renders but stores and sends nothing.
    """
    settings = hub.settings
    ns = NotifyStore(hub.store)
    report: dict[str, Any] = {"dry_run": dry_run, "members": 0, "sent": 0, "resent": 0, "empty": 0, "failed": 0,
                              "conflicts": 0, "items": 0, "stopped": None, "digests": []}
    envelope_from = parseaddr(settings.mail_from)[1] or settings.mail_from
    with SmtpSender(settings) as smtp:

        def deliver(digest_id: str, raw: str, recipient: str) -> str:
            """``sent``, ``failed`` (refused for good) or ``stop`` (the run must stop; the digest stays pending)."""
            try:
                smtp.send(raw, sender=envelope_from, recipient=recipient)
            except smtplib.SMTPRecipientsRefused as exc:
                ns.mark_failed(digest_id, f"recipient refused: {exc.recipients}", now=now)
                report["failed"] += 1
                return "failed"
            except smtplib.SMTPResponseException as exc:
                if 500 <= exc.smtp_code < 600 and not isinstance(exc, smtplib.SMTPSenderRefused):
                    ns.mark_failed(digest_id, f"{exc.smtp_code} {exc.smtp_error!r}", now=now)
                    report["failed"] += 1
                    return "failed"
                report["stopped"] = f"the SMTP server answered {exc.smtp_code}; the digest stays pending"
                return "stop"
            except Unavailable as exc:
                report["stopped"] = str(exc)
                return "stop"
            ns.mark_sent(digest_id, now=now)
            return "sent"

        blocked: set[str] = set()
        if not dry_run:
            for row in ns.pending(member_ids):
                member = ns.member(row["member_id"])
                if member is None or member.status != "active" or row["member_id"] in blocked:
                    blocked.add(row["member_id"])
                    continue
                outcome = deliver(row["id"], row["message"], member.email)
                if outcome == "stop":
                    return report
                if outcome == "failed":
                    continue
                report["resent"] += 1
                report["digests"].append({"member": member.id, "id": row["id"], "items": row["items"],
                                          "resent": True})
            blocked |= {row["member_id"] for row in ns.pending(member_ids)}
        members = [m for m in ns.members(member_ids) if m.id not in blocked]
        batches = [members[start:start + BATCH] for start in range(0, len(members), BATCH)]
        job = Job(now=now, today=today, since=since, per_section=settings.digest_items,
                  deadline_days=settings.digest_deadline_days, render=not dry_run,
                  due=lambda v: due_subscriptions(v, now, force=member_ids is not None))
        for built in built_batches(hub, batches, job, workers=settings.digest_workers):
            for b in built:
                digest = b.digest
                report["members"] += 1
                if progress:
                    progress(1)
                if not len(digest):
                    report["empty"] += 1
                    if not dry_run:
                        ns.advance([s.id for s in digest.subscriptions], now)
                    continue
                if dry_run:
                    report["digests"].append(_summary(digest, None))
                    report["items"] += len(digest)
                    continue
                digest_id = b.digest_id or "dg_" + uuid.uuid4().hex
                raw = b.raw or _raw(digest, settings, digest_id)
                try:
                    ns.claim(digest_id=digest_id, member_id=digest.member.id, cutoff=now, items=digest.items,
                             sub_ids=[s.id for s in digest.subscriptions],
                             message_id=message_id_for(digest_id, settings), message=raw, now=now,
                             changed_by=changed_by)
                except Conflict:
                    report["conflicts"] += 1
                    continue
                outcome = deliver(digest_id, raw, digest.member.email)
                if outcome == "stop":
                    return report
                if outcome == "failed":
                    continue
                report["sent"] += 1
                report["items"] += len(digest)
                report["digests"].append(_summary(digest, digest_id))
    return report


def _raw(digest: Digest, settings: Any, digest_id: str) -> str:
    return message(digest, settings, message_id=message_id_for(digest_id, settings))


def _summary(digest: Digest, digest_id: str | None) -> dict[str, Any]:
    return {"member": digest.member.id, "id": digest_id, "items": len(digest),
            "sections": {k: len(v) for k, v in digest.sections.items() if v}}


