"""The daily digest run inside ``citybridge serve --digests daily``: an APScheduler background job at
``CITYBRIDGE_DIGEST_HOUR`` (UTC). Sending is safe to repeat, so a cron line calling ``citybridge digest send``
beside it (or instead of it) never sends anything twice."""

from __future__ import annotations

import logging
from typing import Any

from citybridge.errors import Unavailable

log = logging.getLogger("citybridge.notify")


def run_digests(settings: Any) -> dict[str, Any]:
    """One scheduled run: send what is due, log a one-line summary."""
    from citybridge.hub import Hub

    with Hub(settings) as hub:
        report = hub.send_digests(changed_by="serve:digests")
    log.info("digests: sent %s, resent %s, nothing new for %s, failed %s%s", report["sent"], report["resent"],
             report["empty"], report["failed"], f", stopped: {report['stopped']}" if report["stopped"] else "")
    return report


def start_scheduler(settings: Any) -> Any:
    """Start the background scheduler with the daily job; returns it (call ``shutdown()`` to stop)."""
    try:
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.cron import CronTrigger
    except ImportError:
        raise Unavailable("serve --digests needs APScheduler: pip install 'citybridge[scheduler]' "
                          "(or run `citybridge digest send` from cron)") from None
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(run_digests, CronTrigger(hour=settings.digest_hour, minute=0, timezone="UTC"), args=[settings],
                      id="citybridge-digests", max_instances=1, coalesce=True, misfire_grace_time=3600)
    scheduler.start()
    return scheduler
