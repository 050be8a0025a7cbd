"""Fixtures for linking tests: the real CORDIS H2020 participation file, read once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from citybridge.link.partner_graph import read_h2020

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
if not SHARED.exists():  # a worktree sits one level deeper than a clone
    SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"


@pytest.fixture(scope="session")
def h2020() -> tuple[list[dict[str, str]], dict[str, list[str]]]:
    path = SHARED / "cordis" / "h2020.csv.gz"
    if not path.exists():
        pytest.skip(f"shared CORDIS data not available: {path}")
    return read_h2020(path)
