"""The knowledge the SDG tagger matches against, built from packaged texts only.

- Aurora SDG queries v5 (English boolean queries, one set per goal and target);
- the UN goal/target/indicator texts in the languages of the packaged table;
- the hand-written multilingual keywords of :mod:`citybridge.enrich.sdg_keywords`.

From these, per language: a TF-IDF profile of every goal and target (:class:`LexicalProfiles`) and, when
wordllama is installed, static embeddings of every goal/target/indicator sentence (:class:`SemanticProfiles`).
Everything is built lazily on first use and cached for the life of the process.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from citybridge.enrich.aurora import Query, TokenizedText, parse_query
from citybridge.enrich.sdg_keywords import SDG_KEYWORDS
from citybridge.enrich.wordllama_pool import ChunkedEncoder, chunked_encoder
from citybridge.errors import Unavailable
from citybridge.model.taxonomy import sdg_nodes, sdg_texts

GOALS: tuple[str, ...] = tuple(str(g) for g in range(1, 18))
AURORA_FILE = "aurora-sdg-queries-v5.json.gz"

# Snowball stemmers of PyStemmer by ISO 639-1 code; other languages are matched unstemmed.
_STEMMERS = {
    "en": "english", "es": "spanish", "fr": "french", "pt": "portuguese", "de": "german", "it": "italian",
    "nl": "dutch", "ca": "catalan", "ro": "romanian", "ru": "russian", "tr": "turkish", "nb": "norwegian",
    "da": "danish", "sv": "swedish", "fi": "finnish", "hy": "armenian", "ar": "arabic",
}
# Languages without UN texts in the packaged table borrow a close one for their goal profiles.
_TEXT_FALLBACK = {"pt": "es", "gl": "es", "oc": "fr", "lb": "de"}


@dataclass(frozen=True)
class AuroraQuery:
    goal: str
    target: str
    source: str
    query: Query


@lru_cache(maxsize=1)
def aurora_data() -> dict[str, Any]:
    """The packaged Aurora v5 query definitions (see ``enrich/data/sdg/SOURCES.md``)."""
    raw = resources.files("citybridge.enrich").joinpath("data", "sdg", AURORA_FILE).read_bytes()
    data: dict[str, Any] = json.loads(gzip.decompress(raw))
    return data


@lru_cache(maxsize=8)
def aurora_queries(exclude: frozenset[str] = frozenset()) -> tuple[AuroraQuery, ...]:
    """Every Aurora query line, parsed once (but those of the targets in ``exclude``)."""
    targets = {n.code for n in sdg_nodes() if n.level == "target"}
    out = []
    for goal, spec in sorted(aurora_data()["goals"].items(), key=lambda kv: int(kv[0])):
        for item in spec["queries"]:
            # a few queries name a goal-wide pseudo target ('13.0'): count them for the goal only
            target = item["target"] if item["target"] in targets else goal
            if target not in exclude:
                out.append(AuroraQuery(goal, target, item["query"], parse_query(item["query"])))
    return tuple(out)


@lru_cache(maxsize=1)
def text_languages() -> frozenset[str]:
    """Languages with UN goal texts in the packaged table."""
    return frozenset(r["lang"] for r in sdg_texts())


def profile_language(lang: str) -> str:
    """The language whose knowledge texts are used for a text in ``lang``."""
    if lang in text_languages():
        return lang
    fallback = _TEXT_FALLBACK.get(lang)
    return fallback if fallback in text_languages() else "en"


def stemmer_for(lang: str) -> Any:
    """A PyStemmer stemmer for ``lang`` or None (no stemming)."""
    name = _STEMMERS.get(lang)
    if name is None:
        return None
    return _stemmer(name)


@lru_cache(maxsize=32)
def _stemmer(name: str) -> Any:
    try:
        import Stemmer  # PyStemmer
    except ImportError:  # stemming is an improvement, not a requirement
        return None
    return Stemmer.Stemmer(name)


# Scripts written without spaces between words (Han, kana, Thai, Lao, Khmer, Myanmar): a "token" of the
# tokenizer is a whole clause there, so such runs are indexed as overlapping character bigrams instead.
_UNSPACED = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]+")


def segments(token: str) -> list[str]:
    """Index terms of one token: the token itself, or the character bigrams of its unspaced-script runs."""
    if token.isascii() or not _UNSPACED.search(token):
        return [token]
    out: list[str] = []
    for part in re.split(f"({_UNSPACED.pattern})", token):
        if not part:
            continue
        if _UNSPACED.fullmatch(part):
            out.extend([part] if len(part) == 1 else [part[k:k + 2] for k in range(len(part) - 1)])
        else:
            out.append(part)
    return out


def stems(doc: TokenizedText, lang: str) -> list[str]:
    """The stemmed (folded) index terms of a document (see :func:`segments`)."""
    stemmer = stemmer_for(lang)
    words = [seg for tok in doc.tokens for seg in segments(tok)]
    return list(stemmer.stemWords(words)) if stemmer is not None else words


@lru_cache(maxsize=32)
def _stem_cache(lang: str) -> dict[str, str]:
    return {}


def stem_table(doc: TokenizedText, lang: str) -> dict[str, tuple[int, int]]:
    """Each distinct stem of a document: (number of tokens, position of the first token). Stems each distinct
    token once, which is what :func:`stems` would give token by token."""
    words = doc.word_positions
    stemmer = stemmer_for(lang)
    if stemmer is None:
        stemmed = list(words)
    else:
        cache = _stem_cache(lang)
        missing = [w for w in words if w not in cache]
        if missing:
            if len(cache) > 200_000:
                cache.clear()
            cache.update(zip(missing, stemmer.stemWords(missing), strict=True))
        stemmed = list(map(cache.__getitem__, words))
    out: dict[str, tuple[int, int]] = {}
    for where, word_stem in zip(words.values(), stemmed, strict=True):
        # an ASCII stem is its own only segment (see segments): skip the call for the common case
        for st in (word_stem,) if word_stem.isascii() else segments(word_stem):
            got = out.get(st)
            out[st] = (len(where), where[0]) if got is None else (got[0] + len(where), min(got[1], where[0]))
    return out


def _knowledge_texts(lang: str, exclude: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """Texts describing each goal or target code ('6', '6.1'), in one language; the targets in ``exclude``
    (their UN texts, indicators and Aurora queries) are left out, to evaluate on unseen targets."""
    src = profile_language(lang)
    texts: dict[str, list[str]] = defaultdict(list)
    for row in sdg_texts():
        if row["lang"] != src:
            continue
        code = row["code"]
        if row["level"] == "indicator":  # '6.1.1' describes target '6.1'
            code = ".".join(code.split(".")[:2])
        if code not in exclude:
            texts[code].append(row["text"])
    if src == "en" or lang == "en":
        for goal, spec in aurora_data()["goals"].items():
            texts[goal].append(spec["description"])
        for q in aurora_queries(exclude):
            words = " ".join(" ".join(w.strip("*") for w in _phrases(q.query)).split())
            texts[q.target].append(words)
    for goal, by_lang in SDG_KEYWORDS.items():
        for kw_lang in {lang, src}:
            texts[goal].append(" ".join(p.replace("*", "") for p in by_lang.get(kw_lang, ())))
    return texts


def _phrases(query: Query) -> list[str]:
    if query.op == "phrase":
        return list(query.words)
    if query.op == "andnot":  # negated parts say what the goal is *not* about
        return _phrases(query.args[0])
    return [w for arg in query.args for w in _phrases(arg)]


class LexicalProfiles:
    """TF-IDF profiles of the goals (rows 0..16) and targets of one language."""

    def __init__(self, lang: str, exclude: frozenset[str] = frozenset()) -> None:
        self.lang = lang
        texts = _knowledge_texts(lang, exclude)
        goal_counts = {g: Counter() for g in GOALS}
        target_counts: dict[str, Counter[str]] = {}
        for code, parts in texts.items():
            goal = code.split(".")[0]
            if goal not in goal_counts:
                continue
            counts: Counter[str] = Counter()
            for part in parts:
                counts.update(stems(TokenizedText(part), lang))
            goal_counts[goal].update(counts)
            if "." in code:
                target_counts[code] = counts
        self.terms: list[str] = sorted({w for c in goal_counts.values() for w in c})
        self.vocab: dict[str, int] = {w: i for i, w in enumerate(self.terms)}
        tf = np.zeros((len(GOALS), len(self.vocab)), dtype=np.float32)
        for row, goal in enumerate(GOALS):
            for w, n in goal_counts[goal].items():
                tf[row, self.vocab[w]] = n
        df = (tf > 0).sum(axis=0)
        # A stem known to every goal says nothing about any of them (idf 0): no stopword lists needed.
        self.idf = np.log(len(GOALS) / np.maximum(df, 1)).astype(np.float32)
        self.goal_weights = _row_normalise(tf * self.idf)
        self.target_codes = sorted(target_counts, key=code_key)
        ttf = np.zeros((len(self.target_codes), len(self.vocab)), dtype=np.float32)
        for row, code in enumerate(self.target_codes):
            for w, n in target_counts[code].items():
                ttf[row, self.vocab[w]] = n
        self.target_weights = _row_normalise(ttf * self.idf)

    def sparse_query_vector(self, table: dict[str, tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """The normalised TF-IDF vector (raw term counts, as the profiles) of a :func:`stem_table`, sparse:
        (ascending term indexes, their nonzero weights)."""
        vocab = self.vocab
        pairs = sorted((i, n) for st, (n, _) in table.items() if (i := vocab.get(st)) is not None)
        idx = np.fromiter((i for i, _ in pairs), dtype=np.intp, count=len(pairs))
        vec = np.fromiter((n for _, n in pairs), dtype=np.float32, count=len(pairs))
        vec *= self.idf[idx]
        norm = float(np.linalg.norm(vec))
        return idx, (vec / norm if norm > 0 else vec)


def _row_normalise(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms > 0, norms, 1.0)


def code_key(code: str) -> tuple[int, int, str]:
    """Sort key of goal/target codes: '6' < '6.1' < '6.10' < '6.a'."""
    goal, _, sub = code.partition(".")
    return (int(goal), int(sub) if sub.isdigit() else 100, sub)


@lru_cache(maxsize=16)
def lexical_profiles(lang: str, exclude: frozenset[str] = frozenset()) -> LexicalProfiles:
    """Cached :class:`LexicalProfiles` for the knowledge language of ``lang`` (without the ``exclude``
    targets)."""
    return LexicalProfiles(lang, exclude)


# --- static embeddings (optional) -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def wordllama_model() -> Any:
    """The bundled wordllama model, loaded offline. Raises :class:`Unavailable` when not installed."""
    try:
        from citybridge.enrich.wordllama_pool import import_wordllama

        wordllama = import_wordllama()
        from wordllama import WordLlama
    except ImportError as exc:
        raise Unavailable("wordllama is not installed: pip install wordllama (semantic SDG scores)") from exc
    # The default cache path misses the tokenizer bundled in the package: point at the package itself.
    return WordLlama.load(cache_dir=os.path.dirname(wordllama.__file__), disable_download=True)


@lru_cache(maxsize=1)
def _encoder() -> ChunkedEncoder | None:
    return chunked_encoder(wordllama_model())


def embed(texts: list[str]) -> np.ndarray:
    """L2-normalised wordllama embeddings (float32, one row per text).

    Same values as ``WordLlama.embed(texts, norm=True)`` up to float rounding, computed by
    :mod:`citybridge.enrich.wordllama_pool` (about 5x faster on abstracts).
    """
    encoder = _encoder()
    if encoder is None:
        return np.asarray(wordllama_model().embed(texts, norm=True), dtype=np.float32)
    return encoder.embed(list(texts))


class SemanticProfiles:
    """Embeddings of every knowledge sentence of one language, grouped by goal."""

    TOP_K = 5  # a goal's similarity = mean of its 5 closest sentences (robust to one lucky match)

    def __init__(self, lang: str, exclude: frozenset[str] = frozenset()) -> None:
        texts = _knowledge_texts(lang, exclude)
        sentences: list[str] = []
        goals: list[int] = []
        for code, parts in sorted(texts.items()):
            for part in parts:
                if part.strip():
                    sentences.append(part)
                    goals.append(int(code.split(".")[0]) - 1)
        self.matrix = embed(sentences)
        self.goal_of = np.asarray(goals)
        # Goals differ in how similar *unrelated* text looks to them (broad goals have many, varied
        # sentences). Calibrate each goal on the knowledge sentences of the other goals: similarity is
        # reported in standard deviations above that background. Uses no labelled data.
        background = self._raw(self.matrix)
        others = self.goal_of[:, None] != np.arange(len(GOALS))[None, :]
        self.mean = np.array([background[others[:, g], g].mean() for g in range(len(GOALS))], np.float32)
        self.std = np.array([background[others[:, g], g].std() for g in range(len(GOALS))], np.float32)

    def _raw(self, vectors: np.ndarray) -> np.ndarray:
        sims = vectors @ self.matrix.T
        out = np.zeros((vectors.shape[0], len(GOALS)), dtype=np.float32)
        for g in range(len(GOALS)):
            cols = sims[:, self.goal_of == g]
            k = min(self.TOP_K, cols.shape[1])
            out[:, g] = -np.partition(-cols, k - 1, axis=1)[:, :k].mean(axis=1)
        return out

    def goal_similarity(self, vectors: np.ndarray) -> np.ndarray:
        """(n_texts, 17): mean of the top-k cosine similarities to each goal's sentences, calibrated."""
        return (self._raw(vectors) - self.mean) / np.maximum(self.std, 1e-6)


@lru_cache(maxsize=16)
def semantic_profiles(lang: str, exclude: frozenset[str] = frozenset()) -> SemanticProfiles:
    """Cached :class:`SemanticProfiles` for the knowledge language of ``lang`` (without the ``exclude``
    targets)."""
    return SemanticProfiles(lang, exclude)
