"""The analytics pages in a real browser on a small real-data store (the slice of the demo pack the knowledge-pack
tests load: European cities, the projects, calls and news about urban heat, energy poverty and district heating,
their organisations and participations, enriched): a newcomer opens SDG 11 and sees its network with brokers and
pioneers, the trend lines, the gap heat-map and the map of gaps, each drawn (SVG with marks), each with its table
and CSV file, each mark linking to records; no serious or critical axe violation. Screenshots go to
test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from citybridge.api import create_app
from citybridge.hub import Hub
from citybridge.model.access import ANONYMOUS
from citybridge.model.taxonomy import theme_id
from citybridge.settings import Settings
from citybridge.web.analytics_pages import RANKED
from web.conftest import ARTIFACTS, axe_violations, open_page, serve, shot
from web.test_knowledge_pack import DAY, pack_slice

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def pack_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    tmp = Path(tmp_path_factory.mktemp("analytics-pack"))
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


def test_sdg11_page_draws_network_trends_and_gaps(pack_page, pack_hub):
    page = pack_page
    page.goto("/entity/" + theme_id("sdg", "11"))
    page.get_by_role("link", name="Network, trends and gaps of this theme").click()
    page.wait_for_url("**/analytics?theme=sdg*11")
    assert page.locator("h1").inner_text().startswith("SDG 11")
    # the network: an SVG with a node per agent of the drawable subgraph, coloured by community, marked roles
    page.wait_for_selector("#network-chart[data-drawn] svg .node path")
    net = pack_hub.network_metrics(theme="sdg:11", top=RANKED, caller=ANONYMOUS)
    drawn = page.locator("#network-chart svg a.node").count()
    assert drawn == len(net["graph"]["nodes"]) >= 5
    assert page.locator("#network-chart svg .edges line").count() == len(net["graph"]["edges"]) > 0
    fills = set(page.locator("#network-chart svg .node path").evaluate_all("ps => ps.map(p => p.getAttribute('fill'))"))
    assert len(fills) == len({n["community"] % 10 for n in net["graph"]["nodes"]}) > 1  # ten colours, cycled
    assert page.locator("#network-chart svg a.node.broker").count() == sum(n["broker"] for n in net["graph"]["nodes"])
    assert page.locator("#network-chart svg a.node.pioneer").count() == \
        sum(n["pioneer"] for n in net["graph"]["nodes"])
    assert page.locator("#network-chart svg a.node.broker, #network-chart svg a.node.pioneer").count() > 0
    # the trends: lines and dots per theme and year, two panels (demand, supply)
    page.wait_for_selector("#trends-chart[data-drawn] svg")
    assert page.locator("#trends-chart svg path[stroke]").count() > 0 or \
        page.locator("#trends-chart svg g[aria-label='line'] path").count() > 0
    assert page.locator("#trends-chart svg a").count() > 10  # dots link to the records behind them
    # the gap heat-map: one cell per theme x region, each a link
    page.wait_for_selector("#gaps-chart[data-drawn] svg")
    cells = page.locator("#gaps-chart svg a rect")
    assert cells.count() > 3
    # the map of gaps: countries of the regions with SDG 11 records coloured and linked
    assert page.locator("#gap-map .gap-land path").count() > 150
    assert page.locator("#gap-map .gap-land a").count() > 0
    # the tables beside the charts
    for cap in ("Who is central in this theme", "Records per theme and year", "Gaps of this theme by region"):
        table = page.locator("table", has=page.locator("caption", has_text=cap))
        assert table.locator("tbody tr").count() > 0, cap
    assert page.get_by_role("link", name="Download as CSV").count() == 3
    assert axe_violations(page) == []
    shot(page, "analytics-sdg11")
    page.locator("#network-chart").screenshot(path=str(ARTIFACTS / "analytics-sdg11-network.png"))
    page.locator("#gaps-chart").screenshot(path=str(ARTIFACTS / "analytics-sdg11-heatmap.png"))


def test_marks_link_to_the_records_behind_them(pack_page, pack_hub):
    page = pack_page
    page.goto("/analytics?theme=sdg:11")
    page.wait_for_selector("#network-chart[data-drawn] svg a.node")
    first = page.locator("#network-chart svg a.node").first
    href = first.get_attribute("href")
    first.dispatch_event("click")
    page.wait_for_url("**" + href)
    assert page.locator("h1").count() == 1
    page.goto("/analytics?theme=sdg:11")
    page.wait_for_selector("#gaps-chart[data-drawn] svg a")
    cell = page.locator("#gaps-chart svg a").first
    target = cell.get_attribute("href")
    assert "/analytics/records?" in target and "part=gaps" in target
    page.goto(target)
    assert page.locator("h1").inner_text().startswith("The records behind")
    assert page.locator("ul.results li a").count() > 0
    assert axe_violations(page) == []
    shot(page, "analytics-records-behind-a-gap")


def test_keyword_page_and_csv_download(pack_page):
    page = pack_page
    page.goto("/analytics")
    page.get_by_label("Theme", exact=True).select_option("")
    page.get_by_label("or a keyword").fill("district heating")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/analytics?*keyword=district+heating*")
    assert "district heating" in page.locator("h1").inner_text()
    assert axe_violations(page) == []
    shot(page, "analytics-keyword-district-heating")
    with page.expect_download() as info:
        page.goto("/analytics?theme=sdg:11")
        page.locator("section[aria-labelledby='gap-h']").get_by_role("link", name="Download as CSV").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert text.startswith("theme,name,area,demand,supply")
    assert text.count("\n") > 3
