"""roster.py: column mapping, snake_case fields, types, roles in one sheet, and the real external rosters."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mentorctl import RosterError, load_participants, load_programme
from mentorctl.programme import MentoringType
from mentorctl.roster import snake_case, split_list

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("heading", "field"), [("Job Level", "job_level"), ("JobLevel", "job_level"),
                                                ("EmployeeNumber", "employee_number"), ("job-level", "job_level"),
                                                ("What year are you?", "what_year_are_you"), ("2nd site", "f_2nd_site")])
def test_snake_case(heading, field):
    assert snake_case(heading) == field


def test_split_list_trims_and_drops_empty():
    assert split_list(" a; b ;;c ") == ["a", "b", "c"]
    assert split_list(None) == [] and split_list(float("nan")) == []
    assert split_list("x, y", ",") == ["x", "y"]


def _programme(folder: Path, rosters: dict, **extra) -> Path:
    data = {"programme": {"name": "T"}, "design": {"start_date": "2027-01-04"}, "rosters": rosters, **extra}
    (folder / "programme.yaml").write_text(yaml.safe_dump(data))
    return folder


def test_columns_mapping_is_case_and_space_insensitive_and_joins_names(tmp_path):
    (tmp_path / "m.csv").write_text("Staff No,First Name,Last Name,Work Email,Job Level\nA1,Ann,Lee,ann@x.org,3\n")
    (tmp_path / "e.csv").write_text("staff_no,first name,last name,work email,JobLevel\nB1,Bo,Ng,bo@x.org,1\n")
    _programme(tmp_path, {"mentors": "m.csv", "mentees": "e.csv",
                          "columns": {"id": "staff no", "name": ["first name", "last name"], "email": "WORK EMAIL"}})
    people = load_participants(load_programme(tmp_path))
    mentor = people.mentors.frame.iloc[0]
    assert (mentor["id"], mentor["name"], mentor["email"], mentor["job_level"]) == ("A1", "Ann Lee", "ann@x.org", 3.0)
    assert people.mentees.frame.iloc[0]["job_level"] == 1.0
    assert people.mentors.row_of(0) == 2


def test_one_sheet_with_both_roles(tmp_path):
    (tmp_path / "all.csv").write_text("id,name,Role\n1,A,Mentor\n2,B,mentee \n3,C,Mentee\n4,D,Observer\n")
    _programme(tmp_path, {"participants": "all.csv", "role_column": "Role"})
    people = load_participants(load_programme(tmp_path))
    assert people.mentors.frame["id"].tolist() == ["1"]
    assert people.mentees.frame["id"].tolist() == ["2", "3"]
    assert any("'Observer' is neither" in str(w) for w in people.warnings)


def test_peer_programme_has_one_roster_for_both_sides(tmp_path):
    (tmp_path / "p.csv").write_text("id,name\n1,A\n2,B\n")
    _programme(tmp_path, {"participants": "p.csv"}, design={"start_date": "2027-01-04", "type": "peer"})
    programme = load_programme(tmp_path)
    assert programme.design.type is MentoringType.PEER
    people = load_participants(programme)
    assert people.mentors is people.mentees is people.participants


def test_ranks_add_a_numeric_rank_field(tmp_path):
    (tmp_path / "m.csv").write_text("id,name,grade\n1,A,SEO\n2,B,AA\n")
    (tmp_path / "e.csv").write_text("id,name,grade\n3,C,EO\n4,D,Chief\n")
    _programme(tmp_path, {"mentors": "m.csv", "mentees": "e.csv", "ranks": {"grade": ["AA", "AO", "EO", "HEO", "SEO"]}})
    with pytest.raises(RosterError) as error:
        load_participants(load_programme(tmp_path))
    assert "e.csv, row 3, column grade: 'Chief' is not one of the values" in str(error.value)
    (tmp_path / "e.csv").write_text("id,name,grade\n3,C,EO\n")
    people = load_participants(load_programme(tmp_path))
    assert people.mentors.frame["grade_rank"].tolist() == [5.0, 1.0]
    assert people.mentees.frame["grade"].tolist() == ["EO"]


def test_graduate_form_export(external_programme):
    programme = load_programme(external_programme("graduate-peer-2022"))
    people = load_participants(programme)
    assert len(people.mentors) == 14 and len(people.mentees) == 19
    assert people.mentors.frame["capacity"].sum() == 27
    assert "Robotics" in split_list(people.mentors.frame["subdisciplines"].iloc[0], ",")
    assert "5+" in people.mentors.frame["year"].tolist()
    assert any("is not an email address" in str(w) for w in people.warnings)
    with pytest.raises(RosterError, match="is not an email address"):
        load_participants(programme, require_email=True)


def test_hr_extract(external_programme):
    people = load_participants(load_programme(external_programme("ibm-hr")))
    assert len(people.mentors) == 1470
    first = people.mentees.frame.iloc[0]
    assert first["id"] == "1" and first["name"] == "Sales Executive 1" and first["job_level"] == 2.0


def test_civil_service_rosters(external_programme):
    people = load_participants(load_programme(external_programme("civil-service")))
    assert len(people.mentors) == 500 and len(people.mentees) == 500
    mentee = people.mentees.frame.iloc[0]
    assert mentee["id"] == "mentee.000@gov.uk" and mentee["name"] == "mentee 000" and mentee["grade_rank"] == 1.0


def test_messy_cells_title_rows_and_duplicate_headings(tmp_path):
    (tmp_path / "m.csv").write_text('Mentor roster 2027,,\n\nid,name,dept,dept\nM1,"Ann\nLee",Eng,Ops\nM2,Bo\x0bNg,Ops,Eng\n')
    (tmp_path / "e.csv").write_text("id,name\nE1,Cat\n")
    _programme(tmp_path, {"mentors": "m.csv", "mentees": "e.csv"})
    people = load_participants(load_programme(tmp_path))
    frame = people.mentors.frame
    assert frame["name"].tolist() == ["Ann Lee", "Bo Ng"]
    assert frame["dept_2"].tolist() == ["Ops", "Eng"] and frame["_row"].tolist() == [4, 5]
    messages = " ".join(str(w) for w in people.warnings)
    assert "above the column headings were skipped" in messages and "heading 'dept' appears 2 times" in messages \
        and "read as fields dept, dept_2" in messages and "{first_non_empty: ['dept', 'dept_2']}" in messages


def test_first_visible_excel_sheet_is_read(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    hidden = book.active
    hidden.title = "Lookup"
    hidden.sheet_state = "hidden"
    visible = book.create_sheet("Mentees")
    visible.append(["id", "name"])
    visible.append(["E1", "Cat"])
    book.save(tmp_path / "e.xlsx")
    (tmp_path / "m.csv").write_text("id,name\nM1,Ann\n")
    _programme(tmp_path, {"mentors": "m.csv", "mentees": "e.xlsx"})
    assert load_participants(load_programme(tmp_path)).mentees.frame["id"].tolist() == ["E1"]


def test_numeric_ranks(tmp_path):
    (tmp_path / "m.csv").write_text("id,name,band\n1,A,3\n2,B,1\n")
    (tmp_path / "e.csv").write_text("id,name,band\n3,C,2\n")
    _programme(tmp_path, {"mentors": "m.csv", "mentees": "e.csv", "ranks": {"band": [1, 2, 3]}})
    people = load_participants(load_programme(tmp_path))
    assert people.mentors.frame["band_rank"].tolist() == [3.0, 1.0]


def test_numbers_written_with_one_unit_are_read_as_numbers_with_a_warning(tmp_path):
    (tmp_path / "m.csv").write_text("id,name,email,years,capacity\nA1,Ann,a@x.org,3 years,2 mentees\n"
                                    "A2,Bo,b@x.org,12 yrs,1\nA3,Cy,c@x.org,4 year(s),1\nA4,Di,d@x.org,7,1\n"
                                    "A5,Ed,e@x.org,10+ years,1\n")
    (tmp_path / "e.csv").write_text("id,name,email,tenure\nB1,Eve,e1@x.org,3 years\nB2,Fay,e2@x.org,6 months\n")
    _programme(tmp_path, {"mentors": "m.csv", "mentees": "e.csv"})
    people = load_participants(load_programme(tmp_path))
    assert people.mentors.frame["years"].tolist() == [3.0, 12.0, 4.0, 7.0, 10.0]
    assert people.mentors.frame["capacity"].tolist() == [2, 1, 1, 1, 1]
    messages = [str(w) for w in people.warnings]
    assert "m.csv, row 2, column years: '3 years' and 3 more cell(s) read as the number without its unit; " \
           "write plain numbers to silence this" in messages
    assert people.mentees.frame["tenure"].tolist() == ["3 years", "6 months"]   # two units: left as text
