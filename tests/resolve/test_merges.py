"""Merges: applied in one transaction, seen everywhere, undone exactly."""

from __future__ import annotations

import io
import json

import pytest

from citybridge.errors import Conflict, NotFound
from citybridge.hub import Hub
from citybridge.model.entities import Organization

from .conftest import state


def test_merge_then_undo_restores_everything_exactly(twice: Hub) -> None:
    hub = twice
    ror, pic = hub.get("ror:043pwc612").id, hub.get("pic:999993953").id
    before = state(hub)
    hist_before = {i: hub.store.history(i) for i in (ror, pic)}

    m = hub.merge(ror, pic, changed_by="curator:ana")
    assert m["status"] == "applied" and m["decided_by"] == "curator:ana"

    # the merged id redirects; the survivor holds both sources' ids, provenance, relations and names
    got = hub.get(pic)
    assert got.id == ror
    assert got.external_ids == {"ror": "043pwc612", "pic": "999993953"}
    assert {p.source for p in got.provenance} == {"ror", "cordis"}
    assert "Universidade do Porto" in got.aliases
    assert got.description == "Participant in heat projects."
    assert got.attributes["merged_from"][0]["id"] == pic
    types = sorted((r["type"], r["other_name"]) for r in hub.relations(ror))
    assert types == [("affiliated_with", "Ana Costa"), ("located_in", "Porto"),
                     ("partner_in", "Heat resilient neighbourhoods")]  # the two affiliations became one
    assert not hub.store.exists(pic)
    # the annotation that pointed at the merged record points at the survivor
    doc = hub.get("doi:10.1/porto-trees").id
    assert [a["target_id"] for a in hub.annotations(doc)["orgs"]] == [ror]
    # history: the survivor's earlier version and the merged record's last version are kept
    assert hub.store.history(ror)[-1]["changed_by"] == "curator:ana"
    assert hub.store.history(pic)[-1]["change"] == "merge"
    # exports see one organisation
    out = io.StringIO()
    hub.export(out, "jsonl", kind="organization")
    names = [json.loads(line)["name"] for line in out.getvalue().splitlines()]
    assert names == ["University of Porto"]

    hub.undo_merge(m["id"], changed_by="curator:ana")
    assert state(hub) == before
    for rid, hist in hist_before.items():
        assert hub.store.history(rid)[: len(hist)] == hist  # nothing of the earlier history is lost
    assert hub.get(pic).name == "Universidade do Porto"
    assert hub.merges(status="undone")[0]["undone_by"] == "curator:ana"
    with pytest.raises(Conflict):
        hub.undo_merge(m["id"])
    assert hub.resolve("organization")["proposals"] == []  # an undone pair is not proposed again
    assert hub.merge(ror, pic)["status"] == "applied"  # but a curator may merge it again by hand


def test_undo_keeps_changes_made_after_the_merge(twice: Hub) -> None:
    hub = twice
    ror, pic = hub.get("ror:043pwc612").id, hub.get("pic:999993953").id
    m = hub.merge(ror, pic)
    hub.save(hub.get(ror).model_copy(update={"website": "https://www.up.pt"}), changed_by="editor")
    hub.undo_merge(m["id"])
    survivor = hub.get(ror)
    assert survivor.website == "https://www.up.pt"  # changed since: kept
    assert survivor.external_ids == {"ror": "043pwc612"}  # what the merge added: gone
    assert survivor.description is None and "merged_from" not in survivor.attributes
    assert hub.get(pic).external_ids == {"pic": "999993953"}


def test_chained_merges_redirect_and_undo_in_order(twice: Hub) -> None:
    hub = twice
    ror, pic = hub.get("ror:043pwc612").id, hub.get("pic:999993953").id
    hub.upsert([Organization(name="U. Porto", country="PT", external_ids={"openalex": "I1"})])
    third = hub.get("openalex:I1").id
    first = hub.merge(pic, third)
    second = hub.merge(ror, pic)
    assert hub.get(third).id == ror  # redirect chains are followed
    with pytest.raises(Conflict, match="undo merge"):
        hub.undo_merge(first["id"])  # its survivor was merged away since
    hub.undo_merge(second["id"])
    assert hub.get(third).id == pic
    hub.undo_merge(first["id"])
    assert hub.get(third).id == third


def test_never_merges_different_registry_ids(twice: Hub) -> None:
    hub = twice
    hub.upsert([Organization(name="University of Porto", country="PT", external_ids={"ror": "00000abcd"})])
    with pytest.raises(Conflict, match="different ror ids"):
        hub.merge(hub.get("ror:043pwc612").id, hub.get("ror:00000abcd").id)
    assert hub.store.exists(hub.get("ror:00000abcd").id)
    assert hub.merges(status="applied") == []


def test_review_queue_accept_and_reject(twice: Hub) -> None:
    from citybridge.store.merges import MergeStore

    hub = twice
    ror, pic = hub.get("ror:043pwc612").id, hub.get("pic:999993953").id
    ids = MergeStore(hub.store).propose([{"kind": "organization", "survivor_id": ror, "merged_id": pic,
                                          "score": 0.7, "method": "test", "reasons": {"why": "same name"}}])
    assert MergeStore(hub.store).propose([{"kind": "organization", "survivor_id": pic, "merged_id": ror,
                                           "score": 0.7, "method": "test"}]) == []  # one proposal per pair
    queue = hub.merges(status="proposed")
    assert [q["id"] for q in queue] == ids and queue[0]["reasons"] == {"why": "same name"}
    detail = hub.merge_detail(ids[0])
    assert detail["survivor"].name == "University of Porto" and detail["merged"].name == "Universidade do Porto"
    hub.reject_merge(ids[0], changed_by="curator:bo")
    with pytest.raises(Conflict):
        hub.accept_merge(ids[0])
    assert hub.store.exists(pic)
    with pytest.raises(NotFound):
        hub.accept_merge("mrg_missing")


def test_search_sees_the_merged_record_and_the_undo(hub: Hub) -> None:
    hub.upsert([
        Organization(name="University of Porto", country="PT", external_ids={"ror": "043pwc612"},
                     description="Research university in Porto."),
        Organization(name="Universidade do Porto Faculdade de Engenharia", country="PT",
                     external_ids={"pic": "999993953"}, description="Coordinator of cooling projects."),
    ])
    ror, pic = hub.get("ror:043pwc612").id, hub.get("pic:999993953").id
    hub.reindex()
    assert pic in [r["id"] for r in hub.search("Faculdade de Engenharia", mode="lexical")["results"]]
    m = hub.merge(ror, pic)
    found = [r["id"] for r in hub.search("Faculdade de Engenharia", mode="lexical")["results"]]
    assert found == [ror]  # the survivor, findable by the merged record's name; the merged id is gone
    hub.undo_merge(m["id"])
    found = [r["id"] for r in hub.search("Faculdade de Engenharia", mode="lexical")["results"]]
    assert found == [pic]


def test_reimporting_a_placeholder_name_keeps_the_merged_name(twice: Hub) -> None:
    hub = twice
    ror = hub.get("ror:043pwc612").id
    hub.merge(ror, hub.get("pic:999993953").id)
    hub.upsert([Organization(name="Organisation PIC 999993953", country="PT", external_ids={"pic": "999993953"},
                             attributes={"cordis_type": "HES"})])
    assert hub.get(ror).name == "University of Porto"
