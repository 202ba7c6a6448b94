"""report.md: the report as Markdown (tables, no charts), e.g. for a wiki page or an email."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mentorctl.files import atomic_write_text
from mentorctl.report.build import Report
from mentorctl.report.formatting import (
    BREAKDOWN_LABELS,
    RELATIONSHIP_NOTE,
    TOOK_PART,
    cell_text,
    coverage_lines,
    goal_rows,
    kpi_rows,
    quality_lines,
    relationship_rows,
    self_matching_rows,
    suppression_footnotes,
    with_unit,
)
from mentorctl.xlsx import clean_text


def _md_escape(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(_md_escape(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
    return lines


def render_markdown(report: Report) -> str:
    lines = [f"# {report.programme}: programme report", "",
             f"Period {report.period.start:%d %b %Y} to {report.period.end:%d %b %Y} · "
             f"{report.population:,} eligible people, {report.participants:,} took part · "
             f"generated {report.generated_at:%Y-%m-%d %H:%M}", "", f"**{report.verdict}**", ""]
    for warning in report.warnings:
        lines += [f"> **Warning:** {warning}", ""]
    if report.is_empty:
        lines += ["> No activity was recorded in this period: activity KPIs are zero or unknown.", ""]
    if report.goals:
        lines += ["## Goals", ""]
        lines += _md_table(["Goal", "Measure", "Value", "Target", "Target to date", "Status"], [
            [r["name"], r["kpi"], r["value"], r["target"], r["to_date"], r["status"]] for r in goal_rows(report)])
        lines += ["", "Cumulative goals (hours, sessions, relationships…) are on track when they have reached "
                  "the target pro-rated to the share of the programme elapsed "
                  f"({report.elapsed:.0%}).", ""]
    lines += ["## Matching", ""] + [f"- {line}" for line in coverage_lines(report)] + [""]
    lines += ["## Key figures", ""]
    headers = ["Area", "Measure", "Value"] + ([f"{report.compare.programme}"] if report.compare else [])
    lines += _md_table(headers, [
        [r["group"], r["label"], with_unit(r["name"], r["value"])]
        + ([r["compare_text"]] if report.compare else []) for r in kpi_rows(report)])
    lines += ["", TOOK_PART + " Participation rate: eligible people who took part. Retention and promotion: "
              "people who took part, then (others) everyone else in the HR extract.", ""]
    for field_name, table in report.breakdowns.items():
        lines += [f"## By {field_name}", ""]
        columns = list(table.columns)
        lines += _md_table([BREAKDOWN_LABELS.get(c, c) for c in columns],
                           [[cell_text(c, row[c]) for c in columns] for row in table.to_dict(orient="records")])
        lines += [""] + suppression_footnotes(report.min_group_size) + [""]
    if report.self_matching is not None:
        lines += ["## Self-matching", ""]
        lines += _md_table(["Step", "Value"], [list(row) for row in self_matching_rows(report)])
        lines.append("")
    if report.relationships is not None:
        lines += ["## Relationships", "", *_md_table(["", "Value"], [list(r) for r in relationship_rows(report)]),
                  "", RELATIONSHIP_NOTE.format(n=report.min_group_size), ""]
    lines += ["## Data quality", ""] + [f"- {item}" for item in quality_lines(report)]
    for problem in report.data_quality.summary():
        rows = ", ".join(str(r) for r in problem["rows"]) + (" …" if problem["count"] > len(problem["rows"]) else "")
        example = f"; e.g. '{problem['example']}'" if problem["example"] else ""
        lines.append(f"- {problem['file']}, column {problem['column']}: {problem['count']} row(s) "
                     f"{problem['problem']} (rows {rows}{example})")
    return clean_text("\n".join(lines) + "\n")


def write_markdown(report: Report, path: str | Path) -> Path:
    return atomic_write_text(path, render_markdown(report))
