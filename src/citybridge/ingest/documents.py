"""Documents -> ``Document`` records: PDF, DOCX, HTML, Markdown and plain text, from files, folders or URLs.

Each document gets an id derived from its absolute path (or URL), so re-ingesting a changed file updates
the same record, and ``content_hash`` (sha256 of the normalised text, also stored as external id
``sha256``) so the same content under another name is recognised as a duplicate by the resolver.
PDFs are read page by page (page offsets kept in ``attributes.page_offsets``); the stored body is capped
at :data:`MAX_BODY_CHARS` with a note. Encrypted, corrupt, empty or image-only PDFs become one rejection
line each, never an exception.

Needs ``pypdf`` (core) and, for DOCX and HTML, the ``docs`` extra (python-docx, trafilatura).
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from citybridge.errors import NotFound, Unavailable
from citybridge.ingest.base import Rejection, SourceItem, registry
from citybridge.model.entities import Document, DocumentType, Provenance, derive_id

MAX_BODY_CHARS = 2_000_000
MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024
MIN_HTML_WORDS = 8
DOC_SUFFIXES = (".pdf", ".docx", ".html", ".htm", ".md", ".markdown", ".txt", ".text")
_TYPE_WORDS: tuple[tuple[str, DocumentType], ...] = (
    (r"case[ _-]?stud", DocumentType.case_study),
    (r"guideline|guidance|toolkit", DocumentType.guideline),
    (r"manual|handbook", DocumentType.manual),
    (r"policy|strategy|plan\b|regulation", DocumentType.policy),
    (r"news|press[ _-]?release", DocumentType.news),
    (r"dataset|data[ _-]?set", DocumentType.dataset),
    (r"report|assessment|review|study", DocumentType.report),
)


class Unreadable(Exception):
    """A document that cannot be turned into text; the message is the rejection reason."""


@dataclass
class Extracted:
    text: str
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: date | None = None
    language: str | None = None
    pages: int | None = None
    page_offsets: list[int] = field(default_factory=list)
    fmt: str = "text"


def normalise_text(text: str) -> str:
    """Whitespace-collapsed text: the form ``content_hash`` is computed on."""
    return re.sub(r"\s+", " ", text).strip()


def guess_doc_type(name: str, title: str | None, fmt: str) -> DocumentType:
    hay = f"{name} {title or ''}".lower()
    for pattern, doc_type in _TYPE_WORDS:
        if re.search(pattern, hay):
            return doc_type
    return DocumentType.report if fmt in ("pdf", "docx") else DocumentType.other


def _pdf_date(value: Any) -> date | None:
    if hasattr(value, "date"):
        return value.date()
    m = re.match(r"D:(\d{4})(\d{2})?(\d{2})?", str(value or ""))
    try:
        return date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)) if m else None
    except ValueError:
        return None


def extract_pdf(data: Path | bytes) -> Extracted:
    """Text of a PDF, page by page (only one page's objects are decoded at a time)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data) if isinstance(data, bytes) else str(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unreadable("encrypted PDF: it needs a password, which citybridge does not ask for")
        n = len(reader.pages)
    except Unreadable:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise Unreadable(f"not a readable PDF ({type(exc).__name__}: {str(exc)[:120]})") from exc
    except Exception as exc:  # pypdf raises a wide range on hostile files; never let one stop a folder
        raise Unreadable(f"not a readable PDF ({type(exc).__name__})") from exc
    if n == 0:
        raise Unreadable("empty PDF: no pages")
    parts: list[str] = []
    offsets: list[int] = []
    size = 0
    for i in range(n):
        try:
            text = reader.pages[i].extract_text() or ""
        except Exception:  # one broken page must not lose the others
            text = ""
        offsets.append(size)
        parts.append(text)
        size += len(text) + 2
    body = "\n\n".join(parts)
    if not normalise_text(body):
        raise Unreadable(f"no text layer in {n} page(s): a scanned or image-only PDF (no OCR is done)")
    try:
        meta = reader.metadata or {}
        title = str(meta.get("/Title") or "").strip() or None
        author = str(meta.get("/Author") or "").strip()
        created = meta.get("/CreationDate")
    except Exception:  # a broken document-info dictionary must not lose the text (PdfStreamError ...)
        title, author, created = None, "", None
    return Extracted(
        body,
        title=title,
        authors=[a.strip() for a in re.split(r"[;,]| and ", author) if a.strip()],
        published=_pdf_date(created),
        pages=n,
        page_offsets=offsets,
        fmt="pdf",
    )


def extract_docx(data: Path | bytes) -> Extracted:
    try:
        import docx
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise Unavailable("reading DOCX needs python-docx: pip install 'citybridge[docs]'") from exc
    from citybridge.ingest.limits import zip_bomb_problem

    problem = zip_bomb_problem(io.BytesIO(data) if isinstance(data, bytes) else data)
    if problem:
        raise Unreadable(problem)
    try:
        d = docx.Document(io.BytesIO(data) if isinstance(data, bytes) else str(data))
        # a package whose parts parse but whose document part is not a Word body fails only here
        text = "\n".join(p.text for p in d.paragraphs)
        props = d.core_properties
        authors = [props.author] if props.author else []
        published = props.created.date() if props.created else None
    except Exception as exc:
        raise Unreadable(f"not a readable DOCX file ({type(exc).__name__})") from exc
    return Extracted(
        text,
        title=(props.title or "").strip() or None,
        authors=authors,
        published=published,
        language=(props.language or None),
        fmt="docx",
    )


def extract_html(html: str | bytes) -> Extracted:
    try:
        import trafilatura
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise Unavailable("reading HTML needs trafilatura: pip install 'citybridge[docs]'") from exc
    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    d = (doc if isinstance(doc, dict) else doc.as_dict()) if doc is not None else {}
    text = d.get("text") or ""
    if len(normalise_text(text).split()) < MIN_HTML_WORDS:  # a menu or a cookie banner is not content
        raise Unreadable("no main content found in the HTML page")
    published = None
    if d.get("date"):
        try:
            published = date.fromisoformat(str(d["date"])[:10])
        except ValueError:
            published = None
    author = d.get("author") or ""
    return Extracted(
        text,
        title=d.get("title"),
        authors=[a.strip() for a in author.split(";") if a.strip()],
        published=published,
        language=d.get("language"),
        fmt="html",
    )


def extract_text(raw: bytes, fmt: str) -> Extracted:
    text = raw.decode("utf-8", errors="replace") if not raw.startswith(b"\xff\xfe") else raw.decode("utf-16")
    title = None
    if fmt == "markdown":
        m = re.search(r"^#\s+(.+)$", text, re.M)
        title = m.group(1).strip() if m else None
    return Extracted(text, title=title, fmt=fmt)


def extract(path: Path) -> Extracted:
    """Text and metadata of a document file, by its type (suffix, then magic bytes)."""
    suffix = path.suffix.lower()
    with path.open("rb") as fh:
        magic = fh.read(5)
    if suffix == ".pdf" or magic == b"%PDF-":
        return extract_pdf(path)
    if suffix == ".docx":
        return extract_docx(path)
    if suffix in (".html", ".htm"):
        return extract_html(path.read_bytes())
    return extract_text(path.read_bytes(), "markdown" if suffix in (".md", ".markdown") else "text")


def to_document(
    ex: Extracted,
    *,
    key: str,
    name: str,
    source: str,
    url: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Document:
    """The record for extracted text; ``key`` (``file:/abs/path`` or a URL) fixes its id."""
    norm = normalise_text(ex.text)
    if not norm:
        raise Unreadable("empty document: no text")
    digest = hashlib.sha256(norm.encode("utf-8")).hexdigest()
    attrs: dict[str, Any] = {"format": ex.fmt, "source_key": key, **(extra or {})}
    body = ex.text.strip()
    if len(body) > MAX_BODY_CHARS:
        attrs["body_truncated"] = f"stored the first {MAX_BODY_CHARS:,} of {len(body):,} characters"
        body = body[:MAX_BODY_CHARS]
    if ex.page_offsets and ex.pages and ex.pages > 1:
        attrs["page_offsets"] = ex.page_offsets
    return Document(
        id=derive_id("document", key),
        name=(ex.title or name)[:2000],
        doc_type=guess_doc_type(name, ex.title, ex.fmt),
        body=body,
        content_hash=digest,
        external_ids={"sha256": digest},
        authors=ex.authors,
        published=ex.published,
        pages=ex.pages,
        url=url,
        languages=[ex.language[:2].lower()] if ex.language else [],
        attributes=attrs,
        provenance=[Provenance(source=source, record_id=key, url=url)],
    )


def _matches(rel: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(Path(rel).name, p) for p in patterns)


class DocumentSource:
    """Documents from files, folders (recursive, with include/exclude globs) and URLs.

    >>> DocumentSource(["reports/", "https://example.org/plan.pdf"], exclude=["drafts/*"])  # doctest: +SKIP
    """

    def __init__(
        self,
        targets: Iterable[str | Path],
        *,
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
        timeout: float = 30.0,
    ) -> None:
        self.targets = [str(t) for t in targets]
        self.include = list(include) or [f"*{s}" for s in DOC_SUFFIXES]
        self.exclude = list(exclude)
        self.timeout = timeout
        for t in self.targets:
            if not t.startswith(("http://", "https://")) and not Path(t).exists():
                raise NotFound("file or folder not found", where=t)
        self.name = self.targets[0] if len(self.targets) == 1 else f"{len(self.targets)} targets"

    def files(self) -> Iterator[Path]:
        """Every file the targets name, folders walked recursively in sorted order."""
        for t in self.targets:
            if t.startswith(("http://", "https://")):
                continue
            p = Path(t)
            if p.is_file():
                yield p
                continue
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).as_posix()
                if f.is_file() and _matches(rel, self.include) and not _matches(rel, self.exclude):
                    yield f

    def items(self) -> Iterator[SourceItem]:
        for t in self.targets:
            if t.startswith(("http://", "https://")):
                yield self._url_item(t)
        for f in self.files():
            yield file_item(f)

    def _url_item(self, url: str) -> SourceItem:
        import httpx

        try:
            with httpx.stream("GET", url, follow_redirects=True, timeout=self.timeout) as resp:
                if resp.status_code != 200:
                    return SourceItem(url, rejection=Rejection(url, f"HTTP {resp.status_code} when fetching"))
                chunks, size = [], 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > MAX_DOWNLOAD_BYTES:
                        return SourceItem(
                            url, rejection=Rejection(url, "larger than 100 MB: download it first")
                        )
                    chunks.append(chunk)
                ctype = resp.headers.get("content-type", "").lower()
        except httpx.HTTPError as exc:
            return SourceItem(url, rejection=Rejection(url, f"could not fetch ({type(exc).__name__}: {exc})"))
        raw = b"".join(chunks)
        try:
            if "pdf" in ctype or raw.startswith(b"%PDF-"):
                ex = extract_pdf(raw)
            elif "html" in ctype or raw.lstrip()[:1] == b"<":
                ex = extract_html(raw)
            else:
                ex = extract_text(raw, "markdown" if url.lower().endswith(".md") else "text")
            name = url.rstrip("/").rsplit("/", 1)[-1] or url
            return SourceItem(url, record=to_document(ex, key=url, name=name, source="web", url=url))
        except (Unreadable, ValueError) as exc:
            return SourceItem(url, rejection=Rejection(url, str(exc)))


def file_item(path: Path, *, source: str = "file") -> SourceItem:
    """One document file as a source item (a record, or a rejection saying why not)."""
    where = str(path)
    try:
        ex = extract(path)
        doc = to_document(
            ex, key=f"file:{path.resolve()}", name=path.name, source=source, extra={"file_name": path.name}
        )
    except (Unreadable, ValueError, OSError) as exc:
        return SourceItem(where, rejection=Rejection(where, str(exc)))
    return SourceItem(where, record=doc)


def open_documents(target: str | Path) -> DocumentSource:
    return DocumentSource([target])


def _score(target: str) -> float:
    t = target.lower()
    if t.startswith(("http://", "https://")):
        return 0.5
    if t.endswith((".pdf", ".docx", ".html", ".htm", ".md", ".markdown")):
        return 1.0
    if Path(target).is_dir():
        return 0.5
    return 0.1 if t.endswith(".txt") else 0.0  # .txt is tabular first (CSV with another suffix)


registry.register("documents", open_documents, _score)

__all__ = [
    "DocumentSource",
    "Extracted",
    "MAX_BODY_CHARS",
    "Unreadable",
    "extract",
    "extract_html",
    "extract_pdf",
    "file_item",
    "guess_doc_type",
    "normalise_text",
    "to_document",
]
