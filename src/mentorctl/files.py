"""Writing outputs safely: atomically, protected against spreadsheet formula injection, and never silently
over a file the coordinator has edited."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mentorctl.errors import OutputError, OutputExistsError

if TYPE_CHECKING:
    import pandas as pd

MANIFEST = ".mentorctl-outputs.json"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "|", "%")


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:
        raise OutputError(f"cannot write {target}: {e.strerror or e}; choose a folder you can write to "
                          "(e.g. --out DIR)") from e
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    return atomic_write_bytes(path, text.encode(encoding))


def neutralise_formula(value: Any) -> Any:
    """Prefix text that a spreadsheet would run as a formula (=, +, -, @ …) with a quote; numbers pass."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells cannot be interpreted as formulas."""
    import pandas as pd

    safe = frame.copy()
    for column in safe.columns:
        if not (pd.api.types.is_numeric_dtype(safe[column]) or pd.api.types.is_bool_dtype(safe[column])):
            safe[column] = safe[column].map(neutralise_formula)
    safe.columns = [neutralise_formula(str(c)) for c in safe.columns]
    return safe


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as UTF-8 CSV, formula-safe and atomic."""
    return atomic_write_text(path, neutralise_frame(frame).to_csv(index=False))


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """Write DataFrames as sheets of one workbook: formula-safe, atomic, bold frozen header row.

    Uses openpyxl's streaming (write-only) mode, which is several times faster on large sheets."""
    from io import BytesIO

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, frame in sheets.items():
        sheet = workbook.create_sheet(title=title[:31])
        safe = neutralise_frame(frame)
        sheet.freeze_panes = "A2"
        for index, column in enumerate(safe.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = min(60, max(10, len(str(column)) + 2))
        header = []
        for column in safe.columns:
            cell = WriteOnlyCell(sheet, value=_xml_safe(str(column)))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in zip(*(_column_values(safe[c]) for c in safe.columns), strict=True):
            sheet.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def _column_values(column: pd.Series) -> list[Any]:
    """A column as plain Python values for openpyxl (NaN → empty), converted per column, not per cell."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(column):
        return column.astype(object).where(column.notna(), None).tolist()
    if pd.api.types.is_numeric_dtype(column):
        values = column.astype("float64") if not pd.api.types.is_integer_dtype(column) else column
        return values.astype(object).where(column.notna(), None).tolist()
    return [_xml_safe(_cell(v)) for v in column.tolist()]


def _xml_safe(value: Any) -> Any:
    """Drop control characters that a workbook (XML) cannot hold; they would make the save fail."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _cell(value: Any) -> Any:
    import pandas as pd

    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    if isinstance(value, list | tuple | set):
        return "; ".join(str(v) for v in value)
    return value


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(folder: Path) -> dict[str, str]:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def record_output(path: str | Path) -> None:
    """Remember the content mentorctl wrote to `path`, so a later run can tell whether it was edited."""
    target = Path(path)
    manifest = _manifest(target.parent)
    manifest[target.name] = _digest(target)
    atomic_write_text(target.parent / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))


def was_edited(path: str | Path) -> bool:
    """True when `path` exists and differs from what mentorctl last wrote there (or was not written by it)."""
    target = Path(path)
    if not target.exists():
        return False
    return _manifest(target.parent).get(target.name) != _digest(target)


def guard_output(path: str | Path, force: bool, now: datetime | None = None) -> Path | None:
    """Make sure writing `path` loses nothing.

    An absent file, or one unchanged since mentorctl wrote it, may be replaced. A file edited since (or not
    written by mentorctl) is refused unless `force`; with `force` it is first copied to a backup beside it,
    whose path is returned."""
    target = Path(path)
    if not was_edited(target):
        return None
    if not force:
        raise OutputExistsError(
            f"{target} was changed since mentorctl wrote it (edited by hand?); nothing was overwritten. "
            "Re-run with --force to replace it (the current file is then kept as a backup beside it), "
            "or write elsewhere with --out DIR")
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    backup = target.with_name(f"{target.stem}.edited-{stamp}{target.suffix}")
    shutil.copy2(target, backup)
    return backup
