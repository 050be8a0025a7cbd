"""The DCAT catalogue at /api/v1/catalog, JSON-LD and Turtle, checked with SHACL (pyshacl) after DCAT-AP and
read the way CKAN's DCAT harvester (ckanext-dcat) reads a catalogue."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import rdflib
from fastapi.testclient import TestClient
from rdflib import RDF
from rdflib import namespace as ns

from citybridge.api.app import create_app
from citybridge.hub import Hub
from citybridge.model import Organization
from interop.conftest import BASE

SHAPES = Path(__file__).with_name("shapes-dcat-ap.ttl")


@pytest.fixture
def client(graph_hub: Hub) -> TestClient:
    return TestClient(create_app(graph_hub, web=False))


def fetch(client: TestClient, fmt: str) -> rdflib.Graph:
    resp = client.get("/api/v1/catalog", params={"format": fmt})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/ld+json" if fmt == "jsonld" else "text/turtle")
    return rdflib.Graph().parse(data=resp.text, format="json-ld" if fmt == "jsonld" else "turtle")


def test_catalogue_validates_with_dcat_ap_shapes(client: TestClient) -> None:
    from pyshacl import validate

    shapes = rdflib.Graph().parse(SHAPES, format="turtle")
    for fmt in ("jsonld", "ttl"):
        graph = fetch(client, fmt)
        conforms, _, text = validate(graph, shacl_graph=shapes, ont_graph=_foaf_subclasses(), inference="rdfs")
        assert conforms, text
    # the shapes bite: a distribution without an access URL and a dataset without a title fail
    broken = fetch(client, "ttl")
    dist = next(broken.subjects(RDF.type, ns.DCAT.Distribution))
    broken.remove((dist, ns.DCAT.accessURL, None))
    dataset = next(broken.subjects(RDF.type, ns.DCAT.Dataset))
    broken.remove((dataset, ns.DCTERMS.title, None))
    conforms, _, text = validate(broken, shacl_graph=shapes, ont_graph=_foaf_subclasses(), inference="rdfs")
    assert not conforms and "accessURL" in text and "title" in text


def _foaf_subclasses() -> rdflib.Graph:
    g = rdflib.Graph()
    g.add((ns.FOAF.Organization, rdflib.RDFS.subClassOf, ns.FOAF.Agent))
    return g


def test_catalogue_reads_as_ckan_harvests_it(client: TestClient, graph_hub: Hub) -> None:
    """What ckanext-dcat's profile needs of each dataset: title, notes, guid (identifier), dates, publisher,
    contact, and per resource a URL, format, media type and licence."""
    graph = fetch(client, "jsonld")
    assert set(graph.subjects(RDF.type, ns.DCAT.Catalog)) == {rdflib.URIRef(BASE + "/api/v1/catalog")}
    datasets = set(graph.subjects(RDF.type, ns.DCAT.Dataset))
    names = {str(graph.value(d, ns.DCTERMS.identifier)) for d in datasets}
    assert names == {f"citybridge-{k}" for k in ("organization", "person", "project", "document", "opportunity",
                                                 "place", "theme", "relation")}
    stats = graph_hub.stats()
    for ds in datasets:
        assert graph.value(ds, ns.DCTERMS.title) and graph.value(ds, ns.DCTERMS.description)
        modified = graph.value(ds, ns.DCTERMS.modified).toPython()
        assert modified.tzinfo is not None and graph.value(ds, ns.DCTERMS.issued).toPython() <= modified
        dists = list(graph.objects(ds, ns.DCAT.distribution))
        assert len(dists) == 4
        for dist in dists:
            url = str(graph.value(dist, ns.DCAT.downloadURL))
            assert url == str(graph.value(dist, ns.DCAT.accessURL)) and url.startswith(BASE + "/api/v1/export?")
            assert str(graph.value(dist, ns.DCTERMS.license)).startswith("https://creativecommons.org/")
            assert str(graph.value(dist, ns.DCTERMS.format)).startswith(
                "http://publications.europa.eu/resource/authority/file-type/")
        if str(graph.value(ds, ns.DCTERMS.identifier)) == "citybridge-organization":
            public_orgs = stats["by_kind"]["organization"]
            assert str(graph.value(ds, ns.DCTERMS.description)).startswith(f"{public_orgs:,} public")
    service = next(graph.subjects(RDF.type, ns.DCAT.DataService))
    assert str(graph.value(service, ns.DCAT.endpointURL)) == BASE + "/oai"


def test_the_distributions_download_and_dates_follow_changes(graph_hub: Hub) -> None:
    from web.conftest import serve

    app = create_app(graph_hub, web=False)
    with serve(app) as url:
        graph_hub.settings.linked_data_base = url  # so the catalogue's URLs point at this live server
        before = rdflib.Graph().parse(data=httpx.get(url + "/api/v1/catalog", headers={"accept": "text/turtle"}).text,
                                      format="turtle")
        orgs = rdflib.URIRef(url + "/api/v1/catalog#organization")
        for dist in before.objects(orgs, ns.DCAT.distribution):
            resp = httpx.get(str(before.value(dist, ns.DCAT.downloadURL)))
            assert resp.status_code == 200 and resp.text
            media = before.value(dist, ns.DCAT.mediaType)
            if isinstance(media, rdflib.URIRef):
                assert resp.headers["content-type"].startswith(str(media).rsplit("/media-types/", 1)[1])
        import time

        time.sleep(1.1)
        graph_hub.upsert([Organization(id="org_late", name="Late Office", org_type="ngo")])
        after = rdflib.Graph().parse(data=httpx.get(url + "/api/v1/catalog").text, format="json-ld")
        assert after.value(orgs, ns.DCTERMS.modified).toPython() > before.value(orgs, ns.DCTERMS.modified).toPython()
        vocab = httpx.get(url + "/vocab")
        assert vocab.headers["content-type"].startswith("text/turtle")
        assert len(rdflib.Graph().parse(data=vocab.text, format="turtle")) > 100
