"""The notify commands through the CLI runner: subscribe, list, preview, send (to a real SMTP server),
remove; errors in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.conftest import make_hub
from citybridge.cli.main import app
from notify.conftest import Mailbox, clock, seed_notify


@pytest.fixture
def env(tmp_path: Path, smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch) -> Path:
    _box, port = smtp
    hub = make_hub(tmp_path, search_embedder=None)
    seed_notify(hub, clock())
    hub.close()
    for key, value in {"CITYBRIDGE_DATA_DIR": str(tmp_path / "data"), "CITYBRIDGE_SMTP_PORT": str(port),
                       "CITYBRIDGE_MAIL_RATE": "0", "CITYBRIDGE_SEARCH_EMBEDDER": ""}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_subscribe_preview_send_and_rerun(env: Path, smtp: tuple[Mailbox, int]) -> None:
    box, _port = smtp
    code, out, _ = run("subscribe", "per_mia", "--keyword", "energy communities", "--place", "Lisbon",
                       "--language", "de", "--json")
    assert code == 0, out
    body = json.loads(out)
    assert body["language"] == "de" and [s["type"] for s in body["subscriptions"]] == ["keyword", "place"]
    code, out, _ = run("subscriptions", "list", "per_mia", "--json")
    assert code == 0 and len(json.loads(out)["subscriptions"]) == 2
    code, out, _ = run("digest", "preview", "per_mia")
    assert code == 0 and out.startswith("Subject: Ihr erster citybridge-Digest")
    assert "Energy communities call" in out and "endet am" in out
    code, out, _ = run("digest", "send", "--dry-run", "--json")
    assert code == 0 and json.loads(out)["dry_run"] and box.messages == []
    code, out, _ = run("digest", "send", "--json")
    assert code == 0 and json.loads(out)["sent"] == 1 and len(box.messages) == 1
    code, out, _ = run("digest", "send", "--member", "per_mia", "--json")  # forced, but nothing new
    assert code == 0 and json.loads(out)["sent"] == 0 and len(box.messages) == 1
    sub = body["subscriptions"][0]["id"]
    assert run("subscriptions", "remove", sub)[0] == 0
    assert len(json.loads(run("subscriptions", "list", "per_mia", "--json")[1])["subscriptions"]) == 1


def test_errors_are_one_line(env: Path) -> None:
    code, _out, err = run("subscribe", "per_mia", "--theme", "sdg:99")
    assert code == 2 and err.strip().startswith("error: no theme 'sdg:99'") and len(err.strip().splitlines()) == 1
    code, _out, err = run("digest", "send", "--since", "last tuesday")
    assert code == 2 and "(field 'since')" in err
    code, _out, err = run("subscribe", "per_mia", "--search", "heat", "--filter", "colour")
    assert code == 2 and "(field 'filter')" in err


def test_daily_scheduler_job_sends_what_is_due(env: Path, smtp: tuple[Mailbox, int]) -> None:
    from datetime import UTC, datetime

    from citybridge.notify.schedule import run_digests, start_scheduler
    from citybridge.settings import Settings

    box, _port = smtp
    assert run("subscribe", "per_mia", "--place", "Lisbon")[0] == 0
    settings = Settings(digest_hour=5)
    scheduler = start_scheduler(settings)
    try:
        [job] = scheduler.get_jobs()
        when = job.next_run_time.astimezone(UTC)
        assert (when.hour, when.minute) == (5, 0) and when > datetime.now(UTC)
    finally:
        scheduler.shutdown(wait=False)
    assert run_digests(settings)["sent"] == 1 and len(box.to("mia@example.org")) == 1
    assert run_digests(settings)["sent"] == 0
