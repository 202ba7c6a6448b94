"""Blocking (rules decided per group of people) gives exactly the candidates, counts and failure statistics of
evaluating every rule on every pair, and it really skips pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from mentorctl.matching import candidates as candidates_module
from mentorctl.matching.blocking import build_blocking
from mentorctl.matching.candidates import Filters, build_candidates
from mentorctl.matching.sources import RuleSource
from mentorctl.rules import RuleContext, ScoringRule, parse_rule

RULES = ["mentor.dept != mentee.dept", "mentor.grade >= mentee.grade + 1",
         "abs(mentor.utc - mentee.utc) <= 3", "overlap(mentor.langs, mentee.langs) >= 1",
         "mentor.id != mentee.manager"]


def _people(rng: np.random.Generator, n: int, prefix: str) -> pd.DataFrame:
    langs = np.array(["en", "en;fr", "de", "fr;de", "", "es;en"])
    return pd.DataFrame({
        "id": [f"{prefix}{k}" for k in range(n)],
        "dept": rng.choice(["A", "B", "C", None], n),
        "grade": rng.choice([1.0, 2.0, 3.0, 4.0, np.nan], n),
        "utc": rng.choice([0.0, 1.0, -5.0, 5.5, 8.0], n),
        "langs": rng.choice(langs, n),
        "skills": [";".join(rng.choice(list("abcdefgh"), int(rng.integers(0, 4)), replace=False)) for _ in range(n)],
        "manager": [f"M{int(k)}" for k in rng.integers(0, max(1, n // 2), n)],
    })


def _source(seed: int, n_e: int, n_m: int) -> RuleSource:
    rng = np.random.default_rng(seed)
    mentors, mentees = _people(rng, n_m, "M"), _people(rng, n_e, "E")
    ctx = RuleContext(mentors, mentees, separator_for=lambda _f: ";")
    rules = [parse_rule(text, f"matching.eligibility[{k}]") for k, text in enumerate(RULES)]
    scoring = [ScoringRule("skills", parse_rule("overlap(mentor.skills, mentee.skills)", "s0"), 3.0),
               ScoringRule("site", parse_rule("mentor.utc == mentee.utc", "s1"), 1.0)]
    for rule in [*rules, *(s.rule for s in scoring)]:
        ctx.check(rule)
    return RuleSource(ctx, rules, scoring)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 60), st.integers(1, 40), st.integers(1, 6),
       st.sampled_from([50, 400, 5000]))
def test_blocked_candidates_equal_unblocked(seed, n_e, n_m, keep, cells):
    source = _source(seed, n_e, n_m)
    filters = Filters(np.ones(n_m, bool), np.zeros(0, np.int64))
    rows = np.arange(n_e)
    plain = build_candidates(source, rows, filters, keep)
    source.blocking = build_blocking(source.ctx, source.eligibility)
    assert source.blocking is not None and {0, 1, 2, 3} <= set(source.blocking.rules)
    old = candidates_module.BLOCK_CELLS
    candidates_module.BLOCK_CELLS = cells  # many small chunks, several groups per chunk
    try:
        blocked = build_candidates(source, rows, filters, keep)
    finally:
        candidates_module.BLOCK_CELLS = old
    for name in ("mentee", "mentor", "score", "rule_eligible", "eligible", "best_discarded"):
        assert np.array_equal(getattr(plain, name), getattr(blocked, name)), name
    nobody = plain.rule_eligible == 0
    assert np.array_equal(plain.failures[nobody], blocked.failures[nobody])
    # the table knows the blocked rules for every pair
    ok, _, _ = source.evaluate(rows, None, blocked=False)
    table = source.blocking.mask(rows, np.arange(n_m))
    partial = np.ones_like(ok)
    for r in source.blocking.rules:
        partial &= np.asarray(source.ctx.evaluate_block(source.eligibility[r], rows, None), bool)
    assert np.array_equal(table, partial)


def test_blocking_skips_mentor_groups_no_mentee_of_a_chunk_can_take():
    source = _source(3, 200, 120)
    source.blocking = build_blocking(source.ctx, source.eligibility)
    chunk = source.blocking.chunks(np.arange(200), 10**9)[0]
    first_group = source.blocking.mentee_group == source.blocking.mentee_group[chunk[0]]
    columns = source.blocking.columns(np.flatnonzero(first_group))
    assert 0 < len(columns) < 120
    assert source.blocking.mask(np.flatnonzero(first_group), np.setdiff1d(np.arange(120), columns)).sum() == 0


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(1, 30), st.integers(1, 8),
       st.sampled_from([2, 4, 1000]))
def test_top_k_rotated_equals_top_k(seed, b, width, keep, levels):
    from mentorctl.matching.candidates import SPREAD, top_k, top_k_rotated
    from mentorctl.matching.flow import to_cost

    rng = np.random.default_rng(seed)
    n_m = width + int(rng.integers(0, 20))
    cols = np.sort(rng.choice(n_m, width, replace=False))
    rows = rng.choice(10_000, b, replace=False)
    mask = rng.random((b, width)) < 0.7
    score = rng.integers(0, levels, (b, width)) / 4 + 0.5  # few levels: many ties
    want = top_k(mask, score, keep, (cols[None, :] + rows[:, None] * SPREAD) % n_m, n_m)
    got = top_k_rotated(mask, score, keep, rows, cols, n_m)
    for a, c in zip(want[:3], got[:3], strict=True):
        assert np.array_equal(a, c)
    finite = np.isfinite(want[3])
    assert np.array_equal(finite, np.isfinite(got[3]))
    assert np.array_equal(to_cost(want[3][finite]), to_cost(got[3][finite]))
