from __future__ import annotations

import pytest

from citybridge.errors import NotFound
from citybridge.hub import Hub
from citybridge.model import Organization, Person, Place, Project, Relation


def test_create_get_update_keeps_history(any_hub: Hub) -> None:
    store = any_hub.store
    [out] = store.upsert_records([Organization(name="ICLEI", country="DE", external_ids={"ror": "05abc"})],
                                 changed_by="test")
    assert out.status == "created"
    rec = store.get(out.id)
    assert rec.name == "ICLEI" and rec.created_at is not None
    # same content again: unchanged, no new version
    [again] = store.upsert_records([Organization(name="ICLEI", country="DE", external_ids={"ror": "05abc"})])
    assert again.status == "unchanged" and again.id == out.id
    assert store.version_of(out.id) == 1
    # matched by external id, merged: the name changes, the country is kept
    [upd] = store.upsert_records([Organization(name="ICLEI Europe", external_ids={"ror": "https://ror.org/05ABC"})],
                                 changed_by="editor")
    assert upd.status == "updated" and upd.id == out.id
    rec2 = store.get(out.id)
    assert rec2.name == "ICLEI Europe" and rec2.country == "DE"
    assert store.version_of(out.id) == 2
    hist = store.history(out.id)
    assert [h["version"] for h in hist] == [1]
    assert hist[0]["data"]["name"] == "ICLEI" and hist[0]["changed_by"] == "editor"


def test_external_id_conflict_is_rejected(any_hub: Hub) -> None:
    store = any_hub.store
    a, b = store.upsert_records([Organization(id="org_a", name="A", external_ids={"ror": "01"}),
                                 Organization(id="org_b", name="B")])
    assert a.status == b.status == "created"
    [bad] = store.upsert_records([Organization(id="org_b", name="B", external_ids={"ror": "01"})])
    assert bad.status == "rejected" and "already belongs to record 'org_a'" in bad.reason
    assert store.get("org_b").external_ids == {}


def test_kind_mismatch_is_rejected(any_hub: Hub) -> None:
    store = any_hub.store
    store.upsert_records([Organization(id="x1", name="X")])
    [bad] = store.upsert_records([Person(id="x1", name="X")])
    assert bad.status == "rejected" and bad.field == "kind"


def test_relations_need_existing_ends_of_the_right_kind(any_hub: Hub) -> None:
    store = any_hub.store
    store.upsert_records([Organization(id="o1", name="O"), Project(id="p1", name="P"), Place(id="c1", name="C")])
    ok, missing, wrong = store.upsert_relations([
        Relation(type="partner_in", source="o1", target="p1", role="coordinator"),
        Relation(type="partner_in", source="o1", target="nope"),
        Relation(type="partner_in", source="o1", target="c1"),
    ])
    assert ok.status == "created"
    assert missing.status == "rejected" and "'nope' not found" in missing.reason
    assert wrong.status == "rejected" and "cannot point to a place" in wrong.reason
    [same] = store.upsert_relations([Relation(type="partner_in", source="o1", target="p1", role="coordinator")])
    assert same.status == "unchanged"
    [changed] = store.upsert_relations([Relation(type="partner_in", source="o1", target="p1", role="coordinator",
                                                 attributes={"contribution": 1000})])
    assert changed.status == "updated"
    assert [r.attributes for r in store.relations_of("p1")] == [{"contribution": 1000}]
    assert store.history(ok.id)[0]["data"].get("attributes") is None


def test_delete_cascades_relations_and_keeps_history(any_hub: Hub) -> None:
    store = any_hub.store
    store.upsert_records([Organization(id="o1", name="O", external_ids={"pic": "9"}), Project(id="p1", name="P")])
    [rel] = store.upsert_relations([Relation(type="partner_in", source="o1", target="p1")])
    store.delete_record("o1", changed_by="curator")
    with pytest.raises(NotFound):
        store.get("o1")
    assert store.relations_of("p1") == []
    assert store.history("o1")[-1]["change"] == "delete"
    assert store.history(rel.id)[-1]["change"] == "delete"
    # the external id is free again
    [again] = store.upsert_records([Organization(id="o2", name="O2", external_ids={"pic": "9"})])
    assert again.status == "created"


def test_list_paginates_by_cursor(any_hub: Hub) -> None:
    store = any_hub.store
    store.upsert_records([Place(id=f"plc_{i:03d}", name=f"City {i}", country="BR" if i % 2 else "PT")
                          for i in range(25)])
    first = store.list_records("place", limit=10)
    second = store.list_records("place", limit=10, after=first[-1].id)
    third = store.list_records("place", limit=10, after=second[-1].id)
    ids = [r.id for r in first + second + third]
    assert ids == sorted(ids) and len(set(ids)) == 25
    assert {r.country for r in store.list_records("place", country="br", limit=50)} == {"BR"}


def test_stats_counts_kinds_and_relations(any_hub: Hub) -> None:
    any_hub.store.upsert_records([Organization(id="o1", name="O", org_type="university"), Project(id="p1", name="P")])
    any_hub.store.upsert_relations([Relation(type="partner_in", source="o1", target="p1")])
    stats = any_hub.stats()
    assert stats["by_kind"]["theme"] == 191
    assert stats["by_subtype"]["organization"] == {"university": 1}
    assert stats["by_relation"] == {"partner_in": 1}


def test_failed_batch_leaves_store_unchanged(any_hub: Hub) -> None:
    store = any_hub.store
    store.upsert_records([Organization(id="o1", name="Before")])
    with pytest.raises(RuntimeError), store.engine.begin() as conn:
        store.upsert_records([Organization(id="o1", name="After"), Organization(id="o2", name="New")], conn=conn)
        raise RuntimeError("crash mid-batch")
    assert store.get("o1").name == "Before"
    assert not store.exists("o2")
    assert store.history("o1") == []
