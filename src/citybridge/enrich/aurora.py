"""A small evaluator for Scopus-style boolean queries, as used by the Aurora SDG query definitions.

Supported syntax (the subset the Aurora v5 queries use, plus PRE/n):

- ``"loose phrase"`` with ``*`` wildcards inside words (``"women*"``, ``"parenting plan*"``); a phrase
  matches its words in order, ignoring punctuation and case, accents folded, simple plurals included
  (Scopus' loose-phrase behaviour);
- ``OR``, ``W/n`` (within n words, either order), ``PRE/n`` (first precedes second by at most n words),
  ``AND``, ``AND NOT``, parentheses; a bare word is a one-word phrase, juxtaposed operands mean ``AND``.

Precedence follows Scopus, strongest first: ``OR``, ``W/n``/``PRE/n``, ``AND``, ``AND NOT``.

Evaluation works on a :class:`TokenizedText` and returns the matched spans as character offsets, so a
match can be quoted as evidence. Example::

    >>> q = parse_query('("drinking" W/3 "water") W/3 ("access*" OR "safe*")')
    >>> doc = TokenizedText("Safe drinking water for all.")
    >>> [doc.text[s:e] for s, e in q.spans(doc)]
    ['Safe drinking water']
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from citybridge.errors import Invalid

__all__ = ["Query", "QuerySyntaxError", "TokenizedText", "char_spans", "fold", "parse_query"]

_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r'\s*(?:(?P<phrase>"[^"]*")|(?P<lpar>\()|(?P<rpar>\))|(?P<word>[^\s()"]+))')
_PROX = re.compile(r"^(W|PRE)/(\d+)$", re.IGNORECASE)


class QuerySyntaxError(Invalid):
    """A query line that cannot be parsed."""


def fold(word: str) -> str:
    """Lower-case and strip accents: ``'Inundações'`` -> ``'inundacoes'``."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_FOLDED: dict[str, str] = {}


def _fold_token(word: str) -> str:
    got = _FOLDED.get(word)
    if got is None:
        if len(_FOLDED) > 200_000:  # bound the memory a stream of new words can take
            _FOLDED.clear()
        got = _FOLDED[word] = fold(word)
    return got


class TokenizedText:
    """A text split into folded word tokens with character offsets, indexed for fast term lookup."""

    __slots__ = ("text", "tokens", "starts", "ends", "_positions", "_prefix_cache", "_sorted")

    def __init__(self, text: str) -> None:
        self.text = text
        # ASCII text folds by lower-casing, which keeps offsets: one pass, no per-token Unicode work
        ascii_text = text.isascii()
        found = list(_WORD.finditer(text.lower() if ascii_text else text))
        if ascii_text:
            self.tokens: list[str] = [m.group() for m in found]
        else:
            cached = _FOLDED.get
            self.tokens = [cached(w) or _fold_token(w) for w in (m.group() for m in found)]
        self.starts: list[int] = [m.start() for m in found]
        self.ends: list[int] = [m.end() for m in found]
        positions: dict[str, list[int]] = {}
        for i, tok in enumerate(self.tokens):
            got = positions.get(tok)
            if got is None:
                positions[tok] = [i]
            else:
                got.append(i)
        self._positions = positions
        self._prefix_cache: dict[str, list[int]] = {}
        self._sorted: list[str] | None = None

    @property
    def word_positions(self) -> dict[str, list[int]]:
        """Each distinct token and its positions (ascending), in order of first occurrence. Do not modify."""
        return self._positions

    def __len__(self) -> int:
        return len(self.tokens)

    def positions(self, word: str) -> list[int]:
        """Token positions matching one pattern word (``*`` = any characters; plurals included)."""
        if "*" in word:
            cached = self._prefix_cache.get(word)
            if cached is None:
                cached = self._wildcard_positions(word)
                self._prefix_cache[word] = cached
            return cached
        found: list[int] = []
        for variant in _plural_variants(word):
            found.extend(self._positions.get(variant, ()))
        return sorted(found) if len(found) > 1 else found

    def _wildcard_positions(self, word: str) -> list[int]:
        if self._sorted is None:
            self._sorted = sorted(self._positions)
        # every candidate starts with the literal text before the first '*': bisect to that range
        prefix = word.split("*", 1)[0]
        tail_only = word.endswith("*") and word.count("*") == 1
        rx = None if tail_only else _wildcard_regex(word)
        found: list[int] = []
        for tok in self._sorted[bisect_left(self._sorted, prefix):]:
            if not tok.startswith(prefix):
                break
            if rx is None or rx.match(tok):
                found.extend(self._positions[tok])
        return sorted(found)

    def char_span(self, first: int, last: int) -> tuple[int, int]:
        """Character offsets of the token range ``first..last`` (inclusive)."""
        return self.starts[first], self.ends[last]


@lru_cache(maxsize=4096)
def _wildcard_regex(word: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(p) for p in word.split("*")) + "$")


def _plural_variants(word: str) -> tuple[str, ...]:
    variants = [word, word + "s", word + "es"]
    if word.endswith("y") and len(word) > 2:
        variants.append(word[:-1] + "ies")
    return tuple(variants)


# A match is a token range (first, last), inclusive.
Span = tuple[int, int]
# Matches kept per query node: enough to prove a match and quote it, and a bound on the work a
# hostile text (one word repeated 10,000 times) can cause.
MAX_SPANS = 200


@dataclass(frozen=True)
class Query:
    """A node of a parsed query: ``op`` is 'phrase', 'or', 'and', 'andnot', 'w' or 'pre'."""

    op: str
    words: tuple[str, ...] = ()
    args: tuple[Query, ...] = field(default=())
    distance: int = 0

    def match(self, doc: TokenizedText) -> list[Span]:
        """Token spans where the query matches (empty list: no match)."""
        return self.match_positions(doc.positions)

    def match_positions(self, positions: Callable[[str], list[int]]) -> list[Span]:
        """:meth:`match` given ``positions(word)``: the sorted token positions a pattern word matches (as
        :meth:`TokenizedText.positions`; :class:`citybridge.enrich.query_set.QuerySet` precomputes them)."""
        if self.op == "phrase":
            return _match_phrase(self.words, positions)
        if self.op == "or":
            found: set[Span] = set()
            for arg in self.args:
                found.update(arg.match_positions(positions))
            return sorted(found)[:MAX_SPANS]
        if self.op == "and":
            found = set()
            for arg in self.args:
                got = arg.match_positions(positions)
                if not got:
                    return []
                found.update(got)
            return sorted(found)[:MAX_SPANS]
        if self.op == "andnot":
            left = self.args[0].match_positions(positions)
            if not left or any(arg.match_positions(positions) for arg in self.args[1:]):
                return []
            return left
        # proximity, left-associative: (a W/n b) W/m c
        left = self.args[0].match_positions(positions)
        if not left:
            return []
        right = self.args[1].match_positions(positions)
        if not right:
            return []
        ordered = self.op == "pre"
        right = sorted(set(right))
        starts = [b[0] for b in right]
        longest = max(b[1] - b[0] for b in right)
        out: set[Span] = set()
        for a in sorted(set(left)):
            # only right spans starting within reach of a can be near it
            lo = bisect_left(starts, a[0] - self.distance - 1 - longest)
            hi = bisect_right(starts, a[1] + self.distance + 1)
            for b in right[lo:hi]:
                if b[0] > a[1]:
                    near = b[0] - a[1] - 1 <= self.distance
                elif a[0] > b[1]:
                    near = not ordered and a[0] - b[1] - 1 <= self.distance
                else:  # overlapping operands, e.g. "water" W/3 "water*"
                    near = True
                if near:
                    out.add((min(a[0], b[0]), max(a[1], b[1])))
            if len(out) >= MAX_SPANS:
                break
        return sorted(out)

    def spans(self, doc: TokenizedText) -> list[tuple[int, int]]:
        """Character spans of the match, sorted, adjacent words merged; empty when it does not match."""
        return char_spans(doc, self.match(doc))


def char_spans(doc: TokenizedText, matched: list[Span]) -> list[tuple[int, int]]:
    """Character spans of token spans ``matched``, sorted, overlapping or adjacent ones merged."""
    if not matched:
        return []
    token_spans = sorted(set(matched))
    merged: list[Span] = []
    for first, last in token_spans:
        if merged and first <= merged[-1][1] + 1:  # overlapping or adjacent words: one quote
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return [doc.char_span(f, la) for f, la in merged]


def _match_phrase(words: tuple[str, ...], positions: Callable[[str], list[int]]) -> list[Span]:
    if not words:
        return []
    first = positions(words[0])
    if len(words) == 1:
        return [(p, p) for p in first[:MAX_SPANS]]
    if not first:
        return []
    rest = [set(positions(w)) for w in words[1:]]
    return [(p, p + len(rest)) for p in first if all(p + i + 1 in s for i, s in enumerate(rest))][:MAX_SPANS]


def _phrase_words(raw: str) -> tuple[str, ...]:
    # Keep '*' as part of a word; every other non-word character separates words (as in the text).
    return tuple(w for w in (fold(part) for part in re.findall(r"[\w*]+", raw)) if w.strip("*"))


def parse_query(source: str) -> Query:
    """Parse one query line. Raises :class:`QuerySyntaxError` with the position of the problem."""
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    source = source.strip()
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if not m or m.end() == pos:
            raise QuerySyntaxError(f"cannot read query at character {pos}: {source[pos:pos + 20]!r}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
        while pos < len(source) and source[pos].isspace():
            pos += 1
    parser = _Parser(tokens, source)
    query = parser.parse_andnot()
    if parser.i != len(tokens):
        raise QuerySyntaxError(f"unexpected {tokens[parser.i][1]!r} at character {tokens[parser.i][2]}")
    return query


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]], source: str) -> None:
        self.tokens = tokens
        self.source = source
        self.i = 0

    def _peek(self, offset: int = 0) -> tuple[str, str, int] | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def _is_op(self, name: str, offset: int = 0) -> bool:
        tok = self._peek(offset)
        return tok is not None and tok[0] == "word" and tok[1].upper() == name

    def _prox(self) -> re.Match[str] | None:
        tok = self._peek()
        return _PROX.match(tok[1]) if tok is not None and tok[0] == "word" else None

    def _starts_operand(self) -> bool:
        tok = self._peek()
        if tok is None or tok[0] == "rpar":
            return False
        return not (tok[0] == "word" and (tok[1].upper() in {"AND", "OR"} or self._prox()))

    def parse_andnot(self) -> Query:
        left = self.parse_and()
        negated: list[Query] = []
        while self._is_op("AND") and self._is_op("NOT", 1):
            self.i += 2
            negated.append(self.parse_and())
        return Query("andnot", args=(left, *negated)) if negated else left

    def parse_and(self) -> Query:
        args = [self.parse_prox()]
        while True:
            if self._is_op("AND") and not self._is_op("NOT", 1):
                self.i += 1
            elif not self._starts_operand():
                break
            args.append(self.parse_prox())
        return args[0] if len(args) == 1 else Query("and", args=tuple(args))

    def parse_prox(self) -> Query:
        left = self.parse_or()
        while (m := self._prox()) is not None:
            self.i += 1
            right = self.parse_or()
            left = Query("pre" if m.group(1).upper() == "PRE" else "w", args=(left, right),
                         distance=int(m.group(2)))
        return left

    def parse_or(self) -> Query:
        args = [self.parse_atom()]
        while self._is_op("OR"):
            self.i += 1
            args.append(self.parse_atom())
        return args[0] if len(args) == 1 else Query("or", args=tuple(args))

    def parse_atom(self) -> Query:
        tok = self._peek()
        if tok is None:
            raise QuerySyntaxError("query ends where a term or '(' was expected")
        kind, value, where = tok
        self.i += 1
        if kind == "lpar":
            inner = self.parse_andnot()
            closing = self._peek()
            if closing is None or closing[0] != "rpar":
                raise QuerySyntaxError(f"missing ')' for '(' at character {where}")
            self.i += 1
            return inner
        if kind == "rpar":
            raise QuerySyntaxError(f"unexpected ')' at character {where}")
        if kind == "word" and (value.upper() in {"AND", "OR", "NOT"} or _PROX.match(value)):
            raise QuerySyntaxError(f"operator {value!r} at character {where} needs a term before it")
        words = _phrase_words(value.strip('"') if kind == "phrase" else value)
        if not words:
            raise QuerySyntaxError(f"empty term at character {where}")
        return Query("phrase", words=words)
