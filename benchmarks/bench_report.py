"""Benchmark `mentorctl report`: 1,000,000 activity events for 50,000 participants → every output.

Builds a programme in a temporary folder (25,000 mentors, 25,000 mentees, 25,000 matches, a generated
activity log trimmed to exactly the requested number of events, an HR extract of 200,000 employees and a
survey export), then times each stage of the report and prints a table. Generating the data is not timed.

    python benchmarks/bench_report.py [--events 1000000] [--participants 50000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from generate_activity import generate_activity, write_activity_files  # noqa: E402

PROGRAMME = """\
programme: {name: Benchmark, timezone: Europe/London}
goals:
  - {name: Hours delivered, kpi: mentoring_hours, target: 100000}
  - {name: Mentees reach goals, kpi: goal_completion_rate, target: 0.5}
  - {name: People stay, kpi: retention_rate, target: 0.9}
  - {name: They recommend it, kpi: nps, target: 20}
design: {start_date: 2026-01-05, length_weeks: 26}
rosters: {mentors: mentors.csv, mentees: mentees.csv}
reporting:
  report_by: [department, site]
  activity: [activity.csv]
  hr_extract: {path: hr.csv}
  survey: {path: survey.csv}
"""
DEPARTMENTS = ["Engineering", "Sales", "Operations", "Finance", "People", "Marketing", "Legal"]
SITES = ["London", "Leeds", "Glasgow", "Cardiff", "Belfast", "Remote"]


def build_programme(folder: Path, participants: int, events: int, seed: int = 1) -> int:
    rng = np.random.default_rng(seed)
    half = participants // 2
    mentors = pd.DataFrame({"id": [f"M{i:06d}" for i in range(half)], "name": "Mentor",
                            "department": rng.choice(DEPARTMENTS, half), "site": rng.choice(SITES, half)})
    mentees = pd.DataFrame({"id": [f"E{i:06d}" for i in range(half)], "name": "Mentee",
                            "department": rng.choice(DEPARTMENTS, half), "site": rng.choice(SITES, half)})
    matches = pd.DataFrame({"mentee_id": mentees["id"], "mentor_id": mentors["id"].sample(frac=1, random_state=1)
                            .to_numpy(), "score": 1.0})
    mentors.to_csv(folder / "mentors.csv", index=False)
    mentees.to_csv(folder / "mentees.csv", index=False)
    (folder / "out").mkdir()
    matches.to_csv(folder / "out" / "matches.csv", index=False)
    (folder / "programme.yaml").write_text(PROGRAMME, encoding="utf-8")
    per_pair_week = 1.2 * max(1.0, events / (participants * 23.8))  # 1.2 gives ~23.8 events per participant
    activity, hr, survey = generate_activity(mentors, mentees, matches, date(2026, 1, 5), 26, seed,
                                             messages_per_week=per_pair_week)
    if len(activity) > events:
        keep = np.sort(rng.choice(len(activity), events, replace=False))
        activity = activity.iloc[keep].reset_index(drop=True)
    write_activity_files(folder, activity, hr, survey)
    return len(activity)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--participants", type=int, default=50_000)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        made = time.perf_counter()
        rows = build_programme(folder, args.participants, args.events)
        made = time.perf_counter() - made

        start = time.perf_counter()
        from mentorctl.programme import load_programme
        from mentorctl.report import build_report
        from mentorctl.report.writers import write_html, write_json, write_markdown, write_workbook

        timings: dict[str, float] = {"import mentorctl.report": time.perf_counter() - start}
        programme = load_programme(folder)
        report = build_report(programme, today=date(2026, 12, 31), timings=timings)
        out = folder / "out"
        for label, write in (("write report.json", lambda: write_json(report, out / "report.json")),
                             ("write report.md", lambda: write_markdown(report, out / "report.md")),
                             ("write report.html", lambda: write_html(report, out / "report.html", programme)),
                             ("write report.xlsx", lambda: write_workbook(report, out / "report.xlsx"))):
            began = time.perf_counter()
            write()
            timings[label] = time.perf_counter() - began
        total = time.perf_counter() - start
        sizes = {p.name: p.stat().st_size for p in out.glob("report.*")}

    print(f"mentorctl report benchmark: {rows:,} events, {args.participants:,} participants, "
          f"{len(report.events):,} counted; {os.cpu_count()} CPU(s); data generated in {made:.1f} s (not timed)")
    print()
    print(f"| {'stage':<32} | {'seconds':>8} |")
    print(f"|{'-' * 34}|{'-' * 9}:|")
    for stage, seconds in timings.items():
        print(f"| {stage:<32} | {seconds:>8.2f} |")
    print(f"| {'**total**':<32} | {total:>8.2f} |")
    print()
    print("output sizes: " + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sorted(sizes.items())))
    print(f"KPIs: sessions_held={report.kpis['sessions_held']:,}, mentoring_hours={report.kpis['mentoring_hours']:,}, "
          f"active_participants={report.kpis['active_participants']:,}")


if __name__ == "__main__":
    main()
