"""OpenAlex -> papers, people, institutions, funders, publishers and topics, with their links.

Two ways in, the same mapping:

* :class:`~citybridge.ingest.openalex_api.OpenAlexApiSource`: the REST API (an httpx client with cursor
  paging, the ``mailto`` polite pool,
  retry with backoff on 429/5xx, a search/filter query and a ``limit``) — only when the user asks for it.
* :class:`OpenAlexSnapshotSource`: snapshot files (JSON Lines, gzipped, one entity per line), a single
  entity ``.json`` or an API list response, streamed in constant memory.

A work becomes a ``Document`` (abstract rebuilt from ``abstract_inverted_index``); its authorships give
``Person`` stubs + ``authored``, and ``affiliated_with`` to institution stubs that carry their ROR ids (so
they merge with ROR records); ``referenced_works`` give ``cites`` links, kept when the cited work is
present (absent ones are only counted). Topics, SDGs and keywords are kept as source labels in
``attributes``. OpenAlex data is CC0.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from citybridge.errors import NotFound
from citybridge.ingest.base import Rejection, SourceItem, registry
from citybridge.ingest.jsonstream import iter_json_array, iter_json_lines, open_binary
from citybridge.model.entities import (
    Document,
    DocumentType,
    Organization,
    OrganizationType,
    Person,
    Provenance,
    Theme,
    normalize_external_id,
)
from citybridge.model.relations import Relation, RelationType, unchecked_relation

LICENCE = "CC0-1.0"
API = "https://api.openalex.org"
ENTITIES = ("works", "authors", "institutions", "funders", "topics", "publishers")
_DOC_TYPES = {
    "article": DocumentType.paper,
    "review": DocumentType.paper,
    "preprint": DocumentType.paper,
    "book-chapter": DocumentType.paper,
    "book": DocumentType.report,
    "report": DocumentType.report,
    "dataset": DocumentType.dataset,
    "dissertation": DocumentType.report,
    "standard": DocumentType.guideline,
}
_INST_TYPES = {
    "education": OrganizationType.university,
    "facility": OrganizationType.research_institute,
    "archive": OrganizationType.research_institute,
    "nonprofit": OrganizationType.ngo,
    "company": OrganizationType.company,
    "funder": OrganizationType.funder,
    "government": OrganizationType.other,
    "healthcare": OrganizationType.other,
}


def _rel(**fields: Any) -> Relation:
    """A relation built by this module from parsed ids: skips re-validation (the hot path of a snapshot
    import), keeping the model's invariants (distinct ends, id = key)."""
    if fields["source"] == fields["target"]:
        raise ValueError("a relation cannot point at its own source")
    rel = unchecked_relation(fields)
    rel.__dict__["id"] = rel.key()
    rel.__pydantic_fields_set__.add("id")
    return rel


def oa_id(value: str | None) -> str | None:
    """``https://openalex.org/W123`` -> ``W123``."""
    return normalize_external_id("openalex", value) if value else None


def abstract_text(inverted: dict[str, list[int]] | None) -> str | None:
    """Rebuild an abstract from OpenAlex's ``abstract_inverted_index`` (word -> positions).

    >>> abstract_text({"Cities": [0], "adapt.": [2], "must": [1]})
    'Cities must adapt.'
    """
    if not inverted:
        return None
    size = 1 + max(map(max, filter(None, inverted.values())), default=-1)
    if size > 200_000:  # a hostile index: do not allocate for it
        return None
    slots: list[str | None] = [None] * size
    for word, positions in inverted.items():
        for p in positions or ():
            slots[p] = word
    return " ".join(w for w in slots if w is not None) or None


def _prov(entity_id: str, url: str | None = None) -> list[Provenance]:
    return [
        Provenance(
            source="openalex",
            record_id=entity_id,
            licence=LICENCE,
            url=url or f"https://openalex.org/{entity_id}",
        )
    ]


def _ids(ids: dict[str, Any] | None, **extra: Any) -> dict[str, str]:
    ids = ids or {}
    out = {k: v for k, v in extra.items() if v}
    for scheme in ("doi", "orcid", "ror", "wikidata"):
        if ids.get(scheme) and scheme not in out:
            out[scheme] = ids[scheme]
    return out


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _institution_ref(inst: dict[str, Any]) -> str | None:
    if inst.get("ror"):
        return f"ror:{normalize_external_id('ror', inst['ror'])}"
    return f"openalex:{oa_id(inst['id'])}" if inst.get("id") else None


def _institution(inst: dict[str, Any], *, full: bool = False) -> Organization:
    oid = oa_id(inst["id"]) or ""
    geo = inst.get("geo") or {}
    kwargs: dict[str, Any] = {}
    if full:
        kwargs = dict(
            city=geo.get("city"),
            region=geo.get("region"),
            lat=geo.get("latitude"),
            lon=geo.get("longitude"),
            website=inst.get("homepage_url"),
            aliases=inst.get("display_name_alternatives") or [],
            acronym=(inst.get("display_name_acronyms") or [None])[0],
            attributes={
                k: v
                for k, v in {
                    "works_count": inst.get("works_count"),
                    "cited_by_count": inst.get("cited_by_count"),
                    "openalex_type": inst.get("type"),
                }.items()
                if v is not None
            },
        )
    return Organization(
        name=inst.get("display_name") or oid,
        org_type=_INST_TYPES.get(inst.get("type") or "", OrganizationType.other),
        country=inst.get("country_code") or None,
        external_ids=_ids(inst.get("ids"), openalex=oid, ror=inst.get("ror")),
        provenance=_prov(oid),
        **kwargs,
    )


def _labels(
    items: list[dict[str, Any]] | None, keep: tuple[str, ...] = ("subfield", "field", "domain")
) -> list[dict[str, Any]]:
    out = []
    for t in items or []:
        entry = {
            "id": oa_id(t.get("id")) or t.get("id"),
            "name": t.get("display_name"),
            "score": t.get("score"),
        }
        for k in keep:
            if isinstance(t.get(k), dict):
                entry[k] = t[k].get("display_name")
        out.append({k: v for k, v in entry.items() if v is not None})
    return out


class Recent:
    """Keys emitted lately (bounded): a stub seen again soon after is not emitted twice. Purely a speed-up;
    the store merges repeated stubs anyway, so forgetting (when full) is harmless."""

    def __init__(self, cap: int = 100_000) -> None:
        self.cap = cap
        self.keys: set[str] = set()

    def seen(self, key: str) -> bool:
        if key in self.keys:
            return True
        if len(self.keys) >= self.cap:
            self.keys.clear()
        self.keys.add(key)
        return False


def work_items(w: dict[str, Any], where: str, recent: Recent | None = None) -> Iterator[SourceItem]:
    """The document, people, institutions and links of one OpenAlex work."""
    recent = recent or Recent()
    wid = oa_id(w.get("id"))
    title = w.get("title") or w.get("display_name")
    if not wid or not title:
        yield SourceItem(
            where, rejection=Rejection(where, "work without an id or a title", "id" if not wid else "title")
        )
        return
    loc = w.get("primary_location") or w.get("host_venue") or {}
    src = loc.get("source") or {}
    authorships = w.get("authorships") or []
    attrs: dict[str, Any] = {"openalex_type": w.get("type"), "cited_by_count": w.get("cited_by_count")}
    prov = _prov(wid)
    for key, value in (
        ("openalex_topics", _labels(w.get("topics"))),
        ("sdgs", _labels(w.get("sustainable_development_goals"), ())),
        ("keywords", [k.get("display_name") for k in w.get("keywords") or [] if k.get("display_name")]),
        ("open_access", (w.get("open_access") or {}).get("oa_status")),
    ):
        if value:
            attrs[key] = value
    try:
        doc = Document(
            name=title[:2000],
            description=abstract_text(w.get("abstract_inverted_index")),
            doc_type=_DOC_TYPES.get(w.get("type") or "", DocumentType.paper),
            external_ids=_ids(w.get("ids"), openalex=wid, doi=w.get("doi")),
            published=_date(w.get("publication_date")),
            year=w.get("publication_year"),
            authors=[
                a["author"]["display_name"]
                for a in authorships
                if (a.get("author") or {}).get("display_name")
            ],
            url=loc.get("landing_page_url") or w.get("doi"),
            venue=src.get("display_name"),
            publisher=src.get("host_organization_name"),
            languages=[w["language"]] if w.get("language") else [],
            tags=attrs.get("keywords", []),
            attributes={k: v for k, v in attrs.items() if v is not None},
            provenance=prov,
        )
    except ValueError as exc:
        yield SourceItem(where, rejection=Rejection(where, _msg(exc)))
        return
    yield SourceItem(where, record=doc)
    me = f"openalex:{wid}"
    for pos, a in enumerate(authorships, start=1):
        author = a.get("author") or {}
        aid = oa_id(author.get("id"))
        if not aid or not author.get("display_name"):
            continue
        orcid = normalize_external_id("orcid", author["orcid"]) if author.get("orcid") else None
        pref = f"orcid:{orcid}" if orcid else f"openalex:{aid}"
        if not recent.seen(aid):
            yield SourceItem(
                f"{where} author {pos}",
                stub=True,
                record=Person(
                    name=author["display_name"],
                    provenance=_prov(aid),
                    external_ids={"openalex": aid, **({"orcid": orcid} if orcid else {})},
                ),
            )
        yield SourceItem(
            f"{where} author {pos}",
            relation=_rel(
                type=RelationType.authored,
                source=pref,
                target=me,
                role=a.get("author_position"),
                attributes={"position": pos},
                provenance=prov,
            ),
        )
        for inst in a.get("institutions") or []:
            iref = _institution_ref(inst)
            if not iref:
                continue
            if not recent.seen(iref):
                yield SourceItem(f"{where} author {pos} institution", record=_institution(inst), stub=True)
            yield SourceItem(
                f"{where} author {pos} institution",
                optional=True,
                relation=_rel(type=RelationType.affiliated_with, source=pref, target=iref, provenance=prov),
            )
    for ref in w.get("referenced_works") or []:
        rid = oa_id(ref)
        if rid and rid != wid:
            yield SourceItem(
                f"{where} cites {rid}",
                optional=True,
                relation=_rel(type=RelationType.cites, source=me, target=f"openalex:{rid}", provenance=prov),
            )


def author_items(a: dict[str, Any], where: str) -> Iterator[SourceItem]:
    aid = oa_id(a.get("id"))
    if not aid or not a.get("display_name"):
        yield SourceItem(where, rejection=Rejection(where, "author without an id or a name"))
        return
    attrs = {k: a[k] for k in ("works_count", "cited_by_count") if a.get(k) is not None}
    if a.get("topics"):
        attrs["openalex_topics"] = _labels(a["topics"][:10])
    yield SourceItem(
        where,
        record=Person(
            name=a["display_name"],
            external_ids=_ids(a.get("ids"), openalex=aid, orcid=a.get("orcid")),
            attributes=attrs,
            provenance=_prov(aid),
        ),
    )
    insts = a.get("last_known_institutions") or (
        [a["last_known_institution"]] if a.get("last_known_institution") else []
    )
    ref = f"openalex:{aid}"
    for inst in insts:
        iref = _institution_ref(inst or {})
        if iref:
            yield SourceItem(where, record=_institution(inst), stub=True)
            yield SourceItem(
                where,
                optional=True,
                relation=_rel(
                    type=RelationType.affiliated_with,
                    source=ref,
                    target=iref,
                    role="last known",
                    provenance=_prov(aid),
                ),
            )


def _org_items(o: dict[str, Any], where: str, org_type: OrganizationType, tag: str) -> Iterator[SourceItem]:
    oid = oa_id(o.get("id"))
    if not oid or not o.get("display_name"):
        yield SourceItem(where, rejection=Rejection(where, f"{tag} without an id or a name"))
        return
    ids = o.get("ids") or {}
    yield SourceItem(
        where,
        record=Organization(
            name=o["display_name"],
            org_type=org_type,
            tags=[tag],
            description=o.get("description"),
            country=o.get("country_code") or (o.get("country_codes") or [None])[0],
            website=o.get("homepage_url"),
            aliases=o.get("alternate_titles") or [],
            external_ids=_ids(ids, openalex=oid, fundref=ids.get("crossref")),
            attributes={
                k: o[k] for k in ("works_count", "grants_count", "cited_by_count") if o.get(k) is not None
            },
            provenance=_prov(oid),
        ),
    )


def topic_items(t: dict[str, Any], where: str) -> Iterator[SourceItem]:
    tid = oa_id(t.get("id"))
    if not tid or not t.get("display_name"):
        yield SourceItem(where, rejection=Rejection(where, "topic without an id or a name"))
        return
    path = {k: (t.get(k) or {}).get("display_name") for k in ("subfield", "field", "domain")}
    yield SourceItem(
        where,
        record=Theme(
            scheme="openalex-topic",
            code=tid,
            name=t["display_name"],
            description=t.get("description"),
            keywords=t.get("keywords") or [],
            level="topic",
            external_ids={"openalex": tid},
            attributes={k: v for k, v in path.items() if v},
            provenance=_prov(tid),
        ),
    )


def entity_items(obj: Any, where: str, recent: Recent | None = None) -> Iterator[SourceItem]:
    """Items of any OpenAlex entity, told apart by its id prefix (W, A, I, F, T, P)."""
    if not isinstance(obj, dict):
        yield SourceItem(where, rejection=Rejection(where, "expected a JSON object"))
        return
    prefix = (oa_id(obj.get("id")) or "?")[:1]
    try:
        if prefix == "W":
            yield from work_items(obj, where, recent)
        elif prefix == "A":
            yield from author_items(obj, where)
        elif prefix == "I":
            if not obj.get("display_name"):
                yield SourceItem(where, rejection=Rejection(where, "institution without a name"))
            else:
                yield SourceItem(where, record=_institution(obj, full=True))
        elif prefix == "F":
            yield from _org_items(obj, where, OrganizationType.funder, "funder")
        elif prefix == "P":
            yield from _org_items(obj, where, OrganizationType.company, "publisher")
        elif prefix == "T":
            yield from topic_items(obj, where)
        else:
            yield SourceItem(
                where,
                rejection=Rejection(
                    where,
                    f"OpenAlex entity '{obj.get('id')}' is not imported (works, authors, institutions, "
                    "funders, publishers and topics are)",
                ),
            )
    except ValueError as exc:
        yield SourceItem(where, rejection=Rejection(where, _msg(exc)))


def _msg(exc: Exception) -> str:
    errs = getattr(exc, "errors", None)
    if callable(errs):
        e = errs()[0]
        return f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
    return str(exc)


class OpenAlexSnapshotSource:
    """OpenAlex snapshot files: JSON Lines (``.gz`` or not), one entity per line; or a ``.json`` file
    holding one entity, an array of entities, or an API list response (``{"results": [...]}``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise NotFound("OpenAlex file not found", where=str(self.path))
        self.name = self.path.name

    def items(self) -> Iterator[SourceItem]:
        recent = Recent()
        name = self.name.lower().removesuffix(".gz")
        with open_binary(self.path) as fh:
            if name.endswith(".json"):
                head = fh.read(1).lstrip()
                fh.seek(0)
                if head == b"[":
                    elements = iter_json_array(fh)
                else:
                    import json

                    try:
                        doc = json.load(fh)
                    except RecursionError:
                        yield SourceItem(f"{self.name}:1", rejection=Rejection(f"{self.name}:1",
                                                                               "JSON nested too deeply"))
                        return
                    except ValueError as exc:
                        yield SourceItem(
                            f"{self.name}:1", rejection=Rejection(f"{self.name}:1", f"malformed JSON: {exc}")
                        )
                        return
                    for i, obj in enumerate(doc.get("results", [doc]) if isinstance(doc, dict) else [doc], 1):
                        yield from entity_items(obj, f"{self.name}:item {i}")
                    return
            else:
                elements = iter_json_lines(fh)
            for el in elements:
                where = f"{self.name}:{el.index}"
                if el.error is not None:
                    yield SourceItem(where, rejection=Rejection(where, el.error))
                else:
                    yield from entity_items(el.value, where, recent)


def _score(target: str) -> float:
    name = Path(target).name.lower()
    return 2.0 if "openalex" in name and name.endswith((".jsonl", ".jsonl.gz", ".json", ".gz")) else 0.0


registry.register("openalex", OpenAlexSnapshotSource, _score)

__all__ = [
    "ENTITIES",
    "OpenAlexSnapshotSource",
    "abstract_text",
    "entity_items",
    "work_items",
]
