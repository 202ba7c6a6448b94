"""Report writers: report.json, report.md, report.html (self-contained, inline SVG) and report.xlsx.

Every file is written atomically (temporary file, then rename) with `files.atomic_write_*`. Characters that
XML forbids (control characters other than tab, newline and carriage return; U+FFFE, U+FFFF; lone surrogates)
are removed from all text written to report.xlsx, report.html and report.md, so a stray byte in an export
can never stop the report.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mentorctl.errors import OutputError
from mentorctl.files import atomic_write_bytes, atomic_write_text, neutralise_formula
from mentorctl.report.build import EXCEL_ROWS, Report
from mentorctl.report.kpis import (
    CUMULATIVE_KPIS,
    KPI_GROUPS,
    KPI_LABELS,
    KPI_NAMES,
    RATE_KPIS,
    SUPPRESSED,
    SUPPRESSED_COMPLEMENT,
)

REPORT_FILES = ("report.html", "report.xlsx", "report.md", "report.json")
EXCEL_MAX_ROWS = EXCEL_ROWS
PROBLEM_SHEET_ROWS = 100_000
BREAKDOWN_LABELS = {
    "group": "Group", "people": "People", "participants": "Participants",
    "participation_rate": "Participation", "active": "Active", "sessions_per_participant": "Sessions / participant",
    "hours_per_participant": "Hours / participant", "goals_set": "Goals set", "goals_achieved": "Goals achieved",
    "goal_completion_rate": "Goal completion", "satisfaction_mean": "Satisfaction", "respondents": "Respondents",
}


KPI_UNITS = {"mentoring_hours": "hours", "median_days_to_goal": "days", "satisfaction_mean": "out of 5",
             "nps": "−100 to +100"}
"""The unit shown beside a KPI's value (rates carry their % sign, counts need none)."""
SUPPRESSION_MARKS = {SUPPRESSED: "hidden*", SUPPRESSED_COMPLEMENT: "hidden†"}
PACE_TEXT = {"met": "✔ met", "on track": "● on track", "behind": "▼ behind", "not met yet": "▼ not met yet",
             "missed": "✘ missed"}
TOOK_PART = ("Took part: matched in a relationship formed by the end of the period, or with any logged "
             "activity in the period.")


def suppression_footnotes(min_group: int) -> list[str]:
    """What the suppression marks mean, for the footnote under every breakdown."""
    return [f"* Fewer than {min_group} people (or respondents) in the group: hidden so that no one can be "
            "singled out.",
            f"† At least {min_group} people, hidden as well so that the smaller hidden group cannot be worked "
            "out from the total (complementary suppression)."]


ILLEGAL_XML_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
"""What XML 1.0 cannot hold (a superset of openpyxl's ILLEGAL_CHARACTERS_RE)."""


def clean_text(value: str) -> str:
    """`value` without the characters XML (and so xlsx and html) cannot hold."""
    return ILLEGAL_XML_CHARACTERS.sub("", value)


# ---------------------------------------------------------------------------------------------------------
# formatting shared by the writers


def format_value(name: str, value: Any) -> str:
    """A KPI value as people read it: rates as percentages, big numbers with separators, '—' when unknown."""
    base = name.partition(".")[0]
    if isinstance(value, dict):
        mine, others = value.get("participants"), value.get("non_participants")
        return f"{format_value(base, mine)} (others {format_value(base, others)})"
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if base in RATE_KPIS or base.endswith("_rate") and base != "nps":
        return f"{float(value) * 100:.1f}%"
    if base == "nps":
        return f"{float(value):+.0f}"
    if base in ("satisfaction_mean",):
        return f"{float(value):.2f}"
    if base in ("mentoring_hours", "median_days_to_goal"):
        return f"{float(value):,.1f}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{float(value):,.1f}"


_COUNT_COLUMNS = frozenset({"people", "participants", "active", "goals_set", "goals_achieved", "respondents"})


def with_unit(name: str, value: Any) -> str:
    """A KPI value with its unit: "1,234.5 hours", "20.0 days"; rates and counts as format_value."""
    text = format_value(name, value)
    unit = KPI_UNITS.get(name.partition(".")[0])
    return f"{text} {unit}" if unit and value is not None and unit not in ("out of 5", "−100 to +100") else text


def _cell_text(column: str, value: Any) -> str:
    """A breakdown cell for people: counts as integers, rates as %, satisfaction to 2 places, others to 1;
    hidden cells as their suppression mark (explained by `suppression_footnotes`)."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, str):
        return SUPPRESSION_MARKS.get(value, value)
    if column.endswith("_rate"):
        return f"{float(value) * 100:.1f}%"
    if column in _COUNT_COLUMNS:
        return f"{int(value):,}"
    if column == "satisfaction_mean":
        return f"{float(value):.2f}"
    if isinstance(value, int | float | np.number):
        return f"{float(value):,.1f}"
    return str(value)


def target_text(kpi: str | None, target: float | None, direction: str) -> str:
    if target is None or kpi is None:
        return "—"
    sign = "≥" if direction == "at_least" else "≤"
    return f"{sign} {format_value(kpi, target)}"


def pace_text(pace: str | None) -> str:
    return PACE_TEXT.get(pace or "", "—")


def kpi_rows(report: Report) -> list[dict[str, Any]]:
    """One row per KPI: group, name, label, value (raw), text; compare values when comparing."""
    rows = []
    for group, names in KPI_GROUPS.items():
        for name in names:
            value = report.kpis.get(name)
            row = {"group": group, "name": name, "label": KPI_LABELS[name], "value": value,
                   "text": format_value(name, value), "unit": KPI_UNITS.get(name, "")}
            if report.compare is not None:
                other = report.compare.kpis.get(name)
                row["compare_value"] = other
                row["compare_text"] = format_value(name, other)
            rows.append(row)
    return rows


def check_out_dir(out_dir: str | Path) -> Path:
    """`out_dir` as a folder the report can go into (created when missing); OutputError when it is a file
    or cannot be created."""
    out = Path(out_dir)
    existing = next((p for p in (out, *out.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        where = "is a file" if existing == out else f"is inside {existing}, which is a file"
        raise OutputError(f"cannot write the report into {out}: it {where}, not a folder; give --out a folder "
                          "(it is created when missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the folder {out}: {e.strerror or e}; choose a folder you can write "
                          "to (e.g. --out DIR)") from e
    return out


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
            write_xlsx(report, path)
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


# ---------------------------------------------------------------------------------------------------------
# json and markdown


def write_json(report: Report, path: str | Path) -> Path:
    return atomic_write_text(path, json.dumps(report.as_dict(), indent=2, ensure_ascii=False, default=str) + "\n")


def _md_escape(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(_md_escape(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
    return lines


def coverage_lines(report: Report) -> list[str]:
    """Match coverage, unmatched people and inactive pairs, as sentences."""
    c = report.coverage
    if c is None:
        return ["No matches file: run `mentorctl match` to see how many mentees are matched."]
    rate = format_value("participation_rate", c.rate)
    return [f"{c.matched:,} of {c.eligible:,} eligible mentees matched ({rate}); {len(c.unmatched):,} unmatched.",
            f"{len(c.inactive_pairs):,} of {c.pairs:,} pairs logged nothing together in the last {c.window_days} "
            "days of the period (inactive)."]


def goal_rows(report: Report) -> list[dict[str, str]]:
    """The goals as people read them: plain KPI names, values with units, target and target to date, status."""
    rows = []
    for g in report.goals:
        kpi = g.kpi or ""
        base = kpi.partition(".")[0]
        to_date = "—"
        if g.expected is not None and g.target is not None and g.expected != g.target:
            to_date = target_text(kpi, g.expected, g.direction)
        rows.append({"name": g.name, "kpi": KPI_LABELS.get(base, kpi or "—"), "value": with_unit(kpi, g.value),
                     "target": target_text(kpi, g.target, g.direction), "to_date": to_date,
                     "status": pace_text(g.pace), "description": g.description or "",
                     "cumulative": "yes" if base in CUMULATIVE_KPIS else ""})
    return rows


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
                           [[_cell_text(c, row[c]) for c in columns] for row in table.to_dict(orient="records")])
        lines += [""] + suppression_footnotes(report.min_group_size) + [""]
    if report.self_matching is not None:
        lines += ["## Self-matching", ""]
        lines += _md_table(["Step", "Value"], [list(row) for row in report.self_matching.rows()])
        lines.append("")
    if report.relationships is not None:
        lines += _relationship_lines(report)
    lines += ["## Data quality", ""] + [f"- {item}" for item in _quality_lines(report)]
    for problem in report.data_quality.summary():
        rows = ", ".join(str(r) for r in problem["rows"]) + (" …" if problem["count"] > len(problem["rows"]) else "")
        example = f"; e.g. '{problem['example']}'" if problem["example"] else ""
        lines.append(f"- {problem['file']}, column {problem['column']}: {problem['count']} row(s) "
                     f"{problem['problem']} (rows {rows}{example})")
    return clean_text("\n".join(lines) + "\n")


def _relationship_lines(report: Report) -> list[str]:
    section = report.relationships
    assert section is not None
    f = section.figures

    def days(value: float | None) -> str:
        return "—" if value is None else f"{value:g} days"

    share = "—" if f.reached_planned_length is None else f"{f.reached_planned_length:.0%}"
    reasons = ", ".join(f"{k} {v}" for k, v in section.ended_by_reason_shown.items() if v != 0) or "none"
    rows: list[list[Any]] = [["Relationships started", f.started], ["Active", f.active], ["Paused", f.paused],
            ["Ended", f"{f.ended} ({f.ended_completed} completed, {f.ended_early} early)"],
            ["Ended by reason", reasons], ["Median duration", days(f.median_duration_days)],
            ["Reached the planned length", share],
            ["Median days to first meeting", days(section.median_days_to_first_meeting)],
            ["Waitlist", f"{f.waitlist} (median wait {days(f.median_wait_days)})"], ["Rematches", f.rematches],
            ["Pairs for the coordinator to follow up", f"{len(section.follow_up)} (see follow-up.csv)"]]
    return ["## Relationships", "", *_md_table(["", "Value"], rows), ""]


def _quality_lines(report: Report) -> list[str]:
    q = report.data_quality
    lines = [f"Sources: {', '.join(q.sources) or 'none'}.",
             f"{q.rows_read:,} activity row(s) read; {q.events_used:,} event(s) counted in the period; "
             f"{q.bad_rows:,} row(s) could not be used."]
    return lines + list(q.notes)


def write_markdown(report: Report, path: str | Path) -> Path:
    return atomic_write_text(path, render_markdown(report))


# ---------------------------------------------------------------------------------------------------------
# html


def _goal_target(report: Report, kpi: str) -> float | None:
    """The target of the first goal on `kpi` (at_least), for a chart's target line."""
    for g in report.goals:
        if g.kpi == kpi and g.target is not None and g.direction == "at_least":
            return float(g.target)
    return None


def html_context(report: Report) -> dict[str, Any]:
    """The template context of report.html.j2 (plain dicts, lists and pre-escaped SVG markup)."""
    from markupsafe import Markup

    from mentorctl.report import charts

    weekly = report.weekly
    labels = [d.strftime("%d %b") for d in weekly["week_start"]]
    week = "week starting"
    other_events = (weekly["events"] - weekly["sessions"] - weekly["messages"]).tolist()
    cumulative_sessions = weekly["sessions"].cumsum().tolist()
    chart_list = [
        ("Activity per week", charts.bar_chart("Activity per week", labels, {
            "sessions": weekly["sessions"].tolist(), "messages": weekly["messages"].tolist(),
            "other events": other_events}, stacked=True, integer=True, x_title=week, y_title="events")),
        ("Mentoring hours to date", charts.line_chart(
            "Mentoring hours to date", labels, {"hours": weekly["cumulative_hours"].tolist()},
            x_title=week, y_title="hours (cumulative)", target=_goal_target(report, "mentoring_hours"),
            target_at=report.elapsed)),
        ("Sessions held to date", charts.line_chart(
            "Sessions held to date", labels, {"sessions": cumulative_sessions}, integer=True,
            x_title=week, y_title="sessions (cumulative)", target=_goal_target(report, "sessions_held"),
            target_at=report.elapsed)),
        ("Goals set and achieved to date", charts.line_chart("Goals set and achieved to date", labels, {
            "set": weekly["cumulative_goals_set"].tolist(),
            "achieved": weekly["cumulative_goals_achieved"].tolist()}, integer=True, x_title=week,
            y_title="goals (cumulative)")),
        ("Satisfaction: answers per score", charts.bar_chart(
            "Satisfaction: answers per score", [str(k) for k in report.satisfaction],
            {"answers": list(report.satisfaction.values())}, integer=True, value_labels=True,
            x_title="score (1 = very unhappy, 5 = very happy)", y_title="answers")),
    ]
    retention, promotion = report.kpis.get("retention_rate"), report.kpis.get("promotion_rate")
    if isinstance(retention, dict) and isinstance(promotion, dict):
        chart_list.append(("Retention and promotion: took part vs others", charts.bar_chart(
            "Retention and promotion", ["Retention", "Promotion"], {
                "took part": [retention.get("participants"), promotion.get("participants")],
                "others": [retention.get("non_participants"), promotion.get("non_participants")]},
            percent=True, max_value=1.0, value_labels=True, y_title="share of people")))
    met, judged = report.goals_met
    goals = []
    for g, row in zip(report.goals, goal_rows(report), strict=True):
        target = g.expected if g.expected is not None else g.target
        goals.append({**row, "met": g.met, "pace": g.pace or "",
                      "spark": Markup(charts.sparkline([v for _, v in g.trend], target)) if g.trend else "",
                      "trend": ", ".join(f"{d:%d %b}: {format_value(g.kpi or '', v)}" for d, v in g.trend)})
    groups: dict[str, list[dict[str, Any]]] = {}
    for kpi in kpi_rows(report):
        value = kpi["value"]
        entry: dict[str, Any] = {**kpi, "sub": None}
        if isinstance(value, dict):   # retention, promotion: people who took part big, everyone else below
            entry = {**entry, "text": format_value(entry["name"], value.get("participants")),
                     "sub": f"others {format_value(entry['name'], value.get('non_participants'))}"}
        if value is None:
            entry["unit"] = ""
        groups.setdefault(entry["group"], []).append(entry)
    breakdowns = [{
        "field": name,
        "headers": [BREAKDOWN_LABELS.get(c, c) for c in table.columns],
        "rows": [[_cell_text(c, row[c]) for c in table.columns] for row in table.to_dict(orient="records")],
    } for name, table in report.breakdowns.items()]
    coverage = report.coverage
    return {
        "title": f"{report.programme}: programme report",
        "programme_name": report.programme,
        "period_start": report.period.start.strftime("%d %B %Y"),
        "period_end": report.period.end.strftime("%d %B %Y"),
        "generated": report.generated_at.strftime("%Y-%m-%d %H:%M"),
        "population": f"{report.population:,}",
        "excluded": report.excluded,
        "participants": f"{report.participants:,}",
        "verdict": report.verdict,
        "missed": [g.name for g in report.missed_goals],
        "elapsed": f"{report.elapsed:.0%}",
        "goals_met": met, "goals_judged": judged, "goals_total": len(report.goals),
        "goals": goals,
        "coverage": None if coverage is None else {
            "rate": format_value("participation_rate", coverage.rate), "matched": f"{coverage.matched:,}",
            "eligible": f"{coverage.eligible:,}", "unmatched": f"{len(coverage.unmatched):,}",
            "unmatched_ids": coverage.unmatched[:20], "more_unmatched": max(0, len(coverage.unmatched) - 20),
            "inactive": f"{len(coverage.inactive_pairs):,}", "pairs": f"{coverage.pairs:,}",
            "window": coverage.window_days},
        "coverage_lines": coverage_lines(report),
        "kpi_groups": groups,
        "compare_name": report.compare.programme if report.compare else None,
        "charts": [{"title": t, "svg": Markup(svg)} for t, svg in chart_list],
        "chart_min_width": charts.MIN_DISPLAY_WIDTH,
        "warnings": list(report.warnings),
        "breakdowns": breakdowns,
        "footnotes": suppression_footnotes(report.min_group_size),
        "min_group_size": report.min_group_size,
        "empty": report.is_empty,
        "quality_lines": _quality_lines(report),
        "problems": report.data_quality.summary(),
        "window_days": report.active_window_days,
        "took_part": TOOK_PART,
        "self_matching": report.self_matching.rows() if report.self_matching is not None else None,
    }


def render_html(report: Report, programme: Any = None) -> str:
    from mentorctl.templating import make_environment, render_template

    env = make_environment(programme)
    return clean_text(render_template(env, "report.html.j2", html_context(report)))


def write_html(report: Report, path: str | Path, programme: Any = None) -> Path:
    return atomic_write_text(path, render_html(report, programme))


# ---------------------------------------------------------------------------------------------------------
# xlsx


def _safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells without XML-illegal characters and neutralised against formulas (per distinct value)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or isinstance(out[column].dtype, pd.StringDtype):
            values = out[column].astype(object)
            try:
                codes, uniques = pd.factorize(values, use_na_sentinel=True)
            except TypeError:  # unhashable cells (lists): clean them one by one
                out[column] = values.map(lambda v: neutralise_formula(clean_text(v)) if isinstance(v, str) else v)
                continue
            cleaned = np.array([neutralise_formula(clean_text(u)) if isinstance(u, str) else u for u in uniques]
                               + [None], dtype=object)
            out[column] = cleaned[codes]
    return out


PERCENT, DECIMAL, INTEGER = "0.0%", "#,##0.0", "#,##0"
WEEKLY_LABELS = {
    "week_start": "Week starting", "sessions": "Sessions", "messages": "Messages", "goals_set": "Goals set",
    "goals_achieved": "Goals achieved", "assignments_created": "Assignments created",
    "assignments_completed": "Assignments completed", "training_attended": "Training attended",
    "survey_responses": "Survey responses", "events": "Events", "hours": "Hours",
    "cumulative_hours": "Hours to date", "cumulative_goals_set": "Goals set to date",
    "cumulative_goals_achieved": "Goals achieved to date", "active_people": "Active people"}


def _column_format(name: str) -> str | None:
    """The number format of a column named like a KPI or breakdown column."""
    base = name.partition(".")[0]
    if base.endswith("_rate") or base in ("participation", "non_participants", "participants_rate"):
        return PERCENT
    if base in ("people", "participants", "active", "goals_set", "goals_achieved", "respondents"):
        return INTEGER
    if base.endswith(("_per_participant", "hours")) or base in ("satisfaction_mean",):
        return DECIMAL
    return None


def _append_frame(sheet: Any, frame: pd.DataFrame, bold: Any, *, headers: dict[str, str] | None = None,
                  formats: dict[str, str | None] | None = None, row_formats: Sequence[str | None] | None = None,
                  value_columns: tuple[str, ...] = ()) -> None:
    """`frame` as a table: plain headers (`headers` maps column names), bold and frozen, an autofilter,
    number formats per column (`formats`, else by the column's name) or per row for `value_columns`
    (`row_formats`), and widths that fit the longest value."""
    shown = [(headers or {}).get(str(c), str(c)) for c in frame.columns]
    sheet.append([clean_text(h) for h in shown])
    for cell in sheet[1]:
        cell.font = bold
    widths = [len(h) for h in shown]
    for r, row in enumerate(_safe_frame(frame).itertuples(index=False, name=None), start=2):
        sheet.append([_xl(v) for v in row])
        for c, value in enumerate(row):
            column = str(frame.columns[c])
            fmt = (formats or {}).get(column, _column_format(column))
            if row_formats is not None and column in value_columns:
                fmt = row_formats[r - 2]
            if fmt and isinstance(value, int | float | np.number) and not isinstance(value, bool):
                sheet.cell(row=r, column=c + 1).number_format = fmt
            text = f"{value * 100:.1f}%" if fmt == PERCENT and isinstance(value, int | float) else str(
                "" if value is None else value)
            widths[c] = max(widths[c], len(text))
    sheet.freeze_panes = "A2"
    if len(frame.columns):
        last = sheet.cell(row=1, column=len(frame.columns)).column_letter
        sheet.auto_filter.ref = f"A1:{last}{max(1, len(frame) + 1)}"
    for index, width in enumerate(widths, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = min(60, max(8, width + 2))


def _kpi_format(name: str) -> str:
    base = name.partition(".")[0]
    if base in RATE_KPIS or base.endswith("_rate"):
        return PERCENT
    if base in ("mentoring_hours", "median_days_to_goal", "satisfaction_mean", "nps"):
        return DECIMAL
    return INTEGER


def _xl(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_localize(None).to_pydatetime() if value.tzinfo else value.to_pydatetime()
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, str):
        return clean_text(value)
    return value


def write_xlsx(report: Report, path: str | Path) -> Path:
    """KPIs, goals, weekly series with native charts, breakdowns, data quality and the cleaned data."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.styles import Font

    bold = Font(bold=True)
    book = Workbook()
    if book.active is not None:  # the default empty sheet
        book.remove(book.active)

    kpi_list = kpi_rows(report)
    kpis = pd.DataFrame([{
        "area": r["group"], "measure": r["label"],
        "value": r["value"] if not isinstance(r["value"], dict) else r["value"].get("participants"),
        "others": r["value"].get("non_participants") if isinstance(r["value"], dict) else None,
        "unit": r["unit"] or ("%" if _column_format(r["name"]) == PERCENT else ""),
        "key": r["name"],
        **({f"compare: {report.compare.programme}": r["compare_text"]} if report.compare else {}),
    } for r in kpi_list])
    kpi_formats = [_kpi_format(r["name"]) for r in kpi_list]
    _append_frame(book.create_sheet("KPIs"), kpis, bold, headers={
        "area": "Area", "measure": "Measure", "value": "Value", "others": "Others (did not take part)",
        "unit": "Unit", "key": "Key (report.json)"}, row_formats=kpi_formats, value_columns=("value", "others"))

    goal_list = goal_rows(report)
    goals = pd.DataFrame([{
        "goal": g.name, "measure": row["kpi"], "value": g.value, "target": g.target,
        "target_to_date": g.expected, "status": g.pace or "", "key": g.kpi,
        **{f"{d:%Y-%m-%d}": v for d, v in g.trend},
    } for g, row in zip(report.goals, goal_list, strict=True)]) if report.goals else pd.DataFrame({"goal": []})
    goal_formats = [_kpi_format(g.kpi or "") for g in report.goals]
    trend_columns = tuple(c for c in goals.columns if c[:1].isdigit())
    _append_frame(book.create_sheet("Goals"), goals, bold, headers={
        "goal": "Goal", "measure": "Measure", "value": "Value", "target": "Target",
        "target_to_date": "Target to date", "status": "Status", "key": "Key (report.json)"},
        row_formats=goal_formats, value_columns=("value", "target", "target_to_date", *trend_columns))

    weekly = report.weekly.copy()
    weekly_sheet = book.create_sheet("Weekly")
    _append_frame(weekly_sheet, weekly, bold, headers=WEEKLY_LABELS,
                  formats={"hours": DECIMAL, "cumulative_hours": DECIMAL})
    charts = book.create_sheet("Charts")
    n = len(weekly) + 1
    columns = {name: i + 1 for i, name in enumerate(weekly.columns)}
    weeks = Reference(weekly_sheet, min_col=1, min_row=2, max_row=n)

    def add(chart: Any, names: list[str], anchor: str, title: str, y_title: str) -> None:
        for name in names:
            col = columns[name]
            chart.add_data(Reference(weekly_sheet, min_col=col, min_row=1, max_row=n), titles_from_data=True)
        chart.set_categories(weeks)
        chart.title, chart.y_axis.title, chart.x_axis.title = title, y_title, "week starting"
        chart.width, chart.height = 22, 8
        charts.add_chart(chart, anchor)

    bar = BarChart()
    bar.type, bar.grouping, bar.overlap = "col", "stacked", 100
    add(bar, ["sessions", "messages"], "A1", "Activity per week", "events")
    add(LineChart(), ["cumulative_hours"], "A18", "Cumulative mentoring hours", "hours")
    add(LineChart(), ["cumulative_goals_set", "cumulative_goals_achieved"], "A35", "Goals set vs achieved",
        "goals")

    satisfaction = pd.DataFrame({"score": list(report.satisfaction), "answers": list(report.satisfaction.values())})
    sat_sheet = book.create_sheet("Satisfaction")
    _append_frame(sat_sheet, satisfaction, bold, headers={"score": "Score (1-5)", "answers": "Answers"},
                  formats={"score": INTEGER, "answers": INTEGER})
    sat_chart = BarChart()
    sat_chart.add_data(Reference(sat_sheet, min_col=2, min_row=1, max_row=6), titles_from_data=True)
    sat_chart.set_categories(Reference(sat_sheet, min_col=1, min_row=2, max_row=6))
    sat_chart.title, sat_chart.width, sat_chart.height = "Satisfaction distribution", 16, 7
    charts.add_chart(sat_chart, "A52")

    retention, promotion = report.kpis.get("retention_rate"), report.kpis.get("promotion_rate")
    if isinstance(retention, dict) and isinstance(promotion, dict):
        org = pd.DataFrame({"measure": ["retention", "promotion"],
                            "participants": [retention.get("participants"), promotion.get("participants")],
                            "non_participants": [retention.get("non_participants"),
                                                 promotion.get("non_participants")]})
        org_sheet = book.create_sheet("Retention")
        _append_frame(org_sheet, org, bold, headers={"measure": "Measure", "participants": "Took part",
                                                     "non_participants": "Others"},
                      formats={"participants": PERCENT, "non_participants": PERCENT})
        org_chart = BarChart()
        org_chart.add_data(Reference(org_sheet, min_col=2, max_col=3, min_row=1, max_row=3), titles_from_data=True)
        org_chart.set_categories(Reference(org_sheet, min_col=1, min_row=2, max_row=3))
        org_chart.title, org_chart.width, org_chart.height = "Retention and promotion", 16, 7
        charts.add_chart(org_chart, "A67")

    for field_name, table in report.breakdowns.items():
        sheet = book.create_sheet(_sheet_name(f"By {field_name}", book))
        shown = table.astype(object).map(lambda v: SUPPRESSION_MARKS.get(v, v) if isinstance(v, str) else v)
        shown["group"] = table["group"]
        _append_frame(sheet, shown, bold, headers=BREAKDOWN_LABELS)
        sheet.append([])
        for note in suppression_footnotes(report.min_group_size):
            sheet.append([note])

    quality = pd.DataFrame({"note": _quality_lines(report)})
    _append_frame(book.create_sheet("Data quality"), quality, bold, headers={"note": "Note"})
    problems = report.data_quality.problems
    rejected = book.create_sheet("Rejected rows")
    _append_frame(rejected, problems.head(PROBLEM_SHEET_ROWS), bold)
    if len(problems) > PROBLEM_SHEET_ROWS:
        rejected.append([f"… {len(problems) - PROBLEM_SHEET_ROWS:,} more problems not shown"])

    data = book.create_sheet("Data")
    events = report.events
    shown = events.head(EXCEL_MAX_ROWS)
    headers = ["timestamp", "event", "mentor_id", "mentee_id", "duration_minutes", "rating", "item_id",
               "source_file", "source_row"]
    data.append(headers)
    for cell in data[1]:
        cell.font = bold
    data.freeze_panes = "A2"
    data.column_dimensions["A"].width = 18
    probe = data.cell(row=2, column=1, value=pd.Timestamp("2000-01-01").to_pydatetime())
    probe.number_format = "yyyy-mm-dd hh:mm"
    buffer = BytesIO()
    book.save(buffer)
    content = _inject_data_sheet(buffer.getvalue(), "Data", shown)
    return atomic_write_bytes(path, content)


def _sheet_name(name: str, book: Any) -> str:
    cleaned = re.sub(r"[\[\]\*\?/\\:]", "_", clean_text(name))[:31]
    base, i = cleaned, 2
    while cleaned in book.sheetnames:
        cleaned = f"{base[:28]}~{i}"
        i += 1
    return cleaned


_XML_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_SPECIAL = re.compile(r"[&<>\"\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_FORMULA_FIRST = frozenset("=+-@\t\r|%")


def _xml_text(value: str) -> str:
    return clean_text(str(value)).translate(_XML_ESCAPE)


def _safe_strings(uniques: list[str]) -> list[str]:
    """XML-escaped, formula-neutralised text; checks the whole batch at C speed before touching items."""
    if any(u[:1] in _FORMULA_FIRST for u in uniques):
        uniques = [neutralise_formula(u) for u in uniques]
    if _SPECIAL.search("".join(uniques)) is None:
        return uniques
    return [_xml_text(u) for u in uniques]


def _string_cells(values: pd.Series, shared: list[str], base: int) -> np.ndarray:
    """Cells of a text column as shared-string references (index `base` + position in `shared`), built from
    the column's distinct values; text a spreadsheet would run as a formula is neutralised."""
    # (pandas-stubs does not admit na_value=None, which pandas documents and accepts)
    cells = values.to_numpy(dtype="O", na_value=None)  # type: ignore[call-overload]
    codes, uniques = pd.factorize(np.asarray(cells, dtype="O"),
                                  use_na_sentinel=True)
    offset = base + len(shared)
    shared.extend(_safe_strings([str(u) for u in uniques]))
    cells = np.array([f'<c t="s"><v>{offset + i}</v></c>' for i in range(len(uniques))] + ["<c/>"], dtype=object)
    return cells[codes]


def _number_cells(values: np.ndarray, style: str = "") -> np.ndarray:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    integer = np.issubdtype(np.asarray(values).dtype, np.integer)
    cells = np.array([f"<c{style}><v>{int(u) if integer else float(u)!r}</v></c>" for u in uniques] + ["<c/>"],
                     dtype=object)
    return cells[codes]


def _inject_data_sheet(workbook: bytes, sheet: str, events: pd.DataFrame) -> bytes:
    """Replace the (header-only) `sheet` of an openpyxl workbook with every event, written as sheet XML
    directly: a million rows in seconds where openpyxl's per-cell API would take about a minute."""
    source = zipfile.ZipFile(BytesIO(workbook))
    part = _sheet_part(source, sheet)
    template = source.read(part).decode("utf-8")
    header = _found(re.search(r"<row r=\"1\".*?</row>", template, re.S)).group(0)
    date_style = re.search(r'<c r="A2"[^>]*\bs="(\d+)"', template)
    style = f' s="{date_style.group(1)}"' if date_style else ""

    names = source.namelist()
    has_shared = "xl/sharedStrings.xml" in names
    existing = re.findall(r"<si>.*?</si>", source.read("xl/sharedStrings.xml").decode("utf-8"), re.S) \
        if has_shared else []
    shared: list[str] = []
    base = len(existing)

    local = events["timestamp"]
    if isinstance(local.dtype, pd.DatetimeTZDtype):
        local = local.dt.tz_localize(None)
    serial = (local.to_numpy().astype("datetime64[s]").astype(np.int64) + 2209161600) / 86400.0
    columns = [
        _number_cells(serial, style),
        _string_cells(events["event"].astype(object), shared, base),
        _string_cells(events["mentor_id"], shared, base),
        _string_cells(events["mentee_id"], shared, base),
        _number_cells(events["duration_minutes"].to_numpy()),
        _number_cells(events["rating"].to_numpy()),
        _string_cells(events["item_id"], shared, base),
        _string_cells(events["_source"].astype(object), shared, base),
        _number_cells(events["_row"].to_numpy()),
    ]
    grid = np.empty((len(events), len(columns) + 2), dtype=object)
    grid[:, 0] = "<row>"
    for i, cells in enumerate(columns, start=1):
        grid[:, i] = cells
    grid[:, -1] = "</row>"
    body = "".join(grid.ravel().tolist())
    last = len(events) + 1
    xml = (template[:template.index("<sheetData>")] + "<sheetData>" + header + body + "</sheetData>"
           + template[template.index("</sheetData>") + len("</sheetData>"):])
    xml = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:I{last}"/>', xml)
    strings = existing + [f"<si><t xml:space=\"preserve\">{s}</t></si>" for s in shared]
    shared_out = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                  '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                  f'count="{len(strings)}" uniqueCount="{len(strings)}">' + "".join(strings) + "</sst>")

    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for name in names:
            content = source.read(name)
            if name == part:
                content = xml.encode("utf-8")
            elif name == "xl/sharedStrings.xml":
                content = shared_out.encode("utf-8")
            elif name == "[Content_Types].xml" and not has_shared:
                content = content.replace(b"</Types>", (
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                    b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'))
            elif name == "xl/_rels/workbook.xml.rels" and not has_shared:
                content = content.replace(b"</Relationships>", (
                    b'<Relationship Id="rIdMentorctlStrings" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                    b"</Relationships>"))
            target.writestr(source.getinfo(name), content, compress_type=zipfile.ZIP_DEFLATED,
                            compresslevel=1)
        if not has_shared:
            target.writestr("xl/sharedStrings.xml", shared_out.encode("utf-8"))
    return out.getvalue()


def _found(match: re.Match[str] | None) -> re.Match[str]:
    """A part of the workbook openpyxl always writes (the header row, a sheet's relationship)."""
    if match is None:
        raise RuntimeError("unexpected workbook layout from openpyxl")  # pragma: no cover
    return match


def _sheet_part(book: zipfile.ZipFile, sheet: str) -> str:
    workbook = book.read("xl/workbook.xml").decode("utf-8")
    rels = book.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    match = re.search(rf'<sheet[^>]*name="{re.escape(sheet)}"[^>]*r:id="([^"]+)"', workbook) or \
        re.search(rf'<sheet[^>]*r:id="([^"]+)"[^>]*name="{re.escape(sheet)}"', workbook)
    rel = _found(match).group(1)
    target = re.search(rf'<Relationship[^>]*Id="{rel}"[^>]*Target="([^"]+)"', rels) or \
        re.search(rf'<Relationship[^>]*Target="([^"]+)"[^>]*Id="{rel}"', rels)
    path = _found(target).group(1)
    return path.lstrip("/") if path.startswith("/") else f"xl/{path}"


__all__ = ["REPORT_FILES", "check_out_dir", "clean_text", "format_value", "kpi_rows", "render_html",
           "render_markdown", "write_report", "KPI_NAMES"]
