"""Enrichment steps: batch-shaped, side-effect-free functions (list in, list out).

- :func:`detect_languages` - language(s) of each text, with shares for mixed texts
- :func:`recognize_places` - city, region and country mentions linked to the shipped gazetteer
- :func:`geocode` - an organisation's city/country/address fields to a gazetteer place
- :func:`extract_keywords` - key phrases per text
- :func:`place_records` - the gazetteer as :class:`citybridge.model.Place` records for the store
"""

from citybridge.enrich.gazetteer import Gazetteer, GazetteerEntry, load_gazetteer, place_records
from citybridge.enrich.geocode import PlaceMatch, geocode, geocode_many
from citybridge.enrich.keywords import Keyword, extract_keywords
from citybridge.enrich.language import LangResult, LangSegment, detect_language, detect_languages
from citybridge.enrich.places import PlaceContext, PlaceMention, recognize_places

__all__ = [
    "Gazetteer",
    "GazetteerEntry",
    "Keyword",
    "LangResult",
    "LangSegment",
    "PlaceContext",
    "PlaceMatch",
    "PlaceMention",
    "detect_language",
    "detect_languages",
    "extract_keywords",
    "geocode",
    "geocode_many",
    "load_gazetteer",
    "place_records",
    "recognize_places",
]
