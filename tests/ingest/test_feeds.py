from __future__ import annotations

import pytest

from citybridge.errors import Conflict, Invalid
from citybridge.hub import Hub
from citybridge.model.entities import DocumentType, Organization
from citybridge.settings import Settings

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Cities Climate News</title>
  <link>https://news.example.org/</link>
  <description>News on urban climate action</description>
  <item>
    <title>Lisbon opens 20 cooling centres</title>
    <link>https://news.example.org/lisbon-cooling</link>
    <guid isPermaLink="false">news-1001</guid>
    <pubDate>Tue, 02 Jul 2024 09:00:00 GMT</pubDate>
    <dc:creator>Rita Alves</dc:creator>
    <category>heat</category>
    <description>&lt;p&gt;The city opened &lt;b&gt;20 cooling centres&lt;/b&gt;
      ahead of the heatwave.&lt;/p&gt;</description>
  </item>
  <item>
    <title>Bogota extends its bike lanes</title>
    <link>https://news.example.org/bogota-bikes</link>
    <pubDate>Mon, 01 Jul 2024 10:00:00 GMT</pubDate>
    <description>Another 50 km of protected lanes.</description>
  </item>
  <item><description>an item with no title and no link</description></item>
</channel>
</rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Urban Research Blog</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2024-06-13T18:30:02Z</updated>
  <entry>
    <title>Green roofs and storm water</title>
    <link href="https://blog.example.org/green-roofs"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <updated>2024-06-13T18:30:02Z</updated>
    <author><name>Jun Park</name></author>
    <summary>Measured runoff reduction on 40 roofs.</summary>
    <content type="html">&lt;p&gt;Full text about &lt;em&gt;green roofs&lt;/em&gt;.&lt;/p&gt;</content>
  </entry>
</feed>"""

ETAG = '"v1"'
LAST_MOD = "Tue, 02 Jul 2024 10:00:00 GMT"


def _conditional(body: bytes, ctype: str):
    def route(h):
        if h.headers.get("If-None-Match") == ETAG or h.headers.get("If-Modified-Since") == LAST_MOD:
            return 304, {"ETag": ETAG}, b""
        return 200, {"Content-Type": ctype, "ETag": ETAG, "Last-Modified": LAST_MOD}, body

    return route


@pytest.fixture
def hub(tmp_path):
    h = Hub(Settings(data_dir=tmp_path / "data"))
    yield h
    h.close()


def test_rss_and_atom_with_conditional_get(hub, http_server):
    http_server.routes["/rss"] = _conditional(RSS, "application/rss+xml")
    http_server.routes["/atom"] = lambda h: (200, {"Content-Type": "application/atom+xml"}, ATOM)
    hub.upsert([Organization(name="Cities Climate Network", external_ids={"ror": "0aaaaaa99"})])
    hub.feeds_add(f"{http_server.url}/rss", themes=["heat", "sdg:11"], organization="ror:0aaaaaa99")
    hub.feeds_add(f"{http_server.url}/atom")
    with pytest.raises(Conflict):
        hub.feeds_add(f"{http_server.url}/atom")
    with pytest.raises(Invalid):
        hub.feeds_add("ftp://example.org/feed")

    report = hub.feeds_poll()
    assert report.created >= 3 and report.rejected == 1  # the item with no title and no link
    docs = {d.name: d for d in hub.store.iter_records("document")}
    lisbon = docs["Lisbon opens 20 cooling centres"]
    assert lisbon.doc_type == DocumentType.news and lisbon.authors == ["Rita Alves"]
    assert lisbon.description == "The city opened 20 cooling centres ahead of the heatwave."
    assert str(lisbon.published) == "2024-07-02" and {"heat", "sdg:11"} <= set(lisbon.tags)
    assert lisbon.attributes["feed"]["title"] == "Cities Climate News"
    org = hub.get("ror:0aaaaaa99")
    assert [r.target for r in hub.store.relations_of(lisbon.id, rel_type="related_to")] == [org.id]
    roofs = docs["Green roofs and storm water"]
    assert roofs.body == "Full text about green roofs ." and roofs.authors == ["Jun Park"]

    feeds = {f.url.rsplit("/", 1)[1]: f for f in hub.feeds_list()}
    assert feeds["rss"].etag == ETAG and feeds["rss"].last_modified == LAST_MOD
    assert feeds["rss"].title == "Cities Climate News" and feeds["rss"].last_polled is not None

    before = len(http_server.log)
    again = hub.feeds_poll([f"{http_server.url}/rss"])
    assert again.total == 0 and hub.feeds_list()[0].last_status == "not modified"
    assert http_server.log[before][2]["If-None-Match"] == ETAG
    # the Atom feed has no validators: it is re-read and its item is unchanged
    assert hub.feeds_poll([f"{http_server.url}/atom"]).unchanged == 1


def test_failing_and_garbage_feeds(hub, http_server):
    http_server.routes["/down"] = lambda h: (500, {}, b"oops")
    http_server.routes["/garbage"] = lambda h: (200, {"Content-Type": "application/xml"}, b"<rss><chan")
    hub.feeds_add(f"{http_server.url}/down")
    hub.feeds_add(f"{http_server.url}/garbage")
    hub.feeds_add("http://127.0.0.1:9/closed")  # nothing listens on the discard port
    report = hub.feeds_poll()
    reasons = " | ".join(r["reason"] for r in report.rejections)
    assert report.rejected == 3 and "HTTP 500" in reasons and "not a valid RSS or Atom feed" in reasons
    assert "could not fetch" in reasons
    statuses = {f.url.rsplit("/", 1)[1]: f.last_status for f in hub.feeds_list()}
    assert statuses["down"] == "HTTP 500" and "not a valid RSS" in statuses["garbage"]


def test_long_validators_are_kept_and_too_long_urls_refused(hub, http_server):
    etag = '"' + "e" * 700 + '"'  # servers choose their validators: the store keeps them whole
    http_server.routes["/long"] = lambda h: (200, {"Content-Type": "application/rss+xml", "ETag": etag}, RSS)
    hub.feeds_add(f"{http_server.url}/long")
    hub.feeds_poll()
    assert hub.feeds_list()[0].etag == etag
    with pytest.raises(Invalid, match="at most 2048 characters"):
        hub.feeds_add("https://example.org/" + "p" * 2100)


def test_feed_url_through_ingest(hub, http_server):
    from citybridge.ingest import registry

    http_server.routes["/news/rss.xml"] = lambda h: (200, {"Content-Type": "application/rss+xml"}, RSS)
    url = f"{http_server.url}/news/rss.xml"
    assert registry.best_for(url) == "feed"
    report = hub.ingest([url])
    assert report.created == 2 and report.rejected == 1
