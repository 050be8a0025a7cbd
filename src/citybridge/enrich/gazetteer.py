"""The gazetteer: cities, first-level regions and countries shipped inside the package.

Built by ``scripts/build_gazetteer_data.py`` from the SimpleMaps Basic World Cities Database (CC BY 4.0),
GeoNames exonyms (CC BY 4.0), Unicode CLDR country names and the UN M49 regions; see ``data/SOURCES.md``.
Ids are stable across machines: ``derive_id("place", "simplemaps:<id>")`` for a city,
``derive_id("place", "iso:<ISO2>")`` for a country and ``derive_id("place", "region:<ISO2>:<admin name>")``
for a region.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from citybridge.errors import Invalid
from citybridge.model import Place, PlaceType, Provenance, derive_id

FORMAT = "citybridge-gazetteer 1"
SOURCE_CREDIT = "SimpleMaps.com World Cities Database (Basic), CC BY 4.0"

_FOLD_CACHE: dict[str, str] = {}
_SPACES = re.compile(r"\s+")


def fold_char(ch: str) -> str:
    """One character without its accents, when that stays one character ('é' -> 'e', 'ß' stays)."""
    out = _FOLD_CACHE.get(ch)
    if out is None:
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out = base if len(base) == 1 else ch
        if out in "’`´‘":
            out = "'"
        _FOLD_CACHE[ch] = out
    return out


def fold(text: str) -> str:
    """Text without accents, character for character: offsets into the folded text hold for the original."""
    if text.isascii():
        return text
    return "".join(fold_char(c) for c in text)


def name_key(name: str) -> str:
    """The index key of a name: accents folded, apostrophes unified, whitespace collapsed; case is kept."""
    return _SPACES.sub(" ", fold(name).strip())


@dataclass(frozen=True, slots=True)
class GazetteerEntry:
    """One place of the gazetteer.

    ``weight`` is the population used as a prior when a name is ambiguous: the city's population, the
    country's, or for a region the summed population of its cities in the database.
    """

    id: str
    key: str
    place_type: PlaceType
    name: str
    country: str
    admin1: str | None = None
    ascii_name: str | None = None
    lat: float | None = None
    lon: float | None = None
    population: int | None = None
    weight: int = 0
    capital: str | None = None
    aliases: tuple[str, ...] = ()
    source_id: str | None = None


@dataclass(frozen=True, slots=True)
class CountryInfo:
    iso2: str
    iso3: str
    name: str
    un_region: str
    un_subregion: str
    un_intermediate: str
    names: tuple[str, ...]


@dataclass(slots=True)
class Gazetteer:
    """In-memory gazetteer with a case-sensitive, accent-insensitive name index.

    Load it with :func:`load_gazetteer` (cached: one copy per process).
    """

    entries: list[GazetteerEntry]
    countries: dict[str, CountryInfo]
    admin_codes: dict[str, tuple[str, str]]  # "TX" -> ("US", "Texas")
    common_words: frozenset[str]
    #: name key -> (entry index, matched through an exonym/alias)
    index: dict[str, list[tuple[int, bool]]] = field(default_factory=dict)
    by_id: dict[str, GazetteerEntry] = field(default_factory=dict)
    country_entry: dict[str, GazetteerEntry] = field(default_factory=dict)
    region_entry: dict[tuple[str, str], GazetteerEntry] = field(default_factory=dict)
    first_tokens: frozenset[str] = frozenset()
    max_tokens: int = 1
    _lower_index: dict[str, list[int]] | None = None

    def lookup(self, name: str) -> list[GazetteerEntry]:
        """Entries whose name, ascii name or alias is ``name`` (accents and case as in ``name_key``)."""
        return [self.entries[i] for i, _ in self.index.get(name_key(name), ())]

    def lookup_any_case(self, name: str) -> list[GazetteerEntry]:
        """Like :meth:`lookup` but case-insensitive (for form fields such as a city column)."""
        if self._lower_index is None:
            lower: dict[str, list[int]] = defaultdict(list)
            for key, hits in self.index.items():
                for i, _ in hits:
                    lower[key.casefold()].append(i)
            self._lower_index = dict(lower)
        return [self.entries[i] for i in dict.fromkeys(self._lower_index.get(name_key(name).casefold(), ()))]

    def resolve_country(self, value: str | None) -> str | None:
        """ISO2 code of a country given as ISO2, ISO3 or a name in one of the shipped languages."""
        if not value or not value.strip():
            return None
        text = value.strip()
        if len(text) == 2 and text.upper() in self.countries:
            return text.upper()
        if len(text) == 3 and text.isalpha():
            for info in self.countries.values():
                if info.iso3 == text.upper():
                    return info.iso2
        for entry in self.lookup_any_case(text):
            if entry.place_type == PlaceType.country:
                return entry.country
        return None

    def un_region(self, iso2: str | None) -> str | None:
        info = self.countries.get(iso2 or "")
        return info.un_subregion or None if info else None

    def place_records(self) -> Iterator[Place]:
        """Every entry as a :class:`citybridge.model.Place` record (countries, regions, then cities)."""
        order = {PlaceType.country: 0, PlaceType.region: 1, PlaceType.city: 2}
        for entry in sorted(self.entries, key=lambda e: order[e.place_type]):
            yield self._record(entry)

    def _record(self, e: GazetteerEntry) -> Place:
        info = self.countries.get(e.country)
        if e.place_type == PlaceType.city:
            ext = {"simplemaps": e.source_id or ""}
        elif e.place_type == PlaceType.country:
            ext = {"iso": e.country}
        else:
            ext = {}
        attributes: dict[str, object] = {"gazetteer_key": e.key}
        if info:
            attributes.update(un_macro_region=info.un_region, un_intermediate_region=info.un_intermediate)
            if e.place_type == PlaceType.country:
                attributes["iso3"] = info.iso3
        if e.aliases:
            attributes["aliases"] = list(e.aliases)
        attributes = {k: v for k, v in attributes.items() if v}
        return Place(
            id=e.id,
            name=e.name,
            place_type=e.place_type,
            country=e.country if len(e.country) == 2 else None,
            admin1=e.admin1,
            lat=e.lat,
            lon=e.lon,
            population=e.population,
            un_region=info.un_subregion or None if info else None,
            capital=e.capital,
            ascii_name=e.ascii_name,
            external_ids=ext,
            attributes=attributes,
            provenance=[Provenance(source="gazetteer", record_id=e.key, licence="CC BY 4.0",
                                   url="https://simplemaps.com/data/world-cities")],
        )


def _data(name: str) -> bytes:
    return resources.files("citybridge.enrich").joinpath("data", name).read_bytes()


def _rows(text: str, kind: str) -> list[list[str]]:
    lines = text.splitlines()
    if not lines or not lines[0].startswith(f"#{FORMAT} {kind}"):
        raise Invalid(f"gazetteer file for {kind} has an unknown format (expected '{FORMAT}'); "
                      "rebuild it with scripts/build_gazetteer_data.py", where="citybridge/enrich/data")
    return list(csv.reader(io.StringIO("\n".join(lines[1:])), delimiter="\t"))


def _int(v: str) -> int | None:
    return int(float(v)) if v else None


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """The shipped gazetteer, loaded once per process (about half a second)."""
    countries: dict[str, CountryInfo] = {}
    country_pop: dict[str, int | None] = {}
    rows = _rows(_data("countries.tsv").decode("utf-8"), "countries")
    for row in rows[1:]:
        iso2, iso3, name, reg, sub, inter, pop, names = row
        all_names = tuple(n for n in names.split("|") if n)
        countries[iso2] = CountryInfo(iso2, iso3, name, reg, sub, inter, all_names)
        country_pop[iso2] = _int(pop)
    admin_codes: dict[str, tuple[str, str]] = {}
    for row in _rows(_data("admin-codes.tsv").decode("utf-8"), "admin-codes"):
        admin_codes[row[1]] = (row[0], row[2])
    common = frozenset(
        name_key(line) for line in _data("place-words.txt").decode("utf-8").splitlines()[1:] if line.strip()
    )

    entries: list[GazetteerEntry] = []
    region_pop: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    capitals: dict[str, GazetteerEntry] = {}
    city_rows = _rows(gzip.decompress(_data("cities.tsv.gz")).decode("utf-8"), "cities")
    for row in city_rows[1:]:
        sid, city, ascii_name, lat, lng, iso2, admin, capital, pop, aliases = row
        population = _int(pop)
        entry = GazetteerEntry(
            id=derive_id("place", f"simplemaps:{sid}"), key=f"simplemaps:{sid}", place_type=PlaceType.city,
            name=city, ascii_name=ascii_name if ascii_name != city else None, country=iso2,
            admin1=admin or None,
            lat=float(lat), lon=float(lng), population=population, weight=population or 1000,
            capital=capital or None, aliases=tuple(a for a in aliases.split("|") if a), source_id=sid,
        )
        entries.append(entry)
        if capital == "primary" and iso2 not in capitals:
            capitals[iso2] = entry
        if admin:
            acc = region_pop[(iso2, admin)]
            w = float(population or 1000)
            acc[0] += w
            acc[1] += w * entry.lat  # type: ignore[operator]
            acc[2] += w * entry.lon  # type: ignore[operator]
    for (iso2, admin), (w, wlat, wlon, _) in region_pop.items():
        entries.append(GazetteerEntry(
            id=derive_id("place", f"region:{iso2}:{admin}"), key=f"region:{iso2}:{admin}",
            place_type=PlaceType.region, name=admin, ascii_name=_ascii(admin), country=iso2, admin1=admin,
            lat=round(wlat / w, 4), lon=round(wlon / w, 4), weight=int(w),
        ))
    for iso2, info in countries.items():
        cap = capitals.get(iso2)
        entries.append(GazetteerEntry(
            id=derive_id("place", f"iso:{iso2}"), key=f"iso:{iso2}", place_type=PlaceType.country,
            name=info.name, ascii_name=_ascii(info.name), country=iso2,
            lat=cap.lat if cap else None, lon=cap.lon if cap else None,  # the capital, as a map anchor
            population=country_pop.get(iso2), weight=country_pop.get(iso2) or 10_000,
            capital=cap.name if cap else None, aliases=tuple(n for n in info.names if n != info.name),
        ))
    gaz = Gazetteer(entries=entries, countries=countries, admin_codes=admin_codes, common_words=common)
    _index(gaz)
    return gaz


def _ascii(name: str) -> str | None:
    folded = fold(name)
    return folded if folded != name else None


def _variants(name: str) -> set[str]:
    out = {name}
    if name.startswith("Saint "):
        out |= {"St. " + name[6:], "St " + name[6:]}
    elif name.startswith("St. "):
        out |= {"Saint " + name[4:], "St " + name[4:]}
    return out


def _index(gaz: Gazetteer) -> None:
    index: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for i, e in enumerate(gaz.entries):
        gaz.by_id[e.id] = e
        if e.place_type == PlaceType.country:
            gaz.country_entry[e.country] = e
        elif e.place_type == PlaceType.region:
            gaz.region_entry[(e.country, e.name)] = e
        own = {e.name, e.ascii_name or e.name}
        names = [(n, False) for n in own] + [(a, True) for a in e.aliases if a not in own]
        if e.place_type == PlaceType.country:
            # CLDR names in other languages are names, not exonym guesses
            names = [(n, False) for n, _ in names]
        seen: set[str] = set()
        for name, is_alias in names:
            for variant in _variants(name):
                key = name_key(variant)
                if key and key not in seen:
                    seen.add(key)
                    index[key].append((i, is_alias))
    gaz.index = dict(index)
    gaz.first_tokens = frozenset(_first_token(k) for k in gaz.index)
    gaz.max_tokens = max(len(TOKEN.findall(k)) for k in gaz.index)


TOKEN = re.compile(r"\w+|[^\w\s]")


def _first_token(key: str) -> str:
    m = TOKEN.search(key)
    return m.group(0) if m else key


def place_records() -> Iterator[Place]:
    """Every gazetteer place as a :class:`citybridge.model.Place` record, ready for the store.

    About 49,000 records: 253 countries, ~4,100 first-level regions, 44,690 cities.

    >>> next(iter(place_records())).place_type.value
    'country'
    """
    return load_gazetteer().place_records()
