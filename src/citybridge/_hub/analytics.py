"""Hub methods for analytics: who is central, a broker or a pioneer in a theme; which themes rise; where
demand outruns supply. Results are cached per store state and caller (:mod:`citybridge.analyze.cache`).

Themes are written ``scheme:code``: ``sdg:11`` (SDG goals; targets roll up to their goal), ``pathway:<code>``,
``programme:<code>`` (Horizon 2020 programme parts such as ``programme:SC5``) and ``kw:<phrase>`` (keyword
themes: the records annotated with that keyword by the ``keywords`` enrichment step, compared case-insensitively,
and the records containing the phrase, see :meth:`AnalyticsMixin._phrase_records`). Every figure lists the record
ids behind it (``records``; trend series also ``records_by_year``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from citybridge.errors import Invalid
from citybridge.model.access import CURATOR, Caller

if TYPE_CHECKING:
    from citybridge.analyze.activity import Activities
    from citybridge.settings import Settings
    from citybridge.store import Store

SCHEMES = ("sdg", "pathway", "programme", "kw")


class NodeFigures(TypedDict, total=False):
    """One agent (organisation, person or city) in a ranking."""

    id: str  # record id
    name: str
    kind: str  # organization | person | place
    sector: str  # university, research_institute, company, local_government, ... (cities: "city")
    country: str | None
    degree: int  # distinct partners in the (theme) graph
    strength: float  # summed collaboration weight
    pagerank: float
    betweenness: float  # normalised to [0, 1]; estimated from pivots on large graphs (see method)
    community: int  # Leiden community, 0 = largest
    n_records: int  # activities in the (theme) graph
    records: list[str]  # ids of the activities behind the figures, most recent first (<= 10)
    score: float  # the ranking's own score (excellence, broker or pioneer)
    # excellence: centrality (PageRank / theme max), volume, leads, recency (mean decay weight),
    #   weighted_volume (decayed activities, led ones counted twice)
    # brokers: communities_mix, sectors_mix, countries_mix (1 - sum of squared tie shares)
    # pioneers: first_year, earliness, centrality_since


class NetworkMetrics(TypedDict):
    """What :meth:`AnalyticsMixin.network_metrics` returns."""

    theme: str | None
    theme_name: str | None
    level: str
    years: list[int | None]  # [first, last] year of the activities used
    nodes: int
    edges: int
    activities: int
    n_communities: int
    communities: list[dict[str, Any]]  # [{id, size, countries: {cc: n}, top: [ids]}] (12 largest)
    central: list[NodeFigures]  # by PageRank
    excellence: list[NodeFigures]
    brokers: list[NodeFigures]
    pioneers: list[NodeFigures]
    graph: dict[str, Any]  # drawable subgraph: {nodes: [{id, name, community, pagerank, country, sector,
    #                        broker, pioneer, excellent}], edges: [{source, target, weight, shared, records}]}
    by_year: list[dict[str, int]]  # [{year, activities, agents}]
    method: dict[str, Any]


class TrendSide(TypedDict):
    counts: dict[str, int]  # year -> records
    total: int
    rising: bool
    bursts: list[int]  # Kleinberg burst years
    growth: float  # slope of the log share over the last 3 years
    z: float  # Poisson z of the last year against the 3 before
    p: float  # one-sided exact Poisson rate-ratio p of the last (complete) year against the 3 before
    base: int  # the theme's records in those 3 years (rising needs >= 5 and p < 0.05)
    burst_now: bool


class TrendSeries(TypedDict, total=False):
    theme: str
    theme_name: str
    total: int
    supply: TrendSide  # research and projects
    demand: TrendSide  # calls, news, policies and plans, members' challenges
    emerging: bool
    reason: str  # plain-language evidence (emerging themes only)
    records: dict[str, list[str]]  # {"supply": ids, "demand": ids}, most recent first
    records_by_year: dict[str, dict[str, list[str]]]  # {"supply": {year: ids}, "demand": {...}}


class Trends(TypedDict):
    """What :meth:`AnalyticsMixin.trends` returns."""

    years: list[int]
    totals: dict[str, dict[str, int]]  # side -> year -> all records of that side
    series: list[TrendSeries]  # emerging first, then rising, then by volume
    emerging: list[str]
    rising: list[str]
    method: dict[str, Any]


class GapCell(TypedDict, total=False):
    theme: str
    theme_name: str
    area: str  # UN sub-region (e.g. "Southern Europe") or ISO country code
    supply: int
    demand: int
    experts: int
    expert_ids: list[str]
    gap: float  # demand - supply x balance; > 0: demand outruns supply
    records: dict[str, list[str]]  # {"supply": ids, "demand": ids}
    reason: str  # ranked cells only


class Gaps(TypedDict):
    """What :meth:`AnalyticsMixin.gaps` returns."""

    by: str  # "region" | "country"
    themes: list[str]
    areas: list[str]
    cells: list[GapCell]
    ranked: list[GapCell]  # largest gaps first, with reasons
    balance: float  # all demand / all supply
    totals: dict[str, int]
    method: dict[str, Any]


def theme_name(theme: str | None) -> str | None:
    """A readable name for a theme code (``sdg:11`` -> ``SDG 11: Sustainable cities and communities``)."""
    if theme is None:
        return None
    scheme, _, code = theme.partition(":")
    if scheme == "sdg":
        from citybridge.model.taxonomy import sdg_nodes

        for node in sdg_nodes():
            if node.level == "goal" and node.code == code:
                return f"SDG {code}: {node.labels.get('en', node.name)}"
    if scheme == "pathway":
        from citybridge.model.taxonomy import PATHWAYS

        for node in PATHWAYS:
            if node.code == code:
                return node.name
    if scheme == "programme":
        from citybridge.ingest.cordis import PROGRAMME_PARTS

        return f"H2020 {code}: {PROGRAMME_PARTS.get(code, code)}"
    if scheme == "kw":
        return code
    return theme


def _check_theme(theme: str | None) -> None:
    if theme is not None and theme.partition(":")[0] not in SCHEMES or theme == "":
        raise Invalid(f"unknown theme '{theme}': write scheme:code with scheme one of {', '.join(SCHEMES)} "
                      "(e.g. sdg:11, programme:SC5)", field="theme")


def _norm_theme(theme: str | None) -> str | None:
    """A keyword theme compared case-insensitively (``kw:Energy  Communities`` -> ``kw:energy communities``)."""
    if theme is not None and theme.startswith("kw:"):
        from citybridge.analyze.activity import keyword_theme

        return keyword_theme(theme[3:])
    return theme


def _by_year(acts: Activities, series: list[dict[str, Any]], span: tuple[int, int] | None) -> None:
    """Add ``records_by_year`` to each trend series: ``{side: {year: ids}}`` (at most EVIDENCE_BY_YEAR per
    year, sorted), the records behind each point of the trend chart."""
    if not series or span is None:
        return
    wanted = {s["theme"]: s for s in series}
    years = acts.years()
    out: dict[str, dict[str, dict[str, list[str]]]] = {th: {"supply": {}, "demand": {}} for th in wanted}
    for i, ths in enumerate(acts.act_themes):
        side, yr = acts.act_side[i], int(years[i])
        if side not in ("supply", "demand") or not span[0] <= yr <= span[1]:
            continue
        for th in ths:
            if th in wanted:
                ids = out[th][side].setdefault(str(yr), [])
                if len(ids) < EVIDENCE_BY_YEAR:
                    ids.append(acts.act_ids[i])
    for th, s in wanted.items():
        s["records_by_year"] = out[th]


EVIDENCE_BY_YEAR = 50


def _words(text: str) -> list[str]:
    """Whole words, case- and accent-folded, each in a singular form (``communities`` -> ``community``)."""
    import re

    from citybridge.search.analysis import fold_accents

    out = []
    for w in re.findall(r"[^\W_]+", fold_accents(text.casefold())):
        if len(w) > 4 and w.endswith("ies"):
            w = w[:-3] + "y"
        elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


def _has_run(terms: list[str], want: list[str]) -> bool:
    """Whether ``want`` occurs in ``terms`` as consecutive items."""
    m = len(want)
    first = want[0]
    return any(terms[i] == first and terms[i:i + m] == want for i in range(len(terms) - m + 1))


def _check_scheme(scheme: str | None) -> None:
    if scheme is not None and scheme not in SCHEMES:
        raise Invalid(f"unknown theme scheme '{scheme}' (one of: {', '.join(SCHEMES)})", field="scheme")


def _check_years(year_from: int | None, year_to: int | None) -> None:
    for name, v in (("year_from", year_from), ("year_to", year_to)):
        if v is not None and not 1000 <= v <= 2200:
            raise Invalid(f"{name} must be a year between 1000 and 2200", field=name)
    if year_from is not None and year_to is not None and year_from > year_to:
        raise Invalid("year_from is after year_to", field="year_from")


def _check_series_args(scheme: str | None, themes: list[str] | None, year_from: int | None, year_to: int | None,
                       top: int) -> list[str] | None:
    """Validate the arguments :meth:`AnalyticsMixin.trends` and :meth:`AnalyticsMixin.gaps` share; returns the
    themes normalised and deduplicated (None or empty as given)."""
    _check_scheme(scheme)
    for th in themes or []:
        _check_theme(th)
    _check_years(year_from, year_to)
    if not 1 <= top <= 500:
        raise Invalid("top must be between 1 and 500", field="top")
    return [th for th in dict.fromkeys(_norm_theme(th) for th in themes) if th] if themes else themes

#: bump when how a keyword theme's records are found changes (cached results are then stale; kept apart from
#: :data:`citybridge.analyze.cache.VERSION` so the two change independently)
KEYWORD_METHOD = 1


class AnalyticsMixin:
    """Network metrics, trends and gaps. Mixed into :class:`citybridge.hub.Hub`."""

    store: Store
    settings: Settings

    def _analytics(self, fn: str, caller: Caller | None, params: dict[str, Any], compute: Any) -> dict[str, Any]:
        from citybridge.analyze.cache import AnalyticsCache, caller_key, store_fingerprint

        caller = caller or CURATOR
        fp = store_fingerprint(self.store)
        # the keyword method's version is part of the key (keyword themes, trend records per year)
        key = {"fn": fn, "caller": caller_key(caller), **params, "keyword_method": KEYWORD_METHOD}
        cache = AnalyticsCache(self.settings.data_dir / "analytics")
        phrases = [th for th in [params.get("theme"), *(params.get("themes") or [])] if th and th.startswith("kw:")]
        return cache.get(key, fp, lambda: compute(self._with_phrases(
            self._activities(caller, params.get("level", "organization"), fp), phrases, caller)))

    def _with_phrases(self, acts: Activities, themes: list[str], caller: Caller) -> Activities:
        """The table with each keyword theme ``kw:<phrase>`` also on the records that contain the phrase.

        A keyword theme holds the records annotated with that keyword (compared case-insensitively, see
        :func:`citybridge.analyze.activity.keyword_theme`) and the records whose title or text contains the
        phrase as whole words (the search index's phrase query: case- and accent-insensitive, stemmed, on what
        ``caller`` may see). The cached base table is not changed; a copy carries the added themes."""
        import dataclasses

        from citybridge.analyze.activity import keyword_theme

        if not themes or acts.n_acts == 0:
            return acts
        index = {aid: i for i, aid in enumerate(acts.act_ids)}
        added: dict[int, set[str]] = {}
        for theme in dict.fromkeys(themes):
            phrase = " ".join(theme[3:].replace('"', " ").split())
            if not phrase:
                continue
            for rid in self._phrase_records(phrase, caller):
                i = index.get(rid)
                if i is not None:
                    added.setdefault(i, set()).add(keyword_theme(phrase))
        if not added:
            return acts
        act_themes = [tuple(sorted(set(ths) | added[i])) if i in added else ths
                      for i, ths in enumerate(acts.act_themes)]
        return dataclasses.replace(acts, act_themes=act_themes)

    def _phrase_records(self, phrase: str, caller: Caller) -> list[str]:
        """Ids of the records containing ``phrase`` that ``caller`` may see: the search index's phrase query
        finds the candidates (stemmed: ``urban heat`` finds ``urban heating`` too); each is kept when its
        title, description, full text or one of its tags or aliases holds the phrase's words in a row, as
        whole words in any case and accents, the last one singular or plural (``energy community`` for
        ``energy communities``). The index joins a record's keywords into one field, where two neighbouring
        keywords could make a phrase the record does not contain; tags are checked one by one here."""
        from citybridge.errors import Unavailable

        try:
            found = self.searcher.matching(f'"{phrase}"', caller=caller)  # type: ignore[attr-defined]
        except Unavailable:  # no search index can be built here: the keyword annotations alone
            return []
        want = _words(phrase)
        if not want:
            return []
        keep = []
        for rid, rec in sorted(self.store.get_many(sorted(found)).items()):
            texts = [rec.name, rec.description or "", getattr(rec, "body", None) or "", *rec.tags,
                     *(getattr(rec, "aliases", None) or [])]
            if any(_has_run(_words(text), want) for text in texts if text):
                keep.append(rid)
        return keep

    def _activities(self, caller: Caller, level: str, fingerprint: str) -> Activities:
        from citybridge.analyze.activity import activities_from_store
        from citybridge.analyze.cache import caller_key

        memo: dict[tuple[str, str, str], Activities] = self.__dict__.setdefault("_activities_memo", {})
        key = (fingerprint, caller_key(caller), level)
        if key not in memo:
            memo.clear()  # one store state at a time
            memo[key] = activities_from_store(self.store, caller, level=level)
        return memo[key]

    def network_metrics(self, *, theme: str | None = None, level: str = "organization", year_from: int | None = None,
                        year_to: int | None = None, top: int = 20, graph_nodes: int = 60,
                        caller: Caller | None = None) -> NetworkMetrics:
        """Who is central, excellent, a broker or a pioneer in a theme's collaboration network (or the
        whole network when ``theme`` is None), from what ``caller`` may see (None: the local CLI, all).

        Args:
            theme: ``sdg:11``, ``pathway:<code>``, ``programme:SC5`` or ``kw:<phrase>``.
            level: nodes are ``organization`` (partners in projects), ``person`` (co-authors) or ``city``
                (organisations grouped by the city they are located in).
            year_from, year_to: only activities of these years (inclusive).
            top: length of each ranking; graph_nodes: size of the drawable subgraph.

        Returns a :class:`NetworkMetrics` dict; each ranked agent carries ``records``, the ids of the
        activities behind its figures. Methods: :mod:`citybridge.analyze.graph`, :mod:`~.excellence`.

        >>> hub.network_metrics(theme="sdg:11")["brokers"][0]["name"]   # doctest: +SKIP
        'Lisbon City Council'
        """
        from citybridge.analyze.activity import LEVELS
        from citybridge.analyze.excellence import analyse

        _check_theme(theme)
        theme = _norm_theme(theme)
        _check_years(year_from, year_to)
        if level not in LEVELS:
            raise Invalid(f"unknown network level '{level}' (one of: {', '.join(LEVELS)})", field="level")
        if not 1 <= top <= 500:
            raise Invalid("top must be between 1 and 500", field="top")
        if not 2 <= graph_nodes <= 400:
            raise Invalid("graph_nodes must be between 2 and 400", field="graph_nodes")
        params = {"theme": theme, "level": level, "years": [year_from, year_to], "top": top,
                  "graph_nodes": graph_nodes}

        def compute(acts: Activities) -> dict[str, Any]:
            out = analyse(acts, theme=theme, years=(year_from, year_to), top=top, graph_nodes=graph_nodes)
            return {"theme": theme, "theme_name": theme_name(theme), "level": level, **out}

        return self._analytics("network", caller, params, compute)  # type: ignore[return-value]

    def trends(self, *, scheme: str | None = None, themes: list[str] | None = None, year_from: int | None = None,
               year_to: int | None = None, top: int = 30, caller: Caller | None = None) -> Trends:
        """Theme volumes per year for supply (research, projects) and demand (calls, news, policies and
        plans, members' challenges), with growth, Kleinberg bursts, rising flags and emerging themes
        (rising demand, thin supply), each with the records behind it.

        Args:
            scheme: only themes of this scheme (``sdg``, ``pathway``, ``programme``, ``kw``).
            themes: only these themes.
            year_from, year_to: the years of the series (default: all years with records).
            top: number of series returned (emerging first).

        Returns a :class:`Trends` dict. Method: :mod:`citybridge.analyze.trends`.
        """
        from citybridge.analyze.trends import trends

        themes = _check_series_args(scheme, themes, year_from, year_to, top)
        params = {"scheme": scheme, "themes": sorted(themes or []) or None, "years": [year_from, year_to],
                  "top": top}

        def compute(acts: Activities) -> dict[str, Any]:
            ys = acts.years()
            known = ys[ys > 0]
            span = None
            if len(known):
                span = (year_from or int(known.min()), year_to or int(known.max()))
            out = trends(acts, themes=themes, scheme=scheme, years=span, top=top)
            for s in out["series"]:
                s["theme_name"] = theme_name(s["theme"])
            _by_year(acts, out["series"], span)
            return out

        return self._analytics("trends", caller, params, compute)  # type: ignore[return-value]

    def gaps(self, *, by: str = "region", scheme: str | None = None, themes: list[str] | None = None,
             year_from: int | None = None, year_to: int | None = None, top: int = 20,
             caller: Caller | None = None) -> Gaps:
        """The gap map: theme x region (``by="region"``, UN sub-regions) or theme x country supply against
        demand, the records and experts behind each cell, and the largest gaps with plain-language reasons.

        Returns a :class:`Gaps` dict. Method: :mod:`citybridge.analyze.gaps`.
        """
        from citybridge.analyze.gaps import gap_map

        themes = _check_series_args(scheme, themes, year_from, year_to, top)
        params = {"by": by, "scheme": scheme, "themes": sorted(themes or []) or None, "years": [year_from, year_to],
                  "top": top}

        def compute(acts: Activities) -> dict[str, Any]:
            out = gap_map(acts, by=by, scheme=scheme, themes=themes, years=(year_from, year_to), top=top,
                          namer=theme_name)
            for c in out["cells"]:
                c["theme_name"] = theme_name(c["theme"])
            for c in out["ranked"]:
                c["theme_name"] = theme_name(c["theme"])
            return out

        return self._analytics("gaps", caller, params, compute)  # type: ignore[return-value]


__all__ = ["AnalyticsMixin", "GapCell", "Gaps", "NetworkMetrics", "NodeFigures", "Trends", "TrendSeries"]
