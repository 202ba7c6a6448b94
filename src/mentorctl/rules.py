"""Rule expressions: parsed with a strict `ast` whitelist, compiled to vectorised numpy over blocks of pairs.

Rules are small expressions over `mentor.<field>` and `mentee.<field>` (fields are roster columns after the
`columns:` mapping). They appear in programme.yaml as `matching.eligibility` (every pair must satisfy each),
`matching.scoring[].expr` (a pair's score is the sum of weight x value; true = 1, false = 0),
`matching.constraints.min_share[].expr` and `design.eligibility.mentors/mentees` (single-side rules).

Language
--------
| syntax | meaning |
|---|---|
| `mentor.grade`, `mentee.languages` | a field of the mentor / mentee in the pair |
| `3`, `2.5`, `"London"`, `true`, `false` | literals (`True`/`False` also work) |
| `["A", "B"]` | a literal list |
| `+ - * /`, unary `-` | arithmetic (x / 0 is missing) |
| `== != < <= > >=` | comparisons; chains such as `1 <= mentor.grade <= 3` work |
| `and`, `or`, `not` | boolean logic |
| `x in list`, `x not in list` | membership in a list field or a literal list |
| `abs(x)` | absolute value |
| `min(a, b, ...)`, `max(a, b, ...)` | smallest / largest of 2 or more numbers, pair by pair |
| `len(list)` | number of items in a list field |
| `overlap(a, b)` | number of items two lists share |
| `jaccard(a, b)` | shared items / all distinct items of both lists (0 when both are empty) |
| `preference(list, id)` | (L - r + 1) / L when `id` is at rank r (1 = first) of a list of L items, else 0 |
| `contains(text, "sub")` | the text contains "sub" |

Text and lists
- `==`, `!=`, `in` and list items ignore case and surrounding spaces (`" London"` equals `"london"`).
  `<`, `>` on text compare alphabetically (ISO dates such as 2026-01-31 compare correctly).
- A field used where a list is expected (`overlap`, `jaccard`, `len`, `preference`'s first argument, the right
  of `in`) is split on its separator (`rosters.list_separator`, default `;`, or `list_separators.<field>`);
  blank items are dropped and repeated items count once. A literal string there is a one-item list.
- Comparing a number field with text (`mentor.grade == "3"`) is an error when the rules are checked.

Missing values (empty cells) never crash a rule: `==` and `<`, `<=`, `>`, `>=` are false, `!=` is true;
arithmetic with a missing value is missing; a missing list is empty (overlaps nothing, `len` 0); `in` is
false and `not in` true; a missing value used as a condition on its own is false. A text field used as a
condition is true unless it is empty or one of false / no / n / 0 / off. A score term that is missing
evaluates to NaN; the matcher decides how to count it.

API (core, no printing)
-----------------------
- `parse_rule(text, origin) -> Rule`: syntax and whitelist check (RuleError).
- `RuleContext(mentors, mentees, separator_for=..., mentor_source=..., mentee_source=...)`: prepared once per
  run; caches per-field encodings.
  - `check(rule) -> str`: unknown fields and type errors (RuleError); returns "bool" or "number". It also
    builds the rule's encodings and matrices, so call it for every rule before evaluating blocks in threads:
    evaluation then only reads shared state.
  - `evaluate_block(rule, mentee_idx, mentor_idx=None)`: 2-D array (len(mentee_idx), n_mentors or
    len(mentor_idx)); dtype bool for conditions, float64 (NaN = missing) for numbers.
  - `evaluate_pairs(rule, mentee_idx, mentor_idx)`: 1-D, one value per (mentee_idx[i], mentor_idx[i]).
  - `evaluate_side(rule, side)`: 1-D over one roster, for single-side rules such as design.eligibility.
- `programme_rules(programme) -> ProgrammeRules`: every rule of a programme, parsed, with its origin
  (`matching.eligibility[2]`, `matching.scoring[0] (skills)`, `design.eligibility.mentors[0]`, ...).
Indices are positional row numbers into the DataFrames. Results are fresh arrays the caller may modify.
A field named like a Python keyword (`class`, `from`, `if`) cannot be used: map its column to another name.

Nothing is ever passed to eval/exec: the expression is parsed with `ast.parse(mode="eval")`, every node is
checked against a whitelist, and the tree is compiled into numpy operations. Text fields are encoded once per
side as codes over one shared vocabulary (so `==` is a number compare of (B,1) against (1,M)); list fields are
encoded once as sparse item matrices; `overlap` over a block is a matrix product.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mentorctl.errors import RuleError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

    from mentorctl.programme import Programme

SIDES = ("mentor", "mentee")
FUNCTIONS = ("abs", "min", "max", "len", "overlap", "jaccard", "preference", "contains")
FALSE_WORDS = ("false", "no", "n", "0", "off")
MAX_RULE_LENGTH = 2000

# List operations keep an (items x rows) table dense up to this many cells (128 MB), else sparse.
DENSE_LOOKUP_CELLS = 16_000_000

_NUMBER, _BOOL, _TEXT, _LIST = "number", "bool", "text", "list"


# --------------------------------------------------------------------------------------------------- parsing

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
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_COMPARE_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
                ast.In: "in", ast.NotIn: "not in"}
_BOOL_NAMES = {"true": True, "True": True, "false": False, "False": False}
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
            column, hint = max(1, min(e.offset, len(flat) + 1)), f"Python says: {e.msg}"
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


def _reject(node: ast.AST, text: str, origin: str, what: str) -> RuleError:
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
            raise _reject(node, text, origin, "the operator ~ is not supported")
        check(node.operand)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _OPERATORS:
            symbol = {ast.Pow: "**", ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@"}.get(type(node.op), "bitwise")
            raise _reject(node, text, origin, f"the operator {symbol} is not supported; use + - * /")
        check(node.left)
        check(node.right)
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _COMPARE_OPS:
                raise _reject(node, text, origin, "'is' is not supported; use == or !=")
        check(node.left)
        for comparator in node.comparators:
            check(comparator)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise _reject(node, text, origin, "only the functions " + ", ".join(FUNCTIONS) + " can be called")
        if node.func.id not in FUNCTIONS:
            close = difflib.get_close_matches(node.func.id, FUNCTIONS, n=1)
            hint = f"; did you mean {close[0]}()?" if close else "; functions: " + ", ".join(FUNCTIONS)
            raise _reject(node, text, origin, f"unknown function {node.func.id}(){hint}")
        if node.keywords:
            raise _reject(node, text, origin, f"{node.func.id}() takes no keyword arguments")
        for arg in node.args:
            check(arg)
    elif isinstance(node, ast.Attribute):
        if not (isinstance(node.value, ast.Name) and node.value.id in SIDES):
            raise _reject(node, text, origin, "fields are written mentor.<field> or mentee.<field>")
        if node.attr.startswith("_"):
            raise _reject(node, text, origin, f"'{node.attr}' is not a field (fields do not start with _)")
        fields.add((node.value.id, node.attr))
    elif isinstance(node, ast.Name):
        if node.id in SIDES:
            raise _reject(node, text, origin, f"write {node.id}.<field>, e.g. {node.id}.department")
        if node.id not in _BOOL_NAMES:
            raise _reject(node, text, origin, f"unknown name '{node.id}'; use mentor.<field>, mentee.<field>, "
                                              "numbers, \"text\", true or false")
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, bool | int | float | str):
            raise _reject(node, text, origin, f"the literal {node.value!r} is not supported")
    elif isinstance(node, ast.List | ast.Tuple):
        for element in node.elts:
            if isinstance(element, ast.UnaryOp) and isinstance(element.op, ast.USub | ast.UAdd):
                element = element.operand
            if not (isinstance(element, ast.Constant) and isinstance(element.value, int | float | str)):
                raise _reject(element, text, origin, "literal lists hold only numbers and \"text\"")
    else:
        kind = type(node).__name__
        raise _reject(node, text, origin, f"{_NODE_NAMES.get(kind, kind)} is not allowed in rules")


# ------------------------------------------------------------------------------------------ programme rules

@dataclass(frozen=True)
class ScoringRule:
    name: str
    rule: Rule
    weight: float


@dataclass(frozen=True)
class ProgrammeRules:
    """Every rule of a programme, parsed, each with its origin in programme.yaml."""

    eligibility: list[Rule]
    scoring: list[ScoringRule]
    min_share: list[Rule]
    mentor_eligibility: list[Rule]
    mentee_eligibility: list[Rule]

    def all(self) -> list[Rule]:
        return [*self.mentor_eligibility, *self.mentee_eligibility, *self.eligibility,
                *(s.rule for s in self.scoring), *self.min_share]


def programme_rules(programme: Programme) -> ProgrammeRules:
    """Parse every rule expression of `programme` (RuleError on the first bad one)."""
    matching = programme.matching
    design = programme.design.eligibility
    return ProgrammeRules(
        eligibility=[parse_rule(t, f"matching.eligibility[{i}]") for i, t in enumerate(matching.eligibility)],
        scoring=[ScoringRule(s.name, parse_rule(s.expr, f"matching.scoring[{i}] ({s.name})"), s.weight)
                 for i, s in enumerate(matching.scoring)],
        min_share=[parse_rule(m.expr, f"matching.constraints.min_share[{i}] ({m.name})")
                   for i, m in enumerate(matching.constraints.min_share)],
        mentor_eligibility=[parse_rule(t, f"design.eligibility.mentors[{i}]") for i, t in enumerate(design.mentors)],
        mentee_eligibility=[parse_rule(t, f"design.eligibility.mentees[{i}]") for i, t in enumerate(design.mentees)],
    )


# ------------------------------------------------------------------------------------------------ encodings

@dataclass(frozen=True)
class _ListEncoding:
    """A list field of one roster: one entry per (row, distinct item), rows ascending, items in written order."""

    rows: np.ndarray      # int64 row of each entry
    codes: np.ndarray     # int64 vocabulary code of each entry
    ranks: np.ndarray     # int64 1-based position of the item in its row's list
    lens: np.ndarray      # float64 items per row (0 when missing)

    @property
    def n(self) -> int:
        return len(self.lens)


def _format_number(value: float) -> str | None:
    """A number as a list item / text: 3.0 -> "3", 2.5 -> "2.5", NaN -> None."""
    if value != value:
        return None
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _format_numbers(values: np.ndarray) -> list[str | None]:
    return [_format_number(v) for v in values.tolist()]


def _normalise(value: Any) -> str:
    """A literal as a normalised item: trimmed, case-folded text; numbers formatted as _format_number."""
    if isinstance(value, int | float):
        return _format_number(float(value)) or ""
    return str(value).strip().casefold()


class _Eval:
    """Where a compiled rule is evaluated: a block (B mentees x M mentors), explicit pairs, or one side."""

    def __init__(self, mode: str, idx: dict[str, np.ndarray | None], shape: tuple[int, ...]) -> None:
        self.mode = mode
        self.idx = idx
        self.shape = shape

    def gather(self, side: str, vector: np.ndarray) -> np.ndarray:
        index = self.idx[side]
        values = vector if index is None else vector[index]
        if self.mode == "block":
            return values[:, None] if side == "mentee" else values[None, :]
        return values


class RuleContext:
    """Rosters prepared for rule evaluation: per-field encodings are computed once and cached.

    `mentors` and `mentees` are DataFrames (positional rows); in peer programmes pass the same frame twice.
    `separator_for(field)` gives the list separator of a field (`programme.rosters.separator_for`).
    """

    def __init__(self, mentors: pd.DataFrame, mentees: pd.DataFrame, *, separator_for: Callable[[str], str],
                 mentor_source: str = "mentors", mentee_source: str = "mentees") -> None:
        self._frames = {"mentor": mentors, "mentee": mentees}
        self._sources = {"mentor": mentor_source, "mentee": mentee_source}
        self._separator_for = separator_for
        self._vocab: dict[str, int] = {}
        self._ranks_cache: np.ndarray | None = None
        self._scalars: dict[tuple[int, str], tuple[str, np.ndarray]] = {}
        self._lists: dict[tuple[int, str], _ListEncoding] = {}
        self._items: dict[tuple[int, str], np.ndarray] = {}
        self._compiled: dict[tuple[str, str], tuple[_Node, str]] = {}
        self.prepared: dict[Any, Any] = {}  # node-level preparations shared between rules
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ public API
    def n(self, side: str) -> int:
        return len(self._frames[side])

    def fields(self, side: str) -> list[str]:
        """Field names of one side's roster (columns not starting with `_`)."""
        return [str(c) for c in self._frames[side].columns if not str(c).startswith("_")]

    def check(self, rule: Rule) -> str:
        """Compile `rule` against the rosters: unknown fields and type errors raise RuleError.
        Returns the result kind: "bool" (a condition) or "number"."""
        return self._compile(rule)[1]

    def evaluate_block(self, rule: Rule, mentee_idx: np.ndarray, mentor_idx: np.ndarray | None = None) -> np.ndarray:
        """Evaluate over every (mentee, mentor) in mentee_idx x mentor_idx (all mentors when None).
        Shape (len(mentee_idx), n_mentors or len(mentor_idx)); bool for conditions, float64 (NaN missing) else."""
        import numpy as np

        mentees = np.asarray(mentee_idx, dtype=np.intp).ravel()
        mentors = None if mentor_idx is None else np.asarray(mentor_idx, dtype=np.intp).ravel()
        width = self.n("mentor") if mentors is None else len(mentors)
        return self._run(rule, _Eval("block", {"mentee": mentees, "mentor": mentors}, (len(mentees), width)))

    def evaluate_pairs(self, rule: Rule, mentee_idx: np.ndarray, mentor_idx: np.ndarray) -> np.ndarray:
        """Evaluate for explicit pairs (mentee_idx[i], mentor_idx[i]); 1-D result."""
        import numpy as np

        mentees = np.asarray(mentee_idx, dtype=np.intp).ravel()
        mentors = np.asarray(mentor_idx, dtype=np.intp).ravel()
        if len(mentees) != len(mentors):
            raise ValueError("mentee_idx and mentor_idx must have the same length")
        return self._run(rule, _Eval("pairs", {"mentee": mentees, "mentor": mentors}, (len(mentees),)))

    def evaluate_side(self, rule: Rule, side: str) -> np.ndarray:
        """Evaluate a single-side rule (only `mentor.` or only `mentee.` fields) over every row of that side."""
        if side not in SIDES:
            raise ValueError(f"side must be 'mentor' or 'mentee', not {side!r}")
        other = "mentee" if side == "mentor" else "mentor"
        if other in rule.sides:
            raise RuleError(f'{rule.origin}: this rule may only use {side}.<field>, but "{rule.text}" '
                            f"mentions {other}.; move it to matching.eligibility if it compares the two")
        return self._run(rule, _Eval("side", {side: None}, (self.n(side),)))

    # ------------------------------------------------------------------ internals
    def _run(self, rule: Rule, ev: _Eval) -> np.ndarray:
        import numpy as np

        node, kind = self._compile(rule)
        with np.errstate(all="ignore"):
            result = np.asarray(node.eval(ev))
        dtype = np.bool_ if kind == _BOOL else np.float64
        result = result.astype(dtype, copy=False)
        if result.shape != ev.shape:
            result = np.broadcast_to(result, ev.shape).copy()
        elif isinstance(node, _Field | _SideVector | _Const):
            result = result.copy()  # never hand out a cached encoding
        return result

    def _compile(self, rule: Rule) -> tuple[_Node, str]:
        key = (rule.text, rule.origin)
        if key not in self._compiled:
            with self._lock:
                if key not in self._compiled:
                    try:
                        node, kind = _Compiler(self, rule).compile()
                    except RecursionError as e:
                        raise RuleError(f'{rule.origin}: the rule is too deeply nested: "{rule.text}"') from e
                    node.warm()
                    self.ranks()
                    self._compiled[key] = (node, kind)
        return self._compiled[key]

    def _frame_key(self, side: str, name: str) -> tuple[int, str]:
        return id(self._frames[side]), name

    def code(self, text: str) -> int:
        """Vocabulary code of an already normalised string (-1 for the empty string)."""
        if not text:
            return -1
        code = self._vocab.get(text)
        if code is None:
            code = self._vocab[text] = len(self._vocab)
        return code

    def ranks(self) -> np.ndarray:
        """Alphabetical rank of every vocabulary code (for < and > on text)."""
        import numpy as np

        if self._ranks_cache is None or len(self._ranks_cache) != len(self._vocab):
            words = list(self._vocab)
            order = sorted(range(len(words)), key=words.__getitem__)
            ranks = np.empty(len(words), dtype=np.float64)
            ranks[np.asarray(order, dtype=np.intp)] = np.arange(len(words), dtype=np.float64)
            self._ranks_cache = ranks
        return self._ranks_cache

    def _encode_text(self, series: pd.Series) -> np.ndarray:
        """Normalised text -> float64 vocabulary codes, NaN where missing or blank."""
        import numpy as np
        import pandas as pd

        out = np.full(len(series), np.nan)
        present = ~series.isna().to_numpy()
        if present.any():
            text = series[present].astype(str).str.strip().str.casefold()
            local, uniques = pd.factorize(text)
            table = np.array([self.code(u) for u in uniques], dtype=np.float64)
            table[table < 0] = np.nan
            out[present] = table[local]
        return out

    def scalar(self, side: str, name: str) -> tuple[str, np.ndarray]:
        """(type, float64 values) of a field: numbers as is, booleans 1/0, text as vocabulary codes; NaN missing."""
        import numpy as np
        import pandas as pd

        key = self._frame_key(side, name)
        if key not in self._scalars:
            series = self._frames[side][name].reset_index(drop=True)
            if pd.api.types.is_bool_dtype(series.dtype):
                result = (_BOOL, series.to_numpy(dtype=np.float64, na_value=np.nan))
            elif pd.api.types.is_numeric_dtype(series.dtype):
                result = (_NUMBER, series.to_numpy(dtype=np.float64, na_value=np.nan))
            else:
                present = series.dropna()
                kinds = {type(v) for v in present.tolist()} if series.dtype == object else {str}
                if present.empty or not kinds <= {bool, np.bool_, int, float, np.int64, np.float64}:
                    result = (_TEXT, self._encode_text(series))
                elif kinds <= {bool, np.bool_}:
                    result = (_BOOL, series.map(lambda v: np.nan if pd.isna(v) else float(v)).to_numpy(np.float64))
                else:
                    result = (_NUMBER, pd.to_numeric(series).to_numpy(dtype=np.float64, na_value=np.nan))
            self._scalars[key] = result
        return self._scalars[key]

    def _as_text(self, side: str, name: str) -> pd.Series:
        """A field's values as text (numbers formatted as 3 or 2.5), None where missing."""
        import pandas as pd

        kind, values = self.scalar(side, name)
        if kind == _TEXT:
            return self._frames[side][name].reset_index(drop=True)
        return pd.Series(_format_numbers(values), dtype=object)

    def items(self, side: str, name: str) -> np.ndarray:
        """A field's values as int64 vocabulary codes of whole items (-1 missing), for `in` and preference()."""
        import numpy as np

        key = self._frame_key(side, name)
        if key not in self._items:
            kind, values = self.scalar(side, name)
            codes = values if kind == _TEXT else self._encode_text(self._as_text(side, name))
            self._items[key] = np.where(np.isnan(codes), -1, codes).astype(np.int64)
        return self._items[key]

    def list_encoding(self, side: str, name: str) -> _ListEncoding:
        """A field read as a list (split on its separator, trimmed, case-folded, blanks and repeats dropped)."""
        import numpy as np
        import pandas as pd

        key = self._frame_key(side, name)
        if key not in self._lists:
            series = self._as_text(side, name)
            n = len(series)
            present = ~series.isna().to_numpy()
            text = series[present].astype(str)
            text.index = np.flatnonzero(present)
            parts = text.str.split(self._separator_for(name), regex=False).explode()
            items = parts.astype(str).str.strip().str.casefold()
            items = items[(items != "") & ~parts.isna()]
            rows = items.index.to_numpy(dtype=np.int64)
            local, uniques = pd.factorize(items)
            table = np.array([self.code(u) for u in uniques], dtype=np.int64)
            codes = table[local] if len(local) else np.zeros(0, dtype=np.int64)
            # drop repeated items of a row, keeping the first
            width = max(len(self._vocab), 1)
            _, first = np.unique(rows * width + codes, return_index=True)
            first.sort()
            rows, codes = rows[first], codes[first]
            starts = np.searchsorted(rows, rows, side="left")
            ranks = np.arange(len(rows), dtype=np.int64) - starts + 1
            lens = np.bincount(rows, minlength=n).astype(np.float64)
            self._lists[key] = _ListEncoding(rows=rows, codes=codes, ranks=ranks, lens=lens)
        return self._lists[key]


# ------------------------------------------------------------------------------------------- compiled nodes

class _Node:
    """A compiled expression. `eval` returns a numpy value broadcastable to the evaluation's shape."""

    type: str = _NUMBER
    sides: frozenset[str] = frozenset()
    boolean: bool = False  # eval returns dtype bool

    def eval(self, ev: _Eval) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def warm(self) -> None:
        """Build every lazy preparation now, so that evaluation only reads (and may run in threads)."""
        for child in getattr(self, "args", ()):
            child.warm()


class _Const(_Node):
    def __init__(self, value: float | bool, type_: str) -> None:
        self.value, self.type = value, type_
        self.boolean = isinstance(value, bool)

    def eval(self, ev: _Eval) -> Any:
        import numpy as np

        return np.bool_(self.value) if self.boolean else np.float64(self.value)


class _Field(_Node):
    def __init__(self, side: str, name: str, type_: str, values: np.ndarray) -> None:
        self.side, self.name, self.type, self.values = side, name, type_, values
        self.sides = frozenset({side})

    def eval(self, ev: _Eval) -> Any:
        return ev.gather(self.side, self.values)


class _SideVector(_Node):
    """A value computed once per row of one side (lazily), then gathered."""

    def __init__(self, side: str, compute: Callable[[], np.ndarray], type_: str, boolean: bool) -> None:
        self.side, self._compute, self.type, self.boolean = side, compute, type_, boolean
        self.sides = frozenset({side})
        self._vector: np.ndarray | None = None

    def warm(self) -> None:
        self._computed()

    def _computed(self) -> np.ndarray:
        if self._vector is None:
            self._vector = self._compute()
        return self._vector

    def eval(self, ev: _Eval) -> Any:
        return ev.gather(self.side, self._computed())


class _Apply(_Node):
    """A numpy function applied to the values of child nodes."""

    def __init__(self, fn: Callable[..., Any], args: list[_Node], type_: str = _NUMBER, boolean: bool = False):
        self.fn, self.args, self.type, self.boolean = fn, args, type_, boolean
        self.sides = frozenset().union(*(a.sides for a in args))

    def eval(self, ev: _Eval) -> Any:
        return self.fn(*(a.eval(ev) for a in self.args))


class _Cross(_Node):
    """A value of a (mentee, mentor) pair that needs both sides: prepared once, then evaluated per block."""

    def __init__(self, prepare: Callable[[], Callable[[_Eval], np.ndarray]], boolean: bool = False) -> None:
        self._prepare, self.boolean = prepare, boolean
        self.sides = frozenset(SIDES)
        self._evaluate: Callable[[_Eval], np.ndarray] | None = None

    def warm(self) -> None:
        self._prepared()

    def _prepared(self) -> Callable[[_Eval], np.ndarray]:
        if self._evaluate is None:
            self._evaluate = self._prepare()
        return self._evaluate

    def eval(self, ev: _Eval) -> Any:
        return self._prepared()(ev)


def _truthy(value: Any) -> Any:
    import numpy as np

    value = np.asarray(value)
    if value.dtype == np.bool_:
        return value
    return (value != 0) & ~np.isnan(value)


def _to_float(value: Any) -> Any:
    import numpy as np

    return np.asarray(value, dtype=np.float64)


def _divide(a: Any, b: Any) -> Any:
    import numpy as np

    result = np.divide(a, b)
    return np.where(np.asarray(b) == 0, np.nan, result)


def _text_ranks(ctx: RuleContext) -> Callable[[Any], Any]:
    """Map float vocabulary codes (NaN missing) to alphabetical ranks (NaN missing)."""
    import numpy as np

    def rank(codes: Any) -> Any:
        codes = np.asarray(codes)
        ranks = ctx.ranks()
        if len(ranks) == 0:
            return np.full(codes.shape, np.nan)
        ok = ~np.isnan(codes)
        return np.where(ok, ranks[np.where(ok, codes, 0).astype(np.intp)], np.nan)

    return rank


# -------------------------------------------------------------------------------------- list operations

@dataclass(frozen=True)
class _FieldList:
    """A list argument read from a field: its side, name and encoding."""

    side: str
    name: str
    encoding: _ListEncoding


@dataclass(frozen=True)
class _LiteralList:
    """A literal list argument: codes in written order."""

    codes: np.ndarray


_ListOperand = _FieldList | _LiteralList


@dataclass(frozen=True)
class _FieldItem:
    """A single item that is a field's whole value: its side, name and int64 codes (one per row)."""

    side: str
    name: str
    codes: np.ndarray


@dataclass(frozen=True)
class _LiteralItem:
    """A single literal item: its code."""

    code: int


_ItemOperand = _FieldItem | _LiteralItem


def _entry_values(encoding: _ListEncoding, mode: str) -> np.ndarray:
    import numpy as np

    if mode == "in":
        return np.ones(len(encoding.rows))
    length = encoding.lens[encoding.rows]
    return (length - encoding.ranks + 1) / length


def _literal_values(codes: np.ndarray, mode: str) -> np.ndarray:
    import numpy as np

    n = len(codes)
    return np.ones(n) if mode == "in" else (n - np.arange(n)) / n


def _value_of_items(codes: np.ndarray, values: np.ndarray, items: np.ndarray) -> np.ndarray:
    """values[j] where codes[j] == items[i], else 0 (codes distinct)."""
    import numpy as np

    out = np.zeros(len(items))
    if len(codes) == 0:
        return out
    order = np.argsort(codes, kind="stable")
    pos = np.minimum(np.searchsorted(codes[order], items), len(codes) - 1)
    hit = codes[order][pos] == items
    out[hit] = values[order][pos[hit]]
    return out


def _lookup_node(ctx: RuleContext, lst: _ListOperand, item: _ItemOperand, mode: str) -> _Node:
    """`item in list` (mode "in": 1/0) or preference(list, item) (mode "preference")."""
    import numpy as np

    if isinstance(lst, _LiteralList):
        literal = lst.codes
        values = _literal_values(literal, mode)
        if isinstance(item, _LiteralItem):
            return _Const(float(_value_of_items(literal, values, np.array([item.code]))[0]), _NUMBER)
        item_codes = item.codes
        return _SideVector(item.side, lambda: _value_of_items(literal, values, item_codes), _NUMBER, False)
    enc = lst.encoding
    values = _entry_values(enc, mode)
    if isinstance(item, _LiteralItem) or item.side == lst.side:
        def per_row() -> np.ndarray:
            wanted = item.code if isinstance(item, _LiteralItem) else item.codes[enc.rows]
            match = enc.codes == wanted
            out = np.zeros(enc.n)
            out[enc.rows[match]] = values[match]
            return out

        return _SideVector(lst.side, per_row, _NUMBER, False)
    key = ("lookup", mode, lst.side, id(ctx._frames[lst.side]), lst.name, item.side, id(ctx._frames[item.side]),
           item.name)

    def prepare() -> Callable[[_Eval], np.ndarray]:
        if key not in ctx.prepared:
            ctx.prepared[key] = _prepare_lookup(enc, values, lst.side, item.codes)
        return ctx.prepared[key]

    return _Cross(prepare)


def _prepare_lookup(enc: _ListEncoding, values: np.ndarray, list_side: str,
                    items: np.ndarray) -> Callable[[_Eval], np.ndarray]:
    """Value of (list row t, item row s) = values of the entry of t whose code is items[s], else 0."""
    import numpy as np
    from scipy import sparse

    common = np.intersect1d(enc.codes, items[items >= 0])
    k = len(common)
    if k == 0:
        return lambda ev: np.zeros(ev.shape)
    keep = np.isin(enc.codes, common)
    erows, ecols, evals = enc.rows[keep], np.searchsorted(common, enc.codes[keep]), values[keep]
    pos = np.minimum(np.searchsorted(common, items), k - 1)
    xc = np.where((items >= 0) & (common[pos] == items), pos, k)  # k = the all-zero column
    n_list = enc.n
    if n_list * (k + 1) <= DENSE_LOOKUP_CELLS:
        if list_side == "mentor":
            table = np.zeros((k + 1, n_list))
            table[ecols, erows] = evals

            def dense_mentor_list(ev: _Eval) -> np.ndarray:
                mi, mj = ev.idx["mentee"], ev.idx["mentor"]
                if ev.mode == "pairs":
                    return table[xc[mi], mj]
                block = table[xc[mi]]
                return block if mj is None else block[:, mj]

            return dense_mentor_list
        table = np.zeros((n_list, k + 1))
        table[erows, ecols] = evals

        def dense_mentee_list(ev: _Eval) -> np.ndarray:
            mi, mj = ev.idx["mentee"], ev.idx["mentor"]
            if ev.mode == "pairs":
                return table[mi, xc[mj]]
            return np.take(table[mi], xc if mj is None else xc[mj], axis=1)

        return dense_mentee_list
    # large vocabularies (ids): one sparse (mentees x mentors) matrix of values, built by joining on the code
    order = np.argsort(xc, kind="stable")
    sorted_codes = xc[order]
    start = np.searchsorted(sorted_codes, ecols, side="left")
    count = np.searchsorted(sorted_codes, ecols, side="right") - start
    entry = np.repeat(np.arange(len(ecols)), count)
    offset = np.arange(len(entry)) - np.repeat(np.cumsum(count) - count, count)
    item_rows = order[np.repeat(start, count) + offset]
    list_rows, data = erows[entry], evals[entry]
    n_items = len(items)
    if list_side == "mentee":
        matrix = sparse.csr_array((data, (list_rows, item_rows)), shape=(n_list, n_items))
    else:
        matrix = sparse.csr_array((data, (item_rows, list_rows)), shape=(n_items, n_list))

    def sparse_lookup(ev: _Eval) -> np.ndarray:
        mi, mj = ev.idx["mentee"], ev.idx["mentor"]
        assert mi is not None  # blocks and pairs always index the mentees
        if ev.mode == "pairs":
            assert mj is not None  # pairs index both sides
            if len(mi) == 0:
                return np.zeros(0)
            return np.asarray(matrix[mi, mj]).ravel().astype(np.float64)
        block = matrix[mi]
        if mj is not None:
            block = block[:, mj]
        return block.toarray()

    return sparse_lookup


def _overlap_node(ctx: RuleContext, a: _ListOperand, b: _ListOperand) -> _Node:
    """Number of items two lists share."""
    import numpy as np

    if isinstance(a, _FieldList):
        field, b = a, b
    elif isinstance(b, _FieldList):
        field, b = b, a
    else:
        return _Const(float(len(np.intersect1d(a.codes, b.codes))), _NUMBER)
    a = field
    enc = a.encoding
    if isinstance(b, _LiteralList):
        literal = b.codes
        return _SideVector(a.side, lambda: np.bincount(enc.rows[np.isin(enc.codes, literal)],
                                                       minlength=enc.n).astype(np.float64), _NUMBER, False)
    other = b.encoding
    if a.side == b.side:
        def per_row() -> np.ndarray:
            width = max(len(ctx._vocab), 1)
            shared = np.isin(enc.rows * width + enc.codes, other.rows * width + other.codes)
            return np.bincount(enc.rows[shared], minlength=enc.n).astype(np.float64)

        return _SideVector(a.side, per_row, _NUMBER, False)
    mentee, mentor = (a, b) if a.side == "mentee" else (b, a)
    key = ("overlap", id(ctx._frames["mentee"]), mentee.name, id(ctx._frames["mentor"]), mentor.name)

    def prepare() -> Callable[[_Eval], np.ndarray]:
        if key not in ctx.prepared:
            ctx.prepared[key] = _prepare_overlap(mentee.encoding, mentor.encoding)
        return ctx.prepared[key]

    return _Cross(prepare)


def _compact_matrix(enc: _ListEncoding, common: np.ndarray) -> Any:  # a scipy sparse array (scipy is untyped)
    import numpy as np
    from scipy import sparse

    keep = np.isin(enc.codes, common)
    return sparse.csr_array((np.ones(int(keep.sum())), (enc.rows[keep], np.searchsorted(common, enc.codes[keep]))),
                            shape=(enc.n, len(common)))


def _prepare_overlap(mentee: _ListEncoding, mentor: _ListEncoding) -> Callable[[_Eval], np.ndarray]:
    """Block overlap = (mentee items, sparse) @ (items x mentors, dense when it fits): cost ~ items x mentors."""
    import numpy as np

    common = np.intersect1d(mentee.codes, mentor.codes)
    if len(common) == 0:
        return lambda ev: np.zeros(ev.shape)
    left, right = _compact_matrix(mentee, common), _compact_matrix(mentor, common)
    right_t = right.T.tocsr()
    dense_right_t = right_t.toarray() if right_t.shape[0] * right_t.shape[1] <= DENSE_LOOKUP_CELLS else None

    def overlap(ev: _Eval) -> np.ndarray:
        mi, mj = ev.idx["mentee"], ev.idx["mentor"]
        if ev.mode == "pairs":
            return np.asarray(left[mi].multiply(right[mj]).sum(axis=1), dtype=np.float64).ravel()
        if dense_right_t is not None:
            return left[mi] @ (dense_right_t if mj is None else dense_right_t[:, mj])
        return (left[mi] @ (right_t if mj is None else right[mj].T.tocsr())).toarray()

    return overlap


def _len_node(lst: _ListOperand) -> _Node:
    if isinstance(lst, _LiteralList):
        return _Const(float(len(lst.codes)), _NUMBER)
    lens = lst.encoding.lens
    return _SideVector(lst.side, lambda: lens, _NUMBER, False)


def _jaccard(shared: Any, len_a: Any, len_b: Any) -> Any:
    """shared / union, 0 when both lists are empty (then shared = 0 too, so divide by max(union, 1))."""
    import numpy as np

    union = np.asarray(np.add(len_a, len_b), dtype=np.float64)
    union = np.subtract(union, shared, out=union if union.shape == np.broadcast_shapes(union.shape,
                                                                                        np.shape(shared)) else None)
    np.maximum(union, 1.0, out=union)
    return np.divide(shared, union, out=union if union.shape == np.shape(shared) else None)


# ------------------------------------------------------------------------------------------------ compiler

class _Compiler:
    """Turns a parsed Rule into typed nodes against one RuleContext; type errors are RuleErrors."""

    def __init__(self, ctx: RuleContext, rule: Rule) -> None:
        self.ctx, self.rule = ctx, rule

    def compile(self) -> tuple[_Node, str]:
        body = self.rule.tree.body
        node = self.expr(body)
        if node.type == _LIST:
            raise self.error(body, "a literal list is not a rule on its own; use it with in, e.g. mentor.site in [\"A\"]")
        if node.type in (_BOOL, _TEXT):
            return self.cond_of(node), _BOOL
        return node, _NUMBER

    # ------------------------------------------------------------------ helpers
    def error(self, node: ast.AST, what: str) -> RuleError:
        return _reject(node, self.rule.text, self.rule.origin, what)

    def source(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.rule.text, node) or "?"

    def described(self, node: ast.AST, compiled: _Node) -> str:
        return f"{self.source(node)} ({compiled.type})"

    def field(self, node: ast.Attribute) -> tuple[str, str]:
        side, name = node.value.id, node.attr  # type: ignore[attr-defined]
        fields = self.ctx.fields(side)
        if name not in fields:
            close = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
            hint = f"; did you mean {side}.{close[0]}?" if close else ""
            source = self.ctx._sources[side]
            raise RuleError(f'{self.rule.origin}: unknown field {side}.{name} in "{self.rule.text}"{hint} '
                            f"Fields of {source}: {', '.join(fields)}")
        return side, name

    def cond_of(self, node: _Node) -> _Node:
        """The node as a condition (dtype bool): missing is false, text is true unless empty or a false word."""
        import numpy as np

        if node.boolean:
            return node
        if node.type == _TEXT:
            false_codes = np.array([self.ctx._vocab[w] for w in FALSE_WORDS if w in self.ctx._vocab], dtype=float)
            if isinstance(node, _Const):
                return _Const(bool(not np.isnan(node.value) and node.value not in false_codes), _BOOL)
            values = node.values  # type: ignore[attr-defined]
            return _SideVector(node.side, lambda: ~np.isnan(values) & ~np.isin(values, false_codes),  # type: ignore[attr-defined]
                               _BOOL, True)
        return _Apply(_truthy, [node], _BOOL, True)

    def cond(self, node: ast.AST) -> _Node:
        compiled = self.expr(node)
        if compiled.type == _LIST:
            raise self.error(node, "a literal list cannot be a condition")
        return self.cond_of(compiled)

    def number(self, node: ast.AST, what: str) -> _Node:
        compiled = self.expr(node)
        if compiled.type not in (_NUMBER, _BOOL):
            raise self.error(node, f"{what} needs numbers, but {self.described(node, compiled)} is not a number")
        return _Apply(_to_float, [compiled]) if compiled.boolean else compiled

    def list_operand(self, node: ast.AST, function: str) -> _ListOperand:
        import numpy as np

        if isinstance(node, ast.Attribute):
            side, name = self.field(node)
            if function in ("len()", "overlap()", "jaccard()") and self.ctx.scalar(side, name)[0] in (_NUMBER, _BOOL) \
                    and self.ctx._frames[side][name].notna().any():  # `x in field` may test one numeric id
                raise self.error(node, f"{function} takes list or text fields, but {side}.{name} holds numbers; "
                                       "compare numbers with == < >, or declare the field `list` under "
                                       "rosters.types if its values are ids")
            return _FieldList(side, name, self.ctx.list_encoding(side, name))
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
            values = [node.value]
        elif isinstance(node, ast.List | ast.Tuple):
            values = [_literal_value(e) for e in node.elts]
        else:
            raise self.error(node, f"{function} takes list fields (mentor.skills), \"text\" or literal lists "
                                   f"([\"a\", \"b\"]), not {self.source(node)}")
        codes: list[int] = []
        for value in values:
            code = self.ctx.code(_normalise(value))
            if code >= 0 and code not in codes:
                codes.append(code)
        return _LiteralList(np.array(codes, dtype=np.int64))

    def item_operand(self, node: ast.AST, function: str) -> _ItemOperand:
        if isinstance(node, ast.Attribute):
            side, name = self.field(node)
            return _FieldItem(side, name, self.ctx.items(side, name))
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
            return _LiteralItem(self.ctx.code(_normalise(node.value)))
        raise self.error(node, f"{function} needs a field or a literal here, not {self.source(node)}")

    # ------------------------------------------------------------------ expressions
    def expr(self, node: ast.AST) -> _Node:
        import numpy as np

        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                return _Const(node.value, _BOOL)
            if isinstance(node.value, str):
                code = self.ctx.code(_normalise(node.value))
                return _Const(float(code) if code >= 0 else np.nan, _TEXT)
            if not isinstance(node.value, int | float):  # pragma: no cover - the whitelist admits no other
                raise self.error(node, f"the literal {node.value!r} is not supported")
            try:
                return _Const(float(node.value), _NUMBER)
            except OverflowError:
                raise self.error(node, "this number is too large") from None
        if isinstance(node, ast.Name):
            return _Const(_BOOL_NAMES[node.id], _BOOL)
        if isinstance(node, ast.Attribute):
            side, name = self.field(node)
            kind, values = self.ctx.scalar(side, name)
            return _Field(side, name, kind, values)
        if isinstance(node, ast.List | ast.Tuple):
            raise self.error(node, "a literal list can only be used with in, overlap, jaccard, len or preference")
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return _Apply(np.logical_not, [self.cond(node.operand)], _BOOL, True)
            operand = self.number(node.operand, "unary -" if isinstance(node.op, ast.USub) else "unary +")
            return _Apply(np.negative, [operand]) if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            symbol = _OPERATORS[type(node.op)]
            functions: dict[str, Callable[..., Any]] = {"+": np.add, "-": np.subtract, "*": np.multiply,
                                                        "/": _divide}
            fn = functions[symbol]
            return _Apply(fn, [self.number(node.left, symbol), self.number(node.right, symbol)])
        if isinstance(node, ast.BoolOp):
            fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            parts = [self.cond(v) for v in node.values]
            return _Apply(lambda *vs: _reduce(fn, vs), parts, _BOOL, True)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.error(node, f"{type(node).__name__} is not allowed in rules")  # pragma: no cover

    def compare(self, node: ast.Compare) -> _Node:
        import numpy as np

        operands = [node.left, *node.comparators]
        steps: list[_Node] = []
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            symbol = _COMPARE_OPS[type(op)]
            if symbol in ("in", "not in"):
                member = self.membership(left, right)
                steps.append(_Apply(np.logical_not, [member], _BOOL, True) if symbol == "not in" else member)
                continue
            a, b = self.expr(left), self.expr(right)
            if _LIST in (a.type, b.type):
                raise self.error(node, f"{symbol} cannot compare a literal list; use in / not in")
            text_a, text_b = a.type == _TEXT, b.type == _TEXT
            if text_a != text_b:
                raise self.error(node, f"cannot compare {self.described(left, a)} with {self.described(right, b)}; "
                                       "numbers compare with numbers, text with text (remove or add quotes)")
            fn = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
                  ">=": np.greater_equal}[symbol]
            if text_a and symbol not in ("==", "!="):
                rank = _text_ranks(self.ctx)
                steps.append(_Apply(lambda x, y, fn=fn, rank=rank: fn(rank(x), rank(y)), [a, b], _BOOL, True))
            else:
                steps.append(_Apply(fn, [a, b], _BOOL, True))
        if len(steps) == 1:
            return steps[0]
        return _Apply(lambda *vs: _reduce(np.logical_and, vs), steps, _BOOL, True)

    def membership(self, left: ast.AST, right: ast.AST) -> _Node:
        import numpy as np

        if isinstance(right, ast.Attribute):
            lst = self.list_operand(right, "in")
            return _Apply(np.greater, [_lookup_node(self.ctx, lst, self.item_operand(left, "in"), "in"),
                                       _Const(0.0, _NUMBER)], _BOOL, True)
        if not isinstance(right, ast.List | ast.Tuple):
            raise self.error(right, "the right of in must be a list field or a literal list such as [\"A\", \"B\"]"
                                    "; to search text use contains(text, \"part\")")
        literal = [_literal_value(e) for e in right.elts]
        numbers = all(isinstance(v, int | float) for v in literal)
        if isinstance(left, ast.Attribute | ast.Constant) and not (isinstance(left, ast.Constant)
                                                                   and isinstance(left.value, bool)):
            compiled = self.expr(left)
            if compiled.type in (_NUMBER, _BOOL) and numbers:
                values = np.array([float(v) for v in literal])
                return _Apply(lambda x: np.isin(x, values), [compiled], _BOOL, True)
            if compiled.type in (_NUMBER, _BOOL) and isinstance(left, ast.Attribute):
                raise self.error(left, f"cannot look for {self.described(left, compiled)} in a list of text; "
                                       "numbers compare with numbers (remove the quotes)")
            lst = self.list_operand(right, "in")
            return _Apply(np.greater, [_lookup_node(self.ctx, lst, self.item_operand(left, "in"), "in"),
                                       _Const(0.0, _NUMBER)], _BOOL, True)
        if not numbers:
            raise self.error(left, "the left of in must be a field or a literal when the list holds text")
        values = np.array([float(v) for v in literal])
        compiled = self.number(left, "in")
        return _Apply(lambda x: np.isin(x, values), [compiled], _BOOL, True)

    def call(self, node: ast.Call) -> _Node:
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
            return _Apply(np.abs, [self.number(args[0], "abs()")])
        if name in ("min", "max"):
            fn = np.minimum if name == "min" else np.maximum
            return _Apply(lambda *vs: _reduce(fn, vs), [self.number(a, f"{name}()") for a in args])
        if name == "len":
            return _len_node(self.list_operand(args[0], "len()"))
        if name in ("overlap", "jaccard"):
            a, b = self.list_operand(args[0], f"{name}()"), self.list_operand(args[1], f"{name}()")
            shared = _overlap_node(self.ctx, a, b)
            if name == "overlap":
                return shared
            return _Apply(_jaccard, [shared, _len_node(a), _len_node(b)])
        if name == "preference":
            lst = self.list_operand(args[0], "preference()")
            return _lookup_node(self.ctx, lst, self.item_operand(args[1], "preference()"), "preference")
        # contains(text_field, "part")
        text, part = args
        if not isinstance(text, ast.Attribute):
            raise self.error(text, "contains() takes a field first, e.g. contains(mentor.bio, \"python\")")
        if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
            raise self.error(part, "contains() takes a \"text\" literal second")
        side, field_name = self.field(text)
        needle = _normalise(part.value)
        ctx = self.ctx

        def compute() -> np.ndarray:
            series = ctx._as_text(side, field_name)
            present = ~series.isna().to_numpy()
            found = np.zeros(len(series), dtype=bool)
            found[present] = series[present].astype(str).str.casefold().str.contains(needle, regex=False).to_numpy()
            return found

        return _SideVector(side, compute, _BOOL, True)


def _reduce(fn: Callable[[Any, Any], Any], values: tuple[Any, ...]) -> Any:
    result = values[0]
    for value in values[1:]:
        result = fn(result, value)
    return result


def _literal_value(node: ast.AST) -> int | float | str:
    if isinstance(node, ast.UnaryOp):
        value = _literal_value(node.operand)
        return -value if isinstance(node.op, ast.USub) else value  # type: ignore[operator]
    return node.value  # type: ignore[attr-defined]


def uses_private_field(text: str, programme: Programme) -> bool:
    """Whether a rule expression reads a field listed under `private:` (its values must then not be shown to
    participants: such scoring terms are left out of packs and explanations)."""
    private = {str(p).strip().lower() for p in programme.private}
    try:
        fields = parse_rule(text, "private check").fields
    except RuleError:
        return False
    return any(name.lower() in private for _, name in fields)
