"""Facet columns of the search index: one small array per facet, aligned with the index's doc numbers.

Single-valued facets (kind, subtype, country, UN region, language, year, source, visibility, owner) are
integer codes into a vocabulary kept in the manifest; SDG goals and pathways are bit sets (one uint32 per
doc). Filters become boolean masks with vectorised numpy, so they are applied inside the search.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from citybridge.errors import Invalid
from citybridge.model.access import Caller, visible_levels
from citybridge.model.taxonomy import PATHWAYS
from citybridge.search.artifacts import ArtifactReader, ArtifactWriter

FORMAT = "citybridge.facets"
VERSION = 1
CODED = ("kind", "subtype", "country", "region", "language", "source", "visibility", "owner")
PATHWAY_CODES = [p.code for p in PATHWAYS]
SDG_BITS = {str(g): g - 1 for g in range(1, 18)}
PATHWAY_BITS = {code: 17 + i for i, code in enumerate(PATHWAY_CODES)}


@dataclass
class FacetBuilder:
    """Collects one row of facet values per document, in doc-number order."""

    codes: dict[str, dict[str, int]] = field(default_factory=lambda: {k: {"": 0} for k in CODED})
    cols: dict[str, list[int]] = field(default_factory=lambda: {k: [] for k in CODED})
    years: list[int] = field(default_factory=list)
    themes: list[int] = field(default_factory=list)

    def add(self, *, kind: str, subtype: str | None, country: str | None, region: str | None,
            language: str | None, year: int | None, source: str | None, visibility: str, owner: str | None,
            sdgs: Iterable[str] = (), pathways: Iterable[str] = ()) -> None:
        values = {"kind": kind, "subtype": subtype, "country": country, "region": region, "language": language,
                  "source": source, "visibility": visibility, "owner": owner}
        for name, value in values.items():
            vocab = self.codes[name]
            key = value or ""
            if key not in vocab:
                vocab[key] = len(vocab)
            self.cols[name].append(vocab[key])
        self.years.append(int(year) if year else 0)
        bits = 0
        for g in sdgs:
            if g in SDG_BITS:
                bits |= 1 << SDG_BITS[g]
        for p in pathways:
            if p in PATHWAY_BITS:
                bits |= 1 << PATHWAY_BITS[p]
        self.themes.append(bits)

    def build(self) -> Facets:
        """The facet columns in memory (for a delta segment that is never written)."""
        arrays, vocab = self._arrays()
        return Facets(arrays, vocab)

    def save(self, directory: str | os.PathLike[str], fingerprint: str, built_at: Any = None) -> Facets:
        """Write the columns atomically; the manifest records the store fingerprint and build time."""
        arrays, vocab = self._arrays()
        w = ArtifactWriter(directory, FORMAT, VERSION)
        for name, arr in arrays.items():
            w.add(name, arr)
        w.commit({"fingerprint": fingerprint, "vocab": vocab, "n_docs": len(self.years),
                  "built_at": built_at.isoformat() if built_at is not None else None})
        return Facets(arrays, vocab)

    def _arrays(self) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
        arrays: dict[str, np.ndarray] = {}
        for name in CODED:
            dtype = np.uint8 if len(self.codes[name]) < 256 else (np.uint16 if len(self.codes[name]) < 65536
                                                                   else np.uint32)
            arrays[name] = np.asarray(self.cols[name], dtype=dtype)
        arrays["year"] = np.asarray(self.years, dtype=np.int16)
        arrays["themes"] = np.asarray(self.themes, dtype=np.uint32)
        vocab = {name: sorted(v, key=v.__getitem__) for name, v in self.codes.items()}
        return arrays, vocab


class Facets:
    """The facet columns of an index, loaded (memory-mapped) or just built."""

    def __init__(self, arrays: dict[str, np.ndarray], vocab: dict[str, list[str]]) -> None:
        self.arrays = arrays
        self.vocab = vocab
        self.index = {name: {v: i for i, v in enumerate(values)} for name, values in vocab.items()}
        self.n_docs = len(arrays["year"])

    @classmethod
    def load(cls, directory: str | os.PathLike[str], fingerprint: str | None = None) -> Facets:
        expect = {"fingerprint": fingerprint} if fingerprint is not None else None
        r = ArtifactReader(Path(directory), FORMAT, VERSION, expect=expect)
        arrays = {name: r.array(name) for name in r.manifest["files"]}
        return cls(arrays, r.manifest["vocab"])

    # ------------------------------------------------------------------ filtering
    def visible(self, caller: Caller) -> np.ndarray:
        """Mask of documents ``caller`` may see (enforced inside every search)."""
        levels, owners = visible_levels(caller)
        vis = self.arrays["visibility"]
        codes = [self.index["visibility"][v] for v in levels if v in self.index["visibility"]]
        mask = np.isin(vis, codes)
        owner_codes = [self.index["owner"][o] for o in owners if o in self.index["owner"]]
        if owner_codes:
            mask |= np.isin(self.arrays["owner"], owner_codes)
        return mask

    def mask(self, filters: dict[str, Any]) -> np.ndarray | None:
        """Mask of documents matching every filter (None when there is none). Values may be lists (any of)."""
        mask: np.ndarray | None = None

        def both(m: np.ndarray) -> None:
            nonlocal mask
            mask = m if mask is None else mask & m

        for name, raw in filters.items():
            if raw in (None, "", [], ()):
                continue
            values = [str(v) for v in (raw if isinstance(raw, list | tuple | set) else [raw])]
            if name in ("sdg", "pathway"):
                table = SDG_BITS if name == "sdg" else PATHWAY_BITS
                bits = 0
                for v in values:
                    key = v.removeprefix("sdg:").removeprefix("pathway:")
                    if key not in table:
                        known = ", ".join(table)
                        raise Invalid(f"unknown {name} '{v}' (one of: {known})", field=name)
                    bits |= 1 << table[key]
                both((self.arrays["themes"] & np.uint32(bits)) != 0)
            elif name in ("year_from", "year_to"):
                try:
                    year = int(values[0])
                except ValueError:
                    raise Invalid(f"{name} must be a year such as 2020", field=name) from None
                years = self.arrays["year"]
                both((years >= year) if name == "year_from" else ((years <= year) & (years > 0)))
            elif name in CODED:
                if name == "country":
                    values = [v.upper() for v in values]
                codes = [self.index[name][v] for v in values if v in self.index[name]]
                both(np.isin(self.arrays[name], codes) if codes else np.zeros(self.n_docs, dtype=bool))
            else:
                raise Invalid(f"unknown filter '{name}' (kind, subtype, sdg, pathway, country, region, language, "
                              "year_from, year_to, source)", field=name)
        return mask

    # ------------------------------------------------------------------ counting
    def counts(self, docs: np.ndarray, names: Iterable[str], top: int = 30) -> dict[str, dict[str, int]]:
        """Facet value counts over the given doc numbers (all matching documents, not just one page)."""
        out: dict[str, dict[str, int]] = {}
        for name in names:
            if name in ("sdg", "pathway"):
                bits = self.arrays["themes"][docs]
                table = SDG_BITS if name == "sdg" else PATHWAY_BITS
                counts = {k: int(np.count_nonzero(bits & np.uint32(1 << b))) for k, b in table.items()}
                out[name] = {k: v for k, v in sorted(counts.items(), key=lambda kv: -kv[1]) if v}
            elif name == "year":
                years = self.arrays["year"][docs]
                vals, cnt = np.unique(years[years > 0], return_counts=True)
                out[name] = {str(int(v)): int(c) for v, c in zip(vals, cnt, strict=True)}
            elif name in CODED:
                col = self.arrays[name][docs]
                cnt = np.bincount(col, minlength=len(self.vocab[name]))
                order = np.argsort(-cnt)[:top + 1]
                out[name] = {self.vocab[name][i]: int(cnt[i]) for i in order if cnt[i] and self.vocab[name][i]}
                if name in ("owner", "visibility"):
                    out.pop(name)
            else:
                raise Invalid(f"unknown facet '{name}'", field="facets")
        return out
