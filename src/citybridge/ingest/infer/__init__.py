"""Inferred import mappings: the header row of a messy table, the usual names of each field across
languages and portals, and what a column's values say it holds.

The functions are pure (rows in, guesses out) so that any source can use them:

- :func:`table_layout` (built on :func:`find_header_row`, :func:`group_row`, :func:`name_columns`) -
  where the column names are, a unique name (or None, to ignore) for every column, and notes;
- :func:`infer_mapping` - the kind and one :class:`ColumnGuess` per column, with the reason;
  :meth:`Inference.mapping` turns it into a :class:`~citybridge.ingest.mapping.Mapping`; :func:`choose`
  applies a user's choice of field for some columns;
- :func:`header_score`, :func:`value_fit` - the two halves of a guess, for a source that knows more;
- :data:`~citybridge.ingest.infer.synonyms.FIELDS` and ``TYPE_VALUES`` - the synonym tables.

>>> from citybridge.ingest.infer import infer_mapping
>>> inf = infer_mapping(["titre", "pays"], [{"titre": "Ville de Lyon", "pays": "France"}], kind="organization")
>>> inf.mapping().columns, inf.mapping().parse
({'titre': 'name', 'pays': 'country'}, {'country': 'country'})
"""

from citybridge.ingest.infer.fit import value_fit
from citybridge.ingest.infer.guess import ColumnGuess, Inference, choose, field_choices, header_score, infer_mapping
from citybridge.ingest.infer.header import (
    SCAN_ROWS,
    Columns,
    TableLayout,
    clean_label,
    find_header_row,
    group_row,
    is_unnamed,
    label_score,
    name_columns,
    table_layout,
)
from citybridge.ingest.infer.synonyms import FIELDS, TYPE_VALUES, normalize, type_value

__all__ = [
    "FIELDS", "SCAN_ROWS", "TYPE_VALUES", "ColumnGuess", "Columns", "Inference", "TableLayout", "choose",
    "clean_label", "field_choices", "find_header_row", "group_row", "header_score", "infer_mapping", "is_unnamed",
    "label_score", "name_columns", "normalize", "table_layout", "type_value", "value_fit",
]
