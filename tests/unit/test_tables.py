"""tables.py: the one reader of CSV and Excel files (encodings, delimiters, title rows, headings, row numbers,
which files are accepted), and the same reading through every module that reads a table."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from mentorctl import tables
from mentorctl.tables import (
    REFUSED_SUFFIXES,
    TableError,
    field_name,
    normalise_heading,
    read_table,
    refused_format,
    split_sheet,
    unique_headings,
)


def _cells(table: tables.Table) -> list[list[str | None]]:
    return table.frame.to_numpy(dtype=object).tolist()


# ------------------------------------------------------------------------------------------------ headings


def test_normalise_heading_ignores_case_spaces_underscores_and_hyphens():
    assert normalise_heading(" Work_E-mail  Address ") == normalise_heading("workemailaddress") == "workemailaddress"
    assert normalise_heading("Job Level") != normalise_heading("Job Levels")


@pytest.mark.parametrize(("heading", "field"), [("Job Level", "job_level"), ("JobLevel", "job_level"),
                                                ("job-level", "job_level"), ("2nd site", "f_2nd_site"), ("?", "column")])
def test_field_name(heading, field):
    assert field_name(heading) == field


def test_unique_headings_numbers_repeats_and_names_empty_headings():
    assert unique_headings(["id", "Dept", "dept ", "", "DEPT"]) == ["id", "Dept", "dept _2", "column_4", "DEPT_3"]


def test_split_sheet():
    assert split_sheet("signup.xlsx#Form Responses 1") == ("signup.xlsx", "Form Responses 1")
    assert split_sheet("mentees.csv") == ("mentees.csv", None)
    assert split_sheet("book.xlsx#") == ("book.xlsx", None)


# ------------------------------------------------------------------------------------------------ CSV


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(tmp_path, delimiter):
    path = tmp_path / "t.csv"
    path.write_text(delimiter.join(["id", "name", "dept"]) + "\n" + delimiter.join(["E1", "Ann Lee", "Ops"]) + "\n")
    table = read_table(path)
    assert table.headings == ("id", "name", "dept") and _cells(table) == [["E1", "Ann Lee", "Ops"]]


@pytest.mark.parametrize(("data", "encoding", "noted"), [
    ("id,name\nE1,Zoë\n".encode(), "utf-8-sig", False),
    (b"\xef\xbb\xbf" + "id,name\nE1,Zoë\n".encode(), "utf-8-sig", False),
    ("id,name\nE1,Zoë\n".encode("cp1252"), "cp1252", True),
    (b"id,name\nE1,Zo\x81\xeb\n", "latin-1", True),             # 0x81 is no cp1252 character
])
def test_encodings_with_a_note_when_not_utf8(tmp_path, data, encoding, noted):
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    table = read_table(path)
    assert table.encoding == encoding and table.headings == ("id", "name")
    assert _cells(table)[0][1].startswith("Zo")
    if noted:
        assert table.encoding_note == f"t.csv is not UTF-8; it was read as {encoding} (Windows/Latin-1): check " \
            "accented names look right, or save it as 'CSV UTF-8'"
        assert [n.level for n in table.notes] == ["warning"] and table.note_lines() == [table.encoding_note]
    else:
        assert table.encoding_note is None and not table.notes


def test_utf16_is_refused_but_a_stray_nul_is_dropped(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("id,name\nE1,Ann\n".encode("utf-16"))
    with pytest.raises(TableError, match="contains NUL bytes: it may be UTF-16; save it as 'CSV UTF-8'"):
        read_table(path)
    path.write_bytes(b"id,name\nE1,An\x00n\n")
    assert _cells(read_table(path)) == [["E1", "Ann"]]


def test_title_rows_are_skipped_with_a_note_and_rows_keep_their_spreadsheet_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("Mentor roster 2027,,\n\nid,name,dept\nM1,Ann,Eng\n\n,,\nM2,Bo,Ops\n")
    table = read_table(path)
    assert table.headings == ("id", "name", "dept")
    assert _cells(table) == [["M1", "Ann", "Eng"], ["M2", "Bo", "Ops"]]  # blank rows left out ...
    assert table.rows.tolist() == [4, 7]                                 # ... but counted
    assert table.note_lines() == ["t.csv: row(s) 1 above the column headings were skipped (a title?); the "
                                  "headings are on row 3"]


def test_row_numbers_count_records_not_lines_when_a_cell_holds_a_line_break(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('id,name,address\nM1,Ann,"1 High St\nLeeds"\n\nM2,Bo,x\n')
    table = read_table(path)
    assert table.rows.tolist() == [2, 4] and _cells(table)[0] == ["M1", "Ann", "1 High St Leeds"]


def test_cells_are_clean_text_or_none(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("id,name,note\n  E1 ,\xa0Ann\tLee\xa0, \x01 x\x0by \nE2,,\n".encode())
    assert _cells(read_table(path)) == [["E1", "Ann Lee", "x y"], ["E2", None, None]]


def test_extra_cells_are_ignored_with_a_warning_naming_the_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,name,\nE1,Ann,,\nE2,Bo,Ops,x\n")
    table = read_table(path)
    assert table.headings == ("id", "name") and _cells(table) == [["E1", "Ann"], ["E2", "Bo"]]
    assert table.note_lines() == ["t.csv, row 3: has 4 cells but the header has 2; extra cells ignored (a stray "
                                  "delimiter or unquoted comma?)"]


def test_a_quote_that_swallows_rows_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('id,name,dept\nE1,"Ann,Eng\nE2,Bo,Ops\nE3,Cy,Ops\nE4,Di,Eng\n')
    with pytest.raises(TableError, match="the quote that opens in column 'name'"):
        read_table(path)


@pytest.mark.parametrize("text", [
    "id,name\nE1,Ann\nE2,Bo\n",
    "Title\n\nid,name,dept\nE1,Ann,Eng\nE2,,Ops,\n\n",
    'id,name\r\n"E1","Ann ""A"" Lee"\r\nE2, Bo \r\n',
    'id,name,address\nE1,Ann,"a\nb"\nE2,Bo,c\n',
    "id;name\nE1;Ann\tLee\nE2;\x7fBo\n",
    "id,name\nE1,Ann,extra\nE2\n",
    "id,name\nE1,Ann",
    'id\tname\tdept\nE1\t"Ann\tLee"\tOps\n',                 # a tab inside a quoted cell of a tab-separated file
    'id,name\r"E1","Ann"\r',                                 # old Mac line ends
])
def test_the_fast_reading_is_the_csv_modules_reading(tmp_path, monkeypatch, text):
    """pandas' C parser reads files of one-line records; the csv module reads the rest: the same table."""
    path = tmp_path / "t.csv"
    path.write_text(text)
    fast = read_table(path)
    monkeypatch.setattr(tables, "_fast_grid", lambda *_: None)
    slow = read_table(path)
    assert fast.headings == slow.headings and _cells(fast) == _cells(slow)
    assert fast.rows.tolist() == slow.rows.tolist() and fast.note_lines() == slow.note_lines()


def test_empty_file_is_a_table_without_headings(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("\n \n")
    table = read_table(path)
    assert table.headings == () and len(table) == 0


def test_find_a_column_by_its_heading(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("Mentee ID,Mentor-ID,Mentor ID\nE1,M1,M2\n")
    table = read_table(path)
    assert table.find("mentee_id") == "Mentee ID" and table.find("mentor id") == "Mentor-ID"
    assert table.find("Mentor ID_2") == "Mentor ID_2" and table.find("score") is None


# ------------------------------------------------------------------------------------------------ Excel


def _workbook(path: Path, sheets: dict[str, list[list]], hidden: tuple[str, ...] = ()) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        if title in hidden:
            sheet.sheet_state = "hidden"
    book.save(path)
    return path


def test_excel_first_visible_sheet_named_sheet_and_cell_types(tmp_path):
    path = _workbook(tmp_path / "b.xlsx", {
        "Lookup": [["x"]],
        "Mentees": [["Signup form"], [], ["id", "n", "when", "day", "ok"],
                    ["E1", 3.0, datetime(2027, 1, 2, 9, 30), date(2027, 1, 3), True], [], ["E2", 2.5, None, None, False]],
        "Other": [["id"], ["X1"]]}, hidden=("Lookup",))
    table = read_table(path)
    assert table.is_workbook and table.encoding is None and table.source == "b.xlsx"
    assert _cells(table) == [["E1", "3", "2027-01-02 09:30:00", "2027-01-03", "true"],
                             ["E2", "2.5", None, None, "false"]]
    assert table.rows.tolist() == [4, 6]
    assert "row(s) 1 above the column headings were skipped" in table.note_lines()[0]
    other = read_table(path, "other", "b.xlsx#other")                 # sheet names ignore case
    assert _cells(other) == [["X1"]] and other.source == "b.xlsx#other"
    with pytest.raises(TableError, match="no sheet named 'Missing'; sheets in b.xlsx: 'Lookup', 'Mentees', 'Other'"):
        read_table(path, "Missing")


def test_a_sheet_named_on_a_csv_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id\nE1\n")
    with pytest.raises(TableError, match="'#Sheet1' names a sheet, but t.csv is not an Excel workbook"):
        read_table(path, "Sheet1")


def test_a_csv_named_xlsx_and_a_workbook_named_csv_are_refused(tmp_path):
    (tmp_path / "t.xlsx").write_text("id,name\nE1,Ann\n")
    with pytest.raises(TableError, match="rename it to .csv"):
        read_table(tmp_path / "t.xlsx")
    _workbook(tmp_path / "b.xlsx", {"S": [["id"], ["E1"]]}).rename(tmp_path / "b.csv")
    with pytest.raises(TableError, match="looks like an Excel workbook with a .csv name; rename it to .xlsx"):
        read_table(tmp_path / "b.csv")


# ------------------------------------------------------------------------------------------------ which files


@pytest.mark.parametrize("suffix", sorted(REFUSED_SUFFIXES))
def test_old_and_foreign_workbooks_are_refused_with_one_line(tmp_path, suffix):
    path = tmp_path / f"book{suffix}"
    path.write_bytes(b"\xd0\xcf\x11\xe0 not read")
    with pytest.raises(TableError) as caught:
        read_table(path)
    assert caught.value.plain_message == refused_format(suffix) == (
        f"{suffix} files are not read by mentorctl; open it in Excel or LibreOffice and save it as .xlsx or CSV")
    assert str(caught.value).startswith(f"book{suffix}: ")


@pytest.mark.parametrize("name", ["t.csv", "t.tsv", "t.txt", "t.export", "t"])
def test_text_tables_under_any_other_name_are_read_as_csv(tmp_path, name):
    (tmp_path / name).write_text("id\tname\nE1\tAnn\n")
    assert _cells(read_table(tmp_path / name)) == [["E1", "Ann"]]


def test_a_missing_file_and_a_folder_are_one_line(tmp_path):
    with pytest.raises(TableError, match="file not found"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(TableError, match="is a folder, not a file"):
        read_table(tmp_path)


# ------------------------------------------------------------------------------------------------ every reader


_ROSTER_YAML = """\
programme: {name: T}
design: {start_date: 2027-01-04}
rosters: {mentors: mentors.csv, mentees: mentees.csv}
reporting:
  activity: [activity.csv]
  hr_extract: {path: hr.csv}
  survey: {path: survey.csv}
"""


def _programme(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "programme.yaml").write_text(_ROSTER_YAML)
    (folder / "mentors.csv").write_text("id,name\nM1,Mentor One\n")
    (folder / "mentees.csv").write_text("id,name\nE1,Mentee One\n")
    (folder / "activity.csv").write_text("timestamp,event,mentor_id,mentee_id\n2027-02-01 10:00,session,M1,E1\n")
    (folder / "hr.csv").write_text("employee_id,left_on\nE1,\n")
    (folder / "survey.csv").write_text("participant_id,satisfaction\nE1,4\n")
    return folder


@pytest.mark.parametrize("suffix", [".xls", ".ods"])
def test_every_reader_refuses_xls_and_ods_with_the_same_line(tmp_path, suffix):
    """Rosters refused .xls with their own words and read .ods as text; activity logs, HR extracts and
    surveys read both. Now every reader refuses them with tables.refused_format."""
    from mentorctl.activity import load_activity, read_hr_extract, read_survey
    from mentorctl.errors import MentorctlError
    from mentorctl.matches import read_matches
    from mentorctl.programme import load_programme
    from mentorctl.roster import check_participants, load_participants

    folder = _programme(tmp_path / "p")
    (folder / f"book{suffix}").write_bytes(b"PK\x03\x04 not read")
    line = refused_format(suffix)
    programme = load_programme(folder)
    participants = load_participants(programme)
    readers = {
        "activity": lambda: load_activity(programme, [folder / f"book{suffix}"]),
        "hr": lambda: read_hr_extract(programme, folder / f"book{suffix}"),
        "survey": lambda: read_survey(programme, folder / f"book{suffix}"),
        "matches": lambda: read_matches(programme, folder / f"book{suffix}", participants),
    }
    for what, read in readers.items():
        with pytest.raises(MentorctlError) as caught:
            read()
        assert caught.value.plain_message == line, what
        assert caught.value.location is not None and caught.value.location.file.endswith(f"book{suffix}"), what
    (folder / "programme.yaml").write_text(_ROSTER_YAML.replace("mentees: mentees.csv", f"mentees: book{suffix}"))
    _, findings = check_participants(load_programme(folder))
    assert [(f.message, f.location.file) for f in findings if f.level == "error"] == [(line, f"book{suffix}")]


def test_hr_extract_and_survey_in_cp1252_are_read_with_the_note(tmp_path):
    from mentorctl.activity import read_hr_extract, read_survey
    from mentorctl.programme import load_programme

    folder = _programme(tmp_path / "p")
    (folder / "hr.csv").write_bytes("employee_id,left_on,site\nE1,,Zürich\n".encode("cp1252"))
    (folder / "survey.csv").write_bytes("participant_id,satisfaction,comment\nE1,4,très bien\n".encode("cp1252"))
    programme = load_programme(folder)
    hr, survey = read_hr_extract(programme), read_survey(programme)
    assert hr is not None and survey is not None
    assert hr.frame["site"].tolist() == ["Zürich"] and survey.frame["comment"].tolist() == ["très bien"]
    assert hr.notes == ("hr.csv is not UTF-8; it was read as cp1252 (Windows/Latin-1): check accented names look "
                        "right, or save it as 'CSV UTF-8'",)
    assert survey.notes and survey.notes[0].startswith("survey.csv is not UTF-8; it was read as cp1252")
