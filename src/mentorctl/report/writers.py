"""Writing a report: report.json (`Report.as_dict()`), report.md (`markdown.py`), report.html (`html.py`) and
report.xlsx (`workbook.py`), plus the coordinator's follow-up.csv of a running programme.

Every file is written atomically (temporary file, then rename) with `files.atomic_write_*`. Characters that
XML forbids are removed from all text written to report.xlsx, report.html and report.md (`xlsx.clean_text`,
the one rule), so a stray byte in an export can never stop the report.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from mentorctl.files import atomic_write_text
from mentorctl.report.build import Report
from mentorctl.report.formatting import (
    check_out_dir,
    coverage_lines,
    format_value,
    goal_rows,
    kpi_rows,
    pace_text,
    target_text,
    with_unit,
)
from mentorctl.report.html import render_html, write_html
from mentorctl.report.kpis import KPI_NAMES
from mentorctl.report.markdown import render_markdown, write_markdown
from mentorctl.report.workbook import write_workbook
from mentorctl.xlsx import clean_text

REPORT_FILES = ("report.html", "report.xlsx", "report.md", "report.json")


def write_report(report: Report, out_dir: str | Path, formats: Iterable[str] = ("html", "xlsx", "md", "json"),
                 programme: Any = None) -> dict[str, Path]:
    """Write the chosen formats into `out_dir` (OutputError when that is a file); return {format: path}."""
    from mentorctl.files import new_run_id, record_output

    out = check_out_dir(out_dir)
    written: dict[str, Path] = {}
    run_id = new_run_id()  # recorded with each file (out/.mentorctl-outputs.json): the files of one run agree
    for fmt in formats:
        path = out / f"report.{fmt}"
        if fmt == "json":
            write_json(report, path)
        elif fmt == "md":
            write_markdown(report, path)
        elif fmt == "html":
            write_html(report, path, programme)
        elif fmt == "xlsx":
            write_workbook(report, path)
        else:
            raise ValueError(f"unknown report format {fmt!r}")
        record_output(path, run_id)
        written[fmt] = path
    if report.relationships is not None:   # the coordinator's list of pairs to look at: never in the report
        written["follow_up"] = write_follow_up(report, out / "follow-up.csv")
    return written


def write_follow_up(report: Report, path: str | Path) -> Path:
    """follow-up.csv: the pairs the coordinator should look at (no first meeting, inactive, "not a fit",
    diverging ratings). It names people, so it is written apart and never enters a report."""
    from mentorctl.files import write_csv

    assert report.relationships is not None
    rows = [f.as_dict() for f in report.relationships.follow_up]
    return write_csv(pd.DataFrame(rows, columns=["mentee_id", "mentor_id", "reason", "detail"]), path)


def write_json(report: Report, path: str | Path) -> Path:
    return atomic_write_text(path, json.dumps(report.as_dict(), indent=2, ensure_ascii=False, default=str) + "\n")


__all__ = ["KPI_NAMES", "REPORT_FILES", "check_out_dir", "clean_text", "coverage_lines", "format_value", "goal_rows",
           "kpi_rows", "pace_text", "render_html", "render_markdown", "target_text", "with_unit", "write_follow_up",
           "write_html", "write_json", "write_markdown", "write_report", "write_workbook"]
