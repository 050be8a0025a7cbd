"""The one core object: :class:`Hub` opens settings and the store; every service hangs off it.

Interfaces (CLI, REST API, web pages) build a Hub and call its methods; none holds domain logic.
"""

from __future__ import annotations

from typing import Any

from citybridge.settings import Settings
from citybridge.store import Store


class Hub:
    """A citybridge instance: settings + store + the services built on them.

    >>> hub = Hub(Settings(data_dir="/tmp/cb-demo"))   # doctest: +SKIP
    >>> hub.stats()["records"]                          # doctest: +SKIP
    0
    """

    def __init__(self, settings: Settings | None = None, *, store: Store | None = None) -> None:
        self.settings = settings or Settings()
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = store or Store.open(
            self.settings.resolved_database_url, busy_timeout_ms=self.settings.sqlite_busy_timeout_ms
        )

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def stats(self) -> dict[str, Any]:
        return self.store.stats()
