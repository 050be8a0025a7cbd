"""A tiny PDF writer for tests and benchmarks: text pages (Helvetica), image-only pages, document info."""

from __future__ import annotations

from pathlib import Path


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(
    pages: list[list[str] | None],
    *,
    title: str | None = None,
    author: str | None = None,
    created: str | None = "D:20240301120000",
) -> bytes:
    """A PDF with one page per entry: a list of text lines, or None for a page holding only an image."""
    objs: list[bytes] = []

    def add(body: bytes) -> int:
        objs.append(body)
        return len(objs)

    catalog = add(b"")  # filled in below
    pages_id = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    image = add(
        b"<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Length 4 >>\nstream\n\x00\xff\xff\x00\nendstream"
    )
    kids = []
    for lines in pages:
        if lines is None:
            content = b"q 200 0 0 200 72 500 cm /Im1 Do Q"
        else:
            ops = ["BT /F1 11 Tf 14 TL 72 740 Td"] + [f"({_esc(line)}) Tj T*" for line in lines] + ["ET"]
            content = "\n".join(ops).encode("latin-1", errors="replace")
        cid = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> "
                b"/XObject << /Im1 %d 0 R >> >> /Contents %d 0 R >>" % (pages_id, font, image, cid)
            )
        )
    objs[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id
    objs[pages_id - 1] = (
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % len(kids)
    )
    info_parts = [
        f"/{k} ({_esc(v)})" for k, v in (("Title", title), ("Author", author), ("CreationDate", created)) if v
    ]
    info = add(("<< " + " ".join(info_parts) + " >>").encode("latin-1"))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1,
        catalog,
        info,
        xref,
    )
    return bytes(out)


def write_pdf(path: Path, pages: list[list[str] | None], **kw: str) -> Path:
    path.write_bytes(make_pdf(pages, **kw))
    return path


def encrypt_pdf(src: Path, dst: Path, password: str = "secret") -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(str(src)))
    writer.encrypt(user_password=password, owner_password=password, algorithm="RC4-128")
    with dst.open("wb") as fh:
        writer.write(fh)
    return dst
