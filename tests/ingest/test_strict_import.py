"""Strict reading: unterminated quotes, ragged rows, NUL bytes and undecodable lines are reported with
their line and never merged into a field; --strict stops at the first bad row and writes nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from citybridge.hub import Hub
from citybridge.ingest.csvread import CsvRecords

BROKEN = (b'name,country\n'
          b'"Unclosed quote,DE\n'          # 2: a quote that never closes
          b'Good Org,FR\n'                 # 3
          b'Short row\n'                   # 4: one cell
          b'Too,many,cells\n'              # 5: three cells
          b'Nul\x00Org,PT\n'               # 6: NUL byte
          b'"Multi\nline Org",ES\n'        # 7-8: a proper multi-line cell
          b'"Quoted ""twice"" Org",IT\n'   # 9
          b'Last Org,NL\n')                # 10


def records(text: str, width: int | None = None) -> list[tuple[int, list[str] | None, str | None]]:
    reader = CsvRecords(io.StringIO(text, newline=""), ",")
    out = []
    for rec in reader:
        out.append((rec.line, rec.cells, rec.problem and rec.problem.split(":")[0]))
        if reader.width is None:
            reader.width = width
    return out


def test_reader_reports_an_unterminated_quote_on_its_line_and_reads_on() -> None:
    assert records('name,country\n"Unclosed quote,DE\nGood Org,FR\n') == [
        (1, ["name", "country"], None), (2, None, "unterminated quote"), (3, ["Good Org", "FR"], None)]
    # the quote closes lines later and text follows it: still the line where it opened
    assert records('a,b\n"x,1\ny,2\n"z,3\nw,4\n', 2) == [
        (1, ["a", "b"], None), (2, None, "unterminated quote"), (3, ["y", "2"], None),
        (4, None, "unterminated quote"), (5, ["w", "4"], None)]
    # a quoted cell over lines that closes properly is kept, and counted from its first line
    assert records('a,b\n"one\ntwo",1\nx,2\n', 2) == [(1, ["a", "b"], None), (2, ["one\ntwo", "1"], None),
                                                     (4, ["x", "2"], None)]
    # a quote that closes over lines but leaves the row ragged was never meant to span them
    assert records('a,b\n"x,1\ny",2,3\nz,4\n', 2)[1:] == [(2, None, "unterminated quote"), (3, ['y"', "2", "3"], None),
                                                         (4, ["z", "4"], None)]
    assert records('a,b\n"x"y,1\nz,2\n')[1:] == [(2, None, "malformed quoting (',' expected after '\"')"),
                                                (3, ["z", "2"], None)]


def test_broken_csv_is_reported_line_by_line(hub: Hub, tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    path.write_bytes(BROKEN)
    report = hub.import_files([path], kind="organization")
    by_line = {r["where"]: r for r in report.rejections}
    assert set(by_line) == {"orgs.csv:2", "orgs.csv:4", "orgs.csv:5", "orgs.csv:6"}
    assert "unterminated quote" in by_line["orgs.csv:2"]["reason"]
    assert "row has 1 cell but the header has 2" in by_line["orgs.csv:4"]["reason"]
    assert "row has 3 cells but the header has 2" in by_line["orgs.csv:5"]["reason"]
    assert by_line["orgs.csv:6"]["field"] == "name" and "NUL" in by_line["orgs.csv:6"]["reason"]
    names = sorted(r.name for r in hub.list("organization"))
    assert names == ["Good Org", "Last Org", "Multi\nline Org", 'Quoted "twice" Org']
    assert not any("Unclosed" in n or "DE" in n for n in names)  # nothing merged into a field


def test_an_undecodable_line_is_reported_with_its_line(hub: Hub, tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    utf8 = "".join(f"Organização {i},BR\n" for i in range(15000)).encode()  # past the encoding sample
    path.write_bytes(b"name,country\n" + utf8 + b"Caf\xe9 Org,FR\nLast Org,NL\n")
    preview = hub.preview_import(path, kind="organization")
    assert (preview.ok, preview.rejected) == (15001, 1)
    assert preview.problems == [{"where": "orgs.csv:15002", "field": "name",
                                 "reason": "invalid byte 0xE9 for the file's encoding"}]


def test_a_trailing_unterminated_quote_loses_no_row_before_it(hub: Hub, tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    path.write_text('name,country\nA,PT\nB,ES\n"C,FR\n', encoding="utf-8")
    report = hub.import_files([path], kind="organization")
    assert (report.created, report.rejected) == (2, 1)
    assert report.rejections[0]["where"] == "orgs.csv:4"


def test_strict_stops_at_the_first_bad_row_and_writes_nothing(hub: Hub, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("name,country\nKept Org,PT\n", encoding="utf-8")
    hub.import_files([good], kind="organization")
    before = hub.stats()
    rows = "name,country\n" + "".join(f"Org {i},PT\n" for i in range(30)) + "Bad,Atlantis\n" + "After,PT\n"
    path = tmp_path / "orgs.csv"
    path.write_text(rows, encoding="utf-8")
    hub.settings.import_batch = 10  # the bad row comes after three whole batches
    log = io.StringIO()
    report = hub.import_files([path, good], kind="organization", strict=True, row_log=log)
    assert report.stopped_at == "orgs.csv:32"
    assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 0, 0, 1)
    assert report.to_dict()["written"] is False and report.sources == ["orgs.csv"]  # good.csv not read
    assert hub.stats() == before
    assert [json.loads(x)["status"] for x in log.getvalue().splitlines()] == ["rejected"]
    assert hub.store.imports_log(1)[0]["status"] == "stopped"
    # a clean file imports whole in strict mode
    path.write_text("name,country\n" + "".join(f"Org {i},PT\n" for i in range(30)), encoding="utf-8")
    assert hub.import_files([path], kind="organization", strict=True).created == 30


@pytest.mark.parametrize("content", [BROKEN.split(b"Short row")[0], b"name,country\nA,PT\nB\n"])
def test_strict_stops_on_parse_problems_too(hub: Hub, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "orgs.csv"
    path.write_bytes(content)
    report = hub.import_files([path], kind="organization", strict=True)
    assert report.stopped_at and report.created == 0
    assert hub.list("organization") == []
