"""The expertise profiles of persons, organisations and cities as arrays, so a challenge is matched against
all of them at once: a theme matrix (SDG goals, pathways and user taxonomies), a keyword-term matrix and the
profile vectors. Built once per store state (cached on the Hub, see :mod:`citybridge.link._derived`) with
every profile; what a caller may see is masked per query.

Scores (each in 0..1, see :func:`match`):

- ``themes``: cosine of idf-weighted label sums (a label every profile has, like SDG 11 on an urban platform,
  counts less than a rare one), shrunk by ``1 - exp(-mass / 3)`` where mass is the profile's total theme
  score, so two name-tagged records do not outrank twenty reports;
- ``semantic``: cosine of the profile vector and the challenge vector *above the typical profile of the
  same kind* (``(cos - median) / (1 - median)``, clipped at 0): profiles built from boilerplate texts
  ("H2020 project 193399") all sit at the median and score 0 instead of a misleading 0.6;
- ``keywords``: the idf-weighted share of the challenge's key terms found in the profile's keywords.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select

from citybridge.link._derived import caller_key, visible
from citybridge.model.access import Caller
from citybridge.search.analysis import get_analyzer
from citybridge.store import tables as t
from citybridge.store.repository import Store

THEME_PREFIXES = ("sdg:", "pathway:")
KINDS = ("person", "organization", "city")


def key_terms(text: str, langs: Iterable[str | None] = ("en",)) -> list[str]:
    """Stemmed, accent-folded terms of a text (stopwords dropped) with the analyzers of these languages."""
    out: dict[str, None] = {}
    for lang in dict.fromkeys([*langs, "en"]):
        for term in get_analyzer(lang or "en").terms(text):
            if len(term) > 2:
                out[term] = None
    return list(out)


def is_theme(label: str) -> bool:
    """A theme label of a profile: SDG goal, pathway or user taxonomy node (not keywords, places, targets)."""
    if label.startswith("sdg:"):
        return "." not in label
    return not label.startswith(("kw:", "place:", "lang:", "located:"))


@dataclass
class ProfileIndex:
    """Aligned arrays over every profile of a person, organisation or city."""

    ids: list[str]
    kind: np.ndarray  # index into KINDS
    subtype: list[str | None]
    names: list[str]
    country: list[str | None]
    public: np.ndarray  # bool; restricted profiles are checked one by one against the caller
    restricted: dict[int, tuple[str, str | None]]
    themes: Any  # csr n x labels, idf-weighted, rows L2-normalised
    theme_labels: list[str]
    theme_idf: np.ndarray
    terms: Any  # csr n x terms, 1 when the term occurs in one of the profile's keywords
    term_index: dict[str, int]
    term_idf: np.ndarray
    vectors: np.ndarray  # n x dim, L2-normalised; zero rows: no vector
    has_vector: np.ndarray
    vector_model: str | None
    last_year: np.ndarray  # -1 unknown
    n_records: np.ndarray
    theme_mass: np.ndarray  # total theme score behind the profile: how much evidence its themes rest on
    _index: dict[str, int] = field(default_factory=dict, repr=False)
    _theme_col: dict[str, int] = field(default_factory=dict, repr=False)

    def position(self, entity_id: str) -> int | None:
        return self._index.get(entity_id)

    def after_load(self) -> None:
        """Rebuild the lookups that are not stored (see :mod:`citybridge.link.artifacts`)."""
        self._index = {e: i for i, e in enumerate(self.ids)}
        self._theme_col = {lab: i for i, lab in enumerate(self.theme_labels)}

    def allowed(self, caller: Caller) -> np.ndarray:
        mask = self.public.copy()
        key = caller_key(caller)
        for i, (vis, owner) in self.restricted.items():
            mask[i] = visible(vis, owner, key)
        return mask

    def kind_mask(self, kind: str) -> np.ndarray:
        return self.kind == KINDS.index(kind)

    def theme_idf_of(self, label: str) -> float:
        c = self._theme_col.get(label)
        return float(self.theme_idf[c]) if c is not None else 1.0

    def theme_query(self, labels: dict[str, float]) -> np.ndarray:
        """A challenge's theme labels as a unit vector in the index's idf-weighted label space."""
        q = np.zeros(len(self.theme_labels), np.float32)
        for label, score in labels.items():
            c = self._theme_col.get(label)
            if c is not None and is_theme(label):
                q[c] = score * self.theme_idf[c]
        norm = float(np.linalg.norm(q))
        return q / norm if norm > 0 else q

    def term_query(self, terms: Iterable[str]) -> np.ndarray:
        """Idf weights of the challenge's key terms that occur in some profile, summing to 1."""
        q = np.zeros(len(self.term_index), np.float32)
        for term in terms:
            c = self.term_index.get(term)
            if c is not None:
                q[c] = self.term_idf[c]
        total = float(q.sum())
        return q / total if total > 0 else q

    @classmethod
    def from_store(cls, store: Store) -> ProfileIndex:
        """Every profile (about a second per 30,000 profiles)."""
        from scipy import sparse

        p, r = t.profiles.c, t.records.c
        ids, kinds, subtypes, names, countries, public = [], [], [], [], [], []
        restricted: dict[int, tuple[str, str | None]] = {}
        th_rows, th_cols, th_vals, tr_rows, tr_cols = [], [], [], [], []
        theme_col: dict[str, int] = {}
        term_col: dict[str, int] = {}
        vecs: dict[int, np.ndarray] = {}
        models: dict[str, int] = {}
        last, n_rec = [], []
        analyzer = get_analyzer("en")
        term_cache: dict[str, list[str]] = {}
        q = (select(p.entity_id, p.data, p.vector, p.model, p.n_records, r.kind, r.subtype, r.name, r.country,
                    r.visibility, r.owner).select_from(t.profiles.join(t.records, t.records.c.id == p.entity_id))
             .order_by(p.entity_id))
        with store.engine.connect() as conn:
            for row in conn.execute(q):
                if row.kind == "place":
                    if row.subtype != "city":
                        continue
                    kind = 2
                elif row.kind in ("person", "organization"):
                    kind = KINDS.index(row.kind)
                else:
                    continue
                i = len(ids)
                ids.append(row.entity_id)
                kinds.append(kind)
                subtypes.append(row.subtype)
                names.append(row.name)
                countries.append(row.country)
                public.append(row.visibility == "public")
                if row.visibility != "public":
                    restricted[i] = (row.visibility, row.owner)
                data = json.loads(row.data)
                years = data.get("years") or [-1, -1]
                last.append(int(years[1]) if years and years[1] is not None else -1)
                n_rec.append(int(row.n_records or 0))
                seen: set[int] = set()
                for label, entry in (data.get("labels") or {}).items():
                    value = float(entry.get("sum", 0.0))
                    if value <= 0:
                        continue
                    if label.startswith("kw:"):
                        words = term_cache.get(label)
                        if words is None:
                            words = term_cache[label] = [w for w in analyzer.terms(label[3:]) if len(w) > 2]
                        for w in words:
                            c = term_col.setdefault(w, len(term_col))
                            if c not in seen:
                                seen.add(c)
                                tr_rows.append(i)
                                tr_cols.append(c)
                    elif is_theme(label):
                        th_rows.append(i)
                        th_cols.append(theme_col.setdefault(label, len(theme_col)))
                        th_vals.append(value)
                if row.vector is not None and row.model:
                    vecs[i] = np.frombuffer(row.vector, dtype=np.float32)
                    models[row.model] = models.get(row.model, 0) + 1
        n = len(ids)
        themes = sparse.csr_matrix((np.asarray(th_vals, np.float32), (th_rows, th_cols)), shape=(n, len(theme_col)))
        df = np.bincount(themes.indices, minlength=len(theme_col)).astype(np.float32)
        theme_idf = (np.log((n + 1) / (df + 1)) + 1.0).astype(np.float32)
        mass = np.asarray(themes.sum(axis=1)).ravel().astype(np.float32)
        themes = _unit_rows(themes @ sparse.diags(theme_idf))
        terms = sparse.csr_matrix((np.ones(len(tr_rows), np.float32), (tr_rows, tr_cols)), shape=(n, len(term_col)))
        tdf = np.bincount(terms.indices, minlength=len(term_col)).astype(np.float32)
        term_idf = np.log((n + 1) / (tdf + 1)).astype(np.float32) + 0.1
        model = max(models, key=lambda m: models[m]) if models else None
        dim = next((len(v) for v in vecs.values()), 0)
        vectors = np.zeros((n, dim), np.float32)
        has = np.zeros(n, bool)
        for i, v in vecs.items():
            if len(v) == dim:
                vectors[i] = v
                has[i] = True
        out = cls(ids=ids, kind=np.asarray(kinds, np.int8), subtype=subtypes, names=names, country=countries,
                  public=np.asarray(public, bool), restricted=restricted, themes=themes,
                  theme_labels=list(theme_col), theme_idf=theme_idf, terms=terms, term_index=term_col,
                  term_idf=term_idf, vectors=vectors, has_vector=has, vector_model=model,
                  last_year=np.asarray(last, np.int32), n_records=np.asarray(n_rec, np.int32), theme_mass=mass)
        out._index = {e: i for i, e in enumerate(ids)}
        out._theme_col = theme_col
        return out


def _unit_rows(m: Any) -> Any:
    from scipy import sparse

    m = sparse.csr_matrix(m)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    return (sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ m).tocsr().astype(np.float32)


@dataclass
class Match:
    """Per-profile match scores of one challenge (arrays aligned with the index)."""

    themes: np.ndarray
    semantic: np.ndarray
    cosine: np.ndarray  # raw cosine, for reports
    keywords: np.ndarray
    recency: np.ndarray
    volume: np.ndarray


def semantic_scores(index: ProfileIndex, vector: np.ndarray | None, rows: np.ndarray,
                    cosine: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(adjusted, raw) cosine of ``vector`` with the profiles at ``rows``, adjusted per kind against the median
    profile of that kind (see the module docstring); ``cosine``: the raw cosines of every profile, if known."""
    raw = np.zeros(len(rows), np.float32)
    adj = np.zeros(len(rows), np.float32)
    if vector is None or index.vector_model is None or len(vector) != index.vectors.shape[1] or not len(rows):
        return adj, raw
    raw = (cosine if cosine is not None else index.vectors @ vector.astype(np.float32))[rows]
    has = index.has_vector[rows]
    kinds = index.kind[rows]
    for k in np.unique(kinds):
        sel = (kinds == k) & has
        if not sel.any():
            continue
        base = float(np.median(raw[sel])) if sel.sum() >= 5 else 0.0
        base = min(max(base, 0.0), 0.95)
        adj[sel] = np.clip((raw[sel] - base) / (1.0 - base), 0.0, 1.0)
    return adj, raw


class Scores:
    """Theme, keyword and cosine scores of one challenge against *every* profile, computed once with three
    matrix-vector products and shared by the sections (sub-setting rows of a sparse matrix would copy it)."""

    def __init__(self, index: ProfileIndex, labels: dict[str, float], terms: Iterable[str],
                 vector: np.ndarray | None) -> None:
        n = len(index.ids)
        tq = index.theme_query(labels)
        themes = np.asarray(index.themes @ tq).ravel() if tq.any() else np.zeros(n, np.float32)
        # a cosine of 1 from one record tagged by its name alone is weak: shrink by the evidence behind the themes
        self.themes = np.clip(themes * (1.0 - np.exp(-index.theme_mass / 3.0)), 0, 1).astype(np.float32)
        kq = index.term_query(terms)
        kw = np.asarray(index.terms @ kq).ravel() if kq.any() else np.zeros(n, np.float32)
        self.keywords = np.clip(kw, 0, 1).astype(np.float32)
        usable = vector is not None and index.vector_model is not None and len(vector) == index.vectors.shape[1]
        self.cosine = index.vectors @ vector.astype(np.float32) if usable else None  # type: ignore[union-attr]
        self.vector = vector if usable else None


def match(index: ProfileIndex, rows: np.ndarray, *, labels: dict[str, float], terms: Iterable[str],
          vector: np.ndarray | None, ref_year: int, scores: Scores | None = None) -> Match:
    """Theme, semantic, keyword, recency and volume scores of a challenge against the profiles at ``rows``."""
    s = scores or Scores(index, labels, terms, vector)
    semantic, cosine = semantic_scores(index, s.vector, rows, s.cosine)
    last = index.last_year[rows]
    recency = np.where(last < 0, 0.0, np.clip(1.0 - (ref_year - 2 - last) / 12.0, 0.0, 1.0)).astype(np.float32)
    volume = np.clip(np.log1p(index.n_records[rows]) / np.log1p(30.0), 0.0, 1.0).astype(np.float32)
    return Match(s.themes[rows], semantic, cosine, s.keywords[rows], recency, volume)


__all__ = ["KINDS", "Match", "ProfileIndex", "Scores", "is_theme", "key_terms", "match", "semantic_scores"]
