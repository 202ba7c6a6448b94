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


def programme_reference_markdown() -> str:
    """Every key of programme.yaml with its type, default and description, as Markdown tables."""
    lines = ["# programme.yaml reference", "",
             "Generated from the models in `src/mentorctl/programme.py` by `python -m mentorctl.reference`.",
             "Unknown keys are errors (with a did-you-mean suggestion).", ""]
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
            description = (field.description or "").replace("|", "\\|")
            lines.append(f"| `{key}` | {kind.replace('|', chr(92) + '|')} | {_default(field)} | {description} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(programme_reference_markdown())
