"""The chunked wordllama encoder gives the library's own token ids and embeddings."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("wordllama")

from citybridge.enrich.sdg_knowledge import wordllama_model  # noqa: E402
from citybridge.enrich.wordllama_pool import chunked_encoder  # noqa: E402

ODD = ["", " ", "a  ", "  leading", "tab\there\nnewline", "x \u2581 y\u2581z", "Ünïcødé 北京 😀 --- ", "end  "]


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return wordllama_model()


def test_ids_and_vectors_equal_wordllama(model, scifact_texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    encoder = chunked_encoder(model)
    assert encoder is not None
    texts = scifact_texts + ODD
    for text in texts:
        assert encoder.ids(text) == model.tokenizer.encode(text, add_special_tokens=False).ids, text[:60]
    with np.errstate(invalid="ignore"):
        expected = model.embed(texts, norm=True)
    got = encoder.embed(texts)
    assert np.array_equal(np.isnan(expected), np.isnan(got))
    assert np.nanmax(np.abs(expected - got)) < 1e-5


def test_encoders_of_one_tokenizer_share_chunk_ids(model, scifact_texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    first, second = chunked_encoder(model), chunked_encoder(model)
    assert first is not None and second is not None
    assert first.cache is second.cache  # the tagger's and the embedding step's encoders tokenise a chunk once
    texts = scifact_texts[:20] + ODD
    warm = [first.ids(t) for t in texts]  # fills the shared table
    for text, ids in zip(texts, warm, strict=True):
        assert second.ids(text) == ids == model.tokenizer.encode(text, add_special_tokens=False).ids


def test_recent_vectors_are_the_vectors_embedding_gives(scifact_texts: list[str]) -> None:
    from citybridge.enrich.embed import WordLlamaEmbedder

    embedder = WordLlamaEmbedder()
    texts = scifact_texts[:30] + ODD
    fresh = embedder.embed(texts)
    # a later call mixing remembered and new texts returns bit-identical rows, in its own order
    again = embedder.embed(["a new text about flooding"] + texts[::-1])
    assert np.array_equal(again[1:], fresh[::-1])
    alone = WordLlamaEmbedder().embed(["a new text about flooding"])
    assert np.array_equal(again[:1], alone)
    again[1, :] = 0.0  # callers may write into what they get: the remembered vector is not theirs
    assert np.array_equal(embedder.embed(texts[-1:]), fresh[-1:])
