"""Split long text into overlapping passages with exact character offsets.

Used to embed long documents passage by passage and to pick the best passage for a snippet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Prefer to cut after a sentence end, then after any whitespace.
_SENTENCE_END = re.compile(r"[.!?;:\n]\s+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Passage:
    """``text == source[start:end]``."""

    start: int
    end: int
    text: str


def _cut(text: str, lo: int, hi: int) -> int:
    """Best cut point in ``(lo, hi]``: the last sentence end in the second half, else the last space."""
    if hi >= len(text):
        return len(text)
    window = text[lo:hi]
    half = len(window) // 2
    ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() > half]
    if ends:
        return lo + ends[-1]
    spaces = [m.end() for m in _SPACE.finditer(window) if m.end() > half]
    return lo + spaces[-1] if spaces else hi


def chunk_text(text: str, max_chars: int = 1000, overlap: int = 100) -> list[Passage]:
    """Split ``text`` into passages of at most ``max_chars`` characters overlapping by about ``overlap``.

    Cuts fall on sentence ends or whitespace where possible; offsets index into ``text``, so
    ``text[p.start:p.end] == p.text`` always. Leading/trailing whitespace of a passage is trimmed.

    Args:
        text: the source text.
        max_chars: longest passage (characters).
        overlap: characters shared by consecutive passages (must be < max_chars / 2).

    Returns:
        Passages in order; ``[]`` for blank text.

    >>> [p.text for p in chunk_text("One. Two. Three.", max_chars=10, overlap=0)]
    ['One. Two.', 'Three.']
    """
    if max_chars < 2:
        raise ValueError("max_chars must be at least 2")
    if not 0 <= overlap < max_chars // 2:
        raise ValueError("overlap must be >= 0 and < max_chars / 2")
    out: list[Passage] = []
    pos, n = 0, len(text)
    while pos < n:
        end = _cut(text, pos, pos + max_chars)
        s, e = pos, end
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append(Passage(s, e, text[s:e]))
        if end >= n:
            break
        nxt = end - overlap
        if overlap:
            m = _SPACE.search(text, nxt, end)  # start the overlap on a word boundary
            nxt = m.end() if m else nxt
        pos = max(nxt, pos + 1)
    return out


def chunk_tokens(text: str, max_tokens: int = 200, overlap: int = 20) -> list[Passage]:
    """Like :func:`chunk_text` but sized in whitespace-separated words (a proxy for model tokens)."""
    words = list(_WORD_SPAN.finditer(text))
    if not words:
        return []
    if not 0 <= overlap < max_tokens:
        raise ValueError("overlap must be >= 0 and < max_tokens")
    out, i = [], 0
    while i < len(words):
        j = min(i + max_tokens, len(words))
        s, e = words[i].start(), words[j - 1].end()
        out.append(Passage(s, e, text[s:e]))
        if j == len(words):
            break
        i = j - overlap
    return out


_WORD_SPAN = re.compile(r"\S+")
