"""Train the affiliation match model shipped in src/citybridge/resolve/data/affiliation-model.json.

    .venv/bin/python scripts/train_affiliation_model.py [--data ../shared/data/ror/affiliations-dev.csv]

Reads the labelled strings (CSV ``affiliation,ror_id``) and the ROR dumps beside them, fits the choice model
on every string (gradient-boosted trees or the conditional logit, whichever cross-validates better), and
takes calibration and thresholds from 5-fold cross-validation grouped by organisation,
with 20% of the organisations held out of the index (with parents and children) to make negatives.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _affiliations import DEFAULT_DATA, read_labelled, ror_files  # noqa: E402

from citybridge.resolve.affiliation import AffiliationMatcher  # noqa: E402
from citybridge.resolve.org_index import OrgIndex, entries_from_ror_files  # noqa: E402
from citybridge.resolve.training import train  # noqa: E402

OUT = ROOT / "src" / "citybridge" / "resolve" / "data" / "affiliation-model.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--l2", type=float, default=1.0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    index = OrgIndex.build(entries_from_ror_files(ror_files(args.data)))
    print(f"index: {len(index.orgs):,} organisations in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    rows = read_labelled(args.data)
    model = train(AffiliationMatcher(index), rows, l2=args.l2,
                  progress=lambda n: print(f"\r{n:,}/{len(rows):,} strings", end="", file=sys.stderr))
    print(file=sys.stderr)
    model.report["data"] = args.data.name
    model.save(args.out)
    print(json.dumps({"thresholds": model.thresholds, **model.report}, indent=1))


if __name__ == "__main__":
    main()
