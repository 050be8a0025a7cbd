"""``citybridge serve``: the REST API and the web UI over uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from citybridge.cli.common import _state, app, err, settings, user_errors
from citybridge.errors import Invalid, Unavailable


def app_factory():  # type: ignore[no-untyped-def]
    """Build the ASGI app from the environment (uvicorn calls this in each worker process)."""
    import threading

    from citybridge.api import create_app
    from citybridge.model.access import ANONYMOUS

    app = create_app()
    hub, cache = app.state.hub, app.state.cache

    def warm() -> None:
        # the home page's counts, then the link indexes (profiles, cities, partners): startup stays fast and
        # the first visitor does not wait for them
        cache.get(("overview", ANONYMOUS), lambda: hub.overview(ANONYMOUS))
        if hub.settings.link_refresh == "background":
            from citybridge.link.warm import warm_link_indexes

            warm_link_indexes(hub)

    threading.Thread(target=warm, name="citybridge-warm", daemon=True).start()
    return app


@app.command()
@user_errors
def serve(
    host: Annotated[str, typer.Option("--host", help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option("--workers", "-w", help="worker processes")] = 1,
    reload: Annotated[bool, typer.Option("--reload", help="restart on code changes (development)")] = False,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
    digests: Annotated[str, typer.Option("--digests", help="off, or daily: send due digests every day at "
                                         "CITYBRIDGE_DIGEST_HOUR (UTC)")] = "off",
) -> None:
    """Serve the REST API (/api/v1, docs at /api/docs) and the web UI (/)."""
    try:
        import uvicorn
    except ImportError:
        raise Unavailable("the web server is not installed: pip install 'citybridge[web]'") from None
    if not 1 <= port <= 65535:
        raise Invalid("port must be between 1 and 65535", field="port")
    if not 1 <= workers <= 32:
        raise Invalid("workers must be between 1 and 32", field="workers")
    if digests not in ("off", "daily"):
        raise Invalid("--digests must be off or daily", field="digests")
    s = settings()  # validates the settings (refuses weak production tokens) before binding the port
    # worker processes rebuild the app from the environment: pass the command-line overrides along
    if _state["data_dir"] is not None:
        os.environ["CITYBRIDGE_DATA_DIR"] = str(_state["data_dir"])
    if _state["database_url"] is not None:
        os.environ["CITYBRIDGE_DATABASE_URL"] = str(_state["database_url"])
    # a served instance keeps answering link calls from the link indexes it has while writes come in; one
    # thread per worker rebuilds them (settings: link_refresh, link_refresh_seconds)
    os.environ.setdefault("CITYBRIDGE_LINK_REFRESH", "background")
    # ... and likewise search (other workers' writes: one thread brings the index up to date, incrementally) and
    # the derived views (home counts, map layers, peer cities: recomputed by one thread at most every 30 s)
    os.environ.setdefault("CITYBRIDGE_SEARCH_REFRESH", "background")
    os.environ.setdefault("CITYBRIDGE_VIEW_STALE_SECONDS", "30")
    # worker processes (spawned, so they read it at start) keep glibc to two malloc arenas: with dozens of request
    # threads the default (8 per core) let a worker's resident memory double under bench_web's mixed load (a
    # 3-minute run: ~4.5 GB per worker with the default, ~2.4 GB with two arenas, same throughput)
    if workers > 1:
        os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    if s.is_sqlite:
        from citybridge.hub import Hub

        Hub(s).close()  # create the folder and migrate once, before workers race for it
    if host not in ("127.0.0.1", "localhost", "::1") and s.environment == "development" and not (
            s.write_token or s.tokens):
        err.print("[yellow]note:[/yellow] listening beyond localhost with no token: the API is read-only "
                  "for every other host", highlight=False)
    scheduler = None
    if digests == "daily":  # in this (the supervising) process: one scheduler however many workers serve
        from citybridge.notify.schedule import start_scheduler

        scheduler = start_scheduler(s)
        err.print(f"digests: sent daily at {s.digest_hour:02d}:00 UTC", highlight=False)
    err.print(f"citybridge on http://{host}:{port}/  (API docs: /api/docs)", highlight=False)
    uvicorn.run("citybridge.cli.serve:app_factory", factory=True, host=host, port=port, workers=workers,
                reload=reload, log_level=log_level, proxy_headers=False, server_header=False,
                timeout_keep_alive=5, timeout_graceful_shutdown=10, limit_concurrency=200, backlog=256,
                h11_max_incomplete_event_size=64 * 1024,
                # the supervisor kills a worker that does not answer its ping in time: a worker loading the
                # indexes on a busy machine can miss uvicorn's default of 5 s and would be restarted in a loop
                timeout_worker_healthcheck=60)
    if scheduler is not None:
        scheduler.shutdown(wait=False)
