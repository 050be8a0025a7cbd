"""PDF text extraction: pages/s and peak memory on a generated 500-page PDF (40 lines of text a page).

    PYTHONPATH=src python benchmarks/bench_pdf.py [--pages 500]

Measured, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ingest"))
from bench_ror import PeakRss  # noqa: E402
from pdfgen import write_pdf  # noqa: E402

from citybridge.ingest.documents import file_item  # noqa: E402

LINE = "Urban heat islands raise night temperatures; street trees and green roofs cool dense districts."


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pdf = write_pdf(
            Path(tmp) / "big-report.pdf",
            [[f"Page {p} line {i}: {LINE}" for i in range(40)] for p in range(args.pages)],
            title="Benchmark report",
        )
        with PeakRss() as mem:
            t0 = time.perf_counter()
            item = file_item(pdf)
            dt = time.perf_counter() - t0
        base, peak = mem.mib()
        doc = item.record
        assert doc is not None, item.rejection
        print(
            f"pdf {args.pages} pages ({pdf.stat().st_size / 2**20:.1f} MiB, {len(doc.body):,} characters) "
            f"in {dt:.1f} s = {args.pages / dt:,.0f} pages/s; RSS {base:.0f} -> peak {peak:.0f} MiB"
        )


if __name__ == "__main__":
    main()
