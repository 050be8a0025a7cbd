"""The newcomer's path in headless Chromium: open "My digest", subscribe to a keyword and a city through the
form, see the digest with calls closing soon and the reasons; accessibility checked with axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.conftest import make_hub
from citybridge.hub import Hub
from notify.conftest import clock, free_port, seed_notify, served
from web.conftest import axe_violations, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Hub, str]]:
    hub = make_hub(tmp_path, search_embedder=None, public_url=f"http://127.0.0.1:{free_port()}")
    seed_notify(hub, clock())
    with served(hub) as url:
        yield hub, url
    hub.close()


def test_subscribe_and_read_my_digest(browser, site) -> None:  # type: ignore[no-untyped-def]
    hub, url = site
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=url)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/digest")
    assert page.locator("h1").inner_text() == "My digest"
    assert not axe_violations(page)
    page.get_by_label("Member (record id)").fill("per_mia")
    page.get_by_label("What to follow").select_option("keyword")
    page.get_by_label("Theme, place, words or record").fill("energy communities")
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_url("**/digest?member=per_mia")
    page.get_by_label("What to follow").select_option("place")
    page.get_by_label("Theme, place, words or record").fill("Lisbon")
    page.get_by_label("How", exact=True).select_option("both")
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_url("**/digest?member=per_mia")
    main = page.locator("main").inner_text()
    assert "Calls and opportunities" in main and "Energy communities call" in main
    assert "closes on" in main and "mentions “energy communities”" in main and "in or about Lisbon" in main
    assert "Lisbon lab internal memo" not in main
    assert page.locator("a[type='application/atom+xml']").count() == 1
    assert {s.type for s in hub.subscriptions("per_mia")} == {"keyword", "place"}
    shot(page, "my-digest")
    assert not axe_violations(page)
    ctx.close()
    assert not errors
