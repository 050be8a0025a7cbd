"""The link indexes' cache under writes: ``sync`` rebuilds before the next answer, ``background`` (what
``citybridge serve`` uses) answers from the previous structure while one thread rebuilds it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from citybridge.hub import Hub
from citybridge.link._derived import cached
from citybridge.model import Organization
from citybridge.model.access import ANONYMOUS
from citybridge.settings import Settings


def _hub(tmp: Path, **settings: object) -> Hub:
    hub = Hub(Settings(data_dir=tmp / "data", _env_file=None, **settings))  # type: ignore[arg-type]
    hub.init()
    hub.upsert([Organization(name="Porto Energy Agency", country="PT")])
    return hub


class Counting:
    """A build that counts the organisations in the store and how often it ran (and in which thread)."""

    def __init__(self, hub: Hub) -> None:
        self.hub, self.calls, self.threads = hub, 0, []

    def __call__(self) -> tuple[int, int]:
        self.calls += 1
        self.threads.append(threading.current_thread().name)
        return self.calls, len(self.hub.list("organization", limit=100))


def test_sync_mode_rebuilds_before_answering(tmp_path: Path) -> None:
    hub = _hub(tmp_path)
    build = Counting(hub)
    assert cached(hub, "orgs", hub.store, ANONYMOUS, build) == (1, 1)
    assert cached(hub, "orgs", hub.store, ANONYMOUS, build) == (1, 1)  # unchanged store: no rebuild
    hub.upsert([Organization(name="Braga Council", country="PT")])
    assert cached(hub, "orgs", hub.store, ANONYMOUS, build) == (2, 2)
    assert build.threads == [threading.current_thread().name] * 2
    hub.close()


def test_background_mode_answers_from_the_previous_structure_while_one_thread_rebuilds(tmp_path: Path) -> None:
    hub = _hub(tmp_path, link_refresh="background", link_refresh_seconds=0)
    build = Counting(hub)
    first = cached(hub, "orgs", hub.store, ANONYMOUS, build)
    assert first == (1, 1)  # nothing to serve yet: built on the caller's thread
    hub.upsert([Organization(name="Braga Council", country="PT")])
    assert cached(hub, "orgs", hub.store, ANONYMOUS, build) is first  # no wait for the rebuild
    deadline = time.monotonic() + 20
    while cached(hub, "orgs", hub.store, ANONYMOUS, build)[1] != 2:
        assert time.monotonic() < deadline, "the background rebuild never landed"
        time.sleep(0.05)
    assert build.threads[0] == threading.current_thread().name
    assert all(name == "citybridge-link-orgs" for name in build.threads[1:])
    calls = build.calls
    time.sleep(0.2)
    cached(hub, "orgs", hub.store, ANONYMOUS, build)
    time.sleep(0.2)  # an unchanged store is checked, not rebuilt
    assert build.calls == calls
    hub.close()


def test_background_mode_rebuilds_at_most_every_interval(tmp_path: Path) -> None:
    hub = _hub(tmp_path, link_refresh="background", link_refresh_seconds=3600)
    build = Counting(hub)
    first = cached(hub, "orgs", hub.store, ANONYMOUS, build)
    for i in range(3):
        hub.upsert([Organization(name=f"Council {i}", country="PT")])
        assert cached(hub, "orgs", hub.store, ANONYMOUS, build) is first
    time.sleep(0.2)
    assert build.calls == 1
    hub.close()
