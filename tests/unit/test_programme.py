"""programme.py: the schema, friendly errors, durations; the reference documentation stays in step."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from mentorctl import ProgrammeError, load_programme
from mentorctl.programme import parse_duration, programme_warnings
from mentorctl.reference import programme_reference_markdown

REPO = Path(__file__).resolve().parents[2]
MINIMAL = {"programme": {"name": "T"}, "design": {"start_date": "2027-01-04"}, "rosters": {"mentors": "m.csv",
                                                                                          "mentees": "e.csv"}}


def write(folder: Path, data: dict) -> Path:
    (folder / "programme.yaml").write_text(yaml.safe_dump(data))
    return folder


def test_reference_doc_matches_models():
    committed = (REPO / "docs" / "programme-reference.md").read_text()
    assert committed.strip() == programme_reference_markdown().strip(), \
        "regenerate with: python -m mentorctl.reference > docs/programme-reference.md"


def test_reference_lists_every_section():
    text = programme_reference_markdown()
    for section in ("`matching`", "`email.smtp`", "`reminders[]`", "`reporting`", "`rosters`", "`schedule.kickoff`"):
        assert section in text


@pytest.mark.parametrize(("text", "expected"), [("2w", timedelta(weeks=2)), ("21d", timedelta(days=21)),
                                                ("12h", timedelta(hours=12)), ("30m", timedelta(minutes=30)),
                                                ("2 weeks", timedelta(weeks=2))])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


def test_bad_duration_is_a_clear_error(tmp_path):
    data = {**MINIMAL, "design": {"start_date": "2027-01-04", "checkin_every": "fortnightly"}}
    with pytest.raises(ProgrammeError, match="design.checkin_every: 'fortnightly' is not a duration"):
        load_programme(write(tmp_path, data))


def test_defaults_and_derived_values(tmp_path):
    programme = load_programme(write(tmp_path, MINIMAL))
    assert programme.matching.mentor_capacity == 2 and programme.matching.objective.value == "coverage_then_score"
    assert programme.design.end_date.isoformat() == "2027-07-05"
    assert programme.base_dir == tmp_path.resolve() and programme.out_dir == tmp_path.resolve() / "out"


def test_error_names_the_yaml_line(tmp_path):
    (tmp_path / "programme.yaml").write_text(
        "programme:\n  name: T\ndesign:\n  start_date: 2027-01-04\n  typ: peer\nrosters: {participants: p.csv}\n")
    with pytest.raises(ProgrammeError) as error:
        load_programme(tmp_path)
    assert "line 5: design.typ: unknown key; did you mean 'type'?" in str(error.value)


def test_reminder_needs_exactly_one_trigger(tmp_path):
    data = {**MINIMAL, "reminders": [{"id": "r", "every": "1w", "cron": "0 9 * * MON", "to": "pairs",
                                      "template": "x.md.j2"}]}
    with pytest.raises(ProgrammeError, match="exactly one of every, at, cron"):
        load_programme(write(tmp_path, data))


def test_bad_timezone_and_cron(tmp_path):
    data = {**MINIMAL, "programme": {"name": "T", "timezone": "Mars/Olympus"},
            "reminders": [{"id": "r", "cron": "every monday", "to": "pairs", "template": "x.md.j2"}]}
    with pytest.raises(ProgrammeError) as error:
        load_programme(write(tmp_path, data))
    assert "not an IANA time zone" in str(error.value) and "is not a cron expression" in str(error.value)


def test_yaml_is_loaded_safely(tmp_path):
    (tmp_path / "programme.yaml").write_text("programme: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ProgrammeError, match="not valid YAML"):
        load_programme(tmp_path)


def test_goal_warnings(tmp_path):
    data = {**MINIMAL, "goals": [{"name": "G", "kpi": "nps"}, {"name": "H", "target": 3},
                                 {"name": "I", "kpi": "sessions", "target": 3},
                                 {"name": "J", "kpi": "retention_rate.non_participants", "target": 0.8}]}
    warnings = programme_warnings(load_programme(write(tmp_path, data)))
    assert any("unknown KPI 'sessions'" in w for w in warnings)
    assert not any("'J'" in w for w in warnings)
    assert any("'G' has no numeric target" in w for w in warnings)
    assert any("'H' names no KPI" in w for w in warnings)


@pytest.mark.parametrize("name", ["example", "graduate-peer-2022", "ibm-hr", "civil-service"])
def test_bundled_programmes_load(name):
    assert load_programme(REPO / "programmes" / name).programme.name


def test_inactivity_reminder_needs_an_activity_log(tmp_path):
    data = {**MINIMAL, "reminders": [{"id": "nudge", "every": "1w", "to": "pairs", "when_inactive_for": "21d",
                                      "template": "nudge.md.j2"}]}
    with pytest.raises(ProgrammeError, match="nudge use when_inactive_for.*reporting.activity"):
        load_programme(write(tmp_path, data))
    data["reporting"] = {"activity": ["activity.csv"]}
    assert load_programme(write(tmp_path, data)).reminders[0].id == "nudge"


def test_rule_with_colon_space_gets_a_quoting_hint(tmp_path):
    (tmp_path / "programme.yaml").write_text(
        "programme: {name: T}\ndesign: {start_date: 2027-01-04}\nrosters: {mentors: m.csv, mentees: e.csv}\n"
        "matching:\n  eligibility:\n    - mentor.site == 'HQ: London'\n    - mentor.note: x\n")
    with pytest.raises(ProgrammeError, match="put the whole rule in quotes"):
        load_programme(tmp_path)


def test_a_key_given_twice_is_an_error(tmp_path):
    (tmp_path / "programme.yaml").write_text(
        "programme: {name: T}\ndesign: {start_date: 2027-01-04}\nrosters: {mentors: m.csv, mentees: e.csv}\n"
        "reminders:\n  - {id: a, every: 1w, to: pairs, template: x.md.j2}\n"
        "reminders:\n  - {id: b, every: 1w, to: pairs, template: x.md.j2}\n")
    with pytest.raises(ProgrammeError) as error:
        load_programme(tmp_path)
    assert "line 6" in str(error.value) and "'reminders' is given twice (first on line 4)" in str(error.value)


def test_schedule_outside_the_programme_is_a_warning(tmp_path):
    data = {**MINIMAL, "design": {"start_date": "2027-01-04", "length_weeks": 6},
            "schedule": {"training": [{"title": "Late", "start": "2027-02-20 10:00"}]},
            "reminders": [{"id": "wk8", "at": "week 8", "to": "pairs", "template": "x.md.j2"},
                          {"id": "d", "at": "2027-03-01", "to": "pairs", "template": "x.md.j2"}]}
    warnings = " | ".join(programme_warnings(load_programme(write(tmp_path, data))))
    assert "training 'Late' on 2027-02-20 is after the programme's last day (2027-02-14)" in warnings
    assert "'wk8' is at week 8 but the programme lasts 6 weeks" in warnings
    assert "'d' is on 2027-03-01, outside the programme" in warnings


def test_number_and_date_mistakes_read_plainly(tmp_path):
    data = {**MINIMAL, "goals": [{"name": "G", "kpi": "nps", "target": "60%"}],
            "design": {"start_date": "21/12/2026"}}
    with pytest.raises(ProgrammeError) as error:
        load_programme(write(tmp_path, data))
    text = str(error.value)
    assert "goals.0.target: '60%' is not a number (a rate is written 0-1: 60% is 0.6)" in text
    assert "design.start_date: '21/12/2026' is not a date; write YYYY-MM-DD" in text


def test_kickoff_is_for_everyone(tmp_path):
    data = {**MINIMAL, "schedule": {"kickoff": {"title": "K", "start": "2027-01-04 10:00", "audience": "mentors"}}}
    with pytest.raises(ProgrammeError, match="the kick-off is for everyone"):
        load_programme(write(tmp_path, data))


@pytest.mark.parametrize("day, reason", [("2027-18-01", "month must be in 1..12"),
                                         ("2027-02-30", "day is out of range for month")])
def test_an_impossible_date_names_its_line_and_key(tmp_path, day, reason):
    (tmp_path / "programme.yaml").write_text(
        f"programme:\n  name: T\ndesign:\n  length_weeks: 6\n  start_date: {day}   # YYYY-MM-DD\n"
        "rosters: {mentors: m.csv, mentees: e.csv}\n")
    with pytest.raises(ProgrammeError) as error:
        load_programme(tmp_path)
    assert str(error.value).endswith(
        f"line 5: design.start_date: '{day}' is not a date ({reason}); write YYYY-MM-DD")
    assert "\n" not in str(error.value)


def test_an_impossible_date_under_any_key_is_an_error(tmp_path):
    (tmp_path / "programme.yaml").write_text(
        "programme:\n  name: T\ndesign: {start_date: 2027-01-04}\nrosters: {mentors: m.csv, mentees: e.csv}\n"
        "reminders:\n  - id: r\n    at: 2027-13-01\n")
    with pytest.raises(ProgrammeError) as error:
        load_programme(tmp_path)
    assert "line 7: reminders.0.at: '2027-13-01' is not a date (month must be in 1..12)" in str(error.value)


def test_an_outdented_rules_list_folded_into_one_rule_is_an_error(tmp_path):
    (tmp_path / "programme.yaml").write_text(
        "programme: {name: T}\ndesign: {start_date: 2027-01-04}\nrosters: {mentors: m.csv, mentees: e.csv}\n"
        "matching:\n"
        "  eligibility:         # every rule must hold\n"
        "  - mentor.grade >= mentee.grade - 5\n"
        "    - abs(mentor.utc_offset - mentee.utc_offset) <= 6\n"
        "    - mentor.dept != mentee.dept\n")
    with pytest.raises(ProgrammeError) as error:
        load_programme(tmp_path)
    assert str(error.value).endswith(
        "line 7: this line looks like a new list item but YAML folded it into the rule above; "
        "indent the '-' like the first rule")


def test_a_rule_over_several_lines_is_read_unless_a_line_starts_with_a_dash(tmp_path):
    (tmp_path / "programme.yaml").write_text(
        "programme: {name: T}\ndesign: {start_date: 2027-01-04}\nrosters: {mentors: m.csv, mentees: e.csv}\n"
        "matching:\n  eligibility:\n    - mentor.grade >= mentee.grade\n      - 5\n"
        "    - abs(mentor.utc_offset - mentee.utc_offset)\n      <= 6\n")
    with pytest.raises(ProgrammeError, match="line 7: this line looks like a new list item"):
        load_programme(tmp_path)  # '- 5' on its own line reads as a new item: ambiguous, so refused
    (tmp_path / "programme.yaml").write_text(
        "programme: {name: T}\ndesign: {start_date: 2027-01-04}\nrosters: {mentors: m.csv, mentees: e.csv}\n"
        "matching:\n  eligibility:\n    - mentor.grade >= mentee.grade -\n      5\n"
        "    - abs(mentor.utc_offset - mentee.utc_offset)\n      <= 6\n")
    assert load_programme(tmp_path).matching.eligibility == [
        "mentor.grade >= mentee.grade - 5", "abs(mentor.utc_offset - mentee.utc_offset) <= 6"]
