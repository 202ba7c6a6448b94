"""files.py: atomic writes, formula-injection protection, and never overwriting an edited output."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from mentorctl.errors import OutputExistsError
from mentorctl.files import (
    atomic_write_text,
    guard_output,
    neutralise_formula,
    record_output,
    write_csv,
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


def test_csv_is_formula_safe(tmp_path):
    """(The workbook half of this test is tests/unit/test_xlsx.py::test_xlsx_is_formula_safe.)"""
    frame = pd.DataFrame({"name": ["=cmd|' /C calc'!A0", "Ann"], "score": [1.5, -2.0]})
    write_csv(frame, tmp_path / "x.csv")
    rows = list(csv.reader((tmp_path / "x.csv").open()))
    assert rows[1][0].startswith("'=") and rows[2] == ["Ann", "-2.0"]


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
