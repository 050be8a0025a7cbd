"""Affiliation strings and organisation names -> ROR records, with probabilities, units and features."""

from __future__ import annotations

import pytest

from citybridge.errors import Invalid
from citybridge.hub import Hub
from citybridge.resolve.affiliation import parse
from citybridge.resolve.normalize import key, tokens
from citybridge.resolve.org_index import OrgIndex


def test_normalisation_folds_abbreviations_and_languages() -> None:
    assert tokens("Dept. of Civil Eng., Univ. of Porto") == ["department", "civil", "engineering", "university",
                                                              "porto"]
    assert key("Technische Universität München") == key("Technical Univ. Munich") == "technical university munich"
    assert key("Centre for X") == key("Zentrum für X") == "center x"


def test_parse_reads_country_state_and_city_from_the_end() -> None:
    p = parse("Division of Pediatric Endocrinology, Massachusetts General Hospital, Boston, MA 02114, USA")
    assert p.country == "US"
    assert [s.geo for s in p.segments] == [None, None, "city", "state", "country"]
    assert parse("Instituto Superior Técnico, Lisboa, Portugal").country == "PT"
    assert parse("University of Porto").country is None


def test_index_artifact_round_trips(ror_hub: Hub, tmp_path) -> None:
    from citybridge.resolve.org_index import entries_from_store

    idx = OrgIndex.build(entries_from_store(ror_hub.store), fingerprint="fp1")
    idx.save(tmp_path / "orgs.json.gz")
    back = OrgIndex.load(tmp_path / "orgs.json.gz")
    assert back.fingerprint == "fp1" and back.exact == idx.exact and back.acronyms == idx.acronyms
    assert back.parents == idx.parents and len(back.orgs) == 10
    (tmp_path / "bad.json.gz").write_bytes(__import__("gzip").compress(b'{"format": "other 9"}'))
    with pytest.raises(ValueError, match="format"):
        OrgIndex.load(tmp_path / "bad.json.gz")


@pytest.mark.parametrize(("text", "country", "ror"), [
    ("Dept. of Civil Eng., Univ. of Porto, Portugal", None, "043pwc612"),
    ("Faculdade de Engenharia, Universidade do Porto, Porto, Portugal", None, "043pwc612"),
    ("TU München", "DE", "02kkvpp62"),
    ("Lehrstuhl für Bauphysik, Technische Universitaet Muenchen, Deutschland", None, "02kkvpp62"),
    ("CNRS UMR 5505, Toulouse, France", None, "02feahw73"),
    ("IDMEC, Instituto Superior Técnico, Universidade de Lisboa, Lisboa, Portugal", None, "01c27hj86"),
])
def test_strings_rank_the_right_organisation_first(ror_hub: Hub, text: str, country: str | None, ror: str) -> None:
    res = ror_hub.match_affiliation(text, country=country)
    assert res["candidates"][0]["ror"] == ror, res["candidates"]
    assert 0.0 <= res["candidates"][0]["probability"] <= 1.0
    assert res["candidates"][0]["features"]  # the evidence behind the score is returned


def test_a_department_string_resolves_to_the_organisation_and_keeps_the_unit(ror_hub: Hub) -> None:
    res = ror_hub.match_affiliation("Dept. of Civil Eng., Univ. of Porto, Portugal")
    assert res["decision"] == "match" and res["best"]["ror"] == "043pwc612"
    assert res["best"]["unit"] == "Dept. of Civil Eng."
    assert res["best"]["features"]["country_agree"] == 1.0


def test_city_and_country_tell_apart_similar_names(ror_hub: Hub) -> None:
    res = ror_hub.match_affiliation("School of Medicine, Universidade Federal de Ciências, Porto Alegre, Brazil")
    assert all(c["ror"] != "043pwc612" or c["decision"] != "match" for c in res["candidates"])


@pytest.mark.parametrize("text", ["Organisation PIC 906007161", "Department of Physics, Greendale Community "
                                  "College, Colorado, USA", "Acme Widgets GmbH, Stuttgart, Germany"])
def test_strings_of_organisations_not_in_the_index_abstain(ror_hub: Hub, text: str) -> None:
    res = ror_hub.match_affiliation(text)
    assert res["decision"] != "match" and res["best"] is None


def test_batch_matching_validates_input(ror_hub: Hub) -> None:
    out = ror_hub.match_affiliations(["Univ. of Minho, Braga", ("Universidade do Porto", "PT")])
    assert [r["candidates"][0]["ror"] for r in out] == ["037wpkx04", "043pwc612"]
    with pytest.raises(Invalid, match="item 2"):
        ror_hub.match_affiliations(["ok", "  "])


def test_matcher_index_is_cached_and_follows_the_store(ror_hub: Hub) -> None:
    from citybridge.model.entities import Organization

    m1 = ror_hub.org_matcher()
    assert ror_hub.org_matcher() is m1
    assert (ror_hub.settings.data_dir / "index" / "orgs.json.gz").exists()
    ror_hub.upsert([Organization(name="Universidade de Aveiro", country="PT", city="Aveiro",
                                 external_ids={"ror": "00nt41z93"})])
    assert ror_hub.org_matcher() is not m1
    assert ror_hub.match_affiliation("Univ. Aveiro, Portugal")["candidates"][0]["ror"] == "00nt41z93"


def test_batch_api_for_other_packages(ror_hub: Hub) -> None:
    from citybridge.resolve import match_organizations

    rows = match_organizations(ror_hub.org_matcher(), [("UNIVERSIDADE DO MINHO", "PT"), "Nowhere Institute"])
    assert rows[0][0]["ror"] == "037wpkx04" and rows[0][0]["decision"] in ("match", "review")
    assert all(c["decision"] != "match" for c in rows[1])
