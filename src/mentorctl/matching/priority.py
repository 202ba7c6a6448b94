"""Waiting-time priority: a pair source whose pairs of waiting people weigh more in the solver's objective.

In a running programme each mentee on the waitlist has waited some days. Every pair of such a mentee (peers:
of either person) counts in the objective as if it scored `days × step` more, with `step` = Σ |scoring
weights| (at least 1): among matchings that cover as many people as possible (coverage always comes first),
the solver prefers those who have waited longest, and one more day of waiting outweighs a whole unit of every
scoring term. The bonus lives only in the solver: matches.csv shows each pair's real score, and `min_score`
is applied to the real score. The `fair` objective ranks pairs by their own scores, so it ignores waiting time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mentorctl.matching.candidates import PairSource


def priority_step(weights: list[float]) -> float:
    return max(1.0, float(sum(abs(w) for w in weights)))


class PrioritySource(PairSource):
    """`inner` with `bonus[mentee]` (peers: `bonus[a] + bonus[b]`) added to every score the solver sees."""

    def __init__(self, inner: PairSource, bonus: np.ndarray, min_score: float | None, peer: bool) -> None:
        self.inner, self.bonus, self.min_score, self.peer = inner, np.asarray(bonus, np.float64), min_score, peer
        self.n_mentees, self.n_mentors, self.rule_names = inner.n_mentees, inner.n_mentors, inner.rule_names

    def __getattr__(self, name: str) -> Any:   # terms_for_pairs, rule_holds_for_pairs …: the real scores
        return getattr(self.inner, name)

    def evaluate(self, rows: np.ndarray, cols: np.ndarray | None = None, *, blocked: bool = True
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        ok, score, fails = self.inner.evaluate(rows, cols, blocked=blocked)
        if self.min_score is not None:
            ok = ok & (score >= self.min_score - 1e-9)
        extra = self.bonus[rows][:, None]
        if self.peer:
            extra = extra + self.bonus[np.arange(self.n_mentors) if cols is None else cols][None, :]
        return ok, score + extra, fails

    def score_pairs(self, mentee: np.ndarray, mentor: np.ndarray) -> np.ndarray:
        return self.inner.score_pairs(mentee, mentor) + self.pair_bonus(mentee, mentor)

    def pair_bonus(self, mentee: np.ndarray, mentor: np.ndarray) -> np.ndarray:
        return self.bonus[mentee] + (self.bonus[mentor] if self.peer else 0.0)
