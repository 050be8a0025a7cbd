"""Enrichment: batch-shaped, side-effect-free steps (list in, list out) and the pipeline that runs them.

- :func:`detect_languages` - language(s) of each text, with shares for mixed texts
- :class:`~citybridge.enrich.sdg.Tagger` - SDG goals/targets, pathways and user taxonomies with evidence
- :func:`recognize_places` - city, region and country mentions linked to the shipped gazetteer
- :func:`geocode` - an organisation's city/country/address fields to a gazetteer place
- :func:`extract_keywords` - key phrases per text
- :func:`get_embedder` - text embedders (default: static wordllama; optional MiniLM) and :func:`chunk_text`
- :func:`place_records` - the gazetteer as :class:`citybridge.model.Place` records for the store
- :class:`~citybridge.enrich.pipeline.Step` - the step protocol; :func:`register_step` adds one
"""

from citybridge.enrich.chunking import Passage, chunk_text
from citybridge.enrich.embed import Embedder, available_embedders, get_embedder, register_embedder
from citybridge.enrich.gazetteer import Gazetteer, GazetteerEntry, load_gazetteer, place_records
from citybridge.enrich.geocode import PlaceMatch, geocode, geocode_many
from citybridge.enrich.keywords import Keyword, extract_keywords
from citybridge.enrich.language import LangResult, LangSegment, detect_language, detect_languages
from citybridge.enrich.pipeline import Annotation, Step, StepOutput, make_steps, register_step
from citybridge.enrich.places import PlaceContext, PlaceMention, recognize_places

__all__ = [
    "Annotation", "Embedder", "Gazetteer", "GazetteerEntry", "Keyword", "LangResult", "LangSegment",
    "Passage", "PlaceContext", "PlaceMatch", "PlaceMention", "Step", "StepOutput", "available_embedders",
    "chunk_text", "detect_language", "detect_languages", "extract_keywords", "geocode", "geocode_many",
    "get_embedder", "load_gazetteer", "make_steps", "place_records", "recognize_places", "register_embedder",
    "register_step",
]
