"""The app's cache of derived views (home counts, map layers, peer cities): fresh until a write, recomputed
before answering (stale 0) or by one background thread with a bounded delay (stale > 0), one computation for
concurrent misses."""

from __future__ import annotations

import threading
import time

from citybridge.api.deps import TTLCache


class Counter:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self._lock = threading.Lock()

    def __call__(self) -> int:
        time.sleep(self.delay)
        with self._lock:
            self.calls += 1
            return self.calls


def test_entries_are_recomputed_after_a_write_when_not_allowed_stale() -> None:
    version = [1]
    cache = TTLCache(version=lambda: version[0])
    count = Counter()
    assert cache.get("k", count) == 1
    assert cache.get("k", count) == 1
    cache.clear()  # a write through this process
    assert cache.get("k", count) == 2
    version[0] = 2  # a commit by another process
    assert cache.get("k", count) == 3
    assert cache.get("k", count) == 3


def test_stale_entries_are_served_while_one_thread_recomputes_them_at_most_every_stale_seconds() -> None:
    version = [1]
    cache = TTLCache(stale=0.3, version=lambda: version[0])
    count = Counter(delay=0.2)
    assert cache.get("k", count) == 1
    version[0] = 2
    t0 = time.monotonic()
    assert cache.get("k", count) == 1  # younger than `stale`: the old view, no recomputation yet
    time.sleep(0.35)
    assert cache.get("k", count) == 1  # old enough: served at once, recomputed in the background
    assert time.monotonic() - t0 < 0.35 + 0.15
    for _ in range(20):  # more writes meanwhile: still one recomputation in flight
        version[0] += 1
        cache.get("k", count)
    deadline = time.monotonic() + 10
    while cache.get("k", count) == 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache.get("k", count) == 2 and count.calls == 2


def test_concurrent_misses_compute_once() -> None:
    cache = TTLCache()
    count = Counter(delay=0.2)
    got: list[int] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("k", count))) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert got == [1] * 8 and count.calls == 1


def test_a_failed_computation_is_raised_and_not_cached() -> None:
    cache = TTLCache()

    def boom() -> int:
        raise RuntimeError("no")

    try:
        cache.get("k", boom)
    except RuntimeError:
        pass
    else:  # pragma: no cover
        raise AssertionError("the error was swallowed")
    assert cache.get("k", lambda: 7) == 7
