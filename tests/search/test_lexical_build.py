"""The bounded-memory build (spilled pairs, buckets of terms) writes exactly the in-memory build's arrays."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from citybridge.search import LexicalIndex, VectorIndex
from citybridge.search.artifacts import ArtifactReader, ArtifactWriter, release_pages

WORDS = ["green", "roof", "heat", "island", "urban", "cycling", "lane", "flood", "water", "energy",
         "retrofit", "housing", "Lisbon", "Porto", "Seville", "Rotterdam", "städtische", "Wärmeinsel",
         "énergie", "rénovation", "logement", "inondation", "eau", "2030", "CO2"]


def corpus(n: int, seed: int = 3) -> list[dict[str, str]]:
    rng = random.Random(seed)
    return [{"title": " ".join(rng.choices(WORDS, k=rng.randint(0, 6))),
             "abstract": " ".join(rng.choices(WORDS, k=rng.randint(0, 40))),
             "keywords": " ; ".join(rng.choices(WORDS, k=rng.randint(0, 3)))} for _ in range(n)]


def arrays(directory) -> dict[str, np.ndarray]:
    manifest = json.loads((directory / "manifest.json").read_text())
    r = ArtifactReader(directory, manifest["format"], manifest["version"])
    return {name: np.asarray(r.array(name)) for name in manifest["files"]}


@pytest.mark.parametrize("positions", [True, False])
def test_build_to_writes_the_same_arrays_as_an_in_memory_build(tmp_path, positions):
    docs = corpus(700)
    langs = [("en", "de", "fr")[i % 3] for i in range(len(docs))]
    ids = [f"rec-{i}" for i in range(len(docs))]
    LexicalIndex.build(docs, ids=ids, langs=langs, positions=positions, chunk_size=97).save(tmp_path / "mem")
    built = LexicalIndex.build_to(tmp_path / "disk", (d for d in docs), ids=ids, langs=langs, positions=positions,
                                  chunk_size=97, bucket_pairs=500)  # many chunks, many buckets
    a, b = arrays(tmp_path / "mem"), arrays(tmp_path / "disk")
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].dtype == b[name].dtype and np.array_equal(a[name], b[name]), name
    assert sorted(p.name for p in (tmp_path / "disk").iterdir() if p.name.startswith(".")) == []  # spill removed
    mem = LexicalIndex.load(tmp_path / "mem")
    for q in ("green roof", "heat island Lisbon", "énergie logement", '"urban cycling"' if positions else "lane"):
        assert mem.search(q, 20).docs.tolist() == built.search(q, 20).docs.tolist()


def test_build_to_handles_an_empty_corpus(tmp_path):
    idx = LexicalIndex.build_to(tmp_path / "empty", iter([]))
    assert idx.n_docs == 0 and len(idx.search("roof", 5).docs) == 0


def test_a_memory_mapped_array_is_saved_in_slices_and_its_pages_released(tmp_path):
    mm = np.lib.format.open_memmap(tmp_path / "src.npy", mode="w+", dtype=np.float32, shape=(3000, 16))
    mm[:] = np.random.default_rng(0).random((3000, 16), dtype=np.float32)
    mm.flush()
    src = np.load(tmp_path / "src.npy", mmap_mode="r")
    w = ArtifactWriter(tmp_path / "art", "test", 1)
    w.add("m", src)
    w.commit({})
    release_pages(src)  # harmless on a read-only map, and the data is still readable afterwards
    assert np.array_equal(ArtifactReader(tmp_path / "art", "test", 1, verify=True).array("m"), src)


def test_vector_index_from_a_memory_map_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    v = rng.normal(size=(500, 8)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    np.save(tmp_path / "v.npy", v)
    vi = VectorIndex.build(np.load(tmp_path / "v.npy", mmap_mode="r"), "toy", ann_threshold=100, add_batch=64)
    vi.save(tmp_path / "vec")
    back = VectorIndex.load(tmp_path / "vec")
    assert np.array_equal(np.asarray(back.vectors), v)
    exact = VectorIndex.build(v, "toy").search(v[7], 5).docs.tolist()
    assert back.search(v[7], 5).docs[0] == 7 and len(set(exact) & set(back.search(v[7], 5).docs.tolist())) >= 4
