"""The search service over a real store: filters, facets, visibility for three callers, index lifecycle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from citybridge.errors import Invalid, NotFound
from citybridge.hub import Hub
from citybridge.model import Document, Organization, Project
from citybridge.model.access import ANONYMOUS, CURATOR, Caller

MEMBER = Caller(user="ana", groups=frozenset({"team-heat"}), member=True)


@pytest.fixture
def shub(hub: Hub) -> Hub:
    hub.upsert([
        Document(id="d_heat", name="Cooling Lisbon: a heat action plan", doc_type="case_study", year=2021,
                 description="Lisbon reduces urban heat islands with green roofs, street trees and an early "
                             "warning system for heatwaves.", external_ids={"doi": "10.1/heat"}),
        Document(id="d_flood", name="Water squares in Rotterdam", doc_type="guideline", year=2016,
                 description="Rotterdam stores stormwater in public squares to cope with flooding and "
                             "sea level rise."),
        Document(id="d_priv", name="Internal heat memo", doc_type="report", year=2023, visibility="private",
                 owner="team-heat", description="Confidential notes on urban heat in Lisbon."),
        Document(id="d_net", name="Network heat survey", doc_type="report", year=2022, visibility="network",
                 owner="office-eu", description="Survey of member cities on extreme heat."),
        Organization(id="o_ulisboa", name="Universidade de Lisboa", org_type="university", country="PT",
                     description="Research on urban climate and heat."),
        Project(id="p_cool", name="COOLCITY", description="Nature-based cooling of dense neighbourhoods.",
                start_date="2019-01-01", country="PT"),
    ])
    hub.enrich(workers=1)
    return hub


def ids(result: dict) -> list[str]:  # type: ignore[type-arg]
    return [r["id"] for r in result["results"]]


def test_relevant_results_with_snippets_and_facets(shub: Hub) -> None:
    res = shub.search("urban heat islands")
    assert ids(res)[0] == "d_heat"
    snip = res["results"][0]["snippet"]
    marked = [snip["text"][s:e].lower() for s, e in snip["highlights"]]
    assert "heat" in marked and "islands" in marked
    assert res["facets"]["kind"]["document"] >= 1
    assert res["total"] == len(set(ids(shub.search("urban heat islands", per_page=50))))


def test_visibility_is_enforced_for_three_callers(shub: Hub) -> None:
    anon = set(ids(shub.search("heat", per_page=50, caller=ANONYMOUS)))
    member = set(ids(shub.search("heat", per_page=50, caller=MEMBER)))
    curator = set(ids(shub.search("heat", per_page=50, caller=CURATOR)))
    assert "d_priv" not in anon and "d_net" not in anon
    assert {"d_priv", "d_net"} <= member  # owner of the private one, member of the network
    assert {"d_priv", "d_net"} <= curator
    outsider = Caller(user="bob", member=True)
    assert "d_priv" not in ids(shub.search("heat", per_page=50, caller=outsider))
    assert shub.search("Confidential notes", caller=ANONYMOUS)["total"] == 0
    with pytest.raises(NotFound):
        shub.more_like_this("d_priv", caller=ANONYMOUS)


def test_filters(shub: Hub) -> None:
    assert ids(shub.search("heat", {"kind": "organization"})) == ["o_ulisboa"]
    assert set(ids(shub.search("", {"kind": "document", "year_from": 2016, "year_to": 2017}))) == {"d_flood"}
    assert set(ids(shub.search("", {"country": "pt"}, per_page=50))) >= {"o_ulisboa", "p_cool"}
    flood = shub.search("", {"pathway": "resilient"}, per_page=50)
    assert "d_flood" in ids(flood)
    with pytest.raises(Invalid, match="unknown filter"):
        shub.search("x", {"colour": "red"})
    with pytest.raises(Invalid, match="unknown sdg"):
        shub.search("x", {"sdg": "99"})
    with pytest.raises(Invalid):
        shub.search("x", per_page=1000)


def test_phrase_prefix_and_typo(shub: Hub) -> None:
    assert ids(shub.search('"water squares"')) == ["d_flood"]
    assert "d_flood" in ids(shub.search("Rotterd*"))
    assert "d_flood" in ids(shub.search("Roterdam"))  # typo tolerance when the exact words find nothing


def test_more_like_this(shub: Hub) -> None:
    res = shub.more_like_this("d_heat", limit=3)
    assert "d_heat" not in ids(res) and len(res["results"]) >= 1


def test_index_is_rebuilt_when_stale_or_corrupt(shub: Hub) -> None:
    first = shub.search("stormwater")
    assert ids(first) == ["d_flood"]
    shub.upsert([Document(id="d_new", name="Stormwater tax", description="A stormwater fee in Porto.")])
    assert "d_new" in ids(shub.search("stormwater"))  # stale index detected and rebuilt
    shub.store.delete_record("d_new")
    assert "d_new" not in ids(shub.search("stormwater"))
    # corrupt an artifact: it is detected and rebuilt, never served
    index_dir: Path = shub.settings.data_dir / "index"
    postings = index_dir / "lexical" / "postings.npy"
    postings.write_bytes(postings.read_bytes()[:-8])
    other = Hub(shub.settings)
    try:
        assert ids(other.search("stormwater")) == ["d_flood"]
    finally:
        other.close()
    manifest = json.loads((index_dir / "lexical" / "manifest.json").read_text())
    assert manifest["format"] == "citybridge.lexical" and manifest["version"] >= 1


def test_reindex_and_cli(shub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    stats = shub.reindex()
    assert stats["documents"] == shub.stats()["records"]
    from typer.testing import CliRunner

    from citybridge.cli.main import app

    monkeypatch.setenv("CITYBRIDGE_DATA_DIR", str(shub.settings.data_dir))
    res = CliRunner().invoke(app, ["search", "flooding", "--kind", "document", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["results"][0]["id"] == "d_flood"
    res = CliRunner().invoke(app, ["search", "x", "--sdg", "42"])
    assert res.exit_code == 2 and "unknown sdg" in res.stderr


def test_dense_mode_finds_paraphrases(shub: Hub) -> None:
    res = shub.search("cooling hot cities", mode="dense", per_page=3)
    assert set(ids(res)) & {"d_heat", "p_cool"}
    assert np.isfinite([r["score"] for r in res["results"]]).all()


def test_changes_are_served_from_a_delta_without_a_full_rebuild(shub: Hub) -> None:
    shub.reindex()
    manifest = shub.settings.data_dir / "index" / "lexical" / "manifest.json"
    built = manifest.stat().st_mtime_ns
    shub.upsert([Document(id="d_delta", name="Bioswales in Curitiba", description="Curitiba builds bioswales.")])
    shub.upsert([Document(id="d_flood", name="Water plazas in Rotterdam", doc_type="guideline",
                          description="Rotterdam stores rain in public plazas.")])
    res = shub.search("bioswales")
    assert ids(res) == ["d_delta"]
    assert ids(shub.search("plazas")) == ["d_flood"]
    # the old version in the main index is masked: counted and returned once
    res = shub.search("Rotterdam", {"kind": "document"}, mode="lexical")
    assert res["total"] == 1 and ids(res) == ["d_flood"]
    shub.store.delete_record("d_heat")
    assert "d_heat" not in ids(shub.search("heat action plan", per_page=50))
    assert manifest.stat().st_mtime_ns == built  # no full rebuild happened
    everything = shub.search("", {"kind": "document"}, per_page=50, caller=CURATOR)
    assert everything["total"] == len(shub.list("document", limit=100)) == 4
