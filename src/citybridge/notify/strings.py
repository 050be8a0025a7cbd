"""The fixed strings of digests and feeds, one JSON catalogue per language under ``strings/`` (en, es, pt,
fr, de), and the phrasing of an item's reasons in the member's language."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from citybridge.notify.model import LANGUAGES, Reason

DEFAULT = "en"


@cache
def catalogue(lang: str) -> dict[str, str]:
    if lang not in LANGUAGES:
        lang = DEFAULT
    raw = resources.files("citybridge.notify").joinpath("strings", f"{lang}.json").read_text(encoding="utf-8")
    return json.loads(raw)  # type: ignore[no-any-return]


@cache
def strings(lang: str) -> Callable[..., str]:
    """``_(key, **values)`` in one language, falling back to English, then to the key."""
    primary, fallback = catalogue(lang), catalogue(DEFAULT)

    def _(key: str, **values: Any) -> str:
        text = primary.get(key) or fallback.get(key) or key
        return text.format(**values) if values else text

    return _


def phrase(reason: Reason | dict[str, Any], lang: str) -> str:
    """One reason in words, e.g. ``in or about Lisbon`` or ``closes on 2026-12-20 (in 19 days)``."""
    _ = strings(lang)
    values = dict(reason.values if isinstance(reason, Reason) else reason)
    code = reason.code if isinstance(reason, Reason) else values.pop("code")
    values.setdefault("label", "")
    if code == "place" and values.get("via"):
        code = "place_via"
    elif code == "record" and values.get("relation"):
        code = "record_rel"
        values["relation"] = str(values["relation"]).replace("_", " ")
    elif code == "deadline" and int(values.get("days", 1)) <= 0:
        code = "deadline.today"
    return _(f"reason.{code}", **values)
