"""Find the header of a table that does not start on its first row, and name its columns.

Spreadsheets exported by people carry title rows above the header, a row of question groups above the
questions (two-level headers), columns without a name (a pandas index) and repeated names
(``Other`` under two groups). :func:`find_header_row` picks the row holding the column names;
:func:`name_columns` gives every column a unique name, or None for a column to ignore.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from citybridge.ingest.values import EMAIL, URL, is_number

SCAN_ROWS = 25  # rows looked at for the header
_SPACES = re.compile(r"\s+")
_DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
_UNNAMED = re.compile(r"^(unnamed: ?\d+(_level_\d+)?|column ?\d+)$", re.I)  # pandas, Excel tables


def clean_label(value: Any) -> str:
    """A header cell as one line: whitespace (newlines too) collapsed, BOM and edges stripped."""
    if value is None:
        return ""
    return _SPACES.sub(" ", str(value).replace("\ufeff", "")).strip()


def is_unnamed(header: str) -> bool:
    """A header a spreadsheet or pandas writes for a column without a name (``''``, ``Unnamed: 0``)."""
    text = clean_label(header)
    return not text or bool(_UNNAMED.match(text))


def _label_like(text: str) -> bool:
    return (0 < len(text) <= 200 and not is_number(text.replace(",", "").replace(" ", ""))
            and not _DATE_LIKE.match(text) and not URL.match(text) and not EMAIL.match(text))


def label_score(row: Sequence[Any]) -> int:
    """How header-like a row is: the number of distinct short texts that are not numbers, dates, URLs or
    e-mail addresses."""
    return len({t for t in (clean_label(c) for c in row) if _label_like(t)})


def find_header_row(rows: Sequence[Sequence[Any]], *, scan: int = SCAN_ROWS) -> int:
    """Index (0-based) of the row holding the column names among the first ``scan`` rows.

    The header is the first row at least 60% as header-like as the most header-like row: title rows
    (one cell) and rows of question groups (a few cells over many columns) above it score low; data rows
    below it hold numbers, dates and repeated values.

    >>> find_header_row([["Members 2024"], [], ["name", "country", "since"], ["Lisbon", "PT", "2001"]])
    2
    """
    scores = [label_score(r) for r in rows[:scan]]
    best = max(scores, default=0)
    if best <= 1:
        return 0
    return next(i for i, s in enumerate(scores) if s >= max(2, 0.6 * best))


@dataclass
class Columns:
    """Column names of a table: ``names[i]`` is the name of cell ``i``, None for a column to ignore."""

    names: list[str | None]
    unnamed: list[int] = field(default_factory=list)  # 0-based positions without a name
    renamed: dict[int, tuple[str, str]] = field(default_factory=dict)  # position -> (as written, unique name)

    @property
    def kept(self) -> list[str]:
        return [n for n in self.names if n is not None]


def name_columns(header: Sequence[Any], groups: Sequence[Any] | None = None) -> Columns:
    """Unique names for the cells of a header row.

    Unnamed cells get None. A name written twice gets its group label in front when a row of groups
    above gives the two different groups (``Which type of funding is granted?: Other``), else a number
    (``Description (2)``). Group labels span to the next label, as merged cells do.

    >>> name_columns(["", "id", "Other", "Other"], ["", "", "Sectors", "Funding"]).names
    [None, 'id', 'Sectors: Other', 'Funding: Other']
    """
    labels = [clean_label(h) for h in header]
    spans: list[str] = []
    current = ""
    for i in range(len(labels)):
        g = clean_label(groups[i]) if groups is not None and i < len(groups) else ""
        current = g or current
        spans.append(current)
    out = Columns(names=[])
    counts: dict[str, int] = {}
    for label in labels:
        if not is_unnamed(label):
            counts[label] = counts.get(label, 0) + 1
    seen: dict[str, int] = {}
    used: set[str] = set()
    for i, label in enumerate(labels):
        if is_unnamed(label):
            out.names.append(None)
            out.unnamed.append(i)
            continue
        name = label
        if counts[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            group_names = {spans[j] for j, x in enumerate(labels) if x == label}
            if spans[i] and len(group_names) == counts[label]:
                name = f"{spans[i]}: {label}"
            elif seen[label] > 1:
                name = f"{label} ({seen[label]})"
        while name in used:  # a made-up name that another column already has
            name += "'"
        used.add(name)
        if name != label:
            out.renamed[i] = (label, name)
        out.names.append(name)
    return out


def group_row(rows: Sequence[Sequence[Any]], header_index: int) -> Sequence[Any] | None:
    """The row of question groups right above the header, when there is one: fewer labels than half the
    header's, but at least one."""
    if header_index == 0:
        return None
    above = rows[header_index - 1]
    n = label_score(above)
    return above if 0 < n < 0.5 * label_score(rows[header_index]) else None


@dataclass
class TableLayout:
    """Where a table's header is and what its columns are called, with notes for the user."""

    header_index: int  # 0-based index of the header among the rows read
    columns: Columns
    notes: list[str] = field(default_factory=list)
    problem: str | None = None  # the table cannot be read (no header, header past the end ...)

    @property
    def header_row(self) -> int:
        """The header's 1-based row number, as a spreadsheet shows it."""
        return self.header_index + 1


def table_layout(rows: Sequence[Sequence[Any]], *, header_row: int | None = None) -> TableLayout:
    """The layout of a table from its first rows (at least ``SCAN_ROWS``, or up to ``header_row``).

    ``header_row`` (1-based) names the header row; without it the header is found (:func:`find_header_row`).
    The notes say where the header was found, which columns are ignored (no name) and which were renamed.
    """
    if not rows:
        return TableLayout(0, Columns([]), problem="empty file: no header row")
    if header_row is not None:
        if header_row > len(rows):
            return TableLayout(0, Columns([]), problem=f"header row {header_row} is past the end of the table "
                                                       f"({len(rows)} rows)")
        index = header_row - 1
    else:
        index = find_header_row(rows)
    header = rows[index]
    columns = name_columns(header, group_row(rows, index))
    notes: list[str] = []
    if header_row is None and index > 0:
        notes.append(f"header found on row {index + 1} (the row{'s' if index > 1 else ''} above hold"
                     f"{'' if index > 1 else 's'} a title or question groups; name another header row to change it)")
    below = rows[index + 1:]
    for pos in columns.unnamed:
        seen = [clean_label(r[pos]) for r in below if pos < len(r) and clean_label(r[pos])]
        if seen:
            shown = ", ".join(repr(v[:20]) for v in seen[:3])
            notes.append(f"column {pos + 1} has no name and is ignored (values such as {shown}: "
                         f"a spreadsheet index?)")
    for pos, (label, name) in columns.renamed.items():
        notes.append(f"column {pos + 1} '{label}' is named twice: read as '{name}'")
    if not columns.kept:
        return TableLayout(index, columns, notes, problem=f"row {index + 1} has no column names")
    return TableLayout(index, columns, notes)


__all__ = ["SCAN_ROWS", "Columns", "TableLayout", "clean_label", "find_header_row", "group_row", "is_unnamed",
           "label_score", "name_columns", "table_layout"]
