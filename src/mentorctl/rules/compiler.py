"""The compiler: a parsed Rule becomes typed nodes against one RuleContext; type errors are RuleErrors."""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mentorctl.errors import RuleError
from mentorctl.rules.encodings import BOOL, FALSE_WORDS, LIST, NUMBER, TEXT, normalise
from mentorctl.rules.kernels import (
    FieldItem,
    FieldList,
    ItemOperand,
    ListOperand,
    LiteralItem,
    LiteralList,
    compared_count,
    divide,
    jaccard,
    len_node,
    lookup_node,
    overlap_node,
    reduce_all,
    text_ranks,
    to_float,
    truthy,
)
from mentorctl.rules.nodes import Apply, Const, Cross, Field, Node, SideVector
from mentorctl.rules.parse import BOOL_NAMES, COMPARE_OPS, OPERATORS, Rule, literal_value, reject

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from mentorctl.rules.context import RuleContext


class Compiler:
    """Turns a parsed Rule into typed nodes against one RuleContext; type errors are RuleErrors."""

    def __init__(self, ctx: RuleContext, rule: Rule) -> None:
        self.ctx, self.rule = ctx, rule

    def compile(self) -> tuple[Node, str]:
        body = self.rule.tree.body
        node = self.expr(body)
        if node.type == LIST:
            raise self.error(body, "a literal list is not a rule on its own; use it with in, e.g. mentor.site in [\"A\"]")
        if node.type in (BOOL, TEXT):
            return self.cond_of(node), BOOL
        return node, NUMBER

    # ------------------------------------------------------------------ helpers
    def error(self, node: ast.AST, what: str) -> RuleError:
        return reject(node, self.rule.text, self.rule.origin, what)

    def source(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.rule.text, node) or "?"

    def described(self, node: ast.AST, compiled: Node) -> str:
        return f"{self.source(node)} ({compiled.type})"

    def field(self, node: ast.Attribute) -> tuple[str, str]:
        side, name = node.value.id, node.attr  # type: ignore[attr-defined]
        fields = self.ctx.fields(side)
        if name not in fields:
            words = set(name.lower().split("_"))   # years_experience → years; a word of a field's name too
            close = difflib.get_close_matches(name, fields, n=1, cutoff=0.6) or [
                f for f in fields if f.lower() in words or name.lower() in f.lower().split("_")][:1]
            hint = f"; did you mean {side}.{close[0]}?" if close else ""
            source = self.ctx.source(side)
            raise RuleError(f'{self.rule.origin}: unknown field {side}.{name} in "{self.rule.text}"{hint or "."} '
                            f"Fields of {source}: {', '.join(fields)}")
        return side, name

    def cond_of(self, node: Node) -> Node:
        """The node as a condition (dtype bool): missing is false, text is true unless empty or a false word."""
        import numpy as np

        if node.boolean:
            return node
        if node.type == TEXT:
            known = (self.ctx.known_code(w) for w in FALSE_WORDS)
            false_codes = np.array([c for c in known if c is not None], dtype=float)
            if isinstance(node, Const):
                return Const(bool(not np.isnan(node.value) and node.value not in false_codes), BOOL)
            assert isinstance(node, Field)  # text values are literals or fields
            values = node.values
            return SideVector(node.side, lambda: ~np.isnan(values) & ~np.isin(values, false_codes), BOOL, True)
        return Apply(truthy, [node], BOOL, True)

    def cond(self, node: ast.AST) -> Node:
        compiled = self.expr(node)
        if compiled.type == LIST:
            raise self.error(node, "a literal list cannot be a condition")
        return self.cond_of(compiled)

    def number(self, node: ast.AST, what: str) -> Node:
        compiled = self.expr(node)
        if compiled.type not in (NUMBER, BOOL):
            raise self.error(node, f"{what} needs numbers, but {self.described(node, compiled)} is not a number")
        return Apply(to_float, [compiled]) if compiled.boolean else compiled

    def list_operand(self, node: ast.AST, function: str) -> ListOperand:
        import numpy as np

        if isinstance(node, ast.Attribute):
            side, name = self.field(node)
            if function in ("len()", "overlap()", "jaccard()") and self.ctx.scalar(side, name)[0] in (NUMBER, BOOL) \
                    and self.ctx.frame(side)[name].notna().any():  # `x in field` may test one numeric id
                raise self.error(node, f"{function} takes list or text fields, but {side}.{name} holds numbers; "
                                       "compare numbers with == < >, or declare the field `list` under "
                                       "rosters.types if its values are ids")
            return FieldList(side, name, self.ctx.list_encoding(side, name))
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
            values = [node.value]
        elif isinstance(node, ast.List | ast.Tuple):
            values = [literal_value(e) for e in node.elts]
        else:
            raise self.error(node, f"{function} takes list fields (mentor.skills), \"text\" or literal lists "
                                   f"([\"a\", \"b\"]), not {self.source(node)}")
        codes: list[int] = []
        for value in values:
            code = self.ctx.code(normalise(value))
            if code >= 0 and code not in codes:
                codes.append(code)
        return LiteralList(np.array(codes, dtype=np.int64))

    def item_operand(self, node: ast.AST, function: str) -> ItemOperand:
        if isinstance(node, ast.Attribute):
            side, name = self.field(node)
            return FieldItem(side, name, self.ctx.items(side, name))
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
            return LiteralItem(self.ctx.code(normalise(node.value)))
        raise self.error(node, f"{function} needs a field or a literal here, not {self.source(node)}")

    # ------------------------------------------------------------------ expressions
    def expr(self, node: ast.AST) -> Node:
        import numpy as np

        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                return Const(node.value, BOOL)
            if isinstance(node.value, str):
                code = self.ctx.code(normalise(node.value))
                return Const(float(code) if code >= 0 else np.nan, TEXT)
            if not isinstance(node.value, int | float):  # pragma: no cover - the whitelist admits no other
                raise self.error(node, f"the literal {node.value!r} is not supported")
            try:
                return Const(float(node.value), NUMBER)
            except OverflowError:
                raise self.error(node, "this number is too large") from None
        if isinstance(node, ast.Name):
            return Const(BOOL_NAMES[node.id], BOOL)
        if isinstance(node, ast.Attribute):
            side, name = self.field(node)
            kind, values = self.ctx.scalar(side, name)
            return Field(side, name, kind, values)
        if isinstance(node, ast.List | ast.Tuple):
            raise self.error(node, "a literal list can only be used with in, overlap, jaccard, len or preference")
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return Apply(np.logical_not, [self.cond(node.operand)], BOOL, True)
            operand = self.number(node.operand, "unary -" if isinstance(node.op, ast.USub) else "unary +")
            return Apply(np.negative, [operand]) if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            symbol = OPERATORS[type(node.op)]
            functions: dict[str, Callable[..., Any]] = {"+": np.add, "-": np.subtract, "*": np.multiply,
                                                        "/": divide}
            fn = functions[symbol]
            return Apply(fn, [self.number(node.left, symbol), self.number(node.right, symbol)])
        if isinstance(node, ast.BoolOp):
            fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            parts = [self.cond(v) for v in node.values]
            return Apply(lambda *vs: reduce_all(fn, vs), parts, BOOL, True)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.error(node, f"{type(node).__name__} is not allowed in rules")  # pragma: no cover

    def compare(self, node: ast.Compare) -> Node:
        import numpy as np

        operands = [node.left, *node.comparators]
        steps: list[Node] = []
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            symbol = COMPARE_OPS[type(op)]
            if symbol in ("in", "not in"):
                member = self.membership(left, right)
                steps.append(Apply(np.logical_not, [member], BOOL, True) if symbol == "not in" else member)
                continue
            a, b = self.expr(left), self.expr(right)
            if LIST in (a.type, b.type):
                raise self.error(node, f"{symbol} cannot compare a literal list; use in / not in")
            text_a, text_b = a.type == TEXT, b.type == TEXT
            if text_a != text_b:
                raise self.error(node, f"cannot compare {self.described(left, a)} with {self.described(right, b)}; "
                                       "numbers compare with numbers, text with text (remove or add quotes)")
            fn = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
                  ">=": np.greater_equal}[symbol]
            if text_a and symbol not in ("==", "!="):
                rank = text_ranks(self.ctx)
                steps.append(Apply(lambda x, y, fn=fn, rank=rank: fn(rank(x), rank(y)), [a, b], BOOL, True))
            elif isinstance(a, Cross) and getattr(a, "overlap", False) and isinstance(b, Const) and not b.boolean:
                steps.append(compared_count(a, fn, float(b.value)))
            else:
                steps.append(Apply(fn, [a, b], BOOL, True))
        if len(steps) == 1:
            return steps[0]
        return Apply(lambda *vs: reduce_all(np.logical_and, vs), steps, BOOL, True)

    def membership(self, left: ast.AST, right: ast.AST) -> Node:
        import numpy as np

        if isinstance(right, ast.Attribute):
            lst = self.list_operand(right, "in")
            return Apply(np.greater, [lookup_node(self.ctx, lst, self.item_operand(left, "in"), "in"),
                                       Const(0.0, NUMBER)], BOOL, True)
        if not isinstance(right, ast.List | ast.Tuple):
            raise self.error(right, "the right of in must be a list field or a literal list such as [\"A\", \"B\"]"
                                    "; to search text use contains(text, \"part\")")
        literal = [literal_value(e) for e in right.elts]
        numbers = all(isinstance(v, int | float) for v in literal)
        if isinstance(left, ast.Attribute | ast.Constant) and not (isinstance(left, ast.Constant)
                                                                   and isinstance(left.value, bool)):
            compiled = self.expr(left)
            if compiled.type in (NUMBER, BOOL) and numbers:
                values = np.array([float(v) for v in literal])
                return Apply(lambda x: np.isin(x, values), [compiled], BOOL, True)
            if compiled.type in (NUMBER, BOOL) and isinstance(left, ast.Attribute):
                raise self.error(left, f"cannot look for {self.described(left, compiled)} in a list of text; "
                                       "numbers compare with numbers (remove the quotes)")
            lst = self.list_operand(right, "in")
            return Apply(np.greater, [lookup_node(self.ctx, lst, self.item_operand(left, "in"), "in"),
                                       Const(0.0, NUMBER)], BOOL, True)
        if not numbers:
            raise self.error(left, "the left of in must be a field or a literal when the list holds text")
        values = np.array([float(v) for v in literal])
        compiled = self.number(left, "in")
        return Apply(lambda x: np.isin(x, values), [compiled], BOOL, True)

    def call(self, node: ast.Call) -> Node:
        import numpy as np

        name = node.func.id  # type: ignore[attr-defined]
        args = node.args
        arity = {"abs": (1, 1), "len": (1, 1), "overlap": (2, 2), "jaccard": (2, 2), "preference": (2, 2),
                 "contains": (2, 2), "min": (2, None), "max": (2, None)}[name]
        low, high = arity
        if len(args) < low or (high is not None and len(args) > high):
            wanted = f"{low}" if low == high else f"{low} or more"
            raise self.error(node, f"{name}() takes {wanted} arguments, got {len(args)}")
        if name == "abs":
            return Apply(np.abs, [self.number(args[0], "abs()")])
        if name in ("min", "max"):
            fn = np.minimum if name == "min" else np.maximum
            return Apply(lambda *vs: reduce_all(fn, vs), [self.number(a, f"{name}()") for a in args])
        if name == "len":
            return len_node(self.list_operand(args[0], "len()"))
        if name in ("overlap", "jaccard"):
            a, b = self.list_operand(args[0], f"{name}()"), self.list_operand(args[1], f"{name}()")
            shared = overlap_node(self.ctx, a, b)
            if name == "overlap":
                return shared
            return Apply(jaccard, [shared, len_node(a), len_node(b)])
        if name == "preference":
            lst = self.list_operand(args[0], "preference()")
            return lookup_node(self.ctx, lst, self.item_operand(args[1], "preference()"), "preference")
        # contains(text_field, "part")
        text, part = args
        if not isinstance(text, ast.Attribute):
            raise self.error(text, "contains() takes a field first, e.g. contains(mentor.bio, \"python\")")
        if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
            raise self.error(part, "contains() takes a \"text\" literal second")
        side, field_name = self.field(text)
        needle = normalise(part.value)
        ctx = self.ctx

        def compute() -> np.ndarray:
            series = ctx.as_text(side, field_name)
            present = ~series.isna().to_numpy()
            found = np.zeros(len(series), dtype=bool)
            found[present] = series[present].astype(str).str.casefold().str.contains(needle, regex=False).to_numpy()
            return found

        return SideVector(side, compute, BOOL, True)
