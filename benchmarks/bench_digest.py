"""Digests for many members over a demo-size store: time and memory of the batch builder (and of rendering
every e-mail), optionally of sending them to a local SMTP server at the configured throttle.

    .venv/bin/python benchmarks/bench_digest.py --data-dir <enriched demo store> [--members 10000 --subs 5]
                                                [--send 0 --rate 0] [--json]

The store is copied to a temp folder first (the members and subscriptions the benchmark creates never touch
it). Members are organisations of the store (local governments first, then others) with synthetic addresses;
each follows ``--subs`` distinct kinds of thing drawn at random (seeded) from: a theme (17 SDGs, 5 pathways),
a place (300 most populous cities), a saved search (40 queries, half with filters), a keyword (30), a record
(2,000 projects) and their own profile (expertise + city + peer cities). Setup (copy, bulk registration) is
timed apart. The measured run is every member's *first* digest - the worst case: every record of the store is
a candidate (later digests only look at what changed since). ``--json`` prints
``{"members", "seconds", "peak_rss_mb", ...}`` on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

QUERIES = ["urban heat", "flood resilience", "energy communities", "circular economy", "air quality",
           "public transport", "affordable housing", "water supply", "green roofs", "food waste", "heatwave",
           "district heating", "cycling infrastructure", "nature-based solutions", "climate adaptation",
           "smart grid", "renewable energy", "waste management", "urban mobility", "biodiversity", "drought",
           "social inclusion", "health", "migration", "digital innovation", "citizen participation", "recycling",
           "building retrofit", "electric vehicles", "coastal cities", "urban agriculture", "sanitation",
           "informal settlements", "noise", "tourism", "education", "energy poverty", "hydrogen", "carbon capture",
           "sustainable finance"]
KEYWORDS = QUERIES[:30]
FILTERS = [{}, {"kind": "project"}, {"kind": "document"}, {"sdg": "11"}, {"sdg": "7"}, {"country": "PT"}]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(hub, n_members: int, n_subs: int, seed: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Register members and subscriptions in bulk (labels resolved once per distinct target)."""
    from sqlalchemy import insert, select

    from citybridge.notify.model import subscription_id
    from citybridge.store import tables as t

    rng = random.Random(seed)
    r = t.records.c
    with hub.store.engine.connect() as conn:
        orgs = [x.id for x in conn.execute(select(r.id).where(r.kind == "organization")
                                           .order_by(r.subtype != "local_government", r.id).limit(n_members))]
        cities = [x.id for x in conn.execute(select(r.id).where(r.kind == "place", r.subtype == "city")
                                             .order_by(r.data.like('%"population":%').desc(), r.id).limit(20000))]
        projects = [x.id for x in conn.execute(select(r.id).where(r.kind == "project").limit(20000))]
    # the 300 most populous cities
    pops = {}
    for rid, rec in hub.store.get_many(cities).items():
        pops[rid] = getattr(rec, "population", 0) or 0
    cities = sorted(pops, key=lambda c: -pops[c])[:300]
    records = rng.sample(projects, min(2000, len(projects)))
    themes = [f"sdg:{g}" for g in range(1, 18)] + [f"pathway:{p}" for p in
                                                    ("low-emission", "nature-based", "circular", "resilient",
                                                     "equitable")]
    labels: dict[tuple[str, str | None, str], tuple[str | None, str | None, str, dict]] = {}  # type: ignore[type-arg]

    def resolve(kind: str, value: str | None, flt: dict) -> tuple:  # type: ignore[type-arg]
        key = (kind, value, json.dumps(flt, sort_keys=True))
        if key not in labels:
            labels[key] = hub._resolve_target(kind, value or "", flt, _curator())
        return labels[key]

    now = datetime.now(UTC).replace(microsecond=0)
    members, subs = [], []
    for i, oid in enumerate(orgs):
        members.append({"member_id": oid, "email": f"m{i}@bench.example", "language": "en", "principal": None,
                        "groups": "[]", "network": False, "status": "active", "created_at": now, "updated_at": now,
                        "changed_by": "bench"})
        for kind in rng.sample(["theme", "place", "search", "keyword", "record", "profile"], n_subs):
            value, flt = None, {}
            if kind == "theme":
                value = rng.choice(themes)
            elif kind == "place":
                value = rng.choice(cities)
            elif kind == "search":
                value, flt = rng.choice(QUERIES), rng.choice(FILTERS)
            elif kind == "keyword":
                value = rng.choice(KEYWORDS)
            elif kind == "record":
                value = rng.choice(records)
            target, query, label, flt = resolve(kind, value, flt)
            subs.append({"id": subscription_id(oid, kind, target, query, flt), "member_id": oid, "type": kind,
                         "target": target, "query": query, "filters": json.dumps(flt, sort_keys=True),
                         "label": label, "frequency": "weekly", "channel": "email", "created_at": now,
                         "last_digest_at": None, "changed_by": "bench"})
    with hub.store.engine.begin() as conn:
        conn.execute(insert(t.notify_members), members)
        conn.execute(insert(t.subscriptions), subs)
    return orgs


def _curator():  # type: ignore[no-untyped-def]
    from citybridge.model.access import CURATOR

    return CURATOR


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get("CITYBRIDGE_DATA_DIR", "citybridge-data")),
                    help="an enriched demo store (make demo); it is copied, never changed")
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--subs", type=int, default=5, choices=range(1, 7))
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--send", type=int, default=0, help="also send this many digests to a local SMTP server")
    ap.add_argument("--rate", type=float, default=0.0, help="CITYBRIDGE_MAIL_RATE for --send (0: unthrottled)")
    ap.add_argument("--workers", type=int, default=1,
                    help="processes building and rendering batches (CITYBRIDGE_DIGEST_WORKERS); 1: inline")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not (args.data_dir / "citybridge.db").exists():
        ap.error(f"no store at {args.data_dir} (run make demo, or pass --data-dir)")

    from citybridge.hub import Hub
    from citybridge.notify.builder import build_digests
    from citybridge.notify.mail import message
    from citybridge.notify.sending import BATCH
    from citybridge.notify.store import NotifyStore
    from citybridge.settings import Settings

    with tempfile.TemporaryDirectory(prefix="bench-digest-") as tmp:
        data = Path(tmp) / "data"
        t0 = time.perf_counter()
        shutil.copytree(args.data_dir, data, ignore=shutil.ignore_patterns("*.lock", "*.building-*", "*.old-*"))
        copy_s = time.perf_counter() - t0
        hub = Hub(Settings(data_dir=data, search_embedder=None, mail_rate=args.rate, _env_file=None))
        t0 = time.perf_counter()
        hub.searcher.current()  # load the lexical index (a server has it loaded)
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ids = setup(hub, args.members, args.subs, args.seed)
        setup_s = time.perf_counter() - t0
        log(f"copied the store in {copy_s:.1f} s, loaded the index in {load_s:.1f} s, registered {len(ids):,} "
            f"members with {args.subs} subscriptions each in {setup_s:.1f} s")
        ns = NotifyStore(hub.store)
        now = datetime.now(UTC).replace(microsecond=0)
        members = ns.members(ids)
        if args.workers > 1:
            result = _parallel(hub, members, now, args.workers)
            result.update({"subscriptions": len(members) * args.subs, "setup_seconds": round(setup_s, 2),
                           "cpus": os.cpu_count(), "load_avg": os.getloadavg()[0]})
            hub.close()
            _print(result, args.json)
            return 0
        stats: dict = {}  # type: ignore[type-arg]
        build_s = render_s = build_cpu = render_cpu = 0.0
        n_items = n_empty = 0
        pools = []
        shared: dict = {}  # type: ignore[type-arg]
        for start in range(0, len(members), BATCH):
            batch = members[start:start + BATCH]
            t0, c0 = time.perf_counter(), time.process_time()
            subs: dict = {}  # type: ignore[type-arg]
            for s in ns.subscriptions([m.id for m in batch]):
                subs.setdefault(s.member_id, []).append(s)
            digests = build_digests(hub, batch, subs, now=now, per_section=hub.settings.digest_items,
                                    deadline_days=hub.settings.digest_deadline_days,
                                    sent=ns.sent_keys([m.id for m in batch]), stats=stats, shared=shared)
            build_s += time.perf_counter() - t0
            build_cpu += time.process_time() - c0
            pools.append(stats["pool"])
            t0, c0 = time.perf_counter(), time.process_time()
            for d in digests:
                if len(d):
                    message(d, hub.settings, message_id=f"<bench-{d.member.id}@bench>")
                    n_items += len(d)
                else:
                    n_empty += 1
            render_s += time.perf_counter() - t0
            render_cpu += time.process_time() - c0
            log(f"  {start + len(batch):,} members: build {build_s:.1f} s, render {render_s:.1f} s, "
                f"peak RSS {peak_rss_mb():.0f} MB")
        result = {"members": len(members), "seconds": round(build_s + render_s, 2),
                  "peak_rss_mb": round(peak_rss_mb(), 1), "build_seconds": round(build_s, 2),
                  "render_seconds": round(render_s, 2), "cpu_seconds": round(build_cpu + render_cpu, 2),
                  "build_cpu_seconds": round(build_cpu, 2), "render_cpu_seconds": round(render_cpu, 2),
                  "subscriptions": len(members) * args.subs,
                  "items": n_items, "empty_digests": n_empty, "pool_per_batch": pools[0] if pools else 0,
                  "batches": len(pools), "searches": stats.get("searches", 0),
                  "match_computations": stats.get("matchers", 0),
                  "setup_seconds": round(setup_s, 2), "cpus": os.cpu_count(), "load_avg": os.getloadavg()[0]}
        if args.send:
            result.update(_send(hub, ids[: args.send], now))
        hub.close()
    _print(result, args.json)
    return 0


def _print(result: dict, as_json: bool) -> None:  # type: ignore[type-arg]
    if as_json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>22}: {v}")


def _parallel(hub, members: list, now: datetime, workers: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """Build and render every batch in ``workers`` forked processes (as ``digest send`` does with
    CITYBRIDGE_DIGEST_WORKERS); CPU seconds are this process's plus the workers'."""
    from citybridge.notify.parallel import Job, built_batches
    from citybridge.notify.sending import BATCH

    def cpu() -> float:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    batches = [members[i:i + BATCH] for i in range(0, len(members), BATCH)]
    job = Job(now=now, today=None, since=None, per_section=hub.settings.digest_items,
              deadline_days=hub.settings.digest_deadline_days, render=True)
    t0, c0 = time.perf_counter(), cpu()
    n_items = n_empty = done = 0
    for built in built_batches(hub, batches, job, workers=workers):
        for b in built:
            n_items += len(b.digest)
            n_empty += not len(b.digest)
        done += len(built)
        log(f"  {done:,} members: {time.perf_counter() - t0:.1f} s")
    secs, cpus = time.perf_counter() - t0, cpu() - c0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"members": len(members), "seconds": round(secs, 2), "peak_rss_mb": round(max(peak_rss_mb(), kids), 1),
            "cpu_seconds": round(cpus, 2), "workers": workers, "items": n_items, "empty_digests": n_empty,
            "batches": len(batches)}


def _send(hub, ids: list[str], now: datetime) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """Send the first members' digests to an aiosmtpd server on 127.0.0.1 at the configured rate."""
    import socket

    from aiosmtpd.controller import Controller

    class Count:
        n = 0

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            Count.n += 1
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    hub.settings.smtp_port = port
    try:
        t0 = time.perf_counter()
        report = hub.send_digests(member_ids=ids, now=now)
        secs = time.perf_counter() - t0
    finally:
        controller.stop()
    return {"sent": report["sent"], "send_seconds": round(secs, 2), "received": Count.n,
            "send_rate_per_s": round(report["sent"] / secs, 1) if secs else None}


if __name__ == "__main__":
    raise SystemExit(main())
