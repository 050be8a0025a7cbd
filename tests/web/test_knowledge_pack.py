"""The shipped demo pack answers a city's challenge: "Find help" in a real browser on a store loaded from
data/demo (a slice of it, so the enrichment fits in a test: European cities of 150k+, the projects, calls and
news about the three challenges, all their organisations and participations), with screenshots of the three
pages of the knowledge-pack issue saved under test-artifacts/."""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from citybridge.api import create_app
from citybridge.hub import Hub
from citybridge.settings import Settings
from web.conftest import open_page, serve, shot

pytestmark = pytest.mark.slow
PACK = Path(__file__).resolve().parents[2] / "data" / "demo"
EUROPE = {"PT", "ES", "FR", "IT", "DE", "NL", "BE", "AT", "DK", "SE", "FI", "IE", "PL", "CZ", "GR", "HU", "RO", "SI",
          "HR", "SK", "BG", "LT", "LV", "EE", "LU", "GB", "NO", "CH"}
TOPICS = re.compile(r"urban heat|heat island|heatwave|cooling|energy poverty|fuel poverty|social housing|"
                    r"district heating|heat network|heating|renovation|retrofit", re.I)
DAY = date(2026, 6, 1)
CHALLENGES = [("reduce urban heat in dense neighbourhoods", "Lisbon", "find-help-lisbon-urban-heat"),
              ("energy poverty in social housing", "Porto", "find-help-porto-energy-poverty"),
              # a Spanish challenge against English records: read through the link glossary's English terms
              ("descarbonizar la calefacción urbana", "Madrid", "find-help-madrid-district-heating")]


def _lines(name: str) -> Iterator[dict]:
    path = PACK / name
    if not path.exists():
        pytest.skip(f"demo pack not built: {path}")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def pack_slice() -> bytes:
    """The pack's records and relations about the three challenges, as one JSON Lines file."""
    places = [p for p in _lines("10-places.jsonl.gz") if p.get("place_type") != "city" or
              (p.get("country") in EUROPE and (p.get("population") or 0) >= 150_000)]
    city_ids = {p["id"] for p in places}
    relations = list(_lines("90-relations.jsonl.gz"))
    lg_city = {r["source"]: r["target"] for r in relations if r["type"] == "located_in"}
    projects = [p for p in _lines("40-projects.jsonl.gz") if "generated_name" not in p.get("attributes", {})
                and TOPICS.search(f"{p['name']} {p.get('description', '')}")]
    project_ids = {p["id"] for p in projects}
    partner = [r for r in relations if r["type"] == "partner_in" and r["target"] in project_ids]
    members = {r["source"] for r in partner}
    orgs = [o for o in _lines("20-organizations.jsonl.gz") if o["id"] in members or lg_city.get(o["id"]) in city_ids]
    org_ids = {o["id"] for o in orgs}
    located = [r for r in relations if r["type"] == "located_in" and r["source"] in org_ids]
    docs = [d for d in _lines("50-documents.jsonl.gz") if d.get("doc_type") == "news" or TOPICS.search(d["name"])]
    opps = [o for o in _lines("60-opportunities.jsonl.gz")
            if o.get("opp_type") == "funding_programme" or TOPICS.search(f"{o['name']} {o.get('description', '')}")]
    out = io.StringIO()
    for row in [*places, *orgs, *projects, *docs, *opps, *partner, *located]:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def pack_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    tmp = Path(tmp_path_factory.mktemp("pack"))
    (tmp / "slice.jsonl").write_bytes(pack_slice())
    hub = Hub(Settings(data_dir=tmp / "data", _env_file=None))
    hub.init()
    report = hub.import_files([tmp / "slice.jsonl"])
    assert report.rejected == 0, report.rejections[:3]
    hub.enrich(workers=1)
    hub.clock = lambda: DAY  # type: ignore[method-assign]
    yield hub
    hub.close()


@pytest.fixture(scope="module")
def pack_server(pack_hub: Hub) -> Iterator[str]:
    with serve(create_app(pack_hub)) as url:
        yield url


@pytest.fixture
def pack_page(browser: object, pack_server: str) -> Iterator[object]:
    with open_page(browser, pack_server) as page:
        yield page


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
