"""A small hand-made programme whose KPIs are worked out by hand in the report tests."""

from __future__ import annotations

import csv
from pathlib import Path

PROGRAMME_YAML = """\
programme: {{name: Pilot, timezone: Europe/London}}
goals:
  - {{name: Hours delivered, kpi: mentoring_hours, target: 3}}
  - {{name: Goals reached, kpi: goal_completion_rate, target: 0.6}}
  - {{name: People stay, kpi: retention_rate, target: 0.9}}
design: {{start_date: 2026-02-02, length_weeks: 4}}
rosters: {{mentors: mentors.csv, mentees: mentees.csv}}
reporting:
  report_by: [department]
  active_window_days: 7
{activity}{extra}"""

MENTORS = [("m1", "Sales"), ("m2", "Sales"), ("m3", "Sales"), ("m4", "Sales"), ("m5", "Sales"), ("m6", "Legal")]
MENTEES = [("e1", "Sales"), ("e2", "Sales"), ("e3", "Sales"), ("e4", "IT"), ("e5", "IT"), ("e6", "IT")]
PAIRS = [("m1", "e1"), ("m2", "e2"), ("m3", "e3")]

HEADER = ["timestamp", "event", "mentor_id", "mentee_id", "duration_minutes", "rating", "item_id"]
# (local time, event, mentor, mentee, minutes, rating, item)
EVENTS = [
    ("2026-02-03 10:00", "session", "m1", "e1", "60", "", ""),
    ("2026-02-03 18:00", "message", "m1", "e1", "", "", ""),
    ("2026-02-04 09:00", "goal_set", "m1", "e1", "", "", "g1"),
    ("2026-02-05 09:00", "goal_set", "m2", "e2", "", "", "g2"),
    ("2026-02-10 10:00", "session", "m2", "e2", "45", "", ""),
    ("2026-02-12 11:00", "assignment_created", "m1", "e1", "", "", "a1"),
    ("2026-02-17 10:00", "session", "m1", "e1", "90", "", ""),
    ("2026-02-19 12:00", "assignment_completed", "m1", "e1", "", "", "a1"),
    ("2026-02-24 09:00", "goal_achieved", "m1", "e1", "", "", "g1"),
    ("2026-02-25 14:00", "session", "m3", "e3", "30", "", ""),
    ("2026-02-26 10:00", "training_attended", "m4", "", "", "", "training-1"),
    ("2026-02-27 16:00", "survey_response", "", "e1", "", "4", ""),
    ("2026-02-28 16:00", "survey_response", "", "e2", "", "5", ""),
    ("2026-03-05 10:00", "session", "m1", "e1", "60", "", ""),  # after the period: not counted
]
SURVEY = [("e1", "5", "10"), ("e2", "4", "9"), ("m1", "3", "6"), ("m2", "5", "8")]
HR = [  # employee_id, left_on, promoted_on
    ("m1", "", "2026-02-15"), ("m2", "2026-02-20", ""), ("m3", "", ""), ("m4", "", ""),
    ("e1", "", ""), ("e2", "", ""), ("e3", "", ""),
    ("e4", "2026-02-10", ""), ("e5", "", "2026-02-20"), ("e6", "", ""),
    ("x1", "2026-01-15", ""), ("x2", "", ""),
]


def write_csv(path: Path, header: list[str], rows: list[tuple]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def make_programme(folder: Path, *, events: list[tuple] | None = None, activity_yaml: str | None = None,
                   survey: bool = False, hr: bool = False, matches: bool = True) -> Path:
    """Write the pilot programme into `folder`; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "mentors.csv", ["id", "name", "department"], [(i, f"Mentor {i}", d) for i, d in MENTORS])
    write_csv(folder / "mentees.csv", ["id", "name", "department"], [(i, f"Mentee {i}", d) for i, d in MENTEES])
    if events is not None or activity_yaml is None:
        write_csv(folder / "activity.csv", HEADER, EVENTS if events is None else events)
    extra = ""
    if survey:
        write_csv(folder / "survey.csv", ["participant_id", "satisfaction", "recommend"], SURVEY)
        extra += "  survey: {path: survey.csv}\n"
    if hr:
        write_csv(folder / "hr.csv", ["employee_id", "left_on", "promoted_on"], HR)
        extra += "  hr_extract: {path: hr.csv}\n"
    activity = activity_yaml if activity_yaml is not None else "  activity: [activity.csv]\n"
    (folder / "programme.yaml").write_text(PROGRAMME_YAML.format(activity=activity, extra=extra), encoding="utf-8")
    if matches:
        (folder / "out").mkdir(exist_ok=True)
        write_csv(folder / "out" / "matches.csv", ["mentee_id", "mentor_id", "score"],
                  [(mentee, mentor, "1") for mentor, mentee in PAIRS])
    return folder
