"""An OpenAlex-layout snapshot (``data/works/updated_date=*/part_NNN.gz``, gzipped JSON Lines) of N works, built
from the real sample work's schema (shared/data/openalex/W2741809807.json) and real texts: SciFact abstracts and
the knowledge pack's CORDIS project objectives and Commission news, resampled (a random text per work) and
perturbed (a random subset of its sentences, in order; never invented text). Institutions are real ROR records
(ids, names, countries); author and work ids are synthetic.

    PYTHONPATH=src python benchmarks/openalex_snapshot.py OUT_DIR --works 200000 --parts 40
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = next((p for p in (HERE.parents[1] / "shared" / "data", HERE.parents[2] / "shared" / "data",
                           Path("/work/shared/data")) if p.exists()), HERE.parents[1] / "shared" / "data")
KEEP = ("id", "doi", "title", "display_name", "publication_year", "publication_date", "ids", "language",
        "primary_location", "type", "open_access", "authorships", "cited_by_count", "primary_topic", "topics",
        "keywords", "sustainable_development_goals", "referenced_works", "abstract_inverted_index", "updated_date")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def real_texts(shared: Path = SHARED, limit: int | None = None) -> list[tuple[str, str]]:
    """(title, text) pairs from SciFact, the CORDIS projects of the knowledge pack and the Commission news."""
    out: list[tuple[str, str]] = []
    with (shared / "scifact" / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            if d.get("title") and d.get("text"):
                out.append((d["title"], d["text"]))
    csv.field_size_limit(10_000_000)
    for f in sorted((shared / "knowledge").glob("cordis-*/projects.csv")):
        with f.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("title") and row.get("objective"):
                    out.append((row["title"], row["objective"]))
    for f in sorted((shared / "knowledge" / "ec-news").glob("*.md")):
        lines = [ln.strip() for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
        title = next((ln.lstrip("# ") for ln in lines if ln.startswith("#")), f.stem)
        body = " ".join(ln for ln in lines if not ln.startswith(("#", "---")) and ":" not in ln[:20])
        if body:
            out.append((title, body))
    return out[:limit] if limit else out


def ror_institutions(shared: Path = SHARED, n: int = 3000, seed: int = 7) -> list[dict[str, str]]:
    """``n`` real organisations from the ROR v2 dump: OpenAlex-shaped institution entries."""
    with gzip.open(shared / "ror" / "ror-v2-records.json.gz", "rt", encoding="utf-8") as fh:
        recs = json.load(fh)
    rng = random.Random(seed)
    out = []
    for k, r in enumerate(rng.sample(recs, min(n, len(recs)))):
        name = next((x["value"] for x in r.get("names", []) if "ror_display" in x.get("types", [])), None)
        loc = (r.get("locations") or [{}])[0].get("geonames_details", {})
        if name:
            out.append({"id": f"https://openalex.org/I{9_000_000 + k}", "display_name": name, "ror": r["id"],
                        "country_code": loc.get("country_code"), "type": (r.get("types") or ["other"])[0]})
    return out


def inverted_index(text: str) -> dict[str, list[int]]:
    inv: dict[str, list[int]] = {}
    for pos, word in enumerate(text.split()):
        inv.setdefault(word, []).append(pos)
    return inv


def perturb(text: str, rng: random.Random) -> str:
    """A random subset (at least half, in order) of the text's sentences."""
    sents = _SENT.split(text)
    if len(sents) < 3:
        return text
    keep = sorted(rng.sample(range(len(sents)), max(2, (len(sents) * rng.randint(5, 10)) // 10)))
    return " ".join(sents[i] for i in keep)


def generate(root: Path, works: int, parts: int = 8, seed: int = 7, shared: Path = SHARED) -> list[Path]:
    """Write ``works`` works in ``parts`` part files under ``root/data/works/updated_date=*/``; returns them."""
    sample = json.loads((shared / "openalex" / "W2741809807.json").read_text(encoding="utf-8"))
    base = {k: sample[k] for k in KEEP if k in sample}
    authorship = sample["authorships"][0]
    texts = real_texts(shared)
    insts = ror_institutions(shared, seed=seed)
    rng = random.Random(seed)
    files = []
    per = -(-works // parts)
    for p in range(parts):
        day = f"2025-{1 + p % 12:02d}-{1 + p // 12 % 28:02d}"
        folder = root / "data" / "works" / f"updated_date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"part_{p:03d}.gz"
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as fh:
            for i in range(p * per, min(works, (p + 1) * per)):
                title, text = texts[rng.randrange(len(texts))]
                w = dict(base)
                wid = f"https://openalex.org/W{7_000_000_000 + i}"
                w.update(id=wid, doi=f"https://doi.org/10.5555/bulk.{i}", title=title, display_name=title,
                         updated_date=f"{day}T00:00:00", publication_year=2000 + i % 25,
                         publication_date=f"{2000 + i % 25}-{1 + i % 12:02d}-01")
                w["ids"] = {"openalex": wid, "doi": w["doi"]}
                w["abstract_inverted_index"] = inverted_index(perturb(text, rng))
                auths = []
                for pos in range(rng.randint(1, 5)):
                    a = rng.randrange(60_000)
                    inst = insts[a % len(insts)]
                    auths.append(dict(authorship, author_position="first" if pos == 0 else "middle",
                                      author={"id": f"https://openalex.org/A{5_000_000_000 + a}",
                                              "display_name": f"Author {a}", "orcid": None},
                                      institutions=[dict(inst, lineage=[inst["id"]])],
                                      countries=[inst["country_code"]] if inst["country_code"] else [],
                                      raw_affiliation_strings=[inst["display_name"]], affiliations=[]))
                w["authorships"] = auths
                w["referenced_works"] = [f"https://openalex.org/W{7_000_000_000 + rng.randrange(works)}"
                                         for _ in range(rng.randint(0, 8))]
                fh.write(json.dumps(w, separators=(",", ":"), ensure_ascii=False) + "\n")
        files.append(path)
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--works", type=int, default=200_000)
    ap.add_argument("--parts", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    t0 = time.perf_counter()
    files = generate(args.out, args.works, args.parts, args.seed)
    size = sum(f.stat().st_size for f in files)
    print(f"{args.works:,} works in {len(files)} parts ({size / 2**20:.0f} MiB gz) under {args.out}/data/works "
          f"in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
