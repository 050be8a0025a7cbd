"""RSS and Atom feeds -> ``news`` documents, polled with conditional GET.

Feeds are registered in the ``feeds`` table (URL, themes, the publishing organisation, ETag,
Last-Modified, last poll). Polling sends ``If-None-Match``/``If-Modified-Since``; a 304 means nothing to do.
Each item becomes a ``Document`` (``doc_type=news``) whose id is derived from the feed URL and the item's
guid/link, so re-polling updates instead of duplicating; it links ``related_to`` the feed's organisation
and ``about`` the feed's themes when those are stored.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update

from citybridge.errors import Conflict, Invalid, NotFound, Unavailable
from citybridge.ingest.base import Rejection, SourceItem, registry
from citybridge.model.entities import Document, DocumentType, Provenance, derive_id, utcnow
from citybridge.model.relations import Relation, RelationType
from citybridge.store import Store
from citybridge.store import tables as t

_TAG = re.compile(r"<[^>]+>")


@dataclass
class Feed:
    id: int
    url: str
    title: str | None = None
    themes: list[str] = field(default_factory=list)
    organization: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_polled: datetime | None = None
    last_status: str | None = None


@dataclass
class FetchResult:
    status: int  # 200, 304, or the HTTP error status (0: network error)
    content: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None


class FeedRegistry:
    """The ``feeds`` table: add, list, and remember what each poll saw."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(
        self,
        url: str,
        *,
        themes: list[str] | None = None,
        organization: str | None = None,
        title: str | None = None,
    ) -> Feed:
        if not url.startswith(("http://", "https://")):
            raise Invalid("a feed URL must start with http:// or https://", field="url")
        if len(url) > t.feeds.c.url.type.length:
            raise Invalid(f"a feed URL may have at most {t.feeds.c.url.type.length} characters", field="url")
        with self.store.engine.begin() as conn:
            if conn.execute(select(t.feeds.c.id).where(t.feeds.c.url == url)).first():
                raise Conflict("feed already registered", where=url)
            conn.execute(
                insert(t.feeds).values(
                    url=url,
                    title=title,
                    themes=json.dumps(themes or []),
                    organization=organization,
                    created_at=utcnow(),
                )
            )
        return self.get(url)

    def get(self, url: str) -> Feed:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(t.feeds).where(t.feeds.c.url == url)).mappings().first()
        if row is None:
            raise NotFound("no such feed", where=url)
        return _feed(row)

    def list(self) -> list[Feed]:
        with self.store.engine.connect() as conn:
            return [_feed(r) for r in conn.execute(select(t.feeds).order_by(t.feeds.c.id)).mappings()]

    def polled(self, feed: Feed, result: FetchResult, *, title: str | None = None, status: str) -> None:
        values: dict[str, Any] = {"last_polled": utcnow(), "last_status": status}
        if result.status == 200:
            values.update(etag=result.etag, last_modified=result.last_modified)
        if title and not feed.title:
            values["title"] = title
        with self.store.engine.begin() as conn:
            conn.execute(update(t.feeds).where(t.feeds.c.id == feed.id).values(**values))


def _feed(row: Any) -> Feed:
    return Feed(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        themes=json.loads(row["themes"] or "[]"),
        organization=row["organization"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_polled=row["last_polled"],
        last_status=row["last_status"],
    )


def fetch(feed: Feed, *, timeout: float = 20.0, client: Any = None) -> FetchResult:
    """Conditional GET of a feed: sends the stored ETag / Last-Modified."""
    import httpx

    headers = {
        "User-Agent": "citybridge feed reader",
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5",
    }
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    try:
        if client is not None:
            resp = client.get(feed.url, headers=headers, follow_redirects=True, timeout=timeout)
        else:
            resp = httpx.get(feed.url, headers=headers, follow_redirects=True, timeout=timeout)
    except httpx.HTTPError as exc:
        return FetchResult(0, error=f"could not fetch ({type(exc).__name__}: {exc})")
    if resp.status_code == 304:
        return FetchResult(304)
    if resp.status_code != 200:
        return FetchResult(resp.status_code, error=f"HTTP {resp.status_code}")
    return FetchResult(200, resp.content, resp.headers.get("etag"), resp.headers.get("last-modified"))


def _text(value: str | None) -> str | None:
    if not value:
        return None
    out = " ".join(html.unescape(_TAG.sub(" ", value)).split())
    return out or None


def _published(entry: Any) -> date | None:
    for key in ("published_parsed", "updated_parsed"):
        st = entry.get(key)
        if st:
            try:
                return date(st.tm_year, st.tm_mon, st.tm_mday)
            except ValueError:
                continue
    return None


class FeedSource:
    """The items of one fetched feed document, as news documents linked to the feed's organisation."""

    def __init__(self, feed: Feed, content: bytes) -> None:
        self.feed = feed
        self.content = content
        self.name = f"feed:{feed.url}"
        self.title: str | None = None

    def items(self) -> Iterator[SourceItem]:
        import feedparser

        where = self.feed.url
        try:
            parsed = feedparser.parse(self.content)
        except (ValueError, LookupError, TypeError, AttributeError, KeyError, IndexError, RecursionError) as exc:
            # feedparser gives up on some broken encodings declarations and markup instead of flagging them
            reason = f"{type(exc).__name__}: {str(exc)[:120]}"
            yield SourceItem(where, rejection=Rejection(where, f"not a valid RSS or Atom feed ({reason})"))
            return
        if parsed.bozo and not parsed.entries:
            reason = str(getattr(parsed, "bozo_exception", "") or "unreadable")[:160]
            yield SourceItem(where, rejection=Rejection(where, f"not a valid RSS or Atom feed ({reason})"))
            return
        self.title = _text(parsed.feed.get("title"))
        for i, entry in enumerate(parsed.entries, start=1):
            yield from self._entry(entry, f"{where}#{i}")

    def _entry(self, entry: Any, where: str) -> Iterator[SourceItem]:
        link = entry.get("link")
        key = entry.get("id") or link or entry.get("title")
        title = _text(entry.get("title"))
        if not key or not title:
            yield SourceItem(where, rejection=Rejection(where, "feed item without a title or a link/guid"))
            return
        summary = _text(entry.get("summary"))
        content = " ".join(_text(c.get("value")) or "" for c in entry.get("content") or []).strip() or None
        authors = [a.get("name") for a in entry.get("authors") or [] if a.get("name")]
        tags = [tg.get("term") for tg in entry.get("tags") or [] if tg.get("term")]
        digest = hashlib.sha256(f"{self.feed.url}|{key}".encode()).hexdigest()[:16]
        feed_attr = {"url": self.feed.url, "title": self.title or self.feed.title, "themes": self.feed.themes}
        prov = [Provenance(source=f"feed:{self.feed.url}", record_id=str(key)[:500], url=link)]
        try:
            doc = Document(
                id=derive_id("document", f"feed:{self.feed.url}#{key}"),
                name=title[:2000],
                doc_type=DocumentType.news,
                description=summary,
                body=content,
                url=link,
                published=_published(entry),
                authors=authors,
                tags=sorted(set(tags) | set(self.feed.themes)),
                provenance=prov,
                attributes={"feed": {k: v for k, v in feed_attr.items() if v}, "feed_item": digest},
            )
        except ValueError as exc:
            yield SourceItem(where, rejection=Rejection(where, str(exc).splitlines()[0]))
            return
        yield SourceItem(where, record=doc)
        if self.feed.organization:
            yield SourceItem(
                where,
                optional=True,
                relation=Relation(
                    type=RelationType.related_to,
                    source=doc.id,
                    target=self.feed.organization,
                    role="publisher",
                    provenance=prov,
                ),
            )
        for theme in self.feed.themes:
            if ":" in theme:  # e.g. sdg:11 or pathway:nature-based-solutions
                yield SourceItem(
                    where,
                    optional=True,
                    relation=Relation(type=RelationType.about, source=doc.id, target=theme, provenance=prov),
                )


def open_feed(url: str) -> FeedSource:
    """A one-off read of a feed URL (no registration, no conditional GET); see ``Hub.feeds_poll``."""
    result = fetch(Feed(id=0, url=url))
    if result.status != 200:
        raise Unavailable(result.error or f"HTTP {result.status}", where=url)
    return FeedSource(Feed(id=0, url=url), result.content)


def _score(target: str) -> float:
    t = target.lower()
    if not t.startswith(("http://", "https://")):
        return 0.0
    return 1.0 if re.search(r"(\.rss|\.atom|/feed/?|/rss/?|rss\.xml|atom\.xml|feed\.xml)$", t) else 0.0


registry.register("feed", open_feed, _score)

__all__ = ["Feed", "FeedRegistry", "FeedSource", "FetchResult", "fetch", "open_feed"]
