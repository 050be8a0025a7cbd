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


def iter_json_array(fh: IO[bytes], *, chunk: int = CHUNK_BYTES) -> Iterator[Element]:
    """Yield the elements of a top-level JSON array one by one.

    A malformed or truncated element ends the stream with one ``Element(error=...)`` (a JSON array
    cannot be resynchronised safely); the elements before it have been yielded already.
    """
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="strict")
    buf = ""
    pos = 0
    eof = False
    index = 0

    def more() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        data = _read(fh, chunk)
        try:
            text = utf8.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise StreamError(f"not valid UTF-8 ({exc.reason})") from exc
        if not data:
            eof = True
        buf = buf[pos:] + text
        pos = 0
        return bool(data) or bool(text)

    def skip_ws() -> bool:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in _WS:
                pos += 1
            if pos < len(buf):
                return True
            if not more():
                return False

    try:
        if not skip_ws():
            yield Element(1, error="empty file: expected a JSON array")
            return
        if buf[pos] != "[":
            yield Element(1, error="expected a JSON array ('[') at the start of the file")
            return
        pos += 1
        if not skip_ws():
            yield Element(1, error="truncated: the array is never closed")
            return
        if buf[pos] == "]":
            return
        while True:
            index += 1
            while True:
                try:
                    value, end = decoder.raw_decode(buf, pos)
                except json.JSONDecodeError as exc:
                    if len(buf) - pos > MAX_ELEMENT_CHARS:
                        yield Element(index, error=f"element larger than {MAX_ELEMENT_CHARS:,} characters")
                        return
                    if more():
                        continue
                    cut = exc.pos >= len(buf) - 1 or "Unterminated" in exc.msg
                    what = "truncated" if cut else "malformed"
                    yield Element(index, error=f"{what} JSON in element {index}: {exc.msg}")
                    return
                # a number at the end of the buffer may continue in the next chunk ("2." + "5")
                if (isinstance(value, int | float) and not eof and _NUMBER_TAIL.issuperset(buf[end:])
                        and more()):
                    continue
                break
            pos = end
            yield Element(index, value=value)
            if not skip_ws():
                yield Element(index + 1, error="truncated: the array is never closed")
                return
            if buf[pos] == "]":
                return
            if buf[pos] != ",":
                yield Element(index + 1, error=f"malformed JSON after element {index}: expected ',' or ']'")
                return
            pos += 1
            if not skip_ws():
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
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    buf, pos, eof, index = "", 0, False, 0

    def more() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        data = _read(fh, chunk)
        try:
            text = utf8.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise StreamError(f"not valid UTF-8 ({exc.reason})") from exc
        eof = not data
        buf, pos = buf[pos:] + text, 0
        return bool(data) or bool(text)

    try:
        while True:
            while True:
                while pos < len(buf) and buf[pos] in _WS:
                    pos += 1
                if pos < len(buf):
                    break
                if not more():
                    if index == 0:
                        yield Element(1, error="empty file: expected JSON values")
                    return
            index += 1
            while True:
                try:
                    value, end = decoder.raw_decode(buf, pos)
                except json.JSONDecodeError as exc:
                    if len(buf) - pos > MAX_ELEMENT_CHARS:
                        yield Element(index, error=f"value larger than {MAX_ELEMENT_CHARS:,} characters")
                        return
                    if more():
                        continue
                    cut = exc.pos >= len(buf) - 1 or "Unterminated" in exc.msg
                    yield Element(index, error=f"{'truncated' if cut else 'malformed'} JSON in value {index}: "
                                               f"{exc.msg}")
                    return
                if end >= len(buf) and not eof and more():
                    continue  # a value at the end of the buffer may go on in the next chunk
                break
            pos = end
            yield Element(index, value=value)
    except StreamError as exc:
        yield Element(index or 1, error=str(exc))


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
            yield Element(lineno, value=json.loads(raw))
        except UnicodeDecodeError:
            yield Element(lineno, error="line is not valid UTF-8")
        except json.JSONDecodeError as exc:
            yield Element(lineno, error=f"malformed JSON at column {exc.colno}: {exc.msg}")


__all__ = ["Element", "StreamError", "iter_json_array", "iter_json_lines", "iter_json_values", "open_binary"]
