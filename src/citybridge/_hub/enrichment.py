"""Hub methods for enrichment: steps, runs, tags, annotations, profiles."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from citybridge.model.access import Caller

if TYPE_CHECKING:
    from citybridge.model.entities import Record
    from citybridge.settings import Settings
    from citybridge.store import Store


class EnrichMixin:
    """Enrichment services. Mixed into :class:`citybridge.hub.Hub`."""

    store: Store
    settings: Settings
    _search: Any

    def get(self, record_id: str, *, caller: Caller | None = None) -> Record: ...  # provided by Hub

    # ------------------------------------------------------------------ enrichment
    def enrichment_steps(self, names: Iterable[str] | None = None) -> list[Any]:
        """The configured steps; the tagging step also learns the user taxonomies stored as themes."""
        from citybridge.enrich.pipeline import make_steps
        from citybridge.enrich.steps import TaggingStep

        chosen = list(names or self.settings.enrich_steps)
        xl = self.settings.crosslingual_embedder
        if names is None and xl and f"embed:{xl}" not in chosen:
            chosen.append(f"embed:{xl}")  # the cross-lingual channel's vectors (one setting switches it on)
        steps = make_steps(chosen)
        user = [t for t in self.store.iter_records("theme") if t.scheme not in ("sdg", "pathway")]  # type: ignore[attr-defined]
        return [TaggingStep(user) if isinstance(s, TaggingStep) else s for s in steps]

    def enrich(self, steps: Iterable[str] | None = None, *, workers: int | None = None,
               progress: Callable[[int], None] | None = None, profiles: bool = True) -> Any:
        """Run the enrichment steps over every record they have not seen in their current version, then
        update the expertise profiles that depend on what changed. Returns an ``EnrichReport``.

        CLI: ``citybridge enrich [--step tags --step places] [--workers 2] [--json]``.
        """
        from citybridge.enrich.profiles import build_profiles, dirty_entities
        from citybridge.enrich.runner import Enricher
        from citybridge.store.enrichment import EnrichmentStore

        chosen = self.enrichment_steps(steps)
        es = EnrichmentStore(self.store)
        interrupted = profiles and es.begin_profiles()
        # steps that cannot run in forked workers (e5) run afterwards in this process, so the others keep theirs
        # and no worker is forked from a process that has already embedded with them
        forkable = [s for s in chosen if getattr(s, "fork_safe", True)]
        in_process = [s for s in chosen if not getattr(s, "fork_safe", True)]
        enricher = Enricher(self.store, forkable or chosen, workers=workers or self.settings.workers,
                            progress=progress)
        report, touched = enricher.run()
        if forkable and in_process:
            more, touched_more = Enricher(self.store, in_process, workers=1, progress=progress).run()
            for name, n in more.steps.items():
                report.steps[name] = report.steps.get(name, 0) + n
            report.annotations += more.annotations
            report.relations += more.relations
            report.vectors += more.vectors
            report.seconds += more.seconds
            touched |= touched_more
        if profiles and (touched or interrupted):
            model = next((s.embedder.model_id for s in enricher.steps if getattr(s, "model", None)), None)
            everything = interrupted or len(touched) > 20_000
            report.profiles = build_profiles(self.store, None if everything else dirty_entities(self.store, touched),
                                             model=model)
        if profiles:
            es.end_profiles()
        return report

    def crosslingual_embedder(self) -> Any:
        """The embedder of the cross-lingual channel (setting ``crosslingual_embedder``, e.g. ``e5``), or None
        when it is off or its package is not installed (search and link then work without it)."""
        from citybridge.enrich.embed import get_embedder
        from citybridge.errors import Unavailable

        name = self.settings.crosslingual_embedder
        if not name:
            return None
        try:
            return get_embedder(name)
        except Unavailable:
            return None

    def pending_enrichment(self) -> dict[str, int]:
        """How many records each configured step still has to process."""
        from citybridge.enrich.runner import Enricher

        plan = Enricher(self.store, self.enrichment_steps()).plan()
        counts: dict[str, int] = {}
        for steps in plan.values():
            for step in steps:
                counts[step.name] = counts.get(step.name, 0) + 1
        return counts

    def tagging_step(self) -> Any:
        """The tagging step with the stored user taxonomies, built once per store state (reading every theme
        and compiling the tagger costs far more than tagging one text)."""
        from citybridge.link._derived import cached
        from citybridge.model.access import CURATOR

        return cached(self, "tagging_step", self.store, CURATOR, lambda: self.enrichment_steps(["tags"])[0])

    def tag(self, texts: Iterable[str], *, lang: str | None = None) -> list[list[Any]]:
        """SDG/pathway/user-taxonomy labels with scores and evidence for free texts; nothing is stored."""
        return self.tagging_step().tagger.tag(list(texts), lang=lang)  # type: ignore[no-any-return]

    def annotations(self, record_id: str) -> dict[str, list[dict[str, Any]]]:
        """A record's enrichment results by step (language, tags, places, keywords)."""
        from citybridge.store.enrichment import EnrichmentStore

        out: dict[str, list[dict[str, Any]]] = {}
        for ann in EnrichmentStore(self.store).annotations_of(self.get(record_id).id):
            out.setdefault(ann["step"], []).append(ann)
        return out

    def profile(self, entity_id: str) -> dict[str, Any] | None:
        """The expertise profile of a person, organisation or city, or None if nothing is linked to it."""
        from citybridge.store.enrichment import EnrichmentStore

        return EnrichmentStore(self.store).profile(self.get(entity_id).id)

