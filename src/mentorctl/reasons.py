"""Why two people were matched, written to one of them ("You both work on data analysis and negotiation").

A scoring term's sentence depends on the shape of its expression:

- `overlap(a.X, b.Y)` / `jaccard(...)`: what the two lists share — "You both speak English" (languages),
  "You share interests: chess and hiking" (the same field on both sides), otherwise "You both work on data
  analysis and negotiation" (e.g. the mentor's skills and the mentee's goals);
- `mentor.X == mentee.X`: the shared value — "You both work in London" (location, site, office, city,
  country), "You are both in Finance" (department, team), otherwise "You have the same grade: 5";
- `preference(mentee.F, mentor.id)`: "You asked for Ada Lovelace" to the mentee, "Bo asked for you" to the
  mentor.

Any other term, or one whose shared part is empty, keeps the coordinator's own `explain` text.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

PLACE_FIELDS = ("location", "site", "office", "city", "country", "campus", "region")
TEAM_FIELDS = ("department", "team", "division", "unit", "business_unit", "function")
LANGUAGE_FIELDS = ("language", "languages", "spoken_languages")


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _items(value: Any, separator: str) -> list[str]:
    if isinstance(value, list | tuple):
        return [s for s in (_text(v) for v in value) if s]
    text = _text(value)
    return [item.strip() for item in text.split(separator) if item.strip()] if text else []


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _field(node: ast.AST) -> tuple[str, str] | None:
    """`mentor.skills` → ("mentor", "skills")."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("mentor",
                                                                                                  "mentee"):
        return node.value.id, node.attr
    return None


def term_shape(expr: str) -> tuple[str, tuple[str, str], tuple[str, str]] | None:
    """("overlap" | "equal" | "preference", (side, field), (side, field)) for the expression shapes above."""
    try:
        node = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError:
        return None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 2:
        a, b = _field(node.args[0]), _field(node.args[1])
        if a and b and a[0] != b[0]:
            if node.func.id in ("overlap", "jaccard"):
                return "overlap", a, b
            if node.func.id == "preference":
                return "preference", a, b
    if (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq)
            and len(node.comparators) == 1):
        a, b = _field(node.left), _field(node.comparators[0])
        if a and b and a[0] != b[0]:
            return "equal", a, b
    return None


def _label(name: str) -> str:
    return name.replace("_", " ").strip().lower()


def reason_text(expr: str, explain: str, *, reader_side: str, reader: Mapping[str, Any], other: Mapping[str, Any],
                other_name: str, separator_for: Callable[[str], str], peer: bool = False) -> str:
    """One scoring term's reason, addressed to the reader (`reader_side` "mentor" or "mentee": where the reader
    sits in the expression). Falls back to `explain` (capitalised) when the term's shape is not known."""
    fallback = explain[:1].upper() + explain[1:] if explain else explain
    shape = term_shape(expr)
    if shape is None:
        return fallback
    kind, (side_a, field_a), (side_b, field_b) = shape
    people = {reader_side: reader, ("mentee" if reader_side == "mentor" else "mentor"): other}

    def value(side: str, name: str, person: Mapping[str, Any] | None = None) -> Any:
        row = person if person is not None else people[side]
        return row.get(name)

    if kind == "overlap":
        first = _items(value(side_a, field_a), separator_for(field_a))
        second = {s.casefold() for s in _items(value(side_b, field_b), separator_for(field_b))}
        shared = [s for s in first if s.casefold() in second]
        if peer:  # a peer pair is scored both ways round: what either side offers the other
            swapped = {side_a: people[side_b], side_b: people[side_a]}
            more = _items(value(side_a, field_a, swapped[side_a]), separator_for(field_a))
            again = {s.casefold() for s in _items(value(side_b, field_b, swapped[side_b]), separator_for(field_b))}
            shared += [s for s in more if s.casefold() in again and s.casefold() not in {x.casefold() for x in shared}]
        shared = list(dict.fromkeys(shared))
        if not shared:
            return fallback
        if field_a == field_b and field_a.lower() in LANGUAGE_FIELDS:
            return f"You both speak {_join(shared)}"
        if field_a == field_b:
            return f"You share {_label(field_a)}: {_join(shared)}"
        return f"You both work on {_join(shared)}"
    if kind == "equal":
        mine, theirs = _text(value(side_a, field_a)), _text(value(side_b, field_b))
        if not mine or not theirs or mine.casefold() != theirs.casefold():
            return fallback
        name = field_a.lower() if field_a == field_b else ""
        if name in PLACE_FIELDS:
            return f"You both work in {mine}"
        if name in TEAM_FIELDS:
            return f"You are both in {mine}"
        return f"You have the same {_label(field_a)}: {mine}"
    # preference(<side>.list, <other side>.id): the list's owner asked for the other person
    asker = side_a
    if peer:
        return "One of you asked to be paired with the other"
    if asker == reader_side:
        return f"You asked for {other_name}"
    return f"{other_name} asked for you"
