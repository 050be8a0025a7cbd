"""Load a BEIR-layout folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv (shared by the benchmarks)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact"
if not DEFAULT_DATA.exists():  # run from a worktree under /work/wt/<name>
    DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "scifact"


@dataclass
class Beir:
    ids: list[str]
    titles: list[str]
    texts: list[str]
    queries: dict[str, str]  # only queries that have judgements in the split
    qrels: dict[str, dict[str, int]]

    def docs(self) -> list[dict[str, str]]:
        return [{"title": t, "abstract": x} for t, x in zip(self.titles, self.texts, strict=True)]

    def passages(self) -> list[str]:
        return [f"{t}. {x}".strip(". ") if t else x for t, x in zip(self.titles, self.texts, strict=True)]


def load_beir(data: str | Path = DEFAULT_DATA, split: str = "train") -> Beir:
    data = Path(data)
    ids, titles, texts = [], [], []
    with open(data / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                ids.append(str(d["_id"]))
                titles.append(d.get("title") or "")
                texts.append(d.get("text") or "")
    qrels: dict[str, dict[str, int]] = {}
    with open(data / "qrels" / f"{split}.tsv", encoding="utf-8") as f:
        rows = csv.reader(f, delimiter="\t")
        for row in rows:
            if not row or row[0] in ("query-id", "query_id"):
                continue
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    queries = {}
    with open(data / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                q = json.loads(line)
                if str(q["_id"]) in qrels:
                    queries[str(q["_id"])] = q["text"]
    return Beir(ids, titles, texts, queries, qrels)
