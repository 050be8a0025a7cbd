"""Text analysis for the lexical index: tokenise, lower-case, drop stopwords, stem, fold accents.

One :class:`Analyzer` per language. Stemming is Snowball (PyStemmer); stopwords are the Snowball/NLTK lists
shipped in ``search/data/stopwords.json``. The same analyzer must be used at index and query time; the
index manifest records the analyzer configuration so a change is detected as a stale index.

Order of operations (why): stemmers expect the original diacritics (Spanish ``canción`` and ``canciones``
only conflate before folding), so we stem the lower-cased word first and fold accents afterwards, which
lets ``cancion`` typed without an accent still match.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from citybridge.errors import Invalid

#: ISO 639-1 code -> Snowball algorithm name (PyStemmer).
STEMMERS: dict[str, str] = {
    "en": "english",
    "es": "spanish",
    "pt": "portuguese",
    "fr": "french",
    "de": "german",
    "it": "italian",
    "nl": "dutch",
    "da": "danish",
    "no": "norwegian",
    "sv": "swedish",
    "ru": "russian",
    "tr": "turkish",
    "fi": "finnish",
    "hu": "hungarian",
    "ro": "romanian",
    "ca": "catalan",
    "el": "greek",
}

#: Longest token kept (in characters); longer runs are usually hashes, URLs or garbage.
MAX_TOKEN_CHARS = 40

# A word: letters/digits, allowing inner apostrophes/hyphen-free; underscores are separators.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def fold_accents(text: str) -> str:
    """Strip combining marks: ``"São Paulo" -> "Sao Paulo"``, ``"straße"`` keeps ``ß`` folded to ``ss``."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ß", "ss")


@cache
def _stopwords(lang: str) -> frozenset[str]:
    data = json.loads(resources.files("citybridge.search").joinpath("data/stopwords.json").read_text("utf-8"))
    words = data["languages"].get(lang, [])
    return frozenset(words) | frozenset(fold_accents(w) for w in words)


@dataclass(frozen=True)
class Token:
    """An analysed term with the character span of the word it came from."""

    term: str
    start: int
    end: int


class Analyzer:
    """Tokeniser + stopwords + Snowball stemmer + accent folding for one language.

    Args:
        lang: ISO 639-1 code (``en``, ``es``, ``pt``, ``fr``, ``de``, ``it``, ``nl`` ...). Unknown codes
            fall back to no stemming and no stopwords (still tokenised, lower-cased and folded).
        stem: set False to keep whole words (useful for names).
        stopwords: set False to keep every word.

    >>> Analyzer("es").terms("Las ciudades sostenibles")
    ['ciudad', 'sosten']
    """

    def __init__(self, lang: str = "en", *, stem: bool = True, stopwords: bool = True) -> None:
        self.lang = lang
        algorithm = STEMMERS.get(lang) if stem else None
        self._stemmer = None
        if algorithm:
            import Stemmer  # PyStemmer, a core dependency; imported lazily to keep import time low

            self._stemmer = Stemmer.Stemmer(algorithm)
        self._stop = _stopwords(lang) if stopwords else frozenset()
        # Memoise word -> term: vocabularies are Zipfian, so a cache makes bulk analysis ~10x faster.
        self._cache: dict[str, str | None] = {}

    @property
    def config(self) -> dict[str, object]:
        """What an index must record to detect that it was built with a different analysis."""
        return {
            "lang": self.lang,
            "stem": self._stemmer is not None,
            "stopwords": bool(self._stop),
            "max_token_chars": MAX_TOKEN_CHARS,
            "version": 1,
        }

    def term(self, word: str) -> str | None:
        """Analyse one already-lower-cased word; None for a stopword or an over-long token."""
        cached = self._cache.get(word, "")
        if cached != "":
            return cached
        out: str | None
        if len(word) > MAX_TOKEN_CHARS or word in self._stop or fold_accents(word) in self._stop:
            out = None
        else:
            out = fold_accents(self._stemmer.stemWord(word) if self._stemmer is not None else word)
        if len(self._cache) < 2_000_000:
            self._cache[word] = out
        return out

    def words(self, text: str) -> list[str]:
        """Lower-cased words of ``text`` (before stopwords and stemming)."""
        return _WORD.findall(text.lower())

    def terms(self, text: str) -> list[str]:
        """Analysed terms of ``text`` in order (stopwords removed)."""
        out = []
        for w in _WORD.findall(text.lower()):
            t = self.term(w)
            if t is not None:
                out.append(t)
        return out

    def tokens(self, text: str) -> Iterator[Token]:
        """Analysed terms with the character offsets of their source words (for highlighting).

        Lower-casing can change a string's length (e.g. ``İ``), so we match on the original text and
        lower-case each word separately to keep offsets exact.
        """
        for m in _WORD.finditer(text):
            t = self.term(m.group().lower())
            if t is not None:
                yield Token(t, m.start(), m.end())


@lru_cache(maxsize=64)
def get_analyzer(lang: str = "en") -> Analyzer:
    """A shared analyzer for ``lang`` (analyzers are stateless apart from a memo cache)."""
    if not re.fullmatch(r"[a-z]{2,3}", lang or ""):
        raise Invalid(f"language code {lang!r} is not an ISO 639 code like 'en'", field="lang")
    return Analyzer(lang)


def supported_languages() -> list[str]:
    """Languages with both a Snowball stemmer and a stopword list."""
    data = json.loads(resources.files("citybridge.search").joinpath("data/stopwords.json").read_text("utf-8"))
    return sorted(set(STEMMERS) & set(data["languages"]))
