"""files.py: atomic writes, formula-injection protection, and never overwriting an edited output."""

from __future__ import annotations

import csv

import pandas as pd
import pytest
from openpyxl import load_workbook

from mentorctl.errors import OutputExistsError
from mentorctl.files import (
    atomic_write_text,
    guard_output,
    neutralise_formula,
    record_output,
    write_csv,
    write_xlsx,
)


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


@pytest.mark.parametrize(("value", "safe"), [("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1+2", "'+1+2"),
                                              ("@SUM(A1)", "'@SUM(A1)"), ("-3", "-3"), ("Ann", "Ann"), (5, 5)])
def test_neutralise_formula(value, safe):
    assert neutralise_formula(value) == safe


def test_csv_and_xlsx_are_formula_safe(tmp_path):
    frame = pd.DataFrame({"name": ["=cmd|' /C calc'!A0", "Ann"], "score": [1.5, -2.0]})
    write_csv(frame, tmp_path / "x.csv")
    rows = list(csv.reader((tmp_path / "x.csv").open()))
    assert rows[1][0].startswith("'=") and rows[2] == ["Ann", "-2.0"]
    write_xlsx({"Data": frame}, tmp_path / "x.xlsx")
    sheet = load_workbook(tmp_path / "x.xlsx")["Data"]
    assert sheet["A2"].value.startswith("'=") and sheet["A2"].data_type == "s"
    assert sheet["B3"].value == -2.0


def test_guard_refuses_edited_file_and_keeps_a_backup_with_force(tmp_path):
    target = tmp_path / "matches.csv"
    assert guard_output(target, force=False) is None  # nothing there yet
    atomic_write_text(target, "a,b\n")
    record_output(target)
    assert guard_output(target, force=False) is None  # unchanged since mentorctl wrote it
    target.write_text("a,b\nedited,by hand\n")
    with pytest.raises(OutputExistsError, match="--force"):
        guard_output(target, force=False)
    backup = guard_output(target, force=True)
    assert backup is not None and backup.read_text() == "a,b\nedited,by hand\n"


def test_guard_treats_a_foreign_file_as_edited(tmp_path):
    target = tmp_path / "matches.csv"
    target.write_text("made by hand\n")
    with pytest.raises(OutputExistsError):
        guard_output(target, force=False)


def test_unwritable_folder_is_a_user_error(tmp_path):
    from mentorctl.errors import OutputError

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="cannot write .*choose a folder"):
        atomic_write_text(blocker / "out" / "matches.csv", "x")


def test_control_characters_never_break_a_workbook(tmp_path):
    frame = pd.DataFrame({"name\x01": ["Ann\x0bLee", "Bo\x00"], "n": [1, 2]})
    write_xlsx({"Data": frame}, tmp_path / "x.xlsx")
    sheet = load_workbook(tmp_path / "x.xlsx")["Data"]
    assert [sheet["A1"].value, sheet["A2"].value, sheet["A3"].value] == ["name", "AnnLee", "Bo"]


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


def test_outputs_get_ordinary_permissions(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        target = atomic_write_text(tmp_path / "report.html", "x")
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        target.chmod(0o600)  # a coordinator's own choice is kept on rewrite
        atomic_write_text(target, "y")
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
    finally:
        os.umask(old)
