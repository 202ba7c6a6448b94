"""Compiling rules against rosters: unknown fields and type errors name the rule's origin and both sides."""

from __future__ import annotations

import pytest

from mentorctl.errors import RuleError
from mentorctl.rules import RuleContext, parse_rule


def test_unknown_field_names_origin_and_fields(ctx: RuleContext) -> None:
    rule = parse_rule("overlap(mentor.skils, mentee.goals)", "matching.scoring[1] (skills)")
    with pytest.raises(RuleError) as info:
        ctx.check(rule)
    message = str(info.value)
    assert message.startswith("matching.scoring[1] (skills): unknown field mentor.skils")
    assert "did you mean mentor.skills?" in message
    assert "Fields of mentors.csv: id, name, department, grade" in message
    assert "_row" not in message


def test_an_unknown_field_that_holds_a_known_one_as_a_word_gets_it_suggested(ctx: RuleContext) -> None:
    with pytest.raises(RuleError) as info:
        ctx.check(parse_rule("mentor.grade_when_joined >= 2", "matching.eligibility[0]"))
    assert '"mentor.grade_when_joined >= 2"; did you mean mentor.grade? Fields of mentors.csv' in str(info.value)
    with pytest.raises(RuleError) as info:
        ctx.check(parse_rule("mentor.zzz >= 2", "matching.eligibility[0]"))
    assert '"mentor.zzz >= 2". Fields of mentors.csv: id' in str(info.value)


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


