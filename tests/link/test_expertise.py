"""The expertise model shared by Hub.fit and the experts section: its artifact, its score and its works."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from citybridge.errors import Invalid
from citybridge.hub import Hub
from citybridge.link import expertise
from citybridge.model import Document, Person, Relation
from citybridge.settings import Settings


def test_shipped_model_is_versioned_and_non_negative() -> None:
    model = expertise.load_model()
    assert model.version and model.chosen_by
    assert {"default", "e5"} <= set(model.sets)
    for ws in model.sets.values():
        assert set(ws.weights) <= set(expertise.COMPONENTS)
        assert all(w >= 0 for w in ws.weights.values()) and sum(ws.weights.values()) > 0
    assert "e5" not in model.sets["default"].weights or not model.sets["default"].weights["e5"]


def test_score_rises_with_each_weighted_component() -> None:
    model = expertise.load_model()
    for name, ws in model.sets.items():
        comps = {c: ws.center.get(c, 0.3) for c in expertise.COMPONENTS if c != "e5" or name == "e5"}
        assert expertise.score(comps, model) == 0.5  # the typical rated paper of the gold standard
        for c, w in ws.weights.items():
            if w > 0:
                up = expertise.score({**comps, c: comps[c] + ws.scale[c]}, model)
                assert 0.5 < up < 1
                assert expertise.score({**comps, c: comps[c] - ws.scale[c]}, model) < 0.5


def test_bad_artifact_is_a_domain_error(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"format": 99, "sets": {}}))
    with pytest.raises(Invalid, match="format"):
        expertise.load_model(path)
    path.write_text(json.dumps({"format": 1, "sets": {"default": {"weights": {"gossip": 1}}}}))
    with pytest.raises(Invalid, match="gossip"):
        expertise.load_model(path)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Hub:
    h = Hub(Settings(data_dir=Path(tmp_path_factory.mktemp("expertise")) / "data", _env_file=None))
    h.init()
    works = [("Green roofs cool dense districts", "Green roofs and street trees lower surface heat in summer.", 2015),
             ("Heat early warning for older residents", "A heatwave warning system protects older people.", 2019),
             ("Stormwater squares", "Water squares store stormwater and reduce urban flooding.", 2024)]
    docs = [Document(id=f"doc_{i}", name=name, description=text, doc_type="paper", year=year)
            for i, (name, text, year) in enumerate(works)]
    assert h.upsert([*docs, Person(id="per_a", name="A")]).rejected == 0
    assert h.relate([Relation(type="authored", source="per_a", target=d.id) for d in docs]).rejected == 0
    h.enrich(workers=1)
    return h


def test_recent_works_follow_the_reference_date(hub: Hub) -> None:
    assert expertise.recent_works(hub, ["per_a"], date(2030, 1, 1))["per_a"] == ["doc_2", "doc_1", "doc_0"]
    assert expertise.recent_works(hub, ["per_a"], date(2020, 1, 1))["per_a"] == ["doc_1", "doc_0"]
    assert expertise.recent_works(hub, ["per_a"], date(2030, 1, 1), n=1)["per_a"] == ["doc_2"]


def test_fit_is_the_model_score_of_its_components(hub: Hub) -> None:
    text = "stormwater storage and flooding in the city"
    now = hub.fit("per_a", text, today=date(2030, 1, 1))
    assert now.score == expertise.score(now.components)
    # before the flooding paper was written, the closest work is further from the text
    before = hub.fit("per_a", text, today=date(2020, 1, 1))
    assert before.components["lexical"] < now.components["lexical"]
    assert before.components["vector"] < now.components["vector"]
    assert before.score < now.score
