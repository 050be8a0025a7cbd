"""XSS payloads in every text field a user can write, rendered escaped: checked in a real browser (Chromium)
on every page that shows them — no payload runs, each is shown as text."""

from __future__ import annotations

from pathlib import Path

import pytest

from citybridge.api import create_app
from citybridge.hub import Hub
from citybridge.model.entities import Document, Organization, Project
from citybridge.model.relations import Relation
from security.conftest import PASSWORD, build, make_settings
from web.conftest import open_page, serve

PAYLOADS = ['<img src=x onerror="window.__xss=1">', '"><script>window.__xss=2</script>',
            "'><svg onload=window.__xss=3>", "</textarea><script>window.__xss=4</script>",
            "javascript:window.__xss=5"]
MARK = "xsscanary"


def _p(i: int) -> str:
    return f"{MARK}{i} {PAYLOADS[i % len(PAYLOADS)]}"


@pytest.mark.slow
def test_payloads_in_every_text_field_render_escaped(browser, tmp_path: Path) -> None:
    hub = Hub(make_settings(tmp_path))
    build(hub)
    org = Organization(id="org_xss", name=_p(0), acronym=_p(1), aliases=[_p(2)], city=_p(3), address=_p(4),
                       website="javascript:window.__xss=6", description=_p(5), country="PT", lat=38.7, lon=-9.1)
    prj = Project(id="prj_xss", name=_p(6), acronym=_p(7), description=f"urban heat {_p(8)} cooling",
                  programme=_p(9))
    doc = Document(id="doc_xss", name=_p(10), authors=[_p(11)], description=f"heat {_p(12)}", year=2024)
    hub.upsert([org, prj, doc], changed_by="cli:xss")
    hub.relate([Relation(type="partner_in", source="org_xss", target="prj_xss", role=_p(13)[:60])],
               changed_by="cli:xss")
    hub.update_account("staff", groups=[_p(14)[:100]], changed_by="cli:xss")
    hub.create_token("admin", _p(15)[:120], ["read"], changed_by="cli:xss")
    pages = ["/entity/org_xss", "/entity/prj_xss", "/entity/doc_xss", f"/search?q={MARK}6",
             "/search?q=urban+heat+cooling", "/browse?kind=organization", "/browse?kind=project",
             "/network/org_xss", "/map?focus=org_xss", "/entity/prj_xss/similar", "/partners?text=urban+heat",
             f"/search?q={_p(16)}", "/account", "/admin/audit", "/admin/accounts", "/entity/org_xss/edit"]
    with serve(create_app(hub)) as url, open_page(browser, url) as page:
        page.on("dialog", lambda d: (_ for _ in ()).throw(AssertionError(f"a dialog opened: {d.message}")))
        page.goto("/signin")
        page.fill("#email", "admin@example.org")
        page.fill("#password", PASSWORD)
        page.click("#password-form button[type=submit]")
        page.wait_for_url(url + "/")
        shown = 0
        for path in pages:
            resp = page.goto(path)
            assert resp is not None and resp.status < 500, path
            assert page.evaluate("window.__xss") is None, f"a payload ran on {path}"
            assert page.locator("script:not([src]):not([type='application/json'])").evaluate_all(
                "els => els.filter(e => e.textContent.includes('__xss')).length") == 0, path
            # data islands hold the payloads as JSON strings, with no '<' that could end or bend the block
            assert page.locator("script[type='application/json']").evaluate_all(
                "els => els.filter(e => e.textContent.includes('<')).length") == 0, path
            assert page.locator("[onerror], [onload]").count() == 0, path
            body = page.inner_text("body") + page.evaluate(
                "Array.from(document.querySelectorAll('input,textarea')).map(e => e.value).join(' ')")
            shown += sum(1 for p in PAYLOADS if p in body)
            hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
            assert not [h for h in hrefs if h.strip().lower().startswith("javascript:")], path
        assert shown >= 10  # the payloads are on the pages, as text
    hub.close()
