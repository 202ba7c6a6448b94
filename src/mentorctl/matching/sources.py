"""Pair sources backed by the programme's rules (the rules package): bipartite (mentee × mentor) and peer (symmetric)."""

from __future__ import annotations

import numpy as np

from mentorctl.matching.candidates import PairSource
from mentorctl.rules import Rule, RuleContext, ScoringRule


def _as_bool(value: np.ndarray) -> np.ndarray:
    if value.dtype == bool:
        return value
    return np.nan_to_num(value.astype(np.float64), nan=0.0) != 0


def _as_number(value: np.ndarray) -> np.ndarray:
    """float64 values, missing (NaN) as 0. The rules return fresh arrays, so they are changed in place; one sum
    tells whether any value is NaN (or infinite) before a mask is built."""
    number = np.array(value, dtype=np.float64, copy=value.dtype != np.float64)
    if number.size and not np.isfinite(number.sum()):
        number[np.isnan(number)] = 0.0
    return number


class RuleSource(PairSource):
    """Mentees (rows) × mentors (columns): eligible = every rule holds; score = Σ weight × value (missing = 0).
    Mentors whose id equals the mentee's (a person on both rosters) are never eligible."""

    def __init__(self, ctx: RuleContext, eligibility: list[Rule], scoring: list[ScoringRule],
                 self_mentor: np.ndarray | None = None) -> None:
        self.ctx, self.eligibility, self.scoring = ctx, eligibility, scoring
        self.n_mentees, self.n_mentors = ctx.n("mentee"), ctx.n("mentor")
        self.rule_names = [r.text for r in eligibility]
        self.self_mentor = self_mentor   # per mentee: index of the mentor with the same id, or -1

    def _one(self, rule: Rule, rows: np.ndarray, mentors: np.ndarray | None) -> np.ndarray:
        return self.ctx.evaluate_block(rule, rows, mentors)

    def evaluate(self, rows: np.ndarray, cols: np.ndarray | None = None, *, blocked: bool = True
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """With blocking (and `blocked`), the rules it decides come from its group table: their failure
        counts are over every mentor, the other rules' over `cols`."""
        width = self.n_mentors if cols is None else len(cols)
        fails = np.zeros((len(rows), len(self.eligibility)), np.int64)
        block = self.blocking if blocked else None
        skip: set[int] = set()
        if block is not None:
            ok = block.mask(rows, np.arange(self.n_mentors) if cols is None else cols)
            fails[:, block.rules] = block.failing[block.mentee_group[rows]]
            skip = set(block.rules)
        else:
            ok = np.ones((len(rows), width), bool)
        for r, rule in enumerate(self.eligibility):
            if r in skip:
                continue
            holds = _as_bool(self._one(rule, rows, cols))
            fails[:, r] = width - np.count_nonzero(holds, axis=1)
            ok &= holds
        if self.self_mentor is not None:
            same = self.self_mentor[rows]
            if cols is not None:
                where = np.full(self.n_mentors, -1, np.int64)
                where[cols] = np.arange(len(cols))
                same = np.where(same >= 0, where[np.maximum(same, 0)], -1)
            has = same >= 0
            ok[np.flatnonzero(has), same[has]] = False
        return ok, self.score(rows, cols), fails

    def score(self, rows: np.ndarray, mentors: np.ndarray | None) -> np.ndarray:
        width = self.n_mentors if mentors is None else len(mentors)
        total: np.ndarray | None = None
        for term in self.scoring:   # the same sums, in the same order, with fewer passes per block
            raw = self._one(term.rule, rows, mentors)   # a fresh array of the block's shape (RuleContext._run)
            if raw.dtype == bool:   # yes/no terms add their weight where they hold (np.add(where=) is slow)
                if total is None:
                    total = np.multiply(raw, float(term.weight))
                    total += 0.0   # no −0.0 where a negative weight does not hold
                else:
                    total += raw if term.weight == 1 else np.multiply(raw, float(term.weight))
                continue
            value = _as_number(raw)
            if term.weight != 1:
                value *= term.weight
            if total is None:
                total = value
            else:
                total += value
        return np.zeros((len(rows), width)) if total is None else total

    def score_pairs(self, mentee: np.ndarray, mentor: np.ndarray) -> np.ndarray:
        total = np.zeros(len(mentee))
        for value in self.terms_for_pairs(mentee, mentor).values():
            total += value
        return total

    def terms_for_pairs(self, mentee: np.ndarray, mentor: np.ndarray) -> dict[str, np.ndarray]:
        """Weighted contribution of each scoring term for explicit pairs."""
        return {t.name: t.weight * _as_number(self.ctx.evaluate_pairs(t.rule, mentee, mentor))
                for t in self.scoring}

    def rule_holds_for_pairs(self, rule: Rule, mentee: np.ndarray, mentor: np.ndarray) -> np.ndarray:
        return _as_bool(self.ctx.evaluate_pairs(rule, mentee, mentor))


class PeerSource(RuleSource):
    """One roster paired with itself. A pair is eligible when every rule holds with either person as `mentor`
    (both orientations); its score is the mean of the two orientations' scores. Nobody pairs with themself."""

    def evaluate(self, rows: np.ndarray, cols: np.ndarray | None = None, *, blocked: bool = True
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if cols is not None:  # peer models use CP-SAT, which never rescans
            ok, score, fails = self.evaluate(rows)
            return ok[:, cols], score[:, cols], fails
        n = self.n_mentors
        everyone = np.arange(n)
        ok = np.ones((len(rows), n), bool)
        fails = np.zeros((len(rows), len(self.eligibility)), np.int64)
        for r, rule in enumerate(self.eligibility):
            holds = _as_bool(self._one(rule, rows, None)) & _as_bool(self._one(rule, everyone, rows)).T
            fails[:, r] = n - holds.sum(axis=1)
            ok &= holds
        ok[np.arange(len(rows)), rows] = False
        return ok, self.score(rows, None), fails

    def score(self, rows: np.ndarray, mentors: np.ndarray | None) -> np.ndarray:
        cols = np.arange(self.n_mentors) if mentors is None else mentors
        a = super().score(rows, cols)
        b = np.zeros_like(a)
        for term in self.scoring:
            b += term.weight * _as_number(self._one(term.rule, cols, rows)).T
        return (a + b) / 2

    def terms_for_pairs(self, mentee: np.ndarray, mentor: np.ndarray) -> dict[str, np.ndarray]:
        return {t.name: t.weight * (_as_number(self.ctx.evaluate_pairs(t.rule, mentee, mentor))
                                    + _as_number(self.ctx.evaluate_pairs(t.rule, mentor, mentee))) / 2
                for t in self.scoring}

    def rule_holds_for_pairs(self, rule: Rule, mentee: np.ndarray, mentor: np.ndarray) -> np.ndarray:
        return (_as_bool(self.ctx.evaluate_pairs(rule, mentee, mentor))
                & _as_bool(self.ctx.evaluate_pairs(rule, mentor, mentee)))
