"""Self-matching models against independent oracles (brute force over every subset of pairs, on small
instances): balanced shortlists, the rank-maximal matching, deferred acceptance."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentorctl.matching.preferences import blocking_pairs, deferred_acceptance
from mentorctl.matching.shortlist import (
    balanced_b_matching,
    exposure_caps,
    lexicographic_flow,
    rank_maximal,
    shortlist_network,
    solve_shortlist_network,
)


@st.composite
def instances(draw, max_pairs: int = 10):
    n_e = draw(st.integers(1, 4))
    n_m = draw(st.integers(1, 4))
    cells = [(i, j) for i in range(n_e) for j in range(n_m)]
    chosen = draw(st.lists(st.sampled_from(cells), unique=True, max_size=max_pairs)) if cells else []
    scores = [draw(st.integers(-4, 8)) / 2 for _ in chosen]
    mentee_cap = [draw(st.integers(0, 3)) for _ in range(n_e)]
    mentor_cap = [draw(st.integers(0, 3)) for _ in range(n_m)]
    return (np.array(mentee_cap, np.int64), np.array(mentor_cap, np.int64),
            np.array([c[0] for c in chosen], np.int64), np.array([c[1] for c in chosen], np.int64),
            np.array(scores, np.float64))


def _subsets(n: int):
    for size in range(n + 1):
        yield from itertools.combinations(range(n), size)


def _feasible(subset, e, j, mentee_cap, mentor_cap) -> bool:
    load_e = np.bincount(e[list(subset)], minlength=len(mentee_cap)) if subset else np.zeros(len(mentee_cap))
    load_m = np.bincount(j[list(subset)], minlength=len(mentor_cap)) if subset else np.zeros(len(mentor_cap))
    return bool((load_e <= mentee_cap).all() and (load_m <= mentor_cap).all())


def _slot_key(subset, e, s, mentee_cap):
    load = np.bincount(e[list(subset)], minlength=len(mentee_cap)) if subset else np.zeros(len(mentee_cap))
    tiers = (int((load >= 1).sum()), int(load.sum()))
    return tiers, round(float(s[list(subset)].sum()), 6) if subset else 0.0


@settings(max_examples=150, deadline=None)
@given(instances())
def test_balanced_shortlists_match_brute_force(inst):
    mentee_cap, mentor_cap, e, j, s = inst
    ce, cj, cs = balanced_b_matching(mentee_cap, mentor_cap, e, j, s)
    # every cap holds, each pair at most once
    assert (np.bincount(ce, minlength=len(mentee_cap)) <= mentee_cap).all()
    assert (np.bincount(cj, minlength=len(mentor_cap)) <= mentor_cap).all()
    assert len(set(zip(ce.tolist(), cj.tolist(), strict=True))) == len(ce)
    chosen = tuple(k for k in range(len(e)) if (e[k], j[k]) in set(zip(ce.tolist(), cj.tolist(), strict=True)))
    best = max((_slot_key(sub, e, s, mentee_cap) for sub in _subsets(len(e))
                if _feasible(sub, e, j, mentee_cap, mentor_cap)), default=((), 0.0))
    got = _slot_key(chosen, e, s, mentee_cap)
    assert got[0] == best[0]                       # most mentees with an entry, then most entries
    assert abs(got[1] - best[1]) < 1e-6           # then the best total score


@settings(max_examples=150, deadline=None)
@given(instances(max_pairs=14))
def test_shortlist_network_solved_without_tier_weights_is_its_own_optimum(inst):
    # the fast solve (two maximum flows fix coverage and entries, then the pairs' own costs) against the
    # network's tier costs solved directly: the same optimal cost, within every capacity
    from mentorctl.matching.flow import solve_network

    mentee_cap, mentor_cap, e, j, s = inst
    net = shortlist_network(mentee_cap, mentor_cap, e, j, s)
    fast, direct = solve_shortlist_network(net), solve_network(net)
    assert int(fast @ net.costs) == int(direct @ net.costs)
    assert ((fast >= 0) & (fast <= net.caps)).all()
    inflow = np.bincount(net.heads, weights=fast, minlength=net.n_nodes)
    outflow = np.bincount(net.tails, weights=fast, minlength=net.n_nodes)
    assert (inflow - outflow)[2:].tolist() == [0] * (net.n_nodes - 2)   # conserved at every mentee and mentor


@st.composite
def pick_instances(draw):
    mentee_cap, mentor_cap, e, j, s = draw(instances())
    ranks = np.zeros(len(e), np.int64)
    for i in np.unique(e):
        where = np.flatnonzero(e == i)
        ranks[where] = draw(st.permutations(list(range(1, len(where) + 1))))
    return np.minimum(mentee_cap, 1), mentor_cap, e, j, ranks, s


@settings(max_examples=150, deadline=None)
@given(pick_instances())
def test_rank_maximal_matches_brute_force(inst):
    mentee_cap, mentor_cap, e, j, rank, s = inst
    out = rank_maximal(mentee_cap, mentor_cap, e, j, rank, s)
    assert (np.bincount(out.mentee, minlength=len(mentee_cap)) <= mentee_cap).all()
    assert (np.bincount(out.mentor, minlength=len(mentor_cap)) <= mentor_cap).all()
    n_ranks = int(rank.max(initial=0))

    def key(subset):
        got = rank[list(subset)] if subset else np.zeros(0, np.int64)
        score = round(float(s[list(subset)].sum()), 6) if subset else 0.0
        return tuple(int((got == r).sum()) for r in range(1, n_ranks + 1)), score

    best = max(key(sub) for sub in _subsets(len(e)) if _feasible(sub, e, j, mentee_cap, mentor_cap))
    pairs = set(zip(out.mentee.tolist(), out.mentor.tolist(), strict=True))
    chosen = tuple(k for k in range(len(e)) if (e[k], j[k]) in pairs)
    got = key(chosen)
    assert got[0] == best[0]                      # most first choices, then second, …
    assert abs(got[1] - best[1]) < 1e-6          # then the best total score
    assert sorted(out.rank.tolist()) == sorted(rank[list(chosen)].tolist())


def test_rank_maximal_prefers_two_first_choices_over_score():
    # A's first choice is X, B's first choice is Y, but A–Y and B–X score far higher
    out = rank_maximal(np.array([1, 1]), np.array([1, 1]), np.array([0, 0, 1, 1]), np.array([0, 1, 1, 0]),
                       np.array([1, 2, 1, 2]), np.array([0.0, 100.0, 0.0, 100.0]))
    assert sorted(zip(out.mentee.tolist(), out.mentor.tolist(), strict=True)) == [(0, 0), (1, 1)]


def test_lexicographic_flow_orders_stages():
    # two parallel arcs source → sink; stage 1 prefers arc 0, stage 2 prefers arc 1 (ignored: stage 1 decides)
    flows = lexicographic_flow(2, np.array([0, 0]), np.array([1, 1]), np.array([1, 1]), np.array([1, -1]),
                               [np.array([-1, 0]), np.array([0, -5])])
    assert flows.tolist() == [1, 0]


def test_exposure_caps():
    assert exposure_caps(np.array([0, 1, 2, 3]), 1.5).tolist() == [0, 1, 3, 4]
    assert exposure_caps(np.array([2]), 1.0).tolist() == [2]


@st.composite
def two_sided(draw):
    n_p, n_r = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    prefs = {p: draw(st.permutations(list(range(n_r))))[:draw(st.integers(0, n_r))] for p in range(n_p)}
    rank = {r: {p: k for k, p in enumerate(draw(st.permutations(list(range(n_p)))))} for r in range(n_r)}
    caps = {r: draw(st.integers(0, 2)) for r in range(n_r)}
    return prefs, rank, caps


def _stable(pairs, prefs, rank, caps) -> bool:
    """Independent check: no proposer and receiver both prefer each other to what they have."""
    mine = {p: r for p, r in pairs}
    held = {r: [p for p, q in pairs if q == r] for r in caps}
    for p, order in prefs.items():
        for r in order:
            if mine.get(p) == r:
                break  # p prefers its partner to every later receiver
            if p not in rank[r]:
                continue
            if len(held[r]) < caps[r] or any(rank[r][p] < rank[r][q] for q in held[r]):
                return False
    return True


@settings(max_examples=200, deadline=None)
@given(two_sided())
def test_deferred_acceptance_is_stable_and_within_capacity(inst):
    prefs, rank, caps = inst
    pairs = deferred_acceptance(prefs, rank, caps)
    assert all(sum(1 for _, r in pairs if r == x) <= caps[x] for x in caps)
    assert len({p for p, _ in pairs}) == len(pairs)                    # one mentor per mentee
    assert all(r in prefs[p] for p, r in pairs)                        # only picked mentors
    assert _stable(pairs, prefs, rank, caps)
    assert blocking_pairs(pairs, prefs, rank, caps) == []
    # every stable matching (brute force) gives each proposer a partner no better than this one
    options = [[None, *prefs[p]] for p in sorted(prefs)]
    for combo in itertools.product(*options):
        other = [(p, r) for p, r in zip(sorted(prefs), combo, strict=True) if r is not None]
        if all(sum(1 for _, r in other if r == x) <= caps[x] for x in caps) and _stable(other, prefs, rank, caps):
            got = dict(pairs)
            for p, r in other:
                assert p in got and prefs[p].index(got[p]) <= prefs[p].index(r)


def test_blocking_pairs_found():
    prefs = {0: [0, 1], 1: [0]}
    rank = {0: {1: 0, 0: 1}, 1: {0: 0}}
    caps = {0: 1, 1: 1}
    # 0 with 0 and 1 unmatched: mentor 0 prefers 1, who wants 0 → blocking (1, 0)
    assert blocking_pairs([(0, 0)], prefs, rank, caps) == [(1, 0)]


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 7), st.integers(1, 5), st.integers(0, 2**32 - 1), st.integers(1, 2), st.integers(1, 3))
def test_shortlists_over_pruned_candidates_are_proven_optimal_over_every_eligible_pair(n_e, n_m, seed, keep, size):
    # the candidates keep only the best `keep` mentors per mentee; the proof must reach the optimum over all
    from mentorctl.matching.candidates import Filters, MatrixSource, build_candidates
    from mentorctl.matching.shortlist import proven_b_matching

    rng = np.random.default_rng(seed)
    eligible = rng.random((n_e, n_m)) < 0.8
    score = (rng.integers(-2, 9, (n_e, n_m)) / 2).astype(float)
    mentor_cap = rng.integers(0, 4, n_m).astype(np.int64)
    mentee_cap = np.full(n_e, size, np.int64)
    source = MatrixSource(eligible, score)
    filters = Filters(mentor_cap > 0, np.zeros(0, np.int64))
    cands = build_candidates(source, np.arange(n_e), filters, keep)
    e, j, s, proven = proven_b_matching(source, filters, cands, mentee_cap, mentor_cap)
    assert proven
    all_e, all_j = np.nonzero(eligible & (mentor_cap > 0)[None, :])
    be, bj, bs = balanced_b_matching(mentee_cap, mentor_cap, all_e, all_j, score[all_e, all_j])

    def key(mentees, scores):
        load = np.bincount(mentees, minlength=n_e)
        return int((load >= 1).sum()), int(load.sum()), round(float(scores.sum()), 6)

    assert key(e, s) == key(be, bs)
    assert eligible[e, j].all() and (np.bincount(j, minlength=n_m) <= mentor_cap).all()


@pytest.mark.parametrize("seed", [0, 3, 4, 6])
def test_a_proof_that_adds_pairs_over_several_rounds_ends_proven_and_optimal(seed, monkeypatch):
    # coarse scores (many ties) and one candidate per mentee: the first rounds find improving pairs left out,
    # the flow is solved again with them, and the last round proves the optimum over every eligible pair
    import mentorctl.matching.shortlist as shortlist
    from mentorctl.matching.candidates import Filters, MatrixSource, build_candidates

    added: list[int] = []
    scan = shortlist._improving_pairs

    def counting(*args, **kwargs):
        found = scan(*args, **kwargs)
        added.append(len(found[0]))
        return found

    monkeypatch.setattr(shortlist, "_improving_pairs", counting)
    rng = np.random.default_rng(seed)
    n_e, n_m = 24, 8
    eligible = rng.random((n_e, n_m)) < 0.7
    score = rng.integers(0, 4, (n_e, n_m)).astype(float)
    mentor_cap = rng.integers(1, 5, n_m).astype(np.int64)
    mentee_cap = np.full(n_e, 2, np.int64)
    source = MatrixSource(eligible, score)
    filters = Filters(mentor_cap > 0, np.zeros(0, np.int64))
    cands = build_candidates(source, np.arange(n_e), filters, 1)
    e, j, s, proven = shortlist.proven_b_matching(source, filters, cands, mentee_cap, mentor_cap)
    assert proven and len(added) >= 3 and all(added[:-1]) and added[-1] == 0   # ≥ 2 rounds added pairs
    all_e, all_j = np.nonzero(eligible)
    be, bj, bs = balanced_b_matching(mentee_cap, mentor_cap, all_e, all_j, score[all_e, all_j])
    load, best = np.bincount(e, minlength=n_e), np.bincount(be, minlength=n_e)
    assert ((load >= 1).sum(), load.sum(), round(s.sum(), 6)) == ((best >= 1).sum(), best.sum(), round(bs.sum(), 6))
    assert eligible[e, j].all() and (np.bincount(j, minlength=n_m) <= mentor_cap).all()


def test_shortlists_of_a_blocked_programme_equal_the_optimum_over_every_eligible_pair(tmp_path):
    # the generated 'tight' programme: its few-valued rules block mentor groups, the candidates are pruned,
    # and the proof (rescans through the blocking) must end at the b-matching over every eligible pair
    from mentorctl.matching.prepare import prepare
    from mentorctl.matching.shortlist import build_shortlists
    from mentorctl.programme import load_programme
    from mentorctl.roster import load_participants

    programme = load_programme(_generated_programme(tmp_path / "p", 600))
    participants = load_participants(programme)
    result = build_shortlists(programme, participants, size=3, exposure=2.0)
    prep = prepare(programme, participants)
    assert prep.source.blocking is not None
    summary = result.summary
    assert summary.proven and "proof:" in summary.optimality   # pruned, then proven
    cap = result.exposure["cap"].to_numpy()
    ok, score, _ = prep.source.evaluate(np.arange(len(prep.mentees)))
    ok &= prep.mentee_ok[:, None] & prep.mentor_ok[None, :] & (cap > 0)[None, :]
    all_e, all_j = np.nonzero(ok)
    be, _, bs = balanced_b_matching(np.where(prep.mentee_ok, 3, 0), cap, all_e, all_j, score[all_e, all_j])
    assert (summary.shortlisted, summary.entries) == (len(np.unique(be)), len(be))
    assert abs(summary.total_score - round(float(bs.sum()), 4)) < 1e-6


def _generated_programme(folder, n: int):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    try:
        from generate_example import write_programme
    finally:
        sys.path.pop(0)
    return write_programme(folder, n, "tight")


@pytest.mark.parametrize("blocked", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_the_rescan_finds_every_left_out_pair_with_negative_reduced_cost(blocked, seed, tmp_path):
    # against brute force over every cell: the pairs not yet known whose reduced cost is negative, found by
    # the staircase of mentee bands (and, for a programme whose rules block mentor groups, through blocking)
    from mentorctl.matching.candidates import Filters, MatrixSource
    from mentorctl.matching.flow import SCALE, to_cost
    from mentorctl.matching.shortlist import _improving_pairs

    rng = np.random.default_rng(seed)
    if blocked:
        from mentorctl.matching.prepare import prepare
        from mentorctl.programme import load_programme
        from mentorctl.roster import load_participants

        programme = load_programme(_generated_programme(tmp_path / "p", 90))
        source = prepare(programme, load_participants(programme)).source
        assert source.blocking is not None
    else:
        source = MatrixSource(rng.random((40, 12)) < 0.7, rng.integers(0, 5, (40, 12)).astype(float))
    n_e, n_m = source.n_mentees, source.n_mentors
    ok, score, _ = source.evaluate(np.arange(n_e), blocked=False)
    known = ok & (rng.random(ok.shape) < 0.3)
    have = np.sort(np.flatnonzero(known.ravel()))
    left = ok & ~known
    best_left = np.where(left, score, -np.inf).max(axis=1)
    rows = np.flatnonzero(np.isfinite(best_left))
    mentee_potential = rng.integers(-2, 8, n_e) * SCALE // 2
    head = rng.integers(-2, 8, n_m) * SCALE // 2
    slack = to_cost(best_left[rows]) + mentee_potential[rows]
    reduced = to_cost(score) + mentee_potential[:, None] - head[None, :]
    expected = {(int(a), int(b)) for a, b in zip(*np.nonzero(left & (reduced < 0)), strict=True)}
    filters = Filters(np.ones(n_m, bool), np.zeros(0, np.int64))
    i, j, s = _improving_pairs(source, filters, rows, slack, mentee_potential, head, have, workers=2)
    per_mentee = np.bincount(np.array([a for a, _ in expected], np.int64), minlength=n_e)
    assert per_mentee.max(initial=0) <= 30 and expected                 # none cut by the per-mentee limit
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == expected
    assert np.allclose(s, score[i, j])
