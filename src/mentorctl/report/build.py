"""Compute a report from its inputs (`load.ReportInputs`): KPIs, goals with trends, match coverage,
suppressed breakdowns, the relationships section and data-quality notes. `compute_report` reads no file;
`build_report` is `load.load_inputs` then `compute_report` (and the same for a compared programme)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mentorctl.activity import ACTIVITY_COLUMNS, EVENTS, PROBLEM_COLUMNS
from mentorctl.programme import Programme, load_programme, parse_duration
from mentorctl.report.kpis import (
    KPI_NAMES,
    UNDATED_KPIS,
    KpiValue,
    Period,
    achieved_goals_set,
    breakdown,
    compute_kpis,
    date_pairs,
    elapsed_share,
    kpi_value,
    kpis_as_dict,
    pace,
    person_metrics,
    prepare_events,
    satisfaction_counts,
    trend,
    weekly_series,
)
from mentorctl.report.load import ReportInputs, load_inputs

EXCEL_ROWS = 1_048_575

if TYPE_CHECKING:
    from mentorctl.relationships import RelationshipsSection
    from mentorctl.selfmatch.funnel import Funnel


class NoteKind(Enum):
    """What a data-quality note is about; the kinds that need the coordinator's attention are also shown on
    the terminal (`Note.needs_attention`)."""

    INFO = "info"
    """What was counted or left out and why (events outside the period, duplicates, hidden cells…)."""
    MISSING_INPUT = "missing input"
    """An input the report would use is not there (no activity log configured, no out/matches.csv)."""
    CONFIGURATION = "configuration"
    """programme.yaml asks for something the report cannot do (an unknown goal KPI or report_by field)."""
    READING = "reading"
    """How a file was read (e.g. not UTF-8: read as Windows/Latin-1)."""


@dataclass(frozen=True)
class Note:
    """One data-quality note of the report: its sentence and its kind."""

    text: str
    kind: NoteKind = NoteKind.INFO

    @property
    def needs_attention(self) -> bool:
        """Shown on the terminal too: something to fix or to check, not only to know."""
        return self.kind is not NoteKind.INFO

    def as_dict(self) -> dict[str, str]:
        return {"text": self.text, "kind": self.kind.value}


@dataclass(frozen=True)
class GoalResult:
    """A programme goal measured: value against target, whether it is met, and how it moved."""

    name: str
    kpi: str | None
    target: float | None
    direction: str
    value: float | None
    met: bool | None
    trend: list[tuple[date, float | None]] = field(default_factory=list)
    """The KPI measured to each checkpoint; empty for KPIs without dates (a survey export)."""
    pace: str | None = None
    """'met', 'on track' / 'behind' (a cumulative KPI against its target pro-rated to date), 'not met yet'
    (a level such as a rate while the programme runs), 'missed' (over and not met); see `kpis.pace`."""
    expected: float | None = None
    """The target to date: pro-rated for cumulative KPIs while the programme runs, else the target."""
    description: str | None = None

    @property
    def missed(self) -> bool:
        """Behind, not met yet or missed: what the report's verdict names."""
        return self.pace in ("behind", "missed", "not met yet")


@dataclass(frozen=True)
class DataQuality:
    """What was read, what could not be used and why."""

    sources: list[str]
    rows_read: int
    events_used: int
    bad_rows: int
    duplicates: int
    outside_period: int
    problems: pd.DataFrame
    notes: list[Note]
    log_sources: tuple[str, ...] = ()      # the activity log's files (their names in `problems`)

    @property
    def activity_rejected(self) -> int:
        """Rows of the activity log that could not be used (HR extract and survey rows not counted)."""
        if self.problems.empty or not self.log_sources:
            return 0
        mine = self.problems[self.problems["file"].isin(self.log_sources)]
        return int(mine[["file", "row"]].drop_duplicates().shape[0])

    @property
    def all_activity_rejected(self) -> bool:
        """An activity log was read and not one of its rows could be used (a wrong date format, say)."""
        return self.rows_read > 0 and self.activity_rejected >= self.rows_read

    @property
    def note_texts(self) -> list[str]:
        return [n.text for n in self.notes]

    def summary(self, first: int = 5) -> list[dict[str, Any]]:
        """Problems grouped by file, column and problem: how many rows, the first row numbers and the first
        offending value (`example`, '' when the cell was empty)."""
        if self.problems.empty:
            return []
        groups = self.problems.groupby(["file", "column", "problem"], sort=False)
        examples = groups["value"].first().to_dict()
        out = []
        for (file, column, problem), rows in groups["row"]:
            example = examples[(file, column, problem)]
            out.append({"file": file, "column": column, "problem": problem, "count": int(rows.size),
                        "rows": [int(r) for r in rows.head(first)],
                        "example": "" if example is None or example != example else str(example)})
        return sorted(out, key=lambda item: (-item["count"], item["file"]))


@dataclass(frozen=True)
class Coverage:
    """How far matching reached: matched and unmatched eligible mentees (peers), pairs without recent activity."""

    eligible: int
    matched: int
    unmatched: list[str]
    pairs: int
    inactive_pairs: list[tuple[str, str]]
    window_days: int
    who: str = "mentees"            # whom `eligible` counts: participants in a peer programme

    @property
    def rate(self) -> float | None:
        return round(self.matched / self.eligible, 3) if self.eligible else None

    def as_dict(self) -> dict[str, Any]:
        return {"eligible": self.eligible, "matched": self.matched, "rate": self.rate,
                "unmatched": len(self.unmatched), "unmatched_ids": self.unmatched, "pairs": self.pairs,
                "inactive_pairs": len(self.inactive_pairs),
                "inactive_pair_ids": [{"mentor_id": m, "mentee_id": e} for m, e in self.inactive_pairs],
                "inactive_window_days": self.window_days}


@dataclass(frozen=True)
class Report:
    """Everything the writers need; `as_dict()` is report.json."""

    programme: str
    period: Period
    generated_at: datetime
    kpis: dict[str, KpiValue]
    goals: list[GoalResult]
    breakdowns: dict[str, pd.DataFrame]
    suppressed_cells: int
    min_group_size: int
    weekly: pd.DataFrame
    satisfaction: dict[int, int]
    data_quality: DataQuality
    events: pd.DataFrame
    population: int
    participants: int
    active_window_days: int
    compare: Report | None = None
    warnings: list[str] = field(default_factory=list)
    """What makes the whole report misleading (e.g. a period outside the programme's dates): shown first."""
    excluded: int = 0
    """Rostered people `design.eligibility` keeps out: not in `population` (eligible people)."""
    relationships: RelationshipsSection | None = None
    """A running programme (relationships.csv): its relationships section (follow-up list: coordinator only)."""
    coverage: Coverage | None = None
    """Matching's reach (None without out/matches.csv)."""
    elapsed: float = 1.0
    """The share of the programme behind the period's end (0-1): what cumulative goals are paced against."""
    self_matching: Funnel | None = None
    """The self-matching funnel, when the programme does self-matching."""
    starts_on: date | None = None
    """The start date, when the report is written before the programme starts (no goal is judged yet)."""

    @property
    def missed_goals(self) -> list[GoalResult]:
        return [g for g in self.goals if g.missed]

    @property
    def verdict(self) -> str:
        """One line a director reads first: how many goals are met or on track, and which are not."""
        if not self.goals:
            return "No goals are set in programme.yaml, so none can be judged."
        if self.starts_on is not None:
            return (f"The programme has not started yet (it starts on {self.starts_on:%d %B %Y}); its "
                    f"{len(self.goals)} goal{' is' if len(self.goals) == 1 else 's are'} judged from then.")
        good = [g for g in self.goals if g.pace in ("met", "on track")]
        missed = self.missed_goals
        unknown = len(self.goals) - len(good) - len(missed)
        running = self.elapsed < 1.0
        head = (f"{len(good)} of {len(self.goals)} goals met or on track" if running
                else f"{len(good)} of {len(self.goals)} goals met")
        if missed:
            head += f"; {'behind' if running else 'missed'}: " + "; ".join(g.name for g in missed)
        if unknown:
            head += f" ({unknown} cannot be judged: no value or no target)"
        return head + "."

    @property
    def goals_met(self) -> tuple[int, int]:
        """(goals met, goals that can be judged)."""
        judged = [g for g in self.goals if g.met is not None]
        return sum(1 for g in judged if g.met), len(judged)

    @property
    def is_empty(self) -> bool:
        return len(self.events) == 0

    def as_dict(self) -> dict[str, Any]:
        met, judged = self.goals_met
        data: dict[str, Any] = {
            "programme": self.programme,
            "period": {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()},
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "warnings": self.warnings,
            "population": self.population,
            "participants": self.participants,
            "kpis": kpis_as_dict(self.kpis),
            "excluded": self.excluded,
            "verdict": self.verdict,
            "programme_elapsed": round(self.elapsed, 3),
            "coverage": self.coverage.as_dict() if self.coverage is not None else None,
            "goals_met": {"met": met, "judged": judged, "total": len(self.goals)},
            "goals": [{
                "name": g.name, "kpi": g.kpi, "target": g.target, "direction": g.direction, "value": g.value,
                "met": g.met, "pace": g.pace, "target_to_date": g.expected,
                "trend": [{"date": d.isoformat(), "value": v} for d, v in g.trend],
            } for g in self.goals],
            "breakdowns": {name: _records(table) for name, table in self.breakdowns.items()},
            "min_group_size": self.min_group_size,
            "weekly": _records(self.weekly),
            "satisfaction_distribution": {str(k): v for k, v in self.satisfaction.items()},
            "data_quality": {
                "sources": self.data_quality.sources,
                "rows_read": self.data_quality.rows_read,
                "events_used": self.data_quality.events_used,
                "bad_rows": self.data_quality.bad_rows,
                "duplicates": self.data_quality.duplicates,
                "outside_period": self.data_quality.outside_period,
                "problems": self.data_quality.summary(first=20),
                "notes": self.data_quality.note_texts,
            },
        }
        if self.self_matching is not None:
            data["self_matching"] = self.self_matching.as_dict()
        if self.relationships is not None:
            data["relationships"] = self.relationships.as_dict()
        if self.compare is not None:
            data["compare"] = {
                "programme": self.compare.programme,
                "period": {"start": self.compare.period.start.isoformat(),
                           "end": self.compare.period.end.isoformat()},
                "kpis": kpis_as_dict(self.compare.kpis),
            }
        return data


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def default_period(programme: Programme, today: date | None = None) -> Period:
    """From the start date to the planned last day, or to today while the programme is running."""
    start = programme.design.start_date
    last = programme.design.end_date - timedelta(days=1)
    today = today or datetime.now(programme.tz).date()
    end = min(last, today) if today >= start else last
    return Period(start, end)


def build_report(programme: Programme, *, period: Period | None = None,
                 activity_paths: Sequence[str | Path] | None = None, today: date | None = None,
                 compare: Programme | str | Path | None = None, now: datetime | None = None,
                 timings: dict[str, float] | None = None) -> Report:
    """Read the programme's inputs (`load.load_inputs`) and compute the whole report (`compute_report`);
    with `compare`, the other programme's report too, over its own default period.

    `timings`, when given, receives the seconds spent in each stage (for benchmarks)."""
    from time import perf_counter

    period = period or default_period(programme, today)
    as_of = min(period.end, today or datetime.now(programme.tz).date())
    inputs = load_inputs(programme, as_of=as_of, activity_paths=activity_paths, timings=timings)
    began = perf_counter()
    other = None
    if compare is not None:
        other_programme = compare if isinstance(compare, Programme) else load_programme(compare)
        other = build_report(other_programme, today=today, now=now)
    report = compute_report(inputs, period, now=now or datetime.now(programme.tz), compare=other)
    if timings is not None:
        timings["KPIs, trends, breakdowns"] = timings.get("KPIs, trends, breakdowns", 0.0) + perf_counter() - began
    return report


def compute_report(inputs: ReportInputs, period: Period, *, now: datetime, compare: Report | None = None) -> Report:
    """The report over `period` from what `load_inputs` read (no file is read or written here); `now` is
    its time of writing, `compare` another programme's report shown beside it."""
    programme = inputs.programme
    settings = programme.reporting
    notes: list[Note] = []
    people = pd.Index(inputs.people.index.to_numpy())
    excluded = inputs.excluded
    if inputs.eligibility_error is not None:
        notes.append(Note(f"design.eligibility could not be applied ({inputs.eligibility_error}); everyone "
                          "rostered counts as eligible.", NoteKind.CONFIGURATION))
    elif excluded:
        notes.append(Note(f"{len(excluded)} rostered people are excluded by design.eligibility and not counted "
                          "as eligible (participation rate, breakdowns, match coverage)."))
    eligible = ~people.isin(list(excluded))
    if inputs.pairs is None:
        notes.append(Note("No out/matches.csv: relationships formed are the pairs that logged a session "
                          "(run `mentorctl match` to count the matches made).", NoteKind.MISSING_INPUT))
    problems = [inputs.log.problems]
    events, pairs, outside, warnings = _period_events(inputs, period, people, problems, notes)
    hr, survey = _hr_and_survey(inputs, people, problems, notes)

    kpis = compute_kpis(events, period, population=people, pairs=pairs, hr=hr, survey=survey,
                        active_window_days=settings.active_window_days, eligible=eligible)
    share = elapsed_share(period, programme.design.start_date, programme.design.length_weeks * 7)
    starts_on = programme.design.start_date if now.date() < programme.design.start_date else None
    if starts_on is not None:   # a report before the start: nothing is behind or missed yet
        share = 0.0
    goals = _goals(programme, kpis, events, period, people, pairs, hr, survey, notes, eligible, share)
    achieved = events["_code"].to_numpy() == EVENTS.index("goal_achieved")
    unlinked = int((achieved & ~achieved_goals_set(events)).sum())
    if unlinked:
        notes.append(Note(f"{unlinked} goal achievement(s) match no goal set (same person and item_id) and are "
                          "not counted in the goal completion rate; check the activity export's item ids."))
    coverage = _coverage(programme, inputs.participants, pairs, events, period, excluded,
                         settings.active_window_days)
    metrics = person_metrics(events, period, people, pairs, survey, settings.active_window_days)[eligible]
    breakdowns, suppressed = _breakdowns(programme, metrics, inputs.people, hr, notes)
    quality = _data_quality(inputs, problems, len(events), outside, notes)
    return Report(
        programme=programme.programme.name, period=period,
        generated_at=now, kpis=kpis, goals=goals, breakdowns=breakdowns,
        suppressed_cells=suppressed, min_group_size=settings.min_group_size,
        weekly=weekly_series(events, period), satisfaction=satisfaction_counts(events, survey),
        data_quality=quality, events=events[[*ACTIVITY_COLUMNS, "_source", "_row"]],
        population=int(eligible.sum()), participants=int(metrics["participant"].sum()),
        active_window_days=settings.active_window_days, compare=compare, warnings=warnings,
        excluded=int((~eligible).sum()), coverage=coverage, elapsed=share, starts_on=starts_on,
        self_matching=inputs.self_matching, relationships=_relationships(inputs, survey))


def _period_events(inputs: ReportInputs, period: Period, people: pd.Index, problems: list[pd.DataFrame],
                   notes: list[Note]) -> tuple[pd.DataFrame, pd.DataFrame | None, int, list[str]]:
    """(the events of the period, the matches dated by their first event, how many events fell outside the
    period, the period's warnings). Events naming someone off the rosters become problems."""
    programme, log = inputs.programme, inputs.log
    events = prepare_events(log.frame, period, programme.tz, people)
    unknown = np.zeros(len(events), dtype=bool)
    for column, code in (("mentor_id", "_mentor"), ("mentee_id", "_mentee")):
        missing = (events[code].to_numpy() < 0) & events[column].notna().to_numpy()
        if missing.any():
            bad = events[missing]
            problems.append(pd.DataFrame({
                "file": bad["_source"].astype(str).to_numpy(), "row": bad["_row"].to_numpy(), "column": column,
                "value": bad[column].astype(str).to_numpy(),
                "problem": "not on the rosters; fix the id or add the person to a roster"}))
        unknown |= missing
    events = events[~unknown]
    if inputs.excluded:   # people design.eligibility keeps out (no consent, say): their activity is not counted
        out = people.isin(list(inputs.excluded))
        codes = [events[code].to_numpy() for code in ("_mentor", "_mentee")]
        someone = np.zeros(len(events), bool)
        taking_part = np.zeros(len(events), bool)
        for c in codes:
            someone |= c >= 0
            taking_part |= (c >= 0) & ~out[np.maximum(c, 0)]
        dropped = someone & ~taking_part
        if dropped.any():
            notes.append(Note(f"{int(dropped.sum())} event(s) of people design.eligibility excludes are not "
                              "counted."))
            events = events[~dropped]
    pairs = inputs.pairs
    if pairs is not None:
        pairs = date_pairs(pairs, events, people, (programme.design.start_date - period.start).days)
    period_notes: list[str] = []
    warnings = _period_warnings(programme, period, period_notes)
    notes += [Note(text) for text in period_notes]
    day = events["_day"].to_numpy()
    inside = (day >= 0) & (day < period.days)
    outside = int((~inside).sum())
    if outside:
        notes.append(Note(f"{outside} event(s) fall outside the period {period} and are not counted."))
    events = events[inside].reset_index(drop=True)
    notes += [Note(text, NoteKind.READING) for text in log.notes]
    notes += [Note(text, NoteKind.READING) for table in (inputs.hr, inputs.survey) if table is not None
              for text in table.notes]
    if log.duplicates:
        notes.append(Note(f"{log.duplicates} event(s) appear in more than one activity file; each is counted "
                          "once."))
    if not log.sources:
        notes.append(Note("No activity log is configured: add `reporting.activity` to programme.yaml or pass "
                          "--activity FILE.", NoteKind.MISSING_INPUT))
    if events.empty:
        notes.append(Note(f"No activity was recorded in the period {period}."))
    if len(events) > EXCEL_ROWS:
        notes.append(Note(f"report.xlsx holds the first {EXCEL_ROWS:,} of {len(events):,} events (Excel's row "
                          "limit); report.json and the KPIs count them all."))
    return events, pairs, outside, warnings


def _hr_and_survey(inputs: ReportInputs, people: pd.Index, problems: list[pd.DataFrame], notes: list[Note]
                   ) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The HR extract and the survey answers of rostered people (other answers become problems)."""
    hr = None
    if inputs.hr is not None:
        problems.append(inputs.hr.problems)
        hr = inputs.hr.frame
        if hr.empty or not hr["employee_id"].isin(people).any():
            notes.append(Note(f"No rostered participant appears in {inputs.hr.source} (employee_id); retention "
                              "and promotion compare nobody. Are the ids the same as the rosters'?"))
    else:
        notes.append(Note("No HR extract: retention and promotion rates are not reported."))
    survey = None
    if inputs.survey is not None:
        survey = inputs.survey.frame
        known = survey["participant_id"].isin(people)
        if not known.all():
            bad = survey[~known]
            problems.append(pd.DataFrame({
                "file": inputs.survey.source, "row": bad["_row"].to_numpy(), "column": "participant_id",
                "value": bad["participant_id"].astype(str).to_numpy(),
                "problem": "not on the rosters; the answer is not counted"}))
            survey = survey[known]
        problems.append(inputs.survey.problems)
    return hr, survey


def _breakdowns(programme: Programme, metrics: pd.DataFrame, people_frame: pd.DataFrame, hr: pd.DataFrame | None,
                notes: list[Note]) -> tuple[dict[str, pd.DataFrame], int]:
    """One suppressed table per `report_by` field, and how many cells are hidden."""
    settings = programme.reporting
    breakdowns: dict[str, pd.DataFrame] = {}
    suppressed = 0
    for field_name in settings.report_by:
        values = _field_values(field_name, people_frame, hr)
        if values is None:
            notes.append(Note(f"report_by: '{field_name}' is neither a roster field nor an HR extract field; "
                              "no breakdown for it.", NoteKind.CONFIGURATION))
            continue
        table, hidden = breakdown(metrics, values, settings.min_group_size)
        breakdowns[field_name] = table
        suppressed += hidden
    if suppressed:
        notes.append(Note(f"{suppressed} breakdown cell(s) are hidden: groups of fewer than "
                          f"{settings.min_group_size} people (marked *) and, where one group alone was hidden, the "
                          "next smallest (marked †), so that no one can be singled out."))
    return breakdowns, suppressed


def _data_quality(inputs: ReportInputs, problems: list[pd.DataFrame], events_used: int, outside: int,
                  notes: list[Note]) -> DataQuality:
    log = inputs.log
    every = pd.concat([p for p in problems if not p.empty] or [problems[0]], ignore_index=True)
    every = every[list(PROBLEM_COLUMNS)]
    bad_rows = int(every[["file", "row"]].drop_duplicates().shape[0]) if len(every) else 0
    return DataQuality(
        sources=list(log.sources) + [t.source for t in (inputs.hr, inputs.survey) if t is not None],
        rows_read=log.rows_read, events_used=events_used, bad_rows=bad_rows, duplicates=log.duplicates,
        outside_period=outside, problems=every, notes=notes, log_sources=tuple(log.sources))


def _relationships(inputs: ReportInputs, survey: pd.DataFrame | None) -> RelationshipsSection | None:
    """The relationships section of a running programme, as of `inputs.as_of`."""
    from mentorctl.relationships import relationships_section

    if inputs.lifecycle is None:
        return None
    programme = inputs.programme
    escalate = [parse_duration(r.escalate_after).days for r in programme.reminders if r.escalate_after]
    table = inputs.survey
    kept = set(survey["_row"].tolist()) if survey is not None and "_row" in survey.columns else set()
    return relationships_section(programme, inputs.lifecycle.state, inputs.log.frame, survey,
                                 inactive_days=max(escalate, default=None),
                                 min_group_size=programme.reporting.min_group_size,
                                 survey_source=table.source if table else "the survey export",
                                 survey_warnings=[w for w in table.warnings if w.location and w.location.row in kept]
                                 if table else ())


def _period_warnings(programme: Programme, period: Period, notes: list[str]) -> list[str]:
    """A warning when the period misses the programme's dates entirely; a note when it overlaps them."""
    first = programme.design.start_date
    last = programme.design.end_date - timedelta(days=1)
    dates = f"{first.isoformat()}..{last.isoformat()}"
    if period.end < first or period.start > last:
        text = (f"The period {period} lies entirely outside the programme's dates ({dates}): no match counts "
                "as formed in it and only activity logged in it is counted (a survey export, which has no "
                "dates, is still shown). Check --period.")
        notes.append(text)
        return [text]
    if period.start < first or period.end > last:
        notes.append(f"The period {period} reaches beyond the programme's dates ({dates}).")
    return []


def _field_values(name: str, people_frame: pd.DataFrame, hr: pd.DataFrame | None) -> pd.Series | None:
    if name in people_frame.columns and not name.startswith("_"):
        return people_frame[name]
    if hr is not None and name in hr.columns and name not in ("employee_id", "left_on", "promoted_on"):
        return hr.drop_duplicates("employee_id").set_index("employee_id")[name]
    return None


def _coverage(programme: Programme, participants: Any, pairs: pd.DataFrame | None, events: pd.DataFrame,
              period: Period, excluded: dict[str, str], window: int) -> Coverage | None:
    """Matched and unmatched eligible mentees (peers: participants); pairs with no event naming both in
    the last `window` days of the period."""
    if pairs is None:
        return None
    roster = participants.participants if programme.is_peer and participants.participants else participants.mentees
    if roster is None:
        return None
    ids = [str(i) for i in roster.frame["id"] if str(i) not in excluded]
    formed = pairs[pairs["_day"].to_numpy() < period.days] if "_day" in pairs.columns else pairs
    matched_ids = set(formed["mentee_id"].astype(str))
    if programme.is_peer:
        matched_ids |= set(formed["mentor_id"].astype(str))
    unmatched = sorted(i for i in ids if i not in matched_ids)
    recent = events[events["_day"].to_numpy() >= period.days - window]
    both = recent["mentor_id"].notna() & recent["mentee_id"].notna()
    met = set(zip(recent.loc[both, "mentor_id"].astype(str), recent.loc[both, "mentee_id"].astype(str),
                  strict=True))
    inactive = [(m, e) for m, e in zip(formed["mentor_id"].astype(str), formed["mentee_id"].astype(str),
                                       strict=True) if (m, e) not in met and (e, m) not in met]
    return Coverage(eligible=len(ids), matched=len(ids) - len(unmatched), unmatched=unmatched,
                    pairs=len(formed), inactive_pairs=inactive, window_days=window,
                    who="participants" if programme.is_peer else "mentees")


def _goals(programme: Programme, kpis: dict[str, KpiValue], events: pd.DataFrame, period: Period, people: pd.Index,
           pairs: pd.DataFrame | None, hr: pd.DataFrame | None, survey: pd.DataFrame | None,
           notes: list[Note], eligible: np.ndarray | None = None, share: float = 1.0) -> list[GoalResult]:
    known = [g.kpi for g in programme.goals if g.kpi and g.kpi.partition(".")[0] in KPI_NAMES]
    series = trend(events, period, sorted(set(known)), people=people, pairs=pairs, hr=hr, survey=survey,
                   active_window_days=programme.reporting.active_window_days, eligible=eligible) if known else {}
    results = []
    for goal in programme.goals:
        value = met = status = expected = None
        points: list[tuple[date, float | None]] = []
        if goal.kpi and goal.kpi.partition(".")[0] not in KPI_NAMES:
            notes.append(Note(f"Goal '{goal.name}' names KPI '{goal.kpi}', which the report does not know; "
                              f"use one of: {', '.join(KPI_NAMES)}.", NoteKind.CONFIGURATION))
        elif goal.kpi:
            value = kpi_value(kpis, goal.kpi)
            # a survey export has no dates: no time series, so no trend (a flat line would say "steady")
            undated = goal.kpi.partition(".")[0] in UNDATED_KPIS and survey is not None
            points = [] if undated else series.get(goal.kpi, [])
            if value is not None and goal.target is not None:
                met = value >= goal.target if goal.direction == "at_least" else value <= goal.target
            status, expected = pace(goal.kpi, value, goal.target, goal.direction, share)
        results.append(GoalResult(name=goal.name, kpi=goal.kpi, target=goal.target, direction=goal.direction,
                                  value=value, met=met, trend=points, pace=status, expected=expected,
                                  description=goal.description))
    return results
