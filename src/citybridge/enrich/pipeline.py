"""The enrichment pipeline: versioned, batch-shaped steps registered like plugins, run incrementally.

A step is a pure function over a batch of records (records in, annotations out); it never touches the
store, so a distributed engine can map it over partitions unchanged. The :class:`Enricher` picks the
records a step has not seen (new, changed since, or seen by an older version of the step), runs the steps
over batches (optionally in worker processes) and writes each batch's results in one transaction.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from citybridge.model.entities import Kind, Record, record_from_dict, record_to_dict

Evidence = dict[str, Any]  # {field, start, end, text, kind}


@dataclass(frozen=True, slots=True)
class Annotation:
    """One explainable result of a step about one record: a label with a score and its evidence."""

    label: str  # "sdg:11", "sdg:11.6", "pathway:resilient", "place:<id>", "kw:<phrase>", "lang:en"
    score: float
    target_id: str | None = None  # the theme or place record the label stands for
    evidence: tuple[Evidence, ...] = ()
    relation: str | None = None  # a relation type to materialise towards target_id ("about", "located_in")


@dataclass(slots=True)
class Vectors:
    """Embedding output for one record: passages with offsets and their vectors, plus a record vector."""

    model: str
    passages: list[tuple[str, int, int]]  # (field, start, end)
    vectors: Any  # np.ndarray (n_passages, dim), float32, normalised
    record_vector: Any  # np.ndarray (dim,)


@dataclass(slots=True)
class StepOutput:
    annotations: list[Annotation] = field(default_factory=list)
    vectors: Vectors | None = None


@runtime_checkable
class Step(Protocol):
    """An enrichment step. ``version`` changes whenever its results would change (code, model, data)."""

    name: str
    kinds: frozenset[Kind] | None  # None: every kind

    @property
    def version(self) -> str: ...

    def run(self, records: Sequence[Record], context: Context | None = None) -> list[StepOutput]:
        """One output per input record, in order. Pure: no I/O, no store access.

        ``context[i]`` holds the annotations earlier steps produced for record ``i`` in this batch, by step
        name (e.g. the detected language, which keyword extraction uses)."""
        ...


Context = list[dict[str, list[Annotation]]]

_REGISTRY: dict[str, Callable[[], Step]] = {}


def register_step(name: str, factory: Callable[[], Step]) -> None:
    """Register an enrichment step factory under ``name`` (built-ins register the same way)."""
    _REGISTRY[name] = factory


def make_steps(names: Iterable[str] | None = None) -> list[Step]:
    _load_builtins()
    from citybridge.errors import Invalid

    chosen = list(names) if names else list(_REGISTRY)
    unknown = [n for n in chosen if n not in _REGISTRY]
    if unknown:
        raise Invalid(f"unknown enrichment step(s): {', '.join(unknown)} (known: {', '.join(_REGISTRY)})",
                      field="steps")
    return [_REGISTRY[n]() for n in chosen]


def _load_builtins() -> None:
    from citybridge.enrich import steps  # noqa: F401  (registers the built-in steps)


# ---------------------------------------------------------------------------- text of a record
TEXT_FIELDS = ("name", "description", "body")


def record_text(record: Record, max_chars: int = 20_000) -> tuple[str, list[tuple[str, int, int]]]:
    """The record's texts joined by blank lines, and where each field sits in the joined text."""
    parts: list[str] = []
    spans: list[tuple[str, int, int]] = []
    pos = 0
    for name, text in record.text_fields().items():
        if not text or not text.strip():
            continue
        room = max_chars - pos
        if room <= 0:
            break
        text = text[:room]
        if parts:
            parts.append("\n\n")
            pos += 2
        parts.append(text)
        spans.append((name, pos, pos + len(text)))
        pos += len(text)
    return "".join(parts), spans


def locate(spans: list[tuple[str, int, int]], start: int, end: int) -> tuple[str, int, int]:
    """Map an offset range in the joined text back to (field, start, end) within that field."""
    for name, s, e in spans:
        if s <= start < e or (start == end == e):
            return name, start - s, min(end, e) - s
    return "text", start, end


# ---------------------------------------------------------------------------- running
@dataclass
class EnrichReport:
    steps: dict[str, int] = field(default_factory=dict)  # step -> records processed
    annotations: int = 0
    relations: int = 0
    vectors: int = 0
    profiles: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "annotations": self.annotations, "relations": self.relations,
                "vectors": self.vectors, "profiles": self.profiles, "seconds": round(self.seconds, 2)}


_WORKER_STEPS: list[Step] = []

#: (step, record indices it ran on, one output per such record)
BatchResult = list[tuple[str, list[int], list[StepOutput]]]


def needs_text(step: Step, record: Record) -> bool:
    """Steps marked ``text_only`` skip records that have nothing but a name (language and key phrases of a
    bare name are noise); they are still marked done for the record."""
    if not getattr(step, "text_only", False):
        return True
    return bool(getattr(record, "description", None) or getattr(record, "body", None))


def run_steps(steps: Sequence[Step], records: list[Record], todo: list[set[str]]) -> BatchResult:
    """Run the steps in order over one batch; ``todo[i]`` names the steps record ``i`` still needs.
    Earlier steps' annotations reach later ones as ``context``. Pure: no store access."""
    context: Context = [{} for _ in records]
    out: BatchResult = []
    for step in steps:
        idx = [i for i, r in enumerate(records) if step.name in todo[i] and needs_text(step, r)]
        outs = step.run([records[i] for i in idx], [context[i] for i in idx]) if idx else []
        for i, o in zip(idx, outs, strict=True):
            context[i][step.name] = o.annotations
        out.append((step.name, idx, outs))
    return out


def _worker_init(steps: list[Step]) -> None:
    global _WORKER_STEPS
    _WORKER_STEPS = steps


def _worker_batch(bodies: list[dict[str, Any]], todo: list[set[str]]) -> BatchResult:
    return run_steps(_WORKER_STEPS, [record_from_dict(b) for b in bodies], todo)


class StepRunner:
    """Runs whole batches (every step, in order) in this process or in worker processes.

    With workers, batches are submitted ahead (``submit``) and collected in order (``result``), so the
    workers compute the next batches while the caller writes the current one.
    """

    def __init__(self, steps: list[Step], workers: int | None = None) -> None:
        self.steps = steps
        n = workers if workers is not None else min(2, os.cpu_count() or 1)
        self.workers = max(1, n)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> StepRunner:
        if any(not getattr(step, "fork_safe", True) for step in self.steps):
            # e.g. torch: its thread pools do not survive fork(); such models run in this process and use
            # their own threads instead
            self.workers = 1
        if self.workers > 1:
            # load models in this process first, so that forked workers share them instead of each loading
            from citybridge.model.entities import Document

            probe = [Document(name="Warm-up: urban heat and flooding in Lisbon", description="Warm-up text.")]
            for step in self.steps:
                step.run(probe, None)
            import multiprocessing as mp

            ctx = mp.get_context("fork") if hasattr(os, "fork") else mp.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_worker_init,
                                             initargs=(self.steps,))
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    @property
    def ahead(self) -> int:
        """How many batches to keep in flight."""
        return 1 if self._pool is None else self.workers + 1

    def submit(self, records: list[Record], todo: list[set[str]]) -> Any:
        if self._pool is None:
            return run_steps(self.steps, records, todo)
        return self._pool.submit(_worker_batch, [record_to_dict(r) for r in records], todo)

    @staticmethod
    def result(handle: Any) -> BatchResult:
        return handle if isinstance(handle, list) else handle.result()
