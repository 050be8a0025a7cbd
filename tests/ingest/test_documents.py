from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from citybridge.errors import NotFound
from citybridge.ingest import ExactIdResolver, Importer
from citybridge.ingest import documents as docs_mod
from citybridge.ingest.documents import DocumentSource, guess_doc_type
from citybridge.model.entities import DocumentType

from .pdfgen import encrypt_pdf, write_pdf

ARTICLE = (
    "<html><head><title>Cooling the city</title><meta name='date' content='2024-05-02'></head><body>"
    "<nav><a href='/'>Home</a></nav><article><h1>Cooling the city</h1>"
    + "<p>Street trees and green roofs lower surface temperatures in dense districts of the city. </p>" * 12
    + "</article><footer>Contact</footer></body></html>"
)


def _run(store, source):
    return Importer(store, resolver=ExactIdResolver()).run(source)


def _docx(path: Path, title: str, paragraphs: list[str]) -> Path:
    import docx

    d = docx.Document()
    d.core_properties.title = title
    d.core_properties.author = "Ana Souza"
    for p in paragraphs:
        d.add_paragraph(p)
    d.save(str(path))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "inbox"
    (root / "sub").mkdir(parents=True)
    (root / "drafts").mkdir()
    write_pdf(
        root / "heat-action-plan.pdf",
        [["Heat action plan for Lisbon", "Measures for 2030"], ["Annex: cooling centres"]],
        title="Lisbon Heat Plan",
        author="Câmara Municipal",
    )
    _docx(
        root / "sub" / "case-study.docx",
        "Superblocks in Barcelona",
        ["Superblocks calm traffic.", "Results."],
    )
    (root / "sub" / "notes.md").write_text("# Nature-based solutions\n\nRain gardens absorb storm water.\n")
    (root / "readme.txt").write_text("Plain text about district heating.\n")
    (root / "article.html").write_text(ARTICLE)
    (root / "drafts" / "draft.md").write_text("# Draft\n\nnot ready\n")
    (root / "image.png").write_bytes(b"\x89PNG\r\n")
    return root


def test_folder_of_documents(store, folder):
    report = _run(store, DocumentSource([folder], exclude=["drafts/*"]))
    assert report.rejected == 0, report.rejections
    assert report.created == 5
    by_name = {d.name: d for d in store.iter_records("document")}
    plan = by_name["Lisbon Heat Plan"]
    assert plan.doc_type == DocumentType.policy and plan.pages == 2 and plan.authors == ["Câmara Municipal"]
    assert plan.published.isoformat() == "2024-03-01"
    assert plan.attributes["page_offsets"][0] == 0 and "cooling centres" in plan.body
    assert len(plan.content_hash) == 64 and plan.external_ids["sha256"] == plan.content_hash
    case = by_name["Superblocks in Barcelona"]
    assert case.doc_type == DocumentType.case_study and case.authors == ["Ana Souza"]
    html = by_name["Cooling the city"]
    assert "green roofs" in html.body and "Contact" not in html.body and str(html.published) == "2024-05-02"
    assert by_name["Nature-based solutions"].doc_type == DocumentType.other
    assert "readme.txt" in by_name


def test_include_glob(store, folder):
    report = _run(store, DocumentSource([folder], include=["*.md"]))
    assert report.created == 2


def test_duplicates_and_changes(store, folder, tmp_path):
    _run(store, DocumentSource([folder], exclude=["drafts/*"]))
    shutil.copy(folder / "sub" / "notes.md", folder / "copy-of-notes.md")
    (folder / "readme.txt").write_text("Plain text about district heating, now with numbers: 40 MW.\n")
    report = _run(store, DocumentSource([folder], exclude=["drafts/*"]))
    assert report.updated == 1 and report.created == 0 and report.unchanged == 5
    dup = [r for r in report.rejections]
    assert dup == []
    assert store.stats()["by_kind"]["document"] == 5
    readme = next(d for d in store.iter_records("document") if d.name == "readme.txt")
    assert "40 MW" in readme.body and len(store.history(readme.id)) == 1


def test_hostile_files_are_rejection_lines(store, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    good = write_pdf(bad / "ok.pdf", [["fine"]])
    encrypt_pdf(good, bad / "locked.pdf")
    good.unlink()
    write_pdf(bad / "scan.pdf", [None, None])
    write_pdf(bad / "nopages.pdf", [])
    (bad / "fake.pdf").write_text("this is not a PDF at all")
    (bad / "truncated.pdf").write_bytes(write_pdf(tmp_path / "x.pdf", [["cut"]]).read_bytes()[:200])
    (bad / "empty.txt").write_text("   \n")
    (bad / "nomain.html").write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>")
    (bad / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    report = _run(store, DocumentSource([bad]))
    reasons = {Path(r["where"]).name: r["reason"] for r in report.rejections}
    assert report.created == 0 and report.rejected == 8, (reasons, [d.name for d in store.iter_records()])
    assert "encrypted" in reasons["locked.pdf"]
    assert "image-only" in reasons["scan.pdf"]
    assert "no pages" in reasons["nopages.pdf"]
    assert "not a readable PDF" in reasons["fake.pdf"] and "PDF" in reasons["truncated.pdf"]
    assert "empty" in reasons["empty.txt"]
    assert "no main content" in reasons["nomain.html"]
    assert "DOCX" in reasons["broken.docx"]


def test_long_body_is_capped(store, tmp_path, monkeypatch):
    monkeypatch.setattr(docs_mod, "MAX_BODY_CHARS", 500)
    pdf = write_pdf(tmp_path / "long.pdf", [[f"page {i} " + "words " * 30] for i in range(20)])
    _run(store, DocumentSource([pdf]))
    (doc,) = store.iter_records("document")
    assert len(doc.body) == 500 and "body_truncated" in doc.attributes and doc.pages == 20


def test_url(store, http_server):
    pdf = write_pdf(Path(__file__).parent / "_tmp_url.pdf", [["Remote report on flooding"]])
    data = pdf.read_bytes()
    pdf.unlink()
    http_server.routes["/report.pdf"] = lambda h: (200, {"Content-Type": "application/pdf"}, data)
    http_server.routes["/page"] = lambda h: (200, {"Content-Type": "text/html"}, ARTICLE.encode())
    http_server.routes["/gone"] = lambda h: (404, {}, b"")
    urls = [f"{http_server.url}/report.pdf", f"{http_server.url}/page", f"{http_server.url}/gone"]
    report = _run(store, DocumentSource(urls))
    assert report.created == 2 and report.rejected == 1 and "HTTP 404" in report.rejections[0]["reason"]
    page = next(d for d in store.iter_records("document") if d.name == "Cooling the city")
    assert page.url == urls[1]


def test_missing_target():
    with pytest.raises(NotFound):
        DocumentSource(["/nonexistent/folder"])


def test_doc_type_guess():
    assert guess_doc_type("x.pdf", "Climate Adaptation Strategy 2030", "pdf") == DocumentType.policy
    assert guess_doc_type("x.pdf", None, "pdf") == DocumentType.report
    assert guess_doc_type("x.md", None, "markdown") == DocumentType.other


def test_docx_whose_document_part_is_not_a_word_body_is_a_rejection(store, tmp_path):
    """Found by benchmarks/fuzz_inputs.py: a package whose parts parse but whose main part's root is not
    ``w:document`` raised AttributeError from python-docx while reading paragraphs; now a rejection line."""
    import io
    import zipfile

    docx = pytest.importorskip("docx")
    buf = io.BytesIO()
    d = docx.Document()
    d.add_paragraph("Urban heat plan")
    d.save(buf)
    folder = tmp_path / "in"
    folder.mkdir()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(folder / "odd.docx", "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                data = (b'<?xml version="1.0" encoding="UTF-8"?><w:body xmlns:w='
                        b'"http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>')
            dst.writestr(item, data)
    report = _run(store, DocumentSource([folder]))
    assert report.created == 0 and report.rejected == 1
    assert "not a readable DOCX" in report.rejections[0]["reason"]
    assert report.rejections[0]["where"].endswith("odd.docx")
