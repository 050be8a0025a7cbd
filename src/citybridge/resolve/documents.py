"""Document resolution: the DOI first (records sharing one are already one record), then the normalised
title with the year and the first author's family name. Two different DOIs are never merged."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rapidfuzz import fuzz

from citybridge.resolve.merge import conflicting_ids, survivor_first
from citybridge.resolve.normalize import raw_tokens
from citybridge.resolve.proposals import Proposal

SCORE_TITLE_YEAR_AUTHOR = 0.97  # same title, same year, same first author
SCORE_TITLE_YEAR = 0.8  # same title and year, no author to compare (review only)
MIN_TITLE_TOKENS = 4  # shorter titles ("Introduction", "Editorial") say too little


def title_key(title: str) -> str:
    return " ".join(raw_tokens(title))


def first_author(authors: list[str]) -> str | None:
    if not authors:
        return None
    name = authors[0]
    fam = name.partition(",")[0] if "," in name else (raw_tokens(name) or [""])[-1]
    return " ".join(raw_tokens(fam)) or None


def propose_documents(store: Any) -> tuple[list[Proposal], dict[str, int]]:
    docs = [d for d in store.iter_records("document") if len(raw_tokens(d.name)) >= MIN_TITLE_TOKENS]
    blocks: dict[str, list[Any]] = defaultdict(list)
    for d in docs:
        toks = raw_tokens(d.name)
        blocks[" ".join(toks[:3])].append(d)
    out: list[Proposal] = []
    counts = {"considered": len(docs), "different_doi": 0}
    for members in blocks.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if a.year and b.year and a.year != b.year:
                    continue
                ratio = fuzz.ratio(title_key(a.name), title_key(b.name)) / 100.0
                if ratio < 0.97:
                    continue
                if conflicting_ids(a, b):
                    counts["different_doi"] += 1
                    continue
                fa, fb = first_author(a.authors), first_author(b.authors)
                if fa and fb and fa != fb:
                    continue
                score = SCORE_TITLE_YEAR_AUTHOR if fa and fb else SCORE_TITLE_YEAR
                s, m = survivor_first(a, b)
                out.append(Proposal("document", s.id, m.id, score * ratio, "document:title+year+author",
                                    {"titles": [s.name, m.name], "year": s.year or m.year, "first_author": fa or fb,
                                     "title_similarity": round(ratio, 3)}))
    return out, counts


__all__ = ["first_author", "propose_documents", "title_key"]
