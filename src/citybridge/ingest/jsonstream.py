"""Streaming readers for large JSON dumps: a top-level JSON array read element by element, and
JSON Lines, either optionally gzipped (detected by magic bytes, not by name).

Memory stays constant in the file size: only the current element and one read chunk are held.
"""

from __future__ import annotations

import codecs
import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from citybridge.ingest.limits import unpaired_surrogate

CHUNK_BYTES = 1 << 20
MAX_ELEMENT_CHARS = 64 * 1024 * 1024  # one element larger than this is treated as corrupt input
_WS = " \t\r\n"
_GZIP_MAGIC = b"\x1f\x8b"
_NUMBER_TAIL = frozenset("0123456789+-.eE")


class StreamError(Exception):
    """The stream cannot be read further (truncated, malformed, corrupt compression)."""


@dataclass(slots=True)
class Element:
    index: int  # 1-based position in the array (or line number for JSON Lines)
    value: Any = None
    error: str | None = None  # set for an element that could not be parsed (the stream may go on)


def open_binary(path: str | Path) -> IO[bytes]:
    """Open a file for reading bytes, transparently gunzipping when it starts with the gzip magic."""
    p = Path(path)
    with p.open("rb") as fh:
        magic = fh.read(2)
    if magic == _GZIP_MAGIC:
        return gzip.open(p, "rb")  # type: ignore[return-value]
    return p.open("rb")


def _read(fh: IO[bytes], size: int) -> bytes:
    try:
        return fh.read(size)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise StreamError(f"corrupt compressed data ({type(exc).__name__}: {exc})") from exc


class _Buffered:
    """Text decoded from a byte stream chunk by chunk, with a read position, and JSON values decoded at it."""

    def __init__(self, fh: IO[bytes], chunk: int, encoding: str) -> None:
        self.fh, self.chunk = fh, chunk
        self.utf8 = codecs.getincrementaldecoder(encoding)(errors="strict")
        self.decoder = json.JSONDecoder()
        self.buf, self.pos, self.eof = "", 0, False

    def more(self) -> bool:
        if self.eof:
            return False
        data = _read(self.fh, self.chunk)
        try:
            text = self.utf8.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise StreamError(f"not valid UTF-8 ({exc.reason})") from exc
        self.eof = not data
        self.buf, self.pos = self.buf[self.pos:] + text, 0
        return bool(data) or bool(text)

    def skip_ws(self) -> bool:
        """Move past whitespace; False at the end of the stream."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.buf):
                return True
            if not self.more():
                return False

    def value(self, index: int, what: str) -> Element:
        """The JSON value at the position (reading more as needed), or an error naming ``what`` ``index``."""
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except RecursionError:
                return Element(index, error=f"{what} {index} is nested too deeply (arrays and objects inside "
                                            f"each other beyond what a record can hold)")
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos > MAX_ELEMENT_CHARS:
                    return Element(index, error=f"{what} larger than {MAX_ELEMENT_CHARS:,} characters")
                if self.more():
                    continue
                cut = exc.pos >= len(self.buf) - 1 or "Unterminated" in exc.msg
                return Element(index, error=f"{'truncated' if cut else 'malformed'} JSON in {what} {index}: "
                                            f"{exc.msg}")
            # a number at the end of the buffer may continue in the next chunk ("2." + "5")
            if (isinstance(value, int | float) and not self.eof and _NUMBER_TAIL.issuperset(self.buf[end:])
                    and self.more()):
                continue
            self.pos = end
            return Element(index, value=value)


def iter_json_array(fh: IO[bytes], *, chunk: int = CHUNK_BYTES) -> Iterator[Element]:
    """Yield the elements of a top-level JSON array one by one.

    A malformed or truncated element ends the stream with one ``Element(error=...)`` (a JSON array
    cannot be resynchronised safely); the elements before it have been yielded already.
    """
    r = _Buffered(fh, chunk, "utf-8")
    index = 0
    try:
        if not r.skip_ws():
            yield Element(1, error="empty file: expected a JSON array")
            return
        if r.buf[r.pos] != "[":
            yield Element(1, error="expected a JSON array ('[') at the start of the file")
            return
        r.pos += 1
        if not r.skip_ws():
            yield Element(1, error="truncated: the array is never closed")
            return
        if r.buf[r.pos] == "]":
            return
        while True:
            index += 1
            el = r.value(index, "element")
            yield el
            if el.error is not None:
                return
            if not r.skip_ws():
                yield Element(index + 1, error="truncated: the array is never closed")
                return
            if r.buf[r.pos] == "]":
                return
            if r.buf[r.pos] != ",":
                yield Element(index + 1, error=f"malformed JSON after element {index}: expected ',' or ']'")
                return
            r.pos += 1
            if not r.skip_ws():
                yield Element(index + 1, error="truncated: the array is never closed")
                return
    except StreamError as exc:
        yield Element(index or 1, error=str(exc))


def iter_json_values(fh: IO[bytes], *, chunk: int = CHUNK_BYTES) -> Iterator[Element]:
    """Yield the top-level values of a stream of concatenated JSON values (``{...}{...}`` or one per line, with
    or without whitespace between them, a UTF-8 BOM skipped), as some portals export them.

    A malformed or truncated value ends the stream with one ``Element(error=...)`` naming the value's number
    (values cannot be resynchronised safely); the values before it have been yielded already.
    """
    r = _Buffered(fh, chunk, "utf-8-sig")
    index = 0
    try:
        while r.skip_ws():
            index += 1
            el = r.value(index, "value")
            yield el
            if el.error is not None:
                return
        if index == 0:
            yield Element(1, error="empty file: expected JSON values")
    except StreamError as exc:
        yield Element(index or 1, error=str(exc))


def head_text(path: str | Path, size: int = 4096) -> str:
    """The first ``size`` bytes of a (possibly gzipped) file as text, for sources that recognise a layout
    by content; empty when the file cannot be read."""
    try:
        with open_binary(path) as fh:
            return _read(fh, size).decode("utf-8-sig", errors="replace")
    except (OSError, StreamError):
        return ""


def iter_json_lines(fh: IO[bytes]) -> Iterator[Element]:
    """Yield one element per non-empty line; a bad line is reported and the stream goes on."""
    lineno = 0
    while True:
        try:
            raw = fh.readline()
        except (OSError, EOFError, zlib.error) as exc:
            yield Element(lineno + 1, error=f"corrupt compressed data ({type(exc).__name__}: {exc})")
            return
        if not raw:
            return
        lineno += 1
        if not raw.strip():
            continue
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # not strict JSON (NaN, huge integers), nested too deeply, or not JSON: the standard library decides
        else:
            yield Element(lineno, value=value)
            continue
        try:
            value = json.loads(raw)
        except RecursionError:
            yield Element(lineno, error="JSON nested too deeply")
            continue
        except UnicodeDecodeError:
            yield Element(lineno, error="line is not valid UTF-8")
        except json.JSONDecodeError as exc:
            yield Element(lineno, error=f"malformed JSON at column {exc.colno}: {exc.msg}")
        else:
            problem = unpaired_surrogate(value)  # (orjson refuses these; the standard library lets them through)
            yield Element(lineno, error=problem) if problem else Element(lineno, value=value)


__all__ = ["Element", "StreamError", "head_text", "iter_json_array", "iter_json_lines", "iter_json_values",
           "open_binary"]
