"""A database error during a command ends in one line naming the command, the table and the cause, with exit
code 3; the failed batch is rolled back and a re-run carries on. The failures are real ones, raised by the
database itself (a trigger, a column too narrow), on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from typer.testing import CliRunner

from citybridge.cli.common import EXIT_DATABASE, app, user_errors
from citybridge.cli.main import app as main_app
from conftest import postgres_database

runner = CliRunner()
FAULT = {  # refuse any record named 'Boom', as a full disk or a broken constraint would
    "sqlite": ["CREATE TRIGGER cb_fault BEFORE INSERT ON records WHEN NEW.name = 'Boom' "
               "BEGIN SELECT RAISE(ABORT, 'simulated failure'); END"],
    "postgresql": ["CREATE FUNCTION cb_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "IF NEW.name = 'Boom' THEN RAISE EXCEPTION 'simulated failure'; END IF; RETURN NEW; END $$",
                   "CREATE TRIGGER cb_fault BEFORE INSERT ON records FOR EACH ROW EXECUTE FUNCTION cb_fault()"],
}
UNFAULT = {"sqlite": ["DROP TRIGGER cb_fault"], "postgresql": ["DROP TRIGGER cb_fault ON records"]}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[tuple[str, Engine]]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CITYBRIDGE_DATA_DIR", str(tmp_path / "data"))
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'data' / 'citybridge.db'}"
        monkeypatch.setenv("CITYBRIDGE_DATABASE_URL", url)
        assert runner.invoke(main_app, ["init"]).exit_code == 0
        engine = create_engine(url)
        yield "sqlite", engine
        engine.dispose()
        return
    with postgres_database() as url:
        monkeypatch.setenv("CITYBRIDGE_DATABASE_URL", url)
        assert runner.invoke(main_app, ["init"]).exit_code == 0
        engine = create_engine(url)
        yield "postgresql", engine
        engine.dispose()


def _sql(engine: Engine, statements: list[str]) -> None:
    with engine.begin() as conn:
        for sql in statements:
            conn.exec_driver_sql(sql)


def _one_line(res: object, needle: str) -> None:
    out = res.output  # type: ignore[attr-defined]
    assert res.exit_code == EXIT_DATABASE, out  # type: ignore[attr-defined]
    assert "Traceback" not in out and len(res.stderr.strip().splitlines()) == 1, out  # type: ignore[attr-defined]
    assert needle in res.stderr, res.stderr  # type: ignore[attr-defined]


def test_import_failure_rolls_back_its_batch_and_a_rerun_resumes(backend: tuple[str, Engine], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    dialect, engine = backend
    monkeypatch.setenv("CITYBRIDGE_IMPORT_BATCH", "2")
    names = ["Alpha", "Beta", "Gamma", "Delta", "Boom", "Zeta"]
    (tmp_path / "orgs.csv").write_text("kind,name\n" + "".join(f"organization,{n}\n" for n in names))
    _sql(engine, FAULT[dialect])
    res = runner.invoke(main_app, ["import", "orgs.csv"])
    _one_line(res, "import: database error in table records: simulated failure; the batch in progress was "
                   "rolled back, re-run to continue")
    stored = json.loads(runner.invoke(main_app, ["list", "--kind", "organization", "--json"]).stdout)["items"]
    assert sorted(r["name"] for r in stored) == ["Alpha", "Beta", "Delta", "Gamma"]  # batch 3 left nothing
    _sql(engine, UNFAULT[dialect])
    again = runner.invoke(main_app, ["import", "orgs.csv", "--json"])
    assert again.exit_code == 0
    assert {k: json.loads(again.stdout)[k] for k in ("created", "unchanged")} == {"created": 2, "unchanged": 4}


def test_enrich_failure_names_the_table_and_a_rerun_finishes(backend: tuple[str, Engine], tmp_path: Path) -> None:
    """The reported failure, reproduced with a column too narrow for what enrichment writes."""
    dialect, engine = backend
    (tmp_path / "docs.csv").write_text("kind,name,description\ndocument,Heat plan,Trees and shade cool "
                                       "dense neighbourhoods in summer heat waves\n")
    assert runner.invoke(main_app, ["import", "docs.csv"]).exit_code == 0
    if dialect == "postgresql":
        narrow = ["ALTER TABLE enrich_state ALTER COLUMN step_version TYPE varchar(8)"]
        widen = ["ALTER TABLE enrich_state ALTER COLUMN step_version TYPE varchar(32)"]
        needle = "enrich: database error in table enrich_state: value too long for type character varying(8)"
    else:  # SQLite has no narrow column: its guards raise the same refusal; a trigger stands in for them
        narrow = ["CREATE TRIGGER cb_narrow BEFORE INSERT ON enrich_state "
                  "BEGIN SELECT RAISE(ABORT, 'value too long for enrich_state.step_version'); END"]
        widen = ["DROP TRIGGER cb_narrow"]
        needle = "enrich: database error in table enrich_state: value too long for enrich_state.step_version"
    _sql(engine, narrow)
    _one_line(runner.invoke(main_app, ["enrich", "--step", "language", "--step", "keywords", "--workers", "1"]),
              needle)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM annotations")).scalar() == 0  # the batch rolled back
    _sql(engine, widen)
    done = runner.invoke(main_app, ["enrich", "--step", "language", "--step", "keywords", "--workers", "1",
                                    "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["steps"] == {"language": 1, "keywords": 1}


def test_an_unreachable_database_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("psycopg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CITYBRIDGE_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    _one_line(runner.invoke(main_app, ["stats"]), "stats: cannot reach the database:")


def test_every_command_translates_errors() -> None:
    callbacks = [c.callback for c in app.registered_commands]
    callbacks += [c.callback for g in app.registered_groups for c in g.typer_instance.registered_commands]
    assert len(callbacks) > 20
    unwrapped = [cb.__name__ for cb in callbacks if getattr(cb, "__code__", None) is not user_errors(
        lambda: None).__code__]
    assert unwrapped == []
