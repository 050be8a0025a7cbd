"""The web import page: upload, preview (inferred mapping, first records, problems), adjust the mapping
(column -> field, type values, defaults), import; in-process and in headless Chromium with a real messy file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from citybridge.api import create_app
from citybridge.hub import Hub
from citybridge.settings import Settings
from conftest import shared
from web.conftest import axe_violations, open_page, serve, shot
from webforms import csrf_of

MEMBERS = ("Membros da rede\n\n"
           "Nome;Tipo;País;Sítio web;Fundação\n"
           "Prefeitura do Recife;Prefeitura;Brasil;https://www2.recife.pe.gov.br;1537\n"
           "Universidade Federal de Pernambuco;Universidade;Brasil;https://www.ufpe.br;1946\n"
           "Ayuntamiento de Sevilla;Ayuntamiento;España;https://www.sevilla.org;1248\n"
           "Porto Digital;Associação;Brasil;https://www.portodigital.org;2000\n").encode("cp1252")


@pytest.fixture
def blank(tmp_path: Path) -> Iterator[tuple[Hub, TestClient]]:
    """A hub with nothing imported yet, and a local (development curator) client."""
    hub = Hub(Settings(data_dir=tmp_path / "data", _env_file=None))
    hub.init()
    with TestClient(create_app(hub), raise_server_exceptions=False, client=("127.0.0.1", 5000)) as c:
        yield hub, c
    hub.close()


def form_of(html: str) -> dict[str, list[str]]:
    """The fields the preview form would post, as a browser would (selected options, hidden inputs)."""
    form = html[html.index('id="mapping-form"'):html.index("</form>", html.index('id="mapping-form"'))]
    out: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form):
        out.setdefault(name, []).append(value)
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', body)
        out.setdefault(name, []).append(chosen.group(1) if chosen else "")
    return out


def test_preview_adjust_and_import(blank: tuple[Hub, TestClient]) -> None:
    hub, web = blank
    resp = web.post("/import/preview", files={"file": ("membros.csv", MEMBERS)},
                    data={"kind": "organization", "csrf": csrf_of(web)})
    assert resp.status_code == 200, resp.text[:500]
    html = resp.text
    assert "4 of 4 rows would be imported, 0 rejected" in html
    assert "header found on row 3" in html
    assert re.search(r"Nome<input[^>]*></th>\s*<td[^>]*>[^<]*</td>\s*<td>\s*<label[^>]*>[^<]*</label>\s*"
                     r'<select[^>]*>\s*<option value="name" selected', html)
    assert "Values of Tipo as org_type" in html  # type values offered for mapping
    assert hub.stats()["by_kind"].get("organization") is None  # a preview writes nothing
    fields = form_of(html)
    token = fields["upload"][0]
    assert re.fullmatch(r"[0-9a-f]{32}", token) and hub.staged_upload(token).name == "membros.csv"
    # the curator maps 'Associação' to an NGO and gives every row a default owner-free visibility
    values = dict(zip(fields["vm_from"], fields["vm_to"], strict=True))
    assert values == {"Associação": "ngo", "Ayuntamiento": "local_government", "Prefeitura": "local_government",
                      "Universidade": "university"}
    fields["vm_to"][fields["vm_from"].index("Associação")] = "company"
    fields["def_field"][0], fields["def_value"][0] = "status", "member"
    fields["target"][fields["colname"].index("Fundação")] = "-"
    again = web.post("/import/preview", data=fields)
    assert again.status_code == 200 and "4 of 4 rows would be imported" in again.text
    assert re.search(r"<dt>status</dt><dd>member</dd>", again.text)
    done = web.post("/import/commit", data=form_of(again.text))
    assert re.search(r'card-n">4</span> <span class="card-label">created', done.text)
    porto = next(o for o in hub.list("organization") if o.name == "Porto Digital")
    assert (porto.org_type.value, porto.country, porto.status) == ("company", "BR", "member")  # type: ignore[attr-defined]
    assert porto.website == "https://www.portodigital.org" and porto.established is None  # type: ignore[attr-defined]
    assert "Fundação" not in porto.attributes  # ignored, as chosen
    with pytest.raises(Exception, match="gone"):
        hub.staged_upload(token)  # the staged file is removed once imported
    assert web.post("/import/commit", data=fields).status_code == 404


@pytest.mark.slow
def test_cordis_projects_through_the_web_page(blank: tuple[Hub, TestClient]) -> None:
    """The issue's newcomer, on the web page: both CORDIS exports, no mapping file, kind chosen."""
    hub, web = blank
    for parts, shown, created, updated in ((("knowledge", "cordis-h2020-energy-communities", "projects.csv"),
                                            "1,229 of 1,229 rows", 1229, 0),
                                           (("knowledge", "cordis-h2020-cleantech", "projects.csv"),
                                            "1,732 of 1,732 rows", 1472, 260)):
        path = shared(*parts)
        html = web.post("/import/preview", files={"file": (path.name, path.read_bytes())},
                        data={"kind": "project", "csrf": csrf_of(web)}).text
        assert f"{shown} would be imported, 0 rejected" in html
        assert "<dt>name</dt>" in html and "<dt>description</dt>" in html and "<dt>start_date</dt>" in html
        done = web.post("/import/commit", data=form_of(html)).text
        assert re.search(rf'card-n">{created:,}</span> <span class="card-label">created', done)
        assert re.search(rf'card-n">{updated:,}</span> <span class="card-label">updated', done)
    projects = list(hub.store.iter_records("project"))
    assert len(projects) == 1229 + 1732 - 260  # the two exports share 260 grants
    assert all(p.name and p.description and p.start_date for p in projects)  # type: ignore[attr-defined]


def test_bad_choices_and_requests_are_clear_errors(blank: tuple[Hub, TestClient]) -> None:
    _hub, web = blank
    html = web.post("/import/preview", files={"file": ("membros.csv", MEMBERS)},
                    data={"kind": "organization", "csrf": csrf_of(web)}).text
    fields = form_of(html)
    fields["target"][0] = "start_date"  # organisations have no start date
    resp = web.post("/import/preview", data=fields)
    assert resp.status_code == 422 and "not a field of an organization" in resp.text
    fields = form_of(html)
    fields["def_field"][0], fields["def_value"][0] = "deadline", "2025-01-01"
    assert web.post("/import/preview", data=fields).status_code == 422
    token = csrf_of(web)
    assert web.post("/import/preview", data={"upload": "0" * 32, "csrf": token}).status_code == 404
    assert web.post("/import/preview", data={"upload": "../../etc", "csrf": token}).status_code == 404
    assert web.post("/import/preview", files={"file": ("x.pdf", b"%PDF")}, data={"csrf": token}).status_code == 422
    cross = web.post("/import/preview", files={"file": ("a.csv", b"name\nA\n")},
                     headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    # changing the kind re-infers the mapping instead of applying choices made for another kind
    fields = form_of(html)
    fields["kind"] = ["person"]
    assert web.post("/import/preview", data=fields).status_code == 200


def test_remote_anonymous_may_not_preview(blank: tuple[Hub, TestClient]) -> None:
    hub, _web = blank
    with TestClient(create_app(hub), raise_server_exceptions=False, client=("10.1.2.3", 5000)) as remote:
        assert remote.post("/import/preview", files={"file": ("a.csv", b"name\nx\n")}).status_code == 401
        assert remote.post("/import/commit", data={"upload": "0" * 32}).status_code == 401


# ------------------------------------------------------------------------------------------ in the browser
@pytest.fixture
def blank_server(tmp_path: Path) -> Iterator[tuple[Hub, str]]:
    hub = Hub(Settings(data_dir=tmp_path / "data", _env_file=None))
    hub.init()
    with serve(create_app(hub)) as url:
        yield hub, url
    hub.close()


@pytest.mark.browser
@pytest.mark.slow
def test_a_messy_funding_sheet_in_the_browser(browser: object, blank_server: tuple[Hub, str]) -> None:
    """The EU adaptation funding sheet: header on row 3 under question groups, repeated and unnamed
    columns, multi-line cells, programmes that share a name. The curator reads the preview, follows its
    hint (the 'Worksheet' column tells the rows apart), sets a default type and imports every row."""
    sheet = shared("knowledge", "eu-adaptation-funding", "mission_funding.csv")
    hub, url = blank_server
    with open_page(browser, url) as page:
        page.goto("/import")  # type: ignore[attr-defined]
        page.get_by_label("File", exact=True).set_input_files(str(sheet))  # type: ignore[attr-defined]
        page.get_by_label("Kind of every row").select_option("opportunity")  # type: ignore[attr-defined]
        page.get_by_role("button", name="Preview", exact=True).click()  # type: ignore[attr-defined]
        page.wait_for_selector("#preview-h")  # type: ignore[attr-defined]
        status = page.locator("#preview-status").inner_text()  # type: ignore[attr-defined]
        assert "180 of 191 rows would be imported, 11 rejected" in status
        notes = page.get_by_role("list", name="Notes on the file").inner_text()  # type: ignore[attr-defined]
        assert "header found on row 3" in notes and "'Worksheet' has a different value on every row" in notes
        assert page.locator("#problems-h").is_visible()  # type: ignore[attr-defined]
        shot(page, "import-preview")
        assert not axe_violations(page)
        page.get_by_label("Field for column Worksheet").select_option("name")  # type: ignore[attr-defined]
        page.get_by_label("Field for column Name of the funding programme").select_option(  # type: ignore[attr-defined]
            label="(keep as attribute)")
        page.get_by_label("Field 1").select_option("opp_type")  # type: ignore[attr-defined]
        page.get_by_label("Value 1").fill("funding_call")  # type: ignore[attr-defined]
        page.get_by_role("button", name="Update preview").click()  # type: ignore[attr-defined]
        page.wait_for_selector("#preview-h")  # type: ignore[attr-defined]
        assert "191 of 191 rows would be imported, 0 rejected" in page.locator("#preview-status").inner_text()  # type: ignore[attr-defined]
        assert page.get_by_label("Field for column Worksheet").input_value() == "name"  # type: ignore[attr-defined]
        shot(page, "import-preview-adjusted")
        page.get_by_role("button", name="Import 191 rows").click()  # type: ignore[attr-defined]
        page.wait_for_selector("#report")  # type: ignore[attr-defined]
        assert "191" in page.get_by_role("status").inner_text()  # type: ignore[attr-defined]
        shot(page, "import-done")
        assert not axe_violations(page)
    assert hub.stats()["by_kind"]["opportunity"] == 191
    cohesion = next(o for o in hub.list("opportunity", limit=200) if o.name == "EU Cohesion Fund")
    assert cohesion.opp_type.value == "funding_call" and cohesion.attributes["Name of the funding programme"] == (  # type: ignore[attr-defined]
        "Cohesion Fund")
