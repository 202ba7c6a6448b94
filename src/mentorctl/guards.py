"""Checks made on an input table before it is parsed, so that a broken or hostile file is refused with one
clear message naming the limit (see limits.py) instead of hanging, exhausting memory or crashing a library.

Each check raises `InputRefused` (a plain exception carrying the message); the reader that called it turns
that into its own error or finding, with the file's name. No pandas or openpyxl here: this runs first.
"""

from __future__ import annotations

import csv
import io
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mentorctl import limits


class InputRefused(Exception):
    """The file is refused before parsing; str(error) is the message (without the file name)."""


def check_table_file(path: Path) -> None:
    """A regular file (not a device such as /dev/zero, a FIFO or a folder) of at most MAX_TABLE_BYTES."""
    try:
        info = path.stat()
    except OSError as e:
        raise InputRefused(f"cannot read it ({e.strerror or e}); check the path and its permissions") from e
    if stat.S_ISDIR(info.st_mode):
        raise InputRefused("is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputRefused("is not a regular file (a device or pipe?); name a CSV or .xlsx file")
    if info.st_size > limits.MAX_TABLE_BYTES:
        raise InputRefused(f"is {info.st_size / limits.MIB:,.0f} MiB, larger than mentorctl's limit of "
                           f"{limits.MAX_TABLE_BYTES // limits.MIB:,} MiB for a table; split it or export less")


def check_workbook(path: Path) -> None:
    """An .xlsx that really is a workbook (a zip), at most MAX_XLSX_UNCOMPRESSED_BYTES once uncompressed and
    with no part expanding more than MAX_XLSX_RATIO times (a zip bomb); checked from the zip's directory,
    before anything is decompressed."""
    check_table_file(path)
    with path.open("rb") as handle:
        head = handle.read(8)
    if head[:4] != b"PK\x03\x04":
        looks = ("CSV text" if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head[:8])
                 else "not a workbook")
        hint = "rename it to .csv" if looks == "CSV text" else "open it in Excel and save it as .xlsx"
        raise InputRefused(f"is not an Excel workbook although its name ends in {path.suffix} (it looks like "
                           f"{looks}); {hint}")
    try:
        with zipfile.ZipFile(path) as book:
            members = book.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise InputRefused(f"is not a readable Excel workbook ({e}); open it in Excel and save it again") from e
    total = sum(m.file_size for m in members)
    if total > limits.MAX_XLSX_UNCOMPRESSED_BYTES:
        raise InputRefused(f"holds {total / limits.MIB:,.0f} MiB once uncompressed, more than mentorctl's limit of "
                           f"{limits.MAX_XLSX_UNCOMPRESSED_BYTES // limits.MIB:,} MiB for a workbook; "
                           "export only the sheet you need, or save it as CSV")
    for member in members:
        if member.file_size > limits.MIB and member.file_size > limits.MAX_XLSX_RATIO * max(member.compress_size, 1):
            raise InputRefused(f"has a part ({member.filename}) that expands {member.file_size // max(member.compress_size, 1):,} "
                               f"times, more than mentorctl's limit of {limits.MAX_XLSX_RATIO} (a zip bomb?); "
                               "open it in Excel and save it again, or save it as CSV")


def check_width(cells: int, row: int) -> None:
    if cells > limits.MAX_COLUMNS:
        raise InputRefused(f"row {row} has {cells:,} cells, more than mentorctl's limit of {limits.MAX_COLUMNS:,} "
                           "columns; is it the right file?")


@dataclass(frozen=True)
class CsvRecords:
    """The records of a CSV text and, for each, the physical lines it spans (1-based, inclusive)."""

    records: list[list[str]]
    spans: list[tuple[int, int]]


def read_csv_records(text: str, delimiter: str) -> CsvRecords:
    """Parse CSV text with the csv module, refusing what would silently lose people: a row wider than
    MAX_COLUMNS, and a quote left open that swallows the rows after it (see `check_quoting`)."""
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, limits.MAX_TABLE_BYTES))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[list[str]] = []
    spans: list[tuple[int, int]] = []
    try:
        previous = 0
        for record in reader:
            check_width(len(record), len(records) + 1)
            records.append(record)
            spans.append((previous + 1, reader.line_num))
            previous = reader.line_num
    except csv.Error as e:
        raise InputRefused(f"not a readable CSV file (line {reader.line_num}: {e})") from e
    finally:
        csv.field_size_limit(limit)
    check_quoting(records, spans, delimiter)
    return CsvRecords(records, spans)


def check_quoting(records: list[list[str]], spans: list[tuple[int, int]], delimiter: str) -> None:
    """A quote that opens a cell and is not closed where the cell should end turns the following lines into
    that one cell: the rows on them vanish. Quoted line breaks are legitimate (an address over three lines),
    so a cell is refused only when most of the lines it spans look like rows of the table (they hold as many
    delimiters as a row has, less one) and there are at least two of them."""
    if not records:
        return
    width = max(len(r) for r in records[:30])
    needed = max(1, width - 1)
    headings = next((r for r in records[:30] if len(r) == width), [])
    for number, (record, (first, last)) in enumerate(zip(records, spans, strict=True), start=1):
        if last - first < 2:
            continue
        for position, cell in enumerate(record):
            inner = cell.split("\n")[1:]
            rowlike = sum(1 for line in inner if line.count(delimiter) >= needed)
            if rowlike >= 2 and rowlike * 2 >= len(inner):
                heading = headings[position].strip() if position < len(headings) and record is not headings else ""
                column = f" in column '{heading}'" if heading else f" in cell {position + 1}"
                closes = (f"is not closed until line {last}" if number < len(records)
                          else "is never closed (the cell runs to the end of the file)")
                raise InputRefused(
                    f"row {number} (line {first}): the quote that opens{column} {closes}, so {rowlike:,} "
                    "line(s) that look like rows were read as one cell and those people would be lost; remove "
                    "the stray quote (or close it) and run again")
