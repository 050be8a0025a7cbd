"""Retrieval metrics as trec_eval/pytrec_eval (and so BEIR) compute them.

- nDCG@k: gain = graded relevance (linear, trec_eval's ``ndcg_cut``), discount ``1/log2(rank + 1)``,
  ideal ranking = the judged relevances sorted descending; a query without relevant docs is skipped.
- recall@k: relevant (rel > 0) docs in the top ``k`` / all relevant docs.
Runs are ranked by score descending, ties broken by doc id descending (trec_eval's order).
"""

from __future__ import annotations

import math
from collections.abc import Mapping


def _ranked(run: Mapping[str, float], k: int) -> list[str]:
    return [d for d, _ in sorted(run.items(), key=lambda x: (-x[1], _neg(x[0])))[:k]]


def _neg(doc_id: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in doc_id)


def ndcg_at_k(
    qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]], k: int = 10
) -> float:
    """Mean nDCG@k over queries in ``qrels`` with at least one relevant doc.

    Args:
        qrels: query id -> doc id -> graded relevance.
        run: query id -> doc id -> score (a missing query scores 0).
    """
    total, n = 0.0, 0
    for qid, rels in qrels.items():
        ideal = sorted((r for r in rels.values() if r > 0), reverse=True)[:k]
        if not ideal:
            continue
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        ranked = _ranked(run.get(qid, {}), k)
        dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked) if rels.get(d, 0) > 0)
        total += dcg / idcg
        n += 1
    return total / n if n else 0.0


def recall_at_k(
    qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]], k: int = 100
) -> float:
    """Mean recall@k over queries in ``qrels`` with at least one relevant doc."""
    total, n = 0.0, 0
    for qid, rels in qrels.items():
        relevant = {d for d, r in rels.items() if r > 0}
        if not relevant:
            continue
        ranked = _ranked(run.get(qid, {}), k)
        total += len(relevant.intersection(ranked)) / len(relevant)
        n += 1
    return total / n if n else 0.0
