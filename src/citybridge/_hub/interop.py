"""Hub methods for interoperability: the OAI-PMH endpoint, the DCAT catalogue and the vocabulary document.

All three describe public records only, whoever asks: harvesters and portals republish what they read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from citybridge.errors import Invalid

if TYPE_CHECKING:
    from citybridge.interop.oai import OaiProvider
    from citybridge.settings import Settings
    from citybridge.store import Store


class InteropMixin:
    settings: Settings
    store: Store

    def oai_provider(self) -> OaiProvider:
        from citybridge.interop.oai import OaiProvider

        return OaiProvider(self.store, base=self.settings.iri_base, admin_email=self.settings.mail_from)

    def oai(self, args: Mapping[str, Sequence[str]]) -> str:
        """The OAI-PMH 2.0 response (XML) to a request's arguments, e.g. ``{"verb": ["Identify"]}``; protocol
        errors are answered in the XML, as the protocol wants."""
        return self.oai_provider().respond(args)

    def catalog(self, fmt: Literal["jsonld", "ttl"] = "jsonld") -> str:
        """The DCAT catalogue of the public exports, as JSON-LD or Turtle."""
        from citybridge.interop.dcat import catalog_graph

        if fmt not in ("jsonld", "ttl"):
            raise Invalid(f"unknown catalogue format '{fmt}' (jsonld, ttl)", field="format")
        base = self.settings.iri_base
        graph = catalog_graph(self.store, base=base, api_base=base + "/api/v1", publisher="citybridge",
                              email=self.settings.mail_from)
        if fmt == "ttl":
            return str(graph.serialize(format="turtle"))
        return str(graph.serialize(format="json-ld", auto_compact=True))

    def vocabulary(self) -> str:
        """The citybridge vocabulary (RDFS, Turtle) under this instance's base IRI."""
        from citybridge.interop.vocabulary import vocabulary_turtle

        return vocabulary_turtle(self.settings.iri_base)
