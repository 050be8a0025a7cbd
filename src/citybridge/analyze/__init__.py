"""Analyses over the store: overview counts, map layers, collaboration networks, network metrics (excellence,
brokers, pioneers), trends and gaps."""

from citybridge.analyze.geo import map_layers
from citybridge.analyze.network import collaboration_graph
from citybridge.analyze.overview import overview, un_regions

__all__ = ["collaboration_graph", "map_layers", "overview", "un_regions"]
