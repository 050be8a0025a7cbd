"""The link indexes (expertise profiles, cities, partner graph) as versioned on-disk artifacts, memory-mapped
read-only by every process that serves the same store.

One directory per index and store state, ``<data>/link-index/<name>-<fingerprint hash>/``, in the layout of
:mod:`citybridge.search.artifacts` (``.npy`` arrays + ``fields.json`` for names and small mappings + a
manifest with sizes and checksums written last). A process that needs an index for the store's current
state maps that directory when it exists; otherwise it takes ``<name>.lock`` (``flock``), checks again (the
process that held the lock may have just built it), builds the index from the store, writes it to a temporary
directory and renames it into place: the first of N worker processes builds, the others map its files, so
the arrays sit once in the page cache. Directories of older store states are removed after a new one is in
place (processes that still map them keep their pages until they move on). A directory that fails its
checks is ignored and built again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from citybridge.search.artifacts import (
    ArtifactReader,
    ArtifactWriter,
    IndexArtifactError,
    atomic_write_bytes,
)

log = logging.getLogger("citybridge.link")

FORMAT = "citybridge.link"
VERSION = 1
FIELDS = "fields"
#: store states kept per index (the current one and the one before)
KEEP = 2


def artifact_root(hub: Any) -> Path | None:
    """``<data>/link-index`` beside the search index directory, or None when the hub has none."""
    searcher = hub.__dict__.get("searcher") or getattr(hub, "searcher", None)
    directory = getattr(searcher, "dir", None)
    if directory is None:
        return None
    return Path(directory).with_name("link-index")


def fingerprint_key(fp: Any) -> str:
    """A short stable name for a store fingerprint (see ``_derived.fingerprint``)."""
    return hashlib.sha256(json.dumps(fp, default=str).encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------- encoding
def _encode(v: Any) -> Any:
    if isinstance(v, tuple):
        return {"__tuple__": [_encode(x) for x in v]}
    if isinstance(v, list):
        return [_encode(x) for x in v]
    if isinstance(v, dict):
        return {"__dict__": [[_encode(k), _encode(x)] for k, x in v.items()]}
    if isinstance(v, np.generic):
        return v.item()
    if v is None or isinstance(v, str | int | float | bool):
        return v
    raise TypeError(f"cannot store a {type(v).__name__} in a link artifact")


def _decode(v: Any) -> Any:
    if isinstance(v, list):
        return [_decode(x) for x in v]
    if isinstance(v, dict):
        if "__tuple__" in v:
            return tuple(_decode(x) for x in v["__tuple__"])
        if "__dict__" in v:
            return {_decode(k): _decode(x) for k, x in v["__dict__"]}
    return v


def save(obj: Any, directory: Path, name: str, fingerprint: str) -> None:
    """Write the public fields of a dataclass of arrays, sparse matrices and plain values to ``directory``."""
    from scipy import sparse

    w = ArtifactWriter(directory, f"{FORMAT}.{name}", VERSION)
    kinds: dict[str, Any] = {}
    plain: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if f.name.startswith("_"):
            continue  # derived lookups, rebuilt on load
        v = getattr(obj, f.name)
        if isinstance(v, np.ndarray):
            w.add(f.name, np.ascontiguousarray(v))
            kinds[f.name] = "array"
        elif sparse.issparse(v):
            fmt = v.format if v.format in ("csr", "csc") else "csr"
            m = v.asformat(fmt)
            m.sort_indices()
            for part in ("data", "indices", "indptr"):
                w.add(f"{f.name}.{part}", np.ascontiguousarray(getattr(m, part)))
            kinds[f.name] = {"sparse": fmt, "shape": list(m.shape)}
        else:
            plain[f.name] = _encode(v)
            kinds[f.name] = "plain"
    path = Path(directory) / f"{FIELDS}.json"
    atomic_write_bytes(path, json.dumps(plain, ensure_ascii=False, separators=(",", ":")).encode())
    w.add_file(FIELDS, path)
    w.commit({"fingerprint": fingerprint, "class": type(obj).__name__, "kinds": kinds})


def load(cls: type, directory: Path, name: str, fingerprint: str) -> Any:
    """The object :func:`save` wrote, its arrays memory-mapped read-only; ``IndexArtifactError`` when the
    directory is not a whole artifact of this name, version and store state."""
    from scipy import sparse

    r = ArtifactReader(directory, f"{FORMAT}.{name}", VERSION, expect={"fingerprint": fingerprint,
                                                                          "class": cls.__name__})
    plain = json.loads(r.path(FIELDS).read_text("utf-8"))
    values: dict[str, Any] = {}
    for field_name, kind in r.manifest["kinds"].items():
        if kind == "array":
            values[field_name] = r.array(field_name)
        elif kind == "plain":
            values[field_name] = _decode(plain[field_name])
        else:
            parts = [r.array(f"{field_name}.{p}") for p in ("data", "indices", "indptr")]
            make = sparse.csr_matrix if kind["sparse"] == "csr" else sparse.csc_matrix
            values[field_name] = make(tuple(parts), shape=tuple(kind["shape"]), copy=False)
    obj = cls(**values)
    after = getattr(obj, "after_load", None)
    if after is not None:
        after()
    return obj


# ---------------------------------------------------------------------------------------------- sharing
@contextlib.contextmanager
def _locked(path: Path) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path``; yields False (no lock) when the folder cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+b")  # noqa: SIM115 - closed below
    except OSError as e:
        log.warning("link indexes cannot be shared through %s (%s); each process builds its own", path.parent, e)
        yield False
        return
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def shared(root: Path | None, name: str, fp: Any, cls: type, build: Callable[[], Any]) -> Any:
    """The index ``name`` of the store state ``fp``: mapped from ``root`` when a process built it already,
    else built (by one process at a time), saved and mapped. Without a ``root``, or when the artifact
    cannot be written, the index built in memory is returned."""
    if root is None:
        return build()
    key = fingerprint_key(fp)
    final = root / f"{name}-{key}"
    with contextlib.suppress(IndexArtifactError, OSError, KeyError, ValueError, TypeError):
        return load(cls, final, name, key)
    with _locked(root / f"{name}.lock") as writable:
        if not writable:
            return build()
        with contextlib.suppress(IndexArtifactError, OSError, KeyError, ValueError, TypeError):
            return load(cls, final, name, key)  # built by the process that held the lock
        obj = build()
        tmp = root / f".{name}-{key}.{os.getpid()}.tmp"
        try:
            shutil.rmtree(tmp, ignore_errors=True)
            save(obj, tmp, name, key)
            if final.exists():  # a broken one: replace it
                shutil.rmtree(final, ignore_errors=True)
            os.rename(tmp, final)
        except (OSError, TypeError) as e:
            log.warning("link index %s not saved as an artifact (%s); kept in memory", name, e)
            shutil.rmtree(tmp, ignore_errors=True)
            return obj
        # keep this state's and the one before (a process may be loading it right now), remove older ones
        others = sorted((d for d in root.glob(f"{name}-*") if d.is_dir() and d != final),
                        key=lambda d: d.stat().st_mtime, reverse=True)
        for old in others[KEEP - 1:]:
            shutil.rmtree(old, ignore_errors=True)
        try:
            return load(cls, final, name, key)
        except IndexArtifactError:  # pragma: no cover - just written and checked
            return obj


__all__ = ["artifact_root", "fingerprint_key", "load", "save", "shared"]
