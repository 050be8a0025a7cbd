"""Bounds on what one input file may make a parser build, so that a hostile file is refused up front.

A ZIP container (XLSX, DOCX) declares each member's uncompressed size, and Python's ``zipfile`` never
inflates a member past it; a member that would expand to more than :data:`ZIP_MEMBER_BYTES`, or to more
than :data:`ZIP_MEMBER_RATIO` times its compressed size once past :data:`ZIP_RATIO_FLOOR` (a "ZIP bomb":
real sheets and documents compress about 5-20 times), is refused before any XML is parsed.
"""

from __future__ import annotations

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


__all__ = ["ZIP_MEMBER_BYTES", "ZIP_MEMBER_RATIO", "zip_bomb_problem"]
