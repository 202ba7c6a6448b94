"""The programme's rule set: every rule of programme.yaml parsed with its origin."""

from __future__ import annotations


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


