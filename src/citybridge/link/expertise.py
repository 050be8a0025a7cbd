"""Expertise scoring: how well a person (or organisation, or city) fits a text, judged on their recent work.

One scorer serves ``Hub.fit`` / ``Hub.fit_many`` and the ``experts`` section of ``Hub.link``, and it is the
code path ``benchmarks/eval_experts.py`` measures on the reviewer-paper gold standard.

Components (each computed from the store, for the text against the entity):

- ``e5``: highest cosine between the text (e5 passage side, short-text budget, as the works) and the e5 vector
  of one of the entity's recent works (only when the cross-lingual embedder is on and the works carry its vectors);
- ``vector``: highest cosine between the text and one recent work's record vector (the default embedder);
- ``lexical``: highest BM25F score of the text's words in one recent work, over the query's upper bound (0..1);
- ``themes`` and ``keywords``: the aggregate expertise profile's theme and keyword match
  (:mod:`citybridge.link.profile_index`);
- ``recency`` and ``volume``: how recent the profile is at the reference date and how many records it has.

"Recent works" are the :data:`RECENT_WORKS` most recent records linked to the entity (documents, projects,
calls; public ones only; by year, up to the reference date; ties by id), as in the data set's published
protocol.

The score is ``sigmoid(sum_c w_c * (x_c - center_c) / scale_c / SPREAD)``: a linear model over standardised components
whose weights each component earned by cross-validation over researchers on the dev half of the gold standard
(``eval_experts.py --write-weights``). The weights, centres and scales are a versioned artifact,
``link/data/expert_model.json``; a component with weight 0 is reported but does not move the score. One weight
set per available channel set: ``e5`` (e5 vectors present) and ``default`` (without them).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from citybridge.errors import Invalid
from citybridge.store import tables as t

#: how many of an entity's most recent works are compared with the text (the gold standard's protocol: 20)
RECENT_WORKS = 20
#: kinds of linked records that count as an entity's work
WORK_KINDS = ("document", "project", "opportunity")
#: the relations that make a record an entity's work (either direction), as for expertise profiles
LINK_TYPES = ("authored", "leads", "partner_in", "funded_by", "about", "located_in")
COMPONENTS = ("e5", "vector", "lexical", "themes", "keywords", "recency", "volume")
MODEL_FORMAT = 1
#: z / SPREAD goes through the sigmoid: only spreads the scores over 0..1 (the order is the linear model's), so
#: a text 3 sd above the typical rated paper scores 0.73, not 0.95 (and scores rounded to 4 places rarely tie)
SPREAD = 3.0
MODEL_PATH = Path(__file__).with_name("data") / "expert_model.json"


@dataclass(frozen=True)
class WeightSet:
    weights: dict[str, float]
    center: dict[str, float]
    scale: dict[str, float]

    def score(self, comps: dict[str, float]) -> float:
        z = sum(w * (comps.get(c, 0.0) - self.center.get(c, 0.0)) / (self.scale.get(c, 1.0) or 1.0)
                for c, w in self.weights.items() if w)
        z /= SPREAD
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


@dataclass(frozen=True)
class ExpertModel:
    """The shipped weights of the expertise scorer (see the module docstring)."""

    version: str
    sets: dict[str, WeightSet]
    chosen_by: str = ""

    def weight_set(self, has_e5: bool) -> WeightSet:
        return self.sets["e5"] if has_e5 and "e5" in self.sets else self.sets["default"]

    def to_dict(self) -> dict[str, Any]:
        return {"format": MODEL_FORMAT, "version": self.version, "chosen_by": self.chosen_by,
                "sets": {k: {"weights": s.weights, "center": s.center, "scale": s.scale}
                         for k, s in self.sets.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "expert model") -> ExpertModel:
        if data.get("format") != MODEL_FORMAT:
            raise Invalid(f"{source}: format {data.get('format')!r}, expected {MODEL_FORMAT}", field="format")
        sets = {}
        for name, s in (data.get("sets") or {}).items():
            bad = [c for c in s.get("weights", {}) if c not in COMPONENTS]
            if bad:
                raise Invalid(f"{source}: unknown component(s) {', '.join(bad)} in set {name!r}", field="weights")
            sets[name] = WeightSet({k: float(v) for k, v in s["weights"].items()},
                                   {k: float(v) for k, v in s.get("center", {}).items()},
                                   {k: float(v) for k, v in s.get("scale", {}).items()})
        if "default" not in sets:
            raise Invalid(f"{source}: no 'default' weight set", field="sets")
        return cls(str(data.get("version", "")), sets, str(data.get("chosen_by", "")))

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n", "utf-8")
        tmp.replace(path)


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> ExpertModel:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise Invalid(f"{path}: unreadable expert model ({exc})", field="path") from exc
    return ExpertModel.from_dict(data, str(path))


# ---------------------------------------------------------------------------- works
def recent_works(hub: Any, entity_ids: Iterable[str], today: date,
                 n: int = RECENT_WORKS) -> dict[str, list[str]]:
    """Entity id -> its ``n`` most recent linked works up to ``today`` (newest first; unknown years last)."""
    ids = list(dict.fromkeys(entity_ids))
    c, r = t.relations.c, t.records.c
    linked: dict[str, set[str]] = {e: set() for e in ids}
    years: dict[str, int | None] = {}
    with hub.store.engine.connect() as conn:
        for i in range(0, len(ids), 400):
            chunk = ids[i:i + 400]
            for mine, other in ((c.source_id, c.target_id), (c.target_id, c.source_id)):
                q = (select(mine.label("entity"), r.id, r.year)
                     .select_from(t.relations.join(t.records, r.id == other))
                     .where(mine.in_(chunk), c.type.in_(LINK_TYPES), r.kind.in_(WORK_KINDS),
                            r.visibility == "public"))
                for row in conn.execute(q):
                    if row.year is None or row.year <= today.year:
                        linked[row.entity].add(row.id)
                        years[row.id] = row.year
    out = {}
    for e in ids:
        works = sorted(linked[e], key=lambda w: (-(years[w] or -10_000), w))
        out[e] = works[:n]
    return out


def _max_cosine(hub: Any, model: str | None, query: np.ndarray | None,
                works: dict[str, list[str]]) -> dict[str, float] | None:
    from citybridge.store.enrichment import EnrichmentStore

    if model is None or query is None:
        return None
    every = sorted({w for ws in works.values() for w in ws})
    vecs = {rid: v for rid, _p, _f, _s, _e, v in EnrichmentStore(hub.store).vectors(model, every)}
    if not vecs:
        return None
    q = np.asarray(query, np.float32)
    cos = {rid: float(v @ q) for rid, v in vecs.items() if len(v) == len(q)}
    return {e: max((cos[w] for w in ws if w in cos), default=0.0) for e, ws in works.items()}


def work_components(hub: Any, works: dict[str, list[str]], text: str, vector: np.ndarray | None,
                    vector_model: str | None, query: str | None = None) -> dict[str, dict[str, float]]:
    """The work-level components (``e5``, ``vector``, ``lexical``) of each entity for one text; ``query``: the
    words the lexical component looks for, when not the text's own (a glossary reading of another language)."""
    out: dict[str, dict[str, float]] = {e: {} for e in works}
    wl = _max_cosine(hub, vector_model, vector, works)
    xemb = hub.crosslingual_embedder()
    x = None
    if xemb is not None:
        # the text is compared with works as one work with another: on the passage side, like the works'
        # vectors (on the gold standard, passage-passage cosine loses 0.222 against 0.238 for query-passage)
        qv = xemb.embed([text])[0]  # the embedder cuts the text to its short-text budget
        x = _max_cosine(hub, xemb.model_id, qv, works)
    lex = hub.searcher.bm25_of(query or text, sorted({w for ws in works.values() for w in ws}))
    for e, ws in works.items():
        if wl is not None:
            out[e]["vector"] = round(wl[e], 4)
        if x is not None and any(ws):
            out[e]["e5"] = round(x[e], 4)
        out[e]["lexical"] = round(max((lex.get(w, 0.0) for w in ws), default=0.0), 4)
    return out


def components(hub: Any, entity_ids: list[str], challenge: Any, index: Any, today: date
               ) -> dict[str, dict[str, float]]:
    """Every component of each entity (with an expertise profile) for one challenge (``from_text``): the
    profile components of :func:`citybridge.link.profile_index.match` and the work-level ones above."""
    from citybridge.link.profile_index import Scores, match

    ids = [e for e in dict.fromkeys(entity_ids) if index.position(e) is not None]
    if not ids:
        return {}
    if challenge.scores is None:
        challenge.scores = Scores(index, challenge.labels, challenge.terms, challenge.vector)
    rows = np.asarray(sorted(index.position(e) for e in ids), dtype=np.int64)
    m = match(index, rows, labels=challenge.labels, terms=challenge.terms, vector=challenge.vector,
              ref_year=today.year, scores=challenge.scores)
    works = recent_works(hub, ids, today)
    wc = work_components(hub, works, challenge.text, challenge.vector, index.vector_model, challenge.query)
    out = {}
    for k, row in enumerate(rows):
        e = index.ids[int(row)]
        out[e] = {**wc.get(e, {}), "themes": round(float(m.themes[k]), 4), "keywords": round(float(m.keywords[k]), 4),
                  "recency": round(float(m.recency[k]), 4), "volume": round(float(m.volume[k]), 4)}
    return out


def score(comps: dict[str, float], model: ExpertModel | None = None) -> float:
    """The fit score in 0..1 of one entity's components (the ``e5`` weight set when ``e5`` is among them)."""
    m = model or load_model()
    return round(m.weight_set("e5" in comps).score(comps), 4)


__all__ = ["COMPONENTS", "ExpertModel", "MODEL_PATH", "RECENT_WORKS", "WeightSet", "components", "load_model",
           "recent_works", "score", "work_components"]
