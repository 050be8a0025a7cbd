"""Sources of knowledge and the intake pipeline.

Built-in sources register in :data:`registry` exactly as third-party ones would.
"""

from citybridge.ingest import climate_adapt as _climate_adapt  # noqa: F401  (Climate-ADAPT funding programmes)
from citybridge.ingest import cordis as _cordis  # noqa: F401  (registers the CORDIS source)
from citybridge.ingest import documents as _documents  # noqa: F401  (registers the document source)
from citybridge.ingest import ec_news as _ec_news  # noqa: F401  (Commission news items in Markdown)
from citybridge.ingest import eu_calls as _eu_calls  # noqa: F401  (EU Funding & Tenders call topics)
from citybridge.ingest import feeds as _feeds  # noqa: F401  (registers the feed source)
from citybridge.ingest import openalex as _openalex  # noqa: F401  (registers the OpenAlex source)
from citybridge.ingest import ror as _ror  # noqa: F401  (registers the ROR source)
from citybridge.ingest import tabular as _tabular  # noqa: F401  (registers the tabular source)
from citybridge.ingest.base import Rejection, Source, SourceItem, SourceRegistry, registry
from citybridge.ingest.climate_adapt import ClimateAdaptFundingSource
from citybridge.ingest.cordis import CordisExportSource, H2020ParticipationSource, open_cordis
from citybridge.ingest.documents import DocumentSource
from citybridge.ingest.ec_news import EcNewsSource
from citybridge.ingest.eu_calls import EuCallsSource
from citybridge.ingest.export import Exporter
from citybridge.ingest.feeds import FeedRegistry, FeedSource
from citybridge.ingest.mapping import Mapping, build_record, build_relation
from citybridge.ingest.openalex import OpenAlexSnapshotSource
from citybridge.ingest.openalex_api import OpenAlexApiSource, OpenAlexClient
from citybridge.ingest.pipeline import Importer, ImportReport, run_import
from citybridge.ingest.resolve import ExactIdResolver, Resolution, Resolver
from citybridge.ingest.ror import RorSource
from citybridge.ingest.tabular import open_tabular
from citybridge.ingest.watch import Watcher, WatchSummary, open_source, watch

__all__ = [
    "ClimateAdaptFundingSource", "CordisExportSource", "DocumentSource", "EcNewsSource", "EuCallsSource",
    "ExactIdResolver", "Exporter", "FeedRegistry", "FeedSource",
    "H2020ParticipationSource", "ImportReport", "Importer", "Mapping", "OpenAlexApiSource", "OpenAlexClient",
    "OpenAlexSnapshotSource", "Rejection", "Resolution", "Resolver", "RorSource", "Source", "SourceItem",
    "SourceRegistry", "WatchSummary", "Watcher", "build_record", "build_relation", "open_cordis",
    "open_source", "open_tabular", "registry", "run_import", "watch",
]
