"""The demo pack as the clients of research and open-data systems see it: linked data checked, harvested by a
real OAI-PMH client, the DCAT catalogue validated.

    .venv/bin/python benchmarks/check_interop.py [--data-dir DIR] [--shacl-sample 300] [--json]

Without ``--data-dir`` the demo pack (``data/demo``) is loaded into a temporary folder first (timed apart);
with it, that store is copied first so it is left as it was. Then:

1. the JSON-LD export of everything is parsed with rdflib (triples, seconds); every schema.org term is checked
   against the vendored schema.org vocabulary (``citybridge.interop.checks``), the Turtle export is parsed too,
   and up to ``--shacl-sample`` records of each kind (with every node they reach) are validated with the SHACL
   shapes of ``tests/interop/shapes-records.ttl`` (pyshacl);
2. the app is served on 127.0.0.1 and harvested by oaipmh-scythe: ListIdentifiers and ListRecords (oai_dc) of
   everything, then records are changed, one deleted and one made private, and an incremental harvest
   ``from`` just before the changes must return exactly those;
3. the DCAT catalogue is validated with ``tests/interop/shapes-dcat-ap.ttl``.

Figures on stdout (``--json``: pure JSON; progress on stderr). A measurement and a check, never asserted on
time.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def linked_data(hub: Any, sample: int) -> dict[str, Any]:
    import rdflib
    from pyshacl import validate

    from citybridge.interop.checks import schema_term_problems
    from citybridge.interop.vocabulary import vocab_namespace

    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    buf = io.StringIO()
    items = hub.export(buf, "jsonld")
    out["jsonld_items"] = items
    out["jsonld_export_s"] = round(time.perf_counter() - t0, 2)
    out["jsonld_mb"] = round(len(buf.getvalue().encode()) / 1e6, 1)
    t0 = time.perf_counter()
    graph = rdflib.Graph().parse(data=buf.getvalue(), format="json-ld")
    out["jsonld_parse_s"] = round(time.perf_counter() - t0, 2)
    out["triples"] = len(graph)
    del buf
    log(f"json-ld: {items:,} items, {len(graph):,} triples")
    t0 = time.perf_counter()
    problems = schema_term_problems(graph, vocab_namespace(hub.settings.iri_base))
    out["term_check_s"] = round(time.perf_counter() - t0, 2)
    out["schema_term_problems"] = problems
    sdo = "https://schema.org/"
    out["schema_terms_used"] = len({str(p) for _, p, _ in graph if str(p).startswith(sdo)}
                                   | {str(o) for o in graph.objects(None, rdflib.RDF.type) if str(o).startswith(sdo)})
    log(f"schema.org terms: {out['schema_terms_used']} used, {len(problems)} problems")
    t0 = time.perf_counter()
    tbuf = io.StringIO()
    hub.export(tbuf, "ttl")
    turtle = rdflib.Graph().parse(data=tbuf.getvalue(), format="turtle")
    out["turtle_export_parse_s"] = round(time.perf_counter() - t0, 2)
    out["turtle_triples"] = len(turtle)
    del tbuf, turtle
    # SHACL on a sample of each kind: the records and every node they reach
    shapes = rdflib.Graph().parse(ROOT / "tests/interop/shapes-records.ttl", format="turtle")
    shapes_text = shapes.serialize(format="turtle").replace("http://cb.test/vocab#",
                                                             vocab_namespace(hub.settings.iri_base))
    shapes = rdflib.Graph().parse(data=shapes_text, format="turtle")
    kind_p = rdflib.URIRef(vocab_namespace(hub.settings.iri_base) + "kind")
    by_kind: dict[str, list[Any]] = {}
    for s, _, k in graph.triples((None, kind_p, None)):
        by_kind.setdefault(str(k), []).append(s)
    out["shacl"] = {}
    for kind, nodes in sorted(by_kind.items()):
        sub = rdflib.Graph()
        todo = sorted(nodes)[:sample]
        seen = set()
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            for triple in graph.triples((node, None, None)):
                sub.add(triple)
                if isinstance(triple[2], rdflib.BNode):
                    todo.append(triple[2])
                elif isinstance(triple[2], rdflib.URIRef):  # a linked node's type, for the shapes' sh:class
                    for typed in graph.triples((triple[2], rdflib.RDF.type, None)):
                        sub.add(typed)
        t0 = time.perf_counter()
        conforms, report, _ = validate(sub, shacl_graph=shapes, inference="none")
        violations = len(set(report.subjects(rdflib.RDF.type, rdflib.URIRef("http://www.w3.org/ns/shacl#ValidationResult"))))
        out["shacl"][kind] = {"records": min(sample, len(nodes)), "of": len(nodes), "conforms": bool(conforms),
                              "violations": violations, "seconds": round(time.perf_counter() - t0, 2)}
        log(f"shacl {kind}: {out['shacl'][kind]}")
    return out


def harvest(hub: Any) -> dict[str, Any]:
    from oaipmh_scythe import Scythe
    from oaipmh_scythe.exceptions import NoRecordsMatch

    from citybridge.api.app import create_app
    from citybridge.model.entities import record_from_dict
    from web.conftest import serve

    out: dict[str, Any] = {}
    with serve(create_app(hub, web=False)) as url, Scythe(url + "/oai", timeout=600) as client:
        t0 = time.perf_counter()
        ids = [h.identifier for h in client.list_identifiers(metadata_prefix="oai_dc")]
        out["list_identifiers"] = len(ids)
        out["list_identifiers_s"] = round(time.perf_counter() - t0, 2)
        out["duplicates"] = len(ids) - len(set(ids))
        public = sum(1 for b in hub.store.iter_record_dicts(None) if b.get("visibility", "public") == "public")
        out["public_records"] = public
        t0 = time.perf_counter()
        n = sum(1 for _ in client.list_records(metadata_prefix="oai_dc"))
        out["list_records_oai_dc"] = n
        out["list_records_oai_dc_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        n = sum(1 for _ in client.list_records(metadata_prefix="cb_jsonld", set_="kind:project"))
        out["list_records_cb_jsonld_projects"] = n
        out["list_records_cb_jsonld_projects_s"] = round(time.perf_counter() - t0, 2)
        try:  # an un-enriched store has no SDG tags yet: the protocol answers noRecordsMatch
            out["sdg_11_records"] = sum(1 for _ in client.list_identifiers(metadata_prefix="oai_dc", set_="sdg:11"))
        except NoRecordsMatch:
            out["sdg_11_records"] = 0
        log(f"harvest: {out}")
        time.sleep(1.1)
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        bodies = [b for b, _ in zip(hub.store.iter_record_dicts("project"), range(5), strict=False)]
        changed = []
        for body in bodies[:3]:
            body = {**body, "name": body["name"] + " (updated)"}
            changed.append(record_from_dict(body))
        hub.upsert(changed, changed_by="check_interop")
        hub.store.delete_record(bodies[3]["id"], changed_by="check_interop")
        hidden = {**bodies[4], "visibility": "private", "owner": "check"}
        hub.upsert([record_from_dict(hidden)], changed_by="check_interop")
        t0 = time.perf_counter()
        try:
            inc = {r.header.identifier.rsplit(":", 1)[1]: r.deleted
                   for r in client.list_records(metadata_prefix="oai_dc", from_=since)}
        except NoRecordsMatch:
            inc = {}
        out["incremental_s"] = round(time.perf_counter() - t0, 2)
        expected = {b["id"]: False for b in bodies[:3]} | {bodies[3]["id"]: True, bodies[4]["id"]: True}
        out["incremental_records"] = len(inc)
        out["incremental_as_expected"] = inc == expected
        log(f"incremental: {inc}")
    return out


def catalog(hub: Any) -> dict[str, Any]:
    import rdflib
    from pyshacl import validate

    graph = rdflib.Graph().parse(data=hub.catalog("ttl"), format="turtle")
    shapes = rdflib.Graph().parse(ROOT / "tests/interop/shapes-dcat-ap.ttl", format="turtle")
    ont = rdflib.Graph()
    ont.add((rdflib.URIRef("http://xmlns.com/foaf/0.1/Organization"), rdflib.RDFS.subClassOf,
             rdflib.URIRef("http://xmlns.com/foaf/0.1/Agent")))
    conforms, report, _ = validate(graph, shacl_graph=shapes, ont_graph=ont, inference="rdfs")
    dcat = "http://www.w3.org/ns/dcat#"
    return {"triples": len(graph), "conforms": bool(conforms),
            "datasets": len(set(graph.subjects(rdflib.RDF.type, rdflib.URIRef(dcat + "Dataset")))),
            "distributions": len(set(graph.subjects(rdflib.RDF.type, rdflib.URIRef(dcat + "Distribution"))))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="an existing data folder (copied first)")
    parser.add_argument("--shacl-sample", type=int, default=300, help="records per kind validated with SHACL")
    parser.add_argument("--json", action="store_true", help="pure JSON on stdout")
    args = parser.parse_args()

    from citybridge.hub import Hub
    from citybridge.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        result: dict[str, Any] = {}
        if args.data_dir:
            shutil.copytree(args.data_dir, folder)
            hub = Hub(Settings(data_dir=folder, _env_file=None))
        else:
            hub = Hub(Settings(data_dir=folder, _env_file=None))
            t0 = time.perf_counter()
            log("loading the demo pack ...")
            hub.load_demo()
            result["demo_load_s"] = round(time.perf_counter() - t0, 1)
        result["stats"] = hub.stats()["by_kind"]
        result["linked_data"] = linked_data(hub, args.shacl_sample)
        result["catalog"] = catalog(hub)
        result["oai"] = harvest(hub)
        hub.close()
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for key, value in result.items():
            print(f"{key}: {json.dumps(value)}")


if __name__ == "__main__":
    main()
