"""Signed links: one-click unsubscribe (RFC 8058) and private subscription feeds. An HMAC-SHA256 of what
the link does, keyed by ``CITYBRIDGE_NOTIFY_SECRET``; nothing to store, nothing to expire, and a link
for one member never works for another."""

from __future__ import annotations

import base64
import hashlib
import hmac

from citybridge.errors import Forbidden


def sign(key: bytes, purpose: str, subject: str) -> str:
    mac = hmac.new(key, f"{purpose}\x00{subject}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode("ascii")


def verify(key: bytes, purpose: str, subject: str, token: str | None) -> None:
    """Raises Forbidden unless ``token`` is the signature of ``purpose`` for ``subject``."""
    if not token or not hmac.compare_digest(sign(key, purpose, subject).encode(), token.encode()):
        raise Forbidden("this link is not valid (it may have been cut or changed)", field="token")


UNSUBSCRIBE = "unsubscribe"
FEED = "feed"
