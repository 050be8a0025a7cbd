"""An OAI-PMH 2.0 data provider over the store: public records only, ``oai_dc`` and ``cb_jsonld`` metadata.

* identifiers are ``oai:<host of the base IRI>:<record id>``; datestamps are the records' ``updated_at``
  (seconds, UTC), so ``from``/``until`` harvest what changed;
* a record deleted (or no longer public) is reported with ``status="deleted"`` at the time it went, read
  from the record history (``deletedRecord: persistent``);
* sets: ``kind`` with ``kind:<kind>`` for each kind, ``sdg`` with ``sdg:<goal>`` for records ``about`` a goal;
* lists come in pages of :data:`PAGE` with a resumption token that carries the query and the last
  (datestamp, id) seen, so a harvest is stable while the store changes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from sqlalchemy import and_, func, or_, select

from citybridge.interop.linked_data import LinkedData, schema_type
from citybridge.model.entities import Kind
from citybridge.model.taxonomy import SDG_SCHEME, theme_id
from citybridge.store import Store
from citybridge.store import tables as t

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
DC_NS = "http://purl.org/dc/elements/1.1/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PAGE = 200
GOALS = tuple(str(n) for n in range(1, 18))
ARGS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), {"resumptionToken"}),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
}

ET.register_namespace("", OAI_NS)
ET.register_namespace("oai_dc", OAI_DC_NS)
ET.register_namespace("dc", DC_NS)
ET.register_namespace("xsi", XSI)


class OaiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Header:
    record_id: str
    stamp: datetime
    deleted: bool
    kind: str
    data: dict[str, Any] | None


def _utc(value: datetime) -> datetime:
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).replace(microsecond=0)


def _stamp(value: datetime) -> str:
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str, *, upper: bool) -> tuple[datetime, str]:
    """(instant, granularity) of an OAI ``from``/``until`` argument; a day ``until`` means its last second."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(23, 59, 59) if upper else time(0), tzinfo=UTC)
            return moment, "day"
        if len(text) == 20 and text.endswith("Z"):
            return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC), "seconds"
    except ValueError:
        pass
    raise OaiError("badArgument", f"'{text}' is not a UTC date (YYYY-MM-DD) or time (YYYY-MM-DDThh:mm:ssZ)")


class OaiProvider:
    """Answers OAI-PMH requests (a mapping of argument -> list of values) with the response XML."""

    def __init__(self, store: Store, *, base: str, admin_email: str, name: str = "citybridge") -> None:
        self.store = store
        self.linked = LinkedData(base)
        self.base_url = self.linked.base + "/oai"
        self.host = urlsplit(self.linked.base).hostname or "localhost"
        self.admin_email = admin_email
        self.name = name

    # ------------------------------------------------------------------ entry point
    def respond(self, args: Mapping[str, Sequence[str]], *, now: datetime | None = None) -> str:
        root = ET.Element(f"{{{OAI_NS}}}OAI-PMH", {f"{{{XSI}}}schemaLocation": f"{OAI_NS} {OAI_SCHEMA}"})
        ET.SubElement(root, f"{{{OAI_NS}}}responseDate").text = _stamp(now or datetime.now(UTC))
        request = ET.SubElement(root, f"{{{OAI_NS}}}request")
        request.text = self.base_url
        try:
            verb, params = self._check(args)
            for key, value in params.items():
                request.set(key, value)
            request.set("verb", verb)
            root.append(getattr(self, f"_{verb}")(params))
        except OaiError as exc:
            ET.SubElement(root, f"{{{OAI_NS}}}error", {"code": exc.code}).text = str(exc)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")

    def _check(self, args: Mapping[str, Sequence[str]]) -> tuple[str, dict[str, str]]:
        verbs = list(args.get("verb", []))
        if len(verbs) != 1 or verbs[0] not in ARGS:
            raise OaiError("badVerb", "missing, repeated or unknown verb")
        verb = verbs[0]
        required, optional = ARGS[verb]
        params: dict[str, str] = {}
        for key, values in args.items():
            if key == "verb":
                continue
            if key not in required | optional:
                raise OaiError("badArgument", f"{verb} does not take '{key}'")
            if len(values) != 1:
                raise OaiError("badArgument", f"'{key}' is repeated")
            params[key] = values[0]
        if "resumptionToken" in params:
            if len(params) > 1:
                raise OaiError("badArgument", "resumptionToken is an exclusive argument")
            return verb, params
        missing = required - set(params)
        if missing:
            raise OaiError("badArgument", f"{verb} needs {', '.join(sorted(missing))}")
        return verb, params

    # ------------------------------------------------------------------ verbs
    def _Identify(self, params: dict[str, str]) -> ET.Element:  # noqa: N802 - OAI verb names
        el = ET.Element(f"{{{OAI_NS}}}Identify")
        with self.store.engine.connect() as conn:
            first = conn.execute(select(func.min(t.records.c.updated_at))).scalar()
            first_deleted = conn.execute(select(func.min(t.history.c.changed_at))).scalar()
        earliest = min((x for x in (first, first_deleted) if x is not None), default=datetime(2000, 1, 1),
                       key=_utc)
        for tag, text in (("repositoryName", self.name), ("baseURL", self.base_url), ("protocolVersion", "2.0"),
                          ("adminEmail", self.admin_email), ("earliestDatestamp", _stamp(earliest)),
                          ("deletedRecord", "persistent"), ("granularity", "YYYY-MM-DDThh:mm:ssZ")):
            ET.SubElement(el, f"{{{OAI_NS}}}{tag}").text = text
        return el

    def _ListMetadataFormats(self, params: dict[str, str]) -> ET.Element:  # noqa: N802
        if "identifier" in params:
            self._header(self._record_id(params["identifier"]))
        el = ET.Element(f"{{{OAI_NS}}}ListMetadataFormats")
        for prefix, schema, ns in (("oai_dc", OAI_DC_SCHEMA, OAI_DC_NS),
                                   ("cb_jsonld", self.jsonld_schema_url, self.jsonld_ns)):
            fmt = ET.SubElement(el, f"{{{OAI_NS}}}metadataFormat")
            ET.SubElement(fmt, f"{{{OAI_NS}}}metadataPrefix").text = prefix
            ET.SubElement(fmt, f"{{{OAI_NS}}}schema").text = schema
            ET.SubElement(fmt, f"{{{OAI_NS}}}metadataNamespace").text = ns
        return el

    def _ListSets(self, params: dict[str, str]) -> ET.Element:  # noqa: N802
        if "resumptionToken" in params:
            raise OaiError("badResumptionToken", "the set list is complete in one response")
        el = ET.Element(f"{{{OAI_NS}}}ListSets")
        names = {}
        with self.store.engine.connect() as conn:
            for row in conn.execute(select(t.records.c.id, t.records.c.name).where(
                    t.records.c.id.in_([theme_id(SDG_SCHEME, g) for g in GOALS]))):
                names[row.id] = row.name
        sets = [("kind", "Records by kind")] + [(f"kind:{k.value}", f"{k.value.capitalize()} records") for k in Kind]
        sets += [("sdg", "Records about a Sustainable Development Goal")]
        sets += [(f"sdg:{g}", names.get(theme_id(SDG_SCHEME, g), f"SDG {g}")) for g in GOALS]
        for spec, name in sets:
            item = ET.SubElement(el, f"{{{OAI_NS}}}set")
            ET.SubElement(item, f"{{{OAI_NS}}}setSpec").text = spec
            ET.SubElement(item, f"{{{OAI_NS}}}setName").text = name
        return el

    def _GetRecord(self, params: dict[str, str]) -> ET.Element:  # noqa: N802
        prefix = self._prefix(params["metadataPrefix"])
        header = self._header(self._record_id(params["identifier"]))
        el = ET.Element(f"{{{OAI_NS}}}GetRecord")
        el.append(self._record(header, prefix, self._sdgs([header.record_id])))
        return el

    def _ListIdentifiers(self, params: dict[str, str]) -> ET.Element:  # noqa: N802
        return self._list(params, with_metadata=False)

    def _ListRecords(self, params: dict[str, str]) -> ET.Element:  # noqa: N802
        return self._list(params, with_metadata=True)

    # ------------------------------------------------------------------ lists
    def _list(self, params: dict[str, str], *, with_metadata: bool) -> ET.Element:
        if "resumptionToken" in params:
            query = self._decode(params["resumptionToken"])
        else:
            query = {"p": self._prefix(params["metadataPrefix"]), "s": params.get("set"), "a": None, "n": 0}
            low = _parse_time(params["from"], upper=False) if "from" in params else None
            high = _parse_time(params["until"], upper=True) if "until" in params else None
            if low and high and low[1] != high[1]:
                raise OaiError("badArgument", "from and until have different granularities")
            if low and high and low[0] > high[0]:
                raise OaiError("badArgument", "from is after until")
            query["f"] = low[0].isoformat() if low else None
            query["u"] = high[0].isoformat() if high else None
            if query["s"] is not None:
                self._set_filter(query["s"])  # refuses an unknown set
        headers, more, total = self._page(query)
        if not headers:
            raise OaiError("noRecordsMatch", "no records match the request")
        verb = "ListRecords" if with_metadata else "ListIdentifiers"
        el = ET.Element(f"{{{OAI_NS}}}{verb}")
        sdgs = self._sdgs([h.record_id for h in headers])
        for header in headers:
            el.append(self._record(header, query["p"], sdgs) if with_metadata else self._header_el(header, sdgs))
        cursor = int(query["n"])
        if more or "resumptionToken" in params:
            token_el = ET.SubElement(el, f"{{{OAI_NS}}}resumptionToken",
                                     {"cursor": str(cursor), "completeListSize": str(total)})
            if more:
                last = headers[-1]
                token_el.text = self._encode({**query, "a": [_stamp(last.stamp), last.record_id],
                                              "n": cursor + len(headers)})
        return el

    def _page(self, query: dict[str, Any]) -> tuple[list[Header], bool, int]:
        low = datetime.fromisoformat(query["f"]) if query.get("f") else None
        high = datetime.fromisoformat(query["u"]) if query.get("u") else None
        after = query.get("a")
        spec = query.get("s")
        r = t.records.c
        live = [r.visibility == "public"]
        if low:
            live.append(r.updated_at >= low)
        if high:
            live.append(r.updated_at <= high)
        if spec:
            live.append(self._set_filter(spec))
        stamp_after = None
        if after:
            stamp_after = datetime.strptime(after[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        with self.store.engine.connect() as conn:
            total_live = conn.execute(select(func.count()).select_from(t.records).where(and_(*live))).scalar() or 0
            q = select(r.id, r.kind, r.updated_at, r.data).where(and_(*live))
            if stamp_after is not None:
                q = q.where(or_(r.updated_at > stamp_after + timedelta(seconds=1) - timedelta(microseconds=1),
                                and_(r.updated_at >= stamp_after,
                                     r.updated_at < stamp_after + timedelta(seconds=1), r.id > after[1])))
            rows = conn.execute(q.order_by(r.updated_at, r.id).limit(PAGE + 1)).all()
            live_headers = [Header(row.id, row.updated_at, False, row.kind, json.loads(row.data)) for row in rows]
            gone = self._gone(conn, low, high, spec)
        total = total_live + len(gone)
        if stamp_after is not None:
            key = (after[0], after[1])
            gone = [g for g in gone if (_stamp(g.stamp), g.record_id) > key]
        headers = sorted(live_headers + gone, key=lambda x: (_stamp(x.stamp), x.record_id))
        return headers[:PAGE], len(headers) > PAGE, total

    def _gone(self, conn: Any, low: datetime | None, high: datetime | None, spec: str | None) -> list[Header]:
        """Records that were public once and are now deleted or restricted, at the time they went."""
        if spec and spec.startswith("sdg"):
            return []  # their relations went with them: set membership of deleted records is not kept
        h, r = t.history.c, t.records.c
        out: dict[str, Header] = {}
        # deleted records whose last version was public, at the time they were deleted
        q = select(h.entity_id, h.changed_at, h.data).where(h.entity == "record", h.change == "delete")
        if low:
            q = q.where(h.changed_at >= low)
        if high:
            q = q.where(h.changed_at <= high)
        for row in conn.execute(q.order_by(h.seq)):
            body = json.loads(row.data)
            if body.get("visibility", "public") == "public":
                out[row.entity_id] = Header(row.entity_id, _utc(row.changed_at), True, body.get("kind", ""), None)
            else:
                out.pop(row.entity_id, None)
        # records restricted since they were public: gone for the public at their last change
        q = select(r.id, r.kind, r.updated_at).where(r.visibility != "public")
        if low:
            q = q.where(r.updated_at >= low)
        if high:
            q = q.where(r.updated_at <= high)
        restricted = {row.id: row for row in conn.execute(q)}
        ids = sorted(restricted)
        for i in range(0, len(ids), 500):
            for row in conn.execute(select(h.entity_id, h.data).where(h.entity == "record",
                                                                      h.entity_id.in_(ids[i:i + 500]))):
                if json.loads(row.data).get("visibility", "public") == "public":
                    rec = restricted[row.entity_id]
                    out[rec.id] = Header(rec.id, _utc(rec.updated_at), True, rec.kind, None)
        # a deleted id that lives again (re-imported) is reported as it is now
        alive = sorted(out)
        for i in range(0, len(alive), 500):
            for row in conn.execute(select(r.id, r.visibility).where(r.id.in_(alive[i:i + 500]))):
                if row.visibility == "public" or row.id not in restricted:
                    out.pop(row.id, None)
        headers = sorted(out.values(), key=lambda x: x.record_id)
        if spec and spec.startswith("kind:"):
            headers = [x for x in headers if x.kind == spec[5:]]
        return headers

    def _set_filter(self, spec: str) -> Any:
        r = t.records.c
        if spec == "kind":
            return r.kind.isnot(None)
        if spec.startswith("kind:") and spec[5:] in {k.value for k in Kind}:
            return r.kind == spec[5:]
        goals = [theme_id(SDG_SCHEME, g) for g in GOALS] if spec == "sdg" else (
            [theme_id(SDG_SCHEME, spec[4:])] if spec.startswith("sdg:") and spec[4:] in GOALS else None)
        if goals is None:
            raise OaiError("badArgument", f"unknown set '{spec}' (see ListSets)")
        rel = t.relations.c
        return r.id.in_(select(rel.source_id).where(rel.type == "about", rel.target_id.in_(goals),
                                                   rel.visibility == "public"))

    def _sdgs(self, ids: list[str]) -> dict[str, list[str]]:
        goals = {theme_id(SDG_SCHEME, g): g for g in GOALS}
        out: dict[str, list[str]] = {}
        rel = t.relations.c
        with self.store.engine.connect() as conn:
            for i in range(0, len(ids), 500):
                for row in conn.execute(select(rel.source_id, rel.target_id).where(
                        rel.type == "about", rel.source_id.in_(ids[i:i + 500]), rel.target_id.in_(list(goals)),
                        rel.visibility == "public")):
                    out.setdefault(row.source_id, []).append(goals[row.target_id])
        return {k: sorted(v, key=int) for k, v in out.items()}

    # ------------------------------------------------------------------ records
    def _record_id(self, identifier: str) -> str:
        prefix = f"oai:{self.host}:"
        if not identifier.startswith(prefix):
            raise OaiError("idDoesNotExist", f"'{identifier}' is not an identifier of this repository")
        return identifier[len(prefix):]

    def _header(self, record_id: str) -> Header:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(t.records.c.id, t.records.c.kind, t.records.c.updated_at,
                                      t.records.c.data, t.records.c.visibility)
                               .where(t.records.c.id == record_id)).first()
            if row is not None and row.visibility == "public":
                return Header(row.id, row.updated_at, False, row.kind, json.loads(row.data))
            gone = [g for g in self._gone(conn, None, None, None) if g.record_id == record_id]
        if gone:
            return gone[0]
        raise OaiError("idDoesNotExist", f"no record 'oai:{self.host}:{record_id}'")

    def _header_el(self, header: Header, sdgs: dict[str, list[str]]) -> ET.Element:
        el = ET.Element(f"{{{OAI_NS}}}header", {"status": "deleted"} if header.deleted else {})
        ET.SubElement(el, f"{{{OAI_NS}}}identifier").text = f"oai:{self.host}:{header.record_id}"
        ET.SubElement(el, f"{{{OAI_NS}}}datestamp").text = _stamp(header.stamp)
        if header.kind:
            ET.SubElement(el, f"{{{OAI_NS}}}setSpec").text = f"kind:{header.kind}"
        for goal in sdgs.get(header.record_id, []) if not header.deleted else []:
            ET.SubElement(el, f"{{{OAI_NS}}}setSpec").text = f"sdg:{goal}"
        return el

    def _record(self, header: Header, prefix: str, sdgs: dict[str, list[str]]) -> ET.Element:
        el = ET.Element(f"{{{OAI_NS}}}record")
        el.append(self._header_el(header, sdgs))
        if header.deleted or header.data is None:
            return el
        metadata = ET.SubElement(el, f"{{{OAI_NS}}}metadata")
        if prefix == "oai_dc":
            metadata.append(self._dublin_core(header.data, sdgs.get(header.record_id, [])))
        else:
            node = self.linked.record_node(header.data)
            doc = {"@context": self.linked.context(), **node}
            ET.SubElement(metadata, f"{{{self.jsonld_ns}}}jsonld",
                          {"type": "application/ld+json"}).text = json.dumps(doc, ensure_ascii=False)
        return el

    def _dublin_core(self, body: dict[str, Any], goals: list[str]) -> ET.Element:
        dc = ET.Element(f"{{{OAI_DC_NS}}}dc", {f"{{{XSI}}}schemaLocation": f"{OAI_DC_NS} {OAI_DC_SCHEMA}"})

        def add(tag: str, value: Any) -> None:
            if value not in (None, "", []):
                ET.SubElement(dc, f"{{{DC_NS}}}{tag}").text = str(value)

        add("title", body.get("name"))
        for author in body.get("authors") or []:
            add("creator", author)
        for tag in body.get("tags") or []:
            add("subject", tag)
        for goal in goals:
            add("subject", f"SDG {goal}")
        add("description", body.get("description"))
        add("publisher", body.get("publisher"))
        add("date", body.get("published") or body.get("start_date") or body.get("opens"))
        kind = body["kind"]
        subtype = body.get({"organization": "org_type", "document": "doc_type", "opportunity": "opp_type",
                            "place": "place_type", "project": "project_type"}.get(kind, ""))
        add("type", f"https://schema.org/{schema_type(kind, subtype)}")
        add("identifier", self.linked.record_iri(body["id"]))
        for scheme, value in sorted((body.get("external_ids") or {}).items()):
            add("identifier", f"{scheme}:{value}")
        add("identifier", body.get("url") or body.get("website"))
        for lang in body.get("languages") or []:
            add("language", lang)
        add("coverage", body.get("country"))
        for prov in body.get("provenance") or []:
            add("source", prov.get("url") or prov.get("source"))
            add("rights", prov.get("licence"))
        return dc

    # ------------------------------------------------------------------ formats and tokens
    @property
    def jsonld_ns(self) -> str:
        return self.linked.base + "/oai/cb_jsonld"

    @property
    def jsonld_schema_url(self) -> str:
        return self.linked.base + "/oai/cb_jsonld.xsd"

    def jsonld_schema(self) -> str:
        """The XML Schema of the ``cb_jsonld`` wrapper: one element holding a JSON-LD document as text."""
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
                f'targetNamespace="{self.jsonld_ns}" elementFormDefault="qualified">\n'
                '  <xs:element name="jsonld"><xs:complexType><xs:simpleContent><xs:extension base="xs:string">\n'
                '    <xs:attribute name="type" type="xs:string" fixed="application/ld+json"/>\n'
                '  </xs:extension></xs:simpleContent></xs:complexType></xs:element>\n</xs:schema>\n')

    @staticmethod
    def _prefix(prefix: str) -> str:
        if prefix not in ("oai_dc", "cb_jsonld"):
            raise OaiError("cannotDisseminateFormat", f"unknown metadataPrefix '{prefix}' (oai_dc, cb_jsonld)")
        return prefix

    @staticmethod
    def _encode(query: dict[str, Any]) -> str:
        raw = json.dumps(query, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @staticmethod
    def _decode(token: str) -> dict[str, Any]:
        try:
            query = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            if not isinstance(query, dict) or query.get("p") not in ("oai_dc", "cb_jsonld"):
                raise ValueError(token)
            after = query.get("a")
            if not (isinstance(after, list) and len(after) == 2 and all(isinstance(x, str) for x in after)):
                raise ValueError(token)
            int(query.get("n", 0))
            return query
        except (ValueError, TypeError):
            raise OaiError("badResumptionToken", "the resumption token is not valid") from None
