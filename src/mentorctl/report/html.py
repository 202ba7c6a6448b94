"""report.html: one self-contained page (inline CSS and SVG charts; no scripts, no external resources),
rendered from templates/report.html.j2 through the sandboxed Jinja environment."""

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
    format_value,
    goal_rows,
    goal_target,
    kpi_rows,
    quality_lines,
    relationship_rows,
    self_matching_rows,
    suppression_footnotes,
)
from mentorctl.report.kpis import ByParticipation
from mentorctl.xlsx import clean_text


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
            x_title=week, y_title="hours (cumulative)", target=goal_target(report, "mentoring_hours"),
            target_at=report.elapsed)),
        ("Sessions held to date", charts.line_chart(
            "Sessions held to date", labels, {"sessions": cumulative_sessions}, integer=True,
            x_title=week, y_title="sessions (cumulative)", target=goal_target(report, "sessions_held"),
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
    if isinstance(retention, ByParticipation) and isinstance(promotion, ByParticipation):
        chart_list.append(("Retention and promotion: took part vs others", charts.bar_chart(
            "Retention and promotion", ["Retention", "Promotion"], {
                "took part": [retention.participants, promotion.participants],
                "others": [retention.non_participants, promotion.non_participants]},
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
        if isinstance(value, ByParticipation):   # retention, promotion: who took part big, everyone else below
            entry = {**entry, "text": format_value(entry["name"], value.participants),
                     "sub": f"others {format_value(entry['name'], value.non_participants)}"}
        if value is None:
            entry["unit"] = ""
        groups.setdefault(entry["group"], []).append(entry)
    breakdowns = [{
        "field": name,
        "headers": [BREAKDOWN_LABELS.get(c, c) for c in table.columns],
        "rows": [[cell_text(c, row[c]) for c in table.columns] for row in table.to_dict(orient="records")],
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
        "quality_lines": quality_lines(report),
        "problems": report.data_quality.summary(),
        "window_days": report.active_window_days,
        "took_part": TOOK_PART,
        "self_matching": self_matching_rows(report) or None,
        "relationships": relationship_rows(report) or None,
        "relationships_note": RELATIONSHIP_NOTE.format(n=report.min_group_size),
    }


def render_html(report: Report, programme: Any = None) -> str:
    from mentorctl.templating import make_environment, render_template

    env = make_environment(programme)
    return clean_text(render_template(env, "report.html.j2", html_context(report)))


def write_html(report: Report, path: str | Path, programme: Any = None) -> Path:
    return atomic_write_text(path, render_html(report, programme))
