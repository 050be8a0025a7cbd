"""Link's per-store-state caches under writes: the records cache never serves a version older than the store
(a write through this Hub or through another connection, as another worker process makes), and after a write
one thread re-reads the store fingerprint while the others wait for its answer (a busy server's threads used
to run the same counting queries at once: half of a worker's time in a load run)."""

from __future__ import annotations

import threading
from pathlib import Path

from citybridge.hub import Hub
from citybridge.link import _derived, reads
from citybridge.model import Organization
from citybridge.settings import Settings


def _hub(data: Path) -> Hub:
    hub = Hub(Settings(data_dir=data, _env_file=None))
    hub.init()
    return hub


def test_records_cache_follows_writes_from_this_hub_and_from_another(tmp_path: Path) -> None:
    hub = _hub(tmp_path)
    other = _hub(tmp_path)  # another worker: its own engine and connections
    try:
        hub.upsert([Organization(id="org_a", name="Alpha Heat Lab", country="PT")])
        assert reads.records(hub, ["org_a", "org_none"])["org_a"].name == "Alpha Heat Lab"
        assert reads.records(hub, ["org_a"])["org_a"] is reads.records(hub, ["org_a"])["org_a"]  # cached
        hub.upsert([Organization(id="org_a", name="Alpha Cooling Lab", country="PT")])
        assert reads.records(hub, ["org_a"])["org_a"].name == "Alpha Cooling Lab"
        other.upsert([Organization(id="org_a", name="Alpha Shade Lab", country="PT")])
        assert reads.records(hub, ["org_a"])["org_a"].name == "Alpha Shade Lab"
        other.upsert([Organization(id="org_none", name="Late Arrival", country="ES")])
        assert reads.records(hub, ["org_none"])["org_none"].name == "Late Arrival"  # a cached miss is dropped too
    finally:
        other.close()
        hub.close()


def test_one_thread_reads_the_fingerprint_after_a_write(tmp_path: Path, monkeypatch) -> None:
    hub = _hub(tmp_path)
    other = _hub(tmp_path)
    try:
        hub.upsert([Organization(id="org_a", name="Alpha Heat Lab", country="PT")])
        first = _derived.current_fingerprint(hub, hub.store)
        other.upsert([Organization(id="org_b", name="Beta Heat Lab", country="PT")])  # another process writes
        calls: list[int] = []
        real = _derived.fingerprint
        gate = threading.Event()

        def counted(store):  # type: ignore[no-untyped-def]
            calls.append(1)
            gate.wait(5)  # hold the first reader inside, so the others arrive while it reads
            return real(store)

        monkeypatch.setattr(_derived, "fingerprint", counted)
        got: list[tuple] = []  # type: ignore[type-arg]
        threads = [threading.Thread(target=lambda: got.append(_derived.current_fingerprint(hub, hub.store)))
                   for _ in range(8)]
        for th in threads:
            th.start()
        gate.set()
        for th in threads:
            th.join(10)
        assert len(got) == 8 and len(set(got)) == 1 and got[0] != first
        assert len(calls) == 1
    finally:
        other.close()
        hub.close()
