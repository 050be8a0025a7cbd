"""What a matchmaking request is about: a free-text challenge and/or a stored entity, turned into theme
labels (with the passages that carry them), key terms, a vector and an optional city in focus."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from citybridge.errors import Invalid, NotFound
from citybridge.link._derived import is_public, shared_index
from citybridge.link.city_index import CityIndex
from citybridge.link.glossary import read_as_english
from citybridge.link.profile_index import ProfileIndex, is_theme, key_terms
from citybridge.model.access import CURATOR, Caller, can_see
from citybridge.model.entities import Organization, Place, PlaceType, Record
from citybridge.store.enrichment import EnrichmentStore

MAX_TEXT = 5000


@dataclass
class Focus:
    """The city a request is focused on."""

    id: str
    name: str
    country: str | None
    row: int | None  # position in the CityIndex
    local_governments: list[str] = field(default_factory=list)


@dataclass
class Challenge:
    text: str  # what the search runs on
    language: str | None
    labels: dict[str, float]  # theme labels (SDG goals, pathways, user taxonomies) -> score
    passages: dict[str, list[str]]  # label -> passages of the challenge that carry it
    keywords: list[str]
    terms: list[str]
    vector: np.ndarray | None
    entity: Record | None = None
    focus: Focus | None = None
    exclude: set[str] = field(default_factory=set)
    scores: Any = None  # ProfileIndex Scores against every profile, computed once per request
    #: what the search runs on when it is not the text: the English glossary terms of a text in another language
    read_as: str | None = None
    #: key terms grouped by concept (one glossary entry: synonyms, any of which matches it); None: each term alone
    groups: list[list[str]] | None = None
    #: adjacent key-term pairs of the challenge's phrases ("urban heat", "district heating"), stemmed
    pairs: set[tuple[str, str]] = field(default_factory=set)

    @property
    def query(self) -> str:
        """The text the search-backed sections search with."""
        return self.read_as or self.text


def phrase_pairs(texts: list[str], lang: str | None) -> set[tuple[str, str]]:
    """Adjacent pairs of analysed terms within each text (stopwords skipped): the phrases a record that says the
    same thing in the same words also contains."""
    from citybridge.search.analysis import get_analyzer

    out: set[tuple[str, str]] = set()
    for text in texts:
        for part in re.split(r"[,;:.!?()]", text):
            terms = [t for t in get_analyzer(lang or "en").terms(part) if len(t) > 2]
            out |= {(a, b) for a, b in zip(terms, terms[1:], strict=False) if a != b}
    return out


def profile_index(hub: Any) -> ProfileIndex:
    # one index with every profile; visibility is masked per query, so it is shared by all callers
    return shared_index(hub, "profile_index", CURATOR, ProfileIndex,  # type: ignore[no-any-return]
                        lambda: ProfileIndex.from_store(hub.store))


def city_index(hub: Any, caller: Caller) -> CityIndex:
    return shared_index(hub, "city_index", caller, CityIndex,  # type: ignore[no-any-return]
                        lambda: CityIndex.from_store(hub.store, caller), share=is_public(caller))


def tagging_step(hub: Any) -> Any:
    return hub.tagging_step()


def embedder(model: str | None) -> Any:
    from citybridge.enrich.embed import get_embedder
    from citybridge.errors import Unavailable

    try:
        emb = get_embedder((model or "wordllama").split("/", 1)[0])
    except (Invalid, Unavailable):
        return None
    return emb if model is None or emb.model_id == model else None


def visible_record(hub: Any, ref: str, caller: Caller) -> Record:
    record: Record = hub.get(ref)
    if not can_see(record.visibility, record.owner, caller):
        raise NotFound(f"no record with id '{ref}'")
    return record


def from_text(hub: Any, text: str, model: str | None) -> Challenge:
    """Tag, extract key phrases from and embed a free text (any supported language)."""
    from citybridge.enrich.keywords import extract_keywords
    from citybridge.enrich.language import detect_languages

    text = text.strip()[:MAX_TEXT]
    res = detect_languages([text])[0]
    lang = None if res.lang in (None, "und") else res.lang
    labels: dict[str, float] = {}
    passages: dict[str, list[str]] = {}
    for lab in tagging_step(hub).tagger.tag([text], lang=lang)[0]:
        label = f"{lab.scheme}:{lab.code}"
        if is_theme(label):
            labels[label] = float(lab.score)
            passages[label] = list(dict.fromkeys(e.text for e in lab.evidence))[:3]
    kws = [k.phrase for k in extract_keywords([text], [lang], top_n=10)[0]]
    terms = key_terms(" ".join(kws) or text, [lang])
    # a text in another language reaches the English records through the glossary's English terms: the search
    # runs on them, and the key terms a hit must match are theirs
    english = read_as_english(text) if lang != "en" else []
    read_as = " ".join(english) or None
    groups = None
    pairs = phrase_pairs([text], lang)
    if read_as:
        terms = key_terms(read_as, ["en"])
        groups = [g for g in (key_terms(e, ["en"]) for e in english) if g]
        pairs = phrase_pairs(english, "en")
        for lab in tagging_step(hub).tagger.tag([read_as], lang="en")[0]:
            label = f"{lab.scheme}:{lab.code}"
            if is_theme(label) and float(lab.score) > labels.get(label, 0.0):
                labels[label] = float(lab.score)
                passages.setdefault(label, [])
    emb = embedder(model)
    vector = emb.embed([read_as or text])[0] if emb is not None else None
    return Challenge(text=text[:1000], language=lang, labels=labels, passages=passages, keywords=kws,
                     terms=terms, vector=vector, read_as=read_as, groups=groups, pairs=pairs)


def from_entity(hub: Any, record: Record, index: ProfileIndex) -> Challenge:
    """A stored record as a challenge: its own tags, keywords and vector, or its profile (cities, persons,
    organisations that have one)."""
    es = EnrichmentStore(hub.store)
    labels: dict[str, float] = {}
    passages: dict[str, list[str]] = {}
    kws: list[str] = []
    for a in es.annotations_of(record.id):
        if a["step"] == "tags" and is_theme(a["label"]):
            labels[a["label"]] = float(a["score"])
            passages[a["label"]] = list(dict.fromkeys(e.get("text", "") for e in a["evidence"] if e.get("text")))[:3]
        elif a["step"] == "keywords":
            kws.append(a["label"][3:])
    vector = None
    if index.vector_model:
        vector = next((v for *_r, v in es.vectors(index.vector_model, [record.id])), None)
    prof = es.profile(record.id)
    if prof is not None:
        plabels = prof["data"].get("labels") or {}
        top = max((e["sum"] for lab, e in plabels.items() if is_theme(lab)), default=0.0)
        for lab, e in plabels.items():
            if is_theme(lab) and top > 0:
                labels[lab] = max(labels.get(lab, 0.0), round(e["sum"] / top, 4))
        kws += [lab[3:] for lab, _e in sorted(((lab, e) for lab, e in plabels.items() if lab.startswith("kw:")),
                                               key=lambda x: -x[1]["sum"])[:10]]
        if vector is None and prof["vector"] is not None and prof["model"] == index.vector_model:
            vector = prof["vector"]
    kws = list(dict.fromkeys(kws))[:15]
    desc = (record.description or "")[:600]
    text = " ".join([record.name, desc] if desc else [record.name, *kws[:8]])
    return Challenge(text=text[:1000], language=(record.languages or [None])[0], labels=labels, passages=passages,
                     keywords=kws, terms=key_terms(" ".join(kws) or text), vector=vector, entity=record,
                     exclude={record.id})


def merge(a: Challenge, b: Challenge) -> Challenge:
    """Text and entity together: labels by maximum, keywords and terms joined, vectors averaged."""
    labels = dict(b.labels)
    for lab, s in a.labels.items():
        labels[lab] = max(s, labels.get(lab, 0.0))
    vector = a.vector
    if a.vector is not None and b.vector is not None and len(a.vector) == len(b.vector):
        v = a.vector + b.vector
        vector = v / max(float(np.linalg.norm(v)), 1e-9)
    return Challenge(text=a.text, language=a.language, labels=labels, passages={**b.passages, **a.passages},
                     keywords=list(dict.fromkeys(a.keywords + b.keywords)),
                     terms=list(dict.fromkeys(a.terms + b.terms)), vector=vector if vector is not None else b.vector,
                     entity=b.entity, exclude=a.exclude | b.exclude, read_as=a.read_as, groups=a.groups,
                     pairs=a.pairs | b.pairs)


def _fold(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c))


def resolve_focus(hub: Any, place: str, cities: CityIndex, caller: Caller) -> Focus:
    """A city id, ``simplemaps:<id>``, an organisation located in a city, or a city name (the most populous
    city of that name)."""
    record = None
    with contextlib.suppress(NotFound):
        record = visible_record(hub, place, caller)
    row: int | None = None
    if isinstance(record, Place):
        if record.place_type != PlaceType.city:
            raise Invalid(f"'{place}' is a {record.place_type.value}, not a city", field="place")
        row = cities.position(record.id)
    elif isinstance(record, Organization):
        row = cities.city_of_org(record.id)
        if row is None:
            raise NotFound(f"organisation '{place}' is not located in a known city", field="place")
    elif record is not None:
        raise Invalid(f"'{place}' is a {record.kind.value}, not a city", field="place")
    else:
        by_name = cities.__dict__.get("_by_folded_name")
        if by_name is None:  # built once per CityIndex (44k names: ~100 ms)
            by_name = {}
            for i, n in enumerate(cities.names):
                by_name.setdefault(_fold(n), []).append(i)
            cities.__dict__["_by_folded_name"] = by_name
        rows = by_name.get(_fold(place.strip()), [])
        if not rows:
            raise NotFound(f"no city named '{place}'", field="place")
        row = max(rows, key=lambda i: (np.nan_to_num(cities.log_pop[i], nan=-1.0), -i))
    if row is None:
        raise NotFound(f"no city with id '{place}'", field="place")
    country = cities.countries[cities.country[row]] if cities.country[row] >= 0 else None
    return Focus(id=cities.ids[row], name=cities.names[row], country=country, row=row,
                 local_governments=list(cities.city_orgs.get(row, [])))


__all__ = ["Challenge", "Focus", "city_index", "embedder", "from_entity", "from_text", "merge", "profile_index",
           "resolve_focus", "tagging_step", "visible_record"]
