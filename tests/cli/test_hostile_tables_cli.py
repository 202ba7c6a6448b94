"""Hostile or broken tables (issue 15): rosters and activity logs beyond the documented limits, files that are
not what their name says, quotes that swallow rows, dates pandas cannot hold, and the repeated autumn hour."""

from __future__ import annotations

import re
import zipfile

import pytest
from test_hostile_input_cli import MENTEES, MENTORS, one_clear_error, programme

from mentorctl import limits


def activity(path: str = "act.csv", **source):
    return lambda d: d.update(reporting={"activity": [{"path": path, **source}]})


def test_unbalanced_quote_that_swallows_rows_names_the_row(tmp_path, run_cli):
    rows = "".join(f"E{i},Person {i},p{i}@x.org,a\n" for i in range(4, 200))
    mentees = 'id,name,email,goals\nE1,Cat,cat@x.org,a\nE2,"Dan,dan@x.org,c\nE3,Eve,eve@x.org,b\n' + rows
    folder = programme(tmp_path / "p", files={"mentees.csv": mentees})
    text = one_clear_error(run_cli("match", folder), "mentees.csv", "row 3 (line 3)", "column 'name'",
                           "is never closed")
    assert "197 line(s) that look like rows" in text
    result = run_cli("validate", folder)
    assert result.exit_code == 2 and "row 3 (line 3): the quote that opens in column 'name'" in result.stdout + result.stderr


def test_quote_closed_later_names_the_closing_line(tmp_path, run_cli):
    mentees = ('id,name,email,goals\nE1,"Cat,cat@x.org,a\nE2,Dan,dan@x.org,c\nE3,Eve,eve@x.org,b\n'
               'E4,Fay",fay@x.org,a\nE5,Gus,gus@x.org,b\n')
    folder = programme(tmp_path / "p", files={"mentees.csv": mentees})
    one_clear_error(run_cli("match", folder), "row 2 (line 2)", "is not closed until line 5")


def test_quoted_line_breaks_in_a_cell_are_still_fine(tmp_path, run_cli):
    mentees = ('id,name,email,goals,address\nE1,Cat,cat@x.org,a,"1 High St,\nLondon, UK\nSW1 1AA"\n'
               'E2,Dan,dan@x.org,c,x\nE3,Eve,eve@x.org,b,y\n')
    folder = programme(tmp_path / "p", files={"mentees.csv": mentees})
    result = run_cli("validate", folder)
    assert result.exit_code == 0, result.stdout + result.stderr


def test_roster_wider_than_the_limit_is_refused(tmp_path, run_cli):
    header = ",".join(["id", "name"] + [f"c{i}" for i in range(limits.MAX_COLUMNS + 5)])
    folder = programme(tmp_path / "p", files={"mentors.csv": header + "\nM1,Ann\n"})
    one_clear_error(run_cli("match", folder), "mentors.csv", f"more than mentorctl's limit of {limits.MAX_COLUMNS:,} columns")


def test_roster_with_a_million_columns_is_refused(tmp_path, run_cli):
    header = "id,name" + ",c" * 1_000_000
    folder = programme(tmp_path / "p", files={"mentors.csv": header + "\nM1,Ann\n"})
    one_clear_error(run_cli("match", folder), "row 1 has 1,000,002 cells")


@pytest.mark.parametrize("key", ["mentors", "mentees"])
def test_roster_that_is_a_device_is_refused(tmp_path, run_cli, key):
    folder = programme(tmp_path / "p", lambda d: d["rosters"].update({key: "/dev/zero"}))
    one_clear_error(run_cli("match", folder), "/dev/zero", "not a regular file")


def test_roster_larger_than_the_limit_is_refused(tmp_path, run_cli, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TABLE_BYTES", 100)
    folder = programme(tmp_path / "p", files={"mentees.csv": MENTEES + "E9,Zed,z@x.org,a\n" * 10})
    one_clear_error(run_cli("match", folder), "mentees.csv", "larger than mentorctl's limit")


def test_xlsx_that_is_really_a_csv(tmp_path, run_cli):
    folder = programme(tmp_path / "p", lambda d: d["rosters"].update(mentors="mentors.xlsx"),
                       files={"mentors.xlsx": MENTORS})
    one_clear_error(run_cli("match", folder), "mentors.xlsx", "is not an Excel workbook", "rename it to .csv")


def test_activity_xlsx_that_is_really_a_csv(tmp_path, run_cli):
    folder = programme(tmp_path / "p", activity("act.xlsx"),
                       files={"act.xlsx": "timestamp,event,mentor_id\n2027-03-02,session,M1\n"})
    one_clear_error(run_cli("report", folder), "act.xlsx", "is not an Excel workbook", "rename it to .csv")


def _zip_bomb(path, size: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            chunk = b"<c/>" * (1024 * 256)
            for _ in range(size // len(chunk)):
                part.write(chunk)


def test_zip_bomb_roster_is_refused_before_parsing(tmp_path, run_cli):
    folder = programme(tmp_path / "p", lambda d: d["rosters"].update(mentors="mentors.xlsx"))
    _zip_bomb(folder / "mentors.xlsx", 64 * limits.MIB)   # 64 MiB of XML in a few hundred KB
    one_clear_error(run_cli("match", folder), "mentors.xlsx", "expands", "zip bomb")


def test_zip_bomb_activity_is_refused_before_parsing(tmp_path, run_cli, monkeypatch):
    monkeypatch.setattr(limits, "MAX_XLSX_UNCOMPRESSED_BYTES", 8 * limits.MIB)
    folder = programme(tmp_path / "p", activity("act.xlsx"))
    _zip_bomb(folder / "act.xlsx", 16 * limits.MIB)
    one_clear_error(run_cli("report", folder), "act.xlsx", "once uncompressed, more than mentorctl's limit of 8 MiB")


def test_sheet_with_a_stale_huge_dimension_is_read_quickly(tmp_path, run_cli):
    """A workbook that claims A1:XFD1048576 is read by its cells, not padded to 17 billion."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in MENTORS.strip().splitlines():
        sheet.append(row.split(","))
    book.save(tmp_path / "m.xlsx")
    with zipfile.ZipFile(tmp_path / "m.xlsx") as source, \
            zipfile.ZipFile(tmp_path / "mentors.xlsx", "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data)
                assert b"XFD1048576" in data
            target.writestr(item, data)
    folder = programme(tmp_path / "p", lambda d: d["rosters"].update(mentors=str(tmp_path / "mentors.xlsx")))
    result = run_cli("validate", folder)
    assert result.exit_code == 0, result.stdout + result.stderr


def test_cp1252_activity_log_is_read_with_a_note(tmp_path, run_cli):
    log = "timestamp,event,mentor_id,mentee_id,item_id\n2027-03-02 10:00,session,M1,E1,caf\xe9\n".encode("cp1252")
    folder = programme(tmp_path / "p", activity(), files={"act.csv": log})
    result = run_cli("report", folder)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "act.csv is not UTF-8; it was read as cp1252" in result.stderr


def test_activity_wider_than_the_limit_is_refused(tmp_path, run_cli):
    header = "timestamp,event,mentor_id" + ",x" * (limits.MAX_COLUMNS + 1)
    folder = programme(tmp_path / "p", activity(), files={"act.csv": header + "\n2027-03-02,session,M1\n"})
    one_clear_error(run_cli("report", folder), "act.csv", "columns")


def test_activity_quote_that_swallows_rows(tmp_path, run_cli):
    rows = "".join(f"2027-03-{d:02d} 10:00,session,M1,E1\n" for d in range(3, 28))
    log = 'timestamp,event,mentor_id,mentee_id\n2027-03-02 10:00,"session,M1,E1\n' + rows
    folder = programme(tmp_path / "p", activity(), files={"act.csv": log})
    one_clear_error(run_cli("report", folder), "act.csv", "row 2 (line 2)", "column 'event'")


def test_activity_that_is_a_device_is_refused(tmp_path, run_cli):
    folder = programme(tmp_path / "p", activity("/dev/zero"))
    one_clear_error(run_cli("report", folder), "not a regular file")


def test_activity_dates_outside_pandas_range_are_rejected_rows(tmp_path, run_cli):
    log = ("timestamp,event,mentor_id,mentee_id\n1600-03-02 01:30,session,M1,E1\n9999-01-01 10:00,session,M1,E1\n"
           "2027-03-02 10:00,session,M1,E1\n")
    folder = programme(tmp_path / "p", activity(), files={"act.csv": log})
    result = run_cli("report", folder)
    output = result.stdout + result.stderr
    assert result.exit_code == 0 and "Traceback" not in output, output
    assert "outside the dates mentorctl works with (1900-01-01 to 2199-12-31)" in output
    assert "2 row(s) could not be used" in output


def test_repeated_autumn_hour_is_the_first_occurrence():
    import pandas as pd

    from mentorctl.activity import parse_timestamps

    tz = __import__("zoneinfo").ZoneInfo("Europe/London")
    parsed = parse_timestamps(pd.Series(["2027-10-31 01:30", "2027-03-28 01:30", "2027-10-31 00:30"]), tz)
    assert parsed.notna().all()
    assert str(parsed[0]) == "2027-10-31 01:30:00+01:00"          # BST: the first of the two 01:30s
    assert str(parsed[1]) == "2027-03-28 02:00:00+01:00"          # the skipped hour: the first time after it
    assert parsed[2] < parsed[0]


def test_activity_in_the_repeated_autumn_hour_counts(tmp_path, run_cli):
    folder = programme(tmp_path / "p", activity(), files={
        "act.csv": "timestamp,event,mentor_id,mentee_id\n2027-10-31 01:30,session,M1,E1\n"})
    result = run_cli("report", folder, "--period", "2027-10-01..2027-11-30")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "could not be used" not in result.stderr


def test_unknown_strftime_directive_does_not_recurse():
    import pandas as pd

    from mentorctl.activity import parse_timestamps

    tz = __import__("zoneinfo").ZoneInfo("UTC")
    parsed = parse_timestamps(pd.Series(["2027-01-31", "2027-02-01+01:00"]), tz, date_format="%Q")
    assert parsed.isna().all()
