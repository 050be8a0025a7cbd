"""E-mail digests through a real SMTP server on 127.0.0.1: headers, both parts, links, languages; a re-run
sends nothing twice; refused recipients release their items; the one-click unsubscribe link works through
the running app."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from api.conftest import make_hub
from citybridge.errors import Forbidden
from citybridge.hub import Hub
from notify.conftest import Mailbox, clock, free_port, seed_notify, served

ENTITY = re.compile(r"/entity/([A-Za-z0-9_.:\-]+)")


def parts(msg):  # type: ignore[no-untyped-def]
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_send_delivers_one_well_formed_message_and_a_rerun_sends_nothing(nhub: Hub, smtp: tuple[Mailbox, int]
                                                                          ) -> None:
    box, _port = smtp
    nhub.subscribe("per_mia", "keyword", "energy communities")
    nhub.subscribe("per_mia", "place", "Lisbon")
    now = clock()
    preview = nhub.digest("per_mia", now=now)
    report = nhub.send_digests(now=now)
    assert report["sent"] == 1 and report["stopped"] is None
    [msg] = box.to("mia@example.org")
    assert msg["To"] == "Mia Costa <mia@example.org>" and msg["From"] == "citybridge@localhost"
    assert msg["Subject"].startswith("Your first citybridge digest")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<http://testserver/unsubscribe\?m=per_mia&t=[\w\-]+=*>", msg["List-Unsubscribe"].strip())
    assert re.fullmatch(r"<dg_[0-9a-f]{32}@testserver>", msg["Message-ID"])
    assert msg.get_content_type() == "multipart/alternative"
    text, html = parts(msg)
    sent_ids = set(ENTITY.findall(text))
    assert sent_ids == {i.record_id for i in preview.items} == set(ENTITY.findall(html))
    assert "closes on" in text and "Why: " in text and "Energy communities call" in html
    assert "<script" not in html and 'lang="en"' in html
    # the send is recorded per member and item; a re-run (same clock, or later) sends nothing again
    assert nhub.send_digests(now=now)["sent"] == 0
    assert nhub.send_digests(member_ids=["per_mia"], now=now + timedelta(days=8))["sent"] == 0
    assert len(box.messages) == 1
    [row] = nhub.digests_sent("per_mia")
    assert row["status"] == "sent" and row["items"] == len(sent_ids) and row["changed_by"] == "citybridge:digest"
    assert nhub.digest("per_mia", now=now).items == []  # the preview no longer shows what was sent


def test_member_language_and_due_frequency(nhub: Hub, smtp: tuple[Mailbox, int]) -> None:
    box, _port = smtp
    nhub.subscribe("per_nina", "place", "Lisbon", frequency="daily")
    now = clock()
    assert nhub.send_digests(now=now)["sent"] == 1
    [msg] = box.to("nina@example.org")
    text, html = parts(msg)
    assert msg["Subject"].startswith("O seu primeiro resumo citybridge") and msg["Content-Language"] == "pt"
    assert "Porquê:" in text and 'lang="pt"' in html and "Cancelar todos os resumos" in html
    # a new record the next day: due again after a day, not before
    stamp = now + timedelta(hours=3)
    from citybridge.model import Document, Relation

    nhub.upsert([Document(id="doc_tomorrow", name="Lisbon solar map", doc_type="news", created_at=stamp,
                          updated_at=stamp)], changed_by="tests")
    nhub.relate([Relation(type="about", source="doc_tomorrow", target="plc_lisbon")], changed_by="tests")
    assert nhub.send_digests(now=now + timedelta(hours=12))["sent"] == 0  # not due yet
    report = nhub.send_digests(now=now + timedelta(days=1))
    assert report["sent"] == 1
    second = box.to("nina@example.org")[-1]
    assert set(ENTITY.findall(parts(second)[0])) == {"doc_tomorrow"}
    assert second["Subject"] == "Resumo citybridge: 1 novidade para si"


def test_refused_recipient_releases_items_and_dry_run_sends_nothing(nhub: Hub, smtp: tuple[Mailbox, int]) -> None:
    box, _port = smtp
    nhub.subscribe("per_mia", "place", "Lisbon")
    now = clock()
    dry = nhub.send_digests(now=now, dry_run=True)
    assert dry["digests"][0]["member"] == "per_mia" and box.messages == [] and nhub.digests_sent("per_mia") == []
    box.refuse["mia@example.org"] = "550 no such user"
    report = nhub.send_digests(now=now)
    assert report["failed"] == 1 and report["sent"] == 0
    assert nhub.digests_sent("per_mia")[0]["status"] == "failed"
    del box.refuse["mia@example.org"]
    nhub.register_member("per_mia", email="mia.costa@example.org")
    assert nhub.send_digests(member_ids=["per_mia"], now=now)["sent"] == 1  # the items were not lost
    [msg] = box.to("mia.costa@example.org")
    assert "opp_soon" in ENTITY.findall(parts(msg)[0])


def test_unreachable_server_stops_and_keeps_the_digest_pending(tmp_path: Path) -> None:
    hub = make_hub(tmp_path, search_embedder=None, smtp_port=free_port(), mail_rate=0)
    seed_notify(hub, clock())
    hub.subscribe("per_mia", "place", "Lisbon")
    report = hub.send_digests(now=clock())
    assert report["sent"] == 0 and "cannot reach the SMTP server" in report["stopped"]
    assert hub.digests_sent("per_mia")[0]["status"] == "pending"
    hub.close()


@pytest.mark.slow
def test_unsubscribe_link_works_through_the_running_app(tmp_path: Path, smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    hub = make_hub(tmp_path, search_embedder=None, smtp_port=port, mail_rate=0,
                   public_url=f"http://127.0.0.1:{free_port()}", notify_secret="a-long-enough-test-secret")
    seed_notify(hub, clock())
    hub.subscribe("per_mia", "place", "Lisbon")
    hub.subscribe("per_olga", "place", "Lisbon")
    now = clock()
    assert hub.send_digests(now=now)["sent"] == 2
    [msg] = box.to("mia@example.org")
    link = msg["List-Unsubscribe"].strip().strip("<>")
    text_link = re.search(r"(http://\S+/unsubscribe\?\S+)", parts(msg)[0]).group(1)  # type: ignore[union-attr]
    assert text_link == link
    with served(hub):
        page = httpx.get(link)  # a GET (a mail scanner following the link) only asks
        assert page.status_code == 200 and "Stop every citybridge digest to mia@example.org" in page.text
        assert hub.notify_store.member("per_mia").status == "active"  # type: ignore[union-attr]
        forged = httpx.post(link.replace("m=per_mia", "m=per_olga"), content=b"List-Unsubscribe=One-Click",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert forged.status_code == 403
        done = httpx.post(link, content=b"List-Unsubscribe=One-Click",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})  # RFC 8058
        assert done.status_code == 200 and "You are unsubscribed" in done.text
        assert httpx.post(link, content=b"List-Unsubscribe=One-Click").status_code == 200  # repeating is harmless
    assert hub.notify_store.member("per_mia").status == "unsubscribed"  # type: ignore[union-attr]
    assert hub.notify_store.member("per_olga").status == "active"  # type: ignore[union-attr]
    from citybridge.model import Document

    later = now + timedelta(days=8)
    hub.upsert([Document(id="doc_more", name="More Lisbon news", doc_type="news", created_at=now + timedelta(days=1),
                         updated_at=now + timedelta(days=1))], changed_by="tests")
    from citybridge.model import Relation

    hub.relate([Relation(type="about", source="doc_more", target="plc_lisbon")], changed_by="tests")
    report = hub.send_digests(now=later)
    assert report["sent"] == 1 and len(box.to("mia@example.org")) == 1 and len(box.to("olga@example.org")) == 2
    with pytest.raises(Forbidden):
        hub.unsubscribe_member("per_olga", "forged-token")
    hub.close()


def test_production_refuses_a_weak_notify_secret() -> None:
    from citybridge.errors import Invalid
    from citybridge.settings import Settings

    strong = "a-strong-write-token-0123"
    with pytest.raises(Invalid) as e:
        Settings(environment="production", write_token=strong, notify_secret="secret", _env_file=None)
    assert e.value.field == "notify_secret"
    with pytest.raises(Invalid):
        Settings(environment="production", write_token=strong, _env_file=None)
    ok = Settings(environment="production", write_token=strong, notify_secret="n" * 24, _env_file=None)
    assert ok.signing_key == b"n" * 24


def test_message_encodes_non_ascii_headers_and_folds_long_ones(nhub: Hub) -> None:
    from email import message_from_string, policy

    from citybridge.notify.mail import _header, message
    from citybridge.notify.model import Member

    nhub.subscribe("per_mia", "place", "Lisbon")
    digest = nhub.digest("per_mia", now=clock())
    digest.member = Member(id="per_mia", email="zoe@example.org", language="fr", name="Zoë Ağaoğlu")
    raw = message(digest, nhub.settings, message_id="<dg_x@testserver>")
    long = [line for line in raw.splitlines() if len(line) > 78]
    assert raw.isascii() and all(line.startswith(" <http://testserver/unsubscribe?") for line in long)
    msg = message_from_string(raw, policy=policy.default)
    assert str(msg["To"]) == "Zoë Ağaoğlu <zoe@example.org>"
    assert str(msg["Subject"]).startswith("Votre premier résumé citybridge")
    assert "Pourquoi" in msg.get_body(preferencelist=("plain",)).get_content()
    folded = _header("List-Id", "a " * 60)
    assert all(len(line) <= 78 for line in folded.splitlines()) and folded.replace("\n", "").split() == \
        ["List-Id:"] + ["a"] * 60
    with pytest.raises(ValueError):
        _header("Subject", "two\nlines")


def test_send_with_worker_processes_is_exactly_once(nhub: Hub, smtp: tuple[Mailbox, int],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Digests built by two worker processes, one member per batch: each member gets one message, and a
    re-run sends nothing."""
    import citybridge.notify.sending as sending

    box, _port = smtp
    monkeypatch.setattr(sending, "BATCH", 1)
    nhub.settings.digest_workers = 2
    for m in ("per_mia", "per_olga", "per_nina"):
        nhub.subscribe(m, "place", "Lisbon")
    now = clock()
    report = nhub.send_digests(now=now)
    assert report["sent"] == 3 and report["conflicts"] == 0
    assert sorted(len(box.to(a)) for a in {r for _f, rs, _r in box.messages for r in rs}) == [1, 1, 1]
    ids = {m["Message-ID"] for m in box.parsed()}
    assert len(ids) == 3
    assert nhub.send_digests(now=now)["sent"] == 0
    assert len(box.messages) == 3
