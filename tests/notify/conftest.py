"""Notify fixtures: the seeded test graph plus members, calls and restricted news; a real SMTP server
(aiosmtpd) on 127.0.0.1 that records what it accepts; the app served by uvicorn for following links."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from api.conftest import make_hub
from citybridge.hub import Hub
from citybridge.model import Document, Opportunity, Person, Relation

LISBON_LAB = "lisbon-lab"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server accepted, and knobs to make it refuse or hold a message."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> SMTP reply
    hold_at: int | None = None  # hold the n-th DATA (1-based) until ``release`` is set, then answer 451
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    seen: int = 0

    def parsed(self) -> list[EmailMessage]:
        return [message_from_bytes(raw, policy=policy.default) for _f, _t, raw in self.messages]  # type: ignore[misc]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for (_f, rcpt, _r), m in zip(self.messages, self.parsed(), strict=True) if address in rcpt]


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.box.refuse:
            return self.box.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.box.seen += 1
        if self.box.hold_at is not None and self.box.seen == self.box.hold_at:
            self.box.held.set()
            await asyncio.get_running_loop().run_in_executor(None, self.box.release.wait, 30)
            return "451 not accepted: the sender went away"  # never acknowledged: not delivered
        self.box.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = free_port()
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    box.release.set()
    controller.stop()


def seed_notify(hub: Hub, now: datetime) -> Hub:
    """Members with different views, calls (closing soon, long ago, far away), restricted news."""
    today = now.date()
    old = datetime(2025, 1, 10, tzinfo=UTC)
    hub.upsert([
        Person(id="per_mia", name="Mia Costa", email="mia@example.org", country="PT"),
        Person(id="per_olga", name="Olga Reis", email="olga@example.org", country="PT"),
        Person(id="per_nina", name="Nina Sousa", email="nina@example.org", country="PT"),
        Opportunity(id="opp_soon", name="Energy communities call", opp_type="funding_call",
                    deadline=today + timedelta(days=19), description="Energy communities in Lisbon and Porto."),
        Opportunity(id="opp_old", name="Urban heat resilience call", opp_type="funding_call",
                    deadline=today + timedelta(days=10), description="Cooling Lisbon's school streets.",
                    created_at=old, updated_at=old),
        Opportunity(id="opp_far", name="Distant climate call", opp_type="funding_call",
                    deadline=today + timedelta(days=200), description="Climate adaptation in Lisbon.",
                    created_at=old, updated_at=old),
        Document(id="doc_news", name="Lisbon opens its first energy community", doc_type="news",
                 description="Residents of Lisbon share rooftop solar in an energy community."),
        Document(id="doc_private", name="Lisbon lab internal memo", doc_type="report", visibility="private",
                 owner=LISBON_LAB, description="Internal notes on energy communities in Lisbon."),
        Document(id="doc_network", name="Network briefing on Lisbon heat", doc_type="report", visibility="network",
                 owner=LISBON_LAB, description="A briefing for network members on heat in Lisbon."),
    ], changed_by="tests:notify")
    hub.relate([Relation(type="about", source=d, target="plc_lisbon")
                for d in ("doc_news", "doc_private", "doc_network", "opp_old", "opp_far", "opp_soon")],
               changed_by="tests:notify")
    hub.register_member("per_mia", principal="mia", changed_by="tests")
    hub.register_member("per_olga", principal="olga", groups=[LISBON_LAB], changed_by="tests")
    hub.register_member("per_nina", principal="nina", network=True, language="pt", changed_by="tests")
    return hub


def clock() -> datetime:
    """A clock a minute ahead of the records just written (their changes are all before the cut-off)."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)


@pytest.fixture
def nhub(tmp_path: Path, smtp: tuple[Mailbox, int]) -> Iterator[Hub]:
    _box, port = smtp
    hub = make_hub(tmp_path, search_embedder=None, smtp_port=port, mail_rate=0, public_url="http://testserver",
                   notify_secret="test-notify-secret-0123456789")
    seed_notify(hub, clock())
    yield hub
    hub.close()


@contextmanager
def served(hub: Hub) -> Iterator[str]:
    """The app over ``hub`` served by uvicorn on 127.0.0.1 at its public URL's port; yields that URL."""
    from citybridge.api import create_app
    from web.conftest import serve

    with serve(create_app(hub), int(hub.settings.public_url.rsplit(":", 1)[1])) as url:
        yield url
