"""The programme.yaml reference, generated from the pydantic models (docs/programme-reference.md).

A test regenerates it and compares, so the documentation cannot drift from the code:
`python -m mentorctl.reference > docs/programme-reference.md`.
"""

from __future__ import annotations

import typing
from enum import Enum
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from mentorctl.programme import Programme


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        inner = " or ".join(_type_name(a) for a in args)
        return inner
    if origin is list:
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping {_type_name(args[0])} → {_type_name(args[1])}" if len(args) == 2 else "mapping"
    if origin is typing.Literal:
        return " | ".join(str(a) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _type_name(args[0])
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " | ".join(str(m.value) for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    return getattr(annotation, "__name__", str(annotation))


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found:
            return found
    return None


def _default(field: Any) -> str:
    if field.default is not PydanticUndefined:
        value = field.default
        if isinstance(value, Enum):
            value = value.value
        if isinstance(value, BaseModel):
            return "(section)"
        return "—" if value is None else ("`\"\"`" if value == "" else f"`{value}`")
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "(section)"
        return f"`{value}`"
    return "**required**"


def _bounds(field: Any) -> str:
    """The documented range of a number field (from its ge/gt/le/lt constraints), e.g. ` (1 to 10,000)`."""
    low = high = None
    for item in field.metadata:
        for attr, word in (("ge", ""), ("gt", "more than ")):
            if getattr(item, attr, None) is not None:
                low = (getattr(item, attr), word)
        for attr, word in (("le", ""), ("lt", "less than ")):
            if getattr(item, attr, None) is not None:
                high = (getattr(item, attr), word)
    if low and high and not low[1] and not high[1]:
        return f" ({low[0]:,} to {high[0]:,})"
    parts = ([f"{'at least ' if not low[1] else low[1]}{low[0]:,}"] if low else []) + \
            ([f"{'at most ' if not high[1] else high[1]}{high[0]:,}"] if high else [])
    return f" ({', '.join(parts)})" if parts else ""


def programme_reference_markdown() -> str:
    """Every key of programme.yaml with its type, default and description, as Markdown tables."""
    lines = ["# programme.yaml reference", "",
             "Generated from the models in `src/mentorctl/programme.py` by `python -m mentorctl.reference`.",
             "Unknown keys are errors (with a did-you-mean suggestion). Numbers must be finite (`.nan` and `.inf` "
             "are refused) and within the range shown; durations are at most 3,660 days and dates within "
             "1900-01-01 to 2199-12-31 (see `src/mentorctl/limits.py` and the README, \"Safety\").", ""]
    queue: list[tuple[str, type[BaseModel]]] = [("", Programme)]
    seen: set[str] = set()
    while queue:
        prefix, model = queue.pop(0)
        if prefix in seen:
            continue
        seen.add(prefix)
        lines += [f"## `{prefix or '(top level)'}`", "", "| key | type | default | description |",
                  "|---|---|---|---|"]
        for name, field in model.model_fields.items():
            key = field.alias or name
            nested = _nested_model(field.annotation)
            path = f"{prefix}.{key}" if prefix else key
            kind = _type_name(field.annotation)
            if nested:
                queue.append((path + ("[]" if typing.get_origin(field.annotation) is list else ""), nested))
            description = ((field.description or "") + _bounds(field)).replace("|", "\\|")
            lines.append(f"| `{key}` | {kind.replace('|', chr(92) + '|')} | {_default(field)} | {description} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(programme_reference_markdown())
