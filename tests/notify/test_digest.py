"""The digest builder: matches with reasons, one item once, visibility, windows, deadlines, caps."""

from __future__ import annotations

from datetime import timedelta

import pytest

from citybridge.errors import Invalid, NotFound
from citybridge.hub import Hub
from citybridge.model import Document, Relation
from notify.conftest import clock


def ids(digest, section=None):  # type: ignore[no-untyped-def]
    return {i.record_id for i in digest.items if section is None or i.section == section}


def test_first_digest_has_sections_reasons_and_each_item_once(nhub: Hub) -> None:
    nhub.subscribe("per_mia", "place", "Lisbon")
    nhub.subscribe("per_mia", "keyword", "energy communities")
    nhub.subscribe("per_mia", "theme", "sdg:11")
    d = nhub.digest("per_mia", now=clock())
    assert d.first
    keys = [i.record_id for i in d.items]
    assert len(keys) == len(set(keys))  # one item once, though place, keyword and theme overlap
    assert {"opp_soon", "opp_old", "opp_far"} <= ids(d, "calls")
    assert "prj_cool" in ids(d, "projects") and "doc_heat" in ids(d, "research") and "doc_news" in ids(d, "news")
    soon = next(i for i in d.items if i.record_id == "opp_soon")
    codes = [r.code for r in soon.reasons]
    assert codes[0] == "deadline" and {"place", "keyword"} <= set(codes)
    cool = next(i for i in d.items if i.record_id == "prj_cool")
    assert {r.code for r in cool.reasons} == {"place", "theme"}
    # calls closing soon come first in their section
    assert [i.record_id for i in d.sections["calls"]][:2] == ["opp_old", "opp_soon"]


def test_visibility_private_and_network_records(nhub: Hub) -> None:
    for m in ("per_mia", "per_olga", "per_nina"):
        nhub.subscribe(m, "place", "plc_lisbon")
    now = clock()
    mia, olga, nina = (nhub.digest(m, now=now) for m in ("per_mia", "per_olga", "per_nina"))
    assert not ids(mia) & {"doc_private", "doc_network", "prj_secret", "org_network", "org_private"}
    assert {"doc_private", "doc_network", "prj_secret"} <= ids(olga)  # the lisbon-lab group owns them
    assert "doc_network" in ids(nina) and not ids(nina) & {"doc_private", "prj_secret"}
    # the private project reached Lisbon through its partner: the reason names it
    secret = next(i for i in olga.items if i.record_id == "prj_secret")
    assert secret.reasons[0].values["via"] == "Lisbon City Council"


def test_later_digest_shows_only_changes_and_closing_calls(nhub: Hub) -> None:
    sub, _ = nhub.subscribe("per_mia", "place", "Lisbon")
    now = clock() + timedelta(hours=2)
    nhub.notify_store.advance([sub.id], now)  # as if a digest had covered everything up to now
    later = now + timedelta(days=8)
    d = nhub.digest("per_mia", now=later)
    assert not d.first
    assert ids(d) == {"opp_old", "opp_soon"}  # nothing changed; the calls closing within 6 weeks are surfaced
    stamp = now + timedelta(days=1)
    nhub.upsert([Document(id="doc_new", name="Lisbon heat map update", doc_type="report", created_at=stamp,
                          updated_at=stamp, description="New heat map for Lisbon.")], changed_by="tests")
    nhub.relate([Relation(type="about", source="doc_new", target="plc_lisbon")], changed_by="tests")
    d = nhub.digest("per_mia", now=later)
    assert ids(d) == {"opp_old", "opp_soon", "doc_new"}
    assert next(i for i in d.items if i.record_id == "doc_new").new
    # --since widens the window again
    assert "prj_cool" in ids(nhub.digest("per_mia", since=now - timedelta(days=1), now=later))


def test_per_section_cap_and_more(nhub: Hub) -> None:
    nhub.settings.digest_items = 1
    nhub.subscribe("per_mia", "place", "Lisbon")
    d = nhub.digest("per_mia", now=clock())
    assert len(d.sections["calls"]) == 1 and d.more["calls"] == 2
    assert d.sections["calls"][0].record_id == "opp_old"  # the call closing first


def test_record_follow_reports_new_links(nhub: Hub) -> None:
    sub, _ = nhub.subscribe("per_mia", "record", "prj_cool")
    now = clock() + timedelta(hours=2)
    nhub.notify_store.advance([sub.id], now)
    stamp = now + timedelta(days=1)
    nhub.relate([Relation(type="partner_in", source="org_porto_uni", target="prj_cool", role="coordinator",
                          created_at=stamp, updated_at=stamp)], changed_by="tests")
    d = nhub.digest("per_mia", now=now + timedelta(days=7))
    assert ids(d) == {"org_porto_uni"}
    porto = next(i for i in d.items if i.record_id == "org_porto_uni")
    assert porto.reasons[0].code == "record" and porto.reasons[0].values["relation"] == "partner_in"


def test_saved_search_with_filters(nhub: Hub) -> None:
    nhub.subscribe("per_mia", "search", "Lisbon", filters={"kind": "opportunity"})
    d = nhub.digest("per_mia", now=clock())
    assert ids(d) == {"opp_soon", "opp_old", "opp_far"}
    assert all(r.code in ("search", "deadline") for i in d.items for r in i.reasons)


def test_profile_uses_the_city_and_its_peers(nhub: Hub) -> None:
    nhub.register_member("org_lisbon", email="city@lisboa.example", changed_by="tests")
    nhub.subscribe("org_lisbon", "profile")
    d = nhub.digest("org_lisbon", now=clock())
    assert "doc_news" in ids(d)
    assert any(r.code == "profile_city" and r.values["label"] == "Lisbon" for i in d.items for r in i.reasons)


def test_subscription_errors_name_the_field(nhub: Hub) -> None:
    with pytest.raises(NotFound) as e:
        nhub.subscribe("per_mia", "theme", "sdg:99")
    assert e.value.field == "value"
    with pytest.raises(Invalid) as e:
        nhub.subscribe("per_mia", "place", "Lisbon", frequency="hourly")
    assert e.value.field == "frequency"
    with pytest.raises(Invalid) as e:
        nhub.subscribe("per_mia", "search", "heat", filters={"colour": "red"})
    assert e.value.field == "colour"
    with pytest.raises(Invalid) as e:
        nhub.subscribe("per_mia", "place", "prj_cool")
    assert e.value.field == "value"
    with pytest.raises(NotFound):
        nhub.subscribe("per_ana", "place", "Lisbon")  # not registered
    with pytest.raises(Invalid) as e:
        nhub.register_member("per_ana")  # no address on the record
    assert e.value.field == "email"
    with pytest.raises(Invalid) as e:
        nhub.register_member("per_ana", email="not an address")
    assert e.value.field == "email"
    with pytest.raises(Invalid) as e:
        nhub.register_member("prj_cool", email="p@example.org")
    assert e.value.field == "member"
    assert nhub.subscriptions("per_mia") == []  # nothing half-written


def test_same_subscription_twice_is_one(nhub: Hub) -> None:
    a, created = nhub.subscribe("per_mia", "place", "Lisbon")
    b, again = nhub.subscribe("per_mia", "place", "plc_lisbon", frequency="daily")
    assert created and not again and a.id == b.id and b.frequency == "daily"
    assert [s.id for s in nhub.subscriptions("per_mia")] == [a.id]
    nhub.unsubscribe(a.id)
    assert nhub.subscriptions("per_mia") == []


def test_batches_sharing_one_pool_build_the_same_digests(nhub: Hub) -> None:
    """`digest send` builds members in batches sharing the pool and the match rows: one member per batch
    (each batch adding the records only it needs to the shared pool) gives what one batch for all gives."""
    from citybridge.notify.builder import build_digests

    nhub.subscribe("per_mia", "place", "Lisbon")
    nhub.subscribe("per_olga", "keyword", "energy communities")
    nhub.subscribe("per_olga", "record", "prj_cool")
    nhub.subscribe("per_nina", "theme", "sdg:11")
    nhub.subscribe("per_nina", "profile")
    ns = nhub.notify_store
    members = ns.members(["per_mia", "per_olga", "per_nina"])
    subs: dict = {}
    for s in ns.subscriptions([m.id for m in members]):
        subs.setdefault(s.member_id, []).append(s)
    now = clock()

    def view(d):  # type: ignore[no-untyped-def]
        return [(i.record_id, i.section, round(i.score, 5), sorted(r.code for r in i.reasons)) for i in d.items]

    together = build_digests(nhub, members, subs, now=now)
    shared: dict = {}
    apart = [build_digests(nhub, [m], subs, now=now, shared=shared)[0] for m in reversed(members)][::-1]
    assert [view(d) for d in apart] == [view(d) for d in together]
    assert all(len(d) for d in together)
    assert shared["pool"] is not None and len(shared["rows"]) >= 4


def test_worker_processes_build_what_one_process_builds(nhub: Hub) -> None:
    """Batches built by two forked workers come back in order and equal the ones built inline."""
    from citybridge.notify.parallel import Job, built_batches

    nhub.subscribe("per_mia", "place", "Lisbon")
    nhub.subscribe("per_olga", "keyword", "energy communities")
    nhub.subscribe("per_nina", "theme", "sdg:11")
    nhub.subscribe("per_nina", "profile")
    members = nhub.notify_store.members(["per_mia", "per_olga", "per_nina"])
    job = Job(now=clock(), today=None, since=None, per_section=8, deadline_days=42, render=True)

    def view(built):  # type: ignore[no-untyped-def]
        return [[(b.digest.member.id, [(i.record_id, round(i.score, 5)) for i in b.digest.items],
                  b.raw is not None and b.digest_id in b.raw) for b in batch] for batch in built]

    inline = view(built_batches(nhub, [[m] for m in members], job, workers=1))
    forked = view(built_batches(nhub, [[m] for m in members], job, workers=2))
    assert forked == inline
    assert [batch[0][0] for batch in inline] == [m.id for m in members] and len(members) == 3
    assert all(batch[0][1] and batch[0][2] for batch in inline)
