"""The search page, similar records, peer cities on city pages and the partners form, over the in-process
client: results, facets as links kept in the URL, escaping, paging, empty state, errors as HTML."""

from __future__ import annotations

import html as htmllib
import re

import pytest

from citybridge.web.present import snippet_html


def links(page: str) -> list[str]:
    return [htmllib.unescape(h) for h in re.findall(r'href="([^"]+)"', page)]


def test_header_search_box_on_every_page(web):
    for path in ("/", "/browse", "/entity/doc_heat"):
        page = web.get(path).text
        assert 'role="search"' in page and 'action="/search"' in page and 'for="site-q"' in page


def test_search_results_with_passages_tags_and_similar_links(web):
    resp = web.get("/search?q=urban+heat+island")
    assert resp.status_code == 200
    page = resp.text
    assert 'href="/entity/doc_heat">Heat action plan for school streets</a>' in page
    assert "<mark>urban</mark>" in page and "<mark>heat</mark>" in page
    assert 'class="badge k-document">Document</span>' in page
    assert '<span class="chip">SDG 11: Sustainable cities and communities</span>' in page
    assert 'href="/entity/doc_heat/similar"' in page
    assert "Secret Heat Pilot" not in page and "Lisbon Lab Internal Unit" not in page  # private, anonymous


def test_facets_add_and_remove_filters_in_the_url(web):
    page = web.get("/search?q=heat").text
    assert "Sustainable Development Goal" in page and "SDG 13: Climate action" in page
    add = next(h for h in links(page) if h.startswith("?") and "kind=document" in h)
    assert add == "?q=heat&kind=document"
    filtered = web.get("/search" + add).text
    assert 'aria-current="true"' in filtered and "Cool Streets</a>" not in filtered
    assert "Heat action plan for school streets</a>" in filtered
    # the selected value links back to the unfiltered search, and other kinds can still be added (any of)
    hrefs = links(filtered)
    assert "?q=heat" in hrefs and "?q=heat&kind=document&kind=project" in hrefs
    both = web.get("/search?q=heat&kind=document&kind=project").text
    assert "Cool Streets</a>" in both and "Heat action plan for school streets</a>" in both
    assert "Kind: Projects" in both  # an active-filter chip that removes it


def test_year_facet_and_range(web):
    page = web.get("/search?year_from=2023&year_to=2023").text
    assert "Heat action plan for school streets</a>" in page and "Cool Streets</a>" not in page
    assert 'id="year_from" name="year_from" value="2023"' in page
    assert web.get("/search?q=heat&year_from=&year_to=").status_code == 200  # the form's blank fields


def test_paging(web):
    first = web.get("/search?q=urban&per_page=2").text
    assert "Results 1–2 of 7" in first
    nxt = re.search(r'href="([^"]+)" rel="next"', first)
    assert nxt and htmllib.unescape(nxt.group(1)) == "?q=urban&per_page=2&page=2"
    second = web.get("/search" + htmllib.unescape(nxt.group(1))).text
    assert "Results 3–4 of 7" in second and 'rel="prev"' in second and 'aria-current="page"' in second


def test_empty_states(web):
    start = web.get("/search").text
    assert "Search everything the network knows" in start
    none = web.get("/search?q=zzqqxxyy&kind=person").text
    assert "No results for “zzqqxxyy”" in none and "Search again without the filters" in none


def test_query_and_data_are_escaped(web):
    page = web.get("/search", params={"q": '<script>alert("x")</script> heat'}).text
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert str(snippet_html({"text": "<b>hot</b> & heat", "start": 0, "end": 17, "highlights": [[13, 17]]})) == \
        "&lt;b&gt;hot&lt;/b&gt; &amp; <mark>heat</mark> …"


@pytest.mark.parametrize("query", ["sdg=99", "year_from=abc", "per_page=1000", "kind=spaceship", "subtype=castle"])
def test_bad_filters_are_an_html_error(web, query):
    resp = web.get(f"/search?{query}")
    assert resp.status_code == 422 and "text/html" in resp.headers["content-type"] and "Error 422" in resp.text


def test_similar_page(web):
    page = web.get("/entity/doc_heat/similar").text
    assert "Records similar to Heat action plan for school streets" in page and "Cool Streets</a>" in page
    assert "Secret Heat Pilot" not in page
    assert web.get("/entity/prj_secret/similar").status_code == 404


def test_peer_cities_on_city_and_local_government_pages(web):
    for rid in ("plc_lisbon", "org_lisbon"):
        page = web.get(f"/entity/{rid}").text
        assert "Peer cities" in page and 'href="/entity/plc_porto">Porto</a>' in page
        assert "same country (PT)" in page
    assert "Peer cities" not in web.get("/entity/org_porto_uni").text  # a university, not a city


def test_partners_form_and_suggestions(web):
    form = web.get("/partners").text
    assert 'for="p-text"' in form and 'for="p-partners"' in form and "sugg-h" not in form
    page = web.get("/partners?partners=org_lisbon&max_results=5").text
    assert "Recognised:" in page and 'href="/entity/org_porto_uni">University of Porto</a>' in page
    assert "partnered with Lisbon City Council" in page
    assert "Lisbon Lab Internal Unit" not in page
    assert 'href="/partners?partner=org_porto_uni"' in web.get("/entity/org_porto_uni").text


def test_partners_form_errors_are_shown_in_the_form(web):
    resp = web.get("/partners?partners=nope")
    assert resp.status_code == 404 and 'role="alert"' in resp.text and "nope" in resp.text
    bad = web.get("/partners?text=heat&country=Portugal")
    assert bad.status_code == 422 and "ISO 3166-1" in bad.text


def test_challenge_page(web):
    form = web.get("/challenge")
    assert form.status_code == 200 and 'for="c-text"' in form.text and "understood-h" not in form.text
    page = web.get("/challenge", params={"text": "urban heat island, trees and green roofs in school streets",
                                         "city": "plc_lisbon"})
    assert page.status_code == 200
    assert 'href="/entity/doc_heat">Heat action plan for school streets</a>' in page.text
    assert "Research and reports" in page.text and "Peer cities" in page.text
    assert "Lisbon Lab Internal Unit" not in page.text
    bad = web.get("/challenge", params={"text": "heat", "want": "gossip"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text
