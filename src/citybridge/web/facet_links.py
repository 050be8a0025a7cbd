"""Search-page links: facet values that add or remove a filter, active-filter chips, pages - all kept in the
URL's query string, so every state of the page can be bookmarked, shared and reached with the keyboard."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlencode

from citybridge.model.taxonomy import PATHWAYS, sdg_nodes

Pairs = Sequence[tuple[str, str]]
#: facets in the order the page shows them
FACET_ORDER = ("kind", "sdg", "pathway", "country", "region", "language", "year", "subtype", "source")
#: query parameters that are not filters (kept when a filter changes, except the page)
KEEP = ("q", "per_page", "mode")


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    url: str


@dataclass
class FacetGroup:
    name: str
    title: str
    values: list[FacetValue] = field(default_factory=list)
    more: list[FacetValue] = field(default_factory=list)


def url(pairs: Pairs) -> str:
    return "?" + urlencode(list(pairs)) if pairs else "?"


def without_page(pairs: Pairs) -> list[tuple[str, str]]:
    return [(k, v) for k, v in pairs if k != "page"]


def toggle(pairs: Pairs, name: str, value: str) -> str:
    """The URL with ``name=value`` added, or removed when present (back to page 1). A year sets both ends."""
    base = without_page(pairs)
    if name == "year":
        chosen = ("year_from", value) in base and ("year_to", value) in base
        base = [(k, v) for k, v in base if k not in ("year_from", "year_to")]
        return url(base if chosen else [*base, ("year_from", value), ("year_to", value)])
    if (name, value) in base:
        return url([p for p in base if p != (name, value)])
    return url([*base, (name, value)])


def remove(pairs: Pairs, name: str, value: str) -> str:
    return url([p for p in without_page(pairs) if p != (name, value)])


def clear_filters(pairs: Pairs) -> str:
    return url([(k, v) for k, v in pairs if k in KEEP])


def page_url(pairs: Pairs, page: int) -> str:
    base = without_page(pairs)
    return url(base if page == 1 else [*base, ("page", str(page))])


@lru_cache(maxsize=1)
def theme_names() -> dict[str, dict[str, str]]:
    sdg = {n.code: n.name for n in sdg_nodes() if n.level == "goal"}
    return {"sdg": sdg, "pathway": {p.code: p.name for p in PATHWAYS}}


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    try:
        from citybridge.enrich.gazetteer import load_gazetteer

        return {code: info.name for code, info in load_gazetteer().countries.items()}
    except Exception:  # pragma: no cover - the gazetteer ships with the package
        return {}


@lru_cache(maxsize=1)
def tag_names() -> dict[str, str]:
    """``sdg:11`` -> "SDG 11: ...", ``pathway:circular`` -> "Circular development", for result tags."""
    names = theme_names()
    return {f"{scheme}:{code}": name for scheme, table in names.items() for code, name in table.items()}


def label(name: str, value: str, _: Callable[..., str]) -> str:
    """How a facet value reads on the page (names for kinds, SDGs, pathways, countries and languages)."""
    if name == "kind":
        return _(f"kinds.{value}")
    if name in ("sdg", "pathway"):
        return theme_names()[name].get(value, value)
    if name == "country":
        country = country_names().get(value)
        return f"{country} ({value})" if country else value
    if name == "language":
        key = f"language.{value}"
        text = _(key)
        return value if text == key else text
    if name == "subtype":
        return value.replace("_", " ")
    return value


def groups(counts: dict[str, dict[str, int]], pairs: Pairs, _: Callable[..., str], *, shown: int = 8,
           most: int = 20) -> list[FacetGroup]:
    """Facet groups for the page: the first ``shown`` values, then up to ``most`` behind a "more" toggle.
    A selected value is always listed, even with no count."""
    active = set(pairs)
    out = []
    for name in FACET_ORDER:
        values = dict(counts.get(name) or {})
        if name == "year":  # newest first, not most frequent first
            values = dict(sorted(values.items(), key=lambda kv: kv[0], reverse=True))
        selected = {v for k, v in active if k == name}
        if name == "year":
            years = {v for k, v in active if k == "year_from"} & {v for k, v in active if k == "year_to"}
            selected = years
        for v in selected:
            values.setdefault(v, 0)
        if not values:
            continue
        group = FacetGroup(name, _(f"search.facet.{name}"))
        ordered = sorted(values.items(), key=lambda kv: kv[0] not in selected)  # stable: selected first
        for i, (value, n) in enumerate(ordered[:most]):
            item = FacetValue(value, label(name, value, _), n, value in selected, toggle(pairs, name, value))
            (group.values if i < shown or item.selected else group.more).append(item)
        out.append(group)
    return out


def chips(pairs: Pairs, _: Callable[..., str]) -> list[tuple[str, str]]:
    """(text, removal URL) for every active filter."""
    out = []
    for name, value in pairs:
        if name in KEEP or name == "page":
            continue
        facet = {"year_from": "year", "year_to": "year"}.get(name, name)
        text = f"{_(f'search.filter.{name}')}: {label(facet, value, _)}"
        out.append((text, remove(pairs, name, value)))
    return out
