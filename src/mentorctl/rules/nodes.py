"""Compiled rule nodes and where they are evaluated (a block of pairs, explicit pairs, or one side)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mentorctl.rules.encodings import NUMBER
from mentorctl.rules.parse import SIDES

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


class Evaluation:
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



# ------------------------------------------------------------------------------------------- compiled nodes

class Node:
    """A compiled expression. `eval` returns a numpy value broadcastable to the evaluation's shape."""

    type: str = NUMBER
    sides: frozenset[str] = frozenset()
    boolean: bool = False  # eval returns dtype bool

    def eval(self, ev: Evaluation) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def warm(self) -> None:
        """Build every lazy preparation now, so that evaluation only reads (and may run in threads)."""
        for child in getattr(self, "args", ()):
            child.warm()


class Const(Node):
    def __init__(self, value: float | bool, type_: str) -> None:
        self.value, self.type = value, type_
        self.boolean = isinstance(value, bool)

    def eval(self, ev: Evaluation) -> Any:
        import numpy as np

        return np.bool_(self.value) if self.boolean else np.float64(self.value)


class Field(Node):
    def __init__(self, side: str, name: str, type_: str, values: np.ndarray) -> None:
        self.side, self.name, self.type, self.values = side, name, type_, values
        self.sides = frozenset({side})

    def eval(self, ev: Evaluation) -> Any:
        return ev.gather(self.side, self.values)


class SideVector(Node):
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

    def eval(self, ev: Evaluation) -> Any:
        return ev.gather(self.side, self._computed())


class Apply(Node):
    """A numpy function applied to the values of child nodes."""

    def __init__(self, fn: Callable[..., Any], args: list[Node], type_: str = NUMBER, boolean: bool = False):
        self.fn, self.args, self.type, self.boolean = fn, args, type_, boolean
        self.sides = frozenset().union(*(a.sides for a in args))

    def eval(self, ev: Evaluation) -> Any:
        return self.fn(*(a.eval(ev) for a in self.args))


class Cross(Node):
    """A value of a (mentee, mentor) pair that needs both sides: prepared once, then evaluated per block."""

    overlap: bool = False  # a count of shared list items (kernels.overlap_node)

    def __init__(self, prepare: Callable[[], Callable[[Evaluation], np.ndarray]], boolean: bool = False) -> None:
        self._prepare, self.boolean = prepare, boolean
        self.sides = frozenset(SIDES)
        self._evaluate: Callable[[Evaluation], np.ndarray] | None = None

    def warm(self) -> None:
        self._prepared()

    def _prepared(self) -> Callable[[Evaluation], np.ndarray]:
        if self._evaluate is None:
            self._evaluate = self._prepare()
        return self._evaluate

    def eval(self, ev: Evaluation) -> Any:
        return self._prepared()(ev)
