"""matches.py: the matches file is read as leniently as a roster, because coordinators edit it in Excel."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook

from mentorctl import RosterError, load_participants, load_programme
from mentorctl.matches import read_matches

HEADER = "mentee_id,mentee_name,mentee_email,mentor_id,mentor_name,mentor_email,score\n"
ROWS = "E1,Zoé Mentee,zoe@example.org,M1,Ann Mentor,ann@example.org,3\nE2,Dan,dan@example.org,M1,Ann Mentor,ann@example.org,\n"


@pytest.fixture
def programme(tmp_path: Path):
    (tmp_path / "mentors.csv").write_text("id,name\nM1,Ann Mentor\n")
    (tmp_path / "mentees.csv").write_text("id,name\nE1,Zoé Mentee\nE2,Dan\n")
    (tmp_path / "programme.yaml").write_text(yaml.safe_dump({
        "programme": {"name": "T"}, "design": {"start_date": "2027-01-04"},
        "rosters": {"mentors": "mentors.csv", "mentees": "mentees.csv"}}))
    return load_programme(tmp_path)


def _check(frame):
    assert frame["mentee_id"].tolist() == ["E1", "E2"] and frame["mentor_id"].tolist() == ["M1", "M1"]
    assert frame["mentee_name"].iloc[0] == "Zoé Mentee"
    assert frame["score"].iloc[0] == 3 and frame["score"].isna().iloc[1]


@pytest.mark.parametrize("variant", ["plain", "semicolons", "cp1252", "trailing_commas", "bom"])
def test_csv_as_excel_saves_it(programme, tmp_path, variant):
    text = HEADER + ROWS
    if variant == "semicolons":
        text = text.replace(",", ";")
    if variant == "trailing_commas":
        text = "".join(line + ",\n" for line in text.splitlines())
    data = text.encode("cp1252" if variant == "cp1252" else "utf-8")
    if variant == "bom":
        data = b"\xef\xbb\xbf" + data
    (tmp_path / "matches.csv").write_bytes(data)
    _check(read_matches(programme, tmp_path / "matches.csv", load_participants(programme)))


def test_xlsx_matches(programme, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Matches"
    for line in (HEADER + ROWS).splitlines():
        sheet.append([int(c) if c.isdigit() else (c or None) for c in line.split(",")])
    book.save(tmp_path / "matches.xlsx")
    _check(read_matches(programme, tmp_path / "matches.xlsx"))


def test_unknown_id_names_row_and_column(programme, tmp_path):
    (tmp_path / "matches.csv").write_text(HEADER + ROWS.replace("M1,Ann Mentor,ann@example.org,3", "M9,X,x@example.org,3"))
    with pytest.raises(RosterError) as error:
        read_matches(programme, tmp_path / "matches.csv", load_participants(programme))
    assert "row 2, column mentor_id" in str(error.value) and "'M9' is not on the mentor roster" in str(error.value)


def test_missing_columns_are_listed(programme, tmp_path):
    (tmp_path / "matches.csv").write_text("mentee,mentor\nE1,M1\n")
    with pytest.raises(RosterError, match="missing column.*mentee_id, mentor_id; columns found: mentee, mentor"):
        read_matches(programme, tmp_path / "matches.csv")
