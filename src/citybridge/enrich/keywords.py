"""Key phrases of a text: a fast built-in extractor, YAKE! when asked for.

The built-in method ("fast") takes runs of content words between stopwords and punctuation (as RAKE does),
counts their 1-3 word phrases and words by stem, and scores a phrase by its frequency, the frequency of its
words in the text, its length, capitalisation and how early it appears. Measured on 500 SciFact
abstracts (``benchmarks/speed_enrich.py``) it handles ~670/s against yake's ~55/s, and on a proxy of quality
(share of a SciFact claim's content words among its abstract's top-10 keywords) scores 0.32 against 0.26;
so "fast" is the default and "yake" an option (needs the ``yake`` package, LGPL, not a core dependency).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from citybridge.enrich.stopwords import stopwords
from citybridge.search.analysis import STEMMERS

_TOKEN = re.compile(r"(?P<w>[^\W_](?:[\w'’\-]*[^\W_])?)|(?P<p>[.,;:!?()\[\]{}\"“”«»|/=+<>…]|\s[-–—]\s)")
_YAKE_LANGS = {"en", "es", "pt", "fr", "de", "it", "nl"}
METHODS = ("fast", "yake")


@dataclass(frozen=True, slots=True)
class Keyword:
    """A key phrase and its score in 0-1 (1 for the text's best phrase)."""

    phrase: str
    score: float


@lru_cache(maxsize=16)
def _stemmer(lang: str) -> Any:
    try:
        import Stemmer  # PyStemmer, optional
    except ImportError:
        return None
    return Stemmer.Stemmer(STEMMERS.get(lang, "english"))


def _stem_fn(lang: str) -> Any:
    stemmer = _stemmer(lang)
    if stemmer is not None:
        return stemmer.stemWord
    return lambda w: w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith("ss") else w


def extract_keywords(
    texts: Sequence[str | None],
    langs: Sequence[str | None] | None = None,
    *,
    top_n: int = 10,
    max_words: int = 3,
    method: str = "fast",
    max_chars: int = 50_000,
) -> list[list[Keyword]]:
    """Key phrases of each text, best first, without near-duplicates ("city" and "cities" count once).

    Args:
        texts: the texts; ``None`` or empty ones give no keywords.
        langs: ISO 639-1 code per text (from :func:`detect_languages`); picks stopwords and stemmer.
            ``None`` or unknown codes use English stopwords.
        top_n: most phrases returned per text.
        max_words: longest phrase, in words.
        method: ``"fast"`` (built in) or ``"yake"``.
        max_chars: only the first ``max_chars`` characters are read.

    Example:
        >>> text = "Urban heat islands raise night temperatures. Green roofs cool urban heat islands."
        >>> kws = extract_keywords([text], ["en"])[0]
        ...                         "islands."], ["en"])[0]
        >>> kws[0].phrase
        'urban heat islands'
    """
    if method not in METHODS:
        raise ValueError(f"unknown keyword method '{method}' (one of: {', '.join(METHODS)})")
    lang_list = list(langs) if langs is not None else [None] * len(texts)
    if len(lang_list) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(lang_list)} languages")
    out: list[list[Keyword]] = []
    for text, lang in zip(texts, lang_list, strict=True):
        if not isinstance(text, str) or not text.strip():
            out.append([])
            continue
        code = (lang or "en").lower()[:2]
        body = text[:max_chars]
        if method == "yake":
            out.append(_yake(body, code, top_n, max_words))
        else:
            out.append(_fast(body, code, top_n, max_words))
    return out


@lru_cache(maxsize=64)
def _content_stems(lang: str) -> dict[str, str | None]:
    """Per language: lower-cased word -> its stem, or None when it is not a content word. Filled lazily."""
    return {}


def _fast(text: str, lang: str, top_n: int, max_words: int) -> list[Keyword]:
    stop = stopwords(lang)
    stem = _stem_fn(lang)
    content = _content_stems(lang)
    if len(content) > 200_000:  # bound the memory a stream of new words can take
        content.clear()
    runs: list[list[tuple[str, str, bool]]] = []  # (surface, stem, capitalised mid-sentence)
    run: list[tuple[str, str, bool]] = []
    sentence_start = True
    for word, punct in _TOKEN.findall(text):  # (word, "") or ("", punctuation): no Match objects
        if not word:
            if run:
                runs.append(run)
                run = []
            sentence_start = punct in ".!?…"
            continue
        lower = word.lower()
        if lower in content:
            st = content[lower]
        else:
            skip = lower in stop or len(lower) < 2 or not any(c.isalpha() for c in lower) or lower.isdigit()
            st = content[lower] = None if skip else stem(lower)
        if st is None:
            if run:
                runs.append(run)
                run = []
        else:
            cap = not sentence_start and word[0].isupper()
            run.append((word, st, cap or (word.isupper() and len(word) > 1)))
        sentence_start = False
    if run:
        runs.append(run)
    if not runs:
        return []

    word_tf: dict[str, int] = {}
    capital: dict[str, int] = {}
    for r in runs:
        for _, st, cap in r:
            word_tf[st] = word_tf.get(st, 0) + 1
            capital[st] = capital.get(st, 0) + cap
    phrase_tf: dict[tuple[str, ...], int] = {}
    first: dict[tuple[str, ...], tuple[int, int, int]] = {}  # key -> (position, run, offset)
    position = 0
    for ri, r in enumerate(runs):
        stems = [st for _, st, _ in r]
        size = len(r)
        for i in range(size):
            for n in range(1, min(max_words, size - i) + 1):
                key = tuple(stems[i : i + n])
                if key in phrase_tf:
                    phrase_tf[key] += 1
                else:
                    phrase_tf[key] = 1
                    first[key] = (position, ri, i)
            position += 1
    total = max(position, 1)

    # a phrase that only ever occurs inside one longer phrase is a fragment of it ("tensor" in
    # "diffusion tensor"): drop it in favour of the longer one
    fragments: set[tuple[str, ...]] = set()
    for key, tf in phrase_tf.items():
        if len(key) > 1 and tf >= 2:
            for part in (key[:-1], key[1:]):
                if phrase_tf.get(part) == tf:
                    fragments.add(part)

    weights = {st: math.log2(1 + tf) * (1.3 if capital[st] * 2 >= tf else 1.0) for st, tf in word_tf.items()}
    scored: list[tuple[float, tuple[str, ...]]] = []
    early_before = 0.15 * total
    for key, tf in phrase_tf.items():
        n = len(key)
        pos, ri, i = first[key]
        if n == 1:
            if len(runs[ri][i][0]) < 3 or key in fragments:
                continue
            early = pos < early_before
            mean_w = weights[key[0]]
        else:
            if key in fragments:
                continue
            early = pos < early_before
            if tf == 1 and not early and not all(capital[st] for st in key) and any(word_tf[st] < 2 for st in key):
                continue  # a one-off run of one-off words is a chance sequence, not a term
            mean_w = sum(weights[st] for st in key) / n
        scored.append((tf**0.8 * mean_w * (1 + 0.35 * (n - 1)) * (1.2 if early else 1.0), key))
    scored.sort(key=lambda t: (-t[0], t[1]))
    chosen: list[tuple[float, tuple[str, ...], frozenset[str]]] = []
    for score, key in scored:
        kset = frozenset(key)
        # "heat" after "urban heat islands", "white matter growth" after "white matter": subset or
        # Jaccard overlap of stems >= 0.5
        if any(kset <= k or len(kset & k) * 2 >= len(kset | k) for _, _, k in chosen):
            continue
        chosen.append((score, key, kset))
        if len(chosen) >= top_n:
            break
    if not chosen:
        return []
    best = chosen[0][0]
    out = []
    for score, key, _ in chosen:
        _, ri, i = first[key]
        words = runs[ri][i : i + len(key)]
        surface = " ".join(
            w if w.isupper() or (cap and w[:1].isupper()) else w.lower() for w, _, cap in words
        )
        out.append(Keyword(surface, round(score / best, 4)))
    return out


@lru_cache(maxsize=32)
def _yake_extractor(lang: str, top_n: int, max_words: int) -> Any:
    try:
        import yake
    except ImportError as exc:
        from citybridge.errors import Unavailable

        raise Unavailable("method 'yake' needs the 'yake' package (pip install yake)") from exc
    return yake.KeywordExtractor(
        lan=lang if lang in _YAKE_LANGS else "en", n=max_words, top=top_n, dedup_lim=0.7
    )


def _yake(text: str, lang: str, top_n: int, max_words: int) -> list[Keyword]:
    pairs = _yake_extractor(lang, top_n, max_words).extract_keywords(text)
    if not pairs:
        return []
    # yake: lower is better; map to 0-1 with the best phrase at 1
    best = float(pairs[0][1]) or 1e-12
    return [Keyword(p.strip(" .,;:"), round(min(1.0, best / max(float(s), 1e-12)), 4)) for p, s in pairs]
