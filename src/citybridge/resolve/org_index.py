"""The organisation name index: every name, label, alias and acronym of a registry (ROR), normalised, with
an exact-key table, an acronym table and a token inverted index weighted by rarity.

Built from organisation records (the store's, or straight from ROR dump files for evaluation) in a few
seconds; saved as a versioned JSON artifact so a server loads it instead of rebuilding.
"""

from __future__ import annotations

import gzip
import math
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from citybridge.resolve.normalize import fold, key, looks_like_acronym, tokens

FORMAT = "citybridge-org-index 1"
#: name kinds, in the order of trust
NAME_KINDS = ("name", "label", "alias", "acronym")
_PAREN = re.compile(r"\s*\(([^)]*)\)\s*")
_DASH = re.compile(r"\s+[-–—:]\s+")


@dataclass(slots=True)
class OrgEntry:
    """One organisation as the matcher sees it."""

    ror: str
    name: str
    country: str | None = None
    city: str | None = None
    types: tuple[str, ...] = ()
    status: str = "active"
    record_id: str | None = None  # the store record, when built from a store
    parents: tuple[str, ...] = ()  # ROR ids of parent organisations
    names: list[tuple[str, str]] = field(default_factory=list)  # (text, kind)


def name_variants(text: str) -> Iterator[tuple[str, bool]]:
    """A name and the variants registries leave implicit: without a bracketed part, each side of
    "ISEG - Instituto ...". Yields (variant, is_acronym)."""
    yield text, False
    inner = _PAREN.findall(text)
    if inner:
        bare = _PAREN.sub(" ", text).strip()
        if bare:
            yield bare, False
        for part in inner:
            if looks_like_acronym(part):
                yield part, True
    parts = [p.strip() for p in _DASH.split(text)]
    if len(parts) == 2 and all(parts):
        # "ISEG - Instituto Superior de Economia e Gestão": an acronym and a name; "X - Berlin" is not split
        acr = [looks_like_acronym(p) for p in parts]
        if acr[0] != acr[1]:
            yield parts[0], acr[0]
            yield parts[1], acr[1]


def entry_from_record(body: dict[str, Any], parents: Iterable[str] = ()) -> OrgEntry | None:
    """An index entry from an organisation record dict (``record_to_dict`` form); None without a ROR id."""
    ror = (body.get("external_ids") or {}).get("ror")
    if not ror:
        return None
    attrs = body.get("attributes") or {}
    names: list[tuple[str, str]] = [(body["name"], "name")]
    names += [(v, "label") for v in (body.get("labels") or {}).values()]
    for alias in body.get("aliases") or []:
        names.append((alias, "acronym" if looks_like_acronym(alias) else "alias"))
    if body.get("acronym"):
        names.append((body["acronym"], "acronym"))
    return OrgEntry(
        ror=ror, name=body["name"], country=body.get("country"), city=body.get("city"),
        types=tuple(attrs.get("ror_types") or body.get("tags") or ()), status=body.get("status") or "active",
        record_id=body.get("id"), parents=tuple(parents), names=names)


def entries_from_ror_files(paths: Iterable[str | Path]) -> list[OrgEntry]:
    """Index entries straight from ROR dump files (v1 and v2), through the ROR importer's own parsing."""
    from citybridge.ingest.ror import RorSource
    from citybridge.model.entities import record_to_dict

    bodies: list[dict[str, Any]] = []
    parents: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        for item in RorSource(path).items():
            if item.record is not None:
                bodies.append(record_to_dict(item.record))
            elif item.relation is not None and item.relation.type.value == "member_of":
                parents[item.relation.source.removeprefix("ror:")].append(item.relation.target.removeprefix("ror:"))
    return _entries(bodies, parents)


def _entries(bodies: list[dict[str, Any]], parents: dict[str, list[str]]) -> list[OrgEntry]:
    out = []
    for body in bodies:
        e = entry_from_record(body, parents.get(body["external_ids"]["ror"], ()))
        if e is not None:
            out.append(e)
    return out


def entries_from_store(store: Any) -> list[OrgEntry]:
    """Index entries for every stored organisation that has a ROR id, with parents from ``member_of``."""
    bodies = [b for b in store.iter_record_dicts("organization")
              if (b.get("external_ids") or {}).get("ror") and b.get("visibility", "public") == "public"]
    ror_of = {b["id"]: b["external_ids"]["ror"] for b in bodies}
    parents: dict[str, list[str]] = defaultdict(list)
    for rel in store.iter_relation_dicts("member_of"):
        child, parent = ror_of.get(rel["source"]), ror_of.get(rel["target"])
        if child and parent:
            parents[child].append(parent)
    return _entries(bodies, parents)


class OrgIndex:
    """Normalised names of a set of organisations, searchable by exact key, acronym and rare tokens.

    >>> idx = OrgIndex.build([OrgEntry("05abc", "University of Porto", "PT", "Porto",
    ...                                names=[("University of Porto", "name"), ("UP", "acronym")])])
    >>> idx.exact["university porto"]
    [0]
    """

    def __init__(self) -> None:
        self.orgs: list[OrgEntry] = []
        self.by_ror: dict[str, int] = {}
        self.name_org: list[int] = []  # name number -> org number
        self.name_kind: list[int] = []  # index into NAME_KINDS
        self.name_key: list[str] = []
        self.name_tokens: list[tuple[str, ...]] = []
        self.name_weight: list[float] = []  # sum of idf of the name's distinct tokens
        self.exact: dict[str, list[int]] = {}  # key -> name numbers
        self.acronyms: dict[str, list[int]] = {}  # folded acronym -> name numbers
        self.postings: dict[str, list[int]] = {}  # token -> name numbers
        self.idf: dict[str, float] = {}
        self.name_weight_np: np.ndarray = np.zeros(0)
        self.postings_np: dict[str, np.ndarray] = {}
        self.parents: list[tuple[int, ...]] = []
        self.children: list[tuple[int, ...]] = []
        self.city_key: list[str] = []
        self.fingerprint: str = ""

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, entries: Iterable[OrgEntry], *, fingerprint: str = "") -> OrgIndex:
        idx = cls()
        idx.fingerprint = fingerprint
        for entry in entries:
            if entry.ror in idx.by_ror:
                continue
            idx.by_ror[entry.ror] = len(idx.orgs)
            idx.orgs.append(entry)
        postings: dict[str, list[int]] = defaultdict(list)
        exact: dict[str, list[int]] = defaultdict(list)
        acronyms: dict[str, list[int]] = defaultdict(list)
        for o, entry in enumerate(idx.orgs):
            seen: set[tuple[str, int]] = set()
            for text, kind in entry.names:
                for variant, is_acr in name_variants(text):
                    k = NAME_KINDS.index("acronym" if is_acr else kind)
                    if k == 3:
                        akey = fold(variant).replace(" ", "")
                        if (akey, 3) in seen or not akey:
                            continue
                        seen.add((akey, 3))
                        n = idx._add_name(o, 3, akey, ())
                        acronyms[akey].append(n)
                        continue
                    toks = tuple(tokens(variant))
                    nk = " ".join(toks)
                    if not nk or (nk, 0) in seen:
                        continue
                    seen.add((nk, 0))
                    n = idx._add_name(o, k, nk, toks)
                    exact[nk].append(n)
                    for t in set(toks):
                        postings[t].append(n)
        idx.exact, idx.acronyms, idx.postings = dict(exact), dict(acronyms), dict(postings)
        idx._finish()
        return idx

    def _add_name(self, org: int, kind: int, nkey: str, toks: tuple[str, ...]) -> int:
        self.name_org.append(org)
        self.name_kind.append(kind)
        self.name_key.append(nkey)
        self.name_tokens.append(toks)
        return len(self.name_org) - 1

    def _finish(self) -> None:
        n_orgs = max(1, len(self.orgs))
        self.idf = {}
        for tok, names in self.postings.items():
            df = len({self.name_org[n] for n in names}) if len(names) < 64 else _org_count(self, names)
            self.idf[tok] = math.log(1.0 + n_orgs / df)
        idf = self.idf
        self.name_weight = [sum(idf[t] for t in set(toks)) for toks in self.name_tokens]
        self.name_weight_np = np.asarray(self.name_weight, dtype=np.float64)
        self.postings_np = {t: np.asarray(v, dtype=np.int32) for t, v in self.postings.items()}
        by_ror = self.by_ror
        parents = [tuple(by_ror[p] for p in e.parents if p in by_ror) for e in self.orgs]
        children: list[list[int]] = [[] for _ in self.orgs]
        for child, ps in enumerate(parents):
            for p in ps:
                children[p].append(child)
        self.parents = parents
        self.children = [tuple(c) for c in children]
        self.city_key = [key(e.city) if e.city else "" for e in self.orgs]

    # ------------------------------------------------------------------ queries
    def token_idf(self, tok: str) -> float:
        """Rarity of a token; unseen tokens count as rare as the rarest."""
        return self.idf.get(tok, math.log(1.0 + len(self.orgs)))

    def df(self, tok: str) -> int:
        return len(self.postings.get(tok, ()))

    # ------------------------------------------------------------------ artifact
    def save(self, path: str | Path) -> None:
        """Write the index atomically as gzipped JSON with a format line and fingerprint."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "format": FORMAT, "fingerprint": self.fingerprint,
            "orgs": [[e.ror, e.name, e.country, e.city, list(e.types), e.status, e.record_id, list(e.parents)]
                     for e in self.orgs],
            "names": [self.name_org, self.name_kind, self.name_key],
        }
        tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
        with gzip.open(tmp, "wb", compresslevel=3) as fh:
            fh.write(orjson.dumps(body))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> OrgIndex:
        """Read an index written by :meth:`save`; raises ValueError on another format version."""
        with gzip.open(path, "rb") as fh:
            body = orjson.loads(fh.read())
        if body.get("format") != FORMAT:
            raise ValueError(f"organisation index {path} has format {body.get('format')!r}, expected {FORMAT!r}")
        idx = cls()
        idx.fingerprint = body.get("fingerprint", "")
        for ror, name, country, city, types, status, rid, parents in body["orgs"]:
            idx.by_ror[ror] = len(idx.orgs)
            idx.orgs.append(OrgEntry(ror, name, country, city, tuple(types), status, rid, tuple(parents)))
        idx.name_org, idx.name_kind, idx.name_key = body["names"]
        postings: dict[str, list[int]] = defaultdict(list)
        exact: dict[str, list[int]] = defaultdict(list)
        acronyms: dict[str, list[int]] = defaultdict(list)
        name_tokens: list[tuple[str, ...]] = []
        for n, (kind, nk) in enumerate(zip(idx.name_kind, idx.name_key, strict=True)):
            if kind == 3:
                acronyms[nk].append(n)
                name_tokens.append(())
                continue
            toks = tuple(nk.split(" "))
            name_tokens.append(toks)
            exact[nk].append(n)
            for t in set(toks):
                postings[t].append(n)
        idx.name_tokens = name_tokens
        idx.exact, idx.acronyms, idx.postings = dict(exact), dict(acronyms), dict(postings)
        idx._finish()
        return idx


def _org_count(idx: OrgIndex, names: list[int]) -> int:
    org = idx.name_org
    return len({org[n] for n in names})


__all__ = ["FORMAT", "NAME_KINDS", "OrgEntry", "OrgIndex", "entries_from_ror_files", "entries_from_store",
           "entry_from_record", "name_variants"]
