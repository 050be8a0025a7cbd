"""End to end in headless Chromium (Debian's, driven by Playwright): open the main pages, click through,
pan/zoom, take screenshots into test-artifacts/, and check accessibility with axe-core (vendored)."""

from __future__ import annotations

import re

import pytest

from web.conftest import axe_violations, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_home_then_click_through_to_an_entity(page):
    page.goto("/")
    assert page.locator("h1").inner_text() == "What the network knows"
    shot(page, "home")
    page.get_by_role("link", name="Heat action plan for school streets").first.click()
    page.wait_for_url("**/entity/doc_heat")
    assert page.locator("mark", has_text="urban heat island").count() == 1
    shot(page, "entity-document")
    page.get_by_role("link", name="Ana Silva").first.click()
    page.wait_for_url("**/entity/per_ana")
    page.get_by_role("link", name="University of Porto").first.click()
    page.wait_for_url("**/entity/org_porto_uni")
    shot(page, "entity-organisation")


def test_keyboard_skip_link_and_navigation(page):
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def _viewbox(page) -> list[float]:  # type: ignore[no-untyped-def]
    return [round(float(v), 1) for v in page.get_attribute("svg#map", "viewBox").split()]


def test_map_draws_points_zooms_and_links(page):
    page.goto("/map")
    assert page.locator("svg#map .land path").count() > 150
    assert page.locator("svg#map .pt").count() >= 7
    before = _viewbox(page)
    page.get_by_role("button", name="Zoom in").click()
    assert _viewbox(page) != before
    page.get_by_role("button", name="Reset view").click()
    assert _viewbox(page) == before
    page.locator("#map-frame").focus()
    page.keyboard.press("+")
    page.keyboard.press("ArrowRight")
    assert _viewbox(page) != before
    page.get_by_role("button", name="Reset view").click()
    shot(page, "map")
    page.locator('svg#map a[href="/entity/prj_cool"] .pt').dispatch_event("click")
    page.wait_for_url("**/entity/prj_cool")
    page.goto("/map?focus=org_lisbon")
    shot(page, "map-focus-lisbon")


def test_network_is_drawn_and_clickable(page):
    page.goto("/network/org_porto_uni")
    page.wait_for_selector("svg#network .node circle")
    assert page.locator("svg#network .node").count() >= 5
    assert page.locator("svg#network line.edge").count() >= 4
    shot(page, "network")
    page.get_by_role("button", name="Zoom in").click()
    page.locator('svg#network a[href="/entity/prj_cool"]').dispatch_event("click")
    page.wait_for_url("**/entity/prj_cool")


def test_import_page_upload_and_report(page, tmp_path):
    page.goto("/import")
    data = tmp_path / "orgs.csv"
    data.write_text("name,kind,country\nSetubal Council,organization,PT\nNo Country,organization,Atlantis\n")
    page.get_by_label("File", exact=True).set_input_files(str(data))
    page.get_by_role("button", name="Import without preview").click()
    page.wait_for_selector("#report")
    status = page.get_by_role("status").inner_text()
    assert "created" in status and "rejected" in status
    shot(page, "import-report")


def test_search_type_filter_page_and_open(page):
    page.goto("/")
    page.get_by_role("searchbox", name="Search the site").fill("lisbon")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=lisbon")
    assert page.locator(".result").count() == 4
    # the main form keeps the other parameters (here 2 per page) when the query changes
    page.goto("/search?per_page=2")
    page.get_by_role("searchbox", name="Words to search for").fill("urban")
    page.get_by_role("button", name="Search", exact=True).last.click()
    page.wait_for_url("**q=urban**")
    assert "of 7" in page.get_by_role("status").inner_text()
    shot(page, "search-results")
    page.locator(".facet").filter(has_text="Kind").get_by_role("link", name=re.compile("Themes")).click()
    page.wait_for_url("**kind=theme**")
    assert "of 4" in page.get_by_role("status").inner_text()
    assert page.locator(".facet-link.selected").count() == 1
    page.get_by_role("link", name="Next page").click()
    page.wait_for_url("**page=2**")
    assert "Results 3–4 of 4" in page.get_by_role("status").inner_text()
    shot(page, "search-facet-page2")
    # keyboard: tab to the first result title and open it
    first = page.locator(".result-title a").first
    name = first.inner_text()
    first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/entity/thm_*")
    assert page.locator("h1").inner_text() == name


def test_similar_peers_and_partners(page):
    page.goto("/entity/plc_lisbon")
    assert page.get_by_role("heading", name="Peer cities").is_visible()
    shot(page, "entity-city-peers")
    page.goto("/entity/org_lisbon")
    page.get_by_role("link", name="Find partners for a consortium with it").click()
    page.wait_for_url("**/partners?partner=org_lisbon")
    page.get_by_label("Call or project description").fill("Cooling school streets with trees")
    page.get_by_role("button", name="Suggest partners").click()
    page.wait_for_selector(".suggestion")
    assert "University of Porto" in page.locator(".suggestion-list").inner_text()
    shot(page, "partners")
    page.goto("/entity/doc_heat/similar")
    assert page.locator(".result").count() >= 1


def test_challenge_page_links_a_challenge(page):
    page.goto("/")
    page.get_by_role("link", name="Find help").first.click()
    page.get_by_label("Your challenge").fill("Cooling school streets during heatwaves with trees and green roofs")
    page.get_by_label("Your city (optional)").fill("plc_lisbon")
    page.get_by_role("button", name="Find help").click()
    page.wait_for_selector("#understood-h")
    text = page.locator("main").inner_text()
    assert "Research and reports" in text and "Peer cities" in text
    assert "Heat action plan for school streets" in text
    shot(page, "challenge")


@pytest.mark.parametrize("path", ["/", "/entity/doc_heat", "/entity/org_lisbon", "/map", "/network/org_porto_uni",
                                  "/browse", "/import", "/search", "/search?q=heat&kind=document",
                                  "/search?q=zzqqxx", "/entity/plc_lisbon", "/partners?partners=org_lisbon",
                                  "/entity/doc_heat/similar", "/digest",
                                  "/challenge", "/challenge?text=urban+heat+in+school+streets&city=plc_lisbon"])
def test_accessibility(page, path):
    page.goto(path)
    serious = axe_violations(page)
    assert not serious, serious
