"""The enrichment pipeline on a real store: incremental runs, stored evidence, derived relations, profiles."""

from __future__ import annotations

import pytest

from citybridge.enrich.gazetteer import place_records
from citybridge.enrich.pipeline import Annotation, StepOutput, make_steps, record_text, register_step
from citybridge.hub import Hub
from citybridge.model import Document, Organization, Person, Project, Relation, Theme
from citybridge.model.taxonomy import theme_id

HEAT = ("Ahmedabad, India, built an early warning system for heatwaves and painted cool roofs in informal "
        "settlements; heat-related deaths fell after the heat action plan.")
FLOOD = ("Rotterdam in the Netherlands adapts to sea level rise and river flooding with water squares, green "
         "roofs and stormwater storage, making the city climate resilient.")


@pytest.fixture
def places_hub(hub: Hub) -> Hub:
    cities = {"Ahmedabad", "Rotterdam", "Recife", "India", "Netherlands", "Brazil", "Lisbon"}
    hub.upsert([p for p in place_records() if p.name in cities])
    return hub


def _docs(hub: Hub) -> dict[str, str]:
    report = hub.upsert([
        Document(id="doc_heat", name="Heat action plan", description=HEAT, doc_type="case_study", year=2019),
        Document(id="doc_flood", name="Water squares", description=FLOOD, doc_type="case_study", year=2021),
        Organization(id="org_recife", name="Prefeitura do Recife", org_type="local_government", city="Recife",
                     country="BR"),
        Person(id="per_ana", name="Ana Souza"),
    ])
    assert report.rejected == 0
    hub.relate([Relation(type="authored", source="per_ana", target="doc_heat"),
                Relation(type="authored", source="per_ana", target="doc_flood")])
    return {"heat": "doc_heat", "flood": "doc_flood"}


def test_enrich_stores_explainable_results_and_is_incremental(places_hub: Hub) -> None:
    hub = places_hub
    ids = _docs(hub)
    report = hub.enrich(workers=1)
    assert report.steps["tags"] == 4 and report.steps["embed:wordllama"] == 4
    shown = hub.show(ids["flood"])
    assert [a["label"] for a in shown["languages"]] == ["lang:en"]
    tags = {a["label"]: a for a in shown["tags"]}
    assert "pathway:resilient" in tags
    ev = tags["pathway:resilient"]["evidence"][0]
    text = hub.get(ids["flood"]).description
    assert text[ev["start"]:ev["end"]] == ev["text"] and ev["field"] == "description"
    places = {a["name"]: a for a in shown["places"]}
    assert {"Rotterdam", "Netherlands"} <= set(places)
    about = {(r["type"], r["other_name"], r["role"]) for r in shown["relations"]}
    assert ("about", "Rotterdam", "enrich:places") in about
    assert ("about", "Resilient development", "enrich:tags") in about
    assert shown["keywords"]
    # the organisation is geocoded from its address fields
    org_rels = {(r["type"], r["other_name"]) for r in hub.show("org_recife")["relations"]}
    assert ("located_in", "Recife") in org_rels

    # nothing changed: nothing to do
    again = hub.enrich(workers=1)
    assert sum(again.steps.values()) == 0
    # one record changes: only it is processed again, and stale derived relations go away
    hub.upsert([Document(id="doc_flood", name="Water squares", description="Lisbon plans water squares.",
                         doc_type="case_study")])
    third = hub.enrich(workers=1)
    assert third.steps["tags"] == 1 and third.steps["places"] == 1
    names = {r["other_name"] for r in hub.show(ids["flood"])["relations"] if r["role"] == "enrich:places"}
    assert names == {"Lisbon"}


def test_profiles_aggregate_linked_records(places_hub: Hub) -> None:
    hub = places_hub
    _docs(hub)
    hub.enrich(workers=1)
    prof = hub.profile("per_ana")
    assert prof is not None and prof["n_records"] == 2
    labels = prof["data"]["labels"]
    assert "pathway:resilient" in labels
    assert "doc_flood" in labels["pathway:resilient"]["records"]
    assert prof["data"]["years"] == [2019, 2021]
    assert prof["vector"] is not None and abs(float((prof["vector"] ** 2).sum()) - 1.0) < 1e-3
    city = next(p for p in hub.list("place", limit=50) if p.name == "Rotterdam")
    city_prof = hub.profile(city.id)
    assert city_prof is not None and "doc_flood" in {r for v in city_prof["data"]["labels"].values()
                                                     for r in v["records"]}


def test_profiles_rebuilt_after_a_run_stopped_before_them(places_hub: Hub) -> None:
    """Found by benchmarks/bench_crash.py: a run killed after its steps committed but before its profiles left
    the profiles empty for good, since the re-run had nothing to enrich and so touched nothing."""
    from citybridge.store.enrichment import EnrichmentStore

    hub = places_hub
    _docs(hub)
    assert EnrichmentStore(hub.store).begin_profiles() is False  # what the killed run did first ...
    hub.enrich(workers=1, profiles=False)  # ... then its steps committed, and it died before the profiles
    assert hub.profile("per_ana") is None
    again = hub.enrich(workers=1)
    assert sum(again.steps.values()) == 0  # nothing left to enrich, yet
    prof = hub.profile("per_ana")
    assert prof is not None and prof["n_records"] == 2
    assert EnrichmentStore(hub.store).begin_profiles() is False  # the mark was cleared by the finished run


def test_user_taxonomy_is_tagged(hub: Hub) -> None:
    hub.upsert([Theme(id="thm_cool", name="Cool roofs", scheme="city-heat", code="cool-roofs",
                      keywords=["cool roof", "reflective roof"], description="Reflective roofs that reduce heat")])
    hub.upsert([Document(id="doc_heat", name="Heat action plan", description=HEAT)])
    hub.enrich(["tags"], workers=1)
    tags = {a["label"]: a for a in hub.annotations("doc_heat")["tags"]}
    assert "city-heat:cool-roofs" in tags
    assert tags["city-heat:cool-roofs"]["target_id"] == "thm_cool"


def test_step_version_change_reprocesses(hub: Hub) -> None:
    calls: list[int] = []

    class Counting:
        name = "counting"
        kinds = None

        def __init__(self, version: str = "1") -> None:
            self._v = version

        @property
        def version(self) -> str:
            return f"counting/{self._v}"

        def run(self, records, context=None):  # type: ignore[no-untyped-def]
            calls.append(len(records))
            return [StepOutput([Annotation("kw:x", 1.0)]) for _ in records]

    register_step("counting", Counting)
    hub.upsert([Document(id="d1", name="A"), Document(id="d2", name="B")])
    from citybridge.enrich.runner import Enricher

    n_all = hub.stats()["records"]
    Enricher(hub.store, [Counting("1")], workers=1).run()
    Enricher(hub.store, [Counting("1")], workers=1).run()
    Enricher(hub.store, [Counting("2")], workers=1).run()
    assert calls == [n_all, n_all]
    assert "counting" in make_steps(["counting"])[0].name


def test_worker_processes_give_the_same_results(places_hub: Hub) -> None:
    hub = places_hub
    hub.upsert([Document(id=f"d{i}", name=f"Report {i}", description=HEAT if i % 2 else FLOOD) for i in range(70)])
    hub.enrich(["tags", "places"], workers=2)
    a = hub.annotations("d1")["tags"]
    from citybridge.enrich.steps import TaggingStep

    direct = TaggingStep().run([hub.get("d1")])[0].annotations
    assert [x["label"] for x in a] == [x.label for x in direct]


def test_record_text_offsets_map_back_to_fields() -> None:
    doc = Document(name="Title", description="Abstract here.", body="Body text.")
    text, spans = record_text(doc)
    assert [s[0] for s in spans] == ["name", "description", "body"]
    for name, start, end in spans:
        assert text[start:end] == getattr(doc, name)


def test_hostile_text_does_not_break_enrichment(hub: Hub) -> None:
    hub.upsert([Document(id="weird", name="<script>alert(1)</script>", description="\u202e" + "x" * 500_000),
                Project(id="p1", name="‮‭" * 10), Organization(id="o1", name="💥" * 50, country="ZZ")])
    report = hub.enrich(workers=1)
    assert report.steps["tags"] == 3
    assert theme_id("sdg", "11") not in {a["target_id"] for a in hub.annotations("weird").get("tags", [])}


def test_steps_that_cannot_fork_run_in_process() -> None:
    from citybridge.enrich.pipeline import StepRunner
    from citybridge.enrich.steps import EmbedStep, KeywordsStep

    assert EmbedStep("minilm").fork_safe is False and EmbedStep("wordllama").fork_safe is True

    class NoFork:  # stands for a torch model without loading torch: only the decision is under test
        name, kinds, fork_safe, version = "nofork", None, False, "nofork/1"

        def run(self, records, context=None):  # type: ignore[no-untyped-def]
            return [StepOutput() for _ in records]

    with StepRunner([KeywordsStep(), NoFork()], workers=2) as runner:
        assert runner.workers == 1 and runner._pool is None
    with StepRunner([KeywordsStep()], workers=2) as runner:
        assert runner.workers == 2 and runner._pool is not None


def test_tags_read_the_record_vector_the_embedding_step_stores() -> None:
    pytest.importorskip("wordllama")
    import numpy as np

    from citybridge.enrich.steps import EmbedStep, TaggingStep

    recs = [Document(id="d1", name="Cooling Lisbon", description="Urban heat islands and green roofs. " * 60),
            Document(id="d2", name="Flood maps", description="River flooding in Porto."),
            Document(id="d3", name="A bare name")]
    step = TaggingStep()
    vectors = TaggingStep._record_vectors(recs)
    stored = EmbedStep("wordllama").run(recs)
    assert np.array_equal(vectors, np.stack([o.vectors.record_vector for o in stored]))
    # the step's tags are the tagger's with those vectors
    texts = [record_text(r, 20_000)[0] for r in recs]
    expected = step.tagger.tag(texts, vectors=vectors)
    got = step.run(recs)
    assert [[a.label for a in o.annotations] for o in got] == [
        [f"{lab.scheme}:{lab.code}" for lab in labs] for labs in expected]
