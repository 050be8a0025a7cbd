"""Matchmaking: from a challenge (free text in any supported language, and/or a stored city, organisation,
project or call) to ranked, explained sections - evidence, practice, experts, organisations, peer cities,
opportunities and projects - and ``fit``: how well one person or organisation fits one text.

Every item carries its ``score``, the ``components`` the score is made of and an ``explanation`` built only
from records: the themes the challenge shares with a record and the passages carrying them, the record's
matching passage, the records behind a profile, project-graph paths to the focus city's local government,
and peer-city similarities. Items with nothing of the sort behind them are left out, so a section can be
empty: that is an answer too.

>>> hub.link("reduce urban heat in dense neighbourhoods", place="Lisbon",
...          want=["evidence", "peer_cities"]).sections["peer_cities"][0].explanation   # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from citybridge.errors import Invalid, NotFound
from citybridge.link import expertise
from citybridge.link._derived import label_name, label_names
from citybridge.link.challenge import (
    Challenge,
    city_index,
    from_entity,
    from_text,
    merge,
    profile_index,
    resolve_focus,
    visible_record,
)
from citybridge.link.profile_index import KINDS
from citybridge.link.profile_sections import explain_profiles, peer_city_section, profile_section
from citybridge.link.search_sections import SEARCH_SECTIONS, LinkItem, search_section
from citybridge.model.access import ANONYMOUS, Caller
from citybridge.model.entities import Opportunity, Organization, Person, Place

SECTIONS = ("evidence", "practice", "experts", "organisations", "peer_cities", "opportunities", "projects")
#: for a call (opportunity) the question is reversed: who should hear of it
REVERSE_SECTIONS = ("experts", "organisations", "peer_cities", "projects")
#: the components of a ``Fit`` (``e5`` only when the cross-lingual channel is on); the score is
#: :func:`citybridge.link.expertise.score` of them, with the weights of ``link/data/expert_model.json``
FIT_COMPONENTS = ("vector", "lexical", "themes", "keywords", "recency", "volume")


@dataclass
class LinkResult:
    """The answer of :func:`link`: what the challenge was understood as, and the sections."""

    challenge: dict[str, Any]
    sections: dict[str, list[LinkItem]]
    took_ms: float
    timings: dict[str, float] = field(default_factory=dict)
    #: CPU ms of this thread per step (reading the challenge, each section), for benchmarks; not in to_dict
    cpu_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        sections = {k: [i.to_dict() for i in v] for k, v in self.sections.items()}
        return {"challenge": self.challenge, "sections": sections, "took_ms": self.took_ms, "timings": self.timings}


@dataclass
class Fit:
    """How well one person or organisation fits one text."""

    entity_id: str
    name: str
    score: float
    components: dict[str, float]
    explanation: str
    reasons: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"entity_id": self.entity_id, "name": self.name, "score": self.score, "components": self.components,
                "explanation": self.explanation, "reasons": self.reasons, "evidence": self.evidence}


def check_want(want: str | Iterable[str] | None, default: Iterable[str] = SECTIONS) -> list[str]:
    if want is None:
        return list(default)
    names = [w.strip() for w in (want.split(",") if isinstance(want, str) else want) if w.strip()]
    bad = [w for w in names if w not in SECTIONS]
    if bad or not names:
        raise Invalid(f"unknown section(s) {', '.join(bad) or '(none)'} (choose from: {', '.join(SECTIONS)})",
                      field="want")
    return list(dict.fromkeys(names))


def build_challenge(hub: Any, text: str | None, entity: str | None, place: str | None,
                    caller: Caller) -> Challenge:
    if not (text and text.strip()) and entity is None:
        raise Invalid("give a challenge text or an entity", field="text")
    idx = profile_index(hub)
    challenge: Challenge | None = from_text(hub, text, idx.vector_model) if text and text.strip() else None
    if entity is not None:
        record = visible_record(hub, entity, caller)
        from_record = from_entity(hub, record, idx)
        challenge = merge(challenge, from_record) if challenge is not None else from_record
    assert challenge is not None
    cities = city_index(hub, caller)
    if place is not None:
        challenge.focus = resolve_focus(hub, place, cities, caller)
    elif isinstance(challenge.entity, Place | Organization):
        row = cities.position(challenge.entity.id) if isinstance(challenge.entity, Place) else \
            cities.city_of_org(challenge.entity.id)
        if row is not None:
            challenge.focus = resolve_focus(hub, cities.ids[row], cities, caller)
    return challenge


def describe(challenge: Challenge) -> dict[str, Any]:
    names = label_names()
    out: dict[str, Any] = {
        "text": challenge.text, "language": challenge.language,
        "labels": [{"label": lab, "name": label_name(lab, names), "score": round(s, 4),
                    "passages": challenge.passages.get(lab, [])}
                   for lab, s in sorted(challenge.labels.items(), key=lambda x: -x[1])],
        "keywords": challenge.keywords,
    }
    if challenge.read_as:
        out["read_as"] = challenge.read_as
    if challenge.entity is not None:
        out["entity"] = {"id": challenge.entity.id, "kind": challenge.entity.kind.value, "name": challenge.entity.name}
    if challenge.focus is not None:
        out["place"] = {"id": challenge.focus.id, "name": challenge.focus.name, "country": challenge.focus.country,
                        "local_governments": challenge.focus.local_governments}
    return out


def link(hub: Any, text: str | None = None, entity: str | None = None, *, place: str | None = None,
         filters: Mapping[str, Any] | None = None, want: str | Iterable[str] | None = None, limit: int = 5,
         caller: Caller = ANONYMOUS, today: date | None = None) -> LinkResult:
    """Ranked, explained sections for a challenge text and/or an entity (see ``Hub.link``)."""
    t0, c0 = time.perf_counter(), time.thread_time()
    if not 1 <= limit <= 50:
        raise Invalid("limit must be between 1 and 50", field="limit")
    if filters is not None and not isinstance(filters, Mapping):
        raise Invalid("filters must be a mapping", field="filters")
    today = today or date.today()
    challenge = build_challenge(hub, text, entity, place, caller)
    reverse = isinstance(challenge.entity, Opportunity) and not (text and text.strip())
    sections = check_want(want, REVERSE_SECTIONS if reverse else SECTIONS)
    timings = {"challenge": round((time.perf_counter() - t0) * 1000, 1)}
    cpu_ms = {"challenge": round((time.thread_time() - c0) * 1000, 1)}
    out: dict[str, list[LinkItem]] = {}
    flt = dict(filters or {})
    for name in sections:
        t1, c1 = time.perf_counter(), time.thread_time()
        if name in SEARCH_SECTIONS:
            out[name] = search_section(hub, name, challenge, filters=flt, limit=limit, caller=caller, today=today)
        elif name == "peer_cities":
            out[name] = peer_city_section(hub, challenge, filters=flt, limit=limit, caller=caller, today=today)
        else:
            out[name] = profile_section(hub, name, challenge, filters=flt, limit=limit, caller=caller, today=today)
        # an item with nothing in its favour (score 0, no reason) is noise, not a suggestion
        out[name] = [item for item in out[name] if item.score > 0 and any(r.strip(" :") for r in item.reasons)]
        timings[name] = round((time.perf_counter() - t1) * 1000, 1)
        cpu_ms[name] = round((time.thread_time() - c1) * 1000, 1)
    desc = describe(challenge)
    if reverse:
        desc["reverse"] = "who should hear of this call"
    cpu_ms["total"] = round((time.thread_time() - c0) * 1000, 1)
    return LinkResult(challenge=desc, sections=out, took_ms=round((time.perf_counter() - t0) * 1000, 1),
                      timings=timings, cpu_ms=cpu_ms)


def fit(hub: Any, entity_id: str, text: str, *, caller: Caller = ANONYMOUS, today: date | None = None) -> Fit:
    """How well a person, organisation or city fits a text, in 0..1 (see ``Hub.fit``)."""
    return fit_many(hub, [entity_id], text, caller=caller, today=today)[0]


def fit_many(hub: Any, entity_ids: Iterable[str], text: str, *, caller: Caller = ANONYMOUS,
             today: date | None = None) -> list[Fit]:
    """``fit`` of several people, organisations or cities to one text, in the order given: the text is tagged,
    key-phrased and embedded once and each kind's profiles are scored once (see ``Hub.fit_many``). ``today``
    is the reference date of the recency component (default: the hub's clock)."""
    if not (text and text.strip()):
        raise Invalid("give a text", field="text")
    records = []
    for entity_id in entity_ids:
        record = visible_record(hub, entity_id, caller)
        if not isinstance(record, Person | Organization | Place):
            raise Invalid(f"'{entity_id}' is a {record.kind.value}, not a person, organisation or city",
                          field="entity")
        records.append(record)
    if not records:
        raise Invalid("give at least one entity", field="entity")
    today = today or date.today()
    idx = profile_index(hub)
    names = label_names()
    profiled = [r.id for r in records if idx.position(r.id) is not None]
    challenge = from_text(hub, text, idx.vector_model) if profiled else None
    comps_of = expertise.components(hub, profiled, challenge, idx, today) if challenge is not None else {}
    explained = explain_profiles(hub, profiled, challenge, caller, idx) if challenge is not None else {}
    out = []
    for record in records:
        if record.id not in comps_of:
            out.append(Fit(record.id, record.name, 0.0, dict.fromkeys(FIT_COMPONENTS, 0.0),
                           f"no expertise profile: nothing is linked to {record.name}"))
            continue
        assert challenge is not None
        comps = comps_of[record.id]
        score = expertise.score(comps)
        reasons, evidence = explained.get(record.id, ([], {}))
        reasons, evidence = list(reasons), dict(evidence)
        if not comps["themes"] and not comps["keywords"] and not comps.get("lexical"):
            reasons = ["no theme or keyword of the text in its profile", *reasons]
        if challenge.labels:
            evidence["text_labels"] = [label_name(lab, names) for lab in challenge.labels]
        out.append(Fit(record.id, record.name, score, comps, "; ".join(reasons), list(reasons), evidence))
    return out


__all__ = ["FIT_COMPONENTS", "Fit", "KINDS", "LinkItem", "LinkResult", "NotFound", "SECTIONS", "check_want", "fit",
           "fit_many", "link"]
