"""Tabular file sources: CSV (any delimiter; UTF-8, UTF-8 with BOM or Latin-1/cp1252 detected), XLSX,
JSON (an array, or an object holding ``records``/``items``/``@graph``), and JSON Lines (optionally gzipped).

Every reader streams and yields one :class:`SourceItem` per row with ``where = "file:line"``; input that
cannot be read becomes a rejection naming the line, never an exception that stops the file.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from citybridge.errors import Invalid, NotFound
from citybridge.ingest.base import Rejection, SourceItem, registry
from citybridge.ingest.mapping import normalize_kind

CSV_FIELD_LIMIT = 64 * 1024 * 1024  # bytes; a larger cell is rejected with its line number
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
    """UTF-8 (with or without BOM) when the sample decodes as UTF-8, else the best single-byte guess."""
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
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(sample).best()
        if best is not None and best.encoding.replace("_", "-") in ("cp1252", "latin-1", "iso8859-1",
                                                                    "iso8859-15", "cp1250", "mac-roman"):
            return "cp1252" if best.encoding == "cp1252" else "latin-1"
    except ImportError:  # pragma: no cover - charset-normalizer is a core dependency
        pass
    return "cp1252"


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


class CsvSource(_FileSource):
    """A delimited text file with a header row."""

    def __init__(self, path: str | Path, *, kind: str | None = None, delimiter: str | None = None,
                 encoding: str | None = None) -> None:
        super().__init__(path, kind=kind)
        with _open_binary(self.path) as fh:
            sample = fh.read(_SNIFF_BYTES)
        self.encoding = encoding or detect_encoding(sample)
        text_sample = sample.decode(self.encoding, errors="replace")
        self.delimiter = delimiter or self._sniff(text_sample)

    def _sniff(self, text: str) -> str:
        if self.path.suffix == ".tsv":
            return "\t"
        head = text.splitlines()[:50]
        if not head:
            return ","
        try:
            return csv.Sniffer().sniff("\n".join(head), delimiters=_DELIMITERS).delimiter
        except csv.Error:
            counts = {d: head[0].count(d) for d in _DELIMITERS}
            best = max(counts, key=lambda d: counts[d])
            return best if counts[best] else ","

    def items(self) -> Iterator[SourceItem]:
        csv.field_size_limit(CSV_FIELD_LIMIT)
        raw = _open_binary(self.path)
        text = io.TextIOWrapper(raw, encoding=self.encoding, errors="surrogateescape", newline="")
        try:
            reader = csv.reader(text, delimiter=self.delimiter)
            try:
                header = next(reader)
            except StopIteration:
                yield SourceItem(self._where(1), rejection=Rejection(self._where(1), "empty file: no header row"))
                return
            except csv.Error as exc:
                yield SourceItem(self._where(1), rejection=Rejection(self._where(1), f"unreadable header: {exc}"))
                return
            header = [h.strip().lstrip("\ufeff") for h in header]
            problem = self._check_header(header)
            if problem:
                yield SourceItem(self._where(1), rejection=Rejection(self._where(1), problem))
                return
            line = reader.line_num
            while True:
                start = line + 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    line = reader.line_num
                    where = self._where(start)
                    yield SourceItem(where, rejection=Rejection(where, f"unreadable row: {exc}"))
                    continue
                line = reader.line_num
                if not cells or not "".join(cells).strip():
                    continue
                if len(cells) > len(header):
                    extra = [c for c in cells[len(header):] if c.strip()]
                    if extra:
                        yield SourceItem(self._where(start), rejection=Rejection(
                            self._where(start), f"row has {len(cells)} cells but the header has {len(header)} "
                            f"(delimiter {self.delimiter!r}; a stray delimiter or unquoted text?)"))
                        continue
                row = dict(zip(header, cells, strict=False))
                yield SourceItem(self._where(start), row=row, kind=self.kind)
        finally:
            text.close()

    def _check_header(self, header: list[str]) -> str | None:
        if len(header) == 1 and any(d in header[0] for d in _DELIMITERS if d != self.delimiter):
            return (f"the header is a single column {header[0][:60]!r}: wrong delimiter? "
                    f"(detected {self.delimiter!r}; pass --delimiter)")
        if any("\udc80" <= ch <= "\udcff" for h in header for ch in h):
            return f"header is not valid {self.encoding}"
        dupes = sorted({h for h in header if h and header.count(h) > 1})
        if dupes:
            return f"duplicate column names in header: {', '.join(dupes)}"
        if any(h == "" for h in header):
            return f"empty column name at position {header.index('') + 1}"
        return None


class JsonLinesSource(_FileSource):
    """One JSON object per line (``.jsonl``, ``.ndjson``, optionally ``.gz``)."""

    def items(self) -> Iterator[SourceItem]:
        with _open_binary(self.path) as fh:
            for lineno, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                where = self._where(lineno)
                try:
                    obj = json.loads(raw)
                except UnicodeDecodeError:
                    yield SourceItem(where, rejection=Rejection(where, "line is not valid UTF-8"))
                    continue
                except json.JSONDecodeError as exc:
                    yield SourceItem(where, rejection=Rejection(where, f"malformed JSON at column {exc.colno}: "
                                                                       f"{exc.msg}"))
                    continue
                if not isinstance(obj, dict):
                    yield SourceItem(where, rejection=Rejection(where, "expected a JSON object per line"))
                    continue
                yield SourceItem(where, row=obj, kind=self.kind)


class JsonSource(_FileSource):
    """A JSON document: an array of objects, or an object with ``records``/``items``/``@graph``."""

    def items(self) -> Iterator[SourceItem]:
        with _open_binary(self.path) as fh:
            data = fh.read()
        try:
            doc = json.loads(data)
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
        for index, obj in enumerate(rows):
            where = f"{self.name}:item {index + 1}"
            if not isinstance(obj, dict):
                yield SourceItem(where, rejection=Rejection(where, "expected a JSON object"))
                continue
            yield SourceItem(where, row=obj, kind=self.kind)


class XlsxSource(_FileSource):
    """An Excel workbook: every sheet with a header row; a sheet named after a kind sets that kind."""

    def items(self) -> Iterator[SourceItem]:
        try:
            from openpyxl import load_workbook

            wb = load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException ...
            where = self._where(1)
            yield SourceItem(where, rejection=Rejection(where, f"not a readable XLSX workbook ({type(exc).__name__})"))
            return
        try:
            for ws in wb.worksheets:
                sheet_kind = normalize_kind(ws.title) or self.kind
                rows = ws.iter_rows(values_only=True)
                header_row = next(rows, None)
                if header_row is None:
                    continue
                header = [str(h).strip() if h is not None else "" for h in header_row]
                while header and header[-1] == "":
                    header.pop()
                for lineno, values in enumerate(rows, start=2):
                    where = f"{self.name}:{ws.title}!{lineno}"
                    if values is None or all(v is None or str(v).strip() == "" for v in values):
                        continue
                    row = {h: _cell(v) for h, v in zip(header, values, strict=False) if h}
                    yield SourceItem(where, row=row, kind=sheet_kind)
        finally:
            wb.close()


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
                 encoding: str | None = None) -> _FileSource:
    """The right tabular source for a file, by extension."""
    p = Path(path)
    name = p.name.lower()
    if name.endswith((".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")):
        return JsonLinesSource(p, kind=kind)
    if name.endswith((".json", ".json.gz", ".jsonld")):
        return JsonSource(p, kind=kind)
    if name.endswith(".xlsx"):
        return XlsxSource(p, kind=kind)
    if name.endswith((".csv", ".tsv", ".txt", ".csv.gz")):
        return CsvSource(p, kind=kind, delimiter=delimiter, encoding=encoding)
    raise Invalid("unsupported file type: use .csv, .tsv, .xlsx, .json or .jsonl", where=str(p))


def _score(target: str) -> float:
    return 1.0 if target.lower().endswith(TABULAR_SUFFIXES) else 0.0


registry.register("tabular", open_tabular, _score)
