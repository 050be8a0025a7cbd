"""Bounds on what one input file may make a parser build, so that a hostile file is refused up front.

A ZIP container (XLSX, DOCX) declares each member's uncompressed size, and Python's ``zipfile`` never
inflates a member past it; a member that would expand to more than :data:`ZIP_MEMBER_BYTES`, or to more
than :data:`ZIP_MEMBER_RATIO` times its compressed size once past :data:`ZIP_RATIO_FLOOR` (a "ZIP bomb":
real sheets and documents compress about 5-20 times), is refused before any XML is parsed.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import IO

ZIP_MEMBER_BYTES = 1 << 30  # 1 GiB of XML in one member
ZIP_TOTAL_BYTES = 2 << 30
ZIP_MEMBER_RATIO = 200
ZIP_RATIO_FLOOR = 16 << 20  # small members may compress as well as they like


def zip_bomb_problem(source: str | Path | IO[bytes]) -> str | None:
    """Why a ZIP container must not be opened (a member inflating beyond the bounds), or None.

    A file that is not a readable ZIP at all returns None: the parser reports that in its own words.
    """
    try:
        with zipfile.ZipFile(source) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None
    total = 0
    for info in infos:
        size, packed = info.file_size, max(info.compress_size, 1)
        total += size
        if size > ZIP_MEMBER_BYTES or (size > ZIP_RATIO_FLOOR and size / packed > ZIP_MEMBER_RATIO):
            return (f"member {info.filename[:80]!r} would expand from {packed:,} to {size:,} bytes "
                    f"(a ZIP bomb?); refused")
    if total > ZIP_TOTAL_BYTES:
        return f"the members would expand to {total:,} bytes in all (a ZIP bomb?); refused"
    return None


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def may_hold_surrogates(raw: bytes | str) -> bool:
    """Whether JSON text escapes a UTF-16 surrogate (``\\ud800``...): only then can a parsed value hold an
    unpaired one (a pair decodes to one character)."""
    return bool(_SURROGATE_ESCAPE.search(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")))


def unpaired_surrogate(value: object) -> str | None:
    """Why a parsed JSON value cannot be stored (a text holding an unpaired UTF-16 surrogate is not valid
    Unicode: no UTF-8 encoding, no content hash, no id), or None."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start:exc.end] if isinstance(exc.object, str) else ""
        code = f" (\\u{ord(bad[0]):04x})" if bad else ""
        return f"text holds an unpaired surrogate{code}: not valid Unicode"
    except (RecursionError, ValueError, TypeError):
        return None  # (the parser's own checks report these)
    return None


__all__ = ["ZIP_MEMBER_BYTES", "ZIP_MEMBER_RATIO", "may_hold_surrogates", "unpaired_surrogate", "zip_bomb_problem"]
