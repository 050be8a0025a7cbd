"""Killing the sender between messages (and during one) never repeats an item and never skips one: a real
child process (``citybridge digest send``) sends to a real SMTP server on 127.0.0.1 and is SIGKILLed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.conftest import make_hub
from citybridge.model import Person
from citybridge.store import tables as t
from notify.conftest import Mailbox, clock, seed_notify

SECRET = "crash-test-notify-secret-0123"
MEMBERS = [f"per_m{i}" for i in range(6)]


def _child(tmp_path: Path, port: int, now: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CITYBRIDGE_DATA_DIR": str(tmp_path / "data"), "CITYBRIDGE_SMTP_PORT": str(port),
           "CITYBRIDGE_MAIL_RATE": "4", "CITYBRIDGE_SEARCH_EMBEDDER": "", "CITYBRIDGE_PUBLIC_URL": "http://testserver",
           "CITYBRIDGE_NOTIFY_SECRET": SECRET, "OMP_NUM_THREADS": "1"}
    env.pop("CITYBRIDGE_DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "citybridge.cli.main", "digest", "send", "--now", now, "--json"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait(cond, timeout: float = 90.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.01)


@pytest.mark.slow
def test_kill_between_and_during_messages(tmp_path: Path, smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    hub = make_hub(tmp_path, search_embedder=None, smtp_port=port, public_url="http://testserver",
                   notify_secret=SECRET)
    seed_notify(hub, clock())
    hub.upsert([Person(id=m, name=f"Member {m[-1]}", email=f"{m}@example.org") for m in MEMBERS], changed_by="t")
    for m in MEMBERS:
        hub.register_member(m, changed_by="tests")
        hub.subscribe(m, "place", "Lisbon")
        hub.subscribe(m, "keyword", "energy communities")
    now = clock()
    expected = {m: {i.record_id for i in hub.digest(m, now=now).items} for m in MEMBERS}
    assert all(len(v) >= 5 for v in expected.values())

    def count(status: str) -> int:
        with hub.store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.digests)
                                    .where(t.digests.c.status == status)).scalar_one())

    # run 1: killed while the server holds the third message (never acknowledged, so not delivered)
    box.hold_at = 3
    child = _child(tmp_path, port, now.isoformat())
    _wait(box.held.is_set)
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    box.release.set()
    assert len(box.messages) == 2 and count("sent") == 2 and count("pending") == 1

    # run 2: resends the pending digest as stored, then is killed between messages (after the 4th is
    # recorded as sent, while it waits for the throttle or claims the next)
    box.hold_at = None
    child = _child(tmp_path, port, now.isoformat())
    _wait(lambda: count("sent") >= 4)
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    assert len(box.messages) == count("sent")

    # run 3 finishes; run 4 has nothing left to send
    child = _child(tmp_path, port, now.isoformat())
    out, errs = child.communicate(timeout=120)
    assert child.returncode == 0, errs.decode()[-2000:]
    assert hub.send_digests(now=now)["sent"] == 0

    received: dict[str, list[str]] = {}
    ids = []
    for msg in box.parsed():
        [to] = re.findall(r"<?(per_m\d)@example\.org>?", msg["To"])
        text = msg.get_body(preferencelist=("plain",)).get_content()
        received.setdefault(to, []).extend(re.findall(r"/entity/([\w.:\-]+)", text))
        ids.append(msg["Message-ID"])
    assert len(ids) == len(set(ids)) == len(MEMBERS)  # one message per member, none repeated
    for m in MEMBERS:
        assert sorted(received[m]) == sorted(expected[m])  # every item once: none repeated, none skipped
    assert count("sent") == len(MEMBERS) and count("pending") == 0
    assert {k.split("@")[0] for k in hub.notify_store.sent_keys(MEMBERS)["per_m0"]} == expected["per_m0"]
    hub.close()
