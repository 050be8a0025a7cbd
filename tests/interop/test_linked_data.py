"""The JSON-LD and Turtle exports: every schema.org term is real and fits its type, the citybridge terms are
documented, and each kind passes the SHACL shapes (pyshacl)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import RDF

from citybridge.hub import Hub
from citybridge.interop.checks import schema_term_problems
from citybridge.interop.vocabulary import TERMS, schema_properties, schemaorg_terms, vocab_namespace
from citybridge.model.access import Caller
from interop.conftest import BASE

SCHEMA = "https://schema.org/"
SDO = rdflib.Namespace(SCHEMA)
SHAPES = Path(__file__).with_name("shapes-records.ttl")


def export_graph(hub: Hub, fmt: str = "jsonld", **kw: object) -> rdflib.Graph:
    buf = io.StringIO()
    hub.export(buf, fmt, **kw)  # type: ignore[arg-type]
    return rdflib.Graph().parse(data=buf.getvalue(), format="json-ld" if fmt == "jsonld" else "turtle")


def test_vendored_vocabulary_knows_schema_org() -> None:
    terms = schemaorg_terms()
    assert len(terms["types"]) > 800
    assert {"funder", "sponsor", "member", "location", "about", "license", "sameAs"} <= schema_properties(
        "ResearchProject") | schema_properties("CreativeWork")
    assert "startDate" not in schema_properties("ResearchProject")  # so a project's dates are cb: terms
    assert "termCode" in schema_properties("DefinedTerm") and "geo" in schema_properties("City")


def test_every_kind_uses_real_schema_org_terms_only(graph_hub: Hub) -> None:
    graph = export_graph(graph_hub)
    vocab = vocab_namespace(BASE)
    assert schema_term_problems(graph, vocab) == []
    # the check is real: a made-up term or a term on the wrong type is reported
    bad = rdflib.Graph()
    node = rdflib.URIRef(BASE + "/entity/x")
    bad.add((node, RDF.type, SDO.ResearchProject))
    bad.add((node, rdflib.URIRef(SCHEMA + "duration_months"), rdflib.Literal(3)))
    bad.add((node, SDO.startDate, rdflib.Literal("2020-01-01")))
    bad.add((node, rdflib.URIRef(vocab + "record_id"), rdflib.Literal("x")))
    assert schema_term_problems(bad, vocab) == [
        "duration_months is not a property of ResearchProject", "startDate is not a property of ResearchProject",
        f"undocumented citybridge term {vocab}record_id"]


def test_every_kind_and_subtype_is_typed_and_linked(graph_hub: Hub) -> None:
    graph = export_graph(graph_hub)

    def iri(rid: str) -> rdflib.URIRef:
        return rdflib.URIRef(f"{BASE}/entity/{rid}")

    kinds = {str(k) for k in graph.objects(None, rdflib.URIRef(vocab_namespace(BASE) + "kind"))}
    assert kinds == {"organization", "person", "project", "document", "opportunity", "place", "theme"}
    assert (iri("prj_cool"), RDF.type, SDO.ResearchProject) in graph
    assert (iri("org_funder"), RDF.type, SDO.FundingAgency) in graph
    assert (iri("doc_paper"), RDF.type, SDO.ScholarlyArticle) in graph
    assert (iri("opp_funding_call"), RDF.type, SDO.MonetaryGrant) in graph
    assert (iri("plc_lisbon"), RDF.type, SDO.City) in graph
    # sameAs for ROR / ORCID / DOI / Wikidata / GeoNames / UN SDG
    same = {str(o) for o in graph.objects(None, SDO.sameAs)}
    assert {"https://ror.org/05abc0000", "http://www.wikidata.org/entity/Q1", "https://orcid.org/0000-0002-1825-0097",
            "https://doi.org/10.1000/xyzpaper", "https://sws.geonames.org/2267057",
            "http://metadata.un.org/sdg/11"} <= same
    # relations as the schema.org property that fits both ends
    from citybridge.model.taxonomy import theme_id
    assert (iri("prj_cool"), SDO.funder, iri("org_funder")) in graph
    assert (iri("prj_cool"), SDO.funding, iri("opp_funding_call")) in graph
    assert (iri("prj_cool"), SDO.member, iri("org_university")) in graph
    assert (iri("org_network"), SDO.member, iri("org_local_government")) in graph
    assert (iri("doc_paper"), SDO.author, iri("per_ana")) in graph
    assert (iri("doc_report"), SDO.about, iri(theme_id("sdg", "11"))) in graph
    assert (iri("prj_cool"), SDO.knowsAbout, iri(theme_id("sdg", "11"))) in graph
    assert (iri("org_company"), SDO.location, iri("plc_lisbon")) in graph
    assert (iri("plc_lisbon"), SDO.containedInPlace, iri("plc_pt")) in graph
    assert (iri("doc_paper"), SDO.citation, iri("doc_report")) in graph
    # licences of sources, as real IRIs
    assert rdflib.URIRef("https://creativecommons.org/licenses/by/4.0/") in set(graph.objects(None, SDO.license))
    # nothing on a domain the project does not own: every IRI we mint is under the configured base
    minted = {str(s) for s in graph.subjects() if isinstance(s, rdflib.URIRef)}
    assert minted and all(s.startswith(BASE + "/") for s in minted)


def test_shacl_shapes_validate_every_kind(graph_hub: Hub) -> None:
    from pyshacl import validate

    graph = export_graph(graph_hub)
    shapes = rdflib.Graph().parse(SHAPES, format="turtle")
    conforms, _, text = validate(graph, shacl_graph=shapes, inference="none")
    assert conforms, text
    # the shapes bite: a DefinedTerm without its code and a GeoCoordinates off the globe are refused
    broken = rdflib.Graph()
    broken += graph
    lisbon_geo = next(broken.objects(rdflib.URIRef(BASE + "/entity/plc_lisbon"), SDO.geo))
    broken.set((lisbon_geo, SDO.latitude, rdflib.Literal(123.0)))
    from citybridge.model.taxonomy import theme_id
    broken.remove((rdflib.URIRef(f"{BASE}/entity/{theme_id('sdg', '11')}"), SDO.termCode, None))
    conforms, _, text = validate(broken, shacl_graph=shapes, inference="none")
    assert not conforms and "termCode" in text and "latitude" in text


def test_turtle_is_the_same_graph_as_json_ld(graph_hub: Hub) -> None:
    as_jsonld = export_graph(graph_hub, "jsonld")
    as_turtle = export_graph(graph_hub, "ttl")
    assert len(as_turtle) == len(as_jsonld) > 1000

    def ground(graph: rdflib.Graph) -> set[tuple[object, ...]]:  # blank-node labels differ, the rest may not
        return {t for t in graph if not any(isinstance(x, rdflib.BNode) for x in t)}

    assert ground(as_turtle) == ground(as_jsonld)


def test_export_for_a_caller_leaves_out_what_they_may_not_see(graph_hub: Hub) -> None:
    graph = export_graph(graph_hub, caller=Caller())
    hidden = rdflib.URIRef(BASE + "/entity/per_hidden")
    assert not list(graph.triples((hidden, None, None))) and not list(graph.triples((None, None, hidden)))
    assert (rdflib.URIRef(BASE + "/entity/per_ana"), RDF.type, SDO.Person) in graph


def test_the_vocabulary_document_defines_every_term() -> None:
    from citybridge.interop.vocabulary import vocabulary_turtle

    graph = rdflib.Graph().parse(data=vocabulary_turtle(BASE), format="turtle")
    defined = {str(s)[len(vocab_namespace(BASE)):] for s in graph.subjects(RDF.type, None)}
    assert set(TERMS) <= defined


@pytest.mark.parametrize("fmt", ["jsonld", "ttl"])
def test_cli_exports_linked_data(graph_hub: Hub, tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from citybridge.cli.main import app

    monkeypatch.setenv("CITYBRIDGE_DATA_DIR", str(graph_hub.settings.data_dir))
    monkeypatch.setenv("CITYBRIDGE_LINKED_DATA_BASE", "https://hub.example.net/")
    out = tmp_path / f"all.{fmt}"
    result = CliRunner().invoke(app, ["export", "--format", fmt, "--kind", "project", "-o", str(out)])
    assert result.exit_code == 0, result.output
    graph = rdflib.Graph().parse(out, format="json-ld" if fmt == "jsonld" else "turtle")
    assert (rdflib.URIRef("https://hub.example.net/entity/prj_cool"), RDF.type, SDO.ResearchProject) in graph
    if fmt == "jsonld":
        assert json.loads(out.read_text())["@context"]["cb"] == "https://hub.example.net/vocab#"
