"""Many Aurora-syntax queries evaluated together on one text, skipping the ones that cannot match.

The SDG tagger runs ~1,600 queries (Aurora lines, goal keywords, pathway keywords) on every text, and most
cannot match most texts. A :class:`QuerySet` compiles them once:

- every pattern word of every query gets an id; a text's distinct tokens are mapped to the pattern words they
  match (exact word or simple plural, ``*`` wildcards) through a dictionary cached across texts, which gives
  the token positions of every pattern word in one pass instead of one lookup per query and word;
- every query gets *trigger* words, a set of which at least one must occur in any text the query matches
  (all words of a phrase are needed, so one is enough; ``OR`` needs one of its branches; ``AND`` and
  ``W/n`` need each operand, so the operand with the fewest triggers is enough; ``AND NOT`` needs its left
  side). Only queries with a trigger in the text are evaluated, with the same code as :meth:`Query.match`.

So the result is exactly that of running every query: :meth:`QuerySet.matches` lists the same queries
and spans as ``[(i, q.spans(doc)) for i, q in enumerate(queries) if q.spans(doc)]``.

Example::

    >>> qs = QuerySet([parse_query('"drinking water"'), parse_query('"flood*" W/3 "urban"')])
    >>> doc = TokenizedText("Urban floods and safe drinking water.")
    >>> [(i, [doc.text[s:e] for s, e in spans]) for i, spans in qs.matches(doc)]
    [(0, ['drinking water']), (1, ['Urban floods'])]
"""

from __future__ import annotations

from collections.abc import Sequence

from citybridge.enrich.aurora import Query, TokenizedText, _plural_variants, _wildcard_regex, char_spans

__all__ = ["QuerySet"]

_EMPTY: list[int] = []
MAX_TOKEN_CACHE = 500_000


class QuerySet:
    """A compiled list of queries (see the module docstring)."""

    def __init__(self, queries: Sequence[Query]) -> None:
        self.queries: tuple[Query, ...] = tuple(queries)
        self.words: list[str] = []
        ids: dict[str, int] = {}
        for q in self.queries:
            for word in _words(q):
                if word not in ids:
                    ids[word] = len(self.words)
                    self.words.append(word)
        self._exact: dict[str, int] = {}
        self._tail: dict[str, list[int]] = {}  # "women*": prefix "women"
        self._general: list[tuple[str, object, int]] = []  # other wildcards: (literal prefix, regex, id)
        for word, wid in ids.items():
            if "*" not in word:
                self._exact[word] = wid
            elif word.endswith("*") and word.count("*") == 1:
                self._tail.setdefault(word[:-1], []).append(wid)
            else:
                self._general.append((word.split("*", 1)[0], _wildcard_regex(word), wid))
        self._tail_lengths = sorted({len(p) for p in self._tail})
        self._triggered_by: list[list[int]] = [[] for _ in self.words]
        for qi, q in enumerate(self.queries):
            for wid in _triggers(q, ids):
                self._triggered_by[wid].append(qi)
        self._ids = ids
        self._token_cache: dict[str, tuple[int, ...]] = {}

    def word_ids(self, token: str) -> tuple[int, ...]:
        """Ids of the pattern words that match a (folded) token, as :meth:`TokenizedText.positions` would."""
        got = self._token_cache.get(token)
        if got is not None:
            return got
        found: list[int] = []
        exact = self._exact
        candidates = [token]
        if token.endswith("s"):
            candidates.append(token[:-1])
            if token.endswith("es"):
                candidates.append(token[:-2])
                if token.endswith("ies"):
                    candidates.append(token[:-3] + "y")
        for cand in candidates:
            wid = exact.get(cand)
            if wid is not None and token in _plural_variants(cand):
                found.append(wid)
        for n in self._tail_lengths:
            if n > len(token):
                break
            found.extend(self._tail.get(token[:n], ()))
        for prefix, rx, wid in self._general:
            if token.startswith(prefix) and rx.match(token):  # type: ignore[attr-defined]
                found.append(wid)
        result = tuple(sorted(set(found)))
        if len(self._token_cache) > MAX_TOKEN_CACHE:
            self._token_cache.clear()
        self._token_cache[token] = result
        return result

    def positions(self, doc: TokenizedText) -> dict[str, list[int]]:
        """Sorted token positions of every pattern word that occurs in ``doc`` (absent words are left out)."""
        by_id: dict[int, list[int]] = {}
        multi: set[int] = set()
        word_ids = self.word_ids
        for token, where in doc.word_positions.items():
            for wid in word_ids(token):
                got = by_id.get(wid)
                if got is None:
                    by_id[wid] = where
                else:
                    if wid not in multi:
                        got = by_id[wid] = list(got)  # never extend the document's own lists
                        multi.add(wid)
                    got.extend(where)
        for wid in multi:
            by_id[wid].sort()
        words = self.words
        return {words[wid]: pos for wid, pos in by_id.items()}

    def candidates(self, table: dict[str, list[int]]) -> list[int]:
        """Indexes of the queries that may match a text whose pattern-word positions are ``table``."""
        found: set[int] = set()
        for word in table:
            found.update(self._triggered_by[self._ids[word]])
        return sorted(found)

    def matches(self, doc: TokenizedText, *, prefilter: bool = True) -> list[tuple[int, list[tuple[int, int]]]]:
        """``(query index, character spans)`` of every query that matches ``doc``, in query order.

        ``prefilter=False`` evaluates every query (for testing that the prefilter drops none that match).
        """
        if not doc.tokens:
            return []
        table = self.positions(doc)
        lookup = table.get

        def positions(word: str) -> list[int]:
            return lookup(word, _EMPTY)

        order = self.candidates(table) if prefilter else range(len(self.queries))
        out = []
        for qi in order:
            matched = self.queries[qi].match_positions(positions)
            if matched:
                out.append((qi, char_spans(doc, matched)))
        return out


def _words(q: Query) -> list[str]:
    if q.op == "phrase":
        return list(q.words)
    return [w for arg in q.args for w in _words(arg)]


def _triggers(q: Query, ids: dict[str, int]) -> frozenset[int]:
    """Pattern words at least one of which occurs in every text ``q`` matches."""
    if q.op == "phrase":
        if not q.words:
            return frozenset()
        # any word of a phrase is required: take the one likely rarest (no wildcard, longest)
        best = max(q.words, key=lambda w: ("*" not in w, len(w.split("*", 1)[0]), len(w)))
        return frozenset((ids[best],))
    if q.op == "or":
        return frozenset().union(*(_triggers(a, ids) for a in q.args))
    if q.op == "andnot":
        return _triggers(q.args[0], ids)
    # "and", "w", "pre": every operand is required, so the triggers of any one of them will do
    return min((_triggers(a, ids) for a in q.args), key=len)
