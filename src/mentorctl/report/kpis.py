"""KPIs from cleaned activity, matches, rosters, HR extract and survey; goal trends; suppressed breakdowns.

Everything is vectorised: people are integer codes into the population index, events carry the day of the
period they fall on, and counts come from `np.bincount`, so a million events take well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from typing import Any

import numpy as np
import pandas as pd

from mentorctl.activity import EVENTS
from mentorctl.programme import KPI_NAMES

KPI_GROUPS: dict[str, tuple[str, ...]] = {
    "Engagement": KPI_NAMES[:8],
    "Progress": KPI_NAMES[8:12],
    "Satisfaction": KPI_NAMES[12:14],
    "Organisation": KPI_NAMES[14:],
}
KPI_LABELS: dict[str, str] = {
    "relationships_formed": "Relationships formed",
    "active_participants": "Active participants",
    "participation_rate": "Participation rate",
    "mentoring_hours": "Mentoring hours",
    "sessions_held": "Sessions held",
    "messages_sent": "Messages sent",
    "assignments_created": "Assignments created",
    "assignments_completed": "Assignments completed",
    "goals_set": "Goals set",
    "goals_achieved": "Goals achieved",
    "goal_completion_rate": "Goal completion rate",
    "median_days_to_goal": "Median days to goal",
    "satisfaction_mean": "Satisfaction (1-5)",
    "nps": "Net promoter score",
    "retention_rate": "Retention rate",
    "promotion_rate": "Promotion rate",
}
RATE_KPIS = frozenset({"participation_rate", "goal_completion_rate", "retention_rate", "promotion_rate"})
_EVENT_COUNTS = {
    "sessions_held": "session", "messages_sent": "message", "assignments_created": "assignment_created",
    "assignments_completed": "assignment_completed", "goals_set": "goal_set", "goals_achieved": "goal_achieved",
}
_EVENT_INDEX = {name: i for i, name in enumerate(EVENTS)}


@dataclass(frozen=True)
class Period:
    """An inclusive range of whole days in the programme's time zone."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def parse_period(text: str | None, default: Period) -> Period:
    """`START..END` (either side may be left out) → Period; raises ValueError with a readable message."""
    if not text:
        return default
    if ".." not in text:
        raise ValueError(f"--period '{text}' must be START..END, e.g. 2026-01-01..2026-06-30")
    left, right = (part.strip() for part in text.split("..", 1))
    try:
        start = date.fromisoformat(left) if left else default.start
        end = date.fromisoformat(right) if right else default.end
    except ValueError as e:
        raise ValueError(f"--period '{text}': dates must be YYYY-MM-DD ({e})") from e
    if end < start:
        raise ValueError(f"--period '{text}': the end is before the start")
    return Period(start, end)


def prepare_events(events: pd.DataFrame, period: Period, tz: tzinfo, people: pd.Index) -> pd.DataFrame:
    """Add the integer columns the KPIs use: `_day` (days since the period start, local time), `_mentor`
    and `_mentee` (positions in `people`, -1 when absent or unknown), `_code` (event number)."""
    out = events.copy(deep=False)
    stamps = out["timestamp"]
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert(tz).dt.tz_localize(None)
    local_days = stamps.to_numpy().astype("datetime64[D]")
    out["_day"] = (local_days - np.datetime64(period.start, "D")).astype(np.int64)
    for column, code in (("mentor_id", "_mentor"), ("mentee_id", "_mentee")):
        out[code] = people.get_indexer(pd.Index(out[column])) if len(out) else np.array([], dtype=np.int64)
    out["_code"] = _event_codes(out["event"])
    return out


def _event_codes(event: pd.Series) -> np.ndarray:
    if isinstance(event.dtype, pd.CategoricalDtype) and list(event.cat.categories) == list(EVENTS):
        return event.cat.codes.to_numpy().astype(np.int64)
    return pd.Categorical(event, categories=list(EVENTS)).codes.astype(np.int64)


def compute_kpis(events: pd.DataFrame, period: Period, *, population: Sequence[str] | pd.Index,
                 tz: tzinfo | None = None, pairs: pd.DataFrame | None = None, hr: pd.DataFrame | None = None,
                 survey: pd.DataFrame | None = None, active_window_days: int = 30,
                 eligible: np.ndarray | None = None) -> dict[str, KpiValue]:
    """Every KPI (see KPI_NAMES) over `period`.

    `events`: cleaned activity (activity.ACTIVITY_COLUMNS); events outside the period are ignored.
    `population`: ids of the rostered people. `eligible`: per person of `population`, whether the programme
    admits them (`design.eligibility`); `participation_rate` counts only eligible people, both above and
    below the line (default: everyone). `pairs`: matches (mentor_id, mentee_id) or None, in which case
    relationships are the distinct pairs that held a session. `hr`: employee_id, left_on, promoted_on
    (tz-aware). `survey`: participant_id, satisfaction (1-5), recommend (0-10).
    """
    people = population if isinstance(population, pd.Index) else pd.Index(pd.unique(pd.Series(population)))
    if "_day" not in events.columns:
        events = prepare_events(events, period, tz or _zone_of(events), people)
    day = events["_day"].to_numpy()
    inside = (day >= 0) & (day < period.days)
    return _kpis(events[inside] if not inside.all() else events, period, people, pairs, hr, survey,
                 active_window_days, eligible=eligible)


def _zone_of(events: pd.DataFrame) -> tzinfo:
    tz = getattr(events["timestamp"].dtype, "tz", None)
    from datetime import UTC

    return tz or UTC


def date_pairs(pairs: pd.DataFrame, events: pd.DataFrame, people: pd.Index, start_day: int) -> pd.DataFrame:
    """`pairs` (mentor_id, mentee_id) with `_day`: the day each relationship was formed, counted like the
    events' `_day` (days since the period start). A pair is formed on its first logged event (any event
    naming both people, either way round, at any time, also outside the period), else on the programme's
    start date (`start_day`, in the same units) when it has logged nothing.

    With `_day` present the KPIs count a match as formed in a period when that day falls in the period,
    and its two people as taking part when it was formed by the end of the period."""
    out = pairs.copy()
    size = len(people) + 1
    a, b = people.get_indexer(pd.Index(out["mentor_id"])), people.get_indexer(pd.Index(out["mentee_id"]))
    mentor, mentee = events["_mentor"].to_numpy(), events["_mentee"].to_numpy()
    both = (mentor >= 0) & (mentee >= 0)
    event_key = np.minimum(mentor[both], mentee[both]).astype(np.int64) * size + np.maximum(mentor[both],
                                                                                            mentee[both])
    first = pd.Series(events["_day"].to_numpy()[both]).groupby(event_key).min()
    pair_key = np.minimum(a, b).astype(np.int64) * size + np.maximum(a, b)
    found = first.reindex(pair_key).to_numpy()
    known = (a >= 0) & (b >= 0) & ~np.isnan(found)
    out["_day"] = np.where(known, np.nan_to_num(found), start_day).astype(np.int64)
    return out


def _pairs_in_place(pairs: pd.DataFrame | None, period: Period) -> pd.DataFrame | None:
    """The relationships formed by the end of `period` (all of them when they carry no `_day`)."""
    if pairs is None or "_day" not in pairs.columns:
        return pairs
    return pairs[pairs["_day"].to_numpy() < period.days]


def participant_codes(events: pd.DataFrame, people: pd.Index, pairs: pd.DataFrame | None,
                      period: Period | None = None) -> np.ndarray:
    """Positions in `people` of everyone who took part: in a relationship formed by the end of `period`, or
    with any logged activity in the period (`events` are the period's)."""
    parts = [events["_mentor"].to_numpy(), events["_mentee"].to_numpy()]
    if period is not None:
        pairs = _pairs_in_place(pairs, period)
    if pairs is not None and len(pairs):
        parts += [people.get_indexer(pd.Index(pairs["mentor_id"])), people.get_indexer(pd.Index(pairs["mentee_id"]))]
    codes = np.concatenate(parts) if parts else np.array([], dtype=np.int64)
    seen = np.zeros(len(people) + 1, dtype=bool)
    seen[codes[codes >= 0]] = True
    return np.flatnonzero(seen[:-1])


def _kpis(events: pd.DataFrame, period: Period, people: pd.Index, pairs: pd.DataFrame | None,
          hr: pd.DataFrame | None, survey: pd.DataFrame | None, window: int,
          names: Sequence[str] | None = None, eligible: np.ndarray | None = None) -> dict[str, KpiValue]:
    """The KPIs in `names` (all by default) over events already restricted to the period."""
    need = {n.partition(".")[0] for n in names} if names else set(KPI_NAMES)
    code = events["_code"].to_numpy()
    counts = np.bincount(code[code >= 0], minlength=len(EVENTS))
    mentor, mentee = events["_mentor"].to_numpy(), events["_mentee"].to_numpy()
    kpis: dict[str, KpiValue] = {}
    if "relationships_formed" in need:
        if pairs is not None and "_day" in pairs.columns:
            formed = pairs["_day"].to_numpy()
            kpis["relationships_formed"] = int(((formed >= 0) & (formed < period.days)).sum())
        elif pairs is not None:
            kpis["relationships_formed"] = int(len(pairs))
        else:
            sessions = (code == _EVENT_INDEX["session"]) & (mentor >= 0) & (mentee >= 0)
            keys = mentor[sessions].astype(np.int64) * (len(people) + 1) + mentee[sessions]
            kpis["relationships_formed"] = int(len(np.unique(keys)))
    if "active_participants" in need:
        recent = events["_day"].to_numpy() >= period.days - window
        kpis["active_participants"] = _distinct(len(people), mentor[recent], mentee[recent])
    if "participation_rate" in need:
        took_part = participant_codes(events, people, pairs, period)
        if eligible is None:
            kpis["participation_rate"] = _ratio(len(took_part), len(people))
        else:
            kpis["participation_rate"] = _ratio(int(eligible[took_part].sum()), int(eligible.sum()))
    if "mentoring_hours" in need:
        minutes = events["duration_minutes"].to_numpy()[code == _EVENT_INDEX["session"]]
        kpis["mentoring_hours"] = round(float(np.nansum(minutes)) / 60, 1)
    for name, event in _EVENT_COUNTS.items():
        kpis[name] = int(counts[_EVENT_INDEX[event]])
    # only achievements of goals that were set count (see achieved_goals_set): never above 100 %
    kpis["goal_completion_rate"] = _ratio(int(achieved_goals_set(events).sum()),
                                         int(counts[_EVENT_INDEX["goal_set"]]))
    if "median_days_to_goal" in need:
        kpis["median_days_to_goal"] = _median_days_to_goal(events, code)
    if need & {"satisfaction_mean", "nps"}:
        kpis["satisfaction_mean"], kpis["nps"] = _satisfaction(events, code, survey)
    if need & {"retention_rate", "promotion_rate"}:
        took_part_ids = people[participant_codes(events, people, pairs, period)]
        kpis["retention_rate"], kpis["promotion_rate"] = _organisation(hr, period, took_part_ids)
    return {name: kpis[name] for name in KPI_NAMES if name in kpis}


def _distinct(size: int, *codes: np.ndarray) -> int:
    """How many distinct people (codes >= 0, < size) appear in the arrays."""
    seen = np.zeros(size + 1, dtype=bool)
    for array in codes:
        seen[array[array >= 0]] = True
    return int(seen[:size].sum())


def _ratio(numerator: float, denominator: float, digits: int = 3) -> float | None:
    return round(float(numerator) / float(denominator), digits) if denominator else None


def _owner(events: pd.DataFrame) -> np.ndarray:
    """Whose event it is when it concerns one person (a goal, a survey answer): the mentee, else the mentor."""
    mentee = events["_mentee"].to_numpy()
    return np.where(mentee >= 0, mentee, events["_mentor"].to_numpy())


def achieved_goals_set(events: pd.DataFrame) -> np.ndarray:
    """Per event: a `goal_achieved` that achieves a goal set (a `goal_set` of the same person, in `events`).

    An achievement with an item_id counts when that person set a goal with that item_id (once per goal);
    one without an item_id counts while the person has set goals not yet achieved. Other achievements
    (no goal set to match) are left out of `goal_completion_rate` and reported as a data-quality note."""
    n = len(events)
    code = events["_code"].to_numpy()
    is_set, is_done = code == _EVENT_INDEX["goal_set"], code == _EVENT_INDEX["goal_achieved"]
    out = np.zeros(n, dtype=bool)
    if not is_done.any() or not is_set.any():
        return out
    rows = np.flatnonzero(is_set | is_done)                # only goal events: cheap on a million events
    owner = _owner(events)[rows]
    item_codes, _ = pd.factorize(events["item_id"].iloc[rows].astype(object), use_na_sentinel=True)
    has_item = item_codes >= 0
    key = pd.Series(owner.astype(np.int64) * (int(item_codes.max(initial=0)) + 2) + item_codes + 1)
    sets, dones = is_set[rows], is_done[rows]
    set_keys = pd.Index(key[sets & has_item].unique())
    with_item = np.flatnonzero(dones & has_item)
    linked = key.iloc[with_item].isin(set_keys).to_numpy() & ~key.iloc[with_item].duplicated().to_numpy()
    chosen = np.zeros(len(rows), dtype=bool)
    chosen[with_item[linked]] = True
    without = np.flatnonzero(dones & ~has_item)
    if len(without):
        size = max(int(owner.max()) + 1, 1)
        budget = (np.bincount(owner[sets & (owner >= 0)], minlength=size)
                  - np.bincount(owner[chosen & (owner >= 0)], minlength=size))
        who = owner[without]
        rank = pd.Series(who).groupby(who).cumcount().to_numpy()
        ok = (who >= 0) & (rank < budget[np.maximum(who, 0)])
        chosen[without[ok]] = True
    out[rows[chosen]] = True
    return out


def _median_days_to_goal(events: pd.DataFrame, code: np.ndarray) -> float | None:
    goals = events[((code == _EVENT_INDEX["goal_set"]) | (code == _EVENT_INDEX["goal_achieved"]))
                   & events["item_id"].notna().to_numpy()]
    if goals.empty:
        return None
    owner = np.where(goals["mentee_id"].notna(), goals["mentee_id"], goals["mentor_id"])
    key = pd.Series(owner, index=goals.index).astype("str") + "\x1f" + goals["item_id"].astype("str")
    is_set = (goals["_code"] == _EVENT_INDEX["goal_set"]).to_numpy()
    stamps = goals["timestamp"]
    set_at = stamps[is_set].groupby(key[is_set].to_numpy()).min()
    done_at = stamps[~is_set].groupby(key[~is_set].to_numpy()).min()
    joined = pd.concat({"set": set_at, "done": done_at}, axis=1, join="inner")
    if joined.empty:
        return None
    days = (joined["done"] - joined["set"]).dt.total_seconds() / 86400
    days = days[days >= 0]
    return round(float(days.median()), 1) if len(days) else None


def _satisfaction(events: pd.DataFrame, code: np.ndarray, survey: pd.DataFrame | None
                  ) -> tuple[float | None, float | None]:
    satisfaction = nps = None
    if survey is not None and "satisfaction" in survey and survey["satisfaction"].notna().any():
        satisfaction = round(float(survey["satisfaction"].mean()), 2)
    else:
        ratings = events["rating"].to_numpy()[code == _EVENT_INDEX["survey_response"]]
        ratings = ratings[~np.isnan(ratings)]
        if ratings.size:
            satisfaction = round(float(ratings.mean()), 2)
    if survey is not None and "recommend" in survey:
        scores = survey["recommend"].dropna().to_numpy()
        if scores.size:
            nps = round(100.0 * float(np.count_nonzero(scores >= 9) - np.count_nonzero(scores <= 6)) / scores.size, 1)
    return satisfaction, nps


@dataclass(frozen=True)
class ByParticipation:
    """A rate measured twice: over the people who took part, and over everyone else in the HR extract
    (`retention_rate`, `promotion_rate`); `_n` are the people each rate is over."""

    participants: float | None
    participants_n: int
    non_participants: float | None
    non_participants_n: int

    def part(self, name: str = "participants") -> float | None:
        """`participants` (the headline) or `non_participants`; None for any other name."""
        if name == "participants":
            return self.participants
        if name == "non_participants":
            return self.non_participants
        return None

    def as_dict(self) -> dict[str, float | int | None]:
        return {"participants": self.participants, "participants_n": self.participants_n,
                "non_participants": self.non_participants, "non_participants_n": self.non_participants_n}


KpiValue = int | float | ByParticipation | None
"""A KPI's value: a count or a measure, a rate per participation (retention, promotion), or None (unknown)."""


def kpis_as_dict(kpis: dict[str, KpiValue]) -> dict[str, Any]:
    """Every KPI (KPI_NAMES order) as report.json shows it: numbers, {participants, ...} or null."""
    return {name: _plain_kpi(kpis.get(name)) for name in KPI_NAMES}


def _plain_kpi(value: KpiValue) -> Any:
    return value.as_dict() if isinstance(value, ByParticipation) else value


def _organisation(hr: pd.DataFrame | None, period: Period, participants: pd.Index
                  ) -> tuple[ByParticipation | None, ByParticipation | None]:
    if hr is None or hr.empty:
        return None, None
    tz = getattr(hr["left_on"].dtype, "tz", None)
    start = pd.Timestamp(period.start, tz=tz)
    end = pd.Timestamp(period.end, tz=tz)
    left, promoted = hr["left_on"], hr["promoted_on"]
    employed = left.isna() | (left >= start)
    stayed = left.isna() | (left > end)
    promoted_in = promoted.notna() & (promoted >= start) & (promoted <= end)
    took_part = hr["employee_id"].isin(participants)
    retention: list[float | None] = []
    promotion: list[float | None] = []
    sizes: list[int] = []
    for group in (took_part, ~took_part):
        base = employed & group
        retention.append(_ratio(int((stayed & base).sum()), int(base.sum())))
        promotion.append(_ratio(int((promoted_in & base).sum()), int(base.sum())))
        sizes.append(int(base.sum()))
    return (ByParticipation(retention[0], sizes[0], retention[1], sizes[1]),
            ByParticipation(promotion[0], sizes[0], promotion[1], sizes[1]))


def kpi_value(kpis: dict[str, KpiValue], name: str) -> float | None:
    """A KPI's headline number: `retention_rate` means participants' retention; `x.non_participants` works."""
    base, _, part = name.partition(".")
    value = kpis.get(base)
    if isinstance(value, ByParticipation):
        value = value.part(part or "participants")
    return None if value is None else float(value)


# -------------------------------------------------------------------------------------------------------
# trend


def checkpoints(period: Period) -> list[date]:
    """Dates at which goal KPIs are measured for their trend: month ends (weeks ends for periods of 13 weeks
    or less) inside the period, always ending with the period's last day."""
    points: list[date] = []
    if period.days <= 91:
        day = period.start + timedelta(days=6)
        while day < period.end:
            points.append(day)
            day += timedelta(days=7)
    else:
        month = date(period.start.year, period.start.month, 1)
        while True:
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
            last = month - timedelta(days=1)
            if last >= period.end:
                break
            if last >= period.start:
                points.append(last)
    points.append(period.end)
    return points


def trend(events: pd.DataFrame, period: Period, names: Sequence[str], *, people: pd.Index,
          pairs: pd.DataFrame | None, hr: pd.DataFrame | None, survey: pd.DataFrame | None,
          active_window_days: int, eligible: np.ndarray | None = None
          ) -> dict[str, list[tuple[date, float | None]]]:
    """Each named KPI as measured over the period up to each checkpoint (cumulative to date)."""
    series: dict[str, list[tuple[date, float | None]]] = {name: [] for name in names}
    day = events["_day"].to_numpy()
    for point in checkpoints(period):
        upto = Period(period.start, point)
        cut = int(np.searchsorted(day, upto.days, side="left")) if _sorted(day) else None
        part = events.iloc[:cut] if cut is not None else events[day < upto.days]
        values = _kpis(part, upto, people, pairs, hr, survey, active_window_days, names, eligible)
        for name in names:
            series[name].append((point, kpi_value(values, name)))
    return series


CUMULATIVE_KPIS = frozenset({"relationships_formed", "mentoring_hours", "sessions_held", "messages_sent",
                             "assignments_created", "assignments_completed", "goals_set", "goals_achieved"})
"""KPIs that only add up over the programme: judged against the target pro-rated to date (pace)."""
UNDATED_KPIS = frozenset({"satisfaction_mean", "nps"})
"""KPIs from a survey export, which has no dates: no time series, so no trend is drawn for them."""


def elapsed_share(period: Period, programme_start: date, programme_days: int) -> float:
    """How much of the programme lies behind the period's end (0-1)."""
    if programme_days <= 0:
        return 1.0
    done = (period.end - programme_start).days + 1
    return min(1.0, max(0.0, done / programme_days))


def pace(kpi: str, value: float | None, target: float | None, direction: str, share: float
         ) -> tuple[str | None, float | None]:
    """(status, target to date) of a goal: 'met' (the target is reached), 'on track' / 'behind' (a cumulative
    KPI against its target pro-rated to the share of the programme elapsed), 'missed' (the programme is over,
    or the KPI is a level such as a rate, and the target is not reached); None without a value or target."""
    if value is None or target is None:
        return None, None
    at_least = direction == "at_least"
    if value >= target if at_least else value <= target:
        return "met", target
    base = kpi.partition(".")[0]
    if base in CUMULATIVE_KPIS and share < 1.0:
        expected = target * share
        ahead = value >= expected if at_least else value <= expected
        return ("on track" if ahead else "behind"), round(expected, 1)
    return ("not met yet" if share < 1.0 else "missed"), target


def _sorted(values: np.ndarray) -> bool:
    return values.size < 2 or bool(np.all(values[1:] >= values[:-1]))


# -------------------------------------------------------------------------------------------------------
# weekly series and distributions for charts


def weekly_series(events: pd.DataFrame, period: Period) -> pd.DataFrame:
    """One row per week of the period: counts by event type, hours, cumulative hours, active people."""
    weeks = max(1, -(-period.days // 7))
    week = events["_day"].to_numpy() // 7
    code = events["_code"].to_numpy()
    frame = pd.DataFrame({"week_start": [period.start + timedelta(weeks=w) for w in range(weeks)]})
    for name, event in (("sessions", "session"), ("messages", "message"), ("goals_set", "goal_set"),
                        ("goals_achieved", "goal_achieved"), ("assignments_created", "assignment_created"),
                        ("assignments_completed", "assignment_completed"),
                        ("training_attended", "training_attended"), ("survey_responses", "survey_response")):
        frame[name] = np.bincount(week[code == _EVENT_INDEX[event]], minlength=weeks)[:weeks]
    frame["events"] = np.bincount(week, minlength=weeks)[:weeks]
    minutes = np.nan_to_num(events["duration_minutes"].to_numpy()) * (code == _EVENT_INDEX["session"])
    frame["hours"] = np.round(np.bincount(week, weights=minutes, minlength=weeks)[:weeks] / 60, 1)
    frame["cumulative_hours"] = np.round(np.cumsum(frame["hours"].to_numpy()), 1)
    frame["cumulative_goals_set"] = np.cumsum(frame["goals_set"].to_numpy())
    frame["cumulative_goals_achieved"] = np.cumsum(frame["goals_achieved"].to_numpy())
    n = int(max(events["_mentor"].max(), events["_mentee"].max())) + 1 if len(events) else 1
    seen = np.zeros(weeks * n, dtype=bool)
    inside = (week >= 0) & (week < weeks)
    for side in (events["_mentor"].to_numpy(), events["_mentee"].to_numpy()):
        ok = inside & (side >= 0)
        seen[week[ok] * n + side[ok]] = True
    frame["active_people"] = seen.reshape(weeks, n).sum(axis=1)
    return frame


def satisfaction_counts(events: pd.DataFrame, survey: pd.DataFrame | None) -> dict[int, int]:
    """How many answers gave each satisfaction score 1-5 (survey export, else survey_response ratings)."""
    if survey is not None and "satisfaction" in survey and survey["satisfaction"].notna().any():
        values = survey["satisfaction"].dropna().to_numpy()
    else:
        values = events["rating"].to_numpy()[events["_code"].to_numpy() == _EVENT_INDEX["survey_response"]]
        values = values[~np.isnan(values)]
    scores = np.clip(np.round(values).astype(np.int64), 1, 5)
    counts = np.bincount(scores, minlength=6)
    return {score: int(counts[score]) for score in range(1, 6)}


# -------------------------------------------------------------------------------------------------------
# breakdowns


SUPPRESSED = "suppressed"
"""A breakdown cell hidden because its group is smaller than reporting.min_group_size."""
SUPPRESSED_COMPLEMENT = "suppressed (complementary)"
"""A cell of a group large enough, hidden only so that a smaller hidden group cannot be worked out from the
total (complementary suppression)."""

BREAKDOWN_COLUMNS = ("people", "participants", "participation_rate", "active", "sessions_per_participant",
                     "hours_per_participant", "goals_set", "goals_achieved", "goal_completion_rate",
                     "satisfaction_mean", "respondents")


def person_metrics(events: pd.DataFrame, period: Period, people: pd.Index, pairs: pd.DataFrame | None,
                   survey: pd.DataFrame | None, window: int) -> pd.DataFrame:
    """One row per person in the population: took part, active, sessions, hours, goals, satisfaction."""
    n = len(people)
    code = events["_code"].to_numpy()
    mentor, mentee = events["_mentor"].to_numpy(), events["_mentee"].to_numpy()

    def per_person(mask: np.ndarray, weights: np.ndarray | None = None, owner_only: bool = False) -> np.ndarray:
        if owner_only:
            who = _owner(events)[mask]
            w = None if weights is None else weights[mask]
            return np.bincount(who[who >= 0], weights=None if w is None else w[who >= 0], minlength=n)[:n]
        total = np.zeros(n)
        for side in (mentor, mentee):
            who = side[mask]
            w = None if weights is None else weights[mask][who >= 0]
            total += np.bincount(who[who >= 0], weights=w, minlength=n)[:n]
        return total

    took_part = np.zeros(n, dtype=bool)
    took_part[participant_codes(events, people, pairs, period)] = True
    recent = events["_day"].to_numpy() >= period.days - window
    is_session = code == _EVENT_INDEX["session"]
    minutes = np.nan_to_num(events["duration_minutes"].to_numpy())
    frame = pd.DataFrame({
        "participant": took_part,
        "active": per_person(recent) > 0,
        "sessions": per_person(is_session),
        "hours": per_person(is_session, minutes) / 60,
        "goals_set": per_person(code == _EVENT_INDEX["goal_set"], owner_only=True),
        "goals_achieved": per_person(achieved_goals_set(events), owner_only=True),
    }, index=people)
    if survey is not None and "satisfaction" in survey and survey["satisfaction"].notna().any():
        answers = survey.dropna(subset=["satisfaction"]).groupby("participant_id")["satisfaction"].mean()
        frame["satisfaction"] = answers.reindex(people).to_numpy()
    else:
        is_response = (code == _EVENT_INDEX["survey_response"]) & ~np.isnan(events["rating"].to_numpy())
        total = per_person(is_response, events["rating"].to_numpy(), owner_only=True)
        answered = per_person(is_response, owner_only=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["satisfaction"] = np.where(answered > 0, total / np.maximum(answered, 1), np.nan)
    return frame


def breakdown(metrics: pd.DataFrame, values: pd.Series, min_group: int) -> tuple[pd.DataFrame, int]:
    """Aggregate person metrics by a field's values; groups smaller than `min_group` are suppressed.

    Returns the table (group label + BREAKDOWN_COLUMNS, numbers or the marks SUPPRESSED /
    SUPPRESSED_COMPLEMENT) and the number of suppressed cells. Groups under `min_group` are pooled into
    one unnamed row (`people.pool_small_groups`); when the hidden row is a single group, the next
    smallest is suppressed too (marked SUPPRESSED_COMPLEMENT: it is not small itself), so that the
    hidden count cannot be worked out from the total.
    """
    values = values.reindex(metrics.index)
    if pd.api.types.is_numeric_dtype(values) and values.dropna().mod(1).eq(0).all():
        values = values.astype("Int64")                     # grade 3.0 → "3"
    label = values.astype("object").where(values.notna(), "(blank)").astype(str)
    from mentorctl.people import complement_hidden, pool_small_groups

    label, pooled = pool_small_groups(label, min_group)      # small groups are never named (people.py)
    data = metrics.assign(group=label.to_numpy())
    part = data[data["participant"]]
    grouped = data.groupby("group", sort=True)
    by_part = part.groupby("group", sort=True)
    table = pd.DataFrame({"people": grouped.size()})
    table["participants"] = by_part.size().reindex(table.index).fillna(0).astype(int)
    table["participation_rate"] = (table["participants"] / table["people"]).round(3)
    table["active"] = grouped["active"].sum().astype(int)
    table["sessions_per_participant"] = by_part["sessions"].mean().reindex(table.index).round(1)
    table["hours_per_participant"] = by_part["hours"].mean().reindex(table.index).round(1)
    table["goals_set"] = grouped["goals_set"].sum().astype(int)
    table["goals_achieved"] = grouped["goals_achieved"].sum().astype(int)
    table["goal_completion_rate"] = (table["goals_achieved"] / table["goals_set"].where(table["goals_set"] > 0)
                                     ).round(3)
    table["satisfaction_mean"] = grouped["satisfaction"].mean().round(2)
    table["respondents"] = grouped["satisfaction"].count().astype(int)

    def must_hide(counts: pd.Series) -> pd.Series:
        hidden = complement_hidden({str(k): int(v) for k, v in counts.items()}, min_group, pooled)
        return pd.Series(table.index.isin(list(hidden)), index=table.index)

    small_people = must_hide(table["people"])
    small_part = must_hide(table["participants"]) | small_people
    small_resp = (table["respondents"] < min_group) | small_part
    out = table.astype(object)
    part_columns = ["participants", "participation_rate", "active", "sessions_per_participant",
                    "hours_per_participant", "goals_set", "goals_achieved", "goal_completion_rate"]

    people_counts: pd.Series[int] = table["people"]

    def hide(mask: pd.Series, columns: list[str], counts: pd.Series[int]) -> None:
        # a group hidden only to protect another is marked as such: it has min_group people or more
        for group in mask.index[mask.to_numpy()]:
            own = counts[group] < min_group or small_people[group] and people_counts[group] < min_group
            out.loc[group, columns] = SUPPRESSED if own else SUPPRESSED_COMPLEMENT

    hide(small_people, ["people"], table["people"])
    hide(small_part, part_columns, table["participants"])
    hide(small_resp, ["satisfaction_mean", "respondents"], table["respondents"])
    suppressed = int(small_people.sum() + small_part.sum() + small_resp.sum())
    out = out.where(out.notna(), None)
    out.index.name = "group"
    return out.reset_index(), suppressed
