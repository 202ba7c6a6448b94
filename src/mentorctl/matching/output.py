"""Writing a MatchResult: matches.csv, matches.xlsx (with a Summary sheet), unmatched.csv and
match-summary.json — atomically, and never over a matches file the coordinator edited unless forced."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from mentorctl.files import csv_bytes, guard_output, new_run_id, output_runs, write_outputs
from mentorctl.xlsx import xlsx_bytes

if TYPE_CHECKING:
    from mentorctl.matching.solve import MatchResult
    from mentorctl.matching.summary import MatchSummary

MATCHES = "matches.csv"
MATCHES_XLSX = "matches.xlsx"
UNMATCHED = "unmatched.csv"
SUMMARY = "match-summary.json"


def summary_rows(summary: MatchSummary) -> list[tuple[str, str]]:
    """The summary as (item, value) rows, for the Summary sheet and the terminal."""
    s = summary
    rows = [("status", s.status), ("objective", s.objective), ("total score", f"{s.objective_value:g}"),
            ("optimality", s.optimality), ("model", s.model), ("pairs", str(s.pairs)),
            ("matched", f"{s.matched} of {s.people} ({s.match_rate:.1%})"), ("unmatched", str(s.unmatched))]
    if s.excluded:
        rows.append(("not eligible for the programme", f"{s.excluded} (design.eligibility; see unmatched.csv)"))
    if s.fixed_pairs:
        rows.append(("pinned or kept pairs", str(s.fixed_pairs)))
    coverage = s.coverage
    if coverage:
        counts = sorted(coverage.by_mentors.items(), key=lambda kv: -int(kv[0]))
        noun = "partner" if s.type == "peer" else "mentor"
        rows.append((f"{'people' if noun == 'partner' else 'mentees'} by {noun}s",
                     ", ".join(f"{v} with {k}" for k, v in counts)))
        if coverage.max_wanted > 1:
            rows.append(("fully covered", f"{coverage.fully_covered} ({coverage.wanted_more} wanted more)"))
    load = s.mentor_load
    if load:
        rows.append(("mentors used", f"{load.used} of {load.mentors} (load max {load.max}, mean "
                                     f"{load.mean:g} per mentor used)"
                     + (f"; balance {load.balance:g}" if load.balance else "")))
    if s.relationships is not None:   # a running programme (relationships.csv)
        kept = s.relationships
        rows.append(("relationships", f"{kept.kept} kept, {kept.new} new, {kept.ended_never_repeated} "
                                      f"ended (never repeated), {kept.not_matched_again} not matched again"))
        waiting = s.waitlist or ()
        rows.append(("waitlist", ", ".join(f"{w.id} ({w.days} d)" for w in waiting[:10])
                     + (f" … {len(waiting)} in all" if len(waiting) > 10 else "") if waiting else "nobody"))
    rows += [("eligible pairs", f"{s.candidates.eligible_pairs:,}"), ("solve seconds", f"{s.solve_seconds:g}")]
    if s.bound is not None:
        rows.insert(3, ("bound", f"{s.bound:g} (gap {s.gap:.2%})"))
    if s.fair_level is not None:
        rows.insert(3, ("lowest pair score", f"{s.fair_level:g}"))
    if s.min_pair_score is not None:
        rows.append(("lowest / mean pair score", f"{s.min_pair_score:g} / {s.mean_pair_score:g}"))
    for name, share in (s.min_share or {}).items():
        rows.append((f"share {name}", f"{share.achieved:.1%} (required {share.required:.0%})"))
    for field, values in s.report_by.items():
        shown = ", ".join(f"{k} {v.rate:.0%}" if v.rate is not None else f"{k} ({v.people})"
                          for k, v in values.items())
        rows.append((f"match rate by {field}", shown))
    return rows


def write_match_outputs(result: MatchResult, out_dir: str | Path, force: bool = False) -> dict[str, Path]:
    """Write the four files; returns their paths (plus `backup` entries for edited files kept aside).
    Raises OutputExistsError, before writing anything, when matches.csv/xlsx were edited and not `force`."""
    import pandas as pd

    folder = Path(out_dir)
    paths = {"matches": folder / MATCHES, "xlsx": folder / MATCHES_XLSX, "unmatched": folder / UNMATCHED,
             "summary": folder / SUMMARY}
    backups = {}
    for key in ("matches", "xlsx"):
        guard_output(paths[key], force=False) if not force else None
    for key in ("matches", "xlsx"):
        backup = guard_output(paths[key], force)
        if backup:
            backups[f"backup_{key}"] = backup
    run_id = new_run_id()
    summary = {**result.summary.as_dict(), "run_id": run_id}
    summary_sheet = pd.DataFrame([*summary_rows(result.summary), ("run id", run_id)], columns=["item", "value"])
    # write_outputs records each file as mentorctl's own (with this run's id) crash-safely, so a kill half-way
    # never makes the next run mistake a file it wrote for one the coordinator edited, and a set mixing two
    # runs is recognised (match_set_warnings)
    write_outputs({paths["xlsx"]: xlsx_bytes({"Matches": result.pairs, "Unmatched": result.unmatched,
                                              "Summary": summary_sheet}),
                   paths["matches"]: csv_bytes(result.pairs),
                   paths["unmatched"]: csv_bytes(result.unmatched),
                   paths["summary"]: (json.dumps(summary, indent=2, default=str) + "\n").encode("utf-8")}, run_id)
    return {**paths, **backups}


def match_set_warnings(out_dir: str | Path) -> list[str]:
    """Warnings when the match outputs in `out_dir` come from different runs (an interrupted `match`):
    e.g. matches.xlsx from a new run beside matches.csv from an old one. Files edited since are left out."""
    names = [MATCHES, MATCHES_XLSX, UNMATCHED, SUMMARY]
    runs = output_runs(out_dir, names)
    ids = {run for run in runs.values() if run}
    if len(ids) < 2:
        return []
    latest = max(ids)
    stale = [name for name in names if runs.get(name) and runs[name] != latest]
    fresh = [name for name in names if runs.get(name) == latest]
    return [f"{', '.join(stale)} {'is' if len(stale) == 1 else 'are'} from an earlier `mentorctl match` run than "
            f"{', '.join(fresh)} (run {latest}); the last run was interrupted: run `mentorctl match` again "
            "so the files agree"]
