"""Candidate pairs: every rule evaluated over blocks of mentees × all mentors (vectorised), keeping per mentee
only the best `candidates_per_mentee` pairs by score (ties by mentor id), with the statistics needed to prove
later that the pairs left out cannot improve the matching."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mentorctl.matching.flow import to_cost

BLOCK_CELLS = 2_000_000  # mentee × mentor cells evaluated at once


class PairSource:
    """Eligibility and score of mentee × mentor blocks. Subclasses implement `evaluate`."""

    n_mentees: int
    n_mentors: int
    rule_names: list[str] = []

    def evaluate(self, rows: np.ndarray, cols: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(eligible bool [b, n_mentors], score float [b, n_mentors], failures per rule int [b, n_rules] or None)."""
        raise NotImplementedError


class MatrixSource(PairSource):
    """A source over explicit matrices (tests, benchmarks' baselines)."""

    def __init__(self, eligible: np.ndarray, score: np.ndarray) -> None:
        self.eligible, self.score = np.asarray(eligible, bool), np.asarray(score, np.float64)
        self.n_mentees, self.n_mentors = self.eligible.shape
        self.rule_names = []

    def evaluate(self, rows: np.ndarray, cols: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        c = slice(None) if cols is None else cols
        return self.eligible[rows][:, c].copy(), self.score[rows][:, c].copy(), None


@dataclass
class Filters:
    """Everything besides the rules that removes pairs (applied in `PairSource`-independent code)."""

    mentor_open: np.ndarray                   # bool per mentor: eligible for the programme and capacity left
    excluded_keys: np.ndarray                 # sorted int64 keys mentee * n_mentors + mentor: never a candidate
    min_score: float | None = None
    min_cost_exclusive: int | None = None     # keep only pairs with cost < this (fair: score above a level)

    def apply(self, rows: np.ndarray, eligible: np.ndarray, score: np.ndarray, n_mentors: int,
              cols: np.ndarray | None = None) -> np.ndarray:
        """Candidate mask of a block (of columns `cols`, default all mentors): eligible, mentor open, not
        excluded, score high enough."""
        mask = eligible & self.mentor_open[None, :] if cols is None else eligible & self.mentor_open[None, cols]
        if self.min_score is not None:
            mask &= score >= self.min_score - 1e-9
        if self.min_cost_exclusive is not None:
            mask &= to_cost(score) < self.min_cost_exclusive
        if len(self.excluded_keys):
            lo = np.searchsorted(self.excluded_keys, rows.min() * n_mentors)
            hi = np.searchsorted(self.excluded_keys, (rows.max() + 1) * n_mentors)
            keys = self.excluded_keys[lo:hi]
            if len(keys):
                position = np.full(rows.max() + 1, -1, np.int64)
                position[rows] = np.arange(len(rows))
                r = position[keys // n_mentors]
                c = keys % n_mentors
                if cols is not None:
                    where = np.full(n_mentors, -1, np.int64)
                    where[cols] = np.arange(len(cols))
                    c = where[c]
                ok = (r >= 0) & (c >= 0)
                mask[r[ok], c[ok]] = False
        return mask


@dataclass
class Candidates:
    """The kept pairs (arrays of equal length, sorted by mentee then score) and per-mentee statistics."""

    mentee: np.ndarray
    mentor: np.ndarray
    score: np.ndarray
    rule_eligible: np.ndarray        # per mentee: mentors passing every rule (among programme-eligible mentors)
    eligible: np.ndarray             # per mentee: candidates after every filter (before pruning)
    best_discarded: np.ndarray       # per mentee: highest score of a pair not kept (-inf when none)
    failures: np.ndarray             # per mentee × rule: mentors failing that rule
    score_low: float = 0.0           # lowest / highest score of any candidate (for the certificate's bound)
    score_high: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def total_eligible(self) -> int:
        return int(self.eligible.sum())

    @property
    def pruned(self) -> bool:
        return bool(np.isfinite(self.best_discarded).any())


def block_rows(n_mentors: int) -> int:
    return max(1, min(4096, BLOCK_CELLS // max(1, n_mentors)))


def build_candidates(source: PairSource, rows: np.ndarray, filters: Filters, keep: int,
                     programme_mentor: np.ndarray | None = None,
                     progress: Callable[[int, int], None] | None = None) -> Candidates:
    """Evaluate `rows` (mentee indices) in blocks; keep the best `keep` candidates of each."""
    n_e, n_m = source.n_mentees, source.n_mentors
    rule_eligible = np.zeros(n_e, np.int64)
    eligible = np.zeros(n_e, np.int64)
    best_discarded = np.full(n_e, -np.inf)
    failures = np.zeros((n_e, len(source.rule_names)), np.int64)
    parts_i, parts_j, parts_s = [], [], []
    low, high = np.inf, -np.inf
    step = block_rows(n_m)
    in_programme = np.ones(n_m, bool) if programme_mentor is None else programme_mentor
    order_key = np.arange(n_m, dtype=np.int64)
    for start in range(0, len(rows), step):
        block = rows[start:start + step]
        ok, score, fails = source.evaluate(block)
        if fails is not None:
            failures[block] = fails
        rule_eligible[block] = (ok & in_programme[None, :]).sum(axis=1)
        mask = filters.apply(block, ok, score, n_m)
        counts = mask.sum(axis=1)
        eligible[block] = counts
        if counts.any():
            low = min(low, float(score[mask].min()))
            high = max(high, float(score[mask].max()))
        i, j, s, disc = top_k(mask, score, keep, order_key)
        best_discarded[block] = disc
        parts_i.append(block[i])
        parts_j.append(j)
        parts_s.append(s)
        if progress:
            progress(min(start + step, len(rows)), len(rows))
    return Candidates(_cat(parts_i, np.int64), _cat(parts_j, np.int64), _cat(parts_s, np.float64), rule_eligible,
                      eligible, best_discarded, failures, 0.0 if low == np.inf else low,
                      0.0 if high == -np.inf else high)


def top_k(mask: np.ndarray, score: np.ndarray, keep: int, order_key: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row, the `keep` best masked cells by (score desc, column asc); also the best score left out."""
    b, n = mask.shape
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.full(b, -np.inf)
    cost = to_cost(np.where(mask, score, 0.0))
    big = np.iinfo(np.int64).max
    key = np.where(mask, cost * n + order_key[None, :], big)
    if keep < n:
        part = np.argpartition(key, keep - 1, axis=1)
        chosen = part[:, :keep]
        rest = part[:, keep:]
        rest_key = np.take_along_axis(key, rest, axis=1)
        best_rest = rest_key.min(axis=1)
        has_rest = best_rest != big
        disc = np.full(b, -np.inf)
        rows_with = np.flatnonzero(has_rest)
        disc[rows_with] = score[rows_with, rest[rows_with, rest_key[rows_with].argmin(axis=1)]]
    else:
        chosen = np.broadcast_to(np.arange(n), (b, n))
        disc = np.full(b, -np.inf)
    chosen_mask = np.take_along_axis(mask, chosen, axis=1)
    r, c = np.nonzero(chosen_mask)
    j = chosen[r, c]
    s = score[r, j]
    order = np.lexsort((j, -s, r))
    return r[order], j[order], s[order], disc


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
