"""files.py: atomic writes, formula-injection protection, and never overwriting an edited output."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentorctl.errors import OutputExistsError
from mentorctl.files import (
    FORMULA_STARTS,
    atomic_write_text,
    csv_bytes,
    guard_output,
    may_hold_formulas,
    neutralise_formula,
    neutralise_frame,
    output_runs,
    record_output,
    was_edited,
    write_csv,
    write_outputs,
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


_TEXT = st.text(alphabet=st.sampled_from(["a", "Z", " ", "é", "0", ".", ",", '"', "'", "\n", "\r", *FORMULA_STARTS]),
                max_size=4)
_PLAIN = st.text(alphabet=st.sampled_from(["a", " ", "é", "1", ".", *FORMULA_STARTS[:4], "|", "%"]), max_size=4)
_COLUMNS = {   # kind of column -> (cells, dtype)
    "text": (st.one_of(st.none(), _TEXT), object),
    "plain text": (st.one_of(st.none(), st.just(np.nan), _PLAIN), object),
    "str dtype": (st.one_of(st.none(), _PLAIN), "str"),
    "float": (st.sampled_from([0.0, -0.0, 1.5, -2.0, 1e16, 1.25e-7, 123456789.123, np.nan, np.inf]), "float64"),
    "int": (st.integers(-10**12, 10**12), "int64"),
    "bool": (st.booleans(), "bool"),
    "mixed": (st.one_of(st.none(), st.integers(-5, 5), _PLAIN), object),
}


@settings(max_examples=400, deadline=None)
@given(st.data(), st.integers(0, 8),
       st.lists(st.tuples(_PLAIN, st.sampled_from(sorted(_COLUMNS))), min_size=1, max_size=4,
                unique_by=lambda c: c[0]))
def test_csv_bytes_are_what_pandas_writes_from_the_neutralised_frame(data, rows, columns):
    """csv_bytes writes plain frames column by column itself: byte for byte what pandas writes."""
    frame = pd.DataFrame({name: pd.Series(data.draw(st.lists(_COLUMNS[kind][0], min_size=rows, max_size=rows)),
                                          dtype=_COLUMNS[kind][1]) for name, kind in columns})
    assert csv_bytes(frame) == neutralise_frame(frame).to_csv(index=False).encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.just(np.nan), st.integers(-3, 3), _TEXT), max_size=10))
def test_may_hold_formulas_finds_every_text_that_starts_like_a_formula(cells):
    starts = any(isinstance(c, str) and c.startswith(FORMULA_STARTS) for c in cells)
    assert may_hold_formulas(cells) if starts else not may_hold_formulas(cells) or any(
        isinstance(c, str) and "\n" in c for c in cells)   # (a line break inside a cell may be a false alarm)


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


def test_write_outputs_records_every_file_with_two_manifest_writes(tmp_path, monkeypatch):
    """Several outputs at once: each recognised as mentorctl's (with the run id), with the manifest written
    before and after the files (each write is flushed to disk), not twice per file."""
    import mentorctl.files as files

    written = []
    real = files.atomic_write_bytes
    monkeypatch.setattr(files, "atomic_write_bytes", lambda path, data: written.append(path.name) or real(path, data))
    names = ["a.csv", "b.xlsx", "c.json"]
    write_outputs({tmp_path / name: name.encode() for name in names}, "run-7")
    assert written == [files.MANIFEST, *names, files.MANIFEST]
    assert output_runs(tmp_path, names) == dict.fromkeys(names, "run-7")
    assert not any(was_edited(tmp_path / name) for name in names)


def test_run_ids_sort_by_time_within_one_second():
    """`match_set_warnings` takes the largest id as the latest run: two runs in the same second must still
    sort in the order they ran (the random part used to decide, and an interrupted run's files could be
    called the newest)."""
    from datetime import UTC, datetime
    from unittest import mock

    from mentorctl import files

    instants = [datetime(2027, 3, 1, 9, 30, 0, 999_000, tzinfo=UTC), datetime(2027, 3, 1, 9, 30, 0, 1_000, tzinfo=UTC)]
    ids = []
    for when, token in zip(sorted(instants), ["ffffff", "000000"], strict=True):
        with mock.patch.object(files, "datetime") as fake, mock.patch("secrets.token_hex", return_value=token):
            fake.now.return_value = when
            ids.append(files.new_run_id())
    assert ids == sorted(ids) and ids[0] != ids[1]
    assert ids[1].startswith("20270301T093000.999000Z-")
