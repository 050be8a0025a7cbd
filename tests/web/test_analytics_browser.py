"""The analytics pages in a real browser on a small real-data store (the slice of the demo pack the knowledge-pack
tests load: European cities, the projects, calls and news about urban heat, energy poverty and district heating,
their organisations and participations, enriched): a newcomer opens SDG 11 and sees its network with brokers and
pioneers, the trend lines, the gap heat-map and the map of gaps, each drawn (SVG with marks), each with its table
and CSV file, each mark linking to records; no serious or critical axe violation. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from citybridge.hub import Hub
from citybridge.model.access import ANONYMOUS
from citybridge.model.taxonomy import theme_id
from citybridge.search.analysis import fold_accents
from citybridge.store import tables as t
from citybridge.web.analytics_pages import GOALS, RANKED
from web.conftest import ARTIFACTS, axe_violations, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


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
    # every cell of the figures is drawn and filled by its gap (not only the chosen theme's row)
    n_cells = page.evaluate("JSON.parse(document.getElementById('gaps-data').textContent).cells.length")
    assert cells.count() == n_cells
    assert cells.evaluate_all("rs => new Set(rs.map(r => r.getAttribute('fill'))).size") > 2
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


def _holds(hub: Hub, phrase: str) -> Any:
    """A check, independent of the search index, that a record contains ``phrase`` (whole words, any case or
    accents, the last word singular or plural) in its title, description, text, tags or aliases, or has
    the keyword annotation ``kw:<phrase>`` in any case."""
    *first, last = phrase.split()
    last = re.escape(last[:-3]) + "(?:y|ies)" if last.endswith("ies") else re.escape(last.removesuffix("s")) + "s?"
    pattern = re.compile(r"\b" + r"\W+".join([*map(re.escape, first), last]) + r"\b")
    with hub.store.engine.connect() as conn:
        kw = {rid for rid, label in conn.execute(select(t.annotations.c.record_id, t.annotations.c.label)
                                                 .where(t.annotations.c.label.like("kw:%")))
              if " ".join(label[3:].casefold().split()) == phrase}

    def holds(rid: str) -> bool:
        rec = hub.store.get(rid)
        texts = [rec.name, rec.description or "", getattr(rec, "body", None) or "", *rec.tags,
                 *(getattr(rec, "aliases", None) or [])]
        return rid in kw or any(pattern.search(fold_accents(x.casefold())) for x in texts)

    return holds


@pytest.mark.parametrize("phrase,min_orgs,min_cells", [("energy communities", 2, 1), ("district heating", 2, 1),
                                                       ("urban heat", 0, 0)])  # the slice: no project, no place
def test_a_phrase_is_a_theme_with_the_records_that_contain_it(pack_hub, phrase, min_orgs, min_cells):
    holds = _holds(pack_hub, phrase)
    theme = "kw:" + phrase
    # typed in any case and spacing, the same theme
    net = pack_hub.network_metrics(theme="kw:" + phrase.title().replace(" ", "  "), top=RANKED, caller=ANONYMOUS)
    assert net["theme"] == theme
    orgs = [n for n in net["graph"]["nodes"]]
    assert len(orgs) >= min_orgs
    behind = {r for part in ("excellence", "brokers", "pioneers") for n in net[part] for r in n["records"]}
    behind |= {r for e in net["graph"]["edges"] for r in e["records"]}
    assert (len(behind) > 0) == (min_orgs > 0)
    assert all(holds(r) for r in behind), [r for r in behind if not holds(r)]
    # the trend series: the records of each year behind each point, all containing the phrase
    series = pack_hub.trends(themes=[theme], caller=ANONYMOUS)["series"]
    assert [s["theme"] for s in series] == [theme]
    s = series[0]
    assert s["total"] >= 3
    for side in ("supply", "demand"):
        for year, n in s[side]["counts"].items():
            ids = s["records_by_year"][side].get(year, [])
            assert len(ids) == min(n, 50)
            assert all(holds(r) and pack_hub.store.get(r).visibility == "public" for r in ids)
        assert all(holds(r) for r in s["records"][side])
    # the gap map: cells of the theme, each with its records
    cells = [c for c in pack_hub.gaps(themes=[theme], caller=ANONYMOUS)["cells"] if c["theme"] == theme]
    assert len(cells) >= min_cells
    ids = {r for c in cells for side in ("supply", "demand") for r in c["records"][side]}
    assert len(ids) >= min_cells and all(holds(r) for r in ids)


def test_energy_communities_beyond_the_keyword_annotations(pack_hub):
    """Before phrases were themes, only records annotated exactly ``kw:energy communities`` counted."""
    net = pack_hub.network_metrics(theme="kw:energy communities", top=RANKED, caller=ANONYMOUS)
    with pack_hub.store.engine.connect() as conn:
        annotated = set(conn.execute(select(t.annotations.c.record_id)
                                     .where(t.annotations.c.label == "kw:energy communities")).scalars())
    assert len(net["graph"]["nodes"]) > 1
    total = pack_hub.trends(themes=["kw:energy communities"], caller=ANONYMOUS)["series"][0]["total"]
    assert total > len(annotated)


def test_energy_communities_page(pack_page, pack_hub):
    page = pack_page
    page.goto("/analytics?keyword=energy%20communities")
    assert page.locator("h1").inner_text().startswith("energy communities")
    holds = _holds(pack_hub, "energy communities")
    page.wait_for_selector("#network-chart[data-drawn] svg .node path")
    net = pack_hub.network_metrics(theme="kw:energy communities", top=RANKED, caller=ANONYMOUS)
    assert page.locator("#network-chart svg a.node").count() == len(net["graph"]["nodes"]) > 1
    page.wait_for_selector("#trends-chart[data-drawn] svg")
    page.wait_for_selector("#gaps-chart[data-drawn] svg a rect")
    assert axe_violations(page) == []
    shot(page, "analytics-keyword-energy-communities")
    # a point of the phrase's trend line links to that year's records, which contain the phrase
    hrefs = page.locator("#trends-chart svg a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    points = [h for h in hrefs if h and "row=kw%3Aenergy+communities" in h and "year=" in h]
    assert points
    query = parse_qs(urlsplit(points[0]).query)
    year, side = query["year"][0], query["side"][0]
    series = pack_hub.trends(themes=["kw:energy communities"], caller=ANONYMOUS)["series"][0]
    expected = series["records_by_year"][side].get(year, [])
    page.goto(points[0])
    assert page.locator("h1").inner_text().startswith("The records behind")
    shown = page.locator("ul.results li a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert len(shown) == len(expected)
    assert all(holds(h.rsplit("/", 1)[-1]) for h in shown)
    # a gap cell of the phrase links to records that contain it
    page.goto("/analytics?keyword=energy%20communities")
    page.wait_for_selector("#gaps-chart[data-drawn] svg a")
    cells = page.locator("#gaps-chart svg a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    mine = [h for h in cells if "row=kw%3Aenergy+communities" in h]
    assert mine
    query = parse_qs(urlsplit(mine[0]).query)
    gaps = pack_hub.gaps(themes=["kw:energy communities", *GOALS], caller=ANONYMOUS)
    cell = next(c for c in gaps["cells"] if c["theme"] == query["row"][0] and c["area"] == query["region"][0])
    page.goto(mine[0])
    shown = page.locator("ul.results li a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert {h.rsplit("/", 1)[-1] for h in shown} == {*cell["records"]["supply"], *cell["records"]["demand"],
                                                      *cell["expert_ids"]}
    assert all(holds(r) for side in ("supply", "demand") for r in cell["records"][side])
