"""OAI-PMH 2.0 at /oai, harvested over loopback by a real client library (oaipmh-scythe) from a live server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import rdflib
from lxml import etree

from citybridge.api.app import create_app
from citybridge.hub import Hub
from citybridge.interop import oai
from citybridge.model import Organization, Person
from interop.conftest import BASE
from web.conftest import serve

scythe = pytest.importorskip("oaipmh_scythe")
from oaipmh_scythe import Scythe  # noqa: E402
from oaipmh_scythe.exceptions import BadArgument, IdDoesNotExist, NoRecordsMatch  # noqa: E402

OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"


@pytest.fixture
def endpoint(graph_any_hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(oai, "PAGE", 7)  # small pages: every list needs resumption tokens
    with serve(create_app(graph_any_hub, web=False)) as url:
        yield url + "/oai"


def public_ids(hub: Hub) -> set[str]:
    return {b["id"] for b in hub.store.iter_record_dicts(None) if b.get("visibility", "public") == "public"}


def test_a_real_client_harvests_everything_public(endpoint: str, graph_any_hub: Hub) -> None:
    with Scythe(endpoint) as client:
        ident = client.identify()
        assert ident.protocolVersion == "2.0" and ident.deletedRecord == "persistent"
        assert ident.granularity == "YYYY-MM-DDThh:mm:ssZ" and ident.baseURL == BASE + "/oai"
        assert {f.metadataPrefix for f in client.list_metadata_formats()} == {"oai_dc", "cb_jsonld"}
        sets = {s.setSpec for s in client.list_sets()}
        assert {"kind", "kind:project", "sdg", "sdg:11", "sdg:17"} <= sets
        headers = list(client.list_identifiers(metadata_prefix="oai_dc"))
        ids = [h.identifier.rsplit(":", 1)[1] for h in headers]
        assert len(ids) == len(set(ids))  # pages of 7 with resumption tokens: nothing twice, nothing lost
        assert set(ids) == public_ids(graph_any_hub) and "per_hidden" not in ids
        assert not any(h.deleted for h in headers)
        stamps = [h.datestamp for h in headers]
        assert stamps == sorted(stamps)
        records = {r.header.identifier: r for r in client.list_records(metadata_prefix="oai_dc")}
        assert len(records) == len(ids)
        paper = records["oai:cb.test:doc_paper"].metadata
        assert paper["title"] == ["Doc paper"] and paper["creator"] == ["Ana Silva"]
        assert "https://schema.org/ScholarlyArticle" in paper["type"]
        # the richer format: a JSON-LD document per record, schema.org typed
        rec = client.get_record(identifier="oai:cb.test:prj_cool", metadata_prefix="cb_jsonld")
        text = rec.xml.find(f".//{{{BASE}/oai/cb_jsonld}}jsonld").text
        graph = rdflib.Graph().parse(data=text, format="json-ld")
        project = rdflib.URIRef(BASE + "/entity/prj_cool")
        assert (project, rdflib.RDF.type, rdflib.URIRef("https://schema.org/ResearchProject")) in graph
        assert "sdg:11" in rec.header.setSpecs and "kind:project" in rec.header.setSpecs
        # sets: by kind and by SDG
        in_projects = {h.identifier for h in client.list_identifiers(metadata_prefix="oai_dc", set_="kind:project")}
        assert in_projects == {"oai:cb.test:prj_cool", "oai:cb.test:prj_h2020"}
        about_11 = {h.identifier for h in client.list_identifiers(metadata_prefix="oai_dc", set_="sdg:11")}
        assert about_11 == {"oai:cb.test:doc_report", "oai:cb.test:prj_cool", "oai:cb.test:opp_funding_call"}
        # visibility: a private record does not exist for harvesters
        with pytest.raises(IdDoesNotExist):
            client.get_record(identifier="oai:cb.test:per_hidden")
        with pytest.raises(NoRecordsMatch):
            list(client.list_identifiers(metadata_prefix="oai_dc", set_="sdg:1"))
        with pytest.raises(BadArgument):
            list(client.list_identifiers(metadata_prefix="oai_dc", from_="2020-01-01", until="2019-01-01"))


def test_incremental_harvest_sees_changes_and_deletions(endpoint: str, graph_any_hub: Hub) -> None:
    hub = graph_any_hub
    with Scythe(endpoint) as client:
        first = {h.identifier for h in client.list_identifiers(metadata_prefix="oai_dc")}
        time.sleep(1.1)  # datestamps have seconds granularity
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with pytest.raises(NoRecordsMatch):
            list(client.list_identifiers(metadata_prefix="oai_dc", from_=since))
        hub.upsert([Person(id="per_ana", name="Ana M. Silva", given_name="Ana", family_name="Silva",
                           email="ana@example.org", country="PT", homepage="https://ana.example",
                           tags=["urban heat"], languages=["pt", "en"], external_ids={"orcid": "0000-0002-1825-0097"}),
                    Organization(id="org_new", name="New Climate Office", org_type="local_government", country="PT")],
                   changed_by="tests:edit")
        hub.store.delete_record("doc_news", changed_by="tests:delete")
        restricted = Organization(id="org_ngo", name="Org ngo", org_type="ngo", visibility="private", owner="lab")
        hub.upsert([restricted], changed_by="tests:restrict")
        changed = {r.header.identifier: r for r in client.list_records(metadata_prefix="oai_dc", from_=since)}
        assert set(changed) == {"oai:cb.test:per_ana", "oai:cb.test:org_new", "oai:cb.test:doc_news",
                                "oai:cb.test:org_ngo"}
        assert changed["oai:cb.test:per_ana"].metadata["title"] == ["Ana M. Silva"]
        assert changed["oai:cb.test:doc_news"].deleted and changed["oai:cb.test:org_ngo"].deleted
        assert not changed["oai:cb.test:org_new"].deleted
        assert "oai:cb.test:org_new" not in first
        # a deleted record stays answerable, as deleted; a date-only until covers its whole day
        assert client.get_record(identifier="oai:cb.test:doc_news").deleted
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        upto = {h.identifier for h in client.list_identifiers(metadata_prefix="oai_dc", until=today)}
        assert len(upto) == len(first) + 1


def test_protocol_errors(endpoint: str) -> None:
    def error(**params: str) -> str:
        resp = httpx.get(endpoint, params=params)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/xml")
        root = etree.fromstring(resp.content)
        return root.find(f"{OAI}error").get("code")

    assert error() == "badVerb"
    assert error(verb="Harvest") == "badVerb"
    assert error(verb="ListRecords") == "badArgument"
    assert error(verb="ListRecords", metadataPrefix="marc21") == "cannotDisseminateFormat"
    assert error(verb="ListRecords", metadataPrefix="oai_dc", set="kind:spaceship") == "badArgument"
    assert error(verb="ListRecords", metadataPrefix="oai_dc", **{"from": "2020-01-01",
                                                                 "until": "2021-01-01T00:00:00Z"}) == "badArgument"
    assert error(verb="ListRecords", metadataPrefix="oai_dc", **{"from": "yesterday"}) == "badArgument"
    assert error(verb="ListRecords", resumptionToken="not-a-token") == "badResumptionToken"
    assert error(verb="GetRecord", identifier="oai:elsewhere:x", metadataPrefix="oai_dc") == "idDoesNotExist"
    assert error(verb="Identify", metadataPrefix="oai_dc") == "badArgument"
    resp = httpx.post(endpoint, data={"verb": "Identify"})
    assert etree.fromstring(resp.content).find(f"{OAI}Identify/{OAI}repositoryName").text == "citybridge"
    schema = httpx.get(endpoint + "/cb_jsonld.xsd")
    assert etree.XMLSchema(etree.fromstring(schema.content)) is not None


def test_responses_validate_against_the_oai_dc_element_set(endpoint: str) -> None:
    resp = httpx.get(endpoint, params={"verb": "ListRecords", "metadataPrefix": "oai_dc"})
    root = etree.fromstring(resp.content)
    allowed = {"title", "creator", "subject", "description", "publisher", "contributor", "date", "type", "format",
               "identifier", "source", "language", "relation", "coverage", "rights"}
    dcs = root.findall(".//{http://www.openarchives.org/OAI/2.0/oai_dc/}dc")
    assert len(dcs) == 7
    for dc in dcs:
        assert {el.tag.removeprefix(DC) for el in dc} <= allowed
        assert all(el.tag.startswith(DC) for el in dc)
    token = root.find(f".//{OAI}resumptionToken")
    assert token is not None and token.text and token.get("cursor") == "0"
    assert int(token.get("completeListSize")) > 200
