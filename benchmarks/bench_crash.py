"""Crash safety: SIGKILL a real ``citybridge`` child process at random (seeded) moments of import, enrich,
resolve, reindex and digest send, then check what is left and that a re-run converges to the uninterrupted
result.

    .venv/bin/python benchmarks/bench_crash.py [--kills 50] [--ops import,enrich,resolve,reindex,digest]
                                               [--backends sqlite,postgresql]
                                               [--postgres URL] [--records N] [--seed 7] [--json]

Data: a slice of the shipped demo pack (``data/demo``): the first projects, their partner organisations, the
first documents and the ``partner_in`` relations among them, plus exact copies (new id, no external ids) of
some organisations for resolve to merge; each operation has its own slice size (``SLICE``; ``--records`` sets
them all). Each operation starts from its own base store (import: empty; the others: the slice imported),
made once. The children are real ``citybridge`` command lines forked from this process (which imported the
package once: no interpreter start per run); each reports its progress on a pipe - a byte per database commit
(SQLAlchemy's ``commit`` event) and per file moved into place (``os.replace``: index artifacts). The
uninterrupted reference run is made once per operation and gives the final content and the progress events'
times. Then, until ``--kills`` children were killed mid-way: copy the base (SQLite online backup; PostgreSQL a
database from the base as template), start the child, and SIGKILL it at a moment drawn (seeded) uniformly in
the child's own progress: after its k-th progress event (k drawn uniformly from 1 to one before the reference
run's last event) plus a delay drawn uniformly within the reference run's time from its k-th to its next
event, or at the child's next event if that comes first - so the kill lands after the first durable progress
and before the last, however loaded the machine is. A child that finished first is counted apart
(``finished_before_kill``), not as a kill. After each kill, check

* ``PRAGMA integrity_check`` is ok and ``PRAGMA foreign_key_check`` finds nothing (PostgreSQL: constraints
  are the server's; the rest of the checks run there too);
* import: the records present are exactly the first k whole batches of the file (relations likewise, after
  every record) - a committed batch is whole, a partial one invisible;
* enrich: a record marked done for a step has exactly the reference annotations of that step, one not marked
  done has none; resolve: every redirect's old record is gone and its merge applied, no relation points at a
  merged-away record; digest send (to a real SMTP server on 127.0.0.1, 40 members): every digest recorded as
  sent was accepted by the server, each digest's claimed items are all there, and after the re-run the
  server holds exactly one distinct message per sent digest (a message sent again after a kill between the
  server's acceptance and the commit carries the same Message-ID) and as many as the reference run sent;
* search over the killed data folder returns exactly what an index freshly built from the same store returns
  (never a corrupt or stale index; the fresh index's matches are kept per store content hash, so a store
  state met before - a killed reindex leaves the store as it was - is not indexed again);
* a re-run to completion leaves the same content (every table's rows without timestamps and sequence
  numbers, in canonical order, hashed) as the uninterrupted reference run.

Each failed check counts one inconsistency. ``--json`` prints ``{"kills", "inconsistencies", "per_op": ...}``
on stdout (per operation: kills, runs, inconsistencies, the reference run, its progress events and window, and
per kill cycle its wall and CPU seconds - this process and the forked runs - and where the wall time went);
progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import resource
import select
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"
BATCH = 100
QUERIES = ["urban heat", "energy", "water", "climate adaptation", "mobility", "university"]
#: columns whose values differ between two runs that stored the same content (clocks, sequence numbers)
VOLATILE = {"created_at", "updated_at", "changed_at", "done_at", "processed_at", "first_seen", "started_at",
            "finished_at", "last_polled", "decided_at", "undone_at", "seq", "changed_by", "created_by",
            "decided_by", "undone_by",
            # a record's digest of its body, which names the merges it absorbed by their drawn ids (the body
            # itself is compared, with those ids as the pairs they merged)
            "hash", "survivor_after_hash"}
#: random identifiers of rows whose content is compared (a merge's id, drawn when it is proposed, is compared as
#: the pair it merges wherever it appears: merges, redirects, a merged record's ``merged_records``)
VOLATILE_IN = {
               # a digest's id is drawn when it is built; its message embeds the id and the sending clock
               "digests": {"id", "message_id", "message", "sent_at"}, "digest_items": {"digest_id"}}
#: the digest run's clock (after every record of the slice) and its members
DIGEST_NOW = "2030-01-15T09:00:00+00:00"
DIGEST_MEMBERS = 40
DIGEST_KEYWORDS = ["energy", "water", "climate", "mobility"]
#: logs of what ran (a killed run legitimately leaves its "running" line, a re-run its own audit line, with the
#: run's clock and drawn ids) rather than stored knowledge
LOG_TABLES = {"history", "imports", "alembic_version", "audit_log"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ data
def _lines(name: str) -> Iterator[dict[str, Any]]:
    with gzip.open(DEMO / name, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def build_dataset(path: Path, n_records: int, seed: int) -> dict[str, Any]:
    """Write the JSONL slice; returns the record ids and relation ids in file order."""
    rng = random.Random(seed)
    n_projects = max(10, n_records // 6)
    projects = []
    for body in _lines("40-projects.jsonl.gz"):
        projects.append(body)
        if len(projects) >= n_projects:
            break
    pids = {p["id"] for p in projects}
    rels, org_ids = [], set()
    for body in _lines("90-relations.jsonl.gz"):
        if body.get("type") == "partner_in" and body.get("target") in pids:
            rels.append(body)
            org_ids.add(body["source"])
    orgs = [b for b in _lines("20-organizations.jsonl.gz") if b["id"] in org_ids]
    docs = []
    for body in _lines("50-documents.jsonl.gz"):
        docs.append(body)
        if len(docs) >= max(10, n_records // 6):
            break
    dups = []
    for body in rng.sample(orgs, min(len(orgs) // 10, 100)):
        copy = {k: v for k, v in body.items() if k not in ("external_ids", "created_at", "updated_at")}
        copy["id"] = body["id"] + "dup"
        dups.append(copy)
    records = [*orgs, *projects, *docs, *dups]
    # whole batches of records, then relations: a batch never mixes the two
    records = records[: max(BATCH, len(records) // BATCH * BATCH)]
    keep = {r["id"] for r in records}
    rels = [r for r in rels if r["source"] in keep and r["target"] in keep]
    rels = rels[: len(rels) - len(rels) % BATCH] or rels
    with open(path, "w", encoding="utf-8") as f:
        for body in [*records, *rels]:
            body = {k: v for k, v in body.items() if k not in ("created_at", "updated_at")}
            f.write(json.dumps(body, ensure_ascii=False) + "\n")
    return {"records": [r["id"] for r in records], "relations": [r["id"] for r in rels]}


# ------------------------------------------------------------------------------------------------ store
class Target:
    """Where one run's store lives: a SQLite data folder, or a PostgreSQL database (+ a data folder)."""

    def __init__(self, data_dir: Path, pg_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.pg_url = pg_url
        self.smtp_port: int | None = None

    @property
    def url(self) -> str:
        return self.pg_url or f"sqlite:///{self.data_dir / 'citybridge.db'}"

    def env(self) -> dict[str, str]:
        env = {**os.environ, "CITYBRIDGE_DATA_DIR": str(self.data_dir), "CITYBRIDGE_SEARCH_EMBEDDER": "",
               "CITYBRIDGE_IMPORT_BATCH": str(BATCH), "OMP_NUM_THREADS": "1", "CITYBRIDGE_WORKERS": "1"}
        env.pop("CITYBRIDGE_DATABASE_URL", None)
        if self.pg_url:
            env["CITYBRIDGE_DATABASE_URL"] = self.pg_url
        if self.smtp_port:
            env.update({"CITYBRIDGE_SMTP_PORT": str(self.smtp_port), "CITYBRIDGE_MAIL_RATE": "20",
                        "CITYBRIDGE_PUBLIC_URL": "http://127.0.0.1:8000",
                        "CITYBRIDGE_NOTIFY_SECRET": "bench-crash-notify-secret-0123456789"})
        return env


class Kill:
    """Where to SIGKILL a child: ``delay`` seconds after its ``after``-th progress event (0: after its start)."""

    def __init__(self, after: int, delay: float) -> None:
        self.after, self.delay = after, delay


class Outcome:
    def __init__(self, killed: bool, seconds: float, events: list[float]) -> None:
        self.killed, self.seconds, self.events = killed, seconds, events


def preload() -> None:
    """Import what the children run once, in this process: every child is forked from it (no interpreter start,
    no imports per run - 1-4 s each on a loaded machine)."""
    import citybridge.cli.main  # noqa: F401
    import citybridge.enrich.pipeline  # noqa: F401
    import citybridge.notify  # noqa: F401
    import citybridge.search.service  # noqa: F401
    import citybridge.store  # noqa: F401


def _child(target: Target, argv: list[str], wfd: int, ackfd: int, errfd: int) -> None:
    """In the forked child: the environment of ``target``, progress events on ``wfd``, then ``citybridge ARGV``.
    A progress event is a database commit (SQLAlchemy's ``commit`` event, before the commit reaches the
    database) or a file moved into place (``os.replace``: index artifacts, resolve caches); after each the
    child waits for the parent's go-ahead on ``ackfd``, so it can never run past the event it is to be killed
    after plus one."""
    code = 70
    try:
        os.chdir(target.data_dir.parent)
        os.environ.clear()
        os.environ.update(target.env())
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(errfd, 2)
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        def tick(*_a: Any) -> None:
            os.write(wfd, b".")
            os.read(ackfd, 1)

        event.listen(Engine, "commit", tick)
        real_replace = os.replace

        def replace(*a: Any, **k: Any) -> None:
            real_replace(*a, **k)
            tick()

        os.replace = replace  # type: ignore[assignment]
        from citybridge.cli.main import app

        try:
            app(args=argv, prog_name="citybridge")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported through the exit code and stderr
        import traceback

        traceback.print_exc()
        code = 70
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def cli(target: Target, *args: str, kill: Kill | None = None) -> Outcome:
    """Run ``citybridge ARGS`` in a forked child; with ``kill``, SIGKILL it there. The child's progress
    events are timed (seconds from its start)."""
    rfd, wfd = os.pipe()
    ack_r, ack_w = os.pipe()
    err = tempfile.TemporaryFile()  # noqa: SIM115 - closed on every path below
    sys.stdout.flush()
    sys.stderr.flush()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        os.close(ack_w)
        _child(target, list(args), wfd, ack_r, err.fileno())
    os.close(wfd)
    os.close(ack_r)
    events: list[float] = []
    killed = False
    kill_at = t0 + kill.delay if kill is not None and kill.after == 0 else None
    with os.fdopen(rfd, "rb", buffering=0) as pipe:
        while True:
            now = time.perf_counter()
            if kill_at is not None and now >= kill_at:
                os.kill(pid, signal.SIGKILL)
                killed = True
                break
            ready, _, _ = select.select([pipe], [], [], None if kill_at is None else kill_at - now)
            if not ready:
                continue
            chunk = pipe.read(4096)
            if not chunk:  # the child exited
                break
            now = time.perf_counter() - t0
            events.extend([now] * len(chunk))
            if kill is not None and len(events) > kill.after:
                # the child reached its next event before the drawn moment and is held there, before that
                # commit: kill it now (the same crash point whenever the kill would come)
                kill_at = time.perf_counter()
                continue
            if kill is not None and kill_at is None and len(events) == kill.after:
                kill_at = t0 + now + kill.delay
            os.write(ack_w, b"." * len(chunk))
    os.close(ack_w)
    _pid, status = os.waitpid(pid, 0)
    seconds = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if killed and code == -signal.SIGKILL:
        err.close()
        return Outcome(True, seconds, events)
    err.seek(0)
    message = err.read().decode(errors="replace")
    err.close()
    if code not in (0, 1):
        raise RuntimeError(f"citybridge {' '.join(args)} failed ({code}): {message[-1500:]}")
    return Outcome(False, seconds, events)


def draw_kill(rng: random.Random, ref: Outcome) -> Kill:
    """After the child's k-th progress event, k drawn uniformly from 1 to one before the last (a count of
    commits / published files, not a clock), plus a delay drawn uniformly within the time the reference run took
    from its k-th to its next event; ``cli`` kills at the child's next event if it comes first. So the kill lands
    after the child's first durable progress and before its last, however loaded the machine is."""
    ev = ref.events
    if len(ev) < 2:
        return Kill(0, rng.uniform(0.0, ref.seconds))
    k = rng.randint(1, len(ev) - 1)
    return Kill(k, rng.uniform(0.0, ev[k] - ev[k - 1]))


def _engine(url: str) -> Any:
    from sqlalchemy import create_engine

    return create_engine(url)


def content(url: str) -> dict[str, str]:
    """Every table's rows without volatile columns, sorted, hashed: equal for two runs that stored the same."""
    from sqlalchemy import inspect, text

    from citybridge.store.backup import _norm

    eng = _engine(url)
    out = {}
    try:
        with eng.connect() as conn:
            insp = inspect(conn)
            pairs = {}
            if "merges" in insp.get_table_names():
                pairs = {r[0]: f"merge:{r[1]}>{r[2]}" for r in
                         conn.execute(text("SELECT id, survivor_id, merged_id FROM merges"))}
            for name in sorted(insp.get_table_names()):
                if name in LOG_TABLES or name.startswith("sqlite_"):
                    continue
                skip = VOLATILE | VOLATILE_IN.get(name, set())
                cols = sorted(c["name"] for c in insp.get_columns(name) if c["name"] not in skip)
                q = conn.dialect.identifier_preparer.quote
                rows = sorted(json.dumps([_strip(_norm(v), pairs) for v in row], default=str, sort_keys=True)
                              for row in conn.execute(text(f"SELECT {', '.join(q(c) for c in cols)} FROM {q(name)}")))
                out[name] = f"{len(rows)}:" + hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]
    finally:
        eng.dispose()
    return out


def _strip(value: Any, pairs: dict[str, str]) -> Any:
    """JSON text (record bodies, merge snapshots) without the clocks it embeds, merge ids as their pairs."""
    if isinstance(value, str) and value in pairs:
        return pairs[value]
    if isinstance(value, str) and value[:1] in "{[":
        try:
            value = json.loads(value)
        except ValueError:
            return value
        return _strip(value, pairs)
    if isinstance(value, dict):
        return {k: _strip(v, pairs) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v, pairs) for v in value]
    return value


def copy_base(base: Target, dest: Target) -> None:
    """A private copy of a base store (SQLite: backup API; PostgreSQL: a new database from the template)."""
    shutil.rmtree(dest.data_dir, ignore_errors=True)
    dest.data_dir.mkdir(parents=True)
    if base.pg_url is None:
        src = sqlite3.connect(base.data_dir / "citybridge.db")
        dst = sqlite3.connect(dest.data_dir / "citybridge.db")
        src.backup(dst)
        dst.close()
        src.close()
        if (base.data_dir / "index").exists():
            shutil.copytree(base.data_dir / "index", dest.data_dir / "index")
        return
    from sqlalchemy import text

    admin = _admin(base.pg_url)
    eng = _engine(admin)
    eng = eng.execution_options(isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{_dbname(dest.pg_url)}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{_dbname(dest.pg_url)}" TEMPLATE "{_dbname(base.pg_url)}"'))
    eng.dispose()


def _dbname(url: str | None) -> str:
    return str(url).rsplit("/", 1)[1]


def _admin(url: str | None) -> str:
    return str(url).rsplit("/", 1)[0] + "/postgres"


# ------------------------------------------------------------------------------------------------ checks
def check_integrity(target: Target) -> list[str]:
    if target.pg_url is not None:
        return []
    con = sqlite3.connect(target.data_dir / "citybridge.db")
    try:
        problems = [r[0] for r in con.execute("PRAGMA integrity_check")]
        orphans = con.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        con.close()
    out = [] if problems == ["ok"] else [f"integrity_check: {problems[0]}"]
    if orphans:
        out.append(f"foreign_key_check: {len(orphans)} orphan row(s) in {sorted({o[0] for o in orphans})}")
    return out


def _ids(url: str, sql: str) -> set[Any]:
    from sqlalchemy import text

    eng = _engine(url)
    try:
        with eng.connect() as conn:
            return {tuple(r) if len(r) > 1 else r[0] for r in conn.execute(text(sql))}
    finally:
        eng.dispose()


def check_import_batches(target: Target, dataset: dict[str, Any]) -> list[str]:
    """Present records = the first k*BATCH of the file; relations only after all records, whole batches."""
    present = _ids(target.url, "SELECT id FROM records WHERE kind <> 'theme'")
    order = dataset["records"]
    k = len(present & set(order))
    out = []
    if set(order[:k]) != present & set(order):
        out.append(f"import: the {k} records present are not the file's first {k}")
    if k % BATCH and k != len(order):
        out.append(f"import: {k} records present, not a whole number of {BATCH}-row batches")
    rels = _ids(target.url, "SELECT id FROM relations") & set(dataset["relations"])
    if rels and k != len(order):
        out.append("import: relations stored before all records (batch order broken)")
    n = len(rels)
    if set(dataset["relations"][:n]) != rels or (n % BATCH and n != len(dataset["relations"])):
        out.append(f"import: {n} relations present are not whole leading batches")
    return out


def check_enrich(target: Target, reference: dict[tuple[str, str], list[Any]]) -> list[str]:
    done = _ids(target.url, "SELECT record_id, step FROM enrich_state")
    anns: dict[tuple[str, str], list[Any]] = {}
    for rid, step, label, score in _ids(target.url, "SELECT record_id, step, label, score FROM annotations"):
        anns.setdefault((rid, step), []).append((label, round(float(score), 6)))
    out = []
    for key, have in anns.items():
        if key not in done:
            out.append(f"enrich: annotations of {key} without its step marked done (partial batch visible)")
            break
        if sorted(have) != reference.get(key, []):
            out.append(f"enrich: annotations of {key} differ from the reference run")
            break
    for key in done:
        if reference.get(key) and key not in anns:
            out.append(f"enrich: {key} marked done without its annotations")
            break
    return out


def enrich_reference(url: str) -> dict[tuple[str, str], list[Any]]:
    ref: dict[tuple[str, str], list[Any]] = {}
    for rid, step, label, score in _ids(url, "SELECT record_id, step, label, score FROM annotations"):
        ref.setdefault((rid, step), []).append((label, round(float(score), 6)))
    return {k: sorted(v) for k, v in ref.items()}


def check_resolve(target: Target) -> list[str]:
    out = []
    redirects = _ids(target.url, "SELECT old_id, new_id, merge_id FROM redirects")
    records = _ids(target.url, "SELECT id FROM records")
    applied = _ids(target.url, "SELECT id FROM merges WHERE status = 'applied'")
    for old, new, merge in redirects:
        if old in records or new not in records or merge not in applied:
            out.append(f"resolve: merge {merge} half applied ({old} -> {new})")
            break
    olds = {r[0] for r in redirects}
    ends = _ids(target.url, "SELECT source_id FROM relations") | _ids(target.url, "SELECT target_id FROM relations")
    if olds & ends:
        out.append("resolve: relations still point at merged-away records")
    return out


#: what an index freshly built over a store matches, per query, by the store's content hash (a killed import
#: leaves one of a few states - whole batches -, a killed reindex never changes the store: most cycles reuse it)
_FRESH: dict[str, dict[str, set[str]]] = {}


def check_search(target: Target, scratch: Path) -> list[str]:
    """The killed folder's search (whatever index it left) answers exactly as a fresh build over the store."""
    from citybridge.search.service import SearchService
    from citybridge.store import Store

    state = hashlib.sha256(json.dumps(content(target.url), sort_keys=True).encode()).hexdigest()
    store = Store.open(target.url, migrate=False)
    try:
        served = SearchService(store, target.data_dir / "index", embedder=None)
        if state not in _FRESH:
            fresh_dir = scratch / "fresh-index"
            shutil.rmtree(fresh_dir, ignore_errors=True)
            fresh = SearchService(store, fresh_dir, embedder=None)
            fresh.rebuild()
            _FRESH[state] = {q: set(fresh.matching(q)) for q in QUERIES}
        # the same records match (a delta segment's term statistics may order ties differently)
        for q in QUERIES:
            a, b = set(served.matching(q)), _FRESH[state][q]
            if a != b:
                return [f"search: '{q}' matched {len(a ^ b)} records differently from a fresh index"]
            if not served.search(q, per_page=20, snippets=False)["results"] and b:
                return [f"search: '{q}' served no results"]
    except Exception as exc:  # a corrupt index must be rebuilt by the service, never raised to a reader
        return [f"search raised {type(exc).__name__}: {exc}"]
    finally:
        store.close()
    return []


class Mailbox:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps the Message-ID and recipient of what it accepts."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received: list[tuple[str, str]] = []
        box = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                from email import message_from_bytes

                msg = message_from_bytes(envelope.original_content)
                box.received.append((str(msg.get("Message-ID", "")).strip(), ",".join(envelope.rcpt_tos)))
                return "250 Message accepted for delivery"

        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


def seed_members(target: Target, dataset: dict[str, Any]) -> None:
    """Make the first organisations of the slice digest members following a keyword each."""
    from citybridge.hub import Hub
    from citybridge.settings import Settings

    hub = Hub(Settings(data_dir=target.data_dir, search_embedder=None, _env_file=None,  # type: ignore[call-arg]
                       notify_secret="bench-crash-notify-secret-0123456789"))
    try:
        orgs = [r for r in dataset["records"] if r.startswith("org")][:DIGEST_MEMBERS]
        for i, rid in enumerate(orgs):
            hub.register_member(rid, email=f"member{i}@example.org", changed_by="bench:crash")
            hub.subscribe(rid, "keyword", DIGEST_KEYWORDS[i % len(DIGEST_KEYWORDS)], frequency="daily",
                          changed_by="bench:crash", now=_parse_now("2000-01-01T00:00:00+00:00"))
    finally:
        hub.close()


def _parse_now(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value)


def _message_ids(url: str, status: str = "sent") -> set[str]:
    return {str(m).strip() for m in _ids(url, f"SELECT message_id FROM digests WHERE status = '{status}'")}


def check_digest_after_kill(target: Target, box: Mailbox) -> list[str]:
    out = []
    delivered = {m for m, _ in box.received}
    missing = _message_ids(target.url) - delivered
    if missing:
        out.append(f"digest: {len(missing)} digest(s) recorded as sent that the server never accepted")
    for did, n, claimed in _ids(target.url, "SELECT d.id, d.items, (SELECT count(*) FROM digest_items i "
                                            "WHERE i.digest_id = d.id) FROM digests d"):
        if n != claimed:
            out.append(f"digest: {did} has {claimed} claimed item(s), not its {n} (partial claim visible)")
            break
    return out


def check_digest_after_rerun(target: Target, box: Mailbox, reference_sent: int) -> list[str]:
    out = []
    delivered = {m for m, _ in box.received}
    sent = _message_ids(target.url)
    if delivered != sent:
        out.append(f"digest: the server holds {len(delivered - sent)} message(s) not recorded as sent and "
                   f"misses {len(sent - delivered)} recorded as sent")
    if len(sent) != reference_sent:
        out.append(f"digest: {len(sent)} digests sent in all, reference {reference_sent}")
    if _ids(target.url, "SELECT id FROM digests WHERE status = 'pending'"):
        out.append("digest: digests left pending after the re-run")
    return out


def diff(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return [f"re-run: table {k} is {a.get(k)} , reference {b.get(k)}" for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k)]


# ------------------------------------------------------------------------------------------------ runs
OPS: dict[str, list[str]] = {
    "import": ["import", "{data}"],
    "enrich": ["enrich", "--step", "language", "--step", "keywords", "--workers", "1"],
    "resolve": ["resolve", "--apply"],
    "reindex": ["reindex"],
    "digest": ["digest", "send", "--now", DIGEST_NOW],
}


@contextmanager
def pg_databases(server: str | None, names: list[str]) -> Iterator[dict[str, str]]:
    if not server:
        yield {}
        return
    from sqlalchemy import text

    tag = f"cbcrash_{os.getpid()}_"
    urls = {n: server.rsplit("/", 1)[0] + "/" + tag + n for n in names}
    try:
        yield urls
    finally:
        eng = _engine(_admin(server)).execution_options(isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            for url in urls.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{_dbname(url)}" WITH (FORCE)'))
        eng.dispose()


#: records in each operation's slice (about; ``--records`` sets them all): enough batches, annotations, merges,
#: index segments or digests for the operation to mean something, short enough for 50 kill cycles
SLICE = {"import": 800, "enrich": 250, "resolve": 400, "reindex": 300, "digest": 300}
#: import on PostgreSQL (the same slice as on SQLite)
SLICE_PG = 800
PHASES = ("copy", "killed_run", "checks", "search", "rerun", "compare")


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (the forked runs)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="cb-crash-"))
    results: dict[str, Any] = {}
    preload()
    datasets: dict[int, tuple[Path, dict[str, Any]]] = {}
    bases: dict[tuple[str, int, str], Target] = {}

    def dataset_of(n: int) -> tuple[Path, dict[str, Any]]:
        if n not in datasets:
            path = work / f"slice-{n}.jsonl"
            datasets[n] = (path, build_dataset(path, n, args.seed))
            log(f"slice {n}: {len(datasets[n][1]['records'])} records, {len(datasets[n][1]['relations'])} relations")
        return datasets[n]

    def base_of(backend: str, n: int, kind: str, pg: dict[str, str]) -> Target:
        """The empty store, or the slice imported, per backend and slice size (made once)."""
        key = (backend, n, kind)
        if key in bases:
            return bases[key]
        if backend == "postgresql":
            from sqlalchemy import text

            url = pg[kind]
            eng = _engine(_admin(url)).execution_options(isolation_level="AUTOCOMMIT")
            with eng.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{_dbname(url)}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{_dbname(url)}"'))
            eng.dispose()
            target = Target(work / f"{backend}-{n}-{kind}" / "data", url)
        else:
            target = Target(work / f"{backend}-{n}-{kind}" / "data")
        if kind == "empty":
            target.data_dir.mkdir(parents=True)
            cli(target, "init")
        else:
            copy_base(base_of(backend, n, "empty", pg), target)
            cli(target, "import", str(dataset_of(n)[0]))
        bases[key] = target
        return target

    try:
        ops = [o.strip() for o in args.ops.split(",") if o.strip()]
        wanted = {b.strip() for b in args.backends.split(",")}
        backends = ([("sqlite", None)] if "sqlite" in wanted else []) + \
            ([("postgresql", args.postgres)] if args.postgres and "postgresql" in wanted else [])
        with pg_databases(args.postgres, ["empty", "imported", "run", "ref"]) as pg:
            for backend, server in backends:
                for op in ops:
                    if backend == "postgresql" and op != "import":
                        continue
                    n = args.records or (SLICE_PG if server else SLICE[op])
                    data, dataset = dataset_of(n)
                    base = base_of(backend, n, "empty" if op == "import" else "imported", pg)
                    if op == "reindex":  # an index that exists but is behind the store: the harder case
                        indexed = Target(work / f"{backend}-{n}-indexed" / "data")
                        copy_base(base, indexed)
                        cli(indexed, "reindex")
                        cli(indexed, "import", str(_extra(work, dataset)))
                        base = indexed
                    if op == "digest":
                        members = Target(work / f"{backend}-{n}-members" / "data")
                        copy_base(base, members)
                        seed_members(members, dataset)
                        base = members
                    argv = [a.replace("{data}", str(data)) for a in OPS[op]]
                    if op == "enrich" and args.enrich_steps:
                        argv = ["enrich", *(x for st in args.enrich_steps.split(",") for x in ("--step", st)),
                                "--workers", "1"]
                    key = op if backend == "sqlite" else f"{op}:{backend}"
                    # one seeded stream per operation: running the operations one by one draws the same kills
                    rng = random.Random(f"{args.seed}:{key}")
                    results[key] = run_op(key, op, argv, base, dataset, work, pg if server else {}, rng, args.kills)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"kills": sum(s["kills"] for s in results.values()),
            "inconsistencies": sum(s["inconsistencies"] for s in results.values()),
            "per_op": results, "seed": args.seed, "batch": BATCH}


def run_op(key: str, op: str, argv: list[str], base: Target, dataset: dict[str, Any], work: Path,
           pg: dict[str, str], rng: random.Random, kills: int) -> dict[str, Any]:
    """The uninterrupted reference run (once), then kill cycles until ``kills`` children were killed mid-way
    (a child that finishes before its kill moment is counted apart and does not count as a kill)."""
    ref = Target(work / "ref" / "data", pg.get("ref"))
    copy_base(base, ref)
    box = Mailbox() if op == "digest" else None
    ref.smtp_port = box.port if box else None
    reference_run = cli(ref, *argv)
    reference_sent = len(_message_ids(ref.url)) if box else 0
    if box and not reference_sent:
        raise RuntimeError("the reference digest run sent nothing: the check would prove nothing")
    reference = content(ref.url)
    enrich_ref = enrich_reference(ref.url) if op == "enrich" else {}
    ev = reference_run.events
    log(f"{key}: uninterrupted run {reference_run.seconds:.1f}s, {len(ev)} progress events"
        + (f" from {ev[0]:.2f}s to {ev[-1]:.2f}s" if ev else ""))
    stats: dict[str, Any] = {
        "kills": 0, "inconsistencies": 0, "finished_before_kill": 0, "runs": 0,
        "reference_s": round(reference_run.seconds, 2), "progress_events": len(ev),
        "progress_window_s": [round(ev[0], 3), round(ev[-1], 3)] if ev else None, "examples": [],
        "reference_rows": {k: int(v.split(":")[0]) for k, v in reference.items()}}
    phases = dict.fromkeys(PHASES, 0.0)
    wall0, cpu0 = time.perf_counter(), _cpu()
    while stats["kills"] < kills and stats["runs"] < 2 * kills + 5:
        i = stats["runs"]
        stats["runs"] += 1
        t = time.perf_counter()
        target = Target(work / "run" / "data", pg.get("run"))
        copy_base(base, target)
        if box:
            box.received.clear()
            target.smtp_port = box.port
        t = _lap(phases, "copy", t)
        kill = draw_kill(rng, reference_run)
        outcome = cli(target, *argv, kill=kill)
        t = _lap(phases, "killed_run", t)
        stats["kills"] += int(outcome.killed)
        stats["finished_before_kill"] += int(not outcome.killed)
        problems = check_integrity(target)
        if op == "import":
            problems += check_import_batches(target, dataset)
        elif op == "enrich":
            problems += check_enrich(target, enrich_ref)
        elif op == "resolve":
            problems += check_resolve(target)
        elif box:
            problems += check_digest_after_kill(target, box)
        t = _lap(phases, "checks", t)
        problems += check_search(target, work)
        t = _lap(phases, "search", t)
        cli(target, *argv)  # the re-run
        t = _lap(phases, "rerun", t)
        problems += diff(content(target.url), reference)
        if box:
            problems += check_digest_after_rerun(target, box, reference_sent)
        problems += check_integrity(target)
        _lap(phases, "compare", t)
        stats["inconsistencies"] += len(problems)
        if problems and len(stats["examples"]) < 5:
            stats["examples"].append({"run": i, "after_events": kill.after, "delay_s": round(kill.delay, 3),
                                      "problems": problems})
        log(f"{key} run {i + 1} (kill {stats['kills']}/{kills}) after event {kill.after}/{len(ev)} "
            f"+{kill.delay:.3f}s: {'killed' if outcome.killed else 'finished first'} at {outcome.seconds:.2f}s "
            f"({len(outcome.events)} events), {len(problems)} problem(s)" + "".join(f"\n    {p}" for p in problems))
    runs = max(1, stats["runs"])
    stats["cycle_wall_s"] = round((time.perf_counter() - wall0) / runs, 2)
    stats["cycle_cpu_s"] = round((_cpu() - cpu0) / runs, 2)
    stats["cycle_phases_s"] = {k: round(v / runs, 3) for k, v in phases.items()}
    if box:
        stats["reference_digests_sent"] = reference_sent
        box.close()
    log(f"{key}: {stats['kills']} kills in {stats['runs']} runs, {stats['inconsistencies']} inconsistencies; "
        f"per cycle {stats['cycle_wall_s']}s wall, {stats['cycle_cpu_s']}s CPU, {stats['cycle_phases_s']}")
    return stats


def _lap(phases: dict[str, float], name: str, t: float) -> float:
    now = time.perf_counter()
    phases[name] += now - t
    return now


def _extra(work: Path, dataset: dict[str, Any]) -> Path:
    """Changes after an index was built: renamed copies of 200 organisations (so the index is behind)."""
    path = work / "extra.jsonl"
    if not path.exists():
        with open(path, "w", encoding="utf-8") as f:
            for rid in dataset["records"][:200]:
                f.write(json.dumps({"kind": "organization", "id": rid + "x", "name": f"Renamed {rid} energy"}) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=50, help="kills per operation (default 50)")
    ap.add_argument("--ops", default=",".join(OPS), help="comma-separated: " + ", ".join(OPS))
    ap.add_argument("--records", type=int, default=0,
                    help="records in every operation's slice (about; default: per operation, see SLICE)")
    ap.add_argument("--postgres", default=os.environ.get("CITYBRIDGE_TEST_POSTGRES_URL"),
                    help="PostgreSQL server URL for the import runs (default: $CITYBRIDGE_TEST_POSTGRES_URL)")
    ap.add_argument("--backends", default="sqlite,postgresql",
                    help="sqlite, postgresql or both (PostgreSQL runs the import operation only)")
    ap.add_argument("--enrich-steps", default="",
                    help="steps of the enrich operation (default: language,keywords)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result))
    else:
        for op, s in result["per_op"].items():
            print(f"{op:>20}: {s['kills']} kills ({s['finished_before_kill']} runs finished first), "
                  f"{s['inconsistencies']} inconsistencies, uninterrupted run {s['reference_s']} s")
        print(f"total: {result['kills']} kills, {result['inconsistencies']} inconsistencies")


if __name__ == "__main__":
    main()
