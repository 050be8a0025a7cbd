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
