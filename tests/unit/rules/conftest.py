"""The rosters the hand-worked rule tests evaluate against."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rules_helpers import semicolon

from mentorctl.rules import RuleContext


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


