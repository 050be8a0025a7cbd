"""Tabular file sources: CSV (any delimiter; UTF-8, UTF-8 with BOM or Latin-1/cp1252 detected), XLSX,
JSON (an array, or an object holding ``records``/``items``/``@graph``), and JSON Lines (optionally gzipped).

Every reader streams and yields one :class:`SourceItem` per row with ``where = "file:line"``; input that
cannot be read becomes a rejection naming the line, never an exception that stops the file, and never
text merged silently into a field (an unterminated quote, a ragged row: see :mod:`.csvread`).
CSV and XLSX headers are found below title rows and question groups (:mod:`citybridge.ingest.infer`);
columns without a name are ignored, a repeated name is made unique.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from citybridge.errors import Invalid, NotFound
from citybridge.ingest.base import Rejection, SourceItem, registry
from citybridge.ingest.csvread import CsvRecords, ragged_problem
from citybridge.ingest.infer.header import SCAN_ROWS, TableLayout, table_layout
from citybridge.ingest.limits import may_hold_surrogates, unpaired_surrogate
from citybridge.ingest.mapping import normalize_kind

_SNIFF_BYTES = 256 * 1024
_DELIMITERS = ",;\t|"
TABULAR_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".json", ".jsonl", ".ndjson", ".jsonl.gz", ".json.gz",
                    ".csv.gz")


def _open_binary(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the sample decodes as UTF-8, else Windows-1252 or Latin-1."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4:  # a multi-byte character cut by the sample's end
            return "utf-8"
    # not UTF-8: a single-byte Western encoding; Windows-1252 (Excel's) unless a byte it lacks says Latin-1
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


class _FileSource:
    name: str
    sha256: str | None

    def __init__(self, path: str | Path, *, kind: str | None = None) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise NotFound("file not found", where=str(self.path))
        if self.path.is_dir():
            raise Invalid("is a folder, not a file", where=str(self.path))
        self.name = self.path.name
        self.kind = kind or self._kind_from_name()
        self.sha256 = file_sha256(self.path)

    def _kind_from_name(self) -> str | None:
        stem = self.path.name.split(".")[0].lower()
        return normalize_kind(stem)

    def _where(self, line: int | str) -> str:
        return f"{self.name}:{line}"

    def describe(self) -> dict[str, Any]:
        """How the file is read (format, encoding, delimiter, header row), for previews."""
        name = self.name.lower()
        fmt = Path(name.removesuffix(".gz")).suffix.lstrip(".") or "?"
        return {"file": self.name, "format": fmt + (" (gzip)" if name.endswith(".gz") else "")}


#: columns a table may have (Excel's limit is 16,384); a wider line is reported, not inferred over
MAX_COLUMNS = 16_384


class CsvSource(_FileSource):
    """A delimited text file; its header is found below title rows (or named with ``header_row``)."""

    def __init__(self, path: str | Path, *, kind: str | None = None, delimiter: str | None = None,
                 encoding: str | None = None, header_row: int | None = None) -> None:
        super().__init__(path, kind=kind)
        with _open_binary(self.path) as fh:
            sample = fh.read(_SNIFF_BYTES)
        if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1
                                      or delimiter in "\r\n\""):
            raise Invalid(f"the delimiter must be one character other than a quote or a line break, "
                          f"not {str(delimiter)[:20]!r}", where=self.name, field="delimiter")
        self.encoding = encoding or detect_encoding(sample)
        try:
            codecs.lookup(self.encoding)
            # the way the file will be read: a stream decoder (UTF-16/32 need their byte-order mark here)
            io.TextIOWrapper(io.BytesIO(sample), encoding=self.encoding, errors="surrogateescape").read()
        except (LookupError, UnicodeError, TypeError, ValueError) as exc:
            raise Invalid(f"the file cannot be read as {str(self.encoding)[:40]!r} ({exc})", where=self.name,
                          field="encoding") from None
        text_sample = sample.decode(self.encoding, errors="replace")
        self.delimiter = delimiter or self._sniff(text_sample)
        self.header_row = header_row
        self._layout: TableLayout | None = None

    def _sniff(self, text: str) -> str:
        if self.path.suffix == ".tsv":
            return "\t"
        head = text.splitlines()[:50]
        if not head:
            return ","
        try:
            return csv.Sniffer().sniff("\n".join(head), delimiters=_DELIMITERS).delimiter
        except csv.Error:
            counts = {d: max(line.count(d) for line in head[:SCAN_ROWS]) for d in _DELIMITERS}
            best = max(counts, key=lambda d: counts[d])
            return best if counts[best] else ","

    def _text(self) -> IO[str]:
        raw = _open_binary(self.path)
        return io.TextIOWrapper(raw, encoding=self.encoding, errors="surrogateescape", newline="")

    def layout(self) -> TableLayout:
        """Where the header is and what the columns are called (read once, from the first rows)."""
        if self._layout is None:
            wanted = max(SCAN_ROWS, self.header_row or 0)
            head: list[list[str]] = []
            problems: dict[int, str] = {}
            with self._text() as text:
                for rec in CsvRecords(text, self.delimiter):
                    if rec.problem:
                        problems[len(head)] = rec.problem
                    if rec.cells is not None and len(rec.cells) > MAX_COLUMNS:
                        problems[len(head)] = (f"line {rec.line} has {len(rec.cells):,} columns, more than the "
                                               f"{MAX_COLUMNS:,} a table may have")
                        rec.cells = rec.cells[:MAX_COLUMNS]  # the layout's work stays bounded
                    head.append(rec.cells or [])
                    if len(head) >= wanted:
                        break
            layout = table_layout(head, header_row=self.header_row)
            too_wide = next((p for p in problems.values() if "columns, more than" in p), None)
            if too_wide:
                layout.problem = too_wide
            if layout.problem is None:
                bad = problems.get(layout.header_index)
                layout.problem = (f"unreadable header: {bad}" if bad
                                  else self._check_header(head[layout.header_index]))
            self._layout = layout
        return self._layout

    def describe(self) -> dict[str, Any]:
        layout = self.layout()
        return {**super().describe(), "encoding": self.encoding, "delimiter": self.delimiter,
                "header_row": layout.header_row, "columns": layout.columns.kept}

    def items(self) -> Iterator[SourceItem]:
        layout = self.layout()
        if layout.problem:
            where = self._where(1)
            yield SourceItem(where, rejection=Rejection(where, layout.problem))
            return
        names = layout.columns.names
        with self._text() as text:
            records = CsvRecords(text, self.delimiter)
            for index, rec in enumerate(records):
                if index < layout.header_index:
                    continue
                if index == layout.header_index:
                    records.width = len(names)
                    continue
                where = self._where(rec.line)
                if rec.cells is None:
                    yield SourceItem(where, rejection=Rejection(where, rec.problem or "unreadable row"))
                    continue
                cells = rec.cells
                if not cells or not "".join(cells).strip():
                    continue
                ragged = ragged_problem(cells, len(names), self.delimiter)
                if ragged:
                    yield SourceItem(where, rejection=Rejection(where, ragged))
                    continue
                row = {name: cell for name, cell in zip(names, cells, strict=False) if name is not None}
                yield SourceItem(where, row=row, kind=self.kind)

    def _check_header(self, header: list[str]) -> str | None:
        if len(header) == 1 and any(d in header[0] for d in _DELIMITERS if d != self.delimiter):
            return (f"the header is a single column {header[0][:60]!r}: wrong delimiter? "
                    f"(detected {self.delimiter!r}; pass --delimiter)")
        if any("\x00" in h for h in header):
            return "the header holds NUL bytes: not a text file (or UTF-16 without a byte-order mark)?"
        if any("\udc80" <= ch <= "\udcff" for h in header for ch in h):
            return f"header is not valid {self.encoding}"
        return None


class JsonLinesSource(_FileSource):
    """One JSON object per line (``.jsonl``, ``.ndjson``, optionally ``.gz``); objects written one after the
    other on a line (``{...}{...}``, as some exporters do) are read one by one, and a leading BOM is skipped."""

    def items(self) -> Iterator[SourceItem]:
        decoder = json.JSONDecoder()
        with _open_binary(self.path) as fh:
            for lineno, raw in enumerate(fh, start=1):
                if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8):]
                if not raw.strip():
                    continue
                where = self._where(lineno)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    yield SourceItem(where, rejection=Rejection(where, "line is not valid UTF-8"))
                    continue
                yield from self._objects(decoder, text, where)

    def _objects(self, decoder: json.JSONDecoder, text: str, where: str) -> Iterator[SourceItem]:
        pos, count = 0, 0
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos >= len(text):
                return
            count += 1
            at = where if count == 1 else f"{where} (object {count})"
            try:
                obj, pos = decoder.raw_decode(text, pos)
            except RecursionError:
                yield SourceItem(at, rejection=Rejection(at, "JSON nested too deeply"))
                return
            except json.JSONDecodeError as exc:
                yield SourceItem(at, rejection=Rejection(at, f"malformed JSON at column {exc.colno}: {exc.msg}"))
                return  # the rest of the line cannot be resynchronised
            if not isinstance(obj, dict):
                yield SourceItem(at, rejection=Rejection(at, "expected a JSON object per line"))
                continue
            problem = unpaired_surrogate(obj) if may_hold_surrogates(text) else None
            if problem:
                yield SourceItem(at, rejection=Rejection(at, problem))
                continue
            yield SourceItem(at, row=obj, kind=self.kind)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class JsonSource(_FileSource):
    """A JSON document: an array of objects, or an object with ``records``/``items``/``@graph``."""

    def items(self) -> Iterator[SourceItem]:
        with _open_binary(self.path) as fh:
            data = fh.read()
        try:
            doc = json.loads(data)
        except RecursionError:
            yield SourceItem(self._where(1), rejection=Rejection(self._where(1), "JSON nested too deeply"))
            return
        except UnicodeDecodeError:
            yield SourceItem(self._where(1), rejection=Rejection(self._where(1), "file is not valid UTF-8"))
            return
        except json.JSONDecodeError as exc:
            where = self._where(exc.lineno)
            yield SourceItem(where, rejection=Rejection(where, f"malformed JSON at column {exc.colno}: {exc.msg}"))
            return
        rows: Any = doc
        if isinstance(doc, dict):
            for key in ("records", "items", "@graph", "results", "data"):
                if isinstance(doc.get(key), list):
                    rows = doc[key]
                    break
            else:
                rows = [doc]
        if not isinstance(rows, list):
            yield SourceItem(self._where(1), rejection=Rejection(self._where(1), "expected an array of objects"))
            return
        # line numbers of top-level array elements are not kept by json; name the element index instead
        # (json.loads decodes bytes with "surrogatepass": UTF-16 / UTF-32, or encoded surrogates in UTF-8 such as
        # ED A0 80, give unpaired surrogates without any escape)
        check = (isinstance(data, str) or json.detect_encoding(data) != "utf-8" or not _utf8(data)
                 or may_hold_surrogates(data))
        for index, obj in enumerate(rows):
            where = f"{self.name}:item {index + 1}"
            if not isinstance(obj, dict):
                yield SourceItem(where, rejection=Rejection(where, "expected a JSON object"))
                continue
            problem = unpaired_surrogate(obj) if check else None
            if problem:
                yield SourceItem(where, rejection=Rejection(where, problem))
                continue
            yield SourceItem(where, row=obj, kind=self.kind)


class XlsxSource(_FileSource):
    """An Excel workbook: every sheet with a header row (found below title rows and merged group cells,
    or named with ``header_row``); a sheet named after a kind sets that kind."""

    def __init__(self, path: str | Path, *, kind: str | None = None, header_row: int | None = None) -> None:
        super().__init__(path, kind=kind)
        self.header_row = header_row
        self._layouts: dict[str, TableLayout] | None = None
        self._unreadable: dict[str, str] = {}  # sheet title ("" for the workbook) -> why it cannot be read

    def _workbook(self) -> Any:
        from openpyxl import load_workbook

        from citybridge.ingest.limits import zip_bomb_problem

        problem = zip_bomb_problem(self.path)
        if problem:
            raise Invalid(problem, where=self.name, field="file")
        return load_workbook(self.path, read_only=True, data_only=True)

    def layouts(self) -> dict[str, TableLayout]:
        """The layout of every sheet that has rows, by sheet title."""
        if self._layouts is None:
            out: dict[str, TableLayout] = {}
            try:
                wb = self._workbook()
            except Exception:  # reported by items()
                return {}
            try:
                wanted = max(SCAN_ROWS, self.header_row or 0)
                for ws in wb.worksheets:
                    try:
                        head = [[_cell(v) or "" for v in row]
                                for row in itertools.islice(ws.iter_rows(values_only=True), wanted)]
                    except Exception as exc:  # the sheet's XML is malformed (ParseError, ValueError ...)
                        self._unreadable[ws.title] = _xml_problem(exc)
                        continue
                    if any(any(c for c in r) for r in head):
                        out[ws.title] = table_layout(head, header_row=self.header_row)
            except Exception as exc:  # the workbook's sheet list itself is unreadable
                self._unreadable[""] = _xml_problem(exc)
            finally:
                wb.close()
            self._layouts = out
        return self._layouts

    def layout(self) -> TableLayout | None:
        """The layout of the first sheet with rows."""
        return next(iter(self.layouts().values()), None)

    def describe(self) -> dict[str, Any]:
        layout = self.layout()
        sheets = list(self.layouts())
        return {**super().describe(), "sheets": sheets,
                "header_row": layout.header_row if layout else None,
                "columns": layout.columns.kept if layout else []}

    def items(self) -> Iterator[SourceItem]:
        try:
            wb = self._workbook()
        except Invalid as exc:  # a ZIP bomb
            where = self._where(1)
            yield SourceItem(where, rejection=Rejection(where, exc.message, field=exc.field))
            return
        except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException ...
            where = self._where(1)
            yield SourceItem(where, rejection=Rejection(where, f"not a readable XLSX workbook ({type(exc).__name__})"))
            return
        layouts = self.layouts()
        for title, problem in self._unreadable.items():
            where = f"{self.name}:{title}!1" if title else self._where(1)
            yield SourceItem(where, rejection=Rejection(where, problem))
        try:
            for ws in wb.worksheets:
                layout = layouts.get(ws.title)
                if layout is None:
                    continue
                if layout.problem:
                    where = f"{self.name}:{ws.title}!{layout.header_row}"
                    yield SourceItem(where, rejection=Rejection(where, layout.problem))
                    continue
                sheet_kind = normalize_kind(ws.title) or self.kind
                names = layout.columns.names
                rows = ws.iter_rows(values_only=True, min_row=layout.header_row + 1)
                lineno = layout.header_row
                while True:
                    lineno += 1
                    try:
                        values = next(rows, None)
                    except Exception as exc:  # malformed sheet XML after the header: the rows read so far stand
                        where = f"{self.name}:{ws.title}!{lineno}"
                        yield SourceItem(where, rejection=Rejection(where, _xml_problem(exc)))
                        break
                    if values is None:
                        break
                    where = f"{self.name}:{ws.title}!{lineno}"
                    if all(v is None or str(v).strip() == "" for v in values):
                        continue
                    row = {h: _cell(v) for h, v in zip(names, values, strict=False) if h is not None}
                    yield SourceItem(where, row=row, kind=sheet_kind)
        except Exception as exc:  # the sheet list or a sheet's parts are unreadable
            where = self._where(1)
            yield SourceItem(where, rejection=Rejection(where, _xml_problem(exc)))
        finally:
            wb.close()


def _xml_problem(exc: Exception) -> str:
    """A workbook part that cannot be read, said without a traceback."""
    detail = str(exc).splitlines()[0][:160] if str(exc) else ""
    return f"unreadable XLSX sheet ({type(exc).__name__}{': ' + detail if detail else ''})"


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def open_tabular(path: str | Path, *, kind: str | None = None, delimiter: str | None = None,
                 encoding: str | None = None, header_row: int | None = None) -> _FileSource:
    """The right tabular source for a file, by extension; ``header_row`` (1-based) names the header row of
    a CSV or XLSX file (default: found)."""
    p = Path(path)
    name = p.name.lower()
    if name.endswith((".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")):
        return JsonLinesSource(p, kind=kind)
    if name.endswith((".json", ".json.gz", ".jsonld")):
        return JsonSource(p, kind=kind)
    if name.endswith(".xlsx"):
        return XlsxSource(p, kind=kind, header_row=header_row)
    if name.endswith((".csv", ".tsv", ".txt", ".csv.gz")):
        return CsvSource(p, kind=kind, delimiter=delimiter, encoding=encoding, header_row=header_row)
    raise Invalid("unsupported file type: use .csv, .tsv, .xlsx, .json or .jsonl", where=str(p))


def _score(target: str) -> float:
    return 1.0 if target.lower().endswith(TABULAR_SUFFIXES) else 0.0


registry.register("tabular", open_tabular, _score)
