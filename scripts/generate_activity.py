"""Generate a realistic activity log, HR extract and survey export for a matched mentoring programme.

Pairs differ in engagement: most meet roughly fortnightly, some drift off after a few weeks, a few never
start. Mentees set goals early and achieve some of them; mentors set assignments; people attend training
and answer a closing survey. The HR extract covers participants and (three times as many) non-participants.
Everything is vectorised with numpy, so a million events take a second or two.

    python scripts/generate_activity.py --programme programmes/example --weeks 26
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ACTIVITY_COLUMNS = ["timestamp", "event", "mentor_id", "mentee_id", "duration_minutes", "rating", "item_id"]
DEPARTMENTS = ["Engineering", "Sales", "Operations", "Finance", "People", "Marketing", "Legal"]


def generate_activity(mentors: pd.DataFrame, mentees: pd.DataFrame, matches: pd.DataFrame,
                      start_date: date, weeks: int, seed: int = 0,
                      messages_per_week: float = 1.2) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (activity, hr, survey) DataFrames.

    `mentors`/`mentees` need an `id` column (a `department` column is copied into the HR extract);
    `matches` needs `mentor_id` and `mentee_id`. Activity timestamps are naive local datetimes.
    """
    rng = np.random.default_rng(seed)
    start = np.datetime64(start_date, "D")
    days = weeks * 7
    mentor_ids = matches["mentor_id"].astype(str).to_numpy()
    mentee_ids = matches["mentee_id"].astype(str).to_numpy()
    pairs = len(matches)
    engagement = rng.beta(4, 2, pairs)                       # how keen each pair is
    never = rng.random(pairs) < 0.05                          # a few pairs never start
    drift = np.where(rng.random(pairs) < 0.25,               # a quarter drift off part-way through
                     rng.integers(3, max(4, weeks), pairs), weeks + 1)
    drift = np.where(never, 0, drift)
    parts = []

    # sessions: one chance per fortnight, taken with the pair's engagement, jittered by a few days
    slots = np.arange(0, weeks, 2)
    pair_idx, slot = np.repeat(np.arange(pairs), len(slots)), np.tile(slots, pairs)
    held = (slot < drift[pair_idx]) & (rng.random(pair_idx.size) < 0.55 + 0.4 * engagement[pair_idx])
    pair_idx, slot = pair_idx[held], slot[held]
    day = slot * 7 + rng.integers(0, 10, pair_idx.size)
    minutes = rng.choice([30, 45, 60, 60, 60, 75, 90], pair_idx.size).astype(float)
    parts.append(_events("session", pair_idx, day, duration=minutes))

    # messages: Poisson per pair-week while the pair is active
    week_pair = np.repeat(np.arange(pairs), weeks)
    week = np.tile(np.arange(weeks), pairs)
    active = week < drift[week_pair]
    counts = rng.poisson(messages_per_week * (0.3 + engagement[week_pair]) * active)
    msg_pair = np.repeat(week_pair, counts)
    msg_day = np.repeat(week, counts) * 7 + rng.integers(0, 7, msg_pair.size)
    parts.append(_events("message", msg_pair, msg_day))

    # goals: 1-3 per mentee set in the first month; achieved later with the pair's engagement
    n_goals = rng.integers(1, 4, pairs) * (drift > 1)
    goal_pair = np.repeat(np.arange(pairs), n_goals)
    goal_no = np.concatenate([np.arange(k) for k in n_goals]) if goal_pair.size else np.array([], int)
    goal_item = np.char.add(np.char.add(mentee_ids[goal_pair].astype(str), "-goal-"), (goal_no + 1).astype(str))
    set_day = rng.integers(0, min(28, days), goal_pair.size)
    parts.append(_events("goal_set", goal_pair, set_day, item=goal_item))
    reach = set_day + rng.integers(21, 120, goal_pair.size)
    achieved = (rng.random(goal_pair.size) < 0.25 + 0.6 * engagement[goal_pair]) & (reach < days) \
        & (reach < drift[goal_pair] * 7 + 14)
    parts.append(_events("goal_achieved", goal_pair[achieved], reach[achieved], item=goal_item[achieved]))

    # assignments: mentors set one about monthly; most are completed within three weeks
    months = np.arange(0, weeks, 4)
    a_pair, a_week = np.repeat(np.arange(pairs), len(months)), np.tile(months, pairs)
    set_a = (a_week < drift[a_pair]) & (rng.random(a_pair.size) < 0.7)
    a_pair, a_week = a_pair[set_a], a_week[set_a]
    a_item = np.char.add("assignment-", np.arange(a_pair.size).astype(str))
    a_day = a_week * 7 + rng.integers(0, 7, a_pair.size)
    parts.append(_events("assignment_created", a_pair, a_day, item=a_item))
    done_day = a_day + rng.integers(3, 21, a_pair.size)
    done = (rng.random(a_pair.size) < 0.4 + 0.5 * engagement[a_pair]) & (done_day < days)
    parts.append(_events("assignment_completed", a_pair[done], done_day[done], item=a_item[done]))

    # training: two sessions (week 1 and mid-way); about 60% of each side attends
    for t_week, name in ((0, "training-1"), (weeks // 2, "training-2")):
        for side in ("mentor", "mentee"):
            who = np.flatnonzero(rng.random(pairs) < 0.6)
            parts.append(_events("training_attended", who, np.full(who.size, t_week * 7 + 2), item=name,
                                 side=side))

    # survey responses in the last fortnight, rated 1-5 in line with engagement
    responders = np.flatnonzero((rng.random(pairs) < 0.65) & ~never)
    rating = np.clip(np.round(1.5 + 3.5 * engagement[responders] + rng.normal(0, 0.6, responders.size)), 1, 5)
    parts.append(_events("survey_response", responders, days - rng.integers(1, 14, responders.size),
                         rating=rating, side="mentee"))

    frame = pd.concat([p for p in parts if len(p)], ignore_index=True)
    frame["mentor_id"] = np.where(frame["_side"] == "mentee", None, mentor_ids[frame["_pair"]])
    frame["mentee_id"] = np.where(frame["_side"] == "mentor", None, mentee_ids[frame["_pair"]])
    frame["timestamp"] = (start + frame["_day"].to_numpy().astype("timedelta64[D]")).astype("datetime64[s]") \
        + rng.integers(8 * 60, 18 * 60, len(frame)).astype("timedelta64[m]")
    frame = frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
    activity = frame[ACTIVITY_COLUMNS]

    hr = _hr_extract(rng, mentors, mentees, start, days)
    survey = _survey(rng, mentors, mentees, matches, engagement)
    return activity, hr, survey


def _events(kind: str, pair: np.ndarray, day: np.ndarray, *, duration: np.ndarray | None = None,
            rating: np.ndarray | None = None, item: np.ndarray | str | None = None,
            side: str = "pair") -> pd.DataFrame:
    n = pair.size
    return pd.DataFrame({
        "event": kind, "_pair": pair, "_day": day, "_side": side,
        "duration_minutes": duration if duration is not None else np.full(n, np.nan),
        "rating": rating if rating is not None else np.full(n, np.nan),
        "item_id": item if item is not None else None,
    }, index=pd.RangeIndex(n))


def _hr_extract(rng: np.random.Generator, mentors: pd.DataFrame, mentees: pd.DataFrame,
                start: np.datetime64, days: int) -> pd.DataFrame:
    people = pd.concat([mentors, mentees], ignore_index=True).drop_duplicates("id")
    n_part = len(people)
    n_other = 3 * n_part
    ids = np.concatenate([people["id"].astype(str).to_numpy(),
                          np.char.add("E", np.arange(900001, 900001 + n_other).astype(str))])
    if "department" in people.columns:
        dept_part = people["department"].fillna("Other").astype(str).to_numpy()
    else:
        dept_part = rng.choice(DEPARTMENTS, n_part)
    department = np.concatenate([dept_part, rng.choice(DEPARTMENTS, n_other)])
    participant = np.arange(ids.size) < n_part
    leave = rng.random(ids.size) < np.where(participant, 0.05, 0.10)
    promote = rng.random(ids.size) < np.where(participant, 0.12, 0.07)
    left_on = start + rng.integers(1, days, ids.size).astype("timedelta64[D]")
    promoted_on = start + rng.integers(1, days, ids.size).astype("timedelta64[D]")
    return pd.DataFrame({
        "employee_id": ids,
        "department": department,
        "left_on": pd.Series(left_on).where(leave).dt.strftime("%Y-%m-%d").fillna(""),
        "promoted_on": pd.Series(promoted_on).where(promote).dt.strftime("%Y-%m-%d").fillna(""),
    })


def _survey(rng: np.random.Generator, mentors: pd.DataFrame, mentees: pd.DataFrame, matches: pd.DataFrame,
            engagement: np.ndarray) -> pd.DataFrame:
    keen = pd.concat([
        pd.DataFrame({"participant_id": matches["mentor_id"].astype(str), "e": engagement}),
        pd.DataFrame({"participant_id": matches["mentee_id"].astype(str), "e": engagement}),
    ]).groupby("participant_id", as_index=False)["e"].mean()
    keen = keen[rng.random(len(keen)) < 0.6]
    e = keen["e"].to_numpy()
    satisfaction = np.clip(np.round(1.8 + 3.2 * e + rng.normal(0, 0.7, e.size)), 1, 5).astype(int)
    recommend = np.clip(np.round(3 + 7 * e + rng.normal(0, 1.5, e.size)), 0, 10).astype(int)
    return pd.DataFrame({"participant_id": keen["participant_id"].to_numpy(), "satisfaction": satisfaction,
                         "recommend": recommend})


def write_activity_files(out: Path, activity: pd.DataFrame, hr: pd.DataFrame, survey: pd.DataFrame) -> list[Path]:
    """Write activity.csv, hr.csv and survey.csv into `out`; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    log = activity.copy()
    log["timestamp"] = pd.to_datetime(log["timestamp"]).dt.strftime("%Y-%m-%d %H:%M")
    for column in ("duration_minutes", "rating"):
        log[column] = log[column].astype("Int64").astype("str").replace("<NA>", "")
    for name, frame in (("activity.csv", log), ("hr.csv", hr), ("survey.csv", survey)):
        path = out / name
        frame.to_csv(path, index=False)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programme", type=Path, default=Path("programmes/example"),
                        help="programme folder with mentors.csv, mentees.csv and out/matches.csv")
    parser.add_argument("--matches", type=Path, help="matches CSV (default PROGRAMME/out/matches.csv)")
    parser.add_argument("--start", type=date.fromisoformat, help="first day (default: programme start_date)")
    parser.add_argument("--weeks", type=int, help="weeks of activity (default: programme length)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    folder: Path = args.programme
    start, weeks = args.start, args.weeks
    if start is None or weeks is None:
        import yaml

        design = yaml.safe_load((folder / "programme.yaml").read_text(encoding="utf-8"))["design"]
        start = start or date.fromisoformat(str(design["start_date"]))
        weeks = weeks or int(design.get("length_weeks", 26))
    mentors = pd.read_csv(folder / "mentors.csv", dtype=str)
    mentees = pd.read_csv(folder / "mentees.csv", dtype=str)
    matches = pd.read_csv(args.matches or folder / "out" / "matches.csv", dtype=str)
    activity, hr, survey = generate_activity(mentors, mentees, matches, start, weeks, args.seed)
    for path in write_activity_files(folder, activity, hr, survey):
        print(f"wrote {path}")


if __name__ == "__main__":  # pragma: no cover
    main()
