"""The shipped demo pack answers a city's challenge: "Find help" in a real browser on a store loaded from
data/demo (a slice of it, so the enrichment fits in a test: European cities of 150k+, the projects, calls and
news about the three challenges, all their organisations and participations), with screenshots of the three
pages of the knowledge-pack issue saved under test-artifacts/."""

from __future__ import annotations

import re

import pytest

from web.conftest import shot

pytestmark = pytest.mark.slow
CHALLENGES = [("reduce urban heat in dense neighbourhoods", "Lisbon", "find-help-lisbon-urban-heat"),
              ("energy poverty in social housing", "Porto", "find-help-porto-energy-poverty"),
              # a Spanish challenge against English records: read through the link glossary's English terms
              ("descarbonizar la calefacción urbana", "Madrid", "find-help-madrid-district-heating")]


def test_home_shows_projects_calls_and_news(pack_page):
    pack_page.goto("/")
    for heading in ("Calls closing soon", "Recent news", "Recent projects"):
        section = pack_page.locator("section", has=pack_page.get_by_role("heading", name=heading))
        assert section.locator("li").count() >= 3, heading
    assert re.search(r"deadline 2026-\d\d-\d\d, in \d+ days", pack_page.locator("#closing-soon + ul").inner_text())
    shot(pack_page, "home-knowledge-pack")


@pytest.mark.parametrize(("text", "city", "name"), CHALLENGES)
def test_find_help_on_the_pack(pack_page, text, city, name):
    pack_page.goto("/challenge")
    pack_page.get_by_label("Your challenge").fill(text)
    pack_page.get_by_label("Your city (optional)").fill(city)
    pack_page.get_by_role("button", name="Find help").click()
    pack_page.wait_for_selector("#understood-h")
    shot(pack_page, name)
    sections = {}
    for sec in ("evidence", "organisations", "peer_cities", "opportunities", "projects"):
        items = pack_page.locator(f"section[aria-labelledby='sec-{sec}'] li.suggestion")
        sections[sec] = [items.nth(i).locator("h3").inner_text() for i in range(items.count())]
        assert sections[sec], f"{sec} is empty for '{text}' ({city})"
        assert pack_page.locator(f"section[aria-labelledby='sec-{sec}'] ul.reasons li").count() >= len(sections[sec])
    shown = " ".join(t for titles in sections.values() for t in titles)
    assert "H2020 project " not in shown and "Organisation PIC " not in shown  # real titles and names
    deadlines = pack_page.locator("section[aria-labelledby='sec-opportunities'] p.deadline").all_inner_texts()
    assert deadlines and all(re.search(r"Deadline: (\d{4}-\d\d-\d\d|none)", d) for d in deadlines)
