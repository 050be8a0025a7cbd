"""Versioned on-disk artifacts: ``.npy`` arrays + a JSON manifest, written atomically, loaded with mmap.

Layout of an index directory::

    manifest.json      {"format": "citybridge.lexical", "version": 1, "fingerprint": ..., "files": {...}, ...}
    <name>.npy         one file per array (no pickle: object arrays are refused)

Every file is written to a temporary name, fsynced and moved into place with :func:`os.replace`; the
manifest goes last and records each file's size and SHA-256, so a crash between two files leaves a manifest
that no longer matches and the next load raises :class:`CorruptIndex` (the service layer rebuilds).
Readers that already mmapped the old files keep the old inodes, so a rebuild never breaks running queries.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from citybridge.errors import CitybridgeError
from citybridge.store.backup import sha256_file

MANIFEST = "manifest.json"
#: Verify checksums on load when the artifact is at most this big (bytes); above, sizes and shapes only.
VERIFY_LIMIT = 256 * 1024 * 1024


class IndexArtifactError(CitybridgeError):
    """An index artifact cannot be used as it is; rebuild it from the store."""

    code = "index_unusable"
    status = 503


class CorruptIndex(IndexArtifactError):
    """Missing, truncated or tampered files, or an unreadable manifest."""

    code = "index_corrupt"


class StaleIndex(IndexArtifactError):
    """Readable, but built by another format version, analysis or source state than the one expected."""

    code = "index_stale"


@contextlib.contextmanager
def atomic_open(path: Path) -> Iterator[BinaryIO]:
    """A binary file that appears at ``path`` whole or not at all: written to a temp name, fsynced and moved into
    place with :func:`os.replace` when the block ends without an exception (the temp file is removed otherwise)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file + fsync + :func:`os.replace`."""
    with atomic_open(path) as f:
        f.write(data)


class ArtifactWriter:
    """Collects arrays into ``directory`` and finishes with the manifest.

    >>> w = ArtifactWriter(path, "citybridge.lexical", version=1)   # doctest: +SKIP
    >>> w.add("impacts", impacts); w.commit(meta={...})              # doctest: +SKIP
    """

    def __init__(self, directory: str | os.PathLike[str], fmt: str, version: int) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fmt = fmt
        self.version = version
        self.files: dict[str, dict[str, Any]] = {}

    def add(self, name: str, array: np.ndarray) -> None:
        """Write one array as ``<name>.npy`` (atomically) and remember its size and checksum.

        A memory-mapped array is copied in slices whose pages are released as they are written, so
        saving a matrix larger than memory does not pull it all into this process's resident set."""
        if isinstance(array, np.memmap) and array.ndim >= 1 and array.flags.c_contiguous:
            rows = max(1, (64 << 20) // max(1, array[:1].nbytes))
            self.add_stream(name, array.dtype, array.shape,
                            (_released(array, array[i:i + rows]) for i in range(0, len(array), rows)))
            return
        array = np.asarray(array)
        if array.dtype.hasobject:
            raise TypeError(f"array {name!r} has dtype object; artifacts never pickle")
        path = self.dir / f"{name}.npy"
        with atomic_open(path) as f:
            np.save(f, array, allow_pickle=False)
        self._register(name, path, array.dtype, array.shape)

    def add_stream(self, name: str, dtype: Any, shape: tuple[int, ...], pieces: Iterable[np.ndarray]) -> None:
        """Write ``<name>.npy`` of a known ``shape`` from consecutive pieces (row blocks in C order), so an
        array never has to exist whole in memory; same file, checks and atomicity as :meth:`add`."""
        dtype = np.dtype(dtype)
        if dtype.hasobject:
            raise TypeError(f"array {name!r} has dtype object; artifacts never pickle")
        shape = tuple(int(x) for x in shape)
        path = self.dir / f"{name}.npy"
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        with atomic_open(path) as f:
            header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
            np.lib.format.write_array_header_1_0(f, header)
            written = 0
            for piece in pieces:
                data = np.ascontiguousarray(piece, dtype=dtype)
                f.write(memoryview(data).cast("B"))
                written += data.nbytes
            if written != expected:
                raise ValueError(f"array {name!r}: {written} bytes written for shape {shape} ({expected})")
        self._register(name, path, dtype, shape)

    def _register(self, name: str, path: Path, dtype: np.dtype, shape: tuple[int, ...]) -> None:
        self.files[name] = {
            "file": path.name,
            "dtype": dtype.str,
            "shape": list(shape),
            "bytes": path.stat().st_size,
            "sha256": sha256_file(path),
        }

    def add_file(self, name: str, path: Path) -> None:
        """Register an already atomically written non-npy file (e.g. an HNSW graph)."""
        self.files[name] = {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}

    def commit(self, meta: dict[str, Any]) -> None:
        """Write the manifest last: only now does the new artifact become the one that loads."""
        manifest = {"format": self.fmt, "version": self.version, "files": self.files, **meta}
        atomic_write_bytes(self.dir / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())


def release_pages(array: np.ndarray) -> None:
    """Drop the resident pages of a file-backed (memory-mapped) array from this process: they stay in the
    page cache, so the next touch is a cheap minor fault, but they stop counting in the process's RSS.
    A no-op for ordinary arrays and for copy-on-write maps (their pages may hold unsaved changes)."""
    if getattr(array, "mode", None) in ("c", "copyonwrite"):
        return
    base: Any = array
    while base is not None:
        m = getattr(base, "_mmap", None)
        if isinstance(m, mmap.mmap):
            base = m
        if isinstance(base, mmap.mmap):
            if hasattr(mmap, "MADV_DONTNEED"):
                base.madvise(mmap.MADV_DONTNEED)
            return
        base = getattr(base, "base", None)


def _released(source: np.ndarray, piece: np.ndarray) -> np.ndarray:
    out = np.array(piece)  # copy out of the mapping, then let the mapping's pages go
    release_pages(source)
    return out


class ArtifactReader:
    """Opens an artifact directory, checks format/version/fingerprint and maps its arrays.

    Args:
        directory: the artifact folder.
        fmt, version: what the caller can read; anything else is :class:`StaleIndex`.
        expect: manifest entries that must match (e.g. ``{"fingerprint": store_revision}``), else stale.
        verify: check SHA-256 of every file; None = only when the artifact is small (``VERIFY_LIMIT``).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        fmt: str,
        version: int,
        *,
        expect: dict[str, Any] | None = None,
        verify: bool | None = None,
    ) -> None:
        self.dir = Path(directory)
        where = str(self.dir)
        try:
            self.manifest: dict[str, Any] = json.loads((self.dir / MANIFEST).read_text("utf-8"))
        except FileNotFoundError as e:
            raise CorruptIndex(
                "no manifest.json: the index was never built or its build was interrupted", where=where
            ) from e
        except (ValueError, UnicodeDecodeError) as e:
            raise CorruptIndex(f"unreadable manifest.json ({e})", where=where) from e
        if self.manifest.get("format") != fmt:
            raise StaleIndex(
                f"artifact format is {self.manifest.get('format')!r}, expected {fmt!r}", where=where
            )
        if self.manifest.get("version") != version:
            raise StaleIndex(
                f"artifact version {self.manifest.get('version')} != supported {version}", where=where
            )
        for key, value in (expect or {}).items():
            if self.manifest.get(key) != value:
                raise StaleIndex(
                    f"artifact {key} is {self.manifest.get(key)!r}, expected {value!r}", where=where
                )
        files = self.manifest.get("files")
        if not isinstance(files, dict):
            raise CorruptIndex("manifest has no file list", where=where)
        total = 0
        for name, info in files.items():
            path = self.dir / info["file"]
            if not path.is_file():
                raise CorruptIndex(f"missing file {info['file']} ({name})", where=where)
            size = path.stat().st_size
            if size != info["bytes"]:
                raise CorruptIndex(
                    f"{info['file']} has {size} bytes, manifest says {info['bytes']}", where=where
                )
            total += size
        if verify is None:
            verify = total <= VERIFY_LIMIT
        if verify:
            for name, info in files.items():
                if sha256_file(self.dir / info["file"]) != info["sha256"]:
                    raise CorruptIndex(f"checksum mismatch in {info['file']} ({name})", where=where)

    def array(self, name: str, *, mmap: bool = True) -> np.ndarray:
        """The array ``name``, memory-mapped read-only unless ``mmap=False``."""
        info = self.manifest["files"].get(name)
        if info is None:
            raise CorruptIndex(f"manifest lists no array {name!r}", where=str(self.dir))
        try:
            arr = np.load(self.dir / info["file"], mmap_mode="r" if mmap else None, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise CorruptIndex(f"cannot read {info['file']}: {e}", where=str(self.dir)) from e
        if arr.dtype.str != info["dtype"] or list(arr.shape) != info["shape"]:
            raise CorruptIndex(
                f"{info['file']} is {arr.dtype.str}{list(arr.shape)}, manifest says "
                f"{info['dtype']}{info['shape']}",
                where=str(self.dir),
            )
        return arr

    def path(self, name: str) -> Path:
        return self.dir / self.manifest["files"][name]["file"]
