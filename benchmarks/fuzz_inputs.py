"""Hostile input at volume: feed every parser hypothesis-generated and mutated real files, plus hostile
classics (zip bombs, deeply nested JSON, billion-laughs XML, 100 MB single fields), in a worker process with a
per-case time limit and a resident-memory cap, and check that each case ends in a domain error (or a report
whose rejections name where), never a traceback, a hang or unbounded memory, and that nothing already stored
changes.

    .venv/bin/python benchmarks/fuzz_inputs.py [--cases 1000] [--parsers csv,xlsx,...] [--seed 16]
                                               [--timeout 20] [--rss-mb 2048] [--no-hostile] [--json]

``--cases`` is per parser. Parsers (each through the Hub call an interface makes): ``csv``, ``xlsx``, ``json``,
``jsonl`` (``Hub.import_files``), ``pdf``, ``docx``, ``html`` (``Hub.ingest``), ``feed`` (RSS / Atom, the feed
poller's source), ``openalex`` (``Hub.ingest(source="openalex")``), ``ror`` (``Hub.ror``), ``cordis``
(``Hub.cordis`` on a ``project.csv`` + ``organization.csv`` export), ``mapping`` (mapping files, ``.json``,
``.toml`` and ``.yaml``, used for an import) and ``api`` (every REST body: JSON bodies of every POST/PUT route
and multipart uploads to ``/api/v1/import``, through the ASGI app in process).

Cases: a third mutations of real files (``../shared/data``, ``data/demo``, the test fixtures, system PDFs when
present; byte flips, inserts, deletions, duplicated and truncated ranges, splices, encodings, and for ZIP
containers mutations of a member re-zipped), a third hypothesis-generated content in a valid container, a
third generated content mutated. Each case runs in a long-lived worker (a fresh one after a kill) on one
SQLite store seeded with records that no case can name (no external ids): a timeout is a hang, a resident set
above ``--rss-mb`` is a memory failure; after every case the worker hashes the seeded rows (records, external
ids, relations) and compares with the hash taken when the store was seeded.

``--json`` prints ``{"cases", "tracebacks", "hangs", "stored_changes", "memory", "unnamed", "per_parser",
"examples", ...}``; progress goes to stderr. ``unnamed`` counts domain errors that name neither a file, a
line nor a field.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import multiprocessing as mp
import os
import random
import re
import resource
import shutil
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
FIXTURES = REPO / "tests" / "ingest" / "fixtures"
DEMO = REPO / "data" / "demo"
PARSERS = ["csv", "xlsx", "json", "jsonl", "pdf", "docx", "html", "feed", "openalex", "ror", "cordis", "mapping",
           "api"]
WRITE_TOKEN = "fuzz-write-token-0123456789abcdef"
SEED_PREFIX = "fzseed_"
BIG = 100 * 1024 * 1024  # the single field of the hostile "100 MB field" cases


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ================================================================================================ corpus
def _head_lines(path: Path, n: int) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rb") as f:  # type: ignore[operator]
        for i, line in enumerate(f):
            if i >= n:
                break
            out.append(line)
    return b"".join(out)


def _texts() -> list[str]:
    """Real prose: the Commission news texts of the shared data (or a fallback sentence)."""
    folder = SHARED / "knowledge" / "ec-news"
    texts = [p.read_text(encoding="utf-8")[:4000] for p in sorted(folder.glob("*.md"))[:12]] if folder.is_dir() else []
    return texts or ["Lisbon maps its urban heat island and plants street trees to cool school streets."]


def make_pdf(lines: list[str], title: str | None = None) -> bytes:
    """A one-page PDF (Helvetica) holding ``lines``; written here so that generated text gets a valid container."""
    def esc(t: str) -> str:
        return t.encode("latin-1", "replace").decode("latin-1").replace("\\", "\\\\").replace("(", "\\(") \
            .replace(")", "\\)")

    ops = "BT /F1 11 Tf 50 780 Td 14 TL " + " ".join(f"({esc(x[:200])}) '" for x in lines[:50]) + " ET"
    stream = ops.encode("latin-1", "replace")
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
            b"/Contents 5 0 R >>", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    if title is not None:
        objs.append(b"<< /Title (" + esc(title).encode("latin-1", "replace") + b") >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    info = b" /Info %d 0 R" % len(objs) if title is not None else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, info, xref)
    return bytes(out)


def make_docx(paragraphs: list[str], title: str | None = None) -> bytes:
    import docx

    d = docx.Document()
    if title:
        d.core_properties.title = _xml_safe(title)[:200]
    for p in paragraphs[:40]:
        d.add_paragraph(_xml_safe(p)[:2000])
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def make_xlsx(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for row in rows[:200]:
        ws.append([_xml_safe(v)[:3000] if isinstance(v, str) else v for v in row[:60]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xml_safe(text: str) -> str:
    return "".join(c for c in str(text) if c in "\t\n\r" or (" " <= c <= "\ud7ff") or ("\ue000" <= c <= "\ufffd"))


def make_html(title: str, paragraphs: list[str]) -> bytes:
    from html import escape

    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (f"<!doctype html><html><head><title>{escape(title)}</title></head><body><nav>Home | News</nav>"
            f"<article><h1>{escape(title)}</h1>{body}</article><footer>Contact</footer></body></html>").encode()


def make_feed(entries: list[tuple[str, str]], atom: bool = False) -> bytes:
    from html import escape

    if atom:
        items = "".join(f"<entry><title>{escape(t)}</title><id>urn:fz:{i}</id><link href='https://example.org/{i}'/>"
                        f"<updated>2025-0{1 + i % 9}-01T00:00:00Z</updated><summary>{escape(s)}</summary></entry>"
                        for i, (t, s) in enumerate(entries))
        return (f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>News"
                f"</title><id>urn:fz</id><updated>2025-01-01T00:00:00Z</updated>{items}</feed>").encode()
    items = "".join(f"<item><title>{escape(t)}</title><link>https://example.org/{i}</link><guid>fz-{i}</guid>"
                    f"<pubDate>Mon, 0{1 + i % 9} Jan 2025 10:00:00 GMT</pubDate><description>{escape(s)}"
                    f"</description></item>" for i, (t, s) in enumerate(entries))
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>News</title><link>https://example.org"
            f"</link>{items}</channel></rss>").encode()


def _csv_bytes(rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    for r in rows:
        w.writerow(r)
    return buf.getvalue().encode("utf-8", "surrogatepass")


def _demo_bodies(name: str, n: int) -> list[dict[str, Any]]:
    path = DEMO / name
    if not path.exists():
        return []
    out = []
    for line in _head_lines(path, n).splitlines():
        body = json.loads(line)
        body.pop("created_at", None)
        body.pop("updated_at", None)
        out.append(body)
    return out


def seeds() -> dict[str, list[tuple[str, bytes]]]:
    """Real files per parser, each (file name, bytes), kept small so that a case parses in milliseconds."""
    from citybridge.ingest.jsonstream import iter_json_array

    texts = _texts()
    titles = [t.splitlines()[0].lstrip("# ").strip() or "News" for t in texts]
    paras = [[p for p in t.split("\n\n") if p.strip()][:12] for t in texts]
    s: dict[str, list[tuple[str, bytes]]] = {p: [] for p in PARSERS}
    for rel in ["knowledge/eu-adaptation-funding/mission_funding.csv",
                "knowledge/cordis-h2020-energy-communities/projects.csv", "sdg/benchmark-dev.csv",
                "cities/worldcities.csv", "ror/affiliations-dev.csv", "experts/evaluations.csv"]:
        if (SHARED / rel).exists():
            s["csv"].append((Path(rel).name, _head_lines(SHARED / rel, 25)))
    for name in ("project.csv", "organization.csv"):
        if (FIXTURES / "cordis" / name).exists():
            s["csv"].append((name, (FIXTURES / "cordis" / name).read_bytes()))
    for name, data in list(s["csv"])[:6]:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8", "replace"))))
        s["xlsx"].append((Path(name).stem + ".xlsx", make_xlsx(rows)))
    for kind in ("20-organizations", "40-projects", "50-documents", "90-relations"):
        bodies = _demo_bodies(f"{kind}.jsonl.gz", 15)
        if bodies:
            s["json"].append((f"{kind}.json", json.dumps(bodies, ensure_ascii=False).encode()))
            s["jsonl"].append((f"{kind}.jsonl", b"".join(json.dumps(b).encode() + b"\n" for b in bodies)))
    for rel in ["knowledge/eu-calls/calls.jsonl.gz", "scifact/corpus.jsonl"]:
        if (SHARED / rel).exists():
            s["jsonl"].append((Path(rel).name.removesuffix(".gz"), _head_lines(SHARED / rel, 10)))
    for name in ("shared-mime-info/shared-mime-info-spec.pdf", "libtasn1-doc/libtasn1.pdf"):
        p = Path("/usr/share/doc") / name
        if p.exists() and p.stat().st_size < 400_000:
            s["pdf"].append((p.name, p.read_bytes()))
    for i, (t, ps) in enumerate(zip(titles, paras, strict=True)):
        if i < 6:
            s["pdf"].append((f"news{i}.pdf", make_pdf([x for p in ps for x in p.splitlines()], title=t)))
            s["docx"].append((f"news{i}.docx", make_docx(ps, title=t)))
        s["html"].append((f"news{i}.html", make_html(t, ps)))
    s["feed"] = [("news.rss", make_feed(list(zip(titles, [p[0] if p else "" for p in paras], strict=True)))),
                 ("news.atom", make_feed(list(zip(titles, [p[-1] if p else "" for p in paras], strict=True)),
                                         atom=True))]
    folder = SHARED / "openalex"
    if folder.is_dir():
        s["openalex"] = [(f"openalex-{p.name}", p.read_bytes()) for p in sorted(folder.glob("*.json"))]
    if (FIXTURES / "ror" / "ror-sample.json").exists():
        s["ror"].append(("ror-sample.json", (FIXTURES / "ror" / "ror-sample.json").read_bytes()))
    for name in ("ror-v2-records.json.gz", "ror-v1-records.json.gz"):
        if (SHARED / "ror" / name).exists():
            with gzip.open(SHARED / "ror" / name, "rb") as fh:
                recs = []
                for el in iter_json_array(fh):
                    recs.append(el.value)
                    if len(recs) >= 8:
                        break
            s["ror"].append((name.removesuffix(".gz"), json.dumps(recs).encode()))
    cordis_dir = FIXTURES / "cordis"
    if cordis_dir.is_dir():
        s["cordis"].append(("project.csv", (cordis_dir / "project.csv").read_bytes()))
    if (SHARED / "knowledge/cordis-h2020-energy-communities/projects.csv").exists():
        s["cordis"].append(("project.csv", _head_lines(SHARED / "knowledge/cordis-h2020-energy-communities/"
                                                                 "projects.csv", 15)))
    s["mapping"] = [
        ("m.json", json.dumps({"kind": "project", "columns": {"title": "name", "acronym": "acronym"},
                               "defaults": {"programme": "H2020"}}).encode()),
        ("m.toml", b'kind = "organization"\n[columns]\nname = "name"\ncountry = "country"\n'
                   b'[values.country]\nPortugal = "PT"\n[parse]\nstart_date = "date:%d/%m/%Y"\n'),
        ("m.yaml", b"kind: document\ncolumns:\n  title: name\n  text: description\nheader_row: 1\n"),
    ]
    s["api"] = [(f"api-{i}.json", json.dumps(c).encode()) for i, c in enumerate(api_examples())]
    return {k: v for k, v in s.items() if v}


def api_examples() -> list[dict[str, Any]]:
    """Valid bodies of every API write (never naming a seeded record: what they may change is theirs)."""
    return [
        {"method": "POST", "path": "/api/v1/entities", "json": {"kind": "project", "id": "prj_fz1", "name":
                                                                 "Cool roofs", "description": "Green roofs."}},
        {"method": "PUT", "path": "/api/v1/entities/{id}", "json": {"kind": "organization", "name": "Fz Org",
                                                                     "country": "PT"}},
        {"method": "POST", "path": "/api/v1/relations", "json": {"type": "partner_in", "source": "org_fz",
                                                                  "target": "prj_fz1"}},
        {"method": "POST", "path": "/api/v1/tag", "json": {"text": "Urban heat and green roofs in Lisbon",
                                                            "steps": ["keywords"]}},
        {"method": "POST", "path": "/api/v1/partners", "json": {"text": "Energy communities", "limit": 5}},
        {"method": "POST", "path": "/api/v1/match/affiliation", "json": {"affiliations": [
            "Dept. of Physics, University of Porto, Portugal"]}},
        {"method": "POST", "path": "/api/v1/merges/{id}/accept", "json": None},
        {"method": "PUT", "path": "/api/v1/members/{id}", "json": {"email": "a@example.org", "language": "pt"}},
        {"method": "POST", "path": "/api/v1/members/{id}/subscriptions", "json": {"type": "keyword", "value":
                                                                                   "energy", "frequency": "daily"}},
        {"method": "POST", "path": "/api/v1/import", "file": ["rows.csv", "name,kind\nFz A,organization\n"]},
        {"method": "POST", "path": "/oai", "form": {"verb": "Identify"}},
    ]


# ================================================================================================ mutation
INTERESTING = [b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b'"', b"'", b",", b";", b"\t", b"\r", b"\n", b"\r\n",
               b"\\", b"{", b"}", b"[", b"]", b"<", b">", b"&", b"&amp;", b"&#0;", b"]]>", b"<!--", b"%",
               b"-1", b"1e999", b"NaN", b"9" * 40, b"null", b"true", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf0\x9f\x92",
               "\u202e\u0000\ufeff".encode(), b"=cmd|' /C calc'!A0", b"../../etc/passwd", b"%s%n", b"\x1a"]


def mutate(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    """One to four random byte-level changes."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(9)
        n = len(b)
        i = rng.randrange(n + 1)
        if op == 0 and n:  # flip bits
            for _ in range(rng.randint(1, 8)):
                j = rng.randrange(n)
                b[j] ^= 1 << rng.randrange(8)
        elif op == 1:  # insert an interesting token
            b[i:i] = rng.choice(INTERESTING) * rng.choice([1, 1, 2, 50])
        elif op == 2 and n:  # delete a range
            del b[i:i + rng.randint(1, max(1, n // 8))]
        elif op == 3 and n:  # duplicate a range
            j = rng.randrange(n)
            b[i:i] = b[j:j + rng.randint(1, 400)] * rng.choice([1, 2, 20])
        elif op == 4:  # truncate
            del b[rng.randrange(n + 1):]
        elif op == 5 and others:  # splice another seed in
            o = rng.choice(others)
            j = rng.randrange(len(o) + 1)
            b[i:i] = o[j:j + rng.randint(1, 2000)]
        elif op == 6:  # random bytes
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        elif op == 7 and n:  # re-encode
            try:
                b = bytearray(bytes(b).decode("utf-8").encode(rng.choice(["utf-16", "latin-1", "cp1252", "utf-32"])))
            except (UnicodeError, ValueError):
                b[i:i] = b"\xe9"
        elif op == 8 and n:  # overwrite with a same-length run
            j = rng.randrange(n)
            b[j:j + rng.randint(1, 30)] = bytes([rng.randrange(256)]) * rng.randint(1, 30)
    return bytes(b)


def mutate_zip(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    """Mutate one XML member of a ZIP container (XLSX, DOCX) and re-zip; the container stays readable."""
    try:
        zin = zipfile.ZipFile(io.BytesIO(data))
        names = zin.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return mutate(data, rng, others)
    target = rng.choice([n for n in names if n.endswith(".xml")] or names)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in names:
            body = zin.read(name)
            if name == target:
                body = mutate(body, rng, [])
            if rng.random() < 0.03:
                continue  # a member missing
            zout.writestr(name, body)
    return out.getvalue()


# ================================================================================================ hypothesis
def draw_many(strategy: Any, n: int, seed: int) -> list[Any]:
    """``n`` examples of a hypothesis strategy, reproducibly (the generate phase only)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    out: list[Any] = []

    @hseed(seed)
    @settings(max_examples=n, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(x: Any) -> None:
        out.append(x)

    collect()
    while out and len(out) < n:  # a small strategy may run out of distinct examples
        out.extend(out[: n - len(out)])
    return out[:n]


KEYS = ["id", "kind", "name", "title", "description", "country", "city", "acronym", "start_date", "end_date",
        "type", "source", "target", "external_ids", "ror", "doi", "url", "year", "lat", "lon", "authors",
        "attributes", "visibility", "owner", "tags", "languages", "body", "published", "deadline", "programme",
        "display_name", "authorships", "institutions", "abstract_inverted_index", "names", "locations",
        "relationships", "types", "status", "links", "results", "value", "email", "frequency", "steps", "text",
        "affiliations", "limit", "columns", "values", "defaults", "parse", "header_row", "delimiter", "encoding"]


def strategies() -> dict[str, Any]:
    """Per parser: a strategy whose examples render to (file name, bytes)."""
    from hypothesis import strategies as st

    text = st.text(max_size=60)
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), text,
                        st.sampled_from(["PT", "2021-01-01", "organization", "project", "https://ror.org/0abc",
                                         "W123", "I27837315", "sdg:7", "", " ", "x" * 300]))
    keys = st.one_of(st.sampled_from(KEYS), text)
    jvalue = st.recursive(scalars, lambda c: st.one_of(st.lists(c, max_size=5),
                                                       st.dictionaries(keys, c, max_size=6)), max_leaves=25)
    jobj = st.dictionaries(keys, jvalue, max_size=10)
    cell = st.one_of(text, st.integers().map(str), st.sampled_from(["", "NA", "2021-13-45", "1e400", "=1+1"]))
    table = st.tuples(st.lists(st.one_of(st.sampled_from(KEYS), text), min_size=1, max_size=8),
                      st.lists(st.lists(cell, max_size=9), max_size=12))

    def dumps(v: Any) -> bytes:
        return json.dumps(v, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")

    def csv_of(t: Any) -> tuple[str, bytes]:
        return "gen.csv", _csv_bytes([t[0], *t[1]])

    def xlsx_of(t: Any) -> tuple[str, bytes]:
        return "gen.xlsx", make_xlsx([t[0], *t[1]])

    def mapping_of(args: Any) -> tuple[str, bytes]:
        obj, fmt = args
        if fmt == "json":
            return "gen.json", dumps(obj)
        if fmt == "yaml":
            import yaml

            return "gen.yaml", yaml.safe_dump(json.loads(json.dumps(obj, default=str)), allow_unicode=True).encode(
                "utf-8", "surrogatepass")
        lines = []
        for k, v in obj.items():
            lines.append(f"{json.dumps(str(k))} = {json.dumps(v) if isinstance(v, str | int | bool) else '[]'}")
        return "gen.toml", "\n".join(lines).encode("utf-8", "surrogatepass")

    paras = st.lists(text, min_size=1, max_size=6)
    mapping_obj = st.fixed_dictionaries({}, optional={
        "kind": st.one_of(st.sampled_from(["project", "organization", "document", "person", "x"]), text),
        "columns": st.dictionaries(text, st.one_of(st.sampled_from(KEYS), text), max_size=5),
        "values": st.dictionaries(text, st.dictionaries(text, text, max_size=3), max_size=3),
        "defaults": st.dictionaries(st.sampled_from(KEYS), scalars, max_size=3),
        "parse": st.dictionaries(st.sampled_from(KEYS), st.one_of(text, st.sampled_from(
            ["date:%d/%m/%Y", "number", "list:;", "bool", "date:%Q"])), max_size=3),
        "header_row": st.one_of(st.integers(-3, 10 ** 12), text, st.booleans()),
        "delimiter": st.one_of(text, st.sampled_from([",", ";", "\t", "", "ab"])),
        "encoding": st.one_of(text, st.sampled_from(["utf-8", "latin-1", "nope", "utf-16"]))}) | jobj
    api_route = st.sampled_from([(e["method"], e["path"]) for e in api_examples() if "json" in e])
    return {
        "csv": table.map(csv_of),
        "xlsx": table.map(xlsx_of),
        "json": st.one_of(st.lists(jobj, max_size=6), jobj, jvalue).map(lambda v: ("gen.json", dumps(v))),
        "jsonl": st.lists(st.one_of(jobj, jvalue), max_size=8).map(
            lambda v: ("gen.jsonl", b"\n".join(dumps(x) for x in v))),
        "pdf": st.tuples(paras, st.one_of(st.none(), text)).map(lambda a: ("gen.pdf", make_pdf(a[0], a[1]))),
        "docx": st.tuples(paras, st.one_of(st.none(), text)).map(lambda a: ("gen.docx", make_docx(a[0], a[1]))),
        "html": st.tuples(text, st.lists(st.one_of(text, st.sampled_from(
            ["<div>", "</p>", "<script>alert(1)</script>", "<![CDATA[x]]>", "&nbsp;", "<p" * 20])), max_size=30)
        ).map(lambda a: ("gen.html", make_html(a[0], a[1]))),
        "feed": st.tuples(st.lists(st.tuples(text, text), max_size=6), st.booleans()).map(
            lambda a: ("gen.rss" if not a[1] else "gen.atom", make_feed(a[0], atom=a[1]))),
        "openalex": st.one_of(jobj, st.lists(jobj, max_size=4), st.fixed_dictionaries({"results": st.lists(jobj)}))
        .map(lambda v: ("openalex-gen.json", dumps(v))),
        "ror": st.lists(jobj, max_size=5).map(lambda v: ("ror-gen.json", dumps(v))),
        "cordis": table.map(lambda t: ("project.csv", _csv_bytes([t[0], *t[1]]))),
        "mapping": st.tuples(mapping_obj, st.sampled_from(["json", "yaml", "toml"])).map(mapping_of),
        "api": st.tuples(api_route, st.one_of(jobj, jvalue)).map(
            lambda a: ("api-gen.json", json.dumps({"method": a[0][0], "path": a[0][1], "json": a[1]},
                                                  default=str).encode())),
    }


# ================================================================================================ hostile
def hostile(parser: str) -> Iterator[tuple[str, str, Callable[[], bytes]]]:
    """The classics, once per parser that could meet them: (label, file name, builder)."""
    big = b"A" * BIG
    nested = b"[" * 200_000 + b"]" * 200_000
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                         for i in range(1, 10)) + b"]>")

    def bomb(member: str, inner: bytes, base: bytes) -> bytes:
        out = io.BytesIO()
        zin = zipfile.ZipFile(io.BytesIO(base))
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for name in zin.namelist():
                if name != member:
                    z.writestr(name, zin.read(name))
            with z.open(member, "w", force_zip64=True) as f:
                f.write(inner[:200])
                chunk = b"<!-- " + b"A" * (1 << 20) + b" -->"
                for _ in range(2048):  # 2 GiB expanded, about 2 MB compressed
                    f.write(chunk)
        return out.getvalue()

    if parser in ("csv", "cordis"):
        yield "100 MB field", "project.csv" if parser == "cordis" else "big.csv", \
            lambda: b"id,name,description\np1,Big," + big + b"\n"
        yield "a million columns", "project.csv" if parser == "cordis" else "wide.csv", \
            lambda: b",".join(b"c%d" % i for i in range(1_000_000)) + b"\n" + b"x," * 1000 + b"\n"
    if parser in ("json", "jsonl", "openalex", "ror", "mapping", "api"):
        name = {"json": "deep.json", "jsonl": "deep.jsonl", "openalex": "openalex-deep.json", "ror": "ror-deep.json",
                "mapping": "deep.json", "api": "api-deep.json"}[parser]
        if parser == "api":
            yield "deeply nested JSON body", name, lambda: json.dumps(
                {"method": "POST", "path": "/api/v1/entities", "raw": "[" * 200_000 + "]" * 200_000}).encode()
            yield "100 MB JSON body", name, lambda: json.dumps(
                {"method": "POST", "path": "/api/v1/entities", "raw_big": True}).encode()
            return
        yield "deeply nested JSON", name, lambda: nested
        yield "deeply nested JSON object", name, lambda: b'{"a":' * 200_000 + b"1" + b"}" * 200_000
        yield "100 MB string field", name, lambda: b'[{"kind": "project", "id": "p1", "name": "' + big + b'"}]'
    if parser == "mapping":
        yield "YAML billion laughs", "laughs.yaml", lambda: (
            b"a: &a [x,x,x,x,x,x,x,x,x]\n" + b"".join(b"%s: &%s [%s]\n" % (bytes([98 + i]), bytes([98 + i]),
                                                      b",".join([b"*" + bytes([97 + i])] * 9)) for i in range(9))
            + b"kind: project\ncolumns: {x: *j}\n")
        yield "TOML 100 MB value", "big.toml", lambda: b'kind = "project"\n[defaults]\nname = "' + big + b'"\n'
    if parser in ("xlsx", "docx"):
        base = make_xlsx([["name", "kind"], ["A", "organization"]]) if parser == "xlsx" else make_docx(["Hello"])
        member = "xl/worksheets/sheet1.xml" if parser == "xlsx" else "word/document.xml"
        yield "zip bomb (2 GiB member)", f"bomb.{parser}", lambda: bomb(member, b"", base)
        yield "billion laughs member", f"laughs.{parser}", lambda: _replace_member(base, member, laughs + (
            b"<x>&lol9;</x>"))
    if parser in ("feed", "html"):
        yield "billion laughs", f"laughs.{'rss' if parser == 'feed' else 'html'}", lambda: laughs + (
            b"<rss version='2.0'><channel><title>&lol9;</title><item><title>&lol9;</title><guid>1</guid>"
            b"</item></channel></rss>")
        yield "100 MB title", f"big.{'rss' if parser == 'feed' else 'html'}", lambda: (
            b"<rss version='2.0'><channel><title>T</title><item><title>" + big + b"</title><guid>1</guid></item>"
            b"</channel></rss>" if parser == "feed" else b"<html><body><article><p>" + b"word " * (BIG // 5)
            + b"</p></article></body></html>")
        yield "deeply nested tags", f"deep.{'rss' if parser == 'feed' else 'html'}", lambda: (
            b"<rss><channel>" + b"<x>" * 200_000 + b"</x>" * 200_000 + b"</channel></rss>" if parser == "feed"
            else b"<html><body>" + b"<div>" * 200_000 + b"text" + b"</div>" * 200_000 + b"</body></html>")
    if parser == "pdf":
        yield "flate bomb stream", "bomb.pdf", _pdf_bomb
        yield "deeply nested PDF arrays", "deep.pdf", lambda: make_pdf(["x"]).replace(
            b"/MediaBox [0 0 595 842]", b"/MediaBox " + b"[" * 100_000 + b"]" * 100_000)


def _replace_member(base: bytes, member: str, body: bytes) -> bytes:
    out = io.BytesIO()
    zin = zipfile.ZipFile(io.BytesIO(base))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in zin.namelist():
            z.writestr(name, body if name == member else zin.read(name))
    return out.getvalue()


def _pdf_bomb() -> bytes:
    import zlib

    comp = zlib.compressobj(9)
    data = comp.compress(b"BT /F1 11 Tf 50 780 Td (x) Tj ET " + b" " * (1 << 30)) + comp.flush()
    pdf = make_pdf(["x"])
    start = pdf.index(b"<< /Length")
    end = pdf.index(b"endstream") + len(b"endstream")
    return pdf[:start] + b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\n" + pdf[
        end - len(b"endstream"):]


# ================================================================================================ worker
def seed_records() -> tuple[list[Any], list[Any]]:
    from citybridge.model import Document, Organization, Person, Project, Relation

    recs = [Organization(id=f"{SEED_PREFIX}org{i}", name=f"Seeded organisation {i}", country="PT",
                         org_type="university") for i in range(10)]
    recs += [Project(id=f"{SEED_PREFIX}prj{i}", name=f"Seeded project {i}", description="Cooling school streets "
                     "with green roofs.", start_date="2021-01-01") for i in range(10)]
    recs += [Document(id=f"{SEED_PREFIX}doc{i}", name=f"Seeded report {i}", doc_type="report",
                      description="Energy communities in Lisbon.") for i in range(5)]
    recs += [Person(id=f"{SEED_PREFIX}per{i}", name=f"Seeded Person {i}") for i in range(5)]
    rels = [Relation(type="partner_in", source=f"{SEED_PREFIX}org{i}", target=f"{SEED_PREFIX}prj{i}")
            for i in range(10)]
    return recs, rels


def seeded_hash(hub: Any) -> str:
    """The seeded rows (records, their external ids, their relations) in canonical order, hashed."""
    from sqlalchemy import text

    h = hashlib.sha256()
    like = SEED_PREFIX + "%"
    with hub.store.engine.connect() as conn:
        for sql in ("SELECT * FROM records WHERE id LIKE :p ORDER BY id",
                    "SELECT * FROM external_ids WHERE record_id LIKE :p ORDER BY 1, 2, 3",
                    "SELECT * FROM relations WHERE source_id LIKE :p OR target_id LIKE :p ORDER BY id"):
            for row in conn.execute(text(sql), {"p": like}):
                h.update(json.dumps(list(row), default=str).encode())
                h.update(b"\n")
    return h.hexdigest()


def _hub(data_dir: Path) -> Any:
    from citybridge.hub import Hub
    from citybridge.settings import Settings

    return Hub(Settings(data_dir=data_dir, search_embedder=None, write_token=WRITE_TOKEN,  # type: ignore[call-arg]
                        _env_file=None, enrich_workers=1))


def prepare_store(data_dir: Path) -> str:
    hub = _hub(data_dir)
    try:
        hub.init()
        recs, rels = seed_records()
        hub.upsert(recs, changed_by="fuzz:seed")
        hub.relate(rels, changed_by="fuzz:seed")
        return seeded_hash(hub)
    finally:
        hub.close()


class Runner:
    """What an interface does with one input file (in the worker)."""

    def __init__(self, hub: Any, scratch: Path) -> None:
        self.hub = hub
        self.scratch = scratch
        self.client: Any = None
        self.plain_csv = scratch / "plain.csv"
        self.plain_csv.write_text("name,acronym,title,text,country\nFz project,FZ,Fz title,Some text,PT\n")

    def run(self, parser: str, path: Path) -> Any:
        hub = self.hub
        if parser in ("csv", "xlsx", "json", "jsonl"):
            return hub.import_files([path])
        if parser in ("pdf", "docx", "html"):
            return hub.ingest([path])
        if parser == "feed":
            from citybridge.ingest.feeds import Feed, FeedSource

            return hub._importer(f"feed:{path.name}", None, None).run(
                FeedSource(Feed(id=0, url=f"file://{path}"), path.read_bytes()))
        if parser == "openalex":
            return hub.ingest([path], source="openalex")
        if parser == "ror":
            return hub.ror(path)
        if parser == "cordis":
            return hub.cordis([path])
        if parser == "mapping":
            return hub.import_files([self.plain_csv], mapping=path)
        if parser == "api":
            return self.api(path)
        raise ValueError(parser)

    def api(self, path: Path) -> Any:
        from citybridge.errors import CitybridgeError

        if self.client is None:
            from starlette.testclient import TestClient

            from citybridge.api import create_app

            self.client = TestClient(create_app(self.hub), raise_server_exceptions=True)
        try:
            case = json.loads(path.read_bytes())
            method, route = str(case["method"]), str(case["path"])
        except (ValueError, KeyError, TypeError):  # a mutated case file: send its bytes as a body
            case, method, route = {}, "POST", "/api/v1/entities"
            case["bytes"] = path.read_bytes()
        route = route.replace("{id}", "fz_api_" + hashlib.sha1(path.name.encode()).hexdigest()[:8])
        headers = {"Authorization": f"Bearer {WRITE_TOKEN}"}
        if "file" in case and isinstance(case["file"], list) and len(case["file"]) == 2:
            name, body = (str(x) for x in case["file"])
            resp = self.client.request(method, route, headers=headers,
                                       files={"file": (name, body.encode("utf-8", "surrogatepass"))})
        elif "form" in case and isinstance(case["form"], dict):
            resp = self.client.request(method, route, headers=headers, data={str(k): str(v) for k, v in
                                                                              case["form"].items()})
        elif "raw" in case:
            resp = self.client.request(method, route, headers={**headers, "Content-Type": "application/json"},
                                       content=str(case["raw"]).encode())
        elif case.get("raw_big"):
            resp = self.client.request(method, route, headers={**headers, "Content-Type": "application/json"},
                                       content=b'{"kind": "project", "name": "' + b"A" * BIG + b'"}')
        elif "bytes" in case:
            resp = self.client.request(method, route, headers={**headers, "Content-Type": "application/json"},
                                       content=case["bytes"])
        else:
            resp = self.client.request(method, route, headers=headers, content=json.dumps(
                case.get("json"), allow_nan=True).encode("utf-8", "surrogatepass"),
                                       params=None if method != "GET" else case.get("params"))
        try:
            body = resp.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        if resp.status_code >= 500 and (resp.status_code != 503 or body.get("code") == "database"):
            raise RuntimeError(f"HTTP {resp.status_code}: {resp.text[:300]}")
        if resp.status_code >= 400:
            message = str(body.get("message") or resp.status_code)
            where = body.get("field")
            if resp.status_code in (401, 403, 404, 405, 409, 413, 415, 429, 503):
                where = where or route  # the route (or the thing it names) is what was refused
            elif re.search(r"\b(line|column|char|position|body|row)\b", message, re.I):
                where = where or "body"  # the message says where in the body
            raise CitybridgeError(message, where=where)
        return resp


def _named(exc: Any, path: Path) -> bool:
    return bool(exc.where or exc.field or path.name in str(exc) or str(path) in str(exc))


def worker_main(conn: Any, data_dir: str, scratch: str) -> None:
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    from citybridge.errors import CitybridgeError
    from citybridge.ingest.pipeline import ImportReport

    hub = _hub(Path(data_dir))
    runner = Runner(hub, Path(scratch))
    current = seeded_hash(hub)
    conn.send({"ready": True, "hash": current, "pid": os.getpid()})
    while True:
        msg = conn.recv()
        if msg is None:
            break
        parser, path_s = msg
        path = Path(path_s)
        out: dict[str, Any] = {"outcome": "ok"}
        try:
            result = runner.run(parser, path)
            if isinstance(result, ImportReport):
                unnamed = [r for r in result.rejections if not r.get("where")]
                out["rejected"] = result.rejected
                if unnamed:
                    out.update(outcome="unnamed", detail=f"rejection without where: {unnamed[0]}")
        except CitybridgeError as exc:
            out["outcome"] = "domain" if _named(exc, path) else "unnamed"
            out["detail"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        except (RecursionError, MemoryError, Exception) as exc:  # noqa: BLE001 - this is what the fuzzer hunts
            out["outcome"] = "traceback"
            tb = traceback.extract_tb(exc.__traceback__)
            inner = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in tb if "citybridge" in f.filename][-3:]
            out["detail"] = f"{type(exc).__name__}: {str(exc)[:200]} at {' <- '.join(reversed(inner))}"
        after = seeded_hash(hub)
        out["changed"] = after != current  # each change is counted once
        current = after
        conn.send(out)


class Worker:
    """A long-lived worker process: a case at a time, with a time limit and a resident-set cap."""

    def __init__(self, data_dir: Path, scratch: Path, baseline: str, rss_mb: int) -> None:
        self.data_dir, self.scratch, self.baseline, self.rss_mb = data_dir, scratch, baseline, rss_mb
        self.proc: Any = None
        self.conn: Any = None
        self.peak_rss_mb = 0.0
        self.starts = 0
        self.stored_changes_at_start = 0

    def start(self) -> None:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_entry, args=(child, str(self.data_dir), str(self.scratch),
                                                            ), daemon=True)
        self.proc.start()
        self.conn = parent
        if not parent.poll(180):
            raise RuntimeError("the fuzz worker did not start")
        hello = parent.recv()
        self.starts += 1
        if hello["hash"] != self.baseline:  # a killed case left the seeded rows changed
            self.stored_changes_at_start += 1
            self.baseline = hello["hash"]

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join(10)
        self.proc = None

    def rss(self) -> float:
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except (OSError, AttributeError):
            pass
        return 0.0

    def run(self, parser: str, path: Path, timeout: float) -> dict[str, Any]:
        if self.proc is None or not self.proc.is_alive():
            self.start()
        self.conn.send((parser, str(path)))
        t0 = time.monotonic()
        while True:
            if self.conn.poll(0.05):
                try:
                    out = self.conn.recv()
                except EOFError:
                    out = {"outcome": "traceback", "detail": "the worker died (signal)"}
                    self.kill()
                break
            rss = self.rss()
            self.peak_rss_mb = max(self.peak_rss_mb, rss)
            if rss > self.rss_mb:
                self.kill()
                out = {"outcome": "memory", "detail": f"resident set above {self.rss_mb} MB"}
                break
            if time.monotonic() - t0 > timeout:
                self.kill()
                out = {"outcome": "hang", "detail": f"no answer within {timeout:.0f} s"}
                break
            if not self.proc.is_alive():
                out = {"outcome": "traceback", "detail": f"the worker died (exit {self.proc.exitcode})"}
                self.proc = None
                break
        out["seconds"] = time.monotonic() - t0
        return out


def _worker_entry(conn: Any, data_dir: str, scratch: str) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    worker_main(conn, data_dir, scratch)


# ================================================================================================ main
def cases_for(parser: str, n: int, seed: int, corpus: dict[str, list[tuple[str, bytes]]],
              gen: dict[str, Any]) -> Iterator[tuple[str, str, bytes]]:
    """``n`` cases: (label, file name, bytes)."""
    rng = random.Random(f"{seed}:{parser}")
    real = corpus.get(parser, [])
    others = [b for _n, b in real]
    n_gen = n // 3 if real else n // 2
    generated = draw_many(gen[parser], n_gen + n // 3, seed) if n_gen else []
    zipped = parser in ("xlsx", "docx")
    for i in range(n):
        kind = i % 3
        if real and (kind == 0 or not generated):
            name, data = rng.choice(real)
            label = "mutated real"
        else:
            name, data = generated[i % len(generated)]
            label = "generated"
            if kind == 2 or not real:
                label = "generated, mutated" if kind == 2 else label
        if label != "generated":
            data = (mutate_zip if zipped and rng.random() < 0.7 else mutate)(data, rng, others)
        yield label, name, data


def run(args: argparse.Namespace) -> dict[str, Any]:
    parsers = [p.strip() for p in args.parsers.split(",") if p.strip()]
    work = Path(tempfile.mkdtemp(prefix="cb-fuzz-"))
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    totals = {"cases": 0, "tracebacks": 0, "hangs": 0, "stored_changes": 0, "memory": 0, "unnamed": 0}
    per: dict[str, Any] = {}
    examples: list[dict[str, Any]] = []
    try:
        data_dir, scratch, cases_dir = work / "data", work / "scratch", work / "cases"
        for d in (scratch, cases_dir):
            d.mkdir()
        baseline = prepare_store(data_dir)
        corpus = seeds()
        gen = strategies()
        worker = Worker(data_dir, scratch, baseline, args.rss_mb)
        worker.start()
        for parser in parsers:
            stats = {"cases": 0, "domain_errors": 0, "ok": 0, "tracebacks": 0, "hangs": 0, "memory": 0,
                     "unnamed": 0, "stored_changes": 0, "hostile": {}, "max_case_s": 0.0}
            t0 = time.perf_counter()
            todo: list[tuple[str, str, Callable[[], bytes] | bytes, float]] = [
                (label, name, data, args.timeout) for label, name, data in
                cases_for(parser, args.cases, args.seed, corpus, gen)]
            if not args.no_hostile:
                todo += [(f"hostile: {label}", name, build, args.hostile_timeout) for label, name, build in
                         hostile(parser)]
            for i, (label, name, data, timeout) in enumerate(todo):
                case_dir = cases_dir / f"{parser}-{i}"
                case_dir.mkdir()
                path = case_dir / name
                path.write_bytes(data() if callable(data) else data)
                if parser == "cordis" and (FIXTURES / "cordis" / "organization.csv").exists():
                    shutil.copy(FIXTURES / "cordis" / "organization.csv", case_dir / "organization.csv")
                before = worker.stored_changes_at_start
                out = worker.run(parser, path, timeout)
                if worker.proc is None:  # killed: the next case starts a worker that re-checks the store
                    worker.start()
                changed = bool(out.get("changed")) or worker.stored_changes_at_start > before
                shutil.rmtree(case_dir, ignore_errors=True)
                stats["cases"] += 1
                stats["max_case_s"] = max(stats["max_case_s"], round(out["seconds"], 2))
                o = out["outcome"]
                key = {"ok": "ok", "domain": "domain_errors", "traceback": "tracebacks", "hang": "hangs",
                       "memory": "memory", "unnamed": "unnamed"}[o]
                stats[key] += 1
                stats["stored_changes"] += int(changed)
                if label.startswith("hostile"):
                    stats["hostile"][label.removeprefix("hostile: ")] = {
                        "outcome": o, "seconds": round(out["seconds"], 2), "detail": out.get("detail", "")[:200]}
                if o not in ("ok", "domain") or changed:
                    log(f"{parser} #{i} ({label}): {o}{' (stored data changed)' if changed else ''}: "
                        f"{out.get('detail', '')[:300]}")
                if (o not in ("ok", "domain") or changed) and len(examples) < 60:
                    keep = cases_dir.parent / "failed" / f"{parser}-{i}-{name}"
                    if args.keep_failures:
                        keep.parent.mkdir(exist_ok=True)
                        keep.write_bytes(data() if callable(data) else data)
                    examples.append({"parser": parser, "case": i, "label": label, "outcome": o,
                                     "changed": changed, "detail": out.get("detail", "")[:400]})
                if (i + 1) % 200 == 0:
                    log(f"{parser}: {i + 1}/{len(todo)} cases, {stats['tracebacks']} tracebacks, "
                        f"{stats['hangs']} hangs, {stats['memory']} memory, {stats['unnamed']} unnamed")
            stats["seconds"] = round(time.perf_counter() - t0, 1)
            per[parser] = stats
            for k in ("cases", "tracebacks", "hangs", "stored_changes", "memory", "unnamed"):
                totals[k] += stats[k]
            log(f"{parser}: {stats['cases']} cases in {stats['seconds']} s: {stats['ok']} ok, "
                f"{stats['domain_errors']} domain errors, {stats['tracebacks']} tracebacks, {stats['hangs']} hangs, "
                f"{stats['memory']} memory, {stats['unnamed']} unnamed, {stats['stored_changes']} stored changes")
        worker.conn.send(None)
        worker.proc.join(30)
        peak = worker.peak_rss_mb
    finally:
        if not args.keep_failures:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {**totals, "per_parser": per, "examples": examples, "seed": args.seed, "cases_per_parser": args.cases,
            "timeout_s": args.timeout, "rss_cap_mb": args.rss_mb, "worker_peak_rss_mb": round(peak),
            "wall_s": round(time.perf_counter() - t_wall, 1),
            "cpu_s": round(time.process_time() - t_cpu + children.ru_utime + children.ru_stime, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=1000, help="cases per parser (default 1000)")
    ap.add_argument("--parsers", default=",".join(PARSERS), help="comma-separated: " + ", ".join(PARSERS))
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per case before it counts as a hang")
    ap.add_argument("--hostile-timeout", type=float, default=90.0, help="seconds per hostile classic")
    ap.add_argument("--rss-mb", type=int, default=2048, help="worker resident-set cap (MB)")
    ap.add_argument("--no-hostile", action="store_true", help="skip the hostile classics (100 MB fields, bombs)")
    ap.add_argument("--keep-failures", action="store_true", help="keep the work folder and failing cases")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result))
        return
    for p, s in result["per_parser"].items():
        print(f"{p:>9}: {s['cases']:>6} cases {s['seconds']:>7} s  ok {s['ok']}, domain errors {s['domain_errors']}, "
              f"tracebacks {s['tracebacks']}, hangs {s['hangs']}, memory {s['memory']}, unnamed {s['unnamed']}, "
              f"stored changes {s['stored_changes']}")
    print(f"total: {result['cases']} cases, {result['tracebacks']} tracebacks, {result['hangs']} hangs, "
          f"{result['stored_changes']} stored changes, {result['memory']} memory, {result['unnamed']} unnamed; "
          f"{result['wall_s']} s wall, {result['cpu_s']} s CPU")
    for e in result["examples"][:20]:
        print(f"  {e['parser']} #{e['case']} ({e['label']}): {e['outcome']}: {e['detail']}")


if __name__ == "__main__":
    main()
