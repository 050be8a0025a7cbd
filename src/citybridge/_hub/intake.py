"""Hub methods for intake: documents, dumps, research-data APIs, feeds, watch folders."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from citybridge.errors import Invalid
from citybridge.ingest.pipeline import Importer, ImportReport
from citybridge.model.access import Caller

if TYPE_CHECKING:
    from citybridge.model.entities import Record
    from citybridge.settings import Settings
    from citybridge.store import Store


class IntakeMixin:
    """Intake services. Mixed into :class:`citybridge.hub.Hub`."""

    store: Store
    settings: Settings
    _search: Any

    def get(self, record_id: str, *, caller: Caller | None = None) -> Record: ...  # provided by Hub

    # ------------------------------------------------------------------ intake: documents, dumps, APIs, feeds
    def _importer(self, changed_by: str, progress: Callable[[int], None] | None = None,
                  row_log: IO[str] | None = None) -> Importer:
        from citybridge.ingest.resolve import ExactIdResolver

        return Importer(self.store, batch_size=self.settings.import_batch, changed_by=changed_by,
                        progress=progress, row_log=row_log, resolver=ExactIdResolver())

    def ingest(self, targets: Iterable[str | Path], *, include: Iterable[str] = (),
               exclude: Iterable[str] = (), source: str | None = None,
               progress: Callable[[int], None] | None = None, row_log: IO[str] | None = None) -> ImportReport:
        """Ingest files, folders and URLs, each with the best registered source; returns one report.

        Folders are walked recursively for documents (PDF, DOCX, HTML, Markdown, text; ``include`` and
        ``exclude`` are glob patterns on paths relative to the folder); URLs are fetched (only those given);
        other files go to the source that scores highest (tables, ROR/CORDIS/OpenAlex dumps, portal exports:
        EU calls, Climate-ADAPT funding, Commission news folders); ``source`` names a registered source to use
        instead. Records are deduplicated by external ids and content hash. CLI: ``citybridge ingest
        PATH|URL... [--include GLOB] [--exclude GLOB] [--source NAME] [--json]``.

        >>> hub.ingest(["reports/", "https://example.org/plan.pdf"]).created   # doctest: +SKIP
        12
        """
        from citybridge.ingest.base import registry
        from citybridge.ingest.watch import open_source

        factory = registry.get(source) if source is not None else None
        total = ImportReport()
        for target in targets:
            src = factory(target) if factory is not None else \
                open_source(target, include=tuple(include), exclude=tuple(exclude))
            total.merge(self._importer(f"ingest:{src.name}", progress, row_log).run(src))
        return total

    def ror(self, path: str | Path, *, progress: Callable[[int], None] | None = None) -> ImportReport:
        """Import a ROR data dump (JSON array, ``.json`` or ``.json.gz``, schema v1 or v2), streamed.

        Organisations merge with records that share their ROR id (e.g. OpenAlex institutions).
        CLI: ``citybridge ror FILE``.
        """
        from citybridge.ingest.ror import RorSource

        return self._importer("ror", progress).run(RorSource(path))

    def cordis(self, paths: Iterable[str | Path], *, progress: Callable[[int], None] | None = None
               ) -> ImportReport:
        """Import CORDIS files: the H2020 participation graph (``h2020.csv.gz``, with
        ``programme_parts.csv.gz`` picked up from the same folder) or a ``project.csv`` export (with
        ``organization.csv`` beside it). CLI: ``citybridge cordis FILE...``.
        """
        from citybridge.ingest.cordis import open_cordis

        total = ImportReport()
        for path in paths:
            total.merge(self._importer("cordis", progress).run(open_cordis(path)))
        return total

    def openalex(self, entity: str = "works", *, search: str | None = None, filter: str | None = None,
                 limit: int | None = None, mailto: str | None = None, snapshot: str | Path | None = None,
                 base_url: str | None = None, progress: Callable[[int], None] | None = None) -> ImportReport:
        """Import OpenAlex entities from the API (a query) or from a snapshot file.

        Args:
            entity: works, authors, institutions, funders, topics or publishers (API only).
            search, filter: OpenAlex ``search`` and ``filter`` query parameters.
            limit: stop after this many entities (API).
            mailto: your e-mail, for OpenAlex's polite pool.
            snapshot: a JSON Lines (``.gz``) snapshot file or a ``.json`` entity/list file; no network then.
            base_url: another API root (a mirror, or a local test server).

        CLI: ``citybridge openalex works --search "urban heat island" --limit 2000 [--mailto ME]`` and
        ``citybridge openalex --snapshot FILE``.
        """
        from citybridge.ingest.openalex import API, OpenAlexSnapshotSource
        from citybridge.ingest.openalex_api import OpenAlexApiSource, OpenAlexClient

        if snapshot is not None:
            return self._importer("openalex", progress).run(OpenAlexSnapshotSource(snapshot))
        if limit is not None and limit < 1:
            raise Invalid("limit must be at least 1", field="limit")
        client = OpenAlexClient(base_url or API, mailto=mailto)
        try:
            source = OpenAlexApiSource(entity, search=search, filter=filter, limit=limit, client=client)
            return self._importer("openalex", progress).run(source)
        finally:
            client.close()

    def feeds_add(self, url: str, *, themes: Iterable[str] = (), organization: str | None = None,
                  title: str | None = None) -> Any:
        """Register an RSS/Atom feed; ``themes`` tag its items (``sdg:11`` style codes also link them to the
        theme), ``organization`` (record id or ``ror:...``) is linked as publisher. Returns the ``Feed``.
        CLI: ``citybridge feeds add URL --theme sdg:11 --theme heat [--org ror:05abc]``.
        """
        from citybridge.ingest.feeds import FeedRegistry

        return FeedRegistry(self.store).add(url, themes=list(themes), organization=organization, title=title)

    def feeds_list(self) -> list[Any]:
        """Registered feeds with their last poll. CLI: ``citybridge feeds list``."""
        from citybridge.ingest.feeds import FeedRegistry

        return FeedRegistry(self.store).list()

    def feeds_poll(self, urls: Iterable[str] | None = None, *, client: Any = None) -> ImportReport:
        """Poll registered feeds (all, or those in ``urls``) with conditional GET and import new items as
        ``news`` documents. A 304 answer imports nothing; a failing feed is one rejection line and its
        status is kept (``feeds_list``). CLI: ``citybridge feeds poll [URL...]``.
        """
        from citybridge.ingest.base import Rejection
        from citybridge.ingest.feeds import FeedRegistry, FeedSource, fetch

        reg = FeedRegistry(self.store)
        wanted = set(urls) if urls is not None else None
        total = ImportReport()
        for feed in reg.list():
            if wanted is not None and feed.url not in wanted:
                continue
            result = fetch(feed, client=client)
            if result.status == 304:
                reg.polled(feed, result, status="not modified")
                total.sources.append(feed.url)
                continue
            if result.status != 200:
                reg.polled(feed, result, status=result.error or f"HTTP {result.status}")
                total.sources.append(feed.url)
                rej = Rejection(feed.url, result.error or f"HTTP {result.status}")
                total.add("rejected", rej.where, reason=rej.reason)
                continue
            source = FeedSource(feed, result.content)
            report = self._importer(f"feed:{feed.url}").run(source)
            ok = report.created + report.updated + report.unchanged
            reg.polled(feed, result, title=source.title,
                       status="ok" if ok or not report.rejected else "; ".join(report.lines())[:256])
            total.merge(report)
        return total

    def watch(self, folder: str | Path, *, interval: float = 5.0, max_polls: int | None = None,
              stop: Any = None, on_poll: Callable[[Any], Any] | None = None,
              settle_seconds: float = 2.0) -> Any:
        """Watch a consume folder: new or changed files are ingested, processed ones remembered in the store
        (path + sha256), failures moved to ``failed/`` with a ``.reason.txt``. Runs until ``stop``
        (a ``threading.Event``) is set or ``max_polls`` passes are done; returns a ``WatchSummary``.
        CLI: ``citybridge watch DIR [--interval 5]`` (Ctrl-C stops).
        """
        from citybridge.ingest.watch import watch

        return watch(self.store, folder, interval=interval, max_polls=max_polls, stop=stop, on_poll=on_poll,
                     settle_seconds=settle_seconds)

