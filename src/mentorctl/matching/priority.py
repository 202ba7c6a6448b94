"""Waiting-time priority in a running programme: who has waited longest is matched first.

**Mentor–mentee programmes: exact.** The waiting mentees (waited at least a day) are put in waitlist order:
longest wait first, then by id. Among the matchings that cover as many people as possible (coverage always
comes first), the solver finds one whose set of waiting mentees matched is the best in that order — the
first of them is matched whenever any maximum matching matches them, then the second whenever that is still
possible, and so on — and, among those, the best total score. This is exact: the mentees who can be matched
together form a matroid (a transversal matroid), so the greedy pass in waitlist order (`first_served`, an
augmenting-path search over the waiting mentees' eligible pairs with the mentors' free places) finds that
set T, and every pair of a mentee in T then weighs `step` more in the solver, `step` being larger than any
augmenting path's change in score (the same bound the lexicographic coverage of `flow.py` uses). One swap of
a mentee of T for someone else then always costs more than it could gain, so the min-cost flow keeps all of
T; no waiting mentee outside T can join T (that is what the greedy pass found), so the rest of the matching
is the best by score.

**Peer programmes: weighted.** Each pair of a waiting peer counts as if it scored `days × Σ|scoring
weights|` more (a preference, not a strict order: a peer matching is not bipartite).

The bonus lives only in the solver: matches.csv shows each pair's real score, and `min_score` is applied to
the real score. The `fair` objective ranks pairs by their own scores, so it ignores waiting time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from mentorctl.matching.candidates import Candidates, Filters, PairSource


def priority_step(weights: list[float]) -> float:
    return max(1.0, float(sum(abs(w) for w in weights)))


class PrioritySource(PairSource):
    """`inner` with `bonus[mentee]` (peers: `bonus[a] + bonus[b]`) added to every score the solver sees.
    `order` (mentor–mentee programmes): the waiting mentees in waitlist order, whose bonus `prioritise` sets
    once the candidates are known."""

    def __init__(self, inner: PairSource, bonus: np.ndarray, min_score: float | None, peer: bool,
                 order: Sequence[int] = ()) -> None:
        self.inner, self.bonus, self.min_score, self.peer = inner, np.asarray(bonus, np.float64), min_score, peer
        self.n_mentees, self.n_mentors, self.rule_names = inner.n_mentees, inner.n_mentors, inner.rule_names
        self.order = np.asarray(order, np.int64)
        self.served = np.zeros(0, np.int64)

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

    def prioritise(self, cands: Candidates, filters: Filters, mentor_room: np.ndarray, mentee_open: np.ndarray,
                   n_nodes: int, balance: float = 0.0) -> Candidates:
        """Find the waiting mentees served first (`first_served`; among those still open: eligible, with a
        place left), give their pairs the bonus `step` (see the module docs) and return the candidates with
        the bonus added to their scores."""
        order = self.order[mentee_open[self.order]] if len(self.order) else self.order
        if self.peer or not len(order):
            return cands
        served = first_served(self, order, filters, mentor_room)
        self.served = served
        if not len(served):
            return cands
        bound = max(abs(cands.score_low), abs(cands.score_high))
        step = float(np.ceil((n_nodes + 1) * (bound + balance * max(1, int(mentor_room.max(initial=1))) + 1)))
        self.bonus[served] = step
        extra = self.bonus[cands.mentee]
        with np.errstate(invalid="ignore"):
            discarded = np.where(np.isfinite(cands.best_discarded), cands.best_discarded + self.bonus, -np.inf)
        return replace(cands, score=cands.score + extra, best_discarded=discarded,
                       score_high=max(cands.score_high, cands.score_high + step))


def first_served(source: PairSource, order: np.ndarray, filters: Filters, mentor_room: np.ndarray) -> np.ndarray:
    """The waiting mentees (indices, in `order`) that the greedy pass in waitlist order keeps: each is kept
    when they and those kept before them can all be matched at once, each with a mentor that has a free
    place (`mentor_room`) and an allowed pair (rules, min_score, exclusions: `filters`)."""
    cols = np.flatnonzero(filters.mentor_open & (mentor_room > 0))
    if not len(cols) or not len(order):
        return np.zeros(0, np.int64)
    ok, score, _ = source.evaluate(order, cols)
    allowed = filters.apply(order, ok, score, source.n_mentors, cols)
    adjacency = [cols[np.flatnonzero(allowed[k])].tolist() for k in range(len(order))]
    room = {int(j): int(mentor_room[j]) for j in cols}
    holders: dict[int, list[int]] = {int(j): [] for j in cols}
    kept = []
    for k in range(len(order)):
        if _augment(k, adjacency, room, holders):
            kept.append(int(order[k]))
    return np.array(kept, np.int64)


def _augment(start: int, adjacency: list[list[int]], room: dict[int, int], holders: dict[int, list[int]]) -> bool:
    """One augmenting path from waiting mentee `start` (breadth first): True when they could be placed,
    moving others along the path to other mentors; `holders` is updated."""
    via: dict[int, int | None] = {start: None}     # mentee → the mentor they would leave
    reached: dict[int, int] = {}                    # mentor → the mentee who would take the place
    queue = deque([start])
    while queue:
        mentee = queue.popleft()
        for mentor in adjacency[mentee]:
            if mentor in reached:
                continue
            reached[mentor] = mentee
            if len(holders[mentor]) < room[mentor]:
                while True:   # shift each mentee along the path to the mentor that reached them
                    taker = reached[mentor]
                    holders[mentor].append(taker)
                    left = via[taker]
                    if left is None:
                        return True
                    holders[left].remove(taker)
                    mentor = left
            for other in holders[mentor]:
                if other not in via:
                    via[other] = mentor
                    queue.append(other)
    return False
