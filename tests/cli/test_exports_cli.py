"""Real sign-up exports, as coordinators get them: small hand-made copies of Google / Microsoft Forms and HR
extracts (repeated section headings, per-role headings, free-text answers, availability grids, typos), run
through the CLI. Each test asserts the message and exit code, or the field values the rosters end up with."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[2]


def _write(folder: Path, files: dict[str, str], programme: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    base = {"programme": {"name": "Forms"}, "design": {"start_date": "2027-03-01"}}
    (folder / "programme.yaml").write_text(yaml.safe_dump({**base, **programme}, sort_keys=False))
    return folder


def _output(result) -> str:
    return result.stdout + (result.stderr or "")


def _people(folder: Path):
    from mentorctl import load_participants, load_programme

    return load_participants(load_programme(folder))


# ------------------------------------------------------------------------------------------ a fresh clone

def test_external_data_missing_says_where_it_comes_from_in_one_line(tmp_path, run_cli):
    for name in ("ibm-hr", "civil-service", "graduate-peer-2022"):
        folder = tmp_path / "clone" / "programmes" / name  # no ../shared beside this copy
        shutil.copytree(REPO / "programmes" / name, folder)
        for command in ("validate", "match"):
            result = run_cli(command, folder)
            errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
            assert result.exit_code == 2, _output(result)
            assert len(errors) == 1, result.stderr
            assert "not found" in errors[0] and f"{name}/README.md says where this data comes from" in errors[0]
            assert "Traceback" not in _output(result)
        readme = (folder / "README.md").read_text()
        assert "## Where the data comes from" in readme and "## How to get it" in readme


def test_tests_needing_external_data_skip_without_it_and_fail_under_ci(tmp_path):
    test = "tests/unit/test_roster.py::test_hr_extract"
    env = {**os.environ, "MENTORCTL_EXTERNAL": str(tmp_path / "nowhere")}
    env.pop("CI", None)
    skipped = subprocess.run([sys.executable, "-m", "pytest", test, "-rs", "-q", "-p", "no:cacheprovider"],
                             cwd=REPO, env=env, capture_output=True, text=True)
    assert skipped.returncode == 0 and "SKIPPED [1]" in skipped.stdout, skipped.stdout
    assert "needs the external rosters" in skipped.stdout
    ci = subprocess.run([sys.executable, "-m", "pytest", test, "-q", "-p", "no:cacheprovider"],
                        cwd=REPO, env={**env, "CI": "true"}, capture_output=True, text=True)
    assert ci.returncode != 0 and "CI=true but the external rosters are missing" in ci.stdout, ci.stdout


# ------------------------------------------------------------------------------------------ never lose a field

MENTORS = "Name,Email,Max mentees,Department\nAnn Lee,ann@x.org,3,Eng\nBo Ng,bo@x.org,1,Ops\n"
MENTEES = "Name,Email,Department\nCat Day,cat@x.org,Eng\nDan Eve,dan@x.org,Ops\n"


def test_a_mapped_heading_the_file_lacks_is_an_error_with_did_you_mean(tmp_path, run_cli):
    folder = _write(tmp_path / "p", {"mentors.csv": MENTORS, "mentees.csv": MENTEES},
                    {"rosters": {"mentors": "mentors.csv", "mentees": "mentees.csv",
                                 "columns": {"id": "Email", "capacity": "Max mentes"}}})
    result = run_cli("validate", folder)
    assert result.exit_code == 2
    assert ("rosters.columns.capacity: no heading 'Max mentes' in mentors.csv or mentees.csv; "
            "did you mean 'Max mentees' (mentors)?") in result.stderr
    assert "Traceback" not in _output(result)


def test_a_roster_own_mapping_must_be_found_in_its_file(tmp_path, run_cli):
    folder = _write(tmp_path / "p", {"mentors.csv": MENTORS, "mentees.csv": MENTEES},
                    {"rosters": {"mentors": {"path": "mentors.csv", "columns": {"capacity": "Max mentee"}},
                                 "mentees": "mentees.csv", "columns": {"id": "Email"}}})
    result = run_cli("validate", folder)
    assert result.exit_code == 2
    assert "mentors.csv: rosters.mentors.columns.capacity: no heading 'Max mentee' in this file; " \
           "did you mean 'Max mentees'?" in result.stderr


def test_two_fields_from_the_same_column(tmp_path, run_cli):
    folder = _write(tmp_path / "p", {"mentors.csv": MENTORS, "mentees.csv": MENTEES},
                    {"rosters": {"mentors": "mentors.csv", "mentees": "mentees.csv", "columns": {"id": "Name"}}})
    assert run_cli("validate", folder).exit_code == 0
    frame = _people(folder).mentors.frame
    assert frame["id"].tolist() == ["Ann Lee", "Bo Ng"] and frame["name"].tolist() == ["Ann Lee", "Bo Ng"]
    assert frame["email"].tolist() == ["ann@x.org", "bo@x.org"]


def test_unmatched_csv_names_and_emails_the_people_left_out(tmp_path, run_cli):
    mentees = MENTEES + "Fay Gil,fay@x.org,Eng\n"
    folder = _write(tmp_path / "p", {"mentors.csv": MENTORS.replace(",3,", ",1,"), "mentees.csv": mentees},
                    {"rosters": {"mentors": "mentors.csv", "mentees": "mentees.csv",
                                 "columns": {"id": "Email", "capacity": "Max mentees"}}})
    assert run_cli("match", folder).exit_code == 0
    unmatched = pd.read_csv(folder / "out" / "unmatched.csv", dtype=str)
    assert list(unmatched.columns[:5]) == ["participant_id", "name", "email", "role", "reason"]
    row = unmatched[unmatched["role"] == "mentee"].iloc[0]
    assert row["email"] == row["participant_id"] and row["name"] in ("Cat Day", "Dan Eve", "Fay Gil")


# A Google Form with one section per role: the same questions repeat (Sheets keeps the headings as they are),
# mentors and mentees answer different sections, and the time question has free-text "Other" answers.
FORM = (
    "Timestamp,Email Address,Your name,Are you a mentor or a mentee?,"
    "Which areas do you work in?,How much time can you give each month?,"
    "Which areas do you work in?,How much time can you give each month?,"
    "How many mentees could you take on at most (please be realistic)?,How many mentors would you like?\n"
    "2027/01/04 10:00,ann@x.org,Ann Lee,Mentor,Robotics;Controls,3-5 hours,,,2,\n"
    "2027/01/04 10:05,bo@x.org,Bo Ng,Mentor,Fluids,Any,,,1,\n"
    "2027/01/04 10:07,cat@x.org,Cat Day,Mentee,,,Robotics,1-2 hours,,2\n"
    "2027/01/04 10:09,dan@x.org,Dan Eve,Mentee,,,Fluids;Controls,I am open to any amount of time,,\n"
)


def _form_programme(tmp_path: Path, **rosters) -> Path:
    spec = {"participants": "form.csv", "role_column": "Are you a mentor or a mentee?",
            "columns": {"id": "Email Address", "name": "Your name",
                        "areas": {"first_non_empty": ["Which areas do you work in?", "Which areas do you work in?_2"]},
                        "time": {"first_non_empty": ["How much time can you give each month?",
                                                     "How much time can you give each month?_2"]},
                        "capacity": "How many mentees could you take on at most (please be realistic)?",
                        "mentors_wanted": "How many mentors would you like?"},
            "values": {"time": {"1-2 hours": [], "3-5 hours": [], "6+ hours": ["Any", "I am open to any amount of time"]}},
            "ranks": {"time": ["1-2 hours", "3-5 hours", "6+ hours"]}, **rosters}
    return _write(tmp_path / "form", {"form.csv": FORM},
                  {"rosters": spec, "matching": {"mentor_capacity": 1, "scoring": [
                      {"name": "areas", "expr": "overlap(mentor.areas, mentee.areas)"},
                      {"name": "time", "expr": "mentor.time_rank >= mentee.time_rank"}]}})


def test_repeated_section_headings_merge_as_first_non_empty_and_answers_map_to_ranked_values(tmp_path, run_cli):
    folder = _form_programme(tmp_path)
    result = run_cli("validate", folder)
    assert result.exit_code == 0, _output(result)
    people = _people(folder)
    mentors, mentees = people.mentors.frame, people.mentees.frame
    assert mentors["areas"].tolist() == ["Robotics;Controls", "Fluids"]
    assert mentees["areas"].tolist() == ["Robotics", "Fluids;Controls"]
    assert mentors["time"].tolist() == ["3-5 hours", "6+ hours"] and mentors["time_rank"].tolist() == [2.0, 3.0]
    assert mentees["time"].tolist() == ["1-2 hours", "6+ hours"] and mentees["time_rank"].tolist() == [1.0, 3.0]
    assert mentors["capacity"].tolist() == [2.0, 1.0]


def test_copies_of_a_repeated_heading_are_reachable_as_2(tmp_path, run_cli):
    folder = _form_programme(tmp_path)
    spec = yaml.safe_load((folder / "programme.yaml").read_text())
    spec["rosters"]["columns"]["mentee_areas"] = "Which areas do you work in?_2"
    (folder / "programme.yaml").write_text(yaml.safe_dump(spec))
    assert run_cli("validate", folder).exit_code == 0
    assert _people(folder).mentees.frame["mentee_areas"].tolist() == ["Robotics", "Fluids;Controls"]


def test_an_answer_no_value_mapping_covers_is_listed_once_with_its_rows(tmp_path, run_cli):
    folder = _form_programme(tmp_path)
    text = (folder / "form.csv").read_text().replace("Any,", "Whenever,").replace("1-2 hours,", "Whenever,")
    (folder / "form.csv").write_text(text)
    result = run_cli("validate", folder)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if "Whenever" in line]
    assert len(lines) == 1, result.stderr
    assert "form.csv, row 3, column" in lines[0] and "'Whenever' (rows 3, 4) is an answer rosters.values.time " \
        "does not cover; list it under one of '1-2 hours', '3-5 hours', '6+ hours'" in lines[0]


def test_mentors_wanted_column_overrides_mentors_per_mentee(tmp_path, run_cli):
    folder = _form_programme(tmp_path)
    result = run_cli("match", folder)
    assert result.exit_code == 0, _output(result)
    pairs = pd.read_csv(folder / "out" / "matches.csv", dtype=str)
    assert sorted(pairs.loc[pairs["mentee_id"] == "cat@x.org", "mentor_id"]) == ["ann@x.org", "bo@x.org"]
    assert len(pairs[pairs["mentee_id"] == "dan@x.org"]) == 1  # empty: matching.mentors_per_mentee (1)
    spec = yaml.safe_load((folder / "programme.yaml").read_text())
    spec["rosters"]["columns"]["capacity"] = "Timestamp"  # no capacity column: 1 each, so Cat gets one of two
    spec["rosters"]["columns"]["when"] = "Timestamp"
    del spec["rosters"]["columns"]["capacity"]
    (folder / "programme.yaml").write_text(yaml.safe_dump(spec))
    assert run_cli("match", folder, "--force").exit_code == 0
    unmatched = pd.read_csv(folder / "out" / "unmatched.csv", dtype=str)
    cat = unmatched[unmatched["participant_id"] == "cat@x.org"]
    assert cat["reason"].iloc[0].startswith("only 1 of 2 mentors")


def test_per_role_columns_types_ranks_and_separators(tmp_path, run_cli):
    mentors = ("Staff email,Full name,Seniority,Skills,Joined\nann@x.org,Ann Lee,3,python/sql,2020-01-06\n"
               "bo@x.org,Bo Ng,1,r,2021-02-01\n")
    mentees = "E-mail address,Student,Year of study,Wants to learn\ncat@x.org,Cat Day,Final year,Python; R\n"
    folder = _write(tmp_path / "p", {"mentors.csv": mentors, "mentees.csv": mentees}, {"rosters": {
        "mentors": {"path": "mentors.csv", "columns": {"id": "Staff email", "level": "Seniority", "skills": "Skills",
                                                       "joined": "Joined"},
                    "types": {"joined": "date"}, "list_separators": {"skills": "/"}},
        "mentees": {"path": "mentees.csv",
                    "columns": {"id": "E-mail address", "name": "Student", "level": "Year of study",
                                "skills": "Wants to learn"},
                    "values": {"level": {"3": ["Final year"], "1": ["First year"]}}},
        "ranks": {"level": [1, 2, 3]}},
        "matching": {"eligibility": ["mentor.level_rank >= mentee.level_rank"],
                     "scoring": [{"name": "skills", "expr": "overlap(mentor.skills, mentee.skills)"}]}})
    result = run_cli("match", folder)
    assert result.exit_code == 0, _output(result)
    people = _people(folder)
    assert people.mentors.frame["skills"].tolist() == ["python;sql", "r"]  # read with "/", kept with ";"
    assert people.mentors.types["joined"].value == "date" and "joined" not in people.mentees.types
    assert people.mentors.frame["level"].tolist() == ["3", "1"]  # numbers on one roster, text on the other
    assert people.mentees.frame["level"].tolist() == ["3"] and people.mentees.frame["level_rank"].tolist() == [3.0]
    pairs = pd.read_csv(folder / "out" / "matches.csv", dtype=str)
    assert pairs[["mentee_id", "mentor_id", "skills"]].values.tolist() == [["cat@x.org", "ann@x.org", "1.0"]]


def _grid_form(slots: int) -> str:
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    headings = [f"When are you free? [{days[s // 24]} {s % 24:02d}:00]" for s in range(slots)]
    lines = ["id,name,role," + ",".join(headings)]
    people = [("M1", "Ann", "Mentor", {0, 1, 2, 30}), ("M2", "Bo", "Mentor", {100, 101}),
              ("E1", "Cat", "Mentee", {1, 2, 3}), ("E2", "Dan", "Mentee", {100, 101, 102})]
    for pid, name, role, free in people:
        lines.append(f"{pid},{name},{role}," + ",".join("1" if s in free else "0" for s in range(slots)))
    return "\n".join(lines) + "\n"


def test_availability_grid_of_168_columns_is_one_list_field(tmp_path, run_cli):
    import warnings

    folder = _write(tmp_path / "grid", {"form.csv": _grid_form(168)}, {"rosters": {
        "participants": "form.csv", "role_column": "role",
        "columns": {"availability": {"list": "When are you free? [*]"}}},
        "matching": {"mentor_capacity": 1, "eligibility": ["overlap(mentor.availability, mentee.availability) >= 2"]}})
    result = run_cli("match", folder)
    assert result.exit_code == 0, _output(result)
    assert "Warning" not in result.stderr
    with warnings.catch_warnings(record=True) as caught:  # the reader itself makes none (pandas', for one)
        warnings.simplefilter("always")
        people = _people(folder)
    assert not caught, [str(w.message) for w in caught]
    assert people.mentors.frame["availability"].tolist()[0] == "Mon 00:00;Mon 01:00;Mon 02:00;Tue 06:00"
    assert sorted(people.mentors.fields) == ["availability", "id", "name", "role"]  # 168 columns, one field
    pairs = pd.read_csv(folder / "out" / "matches.csv", dtype=str)
    assert sorted(zip(pairs["mentee_id"], pairs["mentor_id"], strict=True)) == [("E1", "M1"), ("E2", "M2")]


def test_a_grid_pattern_that_fits_no_heading_is_an_error(tmp_path, run_cli):
    folder = _write(tmp_path / "grid", {"form.csv": _grid_form(3)}, {"rosters": {
        "participants": "form.csv", "role_column": "role",
        "columns": {"availability": {"list": "When are you available? [*]"}}}})
    result = run_cli("validate", folder)
    assert result.exit_code == 2
    assert "rosters.columns.availability: no heading fits the pattern 'When are you available? [*]'" in result.stderr


def test_long_headings_are_short_in_the_terminal_and_full_in_json(tmp_path, run_cli):
    long = "If you have a preference for the mentor's department please tell us which one and why it matters"
    mentors = f"id,name,{long}\nM1,Ann,Eng\n"
    mentees = f"id,name,{long}\nE1,Cat,Eng\nE2,Dan,Ops\n"
    folder = _write(tmp_path / "p", {"mentors.csv": mentors, "mentees.csv": mentees}, {"rosters": {
        "mentors": "mentors.csv", "mentees": "mentees.csv",
        "columns": {"dept": long}, "ranks": {"dept": ["Eng", "Sales"]}}})
    result = run_cli("validate", folder)
    assert result.exit_code == 2
    line = next(line for line in result.stderr.splitlines() if "'Ops'" in line)
    assert "column If you have a preference for the mentor's depar…: 'Ops'" in line and long not in line
    report = json.loads(run_cli("validate", folder, "--json").stdout)
    assert any(e["column"] == long and "'Ops'" in e["message"] for e in report["errors"])


# ------------------------------------------------------------------------------------------ references

REF_MENTORS = ("id,name,email,dept\nPYP2XP,Christiana Buckner,cb@x.org,Eng\nM001,Felicity Vo,fv@x.org,Ops\n"
               "K9QZ3T,Sam Hill,sh1@x.org,Eng\nK8QZ3T,Sam Hill,sh2@x.org,Ops\n")
REF_MENTEES = ("id,name,email,dept,preferred mentors,not wanted\n"
               "Hvf5hy,Ann Lee,al@x.org,Eng,christian buckner; m001,\n"
               "E2,Bo Ng,bn@x.org,Ops,  felicity VO ,PYP2XP\n"
               "E3,Cat Day,cd@x.org,Eng,Sam Hill,\n")


def _reference_programme(tmp_path: Path, **matching) -> Path:
    return _write(tmp_path / "refs", {"mentors.csv": REF_MENTORS, "mentees.csv": REF_MENTEES}, {
        "rosters": {"mentors": "mentors.csv", "mentees": "mentees.csv"},
        "matching": {"mentor_capacity": 1, "eligibility": ["mentor.id not in mentee.not_wanted"],
                     "scoring": [{"name": "choice", "expr": "preference(mentee.preferred_mentors, mentor.id)",
                                  "weight": 10}], **matching}})


def test_preferences_by_name_resolve_and_a_typo_or_ambiguous_name_is_a_warning(tmp_path, run_cli):
    folder = _reference_programme(tmp_path)
    result = run_cli("validate", folder)
    assert result.exit_code == 0, _output(result)
    assert ("mentees.csv, row 2, column preferred mentors: 'christian buckner' matches no mentor (did you mean "
            "'Christiana Buckner'?): this item of preferred_mentors counts for nobody") in result.stderr
    assert "row 4, column preferred mentors: 'Sam Hill' is the name of 2 mentors (K9QZ3T, K8QZ3T); use the id" \
        in result.stderr
    mentees = _people(folder).mentees.frame.set_index("id")
    assert mentees.loc["Hvf5hy", "preferred_mentors"] == "christian buckner;M001"  # by id, any case
    assert mentees.loc["E2", "preferred_mentors"] == "M001"  # by name, any case and spacing
    result = run_cli("match", folder)
    assert result.exit_code == 0 and "did you mean 'Christiana Buckner'" in result.stderr
    pairs = pd.read_csv(folder / "out" / "matches.csv", dtype=str).set_index("mentee_id")
    assert pairs.loc["E2", "mentor_id"] == "M001" and float(pairs.loc["E2", "choice"]) == 10.0


def test_history_in_other_case_still_stops_the_pair_and_typos_are_warnings(tmp_path, run_cli):
    folder = _reference_programme(tmp_path, history=["last-year.csv"], forbidden="forbidden.csv",
                                  scoring=[{"name": "same", "expr": "mentor.dept == mentee.dept", "weight": 5}])
    (folder / "last-year.csv").write_text("mentor_id,mentee_id\npyp2xp, HVF5HY\nM0O1,E9\n")
    (folder / "forbidden.csv").write_text("Mentor,Mentee\nk9qz3t,e3\nK9QZ3X,E3\n")
    result = run_cli("validate", folder)
    assert result.exit_code == 0, _output(result)
    assert "matching.history (last-year.csv): 1 mentor reference(s) match nobody, so their rows are ignored: " \
        "'M0O1' matches no mentor (did you mean 'M001'?) (row 3)" in result.stderr
    assert "matching.forbidden (forbidden.csv): 1 mentor reference(s) match nobody" in result.stderr
    assert "'K9QZ3X' matches no mentor (did you mean 'K9QZ3T'?)" in result.stderr
    assert run_cli("match", folder).exit_code == 0
    pairs = pd.read_csv(folder / "out" / "matches.csv", dtype=str).set_index("mentee_id")
    assert pairs.loc["Hvf5hy", "mentor_id"] != "PYP2XP"  # last year's pair, written in other case
    assert pairs.loc["E3", "mentor_id"] != "K9QZ3T"      # forbidden, in lower case


def test_a_pin_or_kept_pair_naming_nobody_is_an_error_and_any_case_works(tmp_path, run_cli):
    folder = _reference_programme(tmp_path, pinned="pins.csv")
    (folder / "pins.csv").write_text("mentor_id,mentee_id\nM0O1,hvf5hy\n")
    result = run_cli("match", folder)
    assert result.exit_code == 2
    assert "pins.csv, row 2, column mentor_id: matching.pinned: 'M0O1' is not on the mentor roster (did you mean " \
        "'M001'?)" in result.stderr
    (folder / "pins.csv").write_text("mentor_id,mentee_id\n m001 ,hvf5hy\n")
    assert run_cli("match", folder).exit_code == 0
    pairs = pd.read_csv(folder / "out" / "matches.csv", dtype=str).set_index("mentee_id")
    assert pairs.loc["Hvf5hy", "mentor_id"] == "M001"
    (folder / "keep.csv").write_text("mentor_id,mentee_id\nfelicity vo,bo ng\nSam Hil,E3\n")
    result = run_cli("match", folder, "--keep", folder / "keep.csv", "--force")
    assert result.exit_code == 2 and "'Sam Hil' is not on the mentor roster" in result.stderr


def test_an_edited_matches_file_and_activity_refer_to_people_in_any_case(tmp_path, run_cli):
    folder = _reference_programme(tmp_path)
    spec = yaml.safe_load((folder / "programme.yaml").read_text())
    spec["reporting"] = {"activity": [{"path": "activity.csv"}], "survey": {"path": "survey.csv"}}
    (folder / "programme.yaml").write_text(yaml.safe_dump(spec))
    (folder / "out").mkdir()
    (folder / "out" / "matches.csv").write_text("mentee_id,mentor_id\nhvf5hy,pyp2xp\nE2 , m001\n")
    (folder / "activity.csv").write_text(
        "timestamp,event,mentor_id,mentee_id,duration_minutes\n2027-03-02 10:00,session,felicity vo,e2,60\n"
        "2027-03-03 10:00,session,Felicty Vo,E2,30\n")
    (folder / "survey.csv").write_text("participant_id,satisfaction\nANN LEE,5\n")
    result = run_cli("validate", folder)
    assert result.exit_code == 0, _output(result)
    assert "activity.csv, column mentor_id: 1 mentor_id value(s) match nobody on the rosters, so their rows are " \
        "not counted: 'Felicty Vo' matches no mentor (did you mean 'Felicity Vo'?) (row 3)" in result.stderr
    from mentorctl import load_programme
    from mentorctl.activity import load_activity, read_survey
    from mentorctl.matches import read_matches

    programme, people = load_programme(folder), _people(folder)
    pairs = read_matches(programme, participants=people)
    assert pairs[["mentee_id", "mentor_id"]].values.tolist() == [["Hvf5hy", "PYP2XP"], ["E2", "M001"]]
    events = load_activity(programme, participants=people).frame
    assert events[["mentor_id", "mentee_id"]].values.tolist()[0] == ["M001", "E2"]
    assert read_survey(programme, participants=people).frame["participant_id"].tolist() == ["Hvf5hy"]
    assert run_cli("report", folder).exit_code == 0
    report = json.loads((folder / "out" / "report.json").read_text())
    assert report["kpis"]["sessions_held"] == 1  # "Felicty Vo" matches nobody: not counted
