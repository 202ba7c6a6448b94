"""Parsing a rule: `ast.parse(mode="eval")`, then every node checked against the whitelist (RuleError with
the column otherwise). Nothing is ever passed to eval/exec."""

from __future__ import annotations

import ast
import difflib
import keyword
import re
from dataclasses import dataclass, field

from mentorctl.errors import RuleError

SIDES = ("mentor", "mentee")
FUNCTIONS = ("abs", "min", "max", "len", "overlap", "jaccard", "preference", "contains")
MAX_RULE_LENGTH = 2000


@dataclass(frozen=True)
class Rule:
    """One parsed rule expression."""

    text: str
    origin: str
    fields: frozenset[tuple[str, str]]
    sides: frozenset[str]
    tree: ast.Expression = field(compare=False, hash=False, repr=False)

    def describe(self) -> str:
        return self.text


_NODE_NAMES = {
    "Lambda": "lambda", "Subscript": "indexing with [ ]", "Slice": "slicing", "ListComp": "comprehensions",
    "SetComp": "comprehensions", "DictComp": "comprehensions", "GeneratorExp": "comprehensions",
    "Dict": "dictionaries", "Set": "sets", "IfExp": "if/else expressions", "NamedExpr": ":=",
    "JoinedStr": "f-strings", "FormattedValue": "f-strings", "Starred": "*arguments", "Await": "await",
    "Yield": "yield", "YieldFrom": "yield",
}
OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
COMPARE_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
                ast.In: "in", ast.NotIn: "not in"}
BOOL_NAMES = {"true": True, "True": True, "false": False, "False": False}
_RESERVED_FIELD = re.compile(r"\b(mentor|mentee)\s*\.\s*(" + "|".join(keyword.kwlist) + r")\b")


def parse_rule(text: str, origin: str) -> Rule:
    """Parse `text` and check it against the whitelist. Raises RuleError naming `origin` and the column."""
    if not isinstance(text, str) or not text.strip():
        raise RuleError(f"{origin}: the rule is empty; write an expression such as mentor.grade > mentee.grade")
    flat = " ".join(text.split("\n")).strip()
    if len(flat) > MAX_RULE_LENGTH:
        raise RuleError(f"{origin}: the rule is longer than {MAX_RULE_LENGTH} characters; split it into several")
    try:
        tree = ast.parse(flat, mode="eval")
    except SyntaxError as e:
        reserved = _RESERVED_FIELD.search(flat)
        if reserved:
            raise RuleError(f"{origin}: the field name '{reserved.group(2)}' is a reserved word in rules; give the "
                            f"column another name under rosters.columns (e.g. {reserved.group(2)}_name: "
                            f"<heading>) and use {reserved.group(1)}.{reserved.group(2)}_name") from None
        if not e.offset:  # the parser ran out of input: something is missing at the end
            column, hint = len(flat) + 1, "the rule ends too early (an operator without its right-hand side?)"
        else:
            column = max(1, min(e.offset, len(flat) + 1))
            hint = ("something here does not fit: check the operators (== != < <= > >= and or not in), the "
                    "quotes around text and the brackets" if e.msg == "invalid syntax" else
                    f"the parser says: {e.msg}")
        raise RuleError(f'{origin}: syntax error at column {column}: "{flat}"',
                        details=[flat, " " * (column - 1) + "^", hint]) from None
    except (RecursionError, MemoryError, ValueError) as e:
        raise RuleError(f'{origin}: the rule is too deeply nested or malformed: "{flat}"') from e
    fields: set[tuple[str, str]] = set()
    try:
        _check_node(tree.body, flat, origin, fields)
    except RecursionError as e:
        raise RuleError(f'{origin}: the rule is too deeply nested: "{flat}"') from e
    return Rule(text=flat, origin=origin, fields=frozenset(fields),
                sides=frozenset(side for side, _ in fields), tree=tree)


def reject(node: ast.AST, text: str, origin: str, what: str) -> RuleError:
    column = getattr(node, "col_offset", 0) + 1
    return RuleError(f'{origin}: {what} (column {column}) in "{text}"',
                     details=[text, " " * (column - 1) + "^"])


def _check_node(node: ast.AST, text: str, origin: str, fields: set[tuple[str, str]]) -> None:
    """Walk the tree; raise for anything outside the whitelist. Collect (side, field) pairs."""
    def check(child: ast.AST) -> None:
        _check_node(child, text, origin, fields)

    if isinstance(node, ast.BoolOp):
        for value in node.values:
            check(value)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
            raise reject(node, text, origin, "the operator ~ is not supported")
        check(node.operand)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in OPERATORS:
            symbol = {ast.Pow: "**", ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@"}.get(type(node.op), "bitwise")
            raise reject(node, text, origin, f"the operator {symbol} is not supported; use + - * /")
        check(node.left)
        check(node.right)
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in COMPARE_OPS:
                raise reject(node, text, origin, "'is' is not supported; use == or !=")
        check(node.left)
        for comparator in node.comparators:
            check(comparator)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise reject(node, text, origin, "only the functions " + ", ".join(FUNCTIONS) + " can be called")
        if node.func.id not in FUNCTIONS:
            close = difflib.get_close_matches(node.func.id, FUNCTIONS, n=1)
            hint = f"; did you mean {close[0]}()?" if close else "; functions: " + ", ".join(FUNCTIONS)
            raise reject(node, text, origin, f"unknown function {node.func.id}(){hint}")
        if node.keywords:
            raise reject(node, text, origin, f"{node.func.id}() takes no keyword arguments")
        for arg in node.args:
            check(arg)
    elif isinstance(node, ast.Attribute):
        if not (isinstance(node.value, ast.Name) and node.value.id in SIDES):
            raise reject(node, text, origin, "fields are written mentor.<field> or mentee.<field>")
        if node.attr.startswith("_"):
            raise reject(node, text, origin, f"'{node.attr}' is not a field (fields do not start with _)")
        fields.add((node.value.id, node.attr))
    elif isinstance(node, ast.Name):
        if node.id in SIDES:
            raise reject(node, text, origin, f"write {node.id}.<field>, e.g. {node.id}.department")
        if node.id not in BOOL_NAMES:
            raise reject(node, text, origin, f"unknown name '{node.id}'; use mentor.<field>, mentee.<field>, "
                                              "numbers, \"text\", true or false")
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, bool | int | float | str):
            raise reject(node, text, origin, f"the literal {node.value!r} is not supported")
    elif isinstance(node, ast.List | ast.Tuple):
        for element in node.elts:
            if isinstance(element, ast.UnaryOp) and isinstance(element.op, ast.USub | ast.UAdd):
                element = element.operand
            if not (isinstance(element, ast.Constant) and isinstance(element.value, int | float | str)):
                raise reject(element, text, origin, "literal lists hold only numbers and \"text\"")
    else:
        kind = type(node).__name__
        raise reject(node, text, origin, f"{_NODE_NAMES.get(kind, kind)} is not allowed in rules")



def literal_value(node: ast.AST) -> int | float | str:
    if isinstance(node, ast.UnaryOp):
        value = literal_value(node.operand)
        return -value if isinstance(node.op, ast.USub) else value  # type: ignore[operator]
    return node.value  # type: ignore[attr-defined]
