"""xlsx.py, the one spreadsheet writer: read back with openpyxl and calamine (independent readers)."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from xml.etree import ElementTree

import pandas as pd
import pytest
from openpyxl import load_workbook

from mentorctl.xlsx import DATE, DECIMAL, INTEGER, PERCENT, Chart, Sheet, clean_text, sheet_titles, write_xlsx


def test_xlsx_is_formula_safe(tmp_path):
    frame = pd.DataFrame({"name": ["=cmd|' /C calc'!A0", "Ann"], "score": [1.5, -2.0]})
    write_xlsx({"Data": frame}, tmp_path / "x.xlsx")
    sheet = load_workbook(tmp_path / "x.xlsx")["Data"]
    assert sheet["A2"].value.startswith("'=") and sheet["A2"].data_type == "s"
    assert sheet["B3"].value == -2.0


def test_formula_like_headings_lists_and_mixed_columns_are_neutralised(tmp_path):
    frame = pd.DataFrame({"=SUM(A1)": ["@x", "+y", "-3", 4], "tags": [["=a", "b"], [], None, ["c"]]})
    write_xlsx({"Data": frame}, tmp_path / "x.xlsx")
    rows = list(load_workbook(tmp_path / "x.xlsx")["Data"].iter_rows(values_only=True))
    assert rows[0] == ("'=SUM(A1)", "tags")
    assert [r[0] for r in rows[1:]] == ["'@x", "'+y", "-3", 4]      # "-3" is a number as text: not a formula
    assert rows[1][1] == "'=a; b"


def test_control_characters_never_break_a_workbook(tmp_path):
    frame = pd.DataFrame({"name\x01": ["Ann\x0bLee", "Bo\x00"], "n": [1, 2]})
    write_xlsx({"Data": frame}, tmp_path / "x.xlsx")
    sheet = load_workbook(tmp_path / "x.xlsx")["Data"]
    assert [sheet["A1"].value, sheet["A2"].value, sheet["A3"].value] == ["name", "AnnLee", "Bo"]


def test_illegal_characters_are_one_rule_for_cells_titles_and_footers(tmp_path):
    assert clean_text("a\x00b\ufffec\x1fd\ud800e\tf\ng") == "abcde\tf\ng"
    write_xlsx({"By\x07 team": Sheet(pd.DataFrame({"x": ["\x0c"]}), footer=["note\x01 one"])}, tmp_path / "x.xlsx")
    book = load_workbook(tmp_path / "x.xlsx")
    assert book.sheetnames == ["By team"]
    assert book["By team"]["A2"].value in ("", None) and book["By team"]["A4"].value == "note one"


def test_workbook_layout_and_types(tmp_path):
    frame = pd.DataFrame({"id": ["E1", None], "score": [1.5, float("nan")], "ok": [True, False], "n": [3, 4],
                          "tags": [["a", "b"], []]})
    write_xlsx({"Matches": frame, "Summary": pd.DataFrame({"item": ["status"], "value": ["OPTIMAL"]})},
               tmp_path / "x.xlsx")
    book = load_workbook(tmp_path / "x.xlsx")
    assert book.sheetnames == ["Matches", "Summary"]
    sheet = book["Matches"]
    assert [c.value for c in sheet[1]] == ["id", "score", "ok", "n", "tags"] and sheet["A1"].font.b
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[2]] == ["E1", 1.5, True, 3, "a; b"]
    assert [c.value for c in sheet[3]][:4] == [None, None, False, 4]
    assert book["Summary"]["B2"].value == "OPTIMAL"


def test_workbook_reads_back_with_an_independent_reader(tmp_path):
    frame = pd.DataFrame({"name": ["x<y&z", "=2+2"], "score": [1.0, 2.5]})
    write_xlsx({"M": frame}, tmp_path / "x.xlsx")
    back = pd.read_excel(tmp_path / "x.xlsx", engine="calamine")
    assert back["name"].tolist() == ["x<y&z", "'=2+2"] and back["score"].tolist() == [1.0, 2.5]


def test_long_duplicate_and_forbidden_sheet_titles():
    long = "A very long sheet title that Excel would refuse"
    titles = sheet_titles([long, long, "a/b:c?", "Data", "DATA", "", "'quoted'", "x" * 31, "X" * 31])
    assert titles[0] == long[:31] and len(titles[1]) <= 31 and titles[1].endswith(" 2")
    assert titles[2] == "a b c" and titles[3] == "Data" and titles[4] == "DATA 2"      # Excel ignores case
    assert titles[5] == "Sheet" and titles[6] == "quoted"
    assert titles[8] == "X" * 29 + " 2"
    assert len({t.casefold() for t in titles}) == len(titles) and all(len(t) <= 31 for t in titles)


def test_long_and_duplicate_titles_open(tmp_path):
    long = "By a field with a name far longer than thirty-one characters"
    write_xlsx({long: pd.DataFrame({"a": [1]}), long[:31] + " again": pd.DataFrame({"a": [2]})},
               tmp_path / "x.xlsx")
    book = load_workbook(tmp_path / "x.xlsx")
    assert book.sheetnames == [long[:31], long[:29] + " 2"]
    assert book[long[:29] + " 2"]["A2"].value == 2


def test_number_formats_widths_autofilter_dates_and_row_formats(tmp_path):
    frame = pd.DataFrame({"measure": ["Participation rate", "Mentoring hours", "Sessions"],
                          "value": [0.583, 3.8, 4], "when": [date(2026, 2, 2), date(2026, 2, 9), None],
                          "stamp": pd.to_datetime(["2026-02-03 10:00", "2026-02-04 11:30", None]).tz_localize(
                              "Europe/London")})
    sheet = Sheet(frame, headers={"measure": "Measure"}, row_formats={"value": [PERCENT, DECIMAL, INTEGER]},
                  autofilter=True, footer=["* a footnote"], widths={"stamp": 18})
    write_xlsx({"KPIs": sheet}, tmp_path / "x.xlsx")
    ws = load_workbook(tmp_path / "x.xlsx")["KPIs"]
    assert [c.value for c in ws[1]] == ["Measure", "value", "when", "stamp"]
    assert [ws[f"B{r}"].number_format for r in (2, 3, 4)] == [PERCENT, DECIMAL, INTEGER]
    assert [ws[f"B{r}"].value for r in (2, 3, 4)] == [0.583, 3.8, 4]
    assert ws["C2"].value == datetime(2026, 2, 2) and ws["C2"].number_format == DATE and ws["C4"].value is None
    assert ws["D3"].value == datetime(2026, 2, 4, 11, 30)              # the wall-clock time in its zone
    assert ws.auto_filter.ref == "A1:D4" and ws.freeze_panes == "A2"
    assert ws.column_dimensions["A"].width >= len("Participation rate") and ws.column_dimensions["D"].width == 18
    assert ws["A6"].value == "* a footnote"


def test_native_charts_are_valid_drawingml(tmp_path):
    weekly = pd.DataFrame({"week": [date(2026, 2, 2), date(2026, 2, 9)], "sessions": [3, 1], "messages": [2, 0]})
    shares = pd.DataFrame({"measure": ["retention", "promotion"], "took part": [0.9, 0.2], "others": [0.8, 0.1]})
    charts = Sheet(pd.DataFrame(), charts=[
        Chart("bar", "Activity per week", "Weekly", "week", ("sessions", "messages"), stacked=True,
              x_title="week starting", y_title="events"),
        Chart("line", "Sessions", "Weekly", "week", ("sessions",)),
        Chart("bar", "Retention & promotion", "Shares", "measure", ("took part", "others"), percent=True)])
    write_xlsx({"Weekly": weekly, "Shares": shares, "Charts": charts}, tmp_path / "x.xlsx")
    book = load_workbook(tmp_path / "x.xlsx")
    found = book["Charts"]._charts
    assert [type(c).__name__ for c in found] == ["BarChart", "LineChart", "BarChart"]
    assert found[0].grouping == "stacked" and found[2].grouping == "clustered"
    refs = [s.val.numRef.f for s in found[0].series]
    assert refs == ["'Weekly'!$B$2:$B$3", "'Weekly'!$C$2:$C$3"]
    assert found[2].series[0].cat.strRef.f == "'Shares'!$A$2:$A$3"
    with zipfile.ZipFile(tmp_path / "x.xlsx") as archive:
        names = archive.namelist()
        assert {"xl/charts/chart1.xml", "xl/charts/chart3.xml", "xl/drawings/drawing1.xml"} <= set(names)
        for name in names:
            ElementTree.fromstring(archive.read(name))                   # every part is well-formed XML
        types = archive.read("[Content_Types].xml").decode()
        assert "drawingml.chart+xml" in types and "officedocument.drawing+xml" in types


def test_a_chart_on_a_missing_sheet_or_column_is_a_bug_not_a_broken_file(tmp_path):
    with pytest.raises(ValueError, match="no sheet"):
        write_xlsx({"C": Sheet(pd.DataFrame(), charts=[Chart("bar", "t", "Nope", "a", ("b",))])}, tmp_path / "x.xlsx")
    with pytest.raises(ValueError, match="no column"):
        write_xlsx({"D": pd.DataFrame({"a": [1]}), "C": Sheet(pd.DataFrame(), charts=[
            Chart("bar", "t", "D", "a", ("b",))])}, tmp_path / "y.xlsx")
    assert not (tmp_path / "x.xlsx").exists()


def test_the_one_reader_reads_what_the_one_writer_wrote(tmp_path):
    from mentorctl.tables import read_table

    frame = pd.DataFrame({"mentee_id": ["E1", "E2", "E3"], "mentor_id": ["M1", None, "M2"], "score": [1.5, 2.0, 3.25]})
    write_xlsx({"Matches": frame, "Summary": pd.DataFrame({"item": ["status"], "value": ["OPTIMAL"]})},
               tmp_path / "matches.xlsx")
    table = read_table(tmp_path / "matches.xlsx", "Matches")
    assert list(table.frame.columns[:3]) == ["mentee_id", "mentor_id", "score"]
    assert table.frame["mentee_id"].tolist() == ["E1", "E2", "E3"] and table.frame["mentor_id"][1] is None
    assert table.frame["score"].tolist() == ["1.5", "2", "3.25"]        # the reader gives cells as text
