"""Free affiliation strings -> ranked ROR organisations, each with the features behind its score.

An affiliation string is split into segments ("Dept. of Civil Eng.", "Univ. of Porto", "Portugal"); the
trailing country (and US state / city) is read as context; each run of up to three segments is looked up
by exact normalised key, each segment by acronym and by its rarest tokens (an inverted index weighted by
inverse document frequency). Every organisation found this way is described by a fixed feature vector
(name similarities from rapidfuzz, coverage of the name and of the segment, which kind of name matched,
where in the string, country and city agreement, ROR type and status, parent/child relations to the other
candidates) that :mod:`citybridge.resolve.scoring` turns into a calibrated probability.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from citybridge.resolve.normalize import fold, looks_like_acronym, tokens
from citybridge.resolve.org_index import OrgIndex

_SPLIT = re.compile(r"\s*[,;]\s*|\s*\(\s*|\s*\)\s*|\s+[-–—]\s+|\s*/\s+")
_WORDS = re.compile(r"[\w&\-]+")
_POSTCODE = re.compile(r"^[\dA-Z\- ]{3,10}$")
#: more state / province abbreviations seen in addresses (the gazetteer has the US and Canadian ones)
_STATES = {"NSW": "AU", "QLD": "AU", "VIC": "AU", "WA": "AU", "SA": "AU", "TAS": "AU", "ACT": "AU", "NT": "AU"}
_UNIT_WORDS = frozenset({
    "department", "faculty", "school", "division", "laboratory", "unit", "section", "group", "program", "chair",
    "clinic", "service", "graduate", "center", "institute", "college"})
MAX_FUZZY = 24  # names scored with rapidfuzz per segment
TOKEN_CAP = 3000  # a token in more names than this only ranks, it never generates candidates
TYPES = ("education", "healthcare", "facility", "company", "government", "nonprofit", "funder", "archive")

#: feature names, in the order of :attr:`Candidate.features`
FEATURES: tuple[str, ...] = (
    "exact", "exact_single", "acronym_only", "acronym_word", "via_child", "cov_gap", "strength_gap", "name_cov",
    "seg_cov", "token_sort", "token_set", "partial",
    "kind_label", "kind_alias", "last_org_segment", "from_end", "n_segments_inv", "country_agree",
    "country_disagree", "city_agree", "city_disagree", "name_missing", "segment_extra", "is_parent", "is_child",
    "ambiguity", "mentions", "unit_segment",
    "status_inactive", *(f"type_{t}" for t in TYPES),
    # interactions a linear model cannot form itself
    "exact_x_country", "name_x_seg_cov", "via_child_x_education", "child_x_education", "parent_x_education",
    "name_cov_sq", "exact_x_from_end", "child_x_healthcare", "name_cov_x_country_disagree", "via_child_x_from_end",
    "bias",
)


@dataclass(slots=True)
class Segment:
    text: str
    tokens: list[str]
    geo: str | None = None  # "country" | "state" | "city" | "postcode"
    country: str | None = None


@dataclass(slots=True)
class Evidence:
    """The best match of one organisation in one string."""

    org: int
    name: int
    start: int  # first and last segment of the window that matched
    end: int
    exact: bool
    acronym: bool
    name_cov: float
    seg_cov: float
    token_sort: float = 0.0
    token_set: float = 0.0
    partial: float = 0.0
    missing: float = 0.0  # rarity (idf) of the name's tokens the segment lacks
    extra: float = 0.0  # rarity of the segment's tokens the name lacks
    mentions: int = 1
    word: bool = False  # an acronym found as one word of a longer segment
    via_child: bool = False  # not named itself: the parent of an organisation that is

    @property
    def strength(self) -> float:
        if self.via_child:
            return 0.0
        if self.exact:
            return 3.0 + self.seg_cov
        return self.name_cov + 0.5 * self.seg_cov + 0.5 * self.token_set - (0.6 if self.acronym else 0.0)


@dataclass(slots=True)
class Candidate:
    """One organisation a string may mean, with the features that score it."""

    ror: str
    name: str
    matched: str  # the index key of the name that matched
    segment: str  # the part of the string it matched
    unit: str | None  # the department / unit part of the string, kept beside the organisation
    features: list[float]
    score: float = 0.0  # ranking logit
    probability: float = 0.0  # calibrated probability that this is the organisation meant
    record_id: str | None = None
    country: str | None = None

    def explain(self) -> dict[str, float]:
        return {n: round(v, 3) for n, v in zip(FEATURES, self.features, strict=True) if v and n != "bias"}


@dataclass(slots=True)
class Parsed:
    """An affiliation string split into segments, with its place context."""

    text: str
    segments: list[Segment]
    country: str | None
    tokens: frozenset[str] = field(default_factory=frozenset)
    has_city: bool = False


@lru_cache(maxsize=1)
def _gazetteer() -> Any:
    from citybridge.enrich.gazetteer import load_gazetteer

    return load_gazetteer()


@lru_cache(maxsize=50_000)
def _country_of(text: str) -> str | None:
    t = text.strip().strip(".")
    if not t or len(t) > 40:
        return None
    return _gazetteer().resolve_country(t)


@lru_cache(maxsize=50_000)
def _is_city(text: str) -> bool:
    return bool(_gazetteer().lookup_any_case(text.strip())) if 2 < len(text) < 40 else False


def parse(text: str, country: str | None = None) -> Parsed:
    """Split an affiliation string into segments and read its country (``country`` when given wins)."""
    parts = [p.strip() for p in _SPLIT.split(text) if p and p.strip(" .")]
    segments = [Segment(p, tokens(p)) for p in parts]
    found = country.upper() if country else None
    # context is read from the end: "..., Boston, MA 02114, USA"
    for seg in reversed(segments[-4:]):
        raw = seg.text
        if len(segments) > 1 or country:
            c = _country_of(raw)
            if c:
                seg.geo, seg.country = "country", c
                found = found or c
                continue
        up = raw.upper().split()
        state = bool(up) and (up[0] in _STATES or (len(up[0]) == 2 and up[0] in _gazetteer().admin_codes))
        if state and (len(up) == 1 or _POSTCODE.match(" ".join(up[1:]))):
            seg.geo = "state"
            seg.country = _STATES.get(up[0]) or _gazetteer().admin_codes[up[0]][0]
            continue
        if _POSTCODE.match(raw) and any(c.isdigit() for c in raw):
            seg.geo = "postcode"
            continue
        if len(segments) > 1 and len(seg.tokens) <= 3 and _is_city(raw):
            seg.geo = "city"
    if found is None:
        found = next((s.country for s in segments if s.geo == "state"), None)
    all_tokens = frozenset(t for s in segments for t in s.tokens)
    return Parsed(text, segments, found, all_tokens, any(s.geo == "city" for s in segments))


class AffiliationMatcher:
    """Candidate generation and features over an :class:`OrgIndex`; scoring is done by a model.

    >>> m = AffiliationMatcher(index)                                         # doctest: +SKIP
    >>> [c.ror for c in m.candidates("Dept. of Civil Eng., Univ. of Porto, Portugal")][:1]  # doctest: +SKIP
    ['043pwc612']
    """

    def __init__(self, index: OrgIndex) -> None:
        self.index = index

    # ------------------------------------------------------------------ candidates
    def candidates(self, text: str, country: str | None = None, *, exclude: frozenset[str] = frozenset()
                   ) -> list[Candidate]:
        """Every organisation the string may name, with features (not yet scored), in no order.

        ``exclude`` (ROR ids) hides organisations, as if they were not in the index (used to make negatives).
        """
        parsed = parse(text, country)
        self._spelling(parsed)
        found: dict[int, Evidence] = {}
        self._exact(parsed, found, exclude)
        self._fuzzy(parsed, found, exclude)
        self._parents(found, exclude)
        return self._features(parsed, found)

    def _spelling(self, parsed: Parsed) -> None:
        """German transliterations the index does not know ("Tuebingen") become the folded form it does."""
        vocab = self.index.postings
        for seg in parsed.segments:
            for k, t in enumerate(seg.tokens):
                if t not in vocab and ("ue" in t or "oe" in t or "ae" in t):
                    alt = t.replace("ue", "u").replace("oe", "o").replace("ae", "a")
                    if alt in vocab:
                        seg.tokens[k] = alt

    def _keep(self, found: dict[int, Evidence], ev: Evidence, exclude: frozenset[str]) -> None:
        if exclude and self.index.orgs[ev.org].ror in exclude:
            return
        old = found.get(ev.org)
        if old is None:
            found[ev.org] = ev
        elif ev.strength > old.strength:
            ev.mentions = old.mentions + 1
            found[ev.org] = ev
        elif (ev.start, ev.end) != (old.start, old.end):
            old.mentions += 1

    def _exact(self, parsed: Parsed, found: dict[int, Evidence], exclude: frozenset[str]) -> None:
        idx = self.index
        segs = parsed.segments
        for i, seg in enumerate(segs):
            if seg.geo is not None or not seg.tokens:
                continue
            toks: list[str] = []
            for j in range(i, min(i + 3, len(segs))):
                if segs[j].geo == "country":
                    break
                toks = toks + segs[j].tokens
                hits = idx.exact.get(" ".join(toks))
                if hits:
                    for n in hits:
                        self._keep(found, Evidence(idx.name_org[n], n, i, j, True, False, 1.0, 1.0, 1.0, 1.0, 1.0),
                                   exclude)
            if looks_like_acronym(seg.text):
                words = [seg.text]
            else:
                words = [w for w in _WORDS.findall(seg.text) if looks_like_acronym(w) and len(w) >= 3]
            for w in words:
                akey = fold(w).replace(" ", "")
                for n in idx.acronyms.get(akey, ()):
                    self._keep(found, Evidence(idx.name_org[n], n, i, i, False, True, 0.0, 0.0, 0.0, 0.0, 0.0,
                                               word=len(words) > 1 or w != seg.text), exclude)

    def _parents(self, found: dict[int, Evidence], exclude: frozenset[str]) -> None:
        """The parents of organisations named in full, as candidates of their own: a department or a
        school matched in ROR may stand for its university."""
        idx = self.index
        for o, ev in list(found.items()):
            if not (ev.exact or ev.name_cov >= 0.99) or ev.acronym:
                continue
            for p in idx.parents[o]:
                if p not in found:
                    self._keep(found, Evidence(p, -1, ev.start, ev.end, False, False, 0.0, 0.0, via_child=True),
                               exclude)

    def _fuzzy(self, parsed: Parsed, found: dict[int, Evidence], exclude: frozenset[str]) -> None:
        idx = self.index
        postings, idf_of = idx.postings, idx.token_idf
        postings_np, name_weight = idx.postings_np, idx.name_weight_np
        for i, seg in enumerate(parsed.segments):
            if seg.geo is not None or not seg.tokens:
                continue
            seg_set = set(seg.tokens)
            seg_w = {t: idf_of(t) for t in seg_set}
            seg_weight = sum(seg_w.values())
            ranked = sorted(seg_set, key=lambda t: len(postings.get(t, ())))
            chosen = [t for t in ranked if 0 < len(postings.get(t, ())) <= TOKEN_CAP][:3]
            if not chosen:
                rare = [t for t in ranked if t in postings]
                if not rare or len(seg_set) > 2:
                    continue
                chosen = rare[:1]
            arrays = [postings_np[t] for t in chosen]
            ids = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
            weights = np.repeat(np.asarray([seg_w[t] for t in chosen]), [len(a) for a in arrays])
            uniq, inverse = np.unique(ids, return_inverse=True)
            acc = np.bincount(inverse, weights=weights)
            nw_u = name_weight[uniq]
            rest = seg_weight - sum(seg_w[t] for t in chosen)
            rank = acc / (nw_u + 1e-9) + 0.3 * acc / (nw_u + seg_weight - acc + 1e-9)
            rank[(acc + rest) < 0.5 * nw_u] = -1.0  # the name cannot be half covered by this segment
            top = np.argpartition(-rank, MAX_FUZZY)[:MAX_FUZZY] if len(rank) > MAX_FUZZY else np.arange(len(rank))
            best = [int(n) for n, r in zip(uniq[top].tolist(), rank[top].tolist(), strict=True) if r >= 0]
            nw = idx.name_weight
            seg_key = " ".join(seg.tokens)
            for n in best:
                ntoks = idx.name_tokens[n]
                shared = seg_set.intersection(ntoks)
                sw = sum(seg_w[t] for t in shared)
                name_cov = sw / (nw[n] or 1.0)
                seg_cov = sw / (seg_weight or 1.0)
                if name_cov < 0.5:
                    continue
                nk = idx.name_key[n]
                missing = sum(idf_of(t) for t in set(ntoks) if t not in seg_set)
                self._keep(found, Evidence(
                    idx.name_org[n], n, i, i, nk == seg_key, False, name_cov, seg_cov,
                    fuzz.token_sort_ratio(seg_key, nk) / 100.0, fuzz.token_set_ratio(seg_key, nk) / 100.0,
                    fuzz.partial_ratio(nk, seg_key) / 100.0, min(missing, 20.0), min(seg_weight - sw, 20.0)),
                    exclude)

    # ------------------------------------------------------------------ features
    def _features(self, parsed: Parsed, found: dict[int, Evidence]) -> list[Candidate]:
        if not found:
            return []
        idx = self.index
        segs = parsed.segments
        org_segs = [k for k, s in enumerate(segs) if s.geo is None]
        last_org = org_segs[-1] if org_segs else len(segs) - 1
        n_seg = max(1, len(org_segs))
        strong = {o for o, ev in found.items() if ev.exact or (ev.name_cov >= 0.99 and not ev.acronym)}
        parents_of_strong = {p for o in strong for p in idx.parents[o]}
        max_cov = max(ev.name_cov for ev in found.values())
        max_strength = max(ev.strength for ev in found.values())
        out = []
        for o, ev in found.items():
            org = idx.orgs[o]
            is_child = any(p in strong for p in idx.parents[o])
            is_parent = o in parents_of_strong
            seg_text = ", ".join(s.text for s in segs[ev.start:ev.end + 1])
            unit_segs = [s.text for s in segs[:ev.start] if s.geo is None]
            if ev.via_child:
                unit_segs.append(seg_text)
            unit_first = bool(segs[ev.start].tokens) and segs[ev.start].tokens[0] in _UNIT_WORDS
            city = idx.city_key[o]
            city_agree = bool(city) and all(t in parsed.tokens for t in city.split(" "))
            city_disagree = bool(city) and parsed.has_city and not city_agree
            if ev.name >= 0:
                kind = idx.name_kind[ev.name]
                table = idx.acronyms if kind == 3 else idx.exact
                n_same = len(table.get(idx.name_key[ev.name], ()))
                matched = idx.name_key[ev.name]
            else:
                kind, n_same, matched = 0, 1, ""
            types = set(org.types)
            from_end = sum(1 for k in org_segs if k > ev.end) / n_seg
            f = [
                float(ev.exact), float(ev.exact and ev.start == ev.end), float(ev.acronym and not ev.exact),
                float(ev.word), float(ev.via_child), ev.name_cov - max_cov, ev.strength - max_strength,
                ev.name_cov, ev.seg_cov, ev.token_sort, ev.token_set, ev.partial,
                float(kind == 1), float(kind == 2), float(ev.end >= last_org), from_end, 1.0 / n_seg,
                float(bool(parsed.country) and org.country == parsed.country),
                float(bool(parsed.country) and bool(org.country) and org.country != parsed.country),
                float(city_agree), float(city_disagree), ev.missing / 10.0, ev.extra / 10.0, float(is_parent),
                float(is_child), math.log(max(1, n_same)),
                float(min(ev.mentions, 3)), float(unit_first), float(org.status != "active"),
                *(float(t in types) for t in TYPES),
            ]
            ca, cd = f[FEATURES.index("country_agree")], f[FEATURES.index("country_disagree")]
            edu, health = float("education" in types), float("healthcare" in types)
            f += [float(ev.exact) * ca, ev.name_cov * ev.seg_cov, float(ev.via_child) * edu, float(is_child) * edu,
                  float(is_parent) * edu, ev.name_cov * ev.name_cov, float(ev.exact) * from_end,
                  float(is_child) * health, ev.name_cov * cd, float(ev.via_child) * from_end, 1.0]
            out.append(Candidate(org.ror, org.name, matched, seg_text, ", ".join(unit_segs) or None, f,
                                 record_id=org.record_id, country=org.country))
        return out


def feature_matrix(cands: Sequence[Candidate]) -> list[list[float]]:
    return [c.features for c in cands]


__all__ = ["FEATURES", "AffiliationMatcher", "Candidate", "Parsed", "Segment", "parse"]
