"""The notify tables and the digest builder on SQLite and PostgreSQL: registration, the JSON deadline
query of the pool, and the send log's unique claim (a second run claiming the same items is refused)."""

from __future__ import annotations

import pytest

from api.seed import seed
from citybridge.errors import Conflict
from citybridge.hub import Hub
from notify.conftest import clock, seed_notify


def test_digest_and_claims_on_both_backends(any_hub: Hub) -> None:
    hub = seed_notify(seed(any_hub), clock())
    hub.settings.search_embedder = None
    hub.subscribe("per_olga", "place", "Lisbon")
    now = clock()
    digest = hub.digest("per_olga", now=now)
    ids = {i.record_id for i in digest.items}
    assert {"opp_soon", "opp_old", "doc_private"} <= ids
    assert next(i for i in digest.items if i.record_id == "opp_old").deadline is not None
    ns = hub.notify_store
    assert ns.member("per_nina").network is True and ns.member("per_mia").network is False  # type: ignore[union-attr]
    common = {"member_id": "per_olga", "cutoff": now, "items": digest.items[:2], "sub_ids": [],
              "message": "x", "now": now, "changed_by": "tests"}
    ns.claim(digest_id="dg_1", message_id="<1@x>", **common)  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        ns.claim(digest_id="dg_2", message_id="<2@x>", **common)  # type: ignore[arg-type]
    assert [d["id"] for d in ns.pending()] == ["dg_1"]
    assert ns.sent_keys(["per_olga"])["per_olga"] == {i.key for i in digest.items[:2]}
    ns.mark_sent("dg_1", now=now)
    assert ns.pending() == [] and hub.digests_sent("per_olga")[0]["status"] == "sent"
