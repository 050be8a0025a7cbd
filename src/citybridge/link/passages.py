"""The passages of a record that link's search sections read, analysed once per record version and kept in
a bounded cache: the best-matching passage of a hit (the search's snippet: same passages, same scoring,
same highlights) and the adjacent term pairs of its text (``phrase_share``).

Cutting and analysing a record's text is what a search snippet costs (milliseconds for a long report); a
link call reads ~100 hits and the same reports come back for related challenges, so each record's passages
are analysed once (per version) and a snippet for any query is then a few set operations. The cache is
per process and bounded (``MAX_PASSAGES`` passages, ``MAX_PAIR_RECORDS`` records), oldest dropped first.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from typing import Any

from citybridge.enrich.chunking import chunk_text
from citybridge.search.analysis import get_analyzer
from citybridge.search.query import parse_query

#: what the search's snippets use (citybridge.search.service._best_snippet / search.snippets.snippet)
SNIPPET_CHARS = 240
SNIPPET_FIELDS = ("description", "body", "name")
SNIPPET_TEXT_LIMIT = 200_000
LEXICAL_LANGS = frozenset({"en", "es", "pt", "fr", "de", "it", "nl"})
MAX_PASSAGES = 60_000
MAX_PAIR_RECORDS = 5_000

_lock = threading.Lock()
_passages: OrderedDict[tuple[Any, ...], list[tuple[int, int, str, Counter[str]]]] = OrderedDict()
_n_passages = 0
_pairs: OrderedDict[tuple[Any, ...], frozenset[tuple[str, str]]] = OrderedDict()


def _version(rec: Any) -> Any:
    return getattr(rec, "updated_at", None)


def _analysed(key: tuple[Any, ...], text: str, lang: str) -> list[tuple[int, int, str, Counter[str]]]:
    """(start, end, text, term counts) of every passage of ``text``, as :func:`search.snippets.snippet` cuts
    them; cached under ``key``."""
    global _n_passages
    with _lock:
        hit = _passages.get(key)
        if hit is not None:
            _passages.move_to_end(key)
            return hit
    an = get_analyzer(lang)
    out = []
    for p in chunk_text(text, max_chars=SNIPPET_CHARS, overlap=SNIPPET_CHARS // 4) if text else []:
        # Analyzer.terms lower-cases the whole passage, tokens() each word: the same words when the text is ASCII
        terms = an.terms(p.text) if p.text.isascii() else [tok.term for tok in an.tokens(p.text)]
        out.append((p.start, p.end, p.text, Counter(terms)))
    with _lock:
        if key not in _passages:
            _passages[key] = out
            _n_passages += len(out)
            while _n_passages > MAX_PASSAGES and len(_passages) > 1:
                _k, old = _passages.popitem(last=False)
                _n_passages -= len(old)
    return out


def _query_terms(query: str, lang: str) -> tuple[set[str], list[str]]:
    parsed = parse_query(query)
    words = [w.text for w in parsed.words] + [w for p in parsed.phrases for w in p.split()]
    an = get_analyzer(lang)
    return {t for w in words for t in an.terms(w)}, [w.text.lower() for w in parsed.words if w.prefix]


def _snippet(key: tuple[Any, ...], text: str, query: str, lang: str) -> tuple[int, int, str, list[tuple[int, int]]]:
    """:func:`citybridge.search.snippets.snippet` of ``text`` for ``query`` (default weights), from the cached
    passages: (start, end, text, highlights in source offsets)."""
    from citybridge.search.snippets import snippet

    terms, prefixes = _query_terms(query, lang)
    if prefixes:  # prefix queries ("heat*") are rare in a challenge: the search's own function
        s = snippet(text, query, lang=lang)
        return s.start, s.end, s.text, list(s.highlights)
    passages = _analysed(key, text, lang)
    if not passages:
        return 0, 0, "", []
    best, best_score = passages[0], -1.0
    for p in passages:
        counts = p[3]
        seen = [t for t in terms if t in counts]
        repeats = sum(counts[t] for t in seen) - len(seen)
        score = sum(1.0 for _t in seen) + 0.1 * repeats
        if score > best_score:
            best, best_score = p, score
    start, end, ptext, _c = best
    hl = [(start + tok.start, start + tok.end) for tok in get_analyzer(lang).tokens(ptext) if tok.term in terms]
    return start, end, ptext, hl


def best_snippet(hub: Any, rec: Any, query: str) -> dict[str, Any]:
    """The search's snippet of a record for ``query`` (``citybridge.search.service._best_snippet``: the first of
    description, body and name whose best passage holds a query term, else the one with most highlights),
    as the dict a search hit carries; ``{}`` without a record."""
    if rec is None or not query:
        return {}
    fields = rec.text_fields()
    lang = rec.languages[0] if rec.languages and rec.languages[0] in LEXICAL_LANGS else "en"
    best = None
    for name in SNIPPET_FIELDS:
        text = fields.get(name)
        if not text:
            continue
        start, end, ptext, hl = _snippet((rec.id, _version(rec), name, lang, hash(text)), text[:SNIPPET_TEXT_LIMIT],
                                          query, lang)
        score = len(hl)
        if best is None or score > best[0]:
            best = (score, name, start, end, ptext, hl)
        if score and name != "name":
            break
    if best is None:
        return {}
    _score, name, start, end, ptext, hl = best
    return {"field": name, "start": start, "end": end, "text": ptext,
            "highlights": [[s - start, e - start] for s, e in hl]}


def phrase_pairs_of(text: str, key: tuple[Any, ...] | None = None) -> frozenset[tuple[str, str]]:
    """Adjacent pairs of English-analysed terms (longer than 2 characters) of ``text``, cached under ``key``."""
    if key is not None:
        with _lock:
            hit = _pairs.get(key)
            if hit is not None:
                _pairs.move_to_end(key)
                return hit
    terms = [t for t in get_analyzer("en").terms(text) if len(t) > 2]
    out = frozenset(zip(terms, terms[1:], strict=False))
    if key is not None:
        with _lock:
            _pairs[key] = out
            while len(_pairs) > MAX_PAIR_RECORDS:
                _pairs.popitem(last=False)
    return out


def record_pairs(rec: Any) -> frozenset[tuple[str, str]]:
    """:func:`phrase_pairs_of` a record's text fields (name, description, body), cached per record version."""
    if rec is None:
        return frozenset()
    text = " ".join(rec.text_fields().values())
    return phrase_pairs_of(text, (rec.id, _version(rec), hash(text)))


def clear() -> None:
    """Drop every cached passage (tests)."""
    global _n_passages
    with _lock:
        _passages.clear()
        _pairs.clear()
        _n_passages = 0


__all__ = ["best_snippet", "clear", "phrase_pairs_of", "record_pairs"]
