"""How roster values are encoded for rules: the kinds of value, normalised items, list fields as entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

# The kind of a compiled expression's value.
NUMBER, BOOL, TEXT, LIST = "number", "bool", "text", "list"
FALSE_WORDS = ("false", "no", "n", "0", "off")


@dataclass(frozen=True)
class ListEncoding:
    """A list field of one roster: one entry per (row, distinct item), rows ascending, items in written order."""

    rows: np.ndarray      # int64 row of each entry
    codes: np.ndarray     # int64 vocabulary code of each entry
    ranks: np.ndarray     # int64 1-based position of the item in its row's list
    lens: np.ndarray      # float64 items per row (0 when missing)

    @property
    def n(self) -> int:
        return len(self.lens)


def format_number(value: float) -> str | None:
    """A number as a list item / text: 3.0 -> "3", 2.5 -> "2.5", NaN -> None."""
    if value != value:
        return None
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def format_numbers(values: np.ndarray) -> list[str | None]:
    return [format_number(v) for v in values.tolist()]


def normalise(value: Any) -> str:
    """A value as a normalised item: trimmed, inner runs of spaces collapsed to one, case-folded text; numbers
    formatted as format_number. The one comparison of roster values: rules (literals and cells) and breakdown
    groups (`people.merge_spellings`) use it, so "engineering " and "Engineering" are one value everywhere."""
    if isinstance(value, int | float):
        return format_number(float(value)) or ""
    return " ".join(str(value).split()).casefold()
