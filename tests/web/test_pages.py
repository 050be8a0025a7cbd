"""Server-rendered pages over the in-process client: content, links, filters in the URL, errors as HTML."""

from __future__ import annotations

import re

import pytest

from citybridge.web.messages import catalogue, pick_language, translator
from webforms import csrf_of


def test_home_counts_and_latest(web):
    html = web.get("/").text
    assert "What the network knows" in html
    assert 'href="/browse?kind=organization"' in html
    assert re.search(r"SDG 11: Sustainable cities and communities</a>", html)
    assert "Europe" in html and "Africa" in html  # UN regions from countries
    assert "Lisbon Lab Internal Unit" not in html and "Secret Heat Pilot" not in html  # private


@pytest.mark.parametrize("rid,expect", [
    ("org_lisbon", ["Lisbon City Council", "local government", "Established", "partner in"]),
    ("plc_lisbon", ["Population", "545,000", "Southern Europe"]),
    ("per_ana", ["Ana Silva", "University of Porto"]),
    ("prj_cool", ["Cool Streets", "coordinator", "<mark"]),
    ("doc_heat", ["<mark title=\"SDG 11: Sustainable cities and communities\">urban heat island</mark>",
                  "Nature-based development", "tests:seed", "CC0"]),
    ("opp_call", ["Deadline", "2030-05-01"]),
])
def test_entity_page_per_kind(web, rid, expect):
    resp = web.get(f"/entity/{rid}")
    assert resp.status_code == 200
    for text in expect:
        assert text in resp.text, text


def test_entity_history_and_hidden(web):
    html = web.get("/entity/org_lisbon").text
    assert "Current version: 2." in html and "tests:edit" in html
    assert "Heat Network Office" not in html  # network-only org, anonymous caller
    assert web.get("/entity/org_private").status_code == 404


def test_browse_filters_and_cursor(web):
    html = web.get("/browse?kind=organization&country=PT").text
    assert "Lisbon City Council" in html and "Nairobi Green Streets" not in html
    first = web.get("/browse").text
    nxt = re.search(r'href="(\?after=[^"]+)" rel="next"', first)
    assert nxt is not None
    assert web.get("/browse" + nxt.group(1).replace("&amp;", "&")).status_code == 200
    assert web.get("/browse?kind=spaceship").status_code == 422
    assert web.get("/browse?kind=project&subtype=university").status_code == 422


def test_map_page(web):
    html = web.get("/map").text
    assert html.count('class="pt pt-city"') == 3 and html.count('class="pt pt-organization"') == 3
    assert 'class="pt pt-project"' in html and "<path d=\"M" in html
    filtered = web.get("/map?layer=project&sdg=1").text
    assert 'class="pt pt-project"' not in filtered
    assert web.get("/map?focus=org_lisbon").status_code == 200
    assert web.get("/map?org_type=castle").status_code == 422


def test_network_page(web):
    html = web.get("/network/org_porto_uni").text
    assert 'id="graph-data"' in html and "Nairobi Green Streets" in html
    assert web.get("/network/org_private").status_code == 404


def test_import_page_local_curator(web):
    assert "Development mode" in web.get("/import").text
    resp = web.post("/import", files={"file": ("orgs.csv", b"name,kind,country\nFaro Council,organization,PT\n"
                                               b"Broken,organization,Nowhere\n")},
                    data={"kind": "", "csrf": csrf_of(web)})
    assert resp.status_code == 200
    assert re.search(r'card-n">1</span> <span class="card-label">created', resp.text)
    assert "orgs.csv" in resp.text and "country" in resp.text
    assert web.post("/import", files={"file": ("x.pdf", b"%PDF")}, data={"csrf": csrf_of(web)}).status_code == 422
    cross = web.post("/import", files={"file": ("a.csv", b"name\n")}, headers={"Origin": "https://evil.example"},
                     data={"csrf": csrf_of(web)})
    assert cross.status_code == 403


def test_import_page_refuses_remote_anonymous(web_hub):
    from starlette.testclient import TestClient

    from citybridge.api import create_app

    with TestClient(create_app(web_hub), raise_server_exceptions=False, client=("10.1.2.3", 5000)) as remote:
        assert remote.get("/import").status_code == 403
        assert remote.post("/import", files={"file": ("a.csv", b"name\nx\n")}).status_code == 401


def test_signin_with_a_token(tmp_path):
    from starlette.testclient import TestClient

    from api.conftest import make_hub
    from api.seed import OWNER_TOKEN, TOKENS
    from citybridge.api import create_app

    hub = make_hub(tmp_path, tokens=TOKENS)
    with TestClient(create_app(hub), raise_server_exceptions=False, base_url="http://127.0.0.1") as c:
        assert c.get("/entity/org_private").status_code == 404
        assert c.post("/signin", data={"token": "wrong", "csrf": csrf_of(c)}).status_code == 401
        assert c.post("/signin", data={"token": OWNER_TOKEN}).status_code == 403  # no CSRF token
        resp = c.post("/signin", data={"token": OWNER_TOKEN, "csrf": csrf_of(c)}, follow_redirects=False)
        assert resp.status_code == 303 and "samesite=strict" in resp.headers["set-cookie"].lower()
        assert c.get("/entity/org_private").status_code == 200
        assert "Signed in as olga" in c.get("/").text
        c.post("/signout", data={"csrf": csrf_of(c)})
        assert c.get("/entity/org_private").status_code == 404
    hub.close()


def test_errors_are_html_pages(web):
    resp = web.get("/no/such/page")
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("text/html")
    assert "Error 404" in resp.text


def test_static_and_no_cdn(web):
    for path in ("/static/css/site.css", "/static/js/zoom.js", "/static/js/network.js",
                 "/static/vendor/world-atlas/countries-110m.json"):
        assert web.get(path).status_code == 200, path
    for page in ("/", "/map", "/network/org_lisbon", "/entity/doc_heat", "/import", "/browse"):
        html = web.get(page).text
        assert not re.search(r'(src|href)="(https?:)?//', html.replace('href="https://www.lisboa.pt"', "")), page


def test_message_catalogue():
    _ = translator("en")
    assert _("home.count", n=3) == "3 records"
    assert _("no.such.key") == "no.such.key"
    assert pick_language("xx", "de-DE,de;q=0.9,en;q=0.8") == "en"
    keys = set(catalogue("en"))
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "src" / "citybridge" / "web" / "templates"
    pattern = re.compile(r'_\(["\']([a-z_.]+[a-z_])["\']\s*[,)]')
    used = {m for f in templates.glob("*.html") for m in pattern.findall(f.read_text())}
    assert used <= keys, sorted(used - keys)
