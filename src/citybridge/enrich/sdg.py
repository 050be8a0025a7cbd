"""SDG and pathway tagging: which SDGs (and targets), urban pathways and user themes a text addresses.

Each goal gets four signals, all computed from packaged knowledge (see ``enrich/data/sdg/SOURCES.md``):

- ``lexical``: TF-IDF cosine between the text and the goal's UN goal/target/indicator texts, Aurora query
  terms and keywords, in the text's language (stemmed, accents folded);
- ``semantic``: wordllama static-embedding similarity to the goal's sentences (skipped when wordllama is
  missing);
- ``aurora``: number of Aurora v5 query lines of the goal that match (log-scaled);
- ``keywords``: number of distinct multilingual goal keywords found (log-scaled).

A logistic combination of these signals (and of how far the goal stands out from the text's other goals)
gives a 0..1 score; a goal is tagged when its score reaches 0.5. The weights are global, fitted on the
development half of the SDG benchmark, one set per group of languages with the same signals (see
:mod:`citybridge.enrich.sdg_model`). Targets are tagged under a tagged goal when an Aurora query of that
target matched. Pathways and user taxonomies are tagged from their keywords, names and labels, with the
embedding similarity to their description as support.

Example::

    >>> from citybridge.enrich.sdg import tag_texts
    >>> labels = tag_texts(["Flash floods overwhelm urban drainage as climate change intensifies rainfall."])
    >>> sorted(lb.code for lb in labels[0] if lb.scheme == "sdg" and "." not in lb.code)
    ['11', '13']
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import numpy as np

from citybridge.enrich.aurora import Query, TokenizedText, parse_query
from citybridge.enrich.query_set import QuerySet
from citybridge.enrich.sdg_keywords import SDG_KEYWORDS
from citybridge.enrich.sdg_knowledge import (
    GOALS,
    LexicalProfiles,
    aurora_queries,
    code_key,
    embed,
    lexical_profiles,
    semantic_profiles,
    stem_table,
    wordllama_model,
)
from citybridge.enrich.sdg_model import FEATURES, SDG_MODELS, THRESHOLD, goal_scores, model_for, model_signals
from citybridge.errors import Unavailable
from citybridge.model.taxonomy import PATHWAYS, SDG_SCHEME

__all__ = ["SDG_MODELS", "Evidence", "Label", "Tagger", "TaxonomyNodeLike", "detect_language", "tag_texts"]

MAX_CHARS = 50_000  # longer texts are tagged on their first 50,000 characters (chunk documents first)
MAX_EVIDENCE = 6
_SUPPORTED_DETECT = ("en", "es", "fr", "pt", "de", "it", "nl", "ca", "ro", "ru", "tr", "ar", "zh", "uk",
                     "cs", "kk", "nb", "sw", "hy", "ky", "km", "lo", "my", "ne", "tg", "tk")
VERSION = "sdg-tagger/2 aurora-v5 un-texts kw-1"


@dataclass(frozen=True)
class Evidence:
    """Why a label was given: a quoted span of the text (``text == source[start:end]``) and its origin."""

    text: str
    start: int
    end: int
    kind: str  # "aurora" (a query line matched), "keyword", "term" (a weighted profile term)
    detail: str = ""  # the query line, keyword pattern or target code


@dataclass(frozen=True)
class Label:
    """One tag of a text: ``scheme`` ("sdg", "pathway" or a user scheme), ``code`` ("11", "11.6",
    "low-emission"), ``score`` in 0..1 and the evidence behind it."""

    scheme: str
    code: str
    score: float
    evidence: tuple[Evidence, ...] = field(default=())


class TaxonomyNodeLike(Protocol):
    """What the tagger needs of a taxonomy node (``citybridge.model.taxonomy.TaxonomyNode`` fits)."""

    scheme: str
    code: str
    name: str
    labels: dict[str, str]
    description: str | None
    keywords: tuple[str, ...]


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language (py3langid), ``"en"`` when unsure or unavailable."""
    if len(text.strip()) < 3:
        return "en"
    try:
        import py3langid
    except ImportError:
        return "en"
    lang, _ = py3langid.classify(text[:2000])
    return str(lang) if lang in _SUPPORTED_DETECT else "en"


Span = tuple[int, int]


@dataclass(frozen=True)
class _AuroraHit:
    target: str
    query: str
    spans: list[Span]


@dataclass
class _DocAnalysis:
    """What matched in one text, kept to quote as evidence."""

    stems: dict[str, tuple[int, int]]  # stem -> (count, first token position)
    aurora: dict[str, list[_AuroraHit]]  # by goal
    keywords: dict[str, list[tuple[str, list[Span]]]]  # by goal: (pattern, spans)
    nodes: dict[int, list[tuple[str, list[Span]]]]  # by node matcher: (pattern, spans)
    profiles: LexicalProfiles
    term_idx: np.ndarray  # the text's profile terms (ascending) and their TF-IDF weights
    term_weights: np.ndarray

    def terms(self, g: int) -> list[tuple[float, str]]:
        """The goal's strongest (share of cosine, stem) profile terms in the text, at most 4."""
        contrib = self.profiles.goal_weights[g, self.term_idx] * self.term_weights
        top = np.argsort(-contrib, kind="stable")[:4]  # ties: first term of the vocabulary first
        return [(float(contrib[j]), self.profiles.terms[self.term_idx[j]]) for j in top if contrib[j] > 0.02]


@dataclass(frozen=True)
class _NodeMatcher:
    node: TaxonomyNodeLike
    patterns: tuple[tuple[str, Query], ...]
    description: str


class Tagger:
    """Multi-label SDG / pathway / user-theme tagger. Knowledge loads lazily on first use and is cached.

    Args:
        nodes: extra taxonomy nodes to tag (any objects with scheme, code, name, labels, description,
            keywords); the five pathways are always included unless ``pathways=False``.
        use_embeddings: use wordllama similarity (default: when installed).
        targets: also tag SDG targets with specific evidence.
        holdout: SDG target codes whose texts and queries are left out of the knowledge (for evaluating on
            unseen targets, e.g. ``benchmarks/eval_sdg.py``'s multilingual check); empty in normal use.

    Example::

        >>> tagger = Tagger()
        >>> [[lb.code for lb in labels if lb.scheme == "sdg"] for labels in tagger.tag(["..."])]
        [[]]
    """

    def __init__(self, nodes: Iterable[TaxonomyNodeLike] = (), *, pathways: bool = True,
                 use_embeddings: bool | None = None, targets: bool = True,
                 holdout: Iterable[str] = ()) -> None:
        self._extra = tuple(nodes)
        self._exclude = frozenset(holdout)
        self._pathways = pathways
        self._use_embeddings = use_embeddings
        self._targets = targets

    @cached_property
    def embeddings(self) -> bool:
        """Whether the semantic signal is on."""
        if self._use_embeddings is False:
            return False
        try:
            wordllama_model()
        except Unavailable:
            if self._use_embeddings:
                raise
            return False
        return True

    @property
    def version(self) -> str:
        """Identifies the knowledge and weights, e.g. to know when stored tags need recomputing."""
        digest = hashlib.sha1(json.dumps(SDG_MODELS, sort_keys=True).encode()).hexdigest()[:8]
        return (f"{VERSION} {'wordllama' if self.embeddings else 'lexical'} w={digest} "
                f"nodes={len(self._matchers)}")

    @cached_property
    def _matchers(self) -> tuple[_NodeMatcher, ...]:
        nodes = (PATHWAYS if self._pathways else ()) + self._extra
        return tuple(_node_matcher(n) for n in nodes)

    @cached_property
    def _goal_keywords(self) -> dict[str, tuple[tuple[str, Query], ...]]:
        return {
            goal: tuple((p, parse_query(_as_phrase(p))) for lang in by_lang.values() for p in lang)
            for goal, by_lang in SDG_KEYWORDS.items()
        }

    @cached_property
    def _query_set(self) -> tuple[QuerySet, list[tuple[str, int, str, str]]]:
        """Every query the tagger runs, compiled together, and what each one is: ("aurora", -, goal, query
        index), ("keyword", -, goal, pattern) or ("node", matcher index, -, pattern)."""
        queries: list[Query] = []
        meta: list[tuple[str, int, str, str]] = []
        for k, q in enumerate(aurora_queries(self._exclude)):
            queries.append(q.query)
            meta.append(("aurora", k, q.goal, ""))
        for goal, patterns in self._goal_keywords.items():
            for pattern, query in patterns:
                queries.append(query)
                meta.append(("keyword", 0, goal, pattern))
        for k, m in enumerate(self._matchers):
            for pattern, query in m.patterns:
                queries.append(query)
                meta.append(("node", k, "", pattern))
        return QuerySet(queries), meta

    # --- public API ---------------------------------------------------------------------------------------

    def tag(self, texts: Sequence[str], *, lang: str | None = None, langs: Sequence[str] | None = None,
            vectors: np.ndarray | None = None) -> list[list[Label]]:
        """Labels of each text, best first. ``lang`` (ISO 639-1) skips language detection.

        Args:
            texts: the texts.
            lang: the language of all texts, if known; or ``langs``: one code per text (e.g. from
                :func:`citybridge.enrich.detect_languages`). Texts are detected one by one otherwise.
            vectors: the texts' wordllama embeddings, if already computed (``embed(texts)``, one row per
                text); saves embedding them again.

        Returns one list per input text; an empty or unrelated text gets an empty list.
        """
        texts, docs, langs_, vectors = self._prepare(texts, lang, langs, vectors)
        features, analyses = self._goal_features(docs, langs_, vectors)
        probs = self.goal_scores(features, langs=langs_)
        out: list[list[Label]] = []
        for i, (doc, found) in enumerate(zip(docs, analyses, strict=True)):
            labels: list[Label] = []
            for g, goal in enumerate(GOALS):
                if probs[i, g] < THRESHOLD:
                    continue
                score = float(probs[i, g])
                labels.append(Label(SDG_SCHEME, goal, round(score, 4), _evidence(doc, found, g)))
                if self._targets:
                    labels.extend(_target_labels(doc, goal, score, found.aurora.get(goal, [])))
            labels.extend(self._node_labels(doc, found, None if vectors is None else vectors[i]))
            labels.sort(key=lambda lb: (-lb.score, lb.scheme, lb.code))
            out.append(labels)
        return out

    def features(self, texts: Sequence[str], *, lang: str | None = None, langs: Sequence[str] | None = None,
                 vectors: np.ndarray | None = None) -> np.ndarray:
        """The raw goal features, shape (n_texts, 17, 4) in :data:`FEATURES` order (for tuning)."""
        texts, docs, langs_, vectors = self._prepare(texts, lang, langs, vectors)
        return self._goal_features(docs, langs_, vectors)[0]

    def goal_scores(self, features: np.ndarray, weights: dict[str, float] | None = None, *,
                    langs: Sequence[str] | None = None) -> np.ndarray:
        """0..1 goal scores (n_texts, 17) from :meth:`features`: with ``weights`` if given, else with the
        shipped weight set of each text's language (``langs``, default English)."""
        if weights is not None:
            return goal_scores(features, weights)
        models = [self.model_for(lang) for lang in (langs if langs is not None else ["en"] * len(features))]
        out = np.zeros(features.shape[:2], dtype=np.float64)
        for model in set(models):
            rows = [i for i, m in enumerate(models) if m == model]
            out[rows] = goal_scores(features[rows], SDG_MODELS[model])
        return out

    def model_for(self, lang: str) -> str:
        """The weight set (a key of :data:`SDG_MODELS`) that scores a text in ``lang``."""
        return model_for(lang, self.embeddings)

    # --- internals ----------------------------------------------------------------------------------------

    def _prepare(self, texts: Sequence[str], lang: str | None, langs: Sequence[str] | None,
                 vectors: np.ndarray | None) -> tuple[list[str], list[TokenizedText], list[str], np.ndarray | None]:
        texts = [t if isinstance(t, str) else "" for t in texts]
        if langs is not None and len(langs) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(langs)} languages")
        if lang:
            langs_ = [lang] * len(texts)
        elif langs is not None:
            # as detect_language: languages the knowledge does not cover are read as English
            langs_ = [(code if code in _SUPPORTED_DETECT else "en") if code else detect_language(t)
                      for t, code in zip(texts, langs, strict=True)]
        else:
            langs_ = [detect_language(t) for t in texts]
        docs = [TokenizedText(t[:MAX_CHARS]) for t in texts]
        if not self.embeddings or not docs:
            vectors = None
        elif vectors is None:
            vectors = self._embed_docs(docs)
        elif vectors.shape[0] != len(docs):
            raise ValueError(f"{len(docs)} texts but {vectors.shape[0]} vectors")
        return texts, docs, langs_, vectors

    def _goal_features(self, docs: list[TokenizedText], langs: list[str],
                       vectors: np.ndarray | None) -> tuple[np.ndarray, list[_DocAnalysis]]:
        feats = np.zeros((len(docs), len(GOALS), len(FEATURES)), dtype=np.float32)
        analyses: list[_DocAnalysis] = []
        query_set, meta = self._query_set
        sources = aurora_queries(self._exclude)
        goal_row = {goal: g for g, goal in enumerate(GOALS)}
        for i, (doc, lang) in enumerate(zip(docs, langs, strict=True)):
            profiles = lexical_profiles(lang, self._exclude)
            table = stem_table(doc, lang)
            idx, weights = profiles.sparse_query_vector(table)
            if idx.size:  # each stem's share of the cosine, summed
                feats[i, :, 0] = (profiles.goal_weights[:, idx] * weights).sum(axis=1)
            aurora: dict[str, list[_AuroraHit]] = {}
            keywords: dict[str, list[tuple[str, list[Span]]]] = {}
            nodes: dict[int, list[tuple[str, list[Span]]]] = {}
            for qi, spans in query_set.matches(doc):
                kind, k, goal, pattern = meta[qi]
                if kind == "aurora":
                    q = sources[k]
                    aurora.setdefault(goal, []).append(_AuroraHit(q.target, q.source, spans))
                elif kind == "keyword":
                    keywords.setdefault(goal, []).append((pattern, spans))
                else:
                    nodes.setdefault(k, []).append((pattern, spans))
            for goal, hits in aurora.items():
                feats[i, goal_row[goal], 2] = math.log1p(len(hits))
            for goal, found in keywords.items():
                feats[i, goal_row[goal], 3] = math.log1p(len({p for p, _ in found}))
            analyses.append(_DocAnalysis(table, aurora, keywords, nodes, profiles, idx, weights))
        if vectors is not None:
            by_lang: dict[str, list[int]] = {}
            for i, lang in enumerate(langs):
                by_lang.setdefault(lang, []).append(i)
            for lang, rows in by_lang.items():
                if "semantic" not in model_signals(self.model_for(lang)):
                    continue  # wordllama is an English model: other languages are scored without it
                feats[rows, :, 1] = semantic_profiles(lang, self._exclude).goal_similarity(vectors[rows])
        return feats, analyses

    def _embed_docs(self, docs: list[TokenizedText]) -> np.ndarray:
        return embed([d.text if d.tokens else " " for d in docs])

    def _node_labels(self, doc: TokenizedText, analysis: _DocAnalysis, vector: np.ndarray | None) -> list[Label]:
        if not self._matchers or not doc.tokens or not analysis.nodes:
            return []
        sims = None
        if vector is not None:
            sims = _node_description_vectors(self._matchers) @ vector
        labels = []
        for k, m in enumerate(self._matchers):
            found = analysis.nodes.get(k)
            if not found:
                continue
            # One keyword: 0.5; each further distinct keyword halves the remaining doubt. Similarity to the
            # node's description adds up to one keyword's worth (untuned: no labelled data for these schemes).
            strength = float(len(found))
            if sims is not None:
                strength += float(np.clip((sims[k] - 0.25) / 0.25, 0.0, 1.0))
            score = 1.0 - 0.5**strength
            evidence = tuple(
                Evidence(doc.text[s:e], s, e, "keyword", p) for p, spans in found for s, e in spans[:1]
            )[:MAX_EVIDENCE]
            labels.append(Label(m.node.scheme, m.node.code, round(score, 4), evidence))
        return labels


def _as_phrase(pattern: str) -> str:
    return '"' + pattern.replace('"', " ") + '"'


def _node_matcher(node: TaxonomyNodeLike) -> _NodeMatcher:
    terms: list[str] = list(getattr(node, "keywords", ()) or ())
    labels = getattr(node, "labels", {}) or {}
    terms.extend(labels.values())
    if getattr(node, "name", None):
        terms.append(node.name)
    seen: set[str] = set()
    patterns = []
    for term in terms:
        key = " ".join(term.casefold().split())
        if not key or key in seen or not re.search(r"\w", key):
            continue
        seen.add(key)
        patterns.append((term, parse_query(_as_phrase(term))))
    description = " ".join(filter(None, [node.name, node.description or "", ", ".join(node.keywords or ())]))
    return _NodeMatcher(node, tuple(patterns), description)


_node_vector_cache: dict[tuple[str, ...], np.ndarray] = {}


def _node_description_vectors(matchers: tuple[_NodeMatcher, ...]) -> np.ndarray:
    key = tuple(m.description for m in matchers)
    if key not in _node_vector_cache:
        _node_vector_cache[key] = embed(list(key))
    return _node_vector_cache[key]


def _evidence(doc: TokenizedText, found: _DocAnalysis, g: int) -> tuple[Evidence, ...]:
    goal = GOALS[g]
    out: list[Evidence] = []
    seen: set[Span] = set()

    def add(start: int, end: int, kind: str, detail: str) -> None:
        if (start, end) not in seen and len(out) < MAX_EVIDENCE:
            seen.add((start, end))
            out.append(Evidence(doc.text[start:end], start, end, kind, detail))

    for hit in found.aurora.get(goal, []):
        add(*hit.spans[0], "aurora", f"{hit.target}: {hit.query}")
    for pattern, spans in found.keywords.get(goal, []):
        add(*spans[0], "keyword", pattern)
    if len(out) < MAX_EVIDENCE:
        for _, stem in found.terms(g):  # the first occurrence of each of the goal's strongest profile terms
            idx = found.stems[stem][1]
            add(doc.starts[idx], doc.ends[idx], "term", stem)
    return tuple(out)


def _target_labels(doc: TokenizedText, goal: str, goal_score: float, hits: list[_AuroraHit]) -> list[Label]:
    by_target: dict[str, list[Evidence]] = {}
    for hit in hits:
        if "." in hit.target:
            s, e = hit.spans[0]
            by_target.setdefault(hit.target, []).append(Evidence(doc.text[s:e], s, e, "aurora", hit.query))
    # A target inherits the goal's score, discounted until several of its queries agree.
    return [
        Label(SDG_SCHEME, target, round(goal_score * (1.0 - 0.5 ** (len(ev) + 1)), 4),
              tuple(ev[:MAX_EVIDENCE]))
        for target, ev in sorted(by_target.items(), key=lambda kv: code_key(kv[0]))
    ]


_default_tagger: Tagger | None = None


def tag_texts(texts: list[str], *, lang: str | None = None,
              nodes: Sequence[TaxonomyNodeLike] = ()) -> list[list[Label]]:
    """Tag a batch of texts with SDGs (goals and targets), pathways and optional user taxonomy ``nodes``.

    Side-effect free: the knowledge is loaded once per process and shared.

    Args:
        texts: the texts, any language (detected per text unless ``lang`` is given).
        lang: ISO 639-1 code of all the texts, if known.
        nodes: user taxonomy nodes (``TaxonomyNode``-like: scheme, code, name, labels, description, keywords).

    Returns:
        One list of :class:`Label` per text, best first.

    Example::

        >>> tag_texts(["Acceso al agua potable y saneamiento en barrios informales"], lang="es")[0][0].code
        '6'
    """
    global _default_tagger
    if nodes:
        return Tagger(nodes).tag(texts, lang=lang)
    if _default_tagger is None:
        _default_tagger = Tagger()
    return _default_tagger.tag(texts, lang=lang)
