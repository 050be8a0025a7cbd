"""Atom feeds (validated with feedparser and an XML check), conditional GET, the My digest page, the
subscribe form, the API routes and the search page's feed link."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree as ET

import feedparser
import pytest
from starlette.testclient import TestClient

from api.seed import MEMBER_TOKEN, OWNER_TOKEN, TOKENS
from citybridge.api import create_app
from citybridge.hub import Hub
from citybridge.model import Document
from webforms import csrf_of

A = "{http://www.w3.org/2005/Atom}"


def signed(web: TestClient, token: str | None) -> TestClient:
    """The client with this sign-in cookie (none: signed out)."""
    web.cookies.clear()
    if token:
        web.cookies.set("citybridge_token", token)
    return web


def check_atom(body: bytes) -> ET.Element:
    """Atom 1.0 (RFC 4287): feed id, title, updated, author, self link; each entry id, title, updated, link."""
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    root = ET.fromstring(body)
    assert root.tag == f"{A}feed"
    for tag in ("id", "title", "updated", "author"):
        assert root.find(f"{A}{tag}") is not None, tag
    assert root.find(f"{A}link[@rel='self']") is not None
    for entry in root.findall(f"{A}entry"):
        for tag in ("id", "title", "updated"):
            assert (entry.find(f"{A}{tag}").text or "").strip(), tag  # type: ignore[union-attr]
        assert entry.find(f"{A}link[@rel='alternate']").get("href", "").startswith("http://testserver/entity/")  # type: ignore[union-attr]
    return root


@pytest.fixture
def web(nhub: Hub) -> Iterator[TestClient]:
    nhub.settings.tokens = {k: v for k, v in nhub.settings.model_validate({"tokens": TOKENS}).tokens.items()}
    with TestClient(create_app(nhub), raise_server_exceptions=False, client=("127.0.0.1", 5000)) as c:
        yield c


def test_search_feed_is_valid_atom_with_conditional_get(web: TestClient, nhub: Hub) -> None:
    r = web.get("/feeds/search.atom", params={"q": "Lisbon", "kind": "document"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    root = check_atom(r.content)
    titles = [e.find(f"{A}title").text for e in root.findall(f"{A}entry")]  # type: ignore[union-attr]
    assert "Lisbon opens its first energy community" in titles
    assert "Lisbon lab internal memo" not in titles and "Network briefing on Lisbon heat" not in titles
    etag, modified = r.headers["etag"], r.headers["last-modified"]
    assert web.get("/feeds/search.atom", params={"q": "Lisbon", "kind": "document"},
                   headers={"If-None-Match": etag}).status_code == 304
    assert web.get("/feeds/search.atom", params={"q": "Lisbon", "kind": "document"},
                   headers={"If-Modified-Since": modified}).status_code == 304
    ids_before = {e.find(f"{A}id").text for e in root.findall(f"{A}entry")}  # type: ignore[union-attr]
    nhub.upsert([Document(id="doc_news", name="Lisbon opens its first energy community (update)",
                          doc_type="news")], changed_by="tests")
    again = web.get("/feeds/search.atom", params={"q": "Lisbon", "kind": "document"},
                    headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["etag"] != etag
    root2 = check_atom(again.content)
    first = root2.findall(f"{A}entry")[0]
    assert first.find(f"{A}title").text.endswith("(update)")  # type: ignore[union-attr]
    assert {e.find(f"{A}id").text for e in root2.findall(f"{A}entry")} == ids_before  # stable entry ids
    # a network member's cookie shows network records in their feed
    member = signed(web, MEMBER_TOKEN).get("/feeds/search.atom", params={"q": "Lisbon"})
    assert "Network briefing on Lisbon heat" in member.text and "internal memo" not in member.text


def test_subscription_feed_needs_its_signed_key(web: TestClient, nhub: Hub) -> None:
    sub, _ = nhub.subscribe("per_olga", "place", "Lisbon", channel="both")
    link = nhub.feed_link(sub)
    path = link.removeprefix("http://testserver")
    r = web.get(path)
    assert r.status_code == 200
    root = check_atom(r.content)
    titles = {e.find(f"{A}title").text for e in root.findall(f"{A}entry")}  # type: ignore[union-attr]
    assert "Lisbon lab internal memo" in titles  # olga's group owns it: her feed shows it
    assert web.get(path.split("?")[0] + "?key=forged").status_code == 403
    assert web.get(path, headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    email_only, _ = nhub.subscribe("per_mia", "place", "Lisbon")
    assert web.get(nhub.feed_link(email_only).removeprefix("http://testserver")).status_code == 404


def test_search_page_links_its_feed_and_follow_form(web: TestClient) -> None:
    r = web.get("/search", params={"q": "energy", "kind": "document"})
    assert r.status_code == 200
    assert 'type="application/atom+xml"' in r.text and "/feeds/search.atom?q=energy&amp;kind=document" in r.text
    assert 'name="type" value="search"' in r.text


def test_my_digest_page_and_subscribe_form(web: TestClient, nhub: Hub) -> None:
    # mia signs in with her token: she is bound to per_mia by principal
    signed(web, MEMBER_TOKEN)
    nhub.register_member("per_mia", principal="mia")
    r = web.post("/digest/subscribe", data={"csrf": csrf_of(web), "type": "place", "value": "Lisbon",
                                            "frequency": "daily", "channel": "both"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = web.get("/digest")
    assert page.status_code == 200
    assert "Urban heat resilience call" in page.text and "closes on" in page.text
    assert "Lisbon lab internal memo" not in page.text  # mia may not see it
    assert "Atom feed" in page.text and "/feeds/sub_" in page.text
    bad = web.post("/digest/subscribe", data={"type": "theme", "value": "sdg:99", "csrf": csrf_of(web)})
    assert bad.status_code == 404 and "no theme" in bad.text
    sub = nhub.subscriptions("per_mia")[0]
    assert web.post("/digest/remove", data={"subscription": sub.id, "csrf": csrf_of(web)},
                    follow_redirects=False).status_code == 303
    assert nhub.subscriptions("per_mia") == []
    # someone else's token may not touch mia's member
    signed(web, OWNER_TOKEN)
    assert web.get("/digest", params={"member": "per_mia"}).status_code == 200
    assert "Mia Costa" not in web.get("/digest", params={"member": "per_mia"}).text
    # an unknown token: asked to sign in
    assert signed(web, "unknown").get("/digest").status_code == 401
    signed(web, None)


def test_api_routes(web: TestClient, nhub: Hub) -> None:
    h = {"Authorization": f"Bearer {MEMBER_TOKEN}"}
    assert web.put("/api/v1/members/per_mia", json={"language": "fr"}, headers=h).json()["language"] == "fr"
    r = web.post("/api/v1/members/per_mia/subscriptions", json={"type": "keyword", "value": "energy communities"},
                 headers=h)
    assert r.status_code == 201, r.text
    sub_id = r.json()["id"]
    assert web.post("/api/v1/members/per_mia/subscriptions", json={"type": "keyword", "value": "energy communities",
                    "frequency": "daily"}, headers=h).status_code == 200
    preview = web.get("/api/v1/members/per_mia/digest", headers=h).json()
    assert preview["subject"].startswith("Votre premier résumé citybridge")
    assert "opp_soon" in {i["id"] for i in preview["sections"]["calls"]}
    bad = web.post("/api/v1/members/per_mia/subscriptions", json={"type": "colour", "value": "red"}, headers=h)
    assert bad.status_code == 422 and bad.json()["field"] == "type"
    other = {"Authorization": f"Bearer {OWNER_TOKEN}"}
    assert web.get("/api/v1/members/per_mia/subscriptions", headers=other).status_code == 404
    assert web.delete(f"/api/v1/subscriptions/{sub_id}", headers=other).status_code == 404
    assert web.get("/api/v1/members/per_mia/subscriptions").status_code == 401  # no token (tokens configured)
    assert web.delete(f"/api/v1/subscriptions/{sub_id}", headers=h).status_code == 204
