"""`mentorctl init` and `mentorctl validate`, end to end: every bad input gets one clear message and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook

MENTORS = "id,name,email,department,grade\nM1,Ann Mentor,ann@example.org,Eng,5\nM2,Bob Mentor,bob@example.org,Ops,4\n"
MENTEES = "id,name,email,department,grade\nE1,Cat Mentee,cat@example.org,Ops,2\nE2,Dan Mentee,dan@example.org,Eng,1\n"


def write_programme(folder: Path, *, mentors: str = MENTORS, mentees: str = MENTEES, extra: dict | None = None,
                    text: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mentors.csv").write_text(mentors, encoding="utf-8")
    (folder / "mentees.csv").write_text(mentees, encoding="utf-8")
    data = {
        "programme": {"name": "Test"},
        "goals": [{"name": "Pairs meet", "kpi": "sessions_held", "target": 10}],
        "design": {"start_date": "2027-01-11"},
        "rosters": {"mentors": "mentors.csv", "mentees": "mentees.csv"},
        "matching": {"eligibility": ["mentor.grade > mentee.grade"]},
    }
    for key, value in (extra or {}).items():
        data[key] = value
    (folder / "programme.yaml").write_text(text if text is not None else yaml.safe_dump(data), encoding="utf-8")
    return folder


def assert_clean_failure(result, *fragments: str, code: int = 2) -> str:
    output = result.stdout + result.stderr
    assert result.exit_code == code, output
    assert "Traceback" not in output
    for fragment in fragments:
        assert fragment in output, f"{fragment!r} not in:\n{output}"
    return output


def test_init_creates_a_programme_that_validates(tmp_path, run_cli):
    result = run_cli("init", "graduates", "--dir", tmp_path)
    assert result.exit_code == 0, result.stdout
    folder = tmp_path / "graduates"
    assert {"programme.yaml", "mentors.csv", "mentees.csv", "templates"} <= {p.name for p in folder.iterdir()}
    text = (folder / "programme.yaml").read_text()
    for section in ("purpose:", "goals:", "design:", "rosters:", "matching:", "schedule:", "reminders:",
                    "email:", "reporting:", "password_env:"):
        assert section in text
    assert run_cli("validate", folder).exit_code == 0


def test_init_comments_agree_with_the_readme_and_the_behaviour(tmp_path, run_cli):
    """The report hides small groups as hidden*/hidden† (not "<5"); a running programme keeps its pairs without
    --keep, and an evergreen programme is `design.intake: rolling`, as the README says."""
    assert run_cli("init", "p", "--dir", tmp_path).exit_code == 0
    text = (tmp_path / "p" / "programme.yaml").read_text()
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "hidden*" in text and "hidden†" in text and "hidden*" in readme and "hidden†" in readme
    assert 'shown as "<5"' not in text
    assert "rematch with --keep" not in text and "keeps current pairs automatically (no --keep)" in text
    assert "intake: cohort" in text and "rolling" in text and "design.intake: rolling" in readme
    data = yaml.safe_load(text)
    assert data["design"]["intake"] == "cohort" and data["reporting"]["min_group_size"] == 5
    rolling = tmp_path / "p" / "programme.yaml"
    rolling.write_text(text.replace("intake: cohort", "intake: rolling")
                       .replace("# relationship_length: 12w", "relationship_length: 12w"))
    assert run_cli("validate", tmp_path / "p").exit_code == 0


@pytest.mark.parametrize("kind", ["one-to-one", "group", "peer", "reverse"])
def test_init_type_changes_defaults(tmp_path, run_cli, kind):
    assert run_cli("init", "p", "--dir", tmp_path, "--type", kind).exit_code == 0
    data = yaml.safe_load((tmp_path / "p" / "programme.yaml").read_text())
    assert data["design"]["type"] == kind
    if kind == "peer":
        assert "participants" in data["rosters"] and (tmp_path / "p" / "participants.csv").exists()
    if kind == "group":
        assert 4 <= data["matching"]["mentor_capacity"] <= 8
    if kind == "reverse":
        assert "mentor.grade < mentee.grade" in data["matching"]["eligibility"]
    result = run_cli("validate", tmp_path / "p")
    assert result.exit_code == 0, result.stdout + result.stderr
    # the scaffold is a working programme of its type: its example rosters match and its reminders run
    matched = run_cli("match", tmp_path / "p")
    assert matched.exit_code == 0, matched.stdout + matched.stderr
    import pandas as pd

    assert len(pd.read_csv(tmp_path / "p" / "out" / "matches.csv")) > 0
    assert run_cli("remind", tmp_path / "p", "--dry-run", "--now", "2030-01-01").exit_code == 0
    assert run_cli("packs", tmp_path / "p").exit_code == 0
    # every scaffold roster names each person's IANA time zone, so "your time" follows clock changes
    for roster in (tmp_path / "p").glob("*.csv"):
        frame = pd.read_csv(roster)
        assert "timezone" in frame.columns and frame["timezone"].str.contains("/").all(), roster.name
    assert "utc_offset but no timezone" not in result.stdout + result.stderr


def test_validate_warns_when_offsets_meet_a_clock_change_and_names_bad_time_zones(small_programme, run_cli):
    header = "id,name,email,utc_offset,timezone\n"
    mentors = header + "M1,Ann,ann@example.org,-5,\nM2,Bo,bo@example.org,0,Europe/Londn\n"
    mentees = header + ("E1,Cy,cy@example.org,1,Europe/Berlin\nE2,Di,di@example.org,,GMT+1\n"
                        'E3,Ed,ed@example.org,,"(UTC-05:00) Eastern Time (US & Canada)"\nE4,Flo,flo@example.org,,Lisbon\n')
    winter = small_programme("winter", mentors, mentees, programme={"name": "w", "timezone": "Europe/London"},
                             design={"start_date": "2027-01-04", "length_weeks": 8})
    result = run_cli("validate", winter)
    output = " ".join((result.stdout + result.stderr).split())
    assert ("mentors.csv, row 3, column timezone: 'Europe/Londn' is not an IANA time zone name (did you mean "
            "'Europe/London'?)") in output and "fall back to their utc_offset" in output
    assert ("mentees.csv, row 3, column timezone: 'GMT+1' is not an IANA time zone name; read as the fixed offset "
            'UTC+1: times are shown as offsets ("09:00 UTC+1")') in output
    assert "'(UTC-05:00) Eastern Time (US & Canada)' is not an IANA time zone name; read as the time zone " \
           "America/New_York" in output
    assert "'Lisbon' is not an IANA time zone name; read as the time zone Europe/Lisbon" in output
    assert "known only by a UTC offset" not in output          # no clock change in January and February
    summer = small_programme("summer", mentors, mentees, programme={"name": "s", "timezone": "Europe/London"},
                             design={"start_date": "2027-03-01", "length_weeks": 8})
    output = " ".join((run_cli("validate", summer).stdout + run_cli("validate", summer).stderr).split())
    assert "3 participant(s) are known only by a UTC offset" in output     # M1, M2 (bad name), E2 (GMT+1)
    assert "2027-03-28" in output


def test_init_refuses_to_overwrite_without_force(tmp_path, run_cli):
    assert run_cli("init", "p", "--dir", tmp_path).exit_code == 0
    yaml_file = tmp_path / "p" / "programme.yaml"
    yaml_file.write_text(yaml_file.read_text() + "\n# my edits\n")
    assert_clean_failure(run_cli("init", "p", "--dir", tmp_path), "already holds a programme", "--force")
    assert "# my edits" in yaml_file.read_text()
    assert run_cli("init", "p", "--dir", tmp_path, "--force").exit_code == 0
    assert "# my edits" not in yaml_file.read_text()


def test_valid_programme_prints_summary_and_json(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p")
    result = run_cli("validate", folder)
    assert result.exit_code == 0
    assert "valid" in result.stdout and "mentors" in result.stdout
    data = json.loads(run_cli("validate", folder, "--json").stdout)
    assert data["valid"] is True and data["summary"]["mentors"] == 2 and data["summary"]["mentees"] == 2


def test_yaml_syntax_error_names_line_and_column(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", text="programme:\n  name: [unclosed\ndesign: {}\n")
    assert_clean_failure(run_cli("validate", folder), "programme.yaml", "line", "column", "not valid YAML")


def test_unknown_key_suggests_the_right_one(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", extra={"design": {"start_date": "2027-01-11", "eligibilty": {}}})
    assert_clean_failure(run_cli("validate", folder), "design.eligibilty: unknown key", "did you mean 'eligibility'")


def test_secret_in_yaml_is_refused(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", extra={"email": {"from": "a@example.org", "smtp": {
        "host": "smtp.example.org", "password": "hunter2"}}})
    assert_clean_failure(run_cli("validate", folder), "email.smtp.password", "password_env")


def test_wrong_type_names_the_key(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", extra={"design": {"start_date": "2027-01-11", "length_weeks": "long"}})
    assert_clean_failure(run_cli("validate", folder), "design.length_weeks", "'long'")


def test_missing_roster_file(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p")
    (folder / "mentees.csv").unlink()
    assert_clean_failure(run_cli("validate", folder), "mentees.csv", "file not found")


def test_missing_programme_folder(tmp_path, run_cli):
    assert_clean_failure(run_cli("validate", tmp_path / "nowhere"), "no programme found", "mentorctl init")


def test_unknown_excel_sheet_lists_the_sheets(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p")
    workbook = Workbook()
    workbook.active.title = "Mentors"
    workbook.create_sheet("Mentees")
    workbook.save(folder / "roster.xlsx")
    data = yaml.safe_load((folder / "programme.yaml").read_text())
    data["rosters"]["mentees"] = "roster.xlsx#Mentes"
    (folder / "programme.yaml").write_text(yaml.safe_dump(data))
    assert_clean_failure(run_cli("validate", folder), "no sheet named 'Mentes'", "'Mentors', 'Mentees'")


def test_excel_roster_with_sheet_is_read(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Mentees"
    for row in [["ID", "Full Name", "E-mail", "Department", "Grade"], ["E1", "Cat", "cat@example.org", "Ops", 2]]:
        sheet.append(row)
    workbook.save(folder / "roster.xlsx")
    data = yaml.safe_load((folder / "programme.yaml").read_text())
    data["rosters"]["mentees"] = "roster.xlsx#Mentees"
    (folder / "programme.yaml").write_text(yaml.safe_dump(data))
    result = run_cli("validate", folder, "--json")
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["summary"]["mentees"] == 1


def test_missing_required_column_lists_columns_found(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", mentees="ref,name\nE1,Cat\n")
    assert_clean_failure(run_cli("validate", folder), "mentees.csv", "missing required column 'id'", "'ref', 'name'")


def test_duplicate_id_names_rows(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", mentees=MENTEES + "E1,Eve Again,eve@example.org,Ops,2\n")
    assert_clean_failure(run_cli("validate", folder), "mentees.csv", "duplicate id 'E1' on rows 2, 4")


def test_empty_id_names_row_and_column(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", mentees=MENTEES + ",Eve,eve@example.org,Ops,2\n")
    assert_clean_failure(run_cli("validate", folder), "mentees.csv, row 4, column id", "empty id")


def test_invalid_email_is_a_warning_then_an_error_for_sending(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", mentees=MENTEES.replace("cat@example.org", "cat@"))
    result = run_cli("validate", folder)
    assert result.exit_code == 0
    assert "mentees.csv, row 2, column email: 'cat@' is not an email address" in result.stderr
    assert "Warning" in result.stderr
    assert_clean_failure(run_cli("validate", folder, "--for-sending"), "'cat@' is not an email address")


def test_for_sending_still_reports_every_other_problem(small_programme, run_cli):
    folder = small_programme("p", "id,name,email,timezone\nM1,Ann Lee,ann@x.org,Europe/Londn\n",
                             "id,name,email,likes\nE1,Eve,,Ann Le\n",
                             matching={"scoring": [{"name": "likes", "expr": "preference(mentee.likes, mentor.name)"}]})
    plain = run_cli("validate", folder)
    strict = run_cli("validate", folder, "--for-sending")
    assert plain.exit_code == 0 and strict.exit_code == 2
    out = " ".join((strict.stdout + strict.stderr).split())
    assert "mentees.csv, row 2, column email: no email address" in out
    assert "'Europe/Londn' is not an IANA time zone name" in out               # the other checks ran too
    assert "'Ann Le' matches no mentor (did you mean 'Ann Lee'?)" in out
    assert "│ mentors │ 1" in out and "│ mentees │ 1" in out
    assert "2 error(s)" in out and "sending needs an `email:` section" in out   # the address and the section
    assert sum(line.startswith("Warning") for line in strict.stderr.splitlines()) == \
        sum(line.startswith("Warning") for line in plain.stderr.splitlines()) - 1   # the email one became the error


def test_declared_number_column_with_text(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", mentors=MENTORS.replace("Ops,4", "Ops,four"),
                             extra={"rosters": {"mentors": "mentors.csv", "mentees": "mentees.csv",
                                                "types": {"grade": "integer"}}})
    assert_clean_failure(run_cli("validate", folder), "mentors.csv, row 3, column grade", "'four' is not a whole number")


def test_capacity_column_with_text_is_an_error(tmp_path, run_cli):
    mentors = "id,name,email,capacity\nM1,Ann,ann@example.org,2\nM2,Bob,bob@example.org,lots\n"
    folder = write_programme(tmp_path / "p", mentors=mentors, extra={"matching": {}})
    assert_clean_failure(run_cli("validate", folder), "mentors.csv, row 3, column capacity", "'lots'")


def test_cp1252_csv_is_read_with_a_warning(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p")
    (folder / "mentees.csv").write_bytes(MENTEES.replace("Cat Mentee", "Zoë Müller").encode("cp1252"))
    result = run_cli("validate", folder, "--json")
    assert result.exit_code == 0
    warnings = json.loads(result.stdout)["warnings"]
    assert any("read as cp1252" in w["message"] for w in warnings)
    from mentorctl import load_participants, load_programme

    people = load_participants(load_programme(folder))
    assert "Zoë Müller" in people.mentees.frame["name"].tolist()


def test_utf8_bom_and_semicolon_csv(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p")
    (folder / "mentees.csv").write_bytes(b"\xef\xbb\xbf" + MENTEES.replace(",", ";").encode())
    result = run_cli("validate", folder, "--json")
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["warnings"] == []


def test_empty_roster(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", mentees="id,name,email\n")
    assert_clean_failure(run_cli("validate", folder), "mentees.csv", "has no people in it")


def test_person_on_both_rosters_is_a_warning(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", mentees=MENTEES + "M1,Ann Mentor,ann@example.org,Eng,3\n")
    result = run_cli("validate", folder)
    assert result.exit_code == 0
    assert "on both the mentor and the mentee roster: M1" in result.stderr


def test_goal_without_target_is_a_warning(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", extra={"goals": [{"name": "Be great", "kpi": "nps"}]})
    result = run_cli("validate", folder)
    assert result.exit_code == 0
    assert "goal 'Be great' has no numeric target" in result.stderr


def test_rule_with_unknown_field_is_an_error(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", extra={"matching": {"eligibility": ["mentor.grde > mentee.grade"]}})
    assert_clean_failure(run_cli("validate", folder), "matching.eligibility[0]", "grde")


def test_every_problem_is_reported_at_once(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", mentees=MENTEES + ",NoId,x@example.org,Ops,1\nE1,Dup,d@example.org,Ops,1\n")
    data = json.loads(run_cli("validate", folder, "--json").stdout)
    messages = " | ".join(e["message"] for e in data["errors"])
    assert "empty id" in messages and "duplicate id" in messages


def test_validate_checks_what_match_checks(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", extra={"matching": {"eligibility": ["mentor.grade > mentee.grade"],
                                                                 "pinned": "pins.csv"}})
    (folder / "pins.csv").write_text("mentor_id,mentee_id\nM9,E1\n")
    assert_clean_failure(run_cli("validate", folder), "pins.csv, row 2, column mentor_id", "'M9' is not on the mentor roster")
    (folder / "pins.csv").write_text("mentor_id,mentee_id\nM2,E2\n")  # grade 4 vs 1: fine
    assert run_cli("validate", folder).exit_code == 0
    (folder / "pins.csv").write_text("mentor_id,mentee_id\nM2,E1\nM2,E2\nM2,E1\n")
    data = yaml.safe_load((folder / "programme.yaml").read_text())
    data["matching"]["eligibility"] = ["mentor.grade"]
    (folder / "programme.yaml").write_text(yaml.safe_dump(data))
    assert_clean_failure(run_cli("validate", folder), "is a number, not a condition")


def test_rule_field_empty_for_everyone_is_a_warning(tmp_path, run_cli):
    mentees = "id,name,email,department,grade,languages\nE1,Cat,cat@example.org,Ops,2,\nE2,Dan,dan@example.org,Eng,1,\n"
    folder = write_programme(tmp_path / "p", mentees=mentees, extra={"matching": {"eligibility": [
        "overlap(mentor.department, mentee.languages) >= 1"]}})
    result = run_cli("validate", folder)
    assert result.exit_code == 0
    assert "field mentee.languages is empty for every mentee" in result.stderr


def test_unreachable_group_size_is_a_warning(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", extra={"matching": {"eligibility": [], "min_group_size": 40,
                                                                 "mentor_capacity": 6}})
    result = run_cli("validate", folder)
    assert result.exit_code == 0
    assert "min_group_size is 40 but no mentor has that much capacity (largest 6)" in result.stderr
    assert "only 2 mentees" in result.stderr


def test_unknown_profile_field_is_an_error(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", extra={"onboarding": {"profile_fields": ["department", "hobby"]}})
    assert_clean_failure(run_cli("validate", folder), "onboarding.profile_fields names 'hobby'")


def test_for_sending_checks_smtp_credentials_are_set(tmp_path, run_cli, monkeypatch):
    smtp = {"host": "smtp.example.org", "username_env": "QA_SMTP_USER", "password_env": "QA_SMTP_PASS"}
    folder = write_programme(tmp_path / "p", extra={"email": {"from": "team@example.org", "smtp": smtp}})
    monkeypatch.delenv("QA_SMTP_USER", raising=False)
    monkeypatch.delenv("QA_SMTP_PASS", raising=False)
    assert run_cli("validate", folder).exit_code == 0  # not sending: credentials are not needed
    assert_clean_failure(run_cli("validate", folder, "--for-sending"), "QA_SMTP_USER, which is not set")
    monkeypatch.setenv("QA_SMTP_USER", "bot")
    monkeypatch.setenv("QA_SMTP_PASS", "secret")
    assert run_cli("validate", folder, "--for-sending").exit_code == 0


def test_every_bad_pin_is_listed_at_once(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", extra={"matching": {"eligibility": ["mentor.grade > mentee.grade"],
                                                                 "pinned": "pins.csv"}})
    (folder / "pins.csv").write_text("mentor_id;mentee_id\nM9;E1\nM1;E7\n")  # semicolons, as Excel saves them
    output = assert_clean_failure(run_cli("validate", folder), "'M9' is not on the mentor roster", "(2 problems in all)")
    assert "row 3, column mentee_id: 'E7' is not on the mentee roster" in output
    mentees = MENTEES.replace("Ops,2", "Ops,9").replace("Eng,1", "Eng,9")  # nobody junior enough any more
    (folder / "mentees.csv").write_text(mentees)
    (folder / "pins.csv").write_text("mentor_id,mentee_id\nM1,E1\nM2,E2\n")
    output = assert_clean_failure(run_cli("validate", folder), "(2 broken pins, 2 broken rules in all)")
    assert "row 3: pin M2 – E2 breaks" in output
    yaml_file = folder / "programme.yaml"   # one pin breaking two rules is one broken pin
    yaml_file.write_text(yaml_file.read_text().replace("- mentor.grade > mentee.grade",
                                                       "- mentor.grade > mentee.grade\n  - mentor.grade > 100"))
    (folder / "pins.csv").write_text("mentor_id,mentee_id\nM1,E1\n")
    output = assert_clean_failure(run_cli("validate", folder), '"mentor.grade > mentee.grade" (and 1 more rule)')
    assert "broken pins" not in output


def test_text_in_a_number_column_points_at_the_cell(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", mentees=MENTEES.replace("Ops,2", "Ops,two"))
    assert_clean_failure(run_cli("validate", folder), "matching.eligibility[0]",
                         "mentees.csv, row 2, column grade: 'two' is not a number")


def test_one_person_signing_up_twice_in_one_roster_is_an_error(tmp_path, run_cli):
    folder = write_programme(tmp_path / "p", mentees=MENTEES + "E3,Cat Again,Cat@Example.org,Ops,2\n",
                             mentors=MENTORS + "M3,Cat Mentor,cat@example.org,Eng,6\n")
    message = ("mentees.csv: rows 2 and 4 have the same email cat@example.org (one person signed up twice?): "
               "keep one row, or give each their own address")
    output = assert_clean_failure(run_cli("validate", folder), message)
    assert "mentors.csv" not in output  # the same person may be both a mentor and a mentee
    assert_clean_failure(run_cli("match", folder), message)


def test_an_answer_rosters_values_does_not_cover_is_reported_once(tmp_path, run_cli):
    mentees = ("id,name,email,department,grade,zone\nE1,Cat,cat@example.org,Ops,2,GMT\n"
               "E2,Dan,dan@example.org,Eng,1,Beijing\nE3,Eve,eve@example.org,Eng,1,Beijing\n")
    folder = write_programme(tmp_path / "p", mentees=mentees, extra={"rosters": {
        "mentors": "mentors.csv", "mentees": "mentees.csv", "types": {"zone": "number"},
        "values": {"zone": {"0": ["GMT"], "1": ["CET"]}}}})
    output = assert_clean_failure(run_cli("validate", folder),
                                  "'Beijing' (rows 3, 4) is an answer rosters.values.zone does not cover")
    assert output.count("Error") == 1, output
    assert "is not a number" not in output


def test_numbers_need_no_entry_under_rosters_values(tmp_path, run_cli):
    mentors = "id,name,email,department,grade,capacity\nM1,Ann,ann@example.org,Eng,3,up to 3\nM2,Bo,bo@example.org,Ops,4,2\n"
    folder = write_programme(tmp_path / "p", mentors=mentors, extra={"rosters": {
        "mentors": "mentors.csv", "mentees": "mentees.csv", "values": {"capacity": {"3": ["up to 3"]}}}})
    result = run_cli("validate", folder, "--json")
    assert result.exit_code == 0, result.output
    assert '"mentor_places":5' in result.stdout.replace(" ", "")      # 3 (from "up to 3") + 2
