"""Rule expressions: parsing, the whitelist, hand-worked values, missing values and a reference evaluator."""

from __future__ import annotations

import ast
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mentorctl import rules
from mentorctl.errors import RuleError
from mentorctl.rules import RuleContext, parse_rule


def semicolon(_field: str) -> str:
    return ";"


@pytest.fixture
def ctx() -> RuleContext:
    mentors = pd.DataFrame({
        "id": ["m1", "m2", "m3"],
        "name": ["Ada", "Bo", "Cy"],
        "department": ["Eng", "HR", None],
        "grade": [5.0, 3.0, np.nan],
        "utc_offset": [0.0, 5.0, -3.0],
        "languages": ["English; French", "german", None],
        "skills": ["Python;SQL", "leadership", "python"],
        "location": ["London", "Paris", "london"],
        "senior": pd.Series([True, False, None], dtype=object),
        "flag": ["yes", "no", None],
        "_row": [2, 3, 4],
    })
    mentees = pd.DataFrame({
        "id": ["e1", "e2"],
        "name": ["Xi", "Yu"],
        "department": ["eng ", "Sales"],
        "grade": [4.0, np.nan],
        "utc_offset": [1.0, 2.0],
        "languages": ["french", "English"],
        "goals": ["python; leadership", ""],
        "manager_id": ["m1", None],
        "preferred_mentors": ["m3;m1;m2", "m2"],
        "location": ["LONDON", None],
        "language": ["French", "german"],
        "_row": [2, 3],
    })
    return RuleContext(mentors, mentees, separator_for=semicolon, mentor_source="mentors.csv",
                       mentee_source="mentees.csv")


def block(ctx: RuleContext, text: str) -> np.ndarray:
    return ctx.evaluate_block(parse_rule(text, "test"), np.arange(2))


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


def test_len_overlap_jaccard(ctx: RuleContext) -> None:
    assert block(ctx, "len(mentor.languages)").tolist() == [[2, 1, 0]] * 2
    assert block(ctx, "len(mentee.goals)").tolist() == [[2] * 3, [0] * 3]
    assert block(ctx, "len(['a', 'b', 'A'])").tolist() == [[2] * 3] * 2  # repeats count once
    # skills m1 {python, sql}, m2 {leadership}, m3 {python}; goals e1 {python, leadership}
    np.testing.assert_allclose(block(ctx, "jaccard(mentor.skills, mentee.goals)"),
                               [[1 / 3, 1 / 2, 1 / 2], [0, 0, 0]])
    assert block(ctx, "jaccard(mentor.languages, mentee.goals)")[1, 2] == 0.0  # both empty -> 0
    assert block(ctx, "overlap(mentor.skills, 'PYTHON ')").tolist() == [[1, 0, 1]] * 2
    assert block(ctx, "overlap(mentor.skills, ['sql', 'python', 'go'])").tolist() == [[2, 0, 1]] * 2
    assert block(ctx, "overlap(['a', 'b'], ['B', 'c'])").tolist() == [[1] * 3] * 2
    assert block(ctx, "overlap(mentor.skills, mentor.languages)").tolist() == [[0] * 3] * 2


def test_preference_rank_formula(ctx: RuleContext) -> None:
    # e1 lists m3, m1, m2 (L=3): m3 -> 3/3, m1 -> 2/3, m2 -> 1/3; e2 lists only m2 (L=1) -> 1
    np.testing.assert_allclose(block(ctx, "preference(mentee.preferred_mentors, mentor.id)"),
                               [[2 / 3, 1 / 3, 1.0], [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(block(ctx, "preference(['x', 'y', 'm2', 'z'], mentor.id)"), [[0, 0.5, 0]] * 2)
    np.testing.assert_allclose(block(ctx, "preference(mentee.preferred_mentors, 'M1')"), [[2 / 3] * 3, [0] * 3])


def test_in_and_not_in(ctx: RuleContext) -> None:
    assert block(ctx, "mentee.language in mentor.languages").tolist() == [[True, False, False],
                                                                          [False, True, False]]
    assert block(ctx, "mentee.language not in mentor.languages").tolist() == [[False, True, True],
                                                                              [True, False, True]]
    assert block(ctx, "mentor.location in ['london', 'Rome']").tolist() == [[True, False, True]] * 2
    assert block(ctx, "mentor.grade in [3, 5]").tolist() == [[True, True, False]] * 2
    assert block(ctx, "mentor.grade - 2 in [3]").tolist() == [[True, False, False]] * 2
    assert block(ctx, "'SQL' in mentor.skills").tolist() == [[True, False, False]] * 2
    assert block(ctx, "mentor.id in mentee.preferred_mentors").tolist() == [[True, True, True],
                                                                            [False, True, False]]


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


def test_separator_per_field_and_numeric_items() -> None:
    mentors = pd.DataFrame({"id": ["1", "2"], "name": ["A", "B"], "tags": ["a|b", "c"], "code": [7.0, 8.5]})
    mentees = pd.DataFrame({"id": ["x"], "name": ["X"], "tags": ["b;c"], "wants": ["8.5;7"], "pick": [2.0]})
    ctx = RuleContext(mentors, mentees, separator_for=lambda f: "|" if f == "tags" else ";")
    # both rosters' `tags` use "|": the mentee's "b;c" is one item
    assert ctx.evaluate_block(parse_rule("overlap(mentor.tags, mentee.tags)", "t"), np.arange(1)).tolist() == [[0, 0]]
    assert ctx.evaluate_block(parse_rule("mentor.code in mentee.wants", "t"), np.arange(1)).tolist() == [[True, True]]
    np.testing.assert_allclose(ctx.evaluate_block(parse_rule("preference(mentee.wants, mentor.code)", "t"),
                                                  np.arange(1)), [[0.5, 1.0]])
    assert ctx.evaluate_block(parse_rule("mentor.id in mentee.pick", "t"), np.arange(1)).tolist() == [[False, True]]


# ---------------------------------------------------------------------------------------- errors, security

@pytest.mark.parametrize("text", [
    "__import__('os').system('touch /tmp/mentorctl-pwned')",
    "mentor.__class__",
    "(lambda: 1)()",
    "mentor.x[0]",
    "open('f')",
    "mentor.name.upper()",
    "mentor.name.lower",
    "[x for x in mentor.skills]",
    "mentor",
    "os",
    "mentor.grade ** 2",
    "mentor.grade if true else 1",
    "mentor.grade is None",
    "{'a': 1}",
    "f'{mentor.name}'",
    "None",
    "abs(x=1)",
    "max(*mentor.skills)",
])
def test_forbidden_constructs_are_rule_errors(text: str) -> None:
    with pytest.raises(RuleError, match=r"^bad\[0\]: "):
        parse_rule(text, "bad[0]")


def test_nothing_executes(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for text in ["open('made', 'w')", "__import__('pathlib').Path('made').touch()"]:
        with pytest.raises(RuleError):
            parse_rule(text, "x")
    assert list(tmp_path.iterdir()) == []


def test_syntax_error_points_at_column() -> None:
    with pytest.raises(RuleError) as info:
        parse_rule("mentor.grade >== 3", "matching.eligibility[2]")
    error = info.value
    assert error.plain_message == 'matching.eligibility[2]: syntax error at column 16: "mentor.grade >== 3"'
    assert error.details[0] == "mentor.grade >== 3"
    assert error.details[1] == " " * 15 + "^"


def test_unknown_function_suggests(ctx: RuleContext) -> None:
    with pytest.raises(RuleError, match=r"unknown function overlaps\(\); did you mean overlap\(\)\?"):
        parse_rule("overlaps(mentor.skills, mentee.goals)", "x")


def test_unknown_field_names_origin_and_fields(ctx: RuleContext) -> None:
    rule = parse_rule("overlap(mentor.skils, mentee.goals)", "matching.scoring[1] (skills)")
    with pytest.raises(RuleError) as info:
        ctx.check(rule)
    message = str(info.value)
    assert message.startswith("matching.scoring[1] (skills): unknown field mentor.skils")
    assert "did you mean mentor.skills?" in message
    assert "Fields of mentors.csv: id, name, department, grade" in message
    assert "_row" not in message


def test_type_errors_name_both_sides(ctx: RuleContext) -> None:
    with pytest.raises(RuleError, match=r"cannot compare mentor.grade \(number\) with mentee.department \(text\)"):
        ctx.check(parse_rule("mentor.grade == mentee.department", "x"))
    with pytest.raises(RuleError, match=r"cannot compare mentor.grade \(number\) with '3' \(text\)"):
        ctx.check(parse_rule("mentor.grade == '3'", "x"))
    with pytest.raises(RuleError, match="needs numbers"):
        ctx.check(parse_rule("mentor.location + 1", "x"))
    with pytest.raises(RuleError, match="takes 2 arguments"):
        ctx.check(parse_rule("overlap(mentor.skills)", "x"))
    with pytest.raises(RuleError, match="takes 2 or more"):
        ctx.check(parse_rule("min(mentor.grade)", "x"))
    with pytest.raises(RuleError, match="overlap\\(\\) takes list fields"):
        ctx.check(parse_rule("overlap(mentor.grade + 1, mentee.goals)", "x"))
    with pytest.raises(RuleError, match="right of in must be a list field"):
        ctx.check(parse_rule("mentor.location in 'London'", "x"))


def test_empty_rule() -> None:
    with pytest.raises(RuleError, match="empty"):
        parse_rule("  ", "matching.eligibility[0]")


def test_rule_metadata() -> None:
    rule = parse_rule("mentor.grade >=\nmentee.grade + 1", "o")
    assert rule.text == "mentor.grade >= mentee.grade + 1" == rule.describe()
    assert rule.fields == {("mentor", "grade"), ("mentee", "grade")}
    assert rule.sides == {"mentor", "mentee"}


# ------------------------------------------------------------------------- property: reference evaluator

WORDS = ["python", "Go", " sql", "rust ", "PYTHON", "go", "yes", "no"]
FALSE_WORDS = {"false", "no", "n", "0", "off"}

PAIR_RULES = [
    "mentor.num == mentee.num", "mentor.num != mentee.num", "mentor.num < mentee.num + 1",
    "mentor.txt == mentee.txt", "mentor.txt != mentee.txt", "mentor.txt <= mentee.txt",
    "abs(mentor.num - mentee.num) <= 2", "mentor.num * 2 - mentee.num / 2", "min(mentor.num, mentee.num, 3)",
    "max(mentor.num, mentee.num)", "overlap(mentor.lst, mentee.lst)", "jaccard(mentor.lst, mentee.lst)",
    "len(mentor.lst) + len(mentee.lst)", "mentee.txt in mentor.lst", "mentor.txt not in mentee.lst",
    "preference(mentee.lst, mentor.txt)", "preference(mentor.lst, mentee.txt)",
    "mentor.txt in ['python', 'GO']", "mentee.num in [1, 2]", "overlap(mentor.lst, ['go', 'sql'])",
    "mentor.txt or mentee.num", "not mentee.txt and mentor.num >= 0", "1 <= mentor.num < mentee.num",
    "contains(mentor.txt, 'o')", "overlap(mentor.lst, mentor.lst2)", "mentee.txt2 in mentee.lst",
    "mentor.num / mentee.num",
]


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _norm(v: object) -> str:
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v).strip().casefold()


def _as_list(v: object) -> list[str]:
    if _missing(v):
        return []
    out: list[str] = []
    for item in _norm(v).split(";") if isinstance(v, float) else str(v).split(";"):
        item = item.strip().casefold()
        if item and item not in out:
            out.append(item)
    return out


class Reference:
    """Plain per-pair evaluation of the documented semantics (independent of rules.py)."""

    def __init__(self, rows: dict[str, dict]) -> None:
        self.rows = rows

    def run(self, text: str) -> object:
        return self.ev(ast.parse(text, mode="eval").body)

    def truthy(self, v: object) -> bool:
        if _missing(v):
            return False
        if isinstance(v, str):
            n = _norm(v)
            return bool(n) and n not in FALSE_WORDS
        return bool(v)

    def raw(self, node: ast.AST) -> object:
        if isinstance(node, ast.Attribute):
            v = self.rows[node.value.id][node.attr]
            return None if _missing(v) or (isinstance(v, str) and not v.strip()) else v
        if isinstance(node, ast.List):
            return [self.raw(e) for e in node.elts]
        return node.value

    def as_list(self, node: ast.AST) -> list[str]:
        if isinstance(node, ast.List):
            out: list[str] = []
            for e in node.elts:
                if _norm(e.value) not in out:
                    out.append(_norm(e.value))
            return out
        if isinstance(node, ast.Constant):
            return [_norm(node.value)]
        return _as_list(self.raw(node))

    def ev(self, node: ast.AST) -> object:  # noqa: C901 - a reference interpreter
        if isinstance(node, ast.Constant | ast.Attribute):
            return self.raw(node)
        if isinstance(node, ast.BoolOp):
            values = [self.truthy(self.ev(v)) for v in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.UnaryOp):
            return not self.truthy(self.ev(node.operand))
        if isinstance(node, ast.BinOp):
            a, b = self.ev(node.left), self.ev(node.right)
            if a is None or b is None:
                return None
            op = type(node.op)
            if op is ast.Div:
                return None if b == 0 else a / b
            return {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}[op]
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
                if isinstance(op, ast.In | ast.NotIn):
                    if isinstance(right, ast.List) and all(isinstance(e.value, int) for e in right.elts):
                        v = self.ev(left)
                        found = v is not None and v in [e.value for e in right.elts]
                    else:
                        v = self.raw(left)
                        found = v is not None and _norm(v) in self.as_list(right)
                    ok = found if isinstance(op, ast.In) else not found
                else:
                    a, b = self.ev(left), self.ev(right)
                    if isinstance(a, str) or isinstance(b, str):
                        a = None if a is None else _norm(a)
                        b = None if b is None else _norm(b)
                    if isinstance(op, ast.NotEq):
                        ok = a is None or b is None or a != b
                    elif a is None or b is None:
                        ok = False
                    else:
                        ok = {ast.Eq: a == b, ast.Lt: a < b, ast.LtE: a <= b, ast.Gt: a > b,
                              ast.GtE: a >= b}[type(op)]
                if not ok:
                    return False
            return True
        if isinstance(node, ast.Call):
            name, args = node.func.id, node.args
            if name in ("abs", "min", "max"):
                values = [self.ev(a) for a in args]
                if any(v is None for v in values):
                    return None
                return {"abs": lambda: abs(values[0]), "min": lambda: min(values), "max": lambda: max(values)}[name]()
            if name == "len":
                return len(self.as_list(args[0]))
            if name in ("overlap", "jaccard"):
                a, b = set(self.as_list(args[0])), set(self.as_list(args[1]))
                if name == "overlap":
                    return len(a & b)
                return len(a & b) / len(a | b) if a | b else 0.0
            if name == "preference":
                items, v = self.as_list(args[0]), self.raw(args[1])
                if v is None or _norm(v) not in items:
                    return 0.0
                return (len(items) - items.index(_norm(v))) / len(items)
            if name == "contains":
                v = self.raw(args[0])
                return v is not None and args[1].value.casefold() in _norm(v)
        raise AssertionError(f"reference cannot evaluate {ast.dump(node)}")


def _reference_value(value: object) -> float:
    if value is None:
        return float("nan")
    return float(value)


maybe_num = st.one_of(st.none(), st.integers(-3, 3).map(float), st.sampled_from([0.5, -1.5]))
maybe_txt = st.one_of(st.none(), st.sampled_from(WORDS + ["", "  "]))
maybe_lst = st.one_of(st.none(), st.just(""), st.lists(st.sampled_from(WORDS + [" ", ""]), max_size=4).map(";".join))


@st.composite
def frames(draw: st.DrawFn, side: str) -> pd.DataFrame:
    n = draw(st.integers(1, 5))
    columns = {name: draw(st.lists(strategy, min_size=n, max_size=n))
               for name, strategy in [("num", maybe_num), ("txt", maybe_txt), ("txt2", maybe_txt),
                                      ("lst", maybe_lst), ("lst2", maybe_lst)]}
    frame = pd.DataFrame({"id": [f"{side}{i}" for i in range(n)], "name": ["x"] * n, **columns})
    frame["num"] = frame["num"].astype(np.float64)
    return frame


@pytest.mark.parametrize("dense", [True, False], ids=["dense", "sparse"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mentors=frames("r"), mentees=frames("e"), data=st.data())
def test_block_and_pairs_equal_reference(dense: bool, mentors: pd.DataFrame, mentees: pd.DataFrame,
                                         data: st.DataObject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "DENSE_LOOKUP_CELLS", 16_000_000 if dense else 0)
    ctx = RuleContext(mentors, mentees, separator_for=semicolon)
    mentee_idx = np.array(data.draw(st.lists(st.integers(0, len(mentees) - 1), max_size=4)), dtype=np.intp)
    mentor_idx = data.draw(st.one_of(st.none(), st.lists(st.integers(0, len(mentors) - 1), max_size=4)))
    mentor_cols = list(range(len(mentors))) if mentor_idx is None else mentor_idx
    for text in PAIR_RULES:
        rule = parse_rule(text, "prop")
        got = ctx.evaluate_block(rule, mentee_idx, None if mentor_idx is None else np.array(mentor_idx))
        expected = np.array([[_reference_value(Reference({"mentee": mentees.iloc[i].to_dict(),
                                                          "mentor": mentors.iloc[j].to_dict()}).run(text))
                              for j in mentor_cols] for i in mentee_idx]).reshape(len(mentee_idx), len(mentor_cols))
        np.testing.assert_allclose(got.astype(float), expected, rtol=1e-12, err_msg=text)
        pairs_i = np.repeat(mentee_idx, len(mentor_cols))
        pairs_j = np.tile(np.array(mentor_cols, dtype=np.intp), len(mentee_idx))
        np.testing.assert_allclose(ctx.evaluate_pairs(rule, pairs_i, pairs_j).astype(float), expected.ravel(),
                                   rtol=1e-12, err_msg=text)


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


def test_programme_rules_origins() -> None:
    from mentorctl.programme import Programme
    from mentorctl.rules import programme_rules

    programme = Programme.model_validate({
        "programme": {"name": "P"}, "design": {"start_date": "2026-01-05",
                                               "eligibility": {"mentors": ["mentor.grade >= 3"]}},
        "rosters": {"mentors": "m.csv", "mentees": "e.csv"},
        "matching": {"eligibility": ["mentor.id != mentee.manager_id"],
                     "scoring": [{"name": "skills", "expr": "overlap(mentor.skills, mentee.goals)", "weight": 2}],
                     "constraints": {"min_share": [{"name": "cross", "expr": "mentor.site != mentee.site",
                                                    "share": 0.5}]}},
    })
    found = programme_rules(programme)
    assert [r.origin for r in found.all()] == [
        "design.eligibility.mentors[0]", "matching.eligibility[0]", "matching.scoring[0] (skills)",
        "matching.constraints.min_share[0] (cross)"]
    assert found.scoring[0].weight == 2 and found.scoring[0].name == "skills"


def test_reserved_word_field_and_deep_nesting() -> None:
    with pytest.raises(RuleError, match="'class' is a reserved word in rules"):
        parse_rule("mentor.class == mentee.class", "x")
    with pytest.raises(RuleError, match="too deeply nested"):
        parse_rule("-" * 1500 + "1", "x")


def test_syntax_error_at_the_end_points_after_the_rule():
    with pytest.raises(RuleError) as error:
        parse_rule("mentor.grade >= mentee.grade +", "matching.eligibility[1]")
    message = str(error.value)
    assert "syntax error at column 31" in message and "ends too early" in message
    assert "  - " + " " * 30 + "^" in message
