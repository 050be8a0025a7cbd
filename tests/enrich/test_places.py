from __future__ import annotations

import pytest

from citybridge.enrich import PlaceContext, recognize_places
from citybridge.enrich.gazetteer import Gazetteer
from citybridge.model import Organization, derive_id

PARIS_FR = derive_id("place", "simplemaps:1250015082")


def one(text: str, ctx: PlaceContext | None = None) -> list:
    return recognize_places([text], [ctx])[0]


def test_paris_is_paris_france_by_population() -> None:
    [m] = one("The conference took place in Paris last year.")
    assert (m.name, m.country, m.place_type) == ("Paris", "FR", "city")
    assert m.place_id == PARIS_FR


def test_paris_texas_by_qualifier() -> None:
    mentions = one("She was born in Paris, Texas, and moved to Dallas.")
    assert [(m.surface, m.country, m.place_type) for m in mentions] == [
        ("Paris", "US", "city"), ("Texas", "US", "region"), ("Dallas", "US", "city")
    ]
    assert "Texas" in mentions[0].reason


def test_country_in_text_disambiguates_cordoba() -> None:
    [cordoba_ar, _] = one("In Argentina, Córdoba expanded its bus network.")
    assert cordoba_ar.country == "AR"
    [cordoba_es, _, _] = one("Córdoba is one of the oldest cities in Andalusia, Spain.")
    assert cordoba_es.country == "ES"


def test_organisation_context_disambiguates(gaz: Gazetteer) -> None:
    text = "Córdoba opened a new tram line."
    assert one(text)[0].country == "AR"
    assert one(text, PlaceContext(country="ES"))[0].country == "ES"
    org = Organization(name="Ayuntamiento de Córdoba", country="ES", city="Córdoba")
    [m] = one(text, PlaceContext.from_record(org))
    assert m.country == "ES" and "organisation" in m.reason
    # near the organisation, by coordinates only
    near = one("Paris has a growing population.", PlaceContext(lat=33.66, lon=-95.55))
    assert near[0].country == "US"


@pytest.mark.parametrize(
    "text",
    [
        "Mobile phones are used by most residents.",
        "Reading is important for children.",
        "Nice results were obtained with the new method.",
        "Split the sample into two groups.",
        "The Paris Agreement sets a goal for global warming.",
        "George Washington was the first president.",
        "Hamilton et al. reported similar findings.",
        "Wilson's disease is a rare disorder.",
        "Of the 300 patients, 12 died.",
    ],
)
def test_common_words_and_names_are_not_places(text: str) -> None:
    assert one(text) == []


def test_common_word_city_with_support_is_found() -> None:
    mentions = one("We recruited patients in Mobile, Alabama.")
    assert [(m.surface, m.country) for m in mentions] == [("Mobile", "US"), ("Alabama", "US")]


def test_offsets_point_at_the_surface_with_accents_and_emoji() -> None:
    text = "🙂 Über São Paulo und Zürich – und dann nach Sao Paulo, Brasil."
    mentions = one(text)
    assert [m.surface for m in mentions] == ["São Paulo", "Zürich", "Sao Paulo", "Brasil"]
    for m in mentions:
        assert text[m.start:m.end] == m.surface
    assert mentions[0].place_id == mentions[2].place_id


def test_multiword_exonym_and_country_names() -> None:
    mentions = one("Projects in Rio de Janeiro, Lisboa, Mexico City and the United States.")
    assert [(m.name, m.country) for m in mentions] == [
        ("Rio de Janeiro", "BR"), ("Lisbon", "PT"), ("Mexico City", "MX"), ("United States", "US")
    ]


def test_affiliation_with_region_code() -> None:
    text = "Department of Radiation Oncology, Jewish General Hospital, Montreal, QC, Canada"
    assert [(m.name, m.country) for m in one(text)] == [("Montréal", "CA"), ("Canada", "CA")]


def test_batch_shape_and_hostile_input() -> None:
    huge = "Urban plans in Paris and Berlin. " * 20_000
    texts = [None, "", huge, "\x00" * 50 + "Berlin" + "\ud800", "<b>Madrid</b>", "MADRID"]
    out = recognize_places(texts)
    assert len(out) == len(texts)
    assert out[0] == [] and out[1] == []
    assert len(out[2]) > 1000
    assert [m.name for m in out[3]] == ["Berlin"]
    assert [m.name for m in out[4]] == ["Madrid"]
    with pytest.raises(ValueError):
        recognize_places(["a", "b"], [None])


def _read(text: str) -> list[tuple[str, str, str]]:
    return [(m.surface, m.place_type, m.country) for m in one(text)]


def test_a_country_in_another_sentence_does_not_pull_a_big_city_to_a_namesake() -> None:
    assert _read("Perth has recycled wastewater since 2017. In the United Kingdom, such schemes are pilots.") == [
        ("Perth", "city", "AU"), ("United Kingdom", "country", "GB")]
    assert _read("Heat plans were compared for London and Rome. Canada's census gave the data.")[0] == (
        "London", "city", "GB")
    # in the same sentence the country still decides
    assert _read("The historic centre of Toledo, a UNESCO site in Spain, draws visitors.")[0] == (
        "Toledo", "city", "ES")


def test_city_names_inside_the_names_of_city_bodies_stay_places() -> None:
    assert _read("New York City Council passed Local Law 97.") == [("New York City", "city", "US")]
    assert _read("The Ho Chi Minh City People's Committee approved the plan.") == [
        ("Ho Chi Minh City", "city", "VN")]
    assert _read("Cape Town Water and Sanitation Department cut use by half.") == [("Cape Town", "city", "ZA")]
    assert _read("Mexico City Metro carries four million passengers a day.") == [("Mexico City", "city", "MX")]
    assert _read("University of Naples Parthenope, Naples, Italy")[0] == ("Naples", "city", "IT")


def test_small_cities_need_a_place_cue_not_a_country() -> None:
    assert _read("Interviews with planners in Umeå focused on winter cycling.") == [("Umeå", "city", "SE")]
    assert _read("The Zaandam waterfront was redesigned after the flood.") == [("Zaandam", "city", "NL")]
    assert _read("The municipality of Växjö aims to be fossil-fuel free.") == [("Växjö", "city", "SE")]
    assert _read("Växjö aims to be fossil-fuel free.") == []  # no cue: below the population floor
    # a cue vouches for towns of 20,000 or more, not for a hamlet whose name is also a word or a founder's
    assert _read("Hydropower is concentrated in the Alpine region.") == []
    assert _read("She spent a year at Stanford University.") == []
    assert _read("An industrial symbiosis network has operated in Kalundborg since 1972.") == []
    # a country named in another sentence vouches for a small town when no namesake is big
    assert _read("The trial ran in Scotland. Hydrogen was shipped to Kirkwall by sea.")[-1] == (
        "Kirkwall", "city", "GB")
    assert _read("The Cochrane review found no effect.") == []


def test_compound_parts_and_function_words_are_not_places() -> None:
    assert _read("Multi-objective planning was applied in Pune, India.") == [
        ("Pune", "city", "IN"), ("India", "country", "IN")]
    assert _read("Holt-Winters forecasting was applied to water demand in Lisbon.") == [("Lisbon", "city", "PT")]
    assert _read("Dallas-Fort Worth is growing fast.") == [("Dallas", "city", "US"), ("Fort Worth", "city", "US")]
    assert _read("Tbilisi-based NGOs mapped green spaces.") == [("Tbilisi", "city", "GE")]
    assert _read("Most cities can reduce emissions.") == []


def test_cities_are_not_read_as_their_regions_or_city_state_countries() -> None:
    assert _read("Guanajuato turned its old river tunnels into a bypass.") == [("Guanajuato", "city", "MX")]
    assert _read("The state of Oaxaca has more than 500 municipalities.") == [("Oaxaca", "region", "MX")]
    assert _read("Singapore's ABC Waters programme turned drains into streams.") == [("Singapore", "city", "SG")]
    assert _read("National death registration data in Singapore were used.") == [
        ("Singapore", "country", "SG")]
