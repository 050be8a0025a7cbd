from __future__ import annotations

import threading
from pathlib import Path

import pytest

from citybridge.errors import Invalid
from citybridge.hub import Hub
from citybridge.ingest.watch import Watcher, open_source
from citybridge.settings import Settings

from .pdfgen import write_pdf

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture
def hub(tmp_path):
    h = Hub(Settings(data_dir=tmp_path / "data"))
    yield h
    h.close()


def test_watch_folder_ingests_remembers_and_quarantines(hub, tmp_path):
    inbox = tmp_path / "consume"
    inbox.mkdir()
    write_pdf(inbox / "plan.pdf", [["Flood resilience plan for Porto Alegre"]])
    (inbox / "notes.md").write_text("# Notes\n\nRain gardens in Recife.\n")
    (inbox / "broken.pdf").write_text("not a pdf")
    (inbox / "orgs.csv").write_text("kind,name,country\norganization,Recife City Hall,BR\n")
    watcher = Watcher(hub.store, inbox)

    first = watcher.poll_once()
    assert sorted(Path(p).name for p in first.processed) == ["notes.md", "orgs.csv", "plan.pdf"]
    assert [Path(p).name for p in first.failed] == ["broken.pdf"]
    assert (inbox / "failed" / "broken.pdf").exists() and not (inbox / "broken.pdf").exists()
    assert "not a readable PDF" in (inbox / "failed" / "broken.pdf.reason.txt").read_text()
    assert hub.stats()["by_kind"] == {"document": 2, "organization": 1}

    second = watcher.poll_once()  # nothing new: nothing re-read
    assert second.processed == [] and second.failed == []

    (inbox / "notes.md").write_text("# Notes\n\nRain gardens in Recife and Salvador.\n")
    (inbox / "broken.pdf").write_text("still not a pdf")  # dropped in again: fails again, no overwrite
    third = watcher.poll_once()
    assert [Path(p).name for p in third.processed] == ["notes.md"] and third.report.updated == 1
    assert (inbox / "failed" / "broken.1.pdf").exists()


def test_hub_watch_is_bounded_and_stoppable(hub, tmp_path):
    inbox = tmp_path / "consume"
    inbox.mkdir()
    (inbox / "a.txt").write_text("District heating in Aarhus.\n")
    summary = hub.watch(inbox, interval=0.01, max_polls=3, settle_seconds=0)
    assert summary.polls == 3 and len(summary.processed) == 1
    stop = threading.Event()
    stop.set()
    assert hub.watch(inbox, interval=10, stop=stop, settle_seconds=0).polls == 1


def test_hub_ingest_dispatches_by_target(hub, tmp_path, http_server):
    folder = tmp_path / "docs"
    folder.mkdir()
    write_pdf(folder / "report.pdf", [["Urban heat report"]])
    (folder / "skip.md").write_text("# Skip\n\nexcluded by the glob\n")
    http_server.routes["/note.txt"] = lambda h: (200, {"Content-Type": "text/plain"}, b"A note from the web.")
    report = hub.ingest(
        [
            folder,
            FIX / "ror" / "ror-sample.json",
            FIX / "cordis" / "project.csv",
            f"{http_server.url}/note.txt",
        ],
        exclude=["*.md"],
    )
    stats = hub.stats()["by_kind"]
    assert stats["document"] == 2 and stats["organization"] >= 3 + 3 and stats["project"] == 2
    assert report.created > 0
    with pytest.raises(Invalid):
        open_source(tmp_path / "thing.bin")


def test_hub_connectors(hub, http_server):
    from .conftest import DATA, need

    assert hub.ror(FIX / "ror" / "ror-sample.json").rejected == 0
    assert hub.cordis([FIX / "cordis" / "project.csv"]).created > 0
    rep = hub.openalex(snapshot=need(DATA / "openalex" / "I27837315.json"))
    assert rep.rejected == 0 and hub.get("openalex:I27837315").name == "University of Michigan"
    import json

    work = json.loads(need(DATA / "openalex" / "W2741809807.json").read_text())
    page = {"meta": {"next_cursor": None}, "results": [work]}
    http_server.routes["/works"] = lambda h: (200, {}, json.dumps(page).encode())
    rep = hub.openalex(
        "works", search="open access", limit=5, mailto="x@example.org", base_url=http_server.url
    )
    assert hub.get("doi:10.7717/peerj.4375").year == 2018 and rep.unresolved == 45


def test_a_path_too_long_to_remember_is_set_aside(hub, tmp_path):
    inbox = tmp_path / "consume"
    deep = inbox.joinpath(*["d" * 250] * 9)  # 2,250+ characters: longer than ingested_files.path
    deep.mkdir(parents=True)
    (deep / "notes.md").write_text("# Notes\n\nRain gardens in Recife.\n")
    summary = Watcher(hub.store, inbox).poll_once()
    assert summary.processed == [] and len(summary.failed) == 1
    assert "path longer than 2048 characters" in (inbox / "failed" / "notes.md.reason.txt").read_text()
