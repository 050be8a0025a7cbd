"""Hub methods for the query services: search and linking."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from citybridge.model.access import ANONYMOUS, Caller

if TYPE_CHECKING:
    from citybridge.model.entities import Record
    from citybridge.settings import Settings
    from citybridge.store import Store


class QueryMixin:
    """Search and linking services. Mixed into :class:`citybridge.hub.Hub`."""

    store: Store
    settings: Settings
    _search: Any
    #: what "today" is for deadlines (closed and past-deadline calls are left out); tests set another clock
    clock: Callable[[], date] = staticmethod(date.today)

    def get(self, record_id: str, *, caller: Caller | None = None) -> Record: ...  # provided by Hub

    def today(self) -> date:
        """Today by the hub's clock."""
        return self.clock()

    # ------------------------------------------------------------------ search
    @property
    def searcher(self) -> Any:
        """The search service over this store (indexes under ``<data_dir>/index``)."""
        if self._search is None:
            from citybridge.search.service import SearchService

            self._search = SearchService(self.store, self.settings.data_dir / "index",
                                         embedder=self.settings.search_embedder,
                                         crosslingual=self.settings.crosslingual_embedder,
                                         background=self.settings.search_refresh == "background",
                                         refresh_every=self.settings.search_refresh_seconds)
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

    def reindex(self, progress: Callable[[int], None] | None = None, *, source: Any = None) -> dict[str, Any]:
        """Rebuild every search index from the store (``citybridge reindex``); ``source`` (a
        ``citybridge.search.rows.RowSource``, e.g. the bulk run's partitions) supplies rows the store need not."""
        import time as _time

        from citybridge.search.rows import StoreRows

        t0 = _time.perf_counter()
        source = source or StoreRows()
        loaded = self.searcher.rebuild(progress=progress, source=source)
        main = loaded.main
        return {"documents": main.lexical.n_docs, "terms": len(main.lexical.vocab),
                "vectors": main.vectors.n_docs if main.vectors is not None else 0,
                "seconds": round(_time.perf_counter() - t0, 2), "fingerprint": loaded.fingerprint,
                **getattr(source, "stats", {})}

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
             caller: Caller = ANONYMOUS, today: date | None = None) -> Any:
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
            today: the day calls are judged open on (default: the hub's clock); closed calls and calls past
                their deadline are left out, programmes for other countries than the city's too.

        Every item has ``score``, ``components`` and an ``explanation`` made of real records.

        >>> hub.link("reduce urban heat in dense neighbourhoods", place="Lisbon").sections["evidence"]  # doctest: +SKIP
        """
        from citybridge.link.matchmaking import link

        return link(self, text, entity, place=place, filters=filters, want=want, limit=limit, caller=caller,
                    today=today or self.today())

    def fit(self, entity_id: str, text: str, *, caller: Caller = ANONYMOUS, today: date | None = None) -> Any:
        """How well one person, organisation or city fits one text: ``Fit`` with a score in 0..1, its components
        (``e5``, ``vector``, ``lexical``: the text against the entity's 20 most recent works; ``themes``,
        ``keywords``, ``recency``, ``volume``: its profile) and an explanation citing the entity's records. The
        score is the expertise model of :mod:`citybridge.link.expertise` (weights chosen on the reviewer-paper
        gold standard by ``benchmarks/eval_experts.py``), the same that ranks the experts section of ``link``.
        ``today`` is the reference date: works after it do not count, and recency is measured from it (default:
        the hub's clock).

        >>> hub.fit("per_123", "heatwave early warning for older residents").score   # doctest: +SKIP
        """
        from citybridge.link.matchmaking import fit

        return fit(self, entity_id, text, caller=caller, today=today or self.today())

    def fit_many(self, entity_ids: Iterable[str], text: str, *, caller: Caller = ANONYMOUS,
                 today: date | None = None) -> list[Any]:
        """``fit`` of many entities to one text at once (the text is read once): one ``Fit`` per id, in order."""
        from citybridge.link.matchmaking import fit_many

        return fit_many(self, entity_ids, text, caller=caller, today=today or self.today())
