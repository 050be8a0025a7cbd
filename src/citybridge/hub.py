"""The one core object: :class:`Hub` opens settings and the store; every service hangs off it.

Interfaces (CLI, REST API, web pages) build a Hub and call its methods; none holds domain logic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from citybridge._hub.accounts import AccountsMixin
from citybridge._hub.analytics import AnalyticsMixin
from citybridge._hub.enrichment import EnrichMixin
from citybridge._hub.imports import ImportMixin
from citybridge._hub.intake import IntakeMixin
from citybridge._hub.interop import InteropMixin
from citybridge._hub.knowledge import KnowledgeMixin
from citybridge._hub.notify import NotifyMixin
from citybridge._hub.reliability import ReliabilityMixin
from citybridge._hub.resolution import ResolutionMixin
from citybridge._hub.services import QueryMixin
from citybridge.errors import Invalid, NotFound
from citybridge.ingest.export import Exporter, Format
from citybridge.ingest.pipeline import Importer, ImportReport
from citybridge.model.access import Caller, can_see
from citybridge.model.entities import Kind, Record
from citybridge.model.relations import Relation
from citybridge.model.taxonomy import builtin_themes
from citybridge.settings import Settings
from citybridge.store import Store

REPO_ROOT = Path(__file__).resolve().parents[2]


class Hub(AccountsMixin, ImportMixin, IntakeMixin, KnowledgeMixin, EnrichMixin, QueryMixin, ResolutionMixin,
          NotifyMixin, InteropMixin, ReliabilityMixin, AnalyticsMixin):
    """A citybridge instance: settings + store + the services built on them.

    >>> hub = Hub(Settings(data_dir="/tmp/cb-demo"))   # doctest: +SKIP
    >>> hub.import_files(["orgs.csv"]).created          # doctest: +SKIP
    120
    """

    def __init__(self, settings: Settings | None = None, *, store: Store | None = None) -> None:
        self.settings = settings or Settings()
        if self.settings.is_sqlite and store is None:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = store or Store.open(
            self.settings.resolved_database_url, busy_timeout_ms=self.settings.sqlite_busy_timeout_ms
        )
        self._search: Any = None

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ setup
    def init(self) -> ImportReport:
        """Make sure the schema is current and the built-in taxonomies (SDGs, pathways) are stored."""
        self.store.migrate()
        importer = Importer(self.store, changed_by="citybridge:init")
        return importer.run(_ListSource("taxonomy", builtin_themes()))

    # ------------------------------------------------------------------ reading
    def get(self, record_id: str, *, caller: Caller | None = None) -> Record:
        """The record with this id (or an external id written ``scheme:value``, e.g. ``ror:05abc``); the id of
        a record merged into another gives the record that absorbed it.

        With a ``caller``, a record they may not see is reported as not found (its existence is not revealed);
        without one (the local CLI) everything is visible.
        """
        try:
            record = self.store.get(record_id)
        except NotFound:
            scheme, sep, value = record_id.partition(":")
            if sep and value:
                record = self.store.find_by_external(scheme, value)
            else:
                from citybridge.store.merges import MergeStore

                survivor = MergeStore(self.store).redirect(record_id)
                if survivor is None:
                    raise
                record = self.store.get(survivor)
        if caller is not None and not can_see(record.visibility, record.owner, caller):
            raise NotFound(f"no record with id '{record_id}'")
        return record

    def relations(self, record_id: str, *, caller: Caller | None = None, rel_type: str | None = None,
                  limit: int = 500) -> list[dict[str, Any]]:
        """A record's relations, each with the id, name and kind of the record at its other end; relations
        (or other ends) the caller may not see are left out."""
        record = self.get(record_id, caller=caller)
        rels = self.store.relations_of(record.id, rel_type=rel_type, limit=limit)
        others = self.store.get_many({r.target if r.source == record.id else r.source for r in rels})
        relations = []
        for rel in rels:
            outgoing = rel.source == record.id
            other = others.get(rel.target if outgoing else rel.source)
            if caller is not None and not (can_see(rel.visibility, rel.owner, caller) and other is not None
                                           and can_see(other.visibility, other.owner, caller)):
                continue
            relations.append({
                "id": rel.id, "type": rel.type.value, "direction": "out" if outgoing else "in",
                "role": rel.role, "other_id": other.id if other else None,
                "other_name": other.name if other else None, "other_kind": other.kind.value if other else None,
                "start_date": rel.start_date.isoformat() if rel.start_date else None,
                "end_date": rel.end_date.isoformat() if rel.end_date else None,
            })
        return relations

    def show(self, record_id: str, *, caller: Caller | None = None) -> dict[str, Any]:
        """A record with its relations (and the names of the records at their other ends), annotations with
        evidence, and history; with a ``caller``, only what they may see."""
        record = self.get(record_id, caller=caller)
        relations = self.relations(record.id, caller=caller)
        anns = self.annotations(record.id)
        targets = self.store.get_many({a["target_id"] for v in anns.values() for a in v if a["target_id"]})
        for step, items in list(anns.items()):
            kept = []
            for a in items:
                target = targets.get(a["target_id"]) if a["target_id"] else None
                if caller is not None and target is not None and not can_see(target.visibility, target.owner,
                                                                             caller):
                    continue
                a["name"] = target.name if target else a["label"].split(":", 1)[1]
                kept.append(a)
            anns[step] = kept
        return {
            "record": record,
            "version": self.store.version_of(record.id),
            "relations": relations,
            "history": self.store.history(record.id),
            "languages": anns.get("language", []),
            "tags": anns.get("tags", []),
            "places": anns.get("places", []),
            "keywords": anns.get("keywords", []),
        }

    def list(self, kind: str | None = None, *, subtype: str | None = None, country: str | None = None,
             after: str | None = None, limit: int = 50, caller: Caller | None = None) -> list[Record]:
        """Records ordered by id (cursor pagination: pass the last id as ``after``), only those ``caller``
        may see when one is given."""
        if kind is not None and kind not in {k.value for k in Kind}:
            raise Invalid(f"unknown kind '{kind}' (one of: {', '.join(k.value for k in Kind)})", field="kind")
        if not 1 <= limit <= 1000:
            raise Invalid("limit must be between 1 and 1000", field="limit")
        if caller is not None:
            from citybridge.store.visible import VisibleReads

            return VisibleReads(self.store).list_records(caller, kind, subtype=subtype, country=country,
                                                         after=after, limit=limit)
        return self.store.list_records(kind, subtype=subtype, country=country, after=after, limit=limit)

    def stats(self, *, caller: Caller | None = None) -> dict[str, Any]:
        """Counts of records by kind and subtype and of relations by type (what ``caller`` may see)."""
        if caller is not None:
            from citybridge.store.visible import VisibleReads

            return VisibleReads(self.store).stats(caller)
        return self.store.stats()

    def overview(self, caller: Caller, *, latest: int = 10) -> dict[str, Any]:
        """Home-page numbers: records by kind, SDG goal and UN region, the latest additions, and highlights:
        calls closing soon (open by the hub's clock), recent news, recent projects with their titles."""
        from citybridge.analyze.overview import overview

        return overview(self.store, caller, latest=latest, today=self.today())

    def map_layers(self, caller: Caller, *, layers: Iterable[str] = ("city", "organization", "project"),
                   labels: Iterable[str] = (), org_type: str | None = None, limit: int = 3000) -> dict[str, Any]:
        """Map points (cities, organisations, projects at their partners' places), filtered by SDG/pathway
        labels such as ``sdg:11``; see :func:`citybridge.analyze.geo.map_layers`."""
        from citybridge.analyze.geo import LAYERS, map_layers

        chosen = tuple(layers)
        bad = [x for x in chosen if x not in LAYERS]
        if bad:
            raise Invalid(f"unknown map layer '{bad[0]}' (one of: {', '.join(LAYERS)})", field="layer")
        return map_layers(self.store, caller, layers=chosen, labels=tuple(labels), org_type=org_type, limit=limit)

    def network(self, record_id: str, *, caller: Caller, depth: int = 2, max_nodes: int = 150) -> dict[str, Any]:
        """The collaboration graph around a record; see :func:`citybridge.analyze.network.collaboration_graph`."""
        from citybridge.analyze.network import collaboration_graph

        if not 1 <= depth <= 3:
            raise Invalid("depth must be 1, 2 or 3", field="depth")
        record = self.get(record_id, caller=caller)
        return collaboration_graph(self.store, caller, record.id, depth=depth, max_nodes=max_nodes)

    def taxonomy(self, scheme: str | None = None) -> list[Record]:
        """Theme records (SDGs, pathways, user taxonomies), optionally of one scheme, ordered by scheme."""
        themes = [r for r in self.store.iter_records("theme") if scheme is None or r.scheme == scheme]  # type: ignore[attr-defined]
        return sorted(themes, key=lambda r: (r.scheme, _code_key(r.code)))  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ writing
    def upsert(self, records: Iterable[Record], *, changed_by: str | None = None) -> ImportReport:
        items = list(records)
        importer = Importer(self.store, batch_size=self.settings.import_batch, changed_by=changed_by or "api")
        report = importer.run(_ListSource("api", items))
        self.audit(changed_by, "update", [r.id for r in items if r.id][:1000], [], report.counts())
        return report

    def relate(self, relations: Iterable[Relation], *, changed_by: str | None = None) -> ImportReport:
        items = list(relations)
        importer = Importer(self.store, batch_size=self.settings.import_batch, changed_by=changed_by or "api")
        report = importer.run(_ListSource("api", items))
        self.audit(changed_by, "relate", [r.id for r in items if getattr(r, "id", None)][:1000], [],
                   report.counts())
        return report

    def save(self, record: Record, *, caller: Caller | None = None, changed_by: str | None = None,
             expected_version: int | None = None) -> tuple[str, str]:
        """Create or update one record (matched by id, then external ids); returns ``(status, id)``.

        Raises Invalid with the reason when the store rejects it. With a non-curator ``caller``, a record
        they may not see is never changed: its id is not found, and its external ids are a conflict.
        With ``expected_version`` (an API ``If-Match``, the web edit form's hidden version), the record is
        changed only if it is still at that version — checked and written in one transaction, so of two
        writers who read the same version exactly one wins — else Conflict (409) names the current version.
        The write is audited (who, through which interface, the fields changed; a visibility change also as
        its own ``visibility`` entry).
        """
        before = self.store.get(record.id) if record.id and self.store.exists(record.id) else None
        import io
        import json

        if caller is not None and not caller.curator:
            if record.id and self.store.exists(record.id):
                self.get(record.id, caller=caller)
            pairs = list(record.external_ids.items())
            matches = self.store.resolve_external(pairs) if pairs else {}
            for (scheme, _value), rid in matches.items():
                other = self.store.get(rid)
                if not can_see(other.visibility, other.owner, caller):
                    from citybridge.errors import Conflict

                    raise Conflict(f"external id {scheme} is already held by another record",
                                   field=f"external_ids.{scheme}")

        if expected_version is not None:
            status, rid = self._save_at_version(record, expected_version, changed_by or "api")
        else:
            log = io.StringIO()
            importer = Importer(self.store, batch_size=1, changed_by=changed_by or "api", row_log=log)
            report = importer.run(_ListSource("api", [record]))
            if report.rejected:
                rej = report.rejections[0]
                raise Invalid(rej["reason"] or "rejected", field=rej.get("field"))
            entry = json.loads(log.getvalue().splitlines()[-1])
            status, rid = entry["status"], entry["id"]
        if status in ("created", "updated"):
            self._audit_save(changed_by, status, before, rid)
        return status, rid

    def _save_at_version(self, record: Record, expected: int, changed_by: str) -> tuple[str, str]:
        from sqlalchemy import update
        from sqlalchemy.exc import DBAPIError

        from citybridge.errors import Conflict
        from citybridge.store import tables as t

        if not record.id:
            raise Invalid("If-Match needs the record's id", field="id")
        try:
            with self.store.engine.begin() as conn:
                # claim the row at the expected version first: this write locks it (PostgreSQL) or the
                # database (SQLite) until commit, so a concurrent writer waits, then finds the version moved
                claim = conn.execute(update(t.records).where(t.records.c.id == record.id,
                                                             t.records.c.version == expected)
                                     .values(version=t.records.c.version))
                if claim.rowcount != 1:
                    raise Conflict(f"the record changed meanwhile: it is at version "
                                   f"{self.store.version_of(record.id) if self.store.exists(record.id) else 0}, "
                                   f"not {expected}", field="version")
                outcome = self.store.upsert_records([record], changed_by=changed_by, conn=conn)[0]
                if outcome.status == "rejected":
                    raise Invalid(outcome.reason or "rejected", field=outcome.field)
        except DBAPIError as exc:
            raise Invalid(f"the store refused the record: {str(exc.orig).splitlines()[0]}") from exc
        return outcome.status, outcome.id or record.id

    def _audit_save(self, changed_by: str | None, status: str, before: Record | None, rid: str) -> None:
        from citybridge.model.entities import record_to_dict

        after = record_to_dict(self.store.get(rid))
        old = record_to_dict(before) if before is not None else {}
        skip = {"updated_at", "created_at", "version"}
        fields = sorted(k for k in set(after) | set(old) if k not in skip and after.get(k) != old.get(k))
        self.audit(changed_by, "create" if status == "created" else "update", [rid], fields)
        if before is not None and ("visibility" in fields or "owner" in fields):
            self.audit(changed_by, "visibility", [rid], [f for f in fields if f in ("visibility", "owner")],
                       {"visibility": [old.get("visibility"), after.get("visibility")],
                        "owner": [old.get("owner"), after.get("owner")]})

    def unrelate(self, relation_id: str, *, caller: Caller | None = None, changed_by: str | None = None) -> None:
        """Delete one relation (kept in history); one the caller may not see is not found."""
        from citybridge.store.visible import VisibleReads

        rel = VisibleReads(self.store).get_relation(relation_id)
        if caller is not None:
            for end in (rel.source, rel.target):
                self.get(end, caller=caller)
            if not can_see(rel.visibility, rel.owner, caller):
                raise NotFound(f"no relation with id '{relation_id}'", field="relation_id")
        self.store.delete_relation(rel.id, changed_by=changed_by)
        self.audit(changed_by, "unrelate", [rel.id, rel.source, rel.target])

    def delete(self, record_id: str, *, changed_by: str | None = None, caller: Caller | None = None) -> None:
        rid = self.get(record_id, caller=caller).id
        self.store.delete_record(rid, changed_by=changed_by)
        self.audit(changed_by, "delete", [rid])

    def export(self, out: IO[str], fmt: Format = "jsonl", *, kind: str | None = None,
               caller: Caller | None = None) -> int:
        """Stream the store to ``out`` as jsonl, csv, jsonld or ttl (only what ``caller`` may see, when given);
        returns the number of items."""
        return Exporter(self.store, keep=self._export_keep(caller), base=self.settings.iri_base).write(
            out, fmt, kind=kind)

    def export_parquet(self, folder: Path, *, caller: Caller | None = None) -> dict[str, int]:
        """Write ``records.parquet``, ``relations.parquet`` and ``annotations.parquet`` into ``folder`` (only
        what ``caller`` may see, when given); returns the row count per file."""
        from citybridge.ingest.parquet import export_parquet

        return export_parquet(self.store, Path(folder), keep=self._export_keep(caller))

    def _export_keep(self, caller: Caller | None) -> Callable[[dict[str, Any]], bool] | None:
        keep = None
        if caller is not None and not caller.curator:
            from citybridge.store.visible import VisibleReads

            hidden = VisibleReads(self.store).hidden_ids(caller)

            def keep(body: dict[str, Any]) -> bool:
                if not can_see(body.get("visibility", "public"), body.get("owner"), caller):
                    return False
                return body.get("kind") != "relation" or not ({body.get("source"), body.get("target")} & hidden)

        return keep

    # ------------------------------------------------------------------ demo
    def demo_dir(self) -> Path:
        return Path(self.settings.demo_dir) if self.settings.demo_dir else REPO_ROOT / "data" / "demo"

    def load_demo(self, progress: Callable[[int], None] | None = None) -> ImportReport:
        """Load the shipped demo knowledge pack (see data/demo/SOURCES.md)."""
        folder = self.demo_dir()
        files = sorted(folder.glob("*.jsonl.gz"))
        if not files:
            raise NotFound("demo pack not found; run scripts/build_demo_pack.py", where=str(folder))
        report = self.init()
        report.merge(self.import_files(files, progress=progress, changed_by="citybridge:demo"))
        return report


def _code_key(code: str) -> tuple[Any, ...]:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in code.split("."))


class _ListSource:
    """A source over records/relations already in memory (API writes, built-in taxonomies)."""

    def __init__(self, name: str, items: list[Record | Relation]) -> None:
        self.name = name
        self._items = items

    def items(self):  # type: ignore[no-untyped-def]
        from citybridge.ingest.base import SourceItem

        for i, obj in enumerate(self._items, start=1):
            where = f"{self.name}:{i}"
            if isinstance(obj, Relation):
                yield SourceItem(where, relation=obj)
            else:
                yield SourceItem(where, record=obj)
