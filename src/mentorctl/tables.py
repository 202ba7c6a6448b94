"""The one reader of tabular files: rosters, matches and pin files, activity logs, HR extracts, surveys, form
exports and the relationship log all come in through `read_table`.

What it does, the same way for every file:
- which files: CSV text (`.csv`, `.tsv`, `.txt`, or any other name that is not a workbook) and Excel workbooks
  (`.xlsx`, `.xlsm`, `.xltx`, `.xltm`; `file.xlsx#Sheet` names a sheet, else the first visible sheet is read).
  Old or foreign workbooks (`.xls`, `.xlsb`, `.ods`, `.numbers`) are refused with one line saying to save the
  file as .xlsx or CSV (`REFUSED_SUFFIXES`);
- before parsing, the guards (guards.py): a regular file within the size limits, a workbook that is a real zip
  and no zip bomb, rows no wider than `limits.MAX_COLUMNS`, no quote left open that swallows rows;
- CSV text is decoded as UTF-8 (with or without BOM), else Windows-1252, else Latin-1 — with a note when it is
  not UTF-8 — and its delimiter is found among `, ; tab |`;
- a title or note above the headings (rows much narrower than the table) is skipped, with a note;
- every cell is clean text or None: control characters dropped, line breaks and tabs folded to one space,
  surrounding spaces trimmed; Excel numbers lose a trailing `.0`, dates become ISO text;
- rows with no cell at all are left out; every row keeps the row number the user sees in their spreadsheet
  (header = the heading row's number, blank lines counted);
- headings are compared by `normalise_heading` (case, spaces, underscores and hyphens ignored); a heading that
  repeats is reached as `Heading_2`, `Heading_3` for its later copies (`unique_headings`).

The result is a frozen `Table`; a file that cannot be read raises `TableError` (one line naming the file).
pandas and openpyxl are imported inside the functions that need them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mentorctl.errors import Finding, Location, MentorctlError
from mentorctl.guards import InputRefused, check_table_file, check_width, check_workbook, read_csv_records
from mentorctl.limits import MAX_COLUMNS

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xltx", ".xltm"})
"""Workbooks read with openpyxl."""
CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
"""Text tables (any other name that is not a workbook is read as CSV too, as rosters always were)."""
REFUSED_SUFFIXES = frozenset({".xls", ".xlsb", ".ods", ".numbers"})
"""Workbook formats mentorctl does not read: `refused_format` says what to do instead."""
UTF8 = "utf-8-sig"
_HEADER_SCAN = 30  # rows looked at to find the heading row


class TableError(MentorctlError):
    """A table file cannot be read (refused by a guard, not a workbook, an unknown sheet, an old format)."""


def refused_format(suffix: str) -> str:
    """The one line every reader gives for a workbook format mentorctl does not read."""
    return (f"{suffix} files are not read by mentorctl; open it in Excel or LibreOffice and save it as .xlsx "
            "or CSV")


def normalise_heading(heading: Any) -> str:
    """How headings are compared everywhere: case-, space-, underscore- and hyphen-insensitive."""
    return re.sub(r"[\s_\-]+", "", str(heading).strip().lower())


def field_name(heading: Any) -> str:
    """The field a heading becomes: `Job Level`, `JobLevel`, `job-level` → `job_level`."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(heading).strip())
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    if not text:
        return "column"
    return f"f_{text}" if text[0].isdigit() else text


def unique_headings(headings: Sequence[str]) -> list[str]:
    """Headings as written, a repeated one (by `normalise_heading`) as `Heading_2`, `Heading_3` for its later
    copies, and an empty one as `column_N` (N its 1-based position): the names a table's columns are found by."""
    counts: dict[str, int] = {}
    out = []
    for index, heading in enumerate(headings):
        if not heading:
            out.append(f"column_{index + 1}")
            continue
        norm = normalise_heading(heading)
        counts[norm] = counts.get(norm, 0) + 1
        out.append(heading if counts[norm] == 1 else f"{heading}_{counts[norm]}")
    return out


def split_sheet(spec: str) -> tuple[str, str | None]:
    """`file.xlsx#Sheet` → (`file.xlsx`, `Sheet`); anything else → (spec, None)."""
    if "#" in spec:
        path, sheet = spec.rsplit("#", 1)
        return path, sheet or None
    return spec, None


@dataclass(frozen=True)
class Table:
    """A table as read: one frame column per heading position, cells clean text or None."""

    source: str
    """The name used in messages: as the programme or command line wrote it (`signup.xlsx#Form`)."""
    path: Path
    headings: tuple[str, ...]
    """The headings as written (clean text; "" for an empty heading)."""
    frame: pd.DataFrame
    """One column per heading, labelled by `unique_headings`; object cells (str or None); RangeIndex."""
    rows: np.ndarray
    """The spreadsheet row number (1-based, headings' row included) of each frame row (int64)."""
    encoding: str | None = None
    """How a CSV file was decoded (`utf-8-sig`, `cp1252`, `latin-1`); None for a workbook."""
    sheet: str | None = None
    notes: tuple[Finding, ...] = field(default_factory=tuple)
    """Warnings about how the file was read (not UTF-8, title rows skipped, extra cells ignored)."""

    @property
    def is_workbook(self) -> bool:
        return self.encoding is None

    @property
    def encoding_note(self) -> str | None:
        """One line when the file was not UTF-8 (it is also among `notes`)."""
        if self.encoding in (None, UTF8):
            return None
        return f"{self.source} {_encoding_message(self.encoding)}"

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def find(self, heading: str) -> str | None:
        """The column a heading names: exactly, else the first whose `normalise_heading` is the same."""
        if heading in self.frame.columns:
            return heading
        wanted = normalise_heading(heading)
        return next((c for c in self.columns if normalise_heading(c) == wanted), None)

    def note_lines(self) -> list[str]:
        """The notes as lines naming the file, for reports and command output."""
        return [f"{n.location} {n.message}" if n.location and n.location.row is None
                and n.message.startswith(("is ", "has ")) else str(n) for n in self.notes]

    def __len__(self) -> int:
        return len(self.frame)


def read_table(path: Path, sheet: str | None = None, source: str | None = None) -> Table:
    """Read a CSV file or an Excel sheet (see the module docstring); raise TableError naming `source`."""
    shown = source or (path.name + (f"#{sheet}" if sheet else ""))
    where = Location(shown)
    if not path.exists():
        raise TableError(f"file not found (looked at {path}); check the path", location=where)
    if path.is_dir():
        raise TableError("is a folder, not a file", location=where)
    suffix = path.suffix.lower()
    if suffix in REFUSED_SUFFIXES:
        raise TableError(refused_format(suffix), location=where)
    try:  # before parsing: a device, an oversized file or a zip bomb is refused with the limit it breaks
        check_workbook(path) if suffix in EXCEL_SUFFIXES else check_table_file(path)
    except InputRefused as e:
        raise TableError(str(e), location=where) from e
    if suffix in EXCEL_SUFFIXES:
        notes: list[Finding] = []
        raw, grid, plain, encoding = _read_excel(path, sheet, where), None, False, None
    elif sheet:
        raise TableError(f"'#{sheet}' names a sheet, but {path.name} is not an Excel workbook", location=where)
    else:
        raw, grid, plain, encoding, notes = _read_csv(path, where)
    return _table(path, sheet, shown, raw, grid, plain, encoding, notes)


# ------------------------------------------------------------------------------------------------ CSV


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode a text file: UTF-8 (with or without BOM), else Windows-1252, else Latin-1; returns (text, encoding)."""
    for encoding in (UTF8, "cp1252", "latin-1"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _encoding_message(encoding: str) -> str:
    return (f"is not UTF-8; it was read as {encoding} (Windows/Latin-1): check accented names look right, or "
            "save it as 'CSV UTF-8'")


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV text: comma, semicolon (European Excel), tab or pipe."""
    lines = [line for line in text[:20000].splitlines() if line.strip()][:10]
    try:
        return csv.Sniffer().sniff("\n".join(lines) or ",", delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in ",;\t|"} if lines else {}
        return max(counts, key=lambda d: counts[d]) if counts and max(counts.values()) else ","


def _read_csv(path: Path, where: Location) -> tuple[list[list[Any]], pd.DataFrame | None, bool, str, list[Finding]]:
    """(records as lists — or the first rows only, with the whole grid as a DataFrame —, whether the grid's
    cells need no cleaning, encoding, notes)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TableError(f"cannot read the file ({e.strerror or e}); check its permissions", location=where) from e
    if data[:4] == b"PK\x03\x04":
        raise TableError("looks like an Excel workbook with a .csv name; rename it to .xlsx", location=where)
    text, encoding = decode_text(data)
    notes = [] if encoding == UTF8 else [Finding("warning", _encoding_message(encoding), where)]
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data and data[:1000].count(0) * 4 >= len(data[:1000]):
        raise TableError("contains NUL bytes: it may be UTF-16; save it as 'CSV UTF-8'", location=where)
    if b"\x00" in data:  # a stray NUL is a control character like any other (cells drop them)
        text, data = text.replace("\x00", ""), data.replace(b"\x00", b"")
    delimiter = sniff_delimiter(text)
    utf8 = data if encoding == UTF8 else text.encode("utf-8")
    grid = _fast_grid(utf8, delimiter)
    if grid is not None and not _extra_cells_filled(grid):
        plain = _plain_text(utf8, delimiter)
        return grid.iloc[:_HEADER_SCAN].to_numpy().tolist(), grid, plain, encoding, notes
    try:
        records = read_csv_records(text, delimiter).records
    except InputRefused as e:
        raise TableError(str(e), location=where) from e
    return records, None, False, encoding, notes


def _fast_grid(data: bytes, delimiter: str) -> pd.DataFrame | None:
    """The whole CSV (its UTF-8 bytes) as a grid of str through pandas' C parser, when
    that is exactly what the csv module reads: every record on one line (no quoted line breaks, so row i is line
    i + 1 and no quote can swallow rows), rows no wider than the first and no wider than the limit. None
    otherwise (the csv module then reads it)."""
    import pandas as pd

    data = data.removeprefix(b"\xef\xbb\xbf")
    if not data:
        return None
    first = data[:data.find(b"\n")] if b"\n" in data else data
    if first.count(delimiter.encode()) + 1 > MAX_COLUMNS:
        return None
    lines = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n") + (not data.endswith((b"\n", b"\r")))
    source = io.BytesIO(data)
    try:
        grid = pd.read_csv(source, sep=delimiter, header=None, dtype=object, keep_default_na=False,
                           na_filter=False, skip_blank_lines=False, engine="c", quoting=csv.QUOTE_MINIMAL,
                           encoding="utf-8")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        return None
    if len(grid) != lines:
        return None
    return grid


def _extra_cells_filled(grid: pd.DataFrame) -> bool:
    """Whether a row holds cells beyond the headings (the csv module's reading then names each such row)."""
    start, _ = _header_row(grid.iloc[:_HEADER_SCAN].to_numpy().tolist())
    if start is None:
        return False
    headings = [as_text(h) or "" for h in grid.iloc[start]]
    while headings and not headings[-1]:
        headings.pop()
    extra = grid.iloc[start + 1:, len(headings):]
    return bool(extra.shape[1]) and bool(extra.apply(lambda c: c.str.strip() != "").to_numpy().any())


# ------------------------------------------------------------------------------------------------ Excel


def _read_excel(path: Path, sheet: str | None, where: Location) -> list[list[Any]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as e:
        raise TableError(f"cannot open as an Excel workbook ({e.__class__.__name__}: {e}); is it an .xlsx file?",
                         location=where) from e
    try:
        if sheet is None:
            visible = [w for w in workbook.worksheets if getattr(w, "sheet_state", "visible") == "visible"]
            worksheet = (visible or workbook.worksheets)[0]
        elif sheet in workbook.sheetnames:
            worksheet = workbook[sheet]
        else:
            match = [s for s in workbook.sheetnames if s.strip().lower() == sheet.strip().lower()]
            if not match:
                raise TableError(f"no sheet named '{sheet}'; sheets in {path.name}: "
                                 f"{', '.join(repr(s) for s in workbook.sheetnames)}", location=where)
            worksheet = workbook[match[0]]
        return _sheet_rows(worksheet)
    except InputRefused as e:
        raise TableError(str(e), location=where) from e
    finally:
        workbook.close()


def _sheet_rows(worksheet: Any) -> list[list[Any]]:
    """A sheet's rows as lists of cell texts. The sheet's recorded size is ignored (a stale `A1:XFD1048576`
    would pad every row to 16,384 cells) and a row wider than `limits.MAX_COLUMNS` is refused."""
    if hasattr(worksheet, "reset_dimensions"):
        worksheet.reset_dimensions()
    raw: list[list[Any]] = []
    for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
        row = list(values)
        while row and row[-1] is None:
            row.pop()
        check_width(len(row), number)
        raw.append([_excel_cell(c) for c in row])
    return raw


def _excel_cell(value: Any) -> str | None:
    from datetime import date, datetime

    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds") if value.time() != datetime.min.time() \
            else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# ------------------------------------------------------------------------------------------------ cells


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"\s*[\r\n\t\x0b\x0c]+\s*")


def as_text(value: Any) -> str | None:
    """A cell as clean text: control characters dropped, line breaks and tabs (Alt+Enter in Excel, quoted
    newlines in CSV) folded to one space, surrounding spaces trimmed; None when empty."""
    if value is None:
        return None
    text = str(value)
    if not text.isprintable():  # rare: only then pay for the regular expressions
        text = _LINE_BREAKS.sub(" ", _CONTROL.sub("", text))
    return text.strip() or None


def _clean_column(values: Any) -> np.ndarray:
    """`as_text` over a column of cells (str, or None/NaN when empty), once per distinct value."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    cleaned = np.array([as_text(u) for u in uniques] + [None], dtype=object)
    return cleaned[codes]


def _plain_column(values: Any) -> np.ndarray:
    """A column of str cells (a CSV grid) that hold no control character, tab or line break: `as_text` is
    then just strip (once per distinct value), and empty cells become None."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    stripped = np.array([u.strip() or None for u in uniques] + [None], dtype=object)
    return stripped[codes]


_PRINTABLE_BYTES = bytes(range(32, 127)) + bytes(range(128, 256)) + b"\n\r"


def _plain_text(data: bytes, delimiter: str) -> bool:
    """Whether the cells of a CSV (its UTF-8 bytes, read one record per line) need only strip: no control
    character, and no tab unless it is the delimiter (and no quote could put one inside a cell). One C pass
    over the bytes (deleting every byte that is fine) instead of a regular expression per cell."""
    tabs_are_delimiters = delimiter == "\t" and b'"' not in data  # else a quoted cell may hold one
    return not data.translate(None, _PRINTABLE_BYTES + (b"\t" if tabs_are_delimiters else b""))


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _header_row(raw: list[list[Any]]) -> tuple[int | None, list[int]]:
    """The heading row: the first row about as wide as the table (a title or note above it is skipped); and
    the (1-based) rows skipped above it."""
    widths = [sum(1 for c in r if _present(c)) for r in raw[:_HEADER_SCAN]]
    if not any(widths):
        return None, []
    needed = max(min(2, max(widths)), (max(widths) + 1) // 2)
    start = next(i for i, w in enumerate(widths) if w >= needed)
    return start, [i + 1 for i in range(start) if widths[i]]


def _table(path: Path, sheet: str | None, shown: str, raw: list[list[Any]], grid: pd.DataFrame | None,
           plain: bool, encoding: str | None, notes: list[Finding]) -> Table:
    import numpy as np
    import pandas as pd

    where = Location(shown)
    start, skipped = _header_row(raw)
    if skipped:
        notes.append(Finding("warning", f"row(s) {', '.join(map(str, skipped))} above the column headings were "
                             f"skipped (a title?); the headings are on row {(start or 0) + 1}", where))
    if start is None:
        return Table(shown, path, (), pd.DataFrame(), np.zeros(0, np.int64), encoding, sheet, tuple(notes))
    headings = [as_text(h) or "" for h in raw[start]]
    if encoding is not None:
        while headings and not headings[-1]:  # trailing empty columns (a stray delimiter at line ends)
            headings.pop()
    width = len(headings)
    if grid is not None:  # CSV read by pandas: a rectangle of str
        body = grid.iloc[start + 1:]
        numbers = np.arange(start + 2, start + 2 + len(body), dtype=np.int64)
        clean = _plain_column if plain else _clean_column
        columns = [clean(body.iloc[:, i].to_numpy(dtype=object)) if i < body.shape[1]
                   else np.full(len(body), None, dtype=object) for i in range(width)]
    else:
        body_rows = raw[start + 1:]
        numbers = np.arange(start + 2, start + 2 + len(body_rows), dtype=np.int64)
        cells: list[list[Any]] = []
        for number, record in zip(numbers, body_rows, strict=True):
            if encoding is not None and len(record) > width and any(_present(c) for c in record[width:]):
                notes.append(_extra_cells(len(record), width, where, int(number)))
            cells.append(record[:width] + [None] * (width - len(record)))
        columns = [_clean_column([r[i] for r in cells]) for i in range(width)] if cells else \
            [np.zeros(0, dtype=object) for _ in range(width)]
    labels = unique_headings(headings)
    frame = pd.DataFrame(dict(zip(range(width), columns, strict=True)), index=pd.RangeIndex(len(numbers)),
                         dtype=object)
    frame.columns = pd.Index(labels, dtype=object)
    if width and len(frame):
        filled_rows = ~np.logical_and.reduce([pd.isna(c) for c in columns])
        if not filled_rows.all():
            frame = frame[filled_rows].reset_index(drop=True)
            numbers = numbers[filled_rows]
    return Table(shown, path, tuple(headings), frame, numbers, encoding, sheet, tuple(notes))


def _extra_cells(cells: int, width: int, where: Location, row: int) -> Finding:
    return Finding("warning", f"has {cells} cells but the header has {width}; extra cells ignored (a stray "
                   "delimiter or unquoted comma?)", Location(where.file, row))
