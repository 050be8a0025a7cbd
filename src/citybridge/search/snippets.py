"""Snippets: the best-matching passage of a document with highlight offsets for the query terms."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from citybridge.enrich.chunking import chunk_text
from citybridge.search.analysis import get_analyzer
from citybridge.search.query import parse_query


@dataclass(frozen=True)
class Snippet:
    """``text == source[start:end]``; ``highlights`` are ``(start, end)`` offsets into the *source*."""

    start: int
    end: int
    text: str
    highlights: list[tuple[int, int]] = field(default_factory=list)

    def marked(self, before: str = "<mark>", after: str = "</mark>") -> str:
        """The snippet text with highlights wrapped (no HTML escaping: do that in the web layer)."""
        out, pos = [], self.start
        for s, e in self.highlights:
            out += [
                self.text[pos - self.start : s - self.start],
                before,
                self.text[s - self.start : e - self.start],
                after,
            ]
            pos = e
        out.append(self.text[pos - self.start :])
        return "".join(out)


def snippet(
    text: str,
    query: str,
    *,
    lang: str = "en",
    max_chars: int = 240,
    term_weights: Mapping[str, float] | None = None,
    langs: Iterable[str] | None = None,
) -> Snippet:
    """The passage of ``text`` (at most ``max_chars``) that best matches ``query``, with highlights.

    Passages are scored by the summed weight of the *distinct* query terms they contain (default weight 1,
    pass e.g. idf values as ``term_weights``), plus a small bonus for repeats; ties go to the earlier one.
    """
    analyzers = [get_analyzer(x) for x in (langs or [lang])]
    parsed = parse_query(query)
    words = [w.text for w in parsed.words] + [w for p in parsed.phrases for w in p.split()]
    terms: set[str] = set()
    prefixes = [w.text.lower() for w in parsed.words if w.prefix]
    for an in analyzers:
        terms.update(t for w in words for t in an.terms(w))
    passages = chunk_text(text, max_chars=max_chars, overlap=max_chars // 4) if text else []
    if not passages:
        return Snippet(0, 0, "")
    best, best_score, best_hl = passages[0], -1.0, []
    an = analyzers[0]
    for p in passages:
        hl, seen, repeats = [], set(), 0
        for tok in an.tokens(p.text):
            raw = p.text[tok.start : tok.end].lower()
            if tok.term in terms or any(raw.startswith(x) for x in prefixes):
                hl.append((p.start + tok.start, p.start + tok.end))
                repeats += tok.term in seen
                seen.add(tok.term)
        score = sum((term_weights or {}).get(t, 1.0) for t in seen) + 0.1 * repeats
        if score > best_score:
            best, best_score, best_hl = p, score, hl
    return Snippet(best.start, best.end, best.text, best_hl)
