"""Linking: matchmaking with reasons - partners that complete a consortium, and peer cities.

Pure cores take prepared arrays (:class:`PartnerGraph`, :class:`CityIndex`) so evaluations can run them
without a store; ``Hub.suggest_partners`` and ``Hub.peer_cities`` build those arrays from the store.

>>> hub.suggest_partners(project="cordis:221856", constraints={"countries": ["PT"]})   # doctest: +SKIP
>>> hub.peer_cities(lisbon_id, weights={"profile": 4})                                  # doctest: +SKIP
"""

from citybridge.link.city_index import CityIndex
from citybridge.link.partner_graph import (
    TYPE_GROUPS,
    Participation,
    PartnerGraph,
    graph_from_h2020,
    read_h2020,
)
from citybridge.link.partner_signals import SIGNALS, PartnerQuery, compute_signals
from citybridge.link.partners import (
    DEFAULT_WEIGHTS as PARTNER_WEIGHTS,
)
from citybridge.link.partners import (
    PartnerConstraints,
    PartnerSuggestion,
    suggest_partners,
)
from citybridge.link.peer_cities import COMPONENTS as PEER_COMPONENTS
from citybridge.link.peer_cities import DEFAULT_WEIGHTS as PEER_WEIGHTS
from citybridge.link.peer_cities import PeerCity, peer_cities

__all__ = [
    "CityIndex", "PARTNER_WEIGHTS", "PEER_COMPONENTS", "PEER_WEIGHTS", "Participation", "PartnerConstraints",
    "PartnerGraph", "PartnerQuery", "PartnerSuggestion", "PeerCity", "SIGNALS", "TYPE_GROUPS",
    "compute_signals", "graph_from_h2020", "peer_cities", "read_h2020", "suggest_partners",
]
