"""Strict reading of delimited text: every record with the physical line it starts on, and every piece
of input that is not a well-formed record reported on its own line instead of merged into a field.

Python's csv module, left lenient, reads an unterminated quote (``"Unclosed quote,DE``) as one field
running to the next quote or to the end of the file, silently swallowing the lines between. Here a
record that spans several lines and then fails (a closing quote followed by text, the end of the file
inside quotes, or a cell count that does not match the header) is reported as an unterminated quote
on the line where it opened, and the lines after it are read again as records of their own. Multi-line
cells that close properly (text with line breaks in a spreadsheet export) are kept.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

FIELD_LIMIT = 64 * 1024 * 1024  # characters; a larger cell is reported with its line


@dataclass(slots=True)
class CsvRecord:
    """One record: its cells, or the problem that kept it from being one; ``line`` is where it starts."""

    line: int
    cells: list[str] | None
    problem: str | None = None
    lines: int = 1  # physical lines the record spans


class _Lines:
    """The file's lines with their numbers; lines can be pushed back to be read again."""

    def __init__(self, fh: IO[str], first_line: int = 1) -> None:
        self.fh = fh
        self.next_number = first_line
        self.back: list[tuple[int, str]] = []  # a stack: the next line to read is at the end
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.back:
            item = self.back.pop()
        else:
            text = self.fh.readline()
            if not text:
                raise StopIteration
            item = (self.next_number, text)
            self.next_number += 1
        self.taken.append(item)
        return item[1]


class CsvRecords:
    """Iterate the records of an open text file (opened with ``newline=''``).

    Set :attr:`width` (the header's cell count) once the header is read: a record spanning several lines
    whose cell count then differs from it is treated as an unterminated quote.
    """

    def __init__(self, fh: IO[str], delimiter: str, *, first_line: int = 1) -> None:
        csv.field_size_limit(FIELD_LIMIT)
        self.delimiter = delimiter
        self.width: int | None = None
        self._lines = _Lines(fh, first_line)

    def _reader(self) -> Iterator[list[str]]:
        return csv.reader(self._lines, delimiter=self.delimiter, strict=True)

    def __iter__(self) -> Iterator[CsvRecord]:
        lines = self._lines
        reader = self._reader()
        while True:
            lines.taken = []
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                taken = lines.taken
                start = taken[0][0] if taken else lines.next_number
                if len(taken) > 1 or "unexpected end of data" in str(exc):
                    yield CsvRecord(start, None, _UNTERMINATED)
                    lines.back.extend(reversed(taken[1:]))
                elif "field larger than field limit" in str(exc):
                    yield CsvRecord(start, None, f"a cell larger than {FIELD_LIMIT:,} characters")
                else:
                    yield CsvRecord(start, None, f"malformed quoting ({exc}): quote a cell holding quotes "
                                                 f'whole and double the quotes inside ("")')
                reader = self._reader()
                continue
            taken = lines.taken
            start = taken[0][0] if taken else lines.next_number
            if len(taken) > 1 and self.width is not None and _ragged(cells, self.width):
                yield CsvRecord(start, None, _UNTERMINATED)
                lines.back.extend(reversed(taken[1:]))
                reader = self._reader()
                continue
            yield CsvRecord(start, cells, lines=len(taken))


_UNTERMINATED = ('unterminated quote: a " opens a cell that does not close on this line (the lines after it '
                 "were read on their own)")


def _ragged(cells: list[str], width: int) -> bool:
    if len(cells) == width:
        return False
    return len(cells) < width or any(c.strip() for c in cells[width:])


def ragged_problem(cells: list[str], width: int, delimiter: str) -> str | None:
    """Why a record's cell count does not fit a header of ``width`` cells, or None when it does (extra
    empty cells at the end, as spreadsheets write them, fit)."""
    if not _ragged(cells, width):
        return None
    return (f"row has {len(cells)} cell{'s' if len(cells) != 1 else ''} but the header has {width} "
            f"(delimiter {delimiter!r}; "
            + ("a missing delimiter or a cut line?)" if len(cells) < width else "a stray delimiter or unquoted text?)"))


__all__ = ["FIELD_LIMIT", "CsvRecord", "CsvRecords", "ragged_problem"]
