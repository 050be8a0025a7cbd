"""Checks of exported linked data against schema.org and the citybridge vocabulary (used by the tests and by
``benchmarks/check_interop.py``)."""

from __future__ import annotations

from typing import Any

from citybridge.interop.vocabulary import SCHEMA, TERMS, schema_properties, schemaorg_terms

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def schema_term_problems(graph: Any, vocab: str) -> list[str]:
    """Every schema.org class and property of an rdflib graph checked against the vendored schema.org vocabulary
    (a property must be defined for one of its subject's types, and not be deprecated); every other term must be
    a documented citybridge term. Returns the problems found, sorted (empty: all good)."""
    terms = schemaorg_terms()
    deprecated = set(terms["deprecated"])
    problems: set[str] = set()
    types_of: dict[Any, list[str]] = {}
    for s, _, o in graph.triples((None, _iri(RDF_TYPE), None)):
        if str(o).startswith(SCHEMA):
            types_of.setdefault(s, []).append(str(o)[len(SCHEMA):])
    for s, p, o in graph:
        if str(p) == RDF_TYPE:
            if str(o).startswith(SCHEMA) and str(o)[len(SCHEMA):] not in terms["types"]:
                problems.add(f"unknown type {o}")
            elif str(o).startswith(vocab) and str(o)[len(vocab):] not in TERMS:
                problems.add(f"undocumented class {o}")
            elif not str(o).startswith((SCHEMA, vocab)):
                problems.add(f"foreign class {o}")
            continue
        if str(p).startswith(vocab):
            if str(p)[len(vocab):] not in TERMS:
                problems.add(f"undocumented citybridge term {p}")
            continue
        if not str(p).startswith(SCHEMA):
            problems.add(f"foreign property {p}")
            continue
        name = str(p)[len(SCHEMA):]
        if name in deprecated:
            problems.add(f"deprecated property {name}")
        types = types_of.get(s, [])
        if not types:
            problems.add(f"{name} on an untyped node")
        elif not any(name in schema_properties(t) for t in types):
            problems.add(f"{name} is not a property of {'/'.join(sorted(types))}")
    return sorted(problems)


def _iri(text: str) -> Any:
    from rdflib import URIRef

    return URIRef(text)
