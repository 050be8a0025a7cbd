"""Helpers for tests that post the web app's forms: every data-changing form carries a CSRF token."""

from __future__ import annotations

import re
from typing import Any

_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def csrf_of(client: Any, path: str = "/signin") -> str:
    """The CSRF token a page gives this client (the first page also sets the client's CSRF cookie)."""
    html = client.get(path).text
    match = _CSRF.search(html)
    assert match, f"no CSRF field on {path}"
    return match.group(1)
