"""The curators' review page in headless Chromium: proposed merges side by side, accept, undo; screenshots
into test-artifacts/ and an axe-core accessibility check."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from citybridge.api import create_app
from citybridge.hub import Hub
from citybridge.model.entities import Organization, Project
from citybridge.model.relations import Relation, RelationType
from citybridge.settings import Settings
from citybridge.store.merges import MergeStore
from resolve.conftest import ror_orgs
from web.conftest import axe_violations, serve, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def review_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    hub = Hub(Settings(data_dir=tmp_path_factory.mktemp("review") / "data", _env_file=None))
    hub.init()
    hub.upsert([*ror_orgs(), Organization(name="UNIVERSIDADE DO MINHO", country="PT", external_ids={"pic": "77"}),
                Project(name="Green corridors for Braga", external_ids={"cordis": "5"})])
    hub.relate([Relation(type=RelationType.partner_in, source=hub.get("pic:77").id, target=hub.get("cordis:5").id,
                         role="coordinator")])
    MergeStore(hub.store).propose([{
        "kind": "organization", "survivor_id": hub.get("ror:037wpkx04").id, "merged_id": hub.get("pic:77").id,
        "score": 0.81, "method": "organization:ror-name",
        "reasons": {"query": "UNIVERSIDADE DO MINHO", "matched": "university minho",
                    "features": {"exact": 1.0, "country_agree": 1.0, "name_cov": 1.0},
                    "candidates": [{"ror": "037wpkx04", "name": "University of Minho", "probability": 0.81}]}}])
    yield hub
    hub.close()


@pytest.fixture(scope="module")
def live_server(review_hub: Hub) -> Iterator[str]:
    with serve(create_app(review_hub)) as url:
        yield url


def test_review_accept_then_undo(page, review_hub: Hub) -> None:  # type: ignore[no-untyped-def]
    minho, pic = review_hub.get("ror:037wpkx04").id, review_hub.get("pic:77").id
    page.goto("/review")
    assert page.locator("h1").inner_text() == "Review merges"
    card = page.locator("section.merge").first
    assert "UNIVERSIDADE DO MINHO → University of Minho" in card.locator("h2").inner_text()
    sides = card.locator(".side")
    assert sides.count() == 2
    assert "pic:77" in sides.nth(0).inner_text() and "ror:037wpkx04" in sides.nth(1).inner_text()
    assert "country_agree" in card.locator("details").inner_text()
    shot(page, "review-queue")
    assert not axe_violations(page)

    card.get_by_role("button", name="Accept: merge").click()
    page.wait_for_url("**/review?status=proposed&done=accept*")
    assert "applied" in page.get_by_role("status").first.inner_text()
    assert review_hub.get(pic).id == minho
    assert [r["other_name"] for r in review_hub.relations(minho, rel_type="partner_in")] == [
        "Green corridors for Braga"]

    page.get_by_role("link", name="Applied (1)").click()
    applied = page.locator("section.merge").first
    assert "Kept (absorbs the other)" in applied.inner_text()
    shot(page, "review-applied")
    assert not axe_violations(page)
    applied.get_by_role("button", name="Undo merge").click()
    page.wait_for_url("**/review?status=applied&done=undo*")
    assert "undone" in page.get_by_role("status").first.inner_text()
    assert review_hub.get(pic).id == pic and review_hub.relations(minho, rel_type="partner_in") == []
    page.get_by_role("link", name="Undone (1)").click()
    assert page.locator("section.merge").count() == 1
    shot(page, "review-undone")


def test_merged_away_entity_page_redirects_to_the_survivor(page, review_hub: Hub) -> None:  # type: ignore[no-untyped-def]
    minho, pic = review_hub.get("ror:037wpkx04").id, review_hub.get("pic:77").id
    m = review_hub.merge(minho, pic, changed_by="test")
    try:
        page.goto(f"/entity/{pic}")
        page.wait_for_url(f"**/entity/{minho}")
        assert page.locator("h1").inner_text().startswith("University of Minho")
        assert page.get_by_role("link", name="Green corridors for Braga").count() >= 1
        shot(page, "entity-after-merge")
    finally:
        review_hub.undo_merge(m["id"])
