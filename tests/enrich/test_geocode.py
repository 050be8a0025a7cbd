from __future__ import annotations

from citybridge.enrich import geocode


def test_exact_with_country_constraint() -> None:
    m = geocode("Paris", "US")
    assert m is not None and (m.name, m.country, m.method) == ("Paris", "US", "exact")
    assert geocode("Paris", None).country == "FR"


def test_misspelt_city() -> None:
    m = geocode("Barcelnoa", "Spain")
    assert m is not None and (m.name, m.country, m.method) == ("Barcelona", "ES", "fuzzy")
    assert 0.7 < m.score < 1.0
    m = geocode("Frankfrut", "DE")
    assert m is not None and m.name == "Frankfurt"


def test_accents_case_and_exonyms() -> None:
    assert geocode("sao paulo", "BR").name == "São Paulo"
    assert geocode("ZURICH", "CH").name == "Zürich"
    assert geocode("München", "Deutschland").name == "Munich"


def test_address_and_country_fallback() -> None:
    m = geocode(None, None, "Rua da Escola Politécnica 58, 1250-102 Lisboa, Portugal")
    assert m is not None and (m.name, m.country, m.method) == ("Lisbon", "PT", "address")
    m = geocode("Nowheresville", "Kenya")
    assert m is not None and (m.place_type, m.country, m.method) == ("country", "KE", "country")
    assert geocode(None, None, None) is None
    assert geocode("Qwzxv", None) is None
    assert geocode("x" * 10_000, "\x00") is None
