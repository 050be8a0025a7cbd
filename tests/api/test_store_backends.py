"""The caller-filtered reads behind the API (lists, stats, overview, map layers, network) on SQLite and,
when configured, PostgreSQL (JSON coordinates are read with each dialect's own functions)."""

from __future__ import annotations

from api.seed import seed
from citybridge.model.access import ANONYMOUS, CURATOR, Caller


def test_visible_reads_on_every_backend(any_hub):
    hub = seed(any_hub)
    owner = Caller(user="olga", groups=frozenset({"lisbon-lab"}))
    anon_orgs = {r.id for r in hub.list("organization", caller=ANONYMOUS)}
    assert anon_orgs == {"org_lisbon", "org_porto_uni", "org_nairobi_ngo"}
    assert {"org_private", "org_network"} <= {r.id for r in hub.list("organization", caller=owner)}
    assert hub.stats(caller=ANONYMOUS)["by_kind"]["organization"] == 3
    assert hub.stats(caller=CURATOR)["by_kind"]["organization"] == 5
    view = hub.overview(ANONYMOUS)
    assert next(s for s in view["by_sdg"] if s["code"] == "11")["count"] == 2
    assert view["by_region"] == {"Europe": 5, "Africa": 2}
    layers = hub.map_layers(ANONYMOUS, labels=("sdg:11", "pathway:nature-based"))
    assert [c["id"] for c in layers["cities"]] == ["plc_lisbon"]
    everything = hub.map_layers(owner)
    assert "org_private" in {o["id"] for o in everything["organizations"]}
    graph = hub.network("org_porto_uni", caller=ANONYMOUS)
    assert {c["id"] for c in graph["collaborators"]} == {"org_lisbon", "org_nairobi_ngo"}
