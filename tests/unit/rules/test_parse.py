"""Parsing rules: the whitelist, nothing executes, syntax errors pointing at their column, metadata."""

from __future__ import annotations

import pytest

from mentorctl.errors import RuleError
from mentorctl.rules import RuleContext, parse_rule

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
    assert error.details[2].startswith("something here does not fit: check the operators")   # not Python's words


def test_unknown_function_suggests(ctx: RuleContext) -> None:
    with pytest.raises(RuleError, match=r"unknown function overlaps\(\); did you mean overlap\(\)\?"):
        parse_rule("overlaps(mentor.skills, mentee.goals)", "x")


def test_empty_rule() -> None:
    with pytest.raises(RuleError, match="empty"):
        parse_rule("  ", "matching.eligibility[0]")


def test_rule_metadata() -> None:
    rule = parse_rule("mentor.grade >=\nmentee.grade + 1", "o")
    assert rule.text == "mentor.grade >= mentee.grade + 1" == rule.describe()
    assert rule.fields == {("mentor", "grade"), ("mentee", "grade")}
    assert rule.sides == {"mentor", "mentee"}


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
