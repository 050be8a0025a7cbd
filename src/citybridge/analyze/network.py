"""The collaboration graph around one record: partners via shared projects, co-authors via shared documents,
members and affiliations, funders; what a caller may not see is left out."""

from __future__ import annotations

from typing import Any

from citybridge.model.access import Caller, can_see
from citybridge.model.entities import Kind
from citybridge.store.repository import Store

#: relation types that make up collaboration; ``located_in`` only from a place at the centre
COLLABORATION = frozenset({"partner_in", "leads", "authored", "member_of", "affiliated_with", "funded_by"})


def collaboration_graph(store: Store, caller: Caller, center_id: str, *, depth: int = 2, max_nodes: int = 150,
                        fanout: int = 40) -> dict[str, Any]:
    """Nodes and edges within ``depth`` collaboration steps of ``center_id`` (the record must be visible).

    Returns ``{"center", "nodes": [{id, name, kind, subtype, depth}], "edges": [{source, target, type,
    role}], "collaborators": [{id, name, kind, via}], "truncated": bool}``; ``collaborators`` are the nodes
    two steps away of the centre's own kind (e.g. partner organisations, co-authors) by how many projects,
    documents or organisations they share with it.
    """
    center = store.get(center_id)
    if not can_see(center.visibility, center.owner, caller):
        from citybridge.errors import NotFound

        raise NotFound(f"no record with id '{center_id}'")
    nodes: dict[str, dict[str, Any]] = {center.id: _node(center, 0)}
    edges: dict[str, dict[str, Any]] = {}
    frontier = [center.id]
    truncated = False
    for level in range(1, depth + 1):
        found: dict[str, list[Any]] = {}
        for node_id in frontier:
            types = COLLABORATION | ({"located_in"} if nodes[node_id]["kind"] == Kind.place.value else set())
            rels = [r for r in store.relations_of(node_id, limit=fanout * 4) if r.type.value in types
                    and can_see(r.visibility, r.owner, caller)]
            if len(rels) > fanout:
                truncated = True
                rels = rels[:fanout]
            for rel in rels:
                other = rel.target if rel.source == node_id else rel.source
                found.setdefault(other, []).append(rel)
        records = store.get_many(o for o in found if o not in nodes)
        next_frontier = []
        for other, rels in found.items():
            rec = records.get(other)
            if other not in nodes:
                if rec is None or rec.kind in (Kind.theme, Kind.place) or not can_see(rec.visibility, rec.owner,
                                                                                      caller):
                    continue
                if len(nodes) >= max_nodes:
                    truncated = True
                    continue
                nodes[other] = _node(rec, level)
                next_frontier.append(other)
            for rel in rels:
                edges[rel.id] = {"source": rel.source, "target": rel.target, "type": rel.type.value,
                                 "role": rel.role}
        frontier = next_frontier
    return {"center": center.id, "nodes": list(nodes.values()), "edges": list(edges.values()),
            "collaborators": _collaborators(center.id, nodes, edges.values()), "truncated": truncated}


def _node(rec: Any, depth: int) -> dict[str, Any]:
    return {"id": rec.id, "name": rec.name, "kind": rec.kind.value, "subtype": rec.subtype, "depth": depth}


def _collaborators(center: str, nodes: dict[str, dict[str, Any]], edges: Any) -> list[dict[str, Any]]:
    kind = nodes[center]["kind"]
    near = {e["source"] if e["target"] == center else e["target"] for e in edges if center in (e["source"],
                                                                                                  e["target"])}
    via: dict[str, set[str]] = {}
    for e in edges:
        for a, b in ((e["source"], e["target"]), (e["target"], e["source"])):
            if a in near and b != center and b in nodes and nodes[b]["kind"] == kind:
                via.setdefault(b, set()).add(a)
    ranked = sorted(via.items(), key=lambda kv: (-len(kv[1]), nodes[kv[0]]["name"]))
    return [{"id": i, "name": nodes[i]["name"], "kind": nodes[i]["kind"], "via": len(v)} for i, v in ranked]
