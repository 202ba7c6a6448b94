"""Candidate pairs: every rule evaluated over blocks of mentees × all mentors (vectorised), keeping per mentee
only the best `candidates_per_mentee` pairs by score (ties by mentor id), with the statistics needed to prove
later that the pairs left out cannot improve the matching."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mentorctl.matching.flow import SCALE as SCALE_COST
from mentorctl.matching.flow import to_cost

if TYPE_CHECKING:
    from mentorctl.matching.blocking import Blocking

SPREAD = 7919  # a prime: equal-score ties are broken by a per-row rotation, so mentees do not all prefer the
# same (lowest-id) mentors among equals, and mentors not the same mentees (deterministic all the same)
BLOCK_CELLS = 500_000  # mentee × mentor cells evaluated at once (fits in cache better than more)


class PairSource:
    """Eligibility and score of mentee × mentor blocks. Subclasses implement `evaluate`."""

    n_mentees: int
    n_mentors: int
    rule_names: list[str] = []
    blocking: Blocking | None = None  # rules decided per group of people (RuleSource)

    def evaluate(self, rows: np.ndarray, cols: np.ndarray | None = None, *, blocked: bool = True
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(eligible bool [b, n_mentors], score float [b, n_mentors], failures per rule int [b, n_rules] or None).
        `blocked=False`: evaluate every rule pair by pair even where `blocking` decides it."""
        raise NotImplementedError

    def score_pairs(self, mentee: np.ndarray, mentor: np.ndarray) -> np.ndarray:
        """Scores of explicit pairs."""
        raise NotImplementedError


class MatrixSource(PairSource):
    """A source over explicit matrices (tests, benchmarks' baselines)."""

    def __init__(self, eligible: np.ndarray, score: np.ndarray) -> None:
        self.eligible, self.score = np.asarray(eligible, bool), np.asarray(score, np.float64)
        self.n_mentees, self.n_mentors = self.eligible.shape
        self.rule_names = []

    def evaluate(self, rows: np.ndarray, cols: np.ndarray | None = None, *, blocked: bool = True
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        c = slice(None) if cols is None else cols
        return self.eligible[rows][:, c].copy(), self.score[rows][:, c].copy(), None

    def score_pairs(self, mentee: np.ndarray, mentor: np.ndarray) -> np.ndarray:
        return self.score[mentee, mentor]


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


@dataclass
class _Block:
    rows: np.ndarray
    mentee: np.ndarray
    mentor: np.ndarray
    score: np.ndarray
    best_discarded: np.ndarray
    rule_eligible: np.ndarray
    eligible: np.ndarray
    failures: np.ndarray | None
    low: float
    high: float
    mentor_best: np.ndarray | None  # [≤ per_mentor, n_mentors] keys cost × n_mentees + mentee of each mentor's best


def _mentor_keys(mask: np.ndarray, score: np.ndarray, block: np.ndarray, n_mentees: int, per_mentor: int,
                 cols: np.ndarray, n_mentors: int) -> np.ndarray:
    """Each mentor's `per_mentor` best mentees of a block, as unique sortable keys (big = none), a row per
    rank and a column per mentor (mentors outside `cols` get none)."""
    big = np.iinfo(np.int64).max
    key = to_cost(score)
    key *= n_mentees
    key += (block[:, None] + cols[None, :] * SPREAD) % n_mentees
    key[~mask] = big
    if len(block) > per_mentor:
        key = np.partition(key, per_mentor - 1, axis=0)[:per_mentor]
    full = np.full((len(key), n_mentors), big)
    full[:, cols] = key
    return full


def _evaluate_block(source: PairSource, block: np.ndarray, filters: Filters, keep: int,
                    in_programme: np.ndarray, order_key: np.ndarray, per_mentor: int, compiled: bool) -> _Block:
    n_m = source.n_mentors
    blocking = source.blocking
    cols = blocking.columns(block) if blocking is not None else None
    if cols is not None and len(cols) == n_m:
        cols = None
    ok, score, fails = source.evaluate(block, cols)
    where = np.arange(n_m) if cols is None else cols
    rule_eligible = np.count_nonzero(ok & in_programme[None, where], axis=1)
    mask = filters.apply(block, ok, score, n_m, cols)
    mentor_best = (_mentor_keys(mask, score, block, source.n_mentees, per_mentor, where, n_m) if per_mentor
                   else None)
    if compiled:   # the same selection in one compiled pass (matching/kernels.py)
        from mentorctl.matching.kernels import top_k_block

        i, j, s, counts, disc, low, high = top_k_block(mask, score, keep, block, order_key[where], n_m, SPREAD,
                                                       SCALE_COST)
        return _Block(block, block[i], where[j], s, disc, rule_eligible, counts, fails, low, high, mentor_best)
    counts = np.count_nonzero(mask, axis=1)
    i, j, s, disc = top_k_rotated(mask, score, keep, block, order_key[where], n_m, counts)
    low, high = np.inf, -np.inf
    if len(s):  # each row's best candidate is kept, so the highest score is among the kept ones
        low, high = float(np.where(mask, score, np.inf).min()), float(s.max())
    return _Block(block, block[i], where[j], s, disc, rule_eligible, counts, fails, low, high, mentor_best)


def build_candidates(source: PairSource, rows: np.ndarray, filters: Filters, keep: int,
                     programme_mentor: np.ndarray | None = None,
                     progress: Callable[[int, int], None] | None = None, workers: int | None = None,
                     per_mentor: int = 0, compiled: bool | None = None) -> Candidates:
    """Evaluate `rows` (mentee indices) in blocks, on `workers` threads (numpy releases the GIL; the rules are
    read-only after `RuleContext.check`); keep the best `keep` candidates of each mentee, plus each mentor's
    best `per_mentor` mentees (so a mentor nobody ranks highly still gets candidates: this keeps coverage
    when popular mentors are scarce, and leaves the optimality proof little to add). `compiled`: select with the
    compiled kernel (default: when the programme is large enough, see `kernels.use_kernel`)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from mentorctl.matching.kernels import use_kernel

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
    blocking = source.blocking
    if blocking is not None:
        blocks = blocking.chunks(rows, BLOCK_CELLS)
    else:
        blocks = [rows[start:start + step] for start in range(0, len(rows), step)]
    threads = max(1, min(workers or os.cpu_count() or 1, len(blocks)))
    done = 0
    big = np.iinfo(np.int64).max
    mentor_best = np.full((per_mentor, n_m), big)
    pending: list[np.ndarray] = []
    compiled = use_kernel(n_e, n_m) if compiled is None else compiled
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = pool.map(lambda b: _evaluate_block(source, b, filters, keep, in_programme, order_key,
                                                     per_mentor, compiled), blocks)
        for result in results:  # in block order: deterministic
            if result.mentor_best is not None:  # with per_mentor
                pending.append(result.mentor_best)
                if sum(len(p) for p in pending) >= 8 * per_mentor:
                    mentor_best = _merge_best(mentor_best, pending, per_mentor)
                    pending = []
            block = result.rows
            if result.failures is not None:
                failures[block] = result.failures
            rule_eligible[block] = result.rule_eligible
            eligible[block] = result.eligible
            best_discarded[block] = result.best_discarded
            low, high = min(low, result.low), max(high, result.high)
            parts_i.append(result.mentee)
            parts_j.append(result.mentor)
            parts_s.append(result.score)
            done += len(block)
            if progress:
                progress(done, len(rows))
    mentee, mentor, score = _cat(parts_i, np.int64), _cat(parts_j, np.int64), _cat(parts_s, np.float64)
    if blocking is not None:
        order = np.argsort(mentee, kind="stable")  # blocks came in group order: back to mentee order
        mentee, mentor, score = mentee[order], mentor[order], score[order]
        nobody = rows[rule_eligible[rows] == 0]
        for start in range(0, len(nobody), step):  # exact failure counts of every rule for their messages
            part = nobody[start:start + step]
            exact = source.evaluate(part, blocked=False)[2]
            if exact is not None:
                failures[part] = exact
    if per_mentor:
        mentor_best = _merge_best(mentor_best, pending, per_mentor)
        mentee, mentor, score = _add_mentor_best(source, mentor_best, mentee, mentor, score)
    return Candidates(mentee, mentor, score, rule_eligible, eligible, best_discarded, failures,
                      0.0 if low == np.inf else low, 0.0 if high == -np.inf else high)


def _merge_best(best: np.ndarray, pending: list[np.ndarray], per_mentor: int) -> np.ndarray:
    stacked = np.concatenate([best, *pending])
    return np.partition(stacked, per_mentor - 1, axis=0)[:per_mentor] if len(stacked) > per_mentor else stacked


def _add_mentor_best(source: PairSource, best: np.ndarray, mentee: np.ndarray, mentor: np.ndarray,
                     score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of the per-mentee candidates and each mentor's best mentees, sorted by mentee, score desc, mentor."""
    n_e, n_m = source.n_mentees, source.n_mentors
    rank, column = cells(best != np.iinfo(np.int64).max)
    keys = best[rank, column]
    extra_j = column.astype(np.int64)
    extra_i = (keys % n_e - extra_j * SPREAD) % n_e  # undo the tie rotation of `_mentor_keys`
    have = np.sort(mentee * n_m + mentor)
    new_keys = np.setdiff1d(extra_i * n_m + extra_j, have, assume_unique=False)
    if len(new_keys):
        new_i, new_j = new_keys // n_m, new_keys % n_m
        mentee = np.concatenate([mentee, new_i])
        mentor = np.concatenate([mentor, new_j])
        score = np.concatenate([score, source.score_pairs(new_i, new_j)])
    order = np.lexsort((mentor, to_cost(score), mentee))
    return mentee[order], mentor[order], score[order]


def top_k(mask: np.ndarray, score: np.ndarray, keep: int, order_key: np.ndarray, ties: int | None = None
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row, the `keep` best masked cells by (score desc, then `order_key`: a per-column or per-cell tie
    rank, unique within a row); also the best score left out.

    Each cell gets a unique key (cost × n + tie rank), so the `keep`-th smallest key of a row (np.partition on
    values) is an exact threshold; only rows with more than `keep` candidates are partitioned."""
    b, width = mask.shape
    n = max(width, ties or 0)  # tie ranks are below n
    disc = np.full(b, -np.inf)
    if width == 0 or b == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), disc
    big = np.iinfo(np.int64).max
    key = to_cost(score)
    key *= n
    key += order_key if order_key.ndim == 2 else order_key[None, :]
    key[~mask] = big
    selected = mask
    over = np.flatnonzero(mask.sum(axis=1) > keep)
    if len(over):
        sub = key[over]
        kth = np.partition(sub, keep - 1, axis=1)[:, keep - 1]
        chosen = sub <= kth[:, None]
        best_rest = np.where(chosen, big, sub).argmin(axis=1)  # a column (the tie rank is not one)
        disc[over] = score[over, best_rest]
        selected = mask.copy()
        selected[over] = chosen
    r, j = cells(selected)
    order = np.lexsort((j, key[r, j] // n, r))  # per row: score desc, then mentor
    r, j = r[order], j[order]
    return r, j, score[r, j], disc


def top_k_rotated(mask: np.ndarray, score: np.ndarray, keep: int, rows: np.ndarray, cols: np.ndarray,
                  n_mentors: int, counts: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`top_k` with the tie rank of `_evaluate_block` ((mentor + mentee × SPREAD) mod n_mentors), without
    building a key per cell: the `keep`-th best cost of a row comes from a float partition (costs are whole
    numbers, exact in float64), cells strictly better are kept, and only the cells tied with it are ranked —
    without sorting them: in a row the tie rank is a rotation of the mentor order (the mentor ranked first is
    (−mentee × SPREAD) mod n_mentors), so a tie's rank is its position among the row's ties, shifted.
    Same pairs, same order; the best discarded score has the same cost."""
    b, width = mask.shape
    disc = np.full(b, -np.inf)
    if width == 0 or b == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), disc
    counts = mask.sum(axis=1) if counts is None else counts
    over = np.flatnonzero(counts > keep)
    selected = mask
    if len(over):
        whole = len(over) == b
        cost = np.multiply(score if whole else score[over], -SCALE_COST)
        np.rint(cost, out=cost)
        np.copyto(cost, np.inf, where=~(mask if whole else mask[over]))
        kth = np.partition(cost, keep - 1, axis=1)[:, keep - 1]
        better = cost < kth[:, None]
        need = keep - better.sum(axis=1)
        tr, tc = cells(cost == kth[:, None])
        first_mentor = (-(rows[over] * SPREAD)) % n_mentors
        wraps = cols[tc] < first_mentor[tr]                   # ranked after the row's other ties
        row_first = np.searchsorted(tr, np.arange(len(over)))
        row_ties = np.diff(np.append(row_first, len(tr)))
        position = np.arange(len(tr)) - row_first[tr]
        wrapped = np.bincount(tr, weights=wraps, minlength=len(over)).astype(np.int64)
        rank = np.where(wraps, position + row_ties[tr] - wrapped[tr], position - wrapped[tr])
        take = rank < need[tr]
        better[tr[take], tc[take]] = True
        # the best pair left out: the first tie not taken, else the best cost below the threshold
        first_left = np.flatnonzero(rank == need[tr])
        has_tie = np.zeros(len(over), bool)
        has_tie[tr[first_left]] = True
        disc[over[tr[first_left]]] = score[over[tr[first_left]], tc[first_left]]
        rest = np.flatnonzero(~has_tie)
        if len(rest):
            below = np.where(cost[rest] > kth[rest, None], cost[rest], np.inf)
            best = below.argmin(axis=1)
            found = np.isfinite(below[np.arange(len(rest)), best])
            disc[over[rest[found]]] = score[over[rest[found]], best[found]]
        if whole:
            selected = better
        else:
            selected = mask.copy()
            selected[over] = better
    r, j = cells(selected)
    cost_rj = to_cost(score[r, j])
    order = np.lexsort((j, cost_rj, r))  # per row: score desc, then mentor
    r, j = r[order], j[order]
    return r, j, score[r, j], disc


def cells(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every True cell of a 2-D mask, row by row (as np.nonzero, about ten times faster on
    the sparse masks of candidate blocks)."""
    flat = np.flatnonzero(mask)
    return np.divmod(flat, mask.shape[1]) if mask.shape[1] else (flat, flat)


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
