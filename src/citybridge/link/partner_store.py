"""The consortium builder over the store: builds the :class:`PartnerGraph` from records, ``partner_in``/``leads``
relations and expertise profiles (what the caller may see), turns a text or a project into a query, and
calls the pure core :func:`citybridge.link.partners.suggest_partners`. ``Hub.suggest_partners`` is a thin
wrapper around :func:`suggest_for_store`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from sqlalchemy import select

from citybridge.errors import Invalid, NotFound
from citybridge.link._derived import caller_key, is_public, label_name, label_names, shared_index, visible
from citybridge.link.partner_graph import Participation, PartnerGraph
from citybridge.link.partner_signals import PartnerQuery
from citybridge.link.partners import PartnerConstraints, PartnerSuggestion, suggest_partners
from citybridge.model.access import ANONYMOUS, Caller, can_see
from citybridge.model.entities import Organization, Project, Record
from citybridge.store import tables as t
from citybridge.store.enrichment import EnrichmentStore
from citybridge.store.repository import Store

PROFILE_LABELS = ("sdg:", "pathway:", "kw:")


def partner_graph(hub: Any, caller: Caller = ANONYMOUS) -> PartnerGraph:
    """The partner graph of what ``caller`` may see, for the store's current state (cached; anonymous
    visitors' graph is the artifact every process maps, see :mod:`citybridge.link.artifacts`)."""
    return shared_index(hub, "partner_graph", caller, PartnerGraph,  # type: ignore[no-any-return]
                        lambda: graph_from_store(hub.store, caller), share=is_public(caller))


def graph_from_store(store: Store, caller: Caller = ANONYMOUS) -> PartnerGraph:
    """Organisations, projects and their participations the caller may see, with expertise profiles."""
    key = caller_key(caller)
    r = t.records.c
    orgs: dict[str, dict[str, Any]] = {}
    projects: dict[str, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        q = (select(r.id, r.name, r.subtype, r.country, r.visibility, r.owner, r.data)
             .where(r.kind == "organization").order_by(r.id))
        for row in conn.execute(q):
            if not visible(row.visibility, row.owner, key):
                continue
            org_type = row.subtype or "other"
            if org_type == "other" and "public body" in (json.loads(row.data).get("tags") or []):
                org_type = "public_body"  # CORDIS PUB
            orgs[row.id] = {"name": row.name, "country": row.country, "type": org_type}
        pq = select(r.id, r.name, r.year, r.visibility, r.owner, r.data).where(r.kind == "project").order_by(r.id)
        for prow in conn.execute(pq):
            if visible(prow.visibility, prow.owner, key):
                projects[prow.id] = {"name": prow.name, "year": prow.year,
                                     "parts": project_parts(json.loads(prow.data))}
        c = t.relations.c
        rq = select(c.type, c.source_id, c.target_id, c.role, c.visibility, c.owner).where(
            c.type.in_(["partner_in", "leads"])).order_by(c.id)  # one order on every backend: same ties, same sums
        links = [Participation(rel.source_id, rel.target_id, "coordinator" if rel.type == "leads" else rel.role)
                 for rel in conn.execute(rq)
                 if rel.source_id in orgs and rel.target_id in projects and visible(rel.visibility, rel.owner, key)]
    graph = PartnerGraph.build(links, orgs=orgs, projects=projects)
    _attach_profiles(store, graph)
    return graph


def project_parts(body: Mapping[str, Any]) -> list[str]:
    """Programme parts of a stored project (CORDIS ``programme_parts`` codes), else its programme."""
    attrs = body.get("attributes") or {}
    codes = [str(p["code"]) for p in attrs.get("programme_parts") or () if isinstance(p, dict) and p.get("code")]
    if codes:
        return codes
    return [body["programme"]] if body.get("programme") else []


def _attach_profiles(store: Store, graph: PartnerGraph) -> None:
    from scipy import sparse

    names: dict[str, int] = {}
    rows, cols, vals = [], [], []
    vectors: dict[int, np.ndarray] = {}
    models: dict[str, int] = {}
    for prof in EnrichmentStore(store).profiles(graph.org_ids):
        i = graph.index_of(prof["entity_id"])
        for label, entry in (prof["data"].get("labels") or {}).items():
            if label.startswith(PROFILE_LABELS) and entry.get("sum", 0) > 0:
                rows.append(i)
                cols.append(names.setdefault(label, len(names)))
                vals.append(float(entry["sum"]))
        if prof["vector"] is not None and prof["model"]:
            vectors[i] = prof["vector"]
            models[prof["model"]] = models.get(prof["model"], 0) + 1
    if names:
        m = sparse.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(graph.n_orgs, len(names)))
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        graph.label_matrix = (sparse.diags(1.0 / np.maximum(norms, 1e-9)) @ m).tocsr().astype(np.float32)
        graph.label_names = list(names)
    if models:
        model = max(models, key=lambda k: models[k])
        dim = next(len(v) for i, v in vectors.items())
        mat = np.zeros((graph.n_orgs, dim), np.float32)
        for i, v in vectors.items():
            if len(v) == dim:
                mat[i] = v
        graph.vectors, graph.vector_model = mat, model


def _resolve(hub: Any, ref: str, kind: type[Record], caller: Caller, what: str) -> Record:
    record = hub.get(ref)
    if not can_see(record.visibility, record.owner, caller):
        raise NotFound(f"no record with id '{ref}'")
    if not isinstance(record, kind):
        raise Invalid(f"'{ref}' is a {record.kind.value}, not a {kind.kind.value}", field=what)
    return record


def text_labels(hub: Any, text: str) -> dict[str, float]:
    """SDG/pathway tags and keywords of a free text, as profile labels with scores."""
    from citybridge.enrich.keywords import extract_keywords

    labels = {f"{lab.scheme}:{lab.code}": float(lab.score) for lab in hub.tag([text])[0]
              if lab.scheme != "sdg" or "." not in lab.code}
    for kw in extract_keywords([text], top_n=10)[0]:
        labels.setdefault(f"kw:{kw.phrase}", float(kw.score))
    return labels


def _embed(model: str | None, text: str) -> np.ndarray | None:
    if not model:
        return None
    from citybridge.enrich.embed import get_embedder
    from citybridge.errors import Unavailable

    try:
        emb = get_embedder(model.split("/", 1)[0])
    except (Invalid, Unavailable):
        return None
    return emb.embed([text])[0] if emb.model_id == model else None


def suggest_for_store(hub: Any, *, text: str | None = None, project: str | None = None,
                      current_partners: Iterable[str] = (),
                      constraints: PartnerConstraints | Mapping[str, Any] | None = None,
                      weights: Mapping[str, float] | None = None,
                      caller: Caller = ANONYMOUS) -> list[PartnerSuggestion]:
    """Suggest organisations for a call text and/or a stored project, given the current partners.

    Raises:
        NotFound: a partner or project id is unknown (or not visible to the caller).
        Invalid: nothing to go on (no text, project or partner), a partner that is not an organisation,
            or bad constraints/weights.
    """
    partners = list(dict.fromkeys(current_partners))
    if not (text and text.strip()) and project is None and not partners:
        raise Invalid("give a text, a project or current partners", field="text")
    cons = PartnerConstraints.of(constraints)
    cons.check()
    graph = partner_graph(hub, caller)
    records = [_resolve(hub, p, Organization, caller, "current_partners") for p in partners]
    parts: list[str] = []
    year = None
    labels: dict[str, float] = {}
    vector = None
    if project is not None:
        prj = _resolve(hub, project, Project, caller, "project")
        assert isinstance(prj, Project)
        pi = graph.project_index(prj.id)
        if pi is not None:  # its own partners are current partners too
            records += [r for r in hub.store.get_many(graph.org_ids[i] for i in graph.members_of(pi)).values()
                        if r.id not in {x.id for x in records}]
        parts = project_parts(prj.model_dump(mode="json"))
        year = prj.start_date.year if prj.start_date else None
        anns = EnrichmentStore(hub.store).annotations_for([prj.id], steps=("tags", "keywords"))
        labels = {a["label"]: float(a["score"]) for a in anns.get(prj.id, [])
                  if a["label"].startswith(("pathway:", "kw:")) or (a["label"].startswith("sdg:")
                                                                     and "." not in a["label"])}
        if not labels and (prj.description or "").strip():
            labels = text_labels(hub, f"{prj.name}. {prj.description}")
        if graph.vector_model:
            vecs = EnrichmentStore(hub.store).vectors(graph.vector_model, [prj.id])
            vector = next((v for *_rest, v in vecs), None)
    if text and text.strip():
        for label, score in text_labels(hub, text).items():
            labels[label] = max(score, labels.get(label, 0.0))
        vector = _embed(graph.vector_model, text) if vector is None else vector
    rows = [graph.index_of(r.id) for r in records if graph.has_org(r.id)]
    outside = [r for r in records if not graph.has_org(r.id)]
    query = PartnerQuery(
        partners=rows, parts=parts, year=year, labels=labels, vector=vector,
        countries=[r.country for r in outside if isinstance(r, Organization) and r.country],
        types=[r.org_type.value for r in outside if isinstance(r, Organization)])
    names = label_names()
    shown = {lab: label_name(lab, names) for lab in labels}
    return suggest_partners(graph, query, cons, weights=weights, label_names=shown)


__all__ = ["graph_from_store", "project_parts", "suggest_for_store", "text_labels"]
