"""The evaluation context: rosters prepared once per run, per-field encodings cached, rules compiled and
evaluated over blocks, pairs or one side."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mentorctl.errors import RuleError
from mentorctl.rules.compiler import Compiler
from mentorctl.rules.encodings import BOOL, NUMBER, TEXT, ListEncoding, format_numbers, normalise
from mentorctl.rules.nodes import Const, Evaluation, Field, Node, SideVector
from mentorctl.rules.parse import SIDES, Rule

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd


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
        self._lists: dict[tuple[int, str], ListEncoding] = {}
        self._items: dict[tuple[int, str], np.ndarray] = {}
        self._compiled: dict[tuple[str, str], tuple[Node, str]] = {}
        self.prepared: dict[Any, Any] = {}  # node-level preparations shared between rules
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ public API
    def n(self, side: str) -> int:
        return len(self._frames[side])

    def fields(self, side: str) -> list[str]:
        """Field names of one side's roster (columns not starting with `_`)."""
        return [str(c) for c in self._frames[side].columns if not str(c).startswith("_")]

    def frame(self, side: str) -> pd.DataFrame:
        """One side's roster as given (positional rows)."""
        return self._frames[side]

    def source(self, side: str) -> str:
        """The display name of one side's roster, for messages (e.g. `mentors.csv`)."""
        return self._sources[side]

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
        return self._run(rule, Evaluation("block", {"mentee": mentees, "mentor": mentors}, (len(mentees), width)))

    def evaluate_pairs(self, rule: Rule, mentee_idx: np.ndarray, mentor_idx: np.ndarray) -> np.ndarray:
        """Evaluate for explicit pairs (mentee_idx[i], mentor_idx[i]); 1-D result."""
        import numpy as np

        mentees = np.asarray(mentee_idx, dtype=np.intp).ravel()
        mentors = np.asarray(mentor_idx, dtype=np.intp).ravel()
        if len(mentees) != len(mentors):
            raise ValueError("mentee_idx and mentor_idx must have the same length")
        return self._run(rule, Evaluation("pairs", {"mentee": mentees, "mentor": mentors}, (len(mentees),)))

    def evaluate_side(self, rule: Rule, side: str) -> np.ndarray:
        """Evaluate a single-side rule (only `mentor.` or only `mentee.` fields) over every row of that side."""
        if side not in SIDES:
            raise ValueError(f"side must be 'mentor' or 'mentee', not {side!r}")
        other = "mentee" if side == "mentor" else "mentor"
        if other in rule.sides:
            raise RuleError(f'{rule.origin}: this rule may only use {side}.<field>, but "{rule.text}" '
                            f"mentions {other}.; move it to matching.eligibility if it compares the two")
        return self._run(rule, Evaluation("side", {side: None}, (self.n(side),)))

    # ------------------------------------------------------------------ internals
    def _run(self, rule: Rule, ev: Evaluation) -> np.ndarray:
        import numpy as np

        node, kind = self._compile(rule)
        with np.errstate(all="ignore"):
            result = np.asarray(node.eval(ev))
        dtype = np.bool_ if kind == BOOL else np.float64
        result = result.astype(dtype, copy=False)
        if result.shape != ev.shape:
            result = np.broadcast_to(result, ev.shape).copy()
        elif isinstance(node, Field | SideVector | Const):
            result = result.copy()  # never hand out a cached encoding
        return result

    def _compile(self, rule: Rule) -> tuple[Node, str]:
        key = (rule.text, rule.origin)
        if key not in self._compiled:
            with self._lock:
                if key not in self._compiled:
                    try:
                        node, kind = Compiler(self, rule).compile()
                    except RecursionError as e:
                        raise RuleError(f'{rule.origin}: the rule is too deeply nested: "{rule.text}"') from e
                    node.warm()
                    self.ranks()
                    self._compiled[key] = (node, kind)
        return self._compiled[key]

    def frame_key(self, side: str, name: str) -> tuple[int, str]:
        """A key for caching what is built from one field (the same roster on both sides shares it)."""
        return id(self._frames[side]), name

    def code(self, text: str) -> int:
        """Vocabulary code of an already normalised string (-1 for the empty string), added when new."""
        if not text:
            return -1
        code = self._vocab.get(text)
        if code is None:
            code = self._vocab[text] = len(self._vocab)
        return code

    def known_code(self, text: str) -> int | None:
        """Vocabulary code of a normalised string already seen, else None (the vocabulary is unchanged)."""
        return self._vocab.get(text)

    @property
    def vocabulary_size(self) -> int:
        """Number of distinct normalised strings seen so far (codes are 0 .. size - 1)."""
        return len(self._vocab)

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
            local, uniques = pd.factorize(series[present].astype(str))   # each distinct cell normalised once
            table = np.array([self.code(normalise(u)) for u in uniques], dtype=np.float64)
            table[table < 0] = np.nan
            out[present] = table[local]
        return out

    def scalar(self, side: str, name: str) -> tuple[str, np.ndarray]:
        """(type, float64 values) of a field: numbers as is, booleans 1/0, text as vocabulary codes; NaN missing."""
        import numpy as np
        import pandas as pd

        key = self.frame_key(side, name)
        if key not in self._scalars:
            series = self._frames[side][name].reset_index(drop=True)
            if pd.api.types.is_bool_dtype(series.dtype):
                result = (BOOL, series.to_numpy(dtype=np.float64, na_value=np.nan))
            elif pd.api.types.is_numeric_dtype(series.dtype):
                result = (NUMBER, series.to_numpy(dtype=np.float64, na_value=np.nan))
            else:
                present = series.dropna()
                kinds = set(map(type, present.tolist())) if series.dtype == object else {str}
                if present.empty or not kinds <= {bool, np.bool_, int, float, np.int64, np.float64}:
                    result = (TEXT, self._encode_text(series))
                elif kinds <= {bool, np.bool_}:
                    result = (BOOL, series.map(lambda v: np.nan if pd.isna(v) else float(v)).to_numpy(np.float64))
                else:
                    result = (NUMBER, pd.to_numeric(series).to_numpy(dtype=np.float64, na_value=np.nan))
            self._scalars[key] = result
        return self._scalars[key]

    def as_text(self, side: str, name: str) -> pd.Series:
        """A field's values as text (numbers formatted as 3 or 2.5), None where missing."""
        import pandas as pd

        kind, values = self.scalar(side, name)
        if kind == TEXT:
            return self._frames[side][name].reset_index(drop=True)
        return pd.Series(format_numbers(values), dtype=object)

    def items(self, side: str, name: str) -> np.ndarray:
        """A field's values as int64 vocabulary codes of whole items (-1 missing), for `in` and preference()."""
        import numpy as np

        key = self.frame_key(side, name)
        if key not in self._items:
            kind, values = self.scalar(side, name)
            codes = values if kind == TEXT else self._encode_text(self.as_text(side, name))
            self._items[key] = np.where(np.isnan(codes), -1, codes).astype(np.int64)
        return self._items[key]

    def list_encoding(self, side: str, name: str) -> ListEncoding:
        """A field read as a list (split on its separator, trimmed, case-folded, blanks and repeats dropped)."""
        import numpy as np
        import pandas as pd

        key = self.frame_key(side, name)
        if key not in self._lists:
            series = self.as_text(side, name)
            n = len(series)
            # each distinct cell once (rosters repeat the same lists: "English;French"), then per row
            local, uniques = pd.factorize(series, use_na_sentinel=True)
            separator = self._separator_for(name)
            per_value: list[list[int]] = []
            code_of: dict[str, int] = {}            # each distinct item normalised once (lists share items)
            for value in uniques.tolist():
                seen: list[int] = []
                for part in str(value).split(separator):
                    code = code_of.get(part)
                    if code is None:
                        code = code_of[part] = self.code(normalise(part))
                    if code >= 0 and code not in seen:  # blanks and repeats dropped, the first kept
                        seen.append(code)
                per_value.append(seen)
            sizes = np.array([len(c) for c in per_value] + [0], dtype=np.int64)
            flat = np.array([c for codes_of in per_value for c in codes_of], dtype=np.int64)
            starts_of = np.concatenate([[0], np.cumsum(sizes[:-1])]).astype(np.int64)
            row_sizes = sizes[local]                           # missing (-1) takes the trailing 0
            rows = np.repeat(np.arange(n, dtype=np.int64), row_sizes)
            first = np.cumsum(row_sizes) - row_sizes
            ranks = np.arange(len(rows), dtype=np.int64) - np.repeat(first, row_sizes) + 1
            codes = flat[np.repeat(starts_of[np.maximum(local, 0)], row_sizes) + ranks - 1]
            lens = row_sizes.astype(np.float64)
            self._lists[key] = ListEncoding(rows=rows, codes=codes, ranks=ranks, lens=lens)
        return self._lists[key]
