"""The analytics pages over the in-process client on the seeded store: the page carries the three charts' data and
their tables, the CSV files hold the same figures as ``Hub.network_metrics`` / ``trends`` / ``gaps``, every mark
links to records that exist, the theme pages and the navigation link here, bad input is a 422 page. The drawing
itself is checked in a browser (``test_analytics_browser.py``)."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from citybridge.model.access import ANONYMOUS
from citybridge.model.taxonomy import theme_id
from citybridge.web import gapmap


def _island(html: str, name: str) -> dict:
    m = re.search(rf'<script type="application/json" id="{name}-data">(.*?)</script>', html, re.S)
    assert m, name
    return json.loads(m.group(1))


def test_navigation_and_theme_page_link_here(web):
    home = web.get("/").text
    assert '<a href="/analytics">Analytics</a>' in home
    theme = web.get(f"/entity/{theme_id('sdg', '11')}").text
    assert 'href="/analytics?theme=sdg%3A11">Network, trends and gaps of this theme</a>' in theme
    target = web.get(f"/entity/{theme_id('sdg', '11.6')}").text  # a target's figures are its goal's
    assert 'href="/analytics?theme=sdg%3A11">Network, trends and gaps of this theme</a>' in target
    pathway = web.get(f"/entity/{theme_id('pathway', 'resilient')}").text
    assert 'href="/analytics?theme=pathway%3Aresilient">' in pathway


def test_sdg11_page_carries_the_figures_of_the_hub(web, web_hub):
    resp = web.get("/analytics?theme=sdg:11")
    assert resp.status_code == 200
    html = resp.text
    assert "<h1>SDG 11 Sustainable cities and communities: network, trends and gaps</h1>" in html
    net = web_hub.network_metrics(theme="sdg:11", top=10, caller=ANONYMOUS)
    drawn = _island(html, "network")
    assert [n["id"] for n in drawn["nodes"]] == [n["id"] for n in net["graph"]["nodes"]]
    assert {n["id"] for n in drawn["nodes"]} >= {"org_lisbon", "org_porto_uni"}
    assert all(n["href"] == f"/entity/{n['id']}" for n in drawn["nodes"])
    assert "org_private" not in html and "Lisbon Lab Internal Unit" not in html  # anonymous: hidden partner
    # a trend needs three records of a theme: the seed has fewer (the browser test draws them on the pack)
    assert web_hub.trends(scheme="sdg", caller=ANONYMOUS)["series"] == []
    assert "Too few dated records" in html and 'id="trends-data"' not in html
    gaps = _island(html, "gaps")
    assert {c["region"] for c in gaps["cells"] if c["theme"] == "sdg:11"} == {"Southern Europe", "Sub-Saharan Africa"}
    # the map of gaps colours the countries of those regions and links them to the records behind the cell
    assert re.search(r'<a href="/analytics/records\?theme=sdg%3A11&amp;part=gaps&amp;row=sdg%3A11&amp;'
                     r'region=Southern\+Europe" tabindex="-1"><path d="M', html)
    for caption in ("Who is central in this theme", "Gaps of this theme by region"):
        assert caption in html
    gap_rows = re.findall(r'<tr class="selected-row"><td>([^<]+)</td><td>([^<]+)</td>', html)
    assert gap_rows == [("SDG 11 Sustainable cities and communities", "Southern Europe"),
                        ("SDG 11 Sustainable cities and communities", "Sub-Saharan Africa")]
    assert html.count("Download as CSV") == 2  # network and gaps (no trend to download)
    for asset in ("vendor/d3/d3.min.js", "vendor/plot/plot.umd.min.js", "js/charts.js"):
        assert f'src="/static/{asset}"' in html
        assert web.get(f"/static/{asset}").status_code == 200


@pytest.mark.parametrize("part", ["network", "trends", "gaps"])
def test_csv_holds_the_same_figures(web, web_hub, part):
    resp = web.get(f"/analytics/{part}.csv?theme=sdg:11")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert f'filename="citybridge-{part}-sdg-11.csv"' in resp.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert rows or part == "trends"
    if part == "network":
        net = web_hub.network_metrics(theme="sdg:11", top=10, caller=ANONYMOUS)
        ranked = {n["id"] for key in ("excellence", "brokers", "pioneers", "central") for n in net[key]}
        assert {r["id"] for r in rows} == ranked
        lisbon = next(r for r in rows if r["id"] == "org_lisbon")
        assert lisbon["records"].split() == ["prj_cool"] and lisbon["country"] == "PT"
    elif part == "trends":
        tr = web_hub.trends(scheme="sdg", caller=ANONYMOUS)
        want = {(s["theme"], side, y, n) for s in tr["series"] for side in ("demand", "supply")
                for y, n in s[side]["counts"].items()}
        assert {(r["theme"], r["side"], r["year"], int(r["records"])) for r in rows} == want
    else:
        gp = web_hub.gaps(scheme="sdg", caller=ANONYMOUS)
        assert {(r["theme"], r["area"], int(r["demand"]), int(r["supply"])) for r in rows} == \
            {(c["theme"], c["area"], c["demand"], c["supply"]) for c in gp["cells"]}


def test_every_mark_links_to_records_that_exist(web):
    html = web.get("/analytics?theme=sdg:11").text
    links = set()
    for part in ("network", "gaps"):
        data = _island(html, part)
        items = data.get("nodes") or data.get("rows") or data.get("cells")
        links |= {x["href"] for x in items}
    assert links
    for href in sorted(links):
        page = web.get(href)
        assert page.status_code == 200, href
        if "/analytics/records" in href:
            assert re.search(r'<ul class="plain results">\s*<li>', page.text), href  # at least one record
    behind = web.get("/analytics/records?theme=sdg:11&part=network&node=org_lisbon").text
    assert 'href="/entity/prj_cool">Cool Streets</a>' in behind
    cells = [parse_qs(urlsplit(h).query) for h in links if "part=gaps" in h]
    assert {(c["row"][0], c["region"][0]) for c in cells} >= {("sdg:11", "Southern Europe")}


def test_keyword_and_country_views(web):
    resp = web.get("/analytics?keyword=Urban+Heat")
    assert resp.status_code == 200
    assert "<h1>urban heat: network, trends and gaps</h1>" in resp.text
    assert 'value="urban heat"' in resp.text
    by_country = web.get("/analytics?theme=sdg:11&by=country").text
    assert {c["region"] for c in _island(by_country, "gaps")["cells"] if c["theme"] == "sdg:11"} == {"PT", "KE"}


@pytest.mark.parametrize("url,field", [
    ("/analytics?theme=sdg:<script>", "theme"), ("/analytics?theme=nope:1", "theme"),
    ("/analytics?theme=sdg:99", "theme"),
    ("/analytics?keyword=x", "keyword"), ("/analytics/other.csv", "part"), ("/analytics?by=planet", "by"),
    ("/analytics/records?part=maps", "part"),
])
def test_bad_input_is_a_clear_422_page(web, url, field):
    resp = web.get(url)
    assert resp.status_code in (404, 422), url
    if resp.status_code == 422:
        assert field in resp.text and "<html" in resp.text


def test_unknown_mark_has_no_records(web):
    resp = web.get("/analytics/records?theme=sdg:11&part=gaps&row=sdg:11&region=Atlantis")
    assert resp.status_code == 200
    assert "No record makes this figure." in resp.text


def test_gap_map_knows_every_country_and_a_symmetric_ramp():
    shapes = gapmap.country_shapes()
    assert len(shapes) == 177
    assert [name for code, name, _d in shapes if code is None] == ["N. Cyprus", "Somaliland"]  # no ISO code
    assert gapmap.regions_of("PT") == ("PT", "Southern Europe", "Europe")
    assert gapmap.colour(0, 10) == gapmap.RAMP[3]
    assert gapmap.colour(10, 10) == gapmap.RAMP[-1] and gapmap.colour(-10, 10) == gapmap.RAMP[0]
    drawn = gapmap.gap_map({"Southern Europe": 4.0, "KE": -2.0}, {"Southern Europe": "/x"}, {})
    fills = {d["title"].split(":")[0]: d["fill"] for d in drawn["countries"]}
    assert fills["Portugal"] == fills["Italy"] == gapmap.RAMP[-1]
    assert fills["Kenya"] != gapmap.NO_DATA and fills["Brazil"] == gapmap.NO_DATA
    # Russia crosses the antimeridian: its path never jumps across the whole map
    russia = next(d for code, _n, d in shapes if code == "RU")
    jumps = []
    for ring in russia.split("M")[1:]:
        xs = [float(p.split(",")[0]) for p in re.split(r"[LZ]", ring) if p]
        jumps += [abs(a - b) for a, b in zip(xs, xs[1:], strict=False)]
    assert max(jumps) < 100


def test_a_phrase_theme_counts_only_what_the_caller_may_see(web, web_hub):
    """``Secret Heat Pilot`` is a private project: the phrase finds it for its owners' curator, not for anyone."""
    from citybridge.analyze.activity import keyword_theme
    from citybridge.model.access import CURATOR

    assert keyword_theme(" Energy  Communities ") == "kw:energy communities"
    assert web_hub._phrase_records("secret heat pilot", CURATOR) == ["prj_secret"]
    assert web_hub._phrase_records("Secret HEAT pilots", ANONYMOUS) == []
    assert web_hub._phrase_records("cool streets", ANONYMOUS) == ["prj_cool"]
    assert web_hub._phrase_records("cool street", ANONYMOUS) == ["prj_cool"]  # singular or plural
    assert web_hub._phrase_records("streets cool", ANONYMOUS) == []  # words in a row, in order
    page = web.get("/analytics?keyword=secret+heat+pilot")
    assert page.status_code == 200 and "prj_secret" not in page.text and "Secret Heat Pilot" not in page.text
    records = web.get("/analytics/records?keyword=secret+heat+pilot&part=trends&row=kw%3Asecret+heat+pilot").text
    assert "prj_secret" not in records
