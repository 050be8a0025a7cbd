"""The one core object: :class:`Hub` opens settings and the store; every service hangs off it.

Interfaces (CLI, REST API, web pages) build a Hub and call its methods; none holds domain logic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from citybridge.errors import Invalid, NotFound
from citybridge.ingest.export import Exporter, Format
from citybridge.ingest.mapping import Mapping
from citybridge.ingest.pipeline import Importer, ImportReport
from citybridge.ingest.tabular import open_tabular
from citybridge.model.access import ANONYMOUS, Caller
from citybridge.model.entities import Kind, Record
from citybridge.model.relations import Relation
from citybridge.model.taxonomy import builtin_themes
from citybridge.settings import Settings
from citybridge.store import Store

REPO_ROOT = Path(__file__).resolve().parents[2]


class Hub:
    """A citybridge instance: settings + store + the services built on them.

    >>> hub = Hub(Settings(data_dir="/tmp/cb-demo"))   # doctest: +SKIP
    >>> hub.import_files(["orgs.csv"]).created          # doctest: +SKIP
    120
    """

    def __init__(self, settings: Settings | None = None, *, store: Store | None = None) -> None:
        self.settings = settings or Settings()
        if self.settings.is_sqlite:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = store or Store.open(
            self.settings.resolved_database_url, busy_timeout_ms=self.settings.sqlite_busy_timeout_ms
        )
        self._search: Any = None

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ setup
    def init(self) -> ImportReport:
        """Make sure the schema is current and the built-in taxonomies (SDGs, pathways) are stored."""
        self.store.migrate()
        importer = Importer(self.store, changed_by="citybridge:init")
        return importer.run(_ListSource("taxonomy", builtin_themes()))

    # ------------------------------------------------------------------ reading
    def get(self, record_id: str) -> Record:
        """The record with this id (or an external id written ``scheme:value``, e.g. ``ror:05abc``)."""
        try:
            return self.store.get(record_id)
        except NotFound:
            scheme, sep, value = record_id.partition(":")
            if sep and value:
                return self.store.find_by_external(scheme, value)
            raise

    def show(self, record_id: str) -> dict[str, Any]:
        """A record with its relations (and the names of the records at their other ends) and history."""
        record = self.get(record_id)
        rels = self.store.relations_of(record.id, limit=500)
        others = self.store.get_many({r.target if r.source == record.id else r.source for r in rels})
        relations = []
        for rel in rels:
            outgoing = rel.source == record.id
            other = others.get(rel.target if outgoing else rel.source)
            relations.append({
                "id": rel.id, "type": rel.type.value, "direction": "out" if outgoing else "in",
                "role": rel.role, "other_id": other.id if other else None,
                "other_name": other.name if other else None, "other_kind": other.kind.value if other else None,
                "start_date": rel.start_date.isoformat() if rel.start_date else None,
                "end_date": rel.end_date.isoformat() if rel.end_date else None,
            })
        anns = self.annotations(record.id)
        targets = self.store.get_many({a["target_id"] for v in anns.values() for a in v if a["target_id"]})
        for items in anns.values():
            for a in items:
                target = targets.get(a["target_id"]) if a["target_id"] else None
                a["name"] = target.name if target else a["label"].split(":", 1)[1]
        return {
            "record": record,
            "version": self.store.version_of(record.id),
            "relations": relations,
            "history": self.store.history(record.id),
            "languages": anns.get("language", []),
            "tags": anns.get("tags", []),
            "places": anns.get("places", []),
            "keywords": anns.get("keywords", []),
        }

    def list(self, kind: str | None = None, *, subtype: str | None = None, country: str | None = None,
             after: str | None = None, limit: int = 50) -> list[Record]:
        if kind is not None and kind not in {k.value for k in Kind}:
            raise Invalid(f"unknown kind '{kind}' (one of: {', '.join(k.value for k in Kind)})", field="kind")
        if not 1 <= limit <= 1000:
            raise Invalid("limit must be between 1 and 1000", field="limit")
        return self.store.list_records(kind, subtype=subtype, country=country, after=after, limit=limit)

    def stats(self) -> dict[str, Any]:
        return self.store.stats()

    # ------------------------------------------------------------------ writing
    def import_files(
        self, paths: Iterable[str | Path], *, kind: str | None = None, mapping: str | Path | Mapping | None = None,
        delimiter: str | None = None, encoding: str | None = None, progress: Callable[[int], None] | None = None,
        row_log: IO[str] | None = None, changed_by: str | None = None,
    ) -> ImportReport:
        """Import tabular files (CSV, XLSX, JSON, JSONL) into the store; returns the combined report.

        Rows are validated one by one (a bad row never stops the others) and written in batches of
        ``settings.import_batch``, each batch one transaction.
        """
        m = Mapping.load(mapping) if isinstance(mapping, str | Path) else mapping
        if kind is not None and kind != "relation" and kind not in {k.value for k in Kind}:
            raise Invalid(f"unknown kind '{kind}'", field="kind")
        total = ImportReport()
        for path in paths:
            source = open_tabular(path, kind=kind, delimiter=delimiter or (m.delimiter if m else None),
                                  encoding=encoding or (m.encoding if m else None))
            importer = Importer(self.store, batch_size=self.settings.import_batch,
                                changed_by=changed_by or f"import:{source.name}", progress=progress,
                                row_log=row_log)
            total.merge(importer.run(source, kind=kind, mapping=m, provenance_source=f"import:{source.name}"))
        return total

    def upsert(self, records: Iterable[Record], *, changed_by: str | None = None) -> ImportReport:
        importer = Importer(self.store, batch_size=self.settings.import_batch, changed_by=changed_by or "api")
        return importer.run(_ListSource("api", list(records)))

    def relate(self, relations: Iterable[Relation], *, changed_by: str | None = None) -> ImportReport:
        importer = Importer(self.store, batch_size=self.settings.import_batch, changed_by=changed_by or "api")
        return importer.run(_ListSource("api", list(relations)))

    def delete(self, record_id: str, *, changed_by: str | None = None) -> None:
        self.store.delete_record(self.get(record_id).id, changed_by=changed_by)

    def export(self, out: IO[str], fmt: Format = "jsonl", *, kind: str | None = None) -> int:
        """Stream the store to ``out`` as jsonl, csv or jsonld; returns the number of items."""
        return Exporter(self.store).write(out, fmt, kind=kind)

    # ------------------------------------------------------------------ intake: documents, dumps, APIs, feeds
    def _importer(self, changed_by: str, progress: Callable[[int], None] | None = None,
                  row_log: IO[str] | None = None) -> Importer:
        from citybridge.ingest.resolve import ExactIdResolver

        return Importer(self.store, batch_size=self.settings.import_batch, changed_by=changed_by,
                        progress=progress, row_log=row_log, resolver=ExactIdResolver())

    def ingest(self, targets: Iterable[str | Path], *, include: Iterable[str] = (),
               exclude: Iterable[str] = (), progress: Callable[[int], None] | None = None,
               row_log: IO[str] | None = None) -> ImportReport:
        """Ingest files, folders and URLs, each with the best registered source; returns one report.

        Folders are walked recursively for documents (PDF, DOCX, HTML, Markdown, text; ``include`` and
        ``exclude`` are glob patterns on paths relative to the folder); URLs are fetched (only those given);
        other files go to the source that scores highest (tables, ROR/CORDIS/OpenAlex dumps). Records are
        deduplicated by external ids and content hash. CLI: ``citybridge ingest PATH|URL... [--include GLOB]
        [--exclude GLOB] [--json]``.

        >>> hub.ingest(["reports/", "https://example.org/plan.pdf"]).created   # doctest: +SKIP
        12
        """
        from citybridge.ingest.watch import open_source

        total = ImportReport()
        for target in targets:
            source = open_source(target, include=tuple(include), exclude=tuple(exclude))
            total.merge(self._importer(f"ingest:{source.name}", progress, row_log).run(source))
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

    # ------------------------------------------------------------------ enrichment
    def enrichment_steps(self, names: Iterable[str] | None = None) -> list[Any]:
        """The configured steps; the tagging step also learns the user taxonomies stored as themes."""
        from citybridge.enrich.pipeline import make_steps
        from citybridge.enrich.steps import TaggingStep

        steps = make_steps(names or self.settings.enrich_steps)
        user = [t for t in self.store.iter_records("theme") if t.scheme not in ("sdg", "pathway")]  # type: ignore[attr-defined]
        return [TaggingStep(user) if isinstance(s, TaggingStep) else s for s in steps]

    def enrich(self, steps: Iterable[str] | None = None, *, workers: int | None = None,
               progress: Callable[[int], None] | None = None, profiles: bool = True) -> Any:
        """Run the enrichment steps over every record they have not seen in their current version, then
        update the expertise profiles that depend on what changed. Returns an ``EnrichReport``.

        CLI: ``citybridge enrich [--step tags --step places] [--workers 2] [--json]``.
        """
        from citybridge.enrich.profiles import build_profiles, dirty_entities
        from citybridge.enrich.runner import Enricher

        enricher = Enricher(self.store, self.enrichment_steps(steps), workers=workers or self.settings.workers,
                            progress=progress)
        report, touched = enricher.run()
        if profiles and touched:
            model = next((s.embedder.model_id for s in enricher.steps if getattr(s, "model", None)), None)
            everything = len(touched) > 20_000
            report.profiles = build_profiles(self.store, None if everything else dirty_entities(self.store, touched),
                                             model=model)
        return report

    def pending_enrichment(self) -> dict[str, int]:
        """How many records each configured step still has to process."""
        from citybridge.enrich.runner import Enricher

        plan = Enricher(self.store, self.enrichment_steps()).plan()
        counts: dict[str, int] = {}
        for steps in plan.values():
            for step in steps:
                counts[step.name] = counts.get(step.name, 0) + 1
        return counts

    def tag(self, texts: Iterable[str], *, lang: str | None = None) -> list[list[Any]]:
        """SDG/pathway/user-taxonomy labels with scores and evidence for free texts; nothing is stored."""
        from citybridge.enrich.steps import TaggingStep

        step = self.enrichment_steps(["tags"])[0]
        assert isinstance(step, TaggingStep)
        return step.tagger.tag(list(texts), lang=lang)

    def annotations(self, record_id: str) -> dict[str, list[dict[str, Any]]]:
        """A record's enrichment results by step (language, tags, places, keywords)."""
        from citybridge.store.enrichment import EnrichmentStore

        out: dict[str, list[dict[str, Any]]] = {}
        for ann in EnrichmentStore(self.store).annotations_of(self.get(record_id).id):
            out.setdefault(ann["step"], []).append(ann)
        return out

    def profile(self, entity_id: str) -> dict[str, Any] | None:
        """The expertise profile of a person, organisation or city, or None if nothing is linked to it."""
        from citybridge.store.enrichment import EnrichmentStore

        return EnrichmentStore(self.store).profile(self.get(entity_id).id)

    # ------------------------------------------------------------------ search
    @property
    def searcher(self) -> Any:
        """The search service over this store (indexes under ``<data_dir>/index``)."""
        if self._search is None:
            from citybridge.search.service import SearchService

            self._search = SearchService(self.store, self.settings.data_dir / "index",
                                         embedder=self.settings.search_embedder)
        return self._search

    def search(self, query: str, filters: dict[str, Any] | None = None, facets: Iterable[str] | None = None,
               page: int = 1, *, per_page: int = 10, caller: Caller = ANONYMOUS,
               mode: str = "hybrid") -> dict[str, Any]:
        """Hybrid lexical + semantic search with filters, facet counts and visibility enforced inside.

        Args:
            query: words, ``"phrases"`` and ``prefix*``; empty lists everything that matches the filters.
            filters: any of kind, subtype, sdg, pathway, country, region, language, source (a value or a list
                of values, any of which may match), year_from, year_to.
            facets: which facet counts to return (default: all).
            page, per_page: result window (1-based page).
            caller: who asks; private and network records are only returned to callers who may see them.
            mode: ``hybrid`` (default), ``lexical`` or ``dense``.

        Returns:
            ``{"total", "results": [{id, kind, name, score, snippet{text, highlights}, tags}], "facets"}``.

        >>> hub.search("urban heat", {"sdg": "11", "country": "BR"})["total"]   # doctest: +SKIP
        """
        from citybridge.search.service import FACETS

        return self.searcher.search(query, filters=filters, facets=tuple(facets) if facets is not None else FACETS,
                                    page=page, per_page=per_page, caller=caller, mode=mode)

    def more_like_this(self, record_id: str, *, limit: int = 10, caller: Caller = ANONYMOUS,
                       filters: dict[str, Any] | None = None) -> dict[str, Any]:
        """Records most similar to one record (embedding + its key terms)."""
        return self.searcher.more_like_this(self.get(record_id).id, limit=limit, caller=caller, filters=filters)

    def reindex(self, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Rebuild every search index from the store (``citybridge reindex``)."""
        import time as _time

        t0 = _time.perf_counter()
        loaded = self.searcher.rebuild(progress=progress)
        main = loaded.main
        return {"documents": main.lexical.n_docs, "terms": len(main.lexical.vocab),
                "vectors": main.vectors.n_docs if main.vectors is not None else 0,
                "seconds": round(_time.perf_counter() - t0, 2), "fingerprint": loaded.fingerprint}

    # ------------------------------------------------------------------ linking
    def suggest_partners(self, text: str | None = None, project: str | None = None,
                         current_partners: Iterable[str] = (), constraints: Any = None, *,
                         weights: dict[str, float] | None = None, caller: Caller = ANONYMOUS) -> list[Any]:
        """Organisations that would complete a consortium, best first, each with a score, its signal
        components and a plain-language explanation from real records (``PartnerSuggestion``).

        Args:
            text: a call or project description (tagged for SDGs/pathways/keywords, matched to profiles).
            project: a stored project (id or ``cordis:<rcn>``): its partners, programme and tags are used.
            current_partners: organisation ids (or ``pic:...``, ``ror:...``) already in the consortium.
            constraints: ``PartnerConstraints`` or a dict: countries, exclude_countries, org_types, exclude,
                min_projects, max_results.
            weights: signal -> weight (collab, network, expertise, type_fit, geo_home, geo_balance,
                experience, coordination, recent).

        >>> hub.suggest_partners("urban heat adaptation", current_partners=["pic:999"],
        ...                      constraints={"countries": ["PT"], "max_results": 5})   # doctest: +SKIP
        """
        from citybridge.link.partner_store import suggest_for_store

        return suggest_for_store(self, text=text, project=project, current_partners=current_partners,
                                 constraints=constraints, weights=weights, caller=caller)

    def peer_cities(self, city: str, *, weights: dict[str, float] | None = None, limit: int = 10,
                    caller: Caller = ANONYMOUS) -> list[Any]:
        """Cities most similar to ``city`` (a city place id, ``simplemaps:<id>``, or a local-government
        organisation located in a city), each with its score, every component and the reasons
        (``PeerCity``). ``weights`` overrides the defaults of population, country, region, climate,
        profile, partners and networks.
        """
        from citybridge.link.peer_cities import peer_cities_for_store

        return peer_cities_for_store(self, city, weights=weights, limit=limit, caller=caller)

    def link(self, text: str | None = None, entity: str | None = None, *, place: str | None = None,
             filters: dict[str, Any] | None = None, want: str | Iterable[str] | None = None, limit: int = 5,
             caller: Caller = ANONYMOUS) -> Any:
        """Matchmaking: ranked, explained sections for a challenge (``LinkResult``).

        Args:
            text: a free-text challenge in any supported language (tagged, keyword-extracted, embedded).
            entity: a stored city, organisation, person, project, call or document (id or ``scheme:value``):
                its tags, keywords, vector and profile are used; a call alone asks who should hear of it.
            place: a city (id, ``simplemaps:<id>``, a local government, or a name) that focuses geography.
            filters: search filters (country, sdg, pathway, year_from, ...) applied to every section.
            want: sections, any of evidence, practice, experts, organisations, peer_cities, opportunities,
                projects (a list or comma-separated); default all.
            limit: items per section (1-50).

        Every item has ``score``, ``components`` and an ``explanation`` made of real records.

        >>> hub.link("reduce urban heat in dense neighbourhoods", place="Lisbon").sections["evidence"]  # doctest: +SKIP
        """
        from citybridge.link.matchmaking import link

        return link(self, text, entity, place=place, filters=filters, want=want, limit=limit, caller=caller)

    def fit(self, entity_id: str, text: str, *, caller: Caller = ANONYMOUS) -> Any:
        """How well one person, organisation or city fits one text: ``Fit`` with a score in 0..1, its components
        (labels, vector, keywords, recency, volume) and an explanation citing the entity's records.

        >>> hub.fit("per_123", "heatwave early warning for older residents").score   # doctest: +SKIP
        """
        from citybridge.link.matchmaking import fit

        return fit(self, entity_id, text, caller=caller)

    # ------------------------------------------------------------------ demo
    def demo_dir(self) -> Path:
        return Path(self.settings.demo_dir) if self.settings.demo_dir else REPO_ROOT / "data" / "demo"

    def load_demo(self, progress: Callable[[int], None] | None = None) -> ImportReport:
        """Load the shipped demo knowledge pack (see data/demo/SOURCES.md)."""
        folder = self.demo_dir()
        files = sorted(folder.glob("*.jsonl.gz"))
        if not files:
            raise NotFound("demo pack not found; run scripts/build_demo_pack.py", where=str(folder))
        report = self.init()
        report.merge(self.import_files(files, progress=progress, changed_by="citybridge:demo"))
        return report


class _ListSource:
    """A source over records/relations already in memory (API writes, built-in taxonomies)."""

    def __init__(self, name: str, items: list[Record | Relation]) -> None:
        self.name = name
        self._items = items

    def items(self):  # type: ignore[no-untyped-def]
        from citybridge.ingest.base import SourceItem

        for i, obj in enumerate(self._items, start=1):
            where = f"{self.name}:{i}"
            if isinstance(obj, Relation):
                yield SourceItem(where, relation=obj)
            else:
                yield SourceItem(where, record=obj)
