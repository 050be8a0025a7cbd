"""Fixtures for intake tests: a temp-dir SQLite store, the shared real data, small dump writers."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from citybridge.store import Store

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
if not DATA.exists():  # worktrees live one level deeper than the main checkout
    DATA = Path("/work/shared/data")


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'cb.db'}")
    yield s
    s.close()


def first_records(path: Path, n: int) -> list[dict[str, Any]]:
    """The first ``n`` records of a (gzipped) JSON-array dump, read with the streaming reader."""
    from citybridge.ingest.jsonstream import iter_json_array, open_binary

    out: list[dict[str, Any]] = []
    with open_binary(path) as fh:
        for el in iter_json_array(fh):
            out.append(el.value)
            if len(out) >= n:
                break
    return out


def write_json_gz(path: Path, obj: Any) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(obj, fh)
    return path
