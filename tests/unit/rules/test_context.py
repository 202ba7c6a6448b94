"""Evaluating rules through RuleContext: hand-worked values, shapes and dtypes, missing values, pairs and sides,
fresh results and threads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rules_helpers import block, semicolon

from mentorctl.errors import RuleError
from mentorctl.rules import RuleContext, parse_rule

# ------------------------------------------------------------------------------------- hand-worked values

def test_issue_examples(ctx: RuleContext) -> None:
    assert block(ctx, "mentor.department != mentee.department").tolist() == [[False, True, True],
                                                                            [True, True, True]]
    assert block(ctx, "mentor.grade >= mentee.grade + 1").tolist() == [[True, False, False], [False, False, False]]
    assert block(ctx, "abs(mentor.utc_offset - mentee.utc_offset) <= 3").tolist() == [[True, False, False],
                                                                                      [True, True, False]]
    assert block(ctx, "overlap(mentor.languages, mentee.languages) >= 1").tolist() == [[True, False, False],
                                                                                       [True, False, False]]
    assert block(ctx, "mentor.id != mentee.manager_id").tolist() == [[False, True, True], [True, True, True]]
    assert block(ctx, "overlap(mentor.skills, mentee.goals)").tolist() == [[1, 1, 1], [0, 0, 0]]
    assert block(ctx, "mentor.location == mentee.location").tolist() == [[True, False, True],
                                                                          [False, False, False]]


def test_result_dtypes_and_shapes(ctx: RuleContext) -> None:
    assert block(ctx, "mentor.grade > 1").dtype == np.bool_
    assert block(ctx, "mentor.grade + 1").dtype == np.float64
    assert block(ctx, "true").shape == (2, 3)
    assert ctx.check(parse_rule("mentor.grade > 1", "t")) == "bool"
    assert ctx.check(parse_rule("overlap(mentor.skills, mentee.goals)", "t")) == "number"
    np.testing.assert_array_equal(ctx.evaluate_block(parse_rule("mentor.grade", "t"), np.array([1]),
                                                     np.array([2, 0])), [[np.nan, 5.0]])


def test_arithmetic_and_min_max(ctx: RuleContext) -> None:
    np.testing.assert_array_equal(block(ctx, "mentor.grade * 2 - mentee.grade / 2"),
                                  [[8.0, 4.0, np.nan], [np.nan, np.nan, np.nan]])
    np.testing.assert_array_equal(block(ctx, "-mentor.utc_offset"), [[-0.0, -5.0, 3.0]] * 2)
    np.testing.assert_array_equal(block(ctx, "min(mentor.utc_offset, mentee.utc_offset, 1.5)"),
                                  [[0.0, 1.0, -3.0], [0.0, 1.5, -3.0]])
    np.testing.assert_array_equal(block(ctx, "max(mentor.grade, 4)"), [[5.0, 4.0, np.nan]] * 2)
    np.testing.assert_array_equal(block(ctx, "abs(mentee.utc_offset - 5)"), [[4.0] * 3, [3.0] * 3])
    # division by zero is missing, not infinity
    assert np.isnan(block(ctx, "mentor.grade / 0")).all()


def test_text_compare_is_case_insensitive_and_trimmed(ctx: RuleContext) -> None:
    assert block(ctx, "mentee.department == 'ENG'").tolist() == [[True] * 3, [False] * 3]
    assert block(ctx, "mentor.department < mentee.department").tolist() == [[False, False, False],
                                                                            [True, True, False]]
    assert block(ctx, "contains(mentor.skills, 'sq')").tolist() == [[True, False, False]] * 2


def test_chained_comparison_and_boolean_logic(ctx: RuleContext) -> None:
    assert block(ctx, "1 < mentor.grade <= 5").tolist() == [[True, True, False]] * 2
    assert block(ctx, "mentor.grade > 4 or mentee.grade > 3").tolist() == [[True, True, True],
                                                                           [True, False, False]]
    assert block(ctx, "mentor.grade > 4 and not mentee.grade > 3").tolist() == [[False] * 3,
                                                                                [True, False, False]]
    assert block(ctx, "True and true and not False").all()


def test_missing_values(ctx: RuleContext) -> None:
    # mentor m3 has no department, no grade, no languages; mentee e2 has no grade, no location
    assert not block(ctx, "mentor.department == mentee.department")[:, 2].any()
    assert block(ctx, "mentor.department != mentee.department")[:, 2].all()
    assert not block(ctx, "mentor.grade < mentee.grade")[1].any()
    assert not block(ctx, "mentor.grade >= mentee.grade")[:, 2].any()
    assert np.isnan(block(ctx, "mentor.grade + mentee.grade")[1]).all()
    assert block(ctx, "overlap(mentor.languages, mentee.languages)")[:, 2].tolist() == [0, 0]
    assert not block(ctx, "mentee.language in mentor.languages")[:, 2].any()
    assert block(ctx, "mentee.language not in mentor.languages")[:, 2].all()
    assert not block(ctx, "mentee.location in ['london']")[1].any()
    assert block(ctx, "mentee.location not in ['london']")[1].all()
    # a missing value used as a condition is false; text is true unless empty or a false word
    assert block(ctx, "mentor.grade").tolist()[0][2] != block(ctx, "mentor.grade").tolist()[0][2]  # NaN
    assert block(ctx, "mentor.grade and true").tolist() == [[True, True, False]] * 2
    assert block(ctx, "mentor.department or false").tolist() == [[True, True, False]] * 2
    assert block(ctx, "mentor.flag").tolist() == [[True, False, False]] * 2
    assert block(ctx, "mentor.senior").tolist() == [[True, False, False]] * 2
    assert block(ctx, "not mentor.senior").tolist() == [[False, True, True]] * 2


def test_bool_fields_are_numbers(ctx: RuleContext) -> None:
    np.testing.assert_array_equal(block(ctx, "mentor.senior + 1"), [[2.0, 1.0, np.nan]] * 2)
    assert block(ctx, "mentor.senior == true").tolist() == [[True, False, False]] * 2


def test_pairs_and_side_evaluation(ctx: RuleContext) -> None:
    rule = parse_rule("preference(mentee.preferred_mentors, mentor.id) + overlap(mentor.skills, mentee.goals)", "t")
    np.testing.assert_allclose(ctx.evaluate_pairs(rule, np.array([0, 1, 0]), np.array([2, 1, 1])),
                               [2.0, 1.0, 4 / 3])
    assert ctx.evaluate_side(parse_rule("mentor.grade >= 4", "d"), "mentor").tolist() == [True, False, False]
    assert ctx.evaluate_side(parse_rule("len(mentee.goals)", "d"), "mentee").tolist() == [2.0, 0.0]
    with pytest.raises(RuleError, match=r"design.eligibility.mentors\[0\]: this rule may only use mentor"):
        ctx.evaluate_side(parse_rule("mentor.grade > mentee.grade", "design.eligibility.mentors[0]"), "mentor")


def test_block_with_mentor_subset_matches_full_block(ctx: RuleContext) -> None:
    for text in ["preference(mentee.preferred_mentors, mentor.id)", "overlap(mentor.skills, mentee.goals)",
                 "mentee.language in mentor.languages", "mentor.grade - mentee.grade"]:
        rule = parse_rule(text, "t")
        full = ctx.evaluate_block(rule, np.array([1, 0]))
        np.testing.assert_array_equal(ctx.evaluate_block(rule, np.array([1, 0]), np.array([2, 0])), full[:, [2, 0]])


def test_peer_programme_same_roster() -> None:
    people = pd.DataFrame({"id": ["a", "b", "c"], "name": ["A", "B", "C"], "team": ["x", "y", "x"],
                           "skills": ["go;rust", "go", "c"]})
    ctx = RuleContext(people, people, separator_for=semicolon)
    assert ctx.evaluate_block(parse_rule("mentor.team != mentee.team", "t"), np.arange(3)).tolist() == [
        [False, True, False], [True, False, True], [False, True, False]]
    assert ctx.evaluate_block(parse_rule("overlap(mentor.skills, mentee.skills)", "t"), np.arange(3)).tolist() == [
        [2, 1, 0], [1, 1, 0], [0, 0, 1]]


def test_results_are_fresh_arrays(ctx: RuleContext) -> None:
    rule = parse_rule("contains(mentor.skills, 'python')", "t")
    first = ctx.evaluate_side(rule, "mentor")
    first[:] = False
    assert ctx.evaluate_side(rule, "mentor").tolist() == [True, False, True]
    grade = parse_rule("mentor.grade", "t")
    one = ctx.evaluate_block(grade, np.array([0]), np.array([0]))
    one[:] = -1
    assert ctx.evaluate_block(grade, np.array([0]), np.array([0])).tolist() == [[5.0]]


def test_threads_give_the_same_results(ctx: RuleContext) -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = ["overlap(mentor.skills, mentee.goals)", "preference(mentee.preferred_mentors, mentor.id)",
             "mentee.language in mentor.languages", "mentor.department < mentee.department"]
    parsed = [parse_rule(t, "t") for t in texts]
    for rule in parsed:
        ctx.check(rule)
    expected = [ctx.evaluate_block(r, np.arange(2)) for r in parsed]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda r: ctx.evaluate_block(r, np.arange(2)), parsed * 5))
    for i, result in enumerate(got):
        np.testing.assert_array_equal(result, expected[i % len(parsed)])


