"""Language of free text, including texts that mix languages.

Uses py3langid (a Naive Bayes byte n-gram model, 0.7 s to load, ~1,600 abstracts/s on one core).
lingua-language-detector was measured as the alternative: 13 s to load its models, ~260 abstracts/s,
96 MB installed; py3langid was chosen for bulk runs (see ``benchmarks/README.md``).
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())

UNDETERMINED = "und"

#: Languages tried for short texts (titles, names), where the full model's ~200 languages give noise
#: such as 'kik' for "Smart city": widely written languages only.
SHORT_TEXT_LANGUAGES: frozenset[str] = _words(
    "en es pt fr de it nl ca gl eu sv da no nb nn fi is pl cs sk sl hr sr bs hu ro bg el ru uk be lt lv et "
    "tr ar he fa ur hi bn ta te mr gu pa zh ja ko th vi id ms tl sw af sq mk ka hy az kk uz mn ne si km lo "
    "my am ga cy mt lb"
)

_SENTENCE_END = re.compile(
    r"(?<=[.!?。！？])\s+(?=[\"'“‘(\[¿¡]?[A-ZÀ-ÖØ-ÞĀ-Ž\u0370-\u03ff\u0400-\u04ff\d])|\n\s*\n|\n"
)
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True, slots=True)
class LangSegment:
    """A stretch of the text (character offsets) in one language."""

    start: int
    end: int
    lang: str
    confidence: float


@dataclass(frozen=True, slots=True)
class LangResult:
    """Language of one text.

    ``lang`` is the ISO 639-1 code (or 639-3 where there is none) of the main language, ``"und"`` when the
    text is empty or too short to tell. ``shares`` gives each language found and its share of the text's
    letters, largest first; a text in one language has one share of 1.0. ``segments`` are the spans behind
    the shares (sentences or paragraphs, adjacent ones of one language merged).
    """

    lang: str
    confidence: float
    shares: tuple[tuple[str, float], ...] = ()
    segments: tuple[LangSegment, ...] = field(default=(), repr=False)

    @property
    def languages(self) -> list[str]:
        """Every language found, main one first."""
        return [lang for lang, _ in self.shares]

    @property
    def is_mixed(self) -> bool:
        return len(self.shares) > 1


@lru_cache(maxsize=1)
def _identifier() -> Any:
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError as exc:  # pragma: no cover - py3langid is a core dependency
        from citybridge.errors import Unavailable

        raise Unavailable("language detection needs the 'py3langid' package (pip install py3langid)") from exc
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@lru_cache(maxsize=2)
def _walk_tables(ident: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray] | None:
    """py3langid's byte automaton as numpy arrays (next state, row offsets, feature per state), the depth of
    its deepest state and its feature weights as float32 (what its float16 table is cast to for every dot
    product anyway: casting once saves that per sentence); None if the identifier does not have that shape
    (then the plain walk is used)."""
    try:
        nm = np.frombuffer(ident.tk_nextmove, dtype=np.uint32) if isinstance(ident.tk_nextmove, array) else None
        rowbase = np.asarray(ident._rowbase, dtype=np.int64)
        out = np.asarray(ident.tk_output, dtype=np.int64)
        _ = ident.nb_ptc, ident.nb_pc, ident._norm_probs, ident.nb_classes
    except (AttributeError, TypeError, ValueError):
        return None
    if nm is None or out.ndim != 1 or len(out) != len(rowbase):
        return None
    # breadth-first from the root: a state's depth is the length of the shortest input reaching it
    seen = np.zeros(len(rowbase), dtype=bool)
    seen[0] = True
    frontier = np.zeros(1, dtype=np.int64)
    depth = 0
    letters = np.arange(256, dtype=np.int64)
    while True:
        nxt = [np.unique(nm[(rowbase[frontier[i:i + 2048]][:, None] + letters).ravel()])
               for i in range(0, len(frontier), 2048)]
        new = np.unique(np.concatenate(nxt)).astype(np.int64)
        new = new[~seen[new]]
        if not len(new):
            break
        seen[new] = True
        frontier = new
        depth += 1
    table = np.asarray(ident.nb_ptc)
    return nm, rowbase, out, max(depth, 1), table.astype(np.float32) if table.dtype == np.float16 else table


def _classify_short(ident: Any, text: str) -> tuple[str, float]:
    ranked = [(lang, p) for lang, p in ident.rank(text) if lang in SHORT_TEXT_LANGUAGES]
    total = sum(p for _, p in ranked) or 1.0
    lang, p = ranked[0]
    return lang, p / total


_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))


def _letters(text: str) -> int:
    if text.isascii():  # the common case, counted in C without building a list of matches
        data = text.encode("ascii")
        return len(data) - len(data.translate(None, _ASCII_LETTERS))
    return len(_LETTER.findall(text))


def _sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def detect_language(text: str | None, **kwargs: Any) -> LangResult:
    """Language of one text; see :func:`detect_languages`."""
    return detect_languages([text], **kwargs)[0]


def detect_languages(
    texts: Sequence[str | None],
    *,
    min_letters: int = 12,
    min_confidence: float = 0.3,
    segment_letters: int = 40,
    min_share: float = 0.15,
    max_chars: int = 100_000,
) -> list[LangResult]:
    """Detect the language(s) of each text.

    Each text is classified whole, then sentence by sentence (paragraphs count as sentences) when it is long
    enough: a sentence whose language differs from the whole text's with high confidence becomes a segment of
    another language, and every language covering at least ``min_share`` of the letters is reported.

    Args:
        texts: the texts; ``None`` or empty entries give ``lang="und"``.
        min_letters: texts with fewer letters are ``"und"``.
        min_confidence: below this the main language is ``"und"``.
        segment_letters: sentences shorter than this are not classified on their own (they join the
            language of their neighbours).
        min_share: smallest share of the text for a second language to be reported.
        max_chars: only the first ``max_chars`` characters are read (enough to tell; keeps huge inputs cheap).

    Returns:
        One :class:`LangResult` per text, in order.

    Example:
        >>> r = detect_languages(["The city approved a new mobility plan for its central districts."])[0]
        >>> r.lang, r.shares[0][0]
        ('en', 'en')
    """
    scorer = _Scorer(_identifier())
    clipped = [raw[:max_chars] if isinstance(raw, str) else "" for raw in texts]
    letters = [_letters(text) for text in clipped]
    # the sentences of every long text, scored by one automaton walk per ~250,000 characters instead of one per text
    # (each text's scores are the same numbers: raw_many keeps texts apart)
    spans: dict[int, list[tuple[int, int]]] = {}
    for k, (text, n) in enumerate(zip(clipped, letters, strict=True)):
        if n >= 60:
            spans[k] = _sentences(text) or [(0, len(text))]
    raws: dict[int, list[tuple[Any, int]]] = {}
    if scorer.fast and spans:
        pieces = [(k, clipped[k][a:b]) for k, sp in spans.items() for a, b in sp]
        scored: list[tuple[Any, int]] = []
        lo = 0
        while lo < len(pieces):
            hi, size = lo, 0
            while hi < len(pieces) and (hi == lo or size + len(pieces[hi][1]) <= _WALK_CHARS):
                size += len(pieces[hi][1])
                hi += 1
            scored.extend(scorer.raw_many([p for _k, p in pieces[lo:hi]]))
            lo = hi
        for (k, _p), r in zip(pieces, scored, strict=True):
            raws.setdefault(k, []).append(r)
    out: list[LangResult] = []
    for k, (text, n_letters) in enumerate(zip(clipped, letters, strict=True)):
        if n_letters < min_letters:
            out.append(LangResult(UNDETERMINED, 0.0))
            continue
        if n_letters < 60:
            lang, conf = _classify_short(scorer.ident, text)
            result = LangResult(lang, conf, ((lang, 1.0),), (LangSegment(0, len(text), lang, conf),))
        else:
            result = _classify_long(scorer, text, segment_letters, min_share, spans[k], raws.get(k))
        if result.confidence < min_confidence:
            result = LangResult(UNDETERMINED, result.confidence)
        out.append(result)
    return out


_WALK_CHARS = 250_000  # characters of sentences per numpy automaton walk (its arrays take ~50 bytes a byte)


class _Scorer:
    """Raw Naive Bayes scores per sentence, summed for the whole text, so every byte is read once.

    Relies on two py3langid internals (``_encode``, ``_raw_score``, stable since 0.2); without them it falls
    back to the public ``classify`` on the whole text and on each sentence (about half the speed).
    """

    def __init__(self, ident: Any) -> None:
        self.ident = ident
        self.fast = hasattr(ident, "_raw_score") and hasattr(ident, "_encode") and hasattr(ident, "nb_pc")

    def raw(self, text: str) -> tuple[Any, int]:
        data = self.ident._encode(text)
        return self.ident._raw_score(data), len(data)

    def raw_many(self, texts: list[str]) -> list[tuple[Any, int]]:
        """:meth:`raw` of each text, bit for bit, with the byte-by-byte automaton walk done by numpy for all
        texts at once (the walk is most of py3langid's time: a Python loop over every byte)."""
        tables = _walk_tables(self.ident)
        if tables is None:
            return [self.raw(t) for t in texts]
        nm, rowbase, out, depth, table = tables
        datas = [self.ident._encode(t) for t in texts]
        lens = np.fromiter(map(len, datas), dtype=np.int64, count=len(datas))
        buf = np.frombuffer(b"".join(datas), dtype=np.uint8).astype(np.int64)
        # The automaton's state after a byte is the longest suffix of the input read so far that is a node of
        # its trie, and no node is deeper than ``depth``: so it is the state reached from the root over the
        # last ``depth`` bytes of the same text. Walk all those windows together, one byte offset at a time.
        starts = np.repeat(np.cumsum(lens) - lens, lens)
        pos = np.arange(len(buf), dtype=np.int64)
        state = np.zeros(len(buf), dtype=np.int64)
        for back in range(depth - 1, -1, -1):
            j = pos - back
            inside = j >= starts
            moved = nm[rowbase[state] + buf[np.maximum(j, 0)]]
            state = np.where(inside, moved, state)
        feats = out[state]
        ident = self.ident
        # count each (text, feature) pair once for all texts; ordering the pairs by their first position groups
        # them by text and, within a text, in order of first occurrence (py3langid's Counter order), so each
        # text's dot product below adds the same numbers in the same order as py3langid does
        text_of = np.repeat(np.arange(len(datas), dtype=np.int64), lens)
        keep = feats >= 0
        n_feats = len(table)
        keys = text_of[keep] * n_feats + feats[keep]
        uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        weights = np.log1p(np.bincount(inverse, minlength=len(uniq))[order].astype(np.float32))
        uniq = uniq[order]
        bounds = np.searchsorted(uniq // n_feats, np.arange(len(datas) + 1), side="left").tolist()
        feature = (uniq % n_feats).astype(np.intp)
        result = []
        for i, n in enumerate(lens.tolist()):
            lo, hi = bounds[i], bounds[i + 1]
            if lo == hi:  # as py3langid: no features at all
                fill = 0.0 if ident._norm_probs else float(np.finfo(np.float32).min)
                result.append((np.full(len(ident.nb_classes), fill, dtype=np.float32), n))
            else:
                result.append((weights[lo:hi] @ table[feature[lo:hi]] + ident.nb_pc, n))
        return result

    def probs(self, raw: Any, nbytes: int) -> tuple[str, float]:
        ident = self.ident
        scores = raw * (1.0 / math.sqrt(nbytes or 1))
        scores = np.exp(scores - scores.max())
        scores /= scores.sum()
        for i, j in ident._alias_pairs:
            scores[i] += scores[j]
            scores[j] = 0.0
        best = int(scores.argmax())
        return ident.nb_classes[best], float(scores[best])


def _classify_long(scorer: _Scorer, text: str, segment_letters: int, min_share: float,
                   spans: list[tuple[int, int]] | None = None,
                   raws: list[tuple[Any, int]] | None = None) -> LangResult:
    """``spans``: the text's sentences, if already split; ``raws``: their :meth:`_Scorer.raw_many`, if scored."""
    spans = spans or _sentences(text) or [(0, len(text))]
    per_sentence: list[tuple[int, int, int, str | None, float]] = []  # start, end, letters, lang, conf
    if scorer.fast:
        if raws is None:
            raws = scorer.raw_many([text[a:b] for a, b in spans])
        whole = sum(r for r, _ in raws) - (len(raws) - 1) * scorer.ident.nb_pc  # the prior once
        lang, conf = scorer.probs(whole, sum(n for _, n in raws))
        for (a, b), (r, n) in zip(spans, raws, strict=True):
            letters = _letters(text[a:b])
            cand = scorer.probs(r, n) if letters >= segment_letters and len(spans) > 1 else (None, 0.0)
            per_sentence.append((a, b, letters, *cand))
    else:
        lang, conf = scorer.ident.classify(text)
        for a, b in spans:
            letters = _letters(text[a:b])
            alone = letters >= segment_letters and len(spans) > 1
            cand = scorer.ident.classify(text[a:b]) if alone else (None, 0.0)
            per_sentence.append((a, b, letters, cand[0], float(cand[1])))
    return _merge(per_sentence, lang, float(conf), min_share)


def _merge(
    per_sentence: list[tuple[int, int, int, str | None, float]], lang: str, conf: float, min_share: float
) -> LangResult:
    labelled: list[tuple[int, int, str, float, int]] = []
    for start, end, n, cand, p in per_sentence:
        # a sentence "switches" only on strong evidence: one-off technical words otherwise read as Latin
        if cand is not None and cand != lang and p >= 0.9:
            labelled.append((start, end, cand, p, n))
        else:
            labelled.append((start, end, lang, conf, n))
    letters: dict[str, int] = {}
    for *_, seg_lang, _c, n in labelled:
        letters[seg_lang] = letters.get(seg_lang, 0) + n
    total = sum(letters.values()) or 1
    kept = {k for k, v in letters.items() if v / total >= min_share} or {lang}
    segments: list[LangSegment] = []
    for start, end, seg_lang, seg_conf, _n in labelled:
        if seg_lang not in kept:
            seg_lang, seg_conf = lang, conf
        if segments and segments[-1].lang == seg_lang:
            prev = segments[-1]
            segments[-1] = LangSegment(prev.start, end, seg_lang, min(prev.confidence, seg_conf))
        else:
            segments.append(LangSegment(start, end, seg_lang, seg_conf))
    shares: dict[str, int] = {}
    for *_, seg_lang, _c, n in labelled:
        key = seg_lang if seg_lang in kept else lang
        shares[key] = shares.get(key, 0) + n
    ordered = sorted(((k, round(v / total, 3)) for k, v in shares.items()), key=lambda kv: -kv[1])
    main = ordered[0][0]
    main_conf = conf if main == lang else min(s.confidence for s in segments if s.lang == main)
    return LangResult(main, main_conf, tuple(ordered), tuple(segments))
