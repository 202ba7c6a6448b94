"""The programme's rule set: every rule expression of programme.yaml, parsed, each with its origin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mentorctl.errors import RuleError
from mentorctl.rules.parse import Rule, parse_rule

if TYPE_CHECKING:  # pragma: no cover
    from mentorctl.programme import Programme


@dataclass(frozen=True)
class ScoringRule:
    name: str
    rule: Rule
    weight: float


@dataclass(frozen=True)
class ProgrammeRules:
    """Every rule of a programme, parsed, each with its origin in programme.yaml."""

    eligibility: list[Rule]
    scoring: list[ScoringRule]
    min_share: list[Rule]
    mentor_eligibility: list[Rule]
    mentee_eligibility: list[Rule]

    def all(self) -> list[Rule]:
        return [*self.mentor_eligibility, *self.mentee_eligibility, *self.eligibility,
                *(s.rule for s in self.scoring), *self.min_share]


def programme_rules(programme: Programme) -> ProgrammeRules:
    """Parse every rule expression of `programme` (RuleError on the first bad one)."""
    matching = programme.matching
    design = programme.design.eligibility
    return ProgrammeRules(
        eligibility=[parse_rule(t, f"matching.eligibility[{i}]") for i, t in enumerate(matching.eligibility)],
        scoring=[ScoringRule(s.name, parse_rule(s.expr, f"matching.scoring[{i}] ({s.name})"), s.weight)
                 for i, s in enumerate(matching.scoring)],
        min_share=[parse_rule(m.expr, f"matching.constraints.min_share[{i}] ({m.name})")
                   for i, m in enumerate(matching.constraints.min_share)],
        mentor_eligibility=[parse_rule(t, f"design.eligibility.mentors[{i}]") for i, t in enumerate(design.mentors)],
        mentee_eligibility=[parse_rule(t, f"design.eligibility.mentees[{i}]") for i, t in enumerate(design.mentees)],
    )



def uses_private_field(text: str, programme: Programme) -> bool:
    """Whether a rule expression reads a field listed under `private:` (its values must then not be shown to
    participants: such scoring terms are left out of packs and explanations)."""
    private = {str(p).strip().lower() for p in programme.private}
    try:
        fields = parse_rule(text, "private check").fields
    except RuleError:
        return False
    return any(name.lower() in private for _, name in fields)
