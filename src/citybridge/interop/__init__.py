"""Interoperability: linked data (schema.org + the citybridge vocabulary), OAI-PMH and a DCAT catalogue."""

from citybridge.interop.linked_data import LinkedData, relation_property, schema_type
from citybridge.interop.vocabulary import TERMS, schema_properties, vocab_namespace, vocabulary_turtle

__all__ = ["TERMS", "LinkedData", "relation_property", "schema_properties", "schema_type", "vocab_namespace",
           "vocabulary_turtle"]
