"""Shared by the affiliation evaluation and the training script: the labelled CSV and the ROR dumps."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ror" / "affiliations-dev.csv"
if not DEFAULT_DATA.exists():  # a git worktree one level deeper (../../shared)
    DEFAULT_DATA = ROOT.parents[1] / "shared" / "data" / "ror" / "affiliations-dev.csv"
ABSTAIN = {"", "np", "none", "null", "-"}


def ror_files(data: Path) -> list[Path]:
    """The ROR dumps: beside the labelled file when there, else ../shared/data/ror."""
    for folder in (data.parent, DEFAULT_DATA.parent):
        files = sorted(folder.glob("ror-*records.json.gz"))
        if files:
            return files
    sys.exit(f"no ROR dump (ror-*records.json.gz) beside {data} or in {DEFAULT_DATA.parent}")


def read_labelled(path: Path) -> list[tuple[str, str | None]]:
    """``(affiliation, gold ROR id or None)`` rows; an empty or ``NP`` id means "no organisation should match"."""
    from citybridge.model.entities import normalize_external_id

    if not path.is_file():
        sys.exit(f"{path}: file not found")
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"affiliation", "ror_id"} - set(reader.fieldnames or [])
        if missing:
            sys.exit(f"{path}:1: missing column(s) {', '.join(sorted(missing))} (need affiliation,ror_id)")
        for line, row in enumerate(reader, start=2):
            text = (row.get("affiliation") or "").strip()
            if not text:
                sys.exit(f"{path}:{line}: field affiliation is empty")
            gold = (row.get("ror_id") or "").strip()
            rows.append((text, None if gold.lower() in ABSTAIN else normalize_external_id("ror", gold)))
    return rows
