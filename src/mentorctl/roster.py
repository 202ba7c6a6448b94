"""Reading rosters (CSV or Excel) into DataFrames of participants, checking everything a coordinator can get
wrong and saying where: file, row and column."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mentorctl.errors import Finding, Location, RosterError
from mentorctl.programme import FieldType, Programme

if TYPE_CHECKING:
    import pandas as pd

REQUIRED_FIELDS = ("id", "name")
ROW_COLUMN = "_row"
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xltx", ".xltm"}
_EMAIL = re.compile(r"^[^@\s<>(),;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_ALIASES = {
    "id": ["id", "participantid", "personid", "employeeid", "employeenumber", "staffid", "studentid"],
    "name": ["name", "fullname", "yourname", "participantname", "displayname"],
    "email": ["email", "emailaddress", "e-mail", "mail", "workemail", "emailaddr"],
}
_MAX_CELL_MESSAGES = 5
_TRUTH = {"true": True, "yes": True, "y": True, "1": True, "false": False, "no": False, "n": False, "0": False}


def normalise_heading(heading: str) -> str:
    """How headings are compared: case-, space-, underscore- and hyphen-insensitive."""
    return re.sub(r"[\s_\-]+", "", str(heading).strip().lower())


def snake_case(heading: str) -> str:
    """`Job Level`, `JobLevel`, `job-level` → `job_level`."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(heading).strip())
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    if not text:
        return "column"
    return f"f_{text}" if text[0].isdigit() else text


def is_email(value: Any) -> bool:
    return isinstance(value, str) and bool(_EMAIL.match(value.strip()))


@dataclass(frozen=True)
class Roster:
    """The people of one role, one row each; columns are field names (see docs/ARCHITECTURE.md)."""

    role: str
    source: str
    frame: pd.DataFrame
    types: dict[str, FieldType] = field(default_factory=dict)

    @property
    def fields(self) -> list[str]:
        return [c for c in self.frame.columns if not str(c).startswith("_")]

    def row_of(self, index: int) -> int:
        return int(self.frame[ROW_COLUMN].iloc[index])

    def __len__(self) -> int:
        return len(self.frame)


@dataclass(frozen=True)
class Participants:
    """Everyone in a programme: mentors and mentees (the same roster for peer programmes)."""

    programme: Programme
    mentors: Roster | None
    mentees: Roster | None
    participants: Roster | None = None
    warnings: list[Finding] = field(default_factory=list)

    def rosters(self) -> list[Roster]:
        seen, out = set(), []
        for roster in (self.mentors, self.mentees, self.participants):
            if roster is not None and id(roster) not in seen:
                seen.add(id(roster))
                out.append(roster)
        return out


class FindingCollector:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def error(self, message: str, file: str | None = None, row: int | None = None, column: str | None = None):
        self.findings.append(Finding("error", message, Location(file, row, column)))

    def warning(self, message: str, file: str | None = None, row: int | None = None, column: str | None = None):
        self.findings.append(Finding("warning", message, Location(file, row, column)))

    @property
    def has_errors(self) -> bool:
        return any(f.level == "error" for f in self.findings)


def load_participants(programme: Programme, *, require_email: bool = False) -> Participants:
    """Read every roster of the programme; raise RosterError listing every error, keep warnings."""
    participants, findings = check_participants(programme, require_email=require_email)
    errors = [f for f in findings if f.level == "error"]
    if errors or participants is None:
        raise RosterError(f"{len(errors)} problem(s) in the rosters; fix them and run again",
                          details=[str(f) for f in errors])
    return participants


def check_participants(programme: Programme, *, require_email: bool = False
                       ) -> tuple[Participants | None, list[Finding]]:
    """Read and check every roster; return the participants (None when unusable) and all findings."""
    out = FindingCollector()
    spec = programme.rosters
    mentors = mentees = everyone = None
    if spec.participants:
        everyone = _read_roster(programme, spec.participants, "participant", out, require_email)
        if everyone is not None and spec.role_column:
            mentors, mentees = _split_roles(programme, everyone, out)
        elif everyone is not None and programme.is_peer:
            mentors = mentees = everyone
        elif everyone is not None:
            out.error("a `participants` roster in a non-peer programme needs `rosters.role_column` naming the "
                      "column that tells mentors from mentees", spec.participants)
    if spec.mentors:
        mentors = _read_roster(programme, spec.mentors, "mentor", out, require_email)
    if spec.mentees:
        mentees = _read_roster(programme, spec.mentees, "mentee", out, require_email)
    if programme.is_peer and everyone is None:
        everyone = mentors or mentees
        mentors = mentees = everyone
    if not programme.is_peer:
        if mentors is None and not out.has_errors:
            out.error("no mentor roster: set `rosters.mentors` (or `participants` with `role_column`)",
                      str(programme.path.name))
        if mentees is None and not out.has_errors:
            out.error("no mentee roster: set `rosters.mentees` (or `participants` with `role_column`)",
                      str(programme.path.name))
        same_file = mentors is not None and mentees is not None and mentors.source == mentees.source \
            and not spec.role_column  # one extract for both sides, split by design.eligibility: deliberate
        if mentors is not None and mentees is not None and mentors is not mentees and not same_file:
            both = sorted(set(mentors.frame["id"]) & set(mentees.frame["id"]))
            if both:
                shown = ", ".join(both[:10]) + (" …" if len(both) > 10 else "")
                out.warning(f"{len(both)} person(s) are on both the mentor and the mentee roster: {shown}; "
                            "they may be matched as both (never with themselves)", mentees.source)
    if out.has_errors:
        return None, out.findings
    result = Participants(programme, mentors, mentees, everyone,
                          warnings=[f for f in out.findings if f.level == "warning"])
    return result, out.findings


def _split_roles(programme: Programme, everyone: Roster, out: FindingCollector) -> tuple[Roster | None, Roster | None]:
    import pandas as pd

    column = snake_case(_mapped_field_for(programme, programme.rosters.role_column))
    frame = everyone.frame
    if column not in frame.columns:
        out.error(f"role column '{programme.rosters.role_column}' not found; fields found: "
                  f"{', '.join(everyone.fields)}", everyone.source)
        return None, None
    values = frame[column].map(lambda v: "" if pd.isna(v) else str(v).strip().lower())
    roles = {role: {v.strip().lower() for v in names} for role, names in programme.rosters.roles.items()}
    is_mentor = values.isin(roles.get("mentor", set()))
    is_mentee = values.isin(roles.get("mentee", set()))
    for index in frame.index[~(is_mentor | is_mentee)]:
        out.warning(f"role '{frame.at[index, column]}' is neither a mentor value "
                    f"({', '.join(sorted(roles.get('mentor', [])))}) nor a mentee value "
                    f"({', '.join(sorted(roles.get('mentee', [])))}); this person is left out "
                    "(set `rosters.roles`)", everyone.source, int(frame.at[index, ROW_COLUMN]),
                    programme.rosters.role_column)
    mentors = Roster("mentor", everyone.source, frame[is_mentor].reset_index(drop=True), everyone.types)
    mentees = Roster("mentee", everyone.source, frame[is_mentee].reset_index(drop=True), everyone.types)
    for roster in (mentors, mentees):
        if len(roster) == 0:
            out.error(f"no {roster.role}s: no row has a {roster.role} value in column "
                      f"'{programme.rosters.role_column}' (values found: "
                      f"{', '.join(sorted(set(values) - {''}))[:200]}); set `rosters.roles`", everyone.source)
    return mentors, mentees


def _mapped_field_for(programme: Programme, heading: str) -> str:
    """The field a heading ends up as (respecting the columns: mapping)."""
    for name, source in programme.rosters.columns.items():
        sources = [source] if isinstance(source, str) else source
        if any(normalise_heading(s) == normalise_heading(heading) for s in sources):
            return name
    return heading


def split_sheet(spec: str) -> tuple[str, str | None]:
    """`file.xlsx#Sheet` → (`file.xlsx`, `Sheet`)."""
    if "#" in spec:
        path, sheet = spec.rsplit("#", 1)
        return path, sheet or None
    return spec, None


def read_table(path: Path, sheet: str | None, source: str, out: FindingCollector) -> tuple[list[str], list[list[Any]],
                                                                                    list[int]] | None:
    """Read a CSV or Excel sheet as (headings, rows of cells, spreadsheet row numbers); None on error."""
    if not path.exists():
        out.error(f"file not found (looked at {path}); check the path under `rosters:` in programme.yaml "
                  "(paths are relative to the programme folder)", source)
        return None
    if path.is_dir():
        out.error("is a folder, not a roster file", source)
        return None
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(path, sheet, source, out)
    if suffix == ".xls":
        out.error("old .xls workbooks are not supported; open it and save as .xlsx or CSV", source)
        return None
    if sheet:
        out.error(f"'#{sheet}' names a sheet, but {path.name} is not an Excel workbook", source)
        return None
    return _read_csv(path, source, out)


def _read_excel(path: Path, sheet: str | None, source: str, out: FindingCollector):
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as e:
        out.error(f"cannot open as an Excel workbook ({e.__class__.__name__}: {e}); is it an .xlsx file?", source)
        return None
    try:
        if sheet is None:
            visible = [w for w in workbook.worksheets if getattr(w, "sheet_state", "visible") == "visible"]
            worksheet = (visible or workbook.worksheets)[0]
        elif sheet in workbook.sheetnames:
            worksheet = workbook[sheet]
        else:
            match = [s for s in workbook.sheetnames if s.strip().lower() == sheet.strip().lower()]
            if not match:
                out.error(f"no sheet named '{sheet}'; sheets in {path.name}: "
                          f"{', '.join(repr(s) for s in workbook.sheetnames)}", source)
                return None
            worksheet = workbook[match[0]]
        raw = [list(r) for r in worksheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    start = _header_row(raw, source, out)
    if start is None:
        return [], [], []
    headings = [_as_text(c) or "" for c in raw[start]]
    rows = [[_excel_cell(c) for c in r] for r in raw[start + 1:]]
    return headings, rows, list(range(start + 2, start + 2 + len(rows)))


def _header_row(raw: list[list[Any]], source: str, out: FindingCollector) -> int | None:
    """The heading row: the first row about as wide as the table (a title or note above it is skipped)."""
    widths = [sum(1 for c in r if _present(c)) for r in raw[:30]]
    if not any(widths):
        return None
    needed = max(min(2, max(widths)), (max(widths) + 1) // 2)
    start = next(i for i, w in enumerate(widths) if w >= needed)
    skipped = [i + 1 for i in range(start) if widths[i]]
    if skipped:
        out.warning(f"row(s) {', '.join(map(str, skipped))} above the column headings were skipped "
                    f"(a title?); the headings are on row {start + 1}", source)
    return start


def _read_csv(path: Path, source: str, out: FindingCollector):
    try:
        data = path.read_bytes()
    except OSError as e:
        out.error(f"cannot read the file ({e.strerror or e}); check its permissions", source)
        return None
    if data[:4] == b"PK\x03\x04":
        out.error("looks like an Excel workbook with a .csv name; rename it to .xlsx", source)
        return None
    text, encoding = decode_text(data)
    if encoding != "utf-8-sig":
        out.warning(f"not UTF-8; read as {encoding} (Windows/Latin-1). Check accented names look right, "
                    "or save it as 'CSV UTF-8'", source)
    if "\x00" in text:
        out.error("contains NUL bytes: it may be UTF-16; save it as 'CSV UTF-8'", source)
        return None
    delimiter = sniff_delimiter(text)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as e:
        out.error(f"not a readable CSV file ({e})", source)
        return None
    start = _header_row(records, source, out)
    if start is None:
        return [], [], []
    headings = [_as_text(h) or "" for h in records[start]]
    while headings and not headings[-1]:  # trailing empty columns (a stray delimiter at line ends)
        headings.pop()
    rows, numbers = [], []
    for offset, record in enumerate(records[start + 1:], start=start + 2):
        if len(record) > len(headings) and any(c.strip() for c in record[len(headings):]):
            out.warning(f"has {len(record)} cells but the header has {len(headings)}; extra cells ignored "
                        "(a stray delimiter or unquoted comma?)", source, offset)
        rows.append([c if c.strip() else None for c in record[:len(headings)]] +
                    [None] * max(0, len(headings) - len(record)))
        numbers.append(offset)
    return headings, rows, numbers


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV text: comma, semicolon (European Excel), tab or pipe."""
    lines = [line for line in text[:20000].splitlines() if line.strip()][:10]
    try:
        return csv.Sniffer().sniff("\n".join(lines) or ",", delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in ",;\t|"} if lines else {}
        return max(counts, key=counts.get) if counts and max(counts.values()) else ","


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode a text file: UTF-8 (with or without BOM), else Windows-1252, else Latin-1; returns (text, encoding)."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"\s*[\r\n\t\x0b\x0c]+\s*")


def _as_text(value: Any) -> str | None:
    """A cell as clean text: control characters dropped, line breaks and tabs (Alt+Enter in Excel, quoted
    newlines in CSV) folded to one space, surrounding spaces trimmed; None when empty."""
    if value is None:
        return None
    text = str(value)
    if not text.isprintable():  # rare: only then pay for the regular expressions
        text = _LINE_BREAKS.sub(" ", _CONTROL.sub("", text))
    return text.strip() or None


def _excel_cell(value: Any) -> Any:
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


def _resolve_columns(programme: Programme, headings: list[str], source: str, out: FindingCollector
                     ) -> dict[str, list[int]] | None:
    """Map each field name to the heading positions it is built from."""
    by_norm: dict[str, int] = {}
    for index, heading in enumerate(headings):
        by_norm.setdefault(normalise_heading(heading), index)
    found = ", ".join(repr(h) for h in headings if h) or "(none)"
    fields: dict[str, list[int]] = {}
    used: set[int] = set()
    ok = True
    for name, wanted in programme.rosters.columns.items():
        sources = [wanted] if isinstance(wanted, str) else list(wanted)
        positions = [by_norm.get(normalise_heading(s)) for s in sources]
        missing = [s for s, p in zip(sources, positions, strict=True) if p is None]
        if missing:
            # A mapping may name a column that only some rosters have; it matters only for required fields.
            if name in REQUIRED_FIELDS or name == "email":
                continue
            continue
        fields[snake_case(name)] = [p for p in positions if p is not None]
        if len(sources) == 1:  # a heading joined into a combined field (e.g. a name) stays a field too
            used.update(fields[snake_case(name)])
    for index, heading in enumerate(headings):
        if index in used or not heading:
            continue
        name = snake_case(heading)
        for canonical, aliases in _ALIASES.items():
            if canonical not in fields and normalise_heading(heading) in aliases:
                name = canonical
                break
        if name in fields:
            taken = name
            name = _unique(name, fields)
            out.warning(f"two columns give the field '{taken}'; column '{heading}' is read as '{name}' "
                        "(rename one, or map them under `rosters.columns`)", source)
        fields[name] = [index]
    if "name" not in fields:
        first = next((by_norm[k] for k in ("firstname", "givenname", "forename") if k in by_norm), None)
        last = next((by_norm[k] for k in ("lastname", "surname", "familyname") if k in by_norm), None)
        if first is not None:
            fields["name"] = [first] + ([last] if last is not None else [])
    for required in REQUIRED_FIELDS:
        if required not in fields:
            mapped = programme.rosters.columns.get(required)
            hint = (f"`rosters.columns` maps {required} to {mapped!r}, which is not a heading here"
                    if mapped else f"add a column '{required}', or map one under `rosters.columns:` "
                    f"(e.g. {required}: \"Your Heading\")")
            out.error(f"missing required column '{required}': {hint}. Columns found: {found}", source)
            ok = False
    return fields if ok else None


def _unique(name: str, taken: dict) -> str:
    number = 2
    while f"{name}_{number}" in taken:
        number += 1
    return f"{name}_{number}"


def _read_roster(programme: Programme, spec: str, role: str, out: FindingCollector, require_email: bool
                 ) -> Roster | None:
    import numpy as np
    import pandas as pd

    relative, sheet = split_sheet(spec)
    table = read_table(programme.resolve(relative), sheet, spec, out)
    if table is None:
        return None
    headings, rows, numbers = table
    keep = [i for i, r in enumerate(rows) if any(_present(c) for c in r)]
    if not headings or not keep:
        out.error("has no people in it (no data rows under the header); add at least one row", spec)
        return None
    fields = _resolve_columns(programme, headings, spec, out)
    if fields is None:
        return None
    data: dict[str, list[Any]] = {}
    for name, positions in fields.items():
        column = []
        for i in keep:
            parts = [_as_text(rows[i][p]) for p in positions]
            parts = [p for p in parts if p]
            column.append(" ".join(parts) if parts else None)
        data[name] = column
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})
    frame[ROW_COLUMN] = np.asarray([numbers[i] for i in keep], dtype=np.int64)
    heading_of = {name: " + ".join(headings[p] for p in pos) for name, pos in fields.items()}

    types = _convert_types(programme, frame, heading_of, spec, out, role)
    _add_ranks(programme, frame, heading_of, spec, out, types)
    _check_ids(frame, spec, heading_of, out)
    _check_emails(frame, spec, heading_of, out, require_email)
    return Roster(role, spec, frame, types)


def _numeric(value: Any) -> float | None:
    if value is None:
        return None
    text = str(value).strip().replace("\u2212", "-")
    return float(text) if _NUMBER.match(text) else None


def _convert_types(programme: Programme, frame: pd.DataFrame, heading_of: dict[str, str], source: str,
                   out: FindingCollector, role: str) -> dict[str, FieldType]:
    import numpy as np
    import pandas as pd

    declared = {snake_case(k): v for k, v in programme.rosters.types.items()}
    capacity = snake_case(programme.matching.capacity_column)
    if role in ("mentor", "participant") and capacity in frame.columns:
        declared.setdefault(capacity, FieldType.INTEGER)
    types: dict[str, FieldType] = {}
    for name in [c for c in frame.columns if not c.startswith("_")]:
        values = frame[name]
        present = values.notna()
        kind = declared.get(name)
        if name in ("id", "name", "email") and kind is None:
            types[name] = FieldType.EMAIL if name == "email" else FieldType.TEXT
            continue
        parsed = values.map(_numeric)
        bad = present & parsed.isna()
        if kind in (FieldType.NUMBER, FieldType.INTEGER):
            if kind is FieldType.INTEGER:
                fractional = parsed.notna() & (parsed.fillna(0) % 1 != 0)
                bad = bad | fractional
            for index in list(frame.index[bad])[:_MAX_CELL_MESSAGES]:
                what = "a whole number" if kind is FieldType.INTEGER else "a number"
                out.error(f"'{values[index]}' is not {what} (the column is numeric"
                          f"{' because it holds capacities' if name == capacity else ''}); fix the cell or "
                          "leave it empty", source, int(frame.at[index, ROW_COLUMN]), heading_of[name])
            if bad.sum() > _MAX_CELL_MESSAGES:
                out.error(f"… and {int(bad.sum()) - _MAX_CELL_MESSAGES} more non-numeric cells",
                          source, None, heading_of[name])
            if name == capacity:
                negative = parsed.notna() & (parsed < 0)
                for index in frame.index[negative]:
                    out.error(f"capacity {values[index]} is negative", source, int(frame.at[index, ROW_COLUMN]),
                              heading_of[name])
            frame[name] = parsed.astype(np.float64)
            types[name] = kind
        elif kind is None and present.any() and not bad.any():
            frame[name] = parsed.astype(np.float64)
            types[name] = FieldType.NUMBER
        elif kind is FieldType.DATE:
            dates = pd.to_datetime(values, errors="coerce", format="mixed")
            for index in list(frame.index[present & dates.isna()])[:_MAX_CELL_MESSAGES]:
                out.error(f"'{values[index]}' is not a date (write YYYY-MM-DD)", source,
                          int(frame.at[index, ROW_COLUMN]), heading_of[name])
            types[name] = kind
        elif kind is FieldType.BOOL:
            mapped = values.map(lambda v: _TRUTH.get(str(v).strip().lower()) if v is not None else None)
            for index in list(frame.index[present & mapped.isna()])[:_MAX_CELL_MESSAGES]:
                out.error(f"'{values[index]}' is not yes/no", source, int(frame.at[index, ROW_COLUMN]),
                          heading_of[name])
            frame[name] = mapped.astype(object)
            types[name] = kind
        else:
            if kind is None and present.sum() >= 5 and (present & ~bad).sum() >= 0.8 * present.sum():
                index = frame.index[bad][0]
                out.warning(f"column looks numeric but '{values[index]}' (and {int(bad.sum()) - 1} other "
                            "cell(s)) is text, so the column is read as text; fix the cells or declare it "
                            "under `rosters.types`", source, int(frame.at[index, ROW_COLUMN]), heading_of[name])
            types[name] = kind or FieldType.TEXT
    return types


def _add_ranks(programme: Programme, frame: pd.DataFrame, heading_of: dict[str, str], source: str,
               out: FindingCollector, types: dict[str, FieldType]) -> None:
    """For each `rosters.ranks` field, add `<field>_rank`: the value's 1-based position in the given order."""
    import numpy as np

    for field_name, order in programme.rosters.ranks.items():
        name = snake_case(field_name)
        if name not in frame.columns:
            continue
        position = {_rank_key(v): i for i, v in enumerate(order, start=1)}
        values = frame[name]
        ranks = values.map(lambda v, lookup=position: None if v is None or v != v else lookup.get(_rank_key(v)))
        unknown = values.notna() & ranks.isna()
        for index in list(frame.index[unknown])[:_MAX_CELL_MESSAGES]:
            out.error(f"'{values[index]}' is not one of the values listed under `rosters.ranks.{field_name}` "
                      f"({', '.join(map(str, order))})", source, int(frame.at[index, ROW_COLUMN]), heading_of[name])
        frame[f"{name}_rank"] = ranks.astype(np.float64)
        types[f"{name}_rank"] = FieldType.NUMBER


def _rank_key(value: Any) -> str:
    """How rank values are compared: case-insensitive text, and 3 == 3.0 == "3"."""
    number = _numeric(value)
    return f"{number:g}" if number is not None else str(value).strip().lower()


def _check_ids(frame: pd.DataFrame, source: str, heading_of: dict[str, str], out: FindingCollector) -> None:
    import pandas as pd

    ids = frame["id"]
    for index in frame.index[ids.isna()]:
        out.error("empty id: every person needs a unique id", source, int(frame.at[index, ROW_COLUMN]),
                  heading_of["id"])
    text = ids.map(lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v).strip())
    frame["id"] = text.astype(object)
    duplicated = text.notna() & text.duplicated(keep=False)
    for value, group in frame[duplicated].groupby(text[duplicated], sort=True):
        rows = ", ".join(str(r) for r in group[ROW_COLUMN].tolist())
        out.error(f"duplicate id '{value}' on rows {rows}: ids must be unique", source, int(group[ROW_COLUMN].iloc[0]),
                  heading_of["id"])
    for index in frame.index[frame["name"].isna()]:
        out.warning("empty name", source, int(frame.at[index, ROW_COLUMN]), heading_of["name"])


def _check_emails(frame: pd.DataFrame, source: str, heading_of: dict[str, str], out: FindingCollector,
                  require_email: bool) -> None:
    report = out.error if require_email else out.warning
    if "email" not in frame.columns:
        if require_email:
            out.error("no email column: sending mail needs one (map it under `rosters.columns: {email: ...}`)",
                      source)
        return
    frame["email"] = frame["email"].map(lambda v: v.strip() if isinstance(v, str) else v)
    bad = [(i, v) for i, v in frame["email"].items() if not is_email(v)]
    suffix = "" if require_email else " (needed before sending mail)"
    for index, value in bad[:_MAX_CELL_MESSAGES]:
        what = "no email address" if value is None else f"'{value}' is not an email address"
        report(f"{what}{suffix}", source, int(frame.at[index, ROW_COLUMN]), heading_of["email"])
    if len(bad) > _MAX_CELL_MESSAGES:
        report(f"… and {len(bad) - _MAX_CELL_MESSAGES} more missing or invalid email addresses{suffix}",
               source, None, heading_of["email"])


def split_list(value: Any, separator: str = ";") -> list[str]:
    """A list field's items: split on the separator, trimmed, empty items dropped."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    return [item.strip() for item in str(value).split(separator) if item.strip()]


def people_by_id(rosters: Iterable[Roster]) -> dict[str, tuple[Roster, int]]:
    """Look up a person by id across rosters: id → (roster, positional index)."""
    found: dict[str, tuple[Roster, int]] = {}
    for roster in rosters:
        for position, person_id in enumerate(roster.frame["id"].tolist()):
            found.setdefault(person_id, (roster, position))
    return found
