"""Matching mentees with mentors: candidates, min-cost flow, CP-SAT, explanations. The only user of OR-Tools.

Import this package only inside command bodies (it loads numpy and pandas)."""

from mentorctl.matching.explain import Explanation, explain
from mentorctl.matching.output import write_match_outputs
from mentorctl.matching.solve import MatchResult, check_inputs, solve

__all__ = ["Explanation", "MatchResult", "check_inputs", "explain", "solve", "write_match_outputs"]
