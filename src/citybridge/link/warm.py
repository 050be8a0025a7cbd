"""Build the link indexes ahead of the first link call (what ``citybridge serve`` does in each worker at
startup, in a background thread): the expertise-profile index, the city index and the partner graph of
anonymous visitors, and the tagging step that reads challenges."""

from __future__ import annotations

import logging
import time
from typing import Any

from citybridge.model.access import ANONYMOUS

log = logging.getLogger("citybridge.link")


def warm_link_indexes(hub: Any) -> dict[str, float]:
    """Build (or reuse) each link index once; returns the seconds each took. A failure is logged, not raised:
    the first link call then builds what is missing."""
    from citybridge.link.challenge import city_index, profile_index, tagging_step
    from citybridge.link.partner_store import partner_graph

    took: dict[str, float] = {}
    steps = {
        "profile_index": lambda: profile_index(hub),
        "city_index": lambda: city_index(hub, ANONYMOUS),
        "partner_graph": lambda: partner_graph(hub, ANONYMOUS),
        "tagging_step": lambda: tagging_step(hub),
    }
    for name, step in steps.items():
        t0 = time.perf_counter()
        try:
            step()
        except Exception:  # noqa: BLE001 - warming is an optimisation; the request path builds on demand
            log.exception("warming the link index %s failed", name)
            continue
        took[name] = round(time.perf_counter() - t0, 3)
    return took


__all__ = ["warm_link_indexes"]
