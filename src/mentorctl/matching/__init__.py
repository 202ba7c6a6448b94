"""Matching mentees with mentors: candidates, min-cost flow, CP-SAT, explanations. The only user of OR-Tools.

Import this package only inside command bodies (its modules load numpy and pandas). The public names are
imported lazily (PEP 562): `match` never loads `explain`, and `explain` never loads the writers."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> module that defines it
_EXPORTS = {
    "Explanation": "mentorctl.matching.explain",
    "explain": "mentorctl.matching.explain",
    "write_match_outputs": "mentorctl.matching.output",
    "MatchResult": "mentorctl.matching.solve",
    "check_inputs": "mentorctl.matching.solve",
    "solve": "mentorctl.matching.solve",
}

__all__ = ["Explanation", "MatchResult", "check_inputs", "explain", "solve", "write_match_outputs"]

if TYPE_CHECKING:
    from mentorctl.matching.explain import Explanation, explain
    from mentorctl.matching.output import write_match_outputs
    from mentorctl.matching.solve import MatchResult, check_inputs, solve


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mentorctl.matching' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
