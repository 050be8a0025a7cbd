"""A DCAT catalogue of the instance's public exports, in the shape CKAN's DCAT harvester (ckanext-dcat) reads.

One ``dcat:Catalog`` with one ``dcat:Dataset`` per kind (and one for relations), each with a distribution per
export format (``dcat:accessURL``/``dcat:downloadURL`` to ``/api/v1/export``, ``dcat:mediaType``,
``dct:format``, ``dct:license``), ``dct:identifier``, ``dct:title``, ``dct:description``, ``dct:issued`` and
``dct:modified`` from the store, ``dct:publisher`` and ``dcat:contactPoint``; the OAI-PMH endpoint is a
``dcat:DataService``. Built with rdflib, so JSON-LD and Turtle are the same graph.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from citybridge.model.entities import Kind
from citybridge.store import Store
from citybridge.store import tables as t

FORMATS = {  # export format -> (media type, IANA media type IRI, EU file type)
    "jsonl": ("application/x-ndjson", None, "JSON"),
    "csv": ("text/csv", "https://www.iana.org/assignments/media-types/text/csv", "CSV"),
    "jsonld": ("application/ld+json", "https://www.iana.org/assignments/media-types/application/ld+json",
               "JSON_LD"),
    "ttl": ("text/turtle", "https://www.iana.org/assignments/media-types/text/turtle", "RDF_TURTLE"),
}
EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
LICENCE_DEFAULT = "https://creativecommons.org/licenses/by/4.0/"
TITLES = {"organization": "Organisations", "person": "People", "project": "Projects and programmes",
          "document": "Documents (papers, reports, news, guidelines)", "opportunity": "Funding calls and events",
          "place": "Places (cities, regions, countries)", "theme": "Themes (SDGs, pathways)",
          "relation": "Relations between records"}


def catalog_graph(store: Store, *, base: str, api_base: str, publisher: str, email: str,
                  licence: str = LICENCE_DEFAULT) -> Any:
    """The catalogue as an rdflib Graph. ``base`` is the instance base IRI, ``api_base`` where its API answers."""
    from rdflib import BNode, Graph, Literal, Namespace, URIRef
    from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

    vcard = Namespace("http://www.w3.org/2006/vcard/ns#")
    g = Graph()
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", vcard)):
        g.bind(prefix, ns)
    base = base.rstrip("/")
    api = api_base.rstrip("/")
    stats = _stats(store)
    catalog = URIRef(f"{base}/api/v1/catalog")
    agent = URIRef(f"{base}/#publisher")
    g.add((agent, RDF.type, FOAF.Organization))
    g.add((agent, FOAF.name, Literal(publisher)))
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCTERMS.title, Literal(f"{publisher}: open knowledge on urban sustainability", lang="en")))
    g.add((catalog, DCTERMS.description, Literal(
        "Organisations, people, projects, documents, funding calls, places and themes on urban sustainability, "
        "with their relations, as exported by a citybridge instance (public records only).", lang="en")))
    g.add((catalog, DCTERMS.publisher, agent))
    g.add((catalog, DCTERMS.license, URIRef(licence)))
    g.add((catalog, FOAF.homepage, URIRef(base + "/")))
    g.add((catalog, DCTERMS.language, URIRef("http://publications.europa.eu/resource/authority/language/ENG")))
    modified_all = max((s["modified"] for s in stats.values() if s["modified"]), default=None)
    if modified_all:
        g.add((catalog, DCTERMS.modified, Literal(modified_all, datatype=XSD.dateTime)))

    service = URIRef(f"{base}/oai#service")
    g.add((catalog, DCAT.service, service))
    g.add((service, RDF.type, DCAT.DataService))
    g.add((service, DCTERMS.title, Literal("OAI-PMH 2.0 endpoint (oai_dc, cb_jsonld)", lang="en")))
    g.add((service, DCAT.endpointURL, URIRef(f"{base}/oai")))
    g.add((service, DCTERMS.conformsTo, URIRef("http://www.openarchives.org/OAI/2.0/")))
    g.add((service, DCTERMS.license, URIRef(licence)))

    for name, info in stats.items():
        if not info["count"]:
            continue
        ds = URIRef(f"{base}/api/v1/catalog#{name}")
        g.add((catalog, DCAT.dataset, ds))
        g.add((ds, RDF.type, DCAT.Dataset))
        g.add((ds, DCTERMS.identifier, Literal(f"citybridge-{name}")))
        g.add((ds, DCTERMS.title, Literal(TITLES[name], lang="en")))
        g.add((ds, DCTERMS.description, Literal(
            f"{info['count']:,} public {name} records" if name != "relation" else
            f"{info['count']:,} public relations between records", lang="en")))
        g.add((ds, DCTERMS.publisher, agent))
        g.add((ds, DCTERMS.license, URIRef(licence)))
        g.add((ds, DCAT.keyword, Literal(name, lang="en")))
        g.add((ds, DCAT.keyword, Literal("urban sustainability", lang="en")))
        g.add((ds, DCAT.landingPage, URIRef(base + "/browse")))
        if info["issued"]:
            g.add((ds, DCTERMS.issued, Literal(info["issued"], datatype=XSD.dateTime)))
        if info["modified"]:
            g.add((ds, DCTERMS.modified, Literal(info["modified"], datatype=XSD.dateTime)))
        contact = BNode()
        g.add((ds, DCAT.contactPoint, contact))
        g.add((contact, RDF.type, vcard.Kind))
        g.add((contact, vcard.fn, Literal(publisher)))
        g.add((contact, vcard.hasEmail, URIRef(f"mailto:{email}")))
        for fmt, (media, iana, file_type) in FORMATS.items():
            dist = URIRef(f"{base}/api/v1/catalog#{name}-{fmt}")
            url = URIRef(f"{api}/export?format={fmt}&kind={name}")
            g.add((ds, DCAT.distribution, dist))
            g.add((dist, RDF.type, DCAT.Distribution))
            g.add((dist, DCTERMS.title, Literal(f"{TITLES[name]} ({fmt})", lang="en")))
            g.add((dist, DCAT.accessURL, url))
            g.add((dist, DCAT.downloadURL, url))
            g.add((dist, DCAT.mediaType, URIRef(iana) if iana else Literal(media)))
            g.add((dist, DCTERMS.format, URIRef(EU_FILE_TYPE + file_type)))
            g.add((dist, DCTERMS.license, URIRef(licence)))
            if info["modified"]:
                g.add((dist, DCTERMS.modified, Literal(info["modified"], datatype=XSD.dateTime)))
            if fmt in ("jsonld", "ttl"):
                g.add((dist, DCTERMS.conformsTo, URIRef("https://schema.org/")))
    return g


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stats(store: Store) -> dict[str, dict[str, Any]]:
    """Per kind (and relations): how many public items, first and last change."""
    out: dict[str, dict[str, Any]] = {}
    r, rel = t.records.c, t.relations.c
    with store.engine.connect() as conn:
        rows = {row.kind: row for row in conn.execute(
            select(r.kind, func.count(), func.min(r.created_at), func.max(r.updated_at))
            .where(r.visibility == "public").group_by(r.kind))}
        rrow = conn.execute(select(func.count(), func.min(rel.created_at), func.max(rel.updated_at))
                            .where(rel.visibility == "public")).first()
    for kind in Kind:
        row = rows.get(kind.value)
        out[kind.value] = {"count": row[1] if row else 0, "issued": _iso(row[2]) if row else None,
                           "modified": _iso(row[3]) if row else None}
    out["relation"] = {"count": rrow[0] if rrow else 0, "issued": _iso(rrow[1]) if rrow else None,
                       "modified": _iso(rrow[2]) if rrow else None}
    return out
