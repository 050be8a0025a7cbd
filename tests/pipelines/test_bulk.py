"""``citybridge bulk`` on Dask: a LocalCluster with 2 workers, a scheduler and workers started as separate processes
on 127.0.0.1 (the shape of a real cluster), and a run killed mid-way then restarted, all give the same store;
and the bulk-enriched records carry exactly what ``citybridge openalex`` + ``citybridge enrich`` give them."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

from citybridge.errors import Invalid, NotFound  # noqa: E402
from citybridge.pipelines import discover  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from openalex_snapshot import SHARED, generate  # noqa: E402

CLI = str(Path(sys.executable).parent / "citybridge")
ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("CITYBRIDGE_")}, "OMP_NUM_THREADS": "1"}
needs_shared = pytest.mark.skipif(not (SHARED / "scifact" / "corpus.jsonl").exists(), reason="shared data missing")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("openalex")
    generate(root, works=150, parts=5)
    return root


def summary(data_dir: Path) -> dict[str, object]:
    """What a store holds, without timestamps or provenance order: records, relations, annotations, vectors."""
    con = sqlite3.connect(data_dir / "citybridge.db")
    try:
        return {
            "records": con.execute("select id, kind, name from records order by id").fetchall(),
            "relations": con.execute("select id, type, source_id, target_id from relations order by id").fetchall(),
            "annotations": con.execute("select record_id, step, label, round(score, 4) from annotations "
                                       "order by 1, 2, 3").fetchall(),
            "vectors": con.execute("select model, count(*) from embeddings group by model").fetchall(),
            "enriched": con.execute("select step, count(*) from enrich_state group by step").fetchall(),
        }
    finally:
        con.close()


def bulk(data_dir: Path, *args: str, timeout: float = 600) -> dict[str, object]:
    proc = subprocess.run([CLI, "--data-dir", str(data_dir), "bulk", *args, "--json"], capture_output=True,
                          text=True, env=ENV, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, as on a real cluster."""
    bindir = Path(sys.executable).parent
    port = free_port()
    addr = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask")
    procs = [subprocess.Popen([str(bindir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=ENV, stdout=(logs / "s.out").open("w"), stderr=subprocess.STDOUT)]
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.time() < deadline, (logs / "s.out").read_text()
                time.sleep(0.3)
        for i in range(2):
            procs.append(subprocess.Popen([str(bindir / "dask"), "worker", addr, "--nthreads", "1", "--nworkers",
                                           "1", "--no-dashboard", "--host", "127.0.0.1"], env=ENV,
                                          stdout=(logs / f"w{i}.out").open("w"), stderr=subprocess.STDOUT))
        from distributed import Client

        with Client(addr, timeout=30) as client:
            client.wait_for_workers(2, timeout=120)
        yield addr
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGINT)
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_discover_partitions(tmp_path: Path, snapshot: Path) -> None:
    parts = discover([snapshot / "data" / "works"])
    assert [p.kind for p in parts] == ["openalex"] * 5
    assert all(Path(p.paths[0]).name.startswith("part_") for p in parts)
    shards = tmp_path / "shards"
    (shards / "docs").mkdir(parents=True)
    (shards / "orgs-1.csv").write_text("name,country\nUrban Lab,PT\n")
    (shards / "orgs-2.jsonl").write_text('{"name": "Heat Office", "country": "ES"}\n')
    for i in range(3):
        (shards / "docs" / f"plan{i}.md").write_text(f"# Plan {i}\n\nCooling streets with trees.\n")
    kinds = sorted((p.kind, len(p.paths)) for p in discover([shards], docs_per_partition=2))
    assert kinds == [("documents", 1), ("documents", 2), ("table", 1), ("table", 1)]
    with pytest.raises(NotFound):
        discover([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(Invalid):
        discover([tmp_path / "empty"])


@needs_shared
@pytest.mark.slow
def test_local_cluster_separate_cluster_and_resumed_run_give_one_store(tmp_path: Path, snapshot: Path,
                                                                       cluster: str) -> None:
    works = str(snapshot / "data" / "works")
    local = bulk(tmp_path / "local", works, "--workers", "2")
    assert local["workers"] == 2 and local["computed"] == 5 and local["loaded"] == 5
    assert local["enrich"]["steps"]["language"] == 150  # every work enriched on the workers  # type: ignore[index]
    assert local["index"]["documents"] > 150  # type: ignore[index]
    expected = summary(tmp_path / "local")
    assert len([r for r in expected["records"] if r[1] == "document"]) == 150  # type: ignore[union-attr]

    remote = bulk(tmp_path / "remote", works, "--scheduler", cluster)
    assert remote["scheduler"] == cluster and remote["workers"] == 2 and remote["computed"] == 5
    assert summary(tmp_path / "remote") == expected

    # a run killed once its first partition is in the store, then started again, skips what it finished
    data = tmp_path / "resumed"
    proc = subprocess.Popen([CLI, "--data-dir", str(data), "bulk", works, "--scheduler", cluster, "--json"],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list((data / "bulk").glob("*/_LOADED.json")):
        assert proc.poll() is None and time.time() < deadline, "the run ended before it could be interrupted"
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    loaded = len(list((data / "bulk").glob("*/_LOADED.json")))
    assert 1 <= loaded < 5
    again = bulk(data, works, "--scheduler", cluster)
    assert again["already_loaded"] == loaded and again["reused"] >= loaded
    assert again["computed"] + again["reused"] == 5 and again["loaded"] == 5 - loaded
    assert summary(data) == expected
    # a third run has nothing left to do
    idle = bulk(data, works, "--scheduler", cluster, "--no-index")
    assert idle["computed"] == 0 and idle["loaded"] == 0 and idle["already_loaded"] == 5
    assert summary(data) == expected


@needs_shared
@pytest.mark.slow
def test_bulk_enrichment_equals_import_then_enrich(tmp_path: Path, snapshot: Path) -> None:
    """The workers' results, loaded by the client, are what the one-process path stores for the same works."""
    from citybridge.hub import Hub
    from citybridge.settings import Settings

    parts = sorted((snapshot / "data" / "works").rglob("part_*.gz"))[:2]
    with Hub(Settings(data_dir=tmp_path / "bulk", crosslingual_embedder=None, _env_file=None)) as hub:
        report = hub.bulk([str(p) for p in parts], workers=1, index=False)
        assert report.computed == 2 and report.left_for_enrich == 0
    with Hub(Settings(data_dir=tmp_path / "plain", crosslingual_embedder=None, _env_file=None)) as hub:
        hub.init()
        for p in parts:
            hub.openalex(snapshot=p)
        hub.enrich(workers=1, profiles=False)

    def documents(s: dict[str, object]) -> tuple[list[object], list[object]]:
        docs = {r[0] for r in s["records"] if r[1] == "document"}  # type: ignore[union-attr,index]
        return (sorted(r for r in s["records"] if r[0] in docs),  # type: ignore[union-attr,index]
                [a for a in s["annotations"] if a[0] in docs])  # type: ignore[union-attr,index]

    bulk_docs, plain_docs = documents(summary(tmp_path / "bulk")), documents(summary(tmp_path / "plain"))
    assert len(bulk_docs[0]) == 60 and bulk_docs[1]
    assert bulk_docs == plain_docs

    # the store deleted and created again: the finished partitions are loaded again, not computed again
    before = summary(tmp_path / "bulk")
    for f in (tmp_path / "bulk").glob("citybridge.db*"):
        f.unlink()
    with Hub(Settings(data_dir=tmp_path / "bulk", crosslingual_embedder=None, _env_file=None)) as hub:
        again = hub.bulk([str(p) for p in parts], workers=1, index=False)
    assert (again.computed, again.reused, again.already_loaded, again.loaded) == (0, 2, 0, 2)
    assert summary(tmp_path / "bulk") == before


def test_bulk_cli_bad_input_is_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from citybridge.cli.main import app

    runner = CliRunner()
    res = runner.invoke(app, ["--data-dir", str(tmp_path / "d"), "bulk", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "file or folder not found" in res.output and "Traceback" not in res.output
    (tmp_path / "empty").mkdir()
    res = runner.invoke(app, ["--data-dir", str(tmp_path / "d"), "bulk", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "no readable input" in res.output
    res = runner.invoke(app, ["--data-dir", str(tmp_path / "d"), "bulk", str(tmp_path / "empty"), "--workers", "0"])
    assert res.exit_code == 2 and "workers must be at least 1" in res.output


@pytest.mark.slow
def test_bulk_loads_table_shards_and_document_folders(tmp_path: Path) -> None:
    """CSV/JSONL shards (mapping inferred as ``citybridge import`` infers it) and a folder of documents; a row
    that cannot be read is rejected with its line, the others are stored and enriched."""
    from citybridge.hub import Hub
    from citybridge.settings import Settings

    src = tmp_path / "in"
    (src / "docs").mkdir(parents=True)
    (src / "orgs.csv").write_text("kind,name,country,ror\norganization,Lisbon Urban Lab,PT,https://ror.org/05ppvf150\n"
                                  "organization,Madrid Heat Office,ES,\n")
    (src / "projects.jsonl").write_text('{"kind": "project", "name": "Cool Streets", "description": "Trees and '
                                        'shading cool dense streets in Seville during heatwaves."}\n{not json\n')
    (src / "docs" / "plan.md").write_text("# Heat action plan\n\nGreen roofs and shading reduce urban heat in "
                                          "Lisbon.\n")
    (src / "docs" / "notes.txt").write_text("Flood risk maps for Rotterdam neighbourhoods.\n")
    with Hub(Settings(data_dir=tmp_path / "data", crosslingual_embedder=None, _env_file=None)) as hub:
        report = hub.bulk([str(src)], workers=1, steps=["language", "tags"], index=False)
        assert report.partitions == 3 and report.loaded == 3
        assert report.imported.rejected == 1
        assert "projects.jsonl:2" in report.imported.rejections[0]["where"]
        names = {r.name for k in ("organization", "project", "document") for r in hub.store.iter_records(k)}
        assert {"Lisbon Urban Lab", "Madrid Heat Office", "Cool Streets"} <= names
        assert len([r for r in hub.store.iter_records("document")]) == 2
        assert hub.store.find_by_external("ror", "05ppvf150").name == "Lisbon Urban Lab"
        # enriched on the worker: nothing of those steps is left for `citybridge enrich`
        assert report.enrich.steps == {"language": 5, "tags": 5}
        pending = hub.pending_enrichment()
        assert pending.get("language", 0) == 0 and pending.get("tags", 0) == 0


def _index_files(index_dir: Path) -> dict[str, bytes]:
    """Every array file of an index set (manifests left out: they hold the build time)."""
    return {str(p.relative_to(index_dir)): p.read_bytes() for p in sorted(index_dir.rglob("*"))
            if p.is_file() and p.name != "manifest.json" and not p.name.endswith(".lock")}


@needs_shared
@pytest.mark.slow
def test_index_built_from_partitions_equals_reindex(tmp_path: Path, snapshot: Path) -> None:
    """The bulk run builds the index from the partitions' index rows (the store filling in the people and
    institutions, records of other sources and records edited since): the same index, array for array, and
    the same answers, ids and scores, as ``citybridge reindex`` from the store."""
    from citybridge.hub import Hub
    from citybridge.pipelines.bulk import BulkRun
    from citybridge.pipelines.index_rows import INDEX, PartitionRows
    from citybridge.settings import Settings

    parts = [str(p) for p in sorted((snapshot / "data" / "works").rglob("part_*.gz"))[:3]]
    other = tmp_path / "other.jsonl"
    other.write_text('{"kind": "document", "name": "Cooling Lisbon streets", "description": "Street trees and '
                     'shading lower heat in dense neighbourhoods of Lisbon.", "doi": "10.5555/other.1"}\n'
                     '{"kind": "organization", "name": "Porto Climate Office", "country": "PT"}\n')
    queries = ["urban heat", "protein expression in cells", "climate adaptation Lisbon", "vaccine trial",
               "\"gene expression\"", "cancer risk"]
    with Hub(Settings(data_dir=tmp_path / "data", crosslingual_embedder=None, _env_file=None)) as hub:
        hub.init()
        hub.import_files([other])  # records the partitions do not hold
        hub.enrich(workers=1, profiles=False)
        report = hub.bulk(parts, workers=2).to_dict()
        assert report["workers"] == 2 and report["index_rows"] == 90
        idx = report["index"]
        assert idx["from_partitions"] == 90 and idx["from_store"] == idx["documents"] - 90 > 0
        run = BulkRun(hub, parts)
        assert all((run.folder(p) / INDEX).is_file() for p in run.partitions)

        # a work edited after the load: its partition row no longer matches the store, the store's is used
        work = next(r for r in hub.store.iter_records("document") if "doi" in r.external_ids
                    and not r.external_ids["doi"].startswith("10.5555/other"))
        hub.save(work.model_copy(update={"name": "Heat islands in the street canyons of Kaunas"}))
        built = hub.reindex(source=PartitionRows([run.folder(p) for p in run.partitions]))
        assert (built["from_partitions"], built["from_store"]) == (89, idx["from_store"] + 1)
        from_parts = _index_files(tmp_path / "data" / "index")
        answers = {q: hub.search(q, per_page=20)["results"] for q in queries}
        assert any(answers.values())
        assert [r["id"] for r in hub.search("Kaunas")["results"]] == [work.id]

        plain = hub.reindex()
        assert plain["from_store"] == plain["documents"] == built["documents"]
        assert _index_files(tmp_path / "data" / "index") == from_parts
        for q in queries:
            got = hub.search(q, per_page=20)["results"]
            assert [(r["id"], r["score"]) for r in got] == [(r["id"], r["score"]) for r in answers[q]], q
