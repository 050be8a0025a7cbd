"""E-mail digests: multipart plain text + HTML from Jinja2 templates in the member's language, with
``List-Unsubscribe`` (a signed one-click link, RFC 8058) and a stable Message-ID; and an SMTP sender
(STARTTLS or SSL, login from settings) that holds one connection per run and throttles to
``CITYBRIDGE_MAIL_RATE`` messages per second."""

from __future__ import annotations

import base64
import contextlib
import re
import smtplib
import ssl
import time
from email.header import Header
from email.utils import format_datetime, formataddr
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode

from citybridge.errors import Unavailable
from citybridge.notify.model import SECTIONS, Digest
from citybridge.notify.signing import UNSUBSCRIBE, sign
from citybridge.notify.strings import phrase, strings


@cache
def _env() -> Any:
    try:
        from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
    except ImportError:  # pragma: no cover - jinja2 is a core dependency
        raise Unavailable("e-mail digests need jinja2: pip install jinja2") from None
    return Environment(loader=PackageLoader("citybridge.notify", "templates"), undefined=StrictUndefined,
                       autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def links(settings: Any, member_id: str) -> dict[str, str]:
    """The member's links: their digest page and the signed one-click unsubscribe URL."""
    base = settings.public_url.rstrip("/")
    token = sign(settings.signing_key, UNSUBSCRIBE, member_id)
    return {"base": base, "digest": f"{base}/digest?{urlencode({'member': member_id})}",
            "unsubscribe": f"{base}/unsubscribe?{urlencode({'m': member_id, 't': token})}"}


def entity_url(base: str, record_id: str) -> str:
    return f"{base}/entity/{quote(record_id, safe='')}"


def render(digest: Digest, settings: Any) -> dict[str, str]:
    """``{"subject", "text", "html"}`` of a digest, in the member's language."""
    lang = digest.member.language
    _ = strings(lang)
    urls = links(settings, digest.member.id)
    since = min((s.last_digest_at for s in digest.subscriptions if s.last_digest_at), default=None)
    sections = [(name, _(f"section.{name}"), [{
        "item": item, "url": entity_url(urls["base"], item.record_id),
        "reasons": [phrase(r, lang) for r in item.reasons]} for item in digest.sections[name]],
        digest.more.get(name, 0)) for name in SECTIONS if digest.sections.get(name)]
    key = ("subject.first" if digest.first else "subject") + (".one" if len(digest) == 1 else "")
    subject = _(key, n=len(digest))
    context = {"subject": subject,
        "_": _, "lang": lang, "member": digest.member, "sections": sections, "urls": urls, "first": digest.first,
        "since": since.date().isoformat() if since else None,
        "following": ", ".join(s.label for s in digest.subscriptions),
    }
    env = _env()
    return {"subject": subject, "text": env.get_template("digest.txt").render(context),
            "html": env.get_template("digest.html").render(context)}


def message(digest: Digest, settings: Any, *, message_id: str) -> str:
    """The whole e-mail as 7-bit RFC 5322 text: headers (From, To, Subject, Date, Message-ID,
    List-Unsubscribe + List-Unsubscribe-Post, List-Id, Auto-Submitted, Content-Language) and a
    multipart/alternative body, plain text first, both base64-encoded UTF-8.

    Written directly rather than through :mod:`email`'s generator, which spent ~10 ms a message folding
    and re-encoding headers that are ASCII by construction (the only non-ASCII ones, Subject and the
    recipient's name, are RFC 2047-encoded here); the tests parse every message back with :mod:`email`."""
    parts = render(digest, settings)
    urls = links(settings, digest.member.id)
    member = digest.member
    to = formataddr((member.name, member.email), charset="utf-8") if member.name else member.email
    subject = parts["subject"] if parts["subject"].isascii() else \
        Header(parts["subject"], "utf-8", header_name="Subject").encode()
    boundary = "==citybridge-" + message_id.strip("<>").split("@", 1)[0]
    head = [
        ("From", settings.mail_from), ("To", to), ("Subject", subject), ("Date", format_datetime(digest.cutoff)),
        ("Message-ID", message_id), ("List-Id", f"citybridge digests <digests.{_host(settings.public_url)}>"),
        ("List-Unsubscribe", f"<{urls['unsubscribe']}>"), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Auto-Submitted", "auto-generated"), ("Content-Language", member.language), ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    lines = [_header(name, value) for name, value in head]
    for subtype in ("plain", "html"):
        body = base64.encodebytes(parts["text" if subtype == "plain" else "html"].encode("utf-8")).decode("ascii")
        lines += ["", f"--{boundary}", f'Content-Type: text/{subtype}; charset="utf-8"',
                  "Content-Transfer-Encoding: base64", "", body.rstrip("\n")]
    lines += ["", f"--{boundary}--", ""]
    return "\n".join(lines)


def _header(name: str, value: str) -> str:
    """One header line, folded before a ``<`` or at spaces when longer than 78 characters (RFC 5322 2.2.3)."""
    if not value.isascii() or "\r" in value or re.search(r"\n(?![ \t])", value):
        raise ValueError(f"header {name} must be one line of ASCII")
    line = f"{name}: {value}"
    if len(line) <= 78 or "\n" in value:  # short, or folded already (RFC 2047 encoded words)
        return line
    if value.startswith("<"):
        return f"{name}:\n {value}"
    out, cur = [], f"{name}:"
    for word in value.split(" "):
        if len(cur) + 1 + len(word) > 78 and cur.strip() != f"{name}:":
            out.append(cur)
            cur = ""
        cur += " " + word
    out.append(cur)
    return "\n".join(out)


def message_id_for(digest_id: str, settings: Any) -> str:
    return f"<{digest_id}@{_host(settings.public_url)}>"


def _host(url: str) -> str:
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return host or "localhost"


class SmtpSender:
    """One SMTP connection for a run of sends, throttled; reconnects once if the server hung up."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._last = 0.0

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.smtp_security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
                if s.smtp_security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password.get_secret_value() if s.smtp_password else "")
        except (OSError, smtplib.SMTPException) as exc:
            raise Unavailable(f"cannot reach the SMTP server {s.smtp_host}:{s.smtp_port} ({exc})",
                              field="smtp_host") from None
        return smtp

    def send(self, raw: str, *, sender: str, recipient: str) -> None:
        """Hand one message to the server; returns when it has accepted it (raises otherwise:
        ``smtplib.SMTPResponseException`` with the server's code, or Unavailable when unreachable)."""
        rate = float(self.settings.mail_rate)
        if rate > 0:
            wait = self._last + 1.0 / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        for attempt in (1, 2):
            if self._smtp is None:
                self._smtp = self._connect()
            try:
                self._smtp.sendmail(sender, [recipient], raw)  # 7-bit text; smtplib makes the line ends CRLF
                break
            except smtplib.SMTPServerDisconnected:
                self._smtp = None
                if attempt == 2:
                    raise Unavailable("the SMTP server closed the connection", field="smtp_host") from None
        self._last = time.monotonic()

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._smtp = None
