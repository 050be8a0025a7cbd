"""Inferred import mappings against hand-labelled gold mappings (``benchmarks/data/infer-gold.json``) on real
files from ../shared/data, with no mapping file: how many columns get the right target, how many rows the
import would accept, and how long planning (layout + inference) and a full dry run take.

Usage: ``.venv/bin/python benchmarks/eval_infer.py [--data ../shared/data] [--errors] [--json]``

Per file and per split (``dev``: files looked at while writing the synonym tables; ``held-out``: labelled
before the inference was first run on them):
- columns: share of columns whose inferred target is right (a gold field, or attributes for the others);
- field recall: share of gold fields found; field precision: share of inferred fields that are right;
- rows: share of rows the dry run accepts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from citybridge.hub import Hub
from citybridge.model.entities import model_for
from citybridge.settings import Settings

GOLD = Path(__file__).with_name("data") / "infer-gold.json"


def _default_data() -> Path:
    """The first ``shared/data`` beside the repository or above it (a git worktree sits one level deeper)."""
    root = Path(__file__).resolve().parents[1]
    return next((f / "shared" / "data" for f in root.parents if (f / "shared" / "data").is_dir()),
                root.parent / "shared" / "data")


DEFAULT_DATA = _default_data()


def _target(t: str | None, kind: str) -> str:
    """Where a column's values end up: a field of the kind, an external id, or attributes (a field of
    another kind, kept under its name, lands in attributes too)."""
    if t is None or t == "-" or t.startswith("attributes."):
        return "attributes"
    if t.startswith("external_ids.") or t == "id" or t in model_for(kind).model_fields:
        return t
    return "attributes"


def score(inferred: dict[str, str | None], gold: dict[str, list[str]], kind: str) -> dict[str, Any]:
    """Counts for one file: right columns, and found / inferred / right fields."""
    right = 0
    errors = []
    found = inferred_fields = correct_fields = 0
    gold_fields = sum(1 for v in gold.values() if v[0] != "attributes")
    for column, target in inferred.items():
        want = gold.get(column, ["attributes"])
        got = _target(target, kind)
        ok = got in want
        right += ok
        if not ok:
            errors.append(f"{column!r}: {got} (want {' or '.join(want)})")
        if got != "attributes":
            inferred_fields += 1
            correct_fields += ok
        if ok and got != "attributes" and want[0] != "attributes":
            found += 1
    return {"columns": len(inferred), "right": right, "gold_fields": gold_fields, "found": found,
            "inferred_fields": inferred_fields, "correct_fields": correct_fields, "errors": errors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    ap.add_argument("--errors", action="store_true", help="list every wrong column")
    ap.add_argument("--json", action="store_true", help="print pure JSON on stdout")
    args = ap.parse_args()
    gold = json.loads(GOLD.read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(Settings(data_dir=Path(tmp) / "data", _env_file=None))
        for entry in gold["files"]:
            path = args.data / entry["path"]
            if not path.exists():
                print(f"skipped (absent): {path}", file=sys.stderr)
                continue
            t0 = time.perf_counter()
            plan = hub.plan_import(path, kind=entry["kind"])
            planned = time.perf_counter() - t0
            t0 = time.perf_counter()
            preview = hub.preview_import(path, kind=entry["kind"])
            dry = time.perf_counter() - t0
            assert plan.inference is not None
            inferred = {g.column: g.target for g in plan.inference.columns}
            row = {"file": entry["path"], "split": entry["split"], **score(inferred, entry["fields"], entry["kind"]),
                   "rows": preview.rows, "ok": preview.ok, "plan_s": round(planned, 3), "dry_run_s": round(dry, 3)}
            rows.append(row)
            print(f"{entry['path']}: {row['right']}/{row['columns']} columns right, "
                  f"{preview.ok:,}/{preview.rows:,} rows accepted", file=sys.stderr)
        hub.close()
    splits = {}
    for split in ("dev", "held-out"):
        part = [r for r in rows if r["split"] == split]
        if not part:
            continue
        total = {k: sum(r[k] for r in part) for k in ("columns", "right", "gold_fields", "found", "inferred_fields",
                                                       "correct_fields", "rows", "ok")}
        splits[split] = {
            "files": len(part), "columns": total["columns"],
            "column_accuracy": round(total["right"] / total["columns"], 4),
            "field_recall": round(total["found"] / total["gold_fields"], 4) if total["gold_fields"] else None,
            "field_precision": round(total["correct_fields"] / total["inferred_fields"], 4)
            if total["inferred_fields"] else None,
            "rows_accepted": round(total["ok"] / total["rows"], 4) if total["rows"] else None,
        }
    if args.json:
        print(json.dumps({"files": rows if args.errors else [{k: v for k, v in r.items() if k != "errors"}
                                                              for r in rows], "splits": splits}, indent=1))
        return
    print(f"{'file':58} {'split':8} {'columns':>9} {'fields':>9} {'rows ok':>15} {'plan s':>7} {'dry s':>7}")
    for r in rows:
        print(f"{r['file'][:58]:58} {r['split']:8} {r['right']:>4}/{r['columns']:<4} "
              f"{r['found']:>4}/{r['gold_fields']:<4} {r['ok']:>7,}/{r['rows']:<7,} {r['plan_s']:>7.2f} "
              f"{r['dry_run_s']:>7.2f}")
        if args.errors:
            for e in r["errors"]:
                print(f"    wrong: {e}")
    for split, s in splits.items():
        print(f"{split}: {s['files']} files, {s['columns']} columns: column accuracy {s['column_accuracy']:.1%}, "
              f"field recall {s['field_recall']:.1%}, field precision {s['field_precision']:.1%}, "
              f"rows accepted {s['rows_accepted']:.2%}")


if __name__ == "__main__":
    main()
