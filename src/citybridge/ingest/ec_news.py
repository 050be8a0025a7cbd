"""European Commission news items saved as Markdown -> documents of subtype ``news`` with their dates.

The Commission's news pages, saved as Markdown (one file per item, as ec.europa.eu renders them), open with
a bullet list - the date ("* 8 May 2025"), the Directorate-General and the reading time - then the title
("# ...") and the body with links. Each file is one news document: the title, the date as ``published``, the
DG as publisher, the body with its links turned into text (the link targets are kept in ``attributes``).
Items are keyed by ``ec_news`` = the file name without ``.md``, so re-reading a folder, or a newer one with
the same items, updates them. Commission content: CC BY 4.0 (Decision C(2019)1655).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from citybridge.errors import NotFound
from citybridge.ingest.base import Rejection, SourceItem, registry
from citybridge.model.entities import Document, DocumentType, Provenance

SOURCE = "ec-news"
LICENCE = "CC-BY-4.0"
_DATE_LINE = re.compile(r"^\s*[*-]\s+(\d{1,2} [A-Z][a-z]+ \d{4})\s*$")
_BULLET = re.compile(r"^\s*[*-]\s+(.*?)\s*$")
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\((https?://[^)\s]+)[^)]*\)")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
HEAD_LINES = 12


def parse_news(text: str) -> tuple[date, str | None, str, str, list[dict[str, str]]]:
    """(date, Directorate-General, title, body, links) of one news item; ValueError naming what is missing."""
    lines = text.splitlines()
    published: date | None = None
    dg: str | None = None
    title_at = None
    for i, line in enumerate(lines[:HEAD_LINES]):
        if published is None and (m := _DATE_LINE.match(line)):
            published = datetime.strptime(m.group(1), "%d %B %Y").date()
        elif (m := _BULLET.match(line)) and published is not None and dg is None and \
                not m.group(1).endswith("read"):
            dg = m.group(1)
        elif line.startswith("# "):
            title_at = i
            break
    if published is None:
        raise ValueError("no date line ('* 8 May 2025') at the top")
    if title_at is None:
        raise ValueError("no title line ('# ...') after the date")
    title = lines[title_at][2:].strip()
    raw_body = "\n".join(lines[title_at + 1:])
    links = [{"text": t.strip(), "url": u} for t, u in _LINK.findall(raw_body)]
    body = _LINK.sub(lambda m: m.group(1), _IMAGE.sub("", raw_body))
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in body.splitlines())).strip()
    return published, dg, title, body, links


class EcNewsSource:
    """A folder of Commission news items in Markdown (or one such file)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise NotFound("news folder or file not found", where=str(self.path))
        self.name = self.path.name

    def files(self) -> list[Path]:
        if self.path.is_file():
            return [self.path]
        return sorted(p for p in self.path.rglob("*.md") if p.is_file() and not p.name.startswith("."))

    def items(self) -> Iterator[SourceItem]:
        for path in self.files():
            where = str(path.relative_to(self.path.parent))
            try:
                published, dg, title, body, links = parse_news(path.read_text(encoding="utf-8-sig"))
            except UnicodeDecodeError:
                yield SourceItem(where, rejection=Rejection(where, "not UTF-8 text"))
                continue
            except ValueError as exc:
                yield SourceItem(where, rejection=Rejection(where, str(exc)))
                continue
            if not body:
                yield SourceItem(where, rejection=Rejection(where, "news item without a body", "body"))
                continue
            key = path.stem
            publisher = f"European Commission, {dg}" if dg else "European Commission"
            yield SourceItem(where, record=Document(
                name=title[:2000], body=body, doc_type=DocumentType.news,
                published=published, publisher=publisher, languages=["en"], external_ids={"ec_news": key},
                attributes={k: v for k, v in {"directorate_general": dg, "links": links[:50] or None}.items() if v},
                provenance=[Provenance(source=SOURCE, record_id=key, licence=LICENCE)],
            ))


def _looks_like_news(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            head = [fh.readline() for _ in range(HEAD_LINES)]
    except OSError:
        return False
    return any(_DATE_LINE.match(h) for h in head[:3]) and any(h.startswith("# ") for h in head)


def _score(target: str) -> float:
    p = Path(target)
    if p.is_file() and p.suffix.lower() == ".md":
        return 3.0 if _looks_like_news(p) else 0.0
    if p.is_dir():
        sample = sorted(p.glob("*.md"))[:5]
        return 3.0 if sample and all(_looks_like_news(f) for f in sample) else 0.0
    return 0.0


registry.register("ec-news", EcNewsSource, _score)

__all__ = ["EcNewsSource", "parse_news"]
