"""Matching mentees with mentors: candidates, min-cost flow, CP-SAT, explanations. The only user of OR-Tools.

Import this package only inside command bodies (it loads numpy and pandas). `explain` and `Explanation` are
imported on first use (PEP 562), so `mentorctl match` never loads them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mentorctl.matching.output import write_match_outputs
from mentorctl.matching.solve import MatchResult, check_inputs, solve

if TYPE_CHECKING:
    from mentorctl.matching.explain import Explanation, explain

__all__ = ["Explanation", "MatchResult", "check_inputs", "explain", "solve", "write_match_outputs"]


def __getattr__(name: str) -> Any:
    if name not in ("explain", "Explanation"):
        raise AttributeError(f"module 'mentorctl.matching' has no attribute {name!r}")
    import importlib

    module = importlib.import_module("mentorctl.matching.explain")   # (importing it binds `explain` to it …)
    globals().update(explain=module.explain, Explanation=module.Explanation)  # … so the function is bound after
    return globals()[name]
