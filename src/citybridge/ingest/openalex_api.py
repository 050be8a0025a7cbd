"""The OpenAlex REST API: a small client (cursor paging, polite pool, retry with backoff on 429/5xx) and a
source over a query. Records are mapped exactly as snapshot entities (see :mod:`citybridge.ingest.openalex`).
Used only when the user asks for it; tests run it against a local server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from citybridge.errors import Invalid, Unavailable
from citybridge.ingest.base import SourceItem
from citybridge.ingest.openalex import API, ENTITIES, Recent, entity_items


class OpenAlexClient:
    """A small OpenAlex API client: cursor paging, polite pool, retry with backoff on 429 and 5xx.

    >>> client = OpenAlexClient(mailto="me@example.org")                          # doctest: +SKIP
    >>> next(client.iter("works", search="urban heat island"))["display_name"]   # doctest: +SKIP
    """

    def __init__(
        self,
        base_url: str = API,
        *,
        mailto: str | None = None,
        per_page: int = 200,
        retries: int = 5,
        backoff: float = 1.0,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.mailto = mailto
        self.per_page = max(1, min(per_page, 200))
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.http = httpx.Client(
            timeout=timeout, headers={"User-Agent": f"citybridge (+mailto:{mailto or 'unknown'})"}
        )

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """GET a JSON page, retrying 429/5xx and network errors with exponential backoff."""
        import httpx

        url = f"{self.base_url}/{path.lstrip('/')}"
        if self.mailto:
            params = {**params, "mailto": self.mailto}
        last = ""
        for attempt in range(self.retries + 1):
            try:
                resp = self.http.get(url, params=params)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status_code == 200:
                    try:
                        return resp.json()
                    except ValueError:
                        raise Invalid(
                            "OpenAlex answered with something that is not JSON", where=url
                        ) from None
                if resp.status_code != 429 and resp.status_code < 500:
                    raise Invalid(
                        f"OpenAlex refused the query (HTTP {resp.status_code}): {resp.text[:200]}", where=url
                    )
                last = f"HTTP {resp.status_code}"
                wait = resp.headers.get("Retry-After")
                if wait and wait.replace(".", "", 1).isdigit() and attempt < self.retries:
                    self.sleep(min(float(wait), 60.0))
                    continue
            if attempt < self.retries:
                self.sleep(self.backoff * 2**attempt)
        raise Unavailable(f"OpenAlex not reachable after {self.retries + 1} tries ({last})", where=url)

    def iter(
        self, entity: str, *, search: str | None = None, filter: str | None = None, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Entities of one type matching a search and/or filter, page by page with ``cursor``."""
        if entity not in ENTITIES:
            raise Invalid(
                f"unknown OpenAlex entity '{entity}' (one of: {', '.join(ENTITIES)})", field="entity"
            )
        params: dict[str, Any] = {"per-page": self.per_page, "cursor": "*"}
        if search:
            params["search"] = search
        if filter:
            params["filter"] = filter
        n = 0
        while True:
            page = self.get(entity, params)
            for obj in page.get("results") or []:
                yield obj
                n += 1
                if limit is not None and n >= limit:
                    return
            cursor = (page.get("meta") or {}).get("next_cursor")
            if not cursor or not page.get("results"):
                return
            params["cursor"] = cursor


class OpenAlexApiSource:
    """Entities fetched from the OpenAlex API for a query (see :meth:`OpenAlexClient.iter`)."""

    def __init__(
        self,
        entity: str = "works",
        *,
        search: str | None = None,
        filter: str | None = None,
        limit: int | None = None,
        client: OpenAlexClient | None = None,
        **client_kwargs: Any,
    ) -> None:
        self.entity, self.search, self.filter, self.limit = entity, search, filter, limit
        self.client = client or OpenAlexClient(**client_kwargs)
        query = "&".join(f"{k}={v}" for k, v in (("search", search), ("filter", filter)) if v)
        self.name = f"openalex:{entity}" + (f"?{query}" if query else "")

    def items(self) -> Iterator[SourceItem]:
        recent = Recent()
        for i, obj in enumerate(
            self.client.iter(self.entity, search=self.search, filter=self.filter, limit=self.limit), start=1
        ):
            yield from entity_items(obj, f"{self.name}#{i}", recent)


__all__ = ["OpenAlexApiSource", "OpenAlexClient"]
