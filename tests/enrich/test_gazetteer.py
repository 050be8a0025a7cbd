from __future__ import annotations

from citybridge.enrich import place_records
from citybridge.enrich.gazetteer import Gazetteer
from citybridge.model import Place, PlaceType, derive_id


def test_counts_and_stable_ids(gaz: Gazetteer) -> None:
    types = [e.place_type for e in gaz.entries]
    assert types.count(PlaceType.city) == 44_690  # 44,691 rows, one id twice
    assert 240 <= types.count(PlaceType.country) <= 260
    assert types.count(PlaceType.region) > 3_000
    paris = gaz.by_id[derive_id("place", "simplemaps:1250015082")]
    assert (paris.name, paris.country) == ("Paris", "FR")
    assert gaz.country_entry["DE"].id == derive_id("place", "iso:DE")
    assert gaz.region_entry[("DE", "Bavaria")].id == derive_id("place", "region:DE:Bavaria")


def test_country_names_and_regions(gaz: Gazetteer) -> None:
    for name in ("Germany", "Alemania", "Allemagne", "Deutschland", "Alemanha", "Germania", "Duitsland"):
        assert gaz.resolve_country(name) == "DE"
    assert gaz.resolve_country("BRA") == "BR" and gaz.resolve_country("usa") == "US"
    assert gaz.un_region("BR") == "Latin America and the Caribbean"
    assert gaz.un_region("DE") == "Western Europe"
    assert gaz.un_region("KE") == "Sub-Saharan Africa"


def test_place_records_validate() -> None:
    records = list(place_records())
    assert len(records) == len({r.id for r in records}) > 48_000
    assert all(isinstance(r, Place) for r in records)
    assert records[0].place_type == PlaceType.country
    city = next(r for r in records if r.external_ids.get("simplemaps") == "1250015082")
    assert (city.country, city.un_region, city.population) == ("FR", "Western Europe", 11_060_000)
    country = next(r for r in records if r.external_ids.get("iso") == "BR")
    assert country.capital == "Brasília" and country.un_region == "Latin America and the Caribbean"
