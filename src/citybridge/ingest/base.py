"""The Source protocol: anything that yields records and relations with provenance.

A source yields :class:`SourceItem` objects. Each carries either a ready ``Record``/``Relation``, a raw
row (a dict to be mapped by the intake pipeline), or a ``Rejection`` explaining why a piece of input could
not be read — with where it came from (file, line) so that the report can name it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from citybridge.model.entities import Record
from citybridge.model.relations import Relation


@dataclass(slots=True)
class Rejection:
    """Input that could not be turned into a record: where, which field, why."""

    where: str
    reason: str
    field: str | None = None


@dataclass(slots=True)
class SourceItem:
    """One unit a source yields; exactly one of ``record``, ``relation``, ``row``, ``rejection`` is set."""

    where: str
    record: Record | None = None
    relation: Relation | None = None
    row: dict[str, Any] | None = None
    kind: str | None = None  # kind hint for a raw row
    rejection: Rejection | None = None
    # a relation whose other end may legitimately be absent (a cited work, a parent organisation outside
    # the dump): if unresolved at the end it is counted in ``ImportReport.unresolved``, not rejected
    optional: bool = False
    # a reference record (an author or institution named on a paper): may repeat in one input; when the
    # record is already stored only its external ids and provenance are added (needs a resolver)
    stub: bool = False
    # fields that only fill a new record: a stored record keeps its value (e.g. the placeholder name
    # "H2020 project 193399" of the id-only participation graph never replaces a real title)
    keep: frozenset[str] = frozenset()
    # the record completes a stored one: its attributes are merged key by key into the stored record's
    # (a CORDIS export row adds titles and names without dropping the graph's programme parts)
    merge_attributes: bool = False


@runtime_checkable
class Source(Protocol):
    """A source of knowledge: a file, a folder, a feed, an API query, a registry dump."""

    name: str

    def items(self) -> Iterator[SourceItem]:
        """Yield items in input order; must stream (constant memory in the input size)."""
        ...


SourceFactory = Callable[..., Source]


def rejected(where: str, exc: Exception) -> SourceItem:
    """A rejection item for a record that failed validation: the first error's message and field."""
    errs = getattr(exc, "errors", None)
    if callable(errs):
        e = errs()[0]
        return SourceItem(where, rejection=Rejection(where, e["msg"], ".".join(map(str, e["loc"])) or None))
    return SourceItem(where, rejection=Rejection(where, str(exc)))


def existing_file(path: str | Path, what: str) -> Path:
    """``path`` as a Path; NotFound naming ``what`` when it is not a file."""
    from citybridge.errors import NotFound

    p = Path(path)
    if not p.is_file():
        raise NotFound(f"{what} not found", where=str(p))
    return p


class SourceRegistry:
    """Named source factories with a ``score(target)`` to pick the best one for a path or URL.

    Built-in sources register themselves exactly as third-party ones would (see ``ingest/__init__.py``).
    """

    def __init__(self) -> None:
        self._factories: dict[str, tuple[SourceFactory, Callable[[str], float]]] = {}

    def register(self, name: str, factory: SourceFactory, score: Callable[[str], float] | None = None) -> None:
        self._factories[name] = (factory, score or (lambda _target: 0.0))

    def names(self) -> list[str]:
        return sorted(self._factories)

    def get(self, name: str) -> SourceFactory:
        from citybridge.errors import NotFound

        try:
            return self._factories[name][0]
        except KeyError:
            raise NotFound(f"unknown source '{name}' (known: {', '.join(self.names())})") from None

    def score(self, name: str, target: str) -> float:
        """How well the source ``name`` fits ``target`` (0 when it does not)."""
        return self._factories[name][1](target) if name in self._factories else 0.0

    def best_for(self, target: str) -> str | None:
        """The registered source that scores highest for ``target`` (a path or URL), or None."""
        scored = [(score(target), name) for name, (_f, score) in self._factories.items()]
        scored = [s for s in scored if s[0] > 0]
        return max(scored)[1] if scored else None


registry = SourceRegistry()
