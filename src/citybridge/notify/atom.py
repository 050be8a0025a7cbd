"""Atom 1.0 feeds (RFC 4287) out: entries with stable ids (a UUID derived from the instance and the record,
so a changed record keeps its id and moves its ``updated``), alternate links to the records' pages, and a
strong ETag over the entries for conditional GET."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM)


@dataclass
class Entry:
    record_id: str
    title: str
    updated: datetime
    url: str
    summary: str | None = None
    published: datetime | None = None
    categories: list[str] = field(default_factory=list)


@dataclass
class Feed:
    """A rendered feed: the XML bytes, its ETag and Last-Modified (for 304 answers)."""

    body: bytes
    etag: str
    updated: datetime

    @property
    def last_modified(self) -> str:
        return format_datetime(self.updated.astimezone(UTC), usegmt=True)


def entry_id(base_url: str, record_id: str) -> str:
    """The permanent id of a record's entry in every feed of this instance."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{base_url.rstrip('/')}/entity/{record_id}").urn


def render_feed(*, feed_id: str, title: str, self_url: str, alternate_url: str, entries: Iterable[Entry],
                generated_at: datetime, author: str = "citybridge") -> Feed:
    """The feed document. ``updated`` is the newest entry's (``generated_at`` for an empty feed), so the
    feed only changes when its entries do."""
    items = list(entries)
    updated = max((e.updated for e in items), default=generated_at).astimezone(UTC).replace(microsecond=0)
    base = alternate_url.split("/", 3)
    site = "/".join(base[:3])
    root = ET.Element(f"{{{ATOM}}}feed")
    _text(root, "id", feed_id)
    _text(root, "title", title)
    _text(root, "updated", _iso(updated))
    ET.SubElement(root, f"{{{ATOM}}}link", rel="self", type="application/atom+xml", href=self_url)
    ET.SubElement(root, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=alternate_url)
    _text(ET.SubElement(root, f"{{{ATOM}}}author"), "name", author)
    gen = ET.SubElement(root, f"{{{ATOM}}}generator")
    gen.text = "citybridge"
    for e in items:
        node = ET.SubElement(root, f"{{{ATOM}}}entry")
        _text(node, "id", entry_id(site, e.record_id))
        _text(node, "title", e.title)
        _text(node, "updated", _iso(e.updated))
        if e.published is not None:
            _text(node, "published", _iso(e.published))
        ET.SubElement(node, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=e.url)
        for term in e.categories:
            ET.SubElement(node, f"{{{ATOM}}}category", term=term)
        if e.summary:
            summary = ET.SubElement(node, f"{{{ATOM}}}summary", type="text")
            summary.text = e.summary
    body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
    etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
    return Feed(body, etag, updated)


def not_modified(feed: Feed, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """Whether a conditional GET may be answered 304 (If-None-Match wins over If-Modified-Since)."""
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return feed.etag in tags or "*" in tags
    if if_modified_since:
        from email.utils import parsedate_to_datetime

        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return feed.updated.replace(microsecond=0) <= since
    return False


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    node = ET.SubElement(parent, f"{{{ATOM}}}{tag}")
    node.text = text
    return node


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
