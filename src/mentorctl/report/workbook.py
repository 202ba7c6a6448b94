"""report.xlsx: KPIs, goals, the weekly series with native charts, satisfaction, retention, breakdowns, the
relationships section, the self-matching funnel, data quality, rejected rows and every counted event, written
by `mentorctl.xlsx` (the one spreadsheet writer: formula-safe, number formats, charts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mentorctl.report.build import Report
from mentorctl.report.formatting import (
    BREAKDOWN_LABELS,
    EXCEL_MAX_ROWS,
    PROBLEM_SHEET_ROWS,
    RELATIONSHIP_NOTE,
    SUPPRESSION_MARKS,
    goal_rows,
    kpi_rows,
    quality_lines,
    shown_count,
    suppression_footnotes,
)
from mentorctl.report.kpis import RATE_KPIS, ByParticipation
from mentorctl.xlsx import DATETIME, DECIMAL, INTEGER, PERCENT, Chart, Sheet, write_xlsx

WEEKLY_LABELS = {
    "week_start": "Week starting", "sessions": "Sessions", "messages": "Messages", "goals_set": "Goals set",
    "goals_achieved": "Goals achieved", "assignments_created": "Assignments created",
    "assignments_completed": "Assignments completed", "training_attended": "Training attended",
    "survey_responses": "Survey responses", "events": "Events", "hours": "Hours",
    "cumulative_hours": "Hours to date", "cumulative_goals_set": "Goals set to date",
    "cumulative_goals_achieved": "Goals achieved to date", "active_people": "Active people"}
DATA_COLUMNS = {"timestamp": "timestamp", "event": "event", "mentor_id": "mentor_id", "mentee_id": "mentee_id",
                "duration_minutes": "duration_minutes", "rating": "rating", "item_id": "item_id",
                "_source": "source_file", "_row": "source_row"}


def column_format(name: str) -> str | None:
    """The number format of a column named like a KPI or breakdown column."""
    base = name.partition(".")[0]
    if base.endswith("_rate") or base in ("participation", "non_participants", "participants_rate"):
        return PERCENT
    if base in ("people", "participants", "active", "goals_set", "goals_achieved", "respondents"):
        return INTEGER
    if base.endswith(("_per_participant", "hours")) or base in ("satisfaction_mean",):
        return DECIMAL
    return None


def kpi_format(name: str) -> str:
    base = name.partition(".")[0]
    if base in RATE_KPIS or base.endswith("_rate"):
        return PERCENT
    if base in ("mentoring_hours", "median_days_to_goal", "satisfaction_mean", "nps"):
        return DECIMAL
    return INTEGER


def _by_name(frame: pd.DataFrame, given: dict[str, str | None] | None = None) -> dict[str, str | None]:
    return {str(c): (given or {}).get(str(c), column_format(str(c))) for c in frame.columns}


def report_sheets(report: Report) -> dict[str, Sheet]:
    """The sheets of report.xlsx, in order (keys are the sheet titles before `xlsx.sheet_titles`)."""
    sheets: dict[str, Sheet] = {}
    kpi_list = kpi_rows(report)
    kpis = pd.DataFrame([{
        "area": r["group"], "measure": r["label"],
        "value": r["value"].participants if isinstance(r["value"], ByParticipation) else r["value"],
        "others": r["value"].non_participants if isinstance(r["value"], ByParticipation) else None,
        "unit": r["unit"] or ("%" if column_format(r["name"]) == PERCENT else ""),
        "key": r["name"],
        **({f"compare: {report.compare.programme}": r["compare_text"]} if report.compare else {}),
    } for r in kpi_list])
    kpi_formats: list[str | None] = [kpi_format(r["name"]) for r in kpi_list]
    sheets["KPIs"] = Sheet(kpis, autofilter=True, headers={
        "area": "Area", "measure": "Measure", "value": "Value", "others": "Others (did not take part)",
        "unit": "Unit", "key": "Key (report.json)"}, formats=_by_name(kpis, {"value": None, "others": None}),
        row_formats={"value": kpi_formats, "others": kpi_formats})

    goals = pd.DataFrame([{
        "goal": g.name, "measure": row["kpi"], "value": g.value, "target": g.target,
        "target_to_date": g.expected, "status": g.pace or "", "key": g.kpi,
        **{f"{d:%Y-%m-%d}": v for d, v in g.trend},
    } for g, row in zip(report.goals, goal_rows(report), strict=True)]) if report.goals else pd.DataFrame({"goal": []})
    goal_formats: list[str | None] = [kpi_format(g.kpi or "") for g in report.goals]
    valued = ("value", "target", "target_to_date", *(c for c in goals.columns if c[:1].isdigit()))
    sheets["Goals"] = Sheet(goals, autofilter=True, headers={
        "goal": "Goal", "measure": "Measure", "value": "Value", "target": "Target",
        "target_to_date": "Target to date", "status": "Status", "key": "Key (report.json)"},
        formats=_by_name(goals), row_formats={c: goal_formats for c in valued if c in goals.columns})

    weekly = report.weekly
    sheets["Weekly"] = Sheet(weekly, autofilter=True, headers=WEEKLY_LABELS,
                             formats=_by_name(weekly, {"hours": DECIMAL, "cumulative_hours": DECIMAL}))
    charts = [
        Chart("bar", "Activity per week", "Weekly", "week_start", ("sessions", "messages"), stacked=True,
              x_title="week starting", y_title="events"),
        Chart("line", "Cumulative mentoring hours", "Weekly", "week_start", ("cumulative_hours",),
              x_title="week starting", y_title="hours"),
        Chart("line", "Goals set vs achieved", "Weekly", "week_start",
              ("cumulative_goals_set", "cumulative_goals_achieved"), x_title="week starting", y_title="goals"),
        Chart("bar", "Satisfaction distribution", "Satisfaction", "score", ("answers",), x_title="score (1-5)",
              y_title="answers", width_cm=16, height_cm=7)]
    satisfaction = pd.DataFrame({"score": list(report.satisfaction), "answers": list(report.satisfaction.values())})
    retention, promotion = report.kpis.get("retention_rate"), report.kpis.get("promotion_rate")
    organisation = None
    if isinstance(retention, ByParticipation) and isinstance(promotion, ByParticipation):
        organisation = pd.DataFrame({"measure": ["retention", "promotion"],
                                     "participants": [retention.participants, promotion.participants],
                                     "non_participants": [retention.non_participants, promotion.non_participants]})
        charts.append(Chart("bar", "Retention and promotion", "Retention", "measure",
                            ("participants", "non_participants"), percent=True, width_cm=16, height_cm=7))
    funnel = _funnel(report)
    if funnel is not None:
        counts = funnel[1]
        charts.append(Chart("bar", "Self-matching funnel", "Self-matching", "step", ("value",), rows=counts,
                            y_title="mentees / requests", width_cm=16, height_cm=7))
    sheets["Charts"] = Sheet(pd.DataFrame(), charts=charts)
    sheets["Satisfaction"] = Sheet(satisfaction, autofilter=True, headers={"score": "Score (1-5)",
                                                                           "answers": "Answers"},
                                   formats={"score": INTEGER, "answers": INTEGER})
    if organisation is not None:
        sheets["Retention"] = Sheet(organisation, autofilter=True, headers={
            "measure": "Measure", "participants": "Took part", "non_participants": "Others"},
            formats={"participants": PERCENT, "non_participants": PERCENT})

    for field_name, table in report.breakdowns.items():
        shown = table.astype(object).map(lambda v: SUPPRESSION_MARKS.get(v, v) if isinstance(v, str) else v)
        shown["group"] = table["group"]
        sheets[f"By {field_name}"] = Sheet(shown, autofilter=True, headers=BREAKDOWN_LABELS,
                                           formats=_by_name(shown),
                                           footer=suppression_footnotes(report.min_group_size))
    relationships = _relationships(report)
    if relationships is not None:
        sheets["Relationships"] = relationships
    if funnel is not None:
        sheets["Self-matching"] = Sheet(funnel[0], headers={"step": "Step", "value": "Value"},
                                        row_formats={"value": funnel[2]})

    sheets["Data quality"] = Sheet(pd.DataFrame({"note": quality_lines(report)}), autofilter=True,
                                   headers={"note": "Note"})
    problems = report.data_quality.problems
    more = len(problems) - PROBLEM_SHEET_ROWS
    sheets["Rejected rows"] = Sheet(problems.head(PROBLEM_SHEET_ROWS), autofilter=True,
                                    formats=_by_name(problems),
                                    footer=[f"… {more:,} more problems not shown"] if more > 0 else ())
    events = report.events.head(EXCEL_MAX_ROWS)[list(DATA_COLUMNS)].rename(columns=DATA_COLUMNS)
    sheets["Data"] = Sheet(events, formats={"timestamp": DATETIME}, widths={"timestamp": 18})
    return sheets


def _relationships(report: Report) -> Sheet | None:
    """The relationships section as numbers (small groups of endings by reason hidden, marked *); the
    follow-up list of pairs is never in the report: only how many pairs it holds."""
    section = report.relationships
    if section is None:
        return None
    f = section.figures
    rows: list[tuple[str, Any, str | None]] = [
        ("Relationships started", f.started, INTEGER), ("Active", f.active, INTEGER),
        ("Paused", f.paused, INTEGER), ("Ended", f.ended, INTEGER), ("Ended: completed", f.ended_completed, INTEGER),
        ("Ended early", f.ended_early, INTEGER)]
    rows += [(f"Ended by reason: {reason}", value if isinstance(value, int) else shown_count(value), INTEGER)
             for reason, value in section.ended_by_reason_shown.items()]
    rows += [("Median duration (days)", f.median_duration_days, DECIMAL),
             ("Reached the planned length", f.reached_planned_length, PERCENT),
             ("Median days to first meeting", section.median_days_to_first_meeting, DECIMAL),
             ("Waitlist", f.waitlist, INTEGER), ("Median wait (days)", f.median_wait_days, DECIMAL),
             ("Rematches", f.rematches, INTEGER),
             ("Pairs for the coordinator to follow up (follow-up.csv)", len(section.follow_up), INTEGER)]
    frame = pd.DataFrame({"measure": [r[0] for r in rows], "value": pd.Series([r[1] for r in rows], dtype=object)})
    return Sheet(frame, headers={"measure": "Measure", "value": "Value"}, row_formats={"value": [r[2] for r in rows]},
                 footer=[RELATIONSHIP_NOTE.format(n=report.min_group_size)])


def _funnel(report: Report) -> tuple[pd.DataFrame, int, list[str | None]] | None:
    """The self-matching funnel as numbers: (step/value rows, how many of the first rows are counts (drawn as a
    chart), one number format per row). The counts come first, then days to match, the share of first
    choices and the spread of requests over mentors."""
    f = report.self_matching
    if f is None:
        return None
    counts = [("Mentees shortlisted", f.shortlisted), ("Mentees who chose", f.chose),
              ("Mentees who sent requests", f.requested), ("Requests sent", f.requests_sent),
              ("Mentees matched", f.accepted), ("Requests declined", f.declined), ("Requests expired", f.expired),
              ("Requests withdrawn (matched elsewhere)", f.withdrawn),
              ("Acceptances refused (mentor full)", f.mentor_full)]
    rows: list[tuple[str, Any, str | None]] = [(label, value, INTEGER) for label, value in counts if value is not None]
    shown = len(rows)
    if f.days_to_match_median is not None:
        rows += [("Days to match (median)", f.days_to_match_median, DECIMAL),
                 ("Days to match (longest)", f.days_to_match_max, DECIMAL)]
    rows.append(("Matched with their first choice", f.first_choice_share, PERCENT))
    rows += [(f"Matched with choice {k}", v, INTEGER) for k, v in f.by_choice.items()]
    if f.requests_per_mentor_max is not None:
        rows += [("Requests per mentor (median)", f.requests_per_mentor_median, DECIMAL),
                 ("Requests per mentor (most)", f.requests_per_mentor_max, INTEGER),
                 ("Mentors who received requests", f.mentors_requested, INTEGER),
                 ("Share of requests to the busiest 10% of them", f.top_decile_share, PERCENT)]
    frame = pd.DataFrame({"step": [r[0] for r in rows], "value": pd.Series([r[1] for r in rows], dtype=object)})
    return frame, shown, [r[2] for r in rows]


def write_workbook(report: Report, path: str | Path) -> Path:
    """report.xlsx (see the module docstring), written atomically."""
    return write_xlsx(report_sheets(report), path)


__all__ = ["WEEKLY_LABELS", "column_format", "kpi_format", "report_sheets", "write_workbook"]
