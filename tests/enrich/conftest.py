from __future__ import annotations

import json
from pathlib import Path

import pytest

from citybridge.enrich.gazetteer import Gazetteer, load_gazetteer

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
if not SHARED.exists():  # a worktree sits one level deeper than a clone
    SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"


@pytest.fixture(scope="session")
def gaz() -> Gazetteer:
    return load_gazetteer()


@pytest.fixture(scope="session")
def scifact_texts() -> list[str]:
    path = SHARED / "scifact" / "corpus.jsonl"
    if not path.exists():
        pytest.skip("shared SciFact data not available")
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            out.append(f"{doc['title']}. {doc['text']}")
            if len(out) >= 60:
                break
    return out


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder (SciFact, SDG benchmark), wherever the checkout sits."""
    return SHARED
