"""Benchmark `mentorctl match` end to end on generated rosters, beside a greedy baseline.

For each size: rosters from scripts/generate_example.py (one mentor per three mentees, capacity 1-4), the
example programme's five eligibility rules and three scoring terms; `mentorctl match` runs in a subprocess
(wall time from start to files written, peak RSS of the child); then a greedy baseline (best score first,
over the same best candidates per mentee) runs in this process on the same input.

Usage: python benchmarks/bench_match.py [--sizes 1000 10000 50000]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))


def make_programme(folder: Path, n_mentees: int) -> None:
    from generate_example import generate_rosters

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "programmes/example/programme.yaml", folder / "programme.yaml")
    mentors, mentees = generate_rosters(n_mentees, n_mentees // 3, seed=11)
    mentors.to_csv(folder / "mentors.csv", index=False)
    mentees.to_csv(folder / "mentees.csv", index=False)


def run_cli(folder: Path) -> tuple[float, float]:
    """Seconds and peak MiB of `mentorctl match` in a child process."""
    exe = Path(sys.executable).with_name("mentorctl")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run([str(exe), "match", str(folder), "--force"], check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def greedy_baseline(folder: Path) -> tuple[int, float]:
    from mentorctl.matching.candidates import Filters, build_candidates
    from mentorctl.matching.exact import greedy
    from mentorctl.matching.prepare import prepare
    from mentorctl.programme import load_programme
    from mentorctl.roster import load_participants

    programme = load_programme(folder)
    prep = prepare(programme, load_participants(programme))
    filters = Filters(prep.mentor_ok & (prep.mentor_cap > 0), np.zeros(0, np.int64), programme.matching.min_score)
    rows = np.flatnonzero(prep.mentee_ok)
    cands = build_candidates(prep.source, rows, filters, programme.matching.candidates_per_mentee, prep.mentor_ok)
    used = greedy(prep.mentee_cap, np.where(prep.mentor_ok, prep.mentor_cap, 0), cands)
    return int(used.sum()), float(cands.score[used].sum())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    args = parser.parse_args(argv)
    header = ("mentees", "seconds", "peak MiB", "matched", "objective", "eligible pairs", "proof",
              "greedy matched", "greedy objective", "gain")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sorted(args.sizes):
            folder = Path(tmp) / f"n{size}"
            make_programme(folder, size)
            seconds, peak = run_cli(folder)
            summary = json.loads((folder / "out/match-summary.json").read_text())
            g_matched, g_score = greedy_baseline(folder)
            gain = summary["objective_value"] / g_score - 1 if g_score else float("nan")
            rows.append((f"{size:,}", f"{seconds:.2f}", f"{peak:,.0f}", f"{summary['matched']:,}",
                         f"{summary['objective_value']:,.1f}", f"{summary['candidates']['eligible_pairs']:,}",
                         "proven" if summary["proof"]["proven"] else "no",
                         f"{g_matched:,}", f"{g_score:,.1f}", f"{gain:+.2%}"))
            print(f"done {size}: {rows[-1]}", file=sys.stderr)
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
