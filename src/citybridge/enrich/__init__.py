"""Batch-shaped enrichment steps (list in, list out): embeddings, passage chunking, ..."""

from citybridge.enrich.chunking import Passage, chunk_text
from citybridge.enrich.embed import Embedder, available_embedders, get_embedder, register_embedder

__all__ = ["Embedder", "Passage", "available_embedders", "chunk_text", "get_embedder", "register_embedder"]
