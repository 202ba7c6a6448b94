"""What every report format shares: how a value reads (rates as %, units, suppression marks), the rows of
the KPI, goal, coverage, relationships and self-matching tables, and the data-quality lines. The writers
(`markdown.py`, `html.py`, `workbook.py`) and the terminal summary render these; none computes a figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mentorctl.errors import OutputError
from mentorctl.report.build import EXCEL_ROWS, Report
from mentorctl.report.kpis import (
    CUMULATIVE_KPIS,
    KPI_GROUPS,
    KPI_LABELS,
    RATE_KPIS,
    SUPPRESSED,
    SUPPRESSED_COMPLEMENT,
    ByParticipation,
)

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


# ---------------------------------------------------------------------------------------------------------
# formatting shared by the writers


def format_value(name: str, value: Any) -> str:
    """A KPI value as people read it: rates as percentages, big numbers with separators, '—' when unknown."""
    base = name.partition(".")[0]
    if isinstance(value, ByParticipation):
        return f"{format_value(base, value.participants)} (others {format_value(base, value.non_participants)})"
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


def cell_text(column: str, value: Any) -> str:
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


def coverage_lines(report: Report) -> list[str]:
    """Match coverage, unmatched people and inactive pairs, as sentences."""
    c = report.coverage
    if c is None:
        return ["No matches file: run `mentorctl match` to see how many mentees are matched."]
    rate = format_value("participation_rate", c.rate)
    return [f"{c.matched:,} of {c.eligible:,} eligible {c.who} matched ({rate}); {len(c.unmatched):,} unmatched.",
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


def quality_lines(report: Report) -> list[str]:
    q = report.data_quality
    lines = [f"Sources: {', '.join(q.sources) or 'none'}.",
             f"{q.rows_read:,} activity row(s) read; {q.events_used:,} event(s) counted in the period; "
             f"{q.bad_rows:,} row(s) could not be used."]
    return lines + q.note_texts


def goal_target(report: Report, kpi: str) -> float | None:
    """The target of the first goal on `kpi` (at_least), for a chart's target line."""
    for g in report.goals:
        if g.kpi == kpi and g.target is not None and g.direction == "at_least":
            return float(g.target)
    return None


def shown_count(value: int | str) -> str:
    """A count that may be hidden (the relationships section writes a small group as '<N'): its mark."""
    return "hidden*" if isinstance(value, str) else f"{value:,}"


def relationship_rows(report: Report) -> list[tuple[str, str]]:
    """(measure, value) rows of the relationships section as people read them; small groups of endings by
    reason are hidden (marked * as in every breakdown). The follow-up list itself is never shown: only how
    many pairs it holds (it goes to the coordinator's follow-up.csv)."""
    section = report.relationships
    if section is None:
        return []
    f = section.figures

    def days(value: float | None) -> str:
        return "—" if value is None else f"{value:g} days"

    share = "—" if f.reached_planned_length is None else f"{f.reached_planned_length:.0%}"
    reasons = ", ".join(f"{k} {shown_count(v)}" for k, v in section.ended_by_reason_shown.items() if v != 0) or "none"
    return [("Relationships started", f"{f.started:,}"), ("Active", f"{f.active:,}"), ("Paused", f"{f.paused:,}"),
            ("Ended", f"{f.ended:,} ({f.ended_completed:,} completed, {f.ended_early:,} early)"),
            ("Ended by reason", reasons), ("Median duration", days(f.median_duration_days)),
            ("Reached the planned length", share),
            ("Median days to first meeting", days(section.median_days_to_first_meeting)),
            ("Waitlist", f"{f.waitlist:,} (median wait {days(f.median_wait_days)})"), ("Rematches", f"{f.rematches:,}"),
            ("Pairs for the coordinator to follow up", f"{len(section.follow_up):,} (see follow-up.csv)")]


RELATIONSHIP_NOTE = ("Endings by reason are hidden for groups of fewer than {n} (marked *). The pairs to follow "
                     "up are listed for the coordinator only, in follow-up.csv; never in this report.")


def self_matching_rows(report: Report) -> list[tuple[str, str]]:
    """(step, value) rows of the self-matching funnel, or none when the programme does not self-match."""
    return list(report.self_matching.rows()) if report.self_matching is not None else []
