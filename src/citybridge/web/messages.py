"""UI strings: one JSON catalogue per language under ``messages/``, looked up gettext-style.

Templates call ``_("map.title")`` or ``_("home.count", n=12)``; a missing key shows the key itself, so an
untranslated string is visible rather than fatal. To translate, copy ``messages/en.json`` to
``messages/<lang>.json`` and translate the values; the language is picked from ``?lang=`` or the
browser's Accept-Language header.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache, lru_cache
from importlib import resources
from typing import Any

DEFAULT = "en"


@cache
def catalogue(lang: str) -> dict[str, str]:
    try:
        raw = resources.files("citybridge.web").joinpath("messages", f"{lang}.json").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return {} if lang != DEFAULT else {}
    return json.loads(raw)  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def languages() -> tuple[str, ...]:
    folder = resources.files("citybridge.web").joinpath("messages")
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json")))


def pick_language(query_lang: str | None, accept: str | None) -> str:
    """The best available catalogue for a ``?lang=`` value or an Accept-Language header."""
    available = languages()
    if query_lang and query_lang in available:
        return query_lang
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in available:
            return code
    return DEFAULT


def translator(lang: str) -> Callable[..., str]:
    """``_(key, **values)`` for one language, falling back to English, then to the key."""
    primary, fallback = catalogue(lang), catalogue(DEFAULT)

    def _(key: str, **values: Any) -> str:
        text = primary.get(key) or fallback.get(key) or key
        return text.format(**values) if values else text

    return _
