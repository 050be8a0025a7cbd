"""Place mentions in free text: find city, region and country names and link each to the gazetteer.

Matching is case-sensitive on capitalised words and insensitive to accents ("Sao Paulo" finds São Paulo),
longest name first ("Mexico City" before "Mexico"). Each mention is then linked to one gazetteer entry:
a population prior, qualifiers written next to the name ("Paris, Texas"; "Córdoba, Spain"; "Portland, OR"),
other countries named in the same sentence (strong evidence) or elsewhere in the text (weak: it does not turn
Perth, Australia into Perth, Scotland because the United Kingdom is named two sentences later), and the
location of the organisation the text belongs to. A city beats a region named after it ("Oaxaca") and a
city-state's country reading ("Singapore") unless the text says region or speaks of the nation.
Names that are also ordinary or function words ("Mobile", "Reading", "Most"), parts of longer proper names
("Paris Agreement", "George Washington") or of compounds ("Holt-Winters", "Multi-objective"), and small or
exonym-only places are linked only when context supports them: a country, a qualifier, or a place cue ("in
Kalundborg", "the municipality of Växjö", "the Zaandam waterfront"). Place names inside the names of a
city's bodies stay places ("New York City Council", "Cape Town Water and Sanitation Department").
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from citybridge.enrich.gazetteer import TOKEN, Gazetteer, GazetteerEntry, fold, load_gazetteer, name_key
from citybridge.enrich.place_cues import (
    CALENDAR,
    CODE_AFTER,
    EPONYM_NOUNS,
    FUNCTION_WORDS,
    HYPHEN_OK,
    LOCATIVE_BEFORE,
    NATIONAL,
    ORG_FOLLOWERS,
    ORG_JOINERS,
    ORG_OF,
    PLACE_NOUNS_AFTER,
    PREV_OK,
    QUAL_GAP,
    REGION_CUES,
    REGION_FOLLOWERS,
    SENTENCE_PUNCT,
    TITLES,
    YEAR_AFTER,
)
from citybridge.model import PlaceType


@dataclass(frozen=True, slots=True)
class PlaceContext:
    """Where the text's owner is: an organisation's or project's own location, any part of it known."""

    country: str | None = None
    region: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None

    @classmethod
    def from_record(cls, record: Any) -> PlaceContext | None:
        """Context from any object with some of ``country``, ``region``, ``city``, ``lat``, ``lon``."""
        values = {k: getattr(record, k, None) for k in ("country", "region", "city", "lat", "lon")}
        return cls(**values) if any(v is not None for v in values.values()) else None


@dataclass(frozen=True, slots=True)
class PlaceMention:
    """A place named in a text: the evidence span and the gazetteer entry it was linked to.

    ``score`` is in 0-1 (how sure the link is); ``reason`` says in words what decided it.
    """

    start: int
    end: int
    surface: str
    place_id: str
    name: str
    place_type: str
    country: str
    score: float
    reason: str


_SENTENCE_BREAK = re.compile("[" + re.escape("".join(SENTENCE_PUNCT)) + "]|\n")
MIN_POPULATION = 100_000  # one-word city names with no supporting context ("Jones", "Cochrane" are towns)
MIN_POPULATION_MULTIWORD = 20_000
MIN_ALIAS_POPULATION = 100_000


@dataclass(slots=True)
class _Span:
    start: int
    end: int
    tok_i: int
    tok_j: int
    hits: list[tuple[GazetteerEntry, bool]]  # (entry, via alias)
    sentence_start: bool
    common: bool
    sentence: int = 0  # index of the sentence the span is in
    region_cue: bool = False
    place_cue: bool = False  # "in X", "the municipality of X", "the X waterfront"
    city_cue: bool = False
    qualified: bool = False
    reason: str = ""


def recognize_places(
    texts: Sequence[str | None],
    context: Sequence[PlaceContext | None] | None = None,
    *,
    min_score: float = 0.3,
    max_chars: int = 200_000,
    gazetteer: Gazetteer | None = None,
) -> list[list[PlaceMention]]:
    """Find and link the places named in each text.

    Args:
        texts: the texts (``None`` gives no mentions).
        context: per text, the location of the organisation or project it belongs to (or ``None``).
        min_score: mentions linked with less confidence are left out.
        max_chars: only the first ``max_chars`` characters of a text are read.
        gazetteer: defaults to the shipped one.

    Returns:
        Per text, its mentions in order of appearance.

    Example:
        >>> [m.country for m in recognize_places(["Paris, Texas is not Paris."])[0]]
        ['US', 'FR']
    """
    gaz = gazetteer or load_gazetteer()
    contexts = list(context) if context is not None else [None] * len(texts)
    if len(contexts) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(contexts)} contexts")
    out = []
    for text, ctx in zip(texts, contexts, strict=True):
        if not isinstance(text, str) or not text.strip():
            out.append([])
            continue
        out.append(_recognize(gaz, text[:max_chars], ctx, min_score))
    return out


def _is_cap(tok: str) -> bool:
    ch = tok[0]
    return ch.isupper() or (ch.isalpha() and not ch.islower())


def _find_spans(gaz: Gazetteer, folded: str) -> tuple[list[_Span], list[tuple[int, int, str]]]:
    tokens = [(m.start(), m.end(), m.group(0)) for m in TOKEN.finditer(folded)]
    # sentence of a span: how many sentence marks and line breaks come before it
    breaks = [m.start() for m in _SENTENCE_BREAK.finditer(folded)]
    spans: list[_Span] = []
    limit = min(gaz.max_tokens, 8)
    i, n = 0, len(tokens)
    while i < n:
        start, end, tok = tokens[i]
        if tok not in gaz.first_tokens or not _is_cap(tok):
            i += 1
            continue
        best: tuple[int, list[tuple[int, bool]]] | None = None
        key = tok
        for j in range(i, min(i + limit, n)):
            if j > i:
                gap = folded[tokens[j - 1][1]:tokens[j][0]]
                if "\n" in gap or len(gap) > 2:
                    break
                key = f"{key}{' ' if gap else ''}{tokens[j][2]}"
            hits = gaz.index.get(key)
            if hits:
                best = (j, hits)
        if best is None:
            i += 1
            continue
        j, hits = best
        prev = tokens[i - 1][2] if i else ""
        sentence_start = i == 0 or prev in SENTENCE_PUNCT or "\n" in folded[tokens[i - 1][1]:start]
        surface_key = folded[start:tokens[j][1]]
        entries = [(gaz.entries[k], alias) for k, alias in hits]
        # a one-word name that is an everyday word ("Mobile") or an English function word ("Most", "Can")
        common = i == j and (name_key(surface_key) in gaz.common_words or surface_key.casefold() in FUNCTION_WORDS)
        spans.append(_Span(start, tokens[j][1], i, j, entries, sentence_start, common, bisect_right(breaks, start)))
        i = j + 1
    return spans, tokens


def _fits(a: _Span, b: _Span) -> bool:
    """Can ``b`` qualify ``a`` ("Lisbon Portugal")?"""
    return any(_consistent(x, y) for x, _ in a.hits for y, _ in b.hits)


def _keep_span(
    sp: _Span,
    tokens: list[tuple[int, int, str]],
    folded: str,
    by_first: dict[int, _Span],
    by_last: dict[int, _Span],
) -> bool:
    """False for spans that are most likely not places: parts of longer names, people, eponyms."""
    i, j = sp.tok_i, sp.tok_j
    surface = folded[sp.start:sp.end]
    any_country = any(e.place_type == PlaceType.country for e, _ in sp.hits)
    if len(surface) < 3 and not any_country:
        return False
    if not any_country:
        if surface in CALENDAR or YEAR_AFTER.match(folded[sp.end:sp.end + 12]):
            return False  # "August", "(Sovacool and Rafey, 2011)", "Moon (1980)"
        if sp.start >= 2 and folded[sp.start - 1] == "-" and folded[sp.start - 2].isalpha() and (
            i < 2 or by_last.get(i - 2) is None
        ):
            return False  # "Griffith-Jones", but "Dallas-Fort Worth"
    # a country written as an acronym or in several words stays a country before another capitalised word
    # ("UK National Institute", "United States Census Bureau")
    country_name = any_country and (surface.isupper() or " " in surface)
    org_of = bool(ORG_OF.search(folded[max(0, sp.start - 40):sp.start]))
    nxt = tokens[j + 1] if j + 1 < len(tokens) else None
    if nxt is not None and nxt[2] == "-" and nxt[0] == sp.end and j + 2 < len(tokens) and not any_country:
        part_start, _, part = tokens[j + 2]
        if part_start == nxt[1]:  # a compound: "Holt-Winters", "Multi-objective", but "Paris-based"
            if _is_cap(part) and part[0].isalpha() and by_first.get(j + 2) is None:
                return False
            if not _is_cap(part) and part.casefold() not in HYPHEN_OK:
                return False
    if nxt is not None and folded[sp.end:nxt[0]] == " " and nxt[2] in PLACE_NOUNS_AFTER:
        sp.place_cue = True
    in_institution = nxt is not None and (nxt[2] in ORG_FOLLOWERS or _org_ahead(tokens, j + 1, folded))
    if nxt is not None and nxt[0] - sp.end in (0, 1) and nxt[0] > sp.end - 1:
        word = nxt[2]
        gap = folded[sp.end:nxt[0]]
        if gap == " " and _is_cap(word) and word[0].isalpha() and not country_name and not org_of:
            follower = by_first.get(j + 1)
            if follower is not None and not follower.common and word not in ORG_FOLLOWERS:
                if not _fits(sp, follower):
                    return False  # "George Washington"
            elif word not in ORG_FOLLOWERS and not _org_ahead(tokens, j + 1, folded):
                return False  # "Paris Agreement", "Hamilton Depression Rating Scale"
            sp.region_cue = word in REGION_FOLLOWERS
            sp.city_cue = word == "City"
        elif gap == " " and word.capitalize() in REGION_FOLLOWERS:
            sp.region_cue = True  # "São Paulo state"
        if word == "et" and j + 2 < len(tokens) and tokens[j + 2][2] == "al":
            return False
        possessive = word == "'" and j + 3 < len(tokens) and tokens[j + 2][2] == "s"
        if possessive and tokens[j + 3][2] in EPONYM_NOUNS:
            return False  # "Wilson's disease"
    if i > 0:
        prev_end = tokens[i - 1][1]
        prev = tokens[i - 1][2]
        if folded[prev_end:sp.start] == " " and _is_cap(prev) and prev[0].isalpha():
            prev_sentence_start = i - 1 == 0 or tokens[i - 2][2] in SENTENCE_PUNCT
            leader = by_last.get(i - 1)
            if leader is not None and not leader.common:
                if not _fits(leader, sp):
                    return False  # "George Washington"
            elif prev in TITLES or (
                prev not in PREV_OK and not prev_sentence_start and not (prev.isupper() and len(prev) > 1)
            ):
                return False  # "Lake Victoria", "President Lincoln"
        if prev == "." and i >= 2 and len(tokens[i - 2][2]) == 1 and tokens[i - 2][2].isupper():
            return False  # "J. Paris"
        before = folded[max(0, sp.start - 40):sp.start]
        sp.region_cue = sp.region_cue or bool(REGION_CUES.search(before))
        # "at Stanford University": the cue is about the institution, not the place
        sp.place_cue = sp.place_cue or (bool(LOCATIVE_BEFORE.search(before)) and not in_institution)
    return True


def _org_ahead(tokens: list[tuple[int, int, str]], k: int, folded: str) -> bool:
    """Is the capitalised run starting at token ``k`` an institution's name ("Jiaotong University", "People's
    Committee", "Water and Sanitation Department")?"""
    n, words = k, 0
    while n < len(tokens) and words < 4:
        word = tokens[n][2]
        if n > k and len(folded[tokens[n - 1][1]:tokens[n][0]]) > 1:
            return False
        if n > k and word.casefold() in ORG_JOINERS:
            n += 1
            continue
        if not (_is_cap(word) and word[0].isalpha()):
            return False
        if word in ORG_FOLLOWERS:
            return True
        words += 1
        n += 1
    return False


def _consistent(a: GazetteerEntry, q: GazetteerEntry) -> bool:
    """Can qualifier ``q`` (written after ``a``: "a, q") contain ``a``?"""
    if q.place_type == PlaceType.country:
        return a.country == q.country and a.place_type != PlaceType.country
    if q.place_type == PlaceType.region:
        return a.country == q.country and a.place_type == PlaceType.city and a.admin1 == q.name
    return False


def _apply_qualifiers(gaz: Gazetteer, spans: list[_Span], folded: str) -> None:
    """Resolve "City, Region, Country" chains jointly: keep only the readings that fit together."""
    for k, sp in enumerate(spans):
        quals: list[list[tuple[GazetteerEntry, bool]]] = []
        labels: list[str] = []
        cursor = sp.end
        for nxt in spans[k + 1:k + 3]:
            if not QUAL_GAP.match(folded[cursor:nxt.start]):
                break
            quals.append(nxt.hits)
            labels.append(folded[nxt.start:nxt.end])
            cursor = nxt.end
        code = CODE_AFTER.match(folded[sp.end:])
        if code and code.group(1) in gaz.admin_codes:
            iso2, region = gaz.admin_codes[code.group(1)]
            entry = gaz.region_entry.get((iso2, region))
            if entry is not None:
                quals.insert(0, [(entry, False)])
                labels.insert(0, code.group(1))
        if not quals:
            continue
        kept = [(e, alias) for e, alias in sp.hits
                if all(any(_consistent(e, q) for q, _ in qual) for qual in quals)]
        if not kept:
            continue
        sp.hits = kept
        sp.qualified = True
        sp.reason = f"qualified by {', '.join(repr(label) for label in labels)}"
        # the qualifiers themselves: keep their readings that contain one of ours
        for nxt in spans[k + 1:k + 1 + len(quals)]:
            narrowed = [(q, alias) for q, alias in nxt.hits if any(_consistent(e, q) for e, _ in kept)]
            if narrowed:
                nxt.hits = narrowed
                nxt.qualified = True


def _same(a: str, b: str) -> bool:
    return name_key(a).casefold() == name_key(b).casefold()


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12742.0 * math.asin(min(1.0, math.sqrt(h)))


def _sentence_text(folded: str, tokens: list[tuple[int, int, str]], sp: _Span) -> str:
    """The text of the sentence a span is in (from the previous to the next sentence punctuation)."""
    start = next((tokens[k][1] for k in range(sp.tok_i - 1, -1, -1) if tokens[k][2] in SENTENCE_PUNCT), 0)
    end = next((tokens[k][0] for k in range(sp.tok_j + 1, len(tokens)) if tokens[k][2] in SENTENCE_PUNCT),
               len(folded))
    return folded[start:end]


def _standalone(sp: _Span) -> bool:
    """Does a reading of the name pass the population floor on its own (or name a region or country)?"""
    floor = MIN_POPULATION if sp.tok_i == sp.tok_j else MIN_POPULATION_MULTIWORD
    return any(e.place_type != PlaceType.city or e.weight >= floor for e, _ in sp.hits)


def _credible(sp: _Span) -> bool:
    """Does the mention stand on its own (may it pin its country for the others)?"""
    return sp.qualified or _standalone(sp) or (
        sp.place_cue and any(e.weight >= MIN_POPULATION_MULTIWORD for e, _ in sp.hits))


def _context_support(gaz: Gazetteer, ctx: PlaceContext, ctx_country: str | None, e: GazetteerEntry, s: float,
                     supported: bool, why: list[str]) -> tuple[float, bool]:
    """Score and support of a reading from the location of the text's owner."""
    if ctx_country and e.country == ctx_country:
        s += 2.0
        supported = True
        why.append("organisation's country")
    if ctx.region and e.admin1 and _same(ctx.region, e.admin1):
        s += 1.0
    if ctx.city and e.place_type == PlaceType.city and name_key(ctx.city).casefold() in {
        name_key(e.name).casefold(), name_key(e.ascii_name or e.name).casefold()
    }:
        s += 2.0
        supported = True
        why.append("organisation's city")
    if ctx.lat is not None and ctx.lon is not None and e.lat is not None and e.lon is not None:
        d = _distance_km(ctx.lat, ctx.lon, e.lat, e.lon)
        if d < 300:
            s += 3.0 * math.exp(-d / 150)
            supported = True
            why.append(f"{d:.0f} km from the organisation")
    return s, supported


def _recognize(gaz: Gazetteer, text: str, ctx: PlaceContext | None, min_score: float) -> list[PlaceMention]:
    folded = fold(text)
    spans, tokens = _find_spans(gaz, folded)
    if not spans:
        return []
    by_first = {sp.tok_i: sp for sp in spans}
    by_last = {sp.tok_j: sp for sp in spans}
    spans = [sp for sp in spans if _keep_span(sp, tokens, folded, by_first, by_last)]
    _apply_qualifiers(gaz, spans, folded)

    ctx_country = gaz.resolve_country(ctx.country) if ctx else None
    # countries the text itself pins down: every reading of a credible mention lies in one country
    pinned: dict[str, list[tuple[str, int]]] = {}  # country -> (name, sentence) of the mentions that pin it
    for sp in spans:
        countries = {e.country for e, _ in sp.hits}
        if len(countries) == 1 and not sp.common and _credible(sp):
            pinned.setdefault(next(iter(countries)), []).append((name_key(folded[sp.start:sp.end]), sp.sentence))
    regions_named: dict[tuple[str, str], set[int]] = {}
    for idx, sp in enumerate(spans):
        for e, _ in sp.hits:
            if e.place_type == PlaceType.region:
                regions_named.setdefault((e.country, e.name), set()).add(idx)

    mentions: list[PlaceMention] = []
    for idx, sp in enumerate(spans):
        surface_key = name_key(folded[sp.start:sp.end])
        twins_of: dict[str, list[tuple[GazetteerEntry, bool]]] = {}  # cities of the name, by country
        for e, alias in sp.hits:
            if e.place_type == PlaceType.city:
                twins_of.setdefault(e.country, []).append((e, alias))
        region_countries = {e.country for e, _ in sp.hits if e.place_type == PlaceType.region}
        standalone = _standalone(sp)
        scored: list[tuple[float, GazetteerEntry, list[str]]] = []
        for e, alias in sp.hits:
            s = math.log10(max(e.weight, 1000))
            why: list[str] = []
            # a place cue vouches for a town, not for a hamlet whose name is also a word ("the Alpine region")
            supported = sp.qualified or (sp.place_cue and not sp.common and e.weight >= MIN_POPULATION_MULTIWORD)
            twins = twins_of.get(e.country, ())  # "São Paulo", "Oaxaca", "Singapore"
            if e.place_type == PlaceType.country:
                # a city-state's name is the city ("Singapore's drains") unless its sentence speaks of nations
                if not any(c.weight >= 0.9 * e.weight for c, _ in twins) or NATIONAL.search(
                    _sentence_text(folded, tokens, sp)
                ):
                    s += 2.0
            elif e.place_type == PlaceType.region and twins:
                # the city unless the text says region; more so when the region is named after the city
                s -= 1.5 if any(c.admin1 == e.name and not a for c, a in twins) else 1.0
            if sp.region_cue and e.place_type == PlaceType.region:
                s += 3.0
                why.append("named as a region")
            if sp.city_cue and e.place_type == PlaceType.city:
                s += 1.5
            if alias:
                s -= 0.4
            others = [sent for name, sent in pinned.get(e.country, ()) if name != surface_key]
            if sp.sentence in others:
                s += 2.5
                supported = True
                why.append(f"{e.country} named in the sentence")
            elif others:
                # a country named in another sentence is weaker evidence than a big namesake's size: it
                # vouches for a small place only when no reading of the name stands on its own
                s += 1.0
                supported = supported or not standalone
                why.append(f"{e.country} named in the text")
            region_idx = regions_named.get((e.country, e.admin1 or ""), set())
            if e.place_type == PlaceType.city and region_idx - {idx}:
                s += 1.0
                supported = True
            if ctx is not None:
                s, supported = _context_support(gaz, ctx, ctx_country, e, s, supported, why)
            if not supported:
                if sp.common and e.place_type != PlaceType.country:
                    continue
                floor = MIN_POPULATION if sp.tok_i == sp.tok_j else MIN_POPULATION_MULTIWORD
                if e.place_type == PlaceType.city and e.weight < floor and e.country not in region_countries:
                    continue
                if alias and e.weight < MIN_ALIAS_POPULATION:
                    continue
            if sp.common and sp.sentence_start and not sp.qualified:
                continue
            scored.append((s, e, why))
        if not scored:
            continue
        scored.sort(key=lambda t: -t[0])
        top = scored[0][0]
        z = sum(math.exp(s - top) for s, _, _ in scored)
        best_s, best, why = scored[0]
        via_alias = any(alias for e, alias in sp.hits if e is best)
        quality = 0.95 * (0.85 if sp.common else 1.0) * (0.9 if via_alias else 1.0)
        score = round(quality / z, 3)
        if score < min_score:
            continue
        reasons = [r for r in (sp.reason, *why) if r]
        if len(scored) > 1 and not reasons:
            reasons.append(f"largest of {len(scored)} places of that name")
        elif not reasons:
            reasons.append("only place of that name")
        mentions.append(PlaceMention(
            start=sp.start, end=sp.end, surface=text[sp.start:sp.end], place_id=best.id, name=best.name,
            place_type=best.place_type.value, country=best.country, score=score, reason="; ".join(reasons),
        ))
    return mentions
