from __future__ import annotations

import pytest

DOCS = [
    {
        "title": "Green roofs in Lisbon",
        "abstract": "Green roofs cool cities and reduce the urban heat island.",
    },
    {
        "title": "Urban heat island in Porto",
        "abstract": "Measurements of the heat island effect across Porto.",
    },
    {"title": "Cycling infrastructure", "abstract": "Protected bike lanes increase cycling in Copenhagen."},
    {"title": "Island ecology", "abstract": "Heat tolerance of island species; no urban context."},
    {
        "title": "Rainwater harvesting",
        "abstract": "Roofs collect rainwater for reuse in dry cities like Seville.",
    },
    {"title": "Energy retrofits", "abstract": "Insulating social housing lowers heating bills in Rotterdam."},
]


@pytest.fixture
def docs() -> list[dict[str, str]]:
    return [dict(d) for d in DOCS]
